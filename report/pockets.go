package report

import (
	"io"
)

// kernelByName returns the row named name, nil when name is "" or absent.
func (r *Run) kernelByName(name string) *Kernel {
	if name == "" {
		return nil
	}
	rows := r.Rows()
	for i := range rows {
		if rows[i].Name == name {
			return &rows[i]
		}
	}
	return nil
}

// Change words of the pocket comparison's last column.
const (
	changeFixed     = "fixed"     // FAIL before, PASS after: the bug is gone
	changeRegressed = "REGRESSED" // PASS before, FAIL after
	changeDiffers   = "changed"   // any other difference (ERROR, SKIP, not run)
	changeFlaky     = "flaky"     // a side's repeated runs disagreed: undecided
)

// cellChange names what happened to one scenario between the before and
// after kernel of a pair ("" when nothing changed or a side is missing).
func cellChange(b, a *Kernel, scenario string) string {
	if b == nil || a == nil || a.Skip != "" || b.Skip != "" {
		// Nothing ran on a skipped side: there is no change to name.
		return ""
	}
	bc, bok := b.Cell(scenario)
	ac, aok := a.Cell(scenario)
	switch {
	case !bok && !aok:
		return ""
	case bc.Flaky || ac.Flaky:
		return changeFlaky
	case bok && aok && bc.Outcome == ac.Outcome:
		return ""
	case bok && aok && bc.Outcome == Fail && ac.Outcome == Pass:
		return changeFixed
	case bok && aok && bc.Outcome == Pass && ac.Outcome == Fail:
		return changeRegressed
	}
	return changeDiffers
}

// writePocketTable prints the before/after comparison of one SRU pair: one
// row per scenario, a BEFORE and an AFTER column (kernel name, uname -r
// below it), and what changed. A '*' marks a cell that is not the expected
// outcome, as in the matrix.
func writePocketTable(w io.Writer, r *Run, c Conclusion, indent string, color bool) {
	b, a := r.kernelByName(c.Before), r.kernelByName(c.After)
	side := func(role string, k *Kernel) (string, string) {
		if k == nil {
			return role + " -", "(not in this run)"
		}
		return role + " " + oneLine(k.Name, 50), orDash(oneLine(k.Release, 40))
	}
	bh, br := side("BEFORE", b)
	ah, ar := side("AFTER", a)
	var t table
	label := c.Label
	if label == "" {
		label = seriesLabel(c.Series)
	}
	t.add(oneLine(label, 40), bh, ah, "CHANGE")
	t.add("", br, ar, "")
	cols := []*Kernel{b, a}
	scen := r.Scenarios()
	// cells[i][j]: the cell behind table row i+2, column j+1 (nil: none).
	cells := make([][]*Cell, len(scen))
	for i, s := range scen {
		row := []string{s}
		for _, k := range cols {
			var cp *Cell
			txt := "-"
			if k != nil {
				if cell, ok := k.Cell(s); ok {
					cp, txt = &cell, cellText(cell)
				}
			}
			cells[i] = append(cells[i], cp)
			row = append(row, txt)
		}
		row = append(row, cellChange(b, a, s))
		t.add(row...)
	}
	var style func(int, int, string) string
	if color {
		style = func(ri, ci int, s string) string {
			switch {
			case ri < 2 || ci == 0:
				return s
			case ci == 3:
				switch s {
				case changeFixed:
					return paint("32", s)
				case changeRegressed:
					return paint("1;31", s)
				}
				return s
			}
			if cell := cells[ri-2][ci-1]; cell != nil {
				return paint(cellColor(*cell), s)
			}
			return s
		}
	}
	t.write(w, indent, style)
}
