package evidence

import (
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// Conn names one TCP connection (one MPTCP subflow) by its endpoints.
// Client is the side that sent the SYN.
type Conn struct {
	Client netip.AddrPort
	Server netip.AddrPort
}

func (c Conn) String() string { return fmt.Sprintf("%s->%s", c.Client, c.Server) }

// ConnInfo is what a capture shows about one connection's handshake.
type ConnInfo struct {
	Conn
	SYN    bool // client SYN seen
	SYNACK bool // server SYN-ACK seen
	ACK    bool // client ACK after the SYN-ACK seen (handshake complete)
	// MPTCP options on the handshake (RFC 8684): MP_CAPABLE on the SYN and
	// the SYN-ACK means MPTCP was negotiated; a SYN with MP_CAPABLE answered
	// without it is a fallback; MP_JOIN on both is an additional subflow.
	SYNMPCapable    bool
	SYNACKMPCapable bool
	SYNJoin         bool
	SYNACKJoin      bool
	RST             bool // a reset was seen in either direction
	FIN             bool // a FIN was seen in either direction
	Packets         int
	First, Last     time.Time
}

// Established reports whether the three-way handshake completed.
func (ci ConnInfo) Established() bool { return ci.SYN && ci.SYNACK && ci.ACK }

// Kind classifies the subflow from its handshake: "initial" (MPTCP
// negotiated), "mp_join", "fallback" (client asked for MPTCP, server did
// not answer it), "tcp" (no MPTCP asked), or "unknown" (no handshake seen).
func (ci ConnInfo) Kind() string {
	switch {
	case !ci.SYN || !ci.SYNACK:
		return "unknown"
	case ci.SYNJoin && ci.SYNACKJoin:
		return "mp_join"
	case ci.SYNMPCapable && ci.SYNACKMPCapable:
		return "initial"
	case ci.SYNMPCapable:
		return "fallback"
	}
	return "tcp"
}

// Connections groups the TCP segments of a capture into connections, in
// order of first appearance. The client is the sender of the SYN; without
// a SYN, the receiver of the SYN-ACK; without either, the first sender.
func Connections(pkts []Packet) []ConnInfo {
	type key struct{ a, b netip.AddrPort }
	norm := func(p Packet) key {
		if p.Src.Addr().Less(p.Dst.Addr()) || (p.Src.Addr() == p.Dst.Addr() && p.Src.Port() < p.Dst.Port()) {
			return key{p.Src, p.Dst}
		}
		return key{p.Dst, p.Src}
	}
	idx := map[key]int{}
	var out []ConnInfo
	for _, p := range sorted(pkts) {
		k := norm(p)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			c := Conn{Client: p.Src, Server: p.Dst}
			if p.Has(FlagSYN | FlagACK) {
				c = Conn{Client: p.Dst, Server: p.Src}
			}
			out = append(out, ConnInfo{Conn: c, First: p.Time})
		}
		ci := &out[i]
		ci.Packets++
		ci.Last = p.Time
		fromClient := p.Src == ci.Client
		switch {
		case p.Flags&(FlagSYN|FlagACK) == FlagSYN:
			if !fromClient && !ci.SYN && !ci.SYNACK {
				ci.Client, ci.Server = ci.Server, ci.Client // first packet was the server's
				fromClient = true
			}
			if fromClient {
				ci.SYN = true
				ci.SYNMPCapable = ci.SYNMPCapable || p.HasMPTCP(MPCapable)
				ci.SYNJoin = ci.SYNJoin || p.HasMPTCP(MPJoin)
			}
		case p.Has(FlagSYN | FlagACK):
			if !fromClient {
				ci.SYNACK = true
				ci.SYNACKMPCapable = ci.SYNACKMPCapable || p.HasMPTCP(MPCapable)
				ci.SYNACKJoin = ci.SYNACKJoin || p.HasMPTCP(MPJoin)
			}
		case fromClient && ci.SYNACK && p.Has(FlagACK):
			ci.ACK = true
		}
		if p.Has(FlagRST) {
			ci.RST = true
		}
		if p.Has(FlagFIN) {
			ci.FIN = true
		}
	}
	return out
}

// sorted returns the packets in capture-time order (stable: file order
// breaks ties), without modifying the input.
func sorted(pkts []Packet) []Packet {
	s := append([]Packet(nil), pkts...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) })
	return s
}
