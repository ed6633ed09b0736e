package images

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/bounded"
	"github.com/srutest/srutest/internal/proc"
)

// aptPkg is a package name with the candidate version apt would fetch.
type aptPkg struct{ Name, Version string }

// runCmd runs a child bounded by ctx and limit, in dir, with a C locale
// (apt output is parsed), and returns stdout; stderr (head and tail) goes
// into the error. apt-get forks its download methods: internal/proc takes
// the whole group down on cancel and when srutest dies.
func runCmd(ctx context.Context, limit time.Duration, dir string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := proc.Command(ctx, 5*time.Second, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	out, errb := bounded.New(64<<20, 0), bounded.New(8<<10, 8<<10)
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// ParseAptPolicy reads `apt-cache policy` output and returns each package's
// candidate version; packages without one ("(none)") are left out.
func ParseAptPolicy(b []byte) map[string]string {
	m := map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		if line[0] != ' ' && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			if v = strings.TrimSpace(v); v != "" && v != "(none)" {
				m[cur] = v
			}
		}
	}
	return m
}

// newestPackage picks, among name→version, the highest version (dpkg
// ordering), ties broken by the larger name.
func newestPackage(cands map[string]string) (aptPkg, bool) {
	var best aptPkg
	found := false
	names := make([]string, 0, len(cands))
	for n := range cands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := cands[n]
		if !found || CompareVersions(v, best.Version) >= 0 {
			best, found = aptPkg{n, v}, true
		}
	}
	return best, found
}

// aptResolve turns names (globs allowed) into concrete packages with their
// candidate versions.
func aptResolve(ctx context.Context, names []string) ([]aptPkg, error) {
	var out []aptPkg
	for _, name := range names {
		cands := []string{name}
		if strings.Contains(name, "*") {
			prefix, _, _ := strings.Cut(name, "*")
			b, err := runCmd(ctx, time.Minute, "", "apt-cache", "pkgnames", prefix)
			if err != nil {
				return nil, fmt.Errorf("list apt packages: %w", err)
			}
			cands = nil
			for _, n := range strings.Fields(string(b)) {
				if ok, _ := path.Match(name, n); ok {
					cands = append(cands, n)
				}
			}
			if len(cands) == 0 {
				return nil, &FileError{name, "resolve", fmt.Errorf("%w: no package name matches (apt-get update?)", ErrUnknownPackage)}
			}
		}
		b, err := runCmd(ctx, time.Minute, "", "apt-cache", append([]string{"policy"}, cands...)...)
		if err != nil {
			return nil, fmt.Errorf("apt-cache policy: %w", err)
		}
		pol := ParseAptPolicy(b)
		best, ok := newestPackage(pol)
		if !ok {
			return nil, &FileError{name, "resolve", fmt.Errorf("%w: no installable candidate (apt-get update?)", ErrUnknownPackage)}
		}
		out = append(out, best)
	}
	return out, nil
}

// debFileVersion is how apt-get download spells a version in a file name.
func debFileVersion(v string) string { return strings.ReplaceAll(v, ":", "%3a") }

// cachedAptDeb returns the cached .deb of p in dir, or "".
func cachedAptDeb(dir string, p aptPkg) string {
	m, _ := filepath.Glob(filepath.Join(dir, p.Name+"_"+debFileVersion(p.Version)+"_*.deb"))
	if len(m) == 1 {
		return m[0]
	}
	return ""
}

// aptDownload fetches p with the host's apt-get into dir (through a temp
// dir in tmpRoot, renamed into place) and returns its path.
func aptDownload(ctx context.Context, tmpRoot, dir string, p aptPkg) (string, error) {
	work, err := os.MkdirTemp(tmpRoot, "apt-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	// apt drops privileges to _apt for downloads; let it write here.
	_ = os.Chmod(work, 0o777)
	if _, err := runCmd(ctx, 30*time.Minute, work, "apt-get", "download", "-q", p.Name+"="+p.Version); err != nil {
		return "", &FileError{p.Name, "apt-get download", err}
	}
	m, _ := filepath.Glob(filepath.Join(work, p.Name+"_*.deb"))
	if len(m) != 1 {
		return "", &FileError{p.Name, "apt-get download", fmt.Errorf("expected one %s_*.deb, found %d", p.Name, len(m))}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(m[0]))
	if err := os.Rename(m[0], dst); err != nil {
		return "", fmt.Errorf("store %s: %w", p.Name, err)
	}
	// apt sets the file's mtime to the archive's Last-Modified, which can
	// be months old; the cache reads mtime as "last used" (cache ls,
	// prune), so a deb just downloaded must look just used.
	touch(dst)
	return dst, nil
}
