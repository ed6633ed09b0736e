package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
	"github.com/srutest/srutest/report"
)

const linuxSource612 = "/usr/src/linux-source-6.12.tar.xz"

// needLinuxSource612 stops t unless Debian's 6.12 kernel source is installed.
func needLinuxSource612(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(linuxSource612); err != nil {
		testutil.Unavailable(t, "%v (apt-get install linux-source-6.12; make test installs it)", err)
	}
}

// TestE2ENegativeControl runs backport.yaml: Debian's linux-source-6.12
// built twice through source: kernel specs (the embedded build-kernel.sh) —
// as shipped (it carries 648de37416b3) and with 648de37416b3 reverted — and
// every scenario on both. The fixed kernel must PASS everything; the
// reverted one must FAIL connect, fallback and join on the evidence (no
// keepalive timer, no probes) while the controls still PASS. This is what
// proves the detector can say FAIL.
//
// The build tree is cached under the test cache (kbuild/), so only the
// first run pays for the cold build (~4 min on 2 cores).
func TestE2ENegativeControl(t *testing.T) {
	skipUnlessE2E(t)
	needLinuxSource612(t)
	out := t.TempDir()
	// Run from the e2e directory: the plan's patch path is relative to the
	// plan file, not to where srutest runs.
	cmd := srutest(t, "run", "../backport.yaml", "--out", out)
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
		"6.12-fixed":               {"connect": report.Pass, "fallback": report.Pass, "join": report.Pass, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
		"6.12-revert-648de37416b3": {"connect": report.Fail, "fallback": report.Fail, "join": report.Fail, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
	}
	if len(run.Kernels) != 2 {
		t.Fatalf("%d kernels in results, want 2", len(run.Kernels))
	}
	for _, k := range run.Kernels {
		if len(k.Cells) != len(want[k.Name]) {
			t.Errorf("%s: %d cells, want %d", k.Name, len(k.Cells), len(want[k.Name]))
		}
		if k.Name == "6.12-revert-648de37416b3" && k.Release != "6.12.117-revert648de374" && !strings.HasSuffix(k.Release, "-revert648de374") {
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
