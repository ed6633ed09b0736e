// What every kind's kernel layer is made of: the kernel file and the
// needed modules of its tree, under a release that is one safe path
// component.

package images

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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
