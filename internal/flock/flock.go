// Package flock serialises srutest processes that share a cache (CI shards
// on one box): an exclusive flock(2) on a small lock file per destination,
// taken with a context so a waiting run can still be interrupted. The lock
// dies with the process that holds it — a SIGKILLed run never leaves a
// stale lock behind, at most an empty lock file. Unlock removes the file
// while still holding it; Acquire checks that the file it locked is still
// the one at the path (same inode) and starts over if not, so the removal
// cannot let two processes in at once.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock is a held lock; Unlock releases it.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes an exclusive lock on path (created if missing), waiting
// until it is free or ctx ends.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	// flock(2) cannot be interrupted by a context; poll the non-blocking
	// form with a short, growing delay instead.
	delay := 5 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if samePath(f, path) {
				return &Lock{f: f, path: path}, nil
			}
			// The holder removed it on Unlock: lock the new file.
			f.Close()
			continue
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Unlock removes the lock file and releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		os.Remove(l.path)
		l.f.Close()
		l.f = nil
	}
}

// samePath reports whether the open file f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// RemoveIfFree removes the lock file at path if no process holds the lock
// (a lock file left by a killed process), taking the lock while removing
// it so no holder can be cut out. It reports whether it removed the file.
func RemoveIfFree(path string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one try, no waiting
	l, err := Acquire(ctx, path)
	if err != nil {
		return false
	}
	l.Unlock() // removes the file
	return true
}
