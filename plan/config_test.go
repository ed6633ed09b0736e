package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
)

var known = []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"}

const good = `name: noble
series: noble
bug: LP#2125444
archive: http://archive.ubuntu.com/ubuntu
kernels:
  - name: noble-updates
    role: before
    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: linux-image-virtual}
    expect: {connect: fail, fallback: FAIL}
  - name: noble-proposed
    role: after
    ubuntu: {series: noble, pocket: proposed, flavour: generic, meta: linux-image-virtual}
  - name: debian-6.1
    kernel: apt:linux-image-6.1.0-*-cloud-amd64-unsigned
reproducers:
  - name: repro
    files: [a.sh]
    command: sh /tmp/repro/a.sh
    timeout: 30s
`

func TestParseGood(t *testing.T) {
	f, err := Parse([]byte(good), known)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Expand(Options{}, known)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Kernels) != 3 {
		t.Fatalf("kernels = %d", len(p.Kernels))
	}
	if p.Bug != "LP#2125444" || p.Series != f.Series || p.Name != f.Name {
		t.Errorf("plan header = %q/%q/%q, file %q/%q/%q", p.Name, p.Series, p.Bug, f.Name, f.Series, f.Bug)
	}
	k := p.Kernels[0]
	if k.Spec != "ubuntu:series=noble,pocket=updates,flavour=generic,meta=linux-image-virtual,archive=http://archive.ubuntu.com/ubuntu" {
		t.Errorf("spec = %s", k.Spec)
	}
	if k.Pocket != "noble-updates" || k.Role != "before" {
		t.Errorf("pocket/role = %q/%q", k.Pocket, k.Role)
	}
	if len(k.Scenarios) != 6 || k.Scenarios[0].Expected != report.Fail || k.Scenarios[2].Expected != report.Pass {
		t.Errorf("scenarios = %+v", k.Scenarios)
	}
	if k.Scenarios[5].Scenario != "repro" {
		t.Errorf("reproducer not planned: %+v", k.Scenarios)
	}
}

func TestParseErrorsNameLine(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown top key", "kernels: []\nbogus: 1\n", "line 2"},
		{"unknown kernel key", "kernels:\n  - kernel: apt:x\n    colour: red\n", `line 3: unknown key "colour"`},
		{"unknown ubuntu key", "kernels:\n  - ubuntu: {series: noble, pocket: updates, flavour: generic, meta: m, mirror: x}\n", `unknown key "mirror"`},
		{"wrong type", "memory_mb: lots\nkernels:\n  - kernel: apt:x\n", "line 1"},
		{"unknown scenario", "scenarios: [connect, teleport]\nkernels:\n  - kernel: apt:x\n", `line 1: unknown scenario "teleport"`},
		{"unknown expect scenario", "kernels:\n  - kernel: apt:x\n    expect:\n      joins: FAIL\n", `line 4: expect: unknown scenario "joins"`},
		{"bad outcome", "kernels:\n  - kernel: apt:x\n    expect: {join: MAYBE}\n", `"MAYBE" is not PASS`},
		{"both sources", "kernels:\n  - kernel: apt:x\n    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: m}\n", "exactly one of kernel: or ubuntu:"},
		{"bad pocket", "kernels:\n  - ubuntu: {series: noble, pocket: nightly, flavour: generic, meta: m}\n", `unknown pocket "nightly"`},
		{"dup name", "kernels:\n  - {name: a, kernel: apt:x}\n  - {name: a, kernel: apt:y}\n", `line 3: kernel name "a" already used on line 2`},
		{"no kernels", "name: x\n", "no kernels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), known)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("kernels:\n  - kernel: apt:x\n    nope: 1\n"), 0o644)
	_, err := Load(p, known)
	if err == nil || !strings.Contains(err.Error(), p+": line 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestShardAndFilter(t *testing.T) {
	y := "kernels:\n  - {name: k61, kernel: apt:a}\n  - {name: k612, kernel: apt:b}\n  - {name: k612-rev, kernel: apt:c}\n"
	f, err := Parse([]byte(y), known)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 1; i <= 2; i++ {
		p, err := f.Expand(Options{Shard: Shard{i, 2}}, known)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range p.Kernels {
			got = append(got, k.Name)
		}
	}
	if strings.Join(got, ",") != "k61,k612-rev,k612" {
		t.Errorf("shards cover %v", got)
	}
	p, err := f.Expand(Options{KernelFilter: "612", Scenarios: []string{"join"}}, known)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Kernels) != 2 || len(p.Kernels[0].Scenarios) != 1 {
		t.Errorf("filter: %+v", p.Kernels)
	}
	if _, err := f.Expand(Options{KernelFilter: "5.15"}, known); err == nil {
		t.Error("filter matching nothing must fail")
	}
	for _, bad := range []string{"0/2", "3/2", "x", "1/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("kernels:\n  - kernel: apt:x\n    expect: {join: FAIL}\n"))
	f.Add([]byte(tracksYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data, known) //nolint:errcheck // only panics matter
	})
}

// Ad-hoc plans (--kernel) run every known scenario unless told which, and
// refuse a scenario nobody knows before any kernel is built.
func TestAdhoc(t *testing.T) {
	p, err := Adhoc([]string{"deb:a.deb", "bzimage:b"}, nil, known)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "adhoc" || len(p.Kernels) != 2 || p.Kernels[1].Name != "bzimage:b" || p.Kernels[1].Spec != "bzimage:b" {
		t.Fatalf("plan %+v", p)
	}
	for _, k := range p.Kernels {
		if len(k.Scenarios) != len(known) || k.Scenarios[2] != (Item{"join", report.Pass}) {
			t.Errorf("kernel %s: cells %+v", k.Name, k.Scenarios)
		}
	}
	p, err = Adhoc([]string{"deb:a.deb"}, []string{"join"}, known)
	if err != nil || len(p.Kernels[0].Scenarios) != 1 || p.Kernels[0].Scenarios[0].Scenario != "join" {
		t.Errorf("--scenario join: %+v, %v", p, err)
	}
	if _, err := Adhoc([]string{"deb:a.deb"}, []string{"join", "joni"}, known); err == nil || !strings.Contains(err.Error(), `unknown scenario "joni"`) {
		t.Errorf("unknown scenario: %v", err)
	}
}
