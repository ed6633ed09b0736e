package vm

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/proc"
)

// qemuProc is a running QEMU. Exactly one goroutine (started by startQEMU)
// calls Wait; everyone else waits on exited.
type qemuProc struct {
	cmd    *proc.Cmd
	cancel context.CancelFunc
	exited chan struct{}
	err    error // Wait's result; read only after exited is closed
}

// termGrace is how long QEMU gets between SIGTERM (context cancel) and
// SIGKILL from os/exec.
const termGrace = 3 * time.Second

// startQEMU starts argv through internal/proc (own process group,
// parent-death SIGKILL, a guard that kills the whole group — a wrapper
// script's children included — when srutest dies), stdin and stdout on
// /dev/null and stderr into the given file.
func startQEMU(argv []string, stderr *os.File) (*qemuProc, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := proc.Command(ctx, termGrace, argv[0], argv[1:]...)
	cmd.Stderr = stderr
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

// kill stops QEMU through its context: SIGTERM to the group, SIGKILL
// termGrace later if it is still there (Close has tried power-off and QMP
// quit before; a QEMU that ignores those still gets a clean signal first).
func (p *qemuProc) kill() {
	select {
	case <-p.exited:
	default:
		p.cancel()
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
