package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/srutest/srutest/internal/flock"
)

// lockTree holds a lock under <cache>/kbuild/ while this process unpacks
// or builds one source tree (what: "unpacking", "building"; id names the
// tree: the source package, the tarball's or tree's path). Two srutest
// processes on one cache (two runs, CI shards) would otherwise copy the
// same tarball out of its package twice and race on the spec's out dir
// (its build.log is created before build-kernel.sh takes its own flock).
// The second one waits here, where a cancelled context still reaches it,
// says so in the log, and then reuses what the first left: the tarball
// is there, build-kernel.sh finds the out dir already holding this build.
// build-kernel.sh keeps its own per-tarball flock(1) for direct users and
// for two different paths of one tarball.
func (b *Builder) lockTree(ctx context.Context, what, id string) (*flock.Lock, error) {
	dir := filepath.Join(b.cacheDir(), dirKbuild)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, ".tree-"+keyOf(id)[:16]+".lock")
	try, cancel := context.WithCancel(ctx)
	cancel() // one try first, to say why this run stops here
	if l, err := flock.Acquire(try, p); err == nil {
		return l, nil
	}
	b.logf("waiting for another srutest %s %s (lock %s)", what, id, p)
	return flock.Acquire(ctx, p)
}

// holdKbuildEntry takes, without waiting, the locks a running source:
// build holds on the kbuild entry e, so prune does not pull a tree from
// under it: build-kernel.sh's <key>.lock for its src-<key> and
// build-<key> trees, and lockTree's locks for a trees/<package> dir (its
// unpacking, and the build of each tarball in it). free is false when
// some build holds one; release gives the locks back. Other entries are
// free.
func holdKbuildEntry(cacheDir string, e Entry) (release func(), free bool) {
	kb := filepath.Join(cacheDir, dirKbuild)
	var held []func()
	release = func() {
		for _, r := range held {
			r()
		}
	}
	switch filepath.Dir(e.Dir) {
	case kb:
		name := strings.TrimSuffix(filepath.Base(e.Dir), ".tmp")
		key, ok := strings.CutPrefix(name, "src-")
		if !ok {
			key, ok = strings.CutPrefix(name, "build-")
		}
		if !ok {
			return release, true
		}
		// build-kernel.sh's flock(1) never removes its file: open (or
		// create) it, lock it, leave it in place, so a script waiting on
		// it keeps waiting on the file the next one will lock.
		f, err := os.OpenFile(filepath.Join(kb, key+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return release, false
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			return release, false
		}
		held = append(held, func() { f.Close() })
	case filepath.Join(kb, dirTrees):
		ids := []string{filepath.Join(dirTrees, filepath.Base(e.Dir))}
		tarballs, _ := os.ReadDir(e.Dir)
		dir, _ := filepath.Abs(e.Dir) // buildFromSource locks absolute paths
		for _, t := range tarballs {
			ids = append(ids, filepath.Join(dir, t.Name()))
		}
		now, cancel := context.WithCancel(context.Background())
		cancel() // no waiting
		for _, id := range ids {
			l, err := flock.Acquire(now, filepath.Join(kb, ".tree-"+keyOf(id)[:16]+".lock"))
			if err != nil {
				release()
				return func() {}, false
			}
			held = append(held, l.Unlock)
		}
	}
	return release, true
}
