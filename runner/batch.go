package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/vm"
)

// This file holds how a kernel's cells are run: grouped into batches that
// share a guest at once, the guest's life (boot, re-boot, replace), and one
// cell.

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
// deadline), so the first boot error sticks. A guest that booted but does
// not run its first command (seen on a loaded TCG host: the SSH connection
// died at the end of its handshake deadline) is booted once more before
// its cells would all be ERROR for a harness reason.
func (g *guestSlot) ensure(ctx context.Context) error {
	if g.bootErr != "" {
		return errors.New(g.bootErr)
	}
	if g.m != nil {
		return nil
	}
	for attempt := 1; ; attempt++ {
		if err := g.boot(ctx); err != nil {
			return err
		}
		res, err := g.m.Exec(ctx, "uname -r")
		if err == nil {
			if g.kr.Release == "" && res.ExitCode == 0 {
				g.kr.Release = strings.TrimSpace(string(res.Stdout))
			}
			break
		}
		if attempt == 2 || g.m.Crashed() != nil || ctx.Err() != nil {
			break // the cells will say what is wrong
		}
		g.r.logf("   %s: guest booted but does not run commands (%v): booting it again", g.k.Name, err)
		g.close()
	}
	g.pushPair(ctx)
	return nil
}

// boot starts one guest, recording its timing or the sticky boot error.
func (g *guestSlot) boot(ctx context.Context) error {
	r := g.r
	bootGuest := r.Boot
	if bootGuest == nil {
		bootGuest = Boot
	}
	g.boots++
	t0 := time.Now()
	r.progress(Event{Kernel: g.k.Name, Phase: PhaseBoot})
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
func (g *guestSlot) runBatch(ctx context.Context, batch []item, round int, last bool) []result {
	out := g.runTogether(ctx, batch, round, last)
	if len(batch) == 1 {
		return out
	}
	var crashed []int
	for i, res := range out {
		if crashedCell(res.cell) {
			crashed = append(crashed, i)
		}
	}
	for j, i := range crashed {
		if ctx.Err() != nil {
			break
		}
		g.r.logf("   %s × %s: guest crashed while %d cells ran at once; running it again alone", g.k.Name, batch[i].it.Scenario, len(batch))
		again := g.runTogether(ctx, batch[i:i+1], round, last && j == len(crashed)-1)[0]
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
func (g *guestSlot) runTogether(ctx context.Context, batch []item, round int, last bool) []result {
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
	// Two cells' start-ups at a time per guest vCPU (scenarios.Env.Startup):
	// a start-up alternates guest work with host round trips (one SSH
	// exec per phase), so a second one keeps the vCPU busy through them,
	// while the other cells wait and their capture windows later overlap
	// the last start-ups instead of all five windows running side by side
	// on an idle vCPU. Measured on the demo (2-core TCG host, interleaved
	// runs): median 20.6 s wall with this gate, 23.0 s with all five
	// cells starting together; one start-up at a time was slower (the
	// vCPU idles through each round trip).
	startup := scenarios.NewGate(2 * max(r.VM.CPUs, 1))
	for i, x := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.progress(Event{Kernel: g.k.Name, Scenario: x.it.Scenario, Phase: PhaseCell})
			cell := r.runCell(ctx, g.m, x, cellPlace{slot: i, of: len(batch), round: round, last: last || r.FreshGuest, startup: startup}, g.kdir, g.pair)
			r.progress(Event{Kernel: g.k.Name, Scenario: x.it.Scenario, Phase: PhaseCellDone, Cell: &cell})
			// The one line per finished cell (scenarios get no Log: each
			// cell used to be printed twice).
			r.logf("   %s × %s: %s (%s) %s", g.k.Name, x.it.Scenario, cell.Outcome, cell.Duration.Round(100*time.Millisecond), cell.Reason)
			out[i] = result{x.idx, cell}
		}()
	}
	wg.Wait()
	// A crashed or wedged guest is never reused; nor is any guest when
	// the user asked for one guest per scenario, nor after its last batch.
	if g.m.Crashed() != nil || r.FreshGuest || last || !alive(ctx, g.m) {
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
// last: the guest is powered off after this batch (the last batch of the
// last round, or every batch with FreshGuest).
type cellPlace struct {
	slot, of, round int
	last            bool
	startup         *scenarios.Gate // shared by the batch's cells
}

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
	cell := x.sc.Run(sctx, scenarios.Env{Guest: m, Pair: r.Pair, Artifacts: adir, Slot: slot, TimeScale: scale, GuestPair: guestPair, PcapText: r.pcapText(), Discard: at.last, Startup: at.startup})
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
