package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/ubuntuarchive"
	"github.com/srutest/srutest/report"
)

// TestE2EUbuntuLoopbackArchive serves a loopback archive in Ubuntu layout —
// a real Debian 6.1 kernel repackaged under Ubuntu names with .ko.zst
// modules, Packages.xz, InRelease signed with a test key — and runs the real
// resolver → download → verify → boot → scenarios path against it, as
// `srutest run noble.yaml` does against the real archive: a series track
// whose history (release pocket → -updates) boots both kernels, and whose
// live SRU check finds noble-proposed empty and says there is nothing to
// verify (SKIP, exit 0) without booting anything. The same archive has
// resolute without linux-modules-extra and with a Contents index cut short
// on every try, and plucky gone to the old-releases stand-in: `srutest
// kernels` resolves both and says so.
func TestE2EUbuntuLoopbackArchive(t *testing.T) {
	skipUnlessE2E(t)
	l := hostLocalKernel(t)
	files, err := ubuntuarchive.LoadKernelDebs(l.debs...)
	if err != nil {
		t.Fatal(err)
	}
	// The ABIs are labels; the release the guest reports stays the real one.
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true, // as on the real archive: depmod runs at install
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "release", ABI: "6.1.0-55", Upload: "59", Metas: []string{"linux-image-virtual"}, Files: files},
			{Series: "noble", Pocket: "updates", ABI: "6.1.0-56", Upload: "60", Metas: []string{"linux-image-virtual"}, Files: files},
			// noble-proposed: published, empty.
			{Series: "resolute", Pocket: "release", ABI: "7.0.0-14", Upload: "14", Metas: []string{"linux-image-virtual"}, ExtraDirs: []string{}, Files: files},
			{Series: "plucky", Pocket: "updates", ABI: "6.14.0-37", Upload: "37", Metas: []string{"linux-image-virtual"}, Files: files},
		},
		EndOfLife: []string{"plucky"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("archive not on loopback: %s", srv.URL)
	}
	// resolute's Contents index arrives cut short on every try (by-hash
	// and plain URL), as resolute-updates' did on the real archive.
	rel, err := os.ReadFile(filepath.Join(a.Root, "dists/resolute/Release"))
	if err != nil {
		t.Fatal(err)
	}
	var contentsSum string
	for _, line := range strings.Split(string(rel), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == "Contents-amd64.gz" {
			contentsSum = f[0]
		}
	}
	srv.SetFaults(ubuntuarchive.Fault{Suffix: "/resolute/by-hash/SHA256/" + contentsSum, Kind: ubuntuarchive.Truncate},
		ubuntuarchive.Fault{Suffix: "/resolute/Contents-amd64.gz", Kind: ubuntuarchive.Truncate})
	oldReleases := "SRUTEST_UBUNTU_OLD_RELEASES=" + srv.URL + "/" + ubuntuarchive.OldReleasesDir

	dir := t.TempDir()
	planPath := filepath.Join(dir, "noble-loopback.yaml")
	plan := `name: noble-loopback
series: noble
tracks:
  - name: noble-6.1
    ubuntu: {flavour: generic, meta: linux-image-virtual}
`
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	kcmd := srutest(t, "kernels", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath)
	kout, err := kcmd.CombinedOutput()
	t.Logf("%s", kout)
	if err != nil || !strings.Contains(string(kout), "6.1.0-56") || !strings.Contains(string(kout), "linux-modules-6.1.0-55-generic") ||
		!strings.Contains(string(kout), "nothing to verify: meta package linux-image-virtual is not in noble-proposed") {
		t.Fatalf("srutest kernels: %v", err)
	}

	otherPath := filepath.Join(dir, "other.yaml")
	other := `name: other
kernels:
  - ubuntu: {series: plucky, pocket: updates, flavour: generic, meta: linux-image-virtual}
  - ubuntu: {series: resolute, pocket: release, flavour: generic, meta: linux-image-virtual}
`
	if err := os.WriteFile(otherPath, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	ocmd := srutest(t, "kernels", otherPath, "--archive", srv.URL, "--keyring", a.KeyringPath)
	ocmd.Env = append(ocmd.Env, oldReleases)
	oout, err := ocmd.CombinedOutput()
	t.Logf("%s", oout)
	if err != nil {
		t.Fatalf("srutest kernels (plucky from old-releases, resolute): %v", err)
	}
	for _, want := range []string{
		"end of life: plucky resolved from " + srv.URL + "/old-releases",
		"warning: plucky is end of life since 2026-01",
		"linux-modules-7.0.0-14-generic",
		"modules-extra: kernel table: 7.0 kernels",
		"warning: optional index resolute/Contents-amd64.gz unusable, using the kernel table instead",
	} {
		if !strings.Contains(string(oout), want) {
			t.Errorf("srutest kernels lacks %q", want)
		}
	}
	if strings.Contains(string(oout), "linux-modules-extra-7.0.0-14") {
		t.Error("resolute 7.0 resolved with a modules-extra package")
	}

	out := t.TempDir()
	cmd := srutest(t, "run", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath,
		"--scenario", "connect", "--scenario", "join", "--out", out)
	output, err := cmd.CombinedOutput()
	t.Logf("%s", output)
	if err != nil {
		t.Fatalf("srutest run: %v (nothing to verify is not a failure: exit 0 expected)", err)
	}
	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Kernels) != 3 || len(run.Pairs) != 2 {
		t.Fatalf("kernels %d pairs %+v", len(run.Kernels), run.Pairs)
	}
	for _, k := range run.Kernels[:2] {
		if k.Release != l.release {
			t.Errorf("%s booted %q", k.Name, k.Release)
		}
		for _, c := range k.Cells {
			if c.Outcome != report.Pass {
				t.Errorf("%s × %s = %s: %s", k.Name, c.Scenario, c.Outcome, c.Reason)
			}
		}
	}
	// noble-proposed is empty: SKIP with the reason, and nothing booted.
	prop := run.Kernels[2]
	if prop.Name != "noble-6.1-proposed" || prop.Release != "" || !strings.HasPrefix(prop.Skip, "nothing in noble-proposed to verify") {
		t.Errorf("proposed kernel: %+v", prop)
	}
	for _, c := range prop.Cells {
		if c.Outcome != report.Skip {
			t.Errorf("proposed × %s = %s", c.Scenario, c.Outcome)
		}
	}
	// Both uploads carry the same fixed Debian kernel (every 6.1 kernel in
	// Debian's archive already has 648de37416b3), so the history's honest
	// conclusion is "no regression", naming both uploads.
	for _, want := range []string{
		"noble-6.1 history: before noble-6.1-release (6.1.0-55.59) all PASS; after noble-6.1-updates (6.1.0-56.60) all PASS → no regression",
		"noble-6.1 SRU: before noble-6.1-updates (6.1.0-56.60) all PASS; after noble-6.1-proposed: SKIP → nothing in noble-proposed to verify: noble-proposed lists no linux-image-virtual",
		"BEFORE noble-6.1-release", "AFTER noble-6.1-updates",
	} {
		if !strings.Contains(string(output), want) {
			t.Errorf("run output lacks %q", want)
		}
	}
	if strings.Contains(string(output), "suggested Launchpad tags") {
		t.Error("a Launchpad tag suggested although nothing was verified")
	}

	// An ad-hoc ubuntu: kernel is named by what it resolves to.
	aout := t.TempDir()
	acmd := srutest(t, "run", "--kernel", "ubuntu:series=noble,pocket=release,flavour=generic,meta=linux-image-virtual",
		"--archive", srv.URL, "--keyring", a.KeyringPath, "--scenario", "keepalive-off", "--out", aout)
	if aoutput, err := acmd.CombinedOutput(); err != nil {
		t.Fatalf("srutest run --kernel ubuntu:…: %v\n%s", err, aoutput)
	}
	if arun, err := report.Load(filepath.Join(aout, "results.json")); err != nil || arun.Kernels[0].Name != "noble-release-6.1.0-55" {
		t.Errorf("ad-hoc kernel name: %v %+v", err, arun)
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
	before := buildHostKernel(t, src, "before", "-1-generic", "--revert", "../"+src.Revert)
	after := buildHostKernel(t, src, "after", "-2-generic")
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
