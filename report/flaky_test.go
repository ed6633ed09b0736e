package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// A FLAKY cell is never a pass nor evidence either way, in every output:
// JUnit fails it, the SRU conclusion stays undecided (no tag), compare
// does not call it fixed or regressed, merge keeps its runs.
func TestFlakyEverywhere(t *testing.T) {
	r := flakyFixture(t)

	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var back JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	// updates: join FLAKY (expected FAIL, first run FAIL) → failure;
	// proposed: join FLAKY → failure, keepalive-off ERROR first → error.
	if back.Failures != 2 || back.Errors != 1 {
		t.Errorf("junit: %d failures, %d errors", back.Failures, back.Errors)
	}
	join := back.Suites[1].Cases[1]
	if join.Name != "join" || join.Failure == nil || join.Failure.Type != "FLAKY" ||
		!strings.Contains(join.Failure.Message, "FLAKY over 3 runs: 2 PASS, 1 FAIL (PASS FAIL PASS)") ||
		!strings.Contains(join.Failure.Body, "run 2/3: FAIL: path1 initial: no keepalive (no timer, 0 probes): evidence noble-6.8-proposed/join/repeat-2/verdict.json") {
		t.Errorf("flaky join: %+v", join)
	}
	if ko := back.Suites[1].Cases[2]; ko.Error == nil || !strings.Contains(ko.Error.Message, "(FLAKY over 3 runs: 2 PASS, 1 ERROR") {
		t.Errorf("flaky unexpected ERROR: %+v", ko)
	}
	if ExitCode(r) != ExitError {
		t.Errorf("exit code %d", ExitCode(r))
	}

	// Only join FLAKY on the after kernel, its first run PASS: the pair
	// is undecided, where without the repeats it reads "fix verified".
	onlyJoin := func() *Run {
		r := flakyFixture(t)
		ko := &r.Kernels[1].Cells[2]
		ko.Outcome, ko.Repeats, ko.Flaky = Pass, nil, false
		return r
	}
	r = onlyJoin()
	cs := Conclusions(r)
	if len(cs) != 1 || cs[0].Verdict != NotVerified || cs[0].Failed {
		t.Fatalf("conclusion: %+v", cs)
	}
	if !strings.Contains(cs[0].Text, "after noble-6.8-proposed (6.8.0-152.152) all PASS → not verified: join FLAKY (2 PASS, 1 FAIL); before") {
		t.Errorf("conclusion text: %s", cs[0].Text)
	}
	if tags := Tags(cs); len(tags) != 0 {
		t.Errorf("tags %v for a flaky after kernel", tags)
	}
	if ExitCode(r) != ExitFlaky {
		t.Errorf("exit code %d", ExitCode(r))
	}
	if cs := Conclusions(firstRuns(onlyJoin())); cs[0].Verdict != Verified || !strings.HasSuffix(cs[0].Text, "fix verified") {
		t.Errorf("without repeats: %+v", cs[0])
	}

	c := Compare(firstRuns(flakyFixture(t)), flakyFixture(t))
	if c.Count(Flaky) != 3 || c.Count(Fixed) != 0 || c.Count(Regressed) != 0 {
		t.Errorf("compare: %d flaky, %d fixed, %d regressed", c.Count(Flaky), c.Count(Fixed), c.Count(Regressed))
	}
	// before FLAKY, after a plain PASS: still not "fixed".
	before := flakyFixture(t)
	after := firstRuns(flakyFixture(t))
	set(&after.Kernels[0], "join", Pass, "keepalive")
	for _, x := range Compare(before, after).Changes {
		if x.Scenario == "join" && x.Pair.After == "noble-6.8-updates" && (x.Change != Flaky || x.BeforeRuns != "1 PASS, 2 FAIL" || x.AfterRuns != "") {
			t.Errorf("flaky before: %+v", x)
		}
	}

	// Merge of the two kernels as shards keeps every run.
	r = flakyFixture(t)
	m, err := Merge(shards(r, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.Kernels[1].Cell("join")
	if !got.Flaky || len(got.Repeats) != 3 || got.Repeats[1].Artifacts != "noble-6.8-proposed/join/repeat-2" {
		t.Errorf("merged join: %+v", got)
	}
	if m.Count().Flaky != 3 {
		t.Errorf("merged count: %s", m.Count())
	}
}
