package host

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

// Kernel is one kernel a profile names, as a kernel spec srutest accepts.
type Kernel struct {
	Name     string   // matrix row name, e.g. "noble-ga-6.8.0-31"
	Spec     string   // e.g. "apt:linux-image-unsigned-6.8.0-31-generic,linux-modules-6.8.0-31-generic"
	Role     string   // "before" / "after" in the demo, else ""
	Suite    string   // the apt suite it comes from ("noble", "noble-updates"), when known
	Version  string   // package version, when known
	Release  string   // regexp the guest's uname -r must match
	Packages []string // the packages of Spec, in order
	// Expect is what the evidence showed on this kernel before (scenario →
	// FAIL); unlisted scenarios are expected to PASS.
	Expect map[string]string
}

// Source is the kernel source tree of the negative control: the host's own
// kernel source package, built as shipped (with the fix) and with the fix
// reverted.
type Source struct {
	Package string // e.g. "linux-source-6.8.0"
	Tarball string // where the package puts the tree
	Line    string // kernel line, e.g. "6.8"
	// Revert is the patch (relative to the repository root) that takes
	// 648de37416b3 out of this tree when applied in reverse.
	Revert string
}

// Profile is what srutest runs on this host.
type Profile struct {
	OS     OSRelease
	Distro Distro // "" when the host is neither Debian nor Ubuntu
	Series string
	// DemoFile is the checked-in demo plan (Debian); "" when the demo is
	// generated from Demo (Ubuntu).
	DemoFile string
	Demo     []Kernel
	// Boot are the kernels the end-to-end tests boot; Boot[0] is the
	// default one (small, fast).
	Boot []Kernel
	// TestKernel is the apt package whose vmlinuz scripts/test-kernel.sh
	// hands to the vm package's real-QEMU tests.
	TestKernel string
	Source     Source
	// Problems say what the host's apt sources lack for a choice; a profile
	// with problems still names what it could.
	Problems []string
}

// Supported reports whether srutest knows this host's distribution.
func (p *Profile) Supported() bool { return p.Distro != "" }

// Detect reads the real host: os-release and apt-cache.
func Detect(ctx context.Context) (*Profile, error) {
	o, _, err := ReadOSRelease()
	if err != nil {
		return nil, err
	}
	return Choose(ctx, o, AptCache{})
}

// Choose builds the profile of a host with os-release o whose apt answers
// as apt does.
func Choose(ctx context.Context, o OSRelease, apt Apt) (*Profile, error) {
	d, series := o.Distro()
	p := &Profile{OS: o, Distro: d, Series: series}
	switch d {
	case Debian:
		return p, chooseDebian(ctx, p, apt)
	case Ubuntu:
		if series == "" {
			return nil, fmt.Errorf("%s: os-release names no series (VERSION_CODENAME)", o)
		}
		return p, chooseUbuntu(ctx, p, apt)
	}
	return p, nil
}

// Debian: the checked-in demo and backport plans, as before there was a
// choice. The kernels are named by glob; the concrete packages only matter
// for the test kernel.
var (
	debian61      = regexp.MustCompile(`^linux-image-6\.1\.0-([0-9]+)-cloud-amd64-unsigned$`)
	debianKernels = []Kernel{
		{Name: "debian-6.1-cloud", Spec: "apt:linux-image-6.1.0-*-cloud-amd64-unsigned", Release: `^6\.1\.0-\d+-cloud-amd64$`},
		{Name: "debian-6.12-cloud", Spec: "apt:linux-image-6.12.*+deb12-cloud-amd64-unsigned", Release: `^6\.12\.\d+\+deb12-cloud-amd64$`},
		// The generic flavour: a bigger deb, virtio_net and friends as .ko.xz.
		{Name: "debian-6.12-generic", Spec: "apt:linux-image-6.12.*+deb12-amd64-unsigned", Release: `^6\.12\.\d+\+deb12-amd64$`},
	}
)

func chooseDebian(ctx context.Context, p *Profile, apt Apt) error {
	p.DemoFile = "demo.yaml"
	p.Demo = debianKernels[:2]
	p.Boot = debianKernels
	names, err := apt.PkgNames(ctx, "linux-image-6.1.0-")
	if err != nil {
		return err
	}
	bestABI := -1
	for _, n := range names {
		if m := debian61.FindStringSubmatch(n); m != nil {
			if abi, _ := strconv.Atoi(m[1]); abi > bestABI {
				bestABI, p.TestKernel = abi, n
			}
		}
	}
	if p.TestKernel == "" {
		p.Problems = append(p.Problems, "apt knows no linux-image-6.1.0-*-cloud-amd64-unsigned (bookworm main; apt-get update?)")
	}
	p.Source = Source{Package: "linux-source-6.12", Tarball: "/usr/src/linux-source-6.12.tar.xz", Line: "6.12",
		Revert: "kconfig/patches/648de37416b3.patch"}
	av, err := apt.Madison(ctx, p.Source.Package)
	if err != nil {
		return err
	}
	if len(av) == 0 {
		p.Problems = append(p.Problems, "apt knows no linux-source-6.12 (bookworm-security; apt-get update?)")
	}
	return nil
}
