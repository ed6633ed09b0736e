package report

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Markdown renders a Launchpad SRU verification comment. Launchpad shows
// comments as plain text, so the table is aligned text in a fenced block.
func Markdown(w io.Writer, r *Run) error {
	fmt.Fprintf(w, "srutest verification: %s (%s)\n\n", r.Name, r.Started.Format("2006-01-02"))
	for _, k := range r.Kernels {
		fmt.Fprintf(w, "- %s: %s", k.Name, k.Spec)
		if k.Version != "" {
			fmt.Fprintf(w, " version %s", k.Version)
		}
		if k.Release != "" {
			fmt.Fprintf(w, " (uname -r %s)", k.Release)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\n```")
	Matrix(w, r, MatrixOptions{})
	fmt.Fprintln(w, "```")
	for _, c := range Conclusions(r) {
		if strings.Contains(c.Text, "fix verified") && r.Series != "" {
			fmt.Fprintf(w, "\nSuggested tag: verification-done-%s\n", r.Series)
		}
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      float64   `xml:"time,attr"`
	Failure   *junitMsg `xml:"failure,omitempty"`
	Error     *junitMsg `xml:"error,omitempty"`
	Skipped   *junitMsg `xml:"skipped,omitempty"`
	SystemOut string    `xml:"system-out,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// JUnit renders one testsuite per kernel and one testcase per scenario. A
// cell that does not match its expectation fails (ERROR → <error>).
func JUnit(w io.Writer, r *Run) error {
	var out junitSuites
	for _, k := range r.Kernels {
		s := junitSuite{Name: k.Name}
		for _, c := range k.Cells {
			tc := junitCase{Name: c.Scenario, Classname: k.Name, Time: c.Duration.Seconds(),
				SystemOut: fmt.Sprintf("%s (expected %s): %s\nartifacts: %s", c.Outcome, c.Expected, c.Reason, c.Artifacts)}
			msg := &junitMsg{Message: fmt.Sprintf("%s, expected %s: %s", c.Outcome, c.Expected, c.Reason), Body: c.Console}
			switch {
			case c.Outcome == Skip && c.Matches():
				tc.Skipped = msg
				s.Skipped++
			case c.Outcome == Error && !c.Matches():
				tc.Error = msg
				s.Errors++
			case !c.Matches():
				tc.Failure = msg
				s.Failures++
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		out.Suites = append(out.Suites, s)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>srutest {{.Run.Name}}</title>
<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px 8px}
.PASS{background:#cfc}.FAIL{background:#fcc}.ERROR{background:#fcf}.SKIP{background:#ffc}.unexpected{font-weight:bold;outline:2px solid red}</style></head>
<body><h1>srutest: {{.Run.Name}}</h1><p>{{.Run.Started}} · accel {{.Run.Accel}}</p>
<table><tr><th>kernel</th><th>release</th>{{range .Scen}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.K.Name}}</td><td>{{.K.Release}}</td>{{range .Cells}}<td class="{{.Outcome}}{{if not .Matches}} unexpected{{end}}">
{{if .Scenario}}<details><summary>{{.Outcome}}{{if not .Matches}} (expected {{.Expected}}){{end}}</summary><p>{{.Reason}}</p>
{{range .Subflows}}<p>{{.Path}} {{.Kind}} {{.Local}}→{{.Remote}}: timer {{.TimerSeen}}, probes {{.Probes}}, interval {{.IntervalSec}}s → {{.Verdict}}</p>{{end}}
{{if .Artifacts}}<a href="{{.Artifacts}}/">artifacts</a> · <a href="{{.Artifacts}}/verdict.json">verdict.json</a>{{end}}
{{if .Console}}<pre>{{.Console}}</pre>{{end}}</details>{{else}}-{{end}}</td>{{end}}</tr>{{end}}
</table>{{range .Concl}}<p>{{.Text}}</p>{{end}}</body></html>
`))

// HTML renders a self-contained page with the matrix and per-cell details.
func HTML(w io.Writer, r *Run) error {
	type row struct {
		K     Kernel
		Cells []Cell
	}
	scen := r.Scenarios()
	var rows []row
	for _, k := range r.Kernels {
		rw := row{K: k}
		for _, s := range scen {
			c, _ := k.Cell(s)
			rw.Cells = append(rw.Cells, c)
		}
		rows = append(rows, rw)
	}
	return page.Execute(w, struct {
		Run   *Run
		Scen  []string
		Rows  []row
		Concl []Conclusion
	}{r, scen, rows, Conclusions(r)})
}
