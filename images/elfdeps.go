package images

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// LibSearchDirs are where shared libraries are looked up for the guest, in
// order (Debian/Ubuntu amd64 multiarch layout; the dynamic loader in the
// guest searches the same directories with no ld.so.cache).
var LibSearchDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// ELFDeps is the run-time closure of a dynamically linked executable.
type ELFDeps struct {
	Interp string   // PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2 ("" for static)
	Libs   []string // absolute paths as found in the search dirs, each once, dependency order
}

// ReadELFDeps reads bin's PT_INTERP and DT_NEEDED entries and, recursively,
// those of every library found, searching dirs (default LibSearchDirs). A
// library that cannot be found is an error naming it and who needs it.
func ReadELFDeps(bin string, dirs []string) (*ELFDeps, error) {
	if dirs == nil {
		dirs = LibSearchDirs
	}
	d := &ELFDeps{}
	seen := map[string]bool{}
	var walk func(file string, top bool) error
	walk = func(file string, top bool) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("read ELF %s: %w", file, err)
		}
		defer f.Close()
		if top {
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					b := make([]byte, p.Filesz)
					if _, err := p.ReadAt(b, 0); err != nil {
						return fmt.Errorf("read PT_INTERP of %s: %w", file, err)
					}
					if n := len(b); n > 0 && b[n-1] == 0 {
						b = b[:n-1]
					}
					d.Interp = string(b)
				}
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("read DT_NEEDED of %s: %w", file, err)
		}
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			p := findLib(lib, dirs)
			if p == "" {
				return fmt.Errorf("%s needs %s: not found in %v", file, lib, dirs)
			}
			if err := walk(p, false); err != nil {
				return err
			}
			d.Libs = append(d.Libs, p)
		}
		return nil
	}
	if err := walk(bin, true); err != nil {
		return nil, err
	}
	return d, nil
}

func findLib(name string, dirs []string) string {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err == nil {
			return name
		}
		return ""
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
