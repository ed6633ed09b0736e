package images

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCachedAptResolve(t *testing.T) {
	path := filepath.Join(t.TempDir(), aptResolveFile)
	calls := 0
	pkg := []aptPkg{{"linux-image-6.1.0-40-cloud-amd64-unsigned", "6.1.153-1"}}
	resolve := func() ([]aptPkg, error) { calls++; return pkg, nil }
	names := []string{"linux-image-6.1.0-*-cloud-amd64-unsigned"}
	for i, tc := range []struct {
		state     string
		names     []string
		wantCalls int
	}{
		{"s1", names, 1},             // miss
		{"s1", names, 1},             // hit: apt-cache not run
		{"s1", []string{"other"}, 2}, // another spec: miss
		{"s1", names, 2},             // both kept
		{"s2", names, 3},             // apt-get update: every answer stale
		{"", names, 4},               // apt state unknown: never cached
		{"", names, 5},
	} {
		got, err := cachedAptResolve(path, tc.state, tc.names, resolve)
		if err != nil || len(got) != 1 || got[0] != pkg[0] || calls != tc.wantCalls {
			t.Errorf("step %d: %v %v, %d resolver calls, want %d", i, got, err, calls, tc.wantCalls)
		}
	}
	// A failed resolution is not cached.
	fail := errors.New("apt-cache policy: exit 100")
	if _, err := cachedAptResolve(path, "s3", names, func() ([]aptPkg, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Errorf("err = %v", err)
	}
	if _, err := cachedAptResolve(path, "s3", names, resolve); err != nil || calls != 6 {
		t.Errorf("after a failure: %v, %d calls", err, calls)
	}
	// A corrupt file is a miss, not an error.
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := cachedAptResolve(path, "s3", names, resolve); err != nil || calls != 7 {
		t.Errorf("corrupt cache: %v, %d calls", err, calls)
	}
}

func TestAptState(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4")
	os.WriteFile(f, []byte("a"), 0o644)
	s1 := aptState([]string{dir, filepath.Join(dir, "missing")}, nil)
	if s1 == "" || aptState([]string{dir}, nil) != s1 {
		t.Fatalf("state not stable: %q", s1)
	}
	// apt-get update rewrites the lists: a new mtime is a new state.
	os.Chtimes(f, time.Now(), time.Now().Add(time.Hour))
	if s2 := aptState([]string{dir}, nil); s2 == s1 {
		t.Error("mtime change not seen")
	}
	if aptState([]string{filepath.Join(dir, "missing")}, nil) != "" {
		t.Error("nothing readable must give no state")
	}
}
