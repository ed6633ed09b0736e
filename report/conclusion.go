package report

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict is the SRU outcome of one before/after kernel pair.
type Verdict string

const (
	// Verified: every cell of the after kernel is as expected and nothing
	// that passed before fails after.
	Verified Verdict = "verified"
	// NotVerified: the after kernel has cells not as expected, or FLAKY
	// ones (their repeated runs disagreed).
	NotVerified Verdict = "not verified"
	// Regression: a scenario that passed on the before kernel fails on the
	// after kernel.
	Regression Verdict = "regression"
	// Incomplete: a before kernel without its after kernel in this run.
	Incomplete Verdict = "incomplete"
	// NothingToVerify: the after kernel was not run because its pocket
	// offers nothing newer than the before kernel (or nothing at all):
	// every cell SKIP with that reason.
	NothingToVerify Verdict = "nothing to verify"
)

// Conclusion is the SRU verdict for one before/after pair of a series.
type Conclusion struct {
	Series  string  // "" when neither the pocket nor the run names one
	Check   string  // "history", "sru", or "" for role-paired kernels
	Label   string  // what the line and table are headed with, e.g. "noble-6.8 history"
	Before  string  // kernel name, "" when the run has no before kernel
	After   string  // kernel name, "" when the run has no after kernel
	Verdict Verdict //
	// Reproduced: the before kernel showed the bug, i.e. some scenario that
	// is PASS after was FAIL before.
	Reproduced bool
	// Failed: the evidence says the after kernel is wrong (a regression or an
	// unexpected FAIL), as opposed to undecided (ERROR, SKIP).
	Failed bool
	Text   string // one line, e.g. "noble: before … FAIL connect; after … all PASS → fix verified"
}

// Conclusions judges the run's before/after comparisons. With Run.Pairs
// (series tracks) each pair is judged as declared, in order; a pair neither
// of whose kernels is in the run (filtered out, another shard) is left out.
// Otherwise kernels that have a Role are paired per series (Pocket, else
// Run.Series): each "after" kernel takes the unpaired "before" kernel of its
// series with the same name apart from pocket words (jammy-hwe-6.8-updates
// ↔ jammy-hwe-6.8-proposed), else the first unpaired one. Order: run order
// of the after kernels, then before kernels left without a partner.
func Conclusions(r *Run) []Conclusion {
	if len(r.Pairs) > 0 {
		return pairConclusions(r)
	}
	rows := r.Rows()
	used := make([]bool, len(rows))
	var out []Conclusion
	for ai := range rows {
		a := &rows[ai]
		if a.Role != "after" {
			continue
		}
		series := r.SeriesOf(a)
		bi := -1
		for i := range rows {
			b := &rows[i]
			if used[i] || b.Role != "before" || r.SeriesOf(b) != series {
				continue
			}
			if stem(b.Name) == stem(a.Name) {
				bi = i
				break
			}
			if bi < 0 {
				bi = i
			}
		}
		var b *Kernel
		if bi >= 0 {
			used[bi] = true
			b = &rows[bi]
		}
		out = append(out, conclude(series, "", seriesLabel(series), b, a, nil))
	}
	for i := range rows {
		if b := &rows[i]; b.Role == "before" && !used[i] {
			c := Conclusion{Series: r.SeriesOf(b), Label: seriesLabel(r.SeriesOf(b)), Before: b.Name, Verdict: Incomplete}
			c.Text = fmt.Sprintf("%s: before %s %s; no after kernel in this run → nothing to verify",
				c.Label, kernelLabel(b), summarize(b))
			out = append(out, c)
		}
	}
	return out
}

// checkWords head a pair's line: "noble-6.8 history", "noble-6.8 SRU".
var checkWords = map[string]string{"history": "history", "sru": "SRU"}

func pairConclusions(r *Run) []Conclusion {
	var out []Conclusion
	for _, p := range r.Pairs {
		b, a := r.kernelByName(p.Before), r.kernelByName(p.After)
		if b == nil && a == nil {
			continue
		}
		label := strings.TrimSpace(p.Track + " " + checkWords[p.Check])
		if label == "" {
			label = "SRU"
		}
		series := r.Series
		if k := a; k != nil || b != nil {
			if k == nil {
				k = b
			}
			if s := r.SeriesOf(k); s != "" {
				series = s
			}
		}
		if a == nil {
			c := Conclusion{Series: series, Check: p.Check, Label: label, Before: b.Name, Verdict: Incomplete}
			c.Text = fmt.Sprintf("%s: before %s %s; %s not in this run → nothing concluded", label, kernelLabel(b), summarize(b), p.After)
			out = append(out, c)
			continue
		}
		out = append(out, conclude(series, p.Check, label, b, a, p.Fixes))
	}
	return out
}

// conclude judges the after kernel a against the before kernel b (nil when
// the run has none). fixes are the scenarios a is declared to fix.
func conclude(series, check, label string, b, a *Kernel, fixes []string) Conclusion {
	c := Conclusion{Series: series, Check: check, Label: label, After: a.Name}
	var line strings.Builder
	fmt.Fprintf(&line, "%s: ", label)
	if b != nil {
		c.Before = b.Name
		fmt.Fprintf(&line, "before %s %s; ", kernelLabel(b), summarize(b))
	}
	if a.Skip != "" {
		// Nothing ran: say why, and nothing else.
		c.Verdict = NothingToVerify
		fmt.Fprintf(&line, "after %s: SKIP → %s", a.Name, a.Skip)
		c.Text = line.String()
		return c
	}
	var regressed, unexpected, beforeOff []string
	failed := false
	for _, ac := range a.Cells {
		switch {
		case !ac.Matches():
			unexpected = append(unexpected, fmt.Sprintf("%s %s (expected %s)", ac.Scenario, ac.Outcome, ac.Expected))
			failed = failed || ac.Outcome == Fail
		case ac.Flaky:
			// Its first run matched, another did not: undecided, never
			// "fixed" nor a failure.
			unexpected = append(unexpected, fmt.Sprintf("%s FLAKY (%s)", ac.Scenario, ac.Tally()))
		}
		if b == nil {
			continue
		}
		bc, ok := b.Cell(ac.Scenario)
		if !ok || bc.Flaky || ac.Flaky {
			// A flaky side shows neither a reproduction nor a regression.
			continue
		}
		switch {
		case bc.Outcome == Pass && ac.Outcome == Fail:
			regressed = append(regressed, ac.Scenario)
		case bc.Outcome == Fail && ac.Outcome == Pass:
			c.Reproduced = true
		}
	}
	if b != nil {
		for _, bc := range b.Cells {
			switch {
			case !bc.Matches():
				beforeOff = append(beforeOff, fmt.Sprintf("%s %s (expected %s)", bc.Scenario, bc.Outcome, bc.Expected))
			case bc.Flaky:
				beforeOff = append(beforeOff, fmt.Sprintf("%s FLAKY (%s)", bc.Scenario, bc.Tally()))
			}
		}
	}
	fmt.Fprintf(&line, "after %s %s", kernelLabel(a), summarize(a))
	if b == nil {
		line.WriteString(" (no before kernel in this run)")
	}
	switch {
	case len(regressed) > 0:
		c.Verdict, c.Failed = Regression, true
		fmt.Fprintf(&line, " → REGRESSION in %s (PASS before, FAIL after)", strings.Join(regressed, ","))
	case len(unexpected) > 0:
		c.Verdict, c.Failed = NotVerified, failed
		fmt.Fprintf(&line, " → not verified: %s", strings.Join(unexpected, ", "))
	case c.Reproduced:
		c.Verdict = Verified
		line.WriteString(" → fix verified")
	default:
		c.Verdict = Verified
		switch {
		case b == nil:
			line.WriteString(" → as expected")
		case len(fixes) > 0:
			// Declared fixes that already PASS before: nothing to fix.
			fmt.Fprintf(&line, " → no regression (the fix was already in before: %s PASS on both)", strings.Join(fixes, ","))
		default:
			line.WriteString(" → no regression (the before kernel does not show the bug)")
		}
	}
	if len(beforeOff) > 0 {
		fmt.Fprintf(&line, "; before kernel not as expected: %s", strings.Join(beforeOff, ", "))
	}
	c.Text = line.String()
	return c
}

// Tags suggests the Launchpad verification tag per series, in order of
// first appearance: verification-done-<series> when every pair of the
// series is verified, verification-failed-<series> when the evidence says
// an after kernel is wrong, none while a pair is undecided (ERROR, SKIP, FLAKY,
// missing kernel, nothing in -proposed to verify): rerun first. History
// comparisons never suggest a tag.
func Tags(cs []Conclusion) []string {
	var order []string
	state := map[string]string{}
	for _, c := range cs {
		if c.Check == "history" {
			// The bug's history is not an SRU verification.
			continue
		}
		if !slices.Contains(order, c.Series) {
			order = append(order, c.Series)
			state[c.Series] = "done"
		}
		switch {
		case c.Failed:
			state[c.Series] = "failed"
		case c.Verdict != Verified && state[c.Series] == "done":
			state[c.Series] = ""
		}
	}
	var tags []string
	for _, s := range order {
		if st := state[s]; st != "" {
			t := "verification-" + st
			if s != "" {
				t += "-" + s
			}
			tags = append(tags, t)
		}
	}
	return tags
}

// NoTagReason says why Tags suggests nothing for cs ("" when it suggests a
// tag or there is nothing to tag).
func NoTagReason(cs []Conclusion) string {
	if len(Tags(cs)) > 0 {
		return ""
	}
	sru, nothing := 0, 0
	for _, c := range cs {
		if c.Check == "history" {
			continue
		}
		sru++
		if c.Verdict == NothingToVerify {
			nothing++
		}
	}
	switch {
	case sru == 0:
		return "No verification tag suggested: this run checks the bug's history only, not an SRU."
	case nothing == sru:
		return "No verification tag suggested: nothing in -proposed to verify."
	}
	return "No verification tag suggested: some results are undecided (ERROR/SKIP, FLAKY or a missing kernel); rerun them first."
}

// pocketWords are dropped from kernel names to pair before with after.
var pocketWords = []string{"updates", "proposed", "security", "release", "backports", "before", "after"}

func stem(name string) string {
	var keep []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }) {
		if !slices.Contains(pocketWords, strings.ToLower(w)) {
			keep = append(keep, w)
		}
	}
	return strings.Join(keep, "-")
}

func seriesLabel(s string) string {
	if s == "" {
		return "SRU"
	}
	return s
}

// kernelLabel is "name (package version)", or the release when the
// version is unknown.
func kernelLabel(k *Kernel) string {
	v := k.Version
	if v == "" {
		v = k.Release
	}
	if v == "" {
		return k.Name
	}
	return k.Name + " (" + v + ")"
}

// summarize lists the cells that are not PASS, grouped by outcome:
// "FAIL connect,fallback, ERROR join", or "all PASS".
func summarize(k *Kernel) string {
	if len(k.Cells) == 0 {
		return "no cells"
	}
	var parts []string
	for _, o := range []Outcome{Fail, Error, Skip} {
		var names []string
		for _, c := range k.Cells {
			if c.Outcome == o {
				names = append(names, c.Scenario)
			}
		}
		if len(names) > 0 {
			parts = append(parts, string(o)+" "+strings.Join(names, ","))
		}
	}
	if len(parts) == 0 {
		return "all PASS"
	}
	return strings.Join(parts, ", ")
}
