package images

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Spec is a parsed kernel spec.
type Spec struct {
	// Kind is "apt", "deb", "dir", "bzimage", "source" or the name of a registered
	// Resolver (e.g. "ubuntu").
	Kind string
	// Args are the comma-separated arguments: package names (apt), files or
	// URLs (deb), vmlinuz and modules root (dir), the bzImage path (bzimage),
	// the source path then key=value options (source, see SourceSpec).
	// A Resolver kind has exactly one argument: everything after "<kind>:".
	Args []string
	// Raw is the spec as given.
	Raw string
}

// SpecError reports a spec that cannot be parsed.
type SpecError struct {
	Spec string
	Msg  string
}

func (e *SpecError) Error() string { return fmt.Sprintf("kernel spec %q: %s", e.Spec, e.Msg) }

// ParseSpec parses a kernel spec. Builtin kinds have their arguments checked
// for shape (counts, empty items); kinds it does not know are returned as
// given for the Builder to match against its Resolvers.
func ParseSpec(s string) (Spec, error) {
	raw := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Spec{}, &SpecError{raw, "empty"}
	}
	kind, arg, ok := strings.Cut(s, ":")
	if !ok || !isKindName(kind) {
		if strings.HasSuffix(s, ".deb") {
			return parseList(raw, "deb", s)
		}
		return Spec{}, &SpecError{raw, "want <kind>:<arg> (apt:, deb:, dir:, bzimage:, source:, ubuntu:) or a path ending in .deb"}
	}
	switch kind {
	case "apt":
		sp, err := parseList(raw, kind, arg)
		if err != nil {
			return sp, err
		}
		for _, p := range sp.Args {
			if !validAptName(p) {
				return Spec{}, &SpecError{raw, fmt.Sprintf("%q is not a package name (letters, digits, + - . and the glob *)", p)}
			}
		}
		return sp, nil
	case "deb":
		return parseList(raw, kind, arg)
	case "dir":
		sp, err := parseList(raw, kind, arg)
		if err == nil && len(sp.Args) != 2 {
			return Spec{}, &SpecError{raw, "want dir:<vmlinuz>,<modules-root>"}
		}
		return sp, err
	case "source":
		sp, err := parseList(raw, kind, arg)
		if err != nil {
			return sp, err
		}
		if _, err := parseSourceSpec(raw, sp.Args); err != nil {
			return Spec{}, err
		}
		return sp, nil
	case "bzimage":
		if arg == "" || strings.Contains(arg, ",") {
			return Spec{}, &SpecError{raw, "want bzimage:<path>"}
		}
		return Spec{Kind: kind, Args: []string{arg}, Raw: raw}, nil
	}
	if arg == "" {
		return Spec{}, &SpecError{raw, "empty argument after " + kind + ":"}
	}
	return Spec{Kind: kind, Args: []string{arg}, Raw: raw}, nil
}

func parseList(raw, kind, arg string) (Spec, error) {
	if arg == "" {
		return Spec{}, &SpecError{raw, "empty argument after " + kind + ":"}
	}
	parts := strings.Split(arg, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return Spec{}, &SpecError{raw, "empty item in list"}
		}
	}
	return Spec{Kind: kind, Args: parts, Raw: raw}, nil
}

// isKindName accepts lower-case identifiers; it keeps Windows-less paths
// such as ./x.deb or /tmp/x.deb (no colon) and URLs out of the kind slot.
func isKindName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != "http" && s != "https" && s != "file"
}

// validAptName accepts Debian package names plus the glob character.
func validAptName(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.' || r == '*') {
			return false
		}
	}
	return true
}

// Rebase returns spec with its relative local paths (deb files, dir: and
// bzimage: paths, source: tree, patches and config fragment) taken relative
// to dir instead of the working directory: plan files name paths relative
// to themselves. URLs, apt names, resolver arguments and absolute paths are
// kept; a spec that does not parse is returned unchanged (Build reports it).
func Rebase(spec, dir string) string {
	sp, err := ParseSpec(spec)
	if err != nil || dir == "" || dir == "." {
		return spec
	}
	join := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
			return p
		}
		return filepath.Join(dir, p)
	}
	args := slices.Clone(sp.Args)
	switch sp.Kind {
	case "deb", "dir", "bzimage":
		for i := range args {
			args[i] = join(args[i])
		}
	case "source":
		if k, _, ok := strings.Cut(args[0], ":"); !ok || !isKindName(k) {
			args[0] = join(args[0]) // not a resolver's tree (source:ubuntu:noble)
		}
		for i := 1; i < len(args); i++ {
			if k, v, ok := strings.Cut(args[i], "="); ok && k != "localversion" {
				args[i] = k + "=" + join(v)
			}
		}
	default:
		return spec
	}
	return sp.Kind + ":" + strings.Join(args, ",")
}
