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
// a real Debian 6.1 kernel repackaged under Ubuntu names with .ko.zst
// modules, Packages.xz, InRelease signed with a test key — and runs the real
// resolver → download → verify → boot → scenarios path against it, as
// `srutest run noble.yaml` does against the real archive.
func TestE2EUbuntuLoopbackArchive(t *testing.T) {
	skipUnlessE2E(t)
	debDir := t.TempDir()
	name, err := exec.Command("sh", "-c", `apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' | sort -V | tail -1`).Output()
	if err != nil || len(strings.TrimSpace(string(name))) == 0 {
		t.Skipf("no Debian 6.1 cloud kernel in apt: %v", err)
	}
	get := exec.Command("apt-get", "download", strings.TrimSpace(string(name)))
	get.Dir = debDir
	if out, err := get.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(debDir, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("downloaded %v", debs)
	}
	files, err := ubuntuarchive.LoadDebianKernel(debs[0])
	if err != nil {
		t.Fatal(err)
	}
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true, // as on the real archive: depmod runs at install
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "updates", ABI: "6.1.0-56", Upload: "60", Metas: []string{"linux-image-virtual"}, Files: files},
			{Series: "noble", Pocket: "proposed", ABI: "6.1.0-57", Upload: "61", Metas: []string{"linux-image-virtual"}, Files: files},
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
	if err != nil || !strings.Contains(string(kout), "6.1.0-57") || !strings.Contains(string(kout), "linux-modules-6.1.0-56-generic") {
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
		if !strings.HasPrefix(k.Release, "6.1.0-") {
			t.Errorf("%s booted %q", k.Name, k.Release)
		}
		for _, c := range k.Cells {
			if c.Outcome != report.Pass {
				t.Errorf("%s × %s = %s: %s", k.Name, c.Scenario, c.Outcome, c.Reason)
			}
		}
	}
	// Both pockets carry the same fixed Debian kernel (every 6.1 kernel in
	// Debian's archive already has 648de37416b3), so the honest conclusion
	// is "no regression": the before kernel does not show the bug. The
	// conclusion must say so, naming both uploads.
	if !strings.Contains(string(output), "noble: before noble-updates (6.1.0-56.60) all PASS; after noble-proposed (6.1.0-57.61) all PASS → no regression") {
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
