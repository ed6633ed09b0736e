package ubuntu

import (
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Package is one binary package entry of a Packages index.
type Package struct {
	Name     string
	Version  string
	Source   string // source package name ("" when same as Name)
	Arch     string
	Filename string // relative to the archive root, e.g. pool/main/l/linux/….deb
	Size     int64
	SHA256   string
	Depends  string
	Role     string // set by the resolver: image, modules, modules-extra
}

// Index is a parsed Packages file: every version of every package, highest
// version first.
type Index struct {
	byName map[string][]Package
}

// ParsePackages parses a Packages index. Entries without Package, Version,
// Filename, Size or SHA256 are errors (the resolver would not be able to
// verify what it downloads); so are unsafe Filename paths.
func ParsePackages(data []byte) (*Index, error) {
	paras, err := ParseDeb822(data)
	if err != nil {
		return nil, fmt.Errorf("parse Packages: %w", err)
	}
	idx := &Index{byName: map[string][]Package{}}
	for i, p := range paras {
		pk := Package{
			Name:     p.Get("Package"),
			Version:  p.Get("Version"),
			Source:   p.Get("Source"),
			Arch:     p.Get("Architecture"),
			Filename: p.Get("Filename"),
			SHA256:   strings.ToLower(p.Get("SHA256")),
			Depends:  p.Get("Depends"),
		}
		if pk.Name == "" || pk.Version == "" {
			return nil, fmt.Errorf("parse Packages: entry %d lacks Package or Version", i+1)
		}
		if pk.Filename == "" || !safeRelPath(pk.Filename) {
			return nil, fmt.Errorf("parse Packages: %s %s: unsafe or missing Filename %q", pk.Name, pk.Version, pk.Filename)
		}
		size, err := strconv.ParseInt(p.Get("Size"), 10, 64)
		if err != nil || size <= 0 {
			return nil, fmt.Errorf("parse Packages: %s %s: bad Size %q", pk.Name, pk.Version, p.Get("Size"))
		}
		pk.Size = size
		if b, err := hex.DecodeString(pk.SHA256); err != nil || len(b) != 32 {
			return nil, fmt.Errorf("parse Packages: %s %s: bad or missing SHA256", pk.Name, pk.Version)
		}
		// "Source: linux-signed (6.8.0-87.88)" → "linux-signed".
		if s, _, ok := strings.Cut(pk.Source, " "); ok {
			pk.Source = s
		}
		idx.byName[pk.Name] = append(idx.byName[pk.Name], pk)
	}
	for _, v := range idx.byName {
		sort.SliceStable(v, func(i, j int) bool { return CompareVersions(v[i].Version, v[j].Version) > 0 })
	}
	return idx, nil
}

// safeRelPath reports whether p is a clean relative path that cannot leave
// the archive root.
func safeRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	c := path.Clean(p)
	return c == p && c != "." && !strings.HasPrefix(c, "../") && c != ".."
}

// Newest returns the highest version of name.
func (x *Index) Newest(name string) (Package, bool) {
	v := x.byName[name]
	if len(v) == 0 {
		return Package{}, false
	}
	return v[0], true
}

// Version returns name at exactly version.
func (x *Index) Version(name, version string) (Package, bool) {
	for _, p := range x.byName[name] {
		if p.Version == version {
			return p, true
		}
	}
	return Package{}, false
}

// Len is the number of distinct package names.
func (x *Index) Len() int { return len(x.byName) }

// KernelABIs lists the ABIs (e.g. 6.8.0-87) for which the index has a kernel
// image of flavour, signed or unsigned, newest first.
func (x *Index) KernelABIs(flavour string) []string {
	seen := map[string]bool{}
	var out []string
	for name := range x.byName {
		if abi, ok := imageABI(name, flavour); ok && !seen[abi] {
			seen[abi] = true
			out = append(out, abi)
		}
	}
	sort.Slice(out, func(i, j int) bool { return CompareVersions(out[i], out[j]) > 0 })
	return out
}

// imageABI extracts the ABI from linux-image-<abi>-<flavour> or
// linux-image-unsigned-<abi>-<flavour>.
func imageABI(name, flavour string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "linux-image-")
	if !ok {
		return "", false
	}
	rest = strings.TrimPrefix(rest, "unsigned-")
	abi, ok := strings.CutSuffix(rest, "-"+flavour)
	if !ok || !abiRe.MatchString(abi) {
		return "", false
	}
	return abi, true
}
