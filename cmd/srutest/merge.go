package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/report"
)

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
