package vm

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// Shell runs an interactive shell in the guest on a pty and returns its
// exit code. When stdin is a terminal it is put in raw mode for the
// duration (so Ctrl-C reaches the guest as a byte instead of signalling
// srutest), the pty gets $TERM and the terminal's size, and SIGWINCH is
// forwarded as window-change. ctx ends the session (remote SIGKILL).
//
// The SSH library copies stdin in a goroutine that stays blocked in Read
// after the shell exits; meant for a CLI that exits afterwards.
func (m *Machine) Shell(ctx context.Context, stdin *os.File, stdout, stderr io.Writer) (int, error) {
	sess, crash, err := m.session(ctx, "shell")
	if err != nil {
		return -1, err
	}
	fd := int(stdin.Fd())
	tty := term.IsTerminal(fd)
	w, h := 80, 24
	if tty {
		if cw, ch, err := term.GetSize(fd); err == nil {
			w, h = cw, ch
		}
	}
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = "vt100"
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty(termName, h, w, modes); err != nil {
		sess.Close()
		return -1, infra("shell: pty-req", err)
	}
	if tty {
		old, err := term.MakeRaw(fd)
		if err != nil {
			sess.Close()
			return -1, infra("shell: raw mode", err)
		}
		defer term.Restore(fd, old)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-winch:
					if cw, ch, err := term.GetSize(fd); err == nil {
						sess.WindowChange(ch, cw)
					}
				}
			}
		}()
	}
	out, errw := newGate(stdout), newGate(stderr)
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, out, errw
	if err := sess.Shell(); err != nil {
		sess.Close()
		return -1, infra("shell", err)
	}
	return m.wait(ctx, sess, crash, "shell", out, errw)
}
