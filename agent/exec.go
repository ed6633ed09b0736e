package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// outputIdleAfterExit is how long the output copiers keep reading once the
// command itself has exited: everything the command wrote is already in
// the pipe and is read at once; only a background job that kept stdout
// open (sh -c 'tcpdump … &' without redirection) can make a pipe stay open,
// and the session must not hang on it forever as OpenSSH would. Output
// that keeps coming keeps the copier going; silence this long ends it.
const outputIdleAfterExit = 250 * time.Millisecond

// run runs argv in a new session (so it has its own process group for
// signals and kills), with a pty when one was requested, and returns how
// it ended once all its output was sent.
func (s *session) run(argv ...string) exitStatus {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), s.cfg.env()...), s.env...)
	cmd.Dir = s.cfg.Dir
	if s.ptyReq != nil {
		return s.runPTY(cmd)
	}
	return s.runPipes(cmd)
}

func (s *session) runPipes(cmd *exec.Cmd) exitStatus {
	var files []*os.File // closed on every path
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return s.startFailed(err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return s.startFailed(err)
	}
	errR, errW, err := pipe()
	if err != nil {
		return s.startFailed(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := s.cfg.Reaper.Start(cmd); err != nil {
		return s.startFailed(err)
	}
	s.started1(cmd, nil)
	// The child has its copies; ours would keep the pipes open.
	inR.Close()
	outW.Close()
	errW.Close()

	// stdin: until the client sends EOF; the channel's close at the end
	// unblocks it otherwise. Closing inW tells the command EOF.
	go func() {
		io.Copy(inW, s.ch)
		inW.Close()
	}()
	var exited atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyOutput(s.ch, outR, &exited) }()
	go func() { defer wg.Done(); copyOutput(s.ch.Stderr(), errR, &exited) }()
	werr := cmd.Wait()
	s.exited1(cmd)
	exited.Store(true)
	outR.SetReadDeadline(time.Now().Add(outputIdleAfterExit))
	errR.SetReadDeadline(time.Now().Add(outputIdleAfterExit))
	wg.Wait()
	return statusOf(werr)
}

func (s *session) runPTY(cmd *exec.Cmd) exitStatus {
	master, slave, err := openPTY(s.cfg.ptmx())
	if err != nil {
		return s.startFailed(err)
	}
	defer master.Close()
	term := s.ptyReq.Term
	if term == "" {
		term = "vt100"
	}
	cmd.Env = append(cmd.Env, "TERM="+term)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	s.mu.Lock()
	setWinsize(master, s.winCols, s.winRows)
	s.mu.Unlock()
	err = s.cfg.Reaper.Start(cmd)
	slave.Close()
	if err != nil {
		return s.startFailed(err)
	}
	s.started1(cmd, master)
	go io.Copy(master, s.ch) // keys; ends when the channel or master closes
	var exited atomic.Bool
	copied := make(chan struct{})
	go func() { defer close(copied); copyOutput(s.ch, master, &exited) }()
	werr := cmd.Wait()
	s.exited1(cmd)
	exited.Store(true)
	master.SetReadDeadline(time.Now().Add(outputIdleAfterExit))
	<-copied
	s.mu.Lock()
	s.master = nil
	s.mu.Unlock()
	return statusOf(werr)
}

// started1 records the running command (its pid is its process group: it
// was started with Setsid). A client that left meanwhile gets it killed.
func (s *session) started1(cmd *exec.Cmd, master *os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pgid = cmd.Process.Pid
	s.master = master
	select {
	case <-s.gone:
		unix.Kill(-s.pgid, unix.SIGKILL)
	default:
	}
}

func (s *session) exited1(cmd *exec.Cmd) {
	s.cfg.Reaper.Done(cmd)
	s.mu.Lock()
	s.exited = true
	s.mu.Unlock()
}

func (s *session) startFailed(err error) exitStatus {
	fmt.Fprintf(s.ch.Stderr(), "srutest-agent: %v\n", err)
	return exitStatus{code: 127}
}

// copyOutput copies src to dst until EOF (or EIO: a pty whose slave is
// closed everywhere), a write error, or — once exited is set — a read that
// waited outputIdleAfterExit for nothing.
func copyOutput(dst io.Writer, src *os.File, exited *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		if exited.Load() {
			src.SetReadDeadline(time.Now().Add(outputIdleAfterExit))
		}
		n, err := src.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
			// A deadline set by the waiter while this copier was busy
			// writing (a starved guest: several cells at once on a loaded
			// TCG host) may have expired before this Read, and an expired
			// deadline fails the Read without looking at the pipe — the
			// command's last output was lost that way (an empty ss
			// snapshot). Look once more with a fresh deadline: data
			// already in the pipe comes back at once.
			src.SetReadDeadline(time.Now().Add(outputIdleAfterExit))
			n, err = src.Read(buf)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && n == 0 {
			return // EOF, EIO, deadline or closed
		}
	}
}

// statusOf maps exec.Cmd.Wait's error to an SSH exit.
func statusOf(err error) exitStatus {
	if err == nil {
		return exitStatus{}
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return exitStatus{code: 255, signal: "", msg: err.Error()}
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		name := unix.SignalName(ws.Signal())
		if len(name) > 3 {
			name = name[3:] // "SIGKILL" → "KILL"
		} else {
			name = fmt.Sprint(int(ws.Signal()))
		}
		return exitStatus{signal: name, core: ws.CoreDump()}
	}
	return exitStatus{code: ee.ExitCode()}
}

// sftp serves the sftp subsystem on the channel until the client closes it.
func (s *session) sftp() exitStatus {
	var opts []sftp.ServerOption
	if s.cfg.Dir != "" {
		opts = append(opts, sftp.WithServerWorkingDirectory(s.cfg.Dir))
	}
	srv, err := sftp.NewServer(s.ch, opts...)
	if err != nil {
		return s.startFailed(fmt.Errorf("sftp: %w", err))
	}
	err = srv.Serve()
	srv.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return exitStatus{code: 1, msg: err.Error()}
	}
	return exitStatus{}
}
