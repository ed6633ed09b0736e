package scenarios

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Tool paths in the guest. iproute2's ip is called by full path: busybox
// sh would otherwise run its own ip applet. The rest are named by full
// path too so a stray busybox applet never answers for them.
const (
	ipBin      = "/usr/sbin/ip"
	ssBin      = "/usr/bin/ss"
	nstatBin   = "/usr/bin/nstat"
	tcpdumpBin = "/usr/bin/tcpdump"
)

// Addresses of the scenario topology (RFC 5737 documentation ranges):
// slot 0's; slot n uses the /28 that starts at .16n of the same /24s.
const (
	serverIP1  = "192.0.2.1"
	clientIP1  = "192.0.2.2"
	serverIP2  = "198.51.100.1"
	clientIP2  = "198.51.100.2"
	serverPort = 5000
	// slotPrefix is each path's prefix length: a /24 holds maxSlots cells.
	slotPrefix = 28
	// MaxSlots is how many keepalive cells can run at once in one guest,
	// each in its own netns pair with its own addresses.
	MaxSlots = 1 << (slotPrefix - 24)
)

// link is one client-server link: a veth pair with the client end in the
// cli netns and the server end in srv.
type link struct {
	Name     string // "path1", "path2"
	CliDev   string // veth in cli, where tcpdump listens
	SrvDev   string
	ClientIP string
	ServerIP string
	Prefix   int // prefix length of the path's network
	// Table is the client's routing table for traffic from ClientIP
	// (per-path source routing).
	Table int
}

var (
	path1 = link{Name: "path1", CliDev: "c1", SrvDev: "s1", ClientIP: clientIP1, ServerIP: serverIP1, Prefix: slotPrefix, Table: 1}
	path2 = link{Name: "path2", CliDev: "c2", SrvDev: "s2", ClientIP: clientIP2, ServerIP: serverIP2, Prefix: slotPrefix, Table: 2}
)

// topology is the network a scenario builds in the guest.
type topology struct {
	Cli, Srv string // netns names
	Paths    []link // path1, and path2 for join
	// Join adds the client's subflow endpoint on path 2 (the in-kernel
	// path manager then opens an MP_JOIN subflow from it once the
	// connection is fully established).
	Join bool
	// KeepaliveTime and KeepaliveIntvl are the per-netns
	// net.ipv4.tcp_keepalive_* sysctls in seconds.
	KeepaliveTime, KeepaliveIntvl int
}

// newTopology is the network of a keepalive cell in slot 0: netns cli and
// srv, path 1, and path 2 when join.
func newTopology(join bool) topology {
	t := topology{Cli: "cli", Srv: "srv", Paths: []link{path1}, KeepaliveTime: keepaliveSysctl, KeepaliveIntvl: keepaliveSysctl}
	if join {
		t.Paths = append(t.Paths, path2)
		t.Join = true
	}
	return t
}

// inSlot returns the same network for slot n (0 ≤ n < MaxSlots): netns
// names get the suffix n (none for slot 0), and every address moves 16n
// up inside its /24, so the 4-tuples of cells that run at once in one
// guest never coincide, and any stray packet in a cell's evidence names
// the cell it came from.
func (t topology) inSlot(n int) topology {
	if n == 0 {
		return t
	}
	suffix := strconv.Itoa(n)
	t.Cli += suffix
	t.Srv += suffix
	paths := make([]link, len(t.Paths))
	for i, p := range t.Paths {
		p.ClientIP = shiftIP(p.ClientIP, 16*n)
		p.ServerIP = shiftIP(p.ServerIP, 16*n)
		paths[i] = p
	}
	t.Paths = paths
	return t
}

// shiftIP adds d to the last octet of an IPv4 address.
func shiftIP(ip string, d int) string {
	a := netip.MustParseAddr(ip).As4()
	a[3] += byte(d)
	return netip.AddrFrom4(a).String()
}

// addrs are every address of the topology, for the isolation check.
func (t topology) addrs() map[string]bool {
	m := map[string]bool{}
	for _, p := range t.Paths {
		m[p.ClientIP], m[p.ServerIP] = true, true
	}
	return m
}

// setupScript builds the topology from nothing; enter is the prefix that
// runs a command in a netns (cellCmds.inNS). Both netns are made by one
// `ip -batch` and each is configured by one `ip -n <ns> -batch` process:
// under TCG every process costs, and several cells set up at once in a
// one-vCPU guest (~30 single `ip` runs per cell made setup the longest
// step of a cell). `set -ex` traces the shell steps into stderr and
// `ip -batch` names the failing line ("Command failed -:N"), so
// commands.log shows which one failed.
func (t topology) setupScript(enter func(ns string) string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("set -ex")
	// ip netns add needs its run dir; initramfs guests may lack /run.
	w("mkdir -p /run/netns /var/run/netns 2>/dev/null || true")
	w("%s", ipBatch("", []string{"netns add " + t.Cli, "netns add " + t.Srv}))
	for _, ns := range []string{t.Cli, t.Srv} {
		// Per-netns sysctls: per-socket TCP_KEEPIDLE on MPTCP sockets does
		// not exist on old kernels, the sysctls work everywhere. Read back
		// what the kernel took, for commands.log (shell builtins only).
		w("%s sh -c 'echo %d > /proc/sys/net/ipv4/tcp_keepalive_time && echo %d > /proc/sys/net/ipv4/tcp_keepalive_intvl && echo 1 > /proc/sys/net/mptcp/enabled && "+
			"for f in ipv4/tcp_keepalive_time ipv4/tcp_keepalive_intvl mptcp/enabled; do read v < /proc/sys/net/$f; echo \"%s $f=$v\"; done'",
			enter(ns), t.KeepaliveTime, t.KeepaliveIntvl, ns)
	}
	cli := []string{"link set lo up", "mptcp limits set subflow 2 add_addr_accepted 2"}
	srv := []string{"link set lo up", "mptcp limits set subflow 2 add_addr_accepted 2"}
	for _, p := range t.Paths {
		cli = append(cli,
			fmt.Sprintf("link add %s type veth peer name %s netns %s", p.CliDev, p.SrvDev, t.Srv),
			fmt.Sprintf("addr add %s/%d dev %s", p.ClientIP, p.Prefix, p.CliDev),
			fmt.Sprintf("link set %s up", p.CliDev),
			// Per-path source routing, as MPTCP's documentation sets up a
			// multi-homed client: what leaves from a path's address uses
			// that path's table, whose default route is that path. The
			// join subflow goes from path 2's address to the server's
			// path-1 address; kernels that bind it to the endpoint's dev
			// route it over c2 anyway, but 5.15 only binds the address,
			// and without this rule the main table sent its SYN out of c1
			// while the answer came back on c2. The srv side needs
			// nothing: the path-1 address is local there, and it answers
			// path 2's client over s2.
			fmt.Sprintf("rule add from %s table %d", p.ClientIP, p.Table),
			fmt.Sprintf("route add %s dev %s scope link table %d", p.network(), p.CliDev, p.Table),
			fmt.Sprintf("route add default via %s dev %s table %d", p.ServerIP, p.CliDev, p.Table))
		srv = append(srv,
			fmt.Sprintf("addr add %s/%d dev %s", p.ServerIP, p.Prefix, p.SrvDev),
			fmt.Sprintf("link set %s up", p.SrvDev))
	}
	if t.Join {
		join := t.Paths[1]
		cli = append(cli, fmt.Sprintf("mptcp endpoint add %s dev %s subflow", join.ClientIP, join.CliDev))
	}
	// cli first: it creates the veth pairs whose srv ends srv configures.
	w("%s", ipBatch(t.Cli, cli))
	w("%s", ipBatch(t.Srv, srv))
	return b.String()
}

// ipBatch is one `ip -n ns -batch -` run of lines, as a here-document
// (without -n when ns is empty).
func ipBatch(ns string, lines []string) string {
	n := ""
	if ns != "" {
		n = " -n " + ns
	}
	return fmt.Sprintf("%s%s -batch - <<'EOF'\n%s\nEOF", ipBin, n, strings.Join(lines, "\n"))
}

// network is the path's network ("192.0.2.0/28").
func (p link) network() string {
	return netip.PrefixFrom(netip.MustParseAddr(p.ClientIP), p.Prefix).Masked().String()
}

// teardownScript removes everything setupScript built; it never fails, so
// it also clears leftovers of an earlier, interrupted scenario. A netns
// that is not there costs only a shell test (iproute2 keeps its netns
// under /var/run/netns): before setup there is usually nothing to clean,
// and every process saved counts when cells start at once under TCG.
func (t topology) teardownScript() string {
	var b strings.Builder
	for _, ns := range []string{t.Cli, t.Srv} {
		fmt.Fprintf(&b, "if [ -e /var/run/netns/%[2]s ]; then for p in $(%[1]s netns pids %[2]s 2>/dev/null); do kill -9 $p 2>/dev/null; done; %[1]s netns del %[2]s 2>/dev/null; fi\n", ipBin, ns)
	}
	b.WriteString("true\n")
	return b.String()
}

// pathFor names the path a client address belongs to ("" if none).
func (t topology) pathFor(clientAddr string) (link, bool) {
	for _, p := range t.Paths {
		if strings.HasPrefix(clientAddr, p.ClientIP+":") {
			return p, true
		}
	}
	return link{}, false
}
