package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/proc"
	"github.com/srutest/srutest/kconfig"
)

// dirKbuild holds source: builds: build-kernel.sh's extracted trees
// (src-*), O= build trees (build-*) and one out-<key> dir per spec.
const dirKbuild = "kbuild"

// SourceSpec is a parsed source: kernel spec:
//
//	source:<tarball|tree>[,patch=<file>]…[,revert=<file>]…[,config=<fragment>][,localversion=<str>]
//
// Patches and reverts apply in the order given.
type SourceSpec struct {
	Source       string
	Patches      []SourcePatch
	Config       string // "" = the embedded guest fragment (kconfig/mptcp-guest.config)
	LocalVersion string // "" = build-kernel.sh's default
}

// SourcePatch is one patch of a source: spec.
type SourcePatch struct {
	Revert bool
	File   string
}

func parseSourceSpec(raw string, args []string) (SourceSpec, error) {
	var s SourceSpec
	if len(args) == 0 || strings.Contains(args[0], "=") {
		return s, &SpecError{raw, "want source:<tarball|tree>[,patch=<file>][,revert=<file>][,config=<fragment>][,localversion=<str>]"}
	}
	s.Source = args[0]
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" {
			return s, &SpecError{raw, fmt.Sprintf("%q: want key=value (patch, revert, config, localversion)", a)}
		}
		switch k {
		case "patch", "revert":
			s.Patches = append(s.Patches, SourcePatch{Revert: k == "revert", File: v})
		case "config":
			s.Config = v
		case "localversion":
			for _, r := range v {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-", r)) {
					return s, &SpecError{raw, fmt.Sprintf("localversion %q: only [A-Za-z0-9._+-]", v)}
				}
			}
			s.LocalVersion = v
		default:
			return s, &SpecError{raw, fmt.Sprintf("unknown option %q (patch, revert, config, localversion)", k)}
		}
	}
	return s, nil
}

// buildFromSource compiles the kernel of a source: spec with the embedded
// build-kernel.sh (module-free bzImage, build tree cached under
// <cache>/kbuild, so the same tree with one patch more or less rebuilds
// incrementally) and returns the bzImage path. The script's output goes to
// the builder's log.
func (b *Builder) buildFromSource(ctx context.Context, raw string, s SourceSpec) (string, error) {
	// abs makes p absolute and checks it: the source may be a tree, the
	// other inputs must be files.
	abs := func(p string, dirOK bool) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(a)
		if err != nil {
			return "", &FileError{p, "read", err}
		}
		if fi.IsDir() && !dirOK {
			return "", &FileError{p, "read", errors.New("is a directory, want a file")}
		}
		return a, nil
	}
	var err error
	if s.Source, err = abs(s.Source, true); err != nil {
		return "", err
	}
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(tmpRoot, "kbuild-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	script := filepath.Join(work, "build-kernel.sh")
	if err := os.WriteFile(script, kconfig.BuildScript, 0o755); err != nil {
		return "", err
	}
	fragment := filepath.Join(work, "mptcp-guest.config")
	if s.Config != "" {
		if fragment, err = abs(s.Config, false); err != nil {
			return "", err
		}
	} else if err := os.WriteFile(fragment, kconfig.GuestFragment, 0o644); err != nil {
		return "", err
	}
	args := []string{script, "--source", s.Source, "--cache", filepath.Join(b.cacheDir(), dirKbuild),
		"--config-fragment", fragment, "--jobs", fmt.Sprint(runtime.NumCPU())}
	// The out dir is per spec (absolute paths): the script itself checks
	// that what it holds matches the inputs' hashes, and rebuilds if not.
	id := []string{"source", s.Source, s.Config, s.LocalVersion}
	for _, p := range s.Patches {
		f, err := abs(p.File, false)
		if err != nil {
			return "", err
		}
		flag := "--patch"
		if p.Revert {
			flag = "--revert"
		}
		args = append(args, flag, f)
		id = append(id, flag, f)
	}
	if s.LocalVersion != "" {
		args = append(args, "--localversion", s.LocalVersion)
	}
	out := filepath.Join(b.cacheDir(), dirKbuild, "out-"+keyOf(id...)[:16])
	args = append(args, "--out", out)

	// One srutest at a time builds a given tree (see lockTree): the
	// out dir's build.log below is created before the script's own lock.
	lock, err := b.lockTree(ctx, "building", s.Source)
	if err != nil {
		return "", err
	}
	defer lock.Unlock()

	// make spawns a tree of compilers: internal/proc stops the whole
	// process group on cancel (SIGTERM, SIGKILL 10 s later: make passes
	// SIGTERM on and removes half-written targets) and kills it if srutest
	// dies mid-build.
	cmd := proc.Command(ctx, 10*time.Second, "bash", args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// The script's own progress lines go to the log; the compiler's chatter
	// only to build.log, and its tail into the error when the build fails.
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	logPath := filepath.Join(out, "build.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	progress := &lineFilter{prefix: "build-kernel: ", w: b.Log}
	tail := &tailBuffer{max: 4 << 10}
	cmd.Stderr = io.MultiWriter(logFile, progress, tail)
	b.logf("building kernel from %s (%s)", s.Source, raw)
	err = cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("kernel build interrupted: %w", ctx.Err())
	}
	if pe := patchError(err, out, s); pe != nil {
		return "", pe
	}
	if err != nil {
		return "", fmt.Errorf("kernel build from %s failed (%v); full log %s, last lines:\n%s", s.Source, err, logPath, tail.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	bz := lines[len(lines)-1]
	if !filepath.IsAbs(bz) {
		return "", fmt.Errorf("kernel build from %s: no bzImage path in its output %q", s.Source, stdout.String())
	}
	return bz, nil
}

// lineFilter passes the lines that start with prefix to w (nil: none).
type lineFilter struct {
	prefix string
	w      io.Writer
	part   []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.part = append(f.part, p...)
	for {
		i := bytes.IndexByte(f.part, '\n')
		if i < 0 {
			break
		}
		line := f.part[:i+1]
		if f.w != nil && bytes.HasPrefix(line, []byte(f.prefix)) {
			f.w.Write(line)
		}
		f.part = f.part[i+1:]
	}
	if len(f.part) > 64<<10 { // a line that never ends: drop it
		f.part = f.part[:0]
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimRight(string(t.buf), "\n") }

// sourceKind is source:<tree|tarball>[,patch=…][,revert=…][,config=…]
// [,localversion=…]: build-kernel.sh compiles a module-free bzImage (build
// trees cached in kbuild/), which then makes a layer as bzimage: does.
type sourceKind struct{}

func (sourceKind) kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error) {
	ss, _ := parseSourceSpec(sp.Raw, sp.Args) // checked by ParseSpec
	tm.start("fetch")
	treeMeta, err := b.resolveTree(ctx, &ss)
	if err != nil {
		return nil, err
	}
	tm.start("kernel build")
	bz, err := b.buildFromSource(ctx, sp.Raw, ss)
	var pe *PatchError
	if errors.As(err, &pe) && treeMeta["source_tree"] != "" {
		pe.Tree = treeMeta["source_tree"]
	}
	if err != nil {
		return nil, err
	}
	tm.start("resolve")
	src, err := bzImageSource(bz)
	if err != nil {
		return nil, err
	}
	src.desc = sp.Raw
	for k, v := range treeMeta {
		src.meta[k] = v
	}
	return src, nil
}
