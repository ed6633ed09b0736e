package scenarios

import (
	"fmt"
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

// Addresses of the scenario topology (RFC 5737 documentation ranges).
const (
	serverIP1  = "192.0.2.1"
	clientIP1  = "192.0.2.2"
	serverIP2  = "198.51.100.1"
	clientIP2  = "198.51.100.2"
	serverPort = 5000
)

// link is one client-server link: a veth pair with the client end in the
// cli netns and the server end in srv.
type link struct {
	Name     string // "path1", "path2"
	CliDev   string // veth in cli, where tcpdump listens
	SrvDev   string
	ClientIP string
	ServerIP string
	// Table is the client's routing table for traffic from ClientIP
	// (per-path source routing).
	Table int
}

var (
	path1 = link{Name: "path1", CliDev: "c1", SrvDev: "s1", ClientIP: clientIP1, ServerIP: serverIP1, Table: 1}
	path2 = link{Name: "path2", CliDev: "c2", SrvDev: "s2", ClientIP: clientIP2, ServerIP: serverIP2, Table: 2}
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

// setupScript builds the topology from nothing; `set -x` traces every
// command into stderr, so commands.log shows which one failed.
func (t topology) setupScript() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("set -ex")
	// ip netns add needs its run dir; initramfs guests may lack /run.
	w("mkdir -p /run/netns /var/run/netns 2>/dev/null || true")
	for _, ns := range []string{t.Cli, t.Srv} {
		w("%s netns add %s", ipBin, ns)
		w("%s -n %s link set lo up", ipBin, ns)
		// Per-netns sysctls: per-socket TCP_KEEPIDLE on MPTCP sockets does
		// not exist on old kernels, the sysctls work everywhere.
		w("%s netns exec %s sh -c 'echo %d > /proc/sys/net/ipv4/tcp_keepalive_time && echo %d > /proc/sys/net/ipv4/tcp_keepalive_intvl && echo 1 > /proc/sys/net/mptcp/enabled'",
			ipBin, ns, t.KeepaliveTime, t.KeepaliveIntvl)
		w("%s -n %s mptcp limits set subflow 2 add_addr_accepted 2", ipBin, ns)
	}
	for _, p := range t.Paths {
		w("%s -n %s link add %s type veth peer name %s netns %s", ipBin, t.Cli, p.CliDev, p.SrvDev, t.Srv)
		w("%s -n %s addr add %s/24 dev %s", ipBin, t.Cli, p.ClientIP, p.CliDev)
		w("%s -n %s addr add %s/24 dev %s", ipBin, t.Srv, p.ServerIP, p.SrvDev)
		w("%s -n %s link set %s up", ipBin, t.Cli, p.CliDev)
		w("%s -n %s link set %s up", ipBin, t.Srv, p.SrvDev)
		// Per-path source routing, as MPTCP's documentation sets up a
		// multi-homed client: what leaves from a path's address uses that
		// path's table, whose default route is that path. The join subflow
		// goes from 198.51.100.2 to the server's path-1 address; kernels
		// that bind it to the endpoint's dev (≥ 5.19-ish) would route it
		// over c2 anyway, but 5.15 only binds the address, and without
		// this rule the main table sent its SYN out of c1 while the answer
		// came back on c2. The srv side needs nothing: 192.0.2.1 is local
		// there, and it answers 198.51.100.2 over s2.
		w("%s -n %s rule add from %s table %d", ipBin, t.Cli, p.ClientIP, p.Table)
		w("%s -n %s route add %s dev %s scope link table %d", ipBin, t.Cli, subnet24(p.ClientIP), p.CliDev, p.Table)
		w("%s -n %s route add default via %s dev %s table %d", ipBin, t.Cli, p.ServerIP, p.CliDev, p.Table)
	}
	if t.Join {
		w("%s -n %s mptcp endpoint add %s dev %s subflow", ipBin, t.Cli, clientIP2, path2.CliDev)
	}
	// Read back what the kernel took, for commands.log.
	for _, ns := range []string{t.Cli, t.Srv} {
		w("%s netns exec %s sh -c 'for f in ipv4/tcp_keepalive_time ipv4/tcp_keepalive_intvl mptcp/enabled; do echo \"$f=$(cat /proc/sys/net/$f)\"; done'", ipBin, ns)
	}
	return b.String()
}

// subnet24 is the /24 network of an IPv4 address ("192.0.2.2" → "192.0.2.0/24").
func subnet24(ip string) string {
	if i := strings.LastIndexByte(ip, '.'); i >= 0 {
		return ip[:i] + ".0/24"
	}
	return ip
}

// teardownScript removes everything setupScript built; it never fails, so
// it also clears leftovers of an earlier, interrupted scenario.
func (t topology) teardownScript() string {
	var b strings.Builder
	for _, ns := range []string{t.Cli, t.Srv} {
		fmt.Fprintf(&b, "for p in $(%s netns pids %s 2>/dev/null); do kill -9 $p 2>/dev/null; done\n", ipBin, ns)
		fmt.Fprintf(&b, "%s netns del %s 2>/dev/null\n", ipBin, ns)
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
