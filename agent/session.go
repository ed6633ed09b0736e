package agent

import (
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// session is one "session" channel: at most one command (exec, shell or
// sftp) and the requests that shape it.
type session struct {
	cfg *Config
	ch  ssh.Channel

	// Only the request loop touches these.
	env     []string
	ptyReq  *ptyRequest
	started bool

	gone chan struct{} // closed when the client closed the channel or left
	done chan struct{} // closed when the command's goroutine finished

	mu      sync.Mutex
	pgid    int      // process group of the running command, 0 before start
	exited  bool     // the command's leader was reaped
	master  *os.File // pty master while a pty command runs
	winCols uint32
	winRows uint32
}

// ptyRequest is the "pty-req" payload (RFC 4254 §6.2).
type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

func newSession(cfg *Config, ch ssh.Channel) *session {
	return &session{cfg: cfg, ch: ch, gone: make(chan struct{}), done: make(chan struct{})}
}

// serve handles the channel's requests until the client closes the
// channel. A command still running then is killed with its process group:
// the client went away (or cancelled) and nobody will read its output.
func (s *session) serve(reqs <-chan *ssh.Request) {
	for r := range reqs {
		ok := s.handle(r)
		if r.WantReply {
			r.Reply(ok, nil)
		}
	}
	close(s.gone)
	s.kill()
	if s.started {
		<-s.done
	}
	s.ch.Close()
}

func (s *session) handle(r *ssh.Request) bool {
	switch r.Type {
	case "env":
		var kv struct{ Name, Value string }
		if s.started || ssh.Unmarshal(r.Payload, &kv) != nil {
			return false
		}
		s.env = append(s.env, kv.Name+"="+kv.Value)
		return true
	case "pty-req":
		var p ptyRequest
		if s.started || ssh.Unmarshal(r.Payload, &p) != nil {
			return false
		}
		s.ptyReq = &p
		s.mu.Lock()
		s.winCols, s.winRows = p.Cols, p.Rows
		s.mu.Unlock()
		return true
	case "window-change":
		var w struct{ Cols, Rows, Width, Height uint32 }
		if ssh.Unmarshal(r.Payload, &w) != nil {
			return false
		}
		return s.resize(w.Cols, w.Rows)
	case "signal":
		var sig struct{ Signal string }
		if ssh.Unmarshal(r.Payload, &sig) != nil {
			return false
		}
		return s.signal(sig.Signal)
	case "exec", "shell", "subsystem":
		if s.started {
			return false
		}
		var arg struct{ Value string }
		if r.Type != "shell" && ssh.Unmarshal(r.Payload, &arg) != nil {
			return false
		}
		if r.Type == "subsystem" && arg.Value != "sftp" {
			return false
		}
		s.started = true
		go s.start(r.Type, arg.Value)
		return true
	}
	return false
}

// start waits for the modules, runs the command, reports its exit and
// closes the channel.
func (s *session) start(kind, arg string) {
	defer close(s.done)
	if s.cfg.ModulesReady != nil {
		select {
		case <-s.cfg.ModulesReady:
		case <-s.gone:
			return
		}
	}
	var st exitStatus
	switch kind {
	case "subsystem":
		st = s.sftp()
	case "shell":
		st = s.run(s.cfg.shell(), "-i")
	default:
		st = s.run(s.cfg.shell(), "-c", arg)
	}
	s.finish(st)
}

// finish sends EOF, the exit status (or signal) and closes the channel, in
// the order OpenSSH uses, after all output was written.
func (s *session) finish(st exitStatus) {
	s.ch.CloseWrite()
	if st.signal != "" {
		s.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{st.signal, st.core, st.msg, ""}))
	} else {
		s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(st.code)}))
	}
	s.ch.Close()
}

// exitStatus is how a command ended, in SSH terms.
type exitStatus struct {
	code   int
	signal string // without "SIG"; set instead of code when killed
	core   bool
	msg    string
}

func (s *session) resize(cols, rows uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptyReq == nil && s.master == nil {
		return false
	}
	s.winCols, s.winRows = cols, rows
	if s.master != nil {
		return setWinsize(s.master, cols, rows) == nil
	}
	return true
}

// signal forwards an SSH signal name (RFC 4254 §6.9, e.g. "INT") to the
// command's process group, or with a pty to the terminal's foreground
// process group (the job a shell is running, as Ctrl-C would).
func (s *session) signal(name string) bool {
	sig := unix.SignalNum("SIG" + name)
	if sig == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pgid == 0 || s.exited {
		return false
	}
	pgrp := s.pgid
	if s.master != nil {
		if fg, err := foregroundGroup(s.master); err == nil && fg > 0 {
			pgrp = fg
		}
	}
	return unix.Kill(-pgrp, sig) == nil
}

// kill ends a still-running command with its process group. Once the
// leader was reaped the group is left alone: background jobs a finished
// command started (tcpdump &) must outlive the session.
func (s *session) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pgid != 0 && !s.exited {
		unix.Kill(-s.pgid, unix.SIGKILL)
	}
}
