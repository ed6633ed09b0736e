package host

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/bounded"
	"github.com/srutest/srutest/internal/debver"
	"github.com/srutest/srutest/internal/proc"
)

// Apt is what srutest asks the host's apt: which versions of a package the
// sources offer and from which suite (apt-cache madison), and a version's
// control fields (apt-cache show).
type Apt interface {
	Madison(ctx context.Context, pkgs ...string) ([]Avail, error)
	Show(ctx context.Context, pkg string) ([]Stanza, error)
	PkgNames(ctx context.Context, prefix string) ([]string, error)
}

// Avail is one line of apt-cache madison: a version of a package and the
// suite ("noble-updates") and component it comes from.
type Avail struct {
	Package, Version, Suite, Component string
}

// Stanza is one control record: field name → value (continuation lines
// joined with a space).
type Stanza map[string]string

// ParseMadison reads apt-cache madison output. Lines that are not
// "pkg | version | url suite/component arch Packages" (Sources lines, noise)
// are skipped.
func ParseMadison(b []byte) []Avail {
	var out []Avail
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		src := strings.Fields(f[2])
		if len(src) < 3 || src[len(src)-1] != "Packages" {
			continue
		}
		suite, comp, _ := strings.Cut(src[1], "/")
		a := Avail{Package: strings.TrimSpace(f[0]), Version: strings.TrimSpace(f[1]), Suite: suite, Component: comp}
		if a.Package != "" && a.Version != "" {
			out = append(out, a)
		}
	}
	return out
}

// ParseStanzas reads control records separated by blank lines.
func ParseStanzas(b []byte) []Stanza {
	var out []Stanza
	cur := Stanza{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = Stanza{}, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.TrimSpace(k)
			cur[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// DependsNames returns the package names in a Depends field, alternatives
// included, without version constraints or architecture qualifiers.
func DependsNames(field string) []string {
	var out []string
	for _, alt := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '|' }) {
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, "(")
		name, _, _ = strings.Cut(name, ":")
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// AptCache asks the real apt-cache, with a C locale (its output is parsed),
// through internal/proc like every child of srutest.
type AptCache struct{}

func (AptCache) run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := proc.Command(ctx, 5*time.Second, "apt-cache", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	out, errb := bounded.New(64<<20, 0), bounded.New(8<<10, 8<<10)
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("apt-cache %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Madison runs apt-cache madison; packages apt does not know give no lines.
func (a AptCache) Madison(ctx context.Context, pkgs ...string) ([]Avail, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	b, err := a.run(ctx, append([]string{"madison"}, pkgs...)...)
	if err != nil {
		return nil, err
	}
	return ParseMadison(b), nil
}

// Show runs apt-cache show (every version); a package apt does not know is
// no stanza, not an error.
func (a AptCache) Show(ctx context.Context, pkg string) ([]Stanza, error) {
	b, err := a.run(ctx, "show", pkg)
	if err != nil {
		if known, _ := a.Madison(ctx, pkg); len(known) == 0 {
			return nil, nil
		}
		return nil, err
	}
	return ParseStanzas(b), nil
}

// PkgNames runs apt-cache pkgnames: every package name apt knows that starts
// with prefix.
func (a AptCache) PkgNames(ctx context.Context, prefix string) ([]string, error) {
	b, err := a.run(ctx, "pkgnames", prefix)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// newest returns the highest version among avail (Debian ordering).
func newest(avail []Avail) (Avail, bool) {
	if len(avail) == 0 {
		return Avail{}, false
	}
	s := append([]Avail(nil), avail...)
	sort.SliceStable(s, func(i, j int) bool { return compare(s[i].Version, s[j].Version) > 0 })
	return s[0], true
}

func compare(a, b string) int { return debver.Compare(a, b) }
