package ubuntu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/internal/ubuntuarchive"
)

// loopback builds a synthetic noble archive (updates: 6.8.0-87 with metas;
// proposed: 6.8.0-88 without) and serves it on 127.0.0.1.
func loopback(t *testing.T, opts ubuntuarchive.Options) (*ubuntuarchive.Archive, *ubuntuarchive.Server) {
	t.Helper()
	if opts.Kernels == nil {
		opts.Kernels = []ubuntuarchive.Kernel{
			{Series: "noble", Pocket: "updates", ABI: "6.8.0-87", Upload: "88", Metas: []string{"linux-image-generic", "linux-image-virtual"}, Files: ubuntuarchive.SyntheticKernel("6.8.0-87-generic")},
			{Series: "noble", Pocket: "proposed", ABI: "6.8.0-88", Upload: "89", Files: ubuntuarchive.SyntheticKernel("6.8.0-88-generic")},
		}
	}
	a, err := ubuntuarchive.Build(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Serve()
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("test server is not on loopback: %s", s.URL)
	}
	return a, s
}

func newResolver(t *testing.T, a *ubuntuarchive.Archive, s *ubuntuarchive.Server, extra ...ubuntu.Option) *ubuntu.Resolver {
	t.Helper()
	t.Setenv(ubuntu.EnvArchive, "")
	opts := append([]ubuntu.Option{
		ubuntu.WithArchive(s.URL),
		ubuntu.WithKeyring(a.Keyring),
		ubuntu.WithRetry(300*time.Millisecond, 3, 10*time.Millisecond),
	}, extra...)
	r, err := ubuntu.NewResolver(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const virtualUpdates = "series=noble,pocket=updates,flavour=generic,meta=linux-image-virtual"

// assertClean fails when anything but verified final debs is in dir.
func assertClean(t *testing.T, dir string, allowDebs bool) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || !allowDebs {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestResolveLoopback(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	var prog bytes.Buffer
	r := newResolver(t, a, s, ubuntu.WithProgress(&prog), ubuntu.WithCacheDir(t.TempDir()))
	dl := t.TempDir()
	debs, meta, err := r.Resolve(context.Background(), virtualUpdates, dl)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range debs {
		names = append(names, filepath.Base(d))
		got, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(a.Root, "pool/main/l/linux", filepath.Base(d)))
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the archive's", d)
		}
	}
	if strings.Join(names, " ") != "linux-image-unsigned-6.8.0-87-generic_6.8.0-87.88_amd64.deb linux-modules-6.8.0-87-generic_6.8.0-87.88_amd64.deb linux-modules-extra-6.8.0-87-generic_6.8.0-87.88_amd64.deb" {
		t.Errorf("debs = %v", names)
	}
	if meta["abi"] != "6.8.0-87" || meta["version"] != "6.8.0-87.88" || meta["dist"] != "noble-updates" || meta["archive"] != s.URL ||
		meta["meta"] != "linux-image-virtual" || !strings.Contains(meta["extra_reason"], "Contents index: mptcp_diag") {
		t.Errorf("meta = %v", meta)
	}
	if !strings.Contains(prog.String(), "ubuntu 6.8.0-87-generic:") || !strings.Contains(prog.String(), "(100%)") {
		t.Errorf("progress = %q", prog.String())
	}
	reqs := strings.Join(s.Requests(), "\n")
	if !strings.Contains(reqs, "/dists/noble-updates/main/binary-amd64/by-hash/SHA256/") {
		t.Errorf("by-hash not used:\n%s", reqs)
	}
	assertClean(t, dl, true)

	// Second run: indexes from the cache, debs already verified in place.
	n := len(s.Requests())
	if _, _, err := r.Resolve(context.Background(), virtualUpdates, dl); err != nil {
		t.Fatal(err)
	}
	if again := s.Requests()[n:]; len(again) != 1 || !strings.HasSuffix(again[0], "/InRelease") {
		t.Errorf("second run fetched %v, want only InRelease", again)
	}
}

func TestPlanTableFallbackAndNoByHash(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{NoContents: true, NoByHash: true})
	r := newResolver(t, a, s)
	res, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 3 || !strings.HasPrefix(res.ExtraReason, "kernel table: mptcp_diag") || res.TotalSize() <= 0 || res.Signer == "" {
		t.Errorf("res = %+v", res)
	}
	for _, q := range s.Requests() {
		if strings.Contains(q, "by-hash") || strings.Contains(q, ".deb") {
			t.Errorf("unexpected request %s", q)
		}
	}
}

// A second Plan on the same signed InRelease reads the plan cache: no
// index is fetched or read again (the cached indices are gone and the
// server refuses them), InRelease is still fetched and verified. Another
// query is another plan.
func TestPlanCache(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	cache := t.TempDir()
	r := newResolver(t, a, s, ubuntu.WithCacheDir(cache))
	q := ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"}
	first, err := r.Plan(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cache, "ubuntu-index")); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(ubuntuarchive.Fault{Suffix: "Packages.xz", Kind: ubuntuarchive.NotFound}, ubuntuarchive.Fault{Suffix: "Packages.gz", Kind: ubuntuarchive.NotFound},
		ubuntuarchive.Fault{Suffix: "Packages", Kind: ubuntuarchive.NotFound}, ubuntuarchive.Fault{Suffix: "Contents-amd64.gz", Kind: ubuntuarchive.NotFound})
	n := len(s.Requests())
	again, err := r.Plan(context.Background(), q)
	if err != nil {
		t.Fatalf("second plan did not come from the cache: %v", err)
	}
	if got, want := fmt.Sprint(again.Packages), fmt.Sprint(first.Packages); got != want || again.ExtraReason != first.ExtraReason || again.Signer != first.Signer || again.Signer == "" {
		t.Errorf("cached plan differs:\n%+v\nwant\n%+v", again, first)
	}
	if reqs := s.Requests()[n:]; len(reqs) != 1 || !strings.HasSuffix(reqs[0], "/InRelease") {
		t.Errorf("second plan requested %v, want only InRelease", reqs)
	}
	s.SetFaults()
	q.Meta = "linux-image-generic"
	n = len(s.Requests())
	if _, err := r.Plan(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if reqs := s.Requests()[n:]; len(reqs) < 2 {
		t.Errorf("another query was answered from the cache: requests %v", reqs)
	}
	assertCacheVerified(t, cache)
}

func TestByHashFallsBackToPlain(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	s.SetFaults(ubuntuarchive.Fault{Suffix: "/by-hash/SHA256/" + sha(t, filepath.Join(a.Root, "dists/noble-updates/main/binary-amd64/Packages.xz")), Kind: ubuntuarchive.NotFound})
	r := newResolver(t, a, s, ubuntu.WithContents(ubuntu.ContentsOff))
	if _, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-87"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(s.Requests(), "\n"), "GET /dists/noble-updates/main/binary-amd64/Packages.xz") {
		t.Errorf("no plain fallback: %v", s.Requests())
	}
}

func TestProposedNeedsABI(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	r := newResolver(t, a, s)
	_, _, err := r.Resolve(context.Background(), "series=noble,pocket=proposed,flavour=generic,meta=linux-image-virtual", t.TempDir())
	if !errors.Is(err, ubuntu.ErrNoPackage) || !strings.Contains(err.Error(), "abi=") || !strings.Contains(err.Error(), "6.8.0-88") {
		t.Fatalf("err = %v", err)
	}
	debs, meta, err := r.Resolve(context.Background(), "series=noble,pocket=proposed,flavour=generic,abi=6.8.0-88", t.TempDir())
	if err != nil || len(debs) != 3 || meta["version"] != "6.8.0-88.89" {
		t.Fatalf("abi=: %v %v %v", debs, meta, err)
	}
}

func TestMirrorEnvOverrides(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	t.Setenv(ubuntu.EnvArchive, s.URL)
	r, err := ubuntu.NewResolver(ubuntu.WithKeyring(a.Keyring))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-87", Archive: "http://archive.ubuntu.com/ubuntu"})
	if err != nil || res.Archive != s.URL {
		t.Fatalf("mirror not applied: %v %v", res, err)
	}
}

// Faults: each gives a typed error and leaves nothing unverified.
func TestFaults(t *testing.T) {
	type F = ubuntuarchive.Fault
	for _, tc := range []struct {
		name   string
		faults []F
		want   error
		ok     bool // succeeds after retries
		msg    string
	}{
		{name: "tampered InRelease", faults: []F{{Suffix: "/InRelease", Kind: ubuntuarchive.Corrupt}}, want: ubuntu.ErrSignature},
		{name: "corrupt Packages", faults: []F{{Suffix: "Packages.xz", Kind: ubuntuarchive.Corrupt}}, want: ubuntu.ErrHashMismatch, msg: "Packages.xz"},
		{name: "corrupt deb", faults: []F{{Suffix: "linux-modules-6.8.0-87-generic_6.8.0-87.88_amd64.deb", Kind: ubuntuarchive.Corrupt}}, want: ubuntu.ErrHashMismatch, msg: "linux-modules-6.8.0-87-generic"},
		{name: "truncated deb always", faults: []F{{Suffix: ".deb", Kind: ubuntuarchive.Truncate}}, want: ubuntu.ErrTruncated},
		{name: "truncated deb once resumes", faults: []F{{Suffix: "linux-modules-6.8.0-87-generic_6.8.0-87.88_amd64.deb", Kind: ubuntuarchive.Truncate, Times: 1}}, ok: true},
		{name: "503 once retried", faults: []F{{Suffix: ".deb", Kind: ubuntuarchive.ServerError, Times: 1}}, ok: true},
		{name: "404 deb", faults: []F{{Suffix: "linux-modules-extra-6.8.0-87-generic_6.8.0-87.88_amd64.deb", Kind: ubuntuarchive.NotFound}}, want: ubuntu.ErrNotFound},
		{name: "404 InRelease", faults: []F{{Suffix: "/InRelease", Kind: ubuntuarchive.NotFound}}, want: ubuntu.ErrNotFound},
		{name: "stalled deb", faults: []F{{Suffix: ".deb", Kind: ubuntuarchive.Stall, Delay: 5 * time.Second}}, want: ubuntu.ErrTimeout},
		{name: "dead InRelease", faults: []F{{Suffix: "/InRelease", Kind: ubuntuarchive.Slow, Delay: 5 * time.Second}}, want: ubuntu.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, s := loopback(t, ubuntuarchive.Options{})
			var fs []F
			for _, f := range tc.faults {
				if f.Suffix == "Packages.xz" {
					// Served by hash: fault both names.
					fs = append(fs, F{Suffix: sha(t, filepath.Join(a.Root, "dists/noble-updates/main/binary-amd64/Packages.xz")), Kind: f.Kind})
				}
				fs = append(fs, f)
			}
			s.SetFaults(fs...)
			cache, dl := t.TempDir(), t.TempDir()
			r := newResolver(t, a, s, ubuntu.WithCacheDir(cache))
			start := time.Now()
			debs, _, err := r.Resolve(context.Background(), virtualUpdates, dl)
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("took %s: deadlines not applied", took)
			}
			if tc.ok {
				if err != nil || len(debs) != 3 {
					t.Fatalf("want success, got %v", err)
				}
				if strings.Contains(tc.name, "resumes") && !strings.Contains(strings.Join(s.Requests(), "\n"), "bytes=") {
					t.Errorf("no Range request: %v", s.Requests())
				}
				assertClean(t, dl, true)
				return
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %q lacks %q", err, tc.msg)
			}
			if errors.Is(err, ubuntu.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout does not match context.DeadlineExceeded: %v", err)
			}
			// Verified debs of other packages may remain; nothing partial or
			// corrupt may.
			assertClean(t, dl, true)
			for _, d := range debs {
				t.Errorf("returned %s despite error", d)
			}
			entries, _ := os.ReadDir(dl)
			for _, e := range entries {
				if strings.Contains(tc.name, "deb") && strings.Contains(tc.faults[0].Suffix, e.Name()) {
					t.Errorf("faulty deb %s landed in the download dir", e.Name())
				}
			}
			assertCacheVerified(t, cache)
		})
	}
}

// assertCacheVerified checks every cached index is named by its SHA256
// (the replay guard's record of InRelease dates aside) and every cached
// plan is whole and names its own key.
func assertCacheVerified(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "release-dates.json" {
			return nil
		}
		if filepath.Base(filepath.Dir(p)) == "plans" {
			var c struct{ Key string }
			data, _ := os.ReadFile(p)
			if json.Unmarshal(data, &c) != nil || c.Key+".json" != d.Name() {
				t.Errorf("cached plan %s is not whole or not its key's", p)
			}
			return nil
		}
		if got := sha(t, p); got != d.Name() {
			t.Errorf("cache file %s has sha256 %s", p, got)
		}
		return nil
	})
}

func TestOverallDeadline(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	s.SetFaults(ubuntuarchive.Fault{Suffix: ".deb", Kind: ubuntuarchive.Slow, Delay: 5 * time.Second})
	r := newResolver(t, a, s, ubuntu.WithRetry(10*time.Second, 2, 10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	dl := t.TempDir()
	_, _, err := r.Resolve(ctx, virtualUpdates, dl)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ubuntu.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	assertClean(t, dl, false)
}

func TestWrongKey(t *testing.T) {
	a, s := loopback(t, ubuntuarchive.Options{})
	t.Setenv(ubuntu.EnvArchive, "")
	r, err := ubuntu.NewResolver(ubuntu.WithArchive(s.URL)) // embedded Ubuntu key
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-87"})
	if !errors.Is(err, ubuntu.ErrSignature) {
		t.Fatalf("err = %v, want ErrSignature", err)
	}
	// The keyring file the builder writes works as a user keyring.
	r2, err := ubuntu.NewResolver(ubuntu.WithArchive(s.URL), ubuntu.WithKeyringFile(a.KeyringPath))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-87"}); err != nil {
		t.Fatal(err)
	}
}
