package ubuntu

import (
	"bytes"
	"fmt"
	"strings"
)

// Paragraph is one deb822 stanza (a Packages entry, a Release file). Field
// names are matched case-insensitively, as Debian policy requires.
type Paragraph struct {
	names  []string          // field names in file order, original case
	values map[string]string // lower-case name → value
}

// Get returns the value of field name ("" when absent). A multi-line value
// has its first line (possibly empty) and each continuation line, without
// leading whitespace, joined by "\n".
func (p Paragraph) Get(name string) string { return p.values[strings.ToLower(name)] }

// Has reports whether the field is present.
func (p Paragraph) Has(name string) bool {
	_, ok := p.values[strings.ToLower(name)]
	return ok
}

// Names lists the field names in file order.
func (p Paragraph) Names() []string { return append([]string(nil), p.names...) }

// ParseDeb822 parses deb822 data into paragraphs: "Name: value" lines,
// continuation lines starting with a space or tab, paragraphs separated by
// blank lines, "#" comment lines ignored. CRLF line ends are accepted. A
// continuation line with no field before it, a line without a colon, an empty
// field name, or a field repeated within a paragraph is an error naming the
// line.
func ParseDeb822(data []byte) ([]Paragraph, error) {
	var (
		out  []Paragraph
		cur  *Paragraph
		last string // lower-case name of the field being continued
		b    strings.Builder
	)
	flush := func() {
		if cur != nil && last != "" {
			cur.values[last] = b.String()
		}
		last = ""
		b.Reset()
	}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if line[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("deb822 line %d: continuation line outside a field", lineNo)
			}
			b.WriteByte('\n')
			b.Write(bytes.TrimSpace(line))
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("deb822 line %d: %q is not \"Field: value\"", lineNo, truncate(string(line), 60))
		}
		name := string(line[:colon])
		if strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("deb822 line %d: field name %q contains blanks", lineNo, truncate(name, 60))
		}
		flush()
		if cur == nil {
			cur = &Paragraph{values: map[string]string{}}
		}
		key := strings.ToLower(name)
		if _, dup := cur.values[key]; dup {
			return nil, fmt.Errorf("deb822 line %d: field %q repeated in one paragraph", lineNo, name)
		}
		cur.names = append(cur.names, name)
		cur.values[key] = "" // mark present now, so a duplicate is caught even before flush
		last = key
		b.Write(bytes.TrimSpace(line[colon+1:]))
	}
	flush()
	if cur != nil {
		out = append(out, *cur)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Relation is one alternative of a Depends-style field: a package name with
// an optional version constraint ("(= 6.8.0-87.88)") and architecture
// qualifier dropped.
type Relation struct {
	Name, Op, Version string
}

// ParseRelations parses a Depends/Pre-Depends value into clauses of
// alternatives: "a (>= 1) | b, c" → [[a >= 1, b], [c]]. Architecture lists
// ("[amd64]"), build profiles ("<!nocheck>") and ":any" qualifiers are
// dropped; malformed clauses are an error.
func ParseRelations(s string) ([][]Relation, error) {
	var out [][]Relation
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, clause := range strings.Split(s, ",") {
		var alts []Relation
		for _, alt := range strings.Split(clause, "|") {
			alt = strings.TrimSpace(alt)
			if i := strings.IndexAny(alt, "[<"); i >= 0 && !strings.HasPrefix(alt[i:], "<<") && !strings.HasPrefix(alt[i:], "<=") {
				alt = strings.TrimSpace(alt[:i])
			}
			var r Relation
			name, rest, _ := strings.Cut(alt, "(")
			r.Name = strings.TrimSpace(name)
			if j := strings.IndexByte(r.Name, ':'); j >= 0 {
				r.Name = r.Name[:j]
			}
			if !pkgRe.MatchString(r.Name) && !(len(r.Name) == 1 && pkgRe.MatchString(r.Name+"x")) {
				return nil, fmt.Errorf("relation %q: bad package name %q", truncate(strings.TrimSpace(clause), 80), r.Name)
			}
			if rest != "" {
				cons, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
				if !ok {
					return nil, fmt.Errorf("relation %q: unbalanced parenthesis", truncate(alt, 80))
				}
				cons = strings.TrimSpace(cons)
				for _, op := range []string{"<<", "<=", ">=", ">>", "=", "<", ">"} {
					if v, ok := strings.CutPrefix(cons, op); ok {
						r.Op, r.Version = op, strings.TrimSpace(v)
						break
					}
				}
				if r.Op == "" || r.Version == "" {
					return nil, fmt.Errorf("relation %q: bad version constraint", truncate(alt, 80))
				}
			}
			alts = append(alts, r)
		}
		out = append(out, alts)
	}
	return out, nil
}
