package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/vm"
)

// fakeGuest plays a booted machine. Commands containing the words below
// steer it: FAKE-EXIT-<n> exits n, FAKE-CRASH puts a kernel crash on the
// console while the command hangs (as a crashed guest does), FAKE-WEDGE
// makes every later command fail (the guest stops answering).
type fakeGuest struct {
	id      int
	console string

	mu      sync.Mutex
	crashed error
	crashCh chan struct{}
	wedged  bool
	closed  bool
	cmds    []string
	pushes  []string
}

func (g *fakeGuest) Exec(ctx context.Context, cmd string) (scenarios.ExecResult, error) {
	g.mu.Lock()
	g.cmds = append(g.cmds, cmd)
	wedged, closed := g.wedged, g.closed
	g.mu.Unlock()
	switch {
	case closed:
		return scenarios.ExecResult{}, errors.New("fake: exec on a closed guest")
	case wedged:
		return scenarios.ExecResult{}, errors.New("fake: guest does not answer")
	case cmd == "uname -r":
		return scenarios.ExecResult{Stdout: []byte("6.99.0-fake\n")}, nil
	case strings.Contains(cmd, "FAKE-CRASH"):
		go func() {
			g.appendConsole("[ 12.3] BUG: kernel NULL pointer dereference, address: 0000000000000008\n")
			g.mu.Lock()
			g.crashed = &vm.CrashError{Title: "BUG: kernel NULL pointer dereference", Output: "[ 12.3] BUG: kernel NULL pointer dereference, address: 0000000000000008"}
			close(g.crashCh)
			g.mu.Unlock()
		}()
		<-ctx.Done() // a crashed guest hangs; the runner must not wait for a timeout
		return scenarios.ExecResult{}, ctx.Err()
	case strings.Contains(cmd, "FAKE-WEDGE"):
		g.mu.Lock()
		g.wedged = true
		g.mu.Unlock()
		return scenarios.ExecResult{}, nil
	}
	if strings.Contains(cmd, "FAKE-EXIT-") {
		g.appendConsole("[ 10.0] ran " + cmd + "\n")
	}
	if i := strings.Index(cmd, "FAKE-EXIT-"); i >= 0 {
		var n int
		fmt.Sscanf(cmd[i+len("FAKE-EXIT-"):], "%d", &n)
		return scenarios.ExecResult{Stderr: []byte(fmt.Sprintf("exit %d\n", n)), ExitCode: n}, nil
	}
	return scenarios.ExecResult{}, nil
}

func (g *fakeGuest) appendConsole(line string) {
	f, err := os.OpenFile(g.console, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		f.WriteString(line)
		f.Close()
	}
}

func (g *fakeGuest) Push(ctx context.Context, local, remote string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pushes = append(g.pushes, local+" -> "+remote)
	return nil
}
func (g *fakeGuest) Pull(ctx context.Context, remote, local string) error { return nil }
func (g *fakeGuest) Crashed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.crashed
}
func (g *fakeGuest) CrashCh() <-chan struct{} { return g.crashCh }
func (g *fakeGuest) Console() string          { return g.console }
func (g *fakeGuest) Accel() string            { return "tcg" }
func (g *fakeGuest) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return nil
}

// fakeWorld counts builds and boots and hands out fake guests.
type fakeWorld struct {
	t        *testing.T
	buildErr error
	bootErr  error // every boot fails with it

	mu     sync.Mutex
	builds []string
	guests []*fakeGuest
	cpus   []int // cfg.CPUs of every boot
}

func (w *fakeWorld) build(ctx context.Context, spec string) (*images.Image, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.builds = append(w.builds, spec)
	if w.buildErr != nil {
		return nil, w.buildErr
	}
	return &images.Image{Kernel: "vmlinuz", Initrd: "initrd", Release: "6.99.0-fake",
		Meta: map[string]string{"version": "6.99.0-1"}, Timings: []images.Timing{{Phase: "resolve", Duration: time.Millisecond}}}, nil
}

func (w *fakeWorld) boot(ctx context.Context, cfg vm.Config) (Guest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cpus = append(w.cpus, cfg.CPUs)
	if w.bootErr != nil {
		w.guests = append(w.guests, nil)
		return nil, w.bootErr
	}
	con := filepath.Join(w.t.TempDir(), "console.log")
	if err := os.WriteFile(con, []byte(fmt.Sprintf("guest %d console\n", len(w.guests)+1)), 0o644); err != nil {
		return nil, err
	}
	g := &fakeGuest{id: len(w.guests) + 1, console: con, crashCh: make(chan struct{})}
	w.guests = append(w.guests, g)
	return g, nil
}

func (w *fakeWorld) runner(out string) *Runner {
	return &Runner{Build: w.build, Boot: w.boot, Out: out}
}

// repro declares a reproducer scenario running cmd.
func repro(name, cmd string) plan.Repro { return plan.Repro{Name: name, Command: cmd} }

func onePlan(repros []plan.Repro, expected ...report.Outcome) *plan.Plan {
	k := plan.Kernel{Name: "k1", Spec: "bzimage:/x", Role: "after", Pocket: "noble-proposed"}
	for i, r := range repros {
		k.Scenarios = append(k.Scenarios, plan.Item{Scenario: r.Name, Expected: expected[i]})
	}
	return &plan.Plan{Name: "t", Series: "noble", Bug: "LP#2125444", Kernels: []plan.Kernel{k}, Reproducers: repros}
}

func outcomes(k report.Kernel) string {
	var s []string
	for _, c := range k.Cells {
		s = append(s, c.Scenario+"="+string(c.Outcome))
	}
	return strings.Join(s, " ")
}

func TestSharedGuest(t *testing.T) {
	w := &fakeWorld{t: t}
	out := t.TempDir()
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-3"), repro("c", "FAKE-EXIT-0")}, report.Pass, report.Fail, report.Pass)
	run, err := w.runner(out).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=PASS b=FAIL c=PASS" {
		t.Errorf("cells: %s", got)
	}
	if len(w.guests) != 1 {
		t.Errorf("%d guests booted, want one shared guest", len(w.guests))
	}
	if k.Release != "6.99.0-fake" || k.Version != "6.99.0-1" || k.Role != "after" || k.Pocket != "noble-proposed" {
		t.Errorf("kernel fields: %+v", k)
	}
	if run.Bug != "LP#2125444" || run.Series != "noble" {
		t.Errorf("run fields: bug %q series %q", run.Bug, run.Series)
	}
	if !run.AllAsExpected() {
		t.Error("run not as expected")
	}
	// results.json is the run, artifacts and the console are on disk.
	saved, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if outcomes(saved.Kernels[0]) != outcomes(k) {
		t.Errorf("saved %s", outcomes(saved.Kernels[0]))
	}
	for _, f := range []string{"k1/a/verdict.json", "k1/b/stderr.txt", "k1/console-1.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Each cell keeps the console lines printed while it ran, and only those.
	con, err := os.ReadFile(filepath.Join(out, "k1/b/console.txt"))
	if err != nil || !strings.Contains(string(con), "FAKE-EXIT-3") || strings.Contains(string(con), "FAKE-EXIT-0") || strings.Contains(string(con), "guest 1 console") {
		t.Errorf("k1/b/console.txt = %q, %v", con, err)
	}
	if c := k.Cells[1]; c.Artifacts != "k1/b" || !strings.Contains(c.Reason, "exited 3") {
		t.Errorf("cell b: artifacts %q reason %q", c.Artifacts, c.Reason)
	}
	if !w.guests[0].closed {
		t.Error("guest not closed at the end")
	}
}

func TestFreshGuestPerScenario(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.FreshGuest = true
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-0")}, report.Pass, report.Pass)
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.guests) != 2 || !w.guests[0].closed || !w.guests[1].closed {
		t.Errorf("%d guests, want 2, all closed", len(w.guests))
	}
	boots := 0
	for _, tm := range run.Kernels[0].Timings {
		if strings.HasPrefix(tm.Phase, "boot#") {
			boots++
		}
	}
	if boots != 2 {
		t.Errorf("timings record %d boots: %+v", boots, run.Kernels[0].Timings)
	}
}

// A crash mid-scenario is an ERROR carrying the console excerpt, noticed at
// once (not after the reproducer's timeout), and the next scenario gets a
// new guest.
func TestCrashEndsCellAndReplacesGuest(t *testing.T) {
	w := &fakeWorld{t: t}
	out := t.TempDir()
	crash := repro("b", "FAKE-CRASH")
	crash.Timeout = time.Hour
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), crash, repro("c", "FAKE-EXIT-0")}, report.Pass, report.Pass, report.Pass)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := w.runner(out).Run(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=PASS b=ERROR c=PASS" {
		t.Fatalf("cells: %s", got)
	}
	b := k.Cells[1]
	if !strings.Contains(b.Reason, "kernel crash during scenario: ") || !strings.Contains(b.Console, "NULL pointer dereference") {
		t.Errorf("crash cell: reason %q console %q", b.Reason, b.Console)
	}
	if con, err := os.ReadFile(filepath.Join(out, "k1/b/console.txt")); err != nil || !strings.Contains(string(con), "BUG: kernel NULL pointer") {
		t.Errorf("crash cell console.txt = %q, %v", con, err)
	}
	if b.Duration > 10*time.Second {
		t.Errorf("crash noticed after %s", b.Duration)
	}
	if len(w.guests) != 2 || !w.guests[0].closed {
		t.Fatalf("%d guests; the crashed one must be closed and replaced", len(w.guests))
	}
	for _, f := range []string{"k1/console-1.log", "k1/console-2.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if run.AllAsExpected() {
		t.Error("a crash cell counted as expected")
	}
}

// A guest that stops answering between scenarios is not reused.
func TestWedgedGuestIsReplaced(t *testing.T) {
	w := &fakeWorld{t: t}
	p := onePlan([]plan.Repro{repro("a", "true; FAKE-WEDGE"), repro("b", "FAKE-EXIT-0")}, report.Pass, report.Pass)
	run, err := w.runner(t.TempDir()).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.guests) != 2 {
		t.Errorf("%d guests, want the wedged one replaced", len(w.guests))
	}
	if got := outcomes(run.Kernels[0]); !strings.HasSuffix(got, "b=PASS") {
		t.Errorf("cells: %s", got)
	}
}

// A kernel that does not boot costs one boot deadline, not one per cell:
// every cell is ERROR with the boot error and the console.
func TestBootFailureErrorsAllCellsOnce(t *testing.T) {
	w := &fakeWorld{t: t, bootErr: &vm.BootError{Title: "no SSH within 60s", Output: "Kernel panic - not syncing: VFS"}}
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-0"), repro("c", "FAKE-EXIT-0")}, report.Pass, report.Pass, report.Pass)
	run, err := w.runner(t.TempDir()).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=ERROR b=ERROR c=ERROR" {
		t.Errorf("cells: %s", got)
	}
	if len(w.guests) != 1 {
		t.Errorf("%d boot attempts, want 1", len(w.guests))
	}
	for _, c := range k.Cells {
		if !strings.Contains(c.Reason, "boot#1: vm: boot failed: no SSH within 60s") || !strings.Contains(c.Console, "Kernel panic") {
			t.Errorf("%s: reason %q console %q", c.Scenario, c.Reason, c.Console)
		}
	}
	if k.Error == "" {
		t.Error("kernel error not set")
	}
	if got := report.ExitCode(run); got != report.ExitError {
		t.Errorf("exit code %d, want %d", got, report.ExitError)
	}
}

func TestBuildFailureErrorsAllCells(t *testing.T) {
	w := &fakeWorld{t: t, buildErr: errors.New("images: linux-image-x.deb: not a Debian package")}
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-0")}, report.Pass, report.Fail)
	run, err := w.runner(t.TempDir()).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=ERROR b=ERROR" || len(w.guests) != 0 {
		t.Errorf("cells %s, %d boots", got, len(w.guests))
	}
	if !strings.Contains(k.Error, "not a Debian package") || k.Cells[1].Expected != report.Fail {
		t.Errorf("kernel error %q, cell %+v", k.Error, k.Cells[1])
	}
}

// Cancelling the run (Ctrl-C) marks what did not run as interrupted and
// still saves results.json.
func TestCancelledRunSavesWhatItHas(t *testing.T) {
	w := &fakeWorld{t: t}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r := w.runner(out)
	r.OnKernel = func(report.Kernel) { cancel() }
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0")}, report.Pass)
	p.Kernels = append(p.Kernels, plan.Kernel{Name: "k2", Spec: "bzimage:/y", Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}})
	run, err := r.Run(ctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := outcomes(run.Kernels[1]); got != "a=ERROR" || !strings.HasPrefix(run.Kernels[1].Cells[0].Reason, "interrupted") {
		t.Errorf("k2 after cancel: %s %q", got, run.Kernels[1].Cells[0].Reason)
	}
	if _, err := report.Load(filepath.Join(out, "results.json")); err != nil {
		t.Error(err)
	}
}

// With Jobs > 1 kernels run at once but results keep plan order.
func TestJobsKeepPlanOrder(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.Jobs = 3
	p := &plan.Plan{Name: "t", Reproducers: []plan.Repro{repro("a", "FAKE-EXIT-0")}}
	for i := range 5 {
		p.Kernels = append(p.Kernels, plan.Kernel{Name: fmt.Sprintf("k%d", i), Spec: "bzimage:/x", Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}})
	}
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range run.Kernels {
		if k.Name != fmt.Sprintf("k%d", i) || outcomes(k) != "a=PASS" {
			t.Errorf("kernel %d: %s %s", i, k.Name, outcomes(k))
		}
	}
}

// VM.CPUs < 1: every guest of the run gets GuestCPUs for the guests that
// run at once (Jobs, or fewer kernels) under KVM, 1 under TCG; an explicit
// VM.CPUs is kept.
func TestRunSizesGuestCPUs(t *testing.T) {
	plan3 := func() *plan.Plan {
		p := &plan.Plan{Name: "t", Reproducers: []plan.Repro{repro("a", "FAKE-EXIT-0")}}
		for i := range 3 {
			p.Kernels = append(p.Kernels, plan.Kernel{Name: fmt.Sprintf("k%d", i), Spec: "bzimage:/x", Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}})
		}
		return p
	}
	for _, tc := range []struct {
		name          string
		kvm           string
		jobs, kernels int
		cpus, want    int
	}{
		{"one kernel", "on", 4, 1, 0, GuestCPUs(1, "kvm")},
		{"three kernels, two at a time", "on", 2, 3, 0, GuestCPUs(2, "kvm")},
		{"three kernels, one at a time", "on", 1, 3, 0, GuestCPUs(1, "kvm")},
		{"one kernel under TCG", "off", 4, 1, 0, 1},
		{"--cpus", "on", 2, 3, 3, 3},
		{"--cpus under TCG", "off", 2, 3, 3, 3},
	} {
		w := &fakeWorld{t: t}
		r := w.runner(t.TempDir())
		r.Jobs, r.VM.CPUs, r.VM.KVM = tc.jobs, tc.cpus, tc.kvm
		p := plan3()
		p.Kernels = p.Kernels[:tc.kernels]
		run, err := r.Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.cpus) != tc.kernels || run.CPUs != tc.want {
			t.Errorf("%s: run.CPUs %d, boots %v, want %d each", tc.name, run.CPUs, w.cpus, tc.want)
		}
		for _, c := range w.cpus {
			if c != tc.want {
				t.Errorf("%s: a guest booted with %d vCPUs, want %d", tc.name, c, tc.want)
			}
		}
		if r.VM.CPUs != tc.cpus {
			t.Errorf("%s: the run left VM.CPUs %d, want %d (sized per run)", tc.name, r.VM.CPUs, tc.cpus)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"noble-6.8-updates": "noble-6.8-updates",
		"../../etc/passwd":  "etc_passwd",
		"a b/c":             "a_b_c",
		"":                  "",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Slug(strings.Repeat("x", 200)); len(got) != 80 {
		t.Errorf("long slug has %d chars", len(got))
	}
}

func TestCopyTail(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "console.log")
	os.WriteFile(src, []byte("0123456789"), 0o644)
	for _, tc := range []struct {
		offset, limit int64
		want          string
	}{{4, 100, "456789"}, {0, 3, "789"}, {10, 100, ""}, {50, 100, "0123456789"}} {
		dst := filepath.Join(dir, "sub", "out.txt")
		if err := copyTail(src, tc.offset, dst, tc.limit); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != tc.want {
			t.Errorf("copyTail(%d, %d) = %q, want %q", tc.offset, tc.limit, got, tc.want)
		}
	}
	if err := copyTail(filepath.Join(dir, "missing"), 0, filepath.Join(dir, "x"), 10); err == nil {
		t.Error("missing console: no error")
	}
}

// fakeCell is an isolated scenario (it may share a guest with others at
// once): it runs cmd in the guest, tagged with its slot, and holds the
// guest for hold (or until cancelled) so cells of a batch overlap.
type fakeCell struct {
	name string
	cmd  string
	hold time.Duration
	// outcome, when set, decides the cell per run (1, 2, …) instead of
	// the exit code.
	outcome func(run int) report.Outcome

	mu      sync.Mutex
	runs    int
	running *atomic.Int32 // shared by the cells of a test
	peak    *atomic.Int32
	slots   []int
	pairs   []string // Env.GuestPair of each run
	discard []bool   // Env.Discard of each run
}

func (f *fakeCell) Name() string     { return f.name }
func (f *fakeCell) Describe() string { return "fake isolated cell" }
func (f *fakeCell) Isolated() bool   { return true }
func (f *fakeCell) Run(ctx context.Context, env scenarios.Env) report.Cell {
	f.mu.Lock()
	f.runs++
	run := f.runs
	f.slots = append(f.slots, env.Slot)
	f.pairs = append(f.pairs, env.GuestPair)
	f.discard = append(f.discard, env.Discard)
	f.mu.Unlock()
	if f.running != nil {
		n := f.running.Add(1)
		defer f.running.Add(-1)
		for {
			p := f.peak.Load()
			if n <= p || f.peak.CompareAndSwap(p, n) {
				break
			}
		}
	}
	os.MkdirAll(env.Artifacts, 0o755)
	res, err := env.Guest.Exec(ctx, fmt.Sprintf("%s slot=%d", f.cmd, env.Slot))
	select {
	case <-time.After(f.hold):
	case <-ctx.Done():
	}
	cell := report.Cell{Outcome: report.Pass}
	switch {
	case err != nil:
		cell.Outcome, cell.Reason = report.Error, err.Error()
	case f.outcome != nil:
		cell.Outcome = f.outcome(run)
	case res.ExitCode != 0:
		cell.Outcome = report.Fail
	}
	return cell
}

func fakeLookup(cells ...*fakeCell) func(string) (scenarios.Scenario, bool) {
	return func(name string) (scenarios.Scenario, bool) {
		for _, c := range cells {
			if c.name == name {
				return c, true
			}
		}
		return nil, false
	}
}

func itemsPlan(names ...string) *plan.Plan {
	k := plan.Kernel{Name: "k1", Spec: "bzimage:/x"}
	for _, n := range names {
		k.Scenarios = append(k.Scenarios, plan.Item{Scenario: n, Expected: report.Pass})
	}
	return &plan.Plan{Name: "t", Kernels: []plan.Kernel{k}}
}

// Isolated cells of a kernel run at the same time in one guest, each in
// its own slot; a reproducer between them runs alone, in plan order.
func TestIsolatedCellsRunAtOnce(t *testing.T) {
	var running, peak atomic.Int32
	mk := func(name string) *fakeCell {
		return &fakeCell{name: name, cmd: "FAKE-EXIT-0 " + name, hold: 200 * time.Millisecond, running: &running, peak: &peak}
	}
	a, b, c, d := mk("a"), mk("b"), mk("c"), mk("d")
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.Lookup = fakeLookup(a, b, c, d)
	r.Pair = "/host/srutest-pair"
	p := itemsPlan("a", "b", "c", "repro", "d")
	p.Reproducers = []plan.Repro{repro("repro", "FAKE-EXIT-0 repro")}
	t0 := time.Now()
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(run.Kernels[0]); got != "a=PASS b=PASS c=PASS repro=PASS d=PASS" {
		t.Errorf("cells: %s", got)
	}
	if len(w.guests) != 1 {
		t.Errorf("%d guests, want one", len(w.guests))
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("at most %d cells ran at once, want a, b, c together", p)
	}
	// Slots: a, b, c are 0, 1, 2; d runs in its own batch after the
	// reproducer, slot 0 again.
	for _, tc := range []struct {
		f    *fakeCell
		slot int
	}{{a, 0}, {b, 1}, {c, 2}, {d, 0}} {
		if len(tc.f.slots) != 1 || tc.f.slots[0] != tc.slot {
			t.Errorf("%s ran in slots %v, want [%d]", tc.f.name, tc.f.slots, tc.slot)
		}
	}
	// The pair went into the guest once, for every cell.
	if got := strings.Join(w.guests[0].pushes, "; "); got != "/host/srutest-pair -> /tmp/srutest-pair" {
		t.Errorf("pushes: %s", got)
	}
	for _, f := range []*fakeCell{a, b, c, d} {
		if len(f.pairs) != 1 || f.pairs[0] != "/tmp/srutest-pair" {
			t.Errorf("%s: Env.GuestPair %q", f.name, f.pairs)
		}
	}
	// The reproducer ran after a, b, c had finished and before d started.
	cmds := strings.Join(w.guests[0].cmds, "\n")
	if i, j := strings.Index(cmds, "repro"), strings.Index(cmds, "FAKE-EXIT-0 d"); i < 0 || j < i || strings.LastIndex(cmds, "FAKE-EXIT-0 c") > i {
		t.Errorf("order of guest commands:\n%s", cmds)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Logf("slow host: %s", d)
	}
}

// A crash while several cells run at once cannot be pinned on one of
// them: each crashed cell runs again alone, so only the cell that crashes
// the kernel by itself is ERROR.
func TestCrashInBatchRerunsCellsAlone(t *testing.T) {
	a := &fakeCell{name: "a", cmd: "FAKE-EXIT-0", hold: 2 * time.Second}
	b := &fakeCell{name: "b", cmd: "FAKE-CRASH"}
	c := &fakeCell{name: "c", cmd: "FAKE-EXIT-0", hold: 2 * time.Second}
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.Lookup = fakeLookup(a, b, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := r.Run(ctx, itemsPlan("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=PASS b=ERROR c=PASS" {
		t.Fatalf("cells: %s", got)
	}
	if !strings.Contains(k.Cells[1].Reason, "kernel crash during scenario") || !strings.Contains(k.Cells[1].Reason, "run alone after the guest crashed while 3 cells ran at once") {
		t.Errorf("b: %s", k.Cells[1].Reason)
	}
	if a.runs != 2 || b.runs != 2 || c.runs != 2 {
		t.Errorf("runs a=%d b=%d c=%d, want 2 each (together, then alone)", a.runs, b.runs, c.runs)
	}
	// guest 1 crashed under the batch; a ran alone on guest 2, b crashed
	// it again; c got guest 3.
	if len(w.guests) != 3 {
		t.Errorf("%d guests, want 3", len(w.guests))
	}
}

// --repeat N: every cell runs N times; a cell whose outcome varied is
// Flaky with every run listed, one that did not is not.
func TestRepeatMarksFlakyCells(t *testing.T) {
	stable := &fakeCell{name: "stable", cmd: "FAKE-EXIT-0"}
	flaky := &fakeCell{name: "flaky", cmd: "FAKE-EXIT-0", outcome: func(run int) report.Outcome {
		if run == 3 {
			return report.Fail
		}
		return report.Pass
	}}
	w := &fakeWorld{t: t}
	out := t.TempDir()
	r := w.runner(out)
	r.Lookup = fakeLookup(stable, flaky)
	r.Repeat = 4
	run, err := r.Run(context.Background(), itemsPlan("stable", "flaky"))
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	s, f := k.Cells[0], k.Cells[1]
	if s.Flaky || len(s.Repeats) != 4 || s.Outcome != report.Pass {
		t.Errorf("stable: flaky=%v repeats=%+v", s.Flaky, s.Repeats)
	}
	if !f.Flaky || len(f.Repeats) != 4 || f.Repeats[2].Outcome != report.Fail || f.Outcome != report.Pass {
		t.Errorf("flaky: flaky=%v repeats=%+v", f.Flaky, f.Repeats)
	}
	if f.Repeats[0].Artifacts != "k1/flaky" || f.Repeats[2].Artifacts != "k1/flaky/repeat-3" {
		t.Errorf("artifacts of the runs: %+v", f.Repeats)
	}
	if stable.runs != 4 || flaky.runs != 4 || len(w.guests) != 1 {
		t.Errorf("runs %d/%d on %d guests", stable.runs, flaky.runs, len(w.guests))
	}
	// Only the last round's cells may leave their netns behind: the
	// guest is powered off after them, and reused after every other.
	if got := fmt.Sprint(stable.discard); got != "[false false false true]" {
		t.Errorf("Env.Discard per round: %s", got)
	}
	if got := report.ExitCode(run); got != report.ExitFlaky {
		t.Errorf("exit code %d, want %d (flaky)", got, report.ExitFlaky)
	}
}

// The next kernel's image is built while the previous kernel's guest runs.
func TestImageBuildOverlapsGuests(t *testing.T) {
	hold := &fakeCell{name: "a", cmd: "FAKE-EXIT-0", hold: 300 * time.Millisecond}
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	r.Lookup = fakeLookup(hold)
	var mu sync.Mutex
	var events []string
	r.Build = func(ctx context.Context, spec string) (*images.Image, error) {
		mu.Lock()
		events = append(events, "build "+spec)
		mu.Unlock()
		return w.build(ctx, spec)
	}
	r.OnKernel = func(k report.Kernel) {
		mu.Lock()
		events = append(events, "done "+k.Name)
		mu.Unlock()
	}
	p := itemsPlan("a")
	p.Kernels = append(p.Kernels, plan.Kernel{Name: "k2", Spec: "bzimage:/y", Scenarios: p.Kernels[0].Scenarios})
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(events, ", "); got != "build bzimage:/x, build bzimage:/y, done k1, done k2" {
		t.Errorf("events: %s (k2's image must be built while k1 runs)", got)
	}
}

func TestTimeScale(t *testing.T) {
	for _, tc := range []struct {
		accel string
		cells int
		want  float64
	}{{"kvm", 1, 1}, {"kvm", 5, 5}, {"tcg", 1, 3}, {"tcg", 5, 15}, {"tcg", 0, 3}} {
		if got := timeScale(tc.accel, tc.cells); got != tc.want {
			t.Errorf("timeScale(%s, %d) = %v, want %v", tc.accel, tc.cells, got, tc.want)
		}
	}
}

// A guest that boots but cannot run its first command is booted again
// once, instead of making every cell ERROR.
func TestDeadGuestAfterBootIsRebooted(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	boot := w.boot
	r.Boot = func(ctx context.Context, cfg vm.Config) (Guest, error) {
		g, err := boot(ctx, cfg)
		if len(w.guests) == 1 {
			g.(*fakeGuest).wedged = true // SSH gone right after the handshake
		}
		return g, err
	}
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0")}, report.Pass)
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "a=PASS" || len(w.guests) != 2 || !w.guests[0].closed {
		t.Errorf("cells %s on %d guests", got, len(w.guests))
	}
	if k.Release != "6.99.0-fake" {
		t.Errorf("release %q", k.Release)
	}
}

// With --repeat, every round tries to boot again: a kernel that boots only
// sometimes is FLAKY, not ERROR in every round.
func TestRepeatRetriesBoot(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	boot := w.boot
	n := 0
	r.Boot = func(ctx context.Context, cfg vm.Config) (Guest, error) {
		n++
		if n == 1 {
			return nil, &vm.BootError{Title: "Kernel panic - not syncing: IO-APIC + timer doesn't work!"}
		}
		return boot(ctx, cfg)
	}
	r.Repeat = 3
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-0")}, report.Pass, report.Pass)
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Kernels[0].Cells {
		var got []string
		for _, rp := range c.Repeats {
			got = append(got, string(rp.Outcome))
		}
		if strings.Join(got, " ") != "ERROR PASS PASS" || !c.Flaky {
			t.Errorf("%s: runs %v flaky=%v", c.Scenario, got, c.Flaky)
		}
	}
	if n != 2 {
		t.Errorf("%d boot attempts, want 2 (one failed in round 1, then one guest for rounds 2-3)", n)
	}
}
