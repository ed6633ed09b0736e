package bisect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// Kernel is one candidate of a bisect: a kernel spec with the facts to
// print about it.
type Kernel struct {
	Name    string // row name, e.g. noble-6.8.0-41
	Spec    string // kernel spec, e.g. ubuntu:series=noble,pocket=updates,flavour=generic,abi=6.8.0-41
	Pocket  string // "<series>-<pocket>" for archive kernels, "" for local specs
	ABI     string // e.g. 6.8.0-41 ("" for local specs)
	Version string // package version, e.g. 6.8.0-41.41 ("" for local specs)
}

// Label is how a kernel is named in the step lines and the answer.
func (k Kernel) Label() string {
	switch {
	case k.ABI != "" && k.Version != "":
		return fmt.Sprintf("%s (version %s, %s)", k.ABI, k.Version, k.Pocket)
	case k.ABI != "":
		return k.ABI
	case k.Spec != "":
		return k.Spec
	}
	return k.Name
}

// PlanRunner runs a plan; *runner.Runner is one (its Out is the bisect's
// run directory, so every kernel tried keeps its artifacts there).
type PlanRunner interface {
	Run(ctx context.Context, p *plan.Plan) (*report.Run, error)
}

// Bisect runs a scenario along Kernels, each step a normal cell with its
// evidence, and collects them into one results model.
type Bisect struct {
	Name     string // run name (results title)
	Series   string
	Bug      string
	Scenario string
	Kernels  []Kernel
	Runner   PlanRunner
	Out      string    // run directory: results.json (every kernel tried), bisect.txt
	W        io.Writer // step lines and the answer
}

// Outcome is what Run returns: the search result and the combined run.
type Outcome struct {
	*Result
	Run     *report.Run
	Booted  int // kernels that reached a guest
	Elapsed time.Duration
}

// Run bisects. results.json in b.Out is rewritten after every step, so an
// interrupted bisect still leaves its evidence.
func (b *Bisect) Run(ctx context.Context) (*Outcome, error) {
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	t0 := time.Now()
	all := &report.Run{Schema: report.SchemaVersion, Name: b.Name, Series: b.Series, Bug: b.Bug, Started: t0.UTC()}
	out := &Outcome{Run: all}
	fmt.Fprintf(b.W, "bisect %s over %d kernels:\n", b.Scenario, len(b.Kernels))
	for i, k := range b.Kernels {
		fmt.Fprintf(b.W, "  [%2d] %s\n", i, k.Label())
	}
	rows := map[int]int{} // kernel index → row in all.Kernels
	test := func(ctx context.Context, i int) report.Outcome {
		k := b.Kernels[i]
		p := &plan.Plan{Name: b.Name, Series: b.Series, Bug: b.Bug, Kernels: []plan.Kernel{{
			Name: k.Name, Spec: k.Spec, Pocket: k.Pocket,
			Scenarios: []plan.Item{{Scenario: b.Scenario, Expected: report.Pass}},
		}}}
		run, err := b.Runner.Run(ctx, p)
		if run == nil || len(run.Kernels) != 1 || len(run.Kernels[0].Cells) != 1 {
			fmt.Fprintf(b.W, "      %s: no cell (%v)\n", k.Name, err)
			return report.Error
		}
		kr := run.Kernels[0]
		all.Accel, all.Host, all.CPUs = run.Accel, run.Host, run.CPUs
		rows[i] = len(all.Kernels)
		all.Kernels = append(all.Kernels, kr)
		all.Finished = time.Now().UTC()
		if booted(kr) {
			out.Booted++
		}
		if err := all.Save(filepath.Join(b.Out, "results.json")); err != nil {
			fmt.Fprintf(b.W, "      save results: %v\n", err)
		}
		return kr.Cells[0].Outcome
	}
	onStep := func(s Step) {
		c := all.Kernels[rows[s.Index]].Cells[0]
		why := ""
		if c.Outcome != report.Pass && c.Outcome != report.Fail {
			why = " — " + firstLine(c.Reason) + "; not taken as good or bad"
		}
		fmt.Fprintf(b.W, "step %d: [%d] %s (%s): %s in %s%s\n", s.N, s.Index, b.Kernels[s.Index].Label(), s.Why, s.Outcome, c.Duration.Round(time.Second), why)
	}
	out.Result = Search(ctx, len(b.Kernels), test, onStep)
	out.Elapsed = time.Since(t0)
	// The answer sets what each kernel tried should show: a cell that
	// disagrees with it stands out in every report.
	if out.Verdict == Found {
		for i, row := range rows {
			want := out.From
			if i >= out.After {
				want = out.To
			}
			all.Kernels[row].Cells[0].Expected = want
		}
	}
	all.Finished = time.Now().UTC()
	if err := all.Save(filepath.Join(b.Out, "results.json")); err != nil {
		return out, err
	}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, nil
}

func booted(k report.Kernel) bool {
	for _, t := range k.Timings {
		if strings.HasPrefix(t.Phase, "boot#") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Summary writes the kernels tried (list order) and the answer.
func (b *Bisect) Summary(w io.Writer, o *Outcome) {
	fmt.Fprintf(w, "kernels tried (%d, %d booted, %s):\n", len(o.Steps), o.Booted, o.Elapsed.Round(time.Second))
	for i, k := range b.Kernels {
		if oc, ok := o.Outcome(i); ok {
			fmt.Fprintf(w, "  [%2d] %-7s %s\n", i, oc, k.Label())
		}
	}
	fmt.Fprintln(w, b.Answer(o))
}

// Answer is the one-line conclusion.
func (b *Bisect) Answer(o *Outcome) string {
	s := b.Scenario
	switch o.Verdict {
	case Found:
		ans := fmt.Sprintf("%s: first %s in %s, last %s in %s", s, o.To, b.Kernels[o.After].Label(), o.From, b.Kernels[o.Before].Label())
		if len(o.Undecided) > 0 {
			var names []string
			for _, i := range o.Undecided {
				names = append(names, b.Kernels[i].Name)
			}
			ans += fmt.Sprintf("; undecided between them (ERROR/SKIP): %s — the change is in one of those or at %s", strings.Join(names, ", "), b.Kernels[o.After].Name)
		}
		return ans
	case NoChange:
		return fmt.Sprintf("%s: no change to find — %s in %s and in %s (both ends); bisect assumes one change along the list, so nothing is searched between them",
			s, o.From, b.Kernels[o.First].Label(), b.Kernels[o.Last].Label())
	case Interrupted:
		return s + ": interrupted before an answer"
	}
	return fmt.Sprintf("%s: undecidable — fewer than two kernels gave PASS or FAIL", s)
}
