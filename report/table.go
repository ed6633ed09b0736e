package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// table lays out plain-text cells in aligned columns. Styling (color) is
// applied to each padded cell after layout, so escape sequences never
// count towards a column's width (text/tabwriter would count them).
type table struct{ rows [][]string }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write prints the table with two spaces between columns and no trailing
// blanks; style, when not nil, decorates cell (row, col) after padding.
func (t *table) write(w io.Writer, indent string, style func(row, col int, s string) string) error {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for ri, r := range t.rows {
		var b strings.Builder
		b.WriteString(indent)
		for ci, c := range r {
			cell := c
			if ci < len(r)-1 {
				cell += strings.Repeat(" ", width[ci]-utf8.RuneCountInString(c)+2)
			}
			if style != nil {
				// Style the text only, not the padding.
				text := strings.TrimRight(cell, " ")
				cell = style(ri, ci, text) + cell[len(text):]
			}
			b.WriteString(cell)
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}

// oneLine makes s safe for a single line of terminal or plain text: control
// characters (newlines, escape sequences) become spaces, runs of blanks
// collapse, and text beyond limit runes (0: no limit) is cut with "…".
func oneLine(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit-1]) + "…"
	}
	return s
}

// orDash renders an empty field as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
