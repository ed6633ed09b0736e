package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// localGuest runs "guest" commands on the test host with sh -c, so the
// real scenarios can run end to end in network namespaces here. Push and
// Pull are file copies; the host kernel never reports a crash.
type localGuest struct{}

func (localGuest) Exec(ctx context.Context, cmd string) (ExecResult, error) {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	// Own process group, killed whole on cancel; background children that
	// redirect their output (server, tcpdump, client) outlive the shell,
	// as they do in a guest.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	err := c.Run()
	res := ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("local exec: %w", ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		return res, nil
	default:
		return res, fmt.Errorf("local exec: %w", err)
	}
	return res, nil
}

func (localGuest) Push(ctx context.Context, local, remote string) error {
	return copyFile(local, remote)
}
func (localGuest) Pull(ctx context.Context, remote, local string) error {
	return copyFile(remote, local)
}
func (localGuest) Crashed() error { return nil }

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
