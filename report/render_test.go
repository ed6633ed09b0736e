package report

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
)

func TestJUnitRoundTrip(t *testing.T) {
	r := fixture(t)
	// Control characters (an ANSI console) are not valid XML 1.0: they must
	// not make the document unreadable.
	r.Kernels[2].Cells[4].Console += "\x1b[31mred\x1b[0m \x00 ]]> </system-out>"
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var back JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	if back.Tests != 26 || back.Failures != 1 || back.Errors != 1 || back.Skipped != 1 || len(back.Suites) != 6 {
		t.Fatalf("totals: %d tests, %d failures, %d errors, %d skipped, %d suites", back.Tests, back.Failures, back.Errors, back.Skipped, len(back.Suites))
	}
	rev := back.Suites[2]
	if rev.Name != "6.12-revert-648de37416b3" || rev.Failures != 1 || rev.Errors != 1 || rev.Time != "28.700" {
		t.Errorf("suite %s: %d failures %d errors time %s", rev.Name, rev.Failures, rev.Errors, rev.Time)
	}
	byName := map[string]JUnitCase{}
	for _, c := range rev.Cases {
		if c.Classname != rev.Name {
			t.Errorf("classname %q", c.Classname)
		}
		byName[c.Name] = c
	}
	// Expected FAIL: passes, says so.
	if c := byName["connect"]; c.Failure != nil || c.Error != nil || !strings.Contains(c.SystemOut, "outcome: FAIL (expected FAIL)") {
		t.Errorf("expected FAIL: %+v", c)
	}
	// Unexpected FAIL: failure with the reason.
	if c := byName["join"]; c.Failure == nil || !strings.Contains(c.Failure.Message, "FAIL, expected PASS: path1 initial: no keepalive") {
		t.Errorf("unexpected FAIL: %+v", c)
	}
	// ERROR: error with the console, artifacts path in system-out.
	c := byName["keepalive-after-connect"]
	if c.Error == nil || !strings.Contains(c.Error.Body, "WARNING: CPU: 0 PID: 213") || !strings.Contains(c.Error.Body, "]]> </system-out>") {
		t.Errorf("ERROR: %+v", c.Error)
	}
	if !strings.Contains(c.SystemOut, "artifacts: 6.12-revert-648de37416b3/keepalive-after-connect") || c.Time != "3.100" {
		t.Errorf("system-out %q time %s", c.SystemOut, c.Time)
	}
	if s := back.Suites[3].Cases[0]; s.Skipped == nil || s.Failure != nil {
		t.Errorf("expected SKIP: %+v", s)
	}
	// An unexpected SKIP is a failure: CI agrees with the exit code.
	r.Kernels[3].Cells[0].Expected = Pass
	b.Reset()
	JUnit(&b, r)
	back = JUnitSuites{}
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if s := back.Suites[3].Cases[0]; s.Skipped != nil || s.Failure == nil {
		t.Errorf("unexpected SKIP: %+v", s)
	}
}

func TestHTMLEscapesHostileInput(t *testing.T) {
	r := fixture(t)
	k := &r.Kernels[0]
	k.Name = `<script>alert("k")</script>`
	k.Spec = `deb:"><img src=x onerror=alert(1)>.deb`
	k.Cells[0].Reason = `</p><script>alert(2)</script>`
	k.Cells[0].Artifacts = `javascript:alert(3)`
	k.Cells[1].Artifacts = `x" onmouseover="alert(4)`
	k.Cells[0].Console = "</pre><script>alert(5)</script>"
	k.Cells[0].Subflows[0].Notes = []string{"<b>bold</b>"}
	r.Name = "<title>"
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "<img", `onmouseover="`, "javascript:alert", "<b>bold", "</pre><", "<title><title>"} {
		if strings.Contains(out, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;k&#34;)&lt;/script&gt;") {
		t.Error("kernel name not shown escaped")
	}
	// html/template replaces an unsafe URL with #ZgotmplZ.
	if !strings.Contains(out, `href="#ZgotmplZ`) {
		t.Error("javascript: URL not neutralised")
	}
	if !strings.Contains(out, `href="debian-6.12-cloud/connect/verdict.json"`) {
		t.Error("no verdict.json link for an ordinary cell")
	}
}

func TestMatrixColorKeepsAlignment(t *testing.T) {
	r := fixture(t)
	var plain, color bytes.Buffer
	Matrix(&plain, r, MatrixOptions{})
	Matrix(&color, r, MatrixOptions{Color: true})
	stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(color.String(), "")
	if stripped != plain.String() {
		t.Errorf("colored matrix without escapes differs from the plain one:\n%s\n---\n%s", stripped, plain.String())
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("escape sequence without Color")
	}
}

func TestMatrixSanitizesNames(t *testing.T) {
	r := fixture(t)
	r.Kernels[0].Name = "evil\x1b]0;owned\x07\nname"
	r.Kernels[2].Cells[2].Reason = "line one\nline two\r\n\ttabbed"
	var b bytes.Buffer
	Matrix(&b, r, MatrixOptions{})
	if strings.ContainsAny(b.String(), "\x1b\x07\r\t") {
		t.Errorf("control characters reach the terminal: %q", b.String())
	}
	if !strings.Contains(b.String(), "join: FAIL, expected PASS: line one line two tabbed") {
		t.Errorf("reason not on one line:\n%s", b.String())
	}
}

func TestMatrixGroupsSameReason(t *testing.T) {
	r := &Run{Schema: SchemaVersion, Name: "x", Kernels: []Kernel{{Name: "k", Error: "boot: no SSH", Cells: []Cell{
		{Scenario: "join", Outcome: Error, Expected: Pass, Reason: "boot: no SSH"},
		{Scenario: "connect", Outcome: Error, Expected: Pass, Reason: "boot: no SSH"},
		{Scenario: "fallback", Outcome: Error, Expected: Fail, Reason: "boot: no SSH"},
	}}}}
	var b bytes.Buffer
	Matrix(&b, r, MatrixOptions{})
	want := "  k × connect,join: ERROR, expected PASS: boot: no SSH\n  k × fallback: ERROR, expected FAIL: boot: no SSH\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("want\n%s\nin\n%s", want, b.String())
	}
}

func TestExitCode(t *testing.T) {
	r := fixture(t)
	if got := ExitCode(r); got != ExitError || r.AllAsExpected() {
		t.Errorf("fixture: exit %d", got)
	}
	r.Kernels[2].Cells[4].Outcome = Pass // the crash
	if got := ExitCode(r); got != ExitUnexpected {
		t.Errorf("unexpected FAIL only: exit %d", got)
	}
	r.Kernels[2].Cells[2].Expected = Fail // join declared FAIL
	if got := ExitCode(r); got != ExitOK || !r.AllAsExpected() {
		t.Errorf("all as expected: exit %d", got)
	}
	r.Kernels[4].Cells[0].Outcome = Pass // before kernel passes connect: unexpected PASS
	if got := ExitCode(r); got != ExitUnexpected {
		t.Errorf("unexpected PASS: exit %d", got)
	}
	if ExitCode(&Run{}) != ExitOK {
		t.Error("empty run")
	}
}

func TestLPRef(t *testing.T) {
	for in, want := range map[string]string{
		"LP#2125444": "LP: #2125444", "LP: #2125444": "LP: #2125444", "2125444": "LP: #2125444",
		"bug 2125444": "LP: #2125444", "lp 2125444": "LP: #2125444", "https://bugs.launchpad.net/bugs/2125444": "https://bugs.launchpad.net/bugs/2125444",
	} {
		if got := lpRef(in); got != want {
			t.Errorf("lpRef(%q) = %q, want %q", in, got, want)
		}
	}
}

// The golden file pins the layout; this pins what a Launchpad reader needs.
func TestMarkdownContent(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"LP: #2125444", "6.8.0-85.85", "6.8.0-87.88", "6.8.0-85-generic", "6.8.0-87-generic", "noble-proposed",
		"noble: before noble-6.8-updates (6.8.0-85.85) FAIL connect,fallback,join; after noble-6.8-proposed (6.8.0-87.88) all PASS → fix verified",
		"Suggested tags: verification-done-noble\n",
		"6.12-revert-648de37416b3 × keepalive-after-connect: ERROR, expected PASS: kernel crash during scenario: WARNING:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if n := strings.Count(out, "```"); n != 6 {
		t.Errorf("%d fences, want 6 (kernels, results, before → after)", n)
	}
	// The before → after table: scenario rows with both outcomes and the change.
	for _, want := range []string{
		"noble                    BEFORE noble-6.8-updates  AFTER noble-6.8-proposed  CHANGE\n",
		"connect                  FAIL                      PASS                      fixed\n",
		"keepalive-off            PASS                      PASS\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("before → after table lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\t") {
		t.Error("escape or tab in a plain-text comment")
	}
}

// The pocket comparison names every kind of change and marks unexpected
// cells; a before kernel without its after kernel still gets a table.
func TestPocketTable(t *testing.T) {
	cell := func(s string, o, e Outcome) Cell { return Cell{Scenario: s, Outcome: o, Expected: e} }
	r := &Run{Name: "t", Kernels: []Kernel{
		{Name: "jammy-updates", Role: "before", Pocket: "jammy-updates", Release: "5.15.0-1-generic", Cells: []Cell{
			cell("connect", Fail, Fail), cell("fallback", Pass, Fail), cell("join", Pass, Pass), cell("keepalive-off", Pass, Pass)}},
		{Name: "jammy-proposed", Role: "after", Pocket: "jammy-proposed", Release: "5.15.0-2-generic", Cells: []Cell{
			cell("connect", Pass, Pass), cell("fallback", Pass, Pass), cell("join", Fail, Pass), cell("keepalive-off", Error, Pass)}},
		{Name: "noble-updates", Role: "before", Pocket: "noble-updates", Release: "6.8.0-1-generic", Cells: []Cell{cell("connect", Fail, Fail)}},
	}}
	var b bytes.Buffer
	if err := Matrix(&b, r, MatrixOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log(out)
	for _, want := range []string{
		"  jammy          BEFORE jammy-updates  AFTER jammy-proposed  CHANGE\n",
		"  connect        FAIL                  PASS                  fixed\n",
		"  fallback       PASS*                 PASS\n",
		"  join           PASS                  FAIL*                 REGRESSED\n",
		"  keepalive-off  PASS                  ERROR*                changed\n",
		"  noble          BEFORE noble-updates  AFTER -            CHANGE\n",
		"                 6.8.0-1-generic       (not in this run)\n",
		"→ REGRESSION in join",
		"noble: before noble-updates (6.8.0-1-generic) FAIL connect; no after kernel in this run → nothing to verify",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q", want)
		}
	}
}

// A repeated run shows a FLAKY column and FLAKY cells; the tally counts them.
func TestMatrixFlaky(t *testing.T) {
	r := &Run{Kernels: []Kernel{{Name: "k1", Release: "6.12.0", Cells: []Cell{
		{Scenario: "connect", Outcome: Pass, Expected: Pass, Repeats: []Repeat{{Outcome: Pass}, {Outcome: Pass}, {Outcome: Pass}}},
		{Scenario: "join", Outcome: Pass, Expected: Pass, Flaky: true, Repeats: []Repeat{{Outcome: Pass}, {Outcome: Fail}, {Outcome: Pass}}},
	}}}}
	var b strings.Builder
	if err := Matrix(&b, r, MatrixOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"FLAKY\n", "PASS     FLAKY  join (2 PASS, 1 FAIL)", "2 cells: 2 PASS; 1 FLAKY; all as expected"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q:\n%s", want, out)
		}
	}
	if ExitCode(r) != ExitFlaky {
		t.Errorf("exit code %d", ExitCode(r))
	}
	// Without --repeat there is no FLAKY column.
	r.Kernels[0].Cells = r.Kernels[0].Cells[:1]
	r.Kernels[0].Cells[0].Repeats = nil
	b.Reset()
	Matrix(&b, r, MatrixOptions{})
	if strings.Contains(b.String(), "FLAKY") {
		t.Errorf("FLAKY column without repeats:\n%s", b.String())
	}
}
