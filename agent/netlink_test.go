package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNewNetns runs f on a thread moved into a fresh network namespace; the
// thread is never reused (it exits with the goroutine, still locked).
// Commands f starts inherit the namespace.
func inNewNetns(t *testing.T, f func()) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip(8) not found: cannot set up a test interface")
	}
	skip := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			skip <- "unshare(CLONE_NEWNET): " + err.Error()
			return
		}
		f()
	}()
	<-done
	select {
	case s := <-skip:
		t.Skip(s)
	default:
	}
}

func ipOut(t *testing.T, args ...string) string {
	out, err := testReaper.combined(exec.Command("ip", args...))
	if err != nil {
		t.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestConfigureNet(t *testing.T) {
	inNewNetns(t, func() {
		// eth0 appears 100ms after we start waiting, as after virtio_net
		// loads. (veth because dummy may not be available.)
		late := exec.Command("sh", "-c", "sleep 0.1; ip link add eth0 type veth peer name p0 && ip link set p0 up")
		if err := testReaper.Start(late); err != nil {
			t.Error(err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := ConfigureNet(ctx, SlirpNet)
		werr := late.Wait()
		testReaper.Done(late)
		if werr != nil {
			t.Errorf("creating eth0: %v", werr)
		}
		if err != nil {
			t.Errorf("ConfigureNet: %v", err)
			return
		}
		// Again: everything already set is fine.
		if err := ConfigureNet(ctx, SlirpNet); err != nil {
			t.Errorf("ConfigureNet twice: %v", err)
		}
		if out := ipOut(t, "-o", "link", "show", "lo"); !strings.Contains(out, "UP") {
			t.Errorf("lo not up: %s", out)
		}
		if out := ipOut(t, "-o", "-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, "inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0") {
			t.Errorf("eth0 address: %s", out)
		}
		if out := ipOut(t, "-o", "link", "show", "eth0"); !strings.Contains(out, ",UP") {
			t.Errorf("eth0 not up: %s", out)
		}
		if out := ipOut(t, "route", "show", "default"); !strings.HasPrefix(out, "default via 10.0.2.2 dev eth0") {
			t.Errorf("default route: %q", out)
		}
	})
}

func TestConfigureNetNoInterface(t *testing.T) {
	inNewNetns(t, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		err := ConfigureNet(ctx, NetConfig{Interface: "eth0", Address: netip.MustParsePrefix("10.0.2.15/24")})
		if !errors.Is(err, ErrNoInterface) {
			t.Errorf("err = %v, want ErrNoInterface", err)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("gave up after %v, deadline was 100ms", d)
		}
	})
}

func TestConfigureNetRejectsIPv6(t *testing.T) {
	err := ConfigureNet(context.Background(), NetConfig{Interface: "eth0", Address: netip.MustParsePrefix("fd00::2/64")})
	if err == nil || !strings.Contains(err.Error(), "IPv4 only") {
		t.Errorf("err = %v", err)
	}
}

func nlmsg(typ uint16, seq uint32, payload []byte) []byte {
	return nlMessage(typ, 0, seq, payload)
}

func errPayload(errno int32) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(errno))
}

func TestParseAck(t *testing.T) {
	ack := nlmsg(unix.NLMSG_ERROR, 7, errPayload(0))
	eexist := nlmsg(unix.NLMSG_ERROR, 7, errPayload(-int32(unix.EEXIST)))
	other := nlmsg(unix.NLMSG_ERROR, 6, errPayload(-int32(unix.EPERM)))
	noise := nlmsg(unix.RTM_NEWLINK, 7, make([]byte, 3)) // unaligned length
	for _, tc := range []struct {
		name string
		in   []byte
		done bool
		err  error
	}{
		{"ack", ack, true, nil},
		{"eexist", eexist, true, unix.EEXIST},
		{"other seq", other, false, nil},
		{"other seq then ack", append(append([]byte{}, other...), ack...), true, nil},
		{"unaligned message then error", append(append(append([]byte{}, noise...), 0), eexist...), true, unix.EEXIST},
		{"empty", nil, false, nil},
		{"short header", ack[:10], false, nil},
	} {
		done, err := parseAck(tc.in, 7)
		if done != tc.done || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: done=%v err=%v, want %v %v", tc.name, done, err, tc.done, tc.err)
		}
	}
	for _, bad := range [][]byte{
		nlmsg(unix.NLMSG_ERROR, 7, nil),                  // error without errno
		append(ack[:0:0], ack[:17]...),                   // length beyond data
		{4, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}, // length below header
	} {
		if done, err := parseAck(bad, 7); !done || err == nil {
			t.Errorf("parseAck(%x) = %v, %v; want an error", bad, done, err)
		}
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add(nlmsg(unix.NLMSG_ERROR, 7, errPayload(-17)))
	f.Add(append(nlmsg(unix.NLMSG_DONE, 7, nil), nlmsg(unix.NLMSG_ERROR, 7, errPayload(0))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseAck(b, 7)
	})
}

func TestMessages(t *testing.T) {
	// Layouts checked against the kernel by TestConfigureNet; here the
	// fields that matter, so a refactor cannot silently swap them.
	a := addrMsg(3, netip.MustParsePrefix("10.0.2.15/24"))
	if a[0] != unix.AF_INET || a[1] != 24 || binary.NativeEndian.Uint32(a[4:]) != 3 {
		t.Errorf("ifaddrmsg % x", a[:unix.SizeofIfAddrmsg])
	}
	attrs := map[uint16][]byte{}
	for b := a[unix.SizeofIfAddrmsg:]; len(b) >= 4; {
		l := int(binary.NativeEndian.Uint16(b))
		attrs[binary.NativeEndian.Uint16(b[2:])] = b[4:l]
		b = b[nlAlign(l):]
	}
	for typ, want := range map[uint16]string{unix.IFA_LOCAL: "10.0.2.15", unix.IFA_ADDRESS: "10.0.2.15", unix.IFA_BROADCAST: "10.0.2.255"} {
		if got, ok := netip.AddrFromSlice(attrs[typ]); !ok || got.String() != want {
			t.Errorf("attr %d = %v, want %s", typ, attrs[typ], want)
		}
	}
	if _, ok := attrs[unix.IFA_BROADCAST]; !ok {
		t.Error("no broadcast")
	}
	if host := addrMsg(3, netip.MustParsePrefix("10.0.2.15/32")); len(host) != unix.SizeofIfAddrmsg+16 {
		t.Errorf("/32 has a broadcast attribute: % x", host)
	}
	r := defaultRouteMsg(5, netip.MustParseAddr("10.0.2.2"))
	if r[0] != unix.AF_INET || r[1] != 0 || r[4] != unix.RT_TABLE_MAIN || r[7] != unix.RTN_UNICAST {
		t.Errorf("rtmsg % x", r[:unix.SizeofRtMsg])
	}
	l := linkUpMsg(9)
	if binary.NativeEndian.Uint32(l[4:]) != 9 || binary.NativeEndian.Uint32(l[8:]) != unix.IFF_UP || binary.NativeEndian.Uint32(l[12:]) != unix.IFF_UP {
		t.Errorf("ifinfomsg % x", l)
	}
}
