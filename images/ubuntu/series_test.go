package ubuntu_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/internal/ubuntuarchive"
)

func TestCheckForPocketSuite(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		suite, codename, dist string
		ok                    bool
	}{
		{"noble", "noble", "noble", true},
		{"noble-updates", "noble", "noble-updates", true},
		// Every pocket says Codename: noble; only Suite tells them apart.
		{"noble-updates", "noble", "noble", false},
		{"noble-proposed", "noble", "noble", false},
		{"noble", "noble", "noble-updates", false},
		// Debian names the dist by Codename, Suite is an alias.
		{"oldstable-security", "bookworm-security", "bookworm-security", true},
		{"stable", "trixie", "trixie", true},
		{"", "noble", "noble", true},
	} {
		r := &ubuntu.Release{Suite: tc.suite, Codename: tc.codename}
		err := r.CheckFor(tc.dist, now)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ubuntu.ErrRelease)) {
			t.Errorf("Suite %q Codename %q for %q: %v, want ok=%v", tc.suite, tc.codename, tc.dist, err, tc.ok)
		}
	}
}

// seriesArchive publishes noble (release pocket GA 6.8.0-31, -updates
// 6.8.0-151 and HWE 7.0.0-44 without modules-extra, empty -proposed),
// resolute (7.0.0-14, no modules-extra) and plucky, end of life, on the
// old-releases stand-in.
func seriesArchive(t *testing.T, opts ubuntuarchive.Options) (*ubuntuarchive.Archive, *ubuntuarchive.Server) {
	t.Helper()
	none := []string{}
	opts.Kernels = []ubuntuarchive.Kernel{
		{Series: "noble", Pocket: "release", ABI: "6.8.0-31", Upload: "31", Metas: []string{"linux-image-virtual"}, Files: ubuntuarchive.SyntheticKernel("6.8.0-31-generic")},
		{Series: "noble", Pocket: "updates", ABI: "6.8.0-151", Upload: "152", Metas: []string{"linux-image-virtual"}, Files: ubuntuarchive.SyntheticKernel("6.8.0-151-generic")},
		{Series: "noble", Pocket: "updates", ABI: "7.0.0-44", Version: "7.0.0-44.44~24.04.1", Source: "linux-hwe-7.0", Metas: []string{"linux-image-virtual-hwe-24.04"}, ExtraDirs: none, Files: ubuntuarchive.SyntheticKernel("7.0.0-44-generic")},
		{Series: "resolute", Pocket: "release", ABI: "7.0.0-14", Upload: "14", Metas: []string{"linux-image-virtual", "linux-image-generic"}, ExtraDirs: none, Files: ubuntuarchive.SyntheticKernel("7.0.0-14-generic")},
		{Series: "plucky", Pocket: "updates", ABI: "6.14.0-37", Upload: "37", Metas: []string{"linux-image-virtual"}, Files: ubuntuarchive.SyntheticKernel("6.14.0-37-generic")},
	}
	opts.EndOfLife = []string{"plucky"}
	return loopback(t, opts)
}

func TestReleasePocket(t *testing.T) {
	a, s := seriesArchive(t, ubuntuarchive.Options{})
	r := newResolver(t, a, s)
	res, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "release", Flavour: "generic", Meta: "linux-image-virtual"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dist != "noble" || res.Version != "6.8.0-31.31" || len(res.Warnings) != 0 {
		t.Errorf("release pocket: dist %s version %s warnings %v", res.Dist, res.Version, res.Warnings)
	}
	// A signed noble-updates InRelease (Codename: noble) served as the
	// release pocket's must be refused.
	upd, err := os.ReadFile(filepath.Join(a.Root, "dists/noble-updates/InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.Root, "dists/noble/InRelease"), upd, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "release", Flavour: "generic", Meta: "linux-image-virtual"})
	if !errors.Is(err, ubuntu.ErrRelease) || !strings.Contains(err.Error(), `suite "noble-updates"`) {
		t.Errorf("replayed noble-updates InRelease as noble: %v, want ErrRelease", err)
	}
}

func TestEmptyProposedIsNoPackage(t *testing.T) {
	a, s := seriesArchive(t, ubuntuarchive.Options{})
	r := newResolver(t, a, s)
	_, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "proposed", Flavour: "generic", Meta: "linux-image-virtual"})
	if !errors.Is(err, ubuntu.ErrNoPackage) {
		t.Errorf("empty noble-proposed: %v, want ErrNoPackage", err)
	}
}

// Kernels without linux-modules-extra (7.0: resolute, noble HWE) resolve
// to image + modules with no warning, whether the Contents index or the
// kernel table decides.
func TestNoModulesExtraKernels(t *testing.T) {
	for _, contents := range []bool{true, false} {
		a, s := seriesArchive(t, ubuntuarchive.Options{NoContents: !contents})
		r := newResolver(t, a, s)
		for _, q := range []ubuntu.Query{
			{Series: "resolute", Pocket: "release", Flavour: "generic", Meta: "linux-image-virtual"},
			{Series: "resolute", Pocket: "release", Flavour: "generic", Meta: "linux-image-generic"},
			{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual-hwe-24.04"},
		} {
			res, err := r.Plan(context.Background(), q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var names []string
			for _, p := range res.Packages {
				names = append(names, p.Name)
			}
			want := "linux-image-unsigned-" + res.Release + " linux-modules-" + res.Release
			if strings.Join(names, " ") != want || len(res.Warnings) != 0 || res.ModuleSuffix != ".ko.zst" {
				t.Errorf("contents=%v %s: packages %v warnings %v suffix %s (%s)", contents, q, names, res.Warnings, res.ModuleSuffix, res.ExtraReason)
			}
			if !contents && !strings.Contains(res.ExtraReason, "kernel table: 7.0 kernels") {
				t.Errorf("%s: extra_reason %q", q, res.ExtraReason)
			}
		}
	}
}

// An optional index cut short on every try must not make the kernel
// unresolvable: retries, then the kernel table with a warning.
func TestContentsCutShortFallsBackToTable(t *testing.T) {
	a, s := seriesArchive(t, ubuntuarchive.Options{})
	r := newResolver(t, a, s)
	s.SetFaults(ubuntuarchive.Fault{Suffix: "/by-hash/SHA256/" + contentsHash(t, a, "noble-updates"), Kind: ubuntuarchive.Truncate},
		ubuntuarchive.Fault{Suffix: "/Contents-amd64.gz", Kind: ubuntuarchive.Truncate})
	res, err := r.Plan(context.Background(), ubuntu.Query{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"})
	if err != nil {
		t.Fatalf("a truncated Contents index made the kernel unresolvable: %v", err)
	}
	if len(res.Packages) != 3 || !strings.HasPrefix(res.ExtraReason, "kernel table: mptcp_diag") {
		t.Errorf("packages %d, extra_reason %q", len(res.Packages), res.ExtraReason)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "optional index noble-updates/Contents-amd64.gz unusable") ||
		!strings.Contains(res.Warnings[0], "truncated") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	tries := 0
	for _, q := range s.Requests() {
		if strings.Contains(q, "Contents") || strings.Contains(q, contentsHash(t, a, "noble-updates")) {
			tries++
		}
	}
	if tries < 3 {
		t.Errorf("Contents fetched %d times, want retries", tries)
	}
	// Nothing half-written stays in the index cache either.
	if r.CacheDir != "" {
		assertCacheVerified(t, filepath.Join(r.CacheDir, "ubuntu-index"))
	}
}

func contentsHash(t *testing.T, a *ubuntuarchive.Archive, dist string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.Root, "dists", dist, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ubuntu.ParseRelease(data)
	if err != nil {
		t.Fatal(err)
	}
	return rel.SHA256["Contents-amd64.gz"].SHA256
}

// A series gone from the archive resolves from old-releases and says it is
// end of life; downloads then come from old-releases too.
func TestEndOfLifeFromOldReleases(t *testing.T) {
	a, s := seriesArchive(t, ubuntuarchive.Options{})
	old := s.URL + "/" + ubuntuarchive.OldReleasesDir
	r := newResolver(t, a, s, ubuntu.WithOldReleases(old))
	debs, meta, err := r.Resolve(context.Background(), "series=plucky,pocket=updates,flavour=generic,meta=linux-image-virtual", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(debs) != 3 || meta["archive"] != old || meta["end_of_life"] != "yes" || meta["version"] != "6.14.0-37.37" ||
		!strings.Contains(meta["notes"], "plucky is end of life since 2026-01") {
		t.Errorf("debs %v meta %v", debs, meta)
	}
	// Without the fallback the error says where it looked.
	r = newResolver(t, a, s, ubuntu.WithOldReleases(""))
	if _, err := r.Plan(context.Background(), ubuntu.Query{Series: "plucky", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"}); !errors.Is(err, ubuntu.ErrNotFound) {
		t.Errorf("no fallback: %v, want ErrNotFound", err)
	}
}

func TestLayoutFor(t *testing.T) {
	for _, tc := range []struct {
		abi, flavour, source string
		noExtra              bool
		inExtra              string
		known                bool
	}{
		{"5.15.0-204", "generic", "linux", false, "mptcp_diag", true},
		{"6.8.0-149", "generic", "linux-hwe-6.8", false, "mptcp_diag", true},
		{"6.14.0-37", "generic", "linux", false, "mptcp_diag", true},
		{"6.17.0-42", "generic", "linux-hwe-6.17", false, "mptcp_diag", true},
		{"6.17.0-41", "generic", "linux", true, "", true},
		{"6.17.0-41", "generic", "linux-signed", true, "", true},
		{"7.0.0-14", "generic", "linux", true, "", true},
		{"7.0.0-44", "generic", "linux-hwe-7.0", true, "", true},
		{"6.8.0-1064", "aws", "linux-aws", false, "", false},
	} {
		l, ok := ubuntu.LayoutFor(tc.abi, tc.flavour, tc.source)
		if ok != tc.known || l.NoExtra != tc.noExtra || strings.Join(l.InExtra, ",") != tc.inExtra {
			t.Errorf("%s %s %s: %+v %v", tc.abi, tc.flavour, tc.source, l, ok)
		}
	}
}
