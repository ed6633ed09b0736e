package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
)

// TestE2ECrashIsErrorAndNextCellGetsFreshGuest panics a real guest in the
// middle of a cell (a reproducer writing 'c' to /proc/sysrq-trigger, then
// waiting far longer than the test allows): the cell must be ERROR with the
// console excerpt attached, noticed as it happens (not at the reproducer's
// 5-minute timeout), and the next scenario must run — and PASS — on a fresh
// guest. The plan declares the crash cell's ERROR, so the run exits 0.
func TestE2ECrashIsErrorAndNextCellGetsFreshGuest(t *testing.T) {
	skipUnlessE2E(t)
	hk := defaultKernel(t)
	planPath := filepath.Join(t.TempDir(), "crash.yaml")
	plan := `name: crash
scenarios: [panic, keepalive-after-connect]
kernels:
  - name: ` + hk.Name + `
    kernel: ` + hk.Spec + `
    expect: {panic: ERROR}
reproducers:
  - name: panic
    command: echo c > /proc/sysrq-trigger; sleep 600
    timeout: 5m
`
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	t0 := time.Now()
	output, err := srutest(t, "run", planPath, "--out", out).CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Errorf("srutest run: %v (the crash cell is declared ERROR: exit 0 expected)", err)
	}
	if d := time.Since(t0); d > 3*time.Minute {
		t.Errorf("run took %s: the crash was not noticed as it happened", d)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 1 || len(run.Kernels[0].Cells) != 2 {
		t.Fatalf("results: %+v", run.Kernels)
	}
	k := run.Kernels[0]
	crash, next := k.Cells[0], k.Cells[1]
	if crash.Scenario != "panic" || crash.Outcome != report.Error || !strings.Contains(crash.Reason, "kernel crash during scenario") {
		t.Errorf("crash cell: %s %s: %s", crash.Scenario, crash.Outcome, crash.Reason)
	}
	if !strings.Contains(crash.Console, "sysrq") && !strings.Contains(crash.Console, "Kernel panic") {
		t.Errorf("crash cell console excerpt lacks the panic:\n%s", crash.Console)
	}
	if crash.Duration > time.Minute {
		t.Errorf("crash cell took %s", crash.Duration)
	}
	if next.Outcome != report.Pass {
		t.Errorf("%s after the crash: %s: %s", next.Scenario, next.Outcome, next.Reason)
	}
	boots := 0
	for _, tm := range k.Timings {
		if strings.HasPrefix(tm.Phase, "boot#") {
			boots++
		}
	}
	if boots != 2 {
		t.Errorf("%d guest boots, want 2 (a fresh guest after the crash): %+v", boots, k.Timings)
	}
	kdir := filepath.Join(out, filepath.Dir(crash.Artifacts))
	con, err := os.ReadFile(filepath.Join(kdir, "console-1.log"))
	if err != nil || !strings.Contains(string(con), "sysrq") {
		t.Errorf("console-1.log of the crashed guest: %v", err)
	}
}
