package bisect

import (
	"os"
	"strings"
	"testing"
)

// testdata/changelog-noble-6.8.0-41.txt: excerpts of the real
// changelog.Debian.gz of linux-image-unsigned-6.8.0-41-generic (noble).
func TestParseChangelog(t *testing.T) {
	data, err := os.ReadFile("testdata/changelog-noble-6.8.0-41.txt")
	if err != nil {
		t.Fatal(err)
	}
	ents := ParseChangelog(data)
	var vers []string
	for _, e := range ents {
		vers = append(vers, e.Version)
	}
	if got := strings.Join(vers, " "); !strings.HasPrefix(got, "6.8.0-41.41 6.8.0-35.35 6.8.0-34.34 6.8.0-32.32") {
		t.Fatalf("versions %q", got)
	}
	e := ents[0]
	if e.Source != "linux" || e.Dist != "noble" || !strings.HasPrefix(e.Trailer, " -- Manuel Diewald") || e.Lines[0] != "  * noble/linux: 6.8.0-41.41 -proposed tracker (LP: #2075611)" {
		t.Errorf("first entry %+v", e)
	}
	between := Between(ents, "6.8.0-34.34", "6.8.0-41.41")
	if len(between) != 2 || between[0].Version != "6.8.0-41.41" || between[1].Version != "6.8.0-35.35" {
		t.Errorf("Between 34..41: %+v", between)
	}
	m := Mentions(between, []string{"lp: #2069534"})
	if len(m) != 1 || !strings.HasPrefix(m[0], "6.8.0-41.41: (LP: #2069534)") {
		t.Errorf("Mentions: %q", m)
	}
}

func FuzzParseChangelog(f *testing.F) {
	if data, err := os.ReadFile("testdata/changelog-noble-6.8.0-41.txt"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("linux (1.0) x; urgency=low\n\n  * a\n\n -- A <a@b>  now\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range ParseChangelog(data) {
			if e.Version == "" || e.Source == "" {
				t.Fatalf("entry without version or source: %+v", e)
			}
		}
	})
}
