package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/report"
)

func newCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare BEFORE.json AFTER.json",
		Short: "Compare two runs cell by cell (fixed, regressed, still failing, flaky)",
		Long: `Compare two runs cell by cell (fixed, regressed, still failing, error, flaky:
a cell whose --repeat runs disagreed on either side is undecided); each
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
