package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// aptStateDirs hold what `apt-cache policy` answers from: the package
// lists (changed by apt-get update) and the pinning preferences.
var aptStateDirs = []string{"/var/lib/apt/lists", "/etc/apt/preferences.d"}

var aptStateFiles = []string{"/etc/apt/preferences", "/var/lib/dpkg/status"}

// aptResolveFile caches apt: resolutions in the cache dir (under apt/, so
// `cache ls` lists it as a resolver cache): `apt-cache pkgnames` + `policy`
// cost 0.5–1.1 s per boot, and their answer only changes when the host's
// apt state does.
const aptResolveFile = "apt/resolve.json"

// aptResolveCache is the file's content: resolutions made under one apt
// state; a different state discards them all.
type aptResolveCache struct {
	State    string              `json:"apt_state"`
	Resolved map[string][]aptPkg `json:"resolved"` // names joined by "\n"
}

// resolveAptCached is aptResolve behind the cache.
func (b *Builder) resolveAptCached(ctx context.Context, names []string) ([]aptPkg, error) {
	return cachedAptResolve(filepath.Join(b.cacheDir(), aptResolveFile), aptState(aptStateDirs, aptStateFiles), names,
		func() ([]aptPkg, error) { return aptResolve(ctx, names) })
}

// cachedAptResolve answers names from the cache file when it was written
// under the same apt state, else calls resolve and records its answer
// (written atomically: a concurrent srutest reads the old or the new file,
// never half of one). An empty state (unreadable) bypasses the cache.
func cachedAptResolve(path, state string, names []string, resolve func() ([]aptPkg, error)) ([]aptPkg, error) {
	if state == "" {
		return resolve()
	}
	key := strings.Join(names, "\n")
	var c aptResolveCache
	if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &c) == nil && c.State == state {
		if pkgs, ok := c.Resolved[key]; ok && len(pkgs) == len(names) {
			return pkgs, nil
		}
	}
	pkgs, err := resolve()
	if err != nil {
		return nil, err
	}
	if c.State != state || c.Resolved == nil {
		c = aptResolveCache{State: state, Resolved: map[string][]aptPkg{}}
	}
	c.Resolved[key] = pkgs
	if err := writeJSONAtomic(path, c); err != nil {
		return pkgs, nil // a cache that cannot be written only costs time
	}
	return pkgs, nil
}

// aptState fingerprints the apt state: name, size and mtime of every file
// in dirs and of files ("" when none of it is readable).
func aptState(dirs, files []string) string {
	var lines []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				lines = append(lines, fmt.Sprintf("%s %d %d", filepath.Join(d, e.Name()), fi.Size(), fi.ModTime().UnixNano()))
			}
		}
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			lines = append(lines, fmt.Sprintf("%s %d %d", f, fi.Size(), fi.ModTime().UnixNano()))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o644)
}
