package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/srutest/srutest/internal/bounded"
)

// dirMarker is the empty file srutest leaves in every kernel and cell
// directory it creates in a run directory. Only a directory carrying it is
// ever emptied by a later run into the same --out: srutest never deletes
// what it did not make.
const dirMarker = ".srutest-dir"

// ErrNotOurs: a kernel or cell directory exists in the run directory but
// srutest did not make it.
var ErrNotOurs = errors.New("exists and was not made by srutest")

// ownedDir makes sure dir is a directory this or an earlier srutest run
// made: a new one is created and marked; an existing one must carry the
// marker, and with clear its contents (but the marker) are removed. The
// name must not be empty: the caller would be handing over its parent.
func ownedDir(parent, name string, clear bool) (string, error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("directory name %q under %s: refusing (it would be the run directory itself)", name, parent)
	}
	dir := filepath.Join(parent, name)
	marker := filepath.Join(dir, dirMarker)
	err := os.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return "", err
		}
		return dir, f.Close()
	case !errors.Is(err, fs.ErrExist):
		return "", err
	}
	if fi, err := os.Lstat(marker); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s %w: pick another --out or remove it", dir, ErrNotOurs)
	}
	if !clear {
		return dir, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if e.Name() == dirMarker {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// maxConsoleSaved bounds a saved guest console (console-<n>.log): a guest
// flooding its console must not make the copy grow srutest's memory.
const maxConsoleSaved = 16 << 20

// copyHeadTail copies src to dst keeping at most head bytes from its start
// and tail bytes from its end, with a line saying how much was cut between.
func copyHeadTail(src, dst string, head, tail int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	b := bounded.New(head, tail)
	if _, err := io.Copy(b, f); err != nil {
		return err
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}
