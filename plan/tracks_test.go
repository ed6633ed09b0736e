package plan

import (
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
)

const tracksYAML = `name: jammy
series: jammy
bug: LP#2125444
archive: http://archive.ubuntu.com/ubuntu
scenarios: [connect, fallback, join]
tracks:
  - name: jammy-5.15
    ubuntu: {flavour: generic, meta: linux-image-virtual}
    expect: {join: FAIL}
    history: {expect: {join: FAIL}}
  - name: jammy-hwe-6.8
    ubuntu: {flavour: generic, meta: linux-image-virtual-hwe-22.04}
    history: {pocket: updates, abi: 6.8.0-38, expect: {connect: FAIL, fallback: FAIL}}
    sru: {fixes: [join]}
`

func kernelNames(p *Plan) string {
	var s []string
	for _, k := range p.Kernels {
		s = append(s, k.Name)
	}
	return strings.Join(s, " ")
}

func expected(k Kernel) string {
	var s []string
	for _, it := range k.Scenarios {
		s = append(s, it.Scenario+"="+string(it.Expected))
	}
	return strings.Join(s, " ")
}

func TestTracksExpand(t *testing.T) {
	f, err := Parse([]byte(tracksYAML), known)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Expand(Options{}, known)
	if err != nil {
		t.Fatal(err)
	}
	if got := kernelNames(p); got != "jammy-5.15-release jammy-5.15-updates jammy-5.15-proposed jammy-hwe-6.8-updates-6.8.0-38 jammy-hwe-6.8-updates jammy-hwe-6.8-proposed" {
		t.Fatalf("kernels: %s", got)
	}
	byName := map[string]Kernel{}
	for _, k := range p.Kernels {
		byName[k.Name] = k
	}
	for name, want := range map[string]struct{ spec, pocket, role, exp, newer string }{
		"jammy-5.15-release": {"ubuntu:series=jammy,pocket=release,flavour=generic,meta=linux-image-virtual,archive=http://archive.ubuntu.com/ubuntu", "jammy", "before", "connect=PASS fallback=PASS join=FAIL", ""},
		// A known failure on -updates (expect:) is expected on -proposed
		// too: no regression, nothing claimed fixed.
		"jammy-5.15-updates": {"", "jammy-updates", "after", "connect=PASS fallback=PASS join=FAIL", ""},
		"jammy-5.15-proposed": {"ubuntu:series=jammy,pocket=proposed,flavour=generic,meta=linux-image-virtual,archive=http://archive.ubuntu.com/ubuntu", "jammy-proposed", "after", "connect=PASS fallback=PASS join=FAIL",
			"ubuntu:series=jammy,pocket=updates,flavour=generic,meta=linux-image-virtual,archive=http://archive.ubuntu.com/ubuntu"},
		// The pinned history kernel: abi instead of meta, measured expectations.
		"jammy-hwe-6.8-updates-6.8.0-38": {"ubuntu:series=jammy,pocket=updates,flavour=generic,abi=6.8.0-38,archive=http://archive.ubuntu.com/ubuntu", "jammy-updates", "before", "connect=FAIL fallback=FAIL join=PASS", ""},
		// sru fixes: join FAILs on -updates and is fixed on -proposed.
		"jammy-hwe-6.8-updates":  {"ubuntu:series=jammy,pocket=updates,flavour=generic,meta=linux-image-virtual-hwe-22.04,archive=http://archive.ubuntu.com/ubuntu", "jammy-updates", "after", "connect=PASS fallback=PASS join=FAIL", ""},
		"jammy-hwe-6.8-proposed": {"", "jammy-proposed", "after", "connect=PASS fallback=PASS join=PASS", "ubuntu:series=jammy,pocket=updates,flavour=generic,meta=linux-image-virtual-hwe-22.04,archive=http://archive.ubuntu.com/ubuntu"},
	} {
		k := byName[name]
		if (want.spec != "" && k.Spec != want.spec) || k.Pocket != want.pocket || k.Role != want.role || expected(k) != want.exp || k.NewerThan != want.newer {
			t.Errorf("%s: spec %s pocket %s role %s expect %s newer-than %q", name, k.Spec, k.Pocket, k.Role, expected(k), k.NewerThan)
		}
	}
	want := []report.Pair{
		{Check: "history", Track: "jammy-5.15", Before: "jammy-5.15-release", After: "jammy-5.15-updates"},
		{Check: "sru", Track: "jammy-5.15", Before: "jammy-5.15-updates", After: "jammy-5.15-proposed"},
		{Check: "history", Track: "jammy-hwe-6.8", Before: "jammy-hwe-6.8-updates-6.8.0-38", After: "jammy-hwe-6.8-updates"},
		{Check: "sru", Track: "jammy-hwe-6.8", Before: "jammy-hwe-6.8-updates", After: "jammy-hwe-6.8-proposed", Fixes: []string{"join"}},
	}
	if len(p.Pairs) != len(want) {
		t.Fatalf("pairs: %+v", p.Pairs)
	}
	for i := range want {
		if p.Pairs[i].Check != want[i].Check || p.Pairs[i].Before != want[i].Before || p.Pairs[i].After != want[i].After ||
			p.Pairs[i].Track != want[i].Track || strings.Join(p.Pairs[i].Fixes, ",") != strings.Join(want[i].Fixes, ",") {
			t.Errorf("pair %d = %+v, want %+v", i, p.Pairs[i], want[i])
		}
	}
}

func TestTracksChecks(t *testing.T) {
	f, err := Parse([]byte(tracksYAML), known)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		checks      []string
		names, pair string
	}{
		{[]string{CheckHistory}, "jammy-5.15-release jammy-5.15-updates jammy-hwe-6.8-updates-6.8.0-38 jammy-hwe-6.8-updates", "history"},
		{[]string{CheckSRU}, "jammy-5.15-updates jammy-5.15-proposed jammy-hwe-6.8-updates jammy-hwe-6.8-proposed", "sru"},
	} {
		p, err := f.Expand(Options{Checks: tc.checks}, known)
		if err != nil {
			t.Fatal(err)
		}
		if got := kernelNames(p); got != tc.names {
			t.Errorf("%v: kernels %s", tc.checks, got)
		}
		for _, pr := range p.Pairs {
			if pr.Check != tc.pair {
				t.Errorf("%v: pair %+v", tc.checks, pr)
			}
		}
		// The -updates kernel is "before" when it is only the SRU baseline.
		if tc.pair == "sru" && p.Kernels[0].Role != "before" {
			t.Errorf("sru only: -updates role %q", p.Kernels[0].Role)
		}
	}
	// Shards know every pair, so merged shards conclude.
	p, err := f.Expand(Options{Shard: Shard{2, 2}}, known)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Pairs) != 4 || len(p.Kernels) != 3 {
		t.Errorf("shard 2/2: %d pairs, kernels %s", len(p.Pairs), kernelNames(p))
	}
	if _, err := ParseChecks([]string{"history,sru"}); err != nil {
		t.Error(err)
	}
	if _, err := ParseChecks([]string{"bisect"}); err == nil {
		t.Error("ParseChecks accepted bisect")
	}
}

func TestTracksErrors(t *testing.T) {
	head := "series: noble\ntracks:\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"pocket in track", head + "  - {name: t, ubuntu: {pocket: updates, flavour: generic, meta: m}}\n", "takes no pocket"},
		{"abi in track", head + "  - {name: t, ubuntu: {flavour: generic, abi: 6.8.0-1}}\n", "needs flavour and meta"},
		{"no name", head + "  - {ubuntu: {flavour: generic, meta: m}}\n", "track needs a name"},
		{"no series", "tracks:\n  - {name: t, ubuntu: {flavour: generic, meta: m}}\n", "no series"},
		{"history proposed", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}, history: {pocket: proposed}}\n", `history pocket "proposed"`},
		{"history updates without abi", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}, history: {pocket: updates}}\n", "needs abi"},
		{"unknown history key", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}, history: {pockets: release}}\n", `unknown key "pockets"`},
		{"unknown fix", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}, sru: {fixes: [teleport]}}\n", `sru fixes: unknown scenario "teleport"`},
		{"bad expect", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}, history: {expect: {join: MAYBE}}}\n", `"MAYBE" is not PASS`},
		{"dup with kernels", head + "  - {name: t, ubuntu: {flavour: generic, meta: m}}\nkernels:\n  - {name: t-updates, kernel: apt:x}\n", `kernel name "t-updates"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), known)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	for spec, want := range map[string]string{
		"ubuntu:series=noble,pocket=release,flavour=generic,abi=6.8.0-31":                     "noble-release-6.8.0-31",
		"ubuntu:series=noble,pocket=updates,flavour=generic,meta=linux-image-virtual":         "noble-updates-linux-image-virtual",
		"ubuntu:series=noble,pocket=updates,flavour=lowlatency,abi=6.8.0-31,archive=http://x": "noble-updates-6.8.0-31-lowlatency",
		"apt:linux-image-6.1.0-*-cloud-amd64-unsigned":                                        "apt:linux-image-6.1.0-*-cloud-amd64-unsigned",
	} {
		if got := DefaultName(spec); got != want {
			t.Errorf("DefaultName(%s) = %s, want %s", spec, got, want)
		}
	}
	p, err := Adhoc([]string{"ubuntu:series=noble,pocket=release,flavour=generic,meta=linux-image-virtual", "ubuntu:series=noble,pocket=release,flavour=generic,abi=6.8.0-31"}, []string{"connect"}, known)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kernels[0].Name != "noble-release-linux-image-virtual" || !p.Kernels[0].AutoName || p.Kernels[1].Name != "noble-release-6.8.0-31" || p.Kernels[1].AutoName {
		t.Errorf("adhoc: %+v", p.Kernels)
	}
}

// The series files shipped at the top of the repository load and expand
// into history and SRU pairs for every track.
func TestSeriesFiles(t *testing.T) {
	for _, name := range []string{"jammy", "noble", "plucky", "resolute"} {
		f, err := Load("../"+name+".yaml", known)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Expand(Options{}, known)
		if err != nil {
			t.Fatal(err)
		}
		if p.Series != name || len(f.Tracks) == 0 || len(p.Pairs) != 2*len(f.Tracks) || len(p.Kernels) != 3*len(f.Tracks) {
			t.Errorf("%s: series %q, %d tracks, %d pairs, kernels %s", name, p.Series, len(f.Tracks), len(p.Pairs), kernelNames(p))
		}
		for _, k := range p.Kernels {
			if !strings.HasPrefix(k.Spec, "ubuntu:series="+name+",") || (strings.HasSuffix(k.Name, "-proposed") != (k.NewerThan != "")) {
				t.Errorf("%s: %s spec %s newer-than %q", name, k.Name, k.Spec, k.NewerThan)
			}
		}
	}
}
