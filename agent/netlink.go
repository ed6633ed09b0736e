package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// NetConfig is one interface's static IPv4 setup.
type NetConfig struct {
	Interface string       // e.g. "eth0"
	Address   netip.Prefix // e.g. 10.0.2.15/24
	Gateway   netip.Addr   // default route via; invalid means none
}

// SlirpNet is QEMU user networking's fixed addressing.
var SlirpNet = NetConfig{
	Interface: "eth0",
	Address:   netip.MustParsePrefix("10.0.2.15/24"),
	Gateway:   netip.MustParseAddr("10.0.2.2"),
}

// ErrNoInterface is returned by ConfigureNet when the interface did not
// appear before the deadline (the NIC driver failed to load or probe).
var ErrNoInterface = errors.New("network interface did not appear")

// ConfigureNet brings lo up, waits for c.Interface until ctx ends (a NIC
// appears a moment after its driver module loads), then sets it up with
// its address and the default route, over rtnetlink in the calling
// thread's network namespace. Settings already present are fine.
func ConfigureNet(ctx context.Context, c NetConfig) error {
	if !c.Address.Addr().Is4() || (c.Gateway.IsValid() && !c.Gateway.Is4()) {
		return fmt.Errorf("configure %s: IPv4 only", c.Interface)
	}
	rt, err := dialRoute()
	if err != nil {
		return err
	}
	defer rt.close()
	if idx, err := rt.index("lo"); err != nil {
		return err
	} else if err := rt.do(unix.RTM_NEWLINK, 0, linkUpMsg(idx)); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	idx, err := rt.waitIndex(ctx, c.Interface)
	if err != nil {
		return err
	}
	if err := rt.do(unix.RTM_NEWLINK, 0, linkUpMsg(idx)); err != nil {
		return fmt.Errorf("set %s up: %w", c.Interface, err)
	}
	err = rt.do(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, addrMsg(idx, c.Address))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", c.Address, c.Interface, err)
	}
	if c.Gateway.IsValid() {
		err = rt.do(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, defaultRouteMsg(idx, c.Gateway))
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add default route via %s: %w", c.Gateway, err)
		}
	}
	return nil
}

// routeSock is a NETLINK_ROUTE socket used for request/ack exchanges.
type routeSock struct {
	fd  int
	seq uint32
}

func dialRoute() (*routeSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// Acks come at once; the timeout only guards against a kernel bug.
	tv := unix.NsecToTimeval(int64(5 * time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &routeSock{fd: fd}, nil
}

func (r *routeSock) close() { unix.Close(r.fd) }

// index returns an interface's index (SIOCGIFINDEX works on any socket and
// answers for the socket's network namespace, unlike /sys/class/net).
func (r *routeSock) index(name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("interface %q: %w", name, err)
	}
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// waitIndex polls for an interface every few milliseconds until ctx ends.
func (r *routeSock) waitIndex(ctx context.Context, name string) (int, error) {
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for {
		idx, err := r.index(name)
		if err == nil {
			return idx, nil
		}
		if !errors.Is(err, unix.ENODEV) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: %w", name, ErrNoInterface)
		case <-tick.C:
		}
	}
}

// do sends one request with NLM_F_ACK and waits for its ack.
func (r *routeSock) do(typ, flags uint16, body []byte) error {
	r.seq++
	msg := nlMessage(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, r.seq, body)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, os.Getpagesize())
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		done, err := parseAck(buf[:n], r.seq)
		if done {
			return err
		}
	}
}

// parseAck looks for the NLMSG_ERROR answering seq in a netlink datagram:
// done reports whether it was there, err is its errno (nil for an ack).
func parseAck(b []byte, seq uint32) (done bool, err error) {
	for len(b) >= unix.SizeofNlMsghdr {
		l := binary.NativeEndian.Uint32(b[0:4])
		typ := binary.NativeEndian.Uint16(b[4:6])
		s := binary.NativeEndian.Uint32(b[8:12])
		if l < unix.SizeofNlMsghdr || int(l) > len(b) {
			return true, errors.New("netlink: malformed reply")
		}
		if typ == unix.NLMSG_ERROR && s == seq {
			if l < unix.SizeofNlMsghdr+4 {
				return true, errors.New("netlink: short error message")
			}
			errno := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:]))
			if errno == 0 {
				return true, nil
			}
			return true, unix.Errno(-errno)
		}
		b = b[min(nlAlign(int(l)), len(b)):]
	}
	return false, nil
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

func nlMessage(typ, flags uint16, seq uint32, body []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	return append(b, body...)
}

// rtattr appends one route attribute, padded to 4 bytes.
func rtattr(b []byte, typ uint16, val []byte) []byte {
	l := unix.SizeofRtAttr + len(val)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// linkUpMsg is an RTM_NEWLINK body setting IFF_UP on one interface.
func linkUpMsg(index int) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], unix.IFF_UP)  // flags
	binary.NativeEndian.PutUint32(b[12:], unix.IFF_UP) // change mask
	return b
}

// addrMsg is an RTM_NEWADDR body: local address, prefix and broadcast.
func addrMsg(index int, p netip.Prefix) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	b[1] = byte(p.Bits())
	b[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	a := p.Addr().As4()
	b = rtattr(b, unix.IFA_LOCAL, a[:])
	b = rtattr(b, unix.IFA_ADDRESS, a[:])
	bc := a
	host := uint32(0xffffffff) >> p.Bits() // 0 for /32
	v := binary.BigEndian.Uint32(bc[:]) | host
	binary.BigEndian.PutUint32(bc[:], v)
	if p.Bits() < 31 {
		b = rtattr(b, unix.IFA_BROADCAST, bc[:])
	}
	return b
}

// defaultRouteMsg is an RTM_NEWROUTE body: 0.0.0.0/0 via gw out of index
// in the main table.
func defaultRouteMsg(index int, gw netip.Addr) []byte {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = unix.AF_INET
	b[4] = unix.RT_TABLE_MAIN
	b[5] = unix.RTPROT_BOOT
	b[6] = unix.RT_SCOPE_UNIVERSE
	b[7] = unix.RTN_UNICAST
	g := gw.As4()
	b = rtattr(b, unix.RTA_GATEWAY, g[:])
	oif := binary.NativeEndian.AppendUint32(nil, uint32(index))
	return rtattr(b, unix.RTA_OIF, oif)
}
