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
	// Plain curve25519: the default hybrid ML-KEM key exchange runs code
	// the guest has not run before, which TCG must first translate (measured
	// on Debian 6.1 under TCG: ~60 ms instead of ~100 ms for the guest's
	// first handshake). The link is 127.0.0.1 to a throwaway guest.
	cfg.KeyExchanges = []string{ssh.KeyExchangeCurve25519}
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
//
// When eth0 comes up, slirp delivers every SYN it still holds at once, so
// many attempts reach the guest together. Only one of them goes on to the
// key exchange at a time (see sshAttempt): concurrent handshakes only
// share the guest's vCPU (measured under TCG: ten handshakes at once took
// ~250 ms, one ~50 ms).
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
// (host key mismatch, authentication refused: *InfraError). When kick is
// closed (the agent said on the console that it listens), one more attempt
// starts at once, even with maxInflight pending: those may all be stuck in
// slirp's SYN backoff.
func dialSSH(ctx context.Context, addr string, auth *sshAuth, log io.Writer, kick <-chan struct{}) (*ssh.Client, error) {
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	results := make(chan attemptResult)
	done := make(chan struct{})
	defer close(done)
	gate := make(chan struct{}, 1) // held by the attempt in its key exchange
	inflight, attempts := 0, 0
	var lastErr error
	attempt := func() {
		inflight++
		attempts++
		go func() {
			r := sshAttempt(actx, addr, auth, gate)
			select {
			case results <- r:
			case <-done:
				if r.client != nil {
					r.client.Close()
				}
			}
		}()
	}
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: %w after %d attempts (last: %v)", addr, ctx.Err(), attempts, lastErr)
		case <-kick:
			kick = nil
			attempt()
		case <-next.C:
			if inflight < maxInflight {
				attempt()
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
// attemptTimeout and ctx. The server speaks first (its identification
// line), which costs the guest nothing and shows that its SSH server, not
// just slirp, is there; the attempt then holds gate (a one-slot semaphore
// shared by the attempts of one dialSSH) for the key exchange, so that the
// attempts that reach the guest together do not share its CPU.
func sshAttempt(ctx context.Context, addr string, auth *sshAuth, gate chan struct{}) attemptResult {
	deadline := time.Now().Add(attemptTimeout)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return attemptResult{err: err}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetDeadline(deadline)
	fail := func(err error) attemptResult {
		stop()
		conn.Close()
		return attemptResult{err: err}
	}
	ident, err := readIdent(conn)
	if err != nil {
		return fail(err)
	}
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	select {
	case gate <- struct{}{}:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-wait.C:
		return fail(fmt.Errorf("waiting for another attempt's handshake: %w", os.ErrDeadlineExceeded))
	}
	defer func() { <-gate }()
	var kex atomic.Bool
	c, chans, reqs, err := ssh.NewClientConn(&replayConn{Conn: conn, head: ident}, addr, auth.clientConfig(&kex))
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

// maxIdentLen bounds the server's identification line (RFC 4253 4.2: 255
// bytes including CR LF).
const maxIdentLen = 255

// readIdent reads the server's first line (its identification string,
// "SSH-2.0-…"), byte by byte so that nothing after it is consumed. An EOF
// here is "not up yet": slirp closes the connection when the guest resets it.
func readIdent(conn net.Conn) ([]byte, error) {
	buf := make([]byte, 0, 64)
	var b [1]byte
	for len(buf) < maxIdentLen {
		if _, err := conn.Read(b[:]); err != nil {
			return nil, fmt.Errorf("ssh identification: %w", err)
		}
		buf = append(buf, b[0])
		if b[0] == '\n' {
			return buf, nil
		}
	}
	return nil, fmt.Errorf("ssh identification: no line end in %d bytes", maxIdentLen)
}

// replayConn returns head before reading on from Conn.
type replayConn struct {
	net.Conn
	head []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	return c.Conn.Read(p)
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
