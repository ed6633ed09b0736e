package report

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// CanonicalScenarios is the column order of every rendering: the LP
// #2125444 scenarios, then the controls. Other scenarios (reproducers)
// follow alphabetically.
var CanonicalScenarios = []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"}

// scenarioLess orders scenario names canonically.
func scenarioLess(a, b string) bool {
	ia, ib := slices.Index(CanonicalScenarios, a), slices.Index(CanonicalScenarios, b)
	switch {
	case ia >= 0 && ib >= 0:
		return ia < ib
	case ia >= 0 || ib >= 0:
		return ia >= 0
	}
	return a < b
}

// SortScenarios sorts names in canonical order, in place.
func SortScenarios(names []string) {
	sort.SliceStable(names, func(i, j int) bool { return scenarioLess(names[i], names[j]) })
}

// sortCells orders cells by scenario, canonically.
func sortCells(cells []Cell) {
	sort.SliceStable(cells, func(i, j int) bool { return scenarioLess(cells[i].Scenario, cells[j].Scenario) })
}

// Scenarios returns the scenario columns of r in canonical order.
func (r *Run) Scenarios() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			if !seen[c.Scenario] {
				seen[c.Scenario] = true
				out = append(out, c.Scenario)
			}
		}
	}
	SortScenarios(out)
	return out
}

// Rows returns the kernels that ran, in run order: placeholders the runner
// saves for kernels that have not finished (no name, no cells) are left out.
func (r *Run) Rows() []Kernel {
	var out []Kernel
	for _, k := range r.Kernels {
		if k.Name != "" || len(k.Cells) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Unfinished counts the placeholder kernels that Rows leaves out.
func (r *Run) Unfinished() int { return len(r.Kernels) - len(r.Rows()) }

// Cell returns the cell of scenario s, if any.
func (k *Kernel) Cell(s string) (Cell, bool) {
	for _, c := range k.Cells {
		if c.Scenario == s {
			return c, true
		}
	}
	return Cell{}, false
}

// SeriesOf returns the Ubuntu series of k: the part of Pocket before the
// first '-' ("noble-proposed" → "noble"), else the run's series.
func (r *Run) SeriesOf(k *Kernel) string {
	if k.Pocket != "" {
		s, _, _ := strings.Cut(k.Pocket, "-")
		return s
	}
	return r.Series
}

// Counts tallies cells by outcome and how many did not match expectations.
type Counts struct {
	Cells, Unexpected int
	Flaky             int // cells whose repeated runs disagreed
	By                map[Outcome]int
}

// Count tallies the cells of r.
func (r *Run) Count() Counts {
	c := Counts{By: map[Outcome]int{}}
	for _, k := range r.Kernels {
		for _, cell := range k.Cells {
			c.Cells++
			c.By[cell.Outcome]++
			if !cell.Matches() {
				c.Unexpected++
			}
			if cell.Flaky {
				c.Flaky++
			}
		}
	}
	return c
}

// String renders counts as "14 cells: 10 PASS, 3 FAIL, 1 ERROR; 2 not as expected".
func (c Counts) String() string {
	var parts []string
	for _, o := range []Outcome{Pass, Fail, Error, Skip} {
		if n := c.By[o]; n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+string(o))
		}
	}
	s := strconv.Itoa(c.Cells) + " cells"
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	if c.Flaky > 0 {
		s += "; " + strconv.Itoa(c.Flaky) + " FLAKY"
	}
	if c.Unexpected == 0 {
		return s + "; all as expected"
	}
	return s + "; " + strconv.Itoa(c.Unexpected) + " not as expected"
}
