package report

import (
	"fmt"
	"io"
	"strings"
)

// Change classifies one scenario of a matched kernel pair.
type Change string

const (
	Fixed        Change = "fixed"         // FAIL → PASS
	Regressed    Change = "regressed"     // PASS → FAIL
	StillFailing Change = "still failing" // FAIL → FAIL
	Errored      Change = "error"         // ERROR on either side: undecided
	Flaky        Change = "flaky"         // FLAKY on either side (runs disagreed): undecided
	Unchanged    Change = "unchanged"     // PASS → PASS, SKIP → SKIP
	Changed      Change = "changed"       // any other move (to or from SKIP)
	Missing      Change = "missing"       // the cell exists on one side only
)

// KernelPair is a before kernel matched with an after kernel.
type KernelPair struct {
	Before, After string // kernel names
	By            string // "name", "role" or "only kernel"
}

// CellChange is one scenario of a kernel pair, before and after.
type CellChange struct {
	Pair          KernelPair
	Scenario      string
	Before, After Outcome // "" when the cell is missing on that side
	Change        Change
	Reason        string // the after cell's reason (the before one's if missing after)
	// BeforeRuns, AfterRuns tally a FLAKY side's runs ("2 PASS, 1 FAIL";
	// "" when that side is not FLAKY).
	BeforeRuns, AfterRuns string
	// Evidence of each side: its verdict.json, relative to that run's
	// results.json ("" when missing); see Run.RebaseArtifacts to make both
	// relative to one place.
	BeforeEvidence, AfterEvidence string
}

// Comparison is a cell-by-cell before/after diff of two runs.
type Comparison struct {
	Before, After *Run
	Pairs         []KernelPair
	Changes       []CellChange
	OnlyBefore    []string // kernels of the before run without a match
	OnlyAfter     []string // kernels of the after run without a match
}

// Compare matches the kernels of two runs — by name; else by role within a
// series (a "before" kernel with an "after" kernel, or equal roles), names
// equal apart from pocket words first; else, when each run has a single
// kernel, with each other — and classifies each scenario.
func Compare(before, after *Run) *Comparison {
	c := &Comparison{Before: before, After: after}
	bs, as := before.Rows(), after.Rows()
	matched := make([]int, len(as)) // index into bs, -1 none
	usedB := make([]bool, len(bs))
	how := make([]string, len(as))
	for i := range matched {
		matched[i] = -1
	}
	match := func(ai, bi int, by string) { matched[ai], usedB[bi], how[ai] = bi, true, by }
	for ai, a := range as {
		for bi, b := range bs {
			if !usedB[bi] && a.Name == b.Name {
				match(ai, bi, "name")
				break
			}
		}
	}
	for ai := range as {
		a := &as[ai]
		if matched[ai] >= 0 || a.Role == "" {
			continue
		}
		best, bestScore := -1, 0
		for bi := range bs {
			b := &bs[bi]
			if usedB[bi] || b.Role == "" || before.SeriesOf(b) != after.SeriesOf(a) {
				continue
			}
			if !(b.Role == a.Role || b.Role == "before" && a.Role == "after") {
				continue
			}
			score := 1
			if stem(a.Name) == stem(b.Name) {
				score = 2
			}
			if score > bestScore {
				best, bestScore = bi, score
			}
		}
		if best >= 0 {
			match(ai, best, "role")
		}
	}
	var freeA, freeB []int
	for ai := range as {
		if matched[ai] < 0 {
			freeA = append(freeA, ai)
		}
	}
	for bi := range bs {
		if !usedB[bi] {
			freeB = append(freeB, bi)
		}
	}
	if len(as) == 1 && len(bs) == 1 && len(freeA) == 1 {
		match(freeA[0], freeB[0], "only kernel")
		freeA, freeB = nil, nil
	}
	for ai := range as {
		if matched[ai] < 0 {
			continue
		}
		b, a := &bs[matched[ai]], &as[ai]
		p := KernelPair{Before: b.Name, After: a.Name, By: how[ai]}
		c.Pairs = append(c.Pairs, p)
		c.Changes = append(c.Changes, compareKernel(p, b, a)...)
	}
	for _, i := range freeB {
		c.OnlyBefore = append(c.OnlyBefore, bs[i].Name)
	}
	for _, i := range freeA {
		c.OnlyAfter = append(c.OnlyAfter, as[i].Name)
	}
	return c
}

func compareKernel(p KernelPair, b, a *Kernel) []CellChange {
	var names []string
	seen := map[string]bool{}
	for _, k := range []*Kernel{b, a} {
		for _, cell := range k.Cells {
			if !seen[cell.Scenario] {
				seen[cell.Scenario] = true
				names = append(names, cell.Scenario)
			}
		}
	}
	SortScenarios(names)
	var out []CellChange
	for _, s := range names {
		bc, bok := b.Cell(s)
		ac, aok := a.Cell(s)
		ch := CellChange{Pair: p, Scenario: s, Before: bc.Outcome, After: ac.Outcome, Reason: ac.Reason,
			BeforeEvidence: evidencePath(bc), AfterEvidence: evidencePath(ac)}
		if bc.Flaky {
			ch.BeforeRuns = bc.Tally()
		}
		if ac.Flaky {
			ch.AfterRuns = ac.Tally()
		}
		switch {
		case !bok || !aok:
			ch.Change = Missing
			if !aok {
				ch.Reason = bc.Reason
			}
		case bc.Flaky || ac.Flaky:
			// Its first run's outcome would say "fixed" or "regressed"
			// by chance.
			ch.Change = Flaky
		case bc.Outcome == Error || ac.Outcome == Error:
			ch.Change = Errored
		case bc.Outcome == Fail && ac.Outcome == Pass:
			ch.Change = Fixed
		case bc.Outcome == Pass && ac.Outcome == Fail:
			ch.Change = Regressed
		case bc.Outcome == Fail && ac.Outcome == Fail:
			ch.Change = StillFailing
		case bc.Outcome == ac.Outcome:
			ch.Change = Unchanged
		default:
			ch.Change = Changed
		}
		out = append(out, ch)
	}
	return out
}

// Count returns how many cells had change ch.
func (c *Comparison) Count(ch Change) int {
	n := 0
	for _, x := range c.Changes {
		if x.Change == ch {
			n++
		}
	}
	return n
}

// renderOrder lists the sections of Render; unchanged cells are counted only.
var renderOrder = []Change{Fixed, Regressed, StillFailing, Errored, Flaky, Changed, Missing}

// Render prints the matched kernels, then one section per kind of change
// (fixed, regressed, still failing, errors, FLAKY, other changes, missing
// cells), each cell as "before-kernel → after-kernel × scenario: FAIL →
// PASS" (a FLAKY side as "FLAKY (2 PASS, 1 FAIL)") with
// the paths of both sides' verdict.json below it, and a tally line.
func (c *Comparison) Render(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "before: %s\nafter:  %s\n", runTitle(c.Before), runTitle(c.After))
	if len(c.Pairs) > 0 {
		fmt.Fprintln(ew, "\nkernels:")
		for _, p := range c.Pairs {
			fmt.Fprintf(ew, "  %s (by %s)\n", pairLabel(p), p.By)
		}
	}
	for _, n := range c.OnlyBefore {
		fmt.Fprintf(ew, "  only in before: %s\n", oneLine(n, 60))
	}
	for _, n := range c.OnlyAfter {
		fmt.Fprintf(ew, "  only in after: %s\n", oneLine(n, 60))
	}
	var tally []string
	for _, kind := range renderOrder {
		n := c.Count(kind)
		if n == 0 && kind != Fixed && kind != Regressed && kind != StillFailing && kind != Errored {
			continue
		}
		tally = append(tally, fmt.Sprintf("%d %s", n, kind))
		if n == 0 {
			continue
		}
		fmt.Fprintf(ew, "\n%s (%d):\n", kind, n)
		for _, x := range c.Changes {
			if x.Change != kind {
				continue
			}
			fmt.Fprintf(ew, "  %s × %s: %s → %s", pairLabel(x.Pair), x.Scenario, sideText(x.Before, x.BeforeRuns), sideText(x.After, x.AfterRuns))
			if kind != Fixed && x.Reason != "" {
				fmt.Fprintf(ew, ": %s", oneLine(x.Reason, 160))
			}
			fmt.Fprintln(ew)
			if x.BeforeEvidence != "" || x.AfterEvidence != "" {
				fmt.Fprintf(ew, "      evidence: before %s, after %s\n", orDash(x.BeforeEvidence), orDash(x.AfterEvidence))
			}
		}
	}
	tally = append(tally, fmt.Sprintf("%d unchanged", c.Count(Unchanged)))
	fmt.Fprintf(ew, "\n%s\n", strings.Join(tally, ", "))
	return ew.err
}

// sideText is one side of a change: its outcome, or "FLAKY (tally)".
func sideText(o Outcome, runs string) string {
	if runs != "" {
		return "FLAKY (" + runs + ")"
	}
	return orDash(string(o))
}

func pairLabel(p KernelPair) string {
	if p.Before == p.After {
		return oneLine(p.After, 60)
	}
	return oneLine(p.Before, 60) + " → " + oneLine(p.After, 60)
}

func runTitle(r *Run) string {
	s := fmt.Sprintf("%q", oneLine(r.Name, 60))
	if !r.Started.IsZero() {
		s += " " + r.Started.UTC().Format("2006-01-02 15:04 MST")
	}
	return s + fmt.Sprintf(", %d kernel(s)", len(r.Rows()))
}
