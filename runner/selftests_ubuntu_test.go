package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/internal/ubuntuarchive"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/selftests"
	"github.com/srutest/srutest/vm"
)

// tarTree packs dir as <top>/… into a .tar.gz, the way a linux-source
// package carries its tree.
func tarTree(t *testing.T, dir, top string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(filepath.Join(top, rel))
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A suite whose source is ubuntu: {series, pocket, version} is built from
// the linux-source package of that pocket, fetched and verified from the
// plan's archive (the loopback one here; the resolver's own archive is a
// dead port, so only the per-suite archive can answer). A tampered
// InRelease turns the suite's columns ERROR, never a build from an
// unverified tree.
func TestSelftestUbuntuSource(t *testing.T) {
	ga, cur := fakeKernelTree(t), fakeKernelTree(t)
	// The pockets' trees differ in their version: which one was built
	// shows in the suite.
	// Every part Build extracts is there (tar fails on a member pattern
	// that matches nothing, as a real tree never has).
	for dir, v := range map[string]string{ga: "6.99.0", cur: "6.99.7"} {
		files := map[string]string{"Makefile": "kernelversion:\n\t@echo " + v + "\nheaders:\n\t@mkdir -p usr/include\n",
			"Kbuild": "\n", "scripts/README": "\n", "include/README": "\n", "arch/x86/entry/entry_64.S": "\n"}
		for name, body := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{Sources: []ubuntuarchive.SourcePackage{
		{Series: "noble", Pocket: "release", Name: "linux-source-6.99.0", Version: "6.99.0-1.1", Tarball: tarTree(t, ga, "linux-source-6.99.0"), TarballExt: ".tar.gz"},
		{Series: "noble", Pocket: "updates", Name: "linux-source-6.99.0", Version: "6.99.0-7.7", Tarball: tarTree(t, cur, "linux-source-6.99.0"), TarballExt: ".tar.gz"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Serve()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test archive is not on loopback: %s", srv.URL)
	}
	t.Setenv(ubuntu.EnvArchive, "")
	res, err := ubuntu.NewResolver(ubuntu.WithArchive("http://127.0.0.1:1/ubuntu"), ubuntu.WithKeyring(a.Keyring),
		ubuntu.WithCacheDir(t.TempDir()), ubuntu.WithRetry(300*time.Millisecond, 2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, cache string, spec string) *report.Kernel {
		w := &fakeWorld{t: t}
		r := &Runner{Build: w.build, Out: t.TempDir(),
			Images:        &images.Builder{CacheDir: cache, Resolvers: map[string]images.Resolver{"ubuntu": res}},
			SelftestTools: selftests.DefaultTools()[:1],
			Boot: func(ctx context.Context, cfg vm.Config) (Guest, error) {
				g, err := w.boot(ctx, cfg)
				if err != nil {
					return nil, err
				}
				return &selftestGuest{fakeGuest: g.(*fakeGuest)}, nil
			},
			BuildSelftest: func(ctx context.Context, spec string, extra []string) (*images.Image, error) {
				return w.build(ctx, spec)
			},
		}
		p := &plan.Plan{Name: "t", Kernels: []plan.Kernel{{Name: "k1", Spec: "bzimage:/x"}},
			Selftests: []plan.Selftests{{Name: "fake", SourceSpec: spec, SourceArchive: srv.URL, Target: "net/fake", Tests: []string{"ok.sh"}}}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound for -race on a loaded host
		defer cancel()
		rr, err := r.Run(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return &rr.Kernels[0]
	}
	suiteOf := func(t *testing.T, cache string) selftests.Suite {
		m, _ := filepath.Glob(filepath.Join(cache, "selftests", "*", "suite.json"))
		if len(m) != 1 {
			t.Fatalf("cached suites: %v", m)
		}
		var s selftests.Suite
		data, err := os.ReadFile(m[0])
		if err == nil {
			err = json.Unmarshal(data, &s)
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	for _, tc := range []struct{ spec, version, deb string }{
		{"ubuntu:noble-updates", "6.99.7", "linux-source-6.99.0_6.99.0-7.7_all.deb"},
		{"ubuntu:noble@6.99.0-1.1", "6.99.0", "linux-source-6.99.0_6.99.0-1.1_all.deb"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			cache := t.TempDir()
			k := run(t, cache, tc.spec)
			if got := outcomes(*k); got != "fake:ok.sh=PASS" {
				t.Fatalf("cells: %s (%s)", got, k.Cells[0].Reason)
			}
			s := suiteOf(t, cache)
			if s.Version != tc.version || filepath.Base(s.Source) != tc.deb {
				t.Errorf("suite built from %s (version %s), want %s (%s)", s.Source, s.Version, tc.deb, tc.version)
			}
			if want := filepath.Join(cache, "debs", "ubuntu-source", tc.deb); s.Source != want {
				t.Errorf("source package at %s, want it kept in the cache at %s", s.Source, want)
			}
		})
	}

	t.Run("tampered", func(t *testing.T) {
		srv.SetFaults(ubuntuarchive.Fault{Suffix: "/noble-updates/InRelease", Kind: ubuntuarchive.Corrupt})
		defer srv.SetFaults()
		cache := t.TempDir()
		k := run(t, cache, "ubuntu:noble-updates")
		c := k.Cells[0]
		if c.Outcome != report.Error || !strings.Contains(c.Reason, "ubuntu:noble-updates") || !strings.Contains(c.Reason, ubuntu.ErrSignature.Error()) {
			t.Errorf("tampered archive: %s %q, want ERROR with the signature error", c.Outcome, c.Reason)
		}
		if m, _ := filepath.Glob(filepath.Join(cache, "selftests", "*")); len(m) != 0 {
			t.Errorf("suite built from an unverified archive: %v", m)
		}
	})
}
