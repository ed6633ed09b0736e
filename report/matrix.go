package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// MatrixOptions tune the terminal matrix.
type MatrixOptions struct{ Color bool }

// Matrix prints kernels × scenarios; an unexpected cell is marked with '*'
// and explained below the table, followed by the SRU conclusions.
func Matrix(w io.Writer, r *Run, opts MatrixOptions) error {
	scen := r.Scenarios()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KERNEL\tRELEASE\t%s\n", strings.Join(scen, "\t"))
	var notes []string
	for _, k := range r.Kernels {
		row := []string{k.Name, orDash(k.Release)}
		for _, s := range scen {
			c, ok := k.Cell(s)
			if !ok {
				row = append(row, "-")
				continue
			}
			txt := string(c.Outcome)
			if !c.Matches() {
				txt += "*"
				notes = append(notes, fmt.Sprintf("* %s × %s: %s (expected %s): %s", k.Name, s, c.Outcome, c.Expected, c.Reason))
			}
			if opts.Color {
				txt = colorize(c.Outcome, txt)
			}
			row = append(row, txt)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, c := range Conclusions(r) {
		fmt.Fprintln(w, c.Text)
	}
	if len(notes) == 0 {
		fmt.Fprintln(w, "all cells as expected")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func colorize(o Outcome, s string) string {
	code := map[Outcome]string{Pass: "32", Fail: "31", Error: "35", Skip: "33"}[o]
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Conclusion is a one-line SRU verdict for a before/after pair.
type Conclusion struct {
	Series string
	Text   string
}

// Conclusions pairs kernels with Role before/after by name prefix order and
// says whether the fix is verified: every after cell as expected and PASS on
// connect/fallback, and no cell regressed from before.
func Conclusions(r *Run) []Conclusion {
	var out []Conclusion
	var before *Kernel
	for i := range r.Kernels {
		k := &r.Kernels[i]
		switch k.Role {
		case "before":
			before = k
		case "after":
			if before == nil {
				continue
			}
			var bad, regressed []string
			for _, c := range k.Cells {
				if !c.Matches() {
					bad = append(bad, c.Scenario+"="+string(c.Outcome))
				}
				if b, ok := before.Cell(c.Scenario); ok && b.Outcome == Pass && c.Outcome == Fail {
					regressed = append(regressed, c.Scenario)
				}
			}
			text := fmt.Sprintf("%s → %s: ", before.Name, k.Name)
			switch {
			case len(regressed) > 0:
				text += "REGRESSION in " + strings.Join(regressed, ",")
			case len(bad) > 0:
				text += "not verified: " + strings.Join(bad, ",")
			default:
				text += "fix verified (all after-cells as expected)"
			}
			out = append(out, Conclusion{Series: r.Series, Text: text})
			before = nil
		}
	}
	return out
}
