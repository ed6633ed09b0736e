package report

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Markdown renders a Launchpad SRU verification comment. Launchpad shows
// comments as plain text (it only links "LP: #N" and URLs), so everything
// reads as plain text: the tables are space-aligned inside ``` fences
// (which also makes the text valid Markdown), lists use "- ". Contents:
// bug and run, the kernels (role, pocket, package version, uname -r, spec),
// the matrix, each FLAKY cell with the outcome and evidence of every run
// (srutest run --repeat N), one line per unexpected cell, the before → after table of
// each SRU pair, the per-series conclusions,
// the suggested verification tags, and the evidence path (verdict.json) of
// every changed or unexpected cell.
func Markdown(w io.Writer, r *Run) error {
	ew := &errWriter{w: w}
	title := "srutest results"
	if r.Bug != "" {
		title += " for " + lpRef(r.Bug)
	}
	fmt.Fprintf(ew, "%s (run %q", title, oneLine(r.Name, 80))
	if r.Series != "" {
		fmt.Fprintf(ew, ", series %s", oneLine(r.Series, 40))
	}
	fmt.Fprintln(ew, ")")
	if line := runLine(r); line != "" {
		fmt.Fprintln(ew, line)
	}

	fmt.Fprintln(ew, "\nKernels:\n```")
	var kt table
	kt.add("KERNEL", "ROLE", "POCKET", "VERSION", "UNAME -R")
	var specs table
	for _, k := range r.Rows() {
		kt.add(oneLine(k.Name, 60), orDash(oneLine(k.Role, 12)), orDash(oneLine(k.Pocket, 40)),
			orDash(oneLine(k.Version, 60)), orDash(oneLine(k.Release, 60)))
		specs.add(oneLine(k.Name, 60)+":", orDash(oneLine(k.Spec, 200)))
	}
	kt.write(ew, "", nil)
	// Specs are long (ubuntu:series=…,meta=…): a column of their own would
	// push every line past what a Launchpad comment shows unwrapped.
	fmt.Fprintln(ew, "\nspecs:")
	specs.write(ew, "  ", nil)
	fmt.Fprintln(ew, "```")

	legend := "* = not the expected outcome"
	if r.Repeated() {
		legend += "; FLAKY = the outcome varied between the runs of the cell"
	}
	fmt.Fprintf(ew, "\nResults (%s):\n```\n", legend)
	writeMatrixTable(ew, r, "", false)
	fmt.Fprintln(ew, "```")
	if ks, cs := flakyCells(r); len(cs) > 0 {
		// A FLAKY cell is no verdict: show every run and its evidence, so
		// the reader sees which way it went and when.
		fmt.Fprintln(ew, "\nFLAKY (the outcome varied between runs; neither a pass nor a regression):")
		for i, c := range cs {
			fmt.Fprintf(ew, "- %s × %s: %s, expected %s\n", oneLine(ks[i], 60), c.Scenario, flakyLine(c), c.Expected)
			for _, l := range repeatLines(c, 200) {
				fmt.Fprintln(ew, "  - "+l)
			}
		}
	}

	if notes := unexpectedNotes(r, 300); len(notes) > 0 {
		fmt.Fprintln(ew, "\nNot as expected:")
		for _, n := range notes {
			fmt.Fprintln(ew, "- "+n)
		}
	}
	if n := r.Unfinished(); n > 0 {
		fmt.Fprintf(ew, "\n%d kernel(s) did not finish: this run is incomplete.\n", n)
	}
	if cs := Conclusions(r); len(cs) > 0 {
		fmt.Fprintln(ew, "\nBefore → after:\n```")
		for i, c := range cs {
			if i > 0 {
				fmt.Fprintln(ew)
			}
			writePocketTable(ew, r, c, "", false)
		}
		fmt.Fprintln(ew, "```")
		fmt.Fprintln(ew, "\nConclusion:")
		for _, c := range cs {
			fmt.Fprintln(ew, "- "+oneLine(c.Text, 0))
		}
		if tags := Tags(cs); len(tags) > 0 {
			fmt.Fprintf(ew, "\nSuggested tags: %s\n", strings.Join(tags, " "))
		} else {
			fmt.Fprintln(ew, "\n"+NoTagReason(cs))
		}
	}
	if lines := evidenceLines(r); len(lines) > 0 {
		fmt.Fprintln(ew, "\nEvidence of each changed or unexpected cell (relative to results.json; each verdict.json sits beside its pcaps, ss snapshots, nstat and dmesg):")
		for _, l := range lines {
			fmt.Fprintln(ew, "- "+l)
		}
	}
	fmt.Fprintf(ew, "\n%s. Evidence per cell (ss snapshots, pcaps, nstat, dmesg, verdict.json) is in the run directory.\n", r.Count())
	return ew.err
}

// runLine is "Run: <start> to <end> (<duration>), accel tcg, host x".
func runLine(r *Run) string {
	var parts []string
	if !r.Started.IsZero() {
		s := "Run: " + r.Started.UTC().Format("2006-01-02 15:04:05 MST")
		if !r.Finished.IsZero() && !r.Finished.Before(r.Started) {
			s += fmt.Sprintf(" to %s (%s)", r.Finished.UTC().Format("15:04:05 MST"), r.Finished.Sub(r.Started).Round(time.Second))
		}
		parts = append(parts, s)
	}
	if r.Accel != "" {
		parts = append(parts, "accel "+oneLine(r.Accel, 20))
	}
	if r.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d vCPU(s) per guest", r.CPUs))
	}
	if r.Host != "" {
		parts = append(parts, "host "+oneLine(r.Host, 60))
	}
	if r.Shard != "" {
		parts = append(parts, "shard "+oneLine(r.Shard, 20))
	}
	return strings.Join(parts, ", ")
}

var lpBug = regexp.MustCompile(`(?i)^\s*(?:lp|launchpad|bug)?\s*:?\s*#?\s*(\d+)\s*$`)

// lpRef writes a bug reference the way Launchpad links it: "LP: #2125444".
func lpRef(bug string) string {
	if m := lpBug.FindStringSubmatch(bug); m != nil {
		return "LP: #" + m[1]
	}
	return oneLine(bug, 80)
}
