package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

// The test binary doubles as a "srutest" parent: with helperEnv set it
// starts a child tree through Command, prints "ready" once the whole tree
// runs, and blocks until it is killed.
const helperEnv = "SRUTEST_PROC_TEST_PARENT"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		parent()
		return
	}
	os.Exit(m.Run())
}

// tree is a shell with two background grandchildren (a make with compilers,
// in miniature) that says "ready" when all of them run.
const tree = `sleep 600 & sleep 600 & echo ready; wait`

func parent() {
	cmd := Command(context.Background(), 5*time.Second, "sh", "-c", tree)
	out, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	fmt.Print(line)
	// Not select{}: the runtime would call that a deadlock and exit.
	time.Sleep(time.Hour)
}

func tag(t *testing.T) string {
	return fmt.Sprintf("SRUTEST_PROC_TEST_TAG=%s-%d", t.Name(), time.Now().UnixNano())
}

// TestChildTreeDiesWithSIGKILLedParent is the property the guard exists for:
// srutest SIGKILLed mid-build leaves no process of the build behind, not
// even grandchildren that Pdeathsig cannot reach.
func TestChildTreeDiesWithSIGKILLedParent(t *testing.T) {
	kv := tag(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := exec.Command(self)
	p.Env = append(os.Environ(), helperEnv+"=1", kv)
	out, err := p.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("parent said %q (%v), want ready", line, err)
	}
	// parent + guard shell (now sh -c tree) + 2 sleeps + the watcher.
	n := len(testutil.ProcsWithEnv(kv))
	t.Logf("tagged before kill: %d", n)
	if n < 4 {
		t.Fatalf("only %d tagged processes before the kill, want the parent and its tree", n)
	}
	if err := p.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait()
	testutil.WaitNoProcsWithEnv(t, kv, 10*time.Second)
}

// TestCancelStopsGroupGracefully: a cancelled context sends SIGTERM to the
// whole group first (the child's trap runs), and nothing survives Wait.
func TestCancelStopsGroupGracefully(t *testing.T) {
	kv := tag(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := Command(ctx, 10*time.Second, "sh", "-c", `trap 'echo term > `+dir+`/trapped; exit 3' TERM; sleep 600 & echo ready; wait`)
	cmd.Env = append(os.Environ(), kv)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("child said %q", line)
	}
	cancel()
	err = cmd.Wait()
	if _, serr := os.Stat(dir + "/trapped"); serr != nil {
		t.Errorf("child got no SIGTERM before the kill: %v (wait: %v)", serr, err)
	}
	testutil.WaitNoProcsWithEnv(t, kv, 10*time.Second)
}

// TestCancelKillsAfterGrace: a child ignoring SIGTERM is SIGKILLed after the
// grace period and Wait returns.
func TestCancelKillsAfterGrace(t *testing.T) {
	kv := tag(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := Command(ctx, 200*time.Millisecond, "sh", "-c", `trap '' TERM; sleep 600 & echo ready; wait`)
	cmd.Env = append(os.Environ(), kv)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(out).ReadString('\n')
	cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Wait did not return after the grace period")
	}
	testutil.WaitNoProcsWithEnv(t, kv, 10*time.Second)
}

// TestExitStatusAndOutput: the guard execs the command in place, so its exit
// status and output are the command's own; a missing command fails Start.
func TestExitStatusAndOutput(t *testing.T) {
	out, err := Command(context.Background(), time.Second, "sh", "-c", "echo out; echo err >&2; exit 7").Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("err = %v, want exit status 7", err)
	}
	if string(out) != "out\n" || string(ee.Stderr) != "err\n" {
		t.Errorf("stdout %q stderr %q", out, ee.Stderr)
	}
	if err := Command(context.Background(), time.Second, "srutest-no-such-command").Run(); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing command: err = %v, want exec.ErrNotFound", err)
	}
	// Normal exit: stragglers of the group are killed when Wait returns.
	kv := tag(t)
	c := Command(context.Background(), time.Second, "sh", "-c", "sleep 600 >/dev/null 2>&1 & exit 0")
	c.Env = append(os.Environ(), kv)
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitNoProcsWithEnv(t, kv, 10*time.Second)
}

// CombinedOutput must go through the guard like Run and Output: the
// embedded exec.Cmd's own started the child without the guard pipe and the
// guard killed it within milliseconds ("signal: killed"), which is how
// every host-side tcpdump -r of the demo came back empty.
func TestCombinedOutput(t *testing.T) {
	out, err := Command(context.Background(), time.Second, "sh", "-c", "echo out; sleep 0.3; echo err >&2; echo late").CombinedOutput()
	if err != nil {
		t.Fatalf("err = %v (output %q)", err, out)
	}
	if string(out) != "out\nerr\nlate\n" {
		t.Errorf("output %q", out)
	}
	out, err = Command(context.Background(), time.Second, "sh", "-c", "echo boom >&2; exit 3").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || string(out) != "boom\n" {
		t.Errorf("exit 3: err = %v, output %q", err, out)
	}
	c := Command(context.Background(), time.Second, "true")
	c.Stdout = io.Discard
	if _, err := c.CombinedOutput(); err == nil {
		t.Error("CombinedOutput with Stdout set: no error")
	}
}
