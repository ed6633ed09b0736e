package ubuntu

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// NeededModules are the modules srutest's guest loads (issue 3/4): the
// virtio NIC, veth pairs, the socket-diag modules ss needs for TCP and
// MPTCP, and netem.
var NeededModules = []string{"virtio_net", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"}

// SeriesInfo is what srutest believes about one Ubuntu series' generic
// kernel packaging, used when the archive has no Contents index to say it
// exactly. The reasoning is in docs/ubuntu-series.md.
type SeriesInfo struct {
	Version string // e.g. "24.04"
	// ModuleSuffix is the module file suffix in linux-modules*: ".ko" on
	// jammy (GA and HWE: Ubuntu's rules turn do_zstd_ko off when
	// DEB_DISTRIBUTION is jammy), ".ko.zst" from mantic (23.10) on.
	ModuleSuffix string
	// InExtra lists the NeededModules that live in
	// linux-modules-extra-<abi>-<flavour> rather than linux-modules-: the
	// generic flavour's control.d/generic.inclusion-list keeps
	// drivers/net/veth.ko, drivers/net/virtio_net.ko, net/ipv4/* (inet_diag,
	// tcp_diag) and net/sched/* (sch_netem) in linux-modules, but not
	// net/mptcp/*, and INET_MPTCP_DIAG is =m, so mptcp_diag.ko is in extra.
	InExtra []string
}

// Series is the per-series table. Unknown series fall back to "include
// linux-modules-extra when the index has it".
var Series = map[string]SeriesInfo{
	"jammy":  {Version: "22.04", ModuleSuffix: ".ko", InExtra: []string{"mptcp_diag"}},
	"noble":  {Version: "24.04", ModuleSuffix: ".ko.zst", InExtra: []string{"mptcp_diag"}},
	"plucky": {Version: "25.04", ModuleSuffix: ".ko.zst", InExtra: []string{"mptcp_diag"}},
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
