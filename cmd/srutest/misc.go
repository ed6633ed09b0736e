package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
)

func newScenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			for _, s := range scenarios.All() {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name(), s.Describe())
			}
			return tw.Flush()
		},
	}
}

func newKernelsCmd(g *globals) *cobra.Command {
	var shardFlag string
	var names bool
	cmd := &cobra.Command{
		Use:   "kernels PLAN.yaml",
		Short: "Show what each kernel of a plan resolves to, without downloading debs",
		Long: `Show what each kernel of a plan resolves to (ubuntu: kernels through the verified
archive index: ABI, version, packages), without downloading debs. The output changes
exactly when a pocket gets a new kernel, so CI keys its cache of srutest's cache on it
(see .github/workflows/nightly.yml). --names lists the kernel names only, offline.`,
		Example: `  srutest kernels noble.yaml
  srutest kernels noble.yaml --shard 2/2 | sha256sum   # cache key of one CI shard
  srutest kernels jammy.yaml --names | wc -l             # how many shards are worth it`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			shard, err := parseShardFlag(shardFlag, os.Getenv)
			if err != nil {
				return err
			}
			p, err := loadPlan(args[0], plan.Options{Shard: shard})
			if err != nil {
				return err
			}
			if names {
				for _, k := range p.Kernels {
					fmt.Println(k.Name)
				}
				return nil
			}
			res, err := g.ubuntuResolver()
			if err != nil {
				return err
			}
			failed := 0
			resolve := archiveResolver(res)
			for _, k := range p.Kernels {
				fmt.Printf("%s", k.Name)
				if k.Role != "" {
					fmt.Printf(" (%s, %s)", k.Role, k.Pocket)
				}
				fmt.Println()
				desc, err := describeKernel(cmd.Context(), res, k.Spec)
				if err != nil && k.NewerThan != "" && errors.Is(err, ubuntu.ErrNoPackage) {
					// An empty -proposed is a fact, not a failure.
					fmt.Printf("  nothing to verify: %v\n", err)
					continue
				}
				if err != nil {
					failed++
					fmt.Printf("  error: %v\n", err)
					continue
				}
				fmt.Print(desc)
				if k.NewerThan != "" {
					cand, err1 := resolve(cmd.Context(), k.Spec)
					base, err2 := resolve(cmd.Context(), k.NewerThan)
					if err1 == nil && err2 == nil && base.Absent == "" && images.CompareVersions(cand.Version, base.Version) <= 0 {
						fmt.Printf("  nothing to verify: %s is not newer than %s in %s\n", cand.Version, base.Version, base.Dist)
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d kernel(s) did not resolve", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&shardFlag, "shard", "", "only the kernels of shard i/n (as run --shard), or 'auto'")
	cmd.Flags().BoolVar(&names, "names", false, "print kernel names only (no archive access)")
	return cmd
}

func newCacheCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cache", Short: "Show or trim the image cache"}
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List cache entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := images.List(g.cacheDir)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tKEY\tSIZE\tLAST USED\tDESCRIPTION")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Kind, short(e.Key), humanBytes(e.Size), e.Used.Format(time.DateTime), e.Desc)
			}
			return tw.Flush()
		},
	})
	var older time.Duration
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove cache entries not used for --older-than",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			removed, err := images.Prune(g.cacheDir, older)
			for _, e := range removed {
				fmt.Printf("removed %s %s (%s)\n", e.Kind, short(e.Key), humanBytes(e.Size))
			}
			return err
		},
	}
	prune.Flags().DurationVar(&older, "older-than", 7*24*time.Hour, "age of the last use (0 removes everything)")
	cmd.AddCommand(prune)
	return cmd
}

// short abbreviates a content key (64 hex digits) to 12; other keys (deb
// file names, tmp dir names) are shown whole: cut, every deb would read
// "linux-image-".
func short(s string) string {
	if len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" {
		return s[:12]
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func newReportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report RESULTS.json",
		Short: "Render a results.json as matrix, markdown (Launchpad), junit, html or json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := report.Load(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "matrix":
				return report.Matrix(os.Stdout, run, report.MatrixOptions{})
			case "markdown", "md":
				return report.Markdown(os.Stdout, run)
			case "junit":
				return report.JUnit(os.Stdout, run)
			case "html":
				return report.HTML(os.Stdout, run)
			case "json":
				return run.WriteJSON(os.Stdout)
			}
			return fmt.Errorf("unknown format %q (matrix, markdown, junit, html, json)", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "matrix", "matrix | markdown | junit | html | json")
	return cmd
}

func newCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare BEFORE.json AFTER.json",
		Short: "Compare two runs cell by cell (fixed, regressed, still failing)",
		Long: `Compare two runs cell by cell (fixed, regressed, still failing, error); each
changed cell is followed by the paths of its verdict.json in both runs (relative to
the current directory), beside which lie its pcaps, ss snapshots, nstat and dmesg.
Exit code: 0 when nothing regressed, 1 when some scenario is PASS before and FAIL after.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			before, err := report.Load(args[0])
			if err != nil {
				return err
			}
			after, err := report.Load(args[1])
			if err != nil {
				return err
			}
			// Evidence paths relative to where the user stands, so each
			// changed cell's verdict.json opens from here.
			before.RebaseArtifacts(filepath.Dir(args[0]), ".")
			after.RebaseArtifacts(filepath.Dir(args[1]), ".")
			c := report.Compare(before, after)
			if err := c.Render(os.Stdout); err != nil {
				return err
			}
			if c.Count(report.Regressed) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}

func newMergeCmd() *cobra.Command {
	var out string
	var render bool
	cmd := &cobra.Command{
		Use:   "merge -o OUT.json SHARD.json|DIR…",
		Short: "Merge results of CI shards into one results.json",
		Long: `Merge the results.json of CI shards (srutest run --shard i/n) into one results.json.
A directory argument stands for every DIR/*/results.json (the shards' run
directories side by side, as a CI download or a shared volume leaves them).
Shards 1/n…n/n given together are put back into plan order, whatever order they
come in. Each cell's artifacts path is rewritten relative to OUT.json, so the
reports link to the evidence in the shards' run directories. --render also
writes results.md, junit.xml and index.html beside OUT.json.`,
		Example: `  srutest merge -o merged/results.json shard-*/results.json
  srutest merge --render -o /results/merged/results.json /results`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs, err := mergeInputs(args, out)
			if err != nil {
				return err
			}
			var runs []*report.Run
			for _, a := range inputs {
				r, err := report.Load(a)
				if err != nil {
					return err
				}
				r.RebaseArtifacts(filepath.Dir(a), filepath.Dir(out))
				runs = append(runs, r)
			}
			merged, err := report.Merge(runs...)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := merged.Save(out); err != nil {
				return err
			}
			if render {
				if err := writeRenderings(merged, filepath.Dir(out)); err != nil {
					return err
				}
			}
			return report.Matrix(os.Stdout, merged, report.MatrixOptions{})
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "results.json", "merged results file")
	cmd.Flags().BoolVar(&render, "render", false, "also write results.md, junit.xml and index.html beside --out")
	return cmd
}

// mergeInputs expands directory arguments to the results.json files of
// their subdirectories (sorted), leaving out the merge output itself so a
// rerun into the same volume does not merge its own result.
func mergeInputs(args []string, out string) ([]string, error) {
	outAbs, _ := filepath.Abs(out)
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*", "results.json"))
		if err != nil {
			return nil, err
		}
		n := 0
		for _, f := range found {
			if abs, _ := filepath.Abs(f); abs == outAbs {
				continue
			}
			files = append(files, f)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("merge: no */results.json under %s", a)
		}
	}
	return files, nil
}
