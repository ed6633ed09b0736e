package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios/evidence"
)

// TestE2EDemoMatrix runs the host's demo plan as `make demo` does — on
// Debian demo.yaml (the 6.1 and 6.12 kernels, all PASS), on Ubuntu the
// series' GA kernel (before the fix: FAIL where the plan says so) against its
// newest kernel (all PASS) — × every scenario, and checks every cell comes
// out as the plan declares with its evidence on disk, on Ubuntu the before →
// after conclusion, that a kernel's cells ran at the same time in its guest,
// and that no cell's captures or ss snapshots hold another cell's addresses.
func TestE2EDemoMatrix(t *testing.T) {
	skipUnlessE2E(t)
	p := needHost(t)
	out := t.TempDir()
	cmd := srutest(t, "run", hostPlan(t, "demo"), "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Fatalf("srutest run: %v", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != len(p.Demo) || len(p.Demo) == 0 {
		t.Fatalf("%d kernels in results, want %d", len(run.Kernels), len(p.Demo))
	}
	reproduced := false
	for _, k := range run.Kernels {
		if len(k.Cells) != 5 {
			t.Errorf("%s: %d cells, want 5", k.Name, len(k.Cells))
		}
		for _, c := range k.Cells {
			if !c.Matches() || c.Outcome != report.Pass && c.Outcome != report.Fail {
				t.Errorf("%s × %s = %s (expected %s): %s", k.Name, c.Scenario, c.Outcome, c.Expected, c.Reason)
				continue
			}
			reproduced = reproduced || c.Outcome == report.Fail
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
			// tcpdump's reading of the capture (made on the host): it must
			// show the handshake, not an error line where the text should be.
			if txt, err := os.ReadFile(filepath.Join(out, c.Artifacts, "path1.txt")); err == nil && !strings.Contains(string(txt), "Flags [S]") {
				t.Errorf("%s × %s: path1.txt is not tcpdump's reading of the capture: %.200s", k.Name, c.Scenario, txt)
			}
			if c.Scenario == "join" {
				if _, err := os.Stat(filepath.Join(out, c.Artifacts, "path2.pcap")); err != nil {
					t.Errorf("join: no capture of path 2: %v", err)
				}
			}
			if len(c.Subflows) == 0 {
				t.Errorf("%s × %s: %s without per-subflow evidence", k.Name, c.Scenario, c.Outcome)
			}
		}
	}
	// A before kernel that showed the bug, an after kernel that does not:
	// the run says the fix is there.
	if reproduced {
		if want := p.Series + ": before " + p.Demo[0].Name; !strings.Contains(string(output), want) || !strings.Contains(string(output), "→ fix verified") {
			t.Errorf("no before → after conclusion %q … → fix verified", want)
		}
	}
	for _, k := range run.Kernels {
		assertCellsIsolated(t, out, k)
	}
	for _, f := range []string{"results.md", "junit.xml", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// assertCellsIsolated checks, on the real guest's evidence, that a kernel's
// cells ran at once (their durations add up to well over the time the
// kernel's guest was busy) and that each cell's pcaps and ss snapshots
// hold only its own addresses, none of which any other cell has.
func assertCellsIsolated(t *testing.T, out string, k report.Kernel) {
	t.Helper()
	var busy, boot, sum time.Duration
	for _, tm := range k.Timings {
		switch {
		case tm.Phase == report.PhaseBootAndCells:
			busy = tm.Duration
		case strings.HasPrefix(tm.Phase, "boot#"):
			boot += tm.Duration
		}
	}
	for _, c := range k.Cells {
		sum += c.Duration
	}
	if busy == 0 || sum < 2*(busy-boot) {
		t.Errorf("%s: cells took %s in all within %s of guest time: they did not run at once", k.Name, sum, busy-boot)
	}
	owner := map[netip.Addr]string{}
	for _, c := range k.Cells {
		dir := filepath.Join(out, c.Artifacts)
		mine := map[netip.Addr]bool{}
		pcaps, _ := filepath.Glob(filepath.Join(dir, "path*.pcap"))
		for _, f := range pcaps {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := evidence.ParsePcap(data)
			if err != nil {
				t.Errorf("%s: %v", f, err)
			}
			for _, p := range pkts {
				mine[p.Src.Addr()], mine[p.Dst.Addr()] = true, true
			}
		}
		ssFiles, _ := filepath.Glob(filepath.Join(dir, "ss-[0-9]*.txt"))
		for _, f := range ssFiles {
			data, _ := os.ReadFile(f)
			socks, err := evidence.ParseSS(data)
			if err != nil {
				t.Errorf("%s: %v", f, err)
			}
			for _, so := range socks {
				for _, a := range []string{so.Local, so.Peer} {
					if ap, err := netip.ParseAddrPort(a); err == nil {
						mine[ap.Addr()] = true
					}
				}
			}
		}
		if len(mine) < 2 {
			t.Errorf("%s × %s: no addresses in its evidence", k.Name, c.Scenario)
		}
		for a := range mine {
			if other, ok := owner[a]; ok {
				t.Errorf("%s: address %s is in the evidence of both %s and %s", k.Name, a, other, c.Scenario)
			}
			owner[a] = c.Scenario
		}
	}
}
