package images

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
)

// DepError reports a malformed modules.dep line.
type DepError struct {
	Line int
	Text string
	Msg  string
}

func (e *DepError) Error() string {
	return fmt.Sprintf("modules.dep line %d: %s: %q", e.Line, e.Msg, e.Text)
}

// ModDep is a parsed modules.dep: for each module path (relative to
// lib/modules/<rel>), the paths it depends on, as depmod lists them
// (transitive, last one loaded first).
type ModDep struct {
	Deps  map[string][]string
	Order []string // module paths in file order
}

// ParseModulesDep parses modules.dep. Every line must be "<path>:" followed by
// zero or more space-separated paths; paths must be relative, without ..,
// and end in .ko, .ko.xz, .ko.zst or .ko.gz. Blank lines are skipped. A
// module listed twice is an error. It never panics.
func ParseModulesDep(b []byte) (*ModDep, error) {
	md := &ModDep{Deps: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &DepError{n, line, "no colon"}
		}
		if err := checkModPath(mod); err != nil {
			return nil, &DepError{n, line, err.Error()}
		}
		if _, dup := md.Deps[mod]; dup {
			return nil, &DepError{n, line, "module listed twice"}
		}
		deps := []string{}
		for _, d := range strings.Fields(rest) {
			if err := checkModPath(d); err != nil {
				return nil, &DepError{n, line, err.Error()}
			}
			if d == mod {
				return nil, &DepError{n, line, "module depends on itself"}
			}
			deps = append(deps, d)
		}
		md.Deps[mod] = deps
		md.Order = append(md.Order, mod)
	}
	if err := sc.Err(); err != nil {
		return nil, &DepError{n + 1, "", err.Error()}
	}
	return md, nil
}

func checkModPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty module path")
	case strings.ContainsAny(p, " \t\x00:"):
		return fmt.Errorf("bad character in module path")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: absolute module path", ErrUnsafePath)
	case !isModuleFile(p):
		return fmt.Errorf("not a module file name")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." || c == "" {
			return fmt.Errorf("%w: module path component %q", ErrUnsafePath, c)
		}
	}
	return nil
}

// moduleSuffixes are the module file name endings handled, plain first.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

func isModuleFile(p string) bool {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(p, s) && len(path.Base(p)) > len(s) {
			return true
		}
	}
	return false
}

// ModuleName is the kernel's name for a module file: the base name without
// .ko[.xz|.zst|.gz], dashes folded to underscores.
func ModuleName(p string) string {
	b := path.Base(p)
	for _, s := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if strings.HasSuffix(b, s) {
			b = strings.TrimSuffix(b, s)
			break
		}
	}
	return strings.ReplaceAll(b, "-", "_")
}

// ParseBuiltin returns the module names listed in modules.builtin (one
// path per line, e.g. kernel/net/packet/af_packet.ko).
func ParseBuiltin(b []byte) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" {
			m[ModuleName(line)] = true
		}
	}
	return m
}

// DepGraph is what the closure needs: module name → file path, and file
// path → direct (or transitive) dependency paths.
type DepGraph struct {
	ByName map[string]string
	Deps   map[string][]string
}

// Graph indexes a parsed modules.dep by module name.
func (md *ModDep) Graph() *DepGraph {
	g := &DepGraph{ByName: map[string]string{}, Deps: md.Deps}
	for _, p := range md.Order {
		if _, ok := g.ByName[ModuleName(p)]; !ok {
			g.ByName[ModuleName(p)] = p
		}
	}
	return g
}

// Closure returns, for the wanted module names in order, the module paths
// to load with every dependency before its user, each path once. Names not
// in the graph are returned in missing (the caller decides whether they
// are builtin). A dependency path not present as a module of its own still
// goes in the list (modules.dep names it, so the file should exist).
// Cycles are broken rather than looped on.
func (g *DepGraph) Closure(wanted []string) (order []string, missing []string) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(p string)
	visit = func(p string) {
		if state[p] != 0 {
			return
		}
		state[p] = visiting
		// depmod lists dependencies so that the last is loaded first.
		deps := g.Deps[p]
		for i := len(deps) - 1; i >= 0; i-- {
			visit(deps[i])
		}
		state[p] = done
		order = append(order, p)
	}
	for _, w := range wanted {
		p, ok := g.ByName[strings.ReplaceAll(w, "-", "_")]
		if !ok {
			missing = append(missing, w)
			continue
		}
		visit(p)
	}
	return order, missing
}

// FormatModulesDep writes modules.dep lines for the given paths (sorted),
// each with its transitive dependencies in depmod order (last loaded
// first), as modprobe expects.
func (g *DepGraph) FormatModulesDep(paths []string) []byte {
	ps := append([]string(nil), paths...)
	sort.Strings(ps)
	var buf bytes.Buffer
	for _, p := range ps {
		order, _ := (&DepGraph{ByName: map[string]string{ModuleName(p): p}, Deps: g.Deps}).Closure([]string{ModuleName(p)})
		buf.WriteString(p + ":")
		// order ends with p itself; its dependencies come reversed.
		for i := len(order) - 2; i >= 0; i-- {
			buf.WriteString(" " + order[i])
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
