package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
)

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
