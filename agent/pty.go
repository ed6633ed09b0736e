package agent

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openPTY opens a pty pair. The master is opened non-blocking so that it is
// registered with Go's poller: read deadlines then work on it, which is how
// the output copier stops waiting once the shell has exited but a
// background job still holds the slave. (creack/pty makes the master
// blocking through File.Fd, hence this small replacement.)
func openPTY(ptmx string) (master, slave *os.File, err error) {
	fd, err := unix.Open(ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", ptmx, err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER (Linux 4.13) opens the slave without a path lookup, so it
	// works whatever devpts instance /dev/pts is.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		if err != nil {
			unix.Close(fd)
			return nil, nil, fmt.Errorf("pty number: %w", err)
		}
		s, err := unix.Open("/dev/pts/"+strconv.Itoa(int(n)), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return nil, nil, fmt.Errorf("open pty slave: %w", err)
		}
		sfd = uintptr(s)
	}
	return os.NewFile(uintptr(fd), "ptmx"), os.NewFile(sfd, "pts"), nil
}

// setWinsize sets a pty's window size without touching the file's blocking
// mode (File.Fd would make it blocking). The kernel then sends SIGWINCH to
// the pty's foreground process group.
func setWinsize(f *os.File, cols, rows uint32) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	ws := &unix.Winsize{Col: clampU16(cols), Row: clampU16(rows)}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) }); err != nil {
		return err
	}
	return ierr
}

func clampU16(v uint32) uint16 {
	if v > 0xffff {
		return 0xffff
	}
	return uint16(v)
}

// foregroundGroup returns the foreground process group of a pty.
func foregroundGroup(master *os.File) (int, error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return 0, err
	}
	var pgrp int
	var ierr error
	if err := rc.Control(func(fd uintptr) { pgrp, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPGRP) }); err != nil {
		return 0, err
	}
	return pgrp, ierr
}
