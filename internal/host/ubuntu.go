package host

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// ubuntuMeta is the meta package whose Depends name a series' GA-line kernel
// ABI (linux-image-<abi>-generic): its version in the release pocket is the
// kernel the series shipped with, its newest version the kernel it has now.
const ubuntuMeta = "linux-image-virtual"

// ubuntuBefore is what the evidence showed on a series' GA kernel from the
// release pocket, before the fix; unlisted series and scenarios are expected
// to PASS, and a cell that comes out otherwise says so (exit code 1).
// noble: 6.8.0-31 measured 2026-11-29 (docs/ubuntu-series.md). jammy:
// 5.15.0-25 measured 2026-11-30 by `make demo` in a fresh 22.04 root: its
// first subflow is created eagerly (connect, fallback PASS), the MP_JOIN
// subflow gets no keepalive (join FAIL); jammy.yaml's history agrees.
var ubuntuBefore = map[string]map[string]string{
	"noble": {"connect": "FAIL", "fallback": "FAIL", "join": "FAIL"},
	"jammy": {"join": "FAIL"},
}

// ubuntuRevert names, per linux-source version, the patch that takes
// 648de37416b3 (as backported to that tree) out of Ubuntu's linux-source
// when applied in reverse; versions not listed use the upstream commit as
// rebased on 6.12, which applies to noble's linux-source-6.8.0 (6.8.0-151,
// which carries the backport) at offset -12 (checked 2026-11-30).
var ubuntuRevert = map[string]string{}

var (
	abiOfImage  = regexp.MustCompile(`^linux-image-(\d+\.\d+\.\d+-\d+)-generic$`)
	sourceOfPkg = regexp.MustCompile(`^linux-source-(\d+\.\d+)(\.\d+)?$`)
)

func chooseUbuntu(ctx context.Context, p *Profile, apt Apt) error {
	avail, err := apt.Madison(ctx, ubuntuMeta)
	if err != nil {
		return err
	}
	stanzas, err := apt.Show(ctx, ubuntuMeta)
	if err != nil {
		return err
	}
	var ga, latest *Avail
	for i := range avail {
		if avail[i].Suite == p.Series {
			ga = &avail[i]
		}
	}
	if n, ok := newest(avail); ok {
		latest = &n
	}
	switch {
	case latest == nil:
		p.Problems = append(p.Problems, fmt.Sprintf("apt knows no %s: this host's apt sources carry no %s kernel (apt-get update?)", ubuntuMeta, p.Series))
	case ga == nil:
		p.Problems = append(p.Problems, fmt.Sprintf("apt knows %s only from %s, not from the %s release pocket: add suite %q to the apt sources for the GA kernel", ubuntuMeta, latest.Suite, p.Series, p.Series))
	}
	var kernels []Kernel
	for _, pick := range []struct {
		a    *Avail
		role string
		kind string
	}{{ga, "before", "ga"}, {latest, "after", "newest"}} {
		if pick.a == nil {
			continue
		}
		abi := ""
		for _, st := range stanzas {
			if st["Version"] != pick.a.Version {
				continue
			}
			for _, d := range DependsNames(st["Depends"]) {
				if m := abiOfImage.FindStringSubmatch(d); m != nil {
					abi = m[1]
				}
			}
		}
		if abi == "" {
			p.Problems = append(p.Problems, fmt.Sprintf("%s %s (%s) depends on no linux-image-<abi>-generic", ubuntuMeta, pick.a.Version, pick.a.Suite))
			continue
		}
		k, err := ubuntuKernel(ctx, apt, p.Series, abi, pick.kind)
		if err != nil {
			return err
		}
		if k == nil {
			p.Problems = append(p.Problems, fmt.Sprintf("apt knows no linux-image(-unsigned)-%s-generic or linux-modules-%s-generic", abi, abi))
			continue
		}
		k.Role, k.Suite, k.Version = pick.role, pick.a.Suite, pick.a.Version
		if pick.role == "before" {
			k.Expect = ubuntuBefore[p.Series]
		}
		kernels = append(kernels, *k)
	}
	if len(kernels) == 2 && kernels[0].Spec == kernels[1].Spec {
		// No -updates in the sources, or nothing newer yet: one row, no
		// before → after.
		p.Problems = append(p.Problems, fmt.Sprintf("the newest %s kernel apt knows is the GA one (%s): the demo has no after kernel (is %s-updates in the apt sources?)", p.Series, kernels[0].Version, p.Series))
		kernels = kernels[:1]
	}
	p.Demo = kernels
	if len(kernels) > 0 {
		newestK := kernels[len(kernels)-1]
		newestK.Role, newestK.Expect = "", nil
		p.Boot = []Kernel{newestK}
		p.TestKernel = newestK.Packages[0]
	}
	return chooseUbuntuSource(ctx, p, apt)
}

// ubuntuKernel names the packages of the generic kernel with ABI abi that apt
// knows: the unsigned image (else the signed one), linux-modules, and
// linux-modules-extra where the series has it (mptcp_diag lives there; from
// 25.10 on there is no extra package). nil when apt lacks the image or modules.
func ubuntuKernel(ctx context.Context, apt Apt, series, abi, kind string) (*Kernel, error) {
	want := []string{
		"linux-image-unsigned-" + abi + "-generic",
		"linux-image-" + abi + "-generic",
		"linux-modules-" + abi + "-generic",
		"linux-modules-extra-" + abi + "-generic",
	}
	avail, err := apt.Madison(ctx, want...)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, a := range avail {
		known[a.Package] = true
	}
	var pkgs []string
	switch {
	case known[want[0]]:
		pkgs = append(pkgs, want[0])
	case known[want[1]]:
		pkgs = append(pkgs, want[1])
	default:
		return nil, nil
	}
	if !known[want[2]] {
		return nil, nil
	}
	pkgs = append(pkgs, want[2])
	if known[want[3]] {
		pkgs = append(pkgs, want[3])
	}
	return &Kernel{
		Name:     series + "-" + kind + "-" + abi,
		Spec:     "apt:" + strings.Join(pkgs, ","),
		Release:  "^" + regexp.QuoteMeta(abi+"-generic") + "$",
		Packages: pkgs,
	}, nil
}

// chooseUbuntuSource follows the linux-source meta package to the series'
// kernel source package (linux-source-6.8.0 on noble), which installs
// /usr/src/linux-source-<v>/linux-source-<v>.tar.bz2.
func chooseUbuntuSource(ctx context.Context, p *Profile, apt Apt) error {
	stanzas, err := apt.Show(ctx, "linux-source")
	if err != nil {
		return err
	}
	best := ""
	bestVer := ""
	for _, st := range stanzas {
		for _, d := range DependsNames(st["Depends"]) {
			if sourceOfPkg.MatchString(d) && (best == "" || compare(st["Version"], bestVer) > 0) {
				best, bestVer = d, st["Version"]
			}
		}
	}
	if best == "" {
		p.Problems = append(p.Problems, "apt knows no linux-source meta package naming linux-source-<version> (universe? apt-get update?)")
		return nil
	}
	v := strings.TrimPrefix(best, "linux-source-")
	m := sourceOfPkg.FindStringSubmatch(best)
	p.Source = Source{
		Package: best,
		Tarball: "/usr/src/" + best + "/" + best + ".tar.bz2",
		Line:    m[1],
		Revert:  "kconfig/patches/648de37416b3.patch",
	}
	if r, ok := ubuntuRevert[v]; ok {
		p.Source.Revert = r
	}
	return nil
}
