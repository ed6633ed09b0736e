package runner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// fakeArchive answers Resolve from a table of spec → resolution.
func fakeArchive(table map[string]Resolved) func(context.Context, string) (Resolved, error) {
	return func(_ context.Context, spec string) (Resolved, error) {
		if r, ok := table[spec]; ok {
			return r, nil
		}
		if strings.HasPrefix(spec, "ubuntu:") {
			return Resolved{}, errors.New("archive down")
		}
		return Resolved{}, ErrNotArchive
	}
}

func sruPlan(proposedSpec string) *plan.Plan {
	cells := []plan.Item{{Scenario: "a", Expected: report.Pass}}
	return &plan.Plan{Name: "noble", Series: "noble", Reproducers: []plan.Repro{repro("a", "FAKE-EXIT-0")},
		Kernels: []plan.Kernel{
			{Name: "noble-6.8-updates", Spec: "ubuntu:updates", Role: "before", Pocket: "noble-updates", Scenarios: cells},
			{Name: "noble-6.8-proposed", Spec: proposedSpec, Role: "after", Pocket: "noble-proposed", Scenarios: cells, NewerThan: "ubuntu:updates"},
		},
		Pairs: []report.Pair{{Check: "sru", Track: "noble-6.8", Before: "noble-6.8-updates", After: "noble-6.8-proposed"}},
	}
}

func TestNothingNewerInProposedIsSkip(t *testing.T) {
	table := map[string]Resolved{
		"ubuntu:updates":       {Dist: "noble-updates", Version: "6.8.0-151.151"},
		"ubuntu:proposed-old":  {Dist: "noble-proposed", Version: "6.8.0-149.149"},
		"ubuntu:proposed-same": {Dist: "noble-proposed", Version: "6.8.0-151.151"},
		"ubuntu:proposed-none": {Dist: "plucky-proposed", Absent: "meta package linux-image-virtual is not in plucky-proposed"},
		"ubuntu:proposed-new":  {Dist: "noble-proposed", Version: "6.8.0-152.153"},
	}
	for _, tc := range []struct {
		spec, skip string
		booted     int
	}{
		{"ubuntu:proposed-old", "nothing in noble-proposed to verify: it offers 6.8.0-149.149, not newer than 6.8.0-151.151 in noble-updates", 1},
		{"ubuntu:proposed-same", "nothing in noble-proposed to verify: it offers 6.8.0-151.151, not newer than 6.8.0-151.151 in noble-updates", 1},
		{"ubuntu:proposed-none", "nothing in plucky-proposed to verify: meta package linux-image-virtual is not in plucky-proposed", 1},
		{"ubuntu:proposed-new", "", 2},
		// The check cannot be made: run it and let the build say why.
		{"ubuntu:proposed-unreachable", "", 2},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			w := &fakeWorld{t: t}
			r := w.runner(t.TempDir())
			r.Resolve = fakeArchive(table)
			run, err := r.Run(context.Background(), sruPlan(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			k := run.Kernels[1]
			if k.Skip != tc.skip {
				t.Errorf("skip %q, want %q", k.Skip, tc.skip)
			}
			if tc.skip != "" && (k.Cells[0].Outcome != report.Skip || k.Cells[0].Expected != report.Skip || k.Cells[0].Reason != tc.skip) {
				t.Errorf("cell %+v", k.Cells[0])
			}
			if len(w.guests) != tc.booted || len(w.builds) != tc.booted {
				t.Errorf("%d guests booted, %d images built, want %d", len(w.guests), len(w.builds), tc.booted)
			}
			if report.ExitCode(run) != report.ExitOK || len(run.Pairs) != 1 {
				t.Errorf("exit %d, pairs %+v", report.ExitCode(run), run.Pairs)
			}
			cs := report.Conclusions(run)
			if len(cs) != 1 || (tc.skip != "") != (cs[0].Verdict == report.NothingToVerify) {
				t.Errorf("conclusions %+v", cs)
			}
		})
	}
}

func TestAutoNameFromResolution(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.Resolve = fakeArchive(map[string]Resolved{"ubuntu:x": {Dist: "noble", Version: "6.8.0-31.31", Name: "noble-release-6.8.0-31"}})
	p := &plan.Plan{Name: "adhoc", Reproducers: []plan.Repro{repro("a", "FAKE-EXIT-0")}, Kernels: []plan.Kernel{
		{Name: "noble-release-linux-image-virtual", Spec: "ubuntu:x", AutoName: true, Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}},
		{Name: "mine", Spec: "ubuntu:x", Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}},
	}}
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kernels[0].Name != "noble-release-6.8.0-31" || run.Kernels[1].Name != "mine" || p.Kernels[0].Name != "noble-release-linux-image-virtual" {
		t.Errorf("names %q %q (plan %q)", run.Kernels[0].Name, run.Kernels[1].Name, p.Kernels[0].Name)
	}
}
