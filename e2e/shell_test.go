package e2e

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// term is the host side of a pseudo-terminal with everything read from it
// kept, so a test can wait for output the way a user watches a screen.
type term struct {
	t    *testing.T
	f    *os.File
	mu   sync.Mutex
	buf  []byte
	done chan struct{} // closed when the master reads EOF/EIO
}

func newTerm(t *testing.T, f *os.File) *term {
	tm := &term{t: t, f: f, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			tm.mu.Lock()
			tm.buf = append(tm.buf, b[:n]...)
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return tm
}

func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return string(tm.buf)
}

// mark is the current end of the output: waitFor(mark, …) only looks at
// what came after it.
func (tm *term) mark() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return len(tm.buf)
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.f.WriteString(s); err != nil {
		tm.t.Fatalf("write to pty: %v", err)
	}
}

// waitFor waits until the output after from matches re and returns the
// time it took.
func (tm *term) waitFor(from int, re string, limit time.Duration) time.Duration {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	start := time.Now()
	for time.Since(start) < limit {
		tm.mu.Lock()
		ok := rx.Match(tm.buf[from:])
		tm.mu.Unlock()
		if ok {
			return time.Since(start)
		}
		select {
		case <-tm.done:
			if rx.MatchString(tm.text()[from:]) {
				return time.Since(start)
			}
			tm.t.Fatalf("terminal closed before %q appeared; screen:\n%s", re, tm.text())
		case <-time.After(20 * time.Millisecond):
		}
	}
	tm.t.Fatalf("%q did not appear within %v; screen:\n%s", re, limit, tm.text())
	return 0
}

// TestE2EShellPty runs `srutest shell` on a pseudo-terminal as a user would:
// the guest pty has the terminal's size and follows its changes, Ctrl-C
// interrupts the guest's foreground command and neither the guest shell nor
// srutest, and the shell's exit code becomes srutest's.
func TestE2EShellPty(t *testing.T) {
	skipUnlessE2E(t)
	cmd := srutest(t, "shell", "--kernel", defaultKernel(t).Spec)
	tmp := t.TempDir()
	cmd.Env = append(cmd.Env, "TERM=dumb", "TMPDIR="+tmp)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-waited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
		}
	}()
	tm := newTerm(t, f)

	// Progress goes to the same terminal; the shell is ours once the
	// timing line is out and a command round-trips ($((…)) so that the
	// echo of the typed line does not match).
	tm.waitFor(0, `boot-to-ssh`, 5*time.Minute)
	m := tm.mark()
	tm.send("echo READY-$((20+1))\r")
	tm.waitFor(m, `READY-21`, time.Minute)

	m = tm.mark()
	tm.send("stty size; tty\r")
	tm.waitFor(m, `33 101\s+/dev/pts/\d+`, 30*time.Second)

	// SIGWINCH on the host terminal reaches the guest pty.
	if err := pty.Setsize(f, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m = tm.mark()
		tm.send("stty size\r")
		tm.waitFor(m, `\d+ \d+`, 30*time.Second)
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(tm.text()[m:], "40 120") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window change 40x120 never reached the guest; screen:\n%s", tm.text())
		}
	}

	// Ctrl-C: the guest's sleep dies of SIGINT (status 130), the shell
	// and srutest live on.
	m = tm.mark()
	// The subshell is the foreground job once it prints, then becomes sleep.
	tm.send("(echo SLEEPING-$((1+2)); exec sleep 30)\r")
	tm.waitFor(m, `SLEEPING-3`, 30*time.Second)
	m = tm.mark()
	sent := time.Now()
	tm.send("\x03")
	tm.send("echo STATUS-$?-ALIVE-$((6*7))\r")
	tm.waitFor(m, `STATUS-130-ALIVE-42`, 20*time.Second)
	if d := time.Since(sent); d > 15*time.Second {
		t.Errorf("the shell came back %v after Ctrl-C: the sleep was not interrupted", d)
	}
	select {
	case err := <-waited:
		exited = true
		t.Fatalf("srutest exited after Ctrl-C: %v; screen:\n%s", err, tm.text())
	default:
	}

	// Ctrl-C at the prompt is harmless too.
	m = tm.mark()
	tm.send("\x03")
	tm.send("echo AGAIN-$((2*2))\r")
	tm.waitFor(m, `AGAIN-4`, 20*time.Second)

	tm.send("exit 3\r")
	select {
	case err = <-waited:
		exited = true
	case <-time.After(60 * time.Second):
		t.Fatalf("srutest did not exit after the guest shell did; screen:\n%s", tm.text())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("srutest shell: want exit status 3, got %v; screen:\n%s", err, tm.text())
	}
	if n := qemuUsing(tmp); n > 0 {
		t.Errorf("%d QEMU process(es) left after the shell exited", n)
	}
	if strings.Contains(tm.text(), "panic:") {
		t.Errorf("panic on the terminal:\n%s", tm.text())
	}
	t.Logf("screen:\n%s", tm.text())
}
