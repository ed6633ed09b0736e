package selftests

import (
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
)

func TestParseTAPInline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		planned  int
		tests    []TAPTest
		problems int
	}{
		{
			name: "mptcp_lib format: time, SKIP, IGNORE Flaky, log before the block",
			in: "01 chk   [ OK ]\nok 9 - not a test of the block\n\nTAP version 13\n1..4\n" +
				"ok 1 - diag: chk 0 msk in listen_socket # time=12ms\n" +
				"not ok 2 - diag: many msk socket present # time=3021ms\n" +
				"ok 3 - mptcp_connect: tproxy ipv4 # SKIP time=5ms\n" +
				"ok 4 - mptcp_join: fastclose # IGNORE Flaky time=7ms\n",
			planned: 4,
			tests: []TAPTest{
				{Num: 1, OK: true, Name: "diag: chk 0 msk in listen_socket", Time: 12 * time.Millisecond},
				{Num: 2, OK: false, Name: "diag: many msk socket present", Time: 3021 * time.Millisecond},
				{Num: 3, OK: true, Name: "mptcp_connect: tproxy ipv4", Directive: "SKIP", Time: 5 * time.Millisecond},
				{Num: 4, OK: true, Name: "mptcp_join: fastclose", Directive: "IGNORE", Reason: "Flaky", Time: 7 * time.Millisecond},
			},
		},
		{
			name: "KTAP with nested subtests and a skip reason",
			in: "KTAP version 1\n1..2\n    KTAP version 1\n    1..1\n    ok 1 inner\n" +
				"ok 1 selftests: net/mptcp: diag.sh\nnot ok 2 selftests: net/mptcp: simult_flows.sh # SKIP no tc\n",
			planned: 2,
			tests: []TAPTest{
				{Num: 1, OK: true, Name: "selftests: net/mptcp: diag.sh"},
				{Num: 2, OK: false, Name: "selftests: net/mptcp: simult_flows.sh", Directive: "SKIP", Reason: "no tc"},
			},
		},
		{
			name:    "short plan and TIMEOUT",
			in:      "TAP version 13\n1..3\nok 1 a\nnot ok 2 b # TIMEOUT 1800 seconds\n",
			planned: 3,
			tests: []TAPTest{
				{Num: 1, OK: true, Name: "a"},
				{Num: 2, Name: "b", Directive: "TIMEOUT", Reason: "1800 seconds"},
			},
			problems: 1,
		},
		{name: "no TAP at all", in: "[SKIP] ss tool does not support MPTCP\n", planned: -1},
		{name: "version, no plan", in: "TAP version 13\n", planned: -1, problems: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseTAP([]byte(tc.in))
			if got.Planned != tc.planned || len(got.Problems) != tc.problems {
				t.Errorf("planned %d problems %v; want %d, %d problems", got.Planned, got.Problems, tc.planned, tc.problems)
			}
			if len(got.Tests) != len(tc.tests) {
				t.Fatalf("got %d tests %+v, want %d", len(got.Tests), got.Tests, len(tc.tests))
			}
			for i := range tc.tests {
				if got.Tests[i] != tc.tests[i] {
					t.Errorf("test %d:\n got %+v\nwant %+v", i, got.Tests[i], tc.tests[i])
				}
			}
		})
	}
}

func FuzzParseTAP(f *testing.F) {
	f.Add([]byte("TAP version 13\n1..2\nok 1 - a # time=1ms\nnot ok 2 - b # SKIP why time=2ms\n"))
	f.Add([]byte("KTAP version 1\n1..1\n  ok 1 x\nok 1 y # TODO\nBail out! z\n"))
	f.Add([]byte("ok\nnot ok\n1..\n# \nok 99999999999999999999 - big\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tap := ParseTAP(in)
		for _, tt := range tap.Tests {
			if tt.Directive != "" && !strings.Contains(strings.ToUpper(string(in)), tt.Directive) {
				t.Fatalf("directive %q not in the input", tt.Directive)
			}
			if tt.Time < 0 {
				t.Fatalf("negative time %v", tt.Time)
			}
		}
		subs := Subtests(tap, in)
		if len(subs) != len(tap.Tests) {
			t.Fatalf("%d subtests for %d tests", len(subs), len(tap.Tests))
		}
		Verdict(1, tap, in, time.Second, 10)
		Verdict(124, tap, in, time.Second, 10)
		prev := -1
		for _, st := range LogSubtests(in, true) {
			if st.Num <= prev {
				t.Fatalf("log subtest %d after %d", st.Num, prev)
			}
			prev = st.Num
			if st.Outcome == "" {
				t.Fatalf("log subtest %d without outcome", st.Num)
			}
		}
	})
}

// Real output of mptcp_sockopt.sh (linux-source-6.12) on Debian's 6.12
// kernel under a loaded TCG host: iptables warnings before the block, the
// TCP_INQ check killed by mptcp_inq's own alarm(15).
func TestParseTAPSockoptReal(t *testing.T) {
	out := readTestdata(t, "tap-mptcp_sockopt-6.12-tcg-inq-alarm.txt")
	tap := ParseTAP(out)
	if tap.Version != "TAP version 13" || tap.Planned != 7 || len(tap.Tests) != 7 || len(tap.Problems) != 0 {
		t.Fatalf("got %+v", tap)
	}
	if tt := tap.Tests[1]; tt.Name != "mptcp_sockopt: mark ipv4" || !tt.OK || tt.Time != 7875*time.Millisecond {
		t.Errorf("test 2 = %+v", tt)
	}
	if tt := tap.Tests[6]; tt.Name != "mptcp_sockopt: TCP_INQ: -t tcp" || tt.OK {
		t.Errorf("test 7 = %+v", tt)
	}
	outcome, reason := Verdict(1, tap, out, 190*time.Second, 1800)
	if outcome != "FAIL" || !strings.Contains(reason, "7 subtests: 6 ok, 0 skip, 1 fail: 7 mptcp_sockopt: TCP_INQ: -t tcp") {
		t.Errorf("verdict %s: %s", outcome, reason)
	}
}

func TestVerdictExitCodes(t *testing.T) {
	skipOut := []byte("[SKIP] ss tool does not support MPTCP\n")
	for _, tc := range []struct {
		code int
		out  []byte
		want string
		why  string
	}{
		{0, []byte("TAP version 13\n1..1\nok 1 - a # time=1ms\n"), "PASS", "1 subtests: 1 ok, 0 skip, 0 fail"},
		{4, skipOut, "SKIP", "[SKIP] ss tool does not support MPTCP"},
		{4, nil, "SKIP", "exit 4 (kselftest SKIP)"},
		{124, nil, "ERROR", "timed out after 1800s (exit 124)"},
		{137, nil, "ERROR", "timed out after 1800s (exit 137)"},
		{2, []byte("boom\n"), "FAIL", "exit 2 in 1s; no TAP subtests: boom"},
	} {
		got, why := Verdict(tc.code, ParseTAP(tc.out), tc.out, time.Second, 1800)
		if string(got) != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("exit %d: %s %q; want %s containing %q", tc.code, got, why, tc.want, tc.why)
		}
	} // busybox timeout: the script's own 143 after its TERM. A timeout
	// only when the whole deadline had passed (whole mptcp_join.sh on a
	// TCG guest, 2700 s); before that, a script killed by TERM FAILs.
	if got, why := Verdict(143, ParseTAP(nil), nil, 2712*time.Second, 2700); got != "ERROR" || !strings.Contains(why, "timed out after 2700s (exit 143)") {
		t.Errorf("exit 143 at the deadline: %s %q", got, why)
	}
	if got, _ := Verdict(143, ParseTAP(nil), nil, 10*time.Second, 2700); got != "FAIL" {
		t.Errorf("exit 143 long before the deadline: %s", got)
	}
}

// Real output of diag.sh (linux-source-6.12) on Debian's 6.12 kernel in a
// TCG guest on a host with load ~28 on 2 cores: hundreds of log lines
// before the block, SKIPs, and mptcp_lib's "# timeout" suffix, which reads
// as a TIMEOUT directive (ERROR).
func TestParseTAPDiagReal(t *testing.T) {
	out := readTestdata(t, "tap-diag-6.12-tcg-loaded.txt")
	tap := ParseTAP(out)
	if tap.Planned != 29 || len(tap.Tests) != 29 || len(tap.Problems) != 0 {
		t.Fatalf("planned %d, %d tests, problems %v", tap.Planned, len(tap.Tests), tap.Problems)
	}
	count := map[string]int{}
	subs := Subtests(tap, out)
	for _, s := range subs {
		count[string(s.Outcome)]++
	}
	if subs[6].Reason != "Feature probably not supported" {
		t.Errorf("subtest 7 reason %q, want the script's log line", subs[6].Reason)
	}
	if count["PASS"] != 18 || count["SKIP"] != 6 || count["FAIL"] != 4 || count["ERROR"] != 1 {
		t.Errorf("outcomes %v", count)
	}
	if tt := tap.Tests[20]; tt.Name != "diag: many msk socket present" || tt.Directive != "TIMEOUT" || tt.Time != 432353*time.Millisecond {
		t.Errorf("test 21 = %+v", tt)
	}
	if tt := tap.Tests[6]; tt.Name != "diag: ....chk last_data_sent" || tt.Directive != "SKIP" || !tt.OK {
		t.Errorf("test 7 = %+v", tt)
	}
}

// The same script once xt_mark is loaded (Kconfig select closure) and
// mptcp_inq beat its alarm: all 11 subtests, exit 0.
func TestParseTAPSockoptRealPass(t *testing.T) {
	out := readTestdata(t, "tap-mptcp_sockopt-6.12-tcg-pass.txt")
	tap := ParseTAP(out)
	if tap.Planned != 11 || len(tap.Tests) != 11 || len(tap.Problems) != 0 {
		t.Fatalf("got %+v", tap)
	}
	for _, s := range Subtests(tap, out) {
		if s.Outcome != "PASS" {
			t.Errorf("subtest %d %s = %s", s.Num, s.Name, s.Outcome)
		}
	}
	if outcome, reason := Verdict(0, tap, out, 514*time.Second, 2700); outcome != "PASS" || !strings.Contains(reason, "11 subtests: 11 ok, 0 skip, 0 fail") {
		t.Errorf("verdict %s: %s", outcome, reason)
	}
	if strings.Contains(string(out), "Extension mark") {
		t.Error("iptables still misses xt_mark")
	}
}

// The log of a script that printed its TAP block agrees with it subtest by
// subtest (real output of diag.sh and mptcp_sockopt.sh): the log is what
// is left when the timeout stops a script before its block.
func TestLogSubtestsAgreeWithTAP(t *testing.T) {
	notOK := func(o report.Outcome) bool { return o == report.Fail || o == report.Error }
	// diag.sh's TAP names are its log titles; mptcp_sockopt.sh words them
	// differently ("Transfer v4" / "transfer ipv4").
	for f, sameNames := range map[string]bool{"tap-diag-6.12-tcg-loaded.txt": true, "tap-mptcp_sockopt-6.12-tcg-pass.txt": false, "tap-mptcp_sockopt-6.12-tcg-inq-alarm.txt": false} {
		out := readTestdata(t, f)
		tap := Subtests(ParseTAP(out), out)
		log := LogSubtests(out, false)
		if len(log) != len(tap) || len(log) == 0 {
			t.Fatalf("%s: %d log subtests, %d TAP", f, len(log), len(tap))
		}
		for i := range log {
			if log[i].Num != tap[i].Num || (log[i].Outcome != tap[i].Outcome && !(notOK(log[i].Outcome) && notOK(tap[i].Outcome))) {
				t.Errorf("%s: log %d %s, TAP %d %s (%s)", f, log[i].Num, log[i].Outcome, tap[i].Num, tap[i].Outcome, tap[i].Name)
			}
			if sameNames && !strings.HasSuffix(tap[i].Name, log[i].Name) {
				t.Errorf("%s %d: log name %q, TAP %q", f, log[i].Num, log[i].Name, tap[i].Name)
			}
		}
	}
	out := readTestdata(t, "tap-diag-6.12-tcg-loaded.txt")
	log := LogSubtests(out, false)
	if s := log[9]; s.Reason != "expected 2 found 0" || s.Name != "chk remote_key" {
		t.Errorf("failed check: %+v", s)
	}
	if s := log[6]; s.Outcome != report.Skip || s.Reason != "Feature probably not supported" {
		t.Errorf("skipped check: %+v", s)
	}
}

// A script stopped by its timeout: no TAP block, the log ends inside a
// subtest (diag.sh's real log cut where subtest 21 had printed its title
// and was waiting for 200 connections). Subtests come from the log, the
// last is where the timeout struck, and the verdict says so.
func TestLogSubtestsStoppedByTimeout(t *testing.T) {
	full := string(readTestdata(t, "tap-diag-6.12-tcg-loaded.txt"))
	i := strings.Index(full, "21 many msk socket present ")
	if i < 0 {
		t.Fatal("fixture changed")
	}
	out := []byte(full[:i+len("21 many msk socket present          ")])
	subs := LogSubtests(out, true)
	if len(subs) != 21 {
		t.Fatalf("%d subtests, want 21", len(subs))
	}
	if last := subs[20]; last.Outcome != report.Error || last.Name != "many msk socket present" || !strings.Contains(last.Reason, "timeout stopped it here") {
		t.Errorf("last subtest %+v", last)
	}
	if s := subs[12]; s.Outcome != report.Fail || s.Reason != "expected 2 found 0" {
		t.Errorf("subtest 13 %+v", s)
	}
	got, why := Verdict(124, ParseTAP(out), out, time.Hour, 2700)
	want := "timed out after 2700s (exit 124); 21 subtests: 14 ok, 4 skip, 3 fail (from the log: no TAP): 10 chk remote_key; 13 chk 2 cestab; 21 many msk socket present"
	if got != report.Error || why != want {
		t.Errorf("verdict %s %q\nwant %q", got, why, want)
	}
}
