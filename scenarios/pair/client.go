package pair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Keepalive says when the client sets SO_KEEPALIVE on its socket.
type Keepalive string

const (
	// KeepaliveBefore sets SO_KEEPALIVE after socket() and before
	// connect(): the path LP #2125444 is about.
	KeepaliveBefore Keepalive = "before"
	// KeepaliveAfter sets SO_KEEPALIVE on the connected socket.
	KeepaliveAfter Keepalive = "after"
	// KeepaliveOff never sets it.
	KeepaliveOff Keepalive = "off"
)

// ParseKeepalive checks a --keepalive value.
func ParseKeepalive(s string) (Keepalive, error) {
	switch k := Keepalive(s); k {
	case KeepaliveBefore, KeepaliveAfter, KeepaliveOff:
		return k, nil
	}
	return "", fmt.Errorf("keepalive %q: want before, after or off", s)
}

// ClientConfig configures RunClient.
type ClientConfig struct {
	Connect   string        // server ip:port
	Bind      string        // optional local ip or ip:port
	Keepalive Keepalive     // when to set SO_KEEPALIVE
	MPTCP     bool          // ask for an MPTCP socket (default in the binary)
	Hold      time.Duration // idle time after the greeting, at most
	Ready     string        // file created once the greeting was read ("" = none)
	Timeout   time.Duration // bound for connect and greeting (default 10s)
}

// ControlCall records one socket the dialer created (Go retries with plain
// TCP when the MPTCP socket fails, so there can be two).
type ControlCall struct {
	Network string `json:"network"`
	Address string `json:"address"`
	// Protocol is SO_PROTOCOL of the new socket, before connect().
	Protocol int `json:"so_protocol"`
	// KeepaliveSet is true when SO_KEEPALIVE=1 was set here (mode before).
	KeepaliveSet bool   `json:"keepalive_set"`
	KeepaliveErr string `json:"keepalive_err,omitempty"`
	// Readback is SO_KEEPALIVE read back right after setting it.
	Readback int `json:"so_keepalive_readback"`
}

// ClientFacts is the client's JSON line.
type ClientFacts struct {
	Role      string        `json:"role"` // "client"
	Connect   string        `json:"connect"`
	Bind      string        `json:"bind,omitempty"`
	Keepalive Keepalive     `json:"keepalive"`
	MPTCP     bool          `json:"mptcp_requested"`
	Controls  []ControlCall `json:"control_calls,omitempty"`

	Connected bool   `json:"connected"`
	Local     string `json:"local,omitempty"`
	Remote    string `json:"remote,omitempty"`
	// MultipathTCP is Go's conn.MultipathTCP() after the greeting.
	MultipathTCP    bool   `json:"multipath_tcp"`
	MultipathTCPErr string `json:"multipath_tcp_err,omitempty"`
	// KeepaliveAfterErr is the setsockopt error of mode after.
	KeepaliveAfterErr string `json:"keepalive_after_err,omitempty"`
	// AfterGreeting is read from the MPTCP socket once the greeting arrived;
	// AtEnd when the hold ended, just before close.
	AfterGreeting SockInfo `json:"after_greeting"`
	AtEnd         SockInfo `json:"at_end"`
	Greeting      int      `json:"greeting_bytes"`

	// EndedBy is "hold", "signal" or "peer" (server closed or reset).
	EndedBy string   `json:"ended_by,omitempty"`
	Errors  []string `json:"errors,omitempty"`

	Start       time.Time `json:"start"`
	ConnectedAt time.Time `json:"connected_at,omitzero"`
	GreetedAt   time.Time `json:"greeted_at,omitzero"`
	End         time.Time `json:"end"`
}

// OK reports whether the client got as far as it should: connected and
// greeted. The binary exits non-zero otherwise.
func (f *ClientFacts) OK() bool { return f.Connected && f.Greeting > 0 }

func (f *ClientFacts) errorf(format string, args ...any) {
	f.Errors = append(f.Errors, fmt.Sprintf(format, args...))
}

// RunClient connects, reads the greeting, holds the connection idle and
// returns the facts. Cancelling ctx ends the hold early (that is how the
// harness lets the client go once its captures are stopped); it also aborts
// a connect in progress.
func RunClient(ctx context.Context, cfg ClientConfig) (f ClientFacts) {
	f = ClientFacts{Role: "client", Connect: cfg.Connect, Bind: cfg.Bind, Keepalive: cfg.Keepalive, MPTCP: cfg.MPTCP, Start: time.Now()}
	defer func() { f.End = time.Now() }()
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}

	d := net.Dialer{
		// -1: Go must not enable keepalive (nor set TCP_KEEPIDLE) itself;
		// the only SO_KEEPALIVE is ours.
		KeepAlive: -1,
		Timeout:   timeout,
		Control: func(network, address string, c syscall.RawConn) error {
			call := ControlCall{Network: network, Address: address}
			err := rawControl(c, func(fd int) {
				call.Protocol = readSockInfo(fd).Protocol
				if cfg.Keepalive != KeepaliveBefore {
					return
				}
				if err := setKeepalive(fd); err != nil {
					call.KeepaliveErr = err.Error()
					return
				}
				call.KeepaliveSet = true
				call.Readback = readSockInfo(fd).Keepalive
			})
			f.Controls = append(f.Controls, call)
			if err != nil {
				return fmt.Errorf("control on new socket: %w", err)
			}
			if call.KeepaliveErr != "" {
				return errors.New(call.KeepaliveErr)
			}
			return nil
		},
	}
	d.SetMultipathTCP(cfg.MPTCP)
	if cfg.Bind != "" {
		laddr, err := resolveBind(cfg.Bind)
		if err != nil {
			f.errorf("bind: %v", err)
			return f
		}
		d.LocalAddr = laddr
	}

	c, err := d.DialContext(ctx, "tcp", cfg.Connect)
	if err != nil {
		f.errorf("connect %s: %v", cfg.Connect, err)
		return f
	}
	conn := c.(*net.TCPConn)
	defer conn.Close()
	f.Connected, f.ConnectedAt = true, time.Now()
	f.Local, f.Remote = conn.LocalAddr().String(), conn.RemoteAddr().String()
	raw, err := conn.SyscallConn()
	if err != nil {
		f.errorf("raw conn: %v", err)
		return f
	}
	if cfg.Keepalive == KeepaliveAfter {
		if err := rawControl(raw, func(fd int) {
			if err := setKeepalive(fd); err != nil {
				f.KeepaliveAfterErr = err.Error()
			}
		}); err != nil {
			f.errorf("keepalive after connect: %v", err)
		}
	}

	// The greeting makes the MPTCP connection fully established; only then
	// does the in-kernel path manager create join subflows.
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := conn.Read(buf)
	f.Greeting = n
	if n == 0 {
		f.errorf("read greeting: %v", err)
		return f
	}
	f.GreetedAt = time.Now()
	conn.SetReadDeadline(time.Time{})
	f.MultipathTCP, err = conn.MultipathTCP()
	if err != nil {
		f.MultipathTCPErr = err.Error()
	}
	rawControl(raw, func(fd int) { f.AfterGreeting = readSockInfo(fd) })
	if cfg.Ready != "" {
		if err := writeReady(cfg.Ready, f.Local); err != nil {
			f.errorf("ready file: %v", err)
		}
	}

	// Idle: a blocked read sends nothing, and tells us if the peer goes.
	peer := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		peer <- err
	}()
	hold := time.NewTimer(cfg.Hold)
	defer hold.Stop()
	select {
	case <-hold.C:
		f.EndedBy = "hold"
	case <-ctx.Done():
		f.EndedBy = "signal"
	case err := <-peer:
		f.EndedBy = "peer"
		if err != nil {
			f.errorf("peer: %v", err)
		}
	}
	rawControl(raw, func(fd int) { f.AtEnd = readSockInfo(fd) })
	return f
}

// resolveBind accepts "ip" or "ip:port".
func resolveBind(s string) (*net.TCPAddr, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(s, "0")
	}
	return net.ResolveTCPAddr("tcp", s)
}
