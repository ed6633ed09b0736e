package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Console lines the host looks for.
const (
	Marker      = "SRUTEST-MARKER"       // marker mode: printed just before power-off
	Ready       = "SRUTEST-READY"        // SSH is listening
	ErrorPrefix = "SRUTEST-AGENT-ERROR:" // fatal error; the guest powers off next
)

// Guest paths (docs/contracts.md; images writes them).
const (
	ModulesListPath = "/etc/srutest/modules"
	HostKeyPath     = "/etc/srutest/ssh_host_ed25519"
	AuthorizedPath  = "/etc/srutest/authorized_keys"
	ModulesLogPath  = "/run/srutest/modules.log"
	BootLogPath     = "/run/srutest/boot.log" // uptime at each boot step
)

// netWait bounds the wait for eth0 after virtio_net loaded.
const netWait = 10 * time.Second

// Main is the guest's PID 1. It never returns: it powers the guest off when
// asked to over SSH, at once in marker mode, or after printing a fatal
// error on the console.
func Main() {
	// Marker mode is the boot floor: nothing but proc before the marker.
	mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	cmdline, _ := os.ReadFile("/proc/cmdline")
	if v, _ := CmdlineValue(string(cmdline), ModeParam); v == ModeMarker {
		io.WriteString(console(), Marker+"\n")
		powerOff()
	}
	defer func() {
		if r := recover(); r != nil {
			fatal(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	err := boot()
	if err == nil {
		err = errors.New("ssh server stopped")
	}
	fatal(err)
}

// boot sets the guest up and serves SSH; it returns only on failure.
func boot() error {
	con := console()
	var steps timeline
	steps.mark("agent started")
	if err := setupFS(); err != nil {
		return err
	}
	steps.mark("mounted")
	os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	os.Setenv("HOME", "/root")
	if err := unix.Sethostname([]byte("srutest")); err != nil {
		fmt.Fprintf(con, "srutest-agent: sethostname: %v\n", err)
	}
	// PID 1 gets no default signal actions: without handlers a stray
	// SIGTERM would end Go's runtime and panic the kernel. Handlers (unlike
	// SIG_IGN) are reset in the commands the agent runs.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	go func() {
		for range sigs {
		}
	}()
	ctx := context.Background()
	reaper := NewReaper()
	go reaper.Run(ctx)

	// Keys and listener do not need the network (a socket bound to :22
	// accepts once eth0 is up), so they are set up while the NIC loads.
	type sshSetup struct {
		cfg Config
		l   net.Listener
		err error
	}
	sshCh := make(chan sshSetup, 1)
	go func() {
		cfg, l, err := prepareSSH(ctx, reaper, con)
		sshCh <- sshSetup{cfg, l, err}
	}()

	chain, rest := SplitNetChain(readModuleList(con))
	mlog := &modulesLog{path: ModulesLogPath}
	failed := reportFailures(con, LoadModules(chain, FinitModule, mlog))
	steps.mark(fmt.Sprintf("%d NIC modules loaded", len(chain)))

	nctx, cancel := context.WithTimeout(ctx, netWait)
	err := ConfigureNet(nctx, SlirpNet)
	cancel()
	if err != nil {
		switch {
		case errors.Is(err, ErrNoInterface) && failed != nil:
			err = fmt.Errorf("%w within %v (module failures: %v)", err, netWait, failed)
		case errors.Is(err, ErrNoInterface) && len(chain) == 0:
			err = fmt.Errorf("%w within %v (no virtio_net in %s: not built in either?)", err, netWait, ModulesListPath)
		case errors.Is(err, ErrNoInterface):
			err = fmt.Errorf("%w within %v", err, netWait)
		}
		return fmt.Errorf("network: %w", err)
	}
	steps.mark("network up")

	prep := <-sshCh
	if prep.err != nil {
		return prep.err
	}
	cfg, l := prep.cfg, prep.l
	ready := make(chan struct{})
	cfg.ModulesReady = ready
	io.WriteString(con, Ready+"\n")
	steps.mark("ssh listening")
	go func() {
		defer close(ready)
		reportFailures(con, LoadModules(rest, FinitModule, mlog))
		steps.mark(fmt.Sprintf("%d more modules loaded", len(rest)))
		os.WriteFile(BootLogPath, steps.bytes(), 0o644)
	}()
	return Serve(ctx, l, cfg)
}

// readModuleList reads the load order; problems are printed, not fatal (a
// kernel with everything built in has an empty list).
func readModuleList(con io.Writer) []string {
	data, err := os.ReadFile(ModulesListPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		fmt.Fprintf(con, "srutest-agent: %v\n", err)
		return nil
	}
	modules, err := ParseModuleList(data)
	if err != nil {
		fmt.Fprintf(con, "srutest-agent: %s: %v\n", ModulesListPath, err)
	}
	return modules
}

// prepareSSH reads the keys and listens on :22.
func prepareSSH(ctx context.Context, reaper *Reaper, con io.Writer) (Config, net.Listener, error) {
	cfg := Config{
		Shell:    "/bin/sh",
		Dir:      "/root",
		Reaper:   reaper,
		PowerOff: powerOff,
		Log:      con,
	}
	if _, err := os.Stat("/dev/pts/ptmx"); err == nil {
		cfg.PTMX = "/dev/pts/ptmx" // this devpts instance's multiplexer
	}
	if err := cfg.LoadKeys(HostKeyPath, AuthorizedPath); err != nil {
		return cfg, nil, err
	}
	// Go listens with MPTCP by default where the kernel has it; the
	// agent's own connection must stay plain TCP so that it never shows up
	// in the MPTCP counters and sockets the scenarios inspect.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(ctx, "tcp", ":22")
	if err != nil {
		return cfg, nil, fmt.Errorf("listen on :22: %w", err)
	}
	return cfg, l, nil
}

// timeline records the uptime (CLOCK_BOOTTIME) of each boot step, for
// BootLogPath: where the time between kernel start and SSH goes.
type timeline struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *timeline) mark(step string) {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	t.mu.Lock()
	fmt.Fprintf(&t.buf, "%8.3f %s\n", time.Duration(ts.Nano()).Seconds(), step)
	t.mu.Unlock()
}

func (t *timeline) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf.Bytes())
}

// reportFailures prints failed module loads on the console and returns
// them joined (nil when all loaded).
func reportFailures(con io.Writer, res []ModuleResult) error {
	var errs []error
	for _, r := range res {
		if r.Err != nil {
			fmt.Fprintf(con, "srutest-agent: %v\n", r.Err)
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// modulesLog appends each line to the log file as it comes, so the file is
// complete up to the last module even if the guest dies during a load.
type modulesLog struct {
	mu   sync.Mutex
	path string
}

func (m *modulesLog) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Write(p)
}

// setupFS mounts the pseudo file systems and makes the directories
// iproute2 and the scenarios expect.
func setupFS() error {
	const nsx = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	for _, m := range []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
	}{
		{"sysfs", "/sys", "sysfs", nsx, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
		{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	} {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.dst, err)
		}
		if err := mount(m.src, m.dst, m.fstype, m.flags, m.data); err != nil {
			return err
		}
	}
	// iproute2 keeps named netns under /var/run/netns: one tree with /run.
	if fi, err := os.Lstat("/var/run"); err != nil || (fi.IsDir() && os.Remove("/var/run") == nil) {
		os.MkdirAll("/var", 0o755)
		if err := os.Symlink("../run", "/var/run"); err != nil {
			return fmt.Errorf("link /var/run: %w", err)
		}
	}
	for _, d := range []string{"/run/netns", "/run/srutest", "/root"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	return nil
}

// mount mounts one file system; one already mounted there is fine.
func mount(src, dst, fstype string, flags uintptr, data string) error {
	err := unix.Mount(src, dst, fstype, flags, data)
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount %s on %s: %w", fstype, dst, err)
	}
	return nil
}

// console is where PID 1's messages go: stdout is /dev/console when the
// kernel could open it; otherwise open it directly.
func console() io.Writer {
	if _, err := os.Stdout.Stat(); err == nil {
		return os.Stdout
	}
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		return f
	}
	return io.Discard
}

// fatal prints err for the host and powers off.
func fatal(err error) {
	msg := bytes.ReplaceAll([]byte(err.Error()), []byte("\n"), []byte("\n"+ErrorPrefix+" "))
	fmt.Fprintf(console(), "%s %s\n", ErrorPrefix, msg)
	powerOff()
}

// powerOff syncs and powers the machine off. It never returns: if the
// kernel refuses, PID 1 must still not exit (that would panic the kernel).
func powerOff() {
	// Wait until the serial line has sent what was written to the
	// console (tcdrain): the UART transmits after write() returns, and a
	// power-off right after the marker or a fatal message could drop it —
	// seen on a loaded TCG host, where bench's marker boots then failed
	// with "marker not seen" although the agent had printed it.
	if f, ok := console().(*os.File); ok {
		unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
	}
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	fmt.Fprintf(console(), "%s power off: %v\n", ErrorPrefix, err)
	for {
		time.Sleep(time.Hour)
	}
}
