package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// monitor wraps go-qemu's qmp.SocketMonitor so that no call can hang and no
// known defect bites (go-qemu read at ee9b0668d242, qmp/socket.go):
//
//   - Connect reads the greeting and the qmp_capabilities reply with no
//     deadline, and the connection is unexported so none can be set: it runs
//     in a goroutine, and when the context ends QEMU is killed, which closes
//     the socket and unblocks the read.
//   - Run waits on the reply stream with no deadline: same treatment.
//   - An event arriving before the qmp_capabilities reply is taken for the
//     reply, and every later reply is then shifted by one: every command
//     carries an "id" and a reply with another id is skipped by sending a
//     cheap filler command to pull the next one (see run).
//   - Replies over 64 KiB end the reader (bufio.Scanner limit): only small
//     commands are used (qmp_capabilities, query-status, query-version, quit).
//   - Events() is an unbuffered channel shared with the reader, so unread
//     events block every command: it is drained from the moment Connect
//     returns until the socket closes.
//   - Error classes are lost (only the description survives): callers here
//     branch on nothing but success.
type monitor struct {
	mon  *qmp.SocketMonitor
	kill func() // kills QEMU; used when a call's context ends
	seq  atomic.Int64

	mu     sync.Mutex
	events []string // names of the events seen, for diagnostics
	done   chan struct{}
}

// qmpDialEvery is the retry interval while QEMU creates its QMP socket.
const qmpDialEvery = 10 * time.Millisecond

// connectQMP dials the socket at path (retrying until QEMU has created it),
// performs the capabilities handshake and starts draining events. It gives
// up when ctx ends (killing QEMU) or when exited closes.
func connectQMP(ctx context.Context, path string, exited <-chan struct{}, kill func()) (*monitor, error) {
	var mon *qmp.SocketMonitor
	for {
		var err error
		mon, err = qmp.NewSocketMonitor("unix", path, time.Second)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp: dial %s: %w (last error: %v)", path, ctx.Err(), err)
		case <-exited:
			return nil, fmt.Errorf("qmp: dial %s: %w", path, ErrExited)
		case <-time.After(qmpDialEvery):
		}
	}
	m := &monitor{mon: mon, kill: kill, done: make(chan struct{})}
	if err := m.bounded(ctx, "qmp_capabilities", mon.Connect); err != nil {
		mon.Disconnect()
		return nil, err
	}
	events, err := mon.Events(ctx)
	if err != nil {
		mon.Disconnect()
		return nil, fmt.Errorf("qmp: events: %w", err)
	}
	go func() {
		defer close(m.done)
		for ev := range events {
			m.mu.Lock()
			if len(m.events) < 64 {
				m.events = append(m.events, ev.Event)
			}
			m.mu.Unlock()
		}
	}()
	return m, nil
}

// bounded runs fn; if ctx ends first, QEMU is killed so fn returns, and the
// context's error is returned.
func (m *monitor) bounded(ctx context.Context, what string, fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("qmp: %s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		m.kill()
		<-errc // the socket is closed by QEMU's death: fn returns
		return fmt.Errorf("qmp: %s: %w", what, ctx.Err())
	}
}

// qmpReply is the part of a reply this package reads.
type qmpReply struct {
	ID     string          `json:"id"`
	Return json.RawMessage `json:"return"`
}

// maxFillers bounds how far run chases a shifted reply stream.
const maxFillers = 3

// run executes one command and returns its "return" value.
func (m *monitor) run(ctx context.Context, command string) (json.RawMessage, error) {
	id := fmt.Sprintf("srutest-%d", m.seq.Add(1))
	cmd, _ := json.Marshal(qmp.Command{Execute: command})
	cmd = append(cmd[:len(cmd)-1], []byte(fmt.Sprintf(`,"id":%q}`, id))...)
	var ret json.RawMessage
	err := m.bounded(ctx, command, func() error {
		raw, err := m.mon.Run(cmd)
		for i := 0; ; i++ {
			if err != nil {
				return err
			}
			var r qmpReply
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("reply %q: %w", raw, err)
			}
			if r.ID == id {
				ret = r.Return
				return nil
			}
			if i == maxFillers {
				return fmt.Errorf("reply stream out of step: got id %q, want %q", r.ID, id)
			}
			// The stream is shifted: our reply is the next one. A filler
			// command pulls it (and leaves its own reply for the next call).
			filler := fmt.Sprintf(`{"execute":"query-version","id":"srutest-filler-%d"}`, m.seq.Add(1))
			raw, err = m.mon.Run([]byte(filler))
		}
	})
	return ret, err
}

// status returns the VM run state ("running", "paused", "internal-error", …).
func (m *monitor) status(ctx context.Context) (string, error) {
	raw, err := m.run(ctx, "query-status")
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Status == "" {
		return "", fmt.Errorf("qmp: query-status: unexpected reply %q", raw)
	}
	return st.Status, nil
}

// quit asks QEMU to exit. QEMU may close the socket before or after
// replying; both mean success, so only a context expiry is an error.
func (m *monitor) quit(ctx context.Context) error {
	_, err := m.run(ctx, "quit")
	if err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// seenEvents returns the names of the events received so far.
func (m *monitor) seenEvents() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.events...)
}

// close disconnects. Disconnect drains the reply stream until the reader
// ends, which happens once the socket is closed, so it cannot hang.
func (m *monitor) close() {
	m.mon.Disconnect()
	<-m.done
}
