package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture loads testdata/results.json: a hand-written but realistic run
// (Debian 6.1 and 6.12 cloud, a 6.12 tree with 648de37416b3 reverted with
// an unexpected FAIL and a crash ERROR, a kernel without MPTCP with an
// expected SKIP, and a noble before/after pair).
func fixture(t testing.TB) *Run {
	t.Helper()
	r, err := Load(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLoadFixture(t *testing.T) {
	r := fixture(t)
	if len(r.Kernels) != 6 || r.Bug != "LP#2125444" {
		t.Fatalf("fixture: %d kernels, bug %q", len(r.Kernels), r.Bug)
	}
	// Save and Load again: nothing lost.
	p := filepath.Join(t.TempDir(), "results.json")
	if err := r.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Error("Save → Load changed the run")
	}
}

func TestLoadStrict(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, want string
		schema           bool // want *SchemaError
	}{
		{"unknown top-level field", `{"schema":1,"name":"x","kernels":[],"bogus":true}`, `unknown field "bogus"`, false},
		{"unknown cell field", `{"schema":1,"kernels":[{"name":"k","cells":[{"scenario":"connect","outcome":"PASS","expected":"PASS","verdict":"PASS"}]}]}`, `unknown field "verdict"`, false},
		{"newer schema", `{"schema":2,"kernels":[]}`, "schema version 2, this srutest reads version 1", true},
		{"no schema", `{"name":"x","kernels":[]}`, "no schema version", true},
		{"unknown field in other schema says schema", `{"schema":7,"new_thing":1}`, "schema version 7", true},
		{"bad outcome", `{"schema":1,"kernels":[{"name":"k","cells":[{"scenario":"connect","outcome":"OK","expected":"PASS"}]}]}`, `outcome "OK"`, false},
		{"missing expected", `{"schema":1,"kernels":[{"name":"k","cells":[{"scenario":"connect","outcome":"PASS"}]}]}`, `expected outcome ""`, false},
		{"duplicate cell", `{"schema":1,"kernels":[{"name":"k","cells":[{"scenario":"join","outcome":"PASS","expected":"PASS"},{"scenario":"join","outcome":"FAIL","expected":"PASS"}]}]}`, `"join" appears twice`, false},
		{"nameless kernel with cells", `{"schema":1,"kernels":[{"name":"","cells":[{"scenario":"join","outcome":"PASS","expected":"PASS"}]}]}`, "no name", false},
		{"trailing data", string(good) + `{"schema":1}`, "after top-level value", false},
		{"not json", `schema: 1`, "invalid character", false},
		{"wrong type", `{"schema":1,"kernels":{}}`, "cannot unmarshal object", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "results.json")
			if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q: want %q and the path", err, tc.want)
			}
			var se *SchemaError
			if errors.As(err, &se) != tc.schema {
				t.Errorf("SchemaError = %v, want %v (%v)", !tc.schema, tc.schema, err)
			}
		})
	}
}

// The runner saves placeholders for kernels that have not finished; such
// a file must load, and the renderers must leave the placeholders out.
func TestLoadPlaceholders(t *testing.T) {
	p := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(p, []byte(`{"schema":1,"name":"demo","started":"2026-11-25T03:00:00Z","finished":"0001-01-01T00:00:00Z","kernels":[
{"name":"a","spec":"apt:x","cells":[{"scenario":"connect","outcome":"PASS","expected":"PASS","reason":"ok","duration_ns":1}]},
{"name":"","spec":"","cells":null}]}`), 0o644)
	r, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows()) != 1 || r.Unfinished() != 1 {
		t.Fatalf("rows %d, unfinished %d", len(r.Rows()), r.Unfinished())
	}
	var b bytes.Buffer
	if err := Matrix(&b, r, MatrixOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1 kernel(s) did not finish") {
		t.Errorf("matrix does not say the run is incomplete:\n%s", b.String())
	}
}

func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "results.json")
	r := fixture(t)
	for i := 0; i < 2; i++ { // the second save replaces the first
		if err := r.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "results.json" {
		t.Fatalf("dir holds %v, want only results.json", ents)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	data, _ := os.ReadFile(p)
	if !bytes.HasPrefix(data, []byte("{\n  \"schema\": 1,")) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("not indented JSON:\n%.80s", data)
	}

	// A save that cannot finish leaves the old file and no temp file.
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 {
		r.Name = "changed"
		if err := r.Save(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("save into read-only dir: %v", err)
		}
		back, err := Load(p)
		if err != nil || back.Name != "sru-lp2125444" {
			t.Errorf("old file damaged: %v", err)
		}
	}
	// Into a missing directory: an error naming the path, nothing created.
	missing := filepath.Join(dir+"-missing", "results.json")
	if err := r.Save(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("save into missing dir: %v", err)
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
}

func FuzzLoad(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "results.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema":1,"kernels":[]}`))
	f.Add([]byte(`{"schema":1,"kernels":[{"name":"","cells":null}]}`))
	f.Add([]byte(`{"schema":1,"kernels":[{"name":"k","role":"after","pocket":"-","cells":[{"scenario":"x","outcome":"ERROR","expected":"PASS","console":"\u001b[31m<b>"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode("fuzz.json", data)
		if err != nil {
			return
		}
		// Whatever loads must render without panics or errors.
		var b bytes.Buffer
		for name, render := range map[string]func() error{
			"matrix":   func() error { return Matrix(&b, r, MatrixOptions{Color: true}) },
			"markdown": func() error { return Markdown(&b, r) },
			"junit":    func() error { return JUnit(&b, r) },
			"html":     func() error { return HTML(&b, r) },
			"compare":  func() error { return Compare(r, r).Render(&b) },
		} {
			if err := render(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if _, err := Merge(r); err != nil && r.Schema == SchemaVersion {
			// Merging a run with itself alone can only fail on duplicate
			// kernel names with the same scenario.
			var ce *ConflictError
			if !errors.As(err, &ce) && !strings.Contains(err.Error(), "kernel ") {
				t.Fatalf("merge: %v", err)
			}
		}
	})
}
