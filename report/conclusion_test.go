package report

import (
	"reflect"
	"strings"
	"testing"
)

// kern builds a kernel from "scenario=OUTCOME" or "scenario=OUTCOME/EXPECTED".
func kern(name, role, pocket string, cells ...string) Kernel {
	k := Kernel{Name: name, Role: role, Pocket: pocket, Version: "v-" + name}
	for _, c := range cells {
		s, rest, _ := strings.Cut(c, "=")
		o, e, ok := strings.Cut(rest, "/")
		if !ok {
			e = "PASS"
		}
		k.Cells = append(k.Cells, Cell{Scenario: s, Outcome: Outcome(o), Expected: Outcome(e)})
	}
	return k
}

func TestConclusions(t *testing.T) {
	bugBefore := []string{"connect=FAIL/FAIL", "fallback=FAIL/FAIL", "join=PASS"}
	for _, tc := range []struct {
		name    string
		series  string
		kernels []Kernel
		want    []Verdict
		text    []string
		tags    []string
	}{
		{
			name: "fix verified",
			kernels: []Kernel{
				kern("noble-6.8-updates", "before", "noble-updates", bugBefore...),
				kern("noble-6.8-proposed", "after", "noble-proposed", "connect=PASS", "fallback=PASS", "join=PASS"),
			},
			want: []Verdict{Verified},
			text: []string{"noble: before noble-6.8-updates (v-noble-6.8-updates) FAIL connect,fallback; after noble-6.8-proposed (v-noble-6.8-proposed) all PASS → fix verified"},
			tags: []string{"verification-done-noble"},
		},
		{
			name:   "jammy: two pairs, shards merged out of order, series from the run",
			series: "jammy",
			kernels: []Kernel{
				kern("jammy-5.15-updates", "before", "", "connect=PASS", "fallback=PASS"),
				kern("jammy-hwe-6.8-updates", "before", "", "connect=FAIL/FAIL", "fallback=FAIL/FAIL"),
				kern("jammy-hwe-6.8-proposed", "after", "", "connect=PASS", "fallback=PASS"),
				kern("jammy-5.15-proposed", "after", "", "connect=PASS", "fallback=PASS"),
			},
			want: []Verdict{Verified, Verified},
			text: []string{
				"jammy: before jammy-hwe-6.8-updates (v-jammy-hwe-6.8-updates) FAIL connect,fallback; after jammy-hwe-6.8-proposed (v-jammy-hwe-6.8-proposed) all PASS → fix verified",
				"jammy: before jammy-5.15-updates (v-jammy-5.15-updates) all PASS; after jammy-5.15-proposed (v-jammy-5.15-proposed) all PASS → no regression (the before kernel does not show the bug)",
			},
			tags: []string{"verification-done-jammy"},
		},
		{
			name: "regression",
			kernels: []Kernel{
				kern("b", "before", "plucky-updates", bugBefore...),
				kern("a", "after", "plucky-proposed", "connect=PASS", "fallback=PASS", "join=FAIL"),
			},
			want: []Verdict{Regression},
			text: []string{"plucky: before b (v-b) FAIL connect,fallback; after a (v-a) FAIL join → REGRESSION in join (PASS before, FAIL after)"},
			tags: []string{"verification-failed-plucky"},
		},
		{
			name: "still failing",
			kernels: []Kernel{
				kern("b", "before", "noble-updates", bugBefore...),
				kern("a", "after", "noble-proposed", "connect=FAIL", "fallback=PASS", "join=PASS"),
			},
			want: []Verdict{NotVerified},
			text: []string{"noble: before b (v-b) FAIL connect,fallback; after a (v-a) FAIL connect → not verified: connect FAIL (expected PASS)"},
			tags: []string{"verification-failed-noble"},
		},
		{
			name: "error after the fix: undecided, no tag",
			kernels: []Kernel{
				kern("b", "before", "noble-updates", bugBefore...),
				kern("a", "after", "noble-proposed", "connect=PASS", "fallback=PASS", "join=ERROR"),
			},
			want: []Verdict{NotVerified},
			text: []string{"noble: before b (v-b) FAIL connect,fallback; after a (v-a) ERROR join → not verified: join ERROR (expected PASS)"},
			tags: nil,
		},
		{
			name: "before kernel does not reproduce as declared",
			kernels: []Kernel{
				kern("b", "before", "noble-updates", "connect=PASS/FAIL"),
				kern("a", "after", "noble-proposed", "connect=PASS"),
			},
			want: []Verdict{Verified},
			text: []string{"noble: before b (v-b) all PASS; after a (v-a) all PASS → no regression (the before kernel does not show the bug); before kernel not as expected: connect PASS (expected FAIL)"},
			tags: []string{"verification-done-noble"},
		},
		{
			name: "shards not merged: before alone, after alone in another series",
			kernels: []Kernel{
				kern("b", "before", "noble-updates", bugBefore...),
				kern("a", "after", "jammy-proposed", "connect=PASS"),
				kern("x", "", "", "connect=PASS"),
			},
			want: []Verdict{Verified, Incomplete},
			text: []string{
				"jammy: after a (v-a) all PASS (no before kernel in this run) → as expected",
				"noble: before b (v-b) FAIL connect,fallback; no after kernel in this run → nothing to verify",
			},
			tags: []string{"verification-done-jammy"},
		},
		{
			name: "one verified, one failed pair in a series: failed wins",
			kernels: []Kernel{
				kern("jammy-5.15-updates", "before", "jammy-updates", "connect=PASS"),
				kern("jammy-5.15-proposed", "after", "jammy-proposed", "connect=FAIL"),
				kern("jammy-hwe-updates", "before", "jammy-updates", "connect=FAIL/FAIL"),
				kern("jammy-hwe-proposed", "after", "jammy-proposed", "connect=PASS"),
			},
			want: []Verdict{Regression, Verified},
			tags: []string{"verification-failed-jammy"},
		},
		{name: "no roles", kernels: []Kernel{kern("debian", "", "", "connect=PASS")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{Schema: SchemaVersion, Series: tc.series, Kernels: tc.kernels}
			cs := Conclusions(r)
			var verdicts []Verdict
			var texts []string
			for _, c := range cs {
				verdicts = append(verdicts, c.Verdict)
				texts = append(texts, c.Text)
			}
			if !reflect.DeepEqual(verdicts, tc.want) {
				t.Errorf("verdicts %v, want %v", verdicts, tc.want)
			}
			if tc.text != nil && !reflect.DeepEqual(texts, tc.text) {
				t.Errorf("texts:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(tc.text, "\n"))
			}
			if tags := Tags(cs); !reflect.DeepEqual(tags, tc.tags) {
				t.Errorf("tags %v, want %v", tags, tc.tags)
			}
		})
	}
}
