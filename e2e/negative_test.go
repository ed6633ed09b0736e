package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
)

const linuxSource612 = "/usr/src/linux-source-6.12.tar.xz"

// TestE2ENegativeControl builds Debian's linux-source-6.12 twice with
// scripts/build-kernel.sh — as shipped (it carries 648de37416b3) and with
// 648de37416b3 reverted — and runs every scenario on both. The fixed kernel
// must PASS everything; the reverted one must FAIL connect, fallback and
// join on the evidence (no keepalive timer, no probes) while the controls
// still PASS. This is what proves the detector can say FAIL.
//
// The build tree is cached under the test cache (kbuild/), so only the
// first run pays for the cold build (~4 min on 2 cores).
func TestE2ENegativeControl(t *testing.T) {
	skipUnlessE2E(t)
	if _, err := os.Stat(linuxSource612); err != nil {
		t.Skipf("%v (apt-get install linux-source-6.12; make test installs it)", err)
	}
	outDir := t.TempDir()
	build := func(name string, extra ...string) string {
		out := filepath.Join(outDir, name)
		args := append([]string{"--source", linuxSource612, "--cache", filepath.Join(cacheDir, "kbuild"),
			"--out", out, "--jobs", fmt.Sprint(runtime.NumCPU())}, extra...)
		cmd := exec.Command("../scripts/build-kernel.sh", args...)
		t.Logf("$ %s", cmd.String())
		output, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, negTail(string(output), 40))
		}
		lines := strings.Split(strings.TrimSpace(string(output)), "\n")
		t.Logf("%s", negTail(string(output), 3))
		return lines[len(lines)-1]
	}
	fixed := build("fixed")
	reverted := build("reverted", "--revert", "../kconfig/patches/648de37416b3.patch", "--localversion", "-revert648de374")

	planPath := filepath.Join(t.TempDir(), "negative-control.yaml")
	plan := fmt.Sprintf(`name: negative-control
bug: LP#2125444
kernels:
  - name: fixed
    kernel: bzimage:%s
  - name: reverted-648de37416b3
    kernel: bzimage:%s
    expect: {connect: FAIL, fallback: FAIL, join: FAIL}
`, fixed, reverted)
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := srutest(t, "run", planPath, "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Errorf("srutest run: %v (exit 0 means every cell came out as declared)", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]report.Outcome{
		"fixed":                 {"connect": report.Pass, "fallback": report.Pass, "join": report.Pass, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
		"reverted-648de37416b3": {"connect": report.Fail, "fallback": report.Fail, "join": report.Fail, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
	}
	for _, k := range run.Kernels {
		if k.Name == "reverted-648de37416b3" && k.Release != "6.12.117-revert648de374" && !strings.HasSuffix(k.Release, "-revert648de374") {
			t.Errorf("reverted kernel booted %q", k.Release)
		}
		for _, c := range k.Cells {
			if w := want[k.Name][c.Scenario]; c.Outcome != w {
				t.Errorf("%s × %s = %s, want %s: %s", k.Name, c.Scenario, c.Outcome, w, c.Reason)
			}
			// A FAIL must be the evidence saying "no keepalive", per subflow.
			if c.Outcome == report.Fail {
				if len(c.Subflows) == 0 || !strings.Contains(c.Reason, "no keepalive (no timer, 0 probes)") {
					t.Errorf("%s × %s: FAIL without per-subflow evidence: %q", k.Name, c.Scenario, c.Reason)
				}
				if c.Scenario == "join" && len(c.Subflows) != 2 {
					t.Errorf("join judged %d subflows, want the initial and the MP_JOIN one", len(c.Subflows))
				}
			}
		}
	}
}

func negTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
