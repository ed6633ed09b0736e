package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/srutest/srutest/internal/ubuntuarchive"
	"github.com/srutest/srutest/report"
)

// TestE2ETwoRunsOneColdCache: two `srutest run` of one plan at the same time
// on one empty cache (CI shards on one box) both resolve, download, verify,
// build and boot, and both get correct results; the cache ends with no
// temp or lock files. Before the per-process temp files and the per-file
// lock, one run failed with "rename …/.<name>.partial …: no such file or
// directory" on the shared index or deb downloads.
func TestE2ETwoRunsOneColdCache(t *testing.T) {
	skipUnlessE2E(t)
	// The host's default kernel (Debian 6.1 cloud, or Ubuntu's newest
	// generic) repackaged under a made-up Ubuntu ABI.
	l := hostLocalKernel(t)
	files, err := ubuntuarchive.LoadKernelDebs(l.debs...)
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := strings.Cut(l.release, "-")
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{
		OmitModulesDep: true,
		Kernels: []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "updates", ABI: base + "-56", Upload: "60", Metas: []string{"linux-image-virtual"}, Files: files},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	defer srv.Close()
	planPath := filepath.Join(t.TempDir(), "shared.yaml")
	plan := "name: shared\nseries: noble\nkernels:\n  - name: noble-updates\n    ubuntu: {series: noble, pocket: updates, flavour: generic, meta: linux-image-virtual}\n"
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	type result struct {
		out    string
		output bytes.Buffer
		err    error
	}
	var res [2]result
	var wg sync.WaitGroup
	for i := range res {
		res[i].out = t.TempDir()
		cmd := srutest(t, "--cache-dir", cache, "run", planPath, "--archive", srv.URL, "--keyring", a.KeyringPath,
			"--scenario", "connect", "--out", res[i].out)
		cmd.Stdout, cmd.Stderr = &res[i].output, &res[i].output
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i].err = cmd.Run()
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.err != nil {
			t.Errorf("run %d: %v\n%s", i, r.err, r.output.String())
			continue
		}
		run, err := report.Load(filepath.Join(r.out, "results.json"))
		if err != nil {
			t.Errorf("run %d: %v", i, err)
			continue
		}
		for _, k := range run.Kernels {
			if k.Release != l.release {
				t.Errorf("run %d: %s booted %q", i, k.Name, k.Release)
			}
			for _, c := range k.Cells {
				if c.Outcome != report.Pass {
					t.Errorf("run %d: %s × %s = %s: %s", i, k.Name, c.Scenario, c.Outcome, c.Reason)
				}
			}
		}
	}
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".partial") || strings.HasSuffix(p, ".lock")) {
			t.Errorf("left in the cache: %s", p)
		}
		return nil
	})
}
