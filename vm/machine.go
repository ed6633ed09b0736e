package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Machine is one running QEMU guest reachable over SSH. Create it with
// [Start]; always [Machine.Close] it.
type Machine struct {
	cfg     Config
	accel   string
	dir     string
	argv    []string
	port    int
	qmpPath string
	started time.Time

	proc   *qemuProc
	con    *consoleWatcher
	qmp    *monitor    // nil until connected
	client *ssh.Client // nil until SSH is ready

	tmu     sync.Mutex
	timings map[string]time.Duration

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Result is the outcome of one guest command.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// maxPortAttempts bounds the retries when the forward port is taken
// between choosing it and QEMU binding it.
const maxPortAttempts = 5

// agentReady is the console line the guest agent prints once its SSH
// server listens and eth0 is up (agent.Ready; vm does not import agent).
// Start uses it only to dial at once (see dialSSH): the SSH handshake
// remains the readiness check.
const agentReady = "SRUTEST-READY"

// bootTail is how many console lines a BootError quotes.
const bootTail = 30

// Start boots cfg and returns once an authenticated SSH session to the guest
// works. ctx bounds the boot only: once Start has returned, cancelling ctx
// does not stop the machine (Close does). On every error path QEMU is
// killed and reaped and the temp dir removed before Start returns.
func Start(ctx context.Context, cfg Config) (*Machine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, infra("config", err)
	}
	auth, err := loadAuth(cfg)
	if err != nil {
		return nil, infra("ssh keys", err)
	}
	accel := DetectAccel(cfg.KVM)
	timeout := cfg.BootTimeout
	if timeout <= 0 {
		timeout = defaultBootTimeout * Scale(accel)
	}
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		m, err := startOnce(ctx, bctx, cfg, accel, timeout, auth)
		var taken *errPortTaken
		if !errors.As(err, &taken) {
			return m, err
		}
		if attempt == maxPortAttempts {
			return nil, infra("host forward", err)
		}
		logf(cfg.Log, "vm: %v; retrying with another port", err)
	}
}

// startOnce is one boot attempt; see Start.
func startOnce(ctx, bctx context.Context, cfg Config, accel string, timeout time.Duration, auth *sshAuth) (*Machine, error) {
	m, err := launch(cfg, accel, agentReady)
	if err != nil {
		return nil, err
	}
	closeM := m // disarmed on success
	defer func() {
		if closeM != nil {
			closeM.Close()
		}
	}()
	if err := m.waitReady(ctx, bctx, timeout, auth); err != nil {
		return nil, err
	}
	closeM = nil
	return m, nil
}

// launch creates the temp dir, starts QEMU and the console watcher.
func launch(cfg Config, accel, marker string) (*Machine, error) {
	if n := sweepStale(cfg.Dir); n > 0 {
		logf(cfg.Log, "vm: removed %d temp dirs of dead srutest processes in %s", n, cfg.Dir)
	}
	dir, err := os.MkdirTemp(cfg.Dir, tempPrefix)
	if err != nil {
		return nil, infra("temp dir", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, infra("temp dir", err)
	}
	m := &Machine{
		cfg: cfg, accel: accel, dir: dir,
		qmpPath: filepath.Join(dir, "qmp.sock"),
		timings: map[string]time.Duration{},
	}
	// sun_path is 108 bytes including the NUL.
	if len(m.qmpPath) > 107 {
		return nil, infra("qmp socket", fmt.Errorf("path %s is too long for a unix socket; use a shorter Config.Dir or TMPDIR", m.qmpPath))
	}
	if m.port, err = freePort(); err != nil {
		return nil, infra("host forward port", err)
	}
	consolePath := filepath.Join(dir, "console.log")
	stderrPath := filepath.Join(dir, "qemu.stderr")
	m.argv = append([]string{cfg.QEMU}, BuildArgs(cfg,
		Accel(accel), SerialFile{consolePath}, QMPSocket{m.qmpPath}, UserNet{HostPort: m.port, GuestPort: 22})...)
	stderr, err := os.Create(stderrPath)
	if err != nil {
		return nil, infra("qemu stderr", err)
	}
	defer stderr.Close() // QEMU has its own descriptor
	logf(cfg.Log, "vm: starting %s (accel %s, ssh on 127.0.0.1:%d)", cfg.QEMU, accel, m.port)
	m.started = time.Now()
	if m.proc, err = startQEMU(m.argv, stderr); err != nil {
		return nil, infra("start qemu", err)
	}
	m.con = newConsoleWatcher(consolePath, stderrPath, marker)
	go m.con.run()
	ok = true
	return m, nil
}

// waitReady connects QMP, then waits for SSH. A crash on the console or a
// QEMU exit ends the wait at once.
func (m *Machine) waitReady(ctx, bctx context.Context, timeout time.Duration, auth *sshAuth) error {
	wctx, wcancel := context.WithCancel(bctx)
	defer wcancel()
	go func() {
		select {
		case <-m.con.crashCh:
		case <-m.proc.exited:
		case <-wctx.Done():
		}
		wcancel()
	}()
	q, err := connectQMP(wctx, m.qmpPath, m.proc.exited, m.proc.kill)
	if err != nil {
		return m.bootFailure(ctx, bctx, timeout, "waiting for QMP", err)
	}
	m.qmp = q
	m.setTiming("qmp_ready", time.Since(m.started))
	client, err := dialSSH(wctx, "127.0.0.1:"+strconv.Itoa(m.port), auth, m.cfg.Log, m.con.markerCh)
	if err != nil {
		return m.bootFailure(ctx, bctx, timeout, "waiting for SSH", err)
	}
	m.client = client
	m.setTiming("boot_to_ssh", time.Since(m.started))
	if at, ok := m.con.markedAt(); ok {
		m.setTiming("agent_ready", at.Sub(m.started))
	}
	logf(m.cfg.Log, "vm: ssh ready after %s", time.Since(m.started).Round(time.Millisecond))
	return nil
}

// crashSettle is how long a boot that crashed gets to finish printing its
// report (with panic=-1 QEMU exits right after the panic line).
const crashSettle = 500 * time.Millisecond

// bootFailure turns a failed wait into the error a caller can act on.
func (m *Machine) bootFailure(ctx, bctx context.Context, timeout time.Duration, stage string, err error) error {
	var ie *InfraError
	if errors.As(err, &ie) {
		return err // e.g. host key mismatch, authentication refused
	}
	if m.con.crashed() {
		m.proc.waitExit(crashSettle)
		m.con.poll()
		return &BootError{Title: m.con.crash(), Output: m.bootOutput()}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("vm: boot %s: %w", stage, ctx.Err())
	}
	if m.proc.hasExited() {
		m.con.poll()
		stderr := m.con.stderrText()
		if title, ok := ParseCrash([]byte(m.con.tail(maxTailAll))); ok {
			return &BootError{Title: title, Output: m.bootOutput()}
		}
		if hostfwdConflict(stderr) {
			return &errPortTaken{stderr: firstLine(stderr)}
		}
		title := "qemu exited before SSH was ready (" + m.proc.exitStatus() + ")"
		if stderr != "" {
			title += ": " + firstLine(stderr)
		}
		// The guest agent says why it gave up (e.g. no eth0) before it
		// powers the guest off: that is the headline.
		if why := agentError(m.con.tail(maxTailAll)); why != "" {
			title = "guest agent failed: " + why
		}
		return &BootError{Title: crashTitle(title), Output: m.bootOutput()}
	}
	if bctx.Err() != nil {
		return &BootError{
			Title:  fmt.Sprintf("boot deadline (%s) passed %s", timeout, stage),
			Output: m.bootOutput(),
		}
	}
	return infra(stage, err)
}

// agentErrorPrefix starts the line the guest agent prints before it powers
// the guest off on a fatal error (agent.ErrorPrefix).
const agentErrorPrefix = "SRUTEST-AGENT-ERROR:"

// agentError returns the text of the last agent error line in console, "".
func agentError(console string) string {
	why := ""
	for _, l := range strings.Split(console, "\n") {
		if i := strings.Index(l, agentErrorPrefix); i >= 0 {
			why = strings.TrimSpace(l[i+len(agentErrorPrefix):])
		}
	}
	return why
}

// maxTailAll asks tail for everything kept in memory.
const maxTailAll = 1 << 30

// bootOutput is the crash report (or the console tail) plus QEMU's
// stderr, if any.
func (m *Machine) bootOutput() string {
	out := m.con.report(bootTail)
	if s := m.con.stderrText(); s != "" {
		out += "\n--- qemu stderr ---\n" + s
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Console returns the path of the serial console log. The file lives in the
// machine's temp dir and is removed by Close.
func (m *Machine) Console() string { return m.con.path }

// ConsoleTail returns the last n console lines (kept in memory, so it also
// works after Close).
func (m *Machine) ConsoleTail(n int) string {
	m.con.poll()
	return m.con.tail(n)
}

// Crashed returns a *CrashError once a kernel crash line was seen on the
// console (or QEMU died on its own), nil otherwise.
func (m *Machine) Crashed() error {
	m.con.poll()
	if m.con.crashed() {
		return &CrashError{Title: m.con.crash(), Output: m.bootOutput()}
	}
	if m.proc.hasExited() && !m.closing.Load() {
		return &CrashError{Title: "guest vanished: qemu " + m.proc.exitStatus(), Output: m.bootOutput()}
	}
	return nil
}

// CrashCh is closed when a crash is detected, so callers can abort at once.
func (m *Machine) CrashCh() <-chan struct{} { return m.con.crashCh }

// Exited is closed once QEMU has exited and been reaped.
func (m *Machine) Exited() <-chan struct{} { return m.proc.exited }

// CmdLine returns the QEMU argv, for reproduction.
func (m *Machine) CmdLine() []string { return append([]string(nil), m.argv...) }

// Accel returns the accelerator in use: "kvm" or "tcg".
func (m *Machine) Accel() string { return m.accel }

// Scale returns the timeout multiplier for this machine's accelerator.
func (m *Machine) Scale() time.Duration { return Scale(m.accel) }

// Timings returns phase durations: "qmp_ready", "agent_ready" (the agent's
// ready line on the console, when seen) and "boot_to_ssh" (from QEMU
// start), "close".
func (m *Machine) Timings() map[string]time.Duration {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	out := make(map[string]time.Duration, len(m.timings))
	for k, v := range m.timings {
		out[k] = v
	}
	return out
}

func (m *Machine) setTiming(k string, d time.Duration) {
	m.tmu.Lock()
	m.timings[k] = d
	m.tmu.Unlock()
}

// Graceful shutdown steps, each bounded.
const (
	poweroffWait = 2 * time.Second           // guest agent powers off (reboot(2) in an initramfs: ~0.1 s)
	quitWait     = 2 * time.Second           // QMP quit
	killWait     = termGrace + 5*time.Second // SIGTERM, SIGKILL after termGrace, then only the reaper's latency
)

// Close shuts the machine down: SSH global request "srutest-poweroff",
// then QMP "quit", then SIGTERM and SIGKILL to the process group, each
// step bounded.
// It always reaps QEMU and removes the temp dir. Close is idempotent.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Machine) close() error {
	t0 := time.Now()
	m.closing.Store(true)
	var errs []error
	if m.client != nil && !m.proc.hasExited() {
		// wantReply=false: a guest that powers off cannot answer.
		go m.client.SendRequest("srutest-poweroff", false, nil)
		if m.proc.waitExit(poweroffWait) {
			logf(m.cfg.Log, "vm: guest powered off")
		}
	}
	if m.qmp != nil && !m.proc.hasExited() {
		ctx, cancel := context.WithTimeout(context.Background(), quitWait)
		if err := m.qmp.quit(ctx); err == nil {
			m.proc.waitExit(quitWait)
		}
		cancel()
	}
	if !m.proc.hasExited() {
		m.proc.kill()
		if !m.proc.waitExit(killWait) {
			errs = append(errs, fmt.Errorf("vm: close: qemu pid %d not reaped %s after SIGTERM/SIGKILL", m.proc.cmd.Process.Pid, killWait))
		}
	}
	if m.client != nil {
		m.client.Close()
	}
	if m.qmp != nil {
		m.qmp.close()
	}
	m.con.close()
	if err := os.RemoveAll(m.dir); err != nil {
		errs = append(errs, fmt.Errorf("vm: close: %w", err))
	}
	m.setTiming("close", time.Since(t0))
	return errors.Join(errs...)
}

// BootToMarker boots cfg without waiting for SSH and returns the time from
// QEMU start until a console line contains marker (the bench floor: no
// agent, no SSH). HostKey and ClientKey are not needed. QEMU is always
// killed and its temp dir removed before it returns.
func BootToMarker(ctx context.Context, cfg Config, marker string) (time.Duration, error) {
	if cfg.HostKey == "" {
		cfg.HostKey = "unused"
	}
	if cfg.ClientKey == "" {
		cfg.ClientKey = os.DevNull
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return 0, infra("config", err)
	}
	accel := DetectAccel(cfg.KVM)
	timeout := cfg.BootTimeout
	if timeout <= 0 {
		timeout = defaultBootTimeout * Scale(accel)
	}
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := launch(cfg, accel, marker)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	select {
	case <-m.con.markerCh: // markerAt is written before the close
		return m.con.markerAt.Sub(m.started), nil
	case <-m.con.crashCh:
	case <-m.proc.exited:
	case <-bctx.Done():
	}
	m.con.poll() // the marker may be in the last bytes written before exit
	select {
	case <-m.con.markerCh:
		return m.con.markerAt.Sub(m.started), nil
	default:
	}
	return 0, m.bootFailure(ctx, bctx, timeout, "waiting for "+strconv.Quote(marker), errors.New("marker not seen"))
}
