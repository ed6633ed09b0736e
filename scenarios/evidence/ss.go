package evidence

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SSSocket is one socket from `ss -tinoe` (TCP, including MPTCP subflows)
// or `ss -Minoe` (MPTCP sockets): the main line plus its continuation line.
type SSSocket struct {
	Netid string // "tcp", "mptcp", … when ss printed a Netid column, else ""
	State string // ESTAB, SYN-SENT, LISTEN, TIME-WAIT, …
	RecvQ int
	SendQ int
	// Local and Peer are "ip:port" with IPv6 in brackets and without the
	// device suffix ss adds for sockets bound to a device
	// ("198.51.100.2%c2:40107" becomes "198.51.100.2:40107").
	Local     string
	Peer      string
	LocalDev  string // the stripped device suffix, "" when none
	PeerDev   string
	Timer     *SSTimer // nil when ss printed no timer
	UID       int      // -1 when not printed
	Inode     uint64
	SK        string // the sk: cookie as printed
	ULP       string // "mptcp" for MPTCP subflows ("tcp-ulp-mptcp")
	MPTCPFlag string // subflow flags after tcp-ulp-mptcp (M m J j B b e c v)
	// Info holds the key:value tokens of the continuation line, first
	// occurrence wins ("rto" → "204", "token" → "0000(id:0)/e2773ba7(id:0)").
	Info map[string]string
	// Raw is the socket's text as ss printed it (both lines).
	Raw string
}

// SSTimer is ss's timer:(name,expires,retrans).
type SSTimer struct {
	Name    string // on, keepalive, timewait, persist, unknown
	Expires time.Duration
	Retrans int
}

// HasFlag reports whether the MPTCP subflow flags contain c (e.g. 'J':
// the peer answered MP_JOIN; 'M': the peer answered MP_CAPABLE).
func (s SSSocket) HasFlag(c byte) bool { return strings.IndexByte(s.MPTCPFlag, c) >= 0 }

var ssStates = map[string]bool{
	"ESTAB": true, "SYN-SENT": true, "SYN-RECV": true, "FIN-WAIT-1": true, "FIN-WAIT-2": true,
	"TIME-WAIT": true, "CLOSE": true, "UNCONN": true, "CLOSE-WAIT": true, "LAST-ACK": true,
	"LISTEN": true, "CLOSING": true, "NEW-SYN-RECV": true, "BOUND-INACTIVE": true, "UNKNOWN": true,
}

// ParseSS parses the output of `ss -tinoe` / `ss -Minoe` (with or without
// the header, with or without a Netid column; lines starting with '#' are
// annotations the harness added and are skipped). Lines it does not recognise
// as a socket or a continuation are an error naming the line, so a changed
// ss format is noticed instead of silently yielding no sockets.
func ParseSS(data []byte) ([]SSSocket, error) {
	var socks []SSSocket
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#':
			continue // blank, or a harness annotation ("# ss -M exit 1: …")
		case strings.HasPrefix(trimmed, "State ") || strings.HasPrefix(trimmed, "Netid "):
			continue
		case line[0] == ' ' || line[0] == '\t':
			if len(socks) == 0 {
				return socks, fmt.Errorf("ss line %d: continuation line before any socket", n)
			}
			s := &socks[len(socks)-1]
			s.Raw += "\n" + line
			parseSSInfo(s, trimmed)
			continue
		}
		s, err := parseSSMain(trimmed)
		if err != nil {
			return socks, fmt.Errorf("ss line %d: %w", n, err)
		}
		s.Raw = line
		socks = append(socks, s)
	}
	if err := sc.Err(); err != nil {
		return socks, fmt.Errorf("ss output: %w", err)
	}
	return socks, nil
}

func parseSSMain(line string) (SSSocket, error) {
	s := SSSocket{UID: -1}
	f := strings.Fields(line)
	if len(f) > 0 && !ssStates[f[0]] && len(f) > 1 && ssStates[f[1]] {
		s.Netid, f = f[0], f[1:]
	}
	if len(f) < 5 || !ssStates[f[0]] {
		return s, fmt.Errorf("not a socket line: %q", clip(line))
	}
	s.State = f[0]
	var err error
	if s.RecvQ, err = strconv.Atoi(f[1]); err != nil {
		return s, fmt.Errorf("Recv-Q %q: not a number", f[1])
	}
	if s.SendQ, err = strconv.Atoi(f[2]); err != nil {
		return s, fmt.Errorf("Send-Q %q: not a number", f[2])
	}
	if s.Local, s.LocalDev, err = ssAddr(f[3]); err != nil {
		return s, fmt.Errorf("local address: %w", err)
	}
	if s.Peer, s.PeerDev, err = ssAddr(f[4]); err != nil {
		return s, fmt.Errorf("peer address: %w", err)
	}
	for _, tok := range f[5:] {
		key, val, ok := strings.Cut(tok, ":")
		if !ok {
			continue // "<->", "users:(…)" pieces, …
		}
		switch key {
		case "timer":
			t, err := ssTimer(val)
			if err != nil {
				return s, err
			}
			s.Timer = &t
		case "uid":
			if s.UID, err = strconv.Atoi(val); err != nil {
				return s, fmt.Errorf("uid %q: not a number", val)
			}
		case "ino":
			if s.Inode, err = strconv.ParseUint(val, 10, 64); err != nil {
				return s, fmt.Errorf("ino %q: not a number", val)
			}
		case "sk":
			s.SK = val
		}
	}
	return s, nil
}

// ssAddr splits ss's "addr[%dev]:port" into "addr:port" and dev. IPv6
// addresses come bracketed ("[::1]:22", "[fe80::1]%eth0:22"); old ss
// versions print them bare ("::1:22"), which the last colon still splits.
func ssAddr(tok string) (addr, dev string, err error) {
	i := strings.LastIndexByte(tok, ':')
	if i <= 0 || i == len(tok)-1 {
		return "", "", fmt.Errorf("%q: want addr:port", clip(tok))
	}
	host, port := tok[:i], tok[i+1:]
	if j := strings.IndexByte(host, '%'); j >= 0 && (host[0] != '[' || j > strings.IndexByte(host, ']')) {
		host, dev = host[:j], host[j+1:]
	}
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", fmt.Errorf("%q: unbalanced brackets", clip(tok))
		}
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port, dev, nil
}

// ssTimer parses the inside of timer:(keepalive,1.200ms,0).
func ssTimer(v string) (SSTimer, error) {
	inner, ok := strings.CutPrefix(v, "(")
	if inner, ok2 := strings.CutSuffix(inner, ")"); ok && ok2 {
		parts := strings.Split(inner, ",")
		if len(parts) == 3 {
			t := SSTimer{Name: parts[0]}
			d, err := ParseSSDuration(parts[1])
			if err != nil {
				return t, fmt.Errorf("timer %q: %w", clip(v), err)
			}
			t.Expires = d
			if t.Retrans, err = strconv.Atoi(parts[2]); err != nil {
				return t, fmt.Errorf("timer %q: retrans not a number", clip(v))
			}
			return t, nil
		}
	}
	return SSTimer{}, fmt.Errorf("timer %q: want (name,expires,retrans)", clip(v))
}

// ParseSSDuration parses ss's timer durations: "672ms", "1.200ms" (1.2 s:
// ss prints seconds, a dot, then milliseconds), "5sec", "2min", "1min30sec",
// "1min5.100ms", and "" for zero.
func ParseSSDuration(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	num := func() (int64, bool) {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, false
		}
		n, _ := strconv.ParseInt(rest[:i], 10, 64)
		rest = rest[i:]
		return n, true
	}
	for rest != "" {
		n, ok := num()
		if !ok {
			return 0, fmt.Errorf("duration %q", clip(s))
		}
		switch {
		case strings.HasPrefix(rest, "min"):
			d += time.Duration(n) * time.Minute
			rest = rest[3:]
		case strings.HasPrefix(rest, "sec"):
			d += time.Duration(n) * time.Second
			rest = rest[3:]
		case strings.HasPrefix(rest, "ms"):
			d += time.Duration(n) * time.Millisecond
			rest = rest[2:]
		case strings.HasPrefix(rest, "."):
			d += time.Duration(n) * time.Second
			rest = rest[1:]
			if !strings.HasSuffix(rest, "ms") {
				return 0, fmt.Errorf("duration %q", clip(s))
			}
		default:
			return 0, fmt.Errorf("duration %q", clip(s))
		}
	}
	return d, nil
}

// parseSSInfo reads the continuation line's key:value tokens.
func parseSSInfo(s *SSSocket, line string) {
	if s.Info == nil {
		s.Info = map[string]string{}
	}
	f := strings.Fields(line)
	for i, tok := range f {
		if tok == "tcp-ulp-mptcp" {
			s.ULP = "mptcp"
			if i+1 < len(f) {
				if v, ok := strings.CutPrefix(f[i+1], "flags:"); ok {
					s.MPTCPFlag = v
				}
			}
			continue
		}
		if k, v, ok := strings.Cut(tok, ":"); ok && k != "" {
			if _, dup := s.Info[k]; !dup {
				s.Info[k] = v
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
