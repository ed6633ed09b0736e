package agent

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// Config is the SSH server configuration.
type Config struct {
	Server *ssh.ServerConfig
	Shell  string
	// PowerOff is called on the "srutest-poweroff" global request.
	PowerOff func()
}

// LoadConfig reads the host key and the authorized client keys.
func LoadConfig(hostKey, authorized string) (*Config, error) {
	pem, err := os.ReadFile(hostKey)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", hostKey, err)
	}
	ak, err := os.ReadFile(authorized)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	return NewConfig(signer, ak)
}

// NewConfig builds a server that accepts only the given authorized keys.
func NewConfig(hostKey ssh.Signer, authorized []byte) (*Config, error) {
	allowed := map[string]bool{}
	for len(authorized) > 0 {
		pk, _, _, rest, err := ssh.ParseAuthorizedKey(authorized)
		if err != nil {
			break
		}
		allowed[string(pk.Marshal())] = true
		authorized = rest
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("no authorized keys")
	}
	sc := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if allowed[string(key.Marshal())] {
				return nil, nil
			}
			return nil, fmt.Errorf("key not authorized")
		},
	}
	sc.AddHostKey(hostKey)
	return &Config{Server: sc, Shell: "/bin/sh", PowerOff: powerOff}, nil
}

// ListenAndServe serves SSH on addr; ready is called once listening.
func ListenAndServe(addr string, cfg *Config, ready func()) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	return Serve(l, cfg)
}

// Serve accepts SSH connections on l until it fails.
func Serve(l net.Listener, cfg *Config) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go handleConn(c, cfg)
	}
}

func handleConn(c net.Conn, cfg *Config) {
	sconn, chans, reqs, err := ssh.NewServerConn(c, cfg.Server)
	if err != nil {
		c.Close()
		return
	}
	defer sconn.Close()
	go func() {
		for r := range reqs {
			if r.Type == "srutest-poweroff" && cfg.PowerOff != nil {
				if r.WantReply {
					r.Reply(true, nil)
				}
				cfg.PowerOff()
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go (&session{cfg: cfg, ch: ch}).serve(creqs)
	}
}

type session struct {
	cfg     *Config
	ch      ssh.Channel
	env     []string
	ptyReq  *ptyRequest
	mu      sync.Mutex
	cmd     *exec.Cmd
	ptyFile *os.File
	started bool
}

type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

func (s *session) serve(reqs <-chan *ssh.Request) {
	defer s.ch.Close()
	done := make(chan struct{})
	for {
		var r *ssh.Request
		select {
		case r = <-reqs:
		case <-done:
			return
		}
		if r == nil {
			s.kill()
			return
		}
		ok := false
		switch r.Type {
		case "env":
			var kv struct{ K, V string }
			if ssh.Unmarshal(r.Payload, &kv) == nil {
				s.env = append(s.env, kv.K+"="+kv.V)
				ok = true
			}
		case "pty-req":
			var p ptyRequest
			if ssh.Unmarshal(r.Payload, &p) == nil {
				s.ptyReq, ok = &p, true
			}
		case "window-change":
			if len(r.Payload) >= 8 {
				s.resize(binary.BigEndian.Uint32(r.Payload), binary.BigEndian.Uint32(r.Payload[4:]))
				ok = true
			}
		case "signal":
			var sig struct{ Name string }
			if ssh.Unmarshal(r.Payload, &sig) == nil {
				ok = s.signal(sig.Name)
			}
		case "exec", "shell":
			var cmd struct{ Command string }
			if r.Type == "exec" {
				ssh.Unmarshal(r.Payload, &cmd)
			}
			if !s.started {
				s.started, ok = true, true
				go func() { s.run(cmd.Command); close(done) }()
			}
		case "subsystem":
			var sub struct{ Name string }
			if ssh.Unmarshal(r.Payload, &sub) == nil && sub.Name == "sftp" && !s.started {
				s.started, ok = true, true
				go func() {
					srv, err := sftp.NewServer(s.ch)
					if err == nil {
						srv.Serve()
						srv.Close()
					}
					s.exitStatus(0)
					close(done)
				}()
			}
		}
		if r.WantReply {
			r.Reply(ok, nil)
		}
	}
}

func (s *session) run(command string) {
	var cmd *exec.Cmd
	if command == "" {
		cmd = exec.Command(s.cfg.Shell, "-i")
	} else {
		cmd = exec.Command(s.cfg.Shell, "-c", command)
	}
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = "/root"
	os.MkdirAll("/root", 0o700)
	var err error
	if s.ptyReq != nil {
		cmd.Env = append(cmd.Env, "TERM="+s.ptyReq.Term)
		s.mu.Lock()
		s.cmd = cmd
		f, perr := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(s.ptyReq.Cols), Rows: uint16(s.ptyReq.Rows)})
		s.ptyFile = f
		s.mu.Unlock()
		if perr != nil {
			fmt.Fprintf(s.ch.Stderr(), "pty: %v\n", perr)
			s.exitStatus(127)
			return
		}
		track(cmd.Process.Pid, true)
		go io.Copy(f, s.ch)
		io.Copy(s.ch, f) // ends with EIO when the shell exits
		err = cmd.Wait()
		track(cmd.Process.Pid, false)
		f.Close()
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		stderr, _ := cmd.StderrPipe()
		s.mu.Lock()
		s.cmd = cmd
		err = cmd.Start()
		s.mu.Unlock()
		if err != nil {
			fmt.Fprintf(s.ch.Stderr(), "start: %v\n", err)
			s.exitStatus(127)
			return
		}
		track(cmd.Process.Pid, true)
		go func() { io.Copy(stdin, s.ch); stdin.Close() }()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { io.Copy(s.ch, stdout); wg.Done() }()
		go func() { io.Copy(s.ch.Stderr(), stderr); wg.Done() }()
		wg.Wait() // all output is sent before the exit status
		err = cmd.Wait()
		track(cmd.Process.Pid, false)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Msg, Lang  string
			}{strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG"), false, "", ""}))
			s.ch.CloseWrite()
			return
		}
		code = ee.ExitCode()
	} else if err != nil {
		code = 255
	}
	s.exitStatus(code)
}

func (s *session) exitStatus(code int) {
	s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ C uint32 }{uint32(code)}))
	s.ch.CloseWrite()
}

func (s *session) resize(cols, rows uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptyReq != nil {
		s.ptyReq.Cols, s.ptyReq.Rows = cols, rows
	}
	if s.ptyFile != nil {
		pty.Setsize(s.ptyFile, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	}
}

// signal forwards an SSH signal to the command's process group.
func (s *session) signal(name string) bool {
	sig := unix.SignalNum("SIG" + name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sig == 0 || s.cmd == nil || s.cmd.Process == nil {
		return false
	}
	return unix.Kill(-s.cmd.Process.Pid, sig) == nil || unix.Kill(s.cmd.Process.Pid, sig) == nil
}

// kill ends the command's process group when the client went away.
func (s *session) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil && s.cmd.ProcessState == nil {
		unix.Kill(-s.cmd.Process.Pid, unix.SIGKILL)
		s.cmd.Process.Kill()
	}
}

// PID 1 inherits orphans (tcpdump, ip netns exec, backgrounded shells) and
// must reap them, but a global wait would steal exit statuses that
// exec.Cmd.Wait needs. So only zombies whose pid is not one of our own
// commands are reaped, found by scanning /proc.
var (
	trackedMu sync.Mutex
	tracked   = map[int]bool{}
)

func track(pid int, on bool) {
	trackedMu.Lock()
	defer trackedMu.Unlock()
	if on {
		tracked[pid] = true
	} else {
		delete(tracked, pid)
	}
}

func reapOrphans() {
	for range time.Tick(500 * time.Millisecond) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil || !ZombieChildOfInit(st) {
				continue
			}
			trackedMu.Lock()
			mine := tracked[pid]
			trackedMu.Unlock()
			if !mine {
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			}
		}
	}
}

// ZombieChildOfInit reports whether a /proc/<pid>/stat line is a zombie
// whose parent is PID 1.
func ZombieChildOfInit(stat []byte) bool {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(s[i+1:])
	return len(f) >= 2 && f[0] == "Z" && f[1] == "1"
}
