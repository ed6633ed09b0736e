package scenarios

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// cellCmds builds the guest shell commands of one keepalive cell. Every
// method is a pure function of the cell's spec, topology and work dir, so
// the command lines are table-tested without a guest (commands_test.go),
// as topology.setupScript is; keepalive.go only runs them in phases.
type cellCmds struct {
	spec spec
	topo topology
	work string // guest directory of this cell: raw files
	pair string // guest path of the srutest-pair binary
	// scale multiplies the guest-side readiness deadlines (Env.TimeScale;
	// < 1 means 1).
	scale float64
	// nsenter: the guest has busybox's nsenter (preflight says), so
	// commands enter a netns with it instead of `ip netns exec`.
	nsenter bool
	// hostText: the host writes pathN.txt from the pulled pcap
	// (Env.PcapText), so the guest neither makes nor sends it.
	hostText bool
}

// inNS is the prefix that runs a command in netns ns. `ip netns exec`
// starts ip (a dynamically linked binary with eight libraries: ~30 ms of
// a one-vCPU TCG guest, far more with five cells at once) and remounts
// /sys for the command; busybox's nsenter only joins the netns. Nothing a
// cell runs reads /sys: ss and the pair use netlink and sockets, nstat
// /proc/net (per netns), tcpdump opens its -i interface by name.
//
// The "--" matters: busybox 1.30 (Ubuntu 22.04's busybox-static, which
// a jammy host copies into its guests) permutes arguments and took the
// pair's --listen for its own option ("unrecognized option"): every cell
// of a jammy host was ERROR "server not ready".
func (c cellCmds) inNS(ns string) string {
	if c.nsenter {
		return nsenterBin + " --net=" + path.Join(netnsDir, ns) + " --"
	}
	return ipBin + " netns exec " + ns
}

const (
	nsenterBin = "/bin/nsenter"
	netnsDir   = "/var/run/netns"
)

// readyTimeout bounds, inside the guest, each readiness handshake that
// replaces a sleep (server listening, tcpdump listening, client read the
// greeting), before Env.TimeScale. It stays below the host's deadline for
// the same command (defaultTimeout, scaled alike) so the guest reports
// what it waited for instead of being cut off. Generous: five cells start
// at once in a one-vCPU TCG guest that may share a loaded host, and a
// deadline that expires on a healthy guest is an ERROR cell.
const readyTimeout = 25 * time.Second

// pairLifetime bounds the server and the client: the harness releases
// them long before; this only ends them if the harness went away.
const pairLifetime = "600s"

// ready is the scaled readiness deadline as the pair's --timeout flag.
func (c cellCmds) ready() string { return c.readyDeadline().String() }

// readySecs is the same deadline in whole seconds, for sr_ready.
func (c cellCmds) readySecs() int { return int(c.readyDeadline() / time.Second) }

func (c cellCmds) readyDeadline() time.Duration {
	d := readyTimeout
	if c.scale > 1 {
		d = time.Duration(float64(d) * c.scale)
	}
	return d.Round(time.Second)
}

// exitTimeout bounds, in seconds, the wait for a process told to end
// (a tcpdump after SIGINT, the client after SIGTERM, the server after its
// client went) before it is killed.
const exitTimeout = 5

// guestWaits defines the cell's waits as shell functions made of busybox
// sh builtins, for the scripts that wait (start, collect):
//
//	sr_ready FILE TEXT PID SECS TICK  FILE exists (and has a line with TEXT,
//	                                  unless TEXT is empty); fails at once
//	                                  when PID has exited, or after SECS
//	sr_exited PID SECS TICK           PID has exited (gone or a zombie)
//
// They used to be `srutest-pair wait` processes: a Go binary costs ~60 ms
// of a one-vCPU TCG guest to start, six starts per cell, thirty in a
// guest running five cells at once. Here no process is started: between
// polls `read -t 0.05` on the cell's tick FIFO (opened read-write, so the
// read never sees end-of-file) sleeps, and deadlines come from
// /proc/uptime in centiseconds (sr_cs: "12.09" is 12*100 + 109 - 100, so
// a fraction's leading zero is never read as octal).
//
// A poll is cheap because it does little: the FIFO is opened once per
// wait (fd 9, closed again when the wait ends, so that a process started
// later by the same shell does not inherit it) and the deadline read
// every eighth poll (~0.4 s).
// Measured in a one-vCPU TCG guest, a wait that polls for 3 s cost ~11 cs
// of CPU when every poll opened the FIFO and read /proc/uptime, ~2 cs
// like this: CPU the awaited process and the other cells get instead.
const guestWaits = `sr_cs() { read u _ </proc/uptime; sr_now=$(( ${u%.*} * 100 + 1${u#*.} - 100 )); }
sr_deadline() { sr_cs; sr_end=$(( sr_now + $1 * 100 )); sr_n=0; }
sr_late() { sr_n=$(( sr_n + 1 )); [ $(( sr_n % 8 )) = 0 ] || return 1; sr_cs; [ $sr_now -gt $sr_end ]; }
sr_ready() { exec 9<>"$5"; sr_ready1 "$@"; sr_rc=$?; exec 9<&-; return $sr_rc; }
sr_ready1() {
	sr_deadline $4
	while :; do
		if [ -e "$1" ]; then
			[ -z "$2" ] && return 0
			while IFS= read -r l || [ -n "$l" ]; do case $l in *"$2"*) return 0 ;; esac; done <"$1"
		fi
		kill -0 $3 2>/dev/null || { echo "srutest: pid $3 exited before $1 was ready" >&2; return 1; }
		sr_late && { echo "srutest: $1 not ready after ${4}s" >&2; return 1; }
		read -t 0.05 _ <&9
	done
}
sr_exited() { exec 9<>"$3"; sr_exited1 "$@"; sr_rc=$?; exec 9<&-; return $sr_rc; }
sr_exited1() {
	sr_deadline $2
	while read -r s 2>/dev/null </proc/$1/stat; do
		case ${s##*) } in Z* | X*) return 0 ;; esac
		sr_late && { echo "srutest: pid $1 still running after ${2}s" >&2; return 1; }
		read -t 0.05 _ <&9
	done
	return 0
}
`

// tick is the cell's FIFO that guestWaits sleep on.
func (c cellCmds) tick() string { return c.file("tick") }

// waitReady is the sr_ready call for a process just started with '&'.
func (c cellCmds) waitReady(file, text string) string {
	return fmt.Sprintf("sr_ready %s '%s' $! %d %s", file, text, c.readySecs(), c.tick())
}

// waitExit waits for pid to end, then runs orElse.
func (c cellCmds) waitExit(pid int, orElse string) string {
	return fmt.Sprintf("sr_exited %d %d %s || %s", pid, exitTimeout, c.tick(), orElse)
}

func (c cellCmds) pairBin() string { return c.pair }

func (c cellCmds) file(name string) string { return path.Join(c.work, name) }

// serverAddr is where the server listens and the client connects: the
// server's path-1 address (a join subflow goes there from path 2 too).
func (c cellCmds) serverAddr() string {
	return fmt.Sprintf("%s:%d", c.topo.Paths[0].ServerIP, serverPort)
}

// preflight prints the kernel release, mptcp=yes|no, missing=<tool> for
// every guest tool the cell needs that is not there, and nsenter=yes when
// nsenter can replace `ip netns exec` (it ran: entered its own netns and
// started a program).
func (c cellCmds) preflight() string {
	return fmt.Sprintf("read r </proc/sys/kernel/osrelease && echo $r; if [ -e /proc/sys/net/mptcp/enabled ]; then echo mptcp=yes; else echo mptcp=no; fi; "+
		"for t in %s %s %s %s; do [ -x $t ] || echo missing=$t; done; %s --net=/proc/self/ns/net -- /bin/echo nsenter=yes 2>/dev/null", ipBin, ssBin, nstatBin, tcpdumpBin, nsenterBin)
}

// cleanup removes the cell's netns and work dir; it never fails, so it
// also clears leftovers of an interrupted run before setup.
func (c cellCmds) cleanup() string {
	return c.topo.teardownScript() + "[ ! -e " + c.work + " ] || rm -rf " + c.work
}

// workdir creates the cell's work dir (before the pair is pushed there)
// and its tick FIFO.
func (c cellCmds) workdir() string { return "mkdir -p " + c.work + " && mkfifo " + c.tick() }

// setup makes the pushed pair executable and builds the topology.
func (c cellCmds) setup() string {
	return "[ -x " + c.pairBin() + " ] || chmod 755 " + c.pairBin() + "\n" + c.topo.setupScript(c.inNS)
}

// ownPair is where a cell pushes the pair itself (no GuestPair).
func ownPair(work string) string { return path.Join(work, "srutest-pair") }

// bgCmd is a process started in the background in a netns, whose output
// goes to files, followed by its readiness handshake (never a sleep).
type bgCmd struct {
	step   string
	ns     string // the netns prefix (cellCmds.inNS)
	cmd    string
	stdout string
	stderr string // == stdout: both into one file
	wait   string // exits 0 when the process is ready
}

// script starts the process, prints its pid on the first line, then runs
// the readiness wait; the wait's exit code is the script's.
func (b bgCmd) script() string {
	redir := fmt.Sprintf(">%s 2>%s", b.stdout, b.stderr)
	if b.stdout == b.stderr {
		redir = fmt.Sprintf(">%s 2>&1", b.stdout)
	}
	return fmt.Sprintf("%s %s %s </dev/null &\necho $!\n%s", b.ns, b.cmd, redir, b.wait)
}

func (c cellCmds) server() bgCmd {
	return bgCmd{
		step: "server",
		ns:   c.inNS(c.topo.Srv),
		cmd: fmt.Sprintf("%s server --listen %s --mptcp=%s --ready %s --timeout %s",
			c.pairBin(), c.serverAddr(), strconv.FormatBool(c.spec.serverMPTCP), c.file("server.ready"), pairLifetime),
		stdout: c.file("server.json"),
		stderr: c.file("server.err"),
		wait:   c.waitReady(c.file("server.ready"), ""),
	}
}

// capture is the tcpdump of one client-side path. --immediate-mode:
// without it libpcap hands packets over per ring block (up to 1 s late),
// and the SIGINT at the end of the window would drop the last probe.
// -Z root: tcpdump would otherwise drop privileges to a user the guest
// does not have.
func (c cellCmds) capture(p link) bgCmd {
	log := c.file(p.Name + ".tcpdump.log")
	return bgCmd{
		step:   "tcpdump-" + p.Name,
		ns:     c.inNS(c.topo.Cli),
		cmd:    fmt.Sprintf("%s -Z root -U --immediate-mode -n -s 200 -i %s -w %s tcp", tcpdumpBin, p.CliDev, c.file(p.Name+".pcap")),
		stdout: log,
		stderr: log,
		wait:   c.waitReady(log, "listening on"),
	}
}

func (c cellCmds) client() bgCmd {
	return bgCmd{
		step: "client",
		ns:   c.inNS(c.topo.Cli),
		// --timeout bounds connect + greeting, as the readiness wait does.
		cmd: fmt.Sprintf("%s client --connect %s --keepalive %s --hold %s --timeout %s --ready %s",
			c.pairBin(), c.serverAddr(), c.spec.mode, pairLifetime, c.ready(), c.file("client.ready")),
		stdout: c.file("client.json"),
		stderr: c.file("client.err"),
		wait:   c.waitReady(c.file("client.ready"), ""),
	}
}

// ss is one `ss` snapshot in the client netns: -tinoe (TCP sockets: the
// subflows, with timers) or, mptcp, -Minoe (MPTCP sockets; needs
// mptcp_diag).
func (c cellCmds) ss(mptcp bool) string {
	flags := "-tinoe"
	if mptcp {
		flags = "-Minoe"
	}
	return fmt.Sprintf("%s %s %s", c.inNS(c.topo.Cli), ssBin, flags)
}

// stopCaptures ends the tcpdumps (SIGINT flushes the pcap) and waits for
// each, killing one that does not end.
func (c cellCmds) stopCaptures(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintf(&b, "kill -INT %d; ", pid)
	}
	for _, pid := range pids {
		fmt.Fprintf(&b, "%s; ", c.waitExit(pid, fmt.Sprintf("kill -9 %d", pid)))
	}
	return b.String()
}

// state saves both netns' counters (nstat -asz) into the work dir and
// prints the client's addresses, rules, routes and MPTCP endpoints and
// both sides' MPTCP limits for state.txt (one `ip -batch` per netns).
func (c cellCmds) state() string {
	return fmt.Sprintf("%[1]s %[2]s -asz > %[3]s; %[4]s %[2]s -asz > %[5]s\n%[6]s\n%[7]s",
		c.inNS(c.topo.Cli), nstatBin, c.file("nstat-cli.txt"), c.inNS(c.topo.Srv), c.file("nstat-srv.txt"),
		ipBatch(c.topo.Cli, []string{"addr", "rule", "route show table all", "mptcp endpoint show", "mptcp limits show"}),
		ipBatch(c.topo.Srv, []string{"mptcp limits show"}))
}

// release ends the client (TERM, then KILL), then waits for the server,
// which exits once its client has gone.
func (c cellCmds) release(cliPID, srvPID int) string {
	return fmt.Sprintf("kill -TERM %d; %s; %s", cliPID,
		c.waitExit(cliPID, fmt.Sprintf("kill -9 %d", cliPID)), c.waitExit(srvPID, fmt.Sprintf("kill -TERM %d", srvPID)))
}

// pcapText writes tcpdump's own reading of every capture next to it, for
// humans and as an independent decoder for the parser tests.
func (c cellCmds) pcapText() string {
	var b strings.Builder
	for _, p := range c.topo.Paths {
		fmt.Fprintf(&b, "%s -r %s -nn -tt -S > %s 2>&1; ", tcpdumpBin, c.file(p.Name+".pcap"), c.file(p.Name+".txt"))
	}
	return b.String()
}

// files are the guest files the cell pulls into its artifacts.
func (c cellCmds) files() []string {
	out := []string{c.file("client.json"), c.file("client.err"), c.file("server.json"), c.file("server.err"), c.file("nstat-cli.txt"), c.file("nstat-srv.txt")}
	for _, p := range c.topo.Paths {
		out = append(out, c.file(p.Name+".pcap"))
		if !c.hostText {
			out = append(out, c.file(p.Name+".txt"))
		}
		out = append(out, c.file(p.Name+".tcpdump.log"))
	}
	return out
}
