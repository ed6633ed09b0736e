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
			// The evidence a kernel engineer reads: every file non-empty.
			for _, f := range []string{"verdict.json", "commands.log", "dmesg.txt", "console.txt",
				"client.json", "server.json", "nstat-cli.txt", "ss-1.txt", "path1.pcap", "path1.txt"} {
				fi, err := os.Stat(filepath.Join(out, c.Artifacts, f))
				if err != nil {
					t.Errorf("%s × %s: %v", k.Name, c.Scenario, err)
				} else if fi.Size() == 0 && f != "console.txt" {
					t.Errorf("%s × %s: %s is empty", k.Name, c.Scenario, f)
				}
			}
			if c.Scenario == "join" {
				if _, err := os.Stat(filepath.Join(out, c.Artifacts, "path2.pcap")); err != nil {
					t.Errorf("join: no capture of path 2: %v", err)
				}
			}
			if len(c.Subflows) == 0 {
				t.Errorf("%s × %s: PASS without per-subflow evidence", k.Name, c.Scenario)
			}
		}
	}
	for _, f := range []string{"results.md", "junit.xml", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
