package plan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const selftestsPlan = `name: st
kernels:
  - kernel: apt:linux-image-6.12.*+deb12-cloud-amd64-unsigned
selftests:
  - target: net/mptcp
    source: src/linux-source-6.12.tar.xz
    tests: [diag.sh, mptcp_sockopt.sh]
    timeout: 10m
    timeout_scale: 2.5
    jobs: 2
    expect: {diag.sh: skip}
`

func TestSelftestsParseExpand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "st.yaml")
	if err := os.WriteFile(path, []byte(selftestsPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, known)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Expand(Options{}, known)
	if err != nil {
		t.Fatal(err)
	}
	want := []Selftests{{Name: "mptcp", Source: filepath.Join(dir, "src/linux-source-6.12.tar.xz"), Target: "net/mptcp",
		Tests: []string{"diag.sh", "mptcp_sockopt.sh"}, Timeout: 10 * time.Minute, TimeoutScale: 2.5, Jobs: 2,
		Expect: map[string]string{"diag.sh": "SKIP"}}}
	if !reflect.DeepEqual(p.Selftests, want) {
		t.Errorf("got %+v\nwant %+v", p.Selftests, want)
	}
	if got := p.Selftests[0].Column("diag.sh"); got != "mptcp:diag.sh" {
		t.Errorf("column %q", got)
	}
	// No scenarios: list: the built-in scenarios run beside the suite.
	if n := len(p.Kernels[0].Scenarios); n != len(known) {
		t.Errorf("%d scenarios, want the %d defaults", n, len(known))
	}
	// --scenario names a suite as a whole, or leaves it out.
	p, err = f.Expand(Options{Scenarios: []string{"mptcp"}}, known)
	if err != nil || len(p.Selftests) != 1 || len(p.Kernels[0].Scenarios) != 0 {
		t.Errorf("--scenario mptcp: %v, %+v", err, p)
	}
	p, err = f.Expand(Options{Scenarios: []string{"connect"}}, known)
	if err != nil || len(p.Selftests) != 0 || len(p.Kernels[0].Scenarios) != 1 {
		t.Errorf("--scenario connect: %v, %+v", err, p)
	}
	// scenarios: [mptcp] in the file: the suite only.
	f2, err := Parse([]byte(strings.Replace(selftestsPlan, "selftests:", "scenarios: [mptcp]\nselftests:", 1)), known)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = f2.Expand(Options{}, known); err != nil || len(p.Selftests) != 1 || len(p.Kernels[0].Scenarios) != 0 {
		t.Errorf("scenarios: [mptcp]: %v, %+v", err, p)
	}
}

// ubuntu: names the linux-source package instead of a file: the spec the
// image builder resolves, from the plan's archive unless the entry has one.
func TestSelftestsUbuntuSource(t *testing.T) {
	for _, tc := range []struct{ entry, spec, archive string }{
		{"{series: noble, pocket: updates, version: 6.8.0-151.151}", "ubuntu:noble-updates@6.8.0-151.151", "http://mirror.example/ubuntu"},
		{"{series: noble}", "ubuntu:noble", "http://mirror.example/ubuntu"},
		{"{series: jammy, pocket: release, archive: 'http://other/ubuntu'}", "ubuntu:jammy", "http://other/ubuntu"},
	} {
		in := strings.Replace(selftestsPlan, "    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: "+tc.entry+"\n", 1)
		in = "archive: http://mirror.example/ubuntu\n" + in
		f, err := Parse([]byte(in), known)
		if err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		p, err := f.Expand(Options{}, known)
		if err != nil {
			t.Fatal(err)
		}
		st := p.Selftests[0]
		if st.Source != "" || st.SourceSpec != tc.spec || st.SourceArchive != tc.archive {
			t.Errorf("%s: source %q spec %q archive %q, want %q from %q", tc.entry, st.Source, st.SourceSpec, st.SourceArchive, tc.spec, tc.archive)
		}
	}
}

func TestSelftestsBad(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"    source: src/linux-source-6.12.tar.xz\n", "", "line 5: selftests entry needs a target and one of source or ubuntu"},
		{"    source: src/linux-source-6.12.tar.xz\n", "    source: x.tar.xz\n    ubuntu: {series: noble}\n", "needs a target and one of source or ubuntu"},
		{"    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: {series: noble, pocket: backports}\n", `line 6: selftests ubuntu: unknown pocket "backports"`},
		{"    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: {series: Noble}\n", `series "Noble"`},
		{"    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: {series: noble, version: latest}\n", `version "latest" is not a package version`},
		{"    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: {series: noble, abi: 6.8.0-151}\n", `unknown key "abi"`},
		{"    source: src/linux-source-6.12.tar.xz\n", "    ubuntu: {series: noble, archive: ftp://x}\n", "is not an http(s) URL"},
		{"target: net/mptcp", "target: ../net", "is not a path below tools/testing/selftests"},
		{"jobs: 2", "jobs: 2\n    colour: red", `unknown key "colour"`},
		{"[diag.sh, mptcp_sockopt.sh]", "[net/diag.sh]", "must be a script name of the target"},
		{"{diag.sh: skip}", "{pm_netlink.sh: skip}", `expect: "pm_netlink.sh" is not in tests`},
		{"{diag.sh: skip}", "{diag.sh: maybe}", "is not PASS, FAIL, ERROR or SKIP"},
		{"  - target: net/mptcp", "  - name: connect\n    target: net/mptcp", "clashes with a scenario"},
		{"jobs: 2", "jobs: -1", "must not be negative"},
		{"[diag.sh, mptcp_sockopt.sh]", "[mptcp_join.sh -f;reboot]", `argument "-f;reboot": only letters`},
		{"[diag.sh, mptcp_sockopt.sh]", "[mptcp_join.sh -f, mptcp_join.sh  -f]", `"mptcp_join.sh  -f" listed twice`},
		{"[diag.sh, mptcp_sockopt.sh]", "[mptcp_join.sh -x=1, mptcp_join.sh -x_1]", "both give the directory name"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			in := strings.Replace(selftestsPlan, tc.old, tc.new, 1)
			if in == selftestsPlan {
				t.Fatalf("edit %q not applied", tc.old)
			}
			_, err := Parse([]byte(in), known)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// The selftest plans of the repository parse: the Debian one from a local
// tarball, the Ubuntu one from its kernel's own linux-source in the same
// archive and pocket.
func TestSelftestPlansInRepo(t *testing.T) {
	for file, want := range map[string]string{
		"../mptcp-selftests.yaml": "/usr/src/linux-source-6.12.tar.xz",
		"../noble-selftests.yaml": "ubuntu:noble-updates@6.8.0-151.151 from http://archive.ubuntu.com/ubuntu",
	} {
		f, err := Load(file, known)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Expand(Options{}, known)
		if err != nil {
			t.Fatal(err)
		}
		st := p.Selftests[0]
		got := st.Source
		if st.SourceSpec != "" {
			got = st.SourceSpec + " from " + st.SourceArchive
		}
		if got != want || len(st.Tests) != 8 {
			t.Errorf("%s: source %q, %d tests; want %q, 8", file, got, len(st.Tests), want)
		}
	}
}

// A test entry may carry the script's own arguments (mptcp_join.sh's test
// groups): one column per entry, spelled with single spaces, and expect:
// keys name entries the same way.
func TestSelftestsArgs(t *testing.T) {
	in := strings.Replace(selftestsPlan, "[diag.sh, mptcp_sockopt.sh]", "[mptcp_join.sh  -f -e, mptcp_join.sh -s]", 1)
	in = strings.Replace(in, "{diag.sh: skip}", "{mptcp_join.sh -s: fail}", 1)
	f, err := Parse([]byte(in), known)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Expand(Options{}, known)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Selftests[0]
	if strings.Join(st.Tests, "|") != "mptcp_join.sh -f -e|mptcp_join.sh -s" || st.Expect["mptcp_join.sh -s"] != "FAIL" {
		t.Errorf("tests %q expect %v", st.Tests, st.Expect)
	}
	if got := st.Column(st.Tests[0]); got != "mptcp:mptcp_join.sh -f -e" {
		t.Errorf("column %q", got)
	}
}
