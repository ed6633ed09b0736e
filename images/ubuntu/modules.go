package ubuntu

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// NeededModules are the modules srutest's guest loads (issue 3/4): the
// virtio NIC, veth pairs, the socket-diag modules ss needs for TCP and
// MPTCP, and netem.
var NeededModules = []string{"virtio_net", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"}

// SeriesInfo is what srutest knows about one Ubuntu series. Where modules
// live is a property of the kernel, not of the series (noble carries 6.8,
// HWE 6.17 with linux-modules-extra and HWE 7.0 without): see
// ModuleLayouts. The reasoning is in docs/ubuntu-series.md.
type SeriesInfo struct {
	Version string // e.g. "24.04"
	// ModuleSuffix is the module file suffix in linux-modules*: ".ko" on
	// jammy (GA and HWE: Ubuntu's rules turn do_zstd_ko off when
	// DEB_DISTRIBUTION is jammy, and HWE kernels are built for the series
	// they are published in), ".ko.zst" from mantic (23.10) on.
	ModuleSuffix string
	// EndOfLife is the month the series left support ("" while
	// supported); its dists then move to the old-releases archive.
	EndOfLife string
}

// Series is the per-series table; a series missing here gets ".ko.zst".
var Series = map[string]SeriesInfo{
	"jammy":    {Version: "22.04", ModuleSuffix: ".ko"},
	"noble":    {Version: "24.04", ModuleSuffix: ".ko.zst"},
	"plucky":   {Version: "25.04", ModuleSuffix: ".ko.zst", EndOfLife: "2026-01"},
	"questing": {Version: "25.10", ModuleSuffix: ".ko.zst"},
	"resolute": {Version: "26.04", ModuleSuffix: ".ko.zst"},
}

// moduleSuffixFor is the module suffix a kernel built for series has.
func moduleSuffixFor(series string) string {
	if info, ok := Series[series]; ok {
		return info.ModuleSuffix
	}
	return ".ko.zst"
}

// ModuleLayout says where the NeededModules live for a family of kernels,
// used when the archive's Contents index cannot say it exactly. The first
// row of ModuleLayouts that matches a kernel decides.
type ModuleLayout struct {
	// Min and Below bound the upstream kernel version ("major.minor",
	// Min ≤ v < Below; "" leaves that side open).
	Min, Below string
	// Flavour and Source, when set, must equal the kernel's flavour and
	// source package (linux-signed* counts as its unsigned source).
	Flavour, Source string
	// NoExtra: no linux-modules-extra-<abi>-<flavour> is built for these
	// kernels; every module is in linux-modules.
	NoExtra bool
	// InExtra lists the NeededModules that live in linux-modules-extra.
	InExtra []string
	// Why is the evidence, quoted in the resolution's extra_reason.
	Why string
}

// ModuleLayouts is the kernel-keyed table (first match wins).
var ModuleLayouts = []ModuleLayout{
	{Min: "7.0", NoExtra: true,
		Why: "7.0 kernels (resolute, noble HWE) ship every module in linux-modules; the archive lists no linux-modules-extra-7.0.0-*"},
	{Min: "6.17", Below: "6.18", Source: "linux", NoExtra: true,
		Why: "questing's own 6.17 (source linux) has no linux-modules-extra (dropped from 25.10 on); noble's HWE 6.17 (linux-hwe-6.17) still has one"},
	{Flavour: "generic", InExtra: []string{"mptcp_diag"},
		Why: "generic inclusion list has no net/mptcp/ and INET_MPTCP_DIAG=m: mptcp_diag is in linux-modules-extra"},
}

// LayoutFor returns the first ModuleLayouts row matching a kernel of the
// given ABI (e.g. 6.8.0-87), flavour and source package.
func LayoutFor(abi, flavour, source string) (ModuleLayout, bool) {
	v, ok := majorMinor(abi)
	if !ok {
		return ModuleLayout{}, false
	}
	source = strings.Replace(source, "linux-signed", "linux", 1)
	for _, l := range ModuleLayouts {
		if l.Min != "" && compareMajorMinor(v, l.Min) < 0 {
			continue
		}
		if l.Below != "" && compareMajorMinor(v, l.Below) >= 0 {
			continue
		}
		if (l.Flavour != "" && l.Flavour != flavour) || (l.Source != "" && l.Source != source) {
			continue
		}
		return l, true
	}
	return ModuleLayout{}, false
}

// majorMinor returns "6.8" for "6.8.0-87".
func majorMinor(abi string) (string, bool) {
	parts := strings.SplitN(abi, ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	for _, p := range parts[:2] {
		if _, err := strconv.Atoi(p); err != nil {
			return "", false
		}
	}
	return parts[0] + "." + parts[1], true
}

// compareMajorMinor compares "a.b" versions numerically.
func compareMajorMinor(a, b string) int {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := 0; i < 2; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// moduleSuffixes are the module file names kmod accepts.
var moduleSuffixes = []string{".ko", ".ko.zst", ".ko.xz", ".ko.gz"}

// ModuleName returns the module name of a module file path
// ("kernel/net/mptcp/mptcp_diag.ko.zst" → "mptcp_diag"), or "" when the path
// is not a module. Dashes are normalised to underscores, as kmod does.
func ModuleName(p string) string {
	base := path.Base(p)
	for _, s := range moduleSuffixes {
		if n, ok := strings.CutSuffix(base, s); ok && n != "" {
			return strings.ReplaceAll(n, "-", "_")
		}
	}
	return ""
}

// ScanContents reads a Contents-<arch> index (one "<path> <section/pkg>[,…]"
// per line) and returns, for each wanted module, the packages among pkgs that
// ship a module file of that name under a lib/modules/ directory. Selecting by
// package rather than by directory keeps it right when a package's module
// directory is not <abi>-<flavour>. Lines that do not parse are skipped: the
// index is verified by hash before it is read, and old Contents files carry
// a free-text header.
func ScanContents(r io.Reader, pkgs, wanted []string) (map[string][]string, error) {
	want := map[string]bool{}
	for _, m := range wanted {
		want[m] = true
	}
	of := map[string]bool{}
	for _, p := range pkgs {
		of[p] = true
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("lib/modules/")) && !bytes.HasPrefix(line, []byte("usr/lib/modules/")) {
			continue
		}
		i := bytes.LastIndexAny(line, " \t")
		if i <= 0 {
			continue
		}
		file := string(bytes.TrimRight(line[:i], " \t"))
		name := ModuleName(file)
		if name == "" || !want[name] {
			continue
		}
		for _, loc := range strings.Split(string(line[i+1:]), ",") {
			pkg := path.Base(strings.TrimSpace(loc))
			if of[pkg] {
				out[name] = appendUnique(out[name], pkg)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Contents: %w", err)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
