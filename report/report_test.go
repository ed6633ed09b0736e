package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample() *Run {
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	return &Run{Schema: SchemaVersion, Name: "noble", Series: "noble", Started: t0, Finished: t0.Add(time.Minute), Kernels: []Kernel{
		{Name: "noble-updates", Role: "before", Release: "6.8.0-85-generic", Cells: []Cell{
			{Scenario: "connect", Outcome: Fail, Expected: Fail, Reason: "no keepalive"},
			{Scenario: "join", Outcome: Pass, Expected: Fail, Reason: "keepalive on both"},
		}},
		{Name: "noble-proposed <script>", Role: "after", Release: "6.8.0-87-generic", Cells: []Cell{
			{Scenario: "connect", Outcome: Pass, Expected: Pass},
			{Scenario: "join", Outcome: Error, Expected: Pass, Reason: "kernel crash", Console: "BUG: kernel NULL pointer"},
		}},
	}}
}

func TestSaveLoadStrict(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "results.json")
	if err := sample().Save(p); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte(`{"schema":1,"bogus":true}`), 0o644)
	if _, err := Load(p); err == nil {
		t.Error("unknown field accepted")
	}
	os.WriteFile(p, []byte(`{"schema":99}`), 0o644)
	if _, err := Load(p); err == nil {
		t.Error("wrong schema accepted")
	}
}

func TestMatrixAndExitCode(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	Matrix(&b, r, MatrixOptions{})
	out := b.String()
	for _, want := range []string{"PASS*", "ERROR*", "noble-updates × join: PASS (expected FAIL)", "not verified: join=ERROR"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q:\n%s", want, out)
		}
	}
	if ExitCode(r) != 2 {
		t.Errorf("exit = %d, want 2", ExitCode(r))
	}
	r.Kernels[1].Cells[1].Outcome = Pass
	r.Kernels[0].Cells[1].Outcome = Fail
	if ExitCode(r) != 0 {
		t.Errorf("exit = %d, want 0", ExitCode(r))
	}
	b.Reset()
	Markdown(&b, r)
	if !strings.Contains(b.String(), "verification-done-noble") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

func TestJUnitHTML(t *testing.T) {
	var b bytes.Buffer
	if err := JUnit(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var back junitSuites
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Suites[0].Failures != 1 || back.Suites[1].Errors != 1 {
		t.Errorf("suites %+v", back.Suites)
	}
	b.Reset()
	if err := HTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") {
		t.Error("kernel name not escaped")
	}
}

func TestMergeCompare(t *testing.T) {
	a, b := sample(), sample()
	a.Kernels = a.Kernels[:1]
	b.Kernels = b.Kernels[1:]
	m, err := Merge(a, b)
	if err != nil || len(m.Kernels) != 2 {
		t.Fatalf("merge: %v %+v", err, m)
	}
	if _, err := Merge(sample(), sample()); err == nil {
		t.Error("duplicate cells merged")
	}
	before, after := sample(), sample()
	after.Kernels[0].Cells[0].Outcome = Pass
	var out bytes.Buffer
	Compare(before, after).Render(&out)
	if !strings.Contains(out.String(), "fixed") {
		t.Errorf("compare:\n%s", out.String())
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"schema":1,"kernels":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "r.json")
		os.WriteFile(p, data, 0o644)
		Load(p)
	})
}
