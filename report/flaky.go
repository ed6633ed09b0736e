package report

import (
	"fmt"
	"strings"
)

// A cell run more than once (srutest run --repeat N) keeps every run in
// Cell.Repeats; it is FLAKY when their outcomes differ. The cell's own
// Outcome is its first run's, so a FLAKY cell may still "match": every
// renderer says FLAKY beside it, and no conclusion counts it as evidence
// either way.

// Tally counts a repeated cell's runs by outcome: "2 PASS, 1 FAIL"
// (outcomes in PASS, FAIL, ERROR, SKIP order; "" when it ran once).
func (c Cell) Tally() string {
	if len(c.Repeats) == 0 {
		return ""
	}
	n := map[Outcome]int{}
	for _, rp := range c.Repeats {
		n[rp.Outcome]++
	}
	var parts []string
	for _, o := range []Outcome{Pass, Fail, Error, Skip} {
		if n[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[o], o))
		}
	}
	return strings.Join(parts, ", ")
}

// flakyLine is "FLAKY over 3 runs: 2 PASS, 1 FAIL (PASS FAIL PASS)": how
// often and in which order each outcome came.
func flakyLine(c Cell) string {
	seq := make([]string, len(c.Repeats))
	for i, rp := range c.Repeats {
		seq[i] = string(rp.Outcome)
	}
	return fmt.Sprintf("FLAKY over %d runs: %s (%s)", len(c.Repeats), c.Tally(), strings.Join(seq, " "))
}

// repeatLines is one line per run of a repeated cell: "run 2/3: FAIL:
// reason: evidence <artifacts>/verdict.json" (nil when it ran once).
func repeatLines(c Cell, width int) []string {
	if len(c.Repeats) < 2 {
		return nil
	}
	out := make([]string, len(c.Repeats))
	for i, rp := range c.Repeats {
		s := fmt.Sprintf("run %d/%d: %s", i+1, len(c.Repeats), rp.Outcome)
		if rp.Reason != "" {
			s += ": " + oneLine(rp.Reason, width)
		}
		if rp.Artifacts != "" {
			s += ": evidence " + evidencePath(Cell{Artifacts: rp.Artifacts})
		}
		out[i] = s
	}
	return out
}

// flakyCells lists the FLAKY cells of r as (kernel, cell), rows and
// scenarios in table order.
func flakyCells(r *Run) (kernels []string, cells []Cell) {
	scen := r.Scenarios()
	for _, k := range r.Rows() {
		for _, s := range scen {
			if c, ok := k.Cell(s); ok && c.Flaky {
				kernels = append(kernels, k.Name)
				cells = append(cells, c)
			}
		}
	}
	return kernels, cells
}
