// Package bisect finds where a scenario's outcome changes along an ordered
// list of kernels (an Ubuntu series' ABIs in pocket and version order, or
// the user's own builds): it tests both ends, then halves the range between
// the last kernel with the first end's outcome and the first with the
// other, until the two are neighbours.
//
// Only PASS and FAIL decide. A kernel whose cell is ERROR (crash, setup
// not achieved, build or download failure) or SKIP is reported and the
// search moves to its nearest untested neighbour inside the range; it is
// never taken as good or bad. The search assumes one change along the list
// (as git bisect does); when both ends agree it says there is no change to
// find instead of guessing.
//
// The package knows nothing of QEMU or the archive: the caller's Tester
// runs one kernel and returns the cell's outcome.
package bisect

import (
	"context"
	"fmt"

	"github.com/srutest/srutest/report"
)

// Tester runs the scenario on kernel i and returns the cell's outcome.
type Tester func(ctx context.Context, i int) report.Outcome

// Step is one kernel tested, in the order tested.
type Step struct {
	N       int // 1-based step number
	Index   int // kernel index in the list
	Outcome report.Outcome
	Why     string // "first end", "last end", "midpoint of 3..9", "neighbour of 6 (ERROR)"…
}

// Verdict is how a search ended.
type Verdict int

const (
	// Found: Before and After are neighbours among the decided kernels,
	// with different outcomes (kernels strictly between them, if any, were
	// all ERROR/SKIP: see Undecided).
	Found Verdict = iota
	// NoChange: both ends decided with the same outcome.
	NoChange
	// Undecidable: fewer than two kernels could be decided.
	Undecidable
	// Interrupted: the context ended before the search did.
	Interrupted
)

// Result is the answer.
type Result struct {
	Verdict Verdict
	Steps   []Step
	// Before is the last kernel with the first end's outcome (From),
	// After the first with the other (To); -1 when not Found.
	Before, After int
	From, To      report.Outcome
	// First and Last are the decided ends (-1 when none).
	First, Last int
	// Undecided lists the kernels strictly between Before and After that
	// were tested and not decided (the change is in one of them or at
	// After).
	Undecided []int
}

// Outcome returns the outcome kernel i was tested with, if it was.
func (r *Result) Outcome(i int) (report.Outcome, bool) {
	for _, s := range r.Steps {
		if s.Index == i {
			return s.Outcome, true
		}
	}
	return "", false
}

func decided(o report.Outcome) bool { return o == report.Pass || o == report.Fail }

// Search bisects n kernels with test. onStep (may be nil) sees each step
// as soon as it is done.
func Search(ctx context.Context, n int, test Tester, onStep func(Step)) *Result {
	res := &Result{Before: -1, After: -1, First: -1, Last: -1}
	got := map[int]report.Outcome{}
	run := func(i int, why string) report.Outcome {
		if o, ok := got[i]; ok {
			return o
		}
		o := test(ctx, i)
		got[i] = o
		st := Step{N: len(res.Steps) + 1, Index: i, Outcome: o, Why: why}
		res.Steps = append(res.Steps, st)
		if onStep != nil {
			onStep(st)
		}
		return o
	}
	stop := func() bool {
		if ctx.Err() != nil {
			res.Verdict = Interrupted
			return true
		}
		return false
	}

	// The ends: the first decided kernel from each side.
	for i := 0; i < n && res.First < 0; i++ {
		why := "first end"
		if i > 0 {
			why = fmt.Sprintf("first end: neighbour of %d (%s)", i-1, got[i-1])
		}
		if decided(run(i, why)) {
			res.First = i
		}
		if stop() {
			return res
		}
	}
	for i := n - 1; i > res.First && res.Last < 0 && res.First >= 0; i-- {
		why := "last end"
		if i < n-1 {
			why = fmt.Sprintf("last end: neighbour of %d (%s)", i+1, got[i+1])
		}
		if decided(run(i, why)) {
			res.Last = i
		}
		if stop() {
			return res
		}
	}
	if res.First < 0 || res.Last < 0 {
		res.Verdict = Undecidable
		return res
	}
	lo, hi := res.First, res.Last
	res.From, res.To = got[lo], got[hi]
	if res.From == res.To {
		res.Verdict = NoChange
		return res
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		pick := -1
		// mid, then its neighbours outward (mid+1, mid-1, mid+2, …) while
		// inside (lo, hi): an ERROR kernel is skipped, never guessed.
		for d := 0; pick < 0; d++ {
			cands := []int{mid + d}
			if d > 0 {
				cands = append(cands, mid-d)
			}
			inside := false
			for _, c := range cands {
				if c <= lo || c >= hi {
					continue
				}
				inside = true
				why := fmt.Sprintf("midpoint of %d..%d", lo, hi)
				if c != mid {
					why = fmt.Sprintf("neighbour of %d (%s)", mid, got[mid])
				}
				if decided(run(c, why)) {
					pick = c
					break
				}
				if stop() {
					return res
				}
			}
			if !inside {
				break
			}
		}
		if pick < 0 {
			break // every kernel strictly inside is undecided
		}
		if got[pick] == res.From {
			lo = pick
		} else {
			hi = pick
		}
	}
	res.Verdict, res.Before, res.After = Found, lo, hi
	for i := lo + 1; i < hi; i++ {
		if _, ok := got[i]; ok {
			res.Undecided = append(res.Undecided, i)
		}
	}
	return res
}
