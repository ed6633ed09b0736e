package plan

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/srutest/srutest/report"
)

// Checks a series file's tracks can run (Options.Checks).
const (
	// CheckHistory is the bug's history: the kernel before the fix (the
	// release pocket's GA kernel by default) against -updates.
	CheckHistory = "history"
	// CheckSRU is the live SRU check: -updates against -proposed.
	CheckSRU = "sru"
)

// Track is one kernel line of a series file (a flavour and meta package,
// e.g. GA linux-image-virtual or HWE linux-image-virtual-hwe-22.04),
// checked two ways from the same three pockets:
//
//	history: <history pocket/abi> (before) → -updates (after)
//	sru:     -updates (before)            → -proposed (after)
//
// The -updates kernel is shared: a run of both checks boots it once.
type Track struct {
	Name   string     `yaml:"name"`
	Ubuntu UbuntuDecl `yaml:"ubuntu"` // flavour, meta[, series, archive]; no pocket
	// Expect is what the line's -updates kernel shows, measured (default
	// PASS): a known failure the SRU is not about. -proposed is expected
	// the same ("no regression"), except SRU.Fixes.
	Expect  Expectation `yaml:"expect"`
	History HistoryDecl `yaml:"history"`
	SRU     SRUDecl     `yaml:"sru"`

	line int
}

// HistoryDecl is the "before the fix" side of the bug's history.
type HistoryDecl struct {
	Pocket string `yaml:"pocket"` // default release
	// ABI pins the before kernel (e.g. the first HWE kernel a series got,
	// when the release pocket's meta still points at the GA kernel).
	ABI string `yaml:"abi"`
	// Expect is what the before kernel shows, measured on the real kernel
	// (default PASS: a no-regression row).
	Expect Expectation `yaml:"expect"`
}

// SRUDecl is the live check of -proposed against -updates.
type SRUDecl struct {
	// Fixes names the scenarios the -proposed kernel is meant to fix: they
	// are expected to FAIL on -updates and PASS on -proposed. Every other
	// scenario is expected to come out on -proposed as on -updates ("no
	// regression").
	Fixes []Name `yaml:"fixes"`
}

// UnmarshalYAML rejects unknown keys and records the line.
func (t *Track) UnmarshalYAML(v *yaml.Node) error {
	type plain Track
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*t = Track(p)
	t.line = v.Line
	return nil
}

// UnmarshalYAML rejects unknown keys.
func (h *HistoryDecl) UnmarshalYAML(v *yaml.Node) error {
	type plain HistoryDecl
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*h = HistoryDecl(p)
	return nil
}

// UnmarshalYAML rejects unknown keys.
func (s *SRUDecl) UnmarshalYAML(v *yaml.Node) error {
	type plain SRUDecl
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*s = SRUDecl(p)
	return nil
}

func (f *File) validateTracks(isKnown map[string]bool, names map[string]int) error {
	for i := range f.Tracks {
		t := &f.Tracks[i]
		u := &t.Ubuntu
		if t.Name == "" {
			return fmt.Errorf("line %d: track needs a name", t.line)
		}
		if u.Series == "" {
			u.Series = f.Series
		}
		switch {
		case u.Series == "":
			return fmt.Errorf("line %d: track %s: no series (set series: in the file or the track's ubuntu:)", t.line, t.Name)
		case u.Pocket != "":
			return fmt.Errorf("line %d: track %s: ubuntu: takes no pocket (a track spans the history pocket, -updates and -proposed)", t.line, t.Name)
		case u.Flavour == "" || u.Meta == "":
			return fmt.Errorf("line %d: track %s: ubuntu: needs flavour and meta", t.line, t.Name)
		case u.ABI != "":
			return fmt.Errorf("line %d: track %s: ubuntu: takes no abi (pin the history kernel with history: {abi: …})", t.line, t.Name)
		}
		if t.History.Pocket == "" {
			t.History.Pocket = "release"
		}
		if !validPockets[t.History.Pocket] || t.History.Pocket == "proposed" {
			return fmt.Errorf("line %d: track %s: history pocket %q (release, updates, security, backports)", t.line, t.Name, t.History.Pocket)
		}
		if t.History.Pocket == "updates" && t.History.ABI == "" {
			return fmt.Errorf("line %d: track %s: history pocket updates needs abi: (else before and after are the same kernel)", t.line, t.Name)
		}
		if err := checkExpect(t.History.Expect, isKnown); err != nil {
			return err
		}
		if err := checkExpect(t.Expect, isKnown); err != nil {
			return err
		}
		for _, s := range t.SRU.Fixes {
			if !isKnown[s.Value] {
				return fmt.Errorf("line %d: sru fixes: unknown scenario %q", s.Line, s.Value)
			}
		}
		for _, k := range t.kernels(f.Archive, nil, []string{CheckHistory, CheckSRU}) {
			if prev, dup := names[k.Name]; dup {
				return fmt.Errorf("line %d: kernel name %q (track %s) already used on line %d", t.line, k.Name, t.Name, prev)
			}
			names[k.Name] = t.line
		}
	}
	return nil
}

// kernels expands a track into its pocket kernels and comparisons for the
// given checks and scenarios.
func (t *Track) kernels(archive string, scen []string, checks []string) []trackKernel {
	u := t.Ubuntu
	spec := func(pocket, abi string) string {
		d := KernelDecl{Ubuntu: &UbuntuDecl{Series: u.Series, Pocket: pocket, Flavour: u.Flavour, Meta: u.Meta, Archive: u.Archive}}
		if abi != "" {
			d.Ubuntu.Meta, d.Ubuntu.ABI = "", abi
		}
		return d.Spec(archive)
	}
	pocketOf := func(p string) string {
		if p == "release" {
			return u.Series
		}
		return u.Series + "-" + p
	}
	fixes := map[string]bool{}
	for _, s := range t.SRU.Fixes {
		fixes[s.Value] = true
	}
	// -updates: as measured (default PASS); what -proposed is meant to
	// fix FAILs there.
	updatesExp := func(s string) report.Outcome {
		if fixes[s] {
			return report.Fail
		}
		if o, ok := t.Expect.ByScenario[s]; ok {
			return report.Outcome(o)
		}
		return report.Pass
	}
	history, sru := slices.Contains(checks, CheckHistory), slices.Contains(checks, CheckSRU)
	var out []trackKernel
	updates := trackKernel{Kernel: Kernel{Name: t.Name + "-updates", Spec: spec("updates", ""), Role: "before", Pocket: pocketOf("updates")}}
	if history {
		h := t.History
		name := t.Name + "-" + h.Pocket
		if h.ABI != "" {
			name += "-" + h.ABI
		}
		before := trackKernel{Kernel: Kernel{Name: name, Spec: spec(h.Pocket, h.ABI), Role: "before", Pocket: pocketOf(h.Pocket)}}
		for _, s := range scen {
			exp := report.Pass
			if o, ok := h.Expect.ByScenario[s]; ok {
				exp = report.Outcome(o)
			}
			before.Scenarios = append(before.Scenarios, Item{Scenario: s, Expected: exp})
		}
		out = append(out, before)
		updates.Role = "after"
		updates.pairs = append(updates.pairs, report.Pair{Check: CheckHistory, Track: t.Name, Before: before.Name, After: updates.Name})
	}
	for _, s := range scen {
		updates.Scenarios = append(updates.Scenarios, Item{Scenario: s, Expected: updatesExp(s)})
	}
	out = append(out, updates)
	if sru {
		proposed := trackKernel{Kernel: Kernel{Name: t.Name + "-proposed", Spec: spec("proposed", ""), Role: "after", Pocket: pocketOf("proposed"), NewerThan: updates.Spec}}
		var fx []string
		for _, s := range scen {
			exp := updatesExp(s)
			if fixes[s] {
				exp = report.Pass
				fx = append(fx, s)
			}
			proposed.Scenarios = append(proposed.Scenarios, Item{Scenario: s, Expected: exp})
		}
		proposed.pairs = append(proposed.pairs, report.Pair{Check: CheckSRU, Track: t.Name, Before: updates.Name, After: proposed.Name, Fixes: fx})
		out = append(out, proposed)
	}
	return out
}

// trackKernel is a kernel of a track with the comparisons it closes.
type trackKernel struct {
	Kernel
	pairs []report.Pair
}

// ParseChecks parses --check values (history, sru); none means both.
func ParseChecks(vals []string) ([]string, error) {
	if len(vals) == 0 {
		return []string{CheckHistory, CheckSRU}, nil
	}
	var out []string
	for _, v := range vals {
		for _, c := range strings.Split(v, ",") {
			if c != CheckHistory && c != CheckSRU {
				return nil, fmt.Errorf("check %q: want history or sru", c)
			}
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
