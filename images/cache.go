package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// Cache sub-directories (see the package comment).
const (
	dirKernels = "kernels"
	dirImages  = "images"
	dirMarkers = "markers"
	dirDebs    = "debs"
	dirTmp     = "tmp"
	// dirSelftests holds built kernel selftest suites (package selftests
	// writes them; listed and pruned here like the other layers).
	dirSelftests = "selftests"
)

// layoutVersion is mixed into every key: bump it when the layout or the
// content rules of a layer change, so old entries are not reused.
const layoutVersion = "srutest-images-v1"

// Entry is one cache entry, as `srutest cache ls` shows it.
type Entry struct {
	Kind string // "kernel", "image", "marker", "deb", "tmp", "index"
	Key  string // content key (or file name for debs)
	Dir  string // path of the entry (directory or file)
	Size int64  // bytes on disk
	Used time.Time
	Desc string
}

// DefaultCacheDir is $XDG_CACHE_HOME/srutest, or ~/.cache/srutest.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "srutest")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "srutest")
	}
	return filepath.Join(os.TempDir(), "srutest-cache")
}

// entryMeta is the small JSON every layer directory carries.
type entryMeta struct {
	Desc string `json:"desc"`
}

// touch marks p as used now (List/Prune read the mtime).
func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// commitDir renames the finished temp dir tmp to final. If another builder
// got there first, tmp is dropped and the existing entry is used. Either
// way final is complete afterwards: entries only ever appear by rename.
func commitDir(tmp, final string) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(final); serr == nil {
			os.RemoveAll(tmp)
			return nil
		}
		return fmt.Errorf("commit cache entry %s: %w", final, err)
	}
	return nil
}

func dirSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func readDesc(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	var m entryMeta
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	return m.Desc
}

// List returns the cache entries under cacheDir, most recently used first.
// A missing cache dir is an empty list.
func List(cacheDir string) ([]Entry, error) {
	var out []Entry
	layer := func(sub, kind, meta string) error {
		ents, err := os.ReadDir(filepath.Join(cacheDir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list cache: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			p := filepath.Join(cacheDir, sub, e.Name())
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			desc := ""
			if meta != "" {
				desc = readDesc(filepath.Join(p, meta))
			}
			out = append(out, Entry{Kind: kind, Key: e.Name(), Dir: p, Size: dirSize(p), Used: fi.ModTime(), Desc: desc})
		}
		return nil
	}
	if err := layer(dirKernels, "kernel", "kernel.json"); err != nil {
		return nil, err
	}
	if err := layer(dirImages, "image", "image.json"); err != nil {
		return nil, err
	}
	if err := layer(dirMarkers, "marker", "marker.json"); err != nil {
		return nil, err
	}
	if err := layer(dirTmp, "tmp", ""); err != nil {
		return nil, err
	}
	if err := layer(dirSelftests, "selftests", "suite.json"); err != nil {
		return nil, err
	}
	// source: builds: extracted trees, build trees, bzImage outputs.
	if err := layer(dirKbuild, "kbuild", ""); err != nil {
		return nil, err
	}
	// trees/ holds one tarball dir per source package: list (and age)
	// those, not trees/ as a whole.
	out = slices.DeleteFunc(out, func(e Entry) bool { return e.Kind == "kbuild" && e.Key == dirTrees })
	if err := layer(filepath.Join(dirKbuild, dirTrees), "kbuild", ""); err != nil {
		return nil, err
	}
	debRoot := filepath.Join(cacheDir, dirDebs)
	err := filepath.WalkDir(debRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || filepath.Ext(p) != ".deb" {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(debRoot, p)
		out = append(out, Entry{Kind: "deb", Key: filepath.Base(p), Dir: p, Size: fi.Size(), Used: fi.ModTime(), Desc: filepath.Dir(rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cache: %w", err)
	}
	// Other top-level dirs belong to resolvers (e.g. ubuntu/ index cache):
	// shown as one entry; Prune goes through their files
	// (pruneResolverFiles), never removes the dir itself.
	top, _ := os.ReadDir(cacheDir)
	for _, e := range top {
		switch e.Name() {
		case dirKernels, dirImages, dirMarkers, dirDebs, dirTmp, dirKbuild, dirSelftests:
			continue
		}
		if e.IsDir() {
			p := filepath.Join(cacheDir, e.Name())
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			out = append(out, Entry{Kind: "index", Key: e.Name(), Dir: p, Size: dirSize(p), Used: fi.ModTime(), Desc: "resolver cache"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Used.After(out[j].Used) })
	return out, nil
}

// Prune removes kernel, image, marker, deb, kbuild and stale tmp entries not used
// for olderThan (0 removes them all; tmp dirs younger than an hour are
// kept, they may belong to a running build), and the resolvers' unused
// index files and stale temp and lock files (pruneResolverFiles). Each entry is renamed away
// before it is deleted, so no reader sees a half-removed entry.
func Prune(cacheDir string, olderThan time.Duration) ([]Entry, error) {
	ents, err := List(cacheDir)
	if err != nil {
		return nil, err
	}
	cut := time.Now().Add(-olderThan)
	var r removal
	for _, e := range ents {
		if e.Kind == "index" || olderThan > 0 && !e.Used.Before(cut) {
			continue
		}
		r.remove(cacheDir, e)
	}
	more, err := pruneResolverFiles(cacheDir, olderThan)
	return append(r.removed, more...), errors.Join(append(r.errs, err)...)
}

// removal collects what Prune and Trim removed and failed to remove.
type removal struct {
	removed []Entry
	errs    []error
}

// remove removes entry e unless it may be in use: a tmp dir younger than
// an hour (a running build's) or a kbuild entry a build holds. It reports
// whether e is gone.
func (r *removal) remove(cacheDir string, e Entry) bool {
	if e.Kind == "tmp" && time.Since(e.Used) < time.Hour {
		return false
	}
	release, free := holdKbuildEntry(cacheDir, e)
	if !free {
		return false // a build is using it
	}
	defer release()
	if err := removeEntry(cacheDir, e.Dir); err != nil {
		r.errs = append(r.errs, err)
		return false
	}
	r.removed = append(r.removed, e)
	return true
}

// Trim removes the least recently used entries (as Prune removes them)
// until the cache holds at most max bytes, and returns them with the size
// left. Entries used within keep stay (a command running now may be about
// to boot them), so the cache can stay above max; the resolvers' index
// dirs count toward the size but only Prune (by age) removes their files.
func Trim(cacheDir string, max int64, keep time.Duration) ([]Entry, int64, error) {
	ents, err := List(cacheDir)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	for _, e := range ents {
		total += e.Size
	}
	var r removal
	cut := time.Now().Add(-keep)
	for i := len(ents) - 1; i >= 0 && total > max; i-- { // least recently used first
		e := ents[i]
		if e.Kind == "index" || !e.Used.Before(cut) || usedSince(e.Dir, cut) {
			continue // usedSince: a command may have hit it since List
		}
		if r.remove(cacheDir, e) {
			total -= e.Size
		}
	}
	return r.removed, total, errors.Join(r.errs...)
}

// usedSince reports whether p was used (touched) at or after t, or is
// gone.
func usedSince(p string, t time.Time) bool {
	fi, err := os.Stat(p)
	return err != nil || !fi.ModTime().Before(t)
}

// trimStamp is the file whose mtime records the last TrimIfDue.
const trimStamp = ".trimmed"

// TrimIfDue runs Trim(cacheDir, max, keep) unless one ran (in any process)
// within every: sizing the cache walks every file of its build trees
// (~0.5 s for a few GB of kernel sources), too much for every command.
// max ≤ 0 disables it. ran reports whether Trim ran.
func TrimIfDue(cacheDir string, max int64, keep, every time.Duration) (removed []Entry, left int64, ran bool, err error) {
	if max <= 0 {
		return nil, 0, false, nil
	}
	stamp := filepath.Join(cacheDir, trimStamp)
	if fi, err := os.Stat(stamp); err == nil && time.Since(fi.ModTime()) < every {
		return nil, 0, false, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, 0, false, err
	}
	// Stamp first: processes starting meanwhile skip rather than trim too.
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return nil, 0, false, err
	}
	touch(stamp)
	removed, left, err = Trim(cacheDir, max, keep)
	return removed, left, true, err
}

func removeEntry(cacheDir, p string) error {
	tmpRoot := filepath.Join(cacheDir, dirTmp)
	if filepath.Dir(p) == tmpRoot {
		return os.RemoveAll(p)
	}
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return err
	}
	dead, err := os.MkdirTemp(tmpRoot, "prune-")
	if err != nil {
		return err
	}
	if err := os.Rename(p, filepath.Join(dead, filepath.Base(p))); err != nil {
		os.RemoveAll(dead)
		return fmt.Errorf("prune %s: %w", p, err)
	}
	return os.RemoveAll(dead)
}
