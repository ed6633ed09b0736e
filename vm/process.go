package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// qemuProc is a running QEMU. Exactly one goroutine (started by startQEMU)
// calls Wait; everyone else waits on exited.
type qemuProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan struct{}
	err    error // Wait's result; read only after exited is closed
}

// termGrace is how long QEMU gets between SIGTERM (context cancel) and
// SIGKILL from os/exec.
const termGrace = 3 * time.Second

// startQEMU starts argv in its own process group with a parent-death
// SIGKILL, stdin and stdout on /dev/null and stderr into the given file.
func startQEMU(argv []string, stderr *os.File) (*qemuProc, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = stderr
	// Pdeathsig fires when the thread that forked exits; Go threads live as
	// long as the process unless a goroutine exits while locked to one,
	// which this package never does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = termGrace
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	p := &qemuProc{cmd: cmd, cancel: cancel, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.exited)
	}()
	return p, nil
}

// signalGroup signals QEMU's process group (a wrapper script's children
// included). A group already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// kill sends SIGKILL to the group unless QEMU has been reaped already.
func (p *qemuProc) kill() {
	select {
	case <-p.exited:
	default:
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// hasExited reports whether QEMU has been reaped.
func (p *qemuProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for QEMU to be reaped.
func (p *qemuProc) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// exitStatus describes how QEMU ended; call after exited is closed.
func (p *qemuProc) exitStatus() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process can take it before QEMU binds it: see hostfwdConflict.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostfwdConflict reports whether QEMU exited because it could not bind
// the host side of the SSH forward (the port chosen by freePort was taken
// in between). QEMU says so only in words, on stderr (net/slirp.c:
// "Could not set up host forwarding rule '%s'"), so the text is matched
// here and nowhere else.
func hostfwdConflict(stderr string) bool {
	return strings.Contains(stderr, "Could not set up host forwarding rule")
}

// errPortTaken marks a boot attempt lost to a port race; Start retries it.
type errPortTaken struct{ stderr string }

func (e *errPortTaken) Error() string {
	return fmt.Sprintf("host forward port taken: %s", e.stderr)
}
