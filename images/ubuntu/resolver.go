package ubuntu

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/srutest/srutest/keys"
)

// DefaultArchive is the Ubuntu archive for amd64.
const DefaultArchive = "http://archive.ubuntu.com/ubuntu"

// DefaultOldReleases is where end-of-life series move.
const DefaultOldReleases = "http://old-releases.ubuntu.com/ubuntu"

// EnvOldReleases names the environment variable that replaces the
// old-releases archive URL ("off" disables the fallback).
const EnvOldReleases = "SRUTEST_UBUNTU_OLD_RELEASES"

// EnvArchive names the environment variable that replaces the archive URL of
// every query (a mirror, or a test archive).
const EnvArchive = "SRUTEST_UBUNTU_ARCHIVE"

// ContentsMode says whether the resolver reads the archive's Contents index
// to learn which package ships each needed module.
type ContentsMode int

const (
	// ContentsAuto reads Contents-amd64.gz when the Release file lists it
	// and it is at most MaxContentsSize; otherwise uses the Series table.
	ContentsAuto ContentsMode = iota
	// ContentsOff always uses the Series table.
	ContentsOff
)

// Resolver finds and downloads Ubuntu kernel debs. Build one with
// NewResolver; the zero value is not usable. Safe for concurrent use.
type Resolver struct {
	// Archive is the archive root used when a query names none.
	Archive string
	// Mirror, when set, replaces the archive of every query (flag
	// --archive, env SRUTEST_UBUNTU_ARCHIVE).
	Mirror string
	// OldReleases is tried when a dist's InRelease is not found on the
	// archive (series past end of life move there); "" disables it.
	OldReleases string
	// Keyring verifies InRelease signatures (default: the embedded Ubuntu
	// archive key).
	Keyring openpgp.EntityList
	// Client sends the requests (default: a client with connect and
	// response-header timeouts; no overall timeout, IdleTimeout bounds it).
	Client *http.Client
	// CacheDir keeps verified indexes, named by their SHA256, so a second
	// Plan downloads only InRelease. "" disables the cache.
	CacheDir string
	// Parallel is the number of concurrent .deb downloads (default 3).
	Parallel int
	// Progress receives progress lines (nil: silent).
	Progress io.Writer
	// IdleTimeout aborts a request that receives nothing for this long
	// (default 30s). Attempts is the number of tries per file (default 4),
	// Backoff the first retry delay, doubled per retry (default 1s).
	IdleTimeout time.Duration
	Attempts    int
	Backoff     time.Duration
	// Contents selects Contents-index use (default ContentsAuto).
	Contents ContentsMode
	// MaxContentsSize bounds the Contents download (default 64 MiB); a larger
	// index is skipped in favour of the Series table.
	MaxContentsSize int64
	// Now is the clock for signature and Valid-Until checks.
	Now func() time.Time
}

// Option configures NewResolver.
type Option func(*Resolver) error

// WithArchive sets the default archive root.
func WithArchive(url string) Option {
	return func(r *Resolver) error {
		if err := checkArchiveURL(url); err != nil {
			return err
		}
		r.Archive = strings.TrimRight(url, "/")
		return nil
	}
}

// WithMirror replaces the archive of every query (overrides the env var).
func WithMirror(url string) Option {
	return func(r *Resolver) error {
		if url == "" {
			r.Mirror = ""
			return nil
		}
		if err := checkArchiveURL(url); err != nil {
			return err
		}
		r.Mirror = strings.TrimRight(url, "/")
		return nil
	}
}

// WithOldReleases sets the archive tried for series gone from the main
// archive ("" disables the fallback).
func WithOldReleases(url string) Option {
	return func(r *Resolver) error {
		if url == "" {
			r.OldReleases = ""
			return nil
		}
		if err := checkArchiveURL(url); err != nil {
			return err
		}
		r.OldReleases = strings.TrimRight(url, "/")
		return nil
	}
}

// WithKeyring verifies InRelease against keyring instead of the embedded key.
func WithKeyring(keyring openpgp.EntityList) Option {
	return func(r *Resolver) error {
		if len(keyring) == 0 {
			return fmt.Errorf("empty keyring")
		}
		r.Keyring = keyring
		return nil
	}
}

// WithKeyringFile reads a keyring file, binary or ASCII-armored (what
// /usr/share/keyrings/*.gpg and gpg --export [--armor] produce).
func WithKeyringFile(path string) Option {
	return func(r *Resolver) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read keyring: %w", err)
		}
		ring, err := ReadKeyring(data)
		if err != nil {
			return fmt.Errorf("keyring %s: %w", path, err)
		}
		r.Keyring = ring
		return nil
	}
}

// ReadKeyring parses a binary or ASCII-armored OpenPGP public keyring.
func ReadKeyring(data []byte) (openpgp.EntityList, error) {
	var ring openpgp.EntityList
	var err error
	if bytes.Contains(data, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		ring, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		ring, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("no keys")
	}
	return ring, nil
}

// WithClient sets the HTTP client.
func WithClient(c *http.Client) Option { return func(r *Resolver) error { r.Client = c; return nil } }

// WithCacheDir keeps verified indexes under dir.
func WithCacheDir(dir string) Option { return func(r *Resolver) error { r.CacheDir = dir; return nil } }

// WithParallel sets the number of concurrent downloads.
func WithParallel(n int) Option {
	return func(r *Resolver) error {
		if n < 1 {
			return fmt.Errorf("parallel %d: want ≥ 1", n)
		}
		r.Parallel = n
		return nil
	}
}

// WithProgress sends progress lines to w.
func WithProgress(w io.Writer) Option { return func(r *Resolver) error { r.Progress = w; return nil } }

// WithRetry sets the idle deadline per request, tries per file and first
// backoff.
func WithRetry(idle time.Duration, attempts int, backoff time.Duration) Option {
	return func(r *Resolver) error {
		if idle <= 0 || attempts < 1 || backoff < 0 {
			return fmt.Errorf("retry: idle %s attempts %d backoff %s: want idle > 0, attempts ≥ 1", idle, attempts, backoff)
		}
		r.IdleTimeout, r.Attempts, r.Backoff = idle, attempts, backoff
		return nil
	}
}

// WithContents selects whether the Contents index is read.
func WithContents(m ContentsMode) Option {
	return func(r *Resolver) error { r.Contents = m; return nil }
}

// NewResolver returns a resolver with defaults: archive DefaultArchive,
// Mirror from $SRUTEST_UBUNTU_ARCHIVE, the embedded Ubuntu archive key,
// 3 parallel downloads, 30 s idle deadline, 4 attempts, 1 s backoff.
func NewResolver(opts ...Option) (*Resolver, error) {
	ring, err := ReadKeyring(keys.UbuntuArchive())
	if err != nil {
		return nil, fmt.Errorf("embedded Ubuntu archive key: %w", err)
	}
	r := &Resolver{
		Archive:         DefaultArchive,
		OldReleases:     DefaultOldReleases,
		Keyring:         ring,
		Parallel:        3,
		IdleTimeout:     30 * time.Second,
		Attempts:        4,
		Backoff:         time.Second,
		MaxContentsSize: 64 << 20,
		Now:             time.Now,
	}
	if env := os.Getenv(EnvArchive); env != "" {
		if err := checkArchiveURL(env); err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvArchive, err)
		}
		r.Mirror = strings.TrimRight(env, "/")
	}
	switch env := os.Getenv(EnvOldReleases); env {
	case "":
	case "off":
		r.OldReleases = ""
	default:
		if err := checkArchiveURL(env); err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvOldReleases, err)
		}
		r.OldReleases = strings.TrimRight(env, "/")
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, fmt.Errorf("ubuntu resolver: %w", err)
		}
	}
	if r.Client == nil {
		r.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: r.IdleTimeout,
			TLSHandshakeTimeout:   r.IdleTimeout,
			MaxIdleConnsPerHost:   r.Parallel + 1,
		}}
	}
	return r, nil
}

// archiveFor is the archive root a query resolves against.
func (r *Resolver) archiveFor(q Query) string {
	switch {
	case r.Mirror != "":
		return r.Mirror
	case q.Archive != "":
		return strings.TrimRight(q.Archive, "/")
	case r.Archive != "":
		return r.Archive
	}
	return DefaultArchive
}

func (r *Resolver) fetcher(p *progress) *fetcher {
	return &fetcher{client: r.Client, idle: r.IdleTimeout, attempts: r.Attempts, backoff: r.Backoff, progress: p}
}
