package images

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// NeededModules are the modules the guest agent and the scenarios need, in
// load order: the virtio NIC chain first so the agent can bring up eth0
// early. Each is loaded only when the kernel has it as a module; builtin ones
// (modules.builtin) are fine; a missing one is a warning in Image.Meta, not
// an error (the scenario that needs it will notice). net_failover and
// failover come in as virtio_net's dependencies, virtio/virtio_ring as
// virtio_pci's where those are modular (Debian 6.1).
var NeededModules = []string{
	"virtio_pci", "virtio_net", "af_packet", "veth",
	"inet_diag", "tcp_diag", "mptcp_diag", "sch_netem",
}

// moduleSet is the outcome of resolving NeededModules against a tree.
type moduleSet struct {
	Paths   []string            // load order, relative to lib/modules/<rel>, as found (maybe compressed)
	Deps    map[string][]string // path → dependency paths (transitive or direct)
	Builtin []string            // needed names that are builtin
	Missing []string            // needed names neither modular nor builtin
	Unknown bool                // no modules.builtin: Missing may be builtin
}

// resolveModules computes the closure of NeededModules in relDir. With a
// modules.dep it is read from there; without one (Debian and Ubuntu debs
// ship none: depmod runs in postinst) dependencies come from each module's
// .modinfo depends=, which is what depmod would write for them.
func resolveModules(relDir string, dep *ModDep) (*moduleSet, error) {
	var g *DepGraph
	if dep != nil {
		g = dep.Graph()
	} else {
		var err error
		if g, err = modinfoGraph(relDir, NeededModules); err != nil {
			return nil, err
		}
	}
	order, missing := g.Closure(NeededModules)
	ms := &moduleSet{Paths: order, Deps: g.Deps}
	bb, err := os.ReadFile(filepath.Join(relDir, "modules.builtin"))
	builtin := ParseBuiltin(bb)
	ms.Unknown = err != nil
	for _, m := range missing {
		if builtin[m] {
			ms.Builtin = append(ms.Builtin, m)
		} else {
			ms.Missing = append(ms.Missing, m)
		}
	}
	return ms, nil
}

// indexModules maps module name → path (relative to relDir, slash
// separated) for every module file under relDir. When a name appears twice,
// updates/ wins over kernel/ (depmod's default search order), then the
// path sorting first.
func indexModules(relDir string) (map[string]string, error) {
	idx := map[string]string{}
	var paths []string
	err := filepath.WalkDir(relDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && isModuleFile(d.Name()) {
			rel, err := filepath.Rel(relDir, p)
			if err != nil {
				return err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index modules in %s: %w", relDir, err)
	}
	sort.Slice(paths, func(i, j int) bool {
		ui, uj := strings.HasPrefix(paths[i], "updates/"), strings.HasPrefix(paths[j], "updates/")
		if ui != uj {
			return ui
		}
		return paths[i] < paths[j]
	})
	for _, p := range paths {
		if _, ok := idx[ModuleName(p)]; !ok {
			idx[ModuleName(p)] = p
		}
	}
	return idx, nil
}

// modinfoGraph builds the dependency graph of the wanted modules and their
// dependencies from .modinfo, reading only the modules reached.
func modinfoGraph(relDir string, wanted []string) (*DepGraph, error) {
	idx, err := indexModules(relDir)
	if err != nil {
		return nil, err
	}
	g := &DepGraph{ByName: idx, Deps: map[string][]string{}}
	queue := append([]string(nil), wanted...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		p, ok := idx[name]
		if !ok {
			continue
		}
		ko, err := readModule(filepath.Join(relDir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		mi, err := ReadModinfo(ko)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", p, err)
		}
		deps := []string{}
		for _, d := range mi.Depends {
			dp, ok := idx[d]
			if !ok {
				return nil, fmt.Errorf("module %s depends on %s, which is not in %s", p, d, relDir)
			}
			deps = append(deps, dp)
			queue = append(queue, d)
		}
		g.Deps[p] = deps
	}
	return g, nil
}

// readModule reads a module file, decompressing it by its suffix as it
// streams in, and fails with a *LimitError when the module (compressed or
// not) is larger than the file limit (DefaultLimits).
func readModule(p string) ([]byte, error) {
	lim, err := DefaultLimits()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	defer f.Close()
	b, err := decompressModuleLimited(path.Base(filepath.ToSlash(p)), f, lim.File)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", p, err)
	}
	return b, nil
}

// decompressModule returns the plain ELF of a .ko, .ko.xz, .ko.zst or
// .ko.gz file's contents, within the default file limit.
func decompressModule(name string, raw []byte) ([]byte, error) {
	return decompressModuleLimited(name, bytes.NewReader(raw), 128<<20)
}

// decompressModuleLimited streams r through the decompressor its name
// asks for and returns at most max bytes; a bigger module is a
// *LimitError, never a silently cut ELF.
func decompressModuleLimited(name string, raw io.Reader, max int64) ([]byte, error) {
	var r io.Reader
	switch {
	case strings.HasSuffix(name, ".ko"):
		r = raw
	case strings.HasSuffix(name, ".ko.xz"):
		zr, err := xz.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		r = zr
	case strings.HasSuffix(name, ".ko.zst"):
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(name, ".ko.gz"):
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	default:
		return nil, fmt.Errorf("not a module file name")
	}
	b, err := readCapped(r, name, "decompressed module size", EnvMaxFileSize, max)
	var le *LimitError
	if err != nil && !errors.As(err, &le) {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return b, err
}

// plainPath is a module path with its compression suffix removed.
func plainPath(p string) string {
	for _, s := range []string{".xz", ".zst", ".gz"} {
		if strings.HasSuffix(p, ".ko"+s) {
			return strings.TrimSuffix(p, s)
		}
	}
	return p
}

// installModules writes the closure decompressed into outRel
// (lib/modules/<rel> of a kernel layer), plus a modules.dep for exactly
// those modules and a copy of modules.builtin, and returns the module names
// in load order and warnings (vermagic mismatches).
func installModules(relDir, outRel, release string, ms *moduleSet) (names []string, warnings []string, err error) {
	plain := map[string]string{}
	for _, p := range ms.Paths {
		plain[p] = plainPath(p)
	}
	for _, p := range ms.Paths {
		ko, err := readModule(filepath.Join(relDir, filepath.FromSlash(p)))
		if err != nil {
			return nil, nil, err
		}
		mi, err := ReadModinfo(ko)
		if err != nil {
			return nil, nil, fmt.Errorf("module %s: %w", p, err)
		}
		if v, _, _ := strings.Cut(mi.Vermagic, " "); v != "" && release != "" && v != release {
			warnings = append(warnings, fmt.Sprintf("module %s built for %s, kernel is %s", p, v, release))
		}
		dst := filepath.Join(outRel, filepath.FromSlash(plain[p]))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(dst, ko, 0o644); err != nil {
			return nil, nil, fmt.Errorf("write module: %w", err)
		}
		names = append(names, ModuleName(p))
	}
	sub := &DepGraph{Deps: map[string][]string{}}
	var out []string
	for _, p := range ms.Paths {
		var ds []string
		for _, d := range ms.Deps[p] {
			ds = append(ds, plain[d])
		}
		sub.Deps[plain[p]] = ds
		out = append(out, plain[p])
	}
	if err := os.MkdirAll(outRel, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(outRel, "modules.dep"), sub.FormatModulesDep(out), 0o644); err != nil {
		return nil, nil, err
	}
	if b, err := os.ReadFile(filepath.Join(relDir, "modules.builtin")); err == nil {
		if err := os.WriteFile(filepath.Join(outRel, "modules.builtin"), b, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return names, warnings, nil
}
