package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/host"
	"github.com/srutest/srutest/internal/testutil"
	"github.com/srutest/srutest/report"
)

// needKernelSource stops t unless the host's kernel source package (Debian:
// linux-source-6.12; Ubuntu: the series' linux-source, e.g.
// linux-source-6.8.0) is installed, and returns it.
func needKernelSource(t *testing.T) host.Source {
	t.Helper()
	src := needHost(t).Source
	if src.Package == "" {
		testutil.Unavailable(t, "no kernel source package in this host's apt sources: %s", strings.Join(hostProfile.Problems, "; "))
	}
	if _, err := os.Stat(src.Tarball); err != nil {
		testutil.Unavailable(t, "%v (apt-get install %s; make test installs it)", err, src.Package)
	}
	return src
}

// hostPlan writes the host's demo or backport plan (srutest host plan,
// run from the repository root as make does) and returns its path.
func hostPlan(t *testing.T, kind string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), kind+".yaml")
	cmd := srutest(t, "host", "plan", kind, "-o", path)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("srutest host plan %s: %v", kind, err)
	}
	p := strings.TrimSpace(string(out))
	if !filepath.IsAbs(p) {
		p = filepath.Join("..", p) // a checked-in plan, named from the repository root
	}
	return p
}

// TestE2ENegativeControl runs the host's backport plan (Debian:
// backport.yaml, linux-source-6.12; Ubuntu: generated from the series'
// linux-source) — the tree built twice through source: kernel specs (the
// embedded build-kernel.sh) —
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
	src := needKernelSource(t)
	out := t.TempDir()
	// Run from the e2e directory: the plan's patch path is relative to the
	// plan file (or absolute), not to where srutest runs.
	cmd := srutest(t, "run", hostPlan(t, "backport"), "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Errorf("srutest run: %v (exit 0 means every cell came out as declared)", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixed, reverted := src.Line+"-fixed", src.Line+"-revert-648de37416b3"
	want := map[string]map[string]report.Outcome{
		fixed:    {"connect": report.Pass, "fallback": report.Pass, "join": report.Pass, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
		reverted: {"connect": report.Fail, "fallback": report.Fail, "join": report.Fail, "keepalive-off": report.Pass, "keepalive-after-connect": report.Pass},
	}
	if len(run.Kernels) != 2 {
		t.Fatalf("%d kernels in results, want 2", len(run.Kernels))
	}
	for _, k := range run.Kernels {
		if len(k.Cells) != len(want[k.Name]) {
			t.Errorf("%s: %d cells, want %d", k.Name, len(k.Cells), len(want[k.Name]))
		}
		if _, ok := want[k.Name]; !ok {
			t.Errorf("unexpected kernel %q", k.Name)
		}
		if k.Name == reverted && !strings.HasSuffix(k.Release, host.RevertLocalVersion) {
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

// sourcePackage is the host's kernel source package as the loopback
// archive republishes it (the source-backport test): its name in Ubuntu's
// linux-source-<x.y.z> form (Debian's linux-source-6.12 becomes
// linux-source-6.12.0), its installed version, and the tarball's extension.
func sourcePackage(t *testing.T, src host.Source) (name, version, ext string) {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", src.Package).Output()
	if err != nil || len(out) == 0 {
		testutil.Unavailable(t, "dpkg-query %s: %v (apt-get install %s; make test installs it)", src.Package, err, src.Package)
	}
	name = src.Package
	if strings.Count(strings.TrimPrefix(name, "linux-source-"), ".") == 1 {
		name += ".0"
	}
	i := strings.LastIndex(src.Tarball, ".tar.")
	if i < 0 {
		t.Fatalf("%s: not a .tar.* tarball", src.Tarball)
	}
	return name, strings.TrimSpace(string(out)), src.Tarball[i:]
}
