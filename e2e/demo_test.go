package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/srutest/srutest/report"
)

// TestE2EDemoMatrix runs `srutest run demo.yaml` — the Debian 6.1 and 6.12
// kernels × every scenario — and checks every cell PASSes with its evidence
// on disk.
func TestE2EDemoMatrix(t *testing.T) {
	skipUnlessE2E(t)
	out := t.TempDir()
	cmd := srutest(t, "run", "../demo.yaml", "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Fatalf("srutest run: %v", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 2 {
		t.Fatalf("%d kernels in results, want 2", len(run.Kernels))
	}
	for _, k := range run.Kernels {
		if len(k.Cells) != 5 {
			t.Errorf("%s: %d cells, want 5", k.Name, len(k.Cells))
		}
		for _, c := range k.Cells {
			if c.Outcome != report.Pass {
				t.Errorf("%s × %s = %s: %s", k.Name, c.Scenario, c.Outcome, c.Reason)
				continue
			}
			for _, f := range []string{"verdict.json", "commands.log"} {
				if _, err := os.Stat(filepath.Join(out, c.Artifacts, f)); err != nil {
					t.Errorf("%s × %s: %v", k.Name, c.Scenario, err)
				}
			}
			pcaps, _ := filepath.Glob(filepath.Join(out, c.Artifacts, "*.pcap"))
			if len(pcaps) == 0 {
				t.Errorf("%s × %s: no pcap in artifacts", k.Name, c.Scenario)
			}
		}
	}
	for _, f := range []string{"results.md", "junit.xml", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
