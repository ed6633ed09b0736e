package images

import (
	"context"
	"os"
	"path/filepath"

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
