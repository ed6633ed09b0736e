package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnitSuites is the JUnit XML document JUnit writes; exported so tests
// and tools can read a junit.xml back with encoding/xml.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one kernel.
type JUnitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Hostname  string      `xml:"hostname,attr,omitempty"`
	Props     []JUnitProp `xml:"properties>property,omitempty"`
	Cases     []JUnitCase `xml:"testcase"`
}

// JUnitProp is a suite property (spec, version, release, role, pocket).
type JUnitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one kernel × scenario cell.
type JUnitCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *JUnitMsg `xml:"failure,omitempty"`
	Error     *JUnitMsg `xml:"error,omitempty"`
	Skipped   *JUnitMsg `xml:"skipped,omitempty"`
	SystemOut string    `xml:"system-out,omitempty"`
}

// JUnitMsg is the body of a failure, error or skipped element.
type JUnitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit writes one testsuite per kernel (classname = kernel name) and one
// testcase per scenario, agreeing with ExitCode: a cell not as expected is
// an <error> when it is ERROR and a <failure> otherwise (unexpected FAIL,
// PASS or SKIP); a FLAKY cell (its repeated runs disagreed, exit code 3)
// that is otherwise as expected is a <failure type="FLAKY"> listing every
// run; an expected SKIP is <skipped>; an expected FAIL (a before kernel
// showing the bug) passes, its system-out says so. system-out holds
// outcome, expectation, reason, each run of a repeated cell, subflows and
// the artifacts directory (relative to results.json); an error's body is
// the console excerpt.
func JUnit(w io.Writer, r *Run) error {
	doc := junitDoc(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitDoc(r *Run) JUnitSuites {
	doc := JUnitSuites{Name: "srutest " + r.Name}
	var total time.Duration
	for _, k := range r.Rows() {
		s := JUnitSuite{Name: k.Name, Hostname: r.Host}
		if !r.Started.IsZero() {
			s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for _, p := range [][2]string{{"spec", k.Spec}, {"role", k.Role}, {"pocket", k.Pocket}, {"version", k.Version}, {"release", k.Release}, {"error", k.Error}} {
			if p[1] != "" {
				s.Props = append(s.Props, JUnitProp{Name: p[0], Value: p[1]})
			}
		}
		var st time.Duration
		cells := append([]Cell(nil), k.Cells...)
		sortCells(cells)
		for _, c := range cells {
			tc := JUnitCase{Name: c.Scenario, Classname: k.Name, Time: seconds(c.Duration), SystemOut: systemOut(c)}
			msg := &JUnitMsg{Message: fmt.Sprintf("%s, expected %s: %s", c.Outcome, c.Expected, oneLine(c.Reason, 0)), Type: string(c.Outcome)}
			switch {
			case c.Matches() && c.Flaky:
				// As the exit code (3) says: not a pass. The body lists
				// every run so CI shows which way it went.
				msg.Message = fmt.Sprintf("%s, expected %s: %s", flakyLine(c), c.Expected, oneLine(c.Reason, 0))
				msg.Type = "FLAKY"
				msg.Body = strings.Join(repeatLines(c, 0), "\n")
				tc.Failure = msg
				s.Failures++
			case c.Matches() && c.Outcome == Skip:
				msg.Type = ""
				tc.Skipped = msg
				s.Skipped++
			case c.Matches():
			case c.Outcome == Error:
				msg.Body = c.Console
				tc.Error = msg
				s.Errors++
			default:
				tc.Failure = msg
				s.Failures++
			}
			if c.Flaky && !c.Matches() {
				msg.Message += " (" + flakyLine(c) + ")"
			}
			s.Tests++
			st += c.Duration
			s.Cases = append(s.Cases, tc)
			s.addSubtests(k.Name, c) // kernel selftest scripts: one testcase per subtest
		}
		s.Time = seconds(st)
		total += st
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	return doc
}

func systemOut(c Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome: %s (expected %s)\n", c.Outcome, c.Expected)
	if c.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", c.Reason)
	}
	if c.Flaky {
		fmt.Fprintf(&b, "%s\n", flakyLine(c))
	}
	for _, l := range repeatLines(c, 0) {
		fmt.Fprintf(&b, "%s\n", l)
	}
	for _, sf := range c.Subflows {
		fmt.Fprintf(&b, "subflow: %s\n", subflowLine(sf))
	}
	if c.Artifacts != "" {
		fmt.Fprintf(&b, "artifacts: %s (verdict.json explains the verdict)\n", c.Artifacts)
	}
	return b.String()
}

// subflowLine is the one-line summary of a subflow's evidence.
func subflowLine(sf Subflow) string {
	timer := "no keepalive timer"
	if sf.TimerSeen {
		timer = "keepalive timer"
	}
	return fmt.Sprintf("%s %s %s → %s: %s, %d probes, interval %.2fs: %s",
		sf.Path, sf.Kind, sf.Local, sf.Remote, timer, sf.Probes, sf.IntervalSec, sf.Verdict)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
