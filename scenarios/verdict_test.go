package scenarios

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios/evidence"
)

// fixture loads a committed artifacts directory as the named scenario
// would see it.
func fixture(t *testing.T, dir, as string) observation {
	t.Helper()
	s, ok := Lookup(as)
	if !ok {
		t.Fatalf("no scenario %q", as)
	}
	k := s.(*keepaliveScenario)
	return loadObservation(k.spec, k.topo, dir)
}

func fixtureDirs(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("testdata", "captures", "*", "*"))
	if len(dirs) == 0 {
		t.Fatal("no fixtures under testdata/captures")
	}
	return dirs
}

// TestJudgeFixtures re-judges every committed artifacts directory and
// expects the verdict recorded when it was captured: outcome, and per
// subflow path, kind, timer and probe count. Adding a kernel's artifacts
// (testdata/captures/<kernel>/<scenario>/) adds its regression test.
func TestJudgeFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		name, _ := filepath.Rel(filepath.Join("testdata", "captures"), dir)
		t.Run(name, func(t *testing.T) {
			var want report.Cell
			data, err := os.ReadFile(filepath.Join(dir, "verdict.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			got, _ := judge(fixture(t, dir, filepath.Base(dir)))
			if got.Outcome != want.Outcome || got.Reason != want.Reason {
				t.Errorf("got %s (%s), recorded %s (%s)", got.Outcome, got.Reason, want.Outcome, want.Reason)
			}
			if len(got.Subflows) != len(want.Subflows) {
				t.Fatalf("%d subflows, recorded %d", len(got.Subflows), len(want.Subflows))
			}
			for i, g := range got.Subflows {
				w := want.Subflows[i]
				if g.Path != w.Path || g.Kind != w.Kind || g.Local != w.Local || g.TimerSeen != w.TimerSeen || g.Probes != w.Probes || g.Verdict != w.Verdict {
					t.Errorf("subflow %d: got %+v, recorded %+v", i, g, w)
				}
			}
		})
	}
}

// host returns the host-kernel fixture dir of a scenario.
func host(t *testing.T, scenario string) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("testdata", "captures", "host-*", scenario))
	if len(dirs) == 0 {
		t.Skipf("no host fixture for %s", scenario)
	}
	return dirs[0]
}

// TestJudgeCrossed feeds real evidence to the wrong scenario: each must
// be caught, which proves the verdict rules can fail.
func TestJudgeCrossed(t *testing.T) {
	for _, tc := range []struct {
		evidence, as string
		want         report.Outcome
		reason       string
	}{
		// The client's mode is part of the setup.
		{"keepalive-off", "connect", report.Error, `setup not achieved: client ran with --keepalive before: it ran with --keepalive off`},
		{"keepalive-off", "keepalive-after-connect", report.Error, `client ran with --keepalive after`},
		{"connect", "keepalive-off", report.Error, `client ran with --keepalive off`},
		// MPTCP negotiated is not a fallback, and no join happened.
		{"connect", "fallback", report.Error, `fallback \(SYN has MP_CAPABLE, SYN-ACK has none\): SYN MP_CAPABLE=true, SYN-ACK MP_CAPABLE=true`},
		{"connect", "join", report.Error, `capture path2 readable`},
		{"fallback", "connect", report.Error, `MPTCP negotiated .*SYN-ACK MP_CAPABLE=false`},
		// The join subflow's address is not connect's: foreign evidence.
		{"join", "connect", report.Error, `evidence holds only this cell's addresses: foreign 4-tuples: ss-1.txt 198.51.100.2:\d+ 192.0.2.1:5000`},
	} {
		t.Run(tc.evidence+" as "+tc.as, func(t *testing.T) {
			got, _ := judge(fixture(t, host(t, tc.evidence), tc.as))
			if got.Outcome != tc.want || !regexp.MustCompile(tc.reason).MatchString(got.Reason) {
				t.Fatalf("got %s: %s; want %s matching %q", got.Outcome, got.Reason, tc.want, tc.reason)
			}
		})
	}
}

// TestJudgeMixedEvidence removes one kind of evidence from a real PASS
// and checks the documented outcome for the disagreement.
func TestJudgeMixedEvidence(t *testing.T) {
	t.Run("SO_KEEPALIVE set, no timer, no probes: FAIL (the bug's look)", func(t *testing.T) {
		// keepalive-off evidence with the client's facts saying it set
		// SO_KEEPALIVE before connect(): what a kernel without the fix shows.
		o := fixture(t, host(t, "keepalive-off"), "connect")
		o.client.Keepalive = "before"
		o.client.Controls[0].KeepaliveSet = true
		got, _ := judge(o)
		if got.Outcome != report.Fail || got.Reason != "path1 initial: no keepalive (no timer, 0 probes)" {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("keepalive-off control seeing probes: ERROR", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "keepalive-off")
		o.client.Keepalive = "off"
		got, _ := judge(o)
		if got.Outcome != report.Error || !regexp.MustCompile(`control broken: \d+ probes counted although SO_KEEPALIVE was never set`).MatchString(got.Reason) {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("probes but no timer in ss: ERROR", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "connect")
		for i := range o.ss {
			for j := range o.ss[i].socks {
				o.ss[i].socks[j].Timer = nil
			}
		}
		got, _ := judge(o)
		if got.Outcome != report.Error || !strings.Contains(got.Reason, "no keepalive timer in ss") {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("timer but no probes on the wire: FAIL", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "connect")
		for i := range o.captures {
			var keep []evidence.Packet
			for _, p := range o.captures[i].pkts {
				if p.Payload > 0 || p.Flags&(evidence.FlagSYN|evidence.FlagFIN|evidence.FlagRST) != 0 || len(keep) < 5 {
					keep = append(keep, p)
				}
			}
			o.captures[i].pkts = keep
		}
		got, _ := judge(o)
		if got.Outcome != report.Fail || !strings.Contains(got.Reason, "keepalive timer in ss but only 0 probes") {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("join subflow without keepalive: FAIL although path1 passes", func(t *testing.T) {
		o := fixture(t, host(t, "join"), "join")
		o.captures[1].pkts = o.captures[1].pkts[:4] // handshake + ACK of the third ACK only
		for i := range o.ss {
			for j := range o.ss[i].socks {
				if o.ss[i].socks[j].LocalDev == "c2" {
					o.ss[i].socks[j].Timer = nil
				}
			}
		}
		got, _ := judge(o)
		if got.Outcome != report.Fail || got.Subflows[0].Verdict != report.Pass || got.Subflows[1].Verdict != report.Fail {
			t.Fatalf("got %s: %s %+v", got.Outcome, got.Reason, got.Subflows)
		}
	})
	t.Run("subflow in ss but in no capture: ERROR", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "connect")
		extra := o.ss[0].socks[0]
		extra.Local = "192.0.2.2:1"
		o.ss[0].socks = append(o.ss[0].socks, extra)
		got, _ := judge(o)
		if got.Outcome != report.Error || !strings.Contains(got.Reason, "path1 unknown: in ss but in no capture") {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("missing client facts: ERROR", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "connect")
		o.client, o.clientErr = nil, "client.json empty"
		got, _ := judge(o)
		if got.Outcome != report.Error || !strings.HasPrefix(got.Reason, "setup not achieved: client facts") {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("unparseable ss: ERROR", func(t *testing.T) {
		o := fixture(t, host(t, "connect"), "connect")
		o.ss[1].err = os.ErrInvalid
		got, _ := judge(o)
		if got.Outcome != report.Error || !strings.Contains(got.Reason, "ss snapshots readable") {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
	t.Run("old kernel: Go cannot see the fallback", func(t *testing.T) {
		o := fixture(t, host(t, "fallback"), "fallback")
		o.client.MultipathTCP = true
		o.client.AfterGreeting.TCPIsMPTCPErr = "EOPNOTSUPP"
		if got, _ := judge(o); got.Outcome != report.Pass {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
		o.client.AfterGreeting.TCPIsMPTCPErr = ""
		o.client.AfterGreeting.TCPIsMPTCP = 1
		if got, _ := judge(o); got.Outcome != report.Error {
			t.Fatalf("got %s: %s", got.Outcome, got.Reason)
		}
	})
}

// TestJudgeAsymmetricJoin re-judges real evidence from jammy's GA kernel
// (5.15.0-25) taken with the old topology, which had no per-path source
// routing: 5.15 binds the join subflow to 198.51.100.2 but not to c2, so
// its SYN and third ACK left through path 1 and the server's answers came
// in on path 2. Matched by interface, that was "no MP_JOIN on path2"
// (ERROR); matched by 4-tuple across all captures it is a complete join
// handshake, and the evidence decides: the joined subflow has no
// keepalive timer and sends no probe while the initial one does (FAIL).
func TestJudgeAsymmetricJoin(t *testing.T) {
	dir := filepath.Join("testdata", "asymmetric", "jammy-5.15.0-25", "join")
	got, a := judge(fixture(t, dir, "join"))
	if got.Outcome != report.Fail || len(got.Subflows) != 2 {
		t.Fatalf("got %s: %s (%d subflows)", got.Outcome, got.Reason, len(got.Subflows))
	}
	initial, joined := got.Subflows[0], got.Subflows[1]
	if initial.Kind != "initial" || initial.Verdict != report.Pass || initial.Probes < minProbes {
		t.Errorf("initial subflow: %+v", initial)
	}
	if joined.Kind != "mp_join" || joined.Path != "path2" || joined.Verdict != report.Fail || joined.TimerSeen || joined.Probes != 0 {
		t.Errorf("joined subflow: %+v", joined)
	}
	if !strings.Contains(strings.Join(joined.Notes, "\n"), "routed asymmetrically: seen on [path1: 2 out, 0 in; path2: 0 out, 2 in]") {
		t.Errorf("joined subflow notes do not show the asymmetric routing: %q", joined.Notes)
	}
	for _, c := range a.Connections {
		if c.Kind == "mp_join" && len(c.SeenOn) != 2 {
			t.Errorf("join connection seen on %q, want both captures", c.SeenOn)
		}
	}
	// The probes of the initial subflow are located in their capture.
	for _, p := range a.Subflows[0].Probes {
		if p.Capture != "path1" || p.Packet <= 0 {
			t.Errorf("probe %+v: want a path1 packet index", p)
		}
	}
}

// TestJudgeIsolation: a cell's evidence must hold only its own slot's
// addresses. Real evidence of slot 0 judged as slot 1 (what a cell would
// see if netns or captures leaked between concurrent cells), and slot 0
// evidence with another cell's packets mixed into a capture, are ERROR.
func TestJudgeIsolation(t *testing.T) {
	o := fixture(t, host(t, "connect"), "connect")
	if got, _ := judge(o); got.Outcome != report.Pass {
		t.Fatalf("own slot: got %s: %s", got.Outcome, got.Reason)
	}
	moved := o
	moved.topo = o.topo.inSlot(1)
	if got, _ := judge(moved); got.Outcome != report.Error || !strings.Contains(got.Reason, "foreign 4-tuples: path1.pcap 192.0.2.2:") {
		t.Errorf("slot 0 evidence judged as slot 1: got %s: %s", got.Outcome, got.Reason)
	}
	other := fixture(t, host(t, "fallback"), "fallback")
	mixed := o
	mixed.captures = []capture{{path: o.captures[0].path, pkts: append(append([]evidence.Packet(nil), o.captures[0].pkts...), shifted(other.captures[0].pkts, 16)...)}}
	if got, _ := judge(mixed); got.Outcome != report.Error || !strings.Contains(got.Reason, "foreign 4-tuples: path1.pcap 192.0.2.18:") {
		t.Errorf("another cell's packets in the capture: got %s: %s", got.Outcome, got.Reason)
	}
}

// shifted moves packets' addresses d up in their last octet, as if
// captured in another slot.
func shifted(pkts []evidence.Packet, d int) []evidence.Packet {
	out := make([]evidence.Packet, len(pkts))
	for i, p := range pkts {
		p.Src = netip.AddrPortFrom(netip.MustParseAddr(shiftIP(p.Src.Addr().String(), d)), p.Src.Port())
		p.Dst = netip.AddrPortFrom(netip.MustParseAddr(shiftIP(p.Dst.Addr().String(), d)), p.Dst.Port())
		out[i] = p
	}
	return out
}
