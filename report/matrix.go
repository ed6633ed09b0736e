package report

import (
	"fmt"
	"io"
	"strings"
)

// MatrixOptions tune the terminal matrix.
type MatrixOptions struct {
	// Color adds ANSI colors (outcome per cell, bold for unexpected cells);
	// set it only when the output is a terminal.
	Color bool
	// ReasonWidth cuts reasons to this many characters (0: 160).
	ReasonWidth int
}

// Matrix prints the kernel × scenario matrix: one row per kernel (name,
// role when any kernel has one, uname -r), one column per scenario in
// canonical order. A cell reads PASS, FAIL, ERROR, SKIP or "-" (not run);
// a trailing '*' marks a cell that is not the expected outcome. Below the
// table: one line per unexpected cell (or group of cells of one kernel with
// the same outcome and reason) with the expected outcome and the reason,
// and, for runs with before/after kernels, one pocket comparison per SRU
// pair (scenario rows, BEFORE and AFTER columns, what changed) followed by
// its one-line conclusion (see Conclusions), the suggested Launchpad tags
// and a one-line tally.
func Matrix(w io.Writer, r *Run, opts MatrixOptions) error {
	ew := &errWriter{w: w}
	writeMatrixTable(ew, r, "", opts.Color)
	width := opts.ReasonWidth
	if width <= 0 {
		width = 160
	}
	notes := unexpectedNotes(r, width)
	if len(notes) > 0 {
		fmt.Fprintln(ew, "\n* not the expected outcome:")
		for _, n := range notes {
			fmt.Fprintln(ew, "  "+n)
		}
	}
	if n := r.Unfinished(); n > 0 {
		fmt.Fprintf(ew, "\n%d kernel(s) did not finish (interrupted run?)\n", n)
	}
	if cs := Conclusions(r); len(cs) > 0 {
		fmt.Fprintln(ew, "\nSRU pocket comparison (before → after):")
		for _, c := range cs {
			fmt.Fprintln(ew)
			writePocketTable(ew, r, c, "  ", opts.Color)
			text := oneLine(c.Text, 0)
			if opts.Color {
				text = paint(verdictColor(c), text)
			}
			fmt.Fprintln(ew, text)
		}
		fmt.Fprintln(ew)
		if tags := Tags(cs); len(tags) > 0 {
			fmt.Fprintf(ew, "suggested Launchpad tags: %s\n", strings.Join(tags, " "))
		}
	}
	fmt.Fprintf(ew, "\n%s\n", r.Count())
	return ew.err
}

// writeMatrixTable prints the aligned table; Markdown reuses it.
func writeMatrixTable(w io.Writer, r *Run, indent string, color bool) {
	scen := r.Scenarios()
	rows := r.Rows()
	hasRole := false
	for _, k := range rows {
		hasRole = hasRole || k.Role != ""
	}
	head := []string{"KERNEL"}
	if hasRole {
		head = append(head, "ROLE")
	}
	head = append(head, "RELEASE")
	first := len(head)
	repeated := r.Repeated()
	var t table
	head = append(head, scen...)
	if repeated {
		head = append(head, "FLAKY")
	}
	t.add(head...)
	// cells[i][j] is the cell behind table row i+1, scenario column j.
	cells := make([][]*Cell, len(rows))
	for i := range rows {
		k := &rows[i]
		row := []string{oneLine(k.Name, 60)}
		if hasRole {
			row = append(row, orDash(oneLine(k.Role, 12)))
		}
		row = append(row, orDash(oneLine(k.Release, 40)))
		for _, s := range scen {
			c, ok := k.Cell(s)
			if !ok {
				row = append(row, "-")
				cells[i] = append(cells[i], nil)
				continue
			}
			row = append(row, cellText(c))
			cells[i] = append(cells[i], &c)
		}
		if repeated {
			row = append(row, flakyText(*k, scen))
			cells[i] = append(cells[i], nil)
		}
		t.add(row...)
	}
	var style func(int, int, string) string
	if color {
		style = func(ri, ci int, s string) string {
			if ri == 0 || ci < first || cells[ri-1][ci-first] == nil {
				return s
			}
			return paint(cellColor(*cells[ri-1][ci-first]), s)
		}
	}
	t.write(w, indent, style)
}

// unexpectedNotes explains the unexpected cells, one line per kernel and
// (outcome, expected, reason), scenarios in column order.
func unexpectedNotes(r *Run, width int) []string {
	var out []string
	scen := r.Scenarios()
	for _, k := range r.Rows() {
		type key struct {
			o, e   Outcome
			reason string
		}
		var order []key
		group := map[key][]string{}
		for _, s := range scen {
			c, ok := k.Cell(s)
			if !ok || c.Matches() {
				continue
			}
			kk := key{c.Outcome, c.Expected, oneLine(c.Reason, width)}
			if _, seen := group[kk]; !seen {
				order = append(order, kk)
			}
			group[kk] = append(group[kk], s)
		}
		for _, kk := range order {
			reason := kk.reason
			if reason == "" {
				reason = "(no reason recorded)"
			}
			out = append(out, fmt.Sprintf("%s × %s: %s, expected %s: %s",
				oneLine(k.Name, 60), strings.Join(group[kk], ","), kk.o, kk.e, reason))
		}
	}
	return out
}

var outcomeColor = map[Outcome]string{Pass: "32", Fail: "31", Error: "35", Skip: "33"}

// cellText is a cell as the tables show it: the outcome (FLAKY when its
// repeated runs disagreed), '*' when it is not the expected one.
func cellText(c Cell) string {
	o := string(c.Outcome)
	if c.Flaky {
		o = "FLAKY"
	}
	if !c.Matches() {
		return o + "*"
	}
	return o
}

// flakyText is the FLAKY column of a kernel's row: each flaky scenario
// with the tally of its runs' outcomes, or "-".
func flakyText(k Kernel, scen []string) string {
	var parts []string
	for _, s := range scen {
		c, ok := k.Cell(s)
		if !ok || !c.Flaky {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", s, c.Tally()))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// cellColor is the ANSI color of a cell: by outcome, bold when unexpected.
func cellColor(c Cell) string {
	if !c.Matches() {
		return "1;" + outcomeColor[c.Outcome]
	}
	return outcomeColor[c.Outcome]
}

func verdictColor(c Conclusion) string {
	switch {
	case c.Verdict == Verified:
		return "32"
	case c.Failed:
		return "1;31"
	}
	return "33"
}

func paint(code, s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }

// errWriter keeps the first write error so renderers can print freely and
// report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
