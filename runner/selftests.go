package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/selftests"
	"github.com/srutest/srutest/vm"
)

// selftestCol is one matrix column of a kernel selftest suite: one script.
// err is set when the suite could not be built (every kernel's cell is
// ERROR with it).
type selftestCol struct {
	decl    plan.Selftests
	suite   *selftests.Suite
	prog    selftests.Program
	args    []string // the script's own arguments ("mptcp_join.sh -f": -f)
	entry   string   // the tests: entry, script and arguments
	payload *selftests.Payload
	err     error
}

// selftestMinMemoryMB: mptcp_connect.sh keeps its transfer files in /tmp
// (the guest's RAM), several copies at once.
const selftestMinMemoryMB = 1024

// prepareSelftests builds every suite of p (cached per source), writes its
// payload into the run directory and appends one item per script to every
// kernel. It returns the columns by scenario name and a cleanup.
func (r *Runner) prepareSelftests(ctx context.Context, p *plan.Plan) (map[string]*selftestCol, func()) {
	cols := map[string]*selftestCol{}
	var payloads []string
	cleanup := func() {
		for _, f := range payloads {
			os.Remove(f)
		}
	}
	for _, d := range p.Selftests {
		var order []string
		add := func(script string, c *selftestCol) {
			name := d.Column(script)
			if _, dup := cols[name]; !dup {
				cols[name] = c
				order = append(order, name)
			}
		}
		src, err := r.selftestSource(ctx, d)
		var suite *selftests.Suite
		if err == nil {
			suite, err = selftests.Build(ctx, selftests.BuildOptions{CacheDir: r.cacheDir(), Source: src, Target: d.Target, Log: r.Log})
		}
		var pl *selftests.Payload
		if err == nil {
			f := filepath.Join(r.Out, ".payload-"+Slug(d.Name)+".tar.gz")
			payloads = append(payloads, f)
			pl, err = selftests.WritePayload(suite, f, r.SelftestTools)
			if err == nil && len(pl.Missing) > 0 {
				r.logf("selftests %s: host tools missing (their tests will SKIP): %s", d.Name, strings.Join(pl.Missing, ", "))
			}
		}
		if err != nil {
			r.logf("selftests %s: %v", d.Name, err)
			scripts := d.Tests
			if len(scripts) == 0 {
				scripts = []string{"build"}
			}
			for _, s := range scripts {
				add(s, &selftestCol{decl: d, prog: selftests.Program{Name: strings.Fields(s)[0]}, entry: s, err: err})
			}
		} else {
			scripts := d.Tests
			if len(scripts) == 0 {
				for _, pr := range suite.Programs {
					scripts = append(scripts, pr.Name)
				}
			}
			for _, s := range scripts {
				f := strings.Fields(s)
				c := &selftestCol{decl: d, suite: suite, payload: pl, args: f[1:], entry: s}
				if pr, ok := suite.Program(f[0]); ok {
					c.prog = pr
				} else {
					c.prog = selftests.Program{Name: f[0]}
					c.err = fmt.Errorf("%s is not in %s's TEST_PROGS", f[0], d.Target)
				}
				add(s, c)
			}
		}
		for i := range p.Kernels {
			for _, name := range order {
				exp := report.Pass
				if o, ok := d.Expect[cols[name].entry]; ok {
					exp = report.Outcome(o)
				}
				p.Kernels[i].Scenarios = append(p.Kernels[i].Scenarios, plan.Item{Scenario: name, Expected: exp})
			}
		}
	}
	return cols, cleanup
}

// selftestSource is the file a suite builds from: its source, or the
// source package its SourceSpec names (ubuntu: linux-source-<x.y.z> from
// the archive, verified like a kernel's debs and kept in the cache).
func (r *Runner) selftestSource(ctx context.Context, d plan.Selftests) (string, error) {
	if d.SourceSpec == "" {
		return d.Source, nil
	}
	if r.Images == nil {
		return "", fmt.Errorf("source %s: no image builder to fetch it", d.SourceSpec)
	}
	deb, meta, err := r.Images.SourcePackage(ctx, d.SourceSpec, d.SourceArchive)
	if err != nil {
		return "", err
	}
	r.logf("selftests %s: %s %s (%s) from %s", d.Name, meta["package"], meta["version"], meta["dist"], meta["archive"])
	return deb, nil
}

// splitSelftests separates the selftest columns from the scenarios.
func (r *Runner) splitSelftests(items []plan.Item) (scen, st []plan.Item) {
	for _, it := range items {
		if _, ok := r.selftests[it.Scenario]; ok {
			st = append(st, it)
		} else {
			scen = append(scen, it)
		}
	}
	return scen, st
}

func (r *Runner) cacheDir() string {
	if r.Images != nil && r.Images.CacheDir != "" {
		return r.Images.CacheDir
	}
	return images.DefaultCacheDir()
}

// timeout is the script's bound: the plan's timeout or the target's
// settings, times timeout_scale.
func (c *selftestCol) timeout() time.Duration {
	t := c.prog.Timeout
	if c.decl.Timeout > 0 {
		t = c.decl.Timeout
	}
	if t <= 0 {
		t = selftests.DefaultTimeout
	}
	if c.decl.TimeoutScale > 0 {
		t = time.Duration(float64(t) * c.decl.TimeoutScale)
	}
	return t
}

// runSelftests runs the selftest items of one kernel, each script in a
// fresh guest of an image that also carries the modules the suites' config
// names (a second image: the base image and its boot stay as they are).
// Up to the suites' jobs scripts run at once, in separate guests.
func (r *Runner) runSelftests(ctx context.Context, k plan.Kernel, items []plan.Item, kdir string) []report.Cell {
	cells := make([]report.Cell, len(items))
	var extra []string
	jobs := 1
	for _, it := range items {
		c := r.selftests[it.Scenario]
		if c.suite != nil {
			for _, m := range c.suite.ModuleNames() {
				if !slices.Contains(extra, m) {
					extra = append(extra, m)
				}
			}
		}
		jobs = max(jobs, c.decl.Jobs)
	}
	var img *images.Image
	var imgErr error
	build := r.BuildSelftest
	if build == nil {
		build = func(ctx context.Context, spec string, extra []string) (*images.Image, error) {
			b := *r.Images
			b.ExtraModules = extra
			return b.Build(ctx, spec)
		}
	}
	needImage := false
	for _, it := range items {
		needImage = needImage || r.selftests[it.Scenario].err == nil
	}
	if needImage {
		r.logf("== %s: building selftest image (+ the kernel's modules among %d named by the suites' config)", k.Name, len(extra))
		img, imgErr = build(ctx, k.Spec, extra)
	}
	// Suites that run several guests per kernel share the host's cores
	// among them too (unless --cpus was given).
	cpus := 0
	if r.kernelsAtOnce > 0 && jobs > 1 {
		cpus = GuestCPUs(r.kernelsAtOnce*jobs, r.accel)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := r.selftests[it.Scenario]
			cell := report.Cell{Scenario: it.Scenario, Expected: it.Expected}
			switch {
			case ctx.Err() != nil:
				cell.Outcome, cell.Reason = report.Error, "interrupted: "+ctx.Err().Error()
			case c.err != nil:
				cell.Outcome, cell.Reason = report.Error, "selftests: "+firstLine(c.err.Error())
			case imgErr != nil:
				cell.Outcome, cell.Reason = report.Error, "selftest image: "+firstLine(imgErr.Error())
			default:
				cell = r.runSelftest(ctx, k, it, c, img, kdir, cpus)
			}
			cells[i] = cell
			r.logf("   %s × %s: %s (%s) %s", k.Name, it.Scenario, cell.Outcome, cell.Duration.Round(100*time.Millisecond), cell.Reason)
		}()
	}
	wg.Wait()
	return cells
}

// runSelftest boots a guest (with cpus vCPUs when > 0, else VM.CPUs), runs
// one script and shuts the guest down. A
// crash on the console makes the cell ERROR with the excerpt, as for any
// scenario.
func (r *Runner) runSelftest(ctx context.Context, k plan.Kernel, it plan.Item, c *selftestCol, img *images.Image, kdir string, cpus int) report.Cell {
	t0 := time.Now()
	cell := report.Cell{Scenario: it.Scenario, Expected: it.Expected}
	// Only a directory srutest made (marked) is ever cleared (rundir.go).
	adir, err := ownedDir(kdir, Slug(it.Scenario), true)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, "artifacts dir: "+err.Error()
		return cell
	}
	bootGuest := r.Boot
	if bootGuest == nil {
		bootGuest = Boot
	}
	cfg := r.VM
	cfg.Kernel, cfg.Initrd = img.Kernel, img.Initrd
	cfg.HostKey, cfg.ClientKey = img.HostKey, img.ClientKey
	cfg.MemoryMB = max(cfg.MemoryMB, selftestMinMemoryMB)
	if cpus > 0 {
		cfg.CPUs = cpus
	}
	m, err := bootGuest(ctx, cfg)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, "boot: "+err.Error()
		var be *vm.BootError
		if errors.As(err, &be) {
			cell.Console = be.Output
		}
		cell.Duration = time.Since(t0)
		return cell
	}
	defer func() {
		if data, err := os.ReadFile(m.Console()); err == nil {
			os.MkdirAll(adir, 0o755)
			os.WriteFile(filepath.Join(adir, "console.txt"), data, 0o644)
		}
		m.Close()
	}()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.CrashCh():
			cancel()
		case <-sctx.Done():
		}
	}()
	sc := selftests.Script{Suite: c.suite, Program: c.prog, Args: c.args, Payload: c.payload, Timeout: c.timeout()}
	got := sc.Run(sctx, m, adir, r.Log)
	cell.Outcome, cell.Reason, cell.Subtests = got.Outcome, got.Reason, got.Subtests
	if err := m.Crashed(); err != nil {
		cell.Outcome = report.Error
		cell.Reason = "kernel crash during selftest: " + firstLine(err.Error())
		var ce *vm.CrashError
		if errors.As(err, &ce) {
			cell.Console = ce.Output
		}
	}
	if rel, err := filepath.Rel(r.Out, adir); err == nil {
		cell.Artifacts = rel
	}
	cell.Duration = time.Since(t0)
	return cell
}
