package images

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/flock"
)

// TestPruneResolverFiles: cache prune also prunes the resolver's index
// cache (unused index files) and the temp and lock files of runs that
// died, but not a lock someone holds, a download in progress, or the
// replay guard's memory. It used to skip the resolver dir entirely.
func TestPruneResolverFiles(t *testing.T) {
	cache := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	file := func(rel string, mtime time.Time) string {
		p := filepath.Join(cache, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
		os.Chtimes(p, mtime, mtime)
		return p
	}
	file("ubuntu/ubuntu-index/aaaa", old)
	file("ubuntu/ubuntu-index/bbbb", time.Now())
	file("ubuntu/ubuntu-index/.cccc.123.partial", old)
	file("ubuntu/ubuntu-index/.dddd.456.partial", time.Now())
	file("ubuntu/ubuntu-index/.aaaa.lock", old)
	held := file("ubuntu/ubuntu-index/.eeee.lock", old)
	file("ubuntu/release-dates.json", old)
	file("ubuntu/plans/ffff.json", old)
	file("ubuntu/plans/9999.json", time.Now())
	file("ubuntu/plans/.plan-123", old)
	file("debs/ubuntu/.linux-image.deb.789.partial", old)
	l, err := flock.Acquire(context.Background(), held)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	os.Chtimes(held, old, old)

	removed, err := Prune(cache, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range removed {
		rel, _ := filepath.Rel(cache, e.Dir)
		got = append(got, e.Kind+" "+rel)
	}
	sort.Strings(got)
	want := []string{
		"index ubuntu/ubuntu-index/aaaa",
		"lock ubuntu/ubuntu-index/.aaaa.lock",
		"partial debs/ubuntu/.linux-image.deb.789.partial",
		"partial ubuntu/plans/.plan-123",
		"partial ubuntu/ubuntu-index/.cccc.123.partial",
		"plan ubuntu/plans/ffff.json",
	}
	if len(got) != len(want) {
		t.Fatalf("removed %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("removed %q, want %q", got, want)
			break
		}
	}
	for _, keep := range []string{"ubuntu/ubuntu-index/bbbb", "ubuntu/ubuntu-index/.dddd.456.partial", "ubuntu/ubuntu-index/.eeee.lock", "ubuntu/release-dates.json", "ubuntu/plans/9999.json"} {
		if _, err := os.Stat(filepath.Join(cache, keep)); err != nil {
			t.Errorf("pruned %s: %v", keep, err)
		}
	}
}
