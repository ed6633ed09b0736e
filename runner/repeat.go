package runner

import "github.com/srutest/srutest/report"

// --repeat N: a cell's later runs are recorded in the first run's cell.

// withRepeat records a later run of a cell in the first run's cell.
func withRepeat(first, again report.Cell) report.Cell {
	if len(first.Repeats) == 0 {
		first.Repeats = []report.Repeat{{Outcome: first.Outcome, Reason: first.Reason, Artifacts: first.Artifacts}}
	}
	first.Repeats = append(first.Repeats, report.Repeat{Outcome: again.Outcome, Reason: again.Reason, Artifacts: again.Artifacts})
	return first
}

// settleRepeats marks a repeated cell Flaky when its runs' outcomes differ.
func settleRepeats(c report.Cell) report.Cell {
	for _, rp := range c.Repeats {
		if rp.Outcome != c.Outcome {
			c.Flaky = true
		}
	}
	return c
}
