package report

// Exit codes of `srutest run` and `srutest report`, from the cells alone.
const (
	// ExitOK: every cell came out as expected.
	ExitOK = 0
	// ExitUnexpected: some cell is an unexpected PASS, FAIL or SKIP: the
	// kernels do not behave as the plan says.
	ExitUnexpected = 1
	// ExitError: some cell is an unexpected ERROR: the harness could not
	// decide (boot failure, crash, setup not achieved). Takes precedence
	// over ExitUnexpected, since evidence is missing, not contradicting.
	ExitError = 2
	// ExitFlaky: every cell came out as expected, but some cell's outcome
	// varied between its runs (srutest run --repeat N): the test is not
	// to be trusted on that kernel, which is not a regression.
	ExitFlaky = 3
)

// AllAsExpected reports whether every cell matches its expected outcome.
func (r *Run) AllAsExpected() bool { return ExitCode(r) == ExitOK }

// ExitCode is ExitError when any unexpected cell is an ERROR, else
// ExitUnexpected when any cell is not as expected, else ExitFlaky when any
// repeated cell's outcome varied, else ExitOK.
func ExitCode(r *Run) int {
	code := ExitOK
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			switch {
			case !c.Matches() && c.Outcome == Error:
				return ExitError
			case !c.Matches():
				code = ExitUnexpected
			case c.Flaky && code == ExitOK:
				code = ExitFlaky
			}
		}
	}
	return code
}
