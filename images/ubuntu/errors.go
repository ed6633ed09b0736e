package ubuntu

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors; every error the resolver returns wraps one of these when
// it falls into the category, so callers (and tests) branch with errors.Is.
var (
	// ErrSignature: InRelease is not clearsigned, is tampered, or is signed
	// by no key in the keyring.
	ErrSignature = errors.New("InRelease signature not valid")
	// ErrHashMismatch: an index or a .deb does not have the SHA256 or size
	// its signed parent says it has.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrTruncated: the server closed the connection before the announced
	// size arrived, after every retry.
	ErrTruncated = errors.New("truncated download")
	// ErrNotFound: HTTP 404 (or 410) for a file the archive should have.
	ErrNotFound = errors.New("not found on archive")
	// ErrTimeout: the server sent nothing for longer than the idle
	// deadline, or the overall context deadline expired.
	ErrTimeout = errors.New("archive server too slow or dead")
	// ErrNoPackage: the index lacks a package the query needs (meta
	// package, image, modules).
	ErrNoPackage = errors.New("package not in index")
	// ErrRelease: the Release file is malformed, is for another
	// distribution, or does not list the index needed.
	ErrRelease = errors.New("bad Release file")
)

// HTTPError is an unexpected HTTP status. It wraps ErrNotFound for 404/410.
type HTTPError struct {
	URL    string
	Status int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

// Is makes a 404/410 match ErrNotFound.
func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && (e.Status == 404 || e.Status == 410)
}

// retryable reports whether a request for the same URL may succeed later:
// server errors, rate limits, and connections that broke mid-body.
func (e *HTTPError) retryable() bool { return e.Status >= 500 || e.Status == 429 || e.Status == 408 }

// timeoutError is a deadline hit while talking to the archive. It matches
// both ErrTimeout and context.DeadlineExceeded.
type timeoutError struct {
	what string
	err  error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("%s: %v: %v", e.what, ErrTimeout, e.err) }
func (e *timeoutError) Unwrap() []error {
	return []error{ErrTimeout, context.DeadlineExceeded, e.err}
}

// HashError says which file did not match which expectation.
type HashError struct {
	What                  string // URL or file name
	WantSHA256, GotSHA256 string
	WantSize, GotSize     int64
}

func (e *HashError) Error() string {
	if e.WantSize != e.GotSize {
		return fmt.Sprintf("%s: size %d, want %d: %v", e.What, e.GotSize, e.WantSize, ErrHashMismatch)
	}
	return fmt.Sprintf("%s: sha256 %s, want %s: %v", e.What, e.GotSHA256, e.WantSHA256, ErrHashMismatch)
}

// Unwrap makes HashError match ErrHashMismatch.
func (e *HashError) Unwrap() error { return ErrHashMismatch }
