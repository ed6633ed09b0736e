package scenarios

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
)

// TestCellCmds pins the guest command lines of a cell, slot 0 and slot 2,
// as the guest will run them.
func TestCellCmds(t *testing.T) {
	connect0 := newKeepalive(specConnect).cmds(0)
	fallback0 := newKeepalive(specFallback).cmds(0)
	join2 := newKeepalive(specJoin).cmds(2)
	ns2 := newKeepalive(specJoin).cmds(2)
	ns2.nsenter = true
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"work dir", connect0.work, "/tmp/srutest/0"},
		{"slot 2 work dir", join2.work, "/tmp/srutest/2"},
		{"work dir and tick FIFO", connect0.workdir(), "mkdir -p /tmp/srutest/0 && mkfifo /tmp/srutest/0/tick"},
		{"preflight", connect0.preflight(),
			"read r </proc/sys/kernel/osrelease && echo $r; if [ -e /proc/sys/net/mptcp/enabled ]; then echo mptcp=yes; else echo mptcp=no; fi; for t in /usr/sbin/ip /usr/bin/ss /usr/bin/nstat /usr/bin/tcpdump; do [ -x $t ] || echo missing=$t; done; /bin/nsenter --net=/proc/self/ns/net -- /bin/echo nsenter=yes 2>/dev/null"},
		{"cleanup", connect0.cleanup(),
			"if [ -e /var/run/netns/cli ]; then for p in $(/usr/sbin/ip netns pids cli 2>/dev/null); do kill -9 $p 2>/dev/null; done; /usr/sbin/ip netns del cli 2>/dev/null; fi\n" +
				"if [ -e /var/run/netns/srv ]; then for p in $(/usr/sbin/ip netns pids srv 2>/dev/null); do kill -9 $p 2>/dev/null; done; /usr/sbin/ip netns del srv 2>/dev/null; fi\ntrue\n[ ! -e /tmp/srutest/0 ] || rm -rf /tmp/srutest/0"},
		{"slot 2 cleanup names its own netns", join2.cleanup(),
			"if [ -e /var/run/netns/cli2 ]; then for p in $(/usr/sbin/ip netns pids cli2 2>/dev/null); do kill -9 $p 2>/dev/null; done; /usr/sbin/ip netns del cli2 2>/dev/null; fi\n" +
				"if [ -e /var/run/netns/srv2 ]; then for p in $(/usr/sbin/ip netns pids srv2 2>/dev/null); do kill -9 $p 2>/dev/null; done; /usr/sbin/ip netns del srv2 2>/dev/null; fi\ntrue\n[ ! -e /tmp/srutest/2 ] || rm -rf /tmp/srutest/2"},
		{"server", connect0.server().script(),
			"/usr/sbin/ip netns exec srv /tmp/srutest/0/srutest-pair server --listen 192.0.2.1:5000 --mptcp=true --ready /tmp/srutest/0/server.ready --timeout 600s >/tmp/srutest/0/server.json 2>/tmp/srutest/0/server.err </dev/null &\n" +
				"echo $!\nsr_ready /tmp/srutest/0/server.ready '' $! 25 /tmp/srutest/0/tick"},
		{"fallback server is plain TCP", fallback0.server().cmd,
			"/tmp/srutest/0/srutest-pair server --listen 192.0.2.1:5000 --mptcp=false --ready /tmp/srutest/0/server.ready --timeout 600s"},
		{"slot 2 server listens on its own address", join2.server().cmd,
			"/tmp/srutest/2/srutest-pair server --listen 192.0.2.33:5000 --mptcp=true --ready /tmp/srutest/2/server.ready --timeout 600s"},
		{"capture path2, slot 2", join2.capture(join2.topo.Paths[1]).script(),
			"/usr/sbin/ip netns exec cli2 /usr/bin/tcpdump -Z root -U --immediate-mode -n -s 200 -i c2 -w /tmp/srutest/2/path2.pcap tcp >/tmp/srutest/2/path2.tcpdump.log 2>&1 </dev/null &\n" +
				"echo $!\nsr_ready /tmp/srutest/2/path2.tcpdump.log 'listening on' $! 25 /tmp/srutest/2/tick"},
		{"client", connect0.client().script(),
			"/usr/sbin/ip netns exec cli /tmp/srutest/0/srutest-pair client --connect 192.0.2.1:5000 --keepalive before --hold 600s --timeout 25s --ready /tmp/srutest/0/client.ready >/tmp/srutest/0/client.json 2>/tmp/srutest/0/client.err </dev/null &\n" +
				"echo $!\nsr_ready /tmp/srutest/0/client.ready '' $! 25 /tmp/srutest/0/tick"},
		{"readiness deadline", connect0.ready(), "25s"},
		{"readiness deadline under TCG (×3)", cellCmds{scale: 3}.ready(), "1m15s"},
		{"ss", join2.ss(false), "/usr/sbin/ip netns exec cli2 /usr/bin/ss -tinoe"},
		{"ss -M", join2.ss(true), "/usr/sbin/ip netns exec cli2 /usr/bin/ss -Minoe"},
		{"stop captures", join2.stopCaptures([]int{11, 12}),
			"kill -INT 11; kill -INT 12; sr_exited 11 5 /tmp/srutest/2/tick || kill -9 11; sr_exited 12 5 /tmp/srutest/2/tick || kill -9 12; "},
		{"state", connect0.state(),
			"/usr/sbin/ip netns exec cli /usr/bin/nstat -asz > /tmp/srutest/0/nstat-cli.txt; /usr/sbin/ip netns exec srv /usr/bin/nstat -asz > /tmp/srutest/0/nstat-srv.txt\n" +
				"/usr/sbin/ip -n cli -batch - <<'EOF'\naddr\nrule\nroute show table all\nmptcp endpoint show\nmptcp limits show\nEOF\n" +
				"/usr/sbin/ip -n srv -batch - <<'EOF'\nmptcp limits show\nEOF"},
		{"release", connect0.release(21, 20),
			"kill -TERM 21; sr_exited 21 5 /tmp/srutest/0/tick || kill -9 21; sr_exited 20 5 /tmp/srutest/0/tick || kill -TERM 20"},
		{"pcap text", join2.pcapText(),
			"/usr/bin/tcpdump -r /tmp/srutest/2/path1.pcap -nn -tt -S > /tmp/srutest/2/path1.txt 2>&1; /usr/bin/tcpdump -r /tmp/srutest/2/path2.pcap -nn -tt -S > /tmp/srutest/2/path2.txt 2>&1; "},
		{"server with nsenter", ns2.server().script(),
			"/bin/nsenter --net=/var/run/netns/srv2 -- /tmp/srutest/2/srutest-pair server --listen 192.0.2.33:5000 --mptcp=true --ready /tmp/srutest/2/server.ready --timeout 600s >/tmp/srutest/2/server.json 2>/tmp/srutest/2/server.err </dev/null &\n" +
				"echo $!\nsr_ready /tmp/srutest/2/server.ready '' $! 25 /tmp/srutest/2/tick"},
		{"capture with nsenter", ns2.capture(ns2.topo.Paths[1]).script(),
			"/bin/nsenter --net=/var/run/netns/cli2 -- /usr/bin/tcpdump -Z root -U --immediate-mode -n -s 200 -i c2 -w /tmp/srutest/2/path2.pcap tcp >/tmp/srutest/2/path2.tcpdump.log 2>&1 </dev/null &\n" +
				"echo $!\nsr_ready /tmp/srutest/2/path2.tcpdump.log 'listening on' $! 25 /tmp/srutest/2/tick"},
		{"client with nsenter", ns2.client().cmd, "/tmp/srutest/2/srutest-pair client --connect 192.0.2.33:5000 --keepalive before --hold 600s --timeout 25s --ready /tmp/srutest/2/client.ready"},
		{"client netns with nsenter", ns2.client().ns, "/bin/nsenter --net=/var/run/netns/cli2 --"},
		{"setup with nsenter: sysctls of srv2", strings.Split(ns2.setup(), "\n")[8],
			"/bin/nsenter --net=/var/run/netns/srv2 -- sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_keepalive_time && echo 1 > /proc/sys/net/ipv4/tcp_keepalive_intvl && echo 1 > /proc/sys/net/mptcp/enabled && " +
				"for f in ipv4/tcp_keepalive_time ipv4/tcp_keepalive_intvl mptcp/enabled; do read v < /proc/sys/net/$f; echo \"srv2 $f=$v\"; done'"},
		{"ss with nsenter", ns2.ss(false), "/bin/nsenter --net=/var/run/netns/cli2 -- /usr/bin/ss -tinoe"},
		{"state with nsenter", ns2.state(),
			"/bin/nsenter --net=/var/run/netns/cli2 -- /usr/bin/nstat -asz > /tmp/srutest/2/nstat-cli.txt; /bin/nsenter --net=/var/run/netns/srv2 -- /usr/bin/nstat -asz > /tmp/srutest/2/nstat-srv.txt\n" +
				"/usr/sbin/ip -n cli2 -batch - <<'EOF'\naddr\nrule\nroute show table all\nmptcp endpoint show\nmptcp limits show\nEOF\n" +
				"/usr/sbin/ip -n srv2 -batch - <<'EOF'\nmptcp limits show\nEOF"},
		{"files", strings.Join(connect0.files(), " "),
			"/tmp/srutest/0/client.json /tmp/srutest/0/client.err /tmp/srutest/0/server.json /tmp/srutest/0/server.err /tmp/srutest/0/nstat-cli.txt /tmp/srutest/0/nstat-srv.txt " +
				"/tmp/srutest/0/path1.pcap /tmp/srutest/0/path1.txt /tmp/srutest/0/path1.tcpdump.log"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, tc.got, tc.want)
		}
	}
}

// TestTopologySlots: every slot has its own netns names and addresses,
// and slot 0 is the documented topology.
func TestTopologySlots(t *testing.T) {
	base := newTopology(true)
	if got := base.inSlot(0); got.Cli != "cli" || got.Srv != "srv" || got.Paths[0].ClientIP != "192.0.2.2" || got.Paths[1].ServerIP != "198.51.100.1" {
		t.Errorf("slot 0: %+v", got)
	}
	seenNS, seenAddr := map[string]int{}, map[string]int{}
	for n := range MaxSlots {
		tp := base.inSlot(n)
		for _, ns := range []string{tp.Cli, tp.Srv} {
			if m, dup := seenNS[ns]; dup {
				t.Errorf("slot %d reuses netns %s of slot %d", n, ns, m)
			}
			seenNS[ns] = n
		}
		for a := range tp.addrs() {
			if m, dup := seenAddr[a]; dup {
				t.Errorf("slot %d reuses address %s of slot %d", n, a, m)
			}
			seenAddr[a] = n
		}
		for _, p := range tp.Paths {
			// Client and server share the path's /28, and it is the slot's.
			if want := p.network(); netOf(p.ServerIP, p.Prefix) != want {
				t.Errorf("slot %d %s: server %s outside %s", n, p.Name, p.ServerIP, want)
			}
		}
		setup := tp.setupScript(cellCmds{}.inNS)
		for _, want := range []string{
			"netns add " + tp.Cli + "\n",
			"\nrule add from " + tp.Paths[1].ClientIP + " table 2\n",
			"\nmptcp endpoint add " + tp.Paths[1].ClientIP + " dev c2 subflow\n",
		} {
			if !strings.Contains(setup, want) {
				t.Errorf("slot %d: setup lacks %q", n, want)
			}
		}
	}
	if got := base.inSlot(MaxSlots - 1).Paths[0]; got.ClientIP != "192.0.2.242" || got.network() != "192.0.2.240/28" {
		t.Errorf("last slot path1: %+v %s", got, got.network())
	}
}

func netOf(ip string, bits int) string {
	return link{ClientIP: ip, Prefix: bits}.network()
}

// TestGuestWaits runs guestWaits under busybox sh, the guest's shell:
// readiness by file and by a line of text, early failure when the process
// died, the deadline, and the exit wait for a zombie, a gone and a running
// process.
func TestGuestWaits(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		testutil.Unavailable(t, "busybox not found (the guest's shell; apt-get install busybox)")
	}
	dir := t.TempDir()
	tick := filepath.Join(dir, "tick")
	if err := syscall.Mkfifo(tick, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script string
		wantRC       int
		wantErr      string
	}{
		{"file appears", "(sleep 0.2; : > $D/ready; sleep 5) & sr_ready $D/ready '' $! 10 $T", 0, ""},
		{"text appears after other lines", "(echo starting > $D/log; sleep 0.2; echo 'x listening on c1' >> $D/log; sleep 5) & sr_ready $D/log 'listening on' $! 10 $T", 0, ""},
		{"process died first", "(sleep 0.1) & sr_ready $D/never '' $! 10 $T", 1, "exited before"},
		{"deadline", "sleep 5 & sr_ready $D/never '' $! 1 $T", 1, "not ready after 1s"},
		{"exited: zombie", "(exit 3) & p=$!; sleep 0.2; sr_exited $p 5 $T", 0, ""},
		{"exited: after a while", "sleep 0.3 & sr_exited $! 5 $T", 0, ""},
		{"exited: no such pid", "sr_exited 999999999 1 $T", 0, ""},
		{"exited: still running", "sleep 5 & sr_exited $! 1 $T", 1, "still running after 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The background process is killed at the end: it holds stderr.
			cmd := exec.Command(bb, "sh", "-c", guestWaits+tc.script+"; rc=$?; kill $! 2>/dev/null; exit $rc")
			cmd.Env = append(os.Environ(), "D="+t.TempDir(), "T="+tick)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if rc != tc.wantRC || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("rc %d stderr %q, want rc %d and %q", rc, stderr.String(), tc.wantRC, tc.wantErr)
			}
		})
	}
}
