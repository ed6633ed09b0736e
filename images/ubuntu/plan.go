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

	// EndOfLife: the series is gone from the archive and was resolved
	// from the old-releases archive (Archive says which).
	EndOfLife bool

	// ModuleSource maps each of NeededModules to the package that ships
	// it when the Contents index says so; empty when the table decided.
	ModuleSource map[string][]string
	// ExtraReason says why linux-modules-extra is (not) included.
	ExtraReason string
	// ModuleSuffix is the module file suffix the series table expects
	// (".ko", ".ko.zst"); "" for unknown series.
	ModuleSuffix string
	Warnings     []string

	// transient: an optional index could not be used this time (the
	// kernel table decided instead); such a plan is not cached.
	transient bool
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
func (r *Resolver) Plan(ctx context.Context, q Query) (_ *Resolution, err error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("ubuntu query %s: %w", q, err)
	}
	res := &Resolution{Query: q, Archive: r.archiveFor(q), Dist: q.Dist(), Flavour: q.Flavour}
	f := r.fetcher(nil)
	distURL := res.Archive + "/dists/" + res.Dist

	inrel, err := f.getSmall(ctx, distURL+"/InRelease", 64<<20)
	if errors.Is(err, ErrNotFound) && r.OldReleases != "" && r.OldReleases != res.Archive {
		// An end-of-life series leaves the archive for old-releases.
		oldURL := r.OldReleases + "/dists/" + res.Dist
		old, oldErr := f.getSmall(ctx, oldURL+"/InRelease", 64<<20)
		if oldErr != nil {
			return nil, fmt.Errorf("fetch %s/InRelease: %w; not on the old-releases archive either: %v", distURL, err, oldErr)
		}
		res.EndOfLife = true
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s is end of life%s: %s is gone from %s, resolved from the old-releases archive %s",
			q.Series, eolSince(q.Series), res.Dist, res.Archive, r.OldReleases))
		res.Archive, distURL, inrel, err = r.OldReleases, oldURL, old, nil
	}
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
	// The same signed InRelease names the same indices: what was picked
	// from them last time is picked again (plancache.go).
	key := r.planKey(signed, res)
	if cached, ok := r.loadPlan(key); ok {
		cached.Signer = signer
		return cached, nil
	}
	defer func() {
		if err == nil && !res.transient {
			r.savePlan(key, res)
		}
	}()

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
		fd, err := r.openVerified(ctx, f, distURL, rel, fh)
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
// it, then the kernel-keyed ModuleLayouts table.
func (r *Resolver) decideExtra(ctx context.Context, f *fetcher, distURL string, rel *Release, res *Resolution, idx *Index) error {
	extraName := "linux-modules-extra-" + res.Release
	res.ModuleSuffix = moduleSuffixFor(res.Query.Series)
	_, extraListed := idx.Newest(extraName)
	need, reason := false, ""

	if r.Contents == ContentsAuto {
		bySource, used, err := r.contents(ctx, f, distURL, rel, res)
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
			need = len(inExtra) > 0
			if need {
				reason = "Contents index: " + strings.Join(inExtra, ", ") + " in " + extraName
			} else {
				reason = "Contents index: no needed module only in " + extraName
			}
			// Not a warning: Ubuntu builds virtio_net in (=y), and the image
			// build checks modules.builtin and warns about what is really
			// missing.
			if len(missing) > 0 {
				reason += fmt.Sprintf("; no module file for %s (built in, or missing: the image build checks modules.builtin)", strings.Join(missing, ", "))
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
		layout, known := LayoutFor(res.ABI, res.Flavour, res.Source)
		switch {
		case metaWants:
			need, reason = true, res.Meta+" depends on "+extraName
		case known && layout.NoExtra && extraListed:
			// The table is wrong for this kernel: the index has the
			// package, so take it rather than miss a module.
			need, reason = true, "kernel table says no "+extraName+" ("+layout.Why+"), but the index lists it: taking it"
		case known && layout.NoExtra:
			need, reason = false, "kernel table: "+layout.Why
		case known && len(layout.InExtra) > 0:
			need, reason = true, fmt.Sprintf("kernel table: %s in %s (%s)", strings.Join(layout.InExtra, ", "), extraName, layout.Why)
		case known:
			need, reason = false, "kernel table: every needed module in linux-modules for "+res.Release
		default:
			// Unknown kernel family: take the package when it exists, and
			// do not warn when it does not (many flavours have none).
			need, reason = extraListed, "no kernel-table row for "+res.Release+" (source "+res.Source+"): taking "+extraName+" when the index lists it"
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
// the size bound. used is false when there is none to read. The index is
// optional: when it cannot be fetched whole (the archive publishes Contents
// files out of step with InRelease, so a plain-URL fetch can end short at
// the same byte on every retry) or cannot be read, it adds a warning and
// reports used=false so the kernel table decides. Only the caller's context
// ending is an error.
func (r *Resolver) contents(ctx context.Context, f *fetcher, distURL string, rel *Release, res *Resolution) (map[string][]string, bool, error) {
	max := r.MaxContentsSize
	if max == 0 {
		max = 64 << 20
	}
	release := res.Release
	for _, name := range []string{"Contents-amd64.gz", "main/Contents-amd64.gz"} {
		fh, ok := rel.SHA256[name]
		if !ok {
			continue
		}
		if fh.Size > max {
			return nil, false, nil
		}
		m, err := r.scanContents(ctx, f, distURL, rel, fh, release)
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, err
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf("optional index %s/%s unusable, using the kernel table instead: %v", res.Dist, name, err))
			res.transient = true
			return nil, false, nil
		}
		return m, true, nil
	}
	return nil, false, nil
}

func (r *Resolver) scanContents(ctx context.Context, f *fetcher, distURL string, rel *Release, fh FileHash, release string) (map[string][]string, error) {
	fd, err := r.openVerified(ctx, f, distURL, rel, fh)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	zr, err := gzip.NewReader(fd)
	if err != nil {
		return nil, fmt.Errorf("decompress %s/%s: %w", distURL, fh.Path, err)
	}
	m, err := ScanContents(zr, []string{"linux-image-unsigned-" + release, "linux-image-" + release, "linux-modules-" + release, "linux-modules-extra-" + release}, NeededModules)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", distURL, fh.Path, err)
	}
	return m, nil
}

// eolSince is " since <month>" when the Series table knows it.
func eolSince(series string) string {
	if e := Series[series].EndOfLife; e != "" {
		return " since " + e
	}
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// verifiedFile is an index file fetched and verified against InRelease,
// open for reading; Close also releases what fetchVerified holds.
type verifiedFile struct {
	*os.File
	cleanup func()
}

func (v verifiedFile) Close() error {
	err := v.File.Close()
	v.cleanup()
	return err
}

// openVerified fetches fh (verified against rel) and opens it: the one way
// the Packages and Contents indexes are read.
func (r *Resolver) openVerified(ctx context.Context, f *fetcher, distURL string, rel *Release, fh FileHash) (verifiedFile, error) {
	file, cleanup, err := r.fetchVerified(ctx, f, distURL, rel, fh)
	if err != nil {
		return verifiedFile{}, err
	}
	fd, err := os.Open(file)
	if err != nil {
		cleanup()
		return verifiedFile{}, err
	}
	return verifiedFile{File: fd, cleanup: cleanup}, nil
}
