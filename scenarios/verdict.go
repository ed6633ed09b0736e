package scenarios

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios/evidence"
	"github.com/srutest/srutest/scenarios/pair"
)

// observation is everything one keepalive scenario collected, parsed.
// judge turns it into a verdict; it is a pure function so the verdict
// rules are tested without a guest.
type observation struct {
	spec spec
	topo topology
	// client and server are the pair's facts; nil when missing, with the
	// reason in clientErr / serverErr.
	client    *pair.ClientFacts
	clientErr string
	server    *pair.ServerFacts
	serverErr string
	captures  []capture    // one per path, in topology order
	ss        []ssSnapshot // `ss -tinoe` in cli during the idle period
	nstat     map[string]uint64
}

// capture is one client-side pcap.
type capture struct {
	path link
	pkts []evidence.Packet
	err  error // parse error (packets may still be usable)
}

// ssSnapshot is one parsed `ss -tinoe` run.
type ssSnapshot struct {
	name  string // ss-<n>.txt
	socks []evidence.SSSocket
	err   error
}

// analysis is the detail behind a verdict, written as analysis.json.
type analysis struct {
	Scenario       string            `json:"scenario"`
	Outcome        report.Outcome    `json:"outcome"`
	Reason         string            `json:"reason"`
	Setup          []check           `json:"setup"`
	ExpectInterval float64           `json:"expected_interval_s"`
	Subflows       []subflowDetail   `json:"subflows"`
	Connections    []connDetail      `json:"connections"`
	Nstat          map[string]uint64 `json:"nstat_mptcp,omitempty"`
	Notes          []string          `json:"notes,omitempty"`
}

// check is one setup assertion and whether it held.
type check struct {
	What string `json:"what"`
	OK   bool   `json:"ok"`
	Why  string `json:"why,omitempty"`
}

type subflowDetail struct {
	report.Subflow
	Timers []string      `json:"ss_timers"` // timer per snapshot ("keepalive", "none", "absent")
	Probes []probeDetail `json:"probe_list"`
}

type probeDetail struct {
	Capture  string  `json:"capture"` // the path whose capture holds it
	Packet   int     `json:"packet"`  // index in that capture
	At       float64 `json:"t_s"`     // seconds since the connection's first packet
	Gap      float64 `json:"gap_s"`
	Seq      uint32  `json:"seq"`
	Answered bool    `json:"answered"`
}

type connDetail struct {
	Path    string `json:"path"`
	Client  string `json:"client"`
	Server  string `json:"server"`
	Kind    string `json:"kind"`
	Estab   bool   `json:"established"`
	Packets int    `json:"packets"`
	RST     bool   `json:"rst,omitempty"`
	// SeenOn lists the captures (client-side interfaces) that saw the
	// connection, with packets per direction: routing made visible.
	SeenOn []string `json:"seen_on"`
}

// probeTolerance bounds the median probe interval against the expected
// one (max of the keepalive_time and keepalive_intvl sysctls).
const (
	probeIntervalMin = 0.5
	probeIntervalMax = 2.0
	minProbes        = 2
)

// ipprotoTCP is SO_PROTOCOL of a plain TCP socket.
const ipprotoTCP = 6

// judge decides the cell from the observation. Order of the rules:
//  1. the setup must be proven (MPTCP negotiated / fallen back / joined,
//     pair facts present, captures and ss readable) — else ERROR;
//  2. every client subflow is judged on its own (see judgeSubflow);
//  3. any subflow ERROR → ERROR, else any FAIL → FAIL, else PASS.
func judge(o observation) (report.Cell, analysis) {
	a := analysis{Scenario: o.spec.name, ExpectInterval: o.expectInterval().Seconds(), Nstat: o.nstat}
	conns := o.connections(&a)
	a.Setup = o.setupChecks(conns)
	cell := report.Cell{Scenario: o.spec.name}
	var bad []string
	for _, c := range a.Setup {
		if !c.OK {
			bad = append(bad, c.What+": "+c.Why)
		}
	}
	if len(bad) > 0 {
		cell.Outcome = report.Error
		cell.Reason = "setup not achieved: " + strings.Join(bad, "; ")
		a.Outcome, a.Reason = cell.Outcome, cell.Reason
		return cell, a
	}
	subs := o.subflows(conns)
	if len(subs) == 0 {
		cell.Outcome = report.Error
		cell.Reason = "no client subflow found in ss or the captures"
	}
	worst := report.Pass
	var parts []string
	for _, s := range subs {
		cell.Subflows = append(cell.Subflows, s.Subflow)
		a.Subflows = append(a.Subflows, s)
		parts = append(parts, fmt.Sprintf("%s %s: %s", s.Path, s.Kind, s.Notes[0]))
		switch {
		case s.Verdict == report.Error:
			worst = report.Error
		case s.Verdict == report.Fail && worst == report.Pass:
			worst = report.Fail
		}
	}
	if cf := o.client; cf != nil {
		a.Notes = append(a.Notes, fmt.Sprintf("SO_KEEPALIVE read back on the client socket: %d after the greeting, %d at the end (1 on kernels where the MPTCP socket itself carries SOCK_KEEPOPEN, a65198136eaa)",
			cf.AfterGreeting.Keepalive, cf.AtEnd.Keepalive))
	}
	if cell.Outcome == "" {
		cell.Outcome = worst
		cell.Reason = strings.Join(parts, "; ")
	}
	a.Outcome, a.Reason = cell.Outcome, cell.Reason
	return cell, a
}

func (o observation) expectInterval() time.Duration {
	return time.Duration(max(o.topo.KeepaliveTime, o.topo.KeepaliveIntvl)) * time.Second
}

// pathConn is one captured connection, matched by its 4-tuple across
// every capture: a subflow whose packets leave through one path and come
// back through another (asymmetric routing) is still one connection.
// path is the path whose client address the subflow uses (the topology's
// name for it), not the interface it was captured on; seenOn says that.
type pathConn struct {
	path link
	evidence.ConnInfo
	pkts   []evidence.Packet // all captures merged; Index renumbered into origin
	origin []packetOrigin
	seenOn []string // "path1: 7 out, 5 in", per capture that saw the connection
}

// packetOrigin is where a merged packet came from.
type packetOrigin struct {
	capture string // path name of the capture
	index   int    // packet index in that capture's file
}

// merged returns the packets of every capture in one slice, each
// renumbered to its position there, and where each came from.
func (o observation) merged() ([]evidence.Packet, []packetOrigin) {
	var pkts []evidence.Packet
	var origin []packetOrigin
	for _, c := range o.captures {
		for _, p := range c.pkts {
			origin = append(origin, packetOrigin{capture: c.path.Name, index: p.Index})
			p.Index = len(pkts)
			pkts = append(pkts, p)
		}
	}
	return pkts, origin
}

// connections lists the captured connections to the server port, each
// with the packets of all captures.
func (o observation) connections(a *analysis) []pathConn {
	pkts, origin := o.merged()
	var out []pathConn
	for _, ci := range evidence.Connections(pkts) {
		if ci.Server.Port() != serverPort {
			continue
		}
		p, ok := o.topo.pathFor(ci.Client.String())
		if !ok {
			p = link{Name: "no-path"}
		}
		pc := pathConn{path: p, ConnInfo: ci, pkts: pkts, origin: origin, seenOn: seenOn(o.captures, ci.Conn)}
		out = append(out, pc)
		a.Connections = append(a.Connections, connDetail{
			Path: p.Name, Client: ci.Client.String(), Server: ci.Server.String(),
			Kind: ci.Kind(), Estab: ci.Established(), Packets: ci.Packets, RST: ci.RST, SeenOn: pc.seenOn,
		})
	}
	return out
}

// seenOn counts a connection's packets per capture and direction.
func seenOn(captures []capture, c evidence.Conn) []string {
	var out []string
	for _, cp := range captures {
		outN, inN := 0, 0
		for _, p := range cp.pkts {
			switch {
			case p.Src == c.Client && p.Dst == c.Server:
				outN++
			case p.Src == c.Server && p.Dst == c.Client:
				inN++
			}
		}
		if outN+inN > 0 {
			out = append(out, fmt.Sprintf("%s: %d out, %d in", cp.path.Name, outN, inN))
		}
	}
	return out
}

// setupChecks proves the scenario really happened.
func (o observation) setupChecks(conns []pathConn) []check {
	var cs []check
	add := func(what string, ok bool, why string, args ...any) {
		c := check{What: what, OK: ok}
		if !ok {
			c.Why = fmt.Sprintf(why, args...)
		}
		cs = append(cs, c)
	}
	cf := o.client
	add("client facts", cf != nil, "%s", o.clientErr)
	if cf == nil {
		return cs
	}
	add("client ran with --keepalive "+string(o.spec.mode), cf.Keepalive == o.spec.mode, "it ran with --keepalive %s", cf.Keepalive)
	add("client connected and read the greeting", cf.OK(), "connected=%v greeting=%d errors=%v", cf.Connected, cf.Greeting, cf.Errors)
	switch o.spec.mode {
	case pair.KeepaliveBefore:
		ok := false
		for _, c := range cf.Controls {
			ok = ok || (c.KeepaliveSet && c.Protocol == 262)
		}
		add("SO_KEEPALIVE set on the MPTCP socket before connect()", ok, "control calls %+v", cf.Controls)
	case pair.KeepaliveAfter:
		add("SO_KEEPALIVE set after connect()", cf.KeepaliveAfterErr == "", "%s", cf.KeepaliveAfterErr)
	}
	for _, c := range o.captures {
		add("capture "+c.path.Name+" readable", c.err == nil || len(c.pkts) > 0, "%v", c.err)
	}
	nss := 0
	var ssErr []string
	for _, s := range o.ss {
		if s.err == nil {
			nss++
		} else {
			ssErr = append(ssErr, s.err.Error())
		}
	}
	add("ss snapshots readable", nss > 0 && nss == len(o.ss), "%d of %d parsed: %s", nss, len(o.ss), strings.Join(ssErr, "; "))
	stray := o.strayEvidence()
	add("evidence holds only this cell's addresses", len(stray) == 0, "foreign 4-tuples: %s", strings.Join(stray, "; "))

	local, err := netip.ParseAddrPort(cf.Local)
	add("client local address", err == nil, "%q: %v", cf.Local, err)
	var initial *pathConn
	for i := range conns {
		if conns[i].Client == local {
			initial = &conns[i]
		}
	}
	add("initial subflow captured", initial != nil && initial.Established(), "no established connection from %s in any capture", cf.Local)
	if initial == nil {
		return cs
	}
	kind := initial.Kind()
	if o.spec.serverMPTCP {
		add("MPTCP negotiated (SYN and SYN-ACK carry MP_CAPABLE)", kind == "initial", "SYN MP_CAPABLE=%v, SYN-ACK MP_CAPABLE=%v", initial.SYNMPCapable, initial.SYNACKMPCapable)
		add("client MultipathTCP() true", cf.MultipathTCP, "Go reports a plain TCP connection (%s)", cf.MultipathTCPErr)
	} else {
		sf := o.server
		add("server facts", sf != nil, "%s", o.serverErr)
		if sf != nil {
			add("server listened with plain TCP", sf.ListenerProtocol == ipprotoTCP, "listener SO_PROTOCOL=%d", sf.ListenerProtocol)
		}
		add("fallback (SYN has MP_CAPABLE, SYN-ACK has none)", kind == "fallback", "SYN MP_CAPABLE=%v, SYN-ACK MP_CAPABLE=%v", initial.SYNMPCapable, initial.SYNACKMPCapable)
		// Before Linux 5.16 there is no TCP_IS_MPTCP / MPTCP_INFO, and Go's
		// MultipathTCP() cannot see a fallback: the wire decides then.
		canTell := cf.AfterGreeting.TCPIsMPTCPErr == ""
		add("client MultipathTCP() false", !cf.MultipathTCP || !canTell, "Go reports MPTCP in use (TCP_IS_MPTCP=%d)", cf.AfterGreeting.TCPIsMPTCP)
	}
	if o.spec.join {
		var join *pathConn
		for i := range conns {
			if conns[i].path.Name == path2.Name && conns[i].Kind() == "mp_join" {
				join = &conns[i]
			}
		}
		add("MP_JOIN subflow from path2's address (SYN and SYN-ACK carry MP_JOIN, handshake completed)", join != nil && join.Established() && !join.RST,
			"%s", joinWhy(conns))
		if join != nil {
			seen := false
			for _, s := range o.ss {
				for _, so := range s.socks {
					seen = seen || (so.Local == join.Client.String() && so.State == "ESTAB")
				}
			}
			add("MP_JOIN subflow established in ss", seen, "no ESTAB socket from %s in any ss snapshot", join.Client)
		}
	}
	return cs
}

// strayEvidence lists packets and ss sockets whose addresses are not this
// cell's. Cells that run at once in one guest each have their own netns
// pair and addresses (topology.inSlot); a foreign 4-tuple in a capture or
// snapshot would mean the evidence is not this cell's alone, and the cell
// could be judged on another's probes or timers.
func (o observation) strayEvidence() []string {
	own := o.topo.addrs()
	var out []string
	seen := map[string]bool{}
	note := func(where, what string) {
		if k := where + " " + what; !seen[k] && len(out) < 5 {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, c := range o.captures {
		for _, p := range c.pkts {
			if !own[p.Src.Addr().String()] || !own[p.Dst.Addr().String()] {
				note(c.path.Name+".pcap", fmt.Sprintf("%s->%s", p.Src, p.Dst))
			}
		}
	}
	for _, s := range o.ss {
		for _, so := range s.socks {
			for _, a := range []string{so.Local, so.Peer} {
				ap, err := netip.ParseAddrPort(a)
				if err == nil && !own[ap.Addr().Unmap().String()] {
					note(s.name, so.Local+" "+so.Peer)
				}
			}
		}
	}
	return out
}

func joinWhy(conns []pathConn) string {
	var seen []string
	for _, c := range conns {
		if c.path.Name == path2.Name {
			seen = append(seen, fmt.Sprintf("%s kind=%s established=%v rst=%v seen on [%s]", c.Conn, c.Kind(), c.Established(), c.RST, strings.Join(c.seenOn, "; ")))
		}
	}
	if len(seen) == 0 {
		return "no connection to the server port from path2's address in any capture"
	}
	return strings.Join(seen, ", ")
}

// subflows judges every client subflow: the established captured
// connections from the client addresses, plus any ESTAB socket in ss that
// no capture saw.
func (o observation) subflows(conns []pathConn) []subflowDetail {
	var out []subflowDetail
	seen := map[string]bool{}
	for _, c := range conns {
		if !c.Established() || c.path.ClientIP == "" {
			continue
		}
		key := c.Client.String()
		seen[key] = true
		kind := c.Kind()
		if kind == "fallback" {
			kind = "tcp"
		}
		sd := subflowDetail{Subflow: report.Subflow{Path: c.path.Name, Kind: kind, Local: key, Remote: c.Server.String()}}
		timers := o.timers(key, c.Server.String())
		probes := evidence.KeepaliveProbes(c.pkts, c.Conn)
		sd.Timers = timers
		for _, p := range probes {
			from := c.origin[p.Index]
			sd.Probes = append(sd.Probes, probeDetail{Capture: from.capture, Packet: from.index, At: p.Time.Sub(c.First).Seconds(), Gap: p.Gap.Seconds(), Seq: p.Seq, Answered: p.Answered})
		}
		if foreign := foreignCaptures(c); len(foreign) > 0 {
			sd.Notes = append(sd.Notes, fmt.Sprintf("routed asymmetrically: seen on [%s]; matched by 4-tuple across all captures", strings.Join(c.seenOn, "; ")))
		}
		o.judgeSubflow(&sd, timers, probes)
		out = append(out, sd)
	}
	for _, s := range o.ss {
		for _, so := range s.socks {
			if so.State != "ESTAB" || seen[so.Local] || !strings.HasSuffix(so.Peer, fmt.Sprintf(":%d", serverPort)) {
				continue
			}
			seen[so.Local] = true
			p, ok := o.topo.pathFor(so.Local)
			if !ok {
				p.Name = "no-path"
			}
			out = append(out, subflowDetail{Subflow: report.Subflow{
				Path: p.Name, Kind: "unknown", Local: so.Local, Remote: so.Peer, Verdict: report.Error,
				TimerSeen: so.Timer != nil && so.Timer.Name == "keepalive",
				Notes:     []string{"in ss but in no capture: cannot count probes"},
			}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// foreignCaptures names the captures other than the subflow's own path
// that saw packets of it.
func foreignCaptures(c pathConn) []string {
	var out []string
	for _, s := range c.seenOn {
		name, _, _ := strings.Cut(s, ":")
		if name != c.path.Name {
			out = append(out, name)
		}
	}
	return out
}

// timers reports, per ss snapshot, the timer of the socket local→peer:
// its name, "none" (socket listed without a timer) or "absent".
func (o observation) timers(local, peer string) []string {
	var out []string
	for _, s := range o.ss {
		t := "absent"
		for _, so := range s.socks {
			if so.Local == local && so.Peer == peer {
				t = "none"
				if so.Timer != nil {
					t = so.Timer.Name
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// judgeSubflow applies the per-subflow rule. Keepalive expected (connect,
// fallback, join, keepalive-after-connect):
//   - keepalive timer in ss AND ≥ 2 probes at an interval within
//     [0.5, 2]× the expected one → PASS;
//   - neither → FAIL (no keepalive);
//   - timer but no/too few probes, or a wrong interval → FAIL: the wire
//     is what matters, and the capture is proven by the handshake in it;
//   - probes at the right interval but never a keepalive timer in ss →
//     ERROR: the wire proves keepalive works, so the ss reading is wrong;
//   - socket absent from every ss snapshot → ERROR.
//
// Keepalive not expected (keepalive-off): zero probes and no timer → PASS;
// any probe or a keepalive timer → ERROR (the control exists to catch a
// detector that sees probes where there are none).
func (o observation) judgeSubflow(sd *subflowDetail, timers []string, probes []evidence.Probe) {
	nTimer, present := 0, 0
	for _, t := range timers {
		if t != "absent" {
			present++
		}
		if t == "keepalive" {
			nTimer++
		}
	}
	sd.TimerSeen = nTimer > 0
	sd.Subflow.Probes = len(probes)
	med := evidence.MedianInterval(probes)
	sd.IntervalSec = med.Seconds()
	exp := o.expectInterval()
	intervalOK := len(probes) >= minProbes &&
		med >= time.Duration(float64(exp)*probeIntervalMin) && med <= time.Duration(float64(exp)*probeIntervalMax)
	timerNote := fmt.Sprintf("keepalive timer in %d/%d ss snapshots (%s)", nTimer, len(timers), strings.Join(timers, ","))
	probeNote := fmt.Sprintf("%d probes", len(probes))
	if len(probes) >= 2 {
		probeNote += fmt.Sprintf(", median interval %.2fs (expected %.0fs)", med.Seconds(), exp.Seconds())
	}
	var verdict report.Outcome
	var summary string
	switch {
	case present == 0:
		verdict, summary = report.Error, "socket in no ss snapshot"
	case o.spec.mode == pair.KeepaliveOff && len(probes) > 0:
		verdict, summary = report.Error, fmt.Sprintf("control broken: %d probes counted although SO_KEEPALIVE was never set (probe detector wrong)", len(probes))
	case o.spec.mode == pair.KeepaliveOff && nTimer > 0:
		verdict, summary = report.Error, "control broken: keepalive timer in ss although SO_KEEPALIVE was never set"
	case o.spec.mode == pair.KeepaliveOff:
		verdict, summary = report.Pass, "no keepalive, as expected (no timer, 0 probes)"
	case nTimer > 0 && intervalOK:
		verdict, summary = report.Pass, fmt.Sprintf("keepalive (timer, %d probes every %.2fs)", len(probes), med.Seconds())
	case nTimer == 0 && len(probes) == 0:
		verdict, summary = report.Fail, "no keepalive (no timer, 0 probes)"
	case nTimer == 0 && intervalOK:
		verdict, summary = report.Error, fmt.Sprintf("evidence disagrees: %d probes every %.2fs on the wire but no keepalive timer in ss (ss reading wrong?)", len(probes), med.Seconds())
	case nTimer > 0 && len(probes) < minProbes:
		verdict, summary = report.Fail, fmt.Sprintf("evidence disagrees: keepalive timer in ss but only %d probes on the wire", len(probes))
	default:
		verdict, summary = report.Fail, fmt.Sprintf("probes at the wrong interval: %s, timer in %d/%d snapshots", probeNote, nTimer, len(timers))
	}
	sd.Verdict = verdict
	sd.Notes = append([]string{summary, timerNote, probeNote}, sd.Notes...)
}
