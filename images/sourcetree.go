package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SourceResolver is implemented by Resolvers that can also fetch a kernel
// source tree from their archive: "source:<kind>:<arg>,patch=…" builds the
// tree the resolver names (e.g. source:ubuntu:noble-updates, Ubuntu's
// linux-source-6.8.0 in noble-updates). ResolveSource downloads the source
// package into dlDir, verified, and returns its path and metadata; meta
// "tarballs" lists the paths inside the package (space-separated, best
// first) where the tree's tarball may sit.
type SourceResolver interface {
	ResolveSource(ctx context.Context, arg, dlDir string) (deb string, meta map[string]string, err error)
}

// archiveSourceResolver is a SourceResolver that can also be pointed at
// another archive or mirror per call (ubuntu.Resolver).
type archiveSourceResolver interface {
	ResolveSourceFrom(ctx context.Context, arg, archive, dlDir string) (deb string, meta map[string]string, err error)
}

// SourcePackage fetches the source package spec names, <kind>:<arg> (e.g.
// ubuntu:noble-updates@6.8.0-151.151: Ubuntu's linux-source-6.8.0 at that
// version), through the kind's resolver, verified, into the cache
// (debs/<kind>-source/), and returns its path and the resolver's metadata.
// archive, when set, is the archive or mirror to fetch from instead of the
// resolver's. Selftest suites build from it.
func (b *Builder) SourcePackage(ctx context.Context, spec, archive string) (string, map[string]string, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || !isKindName(kind) {
		return "", nil, &SpecError{spec, "want <kind>:<arg>, e.g. ubuntu:noble-updates"}
	}
	dl := filepath.Join(b.cacheDir(), dirDebs, kind+"-source")
	var (
		deb  string
		meta map[string]string
		err  error
	)
	switch r := b.Resolvers[kind].(type) {
	case archiveSourceResolver:
		deb, meta, err = r.ResolveSourceFrom(ctx, arg, archive, dl)
	case SourceResolver:
		if archive != "" {
			return "", nil, &SpecError{spec, fmt.Sprintf("the %s resolver cannot fetch from another archive (%s)", kind, archive)}
		}
		deb, meta, err = r.ResolveSource(ctx, arg, dl)
	default:
		return "", nil, &SpecError{spec, fmt.Sprintf("no source-package resolver for %q", kind+":")}
	}
	if err != nil {
		return "", nil, fmt.Errorf("source package %s: %w", spec, err)
	}
	touch(deb)
	return deb, meta, nil
}

// dirTrees holds kernel tarballs taken out of source packages, one
// directory per package (named by its file name, which carries the version).
const dirTrees = "trees"

// resolveTree turns the tree of a source: spec that names a resolver
// ("ubuntu:noble") into a local tarball: the source package is fetched and
// verified by the resolver, the tarball inside it is copied out once and
// kept under <cache>/kbuild/trees/. Local trees and tarballs are left as
// they are (nil meta).
func (b *Builder) resolveTree(ctx context.Context, s *SourceSpec) (map[string]string, error) {
	kind, arg, ok := strings.Cut(s.Source, ":")
	if !ok || !isKindName(kind) {
		return nil, nil
	}
	r, ok := b.Resolvers[kind].(SourceResolver)
	if !ok {
		if _, err := os.Stat(s.Source); err == nil {
			return nil, nil // a local file whose name has a colon
		}
		return nil, &SpecError{s.Source, fmt.Sprintf("no source-tree resolver for %q", kind+":")}
	}
	deb, meta, err := r.ResolveSource(ctx, arg, filepath.Join(b.cacheDir(), dirDebs, kind+"-source"))
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", s.Source, err)
	}
	tarball, err := b.treeTarball(ctx, deb, strings.Fields(meta["tarballs"]))
	if err != nil {
		return nil, err
	}
	touch(deb)
	b.logf("source tree %s: %s", s.Source, tarball)
	s.Source = tarball
	return meta, nil
}

// treeTarball copies the first of names found in deb into the trees cache
// (once: temp file + rename, under the tree's lock) and returns its path.
func (b *Builder) treeTarball(ctx context.Context, deb string, names []string) (string, error) {
	dir := filepath.Join(b.cacheDir(), dirKbuild, dirTrees, strings.TrimSuffix(filepath.Base(deb), ".deb"))
	have := func() string {
		for _, n := range names {
			p := filepath.Join(dir, filepath.Base(n))
			if _, err := os.Stat(p); err == nil {
				touch(dir)
				return p
			}
		}
		return ""
	}
	if p := have(); p != "" {
		return p, nil
	}
	lock, err := b.lockTree(ctx, "unpacking", filepath.Join(dirTrees, filepath.Base(dir)))
	if err != nil {
		return "", err
	}
	defer lock.Unlock()
	if p := have(); p != "" { // the other process finished it
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var got string
	err = walkDeb(deb, debVisitor{entry: func(h *tar.Header, name string, r io.Reader) error {
		if got != "" || !want[name] || h.Typeflag != tar.TypeReg {
			return nil
		}
		dst := filepath.Join(dir, filepath.Base(name))
		tmp, err := os.CreateTemp(dir, ".tarball-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		n, err := io.Copy(tmp, r)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != h.Size {
			err = fmt.Errorf("%s: %w: %d of %d bytes", name, ErrTruncated, n, h.Size)
		}
		if err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return err
		}
		got = dst
		return nil
	}})
	if err != nil {
		return "", err
	}
	if got == "" {
		return "", &FileError{deb, "read source package", errors.New("no kernel tarball at " + strings.Join(names, " or "))}
	}
	return got, nil
}

// PatchError is a source: build stopped because a patch does not apply (or a
// revert does not revert) to the tree: the answer a backporter needs, not a
// harness failure. Rejects is the report build-kernel.sh wrote (patch's
// verdict per hunk and the rejected hunks).
type PatchError struct {
	Patch   string // patch file
	Revert  bool
	Tree    string // what the tree is: "linux-source-6.8.0 6.8.0-31.31" or its path
	Rejects string // path of rejects.txt
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("%s (rejected hunks: %s)", e.Verdict(), e.Rejects)
}

// Verdict is the answer in one line: "<patch> does not apply to <tree>".
func (e *PatchError) Verdict() string {
	verb := "does not apply to"
	if e.Revert {
		verb = "does not revert from"
	}
	return fmt.Sprintf("%s %s %s", filepath.Base(e.Patch), verb, e.Tree)
}

// patchError recognises build-kernel.sh's "patch does not apply" exit (3
// with <out>/rejects.txt) and names the patch from the report's first line.
func patchError(err error, out string, s SourceSpec) *PatchError {
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		return nil
	}
	rej := filepath.Join(out, "rejects.txt")
	data, rerr := os.ReadFile(rej)
	if rerr != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pe := &PatchError{Tree: s.Source, Rejects: rej}
	for _, p := range s.Patches {
		verb := "patch "
		if p.Revert {
			verb = "revert "
		}
		if strings.HasPrefix(first, verb+filepath.Base(p.File)+":") {
			pe.Patch, pe.Revert = p.File, p.Revert
		}
	}
	if pe.Patch == "" {
		return nil
	}
	return pe
}
