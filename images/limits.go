package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Limits bound what a kernel package may make srutest write or hold: a .deb
// from a mirror or a URL is input, and a 4 KB package can otherwise claim
// gigabytes (a sparse tar entry, an xz or zstd bomb).
//
// The defaults are sized from real kernels with headroom (measured
// 2026-11-30): the biggest single file in Ubuntu and Debian kernel packages
// is amdgpu.ko at 19 MiB uncompressed (jammy 5.15; vmlinuz is 11–14 MiB),
// and the largest set one kernel needs — jammy 5.15 linux-image +
// linux-modules + linux-modules-extra, plain .ko — writes 451 MiB in 6,600
// files. Each can be raised through the environment (a number of bytes with
// an optional K, M or G suffix, powers of 1024):
//
//	SRUTEST_MAX_FILE_SIZE     one extracted file or decompressed module (default 128M)
//	SRUTEST_MAX_EXTRACT_SIZE  everything one kernel's packages extract to (default 2G)
//	SRUTEST_MAX_EXTRACT_FILES files one kernel's packages extract (default 100000)
//	SRUTEST_MAX_DOWNLOAD_SIZE one deb: URL download (default 1G)
type Limits struct {
	File     int64
	Total    int64
	Files    int64
	Download int64
}

// Environment variables that override DefaultLimits.
const (
	EnvMaxFileSize     = "SRUTEST_MAX_FILE_SIZE"
	EnvMaxExtractSize  = "SRUTEST_MAX_EXTRACT_SIZE"
	EnvMaxExtractFiles = "SRUTEST_MAX_EXTRACT_FILES"
	EnvMaxDownloadSize = "SRUTEST_MAX_DOWNLOAD_SIZE"
)

// ErrLimit: an archive entry, a module, an extraction or a download is
// larger than its limit, or the archive uses a feature dpkg never writes
// (sparse entries) that would let it be.
var ErrLimit = errors.New("over limit")

// LimitError says which file broke which limit, in one line.
type LimitError struct {
	File  string // the entry, module or URL
	What  string // "file size", "extracted size", …
	Limit int64
	Env   string // the variable that raises it ("" when it cannot be raised)
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("%s: %s over the limit of %s", e.File, e.What, humanBytes(e.Limit))
	if e.Env != "" {
		s += " (raise with " + e.Env + ")"
	}
	return s
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// DefaultLimits returns the built-in limits with the environment's
// overrides applied; a malformed override is an error naming the variable.
func DefaultLimits() (Limits, error) {
	l := Limits{File: 128 << 20, Total: 2 << 30, Files: 100000, Download: 1 << 30}
	for _, o := range []struct {
		env string
		dst *int64
	}{{EnvMaxFileSize, &l.File}, {EnvMaxExtractSize, &l.Total}, {EnvMaxExtractFiles, &l.Files}, {EnvMaxDownloadSize, &l.Download}} {
		v := os.Getenv(o.env)
		if v == "" {
			continue
		}
		n, err := parseSize(v)
		if err != nil {
			return l, fmt.Errorf("%s=%q: %w", o.env, v, err)
		}
		*o.dst = n
	}
	return l, nil
}

// parseSize reads "1048576", "512K", "128M", "2G".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("want a positive number of bytes, optionally with K, M or G")
	}
	return n * mult, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// extractBudget is what one ExtractDebs call may still write.
type extractBudget struct {
	lim   Limits
	bytes int64
	files int64
}

// file charges one file about to be written and returns a reader that fails
// with a *LimitError as soon as the file or the total goes over.
func (b *extractBudget) file(name string, r io.Reader) (io.Reader, error) {
	b.files++
	if b.files > b.lim.Files {
		return nil, &LimitError{File: name, What: "number of extracted files", Limit: b.lim.Files, Env: EnvMaxExtractFiles}
	}
	return &limitedReader{r: r, name: name, b: b, left: b.lim.File}, nil
}

type limitedReader struct {
	r    io.Reader
	name string
	b    *extractBudget
	left int64 // bytes this file may still have
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.b.bytes += int64(n)
	switch {
	case l.left < 0:
		return n, &LimitError{File: l.name, What: "file size", Limit: l.b.lim.File, Env: EnvMaxFileSize}
	case l.b.bytes > l.b.lim.Total:
		return n, &LimitError{File: l.name, What: "total extracted size", Limit: l.b.lim.Total, Env: EnvMaxExtractSize}
	}
	return n, err
}

// readCapped reads all of r, failing with a *LimitError naming name when it
// holds more than max bytes: a silent cut would hand a truncated ELF on.
func readCapped(r io.Reader, name, what, env string, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &LimitError{File: name, What: what, Limit: max, Env: env}
	}
	return b, nil
}

// isSparse reports whether a tar entry is a GNU or PAX sparse file. dpkg
// never writes one; archive/tar would expand its holes, so a few bytes of
// archive could declare gigabytes (GNU.sparse.realsize).
func isSparse(typeflag byte, pax map[string]string) bool {
	if typeflag == 'S' { // GNU sparse (tar.TypeGNUSparse)
		return true
	}
	for k := range pax {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
