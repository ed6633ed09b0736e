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

// TestInReleaseReplayRefused: once a resolver's cache has seen an InRelease
// of noble-updates dated D, a correctly signed one dated before D (a stale
// mirror, or an attacker replaying an index from before a fix) is refused,
// as is one dated far in the future; the same or a newer one is accepted.
func TestInReleaseReplayRefused(t *testing.T) {
	now := time.Now().UTC().Add(time.Hour) // after every signature made below
	a, s := loopback(t, ubuntuarchive.Options{Date: now.Add(-24 * time.Hour)})
	cache := t.TempDir()
	r := newResolver(t, a, s, ubuntu.WithCacheDir(cache))
	r.Now = func() time.Time { return now }
	q, err := ubuntu.ParseArg(virtualUpdates)
	if err != nil {
		t.Fatal(err)
	}
	plan := func() error {
		_, err := r.Plan(context.Background(), q)
		return err
	}
	if err := plan(); err != nil {
		t.Fatal(err)
	}
	if err := plan(); err != nil {
		t.Fatalf("the same InRelease again: %v", err)
	}
	// resign puts an InRelease signed by the archive's own key, with the
	// given Date, in place of the served one.
	resign := func(date time.Time) {
		t.Helper()
		b, err := ubuntuarchive.Build(t.TempDir(), ubuntuarchive.Options{Key: a.Key, Date: date, Kernels: defaultKernels()})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"InRelease"} {
			data, err := os.ReadFile(filepath.Join(b.Root, "dists/noble-updates", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(a.Root, "dists/noble-updates", f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	resign(now.Add(-30 * 24 * time.Hour))
	err = plan()
	if !errors.Is(err, ubuntu.ErrReplay) || !strings.Contains(err.Error(), "older than") || !strings.Contains(err.Error(), "noble-updates") {
		t.Fatalf("older InRelease: %v, want a replay refusal", err)
	}
	resign(now.Add(30 * 24 * time.Hour))
	if err := plan(); !errors.Is(err, ubuntu.ErrReplay) || !strings.Contains(err.Error(), "ahead of this host's clock") {
		t.Fatalf("future InRelease: %v, want a refusal", err)
	}
	resign(now.Add(-time.Hour))
	if err := plan(); err != nil {
		t.Fatalf("newer InRelease: %v", err)
	}
	// The memory is per archive: a fresh cache knows nothing yet.
	resign(now.Add(-30 * 24 * time.Hour))
	r2 := newResolver(t, a, s, ubuntu.WithCacheDir(t.TempDir()))
	r2.Now = r.Now
	if _, err := r2.Plan(context.Background(), q); err != nil {
		t.Errorf("fresh cache: %v", err)
	}
}

func defaultKernels() []ubuntuarchive.Kernel {
	return []ubuntuarchive.Kernel{
		{Series: "noble", Pocket: "updates", ABI: "6.8.0-87", Upload: "88", Metas: []string{"linux-image-generic", "linux-image-virtual"}, Files: ubuntuarchive.SyntheticKernel("6.8.0-87-generic")},
		{Series: "noble", Pocket: "proposed", ABI: "6.8.0-88", Upload: "89", Files: ubuntuarchive.SyntheticKernel("6.8.0-88-generic")},
	}
}
