package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/srutest/srutest/internal/bounded"
	"github.com/srutest/srutest/internal/termtext"
)

// abortGrace is how long an aborted session gets to wind down (its output
// copiers to finish) after SIGKILL and close; a hung guest never answers,
// so after it the caller's writers are cut off instead.
const abortGrace = 2 * time.Second

// Exec runs cmd with the guest's shell and returns stdout, stderr and the
// exit code. A non-zero exit is not an error. When ctx ends the remote
// process is sent SIGKILL and an error wrapping ctx.Err() is returned; a
// crash seen on the console while cmd runs returns a *CrashError at once.
//
// Output is bounded: of each stream at most MaxExecOutput bytes are kept,
// half from the start and half from the end, with a line saying how many
// bytes were cut between them (a reproducer running `yes` until its
// timeout must not grow srutest's memory).
func (m *Machine) Exec(ctx context.Context, cmd string) (Result, error) {
	stdout := bounded.New(MaxExecOutput/2, MaxExecOutput/2)
	stderr := bounded.New(MaxExecOutput/2, MaxExecOutput/2)
	code, err := m.ExecStream(ctx, cmd, nil, stdout, stderr)
	return Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, err
}

// MaxExecOutput bounds each output stream Exec keeps (see Exec).
const MaxExecOutput = 8 << 20

// ExecStream runs cmd with the given streams (stdin may be nil) and returns
// its exit code; errors as for Exec. A command killed by a signal reports
// 128+signal number, as a shell does.
func (m *Machine) ExecStream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sess, crash, err := m.session(ctx, "exec "+cmd)
	if err != nil {
		return -1, err
	}
	out, errw := newGate(stdout), newGate(stderr)
	sess.Stdout, sess.Stderr = out, errw
	if stdin != nil {
		sess.Stdin = stdin
	}
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return -1, infra("exec "+cmd, err)
	}
	return m.wait(ctx, sess, crash, "exec "+cmd, out, errw)
}

// session opens a session, bounded by ctx and by the guest's death.
//
// It also returns the crash channel the operation must watch, taken before
// anything is sent to the guest: a crash the operation itself triggers can
// reach the console before the caller starts waiting, and must still end the
// operation (only crashes from before the operation are tolerated).
func (m *Machine) session(ctx context.Context, op string) (*ssh.Session, <-chan struct{}, error) {
	crash := m.crashWatch()
	if m.client == nil {
		return nil, nil, infra(op, errors.New("no SSH connection"))
	}
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := m.client.NewSession()
		ch <- opened{s, err}
	}()
	abandon := func() {
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
	}
	select {
	case o := <-ch:
		if o.err != nil {
			if gone := m.goneErr(); gone != nil {
				return nil, nil, gone
			}
			return nil, nil, infra(op+": open session", o.err)
		}
		return o.s, crash, nil
	case <-ctx.Done():
		abandon()
		return nil, nil, fmt.Errorf("vm: %s: %w", op, ctx.Err())
	case <-crash:
		abandon()
		return nil, nil, m.Crashed()
	case <-m.proc.exited:
		abandon()
		return nil, nil, m.goneErr()
	}
}

// crashWatch returns CrashCh if no crash has been seen yet, else nil: an
// operation is cut short by a crash that happens while it runs, while a
// guest that survived an earlier WARNING can still be used (and inspected).
func (m *Machine) crashWatch() <-chan struct{} {
	if m.con.crashed() {
		return nil
	}
	return m.con.crashCh
}

// goneErr describes a machine that cannot run commands any more, or nil.
func (m *Machine) goneErr() error {
	if m.closing.Load() {
		return infra("ssh", errors.New("machine is closed"))
	}
	if m.proc.hasExited() {
		return m.Crashed()
	}
	return nil
}

// wait waits for a started session and maps its end to (exit code, error).
func (m *Machine) wait(ctx context.Context, sess *ssh.Session, crash <-chan struct{}, op string, gates ...*gate) (int, error) {
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	abort := func(signal bool) {
		if signal {
			sess.Signal(ssh.SIGKILL)
		}
		sess.Close()
		select {
		case <-done:
		case <-time.After(abortGrace):
		}
		for _, g := range gates {
			g.shut()
		}
	}
	select {
	case err := <-done:
		return exitCode(op, err)
	case <-ctx.Done():
		abort(true)
		return -1, fmt.Errorf("vm: %s: %w", op, ctx.Err())
	case <-crash:
		abort(false)
		return -1, m.Crashed()
	case <-m.proc.exited:
		abort(false)
		return -1, m.goneErr()
	}
}

// exitCode maps Session.Wait's result.
func exitCode(op string, err error) (int, error) {
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ee.Signal() != "" && ee.ExitStatus() <= 0 {
			return 128 + signalNumber(ee.Signal()), nil
		}
		return ee.ExitStatus(), nil
	default:
		// *ssh.ExitMissingError or a dead connection.
		return -1, infra(op, err)
	}
}

// signalNumber maps an SSH signal name (RFC 4254 §6.10) to its Linux
// x86-64 number; unknown names map to 0 (so 128 results).
func signalNumber(name string) int {
	return map[string]int{
		"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
		"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	}[name]
}

// gate passes writes through until shut, then drops them, so that a session
// abandoned on a hung guest can never write into the caller's buffers after
// the call returned.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func newGate(w io.Writer) *gate {
	if w == nil {
		w = io.Discard
	}
	return &gate{w: w}
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// logf writes one progress line to w, if any.
func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		// vm messages quote the guest (agent errors, console lines).
		fmt.Fprintln(w, termtext.Clean(fmt.Sprintf(format, args...)))
	}
}
