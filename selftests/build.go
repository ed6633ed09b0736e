package selftests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/internal/proc"
)

// recipeVersion changes whenever Build lays out a suite differently, so old
// cache entries are not reused.
const recipeVersion = "selftests-2"

// GuestRoot is where a suite's files land in the guest: the selftests tree
// keeps its layout below it (net/mptcp/…, net/lib.sh), since the scripts
// source ../lib.sh relative to themselves.
const GuestRoot = "/opt/kselftest"

// Program is one script of TEST_PROGS with the timeout from the target's
// settings file (kselftest's default 45 s when there is none).
type Program struct {
	Name    string        `json:"name"`
	Timeout time.Duration `json:"timeout_ns"`
}

// Suite is a built selftest target, cached under <cache>/selftests/<key>.
type Suite struct {
	Desc     string    `json:"desc"` // for srutest cache ls
	Key      string    `json:"key"`
	Source   string    `json:"source"`  // what it was built from
	Version  string    `json:"version"` // kernel version of the source tree (make kernelversion)
	Target   string    `json:"target"`  // e.g. net/mptcp
	Programs []Program `json:"programs"`
	// Config is the target's config fragment, symbol → value (y/m/n/…).
	Config map[string]string `json:"config"`
	// Modules maps config symbols to the module names Kbuild builds for
	// them (obj-$(CONFIG_X) += name.o), for the symbols of Config that
	// have any.
	Modules map[string][]string `json:"modules"`
	// Selected lists the symbols the fragment's symbols select (Kconfig),
	// with the value they inherit: their modules are loaded too.
	Selected map[string]string `json:"selected,omitempty"`

	// Dir is the cache entry; Tree = Dir/tree holds the selftests tree
	// (target and its TEST_INCLUDES) as it goes below GuestRoot.
	Dir string `json:"-"`
}

// Tree is the host directory mirrored to GuestRoot.
func (s *Suite) Tree() string { return filepath.Join(s.Dir, "tree") }

// ModuleNames lists the modules the config fragment asks for, sorted.
func (s *Suite) ModuleNames() []string {
	seen := map[string]bool{}
	for _, syms := range []map[string]string{s.Config, s.Selected} {
		for sym, v := range syms {
			if v == "n" {
				continue
			}
			for _, m := range s.Modules[sym] {
				seen[m] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Program returns the named program.
func (s *Suite) Program(name string) (Program, bool) {
	for _, p := range s.Programs {
		if p.Name == name {
			return p, true
		}
	}
	return Program{}, false
}

// BuildOptions say what to build.
type BuildOptions struct {
	CacheDir string // srutest cache root; the suite goes to CacheDir/selftests/<key>
	// Source is a kernel source tarball (.tar.xz/.tar.gz/.tar.bz2), a
	// linux-source .deb (which carries such a tarball) or a source tree.
	Source string
	Target string // e.g. net/mptcp
	Log    io.Writer
}

// BuildError is a failed step of a suite build, with the command's output.
type BuildError struct {
	Step   string
	Err    error
	Output string // tail of the command output
}

func (e *BuildError) Error() string {
	msg := fmt.Sprintf("selftests: %s: %v", e.Step, e.Err)
	if e.Output != "" {
		msg += "\n" + e.Output
	}
	return msg
}

func (e *BuildError) Unwrap() error { return e.Err }

// ErrBadTarget is a target name that is not a relative path inside
// tools/testing/selftests.
var ErrBadTarget = errors.New("bad selftest target")

var targetRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// Build returns the suite for opts, building it when the cache has none.
// The build: extract what headers and the target need from the source,
// `make headers`, `make -C tools/testing/selftests/<target>` with static
// LDFLAGS, then copy TEST_PROGS, TEST_FILES, TEST_GEN_FILES and
// TEST_INCLUDES (as the target's Makefile names them) into the entry.
func Build(ctx context.Context, opts BuildOptions) (*Suite, error) {
	if !targetRE.MatchString(opts.Target) || strings.Contains(opts.Target, "..") {
		return nil, fmt.Errorf("%w: %q", ErrBadTarget, opts.Target)
	}
	st, err := os.Stat(opts.Source)
	if err != nil {
		return nil, fmt.Errorf("selftests source: %w", err)
	}
	key, err := sourceKey(opts.Source, st, opts.Target)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(opts.CacheDir, "selftests")
	final := filepath.Join(root, key)
	if s, err := loadSuite(final); err == nil {
		now := time.Now()
		os.Chtimes(final, now, now)
		return s, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("selftests cache: %w", err)
	}
	// Work in the cache's tmp/ (cache prune leaves young entries there
	// alone), then rename into place: no half-built suite is ever seen.
	tmpRoot := filepath.Join(opts.CacheDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return nil, fmt.Errorf("selftests cache: %w", err)
	}
	work, err := os.MkdirTemp(tmpRoot, "selftests-")
	if err != nil {
		return nil, fmt.Errorf("selftests cache: %w", err)
	}
	defer os.RemoveAll(work)
	logf(opts.Log, "building selftests %s from %s (key %s)", opts.Target, opts.Source, key[:12])
	t0 := time.Now()
	src := opts.Source
	if !st.IsDir() {
		if src, err = extractSource(ctx, opts.Source, filepath.Join(work, "src")); err != nil {
			return nil, err
		}
	}
	s, err := buildTree(ctx, src, opts.Target, filepath.Join(work, "entry"))
	if err != nil {
		return nil, err
	}
	s.Key, s.Source = key, opts.Source
	s.Desc = fmt.Sprintf("%s selftests from %s (%s)", opts.Target, filepath.Base(opts.Source), s.Version)
	if err := writeJSON(filepath.Join(work, "entry", "suite.json"), s); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(work, "entry"), final); err != nil {
		// Another build of the same key won: use it.
		if s, lerr := loadSuite(final); lerr == nil {
			return s, nil
		}
		return nil, fmt.Errorf("selftests cache: %w", err)
	}
	logf(opts.Log, "selftests %s built in %s: %d programs", opts.Target, time.Since(t0).Round(time.Second), len(s.Programs))
	return loadSuite(final)
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "srutest: selftests: "+format+"\n", args...)
	}
}

func loadSuite(dir string) (*Suite, error) {
	b, err := os.ReadFile(filepath.Join(dir, "suite.json"))
	if err != nil {
		return nil, err
	}
	var s Suite
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s.Dir = dir
	return &s, nil
}

func writeJSON(p string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// sourceKey names a build: a file source by its bytes, a tree by the
// bytes of what the build reads from it that decides the result (the
// target and its includes, the UAPI headers, the Makefiles mapping config
// symbols to modules), plus the target and the recipe.
func sourceKey(src string, st fs.FileInfo, target string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", recipeVersion, target)
	if !st.IsDir() {
		if err := hashFile(h, src); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	for _, sub := range []string{"tools/testing/selftests/" + target, "tools/testing/selftests/net/lib.sh", "tools/testing/selftests/net/net_helper.sh", "include/uapi", "Makefile"} {
		p := filepath.Join(src, sub)
		err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(src, q)
				fmt.Fprintf(h, "%s\n", rel)
				return hashFile(h, q)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("selftests source: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("selftests source: %w", err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// extractMembers are the parts of a kernel tarball a selftest build reads:
// what `make headers` needs, the tools tree and every Makefile (the map
// from config symbols to module names). The rest (drivers, Documentation,
// other architectures: most of the 1.4 GB) stays packed.
var extractMembers = []string{"*/Makefile", "*/Kbuild", "*/Kconfig*", "*/scripts/*", "*/include/*", "*/arch/x86/*", "*/tools/*"}

// bzip2Flag is tar's decompression flag for a .tar.bz2: lbzip2 when the
// host has it (Ubuntu's linux-source tarballs are one ~350 MB bzip2 stream;
// lbzip2 decompresses it on every CPU, bzip2 on one), else -j. As in
// scripts/build-kernel.sh.
func bzip2Flag() string {
	if _, err := exec.LookPath("lbzip2"); err == nil {
		return "--use-compress-program=lbzip2"
	}
	return "-j"
}

// extractSource unpacks a tarball or a linux-source .deb into dir and
// returns the tree's top directory.
func extractSource(ctx context.Context, file, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tarball := file
	if strings.HasSuffix(file, ".deb") {
		// linux-source-X.deb ships usr/src/linux-source-X.tar.{bz2,xz}.
		debDir := filepath.Join(dir, "deb")
		if err := os.MkdirAll(debDir, 0o755); err != nil {
			return "", err
		}
		if _, err := run(ctx, debDir, "unpack "+filepath.Base(file), "dpkg-deb", "-x", file, debDir); err != nil {
			return "", err
		}
		// Ubuntu: usr/src/linux-source-V/linux-source-V.tar.bz2 and a link
		// to it as usr/src/linux-source-V.tar.bz2; Debian: the latter only.
		var found []string
		for _, pat := range []string{"linux-source-*.tar.*", "linux-source-*/linux-source-*.tar.*"} {
			m, _ := filepath.Glob(filepath.Join(debDir, "usr", "src", pat))
			for _, f := range m {
				if r, err := filepath.EvalSymlinks(f); err == nil && !containsStr(found, r) {
					found = append(found, r)
				}
			}
		}
		if len(found) != 1 {
			return "", &BuildError{Step: "unpack " + filepath.Base(file), Err: fmt.Errorf("want one usr/src/linux-source-*.tar.* in the package, found %d", len(found))}
		}
		tarball = found[0]
	}
	args := []string{"-x", "-f", tarball, "-C", dir, "--wildcards", "--no-same-owner"}
	switch {
	case strings.HasSuffix(tarball, ".xz"):
		args = append(args, "-J")
	case strings.HasSuffix(tarball, ".bz2"):
		args = append(args, bzip2Flag())
	case strings.HasSuffix(tarball, ".gz"), strings.HasSuffix(tarball, ".tgz"):
		args = append(args, "-z")
	}
	args = append(args, extractMembers...)
	if _, err := run(ctx, dir, "extract "+filepath.Base(tarball), "tar", args...); err != nil {
		return "", err
	}
	if tarball != file {
		os.RemoveAll(filepath.Join(dir, "deb"))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "tools", "testing", "selftests")); err == nil {
				return filepath.Join(dir, e.Name()), nil
			}
		}
	}
	return "", &BuildError{Step: "extract " + filepath.Base(tarball), Err: errors.New("no kernel tree with tools/testing/selftests in the archive")}
}

// varsMakefile prints the kselftest variables of a target's Makefile as
// make itself evaluates them (no Makefile parsing here).
const varsMakefile = `
srutest-vars:
	@echo 'TEST_PROGS=$(TEST_PROGS)'
	@echo 'TEST_PROGS_EXTENDED=$(TEST_PROGS_EXTENDED)'
	@echo 'TEST_FILES=$(TEST_FILES)'
	@echo 'TEST_GEN_FILES=$(notdir $(TEST_GEN_FILES))'
	@echo 'TEST_GEN_PROGS=$(notdir $(TEST_GEN_PROGS))'
	@echo 'TEST_INCLUDES=$(TEST_INCLUDES)'
`

// buildTree builds target in the kernel tree src and lays the result out
// in out/tree.
func buildTree(ctx context.Context, src, target, out string) (*Suite, error) {
	tdir := filepath.Join(src, "tools", "testing", "selftests", filepath.FromSlash(target))
	if _, err := os.Stat(filepath.Join(tdir, "Makefile")); err != nil {
		return nil, &BuildError{Step: "find target", Err: fmt.Errorf("%w: %s has no Makefile in %s", ErrBadTarget, target, src)}
	}
	s := &Suite{Target: target}
	if v, err := run(ctx, src, "kernel version", "make", "-s", "kernelversion"); err == nil {
		s.Version = strings.TrimSpace(v)
	}
	jobs := "-j" + strconv.Itoa(max(1, numCPU()))
	if _, err := run(ctx, src, "make headers", "make", jobs, "headers"); err != nil {
		return nil, err
	}
	// Static: the guest has the host's loader and libc, not necessarily the
	// ones the binaries were linked against; -s keeps the payload small.
	if _, err := run(ctx, tdir, "make "+target, "make", jobs, "LDFLAGS=-static -s"); err != nil {
		return nil, err
	}
	mk := filepath.Join(out, "vars.mk")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(mk, []byte(varsMakefile), 0o644); err != nil {
		return nil, err
	}
	vout, err := run(ctx, tdir, "read "+target+" Makefile", "make", "-s", "-f", "Makefile", "-f", mk, "srutest-vars")
	if err != nil {
		return nil, err
	}
	os.Remove(mk)
	vars := parseVars(vout)
	progs := strings.Fields(vars["TEST_PROGS"])
	if len(progs) == 0 {
		return nil, &BuildError{Step: "read " + target + " Makefile", Err: errors.New("no TEST_PROGS")}
	}
	timeout := DefaultTimeout
	if b, err := os.ReadFile(filepath.Join(tdir, "settings")); err == nil {
		if t, ok := ParseSettings(b); ok {
			timeout = t
		}
	}
	for _, p := range progs {
		s.Programs = append(s.Programs, Program{Name: p, Timeout: timeout})
	}
	tree := filepath.Join(out, "tree")
	dst := filepath.Join(tree, filepath.FromSlash(target))
	var files []string
	for _, v := range []string{"TEST_PROGS", "TEST_PROGS_EXTENDED", "TEST_FILES", "TEST_GEN_FILES", "TEST_GEN_PROGS"} {
		files = append(files, strings.Fields(vars[v])...)
	}
	if _, err := os.Stat(filepath.Join(tdir, "config")); err == nil {
		files = append(files, "config")
	}
	for _, f := range files {
		if err := copyInto(filepath.Join(tdir, f), filepath.Join(dst, f)); err != nil {
			return nil, &BuildError{Step: "install " + target, Err: err}
		}
	}
	// TEST_INCLUDES are relative to the target (../lib.sh): they keep their
	// place relative to it below the selftests root.
	for _, inc := range strings.Fields(vars["TEST_INCLUDES"]) {
		rel := path.Clean(path.Join(target, inc))
		if strings.HasPrefix(rel, "../") || rel == ".." {
			return nil, &BuildError{Step: "install " + target, Err: fmt.Errorf("include %s leaves the selftests tree", inc)}
		}
		if err := copyInto(filepath.Join(tdir, filepath.FromSlash(inc)), filepath.Join(tree, filepath.FromSlash(rel))); err != nil {
			return nil, &BuildError{Step: "install " + target, Err: err}
		}
	}
	if b, err := os.ReadFile(filepath.Join(tdir, "config")); err == nil {
		s.Config = ParseConfig(b)
	}
	// Config keeps the fragment as written; Modules also covers what it
	// selects (the kernel would autoload those; the guest has no modprobe).
	var closure map[string]string
	s.Modules, closure, err = moduleMap(src, s.Config)
	for k, v := range closure {
		if _, ok := s.Config[k]; !ok {
			if s.Selected == nil {
				s.Selected = map[string]string{}
			}
			s.Selected[k] = v
		}
	}
	if err != nil {
		return nil, &BuildError{Step: "map config to modules", Err: err}
	}
	return s, nil
}

func numCPU() int {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = bytes.Count(b, []byte("\nprocessor\t"))
		if bytes.HasPrefix(b, []byte("processor\t")) {
			n++
		}
	}
	return n
}

func parseVars(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "TEST_") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func copyInto(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm()|0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// run runs a build command in dir through internal/proc (process group,
// parent-death kill, SIGTERM then SIGKILL when ctx ends) and returns its
// output; a failure is a BuildError with the tail.
func run(ctx context.Context, dir, step, name string, args ...string) (string, error) {
	cmd := proc.Command(ctx, 5*time.Second, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanMakeEnv(os.Environ()), "LC_ALL=C")
	// What the caller reads is stdout alone: make's warnings on stderr
	// ("Clock skew detected" from a tarball whose mtimes are ahead of the
	// host clock) once ended up in the suite's kernel version. Both, in
	// order, explain a failure.
	var stdout bytes.Buffer
	all := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, all), all
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return "", &BuildError{Step: step, Err: fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err), Output: tail(all.String(), 2000)}
	}
	return stdout.String(), nil
}

// lockedBuffer is a bytes.Buffer two pipes of one command write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cleanMakeEnv drops a parent make's variables. Under `make test` the
// build inherits MAKELEVEL=1, and the selftests' lib.mk then leaves OUTPUT
// empty: the binaries went to /mptcp_connect instead of the target
// directory (seen in CI), and the suite had nothing to install.
func cleanMakeEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
