package images

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
)

// ModInfo is what srutest reads from a module's .modinfo section.
type ModInfo struct {
	Name     string
	Depends  []string // module names, dashes folded to underscores
	Vermagic string
}

// ParseModinfo parses the NUL-separated key=value strings of a .modinfo
// section. Unknown keys are ignored; it never panics.
func ParseModinfo(sec []byte) ModInfo {
	var mi ModInfo
	for _, kv := range bytes.Split(sec, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "name":
			mi.Name = strings.ReplaceAll(v, "-", "_")
		case "vermagic":
			mi.Vermagic = v
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					mi.Depends = append(mi.Depends, strings.ReplaceAll(d, "-", "_"))
				}
			}
		}
	}
	return mi
}

// ReadModinfo reads the .modinfo section of an uncompressed module.
func ReadModinfo(ko []byte) (ModInfo, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return ModInfo{}, fmt.Errorf("not an ELF module: %w", err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return ModInfo{}, fmt.Errorf("no .modinfo section")
	}
	if s.Size > uint64(len(ko)) {
		return ModInfo{}, fmt.Errorf(".modinfo larger than the file")
	}
	b, err := s.Data()
	if err != nil {
		return ModInfo{}, fmt.Errorf("read .modinfo: %w", err)
	}
	return ParseModinfo(b), nil
}
