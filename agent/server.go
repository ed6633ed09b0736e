package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/srutest/srutest/internal/wire"
)

// handshakeTimeout bounds the SSH handshake of one connection, so a client
// that connects and says nothing does not hold a goroutine forever.
const handshakeTimeout = 30 * time.Second

// Serve serves SSH on l until ctx ends or l fails. On return the listener
// and every connection are closed and every session has ended (its
// command killed if it was still running).
func Serve(ctx context.Context, l net.Listener, cfg Config) error {
	sc, err := cfg.serverConfig()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, sc, &cfg)
		}()
	}
}

// serveConn runs one SSH connection until the client leaves or ctx ends.
func serveConn(ctx context.Context, c net.Conn, sc *ssh.ServerConfig, cfg *Config) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(c, sc)
	if err != nil {
		// The host dials several times while the guest boots and drops
		// the attempts it does not need: a closed connection is normal.
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
			cfg.logf("ssh handshake from %s: %v", c.RemoteAddr(), err)
		}
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { sconn.Close() })
	defer stop()
	defer sconn.Close()

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		globalRequests(reqs, cfg)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			cfg.logf("accept channel: %v", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			newSession(cfg, ch).serve(creqs)
		}()
	}
}

func globalRequests(reqs <-chan *ssh.Request, cfg *Config) {
	for r := range reqs {
		if r.Type == wire.PowerOffRequest && cfg.PowerOff != nil {
			r.Reply(true, nil)
			cfg.PowerOff()
			continue
		}
		r.Reply(false, nil) // no-op when no reply is wanted
	}
}
