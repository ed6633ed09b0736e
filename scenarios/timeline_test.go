package scenarios

import (
	"path/filepath"
	"testing"
)

// Every subflow judged from the committed captures gets a timeline whose
// probes are exactly the ones the verdict counted, on the cell's time axis.
func TestTimelineFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		name, _ := filepath.Rel(filepath.Join("testdata", "captures"), dir)
		t.Run(name, func(t *testing.T) {
			cell, _ := judge(fixture(t, dir, filepath.Base(dir)))
			for _, s := range cell.Subflows {
				tl := s.Timeline
				if tl == nil {
					if s.Kind != "unknown" { // in ss only: no capture to draw
						t.Errorf("%s %s: no timeline", s.Path, s.Kind)
					}
					continue
				}
				if want := map[bool]float64{true: 0, false: 1}[filepath.Base(dir) == "keepalive-off"]; tl.Interval != want {
					t.Errorf("%s: expected interval %v, want %v (the 1 s sysctl; 0 when no keepalive is expected)", s.Path, tl.Interval, want)
				}
				probes, syn, prev := 0, false, 0.0
				for _, p := range tl.Packets {
					if p.T < 0 || p.T > tl.End || p.T < prev {
						t.Errorf("%s: packet at %.3f outside [0, %.3f] or out of order", s.Path, p.T, tl.End)
					}
					prev = p.T
					switch p.Kind {
					case "probe":
						probes++
						if !p.Out || p.Bytes != 0 || p.T <= tl.IdleFrom {
							t.Errorf("%s: probe %+v (idle from %.3f)", s.Path, p, tl.IdleFrom)
						}
					case "syn":
						syn = syn || p.Out
					}
				}
				if probes != s.Probes {
					t.Errorf("%s: %d probes in the timeline, verdict counted %d", s.Path, probes, s.Probes)
				}
				if !syn {
					t.Errorf("%s: no client SYN in the timeline", s.Path)
				}
				if s.Kind == "mp_join" && tl.Packets[0].T == 0 {
					t.Errorf("join subflow starts at 0: the time axis is not the cell's")
				}
			}
		})
	}
}
