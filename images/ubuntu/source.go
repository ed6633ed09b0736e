package ubuntu

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SourceQuery selects a kernel source package (linux-source-<x.y.z>, the
// kernel tree as a tarball under /usr/src) in an Ubuntu archive. It is the
// structured form of the tree argument of "source:ubuntu:…" specs.
type SourceQuery struct {
	Series  string // e.g. noble
	Pocket  string // release (the GA tree), updates, security, proposed
	Version string // exact package version, e.g. 6.8.0-31.31; "" = newest in the pocket
	Archive string
}

var (
	sourceArgRe = regexp.MustCompile(`^([a-z][a-z0-9]*)(?:-([a-z]+))?(?:@([0-9][0-9A-Za-z.+~-]*))?$`)
	// linux-source-6.8.0: a kernel tree; the series' own is the one built
	// from source package linux (pickSource).
	linuxSourceRe = regexp.MustCompile(`^linux-source-[0-9]+\.[0-9]+\.[0-9]+$`)
)

// ParseSourceArg parses "<series>[-<pocket>][@<version>]", e.g. noble (the
// release pocket: the tree the series shipped with), noble-updates,
// noble-updates@6.8.0-151.151.
func ParseSourceArg(arg string) (SourceQuery, error) {
	m := sourceArgRe.FindStringSubmatch(arg)
	if m == nil {
		return SourceQuery{}, fmt.Errorf("ubuntu source %q: want <series>[-<pocket>][@<version>], e.g. noble, noble-updates@6.8.0-151.151", arg)
	}
	q := SourceQuery{Series: m[1], Pocket: m[2], Version: m[3]}
	if q.Pocket == "" {
		q.Pocket = "release"
	}
	if err := (Query{Series: q.Series, Pocket: q.Pocket, Flavour: "generic", ABI: "0.0.0-0"}).Validate(); err != nil {
		return SourceQuery{}, fmt.Errorf("ubuntu source %q: %w", arg, err)
	}
	return q, nil
}

// String renders q in the ParseSourceArg format.
func (q SourceQuery) String() string {
	s := q.Series
	if q.Pocket != "release" && q.Pocket != "" {
		s += "-" + q.Pocket
	}
	if q.Version != "" {
		s += "@" + q.Version
	}
	return s
}

// SourceTarball is where the kernel tarball sits inside a linux-source deb.
func SourceTarball(pkg string) []string {
	// Ubuntu ships /usr/src/<pkg>/<pkg>.tar.bz2 and a symlink to it at
	// /usr/src/<pkg>.tar.bz2; the file itself is what to read.
	var out []string
	for _, ext := range []string{".tar.bz2", ".tar.xz", ".tar.gz", ".tar.zst"} {
		out = append(out, "usr/src/"+pkg+"/"+pkg+ext)
	}
	return out
}

// ResolveSource finds the linux-source package q asks for and downloads it
// into dlDir, verified (InRelease signature → Packages SHA256 → .deb
// SHA256). It returns the .deb path and metadata: series, pocket, dist,
// package, version, archive, tarballs (candidate paths inside the deb).
func (r *Resolver) ResolveSource(ctx context.Context, arg, dlDir string) (string, map[string]string, error) {
	return r.ResolveSourceFrom(ctx, arg, "", dlDir)
}

// ResolveSourceFrom is ResolveSource from archive (a mirror URL; "" = the
// resolver's), so a selftest tree comes from the archive its plan's
// kernels come from.
func (r *Resolver) ResolveSourceFrom(ctx context.Context, arg, archive, dlDir string) (string, map[string]string, error) {
	q, err := ParseSourceArg(arg)
	if err != nil {
		return "", nil, err
	}
	q.Archive = archive
	pq := Query{Series: q.Series, Pocket: q.Pocket, Flavour: "generic", ABI: "0.0.0-0", Archive: q.Archive}
	idx, archive, err := r.packagesIndex(ctx, pq)
	if err != nil {
		return "", nil, err
	}
	pk, err := pickSource(idx, q, pq.Dist())
	if err != nil {
		return "", nil, err
	}
	res := &Resolution{Query: pq, Archive: archive, Dist: pq.Dist(), Release: pk.Name, Version: pk.Version, Packages: []Package{pk}}
	debs, err := r.Download(ctx, res, dlDir)
	if err != nil {
		return "", nil, err
	}
	return debs[0], map[string]string{
		"series": q.Series, "pocket": q.Pocket, "dist": pq.Dist(), "package": pk.Name,
		"version": pk.Version, "archive": archive, "source_tree": pk.Name + " " + pk.Version,
		"tarballs": strings.Join(SourceTarball(pk.Name), " "),
	}, nil
}

// pickSource chooses the series' linux-source-<x.y.z> package: at
// q.Version when given, else the newest. A pocket may carry more than one
// such name: jammy-updates has linux-source-6.5.0 too, built from the HWE
// source package linux-hwe-6.5. The series' own tree is the one built from
// the source package "linux", so when any name is, only those count.
func pickSource(idx *Index, q SourceQuery, dist string) (Package, error) {
	var names, own []string
	for name := range idx.byName {
		if linuxSourceRe.MatchString(name) {
			names = append(names, name)
			if pk := idx.byName[name]; len(pk) > 0 && pk[0].Source == "linux" {
				own = append(own, name)
			}
		}
	}
	if len(own) > 0 {
		names = own
	}
	sort.Strings(names)
	if len(names) == 0 {
		return Package{}, fmt.Errorf("no linux-source-<x.y.z> package in %s main/binary-amd64: %w", dist, ErrNoPackage)
	}
	var best Package
	for _, n := range names {
		var p Package
		var ok bool
		if q.Version != "" {
			p, ok = idx.Version(n, q.Version)
		} else {
			p, ok = idx.Newest(n)
		}
		if ok && (best.Name == "" || CompareVersions(p.Version, best.Version) > 0) {
			best = p
		}
	}
	if best.Name == "" {
		var have []string
		for _, n := range names {
			for _, p := range idx.byName[n] {
				have = append(have, p.Version)
			}
		}
		return Package{}, fmt.Errorf("%s at version %s is not in %s (have %s): %w", strings.Join(names, "/"), q.Version, dist, strings.Join(have, ", "), ErrNoPackage)
	}
	if base := path.Base(best.Filename); base != filepath.Base(base) || !strings.HasSuffix(base, ".deb") {
		return Package{}, fmt.Errorf("%s: Filename %q is not a .deb", best.Name, best.Filename)
	}
	return best, nil
}
