package bisect

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"

	"github.com/srutest/srutest/internal/debver"
)

// ChangelogEntry is one upload in a Debian changelog
// (/usr/share/doc/<package>/changelog.Debian.gz).
type ChangelogEntry struct {
	Source  string // e.g. linux
	Version string // e.g. 6.8.0-41.41
	Dist    string // e.g. noble
	Header  string // the entry's first line
	Lines   []string
	Trailer string // " -- Name <mail>  Date"
}

// entryHeader: "linux (6.8.0-41.41) noble; urgency=medium".
var entryHeader = regexp.MustCompile(`^([a-z0-9][a-z0-9.+-]*) \(([^()\s]+)\) ([^;]*);`)

// ParseChangelog splits a (decompressed) Debian changelog into entries,
// newest first as in the file. Lines before the first header and
// malformed headers are kept in the preceding entry, so nothing is lost.
func ParseChangelog(data []byte) []ChangelogEntry {
	var out []ChangelogEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := entryHeader.FindStringSubmatch(line); m != nil {
			out = append(out, ChangelogEntry{Source: m[1], Version: m[2], Dist: strings.TrimSpace(m[3]), Header: line})
			continue
		}
		if len(out) == 0 {
			continue
		}
		e := &out[len(out)-1]
		if strings.HasPrefix(line, " -- ") {
			e.Trailer = line
			continue
		}
		e.Lines = append(e.Lines, line)
	}
	for i := range out {
		out[i].Lines = trimBlank(out[i].Lines)
	}
	return out
}

func trimBlank(l []string) []string {
	for len(l) > 0 && strings.TrimSpace(l[0]) == "" {
		l = l[1:]
	}
	for len(l) > 0 && strings.TrimSpace(l[len(l)-1]) == "" {
		l = l[:len(l)-1]
	}
	return l
}

// Between returns the entries with from < version ≤ to (Debian version
// order), newest first: what changed from the last kernel with one outcome
// to the first with the other.
func Between(entries []ChangelogEntry, from, to string) []ChangelogEntry {
	var out []ChangelogEntry
	for _, e := range entries {
		if debver.Compare(e.Version, from) > 0 && debver.Compare(e.Version, to) <= 0 {
			out = append(out, e)
		}
	}
	return out
}

// Mentions returns the lines of entries that contain any of the needles
// (case-insensitive), with the version they came from: the changelog lines
// a reader looks for first (the bug number, the subsystem).
func Mentions(entries []ChangelogEntry, needles []string) []string {
	var out []string
	for _, e := range entries {
		for _, l := range e.Lines {
			ll := strings.ToLower(l)
			for _, n := range needles {
				if n != "" && strings.Contains(ll, strings.ToLower(n)) {
					out = append(out, e.Version+": "+strings.TrimSpace(l))
					break
				}
			}
		}
	}
	return out
}
