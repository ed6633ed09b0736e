package ubuntu

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ulikunitz/xz"
)

// Resolution is what a Query resolves to in the archive, before any .deb is
// downloaded.
type Resolution struct {
	Query   Query
	Archive string // archive root used
	Dist    string // e.g. noble-proposed
	Signer  string // fingerprint of the key that signed InRelease

	Meta        string // meta package followed ("" with abi=)
	MetaVersion string
	ABI         string // e.g. 6.8.0-87
	Flavour     string
	Release     string // kernel release / module dir name: <abi>-<flavour>
	Version     string // kernel package version, e.g. 6.8.0-87.88
	Source      string // source package, e.g. linux or linux-hwe-6.8

	Packages []Package // image, modules, optional modules-extra

	// ModuleSource maps each of NeededModules to the package that ships
	// it when the Contents index says so; empty when the table decided.
	ModuleSource map[string][]string
	// ExtraReason says why linux-modules-extra is (not) included.
	ExtraReason string
	// ModuleSuffix is the module file suffix the series table expects
	// (".ko", ".ko.zst"); "" for unknown series.
	ModuleSuffix string
	Warnings     []string
}

// TotalSize is the sum of the package sizes.
func (res *Resolution) TotalSize() int64 {
	var n int64
	for _, p := range res.Packages {
		n += p.Size
	}
	return n
}

// Plan resolves q against the archive without downloading any .deb: it
// fetches and verifies InRelease and the Packages index (and the Contents
// index, see ContentsMode) and picks the packages.
func (r *Resolver) Plan(ctx context.Context, q Query) (*Resolution, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("ubuntu query %s: %w", q, err)
	}
	res := &Resolution{Query: q, Archive: r.archiveFor(q), Dist: q.Dist(), Flavour: q.Flavour}
	f := r.fetcher(nil)
	distURL := res.Archive + "/dists/" + res.Dist

	inrel, err := f.getSmall(ctx, distURL+"/InRelease", 64<<20)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/InRelease: %w", distURL, err)
	}
	signed, signer, err := VerifyInRelease(inrel, r.Keyring, r.Now())
	if err != nil {
		return nil, fmt.Errorf("verify %s/InRelease: %w", distURL, err)
	}
	res.Signer = signer
	rel, err := ParseRelease(signed)
	if err != nil {
		return nil, fmt.Errorf("%s/InRelease: %w", distURL, err)
	}
	if err := rel.CheckFor(res.Dist, r.Now()); err != nil {
		return nil, fmt.Errorf("%s/InRelease: %w", distURL, err)
	}
	if err := r.checkReleaseDate(ctx, res.Archive, res.Dist, rel.Date); err != nil {
		return nil, fmt.Errorf("%s/InRelease: %w", distURL, err)
	}

	pkgData, err := r.fetchIndex(ctx, f, distURL, rel, "main/binary-amd64/Packages")
	if err != nil {
		return nil, err
	}
	idx, err := ParsePackages(pkgData)
	if err != nil {
		return nil, fmt.Errorf("%s main/binary-amd64/Packages: %w", distURL, err)
	}
	if err := r.pick(res, idx); err != nil {
		return nil, err
	}
	if err := r.decideExtra(ctx, f, distURL, rel, res, idx); err != nil {
		return nil, err
	}
	return res, nil
}

// indexVariants are the compressions tried, best first.
var indexVariants = []struct {
	ext    string
	decode func(io.Reader) (io.Reader, error)
}{
	{".xz", func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }},
	{".gz", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
	{"", func(r io.Reader) (io.Reader, error) { return r, nil }},
}

// maxIndex bounds a decompressed index (Packages for main is ~10 MiB).
const maxIndex = 1 << 30

// fetchIndex downloads the best-compressed variant of base (relative to
// dists/<dist>/) that the Release file lists, verifies it, and returns it
// decompressed.
func (r *Resolver) fetchIndex(ctx context.Context, f *fetcher, distURL string, rel *Release, base string) ([]byte, error) {
	for _, v := range indexVariants {
		fh, ok := rel.SHA256[base+v.ext]
		if !ok {
			continue
		}
		file, cleanup, err := r.fetchVerified(ctx, f, distURL, rel, fh)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		fd, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fd.Close()
		dec, err := v.decode(fd)
		if err != nil {
			return nil, fmt.Errorf("decompress %s/%s: %w", distURL, fh.Path, err)
		}
		data, err := io.ReadAll(io.LimitReader(dec, maxIndex+1))
		if err != nil {
			return nil, fmt.Errorf("decompress %s/%s: %w", distURL, fh.Path, err)
		}
		if len(data) > maxIndex {
			return nil, fmt.Errorf("%s/%s: decompressed index larger than %d bytes", distURL, fh.Path, maxIndex)
		}
		return data, nil
	}
	return nil, fmt.Errorf("%w: %s/InRelease lists no %s{.xz,.gz,}", ErrRelease, distURL, base)
}

// fetchVerified downloads one file listed in the Release file into the
// cache (content-addressed by SHA256; by-hash URL first when offered) and
// returns its path and a cleanup for the no-cache case.
func (r *Resolver) fetchVerified(ctx context.Context, f *fetcher, distURL string, rel *Release, fh FileHash) (string, func(), error) {
	dir := r.CacheDir
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "srutest-ubuntu-index-")
		if err != nil {
			return "", nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	} else {
		dir = filepath.Join(dir, "ubuntu-index")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("index cache: %w", err)
		}
	}
	dst := filepath.Join(dir, fh.SHA256)
	plain := distURL + "/" + fh.Path
	var err error
	if rel.AcquireByHash {
		byHash := distURL + "/" + path.Dir(fh.Path) + "/by-hash/SHA256/" + fh.SHA256
		err = f.download(ctx, byHash, dst, fh.Size, fh.SHA256)
		if errors.Is(err, ErrNotFound) {
			err = f.download(ctx, plain, dst, fh.Size, fh.SHA256)
		}
	} else {
		err = f.download(ctx, plain, dst, fh.Size, fh.SHA256)
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("fetch %s: %w", plain, err)
	}
	return dst, cleanup, nil
}

// pick chooses ABI, image and modules packages.
func (r *Resolver) pick(res *Resolution, idx *Index) error {
	q := res.Query
	abi := q.ABI
	if q.Meta != "" {
		meta, ok := idx.Newest(q.Meta)
		if !ok {
			hint := ""
			if q.Pocket == "proposed" {
				hint = "; -proposed lists only what was uploaded there, and the meta package may not have been: pass abi=<abi> instead of meta="
			}
			if abis := idx.KernelABIs(q.Flavour); len(abis) > 0 {
				hint += fmt.Sprintf("; %s kernels of flavour %s in %s: %s", "available", q.Flavour, res.Dist, strings.Join(abis, ", "))
			}
			return fmt.Errorf("meta package %s is not in %s main/binary-amd64: %w%s", q.Meta, res.Dist, ErrNoPackage, hint)
		}
		res.Meta, res.MetaVersion = meta.Name, meta.Version
		rels, err := ParseRelations(meta.Depends)
		if err != nil {
			return fmt.Errorf("%s %s Depends: %w", meta.Name, meta.Version, err)
		}
		for _, clause := range rels {
			for _, alt := range clause {
				if a, ok := imageABI(alt.Name, q.Flavour); ok && abi == "" {
					abi = a
				}
			}
		}
		if abi == "" {
			return fmt.Errorf("meta package %s %s: no linux-image-<abi>-%s in Depends %q: %w", meta.Name, meta.Version, q.Flavour, meta.Depends, ErrNoPackage)
		}
	}
	res.ABI = abi
	res.Release = abi + "-" + q.Flavour

	img, ok := idx.Newest("linux-image-unsigned-" + res.Release)
	if !ok {
		img, ok = idx.Newest("linux-image-" + res.Release)
	}
	if !ok {
		hint := ""
		if abis := idx.KernelABIs(q.Flavour); len(abis) > 0 {
			hint = "; available: " + strings.Join(abis, ", ")
		}
		return fmt.Errorf("no linux-image(-unsigned)-%s in %s: %w%s", res.Release, res.Dist, ErrNoPackage, hint)
	}
	img.Role = "image"
	res.Version, res.Source = img.Version, img.Source
	if res.Source == "" {
		res.Source = img.Name
	}
	mods, err := sameUpload(idx, "linux-modules-"+res.Release, img.Version, res)
	if err != nil {
		return err
	}
	mods.Role = "modules"
	res.Packages = []Package{img, mods}
	return nil
}

// sameUpload returns name at the image's version, or its newest version
// with a warning when the versions differ (signed image from linux-signed
// can lag or lead the modules by a rebuild).
func sameUpload(idx *Index, name, version string, res *Resolution) (Package, error) {
	if p, ok := idx.Version(name, version); ok {
		return p, nil
	}
	p, ok := idx.Newest(name)
	if !ok {
		return Package{}, fmt.Errorf("%s is not in %s: %w", name, res.Dist, ErrNoPackage)
	}
	res.Warnings = append(res.Warnings, fmt.Sprintf("%s is at %s, image at %s", name, p.Version, version))
	return p, nil
}

// decideExtra adds linux-modules-extra when a needed module lives there.
// Exact source: the Contents index; fallback: the meta package asking for
// it, then the per-series table.
func (r *Resolver) decideExtra(ctx context.Context, f *fetcher, distURL string, rel *Release, res *Resolution, idx *Index) error {
	extraName := "linux-modules-extra-" + res.Release
	info, known := Series[res.Query.Series]
	res.ModuleSuffix = info.ModuleSuffix
	need, reason := false, ""

	if r.Contents == ContentsAuto {
		bySource, used, err := r.contents(ctx, f, distURL, rel, res.Release)
		if err != nil {
			return err
		}
		if used {
			res.ModuleSource = bySource
			var inExtra, missing []string
			for _, m := range NeededModules {
				pk := bySource[m]
				switch {
				case len(pk) == 0:
					missing = append(missing, m)
				case contains(pk, extraName) && !contains(pk, "linux-modules-"+res.Release):
					inExtra = append(inExtra, m)
				}
			}
			sort.Strings(inExtra)
			if len(missing) > 0 {
				res.Warnings = append(res.Warnings, fmt.Sprintf("Contents lists no module file for %s under lib/modules/%s (built in, or missing)", strings.Join(missing, ", "), res.Release))
			}
			need = len(inExtra) > 0
			if need {
				reason = "Contents index: " + strings.Join(inExtra, ", ") + " in " + extraName
			} else {
				reason = "Contents index: no needed module only in " + extraName
			}
		}
	}
	if reason == "" {
		metaWants := false
		if res.Meta != "" {
			if m, ok := idx.Newest(res.Meta); ok {
				rels, _ := ParseRelations(m.Depends)
				for _, c := range rels {
					for _, a := range c {
						metaWants = metaWants || a.Name == extraName
					}
				}
			}
		}
		switch {
		case metaWants:
			need, reason = true, res.Meta+" depends on "+extraName
		case known && len(info.InExtra) > 0:
			need, reason = true, fmt.Sprintf("series table: %s in %s on %s", strings.Join(info.InExtra, ", "), extraName, res.Query.Series)
		case known:
			need, reason = false, "series table: every needed module in linux-modules on "+res.Query.Series
		default:
			need, reason = true, "unknown series "+res.Query.Series+": taking "+extraName+" when present"
		}
	}
	res.ExtraReason = reason
	if !need {
		return nil
	}
	extra, err := sameUpload(idx, extraName, res.Version, res)
	if errors.Is(err, ErrNoPackage) {
		if res.ModuleSource != nil {
			return fmt.Errorf("%s: %w", reason, err)
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s not in %s (%s); modules it should hold may be missing", extraName, res.Dist, reason))
		return nil
	}
	if err != nil {
		return err
	}
	extra.Role = "modules-extra"
	res.Packages = append(res.Packages, extra)
	return nil
}

// contents reads the Contents index when the Release file lists one within
// the size bound. used is false when there is none to read.
func (r *Resolver) contents(ctx context.Context, f *fetcher, distURL string, rel *Release, release string) (map[string][]string, bool, error) {
	max := r.MaxContentsSize
	if max == 0 {
		max = 64 << 20
	}
	for _, name := range []string{"Contents-amd64.gz", "main/Contents-amd64.gz"} {
		fh, ok := rel.SHA256[name]
		if !ok {
			continue
		}
		if fh.Size > max {
			return nil, false, nil
		}
		file, cleanup, err := r.fetchVerified(ctx, f, distURL, rel, fh)
		if err != nil {
			return nil, false, err
		}
		defer cleanup()
		fd, err := os.Open(file)
		if err != nil {
			return nil, false, err
		}
		defer fd.Close()
		zr, err := gzip.NewReader(fd)
		if err != nil {
			return nil, false, fmt.Errorf("decompress %s/%s: %w", distURL, name, err)
		}
		m, err := ScanContents(zr, []string{"linux-image-unsigned-" + release, "linux-image-" + release, "linux-modules-" + release, "linux-modules-extra-" + release}, NeededModules)
		if err != nil {
			return nil, false, fmt.Errorf("%s/%s: %w", distURL, name, err)
		}
		return m, true, nil
	}
	return nil, false, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
