// Package runner wires the stages together for one run: for each kernel of a
// plan it builds the guest image (images), boots it (vm), runs the scenarios
// (scenarios) and collects the cells into the results model (report).
//
// It is the only package that knows all four stages; each stage stays
// ignorant of the others.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/vm"
)

// Guest is what the runner needs of a booted machine; *vm.Machine through
// [Boot] in production, fakes in tests.
type Guest interface {
	scenarios.Guest
	// CrashCh is closed when the console shows a kernel crash.
	CrashCh() <-chan struct{}
	Console() string // path of the serial console log
	Accel() string   // "kvm" or "tcg"
	Close() error
}

// Boot starts a QEMU guest with vm.Start; it is the default Runner.Boot.
func Boot(ctx context.Context, cfg vm.Config) (Guest, error) {
	m, err := vm.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return guest{m}, nil
}

// Runner runs plans.
type Runner struct {
	Images *images.Builder
	// Build and Boot default to Images.Build and [Boot]; tests replace them.
	Build func(ctx context.Context, spec string) (*images.Image, error)
	Boot  func(ctx context.Context, cfg vm.Config) (Guest, error)
	VM    vm.Config // template: QEMU, MemoryMB, CPUs, KVM, BootTimeout
	Pair  string    // host path of the static srutest-pair binary
	Out   string    // run directory; results.json and artifacts land here
	Log   io.Writer
	// FreshGuest boots a new guest for every scenario instead of sharing one
	// guest per kernel (scenarios reset their netns either way).
	FreshGuest bool
	// Jobs is how many kernels run at once (default 1: TCG guests are
	// CPU-bound and keepalive timing wants an unloaded host).
	Jobs int
	// OnKernel is called after each kernel finishes (progress output).
	OnKernel func(report.Kernel)
	// Resolve, when set, says what an archive spec resolves to without
	// downloading kernels (ErrNotArchive for other specs). The runner uses
	// it before anything boots: to skip a kernel that is not newer than
	// the one it must beat (plan.Kernel.NewerThan: -proposed vs -updates)
	// and to name AutoName kernels by their ABI.
	Resolve func(ctx context.Context, spec string) (Resolved, error)
}

// Resolved is what Runner.Resolve reports about a spec.
type Resolved struct {
	// Absent is non-empty when the archive has no such kernel (e.g. the
	// -proposed pocket lists no meta package): why, in one line.
	Absent  string
	Dist    string // e.g. noble-proposed
	Version string // package version, e.g. 6.8.0-151.152
	Name    string // readable row name, e.g. noble-release-6.8.0-31
	Notes   []string
}

// ErrNotArchive is what Resolve returns for specs it does not resolve.
var ErrNotArchive = errors.New("not an archive kernel spec")

// nothingNewer decides, before anything is downloaded, whether k (with
// NewerThan set) has anything to verify. It returns the SKIP reason, or ""
// when k should run (including when the check itself could not be made: the
// build then reports the real error).
func (r *Runner) nothingNewer(ctx context.Context, k plan.Kernel) (string, []string) {
	if r.Resolve == nil || k.NewerThan == "" {
		return "", nil
	}
	cand, err := r.Resolve(ctx, k.Spec)
	if err != nil {
		r.logf("   %s: cannot check for a newer kernel: %v", k.Name, err)
		return "", nil
	}
	if cand.Absent != "" {
		return "nothing in " + cand.Dist + " to verify: " + cand.Absent, cand.Notes
	}
	base, err := r.Resolve(ctx, k.NewerThan)
	if err != nil || base.Absent != "" {
		r.logf("   %s: cannot resolve the kernel it must be newer than: %v %s", k.Name, err, base.Absent)
		return "", nil
	}
	if images.CompareVersions(cand.Version, base.Version) <= 0 {
		return fmt.Sprintf("nothing in %s to verify: it offers %s, not newer than %s in %s", cand.Dist, cand.Version, base.Version, base.Dist), cand.Notes
	}
	return "", nil
}

// Run executes p and returns the results; results.json is saved in r.Out
// after every kernel so an interrupted run still leaves evidence.
func (r *Runner) Run(ctx context.Context, p *plan.Plan) (*report.Run, error) {
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	run := &report.Run{
		Schema:  report.SchemaVersion,
		Name:    p.Name,
		Series:  p.Series,
		Bug:     p.Bug,
		Started: time.Now().UTC(),
		Kernels: make([]report.Kernel, len(p.Kernels)),
		Accel:   vm.DetectAccel(r.VM.KVM),
	}
	run.Host, _ = os.Hostname()
	repros := map[string]plan.Repro{}
	for _, rp := range p.Reproducers {
		repros[rp.Name] = rp
	}
	// A copy: renaming must not change the caller's plan.
	kernels := slices.Clone(p.Kernels)
	skips := make([]string, len(kernels))
	skipNotes := make([][]string, len(kernels))
	for i := range kernels {
		k := &kernels[i]
		skips[i], skipNotes[i] = r.nothingNewer(ctx, *k)
		if k.AutoName && r.Resolve != nil {
			if res, err := r.Resolve(ctx, k.Spec); err == nil && res.Name != "" {
				k.Name = res.Name
			}
		}
	}
	run.Pairs = slices.Clone(p.Pairs)
	jobs := r.Jobs
	if jobs < 1 {
		jobs = 1
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, jobs)
	)
	for i, k := range kernels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var kr report.Kernel
			if skips[i] != "" {
				kr = skipKernel(k, skips[i])
				kr.Notes = skipNotes[i]
				r.logf("== %s: SKIP: %s", k.Name, skips[i])
			} else {
				kr = r.runKernel(ctx, k, repros)
			}
			mu.Lock()
			run.Kernels[i] = kr
			run.Finished = time.Now().UTC()
			saveErr := run.Save(filepath.Join(r.Out, "results.json"))
			mu.Unlock()
			if saveErr != nil {
				r.logf("save results: %v", saveErr)
			}
			if r.OnKernel != nil {
				r.OnKernel(kr)
			}
		}()
	}
	wg.Wait()
	run.Finished = time.Now().UTC()
	if err := run.Save(filepath.Join(r.Out, "results.json")); err != nil {
		return run, err
	}
	return run, ctx.Err()
}

// skipKernel is a kernel not run because there is nothing to verify: every
// cell SKIP, expected so (a declared not-applicable, not an unexpected
// outcome), with the reason.
func skipKernel(k plan.Kernel, reason string) report.Kernel {
	kr := report.Kernel{Name: k.Name, Spec: k.Spec, Role: k.Role, Pocket: k.Pocket, Skip: reason}
	for _, it := range k.Scenarios {
		kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Skip, Expected: report.Skip, Reason: reason})
	}
	return kr
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+-]+`)

// Slug turns a kernel name into a directory name.
func Slug(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Trim(s, "_.")
}

func (r *Runner) runKernel(ctx context.Context, k plan.Kernel, repros map[string]plan.Repro) report.Kernel {
	kr := report.Kernel{Name: k.Name, Spec: k.Spec, Role: k.Role, Pocket: k.Pocket}
	kdir := filepath.Join(r.Out, Slug(k.Name))
	errorAll := func(reason, console string) report.Kernel {
		kr.Error = reason
		for _, it := range k.Scenarios {
			kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: reason, Console: console})
		}
		return kr
	}
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return errorAll("artifacts dir: "+err.Error(), "")
	}
	r.logf("== %s: building image for %s", k.Name, k.Spec)
	build, bootGuest := r.Build, r.Boot
	if build == nil {
		build = r.Images.Build
	}
	if bootGuest == nil {
		bootGuest = Boot
	}
	img, err := build(ctx, k.Spec)
	if err != nil {
		return errorAll("image: "+err.Error(), "")
	}
	for _, t := range img.Timings {
		kr.Timings = append(kr.Timings, report.Timing{Phase: t.Phase, Duration: t.Duration})
	}
	kr.Version = img.Meta["version"]
	// Resolver notes (end of life, an optional index not used) belong in
	// the output and the results, not only in a log line.
	if w := img.Meta["notes"]; w != "" {
		for _, n := range strings.Split(w, "; ") {
			kr.Notes = append(kr.Notes, n)
			r.logf("   %s: note: %s", k.Name, n)
		}
	}

	var m Guest
	boots := 0
	closeM := func() {
		if m != nil {
			saveConsole(m, kdir, boots)
			m.Close()
			m = nil
		}
	}
	defer closeM()
	boot := func() error {
		boots++
		t0 := time.Now()
		cfg := r.VM
		cfg.Kernel, cfg.Initrd = img.Kernel, img.Initrd
		cfg.HostKey, cfg.ClientKey = img.HostKey, img.ClientKey
		mm, err := bootGuest(ctx, cfg)
		if err != nil {
			return err
		}
		m = mm
		kr.Timings = append(kr.Timings, report.Timing{Phase: fmt.Sprintf("boot#%d", boots), Duration: time.Since(t0)})
		r.logf("   %s: guest up in %.1fs (%s)", k.Name, time.Since(t0).Seconds(), m.Accel())
		if kr.Release == "" {
			res, err := m.Exec(ctx, "uname -r")
			if err == nil && res.ExitCode == 0 {
				kr.Release = strings.TrimSpace(string(res.Stdout))
			}
		}
		return nil
	}

	var bootErr, bootConsole string
	for _, it := range k.Scenarios {
		if ctx.Err() != nil {
			kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: "interrupted: " + ctx.Err().Error()})
			continue
		}
		if bootErr != "" {
			kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: bootErr, Console: bootConsole})
			continue
		}
		if m == nil {
			if err := boot(); err != nil {
				// A kernel that does not boot will not boot for the next
				// scenario either: every boot costs up to the boot deadline,
				// so the remaining cells share this error.
				bootErr = fmt.Sprintf("boot#%d: %v", boots, err)
				var be *vm.BootError
				if errors.As(err, &be) {
					bootConsole = be.Output
				}
				if boots == 1 {
					kr.Error = bootErr
				}
				kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: bootErr, Console: bootConsole})
				continue
			}
		}
		cell := r.runCell(ctx, m, k, it, kdir, repros)
		kr.Cells = append(kr.Cells, cell)
		r.logf("   %s × %s: %s (%s) %s", k.Name, it.Scenario, cell.Outcome, cell.Duration.Round(100*time.Millisecond), cell.Reason)
		// A crashed or wedged guest is never reused; nor is any guest when
		// the user asked for one guest per scenario.
		if m.Crashed() != nil || r.FreshGuest || !alive(ctx, m) {
			closeM()
		}
	}
	return kr
}

func (r *Runner) runCell(ctx context.Context, m Guest, k plan.Kernel, it plan.Item, kdir string, repros map[string]plan.Repro) report.Cell {
	t0 := time.Now()
	adir := filepath.Join(kdir, Slug(it.Scenario))
	os.RemoveAll(adir)
	var sc scenarios.Scenario
	if rp, ok := repros[it.Scenario]; ok {
		sc = &scenarios.Reproducer{ID: rp.Name, Files: rp.Files, Command: rp.Command, Timeout: rp.Timeout}
	} else if s, ok := scenarios.Lookup(it.Scenario); ok {
		sc = s
	} else {
		return report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: "unknown scenario"}
	}
	conStart := fileSize(m.Console())
	// Abort the scenario the moment the console shows a crash: a crashed
	// guest often hangs, and waiting for timeouts hides the real cause.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.CrashCh():
			cancel()
		case <-sctx.Done():
		}
	}()
	cell := sc.Run(sctx, scenarios.Env{Guest: m, Pair: r.Pair, Artifacts: adir, Log: r.Log})
	cell.Scenario = it.Scenario
	cell.Expected = it.Expected
	if err := m.Crashed(); err != nil {
		cell.Outcome = report.Error
		cell.Reason = "kernel crash during scenario: " + firstLine(err.Error())
		var ce *vm.CrashError
		if errors.As(err, &ce) {
			cell.Console = ce.Output
		}
	}
	// The console lines printed while the scenario ran (kernel messages,
	// crash traces) belong to the cell's evidence.
	if err := copyTail(m.Console(), conStart, filepath.Join(adir, "console.txt"), maxConsoleExcerpt); err != nil {
		r.logf("   console excerpt: %v", err)
	}
	if rel, err := filepath.Rel(r.Out, adir); err == nil {
		if _, statErr := os.Stat(adir); statErr == nil {
			cell.Artifacts = rel
		}
	}
	cell.Duration = time.Since(t0)
	return cell
}

// alive checks the guest still answers before it is reused.
func alive(ctx context.Context, m Guest) bool {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := m.Exec(ctx, "true")
	return err == nil && res.ExitCode == 0
}

func saveConsole(m Guest, kdir string, n int) {
	data, err := os.ReadFile(m.Console())
	if err == nil {
		os.WriteFile(filepath.Join(kdir, fmt.Sprintf("console-%d.log", n)), data, 0o644)
	}
}

// maxConsoleExcerpt bounds a cell's console.txt (a looping trace can print
// megabytes); the last bytes are kept.
const maxConsoleExcerpt = 256 << 10

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// copyTail writes what path gained since offset (at most limit bytes, the
// last ones) to dst, creating dst's directory.
func copyTail(path string, offset int64, dst string, limit int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if end < offset { // truncated: take what is there
		offset = 0
	}
	if end-offset > limit {
		offset = end - limit
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, end-offset))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// guest adapts vm.Machine to Guest.
type guest struct{ m *vm.Machine }

func (g guest) CrashCh() <-chan struct{} { return g.m.CrashCh() }
func (g guest) Console() string          { return g.m.Console() }
func (g guest) Accel() string            { return g.m.Accel() }
func (g guest) Close() error             { return g.m.Close() }

func (g guest) Exec(ctx context.Context, cmd string) (scenarios.ExecResult, error) {
	res, err := g.m.Exec(ctx, cmd)
	return scenarios.ExecResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, err
}
func (g guest) Push(ctx context.Context, local, remote string) error {
	return g.m.Push(ctx, local, remote)
}
func (g guest) Pull(ctx context.Context, remote, local string) error {
	return g.m.Pull(ctx, remote, local)
}
func (g guest) Crashed() error { return g.m.Crashed() }
