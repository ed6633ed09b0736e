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
When the plan has role: before/after kernels (SRU plans: -updates vs -proposed), the
matrix is followed by a before → after table per pair, a one-line conclusion and the
suggested Launchpad tag. Local paths in a plan file are relative to the plan file.

A kernel's keepalive scenarios run at the same time in one guest, each in its own
pair of network namespaces with its own addresses and captures; kernels run in
parallel (--jobs, default sized from the host's cores and free memory) while the
next kernel's image is downloaded and built. --repeat N runs every cell N times and
marks cells whose outcome varied FLAKY (matrix column, "flaky" in results.json).

Exit code: 0 when every cell matches its expectation (default PASS), 1 when some
cell does not, 2 when some unexpected cell is ERROR (undecided), 3 when every cell
matches but some cell is FLAKY.`,
		Example: `  srutest run demo.yaml
  srutest run noble.yaml --scenario connect --scenario fallback
  srutest run demo.yaml --scenario join --kernel-filter 6.12
  srutest run --kernel bzimage:arch/x86/boot/bzImage --out /tmp/run1
  srutest run backport.yaml      # linux-source-6.12 with and without 648de37416b3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			known := scenarioNames()
			var p *plan.Plan
			switch {
			case len(args) == 1 && len(f.kernels) > 0:
				return fmt.Errorf("give a plan file or --kernel, not both")
			case len(args) == 1:
				shard, err := plan.ParseShard(f.shard)
				if err != nil {
					return err
				}
				p, err = loadPlan(args[0], plan.Options{Scenarios: f.scenarios, KernelFilter: f.kernelFilter, Shard: shard})
				if err != nil {
					return err
				}
			case len(f.kernels) > 0:
				sc := known
				if len(f.scenarios) > 0 {
					for _, s := range f.scenarios {
						if _, ok := scenarios.Lookup(s); !ok {
							return fmt.Errorf("unknown scenario %q (see srutest scenarios)", s)
						}
					}
					sc = f.scenarios
				}
				p = plan.Adhoc(f.kernels, sc)
			default:
				return fmt.Errorf("give a plan file (e.g. demo.yaml) or --kernel SPEC")
			}
			pair, err := findPair(f.pair)
			if err != nil {
				return err
			}
			b, err := g.builder()
			if err != nil {
				return err
			}
			out := f.out
			if out == "" {
				out = filepath.Join("results", p.Name+"-"+time.Now().Format("20060102-150405"))
			}
			if f.repeat < 1 {
				return fmt.Errorf("--repeat %d: want at least 1", f.repeat)
			}
			vmc := g.vmConfig()
			jobs := f.jobs
			if jobs <= 0 {
				jobs = runner.DefaultJobs(vmc.MemoryMB)
			}
			r := &runner.Runner{Images: b, VM: vmc, Pair: pair, Out: out, FreshGuest: f.freshGuest, Jobs: jobs, Repeat: f.repeat}
			if lw := g.logw(); lw != nil {
				r.Log = lw
			}
			run, runErr := r.Run(cmd.Context(), p)
			if run == nil {
				return runErr
			}
			run.Shard = f.shard
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
	fl.StringVar(&f.shard, "shard", "", "run shard i/n of the plan's kernels (merge results with srutest merge)")
	fl.StringVar(&f.out, "out", "", "run directory (default results/<plan>-<time>)")
	fl.IntVar(&f.jobs, "jobs", 0, "kernels to run at once (default: sized from host cores and free memory)")
	fl.IntVar(&f.repeat, "repeat", 1, "run every cell N times; cells whose outcome varied are FLAKY")
	fl.BoolVar(&f.freshGuest, "fresh-guest", false, "boot a new guest for every scenario instead of one per kernel")
	fl.StringVar(&f.pair, "pair", os.Getenv("SRUTEST_PAIR"), "static srutest-pair binary (default: next to srutest)")
	return cmd
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
