package ubuntu

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Resolve implements the images package's Resolver interface for "ubuntu:"
// specs: it parses arg (see ParseArg), plans, and downloads every package
// into dlDir, verified. It returns the .deb paths (image first) and metadata:
// series, pocket, dist, flavour, abi, release, version, source, meta,
// meta_version, archive, signer, packages ("name=version …"), extra_reason,
// notes (warnings joined by "; "), end_of_life.
func (r *Resolver) Resolve(ctx context.Context, arg, dlDir string) ([]string, map[string]string, error) {
	q, err := ParseArg(arg)
	if err != nil {
		return nil, nil, err
	}
	res, err := r.Plan(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	debs, err := r.Download(ctx, res, dlDir)
	if err != nil {
		return nil, nil, err
	}
	return debs, res.MetaMap(), nil
}

// MetaMap flattens the resolution into the string map the images layer keeps.
func (res *Resolution) MetaMap() map[string]string {
	var pk []string
	for _, p := range res.Packages {
		pk = append(pk, p.Name+"="+p.Version)
	}
	m := map[string]string{
		"series":       res.Query.Series,
		"pocket":       res.Query.Pocket,
		"dist":         res.Dist,
		"flavour":      res.Flavour,
		"abi":          res.ABI,
		"release":      res.Release,
		"version":      res.Version,
		"source":       res.Source,
		"archive":      res.Archive,
		"signer":       res.Signer,
		"packages":     strings.Join(pk, " "),
		"extra_reason": res.ExtraReason,
	}
	if res.Meta != "" {
		m["meta"], m["meta_version"] = res.Meta, res.MetaVersion
	}
	if res.EndOfLife {
		m["end_of_life"] = "yes"
	}
	// Always set, even empty: the images layer lays this spec's facts over
	// a cached kernel layer's, so a note from an earlier resolution must be
	// overwritten, not inherited.
	m["notes"] = strings.Join(res.Warnings, "; ")
	return m
}

// Download fetches the planned packages into dlDir (created if needed), in
// parallel, each verified against the SHA256 and size of the signed index
// before it appears under its final name. Files already present and valid
// are not fetched again. It returns the paths in res.Packages order.
func (r *Resolver) Download(ctx context.Context, res *Resolution, dlDir string) ([]string, error) {
	if err := os.MkdirAll(dlDir, 0o755); err != nil {
		return nil, fmt.Errorf("download dir: %w", err)
	}
	p := newProgress(r.Progress, "ubuntu "+res.Release, res.TotalSize())
	f := r.fetcher(p)
	paths := make([]string, len(res.Packages))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.Parallel, 1))
	for i, pk := range res.Packages {
		base := path.Base(pk.Filename)
		if !strings.HasSuffix(base, ".deb") || base != filepath.Base(base) {
			return nil, fmt.Errorf("%s: Filename %q is not a .deb", pk.Name, pk.Filename)
		}
		paths[i] = filepath.Join(dlDir, base)
	}
	for i, pk := range res.Packages {
		dst := paths[i]
		url := res.Archive + "/" + pk.Filename
		g.Go(func() error {
			if err := f.download(gctx, url, dst, pk.Size, pk.SHA256); err != nil {
				return fmt.Errorf("download %s %s: %w", pk.Name, pk.Version, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	p.finish()
	return paths, nil
}
