package pair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// WaitFile polls until path exists (and, when contains is set, holds that
// text), or, with gone, until path no longer exists (e.g. /proc/<pid>).
// It is the guest-side readiness handshake of the harness: busybox sleep
// cannot be trusted with fractions, and a fixed sleep is never right.
func WaitFile(ctx context.Context, path, contains string, gone bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if gone {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return nil
			}
		}
		data, err := os.ReadFile(path)
		switch {
		case gone:
		case err == nil && (contains == "" || bytes.Contains(data, []byte(contains))):
			return nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("wait for %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			what := "to exist"
			if gone {
				what = "to go away"
			} else if contains != "" {
				what = fmt.Sprintf("to contain %q", contains)
			}
			return fmt.Errorf("waiting for %s %s: %w", path, what, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitPID polls until process pid has exited: /proc/<pid> is gone or the
// process is a zombie. The harness's background processes are orphans
// once their shell exits, and whether PID 1 reaps them promptly (or at
// all) is not ours to rely on.
func WaitPID(ctx context.Context, pid int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if exited(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pid %d to exit: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
}

// exited reads the state field of /proc/<pid>/stat ("pid (comm) S …"; comm
// may contain spaces and parentheses, so the last ')' ends it).
func exited(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	state := data[i+2]
	return state == 'Z' || state == 'X'
}

// writeReady writes a readiness file (the address, one line) whole: to a
// temporary name beside it, then renamed. A waiter that sees the file
// exist must also see its content (os.WriteFile creates it empty first:
// a test read an empty address that way and dialled "").
func writeReady(path, addr string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
