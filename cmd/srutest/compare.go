package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/report"
)

func newCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare BEFORE.json AFTER.json",
		Short: "Compare two runs cell by cell (fixed, regressed, still failing)",
		Long: `Compare two runs cell by cell (fixed, regressed, still failing, error).
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
