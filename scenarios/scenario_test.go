package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
)

func TestAllLookup(t *testing.T) {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name())
		if s.Describe() == "" {
			t.Errorf("%s: no description", s.Name())
		}
		if got, ok := Lookup(s.Name()); !ok || got.Name() != s.Name() {
			t.Errorf("Lookup(%q) = %v, %v", s.Name(), got, ok)
		}
	}
	if got := strings.Join(names, ","); got != "connect,fallback,join,keepalive-off,keepalive-after-connect" {
		t.Errorf("All() = %s", got)
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
}

func TestTopologyScripts(t *testing.T) {
	bareIP := regexp.MustCompile(`(^|[;&|(\s])ip\s`)
	for _, s := range All() {
		k := s.(*keepaliveScenario)
		setup, down := k.topo.setupScript(cellCmds{}.inNS), k.topo.teardownScript()
		for _, script := range []string{setup, down} {
			for _, l := range strings.Split(script, "\n") {
				if bareIP.MatchString(l) {
					t.Errorf("%s: busybox would run its ip applet: %q", k.Name(), l)
				}
			}
		}
		hasJoin := strings.Contains(setup, "\nmptcp endpoint add 198.51.100.2 dev c2 subflow\n")
		if hasJoin != (k.Name() == "join") || strings.Contains(setup, "c2 type veth") != (k.Name() == "join") {
			t.Errorf("%s: path 2 / endpoint in setup = %v", k.Name(), hasJoin)
		}
		// Per-path source routing: every client address has its own table
		// whose default route is its own path (5.15 does not bind a join
		// subflow to the endpoint's dev; the rule routes it by address).
		cliBatch := "/usr/sbin/ip -n cli -batch - <<'EOF'\nlink set lo up\nmptcp limits set subflow 2 add_addr_accepted 2\n" +
			"link add c1 type veth peer name s1 netns srv\naddr add 192.0.2.2/28 dev c1\nlink set c1 up\n" +
			"rule add from 192.0.2.2 table 1\nroute add 192.0.2.0/28 dev c1 scope link table 1\nroute add default via 192.0.2.1 dev c1 table 1\n"
		srvBatch := "/usr/sbin/ip -n srv -batch - <<'EOF'\nlink set lo up\nmptcp limits set subflow 2 add_addr_accepted 2\naddr add 192.0.2.1/28 dev s1\nlink set s1 up\n"
		if k.Name() == "join" {
			cliBatch += "link add c2 type veth peer name s2 netns srv\naddr add 198.51.100.2/28 dev c2\nlink set c2 up\n" +
				"rule add from 198.51.100.2 table 2\nroute add 198.51.100.0/28 dev c2 scope link table 2\nroute add default via 198.51.100.1 dev c2 table 2\n" +
				"mptcp endpoint add 198.51.100.2 dev c2 subflow\nEOF\n"
			srvBatch += "addr add 198.51.100.1/28 dev s2\nlink set s2 up\nEOF\n"
		} else {
			cliBatch += "EOF\n"
			srvBatch += "EOF\n"
		}
		wantRules := []string{cliBatch, srvBatch}
		for _, want := range wantRules {
			if !strings.Contains(setup, want) {
				t.Errorf("%s: setup lacks %q", k.Name(), want)
			}
		}
		if strings.Contains(setup, "dev c2 metric") {
			t.Errorf("%s: main-table default route over path 2 is back: %s", k.Name(), setup)
		}
		for _, want := range []string{"tcp_keepalive_time", "tcp_keepalive_intvl", "/usr/sbin/ip -batch - <<'EOF'\nnetns add cli\nnetns add srv\nEOF\n",
			"/usr/sbin/ip netns exec srv sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_keepalive_time"} {
			if !strings.Contains(setup, want) {
				t.Errorf("%s: setup lacks %q", k.Name(), want)
			}
		}
		if !strings.Contains(down, "netns del cli") || !strings.Contains(down, "netns del srv") {
			t.Errorf("%s: teardown: %s", k.Name(), down)
		}
	}
}

// scriptedGuest answers commands from a table (first matching substring)
// and can start reporting a crash after a number of commands.
type scriptedGuest struct {
	mu         sync.Mutex
	replies    map[string]ExecResult
	crashAfter int // 0 = never
	n          int
	cmds       []string
}

func (g *scriptedGuest) Exec(ctx context.Context, cmd string) (ExecResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	g.cmds = append(g.cmds, cmd)
	if strings.Contains(cmd, partBegin) {
		return runParts(cmd, g.reply), nil
	}
	return g.reply(cmd), nil
}

func (g *scriptedGuest) reply(cmd string) ExecResult {
	for k, v := range g.replies {
		if strings.Contains(cmd, k) {
			return v
		}
	}
	return ExecResult{}
}

// runParts plays a multiScript as the guest shell would, each part
// answered by reply: framed output, stop at the first failing part when
// the script says so.
func runParts(script string, reply func(string) ExecResult) ExecResult {
	var res ExecResult
	for _, chunk := range strings.Split(script, "echo \""+partBegin)[1:] {
		name, rest, _ := strings.Cut(chunk, " $u\"\n{\n")
		body, _, _ := strings.Cut(rest, "\n} 2>")
		r := reply(body)
		res.Stdout = fmt.Appendf(res.Stdout, "%s%s\n%s%s\n%s%s %d\n", partBegin, name, r.Stdout, r.Stderr, partEnd, name, r.ExitCode)
		if r.ExitCode != 0 && strings.Contains(chunk, "|| exit $rc") {
			res.ExitCode = r.ExitCode
			break
		}
	}
	return res
}
func (g *scriptedGuest) Push(ctx context.Context, local, remote string) error { return nil }
func (g *scriptedGuest) Pull(ctx context.Context, remote, local string) error {
	return errors.New("no such file")
}
func (g *scriptedGuest) Crashed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.crashAfter > 0 && g.n >= g.crashAfter {
		return errors.New("BUG: kernel NULL pointer dereference, address: 0000000000000008\nCall Trace:\n mptcp_subflow_create_socket+0x1/0x2")
	}
	return nil
}

func readCell(t *testing.T, dir string) report.Cell {
	t.Helper()
	var c report.Cell
	data, err := os.ReadFile(filepath.Join(dir, "verdict.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeepaliveWithoutMPTCPSkips(t *testing.T) {
	g := &scriptedGuest{replies: map[string]ExecResult{"kernel/osrelease": {Stdout: []byte("5.4.0\nmptcp=no\n")}}}
	dir := filepath.Join(t.TempDir(), "cell")
	cell := newKeepalive(specConnect).Run(context.Background(), Env{Guest: g, Pair: "/nonexistent", Artifacts: dir})
	if cell.Outcome != report.Skip || !strings.Contains(cell.Reason, "no MPTCP") {
		t.Fatalf("got %s: %s", cell.Outcome, cell.Reason)
	}
	if len(g.cmds) != 1 {
		t.Errorf("ran %d commands after finding no MPTCP: %q", len(g.cmds), g.cmds)
	}
	if readCell(t, dir).Outcome != report.Skip {
		t.Error("verdict.json disagrees")
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "commands.log")); !strings.Contains(string(log), "step=prepare exit=0") {
		t.Errorf("commands.log: %s", log)
	}
}

func TestKeepaliveMissingToolsIsError(t *testing.T) {
	g := &scriptedGuest{replies: map[string]ExecResult{"kernel/osrelease": {Stdout: []byte("6.1.0\nmptcp=yes\nmissing=/usr/bin/tcpdump\n")}}}
	cell := newKeepalive(specJoin).Run(context.Background(), Env{Guest: g, Artifacts: t.TempDir()})
	if cell.Outcome != report.Error || !strings.Contains(cell.Reason, "/usr/bin/tcpdump") {
		t.Fatalf("got %s: %s", cell.Outcome, cell.Reason)
	}
}

// A crash seen on the console stops the scenario at once: ERROR with the
// console text, no further commands, no teardown on a dead kernel.
func TestKeepaliveCrashIsError(t *testing.T) {
	g := &scriptedGuest{
		replies:    map[string]ExecResult{"kernel/osrelease": {Stdout: []byte("6.12.0\nmptcp=yes\n")}},
		crashAfter: 3,
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cell := newKeepalive(specConnect).Run(ctx, Env{Guest: g, Pair: "/nonexistent", Artifacts: dir})
	if cell.Outcome != report.Error || !strings.Contains(cell.Reason, "BUG: kernel NULL pointer") || !strings.Contains(cell.Console, "Call Trace") {
		t.Fatalf("got %s: %s / console %q", cell.Outcome, cell.Reason, cell.Console)
	}
	if g.n != 3 {
		t.Errorf("%d commands ran, want 3 (stop at the crash): %q", g.n, g.cmds)
	}
	if c := readCell(t, dir); c.Console == "" {
		t.Error("verdict.json has no console")
	}
}

// A client that never gets ready (setup fine, pair broken) ends in ERROR
// with the files that explain it, and the topology is torn down.
func TestKeepaliveClientNotReady(t *testing.T) {
	g := &scriptedGuest{replies: map[string]ExecResult{
		"kernel/osrelease":    {Stdout: []byte("6.12.0\nmptcp=yes\n")},
		"srutest-pair server": {Stdout: []byte("101\n")},
		"tcpdump -Z root":     {Stdout: []byte("102\n")},
		"srutest-pair client": {Stdout: []byte("103\n"), ExitCode: 1, Stderr: []byte("waiting for client.ready to exist: context deadline exceeded")},
	}}
	dir := t.TempDir()
	cell := newKeepalive(specConnect).Run(context.Background(), Env{Guest: g, Pair: "/nonexistent", Artifacts: dir})
	if cell.Outcome != report.Error || !strings.Contains(cell.Reason, "setup not achieved: client facts") {
		t.Fatalf("got %s: %s", cell.Outcome, cell.Reason)
	}
	last := g.cmds[len(g.cmds)-1]
	if !strings.Contains(last, "netns del cli") {
		t.Errorf("last command is not the teardown: %q", last)
	}
	for _, c := range g.cmds {
		if strings.Contains(c, " -tinoe") {
			t.Errorf("took ss snapshots without a client: %q", c)
		}
	}
}

// A cell whose guest is powered off after its batch (Env.Discard) does
// not tear its topology down; the runner's last batch sets it.
func TestKeepaliveDiscardSkipsTeardown(t *testing.T) {
	g := &scriptedGuest{replies: map[string]ExecResult{
		"kernel/osrelease":    {Stdout: []byte("6.12.0\nmptcp=yes\n")},
		"srutest-pair server": {Stdout: []byte("101\n")},
		"tcpdump -Z root":     {Stdout: []byte("102\n")},
		"srutest-pair client": {Stdout: []byte("103\n"), ExitCode: 1},
	}}
	dir := t.TempDir()
	newKeepalive(specConnect).Run(context.Background(), Env{Guest: g, Pair: "/nonexistent", Artifacts: dir, Discard: true})
	for _, c := range g.cmds {
		if strings.Contains(c, "netns del") && !strings.Contains(c, "@@srutest-part") {
			t.Errorf("tore down a discarded guest's topology: %q", c)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "commands.log")); !strings.Contains(string(log), "teardown skipped") {
		t.Errorf("commands.log does not say the teardown was skipped:\n%s", log)
	}
}
