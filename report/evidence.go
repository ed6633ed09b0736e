package report

import (
	"fmt"
	"path"
)

// evidencePath names a cell's verdict.json — the file that explains the
// verdict and sits beside the raw evidence (pcaps, ss, nstat, dmesg) —
// relative to results.json; "" when the cell has no artifacts.
func evidencePath(c Cell) string {
	if c.Artifacts == "" {
		return ""
	}
	return path.Join(c.Artifacts, "verdict.json")
}

// evidenceLines lists, for the Markdown comment, every cell a reader will
// ask about with the path of its evidence: each scenario whose outcome
// changed between the before and after kernel of an SRU pair, then each
// cell not as expected that no pair already listed.
func evidenceLines(r *Run) []string {
	var out []string
	listed := map[[2]string]bool{}
	for _, c := range Conclusions(r) {
		b, a := r.kernelByName(c.Before), r.kernelByName(c.After)
		if b == nil || a == nil {
			continue
		}
		for _, s := range r.Scenarios() {
			ch := cellChange(b, a, s)
			if ch == "" {
				continue
			}
			bc, _ := b.Cell(s)
			ac, _ := a.Cell(s)
			series := c.Series
			if series == "" {
				series = "SRU"
			}
			out = append(out, fmt.Sprintf("%s: %s %s → %s (%s): before %s, after %s", oneLine(series, 20), s,
				outcomeText(bc), outcomeText(ac), ch, orDash(evidencePath(bc)), orDash(evidencePath(ac))))
			listed[[2]string{b.Name, s}], listed[[2]string{a.Name, s}] = true, true
		}
	}
	for _, k := range r.Rows() {
		for _, c := range k.Cells {
			if c.Matches() || listed[[2]string{k.Name, c.Scenario}] {
				continue
			}
			out = append(out, fmt.Sprintf("%s × %s: %s, expected %s: %s", oneLine(k.Name, 60), c.Scenario, c.Outcome, c.Expected, orDash(evidencePath(c))))
		}
	}
	return out
}

// outcomeText is a cell's outcome for a one-line list: "FLAKY (2 PASS,
// 1 FAIL)" when its repeated runs disagreed, "-" for no cell.
func outcomeText(c Cell) string {
	if c.Flaky {
		return sideText(c.Outcome, c.Tally())
	}
	return orDash(string(c.Outcome))
}
