package evidence

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// TestKeepaliveProbesFixtures counts probes in the real captures: none
// where the client never set SO_KEEPALIVE, and where it did (on the
// kernels whose verdict.json says PASS) ≥ 2 at about the 1 s sysctl
// interval, each answered by the server, on every subflow.
func TestKeepaliveProbesFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		var v struct {
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal(readFixture(t, dir, "verdict.json"), &v); err != nil {
			t.Fatal(err)
		}
		sc := filepath.Base(dir)
		pcaps, _ := filepath.Glob(filepath.Join(dir, "path*.pcap"))
		for _, pc := range pcaps {
			pkts, err := ParsePcap(readFixture(t, pc))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range Connections(pkts) {
				probes := KeepaliveProbes(pkts, c.Conn)
				med := MedianInterval(probes)
				t.Logf("%s %s: %d probes, median %v", pc, c.Conn, len(probes), med)
				switch {
				case sc == "keepalive-off":
					if len(probes) != 0 {
						t.Errorf("%s: %d probes without SO_KEEPALIVE", pc, len(probes))
					}
				case v.Outcome == "PASS":
					if len(probes) < 2 || med < 900*time.Millisecond || med > 1200*time.Millisecond {
						t.Errorf("%s: %d probes, median %v", pc, len(probes), med)
					}
					for _, p := range probes {
						if !p.Answered || p.Gap < ProbeQuietGap || p.Seq != probes[0].Seq {
							t.Errorf("%s: probe %+v", pc, p)
						}
					}
				}
			}
		}
	}
}

// synthetic builds a connection packet by packet.
type synthetic struct {
	c    Conn
	t    time.Time
	pkts []Packet
}

func (s *synthetic) add(after time.Duration, fromClient bool, flags uint8, seq uint32, payload int) {
	s.t = s.t.Add(after)
	p := Packet{Index: len(s.pkts), Time: s.t, Src: s.c.Client, Dst: s.c.Server, Flags: flags, Seq: seq, Payload: payload}
	if !fromClient {
		p.Src, p.Dst = s.c.Server, s.c.Client
	}
	s.pkts = append(s.pkts, p)
}

func TestKeepaliveProbesRules(t *testing.T) {
	c := Conn{Client: netip.MustParseAddrPort("192.0.2.2:40000"), Server: netip.MustParseAddrPort("192.0.2.1:5000")}
	other := Packet{Src: netip.MustParseAddrPort("192.0.2.2:40001"), Dst: c.Server, Flags: FlagACK}
	const ack, syn, fin, psh = FlagACK, FlagSYN, FlagFIN, FlagPSH
	for _, tc := range []struct {
		name  string
		isn   uint32
		build func(s *synthetic, isn uint32)
		want  int
	}{
		{"handshake, greeting, three probes", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0)
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			s.add(time.Millisecond, false, psh|ack, 9001, 1)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			for i := 0; i < 3; i++ {
				s.add(time.Second, true, ack, isn, 0)
				s.add(time.Millisecond, false, ack, 9002, 0)
			}
		}, 3},
		{"seq wraps at 2^32", 0xffffffff, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0) // next = 0
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			s.add(time.Second, true, ack, isn, 0) // seq 0xffffffff = next-1
			s.add(time.Second, true, ack, isn, 0)
		}, 2},
		{"client data moves next on", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0)
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, psh|ack, isn+1, 10) // next = isn+11
			s.add(time.Second, true, ack, isn, 0)             // stale: not next-1
			s.add(time.Second, true, ack, isn+10, 0)          // probe
		}, 1},
		{"no quiet gap: not a probe", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0)
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			s.add(400*time.Millisecond, true, ack, isn, 0)
		}, 0},
		{"with payload, FIN or SYN: not a probe", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0)
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			s.add(time.Second, true, psh|ack, isn, 1)
			s.add(time.Second, true, fin|ack, isn, 0)
		}, 0},
		{"close exchange: pure ACKs at next, not next-1", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, syn, isn, 0)
			s.add(time.Millisecond, false, syn|ack, 9000, 0)
			s.add(time.Millisecond, true, ack, isn+1, 0)
			s.add(time.Second, true, fin|ack, isn+1, 0)
			s.add(time.Second, true, ack, isn+2, 0)
		}, 0},
		{"no SYN in the capture: learns next from the first segment", 100, func(s *synthetic, isn uint32) {
			s.add(0, true, ack, isn+1, 0)
			s.add(time.Second, true, ack, isn, 0)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &synthetic{c: c, t: time.Unix(1000, 0)}
			tc.build(s, tc.isn)
			// Another connection's packets in between change nothing.
			pkts := append([]Packet{}, s.pkts...)
			o := other
			o.Time = s.pkts[len(s.pkts)-1].Time.Add(-time.Millisecond)
			pkts = append(pkts, o)
			probes := KeepaliveProbes(pkts, c)
			if len(probes) != tc.want {
				t.Fatalf("%d probes, want %d: %+v", len(probes), tc.want, probes)
			}
		})
	}
}

func TestMedianInterval(t *testing.T) {
	at := func(ms ...int) []Probe {
		var p []Probe
		for _, m := range ms {
			p = append(p, Probe{Time: time.Unix(0, 0).Add(time.Duration(m) * time.Millisecond)})
		}
		return p
	}
	for _, tc := range []struct {
		probes []Probe
		want   time.Duration
	}{
		{nil, 0},
		{at(0), 0},
		{at(0, 1000), time.Second},
		{at(0, 1000, 3000), 1500 * time.Millisecond},
		{at(0, 1000, 2000, 5000), time.Second},
	} {
		if got := MedianInterval(tc.probes); got != tc.want {
			t.Errorf("%d probes: %v, want %v", len(tc.probes), got, tc.want)
		}
	}
}

func TestConnectionsKinds(t *testing.T) {
	c := Conn{Client: netip.MustParseAddrPort("198.51.100.2:40000"), Server: netip.MustParseAddrPort("192.0.2.1:5000")}
	mk := func(fromClient bool, flags uint8, mp ...uint8) Packet {
		p := Packet{Src: c.Client, Dst: c.Server, Flags: flags, MPTCP: mp}
		if !fromClient {
			p.Src, p.Dst = c.Server, c.Client
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		pkts  []Packet
		kind  string
		estab bool
	}{
		{"mptcp", []Packet{mk(true, FlagSYN, MPCapable), mk(false, FlagSYN|FlagACK, MPCapable), mk(true, FlagACK, MPCapable)}, "initial", true},
		{"fallback", []Packet{mk(true, FlagSYN, MPCapable), mk(false, FlagSYN|FlagACK), mk(true, FlagACK)}, "fallback", true},
		{"join", []Packet{mk(true, FlagSYN, MPJoin), mk(false, FlagSYN|FlagACK, MPJoin), mk(true, FlagACK, MPJoin)}, "mp_join", true},
		{"join refused", []Packet{mk(true, FlagSYN, MPJoin), mk(false, FlagRST|FlagACK)}, "unknown", false},
		{"plain tcp", []Packet{mk(true, FlagSYN), mk(false, FlagSYN|FlagACK), mk(true, FlagACK)}, "tcp", true},
		{"server first (SYN-ACK only)", []Packet{mk(false, FlagSYN|FlagACK, MPCapable), mk(true, FlagACK)}, "unknown", false},
		{"no handshake", []Packet{mk(true, FlagACK)}, "unknown", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.pkts {
				tc.pkts[i].Time = time.Unix(0, int64(i))
			}
			cs := Connections(tc.pkts)
			if len(cs) != 1 {
				t.Fatalf("%d connections", len(cs))
			}
			if cs[0].Conn != c || cs[0].Kind() != tc.kind || cs[0].Established() != tc.estab {
				t.Fatalf("got %+v kind %s estab %v", cs[0], cs[0].Kind(), cs[0].Established())
			}
		})
	}
}

func TestParseNstat(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		n, err := ParseNstat(readFixture(t, dir, "nstat-cli.txt"), "MPTcp")
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		// Every scenario's client sent one MP_CAPABLE SYN (counter names
		// vary with the kernel version: check those present).
		if v, ok := n["MPTcpExtMPCapableSYNTX"]; ok && v != 1 {
			t.Errorf("%s: MPCapableSYNTX = %d", dir, v)
		}
		if v, ok := n["MPTcpExtMPJoinSynAckRx"]; ok && filepath.Base(dir) == "join" && v != 1 {
			t.Errorf("%s: MPJoinSynAckRx = %d", dir, v)
		}
		if len(n) == 0 {
			t.Errorf("%s: no MPTcp counters", dir)
		}
	}
	got, err := ParseNstat([]byte("#kernel\nTcpActiveOpens 3 0.0\nMPTcpExtRmAddr 2 0.0\n"), "")
	if err != nil || got["TcpActiveOpens"] != 3 || got["MPTcpExtRmAddr"] != 2 {
		t.Errorf("all counters: %v %v", got, err)
	}
	for _, bad := range []string{"TcpActiveOpens\n", "TcpActiveOpens x 0\n"} {
		if _, err := ParseNstat([]byte(bad), ""); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
