package pair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
