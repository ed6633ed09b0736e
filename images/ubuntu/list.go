package ubuntu

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// KernelEntry is one kernel ABI an archive pocket carries.
type KernelEntry struct {
	ABI     string // e.g. 6.8.0-87
	Version string // package version of the image, e.g. 6.8.0-87.88
	Pocket  string // the first pocket (in the order asked) that lists it
	Package string // image package name
	Source  string // source package of the image, e.g. linux
	Query   Query  // the abi= query that resolves exactly this kernel
}

// ListQuery selects the kernels ListKernels returns.
type ListQuery struct {
	Series  string
	Flavour string   // default generic
	Pockets []string // default release, updates
	// Source keeps only images built from this source package (default
	// linux: the series' own kernel; HWE lines are linux-hwe-<x.y>).
	Source  string
	Archive string
}

// ListKernels lists every kernel ABI of one kernel line that the archive
// still carries, verified like any resolve (InRelease signature → Packages
// SHA256), ordered by pocket (in q.Pockets order) and by version inside a
// pocket. An ABI listed by several pockets appears once, under the first.
func (r *Resolver) ListKernels(ctx context.Context, q ListQuery) ([]KernelEntry, error) {
	if q.Flavour == "" {
		q.Flavour = "generic"
	}
	if len(q.Pockets) == 0 {
		q.Pockets = []string{"release", "updates"}
	}
	if q.Source == "" {
		q.Source = "linux"
	}
	seen := map[string]bool{}
	var out []KernelEntry
	for _, pocket := range q.Pockets {
		pq := Query{Series: q.Series, Pocket: pocket, Flavour: q.Flavour, ABI: "0.0.0-0", Archive: q.Archive}
		if err := pq.Validate(); err != nil {
			return nil, fmt.Errorf("list %s kernels: %w", q.Series, err)
		}
		idx, _, err := r.packagesIndex(ctx, pq)
		if err != nil {
			return nil, err
		}
		var here []KernelEntry
		for _, abi := range idx.KernelABIs(q.Flavour) {
			if seen[abi] {
				continue
			}
			rel := abi + "-" + q.Flavour
			img, ok := idx.Newest("linux-image-unsigned-" + rel)
			if !ok {
				img, ok = idx.Newest("linux-image-" + rel)
			}
			if !ok || !fromSource(img, q.Source) {
				continue
			}
			seen[abi] = true
			eq := Query{Series: q.Series, Pocket: pocket, Flavour: q.Flavour, ABI: abi, Archive: q.Archive}
			here = append(here, KernelEntry{ABI: abi, Version: img.Version, Pocket: pocket, Package: img.Name, Source: img.Source, Query: eq})
		}
		sort.SliceStable(here, func(i, j int) bool { return CompareVersions(here[i].Version, here[j].Version) < 0 })
		out = append(out, here...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s kernel of flavour %s from source %s in %s (%s): %w",
			q.Series, q.Flavour, q.Source, r.archiveFor(Query{Archive: q.Archive}), strings.Join(q.Pockets, ", "), ErrNoPackage)
	}
	return out, nil
}

// fromSource says whether an image package was built from source: the
// unsigned image names its source directly (linux), a signed one names
// linux-signed(-<line>).
func fromSource(p Package, source string) bool {
	s := p.Source
	if s == "" {
		s = p.Name
	}
	return s == source || s == strings.Replace(source, "linux", "linux-signed", 1)
}

// packagesIndex fetches and verifies the InRelease of q's dist and its main
// amd64 Packages index. It returns the parsed index and the archive root.
func (r *Resolver) packagesIndex(ctx context.Context, q Query) (*Index, string, error) {
	archive := r.archiveFor(q)
	distURL := archive + "/dists/" + q.Dist()
	f := r.fetcher(nil)
	inrel, err := f.getSmall(ctx, distURL+"/InRelease", 64<<20)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s/InRelease: %w", distURL, err)
	}
	signed, _, err := VerifyInRelease(inrel, r.Keyring, r.Now())
	if err != nil {
		return nil, "", fmt.Errorf("verify %s/InRelease: %w", distURL, err)
	}
	rel, err := ParseRelease(signed)
	if err != nil {
		return nil, "", fmt.Errorf("%s/InRelease: %w", distURL, err)
	}
	if err := rel.CheckFor(q.Dist(), r.Now()); err != nil {
		return nil, "", fmt.Errorf("%s/InRelease: %w", distURL, err)
	}
	data, err := r.fetchIndex(ctx, f, distURL, rel, "main/binary-amd64/Packages")
	if err != nil {
		return nil, "", err
	}
	idx, err := ParsePackages(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s main/binary-amd64/Packages: %w", distURL, err)
	}
	return idx, archive, nil
}
