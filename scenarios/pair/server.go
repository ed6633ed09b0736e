package pair

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// ServerConfig configures RunServer.
type ServerConfig struct {
	Listen   string        // ip:port
	MPTCP    bool          // MPTCP listener; false = plain TCP (fallback scenario)
	Greeting bool          // send one byte after accept
	Ready    string        // file created once listening ("" = none)
	Timeout  time.Duration // overall bound: accept + connection lifetime (default 2m)
}

// ServerFacts is the server's JSON line.
type ServerFacts struct {
	Role   string `json:"role"` // "server"
	Listen string `json:"listen"`
	MPTCP  bool   `json:"mptcp_requested"`
	// ListenerProtocol is SO_PROTOCOL of the listening socket (262 MPTCP,
	// 6 TCP): proof of what the fallback server really listened with.
	ListenerProtocol int    `json:"listener_so_protocol"`
	Accepted         bool   `json:"accepted"`
	Local            string `json:"local,omitempty"`
	Remote           string `json:"remote,omitempty"`
	MultipathTCP     bool   `json:"multipath_tcp"`
	MultipathTCPErr  string `json:"multipath_tcp_err,omitempty"`
	// Conn is read from the accepted socket right after the greeting.
	Conn      SockInfo `json:"conn"`
	Greeting  int      `json:"greeting_bytes"`
	BytesRead int64    `json:"bytes_read"`
	// EndedBy is "peer" (client closed), "signal" or "timeout".
	EndedBy string   `json:"ended_by,omitempty"`
	Errors  []string `json:"errors,omitempty"`

	Start      time.Time `json:"start"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	End        time.Time `json:"end"`
}

// OK reports whether the server accepted a connection without errors.
func (f *ServerFacts) OK() bool { return f.Accepted && len(f.Errors) == 0 }

func (f *ServerFacts) errorf(format string, args ...any) {
	f.Errors = append(f.Errors, fmt.Sprintf(format, args...))
}

// RunServer listens, accepts one connection, greets it and keeps it open
// until the client closes it, ctx is cancelled or the timeout expires.
func RunServer(ctx context.Context, cfg ServerConfig) (f ServerFacts) {
	f = ServerFacts{Role: "server", Listen: cfg.Listen, MPTCP: cfg.MPTCP, Start: time.Now()}
	defer func() { f.End = time.Now() }()
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// KeepAlive -1: Go enables 15 s keepalive on accepted sockets by
	// default; the server must not probe (only client probes are counted,
	// but a quiet server keeps the capture easy to read).
	lc := net.ListenConfig{KeepAlive: -1}
	// Go ≥ 1.24 listeners are MPTCP by default: say it explicitly both ways.
	lc.SetMultipathTCP(cfg.MPTCP)
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		f.errorf("listen %s: %v", cfg.Listen, err)
		return f
	}
	defer ln.Close()
	if raw, err := ln.(*net.TCPListener).SyscallConn(); err == nil {
		rawControl(raw, func(fd int) { f.ListenerProtocol = readSockInfo(fd).Protocol })
	}
	if cfg.Ready != "" {
		if err := writeReady(cfg.Ready, ln.Addr().String()); err != nil {
			f.errorf("ready file: %v", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	c, err := ln.Accept()
	if err != nil {
		f.EndedBy = endedBy(ctx)
		f.errorf("accept: %v", err)
		return f
	}
	conn := c.(*net.TCPConn)
	defer conn.Close()
	f.Accepted, f.AcceptedAt = true, time.Now()
	f.Local, f.Remote = conn.LocalAddr().String(), conn.RemoteAddr().String()
	stopConn := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopConn()

	if cfg.Greeting {
		n, err := conn.Write([]byte{'G'})
		f.Greeting = n
		if err != nil {
			f.errorf("greeting: %v", err)
		}
	}
	f.MultipathTCP, err = conn.MultipathTCP()
	if err != nil {
		f.MultipathTCPErr = err.Error()
	}
	if raw, err := conn.SyscallConn(); err == nil {
		rawControl(raw, func(fd int) { f.Conn = readSockInfo(fd) })
	}
	f.BytesRead, err = io.Copy(io.Discard, conn)
	if ctx.Err() != nil {
		f.EndedBy = endedBy(ctx)
		return f
	}
	f.EndedBy = "peer"
	if err != nil {
		f.errorf("read: %v", err)
	}
	return f
}

func endedBy(ctx context.Context) string {
	if ctx.Err() == context.DeadlineExceeded {
		return "timeout"
	}
	if ctx.Err() != nil {
		return "signal"
	}
	return ""
}
