package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it; review with git diff):\n--- got ---\n%s", name, got)
	}
}

// TestGolden renders the fixture in every format. Renderers must be
// deterministic: each is rendered twice and must come out the same.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		render func(*bytes.Buffer, *Run) error
	}{
		{"matrix.txt", func(b *bytes.Buffer, r *Run) error { return Matrix(b, r, MatrixOptions{}) }},
		{"matrix-color.txt", func(b *bytes.Buffer, r *Run) error { return Matrix(b, r, MatrixOptions{Color: true}) }},
		{"results.md", func(b *bytes.Buffer, r *Run) error { return Markdown(b, r) }},
		{"junit.xml", func(b *bytes.Buffer, r *Run) error { return JUnit(b, r) }},
		{"index.html", func(b *bytes.Buffer, r *Run) error { return HTML(b, r) }},
		{"compare.txt", func(b *bytes.Buffer, r *Run) error {
			before, after := compareRuns(t)
			return Compare(before, after).Render(b)
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var first, second bytes.Buffer
			if err := tc.render(&first, fixture(t)); err != nil {
				t.Fatal(err)
			}
			if err := tc.render(&second, fixture(t)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Fatal("two renderings differ")
			}
			golden(t, tc.file, first.Bytes())
		})
	}
}
