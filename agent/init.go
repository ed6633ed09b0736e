// Package agent is the guest's PID 1: the srutest binary re-executed as
// /init inside the initramfs built by package images. It mounts the
// pseudo-filesystems, loads the kernel modules listed by the image, brings up
// eth0 on QEMU's slirp network, and serves SSH (exec, pty shell, SFTP) with
// the image's host key until the host asks it to power off.
//
// Kernel command line: srutest.mode=marker makes it print SRUTEST-MARKER and
// power off at once (the boot benchmark's floor).
package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Marker and Ready are printed on the console for the host.
const (
	Marker = "SRUTEST-MARKER"
	Ready  = "SRUTEST-READY"
)

const (
	modulesList = "/etc/srutest/modules"
	hostKeyPath = "/etc/srutest/ssh_host_ed25519"
	authKeys    = "/etc/srutest/authorized_keys"
	ipBin       = "/usr/sbin/ip"
)

// Main runs PID 1. It never returns: the guest powers off at the end.
func Main() {
	unix.Mount("proc", "/proc", "proc", 0, "")
	cmdline, _ := os.ReadFile("/proc/cmdline")
	if CmdlineParam(string(cmdline), "srutest.mode") == "marker" {
		fmt.Println(Marker)
		powerOff()
	}
	if err := run(); err != nil {
		fmt.Printf("SRUTEST-AGENT-ERROR: %v\n", err)
	}
	powerOff()
}

func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func run() error {
	mounts := []struct{ src, dst, fs, data string }{
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666"},
		{"tmpfs", "/tmp", "tmpfs", ""},
		{"tmpfs", "/run", "tmpfs", ""},
	}
	for _, m := range mounts {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fs, 0, m.data); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	os.Remove("/dev/ptmx")
	os.Symlink("pts/ptmx", "/dev/ptmx")
	os.MkdirAll("/run/netns", 0o755)
	os.MkdirAll("/run/srutest", 0o755)
	os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	os.Setenv("HOME", "/root")
	unix.Sethostname([]byte("srutest"))

	list, _ := os.ReadFile(modulesList)
	log := loadModules(ParseModuleList(list))
	os.WriteFile("/run/srutest/modules.log", log, 0o644)
	if err := network(); err != nil {
		fmt.Printf("srutest-agent: network: %v\n", err)
	}
	go reapOrphans()
	cfg, err := LoadConfig(hostKeyPath, authKeys)
	if err != nil {
		return err
	}
	return ListenAndServe(":22", cfg, func() { fmt.Println(Ready) })
}

// CmdlineParam returns the value of key=value on a kernel command line.
func CmdlineParam(cmdline, key string) string {
	for _, f := range strings.Fields(cmdline) {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// ParseModuleList returns the absolute module paths of the load-order file,
// skipping blanks and comments.
func ParseModuleList(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || !strings.HasPrefix(l, "/") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func loadModules(paths []string) []byte {
	var log bytes.Buffer
	for _, p := range paths {
		f, err := os.Open(p)
		if err == nil {
			err = unix.FinitModule(int(f.Fd()), "", 0)
			f.Close()
		}
		if err != nil && err != unix.EEXIST {
			fmt.Printf("srutest-agent: load %s: %v\n", p, err)
			fmt.Fprintf(&log, "FAIL %s: %v\n", p, err)
			continue
		}
		fmt.Fprintf(&log, "ok %s\n", p)
	}
	return log.Bytes()
}

// network brings up lo and eth0 with slirp's fixed addressing.
func network() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat("/sys/class/net/eth0"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eth0 did not appear within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "10.0.2.15/24", "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"route", "add", "default", "via", "10.0.2.2"},
	} {
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
