// Package runner wires the stages together for one run and schedules them:
// images are built one at a time in plan order ahead of the guests (images);
// Jobs kernels boot at once (vm); a kernel's isolated scenarios run at the
// same time in its guest, each in its own slot, reproducers alone
// (scenarios); the cells, repeated when asked, go into the results model
// (report).
//
// It is the only package that knows all four stages and adapts one to
// another: guest turns *vm.Machine into the scenarios.Guest a scenario
// runs against. The stages stay ignorant of each other except for the
// results model: plan (expected outcomes) and scenarios (the cell a
// scenario returns) import report, which imports no stage
// (internal/layers checks these rules).
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/internal/termtext"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/selftests"
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
	// Lookup finds a built-in scenario by name; default scenarios.Lookup.
	Lookup func(name string) (scenarios.Scenario, bool)
	// VM is the guests' template: QEMU, MemoryMB, CPUs, KVM, BootTimeout.
	// CPUs < 1 sizes them per run with GuestCPUs from how many guests run
	// at once: Jobs, or fewer when the plan boots fewer kernels.
	VM   vm.Config
	Pair string // host path of the static srutest-pair binary
	Out  string // run directory; results.json and artifacts land here
	Log  io.Writer
	// FreshGuest boots a new guest for every scenario instead of sharing one
	// guest per kernel (scenarios reset their netns either way); its cells
	// then run one after another.
	FreshGuest bool
	// Jobs is how many kernels run at once (< 1: one; the CLI sizes its
	// default from the host with DefaultJobs). Images are built one at a
	// time in plan order, ahead of the guests, so the next kernel's
	// download and image build overlap the running guests.
	Jobs int
	// Repeat runs every cell this many times (< 1: once); a cell whose
	// outcome varied is Flaky.
	Repeat int
	// Shard is recorded in every results.json saved ("i/n", "" unsharded).
	Shard string
	// Progress, when set, is told what each kernel and cell is doing (the
	// live matrix of `srutest run` on a terminal). It is called from
	// several goroutines at once (cells at once, Jobs > 1).
	Progress func(Event)
	// OnKernel is called after each kernel finishes (progress output).
	OnKernel func(report.Kernel)
	// BuildSelftest builds the image of kernel selftest guests (base
	// modules plus extra); default: a copy of Images with ExtraModules.
	BuildSelftest func(ctx context.Context, spec string, extra []string) (*images.Image, error)
	// SelftestTools are the host programs pushed with a selftest suite
	// (nil: selftests.DefaultTools).
	SelftestTools []selftests.Tool

	selftests map[string]*selftestCol // columns of the plan's selftest suites (selftests.go)
	// kernelsAtOnce is what Run sized VM.CPUs for (0: --cpus was given);
	// selftest suites that run several guests per kernel size theirs anew.
	kernelsAtOnce int
	accel         string // the run's accelerator (report.Run.Accel), with kernelsAtOnce
	// Resolve, when set, says what an archive spec resolves to without
	// downloading kernels (ErrNotArchive for other specs). The runner uses
	// it before anything boots: to skip a kernel that is not newer than
	// the one it must beat (plan.Kernel.NewerThan: -proposed vs -updates)
	// and to name AutoName kernels by their ABI.
	Resolve func(ctx context.Context, spec string) (Resolved, error)

	tcpdumpOnce sync.Once
	tcpdump     string // host tcpdump for pcapText, "" if none
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

// built is one kernel's image, or why there is none.
type built struct {
	img *images.Image
	err error
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
		Shard:   r.Shard,
	}
	run.Host, _ = os.Hostname()
	var cleanup func()
	r.selftests, cleanup = r.prepareSelftests(ctx, p)
	defer cleanup()
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
	if r.VM.CPUs < 1 {
		// Sized for this run only: a Runner run again (bisect steps)
		// sizes again.
		defer func(tmpl vm.Config) { r.VM, r.kernelsAtOnce, r.accel = tmpl, 0, "" }(r.VM)
		booting := 0
		for _, s := range skips {
			if s == "" {
				booting++
			}
		}
		r.kernelsAtOnce, r.accel = min(jobs, booting), run.Accel
		r.VM.CPUs = GuestCPUs(r.kernelsAtOnce, r.accel)
	}
	run.CPUs = r.VM.CPUs
	r.logf("== %d kernel(s) at a time, %d vCPU(s) per guest", jobs, r.VM.CPUs)
	build := r.Build
	if build == nil {
		build = r.Images.Build
	}
	// One builder, in plan order: downloads and image builds of the next
	// kernels proceed while earlier kernels' guests run; a kernel's guest
	// waits only for its own image.
	images := make([]chan built, len(kernels))
	for i := range images {
		images[i] = make(chan built, 1)
	}
	go func() {
		for i, k := range kernels {
			if skips[i] != "" {
				// Nothing to verify: nothing to download or build.
				images[i] <- built{}
				continue
			}
			if ctx.Err() != nil {
				images[i] <- built{err: ctx.Err()}
				continue
			}
			r.logf("== %s: building image for %s", k.Name, k.Spec)
			r.progress(Event{Kernel: k.Name, Phase: PhaseBuild})
			img, err := build(ctx, k.Spec)
			images[i] <- built{img, err}
		}
	}()
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
			b := <-images[i]
			var kr report.Kernel
			if skips[i] != "" {
				kr = skipKernel(k, skips[i])
				kr.Notes = skipNotes[i]
				r.logf("== %s: SKIP: %s", k.Name, skips[i])
			} else {
				kr = r.runKernel(ctx, k, b, repros)
			}
			r.progress(Event{Kernel: k.Name, Phase: PhaseKernelDone, Result: &kr})
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

// Phase is what an Event reports.
type Phase int

const (
	PhaseBuild      Phase = iota // the kernel's guest image is being built
	PhaseBoot                    // booting a guest
	PhaseCell                    // a cell started (Event.Scenario)
	PhaseCellDone                // a cell finished (Event.Cell)
	PhaseKernelDone              // every cell of the kernel is decided (Event.Result)
)

// Event is one step of a run, for progress displays.
type Event struct {
	Kernel   string
	Scenario string
	Phase    Phase
	Cell     *report.Cell   // PhaseCellDone
	Result   *report.Kernel // PhaseKernelDone: every cell, also those decided without running (boot failure, interrupt), repeats settled
}

func (r *Runner) progress(e Event) {
	if r.Progress != nil {
		r.Progress(e)
	}
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
		// Reasons quote guest output: no escape sequence reaches the terminal.
		fmt.Fprintln(r.Log, termtext.Clean(fmt.Sprintf(format, args...)))
	}
}

// Slug turns a kernel or scenario name into a directory name (plan.DirName;
// plan files with names that give "" or collide are rejected at load).
func Slug(s string) string { return plan.DirName(s) }

func (r *Runner) runKernel(ctx context.Context, k plan.Kernel, b built, repros map[string]plan.Repro) report.Kernel {
	kr := report.Kernel{Name: k.Name, Spec: k.Spec, Role: k.Role, Pocket: k.Pocket}
	errorAll := func(reason, console string) report.Kernel {
		kr.Error = reason
		for _, it := range k.Scenarios {
			kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: reason, Console: console})
		}
		return kr
	}
	kdir, err := ownedDir(r.Out, Slug(k.Name), false)
	if err != nil {
		return errorAll("artifacts dir: "+err.Error(), "")
	}
	if b.err != nil && r.patchCells(b.err, &kr, k.Scenarios, kdir) {
		return kr
	}
	if b.err != nil {
		return errorAll("image: "+b.err.Error(), "")
	}
	img := b.img
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
	// Selftest columns run on their own guests, after the scenarios.
	var selftestItems []plan.Item
	k.Scenarios, selftestItems = r.splitSelftests(k.Scenarios)
	g := &guestSlot{r: r, k: k, kr: &kr, kdir: kdir, img: img}
	defer g.close()

	rounds := max(r.Repeat, 1)
	cells := make([]report.Cell, len(k.Scenarios))
	t0 := time.Now()
	for round := 1; round <= rounds; round++ {
		// Within a round a boot failure sticks (one boot deadline, not one
		// per cell); each repeated round tries again, so a kernel that
		// boots only sometimes shows up as FLAKY rather than as ERROR.
		g.bootErr, g.bootConsole = "", ""
		batches := r.batches(k.Scenarios, repros)
		for bi, batch := range batches {
			last := round == rounds && bi == len(batches)-1
			for _, res := range g.runBatch(ctx, batch, round, last) {
				if round == 1 {
					cells[res.idx] = res.cell
				} else {
					cells[res.idx] = withRepeat(cells[res.idx], res.cell)
				}
			}
		}
	}
	if rounds > 1 {
		for i := range cells {
			cells[i] = settleRepeats(cells[i])
		}
	}
	kr.Cells = cells
	kr.Timings = append(kr.Timings, report.Timing{Phase: report.PhaseBootAndCells, Duration: time.Since(t0)})
	if len(selftestItems) > 0 {
		g.close() // the scenarios' guest is not needed any more
		kr.Cells = append(kr.Cells, r.runSelftests(ctx, k, selftestItems, kdir)...)
	}
	return kr
}

// alive checks the guest still answers before it is reused.
func alive(ctx context.Context, m Guest) bool {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second*vm.Scale(m.Accel()))
	defer cancel()
	res, err := m.Exec(ctx, "true")
	return err == nil && res.ExitCode == 0
}

func saveConsole(m Guest, kdir string, n int) {
	copyHeadTail(m.Console(), filepath.Join(kdir, fmt.Sprintf("console-%d.log", n)), maxConsoleSaved/2, maxConsoleSaved/2)
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
func (g guest) PullFiles(ctx context.Context, remotes []string, dir string) ([]error, error) {
	return g.m.PullFiles(ctx, remotes, dir)
}
func (g guest) Crashed() error { return g.m.Crashed() }
