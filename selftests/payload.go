package selftests

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/srutest/srutest/images"
)

// ToolsRoot is where the payload puts the host programs the scripts need,
// with their libraries in ToolsRoot/lib (LD_LIBRARY_PATH) and iptables
// extensions in ToolsRoot/xtables (XTABLES_LIBDIR): nothing of the base
// initramfs is overwritten, so a running agent never sees its libc change.
const ToolsRoot = "/opt/srutest-tools"

// Tool is one host program for the payload. Names are the guest names in
// ToolsRoot/bin (the first is the file, the rest link to it: multi-call
// binaries such as xtables-nft-multi pick their personality from argv[0]).
type Tool struct {
	Names    []string
	Sources  []string
	Package  string // Debian package, for the "install it" hint
	Required bool   // without it no script can run (bash)
}

// tools are the programs the net/mptcp scripts call beyond the base image's
// busybox, ip, ss, nstat and tcpdump (mptcp_lib.sh's check_tools: ip, tc,
// ss, iptables/ip6tables; mptcp_connect.sh: nft, ethtool; mptcp_lib.sh:
// ps o pid,ppid). GNU coreutils & co. go first in PATH: the scripts use
// GNU options busybox lacks (head --bytes=, stat --format=, date +%s%N).
var tools = []Tool{
	{[]string{"bash"}, []string{"/usr/bin/bash", "/bin/bash"}, "bash", true},
	{[]string{"tc"}, []string{"/usr/sbin/tc", "/sbin/tc"}, "iproute2", false},
	{[]string{"xtables-nft-multi", "iptables", "ip6tables", "iptables-nft", "ip6tables-nft", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"}, []string{"/usr/sbin/xtables-nft-multi"}, "iptables", false},
	{[]string{"xtables-legacy-multi", "iptables-legacy", "ip6tables-legacy", "iptables-legacy-save", "ip6tables-legacy-save", "iptables-legacy-restore", "ip6tables-legacy-restore"}, []string{"/usr/sbin/xtables-legacy-multi"}, "iptables", false},
	{[]string{"nft"}, []string{"/usr/sbin/nft"}, "nftables", false},
	{[]string{"ethtool"}, []string{"/usr/sbin/ethtool", "/sbin/ethtool"}, "ethtool", false},
	{[]string{"ps"}, []string{"/usr/bin/ps", "/bin/ps"}, "procps", false},
	{[]string{"sysctl"}, []string{"/usr/sbin/sysctl", "/sbin/sysctl"}, "procps", false},
	{[]string{"grep"}, []string{"/usr/bin/grep", "/bin/grep"}, "grep", false},
	{[]string{"sed"}, []string{"/usr/bin/sed", "/bin/sed"}, "sed", false},
	{[]string{"awk"}, []string{"/usr/bin/gawk", "/usr/bin/mawk", "/usr/bin/awk"}, "mawk", false},
	{[]string{"cmp"}, []string{"/usr/bin/cmp"}, "diffutils", false},
	{[]string{"diff"}, []string{"/usr/bin/diff"}, "diffutils", false},
	{[]string{"xargs"}, []string{"/usr/bin/xargs"}, "findutils", false},
}

// coreutils the scripts call.
var coreutils = []string{"basename", "cat", "cut", "date", "dd", "dirname", "head", "mktemp", "od", "seq", "sleep", "sort", "stat", "tail", "tee", "timeout", "tr", "uniq", "wc"}

// DefaultTools is what the net/mptcp scripts need from the host.
func DefaultTools() []Tool {
	out := append([]Tool(nil), tools...)
	for _, c := range coreutils {
		out = append(out, Tool{[]string{c}, []string{"/usr/bin/" + c, "/bin/" + c}, "coreutils", false})
	}
	return out
}

// xtablesDirs are where Debian keeps iptables' extensions (dlopened, so
// not in any ELF dependency list).
var xtablesDirs = []string{"/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/xtables", "/usr/lib64/xtables"}

// Payload is the tar pushed into a guest before a script runs.
type Payload struct {
	Path    string   // the gzipped tar file
	Missing []string // optional tools not found on the host ("nft (apt-get install nftables)")
}

// payloadEntry is one file or link of the tar.
type payloadEntry struct {
	name string // path in the tar, relative to /
	host string // file to copy ("" for a link)
	link string
	mode int64
}

// WritePayload writes the suite's tree (below GuestRoot) and the host tools
// (below ToolsRoot; nil means DefaultTools) into one gzipped tar at dst.
func WritePayload(s *Suite, dst string, tools []Tool) (*Payload, error) {
	if tools == nil {
		tools = DefaultTools()
	}
	var ents []payloadEntry
	seen := map[string]bool{}
	add := func(e payloadEntry) {
		if !seen[e.name] {
			seen[e.name] = true
			ents = append(ents, e)
		}
	}
	tree := s.Tree()
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		st, err := d.Info()
		if err != nil {
			return err
		}
		add(payloadEntry{name: path.Join(strings.TrimPrefix(GuestRoot, "/"), filepath.ToSlash(rel)), host: p, mode: int64(st.Mode().Perm())})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("selftests payload: %w", err)
	}
	pl := &Payload{Path: dst}
	root := strings.TrimPrefix(ToolsRoot, "/")
	addLibs := func(bin string) error {
		deps, err := images.ReadELFDeps(bin, nil)
		if err != nil {
			return fmt.Errorf("libraries of %s: %w", bin, err)
		}
		for _, l := range deps.Libs {
			add(payloadEntry{name: path.Join(root, "lib", filepath.Base(l)), host: l, mode: 0o755})
		}
		return nil
	}
	for _, t := range tools {
		src := ""
		for _, c := range t.Sources {
			if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
				src = c
				break
			}
		}
		if src == "" {
			if t.Required {
				return nil, fmt.Errorf("selftests payload: %s not found on the host (apt-get install %s)", t.Names[0], t.Package)
			}
			pl.Missing = append(pl.Missing, fmt.Sprintf("%s (apt-get install %s)", t.Names[0], t.Package))
			continue
		}
		add(payloadEntry{name: path.Join(root, "bin", t.Names[0]), host: src, mode: 0o755})
		for _, n := range t.Names[1:] {
			add(payloadEntry{name: path.Join(root, "bin", n), link: t.Names[0]})
		}
		if err := addLibs(src); err != nil {
			return nil, fmt.Errorf("selftests payload: %w", err)
		}
	}
	for _, d := range xtablesDirs {
		sos, _ := filepath.Glob(filepath.Join(d, "*.so"))
		if len(sos) == 0 {
			continue
		}
		for _, so := range sos {
			add(payloadEntry{name: path.Join(root, "xtables", filepath.Base(so)), host: so, mode: 0o755})
			if err := addLibs(so); err != nil {
				return nil, fmt.Errorf("selftests payload: %w", err)
			}
		}
		break
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	if err := writeTar(dst, ents); err != nil {
		return nil, fmt.Errorf("selftests payload: %w", err)
	}
	return pl, nil
}

func writeTar(dst string, ents []payloadEntry) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	// gzip: the payload crosses SSH into a TCG guest, where every byte
	// costs guest CPU (crypto); busybox tar -z unpacks it. ~21 → ~8 MB.
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	var werr error
	for _, e := range ents {
		// Parents first: busybox tar does not create missing directories
		// for every entry kind.
		for d := path.Dir(e.name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dl []string
	for d := range dirs {
		dl = append(dl, d)
	}
	sort.Strings(dl)
	for _, d := range dl {
		if werr = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); werr != nil {
			break
		}
	}
	for _, e := range ents {
		if werr != nil {
			break
		}
		if e.link != "" {
			werr = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: e.name, Linkname: e.link, Mode: 0o777})
			continue
		}
		werr = copyToTar(tw, e)
	}
	if werr == nil {
		werr = tw.Close()
	}
	if werr == nil {
		werr = zw.Close()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(dst)
	}
	return werr
}

func copyToTar(tw *tar.Writer, e payloadEntry) error {
	in, err := os.Open(e.host) // follows symlinks: libraries are often links
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Size: st.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}
