package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

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

func (ms *moduleSet) abs(relDir string) []string {
	var out []string
	for _, p := range ms.Paths {
		out = append(out, filepath.Join(relDir, filepath.FromSlash(p)))
	}
	return out
}

// dirKind is dir:<vmlinuz>,<modules-root>: a kernel and an installed
// modules tree on disk.
type dirKind struct{}

func (dirKind) kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error) {
	tm.start("resolve")
	return dirSource(sp.Args[0], sp.Args[1], b.neededModules())
}
