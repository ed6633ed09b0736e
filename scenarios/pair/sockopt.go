package pair

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Socket option numbers not in x/sys/unix for every version we build with.
const (
	solMPTCP   = 0x11c // SOL_MPTCP
	mptcpInfo  = 0x1   // MPTCP_INFO
	tcpIsMPTCP = 43    // TCP_IS_MPTCP (Linux ≥ 5.16)
)

// SockInfo is what the kernel says about one socket, read with getsockopt.
// Each field that could not be read carries the errno in its *Err twin.
type SockInfo struct {
	// Protocol is SO_PROTOCOL: 262 for an MPTCP socket, 6 for plain TCP.
	// It stays 262 after a fallback to TCP.
	Protocol    int    `json:"so_protocol"`
	ProtocolErr string `json:"so_protocol_err,omitempty"`
	// Keepalive is SO_KEEPALIVE read back from this socket. On an MPTCP
	// socket it is 1 only on kernels where the MPTCP socket itself carries
	// SOCK_KEEPOPEN (upstream a65198136eaa, v6.10, backported).
	Keepalive    int    `json:"so_keepalive"`
	KeepaliveErr string `json:"so_keepalive_err,omitempty"`
	// TCPIsMPTCP is getsockopt(SOL_TCP, TCP_IS_MPTCP): 1 while MPTCP is in
	// use, 0 after a fallback (Linux ≥ 5.16; older kernels: error).
	TCPIsMPTCP    int    `json:"tcp_is_mptcp"`
	TCPIsMPTCPErr string `json:"tcp_is_mptcp_err,omitempty"`
	// MPTCPInfoErr is the errno of getsockopt(SOL_MPTCP, MPTCP_INFO), ""
	// when it worked (MPTCP in use). Go's MultipathTCP() relies on it.
	MPTCPInfoErr string `json:"mptcp_info_err,omitempty"`
}

// errnoName renders a socket option error compactly ("ENOPROTOOPT").
func errnoName(err error) string {
	if err == nil {
		return ""
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		if name := unix.ErrnoName(en); name != "" {
			return name
		}
	}
	return err.Error()
}

// readSockInfo reads SockInfo from a raw socket descriptor.
func readSockInfo(fd int) SockInfo {
	var si SockInfo
	var err error
	if si.Protocol, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil {
		si.ProtocolErr = errnoName(err)
	}
	if si.Keepalive, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE); err != nil {
		si.KeepaliveErr = errnoName(err)
	}
	if si.TCPIsMPTCP, err = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, tcpIsMPTCP); err != nil {
		si.TCPIsMPTCP = -1
		si.TCPIsMPTCPErr = errnoName(err)
	}
	if _, err = unix.GetsockoptInt(fd, solMPTCP, mptcpInfo); err != nil {
		si.MPTCPInfoErr = errnoName(err)
	}
	return si
}

// setKeepalive sets SO_KEEPALIVE=1 with a plain setsockopt, nothing else
// (no TCP_KEEPIDLE: per-socket idle is not supported on MPTCP sockets of
// older kernels; the scenarios set the per-netns sysctls instead).
func setKeepalive(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		return fmt.Errorf("setsockopt(SO_KEEPALIVE, 1): %w", err)
	}
	return nil
}

// rawControl runs f on the descriptor behind c.
func rawControl(c syscall.RawConn, f func(fd int)) error {
	return c.Control(func(fd uintptr) { f(int(fd)) })
}
