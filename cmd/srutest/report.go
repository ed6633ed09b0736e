package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/report"
)

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
