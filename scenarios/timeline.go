package scenarios

import (
	"sort"
	"time"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios/evidence"
)

// maxTimelinePackets bounds a subflow's timeline in results.json. An idle
// keepalive cell has a few dozen packets; a reproducer flooding a path
// must not make results.json megabytes. Probes are always kept.
const maxTimelinePackets = 300

// timeline lays out subflow c's packets on the cell's time axis (t0 = the
// first packet of any capture, end = the last), marking the keepalive
// probes the verdict counted.
func timeline(c pathConn, probes []evidence.Probe, t0, end time.Time, interval time.Duration) *report.Timeline {
	isProbe := map[int]bool{}
	for _, p := range probes {
		isProbe[p.Index] = true
	}
	sec := func(t time.Time) float64 { return t.Sub(t0).Seconds() }
	tl := &report.Timeline{End: sec(end), Interval: interval.Seconds()}
	idle := time.Time{}
	kept := 0
	for _, p := range sortedPackets(c.pkts) {
		out := p.Src == c.Client && p.Dst == c.Server
		if !out && !(p.Src == c.Server && p.Dst == c.Client) {
			continue
		}
		kind := packetKind(p)
		if isProbe[p.Index] {
			kind = "probe"
		}
		// The idle period starts after the last packet before the first
		// probe (or after the last packet when there is none).
		if len(probes) == 0 || p.Time.Before(probes[0].Time) {
			idle = p.Time
		}
		if kind != "probe" && kept >= maxTimelinePackets {
			tl.Omitted++
			continue
		}
		kept++
		tl.Packets = append(tl.Packets, report.TimelinePacket{T: sec(p.Time), Out: out, Kind: kind, Bytes: p.Payload})
	}
	if !idle.IsZero() {
		tl.IdleFrom = sec(idle)
	}
	return tl
}

func packetKind(p evidence.Packet) string {
	switch {
	case p.Has(evidence.FlagRST):
		return "rst"
	case p.Has(evidence.FlagSYN | evidence.FlagACK):
		return "synack"
	case p.Has(evidence.FlagSYN):
		return "syn"
	case p.Has(evidence.FlagFIN):
		return "fin"
	case p.Payload > 0:
		return "data"
	}
	return "ack"
}

// captureSpan is the first and last packet time over all captures.
func (o observation) captureSpan() (first, last time.Time) {
	for _, c := range o.captures {
		for _, p := range c.pkts {
			if first.IsZero() || p.Time.Before(first) {
				first = p.Time
			}
			if p.Time.After(last) {
				last = p.Time
			}
		}
	}
	return first, last
}

func sortedPackets(pkts []evidence.Packet) []evidence.Packet {
	s := append([]evidence.Packet(nil), pkts...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) })
	return s
}
