package report

import "fmt"

// addSubtests appends one testcase per subtest of a selftest cell, named
// "<script>: <subtest>": a not-ok subtest is a <failure>, a skipped one
// <skipped> (its reason is the TAP directive text). The cell's own
// testcase carries the script's verdict; these say which subtest made it.
func (s *JUnitSuite) addSubtests(kernel string, c Cell) {
	for _, st := range c.Subtests {
		tc := JUnitCase{Name: fmt.Sprintf("%s: %s", c.Scenario, st.Name), Classname: kernel, Time: seconds(st.Duration)}
		msg := &JUnitMsg{Message: fmt.Sprintf("subtest %d %s: %s", st.Num, st.Outcome, st.Reason)}
		switch st.Outcome {
		case Pass:
		case Skip:
			tc.Skipped = msg
			s.Skipped++
		case Error:
			tc.Error = msg
			s.Errors++
		default:
			tc.Failure = msg
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
}
