package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/ubuntuarchive"
	"github.com/srutest/srutest/report"
)

// TestE2EUbuntuLoopbackArchive serves a loopback archive in Ubuntu layout —
// the host's default kernel (Debian 6.1 cloud, or Ubuntu's newest generic)
// repackaged under made-up Ubuntu ABIs with .ko.zst modules, Packages.xz,
// InRelease signed with a test key — and runs the real resolver → download →
// verify → boot → scenarios path against it, as `srutest run noble.yaml`
// does against the real archive.
func TestE2EUbuntuLoopbackArchive(t *testing.T) {
	skipUnlessE2E(t)
	l := hostLocalKernel(t)
	files, err := ubuntuarchive.LoadKernelDebs(l.debs...)
	if err != nil {
		t.Fatal(err)
	}
	// The ABIs are labels; the release the guest reports stays the real one.
	base, _, _ := strings.Cut(l.release, "-")
	abiBefore, abiAfter := base+"-56", base+"-57"
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true, // as on the real archive: depmod runs at install
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "updates", ABI: abiBefore, Upload: "60", Metas: []string{"linux-image-virtual"}, Files: files},
			{Series: "noble", Pocket: "proposed", ABI: abiAfter, Upload: "61", Metas: []string{"linux-image-virtual"}, Files: files},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("archive not on loopback: %s", srv.URL)
	}
	planPath := filepath.Join(t.TempDir(), "noble-loopback.yaml")
	plan := `name: noble-loopback
series: noble
kernels:
  - name: noble-updates
    role: before
    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: linux-image-virtual}
  - name: noble-proposed
    role: after
    ubuntu: {series: noble, pocket: proposed, flavour: generic, meta: linux-image-virtual}
`
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	kcmd := srutest(t, "kernels", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath)
	kout, err := kcmd.CombinedOutput()
	t.Logf("%s", kout)
	if err != nil || !strings.Contains(string(kout), abiAfter) || !strings.Contains(string(kout), "linux-modules-"+abiBefore+"-generic") {
		t.Fatalf("srutest kernels: %v", err)
	}

	out := t.TempDir()
	cmd := srutest(t, "run", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath,
		"--scenario", "connect", "--scenario", "join", "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Fatalf("srutest run: %v", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range run.Kernels {
		if k.Release != l.release {
			t.Errorf("%s booted %q", k.Name, k.Release)
		}
		for _, c := range k.Cells {
			if c.Outcome != report.Pass {
				t.Errorf("%s × %s = %s: %s", k.Name, c.Scenario, c.Outcome, c.Reason)
			}
		}
	}
	// Both pockets carry the same fixed kernel (every 6.1 kernel in
	// Debian's archive already has 648de37416b3, and so does the newest
	// kernel of each Ubuntu series), so the honest conclusion is "no
	// regression": the before kernel does not show the bug. The conclusion
	// must say so, naming both uploads.
	if want := "noble: before noble-updates (" + abiBefore + ".60) all PASS; after noble-proposed (" + abiAfter + ".61) all PASS → no regression"; !strings.Contains(string(output), want) {
		t.Error("no SRU conclusion line for the noble pair in the matrix output")
	}
	// Pocket comparison: before and after side by side, per scenario.
	for _, want := range []string{"BEFORE noble-updates", "AFTER noble-proposed"} {
		if !strings.Contains(string(output), want) {
			t.Errorf("no before/after column %q in the matrix output", want)
		}
	}

	// A tampered InRelease must stop everything: non-zero exit, no run.
	if err := os.WriteFile(filepath.Join(a.Root, "dists/noble-updates/InRelease"), []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := srutest(t, "kernels", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath)
	if bout, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("tampered InRelease accepted:\n%s", bout)
	}
}

// TestE2EUbuntuFixVerified is the SRU verification path with a real bug:
// the loopback archive's noble-updates carries a kernel built from the
// host's kernel source (Debian: linux-source-6.12; Ubuntu: the series'
// linux-source) with 648de37416b3 reverted (the "before" kernel, with
// the bug), noble-proposed the same tree as shipped (the fix). Both are
// packaged under Ubuntu names and ABIs (e.g. 6.12.117-1-generic,
// 6.12.117-2-generic; everything built in, so no modules debs content) and
// go through the real resolver → download → verify → boot → scenarios path.
// The run must conclude "fix verified" with the before/after table showing
// connect, fallback and join fixed.
func TestE2EUbuntuFixVerified(t *testing.T) {
	skipUnlessE2E(t)
	src := needKernelSource(t)
	build := func(name, localversion string, extra ...string) *ubuntuarchive.KernelFiles {
		out := filepath.Join(t.TempDir(), name)
		args := append([]string{"--source", src.Tarball, "--cache", filepath.Join(cacheDir, "kbuild"),
			"--out", out, "--localversion", localversion}, extra...)
		cmd := exec.Command("../kconfig/build-kernel.sh", args...)
		if output, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, output)
		}
		vmlinuz, err := os.ReadFile(filepath.Join(out, "bzImage"))
		if err != nil {
			t.Fatal(err)
		}
		config, err := os.ReadFile(filepath.Join(out, "config"))
		if err != nil {
			t.Fatal(err)
		}
		rel, err := os.ReadFile(filepath.Join(out, "kernel.release"))
		if err != nil {
			t.Fatal(err)
		}
		release := strings.TrimSpace(string(rel))
		// Everything the scenarios need is built in (CONFIG_…=y), which is
		// what modules.builtin says on a real package.
		builtin := "kernel/drivers/net/virtio_net.ko\nkernel/drivers/net/veth.ko\nkernel/net/ipv4/inet_diag.ko\n" +
			"kernel/net/ipv4/tcp_diag.ko\nkernel/net/mptcp/mptcp_diag.ko\nkernel/net/sched/sch_netem.ko\n" +
			"kernel/drivers/virtio/virtio_pci.ko\nkernel/net/packet/af_packet.ko\n"
		return &ubuntuarchive.KernelFiles{Release: release, Vmlinuz: vmlinuz, Config: config,
			Modules: map[string][]byte{}, Meta: map[string][]byte{"modules.builtin": []byte(builtin)}}
	}
	before := build("before", "-1-generic", "--revert", "../"+src.Revert)
	after := build("after", "-2-generic")
	// The tree's version (6.12.117, 6.8.12, …) with Ubuntu-style ABIs.
	version := strings.TrimSuffix(before.Release, "-1-generic")
	abiBefore, abiAfter := version+"-1", version+"-2"

	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true,
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "updates", ABI: abiBefore, Upload: "1", Metas: []string{"linux-image-virtual"}, Files: before},
			{Series: "noble", Pocket: "proposed", ABI: abiAfter, Upload: "2", Metas: []string{"linux-image-virtual"}, Files: after},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	defer srv.Close()
	planPath := filepath.Join(t.TempDir(), "noble-fix.yaml")
	plan := `name: noble-fix
series: noble
bug: LP#2125444
scenarios: [connect, fallback, join, keepalive-off]
kernels:
  - name: noble-updates
    role: before
    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: linux-image-virtual}
    expect: {connect: FAIL, fallback: FAIL, join: FAIL}
  - name: noble-proposed
    role: after
    ubuntu: {series: noble, pocket: proposed, flavour: generic, meta: linux-image-virtual}
`
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	output, err := srutest(t, "run", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath, "--out", out).CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Errorf("srutest run: %v (every cell declared: exit 0 expected)", err)
	}
	if strings.Contains(string(output), "warning: needed modules") {
		t.Error("modules.builtin of the repackaged kernels does not cover the needed modules")
	}
	for _, want := range []string{
		"noble: before noble-updates (" + abiBefore + ".1) FAIL connect,fallback,join; after noble-proposed (" + abiAfter + ".2) all PASS → fix verified",
		"suggested Launchpad tags: verification-done-noble",
		"BEFORE noble-updates",
	} {
		if !strings.Contains(string(output), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 2 || run.Kernels[0].Release != abiBefore+"-generic" || run.Kernels[1].Release != abiAfter+"-generic" {
		t.Errorf("kernels booted: %+v", run.Kernels)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil || !strings.Contains(string(md), "LP: #2125444") || !strings.Contains(string(md), "fix verified") {
		t.Errorf("results.md (Launchpad comment) lacks the bug or the verdict: %v", err)
	}
}
