package images

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// resolveWith hands a spec to a registered Resolver, which downloads (and
// verifies) into debs/<kind>/.
func (b *Builder) resolveWith(ctx context.Context, kind string, r Resolver, arg string, tm *timer) (*fetched, error) {
	f := &fetched{meta: map[string]string{}}
	tm.start("fetch")
	dl := filepath.Join(b.cacheDir(), dirDebs, kind)
	before := map[string]bool{}
	if ents, err := os.ReadDir(dl); err == nil {
		for _, e := range ents {
			before[e.Name()] = true
		}
	}
	debs, meta, err := r.Resolve(ctx, arg, dl)
	if err != nil {
		return f, fmt.Errorf("%s:%s: %w", kind, arg, err)
	}
	if len(debs) == 0 {
		return f, fmt.Errorf("%s:%s: resolver returned no packages", kind, arg)
	}
	for k, v := range meta {
		f.meta[k] = v
	}
	for _, d := range debs {
		inCache := filepath.Dir(d) == filepath.Clean(dl)
		switch {
		case inCache && !before[filepath.Base(d)]:
			f.fresh = append(f.fresh, d)
			f.downloaded = true
		case inCache:
			touch(d) // last use, for Prune; files elsewhere are not ours
		}
	}
	f.debs = debs
	return f, nil
}

// resolverKind is a spec kind served by a registered Resolver (ubuntu:,
// images/ubuntu): it downloads and verifies the debs; they make a
// deb-backed kernel layer.
type resolverKind struct {
	name string
	r    Resolver
}

func (k resolverKind) kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error) {
	f, err := b.resolveWith(ctx, k.name, k.r, sp.Args[0], tm)
	return b.debKernel(f, err, tm)
}
