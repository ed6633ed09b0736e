package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
)

// HTML renders one self-contained page (inline CSS, no scripts, no external
// resources): run header, SRU conclusions with a before/after table per
// pair, the matrix with colored cells
// (unexpected cells outlined and starred) linking to each cell's details,
// then per kernel its packages and timings, each cell's probe timeline (an
// inline SVG per cell, one track per subflow: see TimelineSVG), and per cell a collapsible
// <details> with reason, subflow evidence, console excerpt and links to the
// artifacts directory and its verdict.json (relative to results.json, so
// the page works next to it). A FLAKY cell (srutest run --repeat N, runs
// disagreeing) is striped and says FLAKY in the matrix, and its details
// list every run with its outcome, reason and verdict.json.
// All text goes through html/template escaping.
func HTML(w io.Writer, r *Run) error {
	if err := page().Execute(w, htmlData(r)); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

type htmlCell struct {
	Cell
	ID string // anchor of the cell's details; "" when the kernel has no such cell
}

type htmlKernel struct {
	Kernel
	ID    string
	Cells []htmlCell // one per scenario column, in column order
}

// htmlPocket is one SRU pair side by side.
type htmlPocket struct {
	Conclusion
	BeforeRelease, AfterRelease string
	Rows                        []htmlPocketRow
}

type htmlPocketRow struct {
	Scenario      string
	Before, After htmlCell
	Change        string
}

type htmlPage struct {
	Run         *Run
	Bug, When   string
	Count       string
	Scenarios   []string
	Kernels     []htmlKernel
	Conclusions []Conclusion
	Pockets     []htmlPocket
	Tags        string
	Unfinished  int
	Repeated    bool // some cell ran more than once (--repeat N)
}

func htmlData(r *Run) htmlPage {
	p := htmlPage{Run: r, When: runLine(r), Count: r.Count().String(), Scenarios: r.Scenarios(),
		Conclusions: Conclusions(r), Unfinished: r.Unfinished(), Repeated: r.Repeated()}
	if r.Bug != "" {
		p.Bug = lpRef(r.Bug)
	}
	p.Tags = strings.Join(Tags(p.Conclusions), " ")
	for i, k := range r.Rows() {
		hk := htmlKernel{Kernel: k, ID: fmt.Sprintf("k%d", i+1)}
		for j, s := range p.Scenarios {
			c, ok := k.Cell(s)
			hc := htmlCell{Cell: c}
			if ok {
				hc.ID = fmt.Sprintf("k%d-s%d", i+1, j+1)
			}
			hk.Cells = append(hk.Cells, hc)
		}
		p.Kernels = append(p.Kernels, hk)
	}
	// Cell anchors of a kernel, to link the pocket tables to the details.
	ids := map[string]htmlKernel{}
	for _, hk := range p.Kernels {
		ids[hk.Name] = hk
	}
	for _, c := range p.Conclusions {
		hp := htmlPocket{Conclusion: c}
		b, a := r.kernelByName(c.Before), r.kernelByName(c.After)
		if b != nil {
			hp.BeforeRelease = b.Release
		}
		if a != nil {
			hp.AfterRelease = a.Release
		}
		for j, s := range p.Scenarios {
			row := htmlPocketRow{Scenario: s, Change: cellChange(b, a, s)}
			if hk, ok := ids[c.Before]; ok && b != nil {
				row.Before = hk.Cells[j]
			}
			if hk, ok := ids[c.After]; ok && a != nil {
				row.After = hk.Cells[j]
			}
			hp.Rows = append(hp.Rows, row)
		}
		p.Pockets = append(p.Pockets, hp)
	}
	return p
}

// page is parsed on first use, not at package init: srutest is also the
// guest's /init, and under TCG every init function of the binary delays
// every boot (this parse was the biggest, ~0.8 ms of ~4.5 ms natively).
var page = sync.OnceValue(func() *template.Template { return template.Must(pageTemplate.Parse(pageText)) })

var pageTemplate = template.New("page").Funcs(template.FuncMap{
	"verdictClass": func(c Conclusion) string {
		switch {
		case c.Verdict == Verified:
			return "ok"
		case c.Failed:
			return "bad"
		}
		return "undecided"
	},
	"seconds":  func(c Cell) string { return seconds(c.Duration) },
	"timeline": TimelineSVG,
	"dur":      func(t Timing) string { return seconds(t.Duration) },
	"flaky":    flakyLine,
	"inc":      func(i int) int { return i + 1 },
	"evidence": func(rp Repeat) string { return evidencePath(Cell{Artifacts: rp.Artifacts}) },
})

const pageText = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>srutest {{.Run.Name}}{{if .Bug}} · {{.Bug}}{{end}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eee}
td.cell{text-align:center;font-family:monospace;font-weight:bold}
td.cell a{color:inherit;text-decoration:none}
.PASS{background:#c8efc8}.FAIL{background:#f6c4c4}.ERROR{background:#e6c8f2}.SKIP{background:#f6efbf}
.unexpected{outline:3px solid #d00;outline-offset:-3px}
.ok{color:#070}.bad{color:#b00;font-weight:bold}.undecided{color:#a60}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;max-height:30em}
details{margin:.3em 0}summary{cursor:pointer}
.muted{color:#666}
figure.tl{margin:.4em 0 .8em 0}figure.tl figcaption{font-size:.9em;margin-bottom:.2em}
.legend{font-size:.85em;color:#444}.legend i{display:inline-block;width:10px;height:10px;margin:0 .2em 0 .8em;vertical-align:middle}
{{if .Repeated}}.FLAKY{background:repeating-linear-gradient(135deg,#fbe3b0 0 6px,#f3c77a 6px 12px)}
{{end}}</style></head>
<body>
<h1>srutest: {{.Run.Name}}{{if .Bug}} — {{.Bug}}{{end}}</h1>
<p class="muted">{{if .Run.Series}}series {{.Run.Series}} · {{end}}{{.When}}</p>
<p>{{.Count}}{{if .Unfinished}} · {{.Unfinished}} kernel(s) did not finish{{end}}</p>
{{if .Conclusions}}<h2>SRU conclusion</h2>
<ul>{{range .Conclusions}}<li class="{{verdictClass .}}">{{.Text}}</li>{{end}}</ul>
{{range .Pockets}}<table>
<tr><th>{{if .Label}}{{.Label}}{{else if .Series}}{{.Series}}{{else}}SRU{{end}}</th><th>before: {{if .Before}}{{.Before}}{{else}}-{{end}}<br><span class="muted">{{.BeforeRelease}}</span></th><th>after: {{if .After}}{{.After}}{{else}}-{{end}}<br><span class="muted">{{.AfterRelease}}</span></th><th>change</th></tr>
{{range .Rows}}<tr><td>{{.Scenario}}</td>{{template "cell" .Before}}{{template "cell" .After}}<td>{{.Change}}</td></tr>
{{end}}</table>
{{end}}{{if .Tags}}<p>Suggested Launchpad tags: <code>{{.Tags}}</code></p>{{else}}<p>No verification tag suggested: some results are undecided; rerun them first.</p>{{end}}
{{end}}<h2>Matrix</h2>
<table>
<tr><th>kernel</th><th>role</th><th>uname -r</th>{{range .Scenarios}}<th>{{.}}</th>{{end}}</tr>
{{range .Kernels}}<tr><td><a href="#{{.ID}}">{{.Name}}</a></td><td>{{.Role}}</td><td>{{.Release}}</td>
{{- range .Cells}}{{template "cell" .}}{{end}}</tr>
{{end}}</table>
<p class="muted">* not the expected outcome (outlined); hover a cell for the reason.{{if .Repeated}} FLAKY: the cell's repeated runs disagreed (striped; hover for the tally, its details list every run).{{end}}</p>
<h2>Details</h2>
<p class="legend">Probe timelines: packets over time, one track per subflow:<i style="background:#555"></i>client→server above the line, server→client below<i style="background:#1565c0"></i>SYN<i style="background:#2e7d32"></i>data<i style="background:#d11"></i>keepalive probe<i style="background:#777"></i>expected probe time (keepalive interval after the connection went idle)</p>
{{range .Kernels}}<section id="{{.ID}}"><h3>{{.Name}}</h3>
<table>
<tr><th>spec</th><td>{{.Spec}}</td></tr>
{{if .Role}}<tr><th>role</th><td>{{.Role}}</td></tr>{{end}}
{{if .Pocket}}<tr><th>pocket</th><td>{{.Pocket}}</td></tr>{{end}}
{{if .Version}}<tr><th>package version</th><td>{{.Version}}</td></tr>{{end}}
<tr><th>uname -r</th><td>{{.Release}}</td></tr>
{{if .Error}}<tr><th>error</th><td class="bad">{{.Error}}</td></tr>{{end}}
{{if .Timings}}<tr><th>timings</th><td>{{range $i, $t := .Timings}}{{if $i}}, {{end}}{{$t.Phase}} {{dur $t}}s{{end}}</td></tr>{{end}}
</table>
{{range $c := .Cells}}{{if $c.ID}}{{with timeline $c.Cell}}<figure class="tl" id="{{$c.ID}}-tl"><figcaption><a href="#{{$c.ID}}">{{$c.Scenario}}</a> <span class="{{$c.Outcome}}">&nbsp;{{$c.Outcome}}&nbsp;</span></figcaption>
{{.}}</figure>
{{end}}{{end}}{{end}}{{range .Cells}}{{if .ID}}<details id="{{.ID}}"{{if or (not .Matches) .Flaky}} open{{end}}>
<summary>{{if .Flaky}}<span class="FLAKY">&nbsp;FLAKY&nbsp;</span> {{end}}<span class="{{.Outcome}}">&nbsp;{{.Outcome}}&nbsp;</span> <b>{{.Scenario}}</b>{{if not .Matches}} <span class="bad">expected {{.Expected}}</span>{{end}} <span class="muted">({{seconds .Cell}}s)</span></summary>
<p>{{.Reason}}</p>
{{if gt (len .Repeats) 1}}<p>{{if .Flaky}}<b>{{flaky .Cell}}</b>{{else}}{{len .Repeats}} runs, all {{.Outcome}}{{end}}</p>
<table><tr><th>run</th><th>outcome</th><th>reason</th><th>evidence</th></tr>
{{range $i, $rp := .Repeats}}<tr><td>{{inc $i}}</td><td class="{{$rp.Outcome}}">{{$rp.Outcome}}</td><td>{{$rp.Reason}}</td><td>{{if $rp.Artifacts}}<a href="{{evidence $rp}}">verdict.json</a>{{end}}</td></tr>
{{end}}</table>
{{end}}{{if .Subflows}}<table><tr><th>path</th><th>kind</th><th>local</th><th>remote</th><th>keepalive timer</th><th>probes</th><th>interval (s)</th><th>verdict</th><th>notes</th></tr>
{{range .Subflows}}<tr><td>{{.Path}}</td><td>{{.Kind}}</td><td>{{.Local}}</td><td>{{.Remote}}</td><td>{{if .TimerSeen}}yes{{else}}no{{end}}</td><td>{{.Probes}}</td><td>{{printf "%.2f" .IntervalSec}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{range .Notes}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>{{end}}{{if .Subtests}}<table><tr><th>#</th><th>subtest</th><th>outcome</th><th>reason</th></tr>
{{range .Subtests}}<tr><td>{{.Num}}</td><td>{{.Name}}</td><td class="{{.Outcome}}">{{.Outcome}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
{{if .Artifacts}}<p><a href="{{.Artifacts}}/">artifacts</a> · <a href="{{.Artifacts}}/verdict.json">verdict.json</a></p>{{end}}
{{if .Console}}<pre>{{.Console}}</pre>{{end}}
</details>
{{end}}{{end}}</section>
{{end}}</body></html>
{{define "cell"}}{{if not .ID}}<td class="cell">-</td>{{else if .Flaky}}<td class="cell FLAKY{{if not .Matches}} unexpected{{end}}" title="expected {{.Expected}}: {{flaky .Cell}}"><a href="#{{.ID}}">FLAKY{{if not .Matches}}*{{end}}</a></td>{{else}}<td class="cell {{.Outcome}}{{if not .Matches}} unexpected{{end}}" title="expected {{.Expected}}: {{.Reason}}"><a href="#{{.ID}}">{{.Outcome}}{{if not .Matches}}*{{end}}</a></td>{{end}}{{end}}`
