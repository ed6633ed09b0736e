package evidence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParsePcapAgainstTcpdump decodes every fixture capture and checks each
// packet against tcpdump's own decoding of the same file (pathN.txt):
// count, time, endpoints, flags, sequence numbers, payload length and
// the MPTCP handshake options.
func TestParsePcapAgainstTcpdump(t *testing.T) {
	n := 0
	for _, dir := range fixtureDirs(t) {
		pcaps, _ := filepath.Glob(filepath.Join(dir, "path*.pcap"))
		for _, pc := range pcaps {
			name, _ := filepath.Rel(capturesDir, pc)
			t.Run(name, func(t *testing.T) {
				pkts, err := ParsePcap(readFixture(t, pc))
				if err != nil {
					t.Fatalf("ParsePcap: %v", err)
				}
				dump := parseDump(t, readFixture(t, strings.TrimSuffix(pc, ".pcap")+".txt"))
				if len(pkts) != len(dump) || len(pkts) == 0 {
					t.Fatalf("%d packets, tcpdump shows %d", len(pkts), len(dump))
				}
				for i, p := range pkts {
					d := dump[i]
					if !p.Time.Equal(d.time) {
						t.Errorf("packet %d: time %v, tcpdump %v", i, p.Time, d.time)
					}
					if dumpAddr(p.Src) != d.src || dumpAddr(p.Dst) != d.dst {
						t.Errorf("packet %d: %s > %s, tcpdump %s > %s", i, p.Src, p.Dst, d.src, d.dst)
					}
					if f := tcpdumpFlags(p); f != d.flags {
						t.Errorf("packet %d: flags %q, tcpdump %q", i, f, d.flags)
					}
					if p.Payload != d.length {
						t.Errorf("packet %d: payload %d, tcpdump length %d", i, p.Payload, d.length)
					}
					if d.seq != "" {
						want := fmt.Sprint(p.Seq)
						if p.Payload > 0 {
							want = fmt.Sprintf("%d:%d", p.Seq, p.Seq+uint32(p.Payload))
						}
						if d.seq != want {
							t.Errorf("packet %d: seq %s, tcpdump %s", i, want, d.seq)
						}
					}
					if got, want := p.HasMPTCP(MPCapable), strings.Contains(d.text, " capable "); got != want {
						t.Errorf("packet %d: MP_CAPABLE %v, tcpdump %q", i, got, d.text)
					}
					if got, want := p.HasMPTCP(MPJoin), strings.Contains(d.text, "mptcp") && strings.Contains(d.text, " join "); got != want {
						t.Errorf("packet %d: MP_JOIN %v, tcpdump %q", i, got, d.text)
					}
					if got, want := p.HasMPTCP(MPDSS), strings.Contains(d.text, " dss "); got != want {
						t.Errorf("packet %d: DSS %v, tcpdump %q", i, got, d.text)
					}
				}
				n++
			})
		}
	}
	if n == 0 {
		t.Fatal("no fixture pcaps")
	}
}

// TestConnectionsFixtures checks the handshake classification on the
// captures whose scenario says what it must be.
func TestConnectionsFixtures(t *testing.T) {
	want := map[string]map[string]string{ // scenario → pcap → kind of its one connection
		"connect":                 {"path1": "initial"},
		"keepalive-off":           {"path1": "initial"},
		"keepalive-after-connect": {"path1": "initial"},
		"fallback":                {"path1": "fallback"},
		"join":                    {"path1": "initial", "path2": "mp_join"},
	}
	for _, dir := range fixtureDirs(t) {
		sc := filepath.Base(dir)
		if filepath.Base(filepath.Dir(dir)) == "" || want[sc] == nil {
			continue
		}
		// Fixtures from kernels where the setup failed would not be here:
		// only cells whose verdict was not ERROR are committed.
		for p, kind := range want[sc] {
			pkts, err := ParsePcap(readFixture(t, dir, p+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			conns := Connections(pkts)
			if len(conns) != 1 {
				t.Errorf("%s/%s: %d connections, want 1", dir, p, len(conns))
				continue
			}
			c := conns[0]
			if c.Kind() != kind || !c.Established() || c.Server.Port() != 5000 {
				t.Errorf("%s/%s: kind %s established %v server %s, want %s to :5000", dir, p, c.Kind(), c.Established(), c.Server, kind)
			}
		}
	}
}

// rewrite re-encodes a little-endian usec Ethernet pcap in another
// flavour: byte order, nanosecond stamps, link type (SLL/SLL2/raw), and
// optionally IPv4 → IPv6 (addresses mapped, TCP untouched).
type flavour struct {
	bigEndian bool
	nano      bool
	link      uint32
	ipv6      bool
}

func rewrite(t *testing.T, data []byte, fl flavour) []byte {
	t.Helper()
	le := binary.LittleEndian
	var bo binary.AppendByteOrder = binary.LittleEndian
	if fl.bigEndian {
		bo = binary.BigEndian
	}
	magic := uint32(0xa1b2c3d4)
	if fl.nano {
		magic = 0xa1b23c4d
	}
	out := bo.AppendUint32(nil, magic)
	out = bo.AppendUint16(out, 2)
	out = bo.AppendUint16(out, 4)
	out = append(out, make([]byte, 8)...)
	out = bo.AppendUint32(out, 65535)
	out = bo.AppendUint32(out, fl.link)
	for off := 24; off < len(data); {
		sec, usec, incl, orig := le.Uint32(data[off:]), le.Uint32(data[off+4:]), int(le.Uint32(data[off+8:])), le.Uint32(data[off+12:])
		frame := data[off+16 : off+16+incl]
		off += 16 + incl
		etype, ip := uint16(0x0800), frame[14:]
		if fl.ipv6 {
			ip = toIPv6(ip)
			etype = 0x86dd
		}
		var hdr []byte
		switch fl.link {
		case LinkEthernet:
			hdr = append(append([]byte{}, frame[:12]...), byte(etype>>8), byte(etype))
		case LinkSLL:
			hdr = make([]byte, 16)
			binary.BigEndian.PutUint16(hdr[14:], etype)
		case LinkSLL2:
			hdr = make([]byte, 20)
			binary.BigEndian.PutUint16(hdr[0:], etype)
		case LinkRaw:
		}
		frame = append(hdr, ip...)
		frac := usec
		if fl.nano {
			frac = usec * 1000
		}
		out = bo.AppendUint32(out, sec)
		out = bo.AppendUint32(out, frac)
		out = bo.AppendUint32(out, uint32(len(frame)))
		out = bo.AppendUint32(out, orig)
		out = append(out, frame...)
	}
	return out
}

// toIPv6 turns an IPv4 packet into IPv6 with 2001:db8::<v4> addresses,
// behind a hop-by-hop extension header (so the walk is exercised).
func toIPv6(ip []byte) []byte {
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	tcp := ip[ihl:]
	plen := total - ihl + 8
	h := make([]byte, 40, 48+len(tcp))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(plen))
	h[6] = 0 // hop-by-hop
	h[7] = 64
	copy(h[8:], netip.MustParseAddr("2001:db8::").AsSlice())
	copy(h[20:24], ip[12:16])
	copy(h[24:], netip.MustParseAddr("2001:db8::").AsSlice())
	copy(h[36:40], ip[16:20])
	h = append(h, 6, 0, 1, 4, 0, 0, 0, 0) // next=TCP, len 0 (8 bytes), PadN
	return append(h, tcp...)
}

func TestParsePcapFlavours(t *testing.T) {
	base := readFixture(t, fixtureDirs(t)[0], "path1.pcap")
	want, err := ParsePcap(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range []flavour{
		{bigEndian: true, link: LinkEthernet},
		{nano: true, link: LinkEthernet},
		{bigEndian: true, nano: true, link: LinkSLL},
		{link: LinkSLL2},
		{link: LinkRaw},
		{link: LinkEthernet, ipv6: true},
		{bigEndian: true, link: LinkSLL2, ipv6: true},
	} {
		t.Run(fmt.Sprintf("%+v", fl), func(t *testing.T) {
			got, err := ParsePcap(rewrite(t, base, fl))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d packets, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if fl.ipv6 {
					if !g.Src.Addr().Is6() || g.Src.Port() != w.Src.Port() || g.Src.Addr().As16()[15] != w.Src.Addr().As4()[3] {
						t.Errorf("packet %d: src %s from %s", i, g.Src, w.Src)
					}
					g.Src, g.Dst = w.Src, w.Dst
				}
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("packet %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestParsePcapErrors(t *testing.T) {
	base := readFixture(t, fixtureDirs(t)[0], "path1.pcap")
	all, _ := ParsePcap(base)
	for _, tc := range []struct {
		name    string
		data    []byte
		notPcap bool
		eof     bool
		pkts    int
	}{
		{"empty", nil, true, false, 0},
		{"short header", base[:10], true, false, 0},
		{"pcapng", append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, base[4:]...), true, false, 0},
		{"bad version", append(append(append([]byte{}, base[:4]...), 9, 0), base[6:]...), true, false, 0},
		{"header only", base[:24], false, false, 0},
		{"cut in record header", base[:24+8], false, true, 0},
		{"cut in last frame", base[:len(base)-3], false, true, len(all) - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, err := ParsePcap(tc.data)
			if tc.notPcap != errors.Is(err, ErrNotPcap) || tc.eof != errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want notPcap=%v eof=%v", err, tc.notPcap, tc.eof)
			}
			if !tc.notPcap && !tc.eof && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(pkts) != tc.pkts {
				t.Fatalf("%d packets, want %d", len(pkts), tc.pkts)
			}
		})
	}
}

// TestParsePcapSkipsNonTCP checks that ARP/UDP frames are skipped but
// still counted in Index, and that a truncated capture (snaplen) keeps the
// payload length from the IP header.
func TestParsePcapSkipsNonTCP(t *testing.T) {
	hdr := func(link uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
		b = binary.LittleEndian.AppendUint16(b, 2)
		b = binary.LittleEndian.AppendUint16(b, 4)
		b = append(b, make([]byte, 8)...)
		b = binary.LittleEndian.AppendUint32(b, 96)
		return binary.LittleEndian.AppendUint32(b, link)
	}
	rec := func(b, frame []byte, orig int) []byte {
		b = binary.LittleEndian.AppendUint32(b, 100)
		b = binary.LittleEndian.AppendUint32(b, 5)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint32(b, uint32(orig))
		return append(b, frame...)
	}
	arp := append(make([]byte, 12), 0x08, 0x06, 0, 1)
	udp := append(make([]byte, 12), 0x08, 0x00)
	udp = append(udp, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0)
	// TCP, 1000 bytes of payload announced, only the headers captured.
	tcp := append(make([]byte, 12), 0x08, 0x00)
	tcp = append(tcp, 0x45, 0, 0x04, 0x10, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	tcp = append(tcp, 0x13, 0x88, 0xc0, 0x00, 0, 0, 0, 9, 0, 0, 0, 7, 0x50, 0x18, 0, 64, 0, 0, 0, 0)
	data := rec(rec(rec(hdr(LinkEthernet), arp, len(arp)), udp, len(udp)), tcp, len(tcp)+1000)
	pkts, err := ParsePcap(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 1 {
		t.Fatalf("%d packets, want 1", len(pkts))
	}
	p := pkts[0]
	if p.Index != 2 || p.Payload != 1000 || p.Seq != 9 || p.Ack != 7 || p.Flags != FlagACK|FlagPSH ||
		p.Src.String() != "10.0.0.1:5000" || p.Dst.String() != "10.0.0.2:49152" || !p.Time.Equal(time.Unix(100, 5000)) {
		t.Fatalf("got %+v", p)
	}
	// An unknown link type yields no packets, no error.
	if pkts, err := ParsePcap(rec(hdr(147), tcp, len(tcp))); err != nil || len(pkts) != 0 {
		t.Fatalf("unknown link type: %d packets, %v", len(pkts), err)
	}
}

func FuzzParsePcap(f *testing.F) {
	for _, dir := range fixtureDirs(f) {
		pcaps, _ := filepath.Glob(filepath.Join(dir, "path*.pcap"))
		for _, p := range pcaps {
			f.Add(readFixture(f, p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, _ := ParsePcap(data)
		for _, c := range Connections(pkts) {
			probes := KeepaliveProbes(pkts, c.Conn)
			MedianInterval(probes)
		}
	})
}
