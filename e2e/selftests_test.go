package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/host"
	"github.com/srutest/srutest/report"
)

// TestE2ESelftestsMPTCP runs two short upstream net/mptcp selftests
// (mptcp_sockopt.sh, diag.sh) from the host's kernel source on the host's
// packaged kernel of that tree (selftestKernel): Debian's linux-source-6.12
// on Debian's 6.12 cloud kernel, Ubuntu's linux-source-<x.y.z> on the
// series' newest generic kernel (noble: linux-source-6.8.0 6.8.0-N on
// 6.8.0-N-generic). The suite is built (static, cached), the payload
// pushed, the config's modules loaded, each script run in its own guest and
// its TAP parsed into subtests in results.json and junit.xml.
//
// The kernel carries no known MPTCP bug these scripts find. Which subtests
// must PASS is the set that does not race the scripts' own short waits: a
// TCG guest is 10-50× slower than the KVM machines the scripts were tuned
// on, and on a loaded host diag.sh's 100-client checks (1 s listen wait),
// its 20 s connection lifetime checks and mptcp_inq's alarm(15) miss
// (seen: see the note of issue 12). Those are logged, not asserted; the
// rest proves the harness: tools, modules (iptables MARK needs xt_mark),
// netns, TAP.
func TestE2ESelftestsMPTCP(t *testing.T) {
	skipUnlessE2E(t)
	src := needKernelSource(t) // a failure, not a skip, in make test
	kname, kspec := selftestKernel(t)
	dir := t.TempDir()
	plan := filepath.Join(dir, "selftests.yaml")
	if err := os.WriteFile(plan, []byte(`name: e2e-selftests
kernels:
  - name: `+kname+`
    kernel: `+kspec+`
scenarios: [mptcp]
selftests:
  - target: net/mptcp
    source: `+src.Tarball+`
    tests: [mptcp_sockopt.sh, diag.sh]
    timeout_scale: 2
    jobs: 2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	output, err := srutest(t, "run", plan, "--out", out).CombinedOutput()
	t.Logf("%s", output)
	run, lerr := report.Load(filepath.Join(out, "results.json"))
	if lerr != nil {
		t.Fatalf("srutest run: %v; results: %v", err, lerr)
	}
	if len(run.Kernels) != 1 || len(run.Kernels[0].Cells) != 2 {
		t.Fatalf("want 1 kernel × 2 selftest cells, got %+v", run.Kernels)
	}
	// diag.sh's check count depends on the tree: 29 on 6.12 (last-time
	// info, listener counts per mptcp and subflow), 23 on 6.8 (counted in
	// linux-source-6.8.0's diag.sh). Another tree: at least one.
	minDiag, ok := map[string]int{"6.12": 29, "6.8": 23}[src.Line]
	if !ok {
		minDiag = 1
		t.Logf("no diag.sh subtest count known for the %s tree: asking for ≥ 1", src.Line)
	}
	minSubtests := map[string]int{"mptcp:mptcp_sockopt.sh": 7, "mptcp:diag.sh": minDiag}
	mustPass := map[string]bool{}
	for _, n := range []string{"transfer ipv4", "mark ipv4", "transfer ipv6", "mark ipv6", "sockopt v4", "sockopt v6"} {
		mustPass["mptcp_sockopt: "+n] = true
	}
	for _, n := range []string{"no msk on netns creation", "listen match for dport 10000", "listen match for sport 10000",
		"listen match for saddr and sport", "all listen sockets", "check fallback", "no listener sockets - mptcp", "no listener sockets - subflows",
		"no listener sockets"} { // the last: 6.8's name of the two before
		mustPass["diag: "+n] = true
	}
	for _, c := range run.Kernels[0].Cells {
		if c.Outcome != report.Pass && c.Outcome != report.Fail {
			t.Errorf("%s = %s: %s", c.Scenario, c.Outcome, c.Reason)
			continue
		}
		output, err := os.ReadFile(filepath.Join(out, c.Artifacts, "output.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"dmesg.txt", "console.txt", "modules.log", "verdict.json"} {
			if fi, err := os.Stat(filepath.Join(out, c.Artifacts, f)); err != nil || fi.Size() == 0 {
				t.Errorf("%s: %s missing or empty (%v)", c.Scenario, f, err)
			}
		}
		if len(c.Subtests) < minSubtests[c.Scenario] {
			t.Errorf("%s: %d subtests, want ≥ %d:\n%s", c.Scenario, len(c.Subtests), minSubtests[c.Scenario], output)
		}
		for _, st := range c.Subtests {
			if st.Outcome == report.Pass {
				continue
			}
			if mustPass[st.Name] {
				t.Errorf("%s: subtest %d %q = %s %s\n%s", c.Scenario, st.Num, st.Name, st.Outcome, st.Reason, output)
			} else {
				t.Logf("%s: subtest %d %q = %s %s (timing-dependent under TCG)", c.Scenario, st.Num, st.Name, st.Outcome, st.Reason)
			}
		}
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(junit), "mptcp:diag.sh: diag: ") {
		t.Errorf("junit.xml has no testcase per diag.sh subtest")
	}
}

// selftestKernel is the packaged kernel built from the host's kernel
// source: on Debian the 6.12 cloud kernel (linux-source-6.12), on Ubuntu
// the series' newest generic kernel, whose tree linux-source-<x.y.z> is.
func selftestKernel(t *testing.T) (name, spec string) {
	t.Helper()
	if needHost(t).Distro == host.Debian {
		return "debian-6.12-cloud", "apt:linux-image-6.12.*+deb12-cloud-amd64-unsigned"
	}
	k := defaultKernel(t)
	return k.Name, k.Spec
}
