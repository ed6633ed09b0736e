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
)

// AllAsExpected reports whether every cell matches its expected outcome.
func (r *Run) AllAsExpected() bool { return ExitCode(r) == ExitOK }

// ExitCode is ExitOK when every cell is as expected, ExitError when any
// unexpected cell is an ERROR, ExitUnexpected otherwise.
func ExitCode(r *Run) int {
	code := ExitOK
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			switch {
			case c.Matches():
			case c.Outcome == Error:
				return ExitError
			default:
				code = ExitUnexpected
			}
		}
	}
	return code
}
