package report

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// svgCounts parses the SVG as XML (it must be well-formed to render inline)
// and counts tracks, probes and expected-probe ticks.
func svgCounts(t *testing.T, svg string) (tracks []string, probes, expected int) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG not well-formed: %v\n%s", err, svg)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch attr["class"] {
		case "track":
			tracks = append(tracks, attr["data-subflow"])
		case "probe":
			probes++
		case "expected":
			expected++
		}
	}
}

// Drawn from real captures (testdata/results.json carries timelines of
// the debian-6.12 and 6.12-revert connect/join cells, judged from
// scenarios/testdata/captures): one track per subflow, every counted probe
// drawn, expected-probe ticks where keepalive should fire.
func TestTimelineSVG(t *testing.T) {
	r := fixture(t)
	for _, tc := range []struct {
		kernel, scenario string
		tracks           []string
		probes           int
	}{
		{"debian-6.12-cloud", "join", []string{"path1 initial", "path2 mp_join"}, 8},
		{"debian-6.12-cloud", "connect", []string{"path1 initial"}, 4},
		{"6.12-revert-648de37416b3", "join", []string{"path1 initial", "path2 mp_join"}, 0},
	} {
		k := r.kernelByName(tc.kernel)
		c, ok := k.Cell(tc.scenario)
		if !ok {
			t.Fatalf("no %s × %s", tc.kernel, tc.scenario)
		}
		tracks, probes, expected := svgCounts(t, string(TimelineSVG(c)))
		if strings.Join(tracks, ",") != strings.Join(tc.tracks, ",") || probes != tc.probes {
			t.Errorf("%s × %s: tracks %q probes %d, want %q %d", tc.kernel, tc.scenario, tracks, probes, tc.tracks, tc.probes)
		}
		// The first expected probe per track, then one after each probe
		// (the last may fall past the capture).
		if expected < len(tc.tracks)+tc.probes-len(tc.tracks) || expected > len(tc.tracks)+tc.probes {
			t.Errorf("%s × %s: %d expected-probe ticks for %d tracks and %d probes", tc.kernel, tc.scenario, expected, len(tc.tracks), tc.probes)
		}
	}
	// No timeline (reproducers, older results): nothing drawn.
	if got := TimelineSVG(Cell{Subflows: []Subflow{{Path: "path1"}}}); got != "" {
		t.Errorf("cell without timelines drew %q", got)
	}
}

// Labels come from results.json: escaped, never markup.
func TestTimelineSVGEscapes(t *testing.T) {
	c := Cell{Scenario: `x"><script>`, Subflows: []Subflow{{Path: `<b>p</b>`, Kind: `"&`, Verdict: Pass,
		Timeline: &Timeline{End: 2, Interval: 1, Packets: []TimelinePacket{{T: 0.5, Out: true, Kind: `<i>`}}}}}}
	svg := string(TimelineSVG(c))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || strings.Contains(svg, "<i>") {
		t.Errorf("unescaped text in %s", svg)
	}
	if tracks, _, _ := svgCounts(t, svg); len(tracks) != 1 || tracks[0] != `<b>p</b> "&` {
		t.Errorf("tracks %q", tracks)
	}
}

// results.json written before timelines existed still loads (strict
// decoding rejects unknown fields, not missing ones); new results
// round-trip their timelines.
func TestTimelineBackwardCompatible(t *testing.T) {
	old := `{"schema":1,"name":"old","started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:01:00Z","kernels":[{"name":"k","spec":"x","cells":[{"scenario":"connect","outcome":"PASS","expected":"PASS","reason":"r","duration_ns":1,"subflows":[{"path":"path1","kind":"initial","local":"a","remote":"b","timer_seen":true,"probes":3,"interval_s":1,"verdict":"PASS"}]}]}]}`
	r, err := Decode("old.json", []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kernels[0].Cells[0].Subflows[0].Timeline != nil {
		t.Error("timeline invented")
	}
	var b strings.Builder
	if err := fixture(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	again, err := Decode("new.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := again.kernelByName("debian-6.12-cloud").Cell("join")
	if tl := c.Subflows[1].Timeline; tl == nil || len(tl.Packets) == 0 {
		t.Error("timeline lost in the round trip")
	}
}
