package vm

// A fake QEMU for tests: the test binary itself, run through a symlink named
// fakeQEMUName. It understands the arguments BuildArgs produces (-serial
// file:, -qmp unix:, -nic …hostfwd=tcp:127.0.0.1:PORT-:22) plus -fake-*
// options passed through Config.ExtraArgs, serves a small QMP and, in ssh
// mode, an SSH server (exec, signal, pty shell, sftp, srutest-poweroff) on
// the forward port, running commands on the host. Loopback only.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

const fakeQEMUName = "fake-qemu-system-x86_64"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == fakeQEMUName {
		os.Exit(fakeQEMU(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeOpts are the fake's settings, parsed from its command line.
type fakeOpts struct {
	serial, qmp, pidfile, hostKey, authKeys, state string
	port                                           int
	mode                                           string
	readyAfter                                     time.Duration
	eventFirst, ignorePoweroff, ignoreQuit         bool
	busyTimes                                      int
}

func parseFakeArgs(args []string) (fakeOpts, error) {
	o := fakeOpts{mode: "hang"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			i++
			if i < len(args) {
				return args[i]
			}
			return ""
		}
		switch a {
		case "-serial":
			o.serial = strings.TrimPrefix(val(), "file:")
		case "-qmp":
			v := strings.TrimPrefix(val(), "unix:")
			v = strings.ReplaceAll(v, ",,", "\x00")
			v, _, _ = strings.Cut(v, ",")
			o.qmp = strings.ReplaceAll(v, "\x00", ",")
		case "-nic":
			v := val()
			_, fwd, ok := strings.Cut(v, "hostfwd=tcp:127.0.0.1:")
			if !ok {
				return o, fmt.Errorf("no loopback hostfwd in %q", v)
			}
			p, _, _ := strings.Cut(fwd, "-")
			o.port, _ = strconv.Atoi(p)
		case "-fake-mode":
			o.mode = val()
		case "-fake-pidfile":
			o.pidfile = val()
		case "-fake-hostkey":
			o.hostKey = val()
		case "-fake-authkeys":
			o.authKeys = val()
		case "-fake-ready-after":
			o.readyAfter, _ = time.ParseDuration(val())
		case "-fake-event-first":
			o.eventFirst = true
		case "-fake-ignore-poweroff":
			o.ignorePoweroff = true
		case "-fake-ignore-quit":
			o.ignoreQuit = true
		case "-fake-busy":
			o.state = val()
			o.busyTimes, _ = strconv.Atoi(val())
		}
	}
	return o, nil
}

// fakeQEMU runs the fake and returns its exit code.
func fakeQEMU(args []string) int {
	o, err := parseFakeArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-qemu:", err)
		return 1
	}
	if o.pidfile != "" {
		os.WriteFile(o.pidfile, []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if o.state != "" { // a port race lost the first busyTimes times
		n := 0
		if b, err := os.ReadFile(o.state); err == nil {
			n, _ = strconv.Atoi(string(b))
		}
		os.WriteFile(o.state, []byte(strconv.Itoa(n+1)), 0o644)
		if n < o.busyTimes {
			fmt.Fprintf(os.Stderr, "qemu-system-x86_64: -nic user,hostfwd=tcp:127.0.0.1:%d-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:%d-:22'\n", o.port, o.port)
			return 1
		}
	}
	console, err := os.OpenFile(o.serial, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-qemu: serial:", err)
		return 1
	}
	fmt.Fprintln(console, "[    0.000000] Linux version 6.1.0-fake (fake-qemu)")
	switch o.mode {
	case "exit1":
		fmt.Fprintln(os.Stderr, "qemu-system-x86_64: could not load kernel '/nonexistent'")
		return 1
	case "noqmp":
		time.Sleep(time.Minute)
		return 0
	case "agent-error":
		// The agent gives up (no NIC) and powers off: QEMU exits 0.
		time.Sleep(100 * time.Millisecond)
		fmt.Fprintln(console, "SRUTEST-AGENT-ERROR: network: eth0: no network interface within 10s")
		fmt.Fprintln(console, "[   12.000000] reboot: Power down")
		return 0
	}
	exit := make(chan int, 1)
	go fakeQMPServe(o, exit)
	switch o.mode {
	case "panic":
		time.Sleep(100 * time.Millisecond)
		fmt.Fprint(console, "[    1.347941] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"+
			"[    1.348100] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-fake #1\n[    1.348200] Call Trace:\n")
	case "ssh":
		go fakeSSHServe(o, console, exit)
	}
	select {
	case code := <-exit:
		return code
	case <-time.After(time.Minute):
		return 0
	}
}

// fakeQMPServe speaks enough QMP for the wrapper: greeting, capabilities
// (optionally preceded by an event, the go-qemu pitfall), query-status,
// query-version, quit.
func fakeQMPServe(o fakeOpts, exit chan<- int) {
	l, err := net.Listen("unix", o.qmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-qemu: qmp:", err)
		exit <- 1
		return
	}
	c, err := l.Accept()
	if err != nil {
		return
	}
	enc := json.NewEncoder(c)
	dec := json.NewDecoder(bufio.NewReader(c))
	enc.Encode(map[string]any{"QMP": map[string]any{
		"version":      map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 0}, "package": "fake"},
		"capabilities": []string{"oob"},
	}})
	for {
		var cmd struct {
			Execute string `json:"execute"`
			ID      any    `json:"id"`
		}
		if err := dec.Decode(&cmd); err != nil {
			return
		}
		reply := map[string]any{"return": map[string]any{}}
		if cmd.ID != nil {
			reply["id"] = cmd.ID
		}
		switch cmd.Execute {
		case "qmp_capabilities":
			if o.eventFirst {
				enc.Encode(map[string]any{"event": "RTC_CHANGE", "data": map[string]int{"offset": 0},
					"timestamp": map[string]int{"seconds": 1, "microseconds": 0}})
			}
		case "query-status":
			reply["return"] = map[string]any{"status": "running", "running": true, "singlestep": false}
		case "query-version":
			reply["return"] = map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 0}, "package": "fake"}
		case "quit":
			if o.ignoreQuit {
				continue // a wedged QEMU: no reply, no exit
			}
			enc.Encode(reply)
			exit <- 0
			return
		default:
			reply = map[string]any{"error": map[string]string{"class": "CommandNotFound", "desc": "no " + cmd.Execute}}
		}
		enc.Encode(reply)
	}
}

// fakeSSHServe behaves like slirp + the guest agent: the port accepts at
// once but drops connections until readyAfter, then serves SSH.
func fakeSSHServe(o fakeOpts, console *os.File, exit chan<- int) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "qemu-system-x86_64: Could not set up host forwarding rule 'tcp:127.0.0.1:%d-:22'\n", o.port)
		exit <- 1
		return
	}
	pemBytes, err := os.ReadFile(o.hostKey)
	if err != nil {
		exit <- 1
		return
	}
	hostSigner, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		exit <- 1
		return
	}
	authBytes, _ := os.ReadFile(o.authKeys)
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(authBytes)
	if err != nil {
		exit <- 1
		return
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ready := time.Now().Add(o.readyAfter)
	time.AfterFunc(o.readyAfter, func() { fmt.Fprintln(console, "SRUTEST-READY") })
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		if time.Now().Before(ready) {
			c.Close() // slirp: accepted, then the guest refuses
			continue
		}
		go fakeSSHConn(c, cfg, o, console, exit)
	}
}

func fakeSSHConn(c net.Conn, cfg *ssh.ServerConfig, o fakeOpts, console *os.File, exit chan<- int) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go func() {
		for r := range reqs {
			if r.Type == "srutest-poweroff" && !o.ignorePoweroff {
				fmt.Fprintln(console, "[   99.000000] reboot: Power down")
				exit <- 0
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go fakeSession(ch, creqs, console)
	}
}

// fakeSession handles one session: exec, pty-req + shell, window-change,
// signal, subsystem sftp.
func fakeSession(ch ssh.Channel, reqs <-chan *ssh.Request, console *os.File) {
	defer ch.Close()
	var (
		mu   sync.Mutex
		proc *os.Process
		tty  *os.File
		pt   bool
		size = &pty.Winsize{Rows: 24, Cols: 80}
		term string
	)
	started := make(chan *exec.Cmd, 1)
	for r := range reqs {
		switch r.Type {
		case "pty-req":
			var p struct {
				Term       string
				Cols, Rows uint32
				W, H       uint32
				Modes      string
			}
			ssh.Unmarshal(r.Payload, &p)
			pt, term = true, p.Term
			size = &pty.Winsize{Rows: uint16(p.Rows), Cols: uint16(p.Cols)}
			r.Reply(true, nil)
		case "window-change":
			var p struct{ Cols, Rows, W, H uint32 }
			ssh.Unmarshal(r.Payload, &p)
			mu.Lock()
			if tty != nil {
				pty.Setsize(tty, &pty.Winsize{Rows: uint16(p.Rows), Cols: uint16(p.Cols)})
			}
			mu.Unlock()
		case "signal":
			mu.Lock()
			if proc != nil {
				syscall.Kill(-proc.Pid, syscall.SIGKILL)
			}
			mu.Unlock()
		case "subsystem":
			r.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				srv.Serve()
			}
			return
		case "exec", "shell":
			var cmdline string
			if r.Type == "exec" {
				var p struct{ Cmd string }
				ssh.Unmarshal(r.Payload, &p)
				cmdline = p.Cmd
			}
			if cmdline == "fake-crash-early" {
				// The crash reaches the console (and the host's console
				// watcher) before the exec request is even answered.
				fmt.Fprintln(console, "[   50.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008")
				fmt.Fprintln(console, "[   50.100100] Oops: 0000 [#1] PREEMPT SMP NOPTI")
				time.Sleep(5 * consolePoll)
				r.Reply(true, nil)
				select {}
			}
			if cmdline == "fake-crash" {
				// The kernel dies under the command: a panic on the console,
				// the session never answers again.
				r.Reply(true, nil)
				fmt.Fprintln(console, "[   50.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008")
				fmt.Fprintln(console, "[   50.100100] Oops: 0000 [#1] PREEMPT SMP NOPTI")
				select {}
			}
			cmd := exec.Command("/bin/sh", "-c", cmdline)
			if r.Type == "shell" {
				cmd = exec.Command("/bin/sh", "-i")
			}
			cmd.Env = append(os.Environ(), "TERM="+term)
			var err error
			if pt {
				var f *os.File
				f, err = pty.StartWithSize(cmd, size)
				if err == nil {
					mu.Lock()
					tty = f
					mu.Unlock()
					go io.Copy(f, ch)
					go io.Copy(ch, f)
				}
			} else {
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				err = cmd.Start()
			}
			r.Reply(err == nil, nil)
			if err != nil {
				return
			}
			mu.Lock()
			proc = cmd.Process
			mu.Unlock()
			started <- cmd
			go func() {
				cmd := <-started
				err := cmd.Wait()
				if pt {
					time.Sleep(50 * time.Millisecond) // let the pty drain
				}
				st := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if st.Signaled() {
					ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
						Signal     string
						CoreDumped bool
						Msg, Lang  string
					}{Signal: strings.TrimPrefix(unixSignalName(st.Signal()), "SIG")}))
				} else {
					code := make([]byte, 4)
					binary.BigEndian.PutUint32(code, uint32(cmd.ProcessState.ExitCode()))
					ch.SendRequest("exit-status", false, code)
				}
				_ = err
				ch.CloseWrite()
				ch.Close()
			}()
		default:
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}
}

func unixSignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	}
	return "USR1"
}
