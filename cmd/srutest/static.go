package main

import (
	"debug/elf"
	"fmt"
)

// checkStatic refuses a dynamically linked srutest: it becomes the guest's
// /init, where there is no libc to load.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; it must run as the guest's /init: rebuild with CGO_ENABLED=0 (make build)", path)
		}
	}
	return nil
}
