package evidence

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real evidence lives in ../testdata/captures/<kernel>/<scenario>/ (see the
// scenarios package doc for how to add a kernel's artifacts).
const capturesDir = "../testdata/captures"

// fixtureDirs lists every <kernel>/<scenario> fixture directory.
func fixtureDirs(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(capturesDir, "*", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under %s: %v", capturesDir, err)
	}
	return dirs
}

func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// dumpLine is one line of `tcpdump -r -nn -tt -S`: an independent decoder
// to check ParsePcap against.
type dumpLine struct {
	time     time.Time
	src, dst string
	flags    string
	seq      string // "A" or "A:B", "" for pure ACKs
	length   int
	text     string
}

func parseDump(t testing.TB, data []byte) []dumpLine {
	t.Helper()
	var out []dumpLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 5 || (f[1] != "IP" && f[1] != "IP6") {
			continue // "reading from file …"
		}
		sec, frac, _ := strings.Cut(f[0], ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		us, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil || len(frac) != 6 {
			t.Fatalf("tcpdump line %q: bad timestamp", line)
		}
		d := dumpLine{time: time.Unix(s, us*1000).UTC(), src: f[2], dst: strings.TrimSuffix(f[4], ":"), text: line}
		if i := strings.Index(line, "Flags ["); i >= 0 {
			d.flags = line[i+7 : i+7+strings.IndexByte(line[i+7:], ']')]
		}
		if i := strings.Index(line, ", seq "); i >= 0 {
			rest := line[i+6:]
			d.seq = rest[:strings.IndexByte(rest, ',')]
		}
		if i := strings.LastIndex(line, "length "); i >= 0 {
			d.length, _ = strconv.Atoi(strings.TrimSpace(line[i+7:]))
		}
		out = append(out, d)
	}
	return out
}

// dumpAddr renders an AddrPort the way tcpdump -nn does (ip.port).
func dumpAddr(ap interface {
	String() string
}) string {
	s := ap.String()
	i := strings.LastIndexByte(s, ':')
	return strings.Trim(s[:i], "[]") + "." + s[i+1:]
}

func tcpdumpFlags(p Packet) string {
	// tcpdump's order (print-tcp.c tcp_flag_values): F S R P . U
	var b strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{FlagFIN, 'F'}, {FlagSYN, 'S'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagACK, '.'}, {FlagURG, 'U'}} {
		if p.Flags&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}
