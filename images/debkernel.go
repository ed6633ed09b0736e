// The kernel layer of the deb-backed kinds (apt:, deb: and Resolver kinds
// such as ubuntu:): the .deb files they fetched, merged and keyed by their
// bytes.

package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// fetched is the outcome of the resolve and fetch phases of a deb-backed
// spec: local .deb files and what the build learnt on the way.
type fetched struct {
	debs       []string
	fresh      []string // files downloaded by this build (removed if it fails)
	meta       map[string]string
	downloaded bool
}

// debSource: the merged contents of one or more kernel debs, keyed by
// their bytes.
func (b *Builder) debSource(f *fetched) (*kernelSource, error) {
	var sums []string
	for _, d := range f.debs {
		s, err := sha256File(d)
		if err != nil {
			return nil, &FileError{d, "read deb", err}
		}
		sums = append(sums, s)
	}
	sort.Strings(sums)
	debs := append([]string(nil), f.debs...)
	var names []string
	for _, d := range debs {
		names = append(names, filepath.Base(d))
	}
	return &kernelSource{
		key:  keyOf(append([]string{"deb"}, sums...)...),
		desc: strings.Join(names, ","),
		meta: f.meta,
		build: func(ctx context.Context, out string) (*kernelJSON, error) {
			return buildFromDebs(ctx, b, debs, out)
		},
	}, nil
}

func buildFromDebs(ctx context.Context, b *Builder, debs []string, out string) (*kernelJSON, error) {
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(tmpRoot, "stage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	infos, err := ExtractDebs(debs, stage)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rels []string
	imageDeb := DebInfo{}
	for _, in := range infos {
		for _, r := range in.Kernels {
			rels = append(rels, r)
			imageDeb = in
		}
	}
	switch {
	case len(rels) == 0:
		return nil, &FileError{strings.Join(debs, ", "), "find kernel", ErrNoKernel}
	case len(rels) > 1:
		return nil, &FileError{strings.Join(debs, ", "), "find kernel", fmt.Errorf("several kernel images %v: give the debs of one kernel", rels)}
	}
	release := rels[0]
	if err := validRelease(release); err != nil {
		return nil, &FileError{imageDeb.Path, "find kernel", err}
	}
	relDir := filepath.Join(stage, "lib", "modules", release)
	vmlinuz := filepath.Join(stage, "boot", "vmlinuz-"+release)
	if _, err := os.Stat(relDir); err != nil {
		// The kernel looks for lib/modules/<the release baked into its
		// header>, not for the name the package gave the file (a kernel
		// repackaged under another name, e.g. the loopback Ubuntu archive).
		if hdr, herr := headerRelease(vmlinuz); herr == nil && validRelease(hdr) == nil {
			if _, serr := os.Stat(filepath.Join(stage, "lib", "modules", hdr)); serr == nil {
				release = hdr
				relDir = filepath.Join(stage, "lib", "modules", hdr)
			}
		}
	}
	if _, err := os.Stat(relDir); err != nil {
		others, _ := os.ReadDir(filepath.Join(stage, "lib", "modules"))
		if len(others) > 0 {
			var o []string
			for _, e := range others {
				o = append(o, e.Name())
			}
			return nil, &FileError{strings.Join(debs, ", "), "find modules", fmt.Errorf("modules for %v do not match kernel %s", o, release)}
		}
		relDir = ""
	}
	var dep *ModDep
	if relDir != "" {
		if b, err := os.ReadFile(filepath.Join(relDir, "modules.dep")); err == nil {
			if dep, err = ParseModulesDep(b); err != nil {
				return nil, &FileError{strings.Join(debs, ", "), "parse modules.dep", err}
			}
		}
	}
	kj, err := buildKernelLayer(out, vmlinuz, release, relDir, dep, b.neededModules())
	if err != nil {
		return nil, err
	}
	var pk []string
	for _, in := range infos {
		if in.Package != "" {
			pk = append(pk, in.Package+"="+in.Version)
		}
	}
	kj.Meta["packages"] = strings.Join(pk, " ")
	if imageDeb.Version != "" {
		kj.Meta["version"] = imageDeb.Version
		kj.Meta["package"] = imageDeb.Package
	}
	return kj, nil
}

// headerRelease reads the kernel release from a bzImage's boot header.
func headerRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	return BzImageRelease(head[:n])
}

// debKernel finishes a deb-backed kind: f, fetched (with err from fetching
// it), becomes the kernel source. The source carries f also beside an
// error, so that Build can remove files this build downloaded if they are
// bad.
func (b *Builder) debKernel(f *fetched, err error, tm *timer) (*kernelSource, error) {
	if err != nil {
		return &kernelSource{fetched: f}, err
	}
	tm.start("resolve")
	src, err := b.debSource(f)
	if err != nil {
		return &kernelSource{fetched: f}, err
	}
	src.fetched = f
	return src, nil
}
