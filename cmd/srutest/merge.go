package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/report"
)

func newMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge -o OUT.json SHARD.json…",
		Short: "Merge results of CI shards into one results.json",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var runs []*report.Run
			for _, a := range args {
				r, err := report.Load(a)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			merged, err := report.Merge(runs...)
			if err != nil {
				return err
			}
			if err := merged.Save(out); err != nil {
				return err
			}
			return report.Matrix(os.Stdout, merged, report.MatrixOptions{})
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "results.json", "merged results file")
	return cmd
}
