package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
)

func TestSummarize(t *testing.T) {
	run := &report.Run{Name: "demo", Accel: "tcg", Kernels: []report.Kernel{
		{Name: "debian-6.1", Timings: []report.Timing{{Phase: "image", Duration: time.Second}, {Phase: "boot#1", Duration: 2 * time.Second}, {Phase: report.PhaseBootAndCells, Duration: 5 * time.Second}},
			Cells: []report.Cell{{Outcome: report.Pass, Expected: report.Pass}, {Outcome: report.Fail, Expected: report.Pass}}},
		{Name: "debian-6.12", Timings: []report.Timing{{Phase: "boot#1", Duration: 3 * time.Second}, {Phase: "boot#2", Duration: 3 * time.Second}, {Phase: report.PhaseBootAndCells, Duration: 9 * time.Second}},
			Cells: []report.Cell{{Outcome: report.Pass, Expected: report.Pass, Flaky: true}}},
	}}
	m := Summarize(run, map[string]time.Duration{"debian-6.1": 2 * time.Second, "debian-6.12": 3 * time.Second}, 18*time.Second, time.Second)
	if m.WallOK || m.Cells != 3 || m.Expected != 1 {
		t.Errorf("plan (fast, but cells not as expected): %+v", m)
	}
	k1, k2 := m.Kernels[0], m.Kernels[1]
	if k1.Ratio != 2.5 || k1.BootS != 2 || k1.BoundRatio != 1.5 || k1.OK || k1.Guests != 1 || k1.RunS != 5 || k1.Expected != 1 || k1.Cells != 2 {
		t.Errorf("6.1 (ratio in target, a cell not as expected): %+v", k1)
	}
	run.Kernels[0].Cells[1].Outcome = report.Pass
	run.Kernels[1].Cells[0].Flaky = false
	m = Summarize(run, map[string]time.Duration{"debian-6.1": 2 * time.Second, "debian-6.12": 3 * time.Second}, 18*time.Second, time.Second)
	if !m.WallOK || !m.Kernels[0].OK {
		t.Errorf("all as expected: %+v", m)
	}
	k2 = m.Kernels[1]
	// The first boot counts for the bound, not the second guest's.
	if k2.Ratio != 3 || k2.OK || k2.Guests != 2 || k2.BootS != 3 || k2.BoundRatio != 4.0/3 {
		t.Errorf("6.12: %+v", k2)
	}
	var b strings.Builder
	m.Print(&b)
	for _, want := range []string{"wall 18.0s (target ≤ 20s: ok)", "ratio  2.50 (target ≤ 2.5: ok; boot 2.00s + window ≥ 1.50)", "ratio  3.00 (target ≤ 2.5: ABOVE TARGET; boot 3.00s + window ≥ 1.33)", "cells as expected 2/2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if m := Summarize(run, nil, 21*time.Second, time.Second); m.WallOK || m.Kernels[0].OK || m.Kernels[0].Ratio != 0 || m.Kernels[0].BoundRatio != 0 {
		t.Errorf("no floor / slow wall: %+v", m)
	}
	// A kernel that never booted is fast, not good.
	noBoot := &report.Run{Kernels: []report.Kernel{{Name: "k", Timings: []report.Timing{{Phase: report.PhaseBootAndCells, Duration: time.Second}},
		Cells: []report.Cell{{Outcome: report.Error, Expected: report.Error}}}}}
	if m := Summarize(noBoot, map[string]time.Duration{"k": 2 * time.Second}, time.Second, time.Second); m.Kernels[0].OK || m.Kernels[0].BoundRatio != 0 {
		t.Errorf("no guest booted but OK: %+v", m.Kernels[0])
	}
}

func TestParseLoadAvg(t *testing.T) {
	for in, want := range map[string]string{
		"4.28 1.58 0.58 3/412 13851\n": "4.28 1.58 0.58",
		"":                             "",
		"a b c":                        "",
	} {
		if got := parseLoadAvg(in); got != want {
			t.Errorf("parseLoadAvg(%q) = %q, want %q", in, got, want)
		}
	}
}
