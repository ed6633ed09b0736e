package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ParseModuleList parses the load-order file (/etc/srutest/modules): one
// absolute module path per line, dependencies first. Blank lines and
// '#' comments are skipped; a relative path is an error (the agent has no
// search path), reported with its line number.
func ParseModuleList(data []byte) ([]string, error) {
	var out []string
	var bad []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !strings.HasPrefix(l, "/") {
			bad = append(bad, fmt.Errorf("line %d: %q is not an absolute path", n, l))
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, err)
	}
	return out, errors.Join(bad...)
}

// ModuleName is the kernel's name for a module file: the base name without
// .ko and a compression suffix, dashes as underscores.
func ModuleName(p string) string {
	b := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, ext)
	}
	b = strings.TrimSuffix(b, ".ko")
	return strings.ReplaceAll(b, "-", "_")
}

// netChain are the modules the agent needs for eth0; images lists them
// (with their dependencies) before everything else.
var netChain = map[string]bool{"virtio_pci": true, "virtio_net": true}

// SplitNetChain splits a load order after the last module of the virtio NIC
// chain: the first part must be loaded before eth0 can appear, the rest can
// load while SSH starts. With no chain module (built into the kernel) the
// first part is empty.
func SplitNetChain(order []string) (chain, rest []string) {
	cut := 0
	for i, p := range order {
		if netChain[ModuleName(p)] {
			cut = i + 1
		}
	}
	return order[:cut:cut], order[cut:]
}

// ModuleResult is the outcome of loading one module.
type ModuleResult struct {
	Path     string
	Err      error // nil when loaded or already present
	Existed  bool  // EEXIST: built in or already loaded
	Duration time.Duration
}

// String is the modules.log line.
func (r ModuleResult) String() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("FAIL %s: %v", r.Path, r.Err)
	case r.Existed:
		return fmt.Sprintf("exists %s", r.Path)
	default:
		return fmt.Sprintf("ok %s %s", r.Path, r.Duration.Round(time.Microsecond))
	}
}

// LoadModules loads each path in order with load, carrying on after a
// failure (a scenario that needs the module will notice, and the log says
// why). EEXIST from load counts as success. Each result is also written to
// log as one line.
func LoadModules(paths []string, load func(path string) error, log io.Writer) []ModuleResult {
	res := make([]ModuleResult, 0, len(paths))
	for _, p := range paths {
		t0 := time.Now()
		err := load(p)
		r := ModuleResult{Path: p, Duration: time.Since(t0)}
		switch {
		case errors.Is(err, unix.EEXIST):
			r.Existed = true
		case err != nil:
			r.Err = err
		}
		if log != nil {
			fmt.Fprintln(log, r)
		}
		res = append(res, r)
	}
	return res
}

// FinitModule loads one plain .ko file into the kernel with finit_module(2),
// falling back to init_module(2) on kernels or file systems without it.
func FinitModule(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		img, rerr := io.ReadAll(f)
		if rerr != nil {
			return fmt.Errorf("load module %s: read: %w", p, rerr)
		}
		err = unix.InitModule(img, "")
	}
	if err != nil {
		return fmt.Errorf("load module %s: %w", ModuleName(p), err)
	}
	return nil
}
