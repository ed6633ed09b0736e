package ubuntu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/srutest/srutest/internal/flock"
)

// fetcher is the HTTP side: bounded, retried, verified.
type fetcher struct {
	client   *http.Client
	idle     time.Duration // no response bytes for this long → timeout
	attempts int           // total tries per file
	backoff  time.Duration // first retry delay, doubled each time
	progress *progress
}

var errIdle = errors.New("no data from server within the idle deadline")

// idleReader cancels the request when no bytes arrive for d.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.d)
	}
	return n, err
}

// open sends GET url (with Range from offset when offset > 0) and returns the
// body, the offset the body starts at (0 when the server ignored the Range),
// and done, which must be called with the error reading the body ended with
// (nil on success) and returns it classified (idle deadline → ErrTimeout).
// Every byte of waiting is bounded by the idle deadline.
func (f *fetcher) open(ctx context.Context, url string, offset int64) (body io.Reader, start int64, done func(error) error, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(f.idle, func() { cancel(errIdle) })
	finish := func(e error) error {
		timer.Stop()
		cause := context.Cause(rctx)
		cancel(nil)
		return f.classify(ctx, url, cause, e)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, nil, finish(err)
	}
	req.Header.Set("User-Agent", "srutest")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, nil, finish(err)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		start, err = contentRangeStart(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			resp.Body.Close()
			return nil, 0, nil, finish(fmt.Errorf("GET %s: bad Content-Range %q for offset %d", url, resp.Header.Get("Content-Range"), offset))
		}
	case resp.StatusCode == http.StatusOK:
		start = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		resp.Body.Close()
		return nil, 0, nil, finish(errRangeNotSatisfiable)
	default:
		resp.Body.Close()
		return nil, 0, nil, finish(&HTTPError{URL: url, Status: resp.StatusCode})
	}
	return &idleReader{r: resp.Body, timer: timer, d: f.idle}, start, func(readErr error) error {
		resp.Body.Close()
		return finish(readErr)
	}, nil
}

var errRangeNotSatisfiable = errors.New("range not satisfiable")

func contentRangeStart(h string) (int64, error) {
	// "bytes 100-999/1000"
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, fmt.Errorf("no bytes unit")
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, fmt.Errorf("no range")
	}
	return strconv.ParseInt(s, 10, 64)
}

// classify turns a transport error into the package's error vocabulary:
// idle timeouts and deadline expiry become timeoutError.
func (f *fetcher) classify(parent context.Context, url string, cause, err error) error {
	if err == nil {
		if errors.Is(cause, errIdle) {
			return &timeoutError{what: "GET " + url, err: errIdle}
		}
		return nil
	}
	switch {
	case errors.Is(cause, errIdle):
		return &timeoutError{what: "GET " + url, err: fmt.Errorf("%w (idle %s)", errIdle, f.idle)}
	case errors.Is(parent.Err(), context.DeadlineExceeded):
		return &timeoutError{what: "GET " + url, err: parent.Err()}
	case parent.Err() != nil:
		return fmt.Errorf("GET %s: %w", url, parent.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{what: "GET " + url, err: err}
	}
	return err
}

// retryable says whether another attempt at the same file may succeed.
func retryable(err error) bool {
	var he *HTTPError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		return he.retryable()
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrTimeout):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, errRangeNotSatisfiable):
		return true
	case errors.As(err, &ne):
		return true
	}
	return false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// getSmall fetches a file of unknown hash (InRelease) into memory, at most
// max bytes, retrying transient failures.
func (f *fetcher) getSmall(ctx context.Context, url string, max int64) ([]byte, error) {
	var last error
	for attempt := 0; attempt < f.attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, f.backoff<<(attempt-1)); err != nil {
				return nil, f.classify(ctx, url, nil, err)
			}
		}
		body, _, done, err := f.open(ctx, url, 0)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(io.LimitReader(body, max+1))
			err = done(err)
			if err == nil && int64(len(b)) > max {
				return nil, fmt.Errorf("GET %s: larger than %d bytes", url, max)
			}
			if err == nil {
				return b, nil
			}
		}
		last = err
		if !retryable(err) {
			break
		}
	}
	return nil, last
}

// download fetches url into dst, which must end up with exactly size bytes
// hashing to sum. Processes sharing the cache (CI shards on one box) take
// turns per destination through a flock on ".<name>.lock"; the one holding
// it writes into its own temp file ".<name>.<random>.partial", which is
// renamed to dst only after the hash matched, and dst is checked again
// after the rename. A broken transfer resumes from what the temp file holds
// (HTTP Range), up to f.attempts tries. On failure the temp file is
// removed: nothing unverified is left behind, and no other process's file
// is ever touched.
func (f *fetcher) download(ctx context.Context, url, dst string, size int64, sum string) (err error) {
	if ok, _ := fileMatches(dst, size, sum); ok {
		f.progress.add(size)
		// Last use, for `srutest cache prune --older-than`.
		now := time.Now()
		os.Chtimes(dst, now, now)
		return nil
	}
	dir, base := filepath.Dir(dst), filepath.Base(dst)
	lock, err := flock.Acquire(ctx, filepath.Join(dir, "."+base+".lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// Another process may have finished it while this one waited.
	if ok, _ := fileMatches(dst, size, sum); ok {
		f.progress.add(size)
		return nil
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*"+partialSuffix)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	partial := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(partial)
		}
	}()
	var last error
	for attempt := 0; attempt < f.attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, f.backoff<<(attempt-1)); err != nil {
				return f.classify(ctx, url, nil, err)
			}
		}
		err := f.downloadOnce(ctx, url, partial, size, sum)
		if err == nil {
			if err := os.Rename(partial, dst); err != nil {
				return fmt.Errorf("install %s: %w", dst, err)
			}
			// What is at dst now is what every reader gets: check it there.
			if ok, err := fileMatches(dst, size, sum); !ok {
				os.Remove(dst)
				return fmt.Errorf("install %s: %w: changed after verification (%v)", dst, ErrHashMismatch, err)
			}
			return nil
		}
		last = err
		if errors.Is(err, ErrHashMismatch) {
			// The bytes on disk are wrong; only a fresh full copy can help,
			// and only if this one was pieced together from a resume.
			os.Truncate(partial, 0)
		}
		if !retryable(err) && !errors.Is(err, errResumedMismatch) {
			break
		}
	}
	if errors.Is(last, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", ErrTruncated, last)
	}
	return last
}

// partialSuffix ends the name of a download in progress; `srutest cache
// prune` removes stale ones (a SIGKILLed run leaves its temp file).
const partialSuffix = ".partial"

var errResumedMismatch = errors.New("resumed download did not verify")

func (f *fetcher) downloadOnce(ctx context.Context, url, partial string, size int64, sum string) error {
	h := sha256.New()
	have, err := hashPrefix(partial, h, size)
	if err != nil {
		return err
	}
	if have == size {
		return verify(url, h, have, size, sum, false)
	}
	body, start, done, err := f.open(ctx, url, have)
	if errors.Is(err, errRangeNotSatisfiable) {
		os.Truncate(partial, 0)
		return err
	}
	if err != nil {
		return err
	}
	if start == 0 && have > 0 {
		h.Reset()
		f.progress.add(-have)
		have = 0
	}
	flags := os.O_WRONLY | os.O_CREATE
	if start == 0 {
		flags |= os.O_TRUNC
	} else {
		flags |= os.O_APPEND
	}
	out, err := os.OpenFile(partial, flags, 0o644)
	if err != nil {
		done(nil)
		return fmt.Errorf("write %s: %w", partial, err)
	}
	n, cerr := io.Copy(io.MultiWriter(out, h, f.progress), io.LimitReader(body, size-have+1))
	have += n
	if err := out.Close(); err != nil && cerr == nil {
		cerr = fmt.Errorf("write %s: %w", partial, err)
	}
	if cerr = done(cerr); cerr != nil {
		switch {
		case errors.Is(cerr, io.EOF), errors.Is(cerr, io.ErrUnexpectedEOF):
			return fmt.Errorf("GET %s: got %d of %d bytes: %w", url, have, size, io.ErrUnexpectedEOF)
		case errors.Is(cerr, ErrTimeout):
			return cerr
		}
		return fmt.Errorf("GET %s: %w", url, cerr)
	}
	if have < size {
		return fmt.Errorf("GET %s: got %d of %d bytes: %w", url, have, size, io.ErrUnexpectedEOF)
	}
	return verify(url, h, have, size, sum, start > 0)
}

func verify(what string, h hash.Hash, have, size int64, sum string, resumed bool) error {
	got := hex.EncodeToString(h.Sum(nil))
	if have != size || got != sum {
		err := error(&HashError{What: what, WantSHA256: sum, GotSHA256: got, WantSize: size, GotSize: have})
		if resumed {
			err = fmt.Errorf("%w (%w)", err, errResumedMismatch)
		}
		return err
	}
	return nil
}

// hashPrefix feeds an existing partial file into h; a partial longer than
// size is discarded.
func hashPrefix(p string, h hash.Hash, size int64) (int64, error) {
	fh, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	defer fh.Close()
	n, err := io.Copy(h, fh)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	if n > size {
		h.Reset()
		os.Truncate(p, 0)
		return 0, nil
	}
	return n, nil
}

// fileMatches reports whether p exists with the given size and SHA256.
func fileMatches(p string, size int64, sum string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil || st.Size() != size || !st.Mode().IsRegular() {
		return false, err
	}
	fh, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}
