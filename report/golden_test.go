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

// flakyFixture is a run with --repeat 3: a noble before/after pair whose
// join cells and one control came out differently between runs.
func flakyFixture(t testing.TB) *Run {
	t.Helper()
	r, err := Load(filepath.Join("testdata", "results-flaky.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// firstRuns is r as if it had run once: each cell its first run.
func firstRuns(r *Run) *Run {
	for ki := range r.Kernels {
		for ci := range r.Kernels[ki].Cells {
			c := &r.Kernels[ki].Cells[ci]
			c.Repeats, c.Flaky = nil, false
		}
	}
	return r
}

// TestGolden renders the fixtures in every format: the plain run at the
// top of testdata/golden, the repeated run with FLAKY cells under flaky/.
// Renderers must be deterministic: each is rendered twice and must come
// out the same.
func TestGolden(t *testing.T) {
	for _, fx := range []struct {
		dir     string
		fixture func(testing.TB) *Run
		compare func(testing.TB) (before, after *Run)
	}{
		{"", fixture, compareRuns},
		{"flaky/", flakyFixture, func(t testing.TB) (*Run, *Run) { return firstRuns(flakyFixture(t)), flakyFixture(t) }},
	} {
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
				before, after := fx.compare(t)
				return Compare(before, after).Render(b)
			}},
		} {
			t.Run(fx.dir+tc.file, func(t *testing.T) {
				var first, second bytes.Buffer
				if err := tc.render(&first, fx.fixture(t)); err != nil {
					t.Fatal(err)
				}
				if err := tc.render(&second, fx.fixture(t)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first.Bytes(), second.Bytes()) {
					t.Fatal("two renderings differ")
				}
				golden(t, fx.dir+tc.file, first.Bytes())
			})
		}
	}
}
