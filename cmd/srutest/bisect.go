package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/bisect"
	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/runner"
	"github.com/srutest/srutest/scenarios"
)

type bisectFlags struct {
	scenario string
	kernels  []string
	pockets  []string
	flavour  string
	source   string
	out      string
	pair     string
	grep     []string
}

func newBisectCmd(g *globals) *cobra.Command {
	f := &bisectFlags{}
	cmd := &cobra.Command{
		Use:   "bisect (SERIES.yaml | SERIES | ubuntu:SPEC | --kernel SPEC…) --scenario S",
		Short: "Find the first kernel where a scenario's outcome changes",
		Long: `List the kernels of an Ubuntu series that the archive still carries (the series'
own kernel line, source package linux; pockets in --pocket order, versions in order;
every index verified as for any resolve), run the scenario on both ends, and bisect to
the first kernel where the outcome changes. Each step is printed; at the end come the
kernels tried with their outcomes, the answer, and the changelog entries between the
two versions (from the image package's changelog.Debian.gz), with the lines that
mention the plan's bug or a --grep word.

Every kernel tried is a normal cell: its evidence is in the run directory (--out),
results.json holds every kernel tried (results.md, junit.xml, index.html too), and
images come from the cache. A step whose cell is ERROR or SKIP is reported and the
search moves to a neighbour: it is never taken as good or bad. When both ends agree
there is no change to find, and bisect says so.

With --kernel (repeated, in order) it bisects your own list of kernel specs.

Exit code: 0 when an answer (a change, or no change) was found, 2 when it was not.`,
		Example: `  srutest bisect noble.yaml --scenario connect
  srutest bisect noble --scenario connect --pocket release --pocket updates
  srutest bisect --kernel bzimage:a/bzImage --kernel bzimage:b/bzImage --kernel bzimage:c/bzImage --scenario connect`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := scenarios.Lookup(f.scenario); !ok {
				return fmt.Errorf("--scenario %q: unknown scenario (see srutest scenarios)", f.scenario)
			}
			ctx := cmd.Context()
			// Everything printed also goes to bisect.txt in the run dir.
			var transcript bytes.Buffer
			stdout := io.MultiWriter(os.Stdout, &transcript)
			var (
				bs     = &bisect.Bisect{Scenario: f.scenario, W: stdout}
				res    *ubuntu.Resolver
				needle []string
			)
			switch {
			case len(args) == 1 && len(f.kernels) > 0:
				return fmt.Errorf("give a series or --kernel specs, not both")
			case len(f.kernels) > 0:
				if len(f.kernels) < 2 {
					return fmt.Errorf("--kernel: give at least two specs to bisect between")
				}
				bs.Name = "bisect-" + f.scenario
				for i, s := range f.kernels {
					if _, err := images.ParseSpec(s); err != nil {
						return err
					}
					// Row name: list position + the spec's last word
					// (file name, or abi=… value).
					base := path.Base(s)
					if j := strings.LastIndexByte(base, '='); j >= 0 {
						base = base[j+1:]
					}
					bs.Kernels = append(bs.Kernels, bisect.Kernel{Name: fmt.Sprintf("%02d-%s", i, runner.Slug(base)), Spec: s})
				}
			case len(args) == 1:
				lq, bug, err := bisectSeries(args[0], f)
				if err != nil {
					return err
				}
				if res, err = g.ubuntuResolver(); err != nil {
					return err
				}
				list, err := res.ListKernels(ctx, lq)
				if err != nil {
					return err
				}
				bs.Name, bs.Series, bs.Bug = "bisect-"+lq.Series+"-"+f.scenario, lq.Series, bug
				for _, k := range list {
					bs.Kernels = append(bs.Kernels, bisect.Kernel{Name: lq.Series + "-" + k.ABI, Spec: "ubuntu:" + k.Query.String(),
						Pocket: k.Query.Dist(), ABI: k.ABI, Version: k.Version})
				}
				if n := bugNumber(bug); n != "" {
					needle = append(needle, n)
				}
			default:
				return fmt.Errorf("give a series (file, name or ubuntu: spec) or --kernel specs")
			}
			needle = append(needle, f.grep...)
			pair, err := findPair(f.pair)
			if err != nil {
				return err
			}
			b, err := g.builder()
			if err != nil {
				return err
			}
			bs.Out = f.out
			if bs.Out == "" {
				bs.Out = filepath.Join("results", bs.Name+"-"+time.Now().Format("20060102-150405"))
			}
			r := &runner.Runner{Images: b, VM: g.vmConfig(), Pair: pair, Out: bs.Out}
			if lw := g.logw(); lw != nil {
				r.Log = lw
			}
			bs.Runner = r
			o, runErr := bs.Run(ctx)
			if o == nil {
				return runErr
			}
			bs.Summary(stdout, o)
			if o.Verdict == bisect.Found && res != nil {
				changes, err := changelogBetween(ctx, res, b.CacheDir, bs.Kernels[o.Before], bs.Kernels[o.After], needle)
				if err != nil {
					fmt.Fprintf(stdout, "changelog: %v\n", err)
				}
				io.WriteString(stdout, changes.short)
				if changes.full != "" {
					if err := os.WriteFile(filepath.Join(bs.Out, "changelog.txt"), []byte(changes.full), 0o644); err != nil {
						return err
					}
				}
			}
			if err := os.WriteFile(filepath.Join(bs.Out, "bisect.txt"), transcript.Bytes(), 0o644); err != nil {
				return err
			}
			if err := writeRenderings(o.Run, bs.Out); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "srutest: results in %s\n", bs.Out)
			if runErr != nil {
				return runErr
			}
			if o.Verdict != bisect.Found && o.Verdict != bisect.NoChange {
				return exitError{report.ExitError}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "the scenario whose outcome is bisected (required)")
	fl.StringArrayVar(&f.kernels, "kernel", nil, "kernel spec, in order (repeatable; instead of a series)")
	fl.StringArrayVar(&f.pockets, "pocket", nil, "pockets to list kernels from, in order (default release, updates)")
	fl.StringVar(&f.flavour, "flavour", "", "kernel flavour (default: the series file's, else generic)")
	fl.StringVar(&f.source, "source", "linux", "kernel line: images built from this source package (HWE: linux-hwe-<x.y>)")
	fl.StringVar(&f.out, "out", "", "run directory (default results/bisect-<series>-<scenario>-<time>)")
	fl.StringVar(&f.pair, "pair", os.Getenv("SRUTEST_PAIR"), "static srutest-pair binary (default: next to srutest)")
	fl.StringArrayVar(&f.grep, "grep", nil, "also show changelog lines containing this word (repeatable; the plan's bug number always is)")
	cmd.MarkFlagRequired("scenario")
	return cmd
}

// bisectSeries reads what to list from a series file (series, archive,
// flavour of its ubuntu kernels, bug), a series name, or an ubuntu: spec.
func bisectSeries(arg string, f *bisectFlags) (ubuntu.ListQuery, string, error) {
	lq := ubuntu.ListQuery{Flavour: f.flavour, Pockets: f.pockets, Source: f.source}
	bug := ""
	switch {
	case strings.HasPrefix(arg, "ubuntu:"):
		q, err := ubuntu.ParseArg(strings.TrimPrefix(arg, "ubuntu:"))
		if err != nil {
			return lq, "", err
		}
		lq.Series, lq.Archive = q.Series, q.Archive
		if lq.Flavour == "" {
			lq.Flavour = q.Flavour
		}
	case seriesName.MatchString(arg):
		if _, err := os.Stat(arg); err != nil {
			lq.Series = arg
			break
		}
		fallthrough
	default:
		pf, err := plan.Load(arg, scenarioNames())
		if err != nil {
			return lq, "", err
		}
		if pf.Series == "" {
			return lq, "", fmt.Errorf("%s: no series: to bisect", arg)
		}
		lq.Series, lq.Archive, bug = pf.Series, pf.Archive, pf.Bug
		for _, k := range pf.Kernels {
			if k.Ubuntu != nil && k.Ubuntu.Flavour != "" && lq.Flavour == "" {
				lq.Flavour = k.Ubuntu.Flavour
			}
		}
	}
	return lq, bug, nil
}

var (
	seriesName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	bugDigits  = regexp.MustCompile(`[0-9]{4,}`)
)

// bugNumber takes the digits of "LP#2125444" / "LP: #2125444".
func bugNumber(bug string) string { return bugDigits.FindString(bug) }

type changes struct{ short, full string }

// changelogBetween reads the changelog.Debian.gz of the first kernel with
// the new outcome (its image package, from the cache or the archive) and
// returns the entries after the last kernel with the old outcome: headers
// and the lines that mention a needle for the terminal, everything for
// changelog.txt.
func changelogBetween(ctx context.Context, res *ubuntu.Resolver, cacheDir string, before, after bisect.Kernel, needles []string) (changes, error) {
	var c changes
	q, err := ubuntu.ParseArg(strings.TrimPrefix(after.Spec, "ubuntu:"))
	if err != nil {
		return c, err
	}
	pl, err := res.Plan(ctx, q)
	if err != nil {
		return c, err
	}
	img := pl.Packages[0]
	pl.Packages = pl.Packages[:1]
	debs, err := res.Download(ctx, pl, filepath.Join(cacheDir, "debs", "ubuntu"))
	if err != nil {
		return c, err
	}
	gz, err := images.ReadDebFile(debs[0], "usr/share/doc/"+img.Name+"/changelog.Debian.gz", 64<<20)
	if err != nil {
		return c, fmt.Errorf("%s carries no changelog: %w", img.Name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return c, err
	}
	text, err := io.ReadAll(io.LimitReader(zr, 256<<20))
	if err != nil {
		return c, err
	}
	ents := bisect.Between(bisect.ParseChangelog(text), before.Version, after.Version)
	var short, full strings.Builder
	fmt.Fprintf(&short, "changelog %s → %s (%s): %d entries\n", before.Version, after.Version, img.Name, len(ents))
	for _, e := range ents {
		fmt.Fprintf(&short, "  %s (%d lines)\n", e.Header, len(e.Lines))
		fmt.Fprintf(&full, "%s\n\n%s\n\n%s\n\n", e.Header, strings.Join(e.Lines, "\n"), e.Trailer)
	}
	if m := bisect.Mentions(ents, needles); len(m) > 0 {
		fmt.Fprintf(&short, "lines mentioning %s:\n", strings.Join(needles, ", "))
		for _, l := range m {
			fmt.Fprintf(&short, "  %s\n", l)
		}
	} else if len(needles) > 0 {
		fmt.Fprintf(&short, "no line mentions %s\n", strings.Join(needles, ", "))
	}
	return changes{short.String(), full.String()}, nil
}
