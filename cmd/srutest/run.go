package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/runner"
	"github.com/srutest/srutest/scenarios"
)

type runFlags struct {
	kernels      []string
	scenarios    []string
	kernelFilter string
	shard        string
	out          string
	jobs         int
	repeat       int
	freshGuest   bool
	pair         string
	checks       []string
}

func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [PLAN.yaml] [--kernel SPEC…]",
		Short: "Run the scenarios on every kernel of a plan and print the matrix",
		Long: `Boot every kernel of PLAN.yaml (or the --kernel specs), run the scenarios and print
a kernel × scenario matrix. The run directory (--out) gets results.json (canonical),
results.md (Launchpad SRU comment), junit.xml, index.html and one artifacts directory
per cell (ss snapshots, pcaps, nstat, dmesg, console, commands.log, verdict.json).
Series files (jammy.yaml, noble.yaml, plucky.yaml, resolute.yaml) list tracks, each
checked two ways: the bug's history (the kernel before the fix, by default the release
pocket's, → -updates) and the live SRU check (-updates → -proposed, "no regression"
unless the track's sru: fixes: names what -proposed should fix); --check history|sru
runs one. When -proposed offers nothing newer than -updates (or nothing), its cells are
SKIP "nothing in <pocket> to verify" and nothing boots. After the matrix: a before →
after table per pair, a one-line conclusion, and the suggested Launchpad tag (SRU
checks only). Plans with role: before/after kernels pair those. Local paths in a plan
file are relative to the plan file.

On a terminal, a live matrix shows cells filling in (a spinner and elapsed time per
running cell) and the progress log goes to <out>/srutest.log; without a terminal
(CI) one line is printed per finished cell. --shard i/n runs every n-th kernel
(merge the shards with srutest merge); --shard auto takes i/n from a Kubernetes
Indexed Job (JOB_COMPLETION_INDEX, SRUTEST_SHARDS).

A kernel's keepalive scenarios run at the same time in one guest, each in its own
pair of network namespaces with its own addresses and captures; kernels run in
parallel (--jobs, default sized from the host's cores and free memory) while the
next kernel's image is downloaded and built. --repeat N runs every cell N times and
marks cells whose outcome varied FLAKY (matrix column, "flaky" in results.json).

Exit code: 0 when every cell matches its expectation (default PASS; a nothing-to-verify
SKIP is as expected), 1 when some cell does not, 2 when some unexpected cell is ERROR
(undecided), 3 when every cell matches but some cell is FLAKY.`,
		Example: `  srutest run demo.yaml
  srutest run noble.yaml                      # history (6.8.0-31 → -updates) and SRU (-updates → -proposed)
  srutest run noble.yaml --check history --scenario connect --scenario fallback
  srutest run jammy.yaml --check sru --kernel-filter hwe
  srutest run demo.yaml --scenario join --kernel-filter 6.12
  srutest run --kernel bzimage:arch/x86/boot/bzImage --out /tmp/run1
  srutest run backport.yaml      # linux-source-6.12 with and without 648de37416b3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p *plan.Plan
			var shard plan.Shard
			switch {
			case len(args) == 1 && len(f.kernels) > 0:
				return fmt.Errorf("give a plan file or --kernel, not both")
			case len(args) == 1:
				var err error
				if shard, err = parseShardFlag(f.shard, os.Getenv); err != nil {
					return err
				}
				checks, err := plan.ParseChecks(f.checks)
				if err != nil {
					return err
				}
				p, err = loadPlan(args[0], plan.Options{Scenarios: f.scenarios, KernelFilter: f.kernelFilter, Shard: shard, Checks: checks})
				if err != nil {
					return err
				}
			case len(f.kernels) > 0:
				if f.shard != "" {
					return fmt.Errorf("--shard splits a plan file's kernels; with --kernel, give each machine its own --kernel")
				}
				var err error
				if p, err = plan.Adhoc(f.kernels, f.scenarios, scenarioNames()); err != nil {
					return err
				}
			default:
				return fmt.Errorf("give a plan file (e.g. demo.yaml) or --kernel SPEC")
			}
			pair, err := findPair(f.pair)
			if err != nil {
				return err
			}
			out := f.out
			if out == "" {
				out = filepath.Join("results", p.Name+"-"+time.Now().Format("20060102-150405"))
			}
			// On a terminal a live matrix owns stderr and the progress log
			// goes to <out>/srutest.log; elsewhere (CI) the log is the
			// output: one line per finished cell.
			var live *liveMatrix
			if !g.quiet && term.IsTerminal(int(os.Stderr.Fd())) {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				lf, err := os.Create(filepath.Join(out, "srutest.log"))
				if err != nil {
					return err
				}
				defer lf.Close()
				g.logFile = lf
				live = newLiveMatrix(os.Stderr, p, time.Now)
			}
			b, err := g.builder()
			if err != nil {
				return err
			}
			// The shard is part of every results.json the runner saves (also
			// the partial ones after each kernel): merge needs it to put
			// shards 1/n…n/n back into plan order.
			if f.repeat < 1 {
				return fmt.Errorf("--repeat %d: want at least 1", f.repeat)
			}
			res, err := g.ubuntuResolver()
			if err != nil {
				return err
			}
			vmc := g.vmConfig()
			jobs := f.jobs
			if jobs <= 0 {
				jobs = runner.DefaultJobs(vmc.MemoryMB)
			}
			r := &runner.Runner{Images: b, VM: vmc, Pair: pair, Out: out, FreshGuest: f.freshGuest, Jobs: jobs, Repeat: f.repeat, Shard: shard.String(),
				Resolve: archiveResolver(res)}
			if lw := g.logw(); lw != nil {
				r.Log = lw
			}
			var stopLive chan struct{}
			liveDone := make(chan struct{})
			if live != nil {
				r.Progress = live.Event
				stopLive = make(chan struct{})
				go func() { defer close(liveDone); live.Run(stopLive, 125*time.Millisecond) }()
			}
			run, runErr := r.Run(cmd.Context(), p)
			if live != nil {
				close(stopLive)
				<-liveDone
				fmt.Fprintf(os.Stderr, "srutest: log in %s\n", filepath.Join(out, "srutest.log"))
			}
			if run == nil {
				return runErr
			}
			if err := writeRenderings(run, out); err != nil {
				return err
			}
			color := term.IsTerminal(int(os.Stdout.Fd()))
			if err := report.Matrix(os.Stdout, run, report.MatrixOptions{Color: color}); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "srutest: results in %s\n", out)
			if runErr != nil {
				return runErr
			}
			if code := report.ExitCode(run); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.kernels, "kernel", nil, "kernel spec to run on (repeatable; instead of a plan file)")
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "run only this scenario (repeatable)")
	fl.StringVar(&f.kernelFilter, "kernel-filter", "", "run only kernels whose name or spec contains this")
	fl.StringVar(&f.shard, "shard", "", "run shard i/n of the plan's kernels (merge results with srutest merge); 'auto' takes it from a Kubernetes Indexed Job: JOB_COMPLETION_INDEX and SRUTEST_SHARDS")
	fl.StringVar(&f.out, "out", "", "run directory (default results/<plan>-<time>)")
	fl.IntVar(&f.jobs, "jobs", 0, "kernels to run at once (default: sized from host cores and free memory)")
	fl.IntVar(&f.repeat, "repeat", 1, "run every cell N times; cells whose outcome varied are FLAKY")
	fl.BoolVar(&f.freshGuest, "fresh-guest", false, "boot a new guest for every scenario instead of one per kernel")
	fl.StringArrayVar(&f.checks, "check", nil, "series tracks: run only this check, history (before the fix → -updates) or sru (-updates → -proposed); default both")
	fl.StringVar(&f.pair, "pair", os.Getenv("SRUTEST_PAIR"), "static srutest-pair binary (default: next to srutest)")
	return cmd
}

// parseShardFlag reads --shard: "i/n", "" (whole plan) or "auto"
// (Kubernetes Indexed Job environment, see plan.ShardFromEnv).
func parseShardFlag(v string, getenv func(string) string) (plan.Shard, error) {
	if v == plan.ShardAuto {
		return plan.ShardFromEnv(getenv)
	}
	return plan.ParseShard(v)
}

func scenarioNames() []string {
	var out []string
	for _, s := range scenarios.All() {
		out = append(out, s.Name())
	}
	return out
}

// findPair locates the static client/server pair pushed into guests.
func findPair(flag string) (string, error) {
	if flag != "" {
		if _, err := os.Stat(flag); err != nil {
			return "", fmt.Errorf("pair binary: %w", err)
		}
		return flag, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), "srutest-pair")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("srutest-pair not found next to %s: build it with 'make build' or pass --pair", self)
	}
	return p, checkStatic(p)
}

// writeRenderings writes the non-canonical views of results.json.
func writeRenderings(run *report.Run, out string) error {
	for name, render := range map[string]func(*os.File) error{
		"results.md": func(f *os.File) error { return report.Markdown(f, run) },
		"junit.xml":  func(f *os.File) error { return report.JUnit(f, run) },
		"index.html": func(f *os.File) error { return report.HTML(f, run) },
	} {
		f, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return err
		}
		err = render(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// loadPlan loads and expands a plan file. Local paths in kernel specs (and
// reproducer files) are relative to the plan file, so a plan runs the same
// from any directory.
func loadPlan(path string, opts plan.Options) (*plan.Plan, error) {
	known := scenarioNames()
	pf, err := plan.Load(path, known)
	if err != nil {
		return nil, err
	}
	p, err := pf.Expand(opts, known)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range p.Kernels {
		p.Kernels[i].Spec = images.Rebase(p.Kernels[i].Spec, filepath.Dir(path))
	}
	return p, nil
}
