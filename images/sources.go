package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// validRelease keeps a kernel release usable as one path component.
func validRelease(r string) error {
	if r == "" || r == "." || r == ".." || strings.ContainsAny(r, "/\x00\n ") {
		return fmt.Errorf("%w: kernel release %q", ErrUnsafePath, r)
	}
	return nil
}

// buildKernelLayer writes vmlinuz and the needed modules of relDir (may be
// "") into out.
func buildKernelLayer(out, vmlinuz, release, relDir string, dep *ModDep, needed []string) (*kernelJSON, error) {
	if err := copyFile(vmlinuz, filepath.Join(out, fileKernel), 0o644); err != nil {
		return nil, err
	}
	kj := &kernelJSON{Release: release, Meta: map[string]string{}, Modules: []string{}, ModulePaths: []string{}}
	if relDir == "" {
		kj.Missing = append(kj.Missing, needed...)
		kj.Warnings = append(kj.Warnings, "kernel has no modules tree: needed modules must be built in")
		return kj, nil
	}
	ms, err := resolveModules(relDir, dep, needed)
	if err != nil {
		return nil, err
	}
	names, warns, err := installModules(relDir, filepath.Join(out, "lib", "modules", release), release, ms)
	if err != nil {
		return nil, err
	}
	kj.Modules = names
	for _, p := range ms.Paths {
		kj.ModulePaths = append(kj.ModulePaths, plainPath(p))
	}
	kj.Builtin, kj.Missing = ms.Builtin, ms.Missing
	kj.Warnings = warns
	// Only the base set is worth a warning: extra modules (a selftest
	// suite's config) are often absent on purpose, and the suite says so.
	if missing := baseOnly(ms.Missing); len(missing) > 0 {
		note := "neither modules nor in modules.builtin"
		if ms.Unknown {
			note = "not found as modules (no modules.builtin: they may be built in)"
		}
		kj.Warnings = append(kj.Warnings, fmt.Sprintf("needed modules %s: %s", strings.Join(missing, ","), note))
	}
	return kj, nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return &FileError{src, "read", err}
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return &FileError{src, "copy", err}
	}
	return out.Close()
}

// bzImageSource: one kernel file with everything built in.
func bzImageSource(p string) (*kernelSource, error) {
	rel, err := bzImageReleaseFile(p)
	if err != nil {
		return nil, err
	}
	if err := validRelease(rel); err != nil {
		return nil, &FileError{p, "read kernel header", err}
	}
	sum, err := sha256File(p)
	if err != nil {
		return nil, &FileError{p, "read kernel", err}
	}
	return &kernelSource{
		key:  keyOf("bzimage", sum),
		desc: "bzimage:" + p,
		meta: map[string]string{"kernel_sha256": sum},
		build: func(ctx context.Context, out string) (*kernelJSON, error) {
			if err := copyFile(p, filepath.Join(out, fileKernel), 0o644); err != nil {
				return nil, err
			}
			// Everything is built in by definition of the kind: no
			// modules, nothing missing.
			return &kernelJSON{Release: rel, Modules: []string{}, ModulePaths: []string{}, Meta: map[string]string{"modules": "built in"}}, nil
		},
	}, nil
}

// findRelDir locates lib/modules/<rel> for a dir: modules root, which is
// either the <rel> dir itself (it holds modules.dep or a kernel/ dir) or a
// root holding lib/modules/<rel>. want is the release from the kernel
// header ("" if unknown) and picks among several releases.
func findRelDir(root, want string) (string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return "", &FileError{root, "read modules root", err}
	}
	if !st.IsDir() {
		return "", &FileError{root, "read modules root", errors.New("not a directory")}
	}
	if isRelDir(root) {
		return root, nil
	}
	base := filepath.Join(root, "lib", "modules")
	ents, err := os.ReadDir(base)
	if err != nil {
		return "", &FileError{root, "read modules root", fmt.Errorf("neither a lib/modules/<release> dir (no modules.dep or kernel/ in it) nor a root holding lib/modules: %w", err)}
	}
	var rels []string
	for _, e := range ents {
		if e.IsDir() && isRelDir(filepath.Join(base, e.Name())) {
			rels = append(rels, e.Name())
		}
	}
	sort.Strings(rels)
	switch {
	case len(rels) == 1:
		return filepath.Join(base, rels[0]), nil
	case len(rels) == 0:
		return "", &FileError{base, "read modules root", errors.New("no <release> dir with modules.dep or kernel/ in it")}
	}
	for _, r := range rels {
		if r == want {
			return filepath.Join(base, r), nil
		}
	}
	return "", &FileError{base, "read modules root", fmt.Errorf("several releases %v and none matches the kernel's %q", rels, want)}
}

func isRelDir(p string) bool {
	for _, n := range []string{"modules.dep", "kernel", "modules.order", "modules.builtin"} {
		if _, err := os.Stat(filepath.Join(p, n)); err == nil {
			return true
		}
	}
	return false
}

// dirSource: vmlinuz + an installed modules tree (modules.dep required).
func dirSource(vmlinuz, root string, needed []string) (*kernelSource, error) {
	if _, err := os.Stat(vmlinuz); err != nil {
		return nil, &FileError{vmlinuz, "read kernel", err}
	}
	hdrRel, herr := bzImageReleaseFile(vmlinuz)
	if herr != nil && !errors.Is(herr, ErrNotBzImage) {
		return nil, herr
	}
	relDir, err := findRelDir(root, hdrRel)
	if err != nil {
		return nil, err
	}
	release := filepath.Base(relDir)
	if err := validRelease(release); err != nil {
		return nil, &FileError{relDir, "read modules root", err}
	}
	depFile := filepath.Join(relDir, "modules.dep")
	depBytes, err := readRegular(depFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &FileError{relDir, "read modules tree", ErrNoModulesDep}
	}
	if err != nil {
		return nil, &FileError{depFile, "read", err}
	}
	dep, err := ParseModulesDep(depBytes)
	if err != nil {
		return nil, &FileError{depFile, "parse", err}
	}
	// The key covers exactly what the layer is made of: the kernel, the
	// module metadata and the files of the closure.
	ms, err := resolveModules(relDir, dep, needed)
	if err != nil {
		return nil, err
	}
	parts := []string{"dir"}
	for _, p := range append([]string{vmlinuz, depFile, filepath.Join(relDir, "modules.builtin")}, ms.abs(relDir)...) {
		sum, err := sha256File(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(p, "modules.builtin") {
				sum = "none"
			} else {
				return nil, &FileError{p, "read", err}
			}
		}
		parts = append(parts, filepath.Base(p), sum)
	}
	meta := map[string]string{}
	var warn []string
	if herr == nil && hdrRel != release {
		warn = append(warn, fmt.Sprintf("kernel header says %s, modules dir is %s", hdrRel, release))
	}
	return &kernelSource{
		key:  keyOf(parts...),
		desc: "dir:" + vmlinuz,
		meta: meta,
		build: func(ctx context.Context, out string) (*kernelJSON, error) {
			kj, err := buildKernelLayer(out, vmlinuz, release, relDir, dep, needed)
			if err != nil {
				return nil, err
			}
			kj.Warnings = append(kj.Warnings, warn...)
			return kj, nil
		},
	}, nil
}

func (ms *moduleSet) abs(relDir string) []string {
	var out []string
	for _, p := range ms.Paths {
		out = append(out, filepath.Join(relDir, filepath.FromSlash(p)))
	}
	return out
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
