package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// skipped is a -proposed kernel with nothing to verify, as the runner
// records it.
func skipped(name, pocket, why string, scen ...string) Kernel {
	k := Kernel{Name: name, Role: "after", Pocket: pocket, Skip: why}
	for _, s := range scen {
		k.Cells = append(k.Cells, Cell{Scenario: s, Outcome: Skip, Expected: Skip, Reason: why})
	}
	return k
}

func TestPairConclusions(t *testing.T) {
	const nothing = "nothing in noble-proposed to verify: it offers 6.8.0-149.149, not newer than 6.8.0-151.151 in noble-updates"
	for _, tc := range []struct {
		name    string
		kernels []Kernel
		pairs   []Pair
		want    []Verdict
		text    []string
		tags    []string
	}{
		{
			name: "today: history fix verified, nothing in -proposed",
			kernels: []Kernel{
				kern("noble-6.8-release", "before", "noble", "connect=FAIL/FAIL", "join=FAIL/FAIL", "keepalive-off=PASS"),
				kern("noble-6.8-updates", "after", "noble-updates", "connect=PASS", "join=PASS", "keepalive-off=PASS"),
				skipped("noble-6.8-proposed", "noble-proposed", nothing, "connect", "join", "keepalive-off"),
			},
			pairs: []Pair{
				{Check: "history", Track: "noble-6.8", Before: "noble-6.8-release", After: "noble-6.8-updates"},
				{Check: "sru", Track: "noble-6.8", Before: "noble-6.8-updates", After: "noble-6.8-proposed"},
			},
			want: []Verdict{Verified, NothingToVerify},
			text: []string{
				"noble-6.8 history: before noble-6.8-release (v-noble-6.8-release) FAIL connect,join; after noble-6.8-updates (v-noble-6.8-updates) all PASS → fix verified",
				"noble-6.8 SRU: before noble-6.8-updates (v-noble-6.8-updates) all PASS; after noble-6.8-proposed: SKIP → " + nothing,
			},
			// History is not an SRU verification; nothing to verify is
			// not verification done.
			tags: nil,
		},
		{
			name: "history: the fix was already in (jammy GA)",
			kernels: []Kernel{
				kern("jammy-5.15-release", "before", "jammy", "connect=PASS", "fallback=PASS"),
				kern("jammy-5.15-updates", "after", "jammy-updates", "connect=PASS", "fallback=PASS"),
			},
			pairs: []Pair{{Check: "history", Track: "jammy-5.15", Before: "jammy-5.15-release", After: "jammy-5.15-updates"}},
			want:  []Verdict{Verified},
			text:  []string{"jammy-5.15 history: before jammy-5.15-release (v-jammy-5.15-release) all PASS; after jammy-5.15-updates (v-jammy-5.15-updates) all PASS → no regression (the before kernel does not show the bug)"},
		},
		{
			name: "sru: proposed fixes what it declares",
			kernels: []Kernel{
				kern("noble-6.8-updates", "before", "noble-updates", "connect=FAIL/FAIL", "join=PASS"),
				kern("noble-6.8-proposed", "after", "noble-proposed", "connect=PASS", "join=PASS"),
			},
			pairs: []Pair{{Check: "sru", Track: "noble-6.8", Before: "noble-6.8-updates", After: "noble-6.8-proposed", Fixes: []string{"connect"}}},
			want:  []Verdict{Verified},
			text:  []string{"noble-6.8 SRU: before noble-6.8-updates (v-noble-6.8-updates) FAIL connect; after noble-6.8-proposed (v-noble-6.8-proposed) all PASS → fix verified"},
			tags:  []string{"verification-done-noble"},
		},
		{
			name: "sru: declared fix already in -updates",
			kernels: []Kernel{
				kern("noble-6.8-updates", "before", "noble-updates", "connect=PASS/FAIL", "join=PASS"),
				kern("noble-6.8-proposed", "after", "noble-proposed", "connect=PASS", "join=PASS"),
			},
			pairs: []Pair{{Check: "sru", Track: "noble-6.8", Before: "noble-6.8-updates", After: "noble-6.8-proposed", Fixes: []string{"connect"}}},
			want:  []Verdict{Verified},
			text:  []string{"noble-6.8 SRU: before noble-6.8-updates (v-noble-6.8-updates) all PASS; after noble-6.8-proposed (v-noble-6.8-proposed) all PASS → no regression (the fix was already in before: connect PASS on both); before kernel not as expected: connect PASS (expected FAIL)"},
			tags:  []string{"verification-done-noble"},
		},
		{
			name: "sru: regression",
			kernels: []Kernel{
				kern("r-updates", "before", "resolute-updates", "connect=PASS", "join=PASS"),
				kern("r-proposed", "after", "resolute-proposed", "connect=PASS", "join=FAIL"),
			},
			pairs: []Pair{{Check: "sru", Track: "resolute-7.0", Before: "r-updates", After: "r-proposed"}},
			want:  []Verdict{Regression},
			text:  []string{"resolute-7.0 SRU: before r-updates (v-r-updates) all PASS; after r-proposed (v-r-proposed) FAIL join → REGRESSION in join (PASS before, FAIL after)"},
			tags:  []string{"verification-failed-resolute"},
		},
		{
			name: "filtered: only the before side ran; pairs with no side left out",
			kernels: []Kernel{
				kern("noble-6.8-release", "before", "noble", "connect=FAIL/FAIL"),
			},
			pairs: []Pair{
				{Check: "history", Track: "noble-6.8", Before: "noble-6.8-release", After: "noble-6.8-updates"},
				{Check: "sru", Track: "noble-6.8", Before: "noble-6.8-updates", After: "noble-6.8-proposed"},
			},
			want: []Verdict{Incomplete},
			text: []string{"noble-6.8 history: before noble-6.8-release (v-noble-6.8-release) FAIL connect; noble-6.8-updates not in this run → nothing concluded"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{Schema: SchemaVersion, Kernels: tc.kernels, Pairs: tc.pairs}
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

// A run where -proposed has nothing to verify exits 0 (every cell as
// declared), and the matrix shows the pocket tables headed by track and
// check, and the SKIP reason.
func TestNothingToVerifyRendering(t *testing.T) {
	r := &Run{Schema: SchemaVersion, Name: "plucky", Series: "plucky", Kernels: []Kernel{
		kern("plucky-6.14-release", "before", "plucky", "connect=FAIL/FAIL"),
		kern("plucky-6.14-updates", "after", "plucky-updates", "connect=PASS"),
		skipped("plucky-6.14-proposed", "plucky-proposed", "nothing in plucky-proposed to verify: meta package linux-image-virtual is not in plucky-proposed", "connect"),
	}, Pairs: []Pair{
		{Check: "history", Track: "plucky-6.14", Before: "plucky-6.14-release", After: "plucky-6.14-updates"},
		{Check: "sru", Track: "plucky-6.14", Before: "plucky-6.14-updates", After: "plucky-6.14-proposed"},
	}}
	if code := ExitCode(r); code != ExitOK {
		t.Errorf("exit code %d", code)
	}
	var b bytes.Buffer
	if err := Matrix(&b, r, MatrixOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "changed") {
		t.Errorf("a skipped kernel shown as a change:\n%s", out)
	}
	for _, want := range []string{"plucky-6.14 history", "plucky-6.14 SRU", "after plucky-6.14-proposed: SKIP → nothing in plucky-proposed to verify"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "suggested Launchpad tags") {
		t.Errorf("a tag suggested with nothing verified:\n%s", out)
	}
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil || !strings.Contains(md.String(), "nothing in plucky-proposed to verify") {
		t.Errorf("markdown: %v\n%s", err, md.String())
	}
}
