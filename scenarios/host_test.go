package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios/evidence"
)

// skipWithoutNetns skips unless the test can create network namespaces
// with MPTCP on this host (root, iproute2, tcpdump, MPTCP kernel).
func skipWithoutNetns(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("host netns end-to-end test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("host netns end-to-end test needs root")
	}
	for _, bin := range []string{ipBin, ssBin, nstatBin, tcpdumpBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("host netns end-to-end test needs %s", bin)
		}
	}
	if _, err := os.Stat("/proc/sys/net/mptcp/enabled"); err != nil {
		t.Skip("host kernel has no MPTCP")
	}
	ns := fmt.Sprintf("srutest-probe-%d", os.Getpid())
	if out, err := exec.Command(ipBin, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add does not work here: %v: %s", err, out)
	}
	exec.Command(ipBin, "netns", "del", ns).Run()
}

// buildPair builds the static pair binary for the test.
func buildPair(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "srutest-pair")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/srutest/srutest/cmd/srutest-pair")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build srutest-pair: %v\n%s", err, out)
	}
	return bin
}

// hostScenario returns the named built-in scenario with netns and work
// dir names private to this test process; slot is the cell's place among
// those running at once.
func hostScenario(t *testing.T, name string, slot int) *keepaliveScenario {
	t.Helper()
	s, ok := Lookup(name)
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	k := s.(*keepaliveScenario)
	id := os.Getpid()
	k.topo.Cli = fmt.Sprintf("srutest-cli-%d-", id)
	k.topo.Srv = fmt.Sprintf("srutest-srv-%d-", id)
	k.work = fmt.Sprintf("/tmp/srutest-test-%d", id)
	t.Cleanup(func() {
		exec.Command("sh", "-c", k.cmds(slot).cleanup()+"; rmdir "+k.work+" 2>/dev/null").Run()
	})
	return k
}

// TestHostScenarios runs every keepalive scenario end to end on this
// host's kernel, all five at the same time, as the runner runs a kernel's
// cells in one guest: each in its own slot (netns pair, addresses, work
// dir). The host kernel carries the fix, so every cell must PASS, and each
// cell's captures and ss snapshots must hold only its own addresses (no
// cell sees another's traffic, timers or counters).
// SRUTEST_TEST_ARTIFACTS=DIR keeps each cell's artifacts in DIR/<scenario>.
// With SRUTEST_UPDATE_FIXTURES=1 the raw evidence is copied into
// testdata/captures/host-<release>/<scenario>/ (run alone: -run
// TestHostScenarios, slot 0 addresses are what fixtures hold).
func TestHostScenarios(t *testing.T) {
	skipWithoutNetns(t)
	pair := buildPair(t)
	release := strings.TrimSpace(string(must(exec.Command("uname", "-r").Output())))
	names := []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"}
	update := os.Getenv("SRUTEST_UPDATE_FIXTURES") != ""
	type result struct {
		k    *keepaliveScenario
		slot int
		dir  string
		cell report.Cell
		wall time.Duration
		logs bytes.Buffer
	}
	results := make([]*result, len(names))
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, name := range names {
		slot := i
		if update {
			slot = 0 // fixtures hold slot 0's addresses: run one at a time
		}
		r := &result{k: hostScenario(t, name, slot), slot: slot, dir: t.TempDir()}
		if keep := os.Getenv("SRUTEST_TEST_ARTIFACTS"); keep != "" {
			r.dir = filepath.Join(keep, name)
			os.RemoveAll(r.dir)
		}
		results[i] = r
		run := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			t1 := time.Now()
			env := Env{Guest: localGuest{}, Pair: pair, Artifacts: r.dir, Log: &r.logs, Slot: r.slot}
			if r.slot%2 == 1 {
				// Odd slots read their captures on the "host" side
				// (Env.PcapText), even ones in the "guest": both paths.
				env.PcapText = func(ctx context.Context, pcap string) ([]byte, error) {
					return exec.CommandContext(ctx, tcpdumpBin, "-r", pcap, "-nn", "-tt", "-S").CombinedOutput()
				}
			}
			r.cell = r.k.Run(ctx, env)
			r.wall = time.Since(t1)
		}
		if update {
			run()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
	t.Logf("%d cells in %s", len(names), time.Since(t0).Round(time.Millisecond))
	for i, r := range results {
		name := names[i]
		t.Run(name, func(t *testing.T) {
			cell, dir, k := r.cell, r.dir, r.k
			for _, sf := range cell.Subflows {
				t.Logf("%s %s %s→%s: %s timer=%v probes=%d interval=%.3fs", sf.Path, sf.Kind, sf.Local, sf.Remote, sf.Verdict, sf.TimerSeen, sf.Probes, sf.IntervalSec)
			}
			t.Logf("%s (slot %d): %s in %s: %s", name, r.slot, cell.Outcome, r.wall.Round(time.Millisecond), cell.Reason)
			if cell.Outcome != report.Pass {
				t.Errorf("%s on %s: %s: %s\ncommands.log:\n%s", name, release, cell.Outcome, cell.Reason, tailFile(filepath.Join(dir, "commands.log"), 4000))
			}
			wantSubflows := 1
			if name == "join" {
				wantSubflows = 2
			}
			if len(cell.Subflows) != wantSubflows {
				t.Errorf("%s: %d subflows, want %d", name, len(cell.Subflows), wantSubflows)
			}
			for _, f := range []string{"commands.log", "path1.pcap", "path1.txt", "ss-1.txt", "ss-2.txt", "client.json", "server.json", "verdict.json", "analysis.json", "dmesg.txt", "nstat-cli.txt"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s: artifact %s missing or empty", name, f)
				}
			}
			// pathN.txt is tcpdump's reading of the capture, wherever made.
			if txt := string(must(os.ReadFile(filepath.Join(dir, "path1.txt")))); !strings.Contains(txt, "reading from file") || !strings.Contains(txt, " IP ") {
				t.Errorf("%s: path1.txt is not tcpdump's reading of path1.pcap: %q", name, clip(txt, 300))
			}
			var v report.Cell
			if err := json.Unmarshal(must(os.ReadFile(filepath.Join(dir, "verdict.json"))), &v); err != nil || v.Outcome != cell.Outcome {
				t.Errorf("verdict.json: %v, outcome %q want %q", err, v.Outcome, cell.Outcome)
			}
			assertOwnEvidence(t, dir, k.cmds(r.slot).topo, results[i].slot, func(yield func(int, topology) bool) {
				for _, o := range results {
					if o != r && !yield(o.slot, o.k.cmds(o.slot).topo) {
						return
					}
				}
			})
			// The netns must be gone so the next cell can reuse the host.
			if out, _ := exec.Command(ipBin, "netns", "list").Output(); bytes.Contains(out, []byte(k.cmds(r.slot).topo.Cli+" ")) || bytes.Contains(out, []byte(k.cmds(r.slot).topo.Cli+"\n")) {
				t.Errorf("netns %s left behind", k.cmds(r.slot).topo.Cli)
			}
			if update {
				updateFixtures(t, dir, filepath.Join("testdata", "captures", "host-"+release, name))
			}
		})
	}
}

// assertOwnEvidence checks, independently of judge, that every packet in
// a cell's pcaps and every socket in its ss snapshots is between its own
// addresses, and that no other cell of the run has any of them.
func assertOwnEvidence(t *testing.T, dir string, own topology, slot int, others func(func(int, topology) bool)) {
	t.Helper()
	mine := own.addrs()
	for n, o := range others {
		if n == slot {
			continue // fixture update: every cell in slot 0, one at a time
		}
		for a := range o.addrs() {
			if mine[a] {
				t.Errorf("slot %d shares address %s with slot %d", slot, a, n)
			}
		}
	}
	tuples := 0
	for _, p := range own.Paths {
		pkts, err := evidence.ParsePcap(must(os.ReadFile(filepath.Join(dir, p.Name+".pcap"))))
		if err != nil {
			t.Errorf("%s.pcap: %v", p.Name, err)
		}
		for _, pk := range pkts {
			tuples++
			if !mine[pk.Src.Addr().String()] || !mine[pk.Dst.Addr().String()] {
				t.Errorf("%s.pcap holds a foreign packet %s -> %s", p.Name, pk.Src, pk.Dst)
			}
		}
	}
	for _, f := range ssFiles(dir) {
		socks, err := evidence.ParseSS(must(os.ReadFile(filepath.Join(dir, f))))
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, so := range socks {
			tuples++
			for _, a := range []string{so.Local, so.Peer} {
				ip, _, _ := strings.Cut(a, ":")
				if !mine[ip] {
					t.Errorf("%s holds a foreign socket %s %s", f, so.Local, so.Peer)
				}
			}
		}
	}
	if tuples == 0 {
		t.Errorf("no packets or sockets in %s: nothing proven", dir)
	}
}

// updateFixtures copies the evidence parsers are tested on.
func updateFixtures(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(from, "*"))
	for _, n := range names {
		base := filepath.Base(n)
		switch {
		case base == "nstat-cli.txt":
			// Only the MPTcp counters matter; the rest is 20 KiB of noise.
			var keep []string
			for _, l := range strings.Split(string(must(os.ReadFile(n))), "\n") {
				if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "MPTcp") {
					keep = append(keep, l)
				}
			}
			if err := os.WriteFile(filepath.Join(to, base), []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(base, ".pcap"), strings.HasPrefix(base, "ss-"), base == "client.json", base == "server.json", base == "verdict.json", strings.HasSuffix(base, ".txt") && strings.HasPrefix(base, "path"):
			if err := copyFile(n, filepath.Join(to, base)); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("fixtures updated in %s", to)
}

func tailFile(path string, n int) string {
	data, _ := os.ReadFile(path)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
