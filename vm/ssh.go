package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshAuth holds the parsed keys: ours to log in, the guest's to pin.
type sshAuth struct {
	signer  ssh.Signer
	hostKey ssh.PublicKey
}

func loadAuth(cfg Config) (*sshAuth, error) {
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cfg.HostKey))
	if err != nil {
		return nil, fmt.Errorf("HostKey %q: %w", firstLine(cfg.HostKey), err)
	}
	pem, err := os.ReadFile(cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("ClientKey: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("ClientKey %s: %w", cfg.ClientKey, err)
	}
	return &sshAuth{signer: signer, hostKey: hk}, nil
}

// clientConfig logs in as root and accepts only the pinned host key. kex is
// set once the server's host key was checked, i.e. the guest's SSH server
// really answered: a later failure is not "not up yet".
func (a *sshAuth) clientConfig(kex *atomic.Bool) *ssh.ClientConfig {
	want := a.hostKey.Marshal()
	cfg := &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			kex.Store(true)
			if !bytes.Equal(got.Marshal(), want) {
				return fmt.Errorf("%w: guest offered %s %s, pinned %s %s", ErrHostKeyMismatch,
					got.Type(), ssh.FingerprintSHA256(got), a.hostKey.Type(), ssh.FingerprintSHA256(a.hostKey))
			}
			return nil
		},
	}
	// Ask for the pinned key's algorithm so a server with several keys shows
	// the right one (RSA keys sign with rsa-sha2-*: leave the default).
	if t := a.hostKey.Type(); t != ssh.KeyAlgoRSA {
		cfg.HostKeyAlgorithms = []string{t}
	}
	return cfg
}

// SSH readiness polling. slirp accepts the host-side TCP connection before
// the guest listens (and may sit on it while its SYN to a guest whose NIC is
// not up yet is retransmitted), so the handshake itself is the readiness
// check: attempts overlap, a new one every attemptEvery while fewer than
// maxInflight are pending, or retryBackoff after a failure.
const (
	attemptTimeout = 10 * time.Second
	attemptEvery   = 100 * time.Millisecond
	retryBackoff   = 50 * time.Millisecond
	// Attempts made before eth0 is up are stuck in slirp's SYN
	// retransmission backoff (1 s, 2 s, …); with few in flight, the guest
	// sat ready for ~2.5 s before a fresh attempt reached it (measured:
	// 6.2 s SSH-ready vs 3.1 s SRUTEST-READY uptime on Debian 6.1 under TCG).
	maxInflight = 32
)

type attemptResult struct {
	client    *ssh.Client
	err       error
	permanent bool
}

// dialSSH returns a client once the handshake, authentication and a session
// open work, or an error when ctx ends or an attempt fails permanently
// (host key mismatch, authentication refused: *InfraError).
func dialSSH(ctx context.Context, addr string, auth *sshAuth, log io.Writer) (*ssh.Client, error) {
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	results := make(chan attemptResult)
	done := make(chan struct{})
	defer close(done)
	inflight, attempts := 0, 0
	var lastErr error
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: %w after %d attempts (last: %v)", addr, ctx.Err(), attempts, lastErr)
		case <-next.C:
			if inflight < maxInflight {
				inflight++
				attempts++
				go func() {
					r := sshAttempt(actx, addr, auth)
					select {
					case results <- r:
					case <-done:
						if r.client != nil {
							r.client.Close()
						}
					}
				}()
			}
			next.Reset(attemptEvery)
		case r := <-results:
			inflight--
			if r.err == nil {
				logf(log, "vm: ssh handshake ok after %d attempts", attempts)
				return r.client, nil
			}
			if r.permanent {
				return nil, infra("ssh "+addr, r.err)
			}
			lastErr = r.err
			if inflight == 0 {
				next.Reset(retryBackoff)
			}
		}
	}
}

// sshAttempt is one dial + handshake + session open, bounded by
// attemptTimeout and ctx.
func sshAttempt(ctx context.Context, addr string, auth *sshAuth) attemptResult {
	d := net.Dialer{Timeout: attemptTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return attemptResult{err: err}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(attemptTimeout))
	var kex atomic.Bool
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, auth.clientConfig(&kex))
	if err != nil {
		stop()
		conn.Close()
		permanent := errors.Is(err, ErrHostKeyMismatch) || (kex.Load() && !transient(err))
		return attemptResult{err: err, permanent: permanent}
	}
	client := ssh.NewClient(c, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		stop()
		client.Close()
		return attemptResult{err: fmt.Errorf("open session: %w", err)}
	}
	sess.Close()
	conn.SetDeadline(time.Time{})
	if !stop() { // ctx ended meanwhile and closed conn
		client.Close()
		return attemptResult{err: ctx.Err()}
	}
	return attemptResult{client: client}
}

// transient reports whether err looks like "the guest is not there yet"
// rather than a refusal.
func transient(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || (errors.As(err, &ne) && ne.Timeout())
}
