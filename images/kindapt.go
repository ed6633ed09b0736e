package images

import (
	"context"
	"path/filepath"
	"strings"
)

// resolveApt handles apt: names → versions → cached or downloaded debs.
func (b *Builder) resolveApt(ctx context.Context, names []string, tm *timer) (*fetched, error) {
	f := &fetched{meta: map[string]string{}}
	tm.start("resolve")
	pkgs, err := b.resolveAptCached(ctx, names)
	if err != nil {
		return f, err
	}
	tm.start("fetch")
	dir := filepath.Join(b.cacheDir(), dirDebs, "apt")
	var pk []string
	for _, p := range pkgs {
		pk = append(pk, p.Name+"="+p.Version)
		if c := cachedAptDeb(dir, p); c != "" {
			touch(c)
			f.debs = append(f.debs, c)
			continue
		}
		tmpRoot, err := b.tmpRoot()
		if err != nil {
			return f, err
		}
		b.logf("apt-get download %s=%s", p.Name, p.Version)
		d, err := aptDownload(ctx, tmpRoot, dir, p)
		if err != nil {
			return f, err
		}
		f.fresh = append(f.fresh, d)
		f.downloaded = true
		f.debs = append(f.debs, d)
	}
	f.meta["packages"] = strings.Join(pk, " ")
	return f, nil
}

// aptKind is apt:<pkg>[,<pkg>…]: the host's apt resolves the names (a glob
// picks the newest match; resolutions cached in apt/resolve.json, see
// aptcache.go) and apt-get download fetches the debs (apt.go).
type aptKind struct{}

func (aptKind) kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error) {
	f, err := b.resolveApt(ctx, sp.Args, tm)
	return b.debKernel(f, err, tm)
}
