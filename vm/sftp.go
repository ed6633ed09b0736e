package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/pkg/sftp"
)

// Push copies the host file local to the guest path remote over SFTP,
// creating or truncating it and giving it local's permission bits.
func (m *Machine) Push(ctx context.Context, local, remote string) error {
	op := fmt.Sprintf("push %s → %s", local, remote)
	return m.sftpDo(ctx, op, func(c *sftp.Client, _ func(func() error) error) error {
		src, err := os.Open(local)
		if err != nil {
			return err
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", local)
		}
		dst, err := c.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return fmt.Errorf("create %s in guest: %w", remote, err)
		}
		if _, err := dst.ReadFrom(src); err != nil {
			dst.Close()
			return fmt.Errorf("write %s in guest: %w", remote, err)
		}
		if err := dst.Close(); err != nil {
			return fmt.Errorf("close %s in guest: %w", remote, err)
		}
		if err := c.Chmod(remote, st.Mode().Perm()); err != nil {
			return fmt.Errorf("chmod %s in guest: %w", remote, err)
		}
		return nil
	})
}

// Pull copies the guest file remote to the host path local (written to a
// temp file beside it and renamed, so local is never half-written), with
// remote's permission bits.
func (m *Machine) Pull(ctx context.Context, remote, local string) error {
	op := fmt.Sprintf("pull %s → %s", remote, local)
	return m.sftpDo(ctx, op, func(c *sftp.Client, commit func(func() error) error) error {
		return pullOne(c, commit, remote, local)
	})
}

// pullFilesSFTP is PullFiles through one SFTP session, for a guest without
// busybox tar.
func (m *Machine) pullFilesSFTP(ctx context.Context, remotes []string, localDir string) (errs []error, err error) {
	op := fmt.Sprintf("pull %d files → %s", len(remotes), localDir)
	err = m.sftpDo(ctx, op, func(c *sftp.Client, commit func(func() error) error) error {
		errs = make([]error, len(remotes))
		for i, r := range remotes {
			if e := pullOne(c, commit, r, filepath.Join(localDir, path.Base(r))); e != nil {
				errs[i] = fmt.Errorf("vm: pull %s: %w", r, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// pullOne copies one guest file to a host path through an open session.
func pullOne(c *sftp.Client, commit func(func() error) error, remote, local string) error {
	src, err := c.Open(remote)
	if err != nil {
		return fmt.Errorf("open %s in guest: %w", remote, err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("stat %s in guest: %w", remote, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".part-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	tooBig := fmt.Errorf("%w: %s (%d bytes) is over the %d MiB pull limit: not copied", ErrPullTooBig, remote, st.Size(), maxPull>>20)
	if st.Size() > maxPull {
		tmp.Close()
		return tooBig
	}
	// The file may still grow while it is read: the cap holds anyway.
	if _, err := src.WriteTo(&capWriter{w: tmp, left: maxPull}); err != nil {
		tmp.Close()
		if errors.Is(err, ErrPullTooBig) {
			return tooBig
		}
		return fmt.Errorf("read %s from guest: %w", remote, err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return commit(func() error { return os.Rename(tmp.Name(), local) })
}

// maxPull bounds one file pulled from the guest (evidence files are
// kilobytes; a reproducer's output dir could hold anything). A var for tests.
var maxPull int64 = 256 << 20

// ErrPullTooBig: a file in the guest is larger than the pull limit.
var ErrPullTooBig = errors.New("vm: file too big to pull")

// capWriter fails once more than left bytes were written.
type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, ErrPullTooBig
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

// sftpDo runs fn against a fresh SFTP session, bounded by ctx and by the
// guest's death. fn makes its host-side effect final through commit, which
// refuses once the call was abandoned: an operation cut short never
// renames a file after its caller got the error.
func (m *Machine) sftpDo(ctx context.Context, op string, fn func(c *sftp.Client, commit func(func() error) error) error) error {
	sess, crash, err := m.session(ctx, op)
	if err != nil {
		return err
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		sess.Close()
		return infra(op+": sftp subsystem", err)
	}
	w, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return infra(op, err)
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return infra(op, err)
	}
	var mu sync.Mutex
	abandoned := false
	commit := func(f func() error) error {
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			return fmt.Errorf("abandoned")
		}
		return f()
	}
	done := make(chan error, 1)
	go func() {
		c, err := sftp.NewClientPipe(r, w, sftp.UseConcurrentWrites(true), sftp.UseConcurrentReads(true))
		if err != nil {
			done <- infra(op+": sftp handshake", err)
			return
		}
		err = fn(c, commit)
		c.Close()
		if err != nil {
			err = fmt.Errorf("vm: %s: %w", op, err)
		}
		done <- err
	}()
	abandon := func() {
		mu.Lock()
		abandoned = true
		mu.Unlock()
		sess.Close()
	}
	select {
	case err := <-done:
		sess.Close()
		return err
	case <-ctx.Done():
		abandon()
		return fmt.Errorf("vm: %s: %w", op, ctx.Err())
	case <-crash:
		abandon()
		return m.Crashed()
	case <-m.proc.exited:
		abandon()
		return m.goneErr()
	}
}

var _ io.ReaderFrom = (*sftp.File)(nil)
