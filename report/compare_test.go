package report

import (
	"bytes"
	"strings"
	"testing"
)

// compareRuns derives two runs from the fixture: "before" is the fixture
// without the noble after kernel; "after" has the noble after kernel (to be
// matched by role with the before kernel), debian-6.1-cloud with join
// regressed, the reverted 6.12 tree fixed except the crash, and the
// kernel without MPTCP missing.
func compareRuns(t testing.TB) (before, after *Run) {
	before, after = fixture(t), fixture(t)
	before.Kernels = before.Kernels[:5]
	after.Started = after.Started.AddDate(0, 0, 7)
	var ks []Kernel
	for _, k := range after.Kernels {
		switch k.Name {
		case "debian-6.1-cloud":
			set(&k, "join", Fail, "path1 initial: no keepalive (no timer, 0 probes); path2 mp_join: no keepalive (no timer, 0 probes)")
		case "6.12-revert-648de37416b3":
			for _, s := range []string{"connect", "fallback", "join"} {
				set(&k, s, Pass, "keepalive on every subflow")
			}
		case "6.12-tiny-no-mptcp", "noble-6.8-updates":
			continue
		}
		ks = append(ks, k)
	}
	after.Kernels = ks
	return before, after
}

// set changes one cell of k (on a copy of its cells).
func set(k *Kernel, scenario string, o Outcome, reason string) {
	k.Cells = append([]Cell(nil), k.Cells...)
	for i := range k.Cells {
		if k.Cells[i].Scenario == scenario {
			k.Cells[i].Outcome, k.Cells[i].Reason = o, reason
		}
	}
}

func TestCompareCategories(t *testing.T) {
	before, after := compareRuns(t)
	c := Compare(before, after)
	wantPairs := []KernelPair{
		{"debian-6.1-cloud", "debian-6.1-cloud", "name"},
		{"debian-6.12-cloud", "debian-6.12-cloud", "name"},
		{"6.12-revert-648de37416b3", "6.12-revert-648de37416b3", "name"},
		{"noble-6.8-updates", "noble-6.8-proposed", "role"},
	}
	if len(c.Pairs) != len(wantPairs) {
		t.Fatalf("pairs %+v", c.Pairs)
	}
	for i, p := range wantPairs {
		if c.Pairs[i] != p {
			t.Errorf("pair %d = %+v, want %+v", i, c.Pairs[i], p)
		}
	}
	if len(c.OnlyBefore) != 1 || c.OnlyBefore[0] != "6.12-tiny-no-mptcp" || len(c.OnlyAfter) != 0 {
		t.Errorf("unmatched: before %v, after %v", c.OnlyBefore, c.OnlyAfter)
	}
	got := map[string]Change{}
	for _, ch := range c.Changes {
		got[ch.Pair.After+"/"+ch.Scenario] = ch.Change
	}
	for key, want := range map[string]Change{
		"noble-6.8-proposed/connect":                       Fixed,
		"noble-6.8-proposed/join":                          Fixed,
		"noble-6.8-proposed/keepalive-off":                 Unchanged,
		"debian-6.1-cloud/join":                            Regressed,
		"debian-6.1-cloud/connect":                         Unchanged,
		"6.12-revert-648de37416b3/connect":                 Fixed,
		"6.12-revert-648de37416b3/keepalive-after-connect": Errored,
	} {
		if got[key] != want {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
	if n := c.Count(Fixed); n != 6 {
		t.Errorf("fixed = %d, want 6", n)
	}
	if n := c.Count(Regressed); n != 1 {
		t.Errorf("regressed = %d, want 1", n)
	}
}

func TestCompareSmall(t *testing.T) {
	one := func(name string, cells ...Cell) *Run {
		return &Run{Schema: SchemaVersion, Name: name, Kernels: []Kernel{{Name: name, Cells: cells}}}
	}
	cell := func(s string, o Outcome) Cell { return Cell{Scenario: s, Outcome: o, Expected: Pass} }
	// Different names, one kernel each: matched as the only kernels.
	c := Compare(one("old", cell("connect", Fail), cell("fallback", Fail), cell("join", Skip)),
		one("new", cell("connect", Fail), cell("fallback", Error), cell("join", Pass), cell("x", Pass)))
	if len(c.Pairs) != 1 || c.Pairs[0].By != "only kernel" {
		t.Fatalf("pairs %+v", c.Pairs)
	}
	want := []Change{StillFailing, Errored, Changed, Missing}
	for i, ch := range c.Changes {
		if ch.Change != want[i] {
			t.Errorf("%s: %s, want %s", ch.Scenario, ch.Change, want[i])
		}
	}
	var b bytes.Buffer
	if err := c.Render(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"still failing (1):", "old → new × connect: FAIL → FAIL", "error (1):", "missing (1):", "old → new × x: - → PASS", "0 fixed, 0 regressed, 1 still failing, 1 error, 1 changed, 1 missing, 0 unchanged"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("render lacks %q:\n%s", s, b.String())
		}
	}
}
