package selftests

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
)

// TAP is the parsed TAP/KTAP output of one script: the last top-level
// version line starts the block that counts (a script that prints a plan
// after its own log, as mptcp_lib.sh does, has its log before it).
type TAP struct {
	Version  string // "TAP version 13", "KTAP version 1"; "" when none was seen
	Planned  int    // N of the "1..N" plan line; -1 when there was none
	Tests    []TAPTest
	BailOut  string // reason of a "Bail out!" line, if any
	Problems []string
}

// TAPTest is one top-level test line: ok/not ok N - description # directive.
type TAPTest struct {
	Num       int
	OK        bool
	Name      string
	Directive string // upper-case keyword: SKIP, TODO, XFAIL, TIMEOUT, IGNORE; "" for none
	Reason    string // text after the directive keyword
	Time      time.Duration
}

var (
	versionRE = regexp.MustCompile(`^(K?TAP) version (\d+)\s*$`)
	planRE    = regexp.MustCompile(`^1\.\.(\d+)\b`)
	testRE    = regexp.MustCompile(`^(not ok|ok)\b(?:\s+(\d+))?\s*(?:-\s*)?(.*)$`)
	// mptcp_lib.sh appends the subtest's duration as "time=NNms".
	timeRE = regexp.MustCompile(`(?:^|\s)time=(\d+)ms\s*$`)
)

var directives = []string{"SKIP", "TODO", "XFAIL", "TIMEOUT", "IGNORE"}

// ParseTAP reads TAP 13 / KTAP 1 output. Indented lines (KTAP subtests of
// a subtest) and diagnostics ("# …") are not tests of this level. It never
// fails: what does not parse is kept in Problems, and a missing or short
// plan is one of them.
func ParseTAP(out []byte) TAP {
	t := TAP{Planned: -1}
	lines := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
	start := 0
	for i, l := range lines {
		if m := versionRE.FindStringSubmatch(l); m != nil {
			start = i
			t.Version = strings.TrimSpace(l)
		}
	}
	if t.Version == "" {
		// No version line: take test lines from anywhere (older scripts
		// print bare "ok N - …").
		start = -1
	}
	for _, l := range lines[start+1:] {
		if strings.HasPrefix(l, "Bail out!") {
			t.BailOut = strings.TrimSpace(strings.TrimPrefix(l, "Bail out!"))
			continue
		}
		if m := planRE.FindStringSubmatch(l); m != nil && t.Planned < 0 {
			t.Planned, _ = strconv.Atoi(m[1])
			continue
		}
		m := testRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		tt := TAPTest{OK: m[1] == "ok"}
		if m[2] != "" {
			tt.Num, _ = strconv.Atoi(m[2])
		} else {
			tt.Num = len(t.Tests) + 1
		}
		desc, dir, hasDir := strings.Cut(m[3], " # ")
		if !hasDir && strings.HasPrefix(m[3], "# ") {
			desc, dir, hasDir = "", strings.TrimPrefix(m[3], "# "), true
		}
		if hasDir {
			if tm := timeRE.FindStringSubmatch(dir); tm != nil {
				ms, _ := strconv.Atoi(tm[1])
				tt.Time = time.Duration(ms) * time.Millisecond
				dir = strings.TrimSpace(dir[:len(dir)-len(tm[0])])
			}
			for _, d := range directives {
				if len(dir) >= len(d) && strings.EqualFold(dir[:len(d)], d) && (len(dir) == len(d) || dir[len(d)] == ' ') {
					tt.Directive, tt.Reason = d, strings.TrimSpace(dir[len(d):])
					break
				}
			}
		}
		tt.Name = strings.TrimSpace(desc)
		t.Tests = append(t.Tests, tt)
	}
	if t.Planned >= 0 && t.Planned != len(t.Tests) {
		t.Problems = append(t.Problems, "plan 1.."+strconv.Itoa(t.Planned)+" but "+strconv.Itoa(len(t.Tests))+" tests")
	}
	if t.Version != "" && t.Planned < 0 {
		t.Problems = append(t.Problems, "no plan line")
	}
	return t
}

// numberedRE matches mptcp_lib.sh's human log lines: "07 ....chk x   [SKIP] why"
// (print_title's "%02u %-50s", or join's "%03u").
var numberedRE = regexp.MustCompile(`^(\d{2,4}) `)

// SkipReasons reads the log before the TAP block for the reason each
// numbered subtest printed with its [SKIP] mark: TAP lines of mptcp_lib.sh
// say only "# SKIP", the reason is in the log ("[SKIP] Feature probably not
// supported"). Subtest numbers and log numbers are the same counter there.
func SkipReasons(out []byte) map[int]string {
	reasons := map[int]string{}
	cur := -1
	for _, l := range strings.Split(string(out), "\n") {
		if versionRE.MatchString(l) {
			break
		}
		if m := numberedRE.FindStringSubmatch(l); m != nil {
			cur, _ = strconv.Atoi(m[1])
		}
		if i := strings.Index(l, "[SKIP]"); i >= 0 && cur >= 0 {
			if _, seen := reasons[cur]; !seen {
				reasons[cur] = strings.TrimSpace(l[i+len("[SKIP]"):])
			}
		}
	}
	return reasons
}

var (
	ansiRE = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	// The marks mptcp_lib.sh's pr_ok/pr_fail/pr_skip print after a check;
	// "[IGNO]" is a failure the script ignores (flaky subtest).
	logMarks = []string{"[ OK ]", "[FAIL]", "[SKIP]", "[IGNO]"}
)

// LogSubtests reads the subtests out of mptcp_lib.sh's human log when the
// script printed no TAP: its TAP block comes only at the very end, so a
// script stopped by its timeout (mptcp_join.sh under TCG) has the log
// alone. A numbered title line ("001 no JOIN", diag's "07 ....chk x
// [ OK ]") opens a subtest, numbered as its TAP line would be; the marks of
// its checks decide it: any [FAIL] FAIL (reason: that check and its
// message), else any [ OK ] PASS, else [SKIP] SKIP with its reason,
// [IGNO] alone SKIP "failed, ignored by the script". A subtest without a
// mark is ERROR "no result": with stopped set, the last one is where the
// timeout struck. Numbers must increase, so stray lines that begin with
// digits are not titles.
func LogSubtests(out []byte, stopped bool) []report.Subtest {
	var subs []report.Subtest
	type state struct{ ok, fail, skip, igno int }
	var st state
	var failWhy, skipWhy string
	finish := func() {
		if len(subs) == 0 {
			return
		}
		s := &subs[len(subs)-1]
		switch {
		case st.fail > 0:
			s.Outcome, s.Reason = report.Fail, failWhy
		case st.ok > 0:
			s.Outcome = report.Pass
		case st.skip > 0:
			s.Outcome, s.Reason = report.Skip, skipWhy
		case st.igno > 0:
			s.Outcome, s.Reason = report.Skip, "failed, ignored by the script"
		default:
			s.Outcome, s.Reason = report.Error, "no result printed"
		}
		st, failWhy, skipWhy = state{}, "", ""
	}
	for _, l := range strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n") {
		l = ansiRE.ReplaceAllString(l, "")
		if versionRE.MatchString(l) {
			break
		}
		rest, isTitle := l, false
		if m := numberedRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if len(subs) == 0 || n > subs[len(subs)-1].Num {
				finish()
				subs = append(subs, report.Subtest{Num: n})
				rest, isTitle = l[len(m[0]):], true
			}
		}
		if len(subs) == 0 {
			continue
		}
		mark, i := "", -1
		for _, mk := range logMarks {
			if i = strings.Index(rest, mk); i >= 0 {
				mark = mk
				break
			}
		}
		what := rest
		if i >= 0 {
			what = rest[:i]
		}
		what = strings.Trim(strings.Join(strings.Fields(what), " "), ". ")
		if isTitle {
			// One-line subtests (diag.sh) end their title with the mark.
			subs[len(subs)-1].Name = what
			what = ""
		}
		if mark == "" {
			continue
		}
		why := strings.TrimSpace(rest[i+len(mark):])
		if what != "" {
			why = strings.TrimSuffix(what+": "+why, ": ")
		}
		switch mark {
		case "[ OK ]":
			st.ok++
		case "[FAIL]":
			st.fail++
			if failWhy == "" {
				failWhy = why
			}
		case "[SKIP]":
			st.skip++
			if skipWhy == "" {
				skipWhy = why
			}
		case "[IGNO]":
			st.igno++
		}
	}
	finish()
	if stopped && len(subs) > 0 {
		if s := &subs[len(subs)-1]; s.Outcome == report.Error {
			s.Reason = "no result: the script's timeout stopped it here"
		}
	}
	return subs
}
