package report

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// Comparison is a cell-by-cell before/after diff.
type Comparison struct{ Lines []string }

// Compare matches kernels by name (or, when names differ, by position) and
// classifies each scenario: fixed, regressed, still failing, error, same.
func Compare(before, after *Run) *Comparison {
	c := &Comparison{}
	for i, a := range after.Kernels {
		var b *Kernel
		for j := range before.Kernels {
			if before.Kernels[j].Name == a.Name {
				b = &before.Kernels[j]
			}
		}
		if b == nil && i < len(before.Kernels) {
			b = &before.Kernels[i]
		}
		if b == nil {
			continue
		}
		for _, ac := range a.Cells {
			bc, ok := b.Cell(ac.Scenario)
			if !ok {
				continue
			}
			kind := "same"
			switch {
			case bc.Outcome == Error || ac.Outcome == Error:
				kind = "error"
			case bc.Outcome == Fail && ac.Outcome == Pass:
				kind = "fixed"
			case bc.Outcome == Pass && ac.Outcome == Fail:
				kind = "regressed"
			case bc.Outcome == Fail && ac.Outcome == Fail:
				kind = "still failing"
			}
			c.Lines = append(c.Lines, fmt.Sprintf("%-14s %s × %s: %s → %s", kind, a.Name, ac.Scenario, bc.Outcome, ac.Outcome))
		}
	}
	return c
}

// Render prints the comparison.
func (c *Comparison) Render(w io.Writer) {
	for _, l := range c.Lines {
		fmt.Fprintln(w, l)
	}
}

// Merge combines CI shards: kernels with the same name merge their cells;
// a cell present in two shards is an error.
func Merge(runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("merge: no runs")
	}
	out := &Run{Schema: SchemaVersion, Name: runs[0].Name, Series: runs[0].Series, Accel: runs[0].Accel, Host: runs[0].Host}
	idx := map[string]int{}
	for _, r := range runs {
		if r.Name != out.Name {
			return nil, fmt.Errorf("merge: run %q is not %q", r.Name, out.Name)
		}
		if out.Started.IsZero() || r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
		for _, k := range r.Kernels {
			i, ok := idx[k.Name]
			if !ok {
				idx[k.Name] = len(out.Kernels)
				out.Kernels = append(out.Kernels, k)
				continue
			}
			dst := &out.Kernels[i]
			for _, c := range k.Cells {
				if _, dup := dst.Cell(c.Scenario); dup {
					return nil, fmt.Errorf("merge: %s × %s appears in two shards", k.Name, c.Scenario)
				}
				dst.Cells = append(dst.Cells, c)
			}
		}
	}
	order := map[string]int{"connect": 0, "fallback": 1, "join": 2, "keepalive-off": 3, "keepalive-after-connect": 4}
	for i := range out.Kernels {
		cells := out.Kernels[i].Cells
		sort.SliceStable(cells, func(a, b int) bool {
			oa, okA := order[cells[a].Scenario]
			ob, okB := order[cells[b].Scenario]
			if okA != okB {
				return okA
			}
			if okA {
				return oa < ob
			}
			return cells[a].Scenario < cells[b].Scenario
		})
	}
	_ = time.Time{}
	return out, nil
}
