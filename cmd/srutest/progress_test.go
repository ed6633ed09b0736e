package main

import (
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/runner"
)

func TestLiveMatrix(t *testing.T) {
	now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := &plan.Plan{Name: "demo", Kernels: []plan.Kernel{
		{Name: "debian-6.1-cloud", Scenarios: []plan.Item{{Scenario: "connect", Expected: report.Pass}, {Scenario: "join", Expected: report.Pass}}},
		{Name: "k2", Scenarios: []plan.Item{{Scenario: "connect", Expected: report.Pass}, {Scenario: "join", Expected: report.Pass}}},
	}}
	var out strings.Builder
	lm := newLiveMatrix(&out, p, clock)
	lm.Event(runner.Event{Kernel: "debian-6.1-cloud", Phase: runner.PhaseBuild})
	lm.Event(runner.Event{Kernel: "debian-6.1-cloud", Phase: runner.PhaseCell, Scenario: "connect"})
	now = now.Add(3200 * time.Millisecond)
	lm.Event(runner.Event{Kernel: "k2", Phase: runner.PhaseBoot})

	frame := lm.render()
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("frame has %d lines, want title + header + 2 kernels:\n%s", len(lines), frame)
	}
	if !strings.Contains(lines[0], "0/4 cells") || !strings.Contains(lines[0], "3.2s") {
		t.Errorf("title %q: want cell count and elapsed time", lines[0])
	}
	if !strings.Contains(lines[2], "⠋ 3.2s") || !strings.Contains(lines[2], "·") {
		t.Errorf("running cell: %q, want a spinner with its elapsed time and a pending cell", lines[2])
	}
	if !strings.Contains(lines[3], "booting…") {
		t.Errorf("k2 row %q: want its phase", lines[3])
	}

	pass := report.Cell{Scenario: "connect", Outcome: report.Pass, Expected: report.Pass}
	lm.Event(runner.Event{Kernel: "debian-6.1-cloud", Phase: runner.PhaseCellDone, Scenario: "connect", Cell: &pass})
	// A kernel whose boot failed: its cells are decided without running.
	lm.Event(runner.Event{Kernel: "k2", Phase: runner.PhaseKernelDone, Result: &report.Kernel{Cells: []report.Cell{
		{Scenario: "connect", Outcome: report.Error, Expected: report.Pass}, {Scenario: "join", Outcome: report.Error, Expected: report.Pass}}}})
	lm.frame = 1
	frame = lm.render()
	lines = strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if !strings.Contains(lines[0], "3/4 cells") || !strings.Contains(lines[2], "PASS") || strings.Count(lines[3], "ERROR*") != 2 {
		t.Errorf("after cells finished:\n%s", frame)
	}

	// Each redraw moves back over the previous frame, so the matrix stays
	// in place.
	lm.draw()
	lm.draw()
	if got := strings.Count(out.String(), "\x1b[4A"); got != 1 {
		t.Errorf("%d cursor-up moves over a 4-line frame after two draws, want 1", got)
	}
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4200 * time.Millisecond: "4.2s", 67 * time.Second: "1m07s", 62 * time.Minute: "1h02m",
	} {
		if got := elapsed(d); got != want {
			t.Errorf("elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
