package evidence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Link types this parser reads (tcpdump -i <veth> writes Ethernet;
// -i any writes Linux cooked v1 or v2).
const (
	LinkEthernet = 1   // LINKTYPE_ETHERNET
	LinkRaw      = 101 // LINKTYPE_RAW (IPv4/IPv6 without link header)
	LinkSLL      = 113 // LINKTYPE_LINUX_SLL
	LinkSLL2     = 276 // LINKTYPE_LINUX_SLL2
)

// ErrNotPcap means the data does not start with a classic libpcap header
// (pcapng is not supported: tcpdump -w writes classic pcap).
var ErrNotPcap = errors.New("not a classic pcap file")

// errUnexpectedEOF marks truncated input; it wraps io.ErrUnexpectedEOF so
// callers can use errors.Is.
var errUnexpectedEOF = fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)

// TCP flag bits as in the TCP header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
)

// MPTCP option subtypes (RFC 8684).
const (
	MPCapable = 0
	MPJoin    = 1
	MPDSS     = 2
)

// Packet is one TCP segment from a capture.
type Packet struct {
	Index   int       // position in the file, from 0 (all records counted)
	Time    time.Time // capture timestamp
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Seq     uint32
	Ack     uint32
	Flags   uint8
	Window  uint16
	Payload int // TCP payload length from the IP header, even if not captured
	// MPTCP lists the subtypes of MPTCP options (kind 30) in the header.
	MPTCP []uint8
}

// Has reports whether all the given flag bits are set.
func (p Packet) Has(flags uint8) bool { return p.Flags&flags == flags }

// HasMPTCP reports whether the segment carries an MPTCP option of subtype.
func (p Packet) HasMPTCP(subtype uint8) bool {
	for _, s := range p.MPTCP {
		if s == subtype {
			return true
		}
	}
	return false
}

// ParsePcap reads a classic libpcap file (either byte order, microsecond
// or nanosecond timestamps) and returns its TCP segments over IPv4/IPv6.
// Other frames (ARP, UDP, IPv6 fragments, unknown link types' frames) are
// skipped. A record cut short at the end of the data (a capture killed
// mid-write) ends the parse with the packets so far and an error wrapping
// io.ErrUnexpectedEOF; callers may still use the packets.
func ParsePcap(data []byte) ([]Packet, error) {
	if len(data) < 24 {
		return nil, fmt.Errorf("pcap header: %d bytes: %w", len(data), ErrNotPcap)
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap magic %#08x: %w", binary.LittleEndian.Uint32(data), ErrNotPcap)
	}
	if major := bo.Uint16(data[4:]); major != 2 {
		return nil, fmt.Errorf("pcap version %d: %w", major, ErrNotPcap)
	}
	link := bo.Uint32(data[20:]) & 0x0fffffff // upper bits: FCS info
	var pkts []Packet
	off := 24
	for idx := 0; off < len(data); idx++ {
		if len(data)-off < 16 {
			return pkts, fmt.Errorf("pcap record %d header at offset %d: %w", idx, off, errUnexpectedEOF)
		}
		sec, frac := bo.Uint32(data[off:]), bo.Uint32(data[off+4:])
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl < 0 || incl > len(data)-off {
			return pkts, fmt.Errorf("pcap record %d: %d bytes announced, %d left: %w", idx, incl, len(data)-off, errUnexpectedEOF)
		}
		frame := data[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		p, ok := decodeFrame(link, frame)
		if !ok {
			continue
		}
		p.Index = idx
		p.Time = time.Unix(int64(sec), ns).UTC()
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// decodeFrame strips the link header and decodes IP + TCP.
func decodeFrame(link uint32, b []byte) (Packet, bool) {
	var etype uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return Packet{}, false
		}
		etype, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for (etype == 0x8100 || etype == 0x88a8) && len(b) >= 4 { // VLAN tags
			etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case LinkSLL:
		if len(b) < 16 {
			return Packet{}, false
		}
		etype, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case LinkSLL2:
		if len(b) < 20 {
			return Packet{}, false
		}
		etype, b = binary.BigEndian.Uint16(b[0:]), b[20:]
	case LinkRaw:
		if len(b) == 0 {
			return Packet{}, false
		}
		switch b[0] >> 4 {
		case 4:
			etype = 0x0800
		case 6:
			etype = 0x86dd
		}
	default:
		return Packet{}, false
	}
	switch etype {
	case 0x0800:
		return decodeIPv4(b)
	case 0x86dd:
		return decodeIPv6(b)
	}
	return Packet{}, false
}

func decodeIPv4(b []byte) (Packet, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Packet{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || len(b) < ihl || total < ihl || b[9] != 6 {
		return Packet{}, false
	}
	if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 { // not the first fragment
		return Packet{}, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	return decodeTCP(src, dst, b[ihl:], total-ihl)
}

func decodeIPv6(b []byte) (Packet, bool) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return Packet{}, false
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	next := b[6]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	b = b[40:]
	for {
		switch next {
		case 6:
			return decodeTCP(src, dst, b, plen)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				return Packet{}, false
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n || plen < n {
				return Packet{}, false
			}
			next, b, plen = b[0], b[n:], plen-n
		default: // fragments, ESP, no next header, …
			return Packet{}, false
		}
	}
}

// decodeTCP decodes a TCP header; segLen is the TCP segment length the IP
// header announces (header + payload), which may exceed what was captured.
func decodeTCP(src, dst netip.Addr, b []byte, segLen int) (Packet, bool) {
	if len(b) < 20 {
		return Packet{}, false
	}
	doff := int(b[12]>>4) * 4
	if doff < 20 || len(b) < doff || segLen < doff {
		return Packet{}, false
	}
	p := Packet{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		Seq:     binary.BigEndian.Uint32(b[4:]),
		Ack:     binary.BigEndian.Uint32(b[8:]),
		Flags:   b[13] & 0x3f,
		Window:  binary.BigEndian.Uint16(b[14:]),
		Payload: segLen - doff,
	}
	opts := b[20:doff]
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 { // end of options
			break
		}
		if kind == 1 { // no-op
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			break // malformed: keep what we have
		}
		olen := int(opts[1])
		if kind == 30 && olen >= 3 {
			p.MPTCP = append(p.MPTCP, opts[2]>>4)
		}
		opts = opts[olen:]
	}
	return p, true
}
