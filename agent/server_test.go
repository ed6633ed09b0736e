package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// testReaper makes the test binary behave like PID 1: it is a child
// subreaper, so orphans of the commands the tests run are reparented to it,
// and every test's commands are started through the reaper. Exit statuses
// coming out right in all tests shows the reaper does not steal them.
var testReaper *Reaper

func TestMain(m *testing.M) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(2)
	}
	testReaper = NewReaper()
	ctx, cancel := context.WithCancel(context.Background())
	go testReaper.Run(ctx)
	code := m.Run()
	cancel()
	os.Exit(code)
}

type testServer struct {
	addr    string
	hostPub ssh.PublicKey
	client  ssh.Signer
	cfg     *Config
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer runs Serve on 127.0.0.1:0 until the test ends; edit may
// change the config first.
func startServer(t *testing.T, edit func(*Config)) *testServer {
	t.Helper()
	host, client := newSigner(t), newSigner(t)
	cfg := Config{
		HostKey:        host,
		AuthorizedKeys: []ssh.PublicKey{client.PublicKey()},
		Shell:          "/bin/sh",
		Dir:            t.TempDir(),
		Reaper:         testReaper,
	}
	if edit != nil {
		edit(&cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Serve returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return 10s after cancel")
		}
	})
	return &testServer{addr: l.Addr().String(), hostPub: host.PublicKey(), client: client, cfg: &cfg}
}

func (s *testServer) dial(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.client)},
		HostKeyCallback: ssh.FixedHostKey(s.hostPub),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run execs cmd and returns stdout, stderr and Wait's error, failing the
// test if it takes longer than limit.
func run(t *testing.T, c *ssh.Client, cmd string, stdin io.Reader, limit time.Duration) (string, string, error) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, stdin
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-time.After(limit):
		t.Fatalf("%q still running after %v", cmd, limit)
	}
	return out.String(), errb.String(), err
}

func exitOf(t *testing.T, err error) (code int, signal string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var ee *ssh.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("not an exit error: %v", err)
	}
	return ee.ExitStatus(), ee.Signal()
}

func TestExecStreamsAndExit(t *testing.T) {
	c := startServer(t, nil).dial(t)
	for _, tc := range []struct {
		name, cmd          string
		stdout, stderr     string
		code               int
		signal             string
		stderrContainsOnly bool
	}{
		{"ok", "echo out; echo err >&2", "out\n", "err\n", 0, "", false},
		{"exit 3", "printf a; printf b >&2; exit 3", "a", "b", 3, "", false},
		{"exit 255", "exit 255", "", "", 255, "", false},
		// x/crypto/ssh reports 128+signal as the status of an exit-signal.
		{"killed", "echo before; kill -KILL $$", "before\n", "", 128 + 9, "KILL", false},
		{"terminated", "kill -TERM $$", "", "", 128 + 15, "TERM", false},
		{"not found", "/nonexistent/cmd", "", "not found", 127, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, err := run(t, c, tc.cmd, nil, 10*time.Second)
			code, sig := exitOf(t, err)
			if code != tc.code || sig != tc.signal {
				t.Errorf("exit = %d signal %q, want %d %q", code, sig, tc.code, tc.signal)
			}
			if out != tc.stdout {
				t.Errorf("stdout = %q, want %q", out, tc.stdout)
			}
			if tc.stderrContainsOnly {
				if !strings.Contains(errs, tc.stderr) {
					t.Errorf("stderr = %q, want it to contain %q", errs, tc.stderr)
				}
			} else if errs != tc.stderr {
				t.Errorf("stderr = %q, want %q", errs, tc.stderr)
			}
		})
	}
}

func TestExecEnvAndDir(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Env = []string{"PATH=/usr/bin:/bin", "BASE=1"} })
	c := s.dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Setenv("FOO", "bar baz"); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output(`echo "$FOO|$BASE|$(pwd)"`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "bar baz|1|" + s.cfg.Dir + "\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// pattern is deterministic content that shows reordering, loss or
// duplication in a byte-exact comparison.
func pattern(tag byte, n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		b = append(b, fmt.Sprintf("%c%09d\n", tag, i)...)
	}
	return b[:n]
}

func TestExecLargeOutputIntact(t *testing.T) {
	c := startServer(t, nil).dial(t)
	dir := t.TempDir()
	const outN, errN = 10 << 20, 3 << 20
	os.WriteFile(filepath.Join(dir, "o"), pattern('o', outN), 0o644)
	os.WriteFile(filepath.Join(dir, "e"), pattern('e', errN), 0o644)
	// Both streams at once, then the exit status: nothing may be lost or
	// arrive after the exit.
	out, errs, err := run(t, c, fmt.Sprintf("cat %s/e >&2 & cat %s/o; wait; exit 5", dir, dir), nil, 60*time.Second)
	if code, _ := exitOf(t, err); code != 5 {
		t.Errorf("exit = %d, want 5", code)
	}
	if sha256.Sum256([]byte(out)) != sha256.Sum256(pattern('o', outN)) {
		t.Errorf("stdout differs: %d bytes, want %d", len(out), outN)
	}
	if sha256.Sum256([]byte(errs)) != sha256.Sum256(pattern('e', errN)) {
		t.Errorf("stderr differs: %d bytes, want %d", len(errs), errN)
	}
}

func TestExecStdin(t *testing.T) {
	c := startServer(t, nil).dial(t)
	in := pattern('i', 1<<20)
	out, errs, err := run(t, c, "sha256sum; echo done >&2", bytes.NewReader(in), 20*time.Second)
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, errs)
	}
	want := fmt.Sprintf("%x", sha256.Sum256(in))
	if !strings.HasPrefix(out, want) || errs != "done\n" {
		t.Errorf("stdout %q stderr %q, want hash %s", out, errs, want)
	}
}

func TestSignalForwardedToProcessGroup(t *testing.T) {
	c := startServer(t, nil).dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	stdout, _ := sess.StdoutPipe()
	// The trap proves the shell got SIGINT; the loop's sleep (same group)
	// gets it too, so the trap runs at once.
	if err := sess.Start(`trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 1; done`); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if l, err := r.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("read %q, %v", l, err)
	}
	if err := sess.Signal(ssh.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	err = waitWithin(t, sess, 10*time.Second)
	if code, _ := exitOf(t, err); code != 42 || string(rest) != "got-int\n" {
		t.Errorf("exit %d, output %q; want 42, got-int", code, rest)
	}
}

func TestSignalKills(t *testing.T) {
	c := startServer(t, nil).dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	stdout, _ := sess.StdoutPipe()
	if err := sess.Start("echo ready; exec sleep 60"); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(stdout).ReadString('\n')
	if err := sess.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, sig := exitOf(t, waitWithin(t, sess, 10*time.Second)); sig != "TERM" {
		t.Errorf("signal = %q, want TERM", sig)
	}
}

func waitWithin(t *testing.T, sess *ssh.Session, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("session still running after %v", d)
		return nil
	}
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPIDs(t *testing.T, r *bufio.Reader, n int) []int {
	t.Helper()
	var pids []int
	for range n {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading pid: %v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func TestClientGoneKillsProcessGroup(t *testing.T) {
	for _, how := range []string{"close channel", "drop connection"} {
		t.Run(how, func(t *testing.T) {
			c := startServer(t, nil).dial(t)
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			stdout, _ := sess.StdoutPipe()
			if err := sess.Start(`sleep 60 & echo $!; echo $$; wait`); err != nil {
				t.Fatal(err)
			}
			pids := readPIDs(t, bufio.NewReader(stdout), 2)
			if how == "close channel" {
				sess.Close()
			} else {
				c.Close()
			}
			eventually(t, 10*time.Second, fmt.Sprintf("processes %v still alive", pids), func() bool {
				return !alive(pids[0]) && !alive(pids[1])
			})
		})
	}
}

func TestBackgroundJobOutlivesSession(t *testing.T) {
	c := startServer(t, nil).dial(t)
	// Redirected: the exec returns at once and the job keeps running.
	out, _, err := run(t, c, "sleep 60 </dev/null >/dev/null 2>&1 & echo $!", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(out))
	time.Sleep(300 * time.Millisecond) // the session is closed by now
	if !alive(pid) {
		t.Fatalf("background job %d died with its session", pid)
	}
	unix.Kill(pid, unix.SIGKILL)
	eventually(t, 5*time.Second, "killed background job not reaped", func() bool { return !alive(pid) })

	// Not redirected: the job holds stdout open, yet the exec ends soon
	// after the shell exits, with the output written before.
	t0 := time.Now()
	out, _, err = run(t, c, "sleep 30 & echo $!; echo bye", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("exec took %v with a background job holding stdout", d)
	}
	lines := strings.Fields(out)
	if len(lines) != 2 || lines[1] != "bye" {
		t.Fatalf("output %q", out)
	}
	pid, _ = strconv.Atoi(lines[0])
	unix.Kill(pid, unix.SIGKILL)
}

// TestReaperKeepsExitStatuses runs many commands at once that leave
// orphans behind (reparented to this subreaper): every exit status must
// come back, and every orphan must be reaped.
func TestReaperKeepsExitStatuses(t *testing.T) {
	c := startServer(t, nil).dial(t)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := i % 7
			sess, err := c.NewSession()
			if err != nil {
				t.Error(err)
				return
			}
			defer sess.Close()
			err = sess.Run(fmt.Sprintf("(sleep 0.0%d </dev/null >/dev/null 2>&1 &); sh -c 'exit %d' & wait $!", i%10, code))
			var got int
			var ee *ssh.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee):
				got = ee.ExitStatus()
			default:
				t.Errorf("run %d: %v", i, err)
				return
			}
			if got != code {
				bad.Add(1)
				t.Errorf("run %d: exit %d, want %d", i, got, code)
			}
		}()
	}
	wg.Wait()
	eventually(t, 10*time.Second, "zombie children left", func() bool { return len(zombieChildren(t)) == 0 })
}

func zombieChildren(t *testing.T) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var z []int
	for _, e := range ents {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if st, err := ParseProcStat(data); err == nil && st.State == 'Z' && st.PPid == os.Getpid() {
			z = append(z, st.Pid)
		}
	}
	return z
}

func TestModulesReadyHoldsCommands(t *testing.T) {
	ready := make(chan struct{})
	c := startServer(t, func(c *Config) { c.ModulesReady = ready }).dial(t)

	// A session closed while waiting ends cleanly.
	early, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := early.Start("touch should-not-run"); err != nil {
		t.Fatal(err)
	}
	early.Close()

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdout = &out
	if err := sess.Start("echo ran"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("command ran before modules were ready: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(ready)
	select {
	case err := <-done:
		if err != nil || out.String() != "ran\n" {
			t.Errorf("%q, %v", out.String(), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("command did not run after modules were ready")
	}
}

func TestSFTPPutGet(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	data := pattern('s', 5<<20+17)
	remote := filepath.Join(t.TempDir(), "sub", "file.bin")
	if err := sc.MkdirAll(filepath.Dir(remote)); err != nil {
		t.Fatal(err)
	}
	f, err := sc.Create(remote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o755); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if onDisk, err := os.ReadFile(remote); err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("put: %d bytes on disk (%v), want %d", len(onDisk), err, len(data))
	}
	g, err := sc.Open(remote)
	if err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if _, err := g.WriteTo(&back); err != nil {
		t.Fatal(err)
	}
	g.Close()
	if !bytes.Equal(back.Bytes(), data) {
		t.Errorf("get: %d bytes, want %d", back.Len(), len(data))
	}
	st, err := sc.Stat(remote)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("stat: %v %v", st, err)
	}
	// Relative paths are relative to Config.Dir.
	rf, err := sc.Create("rel.txt")
	if err != nil {
		t.Fatal(err)
	}
	rf.Write([]byte("x"))
	rf.Close()
	if _, err := os.Stat(filepath.Join(s.cfg.Dir, "rel.txt")); err != nil {
		t.Errorf("relative sftp path: %v", err)
	}
}

// ptyReader collects a pty session's output so a test can wait for text.
type ptyReader struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func (p *ptyReader) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.buf.Write(b)
	p.mu.Unlock()
	select {
	case p.ch <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (p *ptyReader) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		ok := strings.Contains(p.buf.String(), s)
		out := p.buf.String()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.ch:
		case <-deadline:
			t.Fatalf("no %q in pty output %q", s, out)
		}
	}
}

func TestShellWithPTY(t *testing.T) {
	c := startServer(t, nil).dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm-test", 40, 100, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	out := &ptyReader{ch: make(chan struct{}, 1)}
	sess.Stdout = out
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	// Arithmetic in the commands so that the echoed input never matches.
	io.WriteString(stdin, "echo T=$TERM S=$(stty size) X=$((6*7)) tty=$(tty)\n")
	out.waitFor(t, "T=xterm-test S=40 100 X=42 tty=/dev/pts/")
	if err := sess.WindowChange(50, 120); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "echo S2=$(stty size)\n")
	out.waitFor(t, "S2=50 120")
	// Ctrl-C reaches the foreground job through the pty, not the shell.
	// The subshell is the foreground job once it prints; it then becomes
	// sleep (exec). Waiting for the line replaces a guessed sleep.
	io.WriteString(stdin, "(echo fg=$((2*4)); exec sleep 30)\n")
	out.waitFor(t, "fg=8")
	io.WriteString(stdin, "\x03")
	io.WriteString(stdin, "echo after=$((1+1))\n")
	out.waitFor(t, "after=2") // within waitFor's 10s: sleep 30 was interrupted
	// The same through an SSH "signal" request: it reaches the terminal's
	// foreground job.
	io.WriteString(stdin, "(echo fg=$((3*4)); exec sleep 30)\n")
	out.waitFor(t, "fg=12")
	if err := sess.Signal(ssh.SIGINT); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "echo sig=$((2+3))\n")
	out.waitFor(t, "sig=5")
	io.WriteString(stdin, "exit 7\n")
	if code, _ := exitOf(t, waitWithin(t, sess, 10*time.Second)); code != 7 {
		t.Errorf("shell exit = %d, want 7", code)
	}
}

func TestExecWithPTY(t *testing.T) {
	c := startServer(t, nil).dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("vt100", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("test -t 0 && test -t 1 && echo isatty; exit 4")
	if code, _ := exitOf(t, err); code != 4 || !strings.Contains(string(out), "isatty") {
		t.Errorf("exit %d output %q", code, out)
	}
}

func TestAuth(t *testing.T) {
	s := startServer(t, nil)
	t.Run("unauthorized key", func(t *testing.T) {
		_, err := ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
			User:            "root",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(newSigner(t))},
			HostKeyCallback: ssh.FixedHostKey(s.hostPub),
			Timeout:         10 * time.Second,
		})
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("dial with an unknown key: %v", err)
		}
	})
	t.Run("password refused", func(t *testing.T) {
		_, err := ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
			User:            "root",
			Auth:            []ssh.AuthMethod{ssh.Password("root")},
			HostKeyCallback: ssh.FixedHostKey(s.hostPub),
			Timeout:         10 * time.Second,
		})
		if err == nil {
			t.Error("password auth accepted")
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		other := newSigner(t).PublicKey()
		_, err := ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
			User:            "root",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.client)},
			HostKeyCallback: ssh.FixedHostKey(other),
			Timeout:         10 * time.Second,
		})
		if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
			t.Errorf("dial pinning another host key: %v", err)
		}
	})
}

func TestGlobalRequests(t *testing.T) {
	// The reply goes out before the handler runs (a guest that powers off
	// cannot answer afterwards), so the test waits for the handler itself
	// instead of reading a counter right after the reply.
	called := make(chan struct{}, 2)
	c := startServer(t, func(c *Config) { c.PowerOff = func() { called <- struct{}{} } }).dial(t)
	ok, _, err := c.SendRequest("unknown@example", true, nil)
	if err != nil || ok {
		t.Errorf("unknown request: ok=%v err=%v", ok, err)
	}
	ok, _, err = c.SendRequest(PowerOffRequest, true, nil)
	if err != nil || !ok {
		t.Errorf("poweroff: ok=%v err=%v", ok, err)
	}
	select {
	case <-called:
	case <-time.After(30 * time.Second):
		t.Fatal("poweroff accepted but the handler never ran")
	}
	if len(called) != 0 {
		t.Error("poweroff handler ran twice")
	}

	// Without a PowerOff handler the request is refused.
	c2 := startServer(t, nil).dial(t)
	if ok, _, err := c2.SendRequest(PowerOffRequest, true, nil); err != nil || ok {
		t.Errorf("poweroff without handler: ok=%v err=%v", ok, err)
	}
}

func TestOneCommandPerSession(t *testing.T) {
	c := startServer(t, nil).dial(t)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Start("sleep 1"); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("second command accepted on one session")
	}
	sub, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.RequestSubsystem("nonexistent"); err == nil {
		t.Error("unknown subsystem accepted")
	}
}

func TestServeNeedsKeys(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := Serve(context.Background(), l, Config{HostKey: newSigner(t)}); err == nil {
		t.Error("Serve without authorized keys succeeded")
	}
	if err := Serve(context.Background(), l, Config{AuthorizedKeys: []ssh.PublicKey{newSigner(t).PublicKey()}}); err == nil {
		t.Error("Serve without a host key succeeded")
	}
}
