package vm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// fakeEnv holds a fake QEMU and the keys its SSH server uses.
type fakeEnv struct {
	t                          *testing.T
	dir, qemu                  string
	hostKeyFile, hostKeyPub    string
	clientKeyFile, authKeyFile string
	kernel                     string
}

func newFake(t *testing.T) *fakeEnv {
	t.Helper()
	dir := t.TempDir()
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEnv{t: t, dir: dir, qemu: filepath.Join(dir, fakeQEMUName)}
	// Under -race the fake would sleep 1s at exit (atexit_sleep_ms) and
	// distort the shutdown timings measured here.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	if err := os.Symlink(self, f.qemu); err != nil {
		t.Fatal(err)
	}
	var hostPub, clientPub ssh.PublicKey
	f.hostKeyFile, hostPub = writeKey(t, dir, "host")
	f.clientKeyFile, clientPub = writeKey(t, dir, "client")
	f.hostKeyPub = string(ssh.MarshalAuthorizedKey(hostPub))
	f.authKeyFile = filepath.Join(dir, "authorized_keys")
	os.WriteFile(f.authKeyFile, ssh.MarshalAuthorizedKey(clientPub), 0o600)
	f.kernel = filepath.Join(dir, "vmlinuz")
	os.WriteFile(f.kernel, []byte("not a kernel"), 0o644)
	return f
}

func writeKey(t *testing.T, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	return path, signer.PublicKey()
}

// config returns a Config for the fake in mode; vmDir (Config.Dir) is a
// fresh directory the test can check for leftovers; pidfile gets the fake's
// pid.
func (f *fakeEnv) config(mode string, extra ...string) (cfg Config, vmDir, pidfile string) {
	vmDir = f.t.TempDir()
	pidfile = filepath.Join(f.t.TempDir(), "pid")
	cfg = Config{
		QEMU: f.qemu, Kernel: f.kernel, Initrd: f.kernel, KVM: "off",
		HostKey: f.hostKeyPub, ClientKey: f.clientKeyFile,
		BootTimeout: 10 * time.Second, Dir: vmDir, Log: testLog{f.t},
		ExtraArgs: append([]string{"-fake-mode", mode, "-fake-pidfile", pidfile,
			"-fake-hostkey", f.hostKeyFile, "-fake-authkeys", f.authKeyFile}, extra...),
	}
	return cfg, vmDir, pidfile
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// assertGone checks that the fake's process is gone (reaped, not a zombie)
// and that nothing is left in the machine's parent dir.
func assertGone(t *testing.T, vmDir, pidfile string) {
	t.Helper()
	if b, err := os.ReadFile(pidfile); err == nil {
		pid, _ := strconv.Atoi(string(b))
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("fake qemu pid %d still exists (kill 0: %v)", pid, err)
		}
	}
	ents, err := os.ReadDir(vmDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in Config.Dir: %s", e.Name())
	}
}

func startFake(t *testing.T, f *fakeEnv, mode string, extra ...string) (*Machine, string, string) {
	t.Helper()
	cfg, vmDir, pidfile := f.config(mode, extra...)
	m, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("qemu: %s", strings.Join(m.CmdLine(), " "))
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertGone(t, vmDir, pidfile)
	})
	return m, vmDir, pidfile
}

func TestStartBootDeadline(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("hang")
	cfg.BootTimeout = 1500 * time.Millisecond
	t0 := time.Now()
	_, err := Start(context.Background(), cfg)
	took := time.Since(t0)
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("want *BootError, got %T %v", err, err)
	}
	if !strings.Contains(be.Title, "boot deadline") || !strings.Contains(be.Output, "Linux version 6.1.0-fake") {
		t.Errorf("title %q output %q", be.Title, be.Output)
	}
	if took < cfg.BootTimeout || took > cfg.BootTimeout+3*time.Second {
		t.Errorf("Start took %s with BootTimeout %s", took, cfg.BootTimeout)
	}
	assertGone(t, vmDir, pidfile)
}

func TestStartPanicEndsBootAtOnce(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("panic")
	cfg.BootTimeout = 30 * time.Second
	t0 := time.Now()
	_, err := Start(context.Background(), cfg)
	took := time.Since(t0)
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("want *BootError, got %T %v", err, err)
	}
	want := "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"
	if be.Title != want || !strings.Contains(be.Output, want) {
		t.Errorf("title %q, output:\n%s", be.Title, be.Output)
	}
	// The fake hangs after the panic line: only the console watcher ends it.
	if took > 3*time.Second {
		t.Errorf("Start took %s to notice a panic", took)
	}
	t.Logf("panic noticed after %s", took)
	assertGone(t, vmDir, pidfile)
}

func TestStartCancel(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("hang")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	t0 := time.Now()
	_, err := Start(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("Start returned %s after start (cancel at 300ms)", took)
	}
	assertGone(t, vmDir, pidfile)
}

func TestStartQEMUExits(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("exit1")
	_, err := Start(context.Background(), cfg)
	var be *BootError
	if !errors.As(err, &be) || !strings.Contains(be.Title, "could not load kernel") || !strings.Contains(be.Title, "exit status 1") {
		t.Fatalf("want BootError quoting QEMU's stderr, got %v", err)
	}
	assertGone(t, vmDir, pidfile)
}

// A guest whose agent gave up names the agent's reason in the headline,
// not just "qemu exited".
func TestStartAgentErrorIsTheTitle(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("agent-error")
	_, err := Start(context.Background(), cfg)
	var be *BootError
	if !errors.As(err, &be) || be.Title != "guest agent failed: network: eth0: no network interface within 10s" {
		t.Fatalf("want BootError with the agent's reason, got %v", err)
	}
	if !strings.Contains(be.Output, "reboot: Power down") {
		t.Errorf("console not quoted: %q", be.Output)
	}
	assertGone(t, vmDir, pidfile)
}

func TestStartNoQMP(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("noqmp")
	cfg.BootTimeout = time.Second
	_, err := Start(context.Background(), cfg)
	var be *BootError
	if !errors.As(err, &be) || !strings.Contains(be.Title, "waiting for QMP") {
		t.Fatalf("want BootError waiting for QMP, got %v", err)
	}
	assertGone(t, vmDir, pidfile)
}

func TestStartMissingQEMU(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, _ := f.config("hang")
	cfg.QEMU = filepath.Join(f.dir, "no-such-qemu")
	_, err := Start(context.Background(), cfg)
	var ie *InfraError
	if !errors.As(err, &ie) || ie.Op != "start qemu" {
		t.Fatalf("want InfraError start qemu, got %v", err)
	}
	assertGone(t, vmDir, filepath.Join(f.dir, "none"))
}

func TestStartBadConfig(t *testing.T) {
	f := newFake(t)
	for name, mutate := range map[string]func(*Config){
		"no kernel":       func(c *Config) { c.Kernel = "" },
		"missing initrd":  func(c *Config) { c.Initrd = filepath.Join(f.dir, "nope") },
		"no host key":     func(c *Config) { c.HostKey = "" },
		"garbage hostkey": func(c *Config) { c.HostKey = "ssh-ed25519 !!!" },
		"bad KVM":         func(c *Config) { c.KVM = "maybe" },
		"client key not a key": func(c *Config) {
			c.ClientKey = f.kernel
		},
	} {
		cfg, vmDir, _ := f.config("hang")
		mutate(&cfg)
		_, err := Start(context.Background(), cfg)
		var ie *InfraError
		if !errors.As(err, &ie) {
			t.Errorf("%s: want InfraError, got %v", name, err)
		}
		assertGone(t, vmDir, filepath.Join(f.dir, "none"))
	}
}

func TestHostKeyMismatch(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("ssh")
	_, other := writeKey(t, t.TempDir(), "other")
	cfg.HostKey = string(ssh.MarshalAuthorizedKey(other))
	t0 := time.Now()
	_, err := Start(context.Background(), cfg)
	var ie *InfraError
	if !errors.Is(err, ErrHostKeyMismatch) || !errors.As(err, &ie) {
		t.Fatalf("want InfraError wrapping ErrHostKeyMismatch, got %v", err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("mismatch took %s to report", took)
	}
	assertGone(t, vmDir, pidfile)
}

func TestAuthRefused(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("ssh")
	cfg.ClientKey, _ = writeKey(t, t.TempDir(), "stranger")
	t0 := time.Now()
	_, err := Start(context.Background(), cfg)
	var ie *InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("want InfraError for refused auth, got %v", err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("refusal took %s to report (retried as if not ready?)", took)
	}
	assertGone(t, vmDir, pidfile)
}

func TestMachineOverFakeSSH(t *testing.T) {
	f := newFake(t)
	// The fake drops connections for 700ms like slirp before the guest
	// listens, and sends a QMP event before the capabilities reply.
	m, _, _ := startFake(t, f, "ssh", "-fake-ready-after", "700ms", "-fake-event-first")
	ctx := context.Background()
	if m.Accel() != "tcg" {
		t.Errorf("Accel = %s with KVM off", m.Accel())
	}
	if d := m.Timings()["boot_to_ssh"]; d < 700*time.Millisecond || d > 3*time.Second {
		t.Errorf("boot_to_ssh %s with the guest ready at 700ms", d)
	} else {
		t.Logf("boot_to_ssh %s (guest ready at 700ms)", d)
	}

	st, err := m.qmp.status(ctx)
	if err != nil || st != "running" {
		t.Errorf("QMP status after a shifted reply stream: %q, %v", st, err)
	}
	if st, err := m.qmp.status(ctx); err != nil || st != "running" {
		t.Errorf("second QMP status: %q, %v", st, err)
	}

	res, err := m.Exec(ctx, "echo out; echo err >&2; exit 3")
	if err != nil || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("Exec = %q %q %d %v", res.Stdout, res.Stderr, res.ExitCode, err)
	}
	var out bytes.Buffer
	code, err := m.ExecStream(ctx, "tr a-z A-Z", strings.NewReader("stdin works"), &out, nil)
	if err != nil || code != 0 || out.String() != "STDIN WORKS" {
		t.Errorf("ExecStream = %q %d %v", out.String(), code, err)
	}
	res, err = m.Exec(ctx, "kill -TERM $$")
	if err != nil || res.ExitCode != 128+15 {
		t.Errorf("signalled command: code %d err %v", res.ExitCode, err)
	}

	// ctx expiry: error, and the remote process is killed.
	pidf := filepath.Join(t.TempDir(), "sleeper")
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	t0 := time.Now()
	_, err = m.Exec(tctx, "echo $$ > "+pidf+"; exec sleep 30")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec past its deadline: %v", err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("Exec took %s to give up on a 300ms context", took)
	}
	if b, err := os.ReadFile(pidf); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		deadline := time.Now().Add(2 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("remote sleeper %d survived the cancelled Exec", pid)
		}
	} else {
		t.Errorf("remote command did not start: %v", err)
	}

	// Push and Pull keep the mode and the bytes.
	dir := t.TempDir()
	payload := make([]byte, 1<<20+17)
	rand.Read(payload)
	src, remote, back := filepath.Join(dir, "src"), filepath.Join(dir, "remote"), filepath.Join(dir, "back")
	os.WriteFile(src, payload, 0o600)
	os.Chmod(src, 0o751)
	if err := m.Push(ctx, src, remote); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if st, err := os.Stat(remote); err != nil || st.Mode().Perm() != 0o751 {
		t.Errorf("pushed file: %v %v", st.Mode(), err)
	}
	os.Chmod(remote, 0o640)
	if err := m.Pull(ctx, remote, back); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	got, _ := os.ReadFile(back)
	if st, _ := os.Stat(back); !bytes.Equal(got, payload) || st.Mode().Perm() != 0o640 {
		t.Errorf("pulled %d bytes mode %v, pushed %d", len(got), st.Mode(), len(payload))
	}
	if err := m.Pull(ctx, filepath.Join(dir, "missing"), filepath.Join(dir, "x")); err == nil {
		t.Error("Pull of a missing file succeeded")
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(ents) != 0 {
		t.Errorf("Pull left temp files: %v", ents)
	}
	// PullFiles: several files through one session, a missing one is
	// that file's error only.
	many := filepath.Join(dir, "many")
	os.Mkdir(many, 0o755)
	errs, err := m.PullFiles(ctx, []string{remote, filepath.Join(dir, "missing"), src}, many)
	if err != nil || len(errs) != 3 || errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("PullFiles: %v %v", errs, err)
	}
	if got, _ := os.ReadFile(filepath.Join(many, "remote")); !bytes.Equal(got, payload) {
		t.Errorf("PullFiles copied %d bytes, want %d", len(got), len(payload))
	}
	if _, err := os.Stat(filepath.Join(many, "src")); err != nil {
		t.Errorf("PullFiles: the file after a missing one: %v", err)
	}
	if _, err := os.Stat(tarBusybox); err != nil {
		t.Errorf("PullFiles above did not take the tar way: %v", err)
	}
	// A guest without busybox (exit 127), or whose tar writes nothing: the
	// same through SFTP.
	defer func() { tarBusybox = "/bin/busybox" }()
	for i, bb := range []string{"/nonexistent/busybox", "/bin/false"} {
		tarBusybox = bb
		sftpDir := filepath.Join(dir, fmt.Sprintf("sftp%d", i))
		os.Mkdir(sftpDir, 0o755)
		errs, err = m.PullFiles(ctx, []string{remote, filepath.Join(dir, "missing"), src}, sftpDir)
		if err != nil || len(errs) != 3 || errs[0] != nil || errs[1] == nil || errs[2] != nil {
			t.Fatalf("PullFiles over SFTP (%s): %v %v", bb, errs, err)
		}
		if got, _ := os.ReadFile(filepath.Join(sftpDir, "remote")); !bytes.Equal(got, payload) {
			t.Errorf("PullFiles over SFTP (%s) copied %d bytes, want %d", bb, len(got), len(payload))
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "*", ".*part*")); len(ents) != 0 {
		t.Errorf("PullFiles left temp files: %v", ents)
	}

	if m.Crashed() != nil {
		t.Errorf("Crashed = %v on a healthy guest", m.Crashed())
	}
	if !strings.Contains(m.ConsoleTail(5), "SRUTEST-READY") {
		t.Errorf("console tail: %q", m.ConsoleTail(5))
	}
	console := m.Console()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(console); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("console %s survived Close", console)
	}
	if d := m.Timings()["close"]; d > time.Second {
		t.Errorf("graceful close took %s", d)
	}
	if _, err := m.Exec(ctx, "true"); err == nil {
		t.Error("Exec after Close succeeded")
	}
}

func TestCrashDuringExec(t *testing.T) {
	f := newFake(t)
	m, _, _ := startFake(t, f, "ssh")
	t0 := time.Now()
	_, err := m.Exec(context.Background(), "fake-crash")
	var ce *CrashError
	if !errors.As(err, &ce) || ce.Title != "BUG: kernel NULL pointer dereference, address: 0000000000000008" {
		t.Fatalf("want CrashError, got %v", err)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("crash noticed after %s", took)
	}
	select {
	case <-m.CrashCh():
	default:
		t.Error("CrashCh not closed")
	}
	if !errors.As(m.Crashed(), &ce) || !strings.Contains(ce.Output, "Oops: 0000") {
		t.Errorf("Crashed() = %v", m.Crashed())
	}
}

// A crash the command causes can be on the console before the host starts
// waiting for the command; it must still end the command at once (seen as
// a 60 s hang under load before the crash watch was taken at the start).
func TestCrashBeforeWaitStarts(t *testing.T) {
	f := newFake(t)
	m, _, _ := startFake(t, f, "ssh")
	t0 := time.Now()
	_, err := m.Exec(context.Background(), "fake-crash-early")
	var ce *CrashError
	if !errors.As(err, &ce) {
		t.Fatalf("want CrashError, got %v", err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("crash noticed after %s", took)
	}
}

func TestTwoMachinesAtOnce(t *testing.T) {
	f := newFake(t)
	var wg sync.WaitGroup
	ms := make([]*Machine, 2)
	for i := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg, _, _ := f.config("ssh", "-fake-ready-after", "200ms")
			m, err := Start(context.Background(), cfg)
			if err != nil {
				t.Errorf("machine %d: %v", i, err)
				return
			}
			ms[i] = m
		}()
	}
	wg.Wait()
	for i, m := range ms {
		if m == nil {
			continue
		}
		defer m.Close()
		res, err := m.Exec(context.Background(), "echo "+strconv.Itoa(i))
		if err != nil || strings.TrimSpace(string(res.Stdout)) != strconv.Itoa(i) {
			t.Errorf("machine %d exec: %q %v", i, res.Stdout, err)
		}
	}
	if ms[0] != nil && ms[1] != nil && ms[0].port == ms[1].port {
		t.Errorf("both machines forward port %d", ms[0].port)
	}
}

func TestHostForwardPortRace(t *testing.T) {
	f := newFake(t)
	state := filepath.Join(t.TempDir(), "busy")
	m, _, _ := startFake(t, f, "ssh", "-fake-busy", state, "2")
	if b, _ := os.ReadFile(state); string(b) != "3" {
		t.Errorf("fake ran %s times, want 3 (two lost races, one boot)", b)
	}
	if _, err := m.Exec(context.Background(), "true"); err != nil {
		t.Error(err)
	}

	cfg, vmDir, pidfile := f.config("ssh", "-fake-busy", filepath.Join(t.TempDir(), "busy"), "100")
	_, err := Start(context.Background(), cfg)
	var ie *InfraError
	if !errors.As(err, &ie) || ie.Op != "host forward" {
		t.Errorf("want InfraError host forward after %d races, got %v", maxPortAttempts, err)
	}
	assertGone(t, vmDir, pidfile)
}

func TestCloseEscalates(t *testing.T) {
	f := newFake(t)
	// Poweroff ignored: QMP quit ends it.
	m, _, _ := startFake(t, f, "ssh", "-fake-ignore-poweroff")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := m.Timings()["close"]; d < poweroffWait || d > poweroffWait+time.Second {
		t.Errorf("close via QMP quit took %s", d)
	}
	// Poweroff and quit ignored: SIGKILL ends it.
	m, _, _ = startFake(t, f, "ssh", "-fake-ignore-poweroff", "-fake-ignore-quit")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := m.Timings()["close"]; d < poweroffWait+quitWait || d > poweroffWait+quitWait+time.Second {
		t.Errorf("close via SIGKILL took %s", d)
	}
}

func TestShellOverPipe(t *testing.T) {
	f := newFake(t)
	m, _, _ := startFake(t, f, "ssh")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.WriteString("echo shell-$((6*7)) $TERM\nexit 7\n")
		// keep w open: the shell must end by itself
		time.Sleep(5 * time.Second)
		w.Close()
	}()
	t.Setenv("TERM", "xterm-test")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := m.Shell(ctx, r, &out, &out)
	if err != nil || code != 7 || !strings.Contains(out.String(), "shell-42 xterm-test") {
		t.Errorf("Shell = %d, %v, output %q", code, err, out.String())
	}
}

func TestBootToMarker(t *testing.T) {
	f := newFake(t)
	cfg, vmDir, pidfile := f.config("ssh", "-fake-ready-after", "300ms")
	cfg.HostKey, cfg.ClientKey = "", ""
	d, err := BootToMarker(context.Background(), cfg, "SRUTEST-READY")
	if err != nil || d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("BootToMarker = %s, %v (marker at 300ms)", d, err)
	}
	assertGone(t, vmDir, pidfile)

	cfg, vmDir, pidfile = f.config("panic")
	_, err = BootToMarker(context.Background(), cfg, "SRUTEST-READY")
	var be *BootError
	if !errors.As(err, &be) || !strings.HasPrefix(be.Title, "Kernel panic") {
		t.Errorf("BootToMarker on a panicking guest: %v", err)
	}
	assertGone(t, vmDir, pidfile)
}

// processExists reports whether pid exists and is not a zombie.
func processExists(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
