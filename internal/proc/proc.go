// Package proc starts every child process of srutest (QEMU, the source:
// kernel build, apt-get) so that it dies with srutest: in its own process
// group, with a parent-death signal, stopped gracefully (SIGTERM to the
// group, then SIGKILL after a grace period) when its context ends, and with
// a guard that kills the whole group — grandchildren such as make's
// compilers or apt's download methods included — when srutest is gone.
//
// Why a guard: the parent-death signal (PR_SET_PDEATHSIG) reaches only the
// direct child, and a SIGKILLed srutest runs no cleanup, so a build tree of
// make and gcc would live on. The child is therefore started as
//
//	/bin/sh -c '<guard>' srutest-guard NAME ARGS…
//
// which forks a tiny watcher (detached from the child, in the child's
// process group, ignoring SIGTERM/SIGINT/SIGHUP) blocked reading a pipe whose
// only write end srutest holds, and then execs NAME in place (same pid, same
// exit status). When the write end closes — srutest exited, was killed, or
// Wait returned — the watcher SIGKILLs the group: nothing of it survives.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/srutest/srutest/internal/bounded"
)

// guardScript is run by /bin/sh with $1… the command. fd 3 is the read end
// of the guard pipe (ExtraFiles[0]). The watcher is double-forked so it is
// not a child of the command (a shell's `wait` would wait for it) and is
// closed off from every stream the caller reads. The guard ignores
// TERM/INT/HUP before it forks, so the watcher is born ignoring them: a
// cancel's SIGTERM to the group can arrive before the watcher has run a
// single command, and must not kill it (it did, once in a few runs under
// load, and the group then outlived its cancel). The command gets the
// default dispositions back before the exec.
const guardScript = `pg=$$
trap '' TERM INT HUP
( ( read -r _ <&3; kill -KILL -$pg ) 3<&3 </dev/null >/dev/null 2>&1 & )
trap - TERM INT HUP
exec "$@" 3<&-`

// Cmd is a child process started through the guard. Use it like exec.Cmd
// (Stdout, Stderr, Dir, Env on the embedded Cmd), but call Start, Wait,
// Run, Output and CombinedOutput on Cmd itself.
type Cmd struct {
	*exec.Cmd
	guard *os.File // write end of the guard pipe; closing it kills the group
}

// Command returns a Cmd running name with args. When ctx ends, the whole
// process group gets SIGTERM, and SIGKILL if it has not exited grace later
// (grace 0 means SIGKILL at once).
func Command(ctx context.Context, grace time.Duration, name string, args ...string) *Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", guardScript, "srutest-guard", name}, args...)...)
	// Pdeathsig fires when the thread that forked exits; Go threads live as
	// long as the process unless a goroutine exits while locked to one,
	// which srutest never does. The guard covers the rest of the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &Cmd{Cmd: cmd}
	cmd.Cancel = func() error {
		sig := syscall.SIGTERM
		if grace <= 0 {
			sig = syscall.SIGKILL
		}
		return SignalGroup(cmd.Process.Pid, sig)
	}
	// After the grace os/exec SIGKILLs the group leader; Wait then closes
	// the guard, which SIGKILLs the rest of the group.
	cmd.WaitDelay = grace
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = time.Second
	}
	return c
}

// Start starts the child. A name that cannot be found is reported here, as
// exec.Cmd does, not as the shell's exit status 127.
func (c *Cmd) Start() error {
	name := c.Args[4]
	if _, err := exec.LookPath(name); err != nil {
		return err
	}
	if len(c.ExtraFiles) != 0 {
		return errors.New("proc: ExtraFiles is taken by the guard pipe")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("guard pipe: %w", err)
	}
	c.ExtraFiles = []*os.File{r}
	err = c.Cmd.Start()
	r.Close()
	c.ExtraFiles = nil
	if err != nil {
		w.Close()
		return err
	}
	c.guard = w
	return nil
}

// Wait waits for the child, then kills whatever is left of its process
// group (closing the guard).
func (c *Cmd) Wait() error {
	err := c.Cmd.Wait()
	c.release()
	return err
}

// release closes the guard pipe once; the watcher then SIGKILLs the group.
func (c *Cmd) release() {
	if c.guard != nil {
		c.guard.Close()
		c.guard = nil
	}
}

// Run starts the child and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the child and returns its stdout (see exec.Cmd.Output).
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("proc: Stdout already set")
	}
	// stdout is parsed by the caller (apt-cache policy: kilobytes);
	// 64 MiB is far beyond it and still bounded.
	out, errb := bounded.New(64<<20, 0), bounded.New(16<<10, 16<<10)
	c.Stdout = out
	captureErr := c.Stderr == nil
	if captureErr {
		c.Stderr = errb
	}
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && captureErr && errors.As(err, &ee) {
		ee.Stderr = errb.Bytes()
	}
	return out.Bytes(), err
}

// CombinedOutput runs the child and returns its stdout and stderr
// together (see exec.Cmd.CombinedOutput). It must be defined here: the
// embedded exec.Cmd's own would start the child without the guard pipe,
// and the guard, finding fd 3 closed, kills the group at once.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil || c.Stderr != nil {
		return nil, errors.New("proc: Stdout or Stderr already set")
	}
	// Callers keep the text (tcpdump -r of one capture: kilobytes);
	// 64 MiB is far beyond it and still bounded.
	out := bounded.New(64<<20, 0)
	c.Stdout, c.Stderr = out, out
	err := c.Run()
	return out.Bytes(), err
}

// Pid is the child's process id (also its process group id).
func (c *Cmd) Pid() int { return c.Process.Pid }

// SignalGroup signals the process group pgid. A group already gone is not
// an error.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
