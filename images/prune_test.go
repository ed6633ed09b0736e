package images

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// Trim removes least recently used entries until the cache fits, never one
// used within keep, and counts the resolver dirs without removing them;
// TrimIfDue runs it at most once per interval (a stamp file's mtime).
func TestTrim(t *testing.T) {
	cache := t.TempDir()
	now := time.Now()
	entry := func(rel string, size int, age time.Duration) {
		p := filepath.Join(cache, rel)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "blob"), make([]byte, size), 0o644)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	entry("images/old", 400, 72*time.Hour)
	entry("kernels/older", 300, 96*time.Hour)
	entry("images/yesterday", 200, 24*time.Hour)
	entry("images/now", 500, time.Minute)
	entry("ubuntu/ubuntu-index", 1000, 200*time.Hour) // counted, not trimmed
	// 2400 bytes; to fit 1900: older (300) then old (400) go.
	removed, left, err := Trim(cache, 1900, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range removed {
		got = append(got, e.Key)
	}
	if strings.Join(got, " ") != "older old" || left != 1700 {
		t.Errorf("Trim to 1900: removed %q, %d left; want [older old], 1700", got, left)
	}
	// Nothing unused for an hour is left to remove: over the limit it stays.
	removed, left, err = Trim(cache, 0, time.Hour)
	if err != nil || len(removed) != 1 || removed[0].Key != "yesterday" || left != 1500 {
		t.Errorf("Trim to 0: removed %v, %d left, %v; want [yesterday], 1500", removed, left, err)
	}
	if _, err := os.Stat(filepath.Join(cache, "images/now")); err != nil {
		t.Errorf("an entry used a minute ago was trimmed: %v", err)
	}

	// Trim checks each candidate's last use again just before removing it.
	hourAgo := now.Add(-time.Hour)
	if !usedSince(filepath.Join(cache, "images/now"), hourAgo) || !usedSince(filepath.Join(cache, "images/gone"), hourAgo) {
		t.Error("usedSince: an entry used a minute ago, or a missing one, reads as unused")
	}

	entry("images/old2", 100, 72*time.Hour)
	if usedSince(filepath.Join(cache, "images/old2"), hourAgo) {
		t.Error("usedSince: an entry unused for 3 days reads as used")
	}
	if _, _, ran, err := TrimIfDue(cache, 0, time.Hour, time.Hour); ran || err != nil {
		t.Errorf("TrimIfDue with no limit ran (%v)", err)
	}
	if removed, _, ran, err := TrimIfDue(cache, 10, time.Hour, time.Hour); !ran || err != nil || len(removed) != 1 {
		t.Errorf("first TrimIfDue: ran %v, removed %v, %v", ran, removed, err)
	}
	entry("images/old3", 100, 72*time.Hour)
	if _, _, ran, _ := TrimIfDue(cache, 10, time.Hour, time.Hour); ran {
		t.Error("TrimIfDue ran again within its interval")
	}
	if _, err := os.Stat(filepath.Join(cache, "images/old3")); err != nil {
		t.Errorf("trimmed within the interval: %v", err)
	}
	ents, _ := List(cache)
	for _, e := range ents {
		if e.Key == trimStamp {
			t.Errorf("the stamp is listed as an entry: %+v", e)
		}
	}
}
