// Package runner wires the stages together for one run and schedules them:
// images are built one at a time in plan order ahead of the guests (images);
// Jobs kernels boot at once (vm); a kernel's isolated scenarios run at the
// same time in its guest, each in its own slot, reproducers alone
// (scenarios); the cells, repeated when asked, go into the results model
// (report).
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
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/internal/termtext"
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
	// Lookup finds a built-in scenario by name; default scenarios.Lookup.
	Lookup func(name string) (scenarios.Scenario, bool)
	VM     vm.Config // template: QEMU, MemoryMB, CPUs, KVM, BootTimeout
	Pair   string    // host path of the static srutest-pair binary
	Out    string    // run directory; results.json and artifacts land here
	Log    io.Writer
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
	// OnKernel is called after each kernel finishes (progress output).
	OnKernel func(report.Kernel)
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
	}
	run.Host, _ = os.Hostname()
	repros := map[string]plan.Repro{}
	for _, rp := range p.Reproducers {
		repros[rp.Name] = rp
	}
	jobs := r.Jobs
	if jobs < 1 {
		jobs = 1
	}
	build := r.Build
	if build == nil {
		build = r.Images.Build
	}
	// One builder, in plan order: downloads and image builds of the next
	// kernels proceed while earlier kernels' guests run; a kernel's guest
	// waits only for its own image.
	images := make([]chan built, len(p.Kernels))
	for i := range images {
		images[i] = make(chan built, 1)
	}
	go func() {
		for i, k := range p.Kernels {
			if ctx.Err() != nil {
				images[i] <- built{err: ctx.Err()}
				continue
			}
			r.logf("== %s: building image for %s", k.Name, k.Spec)
			img, err := build(ctx, k.Spec)
			images[i] <- built{img, err}
		}
	}()
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, jobs)
	)
	for i, k := range p.Kernels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			b := <-images[i]
			kr := r.runKernel(ctx, k, b, repros)
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
	if b.err != nil {
		return errorAll("image: "+b.err.Error(), "")
	}
	img := b.img
	for _, t := range img.Timings {
		kr.Timings = append(kr.Timings, report.Timing{Phase: t.Phase, Duration: t.Duration})
	}
	kr.Version = img.Meta["version"]
	g := &guestSlot{r: r, k: k, kr: &kr, kdir: kdir, img: img}
	defer g.close()

	rounds := max(r.Repeat, 1)
	cells := make([]report.Cell, len(k.Scenarios))
	t0 := time.Now()
	for round := 1; round <= rounds; round++ {
		for _, batch := range r.batches(k.Scenarios, repros) {
			for _, res := range g.runBatch(ctx, batch, round, repros) {
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
	return kr
}

// item is one plan item of a kernel with its place in the row.
type item struct {
	idx int
	it  plan.Item
	sc  scenarios.Scenario // nil: unknown scenario
}

// batches groups a kernel's items into what runs at once in one guest:
// consecutive isolated scenarios (the keepalive cells, each in its own
// netns pair and address range) share a batch, up to scenarios.MaxSlots;
// anything else (a reproducer, an unknown name) runs alone, in plan
// order. With FreshGuest every item is its own batch.
func (r *Runner) batches(items []plan.Item, repros map[string]plan.Repro) [][]item {
	lookup := r.Lookup
	if lookup == nil {
		lookup = scenarios.Lookup
	}
	var out [][]item
	var cur []item
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	for i, it := range items {
		var sc scenarios.Scenario
		if rp, ok := repros[it.Scenario]; ok {
			sc = &scenarios.Reproducer{ID: rp.Name, Files: rp.Files, Command: rp.Command, Timeout: rp.Timeout}
		} else if s, ok := lookup(it.Scenario); ok {
			sc = s
		}
		x := item{idx: i, it: it, sc: sc}
		if r.FreshGuest || sc == nil || !scenarios.Isolated(sc) {
			flush()
			out = append(out, []item{x})
			continue
		}
		if len(cur) == scenarios.MaxSlots {
			flush()
		}
		cur = append(cur, x)
	}
	flush()
	return out
}

// withRepeat records a later run of a cell in the first run's cell.
func withRepeat(first, again report.Cell) report.Cell {
	if len(first.Repeats) == 0 {
		first.Repeats = []report.Repeat{{Outcome: first.Outcome, Reason: first.Reason, Artifacts: first.Artifacts}}
	}
	first.Repeats = append(first.Repeats, report.Repeat{Outcome: again.Outcome, Reason: again.Reason, Artifacts: again.Artifacts})
	return first
}

// settleRepeats marks a repeated cell Flaky when its runs' outcomes differ.
func settleRepeats(c report.Cell) report.Cell {
	for _, rp := range c.Repeats {
		if rp.Outcome != c.Outcome {
			c.Flaky = true
		}
	}
	return c
}

// result is one cell of a batch.
type result struct {
	idx  int
	cell report.Cell
}

// guestSlot owns a kernel's current guest: boots it on demand, runs
// batches in it, replaces it after a crash, a wedge or (FreshGuest) every
// batch, and saves each guest's console.
type guestSlot struct {
	r    *Runner
	k    plan.Kernel
	kr   *report.Kernel
	kdir string
	img  *images.Image

	m                    Guest
	boots                int
	bootErr, bootConsole string
	// pair is where the pair binary was pushed into the current guest
	// ("" when not yet, or the push failed: cells then push their own).
	pair string
}

func (g *guestSlot) close() {
	g.pair = ""
	if g.m != nil {
		saveConsole(g.m, g.kdir, g.boots)
		g.m.Close()
		g.m = nil
	}
}

// ensure boots a guest unless one is up; a kernel that does not boot will
// not boot for the next cell either (every boot costs up to the boot
// deadline), so the first boot error sticks.
func (g *guestSlot) ensure(ctx context.Context) error {
	if g.bootErr != "" {
		return errors.New(g.bootErr)
	}
	if g.m != nil {
		return nil
	}
	r := g.r
	bootGuest := r.Boot
	if bootGuest == nil {
		bootGuest = Boot
	}
	g.boots++
	t0 := time.Now()
	cfg := r.VM
	cfg.Kernel, cfg.Initrd = g.img.Kernel, g.img.Initrd
	cfg.HostKey, cfg.ClientKey = g.img.HostKey, g.img.ClientKey
	m, err := bootGuest(ctx, cfg)
	if err != nil {
		g.bootErr = fmt.Sprintf("boot#%d: %v", g.boots, err)
		var be *vm.BootError
		if errors.As(err, &be) {
			g.bootConsole = be.Output
		}
		if g.boots == 1 {
			g.kr.Error = g.bootErr
		}
		return errors.New(g.bootErr)
	}
	g.m = m
	g.kr.Timings = append(g.kr.Timings, report.Timing{Phase: fmt.Sprintf("boot#%d", g.boots), Duration: time.Since(t0)})
	r.logf("   %s: guest up in %.1fs (%s)", g.k.Name, time.Since(t0).Seconds(), m.Accel())
	if g.kr.Release == "" {
		res, err := m.Exec(ctx, "uname -r")
		if err == nil && res.ExitCode == 0 {
			g.kr.Release = strings.TrimSpace(string(res.Stdout))
		}
	}
	g.pushPair(ctx)
	return nil
}

// guestPairPath is where the runner puts the pair binary in every guest.
const guestPairPath = "/tmp/srutest-pair"

// pushPair puts the pair into the fresh guest once for all its cells. A
// failure is not fatal: each cell then pushes its own copy, and its
// commands.log records the error where the user looks.
func (g *guestSlot) pushPair(ctx context.Context) {
	if g.r.Pair == "" {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, time.Duration(vm.Scale(g.m.Accel()))*30*time.Second)
	defer cancel()
	if err := g.m.Push(pctx, g.r.Pair, guestPairPath); err != nil {
		g.r.logf("   %s: push pair: %v (each cell pushes its own)", g.k.Name, err)
		return
	}
	g.pair = guestPairPath
}

// runBatch runs the batch's cells at once in one guest, each in its own
// slot. When the guest crashes under a batch of several cells, nobody can
// tell which cell's traffic crashed it: each of those cells is run again
// alone (a fresh guest after every crash), so a crash is pinned on the
// cell that reproduces it and the others keep their real verdicts.
func (g *guestSlot) runBatch(ctx context.Context, batch []item, round int, repros map[string]plan.Repro) []result {
	out := g.runTogether(ctx, batch, round)
	if len(batch) == 1 {
		return out
	}
	for i, res := range out {
		if !crashedCell(res.cell) || ctx.Err() != nil {
			continue
		}
		g.r.logf("   %s × %s: guest crashed while %d cells ran at once; running it again alone", g.k.Name, batch[i].it.Scenario, len(batch))
		again := g.runTogether(ctx, batch[i:i+1], round)[0]
		again.cell.Reason += fmt.Sprintf(" (run alone after the guest crashed while %d cells ran at once)", len(batch))
		out[i] = again
	}
	return out
}

// crashedCell reports whether a cell ended in a kernel crash.
func crashedCell(c report.Cell) bool {
	return c.Outcome == report.Error && strings.HasPrefix(c.Reason, crashReason)
}

const crashReason = "kernel crash during scenario: "

// runTogether boots a guest if needed and runs the cells at once.
func (g *guestSlot) runTogether(ctx context.Context, batch []item, round int) []result {
	r := g.r
	out := make([]result, len(batch))
	errCell := func(x item, reason, console string) report.Cell {
		return report.Cell{Scenario: x.it.Scenario, Outcome: report.Error, Expected: x.it.Expected, Reason: reason, Console: console}
	}
	if ctx.Err() != nil {
		for i, x := range batch {
			out[i] = result{x.idx, errCell(x, "interrupted: "+ctx.Err().Error(), "")}
		}
		return out
	}
	if err := g.ensure(ctx); err != nil {
		for i, x := range batch {
			out[i] = result{x.idx, errCell(x, err.Error(), g.bootConsole)}
		}
		return out
	}
	var wg sync.WaitGroup
	for i, x := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cell := r.runCell(ctx, g.m, x, cellPlace{slot: i, of: len(batch), round: round}, g.kdir, g.pair)
			r.logf("   %s × %s: %s (%s) %s", g.k.Name, x.it.Scenario, cell.Outcome, cell.Duration.Round(100*time.Millisecond), cell.Reason)
			out[i] = result{x.idx, cell}
		}()
	}
	wg.Wait()
	// A crashed or wedged guest is never reused; nor is any guest when
	// the user asked for one guest per scenario.
	if g.m.Crashed() != nil || r.FreshGuest || !alive(ctx, g.m) {
		g.close()
	}
	return out
}

// artifactsDir makes (empty) the directory where a cell's run keeps its
// evidence: <kernel>/<scenario> for the first run, <kernel>/<scenario>/repeat-<n>
// for the others. Only directories srutest made are ever emptied (ownedDir).
func artifactsDir(kdir, scenario string, round int) (string, error) {
	d, err := ownedDir(kdir, Slug(scenario), round == 1)
	if err != nil || round == 1 {
		return d, err
	}
	return ownedDir(d, fmt.Sprintf("repeat-%d", round), true)
}

// cellPlace is where a cell runs: its slot among the of cells that run at
// once, in which round of --repeat.
type cellPlace struct{ slot, of, round int }

// timeScale multiplies a cell's default guest deadlines: the accelerator's
// factor (×3 under TCG), times the cells sharing the guest, since each
// step then shares the guest's CPU with theirs. A deadline only bounds a
// hung guest; one that expires on a healthy, busy guest is a false ERROR.
func timeScale(accel string, cells int) float64 {
	return float64(vm.Scale(accel)) * float64(max(cells, 1))
}

func (r *Runner) runCell(ctx context.Context, m Guest, x item, at cellPlace, kdir, guestPair string) report.Cell {
	slot, round := at.slot, at.round
	t0 := time.Now()
	it := x.it
	adir, err := artifactsDir(kdir, it.Scenario, round)
	if err != nil {
		return report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: "artifacts dir: " + err.Error()}
	}
	if x.sc == nil {
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
	scale := timeScale(m.Accel(), at.of)
	cell := x.sc.Run(sctx, scenarios.Env{Guest: m, Pair: r.Pair, Artifacts: adir, Log: r.Log, Slot: slot, TimeScale: scale, GuestPair: guestPair})
	cell.Scenario = it.Scenario
	cell.Expected = it.Expected
	if err := m.Crashed(); err != nil {
		cell.Outcome = report.Error
		cell.Reason = crashReason + firstLine(err.Error())
		var ce *vm.CrashError
		if errors.As(err, &ce) {
			cell.Console = ce.Output
		}
	}
	// The console lines printed while the scenario ran (kernel messages,
	// crash traces) belong to the cell's evidence; cells that ran at once
	// share those lines.
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
func (g guest) Crashed() error { return g.m.Crashed() }
