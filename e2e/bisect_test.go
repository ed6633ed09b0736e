package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/host"
	"github.com/srutest/srutest/internal/ubuntuarchive"
	"github.com/srutest/srutest/report"
)

// buildHostKernel builds the host's kernel source (Debian:
// linux-source-6.12; Ubuntu: the series' linux-source, e.g.
// linux-source-6.8.0) with build-kernel.sh into a kernel packaged under
// Ubuntu names (everything the scenarios need built in, which is what
// modules.builtin says on a real package). The build tree is the one every
// test of that source shares (the test cache's kbuild/), so a build of a
// state another test built is incremental.
func buildHostKernel(t *testing.T, src host.Source, name, localversion string, extra ...string) *ubuntuarchive.KernelFiles {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"--source", src.Tarball, "--cache", filepath.Join(cacheDir, "kbuild"),
		"--out", out, "--localversion", localversion}, extra...)
	if output, err := exec.Command("../kconfig/build-kernel.sh", args...).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, output)
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	builtin := "kernel/drivers/net/virtio_net.ko\nkernel/drivers/net/veth.ko\nkernel/net/ipv4/inet_diag.ko\n" +
		"kernel/net/ipv4/tcp_diag.ko\nkernel/net/mptcp/mptcp_diag.ko\nkernel/net/sched/sch_netem.ko\n" +
		"kernel/drivers/virtio/virtio_pci.ko\nkernel/net/packet/af_packet.ko\n"
	return &ubuntuarchive.KernelFiles{Release: strings.TrimSpace(string(read("kernel.release"))), Vmlinuz: read("bzImage"),
		Config: read("config"), Modules: map[string][]byte{}, Meta: map[string][]byte{"modules.builtin": []byte(builtin)}}
}

// changelog is a Debian changelog for the loopback kernels of tree
// version v (6.12.117, 6.8.12, …): upload n and every one before it,
// newest first. Its text is the test's (the
// entries are not Canonical's); what is tested is that bisect reads the
// image package's changelog.Debian.gz and picks the entries in between.
func changelog(v0 string, n int) []byte {
	var b strings.Builder
	for i := n; i >= 1; i-- {
		v := v0 + "-" + string(rune('0'+i)) + "." + string(rune('0'+i))
		b.WriteString("linux (" + v + ") noble; urgency=medium\n\n")
		switch i {
		case 2:
			b.WriteString("  * MPTCP SO_KEEPALIVE set before connect() not propagated to subflows\n    (LP: #2125444)\n    - mptcp: sockopt: make sync_socket_options propagate SOCK_KEEPOPEN\n")
		default:
			b.WriteString("  * noble/linux: " + v + " -proposed tracker\n")
		}
		b.WriteString("\n -- srutest <srutest@localhost>  Mon, 20 Oct 2025 12:00:00 +0000\n\n")
	}
	return []byte(b.String())
}

// TestE2EUbuntuBisect bisects connect across a run of kernels whose
// outcome flips at a known version, through the loopback archive and the
// real resolver, QEMU and scenario path. The kernels are the host's kernel
// source (Debian: linux-source-6.12, tree 6.12.117; Ubuntu noble:
// linux-source-6.8.0, tree 6.8.12) built three times: noble (release)
// carries <v>-1 built with 648de37416b3 reverted (FAIL), noble-updates
// <v>-2 and -3 built as shipped (PASS). The answer must be "first PASS in
// <v>-2, last FAIL in <v>-1", every kernel tried a normal cell with
// evidence, and the changelog entry of -2 quoted for the plan's bug.
func TestE2EUbuntuBisect(t *testing.T) {
	skipUnlessE2E(t)
	src := needKernelSource(t)
	k1 := buildHostKernel(t, src, "k1", "-1-generic", "--revert", "../"+src.Revert) // what TestE2EUbuntuFixVerified builds
	k2 := buildHostKernel(t, src, "k2", "-2-generic")
	k3 := buildHostKernel(t, src, "k3", "-3-generic")
	v := strings.TrimSuffix(k1.Release, "-1-generic") // the tree's version: 6.12.117, 6.8.12, …
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true,
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "release", ABI: v + "-1", Upload: "1", Files: k1, Changelog: changelog(v, 1)},
			{Series: "noble", Pocket: "updates", ABI: v + "-2", Upload: "2", Files: k2, Changelog: changelog(v, 2)},
			{Series: "noble", Pocket: "updates", ABI: v + "-3", Upload: "3", Files: k3, Changelog: changelog(v, 3)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	defer srv.Close()
	series := filepath.Join(t.TempDir(), "noble.yaml")
	if err := os.WriteFile(series, []byte("name: noble\nseries: noble\nbug: LP#2125444\nkernels:\n  - name: noble-updates\n    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: linux-image-virtual}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	output, err := srutest(t, "bisect", series, "--scenario", "connect", "--archive", srv.URL, "--keyring", a.KeyringPath, "--out", out).CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Errorf("srutest bisect: %v", err)
	}
	for _, want := range []string{
		"bisect connect over 3 kernels:",
		"step 1: [0] " + v + "-1 (version " + v + "-1.1, noble) (first end): FAIL",
		"step 2: [2] " + v + "-3 (version " + v + "-3.3, noble-updates) (last end): PASS",
		"step 3: [1] " + v + "-2 (version " + v + "-2.2, noble-updates) (midpoint of 0..2): PASS",
		"kernels tried (3, 3 booted,",
		"connect: first PASS in " + v + "-2 (version " + v + "-2.2, noble-updates), last FAIL in " + v + "-1 (version " + v + "-1.1, noble)",
		"changelog " + v + "-1.1 → " + v + "-2.2 (linux-image-unsigned-" + v + "-2-generic): 1 entries",
		v + "-2.2: (LP: #2125444)",
	} {
		if !strings.Contains(string(output), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 3 {
		t.Fatalf("results.json holds %d kernels, want the 3 tried", len(run.Kernels))
	}
	for _, k := range run.Kernels {
		c := k.Cells[0]
		if !c.Matches() || c.Artifacts == "" {
			t.Errorf("%s: %s (expected %s), artifacts %q", k.Name, c.Outcome, c.Expected, c.Artifacts)
			continue
		}
		for _, f := range []string{"verdict.json", "console.txt"} {
			if _, err := os.Stat(filepath.Join(out, c.Artifacts, f)); err != nil {
				t.Errorf("%s: evidence: %v", k.Name, err)
			}
		}
	}
	for _, f := range []string{"bisect.txt", "changelog.txt", "results.md", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestE2EUbuntuSourceBackport is backport validation on a tree fetched
// through the archive: the loopback noble carries the host's kernel source
// package (Debian: linux-source-6.12, republished as linux-source-6.12.0;
// Ubuntu: the series' linux-source-<x.y.z>), its tarball byte for byte, so
// the shared build tree is warm, and a plan builds it three ways through
// source:ubuntu:noble — with 648de37416b3 reverted (the bug: connect FAIL),
// reverted and then applied again (the fix applied to a tree without it:
// PASS), and with the fix applied on top of itself, which does not apply:
// ERROR, the rejected hunks in rejects.txt and "does not apply to
// <package> <version>".
func TestE2EUbuntuSourceBackport(t *testing.T) {
	skipUnlessE2E(t)
	src := needKernelSource(t)
	name, version, ext := sourcePackage(t, src)
	tarball, err := os.ReadFile(src.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		Dists:   []string{"noble"},
		Sources: []ubuntuarchive.SourcePackage{{Series: "noble", Pocket: "release", Name: name, Version: version, Tarball: tarball, TarballExt: ext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tarball = nil
	srv := a.Serve()
	defer srv.Close()
	patch, err := filepath.Abs("../" + src.Revert)
	if err != nil {
		t.Fatal(err)
	}
	planPath := filepath.Join(t.TempDir(), "backport.yaml")
	plan := `name: backport-loopback
series: noble
bug: LP#2125444
scenarios: [connect]
kernels:
  - name: tree-revert
    kernel: source:ubuntu:noble,revert=` + patch + `,localversion=-1-generic
    expect: {connect: FAIL}
  - name: tree-revert-then-fix
    kernel: source:ubuntu:noble,revert=` + patch + `,patch=` + patch + `,localversion=-2-generic
  - name: tree-fix-again
    kernel: source:ubuntu:noble,patch=` + patch + `,localversion=-3-generic
    expect: {connect: ERROR}
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
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 3 {
		t.Fatalf("%d kernels, want 3", len(run.Kernels))
	}
	for _, k := range run.Kernels[:2] { // the third was never built
		if k.Version != version {
			t.Errorf("%s: version %q, want the source package's %s", k.Name, k.Version, version)
		}
	}
	bad := run.Kernels[2].Cells[0]
	if want := "648de37416b3.patch does not apply to " + name + " " + version; !strings.HasPrefix(bad.Reason, want) {
		t.Errorf("reason %q, want it to start with %q", bad.Reason, want)
	}
	rej, err := os.ReadFile(filepath.Join(out, bad.Artifacts, "rejects.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The hunk (its header names the function) as patch rejected it.
	for _, want := range []string{"the tree already carries this change", "FAILED", "@@ -", "sync_socket_options"} {
		if !strings.Contains(string(rej), want) {
			t.Errorf("rejects.txt lacks %q:\n%s", want, rej)
		}
	}
}
