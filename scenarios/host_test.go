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
	"testing"
	"time"

	"github.com/srutest/srutest/report"
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
// dir names private to this test process.
func hostScenario(t *testing.T, name string) *keepaliveScenario {
	t.Helper()
	s, ok := Lookup(name)
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	k := s.(*keepaliveScenario)
	id := os.Getpid()
	k.topo.Cli = fmt.Sprintf("srutest-cli-%d", id)
	k.topo.Srv = fmt.Sprintf("srutest-srv-%d", id)
	k.work = fmt.Sprintf("/tmp/srutest-test-%d", id)
	t.Cleanup(func() {
		exec.Command("sh", "-c", k.topo.teardownScript()+"rm -rf "+k.work).Run()
	})
	return k
}

// TestHostScenarios runs every keepalive scenario end to end on this
// host's kernel (one shared "guest", as the runner shares one per
// kernel). The host kernel carries the fix, so every cell must PASS.
// SRUTEST_TEST_ARTIFACTS=DIR keeps each cell's artifacts in DIR/<scenario>.
// With SRUTEST_UPDATE_FIXTURES=1 the raw evidence is copied into
// testdata/captures/host-<release>/<scenario>/.
func TestHostScenarios(t *testing.T) {
	skipWithoutNetns(t)
	pair := buildPair(t)
	release := strings.TrimSpace(string(must(exec.Command("uname", "-r").Output())))
	var logBuf bytes.Buffer
	for _, name := range []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"} {
		t.Run(name, func(t *testing.T) {
			k := hostScenario(t, name)
			dir := t.TempDir()
			if keep := os.Getenv("SRUTEST_TEST_ARTIFACTS"); keep != "" {
				dir = filepath.Join(keep, name)
				os.RemoveAll(dir)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			t0 := time.Now()
			cell := k.Run(ctx, Env{Guest: localGuest{}, Pair: pair, Artifacts: dir, Log: &logBuf})
			wall := time.Since(t0)
			for _, sf := range cell.Subflows {
				t.Logf("%s %s %s→%s: %s timer=%v probes=%d interval=%.3fs", sf.Path, sf.Kind, sf.Local, sf.Remote, sf.Verdict, sf.TimerSeen, sf.Probes, sf.IntervalSec)
			}
			t.Logf("%s: %s in %s: %s", name, cell.Outcome, wall.Round(time.Millisecond), cell.Reason)
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
			var v report.Cell
			if err := json.Unmarshal(must(os.ReadFile(filepath.Join(dir, "verdict.json"))), &v); err != nil || v.Outcome != cell.Outcome {
				t.Errorf("verdict.json: %v, outcome %q want %q", err, v.Outcome, cell.Outcome)
			}
			if wall > 15*time.Second {
				t.Errorf("%s took %s, want < 15s", name, wall)
			}
			// The netns must be gone so the next scenario can reuse the host.
			if out, _ := exec.Command(ipBin, "netns", "list").Output(); bytes.Contains(out, []byte(k.topo.Cli)) {
				t.Errorf("netns %s left behind", k.topo.Cli)
			}
			if os.Getenv("SRUTEST_UPDATE_FIXTURES") != "" {
				updateFixtures(t, dir, filepath.Join("testdata", "captures", "host-"+release, name))
			}
		})
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
