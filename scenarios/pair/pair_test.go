package pair

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mptcpOnHost() bool {
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func TestParseKeepalive(t *testing.T) {
	for _, s := range []string{"before", "after", "off"} {
		if k, err := ParseKeepalive(s); err != nil || string(k) != s {
			t.Errorf("%s: %v %v", s, k, err)
		}
	}
	if _, err := ParseKeepalive("on"); err == nil {
		t.Error("on: no error")
	}
}

// TestPairLoopback runs server and client on 127.0.0.1 (loopback only)
// and checks the facts both report.
func TestPairLoopback(t *testing.T) {
	mptcp := mptcpOnHost()
	for _, tc := range []struct {
		name        string
		mode        Keepalive
		clientMPTCP bool
		serverMPTCP bool
	}{
		{"tcp before", KeepaliveBefore, false, false},
		{"tcp after", KeepaliveAfter, false, false},
		{"tcp off", KeepaliveOff, false, false},
		{"mptcp before", KeepaliveBefore, true, true},
		{"mptcp off", KeepaliveOff, true, true},
		{"mptcp fallback", KeepaliveBefore, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srvReady := filepath.Join(dir, "server.ready")
			srvDone := make(chan ServerFacts, 1)
			go func() {
				srvDone <- RunServer(ctx, ServerConfig{Listen: "127.0.0.1:0", MPTCP: tc.serverMPTCP, Greeting: true, Ready: srvReady, Timeout: 15 * time.Second})
			}()
			if err := WaitFile(ctx, srvReady, "", false); err != nil {
				t.Fatal(err)
			}
			addr := strings.TrimSpace(string(must(os.ReadFile(srvReady))))
			cliReady := filepath.Join(dir, "client.ready")
			cctx, release := context.WithCancel(ctx)
			cliDone := make(chan ClientFacts, 1)
			go func() {
				cliDone <- RunClient(cctx, ClientConfig{Connect: addr, Keepalive: tc.mode, MPTCP: tc.clientMPTCP, Hold: 10 * time.Second, Ready: cliReady})
			}()
			if err := WaitFile(ctx, cliReady, "", false); err != nil {
				release()
				t.Fatalf("client not ready: %v / %+v", err, <-cliDone)
			}
			release()
			c := <-cliDone
			s := <-srvDone
			if !c.OK() || c.EndedBy != "signal" || c.Remote != addr || len(c.Errors) > 0 || c.End.IsZero() || c.GreetedAt.Before(c.ConnectedAt) {
				t.Errorf("client facts: %+v", c)
			}
			if !s.OK() || s.EndedBy != "peer" || s.Remote != c.Local || s.Greeting != 1 {
				t.Errorf("server facts: %+v", s)
			}
			if len(c.Controls) == 0 || c.Controls[0].KeepaliveSet != (tc.mode == KeepaliveBefore) {
				t.Errorf("control calls: %+v", c.Controls)
			}
			wantProto := 6
			if mptcp && tc.serverMPTCP {
				wantProto = 262
			}
			if s.ListenerProtocol != wantProto {
				t.Errorf("listener SO_PROTOCOL %d, want %d", s.ListenerProtocol, wantProto)
			}
			// Plain TCP carries SO_KEEPALIVE on the socket on every kernel;
			// an MPTCP socket only with a65198136eaa (v6.10 and backports).
			if tc.mode == KeepaliveOff && (c.AfterGreeting.Keepalive != 0 || c.AtEnd.Keepalive != 0) {
				t.Errorf("SO_KEEPALIVE without setting it: %+v", c)
			}
			if !tc.clientMPTCP && tc.mode != KeepaliveOff && (c.AfterGreeting.Keepalive != 1 || c.AtEnd.Keepalive != 1) {
				t.Errorf("SO_KEEPALIVE not read back on TCP: %+v", c)
			}
			if mptcp && tc.clientMPTCP {
				if c.Controls[0].Protocol != 262 || c.AfterGreeting.Protocol != 262 {
					t.Errorf("client socket not MPTCP: %+v", c)
				}
				if c.AfterGreeting.TCPIsMPTCPErr == "" && c.MultipathTCP != tc.serverMPTCP {
					t.Errorf("MultipathTCP() = %v with an MPTCP server = %v", c.MultipathTCP, tc.serverMPTCP)
				}
			}
			t.Logf("client SO_KEEPALIVE readback %d, after greeting %d, MultipathTCP %v", c.Controls[0].Readback, c.AfterGreeting.Keepalive, c.MultipathTCP)
		})
	}
}

func TestClientConnectFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens, the connect is refused.
	f := RunClient(ctx, ClientConfig{Connect: "127.0.0.1:1", Keepalive: KeepaliveBefore, MPTCP: true, Hold: time.Second})
	if f.OK() || f.Connected || len(f.Errors) == 0 || !strings.Contains(f.Errors[0], "connect 127.0.0.1:1") || f.End.IsZero() {
		t.Fatalf("facts: %+v", f)
	}
	f = RunClient(ctx, ClientConfig{Connect: "127.0.0.1:1", Bind: "not-an-ip", Keepalive: KeepaliveOff})
	if f.OK() || len(f.Errors) == 0 || !strings.HasPrefix(f.Errors[0], "bind:") {
		t.Fatalf("facts: %+v", f)
	}
}

func TestServerListenFails(t *testing.T) {
	f := RunServer(context.Background(), ServerConfig{Listen: "192.0.2.200:5000", MPTCP: true})
	if f.OK() || len(f.Errors) == 0 || !strings.HasPrefix(f.Errors[0], "listen ") {
		t.Fatalf("facts: %+v", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f = RunServer(ctx, ServerConfig{Listen: "127.0.0.1:0", MPTCP: false})
	if f.OK() || f.EndedBy != "timeout" {
		t.Fatalf("facts: %+v", f)
	}
}

func TestWaitFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(p, []byte("tcpdump: "), 0o644)
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(p, []byte("tcpdump: listening on c1"), 0o644)
	}()
	if err := WaitFile(ctx, p, "listening on", false); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.Remove(p)
	}()
	if err := WaitFile(ctx, p, "", true); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := WaitFile(short, p, "", false); err == nil || !strings.Contains(err.Error(), "to exist") {
		t.Fatalf("err = %v", err)
	}
}

// TestWaitPIDZombie: an exited, unreaped child counts as gone (PID 1 may
// be slow to reap the harness's orphans, or never do it).
func TestWaitPIDZombie(t *testing.T) {
	cmd := exec.Command("sleep", "0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if exited(cmd.Process.Pid) {
		t.Fatal("running process reported as exited")
	}
	t0 := time.Now()
	if err := WaitPID(ctx, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if !exited(1 << 30) {
		t.Error("nonexistent pid not reported as exited")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestWriteReady(t *testing.T) {
	p := filepath.Join(t.TempDir(), "server.ready")
	if err := writeReady(p, "127.0.0.1:5000"); err != nil {
		t.Fatal(err)
	}
	if got := string(must(os.ReadFile(p))); got != "127.0.0.1:5000\n" {
		t.Errorf("ready file %q", got)
	}
	if _, err := os.Stat(p + ".tmp"); err == nil {
		t.Error("temporary file left behind")
	}
}
