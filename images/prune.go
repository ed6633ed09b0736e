package images

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/flock"
)

// staleAfter is the age past which a temp or lock file is taken to belong
// to a run that died (a running download touches its file all the time).
const staleAfter = time.Hour

// pruneResolverFiles removes, under the resolvers' top-level dirs (e.g.
// <cache>/ubuntu): verified index files (ubuntu-index/<sha256>) not used for
// olderThan (0: all), downloads in progress (*.partial) and lock files
// (*.lock) left by runs that died — a lock file only when no process holds
// it. The replay guard's record of InRelease dates is kept: forgetting it
// would let an old index in again.
func pruneResolverFiles(cacheDir string, olderThan time.Duration) ([]Entry, error) {
	cut := time.Now().Add(-olderThan)
	var removed []Entry
	var errs []error
	top, _ := os.ReadDir(cacheDir)
	for _, e := range top {
		switch e.Name() {
		case dirKernels, dirImages, dirMarkers, dirTmp, dirKbuild:
			continue
		}
		if !e.IsDir() {
			continue
		}
		root := filepath.Join(cacheDir, e.Name())
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			name := d.Name()
			kind := ""
			switch {
			case strings.HasSuffix(name, ".partial"):
				if time.Since(fi.ModTime()) > staleAfter {
					kind = "partial"
				}
			case strings.HasSuffix(name, ".lock"):
				if time.Since(fi.ModTime()) > staleAfter && flock.RemoveIfFree(p) {
					removed = append(removed, Entry{Kind: "lock", Key: name, Dir: p, Used: fi.ModTime()})
				}
				return nil
			case filepath.Base(filepath.Dir(p)) == "ubuntu-index":
				if olderThan == 0 || fi.ModTime().Before(cut) {
					kind = "index"
				}
			case filepath.Base(filepath.Dir(p)) == "plans": // ubuntu's plan cache (touched on use)
				switch {
				case strings.HasPrefix(name, ".plan-"):
					if time.Since(fi.ModTime()) > staleAfter {
						kind = "partial"
					}
				case olderThan == 0 || fi.ModTime().Before(cut):
					kind = "plan"
				}
			}
			if kind == "" {
				return nil
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				return nil
			}
			removed = append(removed, Entry{Kind: kind, Key: name, Dir: p, Size: fi.Size(), Used: fi.ModTime()})
			return nil
		})
	}
	return removed, errors.Join(errs...)
}
