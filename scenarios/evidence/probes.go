package evidence

import (
	"sort"
	"time"
)

// ProbeQuietGap is the silence on a connection (both directions) that
// must precede a keepalive probe. Handshake, data and window ACKs follow
// other packets at once; a keepalive probe comes after the idle time
// (≥ 1 s in the scenarios). The close exchange is excluded by stopping the
// capture before the client closes.
const ProbeQuietGap = 500 * time.Millisecond

// Probe is one keepalive probe: a pure ACK (no SYN/FIN/RST, no payload)
// from the client whose sequence number is one below the next sequence
// number the client would send (tcp_xmit_probe_skb sends snd_una - 1),
// after a quiet gap.
type Probe struct {
	Index    int           // packet index in the capture
	Time     time.Time     // when it was sent
	Seq      uint32        // its sequence number
	Gap      time.Duration // silence before it on the connection
	Answered bool          // the server sent a segment before the client's next
}

// KeepaliveProbes finds the client's keepalive probes on connection c.
// Segments of other connections are ignored.
func KeepaliveProbes(pkts []Packet, c Conn) []Probe {
	var probes []Probe
	var next uint32
	haveNext := false
	var last time.Time
	pending := -1 // probe awaiting the server's answer
	for _, p := range sorted(pkts) {
		fromClient := p.Src == c.Client && p.Dst == c.Server
		fromServer := p.Src == c.Server && p.Dst == c.Client
		if !fromClient && !fromServer {
			continue
		}
		gap := time.Duration(0)
		if !last.IsZero() {
			gap = p.Time.Sub(last)
		}
		last = p.Time
		if fromServer {
			if pending >= 0 {
				probes[pending].Answered = true
				pending = -1
			}
			continue
		}
		pending = -1
		pure := p.Flags&(FlagSYN|FlagFIN|FlagRST) == 0 && p.Has(FlagACK) && p.Payload == 0
		if pure && haveNext && p.Seq == next-1 && gap >= ProbeQuietGap {
			probes = append(probes, Probe{Index: p.Index, Time: p.Time, Seq: p.Seq, Gap: gap})
			pending = len(probes) - 1
		}
		end := p.Seq + uint32(p.Payload)
		if p.Has(FlagSYN) {
			end++
		}
		if p.Has(FlagFIN) {
			end++
		}
		// Sequence numbers wrap: "after" is a positive signed distance.
		if !haveNext || int32(end-next) > 0 {
			next, haveNext = end, true
		}
	}
	return probes
}

// ProbeIntervals returns the time between consecutive probes.
func ProbeIntervals(probes []Probe) []time.Duration {
	var iv []time.Duration
	for i := 1; i < len(probes); i++ {
		iv = append(iv, probes[i].Time.Sub(probes[i-1].Time))
	}
	return iv
}

// MedianInterval is the median of ProbeIntervals, 0 with fewer than two
// probes.
func MedianInterval(probes []Probe) time.Duration {
	iv := ProbeIntervals(probes)
	if len(iv) == 0 {
		return 0
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i] < iv[j] })
	if len(iv)%2 == 1 {
		return iv[len(iv)/2]
	}
	return (iv[len(iv)/2-1] + iv[len(iv)/2]) / 2
}
