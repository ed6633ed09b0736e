package bisect

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// fakeRunner answers each one-kernel plan with the outcome its spec names
// (the part after "fake:"), as the runner would: one kernel, one cell.
type fakeRunner struct{ plans []*plan.Plan }

func (f *fakeRunner) Run(_ context.Context, p *plan.Plan) (*report.Run, error) {
	f.plans = append(f.plans, p)
	k := p.Kernels[0]
	o := report.Outcome(strings.TrimPrefix(k.Spec, "fake:"))
	kr := report.Kernel{Name: k.Name, Spec: k.Spec, Cells: []report.Cell{{Scenario: k.Scenarios[0].Scenario, Outcome: o, Expected: k.Scenarios[0].Expected, Duration: time.Second}}}
	if o != report.Error {
		kr.Timings = []report.Timing{{Phase: "boot#1", Duration: time.Second}}
	} else {
		kr.Cells[0].Reason = "image: kernel build failed\nmore"
	}
	return &report.Run{Kernels: []report.Kernel{kr}}, nil
}

func TestBisectRun(t *testing.T) {
	specs := []string{"FAIL", "FAIL", "ERROR", "PASS", "PASS"}
	var ks []Kernel
	for i, s := range specs {
		ks = append(ks, Kernel{Name: "k" + string(rune('0'+i)), Spec: "fake:" + s, ABI: "6.8.0-" + string(rune('0'+i)), Version: "6.8.0-" + string(rune('0'+i)) + ".1", Pocket: "noble-updates"})
	}
	var w bytes.Buffer
	fr := &fakeRunner{}
	b := &Bisect{Name: "t", Scenario: "connect", Kernels: ks, Runner: fr, Out: t.TempDir(), W: &w}
	o, err := b.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Summary(&w, o)
	out := w.String()
	for _, want := range []string{
		"step 3: [2] 6.8.0-2 (version 6.8.0-2.1, noble-updates) (midpoint of 0..4): ERROR in 1s — image: kernel build failed; not taken as good or bad",
		"step 4: [3] 6.8.0-3 (version 6.8.0-3.1, noble-updates) (neighbour of 2 (ERROR)): PASS",
		"kernels tried (5, 4 booted,",
		"connect: first PASS in 6.8.0-3 (version 6.8.0-3.1, noble-updates), last FAIL in 6.8.0-1 (version 6.8.0-1.1, noble-updates); undecided between them (ERROR/SKIP): k2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, p := range fr.plans {
		if len(p.Kernels) != 1 || len(p.Kernels[0].Scenarios) != 1 || p.Kernels[0].Scenarios[0].Scenario != "connect" {
			t.Errorf("plan %+v: want one kernel × connect", p)
		}
	}
	run, err := report.Load(filepath.Join(b.Out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 5 {
		t.Fatalf("results.json: %d kernels, want every one tried", len(run.Kernels))
	}
	for _, k := range run.Kernels {
		c := k.Cells[0]
		if c.Outcome != report.Error && !c.Matches() {
			t.Errorf("%s: %s, expected %s: the answer should set what each side shows", k.Name, c.Outcome, c.Expected)
		}
	}
}

func TestBisectNoChange(t *testing.T) {
	ks := []Kernel{{Name: "a", Spec: "fake:PASS", ABI: "5.15.0-25", Version: "5.15.0-25.25", Pocket: "jammy"}, {Name: "b", Spec: "fake:PASS"}, {Name: "c", Spec: "fake:PASS", ABI: "5.15.0-160", Version: "5.15.0-160.170", Pocket: "jammy-updates"}}
	var w bytes.Buffer
	b := &Bisect{Scenario: "connect", Kernels: ks, Runner: &fakeRunner{}, Out: t.TempDir(), W: &w}
	o, err := b.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.Verdict != NoChange || len(o.Steps) != 2 {
		t.Fatalf("verdict %d after %d steps", o.Verdict, len(o.Steps))
	}
	if got, want := b.Answer(o), "connect: no change to find — PASS in 5.15.0-25 (version 5.15.0-25.25, jammy) and in 5.15.0-160 (version 5.15.0-160.170, jammy-updates)"; !strings.HasPrefix(got, want) {
		t.Errorf("answer %q", got)
	}
}
