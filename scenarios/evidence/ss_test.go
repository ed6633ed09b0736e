package evidence

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseSSFixtures parses every real ss snapshot and checks it against
// what the same run's client says (its local address) and what the
// scenario implies (subflows, device suffix on the join subflow, MPTCP
// flags, keepalive timer).
func TestParseSSFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		sc := filepath.Base(dir)
		var verdict struct {
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal(readFixture(t, dir, "verdict.json"), &verdict); err != nil {
			t.Fatal(err)
		}
		var client struct {
			Local     string `json:"local"`
			Keepalive string `json:"keepalive"`
		}
		if err := json.Unmarshal(readFixture(t, dir, "client.json"), &client); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "ss-[0-9]*.txt"))
		if len(files) == 0 {
			t.Errorf("%s: no ss snapshots", dir)
		}
		for _, f := range files {
			name, _ := filepath.Rel(capturesDir, f)
			t.Run(name, func(t *testing.T) {
				socks, err := ParseSS(readFixture(t, f))
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if sc == "join" {
					want = 2
				}
				if len(socks) != want {
					t.Fatalf("%d sockets, want %d", len(socks), want)
				}
				// ss lists sockets in hash order: find each by address.
				s, j := socks[0], SSSocket{}
				if len(socks) == 2 && socks[0].Local != client.Local {
					s, j = socks[1], socks[0]
				} else if len(socks) == 2 {
					j = socks[1]
				}
				if s.State != "ESTAB" || s.Local != client.Local || s.Peer != "192.0.2.1:5000" || s.ULP != "mptcp" || s.Inode == 0 || s.Info["rto"] == "" {
					t.Errorf("initial subflow: %+v", s)
				}
				// Keepalive timer: never without SO_KEEPALIVE; always where
				// the cell passed. (A FAIL may or may not show one.)
				timer := s.Timer != nil && s.Timer.Name == "keepalive"
				if (client.Keepalive == "off" && timer) || (verdict.Outcome == "PASS" && client.Keepalive != "off" && !timer) {
					t.Errorf("keepalive %s, cell %s, but timer %+v", client.Keepalive, verdict.Outcome, s.Timer)
				}
				if s.Timer != nil && (s.Timer.Expires <= 0 || s.Timer.Expires > 2*time.Second) {
					t.Errorf("timer expires %v", s.Timer.Expires)
				}
				// M: the peer answered MP_CAPABLE; not on a fallback.
				if s.HasFlag('M') == (sc == "fallback") {
					t.Errorf("%s: subflow flags %q", sc, s.MPTCPFlag)
				}
				if sc == "join" {
					// Newer kernels bind the join subflow to the endpoint's
					// dev (198.51.100.2%c2); 5.15 binds only the address.
					if !strings.HasPrefix(j.Local, "198.51.100.2:") || (j.LocalDev != "c2" && j.LocalDev != "") || !j.HasFlag('J') || j.Peer != "192.0.2.1:5000" {
						t.Errorf("join subflow: %+v", j)
					}
				}
			})
		}
		// ss -M output (MPTCP sockets, a different continuation line).
		mfiles, _ := filepath.Glob(filepath.Join(dir, "ss-mptcp-*.txt"))
		for _, f := range mfiles {
			data := readFixture(t, f)
			if bytes.Contains(data, []byte("# ss -M exit")) {
				continue // this kernel has no mptcp_diag
			}
			socks, err := ParseSS(data)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if len(socks) != 1 || socks[0].Local != client.Local || socks[0].Info["token"] == "" {
				t.Errorf("%s: %+v", f, socks)
			}
			if _, fb := socks[0].Info["subflows_max"]; !fb {
				t.Errorf("%s: no subflows_max in %q", f, socks[0].Raw)
			}
		}
	}
}

func TestParseSSLines(t *testing.T) {
	for _, tc := range []struct {
		name, in           string
		netid, local, peer string
		ldev, pdev         string
		timer              *SSTimer
		uid                int
	}{
		{"v4 with dev", "ESTAB 0 0 198.51.100.2%c2:40107 192.0.2.1:5000 timer:(keepalive,496ms,0) ino:62467 sk:2 <->",
			"", "198.51.100.2:40107", "192.0.2.1:5000", "c2", "", &SSTimer{"keepalive", 496 * time.Millisecond, 0}, -1},
		{"v6 bracketed with dev", "ESTAB 0 0 [fe80::1]%eth0:22 [2001:db8::2]:5000 timer:(on,1.200ms,3) uid:1000 ino:1",
			"", "[fe80::1]:22", "[2001:db8::2]:5000", "eth0", "", &SSTimer{"on", 1200 * time.Millisecond, 3}, 1000},
		{"old ss v6 bare", "ESTAB 0 0 ::ffff:192.0.2.2:22 ::1:5000",
			"", "[::ffff:192.0.2.2]:22", "[::1]:5000", "", "", nil, -1},
		{"netid column", "tcp   ESTAB 0      0            192.0.2.2:35834    192.0.2.1:5000 timer:(keepalive,,0) ino:62467",
			"tcp", "192.0.2.2:35834", "192.0.2.1:5000", "", "", &SSTimer{"keepalive", 0, 0}, -1},
		{"listen wildcard", "LISTEN 0 4096 *%lo:5000 *:*",
			"", "*:5000", "*:*", "lo", "", nil, -1},
		{"timewait", "TIME-WAIT 0 0 192.0.2.2:1 192.0.2.1:5000 timer:(timewait,59sec,0)",
			"", "192.0.2.2:1", "192.0.2.1:5000", "", "", &SSTimer{"timewait", 59 * time.Second, 0}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socks, err := ParseSS([]byte("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" + tc.in + "\n\t cubic rto:204 tcp-ulp-mptcp flags:Jjec token:1/2\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(socks) != 1 {
				t.Fatalf("%d sockets", len(socks))
			}
			s := socks[0]
			if s.Netid != tc.netid || s.Local != tc.local || s.Peer != tc.peer || s.LocalDev != tc.ldev || s.PeerDev != tc.pdev || s.UID != tc.uid {
				t.Errorf("got %+v", s)
			}
			if (s.Timer == nil) != (tc.timer == nil) || (s.Timer != nil && *s.Timer != *tc.timer) {
				t.Errorf("timer %+v, want %+v", s.Timer, tc.timer)
			}
			if s.ULP != "mptcp" || s.MPTCPFlag != "Jjec" || !s.HasFlag('J') || s.HasFlag('M') || s.Info["rto"] != "204" {
				t.Errorf("info: %+v", s)
			}
		})
	}
}

func TestParseSSErrors(t *testing.T) {
	for _, in := range []string{
		"\tcontinuation first",
		"ESTAB x 0 1.2.3.4:1 1.2.3.4:2",
		"ESTAB 0 0 1.2.3.4 1.2.3.4:2",
		"ESTAB 0 0 [::1:1 1.2.3.4:2",
		"ESTAB 0 0 1.2.3.4:1 1.2.3.4:2 timer:(keepalive,5parsecs,0)",
		"ESTAB 0 0 1.2.3.4:1 1.2.3.4:2 timer:(keepalive,5ms)",
		"ESTAB 0 0 1.2.3.4:1 1.2.3.4:2 ino:x",
		"Cannot open netlink socket: Protocol not supported",
	} {
		if _, err := ParseSS([]byte(in + "\n")); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if socks, err := ParseSS(nil); err != nil || len(socks) != 0 {
		t.Errorf("empty: %v %v", socks, err)
	}
}

func TestParseSSDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":            0,
		"672ms":       672 * time.Millisecond,
		"1.200ms":     1200 * time.Millisecond,
		"5sec":        5 * time.Second,
		"12sec":       12 * time.Second,
		"2min":        2 * time.Minute,
		"1min30sec":   90 * time.Second,
		"1min5.100ms": time.Minute + 5100*time.Millisecond,
	} {
		got, err := ParseSSDuration(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"ms", "1.5", "1x", "1.min", "9999999999ms"} {
		if _, err := ParseSSDuration(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzParseSS(f *testing.F) {
	for _, dir := range fixtureDirs(f) {
		files, _ := filepath.Glob(filepath.Join(dir, "ss-*.txt"))
		for _, p := range files {
			f.Add(readFixture(f, p))
		}
	}
	f.Add([]byte("ESTAB 0 0 [fe80::1]%eth0:22 [::1]:5000 timer:(on,1min5.100ms,3) uid:1 ino:2 sk:3\n\ttcp-ulp-mptcp flags:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := ParseSS(data)
		for _, s := range socks {
			if s.Local == "" || s.Peer == "" {
				t.Fatalf("socket without addresses: %+v (err %v)", s, err)
			}
		}
	})
}
