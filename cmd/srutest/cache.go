package main

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
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
	var maxSize string
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove cache entries not used for --older-than, then the least recently used beyond --max-size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			max, err := parseSize(maxSize)
			if err != nil {
				return fmt.Errorf("--max-size: %w", err)
			}
			removed, err := images.Prune(g.cacheDir, older)
			if err == nil && cmd.Flags().Changed("max-size") {
				var more []images.Entry
				more, _, err = images.Trim(g.cacheDir, max, 0)
				removed = append(removed, more...)
			}
			for _, e := range removed {
				fmt.Printf("removed %s %s (%s)\n", e.Kind, short(e.Key), humanBytes(e.Size))
			}
			return err
		},
	}
	prune.Flags().DurationVar(&older, "older-than", 7*24*time.Hour, "age of the last use (0 removes everything)")
	prune.Flags().StringVar(&maxSize, "max-size", "0", "then remove the least recently used entries until the cache holds at most this much (e.g. 10G)")
	cmd.AddCommand(prune)
	return cmd
}

// sizeRE is an upper-cased size: a number, then K, M, G or T, then "B" or "IB".
var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?)([KMGT]?)(I?B)?$`)

// parseSize reads a size: bytes, or a number with K, M, G or T (binary
// units; an optional "B" or "iB" is accepted: 10G = 10GiB = 10 × 2^30).
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	bad := fmt.Errorf("size %q: want bytes or a number with K, M, G or T (binary units)", s)
	if m == nil || m[2] == "" && m[3] == "IB" {
		return 0, bad
	}
	v, err := strconv.ParseFloat(m[1], 64)
	shift := map[string]int{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	if err != nil || v*float64(int64(1)<<shift) >= math.MaxInt64 {
		return 0, bad
	}
	return int64(v * float64(int64(1)<<shift)), nil
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
