package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
)

// keepaliveScenario runs one MPTCP keepalive spec in the guest.
type keepaliveScenario struct {
	spec spec
	topo topology // slot 0's; Run moves it to Env.Slot
	// work is the guest directory under which each cell has its own
	// (work/<slot>) for the pair binary and raw files.
	work string
	// snapshots are when `ss` runs, after the client read the greeting;
	// window is when the captures stop (the client is released after).
	snapshots []time.Duration
	window    time.Duration
}

// Timing: keepalive_time = keepalive_intvl = 1 s, so probes come about
// 1 s after the greeting and every second after that; a 4.5 s window shows
// ~4 of them on any kernel, with real-time timers even under TCG.
const (
	keepaliveSysctl = 1
	captureWindow   = 4500 * time.Millisecond
	guestWorkDir    = "/tmp/srutest"
)

// CaptureWindow is how long every keepalive cell observes its connection
// after the client is up: a kernel's boot and cells can never take less
// than its boot plus this (`srutest bench matrix` prints that bound).
const CaptureWindow = captureWindow

func newKeepalive(s spec) *keepaliveScenario {
	return &keepaliveScenario{
		spec:      s,
		topo:      newTopology(s.join),
		work:      guestWorkDir,
		snapshots: []time.Duration{1500 * time.Millisecond, 3500 * time.Millisecond},
		window:    captureWindow,
	}
}

// Name implements Scenario.
func (k *keepaliveScenario) Name() string { return k.spec.name }

// Describe implements Scenario.
func (k *keepaliveScenario) Describe() string { return k.spec.describe }

// Isolated: each cell has its own netns pair, addresses and work dir
// (Env.Slot), so cells can run at once in one guest.
func (k *keepaliveScenario) Isolated() bool { return true }

// cmds are the guest commands of this scenario's cell in slot n, with the
// pair in the cell's work dir.
func (k *keepaliveScenario) cmds(n int) cellCmds {
	work := fmt.Sprintf("%s/%d", k.work, n)
	return cellCmds{spec: k.spec, topo: k.topo.inSlot(n), work: work, pair: ownPair(work)}
}

// Run implements Scenario.
func (k *keepaliveScenario) Run(ctx context.Context, env Env) report.Cell {
	t0 := time.Now()
	cell := report.Cell{Scenario: k.spec.name}
	if env.Slot < 0 || env.Slot >= MaxSlots {
		cell.Outcome, cell.Reason = report.Error, fmt.Sprintf("slot %d outside 0..%d", env.Slot, MaxSlots-1)
		return cell
	}
	s, err := newSession(env)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, err.Error()
		return cell
	}
	defer s.close()
	c := k.cmds(env.Slot)
	if env.GuestPair != "" {
		c.pair = env.GuestPair
	}
	c.scale = env.TimeScale
	c.hostText = env.PcapText != nil
	o, skip, err := k.run(ctx, s, c)
	switch {
	case err != nil:
		cell.Outcome, cell.Reason = report.Error, err.Error()
		if console, ok := crashConsole(err); ok {
			cell.Console = console
		}
	case skip != "":
		cell.Outcome, cell.Reason = report.Skip, skip
	default:
		var a analysis
		cell, a = judge(o)
		if data, err := json.MarshalIndent(a, "", "  "); err == nil {
			s.save("analysis.json", append(data, '\n'))
		}
	}
	cell.Duration = time.Since(t0)
	if data, err := json.MarshalIndent(cell, "", "  "); err == nil {
		s.save("verdict.json", append(data, '\n'))
	}
	s.logf("%s: %s: %s", k.spec.name, cell.Outcome, cell.Reason)
	return cell
}

// run is the cell in four phases: prepare (preflight, clean slate, work
// dir; push), setup (topology), start (server, captures, client, each
// behind a readiness handshake), observe (ss snapshots through the
// capture window) and collect (stop the captures, state, release the
// pair, dmesg, pull, parse). The first three hold Env.Startup. Commands
// between two decisions of the host share one guest exec (parts.go); each
// still has its own output and exit code in commands.log. The topology is
// torn down on every path out, unless the kernel crashed, the run was
// cancelled or the guest is discarded after this cell (Env.Discard). skip
// is set when the kernel cannot run the scenario (no MPTCP).
func (k *keepaliveScenario) run(ctx context.Context, s *session, c cellCmds) (o observation, skip string, err error) {
	o = observation{spec: k.spec, topo: c.topo}
	if err := s.env.Startup.Enter(ctx); err != nil {
		return o, "", fmt.Errorf("waiting for the other cells' start-up: %w", err)
	}
	if w := time.Since(s.started); w >= 10*time.Millisecond {
		fmt.Fprintf(s.log, "### +%.3fs start-up gate: waited %.3fs for other cells' start-ups\n\n", w.Seconds(), w.Seconds())
	}
	left := false
	leave := func() { // once: after start, or on the way out
		if !left {
			left = true
			s.env.Startup.Leave()
		}
	}
	defer leave()
	if skip, err = k.prepare(ctx, s, &c); err != nil || skip != "" {
		return o, skip, err
	}
	defer func() {
		if _, crashed := crashConsole(err); crashed || ctx.Err() != nil {
			return // the runner throws that guest away
		}
		if s.env.Discard && err == nil {
			fmt.Fprintf(s.log, "### +%.3fs teardown skipped: the guest is powered off after this batch\n\n", time.Since(s.started).Seconds())
			return
		}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.scaled(defaultTimeout))
		defer cancel()
		if err != nil {
			// Whatever the pair and tcpdump wrote explains the failure.
			s.pull(tctx, c.files()...)
		}
		if _, terr := s.exec(tctx, "teardown", c.cleanup(), 0); terr != nil && err == nil {
			err = terr
		}
	}()
	if _, err = s.must(ctx, "setup", c.setup(), 0); err != nil {
		return o, "", fmt.Errorf("setup: %w", err)
	}
	p, err := k.start(ctx, s, c)
	leave()
	if err != nil {
		return o, "", err
	}
	if err = k.observe(ctx, s, c, p); err != nil {
		return o, "", err
	}
	o, err = k.collect(ctx, s, c, p)
	return o, "", err
}

// prepare checks the guest can run the cell, clears leftovers of an
// interrupted run (they would make setup fail), makes the work dir and
// pushes the pair: one exec, then the push. It also picks how the cell's
// commands enter a netns (c.nsenter).
func (k *keepaliveScenario) prepare(ctx context.Context, s *session, c *cellCmds) (skip string, err error) {
	res, err := s.exec(ctx, "prepare", multiScript(false,
		part{"preflight", c.preflight(), ""}, part{"cleanup", c.cleanup(), ""}, part{"workdir", c.workdir(), ""}), 0)
	if err != nil {
		return "", err
	}
	parts := splitParts(res.Stdout)
	pf := parts["preflight"]
	if !pf.ran {
		return "", &StepError{Step: "preflight", ExitCode: res.ExitCode, Stderr: tail(string(res.Stderr)+string(res.Stdout), 300)}
	}
	out := string(pf.out)
	if strings.Contains(out, "mptcp=no") {
		return "kernel has no MPTCP (/proc/sys/net/mptcp/enabled missing)", nil
	}
	if strings.Contains(out, "missing=") {
		return "", fmt.Errorf("guest tools missing: %s", strings.Join(grepPrefix(out, "missing="), ", "))
	}
	c.nsenter = strings.Contains(out, "nsenter=yes")
	if wd := parts["workdir"]; wd.code != 0 {
		return "", &StepError{Step: "workdir", ExitCode: wd.code, Stderr: tail(string(wd.out), 300)}
	}
	if s.env.GuestPair != "" {
		return "", nil // the runner put it there for every cell of the guest
	}
	return "", s.push(ctx, s.env.Pair, c.pairBin())
}

// procs are the pids of what start launched in the guest.
type procs struct {
	server, client int
	captures       []int
	clientUp       bool      // the client read the greeting
	ready          time.Time // when its readiness was seen
}

// start launches, in one exec, the server, one tcpdump per client-side
// path, then the client; each waits for its readiness file, never a fixed
// sleep, and the script stops at the first that does not become ready. A
// client that never becomes ready is not an error here: the captures and
// the pair's facts show why, and judge makes the cell ERROR.
func (k *keepaliveScenario) start(ctx context.Context, s *session, c cellCmds) (procs, error) {
	var p procs
	bgs := []bgCmd{c.server()}
	for _, l := range c.topo.Paths {
		bgs = append(bgs, c.capture(l))
	}
	bgs = append(bgs, c.client())
	parts := make([]part, len(bgs))
	for i, b := range bgs {
		parts[i] = part{b.step, b.script(), ""}
	}
	res, err := s.exec(ctx, "start", guestWaits+multiScript(true, parts...), 0)
	p.ready = time.Now()
	if err != nil {
		return p, err
	}
	out := splitParts(res.Stdout)
	for i, b := range bgs {
		pid, err := bgResult(b.step, out[b.step])
		switch {
		case i == 0:
			p.server = pid
		case i < len(bgs)-1:
			p.captures = append(p.captures, pid)
		default:
			p.client = pid
			p.clientUp = err == nil
			var se *StepError
			if err != nil && !errors.As(err, &se) {
				return p, err
			}
			return p, nil
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// observe takes the ss snapshots at their times after the client's
// readiness (ss -t and ss -M in one exec) and waits out the capture
// window.
func (k *keepaliveScenario) observe(ctx context.Context, s *session, c cellCmds, p procs) error {
	if !p.clientUp {
		return nil
	}
	for i, at := range k.snapshots {
		if err := sleepUntil(ctx, p.ready.Add(at)); err != nil {
			return err
		}
		ssName, mName := fmt.Sprintf("ss-%d", i+1), fmt.Sprintf("ss-mptcp-%d", i+1)
		res, err := s.exec(ctx, fmt.Sprintf("snapshot-%d", i+1), multiScript(false,
			part{ssName, c.ss(false), c.file(ssName + ".err")}, part{mName, c.ss(true), c.file(mName + ".err")}), 0)
		if err != nil {
			return err
		}
		parts := splitParts(res.Stdout)
		if t := parts[ssName]; !t.ran || t.code != 0 {
			return &StepError{Step: ssName, ExitCode: t.code, Stderr: tail(string(t.err)+string(t.out)+string(res.Stderr), 300)}
		}
		s.save(ssName+".txt", parts[ssName].out)
		// MPTCP sockets: needs mptcp_diag; a failure is recorded only.
		m := parts[mName]
		out := m.out
		if m.code != 0 {
			out = fmt.Appendf(out, "# ss -M exit %d: %s\n", m.code, m.err)
		}
		s.save(mName+".txt", out)
	}
	return sleepUntil(ctx, p.ready.Add(k.window))
}

// collect, in one exec, stops the captures BEFORE the client closes (the
// close exchange has pure ACKs that look like probes), records the netns
// state and counters, releases the pair (the server ends when its client
// has gone), turns the captures into text (on the host when it can) and
// saves dmesg; then it pulls the raw files and parses everything into an
// observation.
func (k *keepaliveScenario) collect(ctx context.Context, s *session, c cellCmds, p procs) (observation, error) {
	o := observation{spec: k.spec, topo: c.topo}
	parts := []part{
		{"stop-captures", c.stopCaptures(p.captures), ""},
		{"state", c.state(), ""},
		{"release", c.release(p.client, p.server), ""},
	}
	if !c.hostText {
		parts = append(parts, part{"pcap-text", c.pcapText(), ""})
	}
	res, err := s.exec(ctx, "collect", guestWaits+multiScript(false, append(parts, part{"dmesg", "dmesg", ""})...), 0)
	if err != nil {
		return o, err
	}
	out := splitParts(res.Stdout)
	s.save("state.txt", out["state"].out)
	s.save("dmesg.txt", out["dmesg"].out)
	if st := out["stop-captures"]; !st.ran || st.code != 0 {
		return o, &StepError{Step: "stop-captures", ExitCode: st.code, Stderr: tail(string(st.out)+string(res.Stderr), 300)}
	}
	if err := s.pull(ctx, c.files()...); err != nil {
		return o, err
	}
	if c.hostText {
		s.hostPcapText(ctx, c.topo.Paths)
	}
	return loadObservation(k.spec, c.topo, s.env.Artifacts), nil
}

// bgResult reads a started process's part: its pid on the first line,
// then its readiness wait's output; a failed wait is a *StepError.
func bgResult(step string, po partOutput) (int, error) {
	if !po.ran {
		return 0, fmt.Errorf("%s: did not run", step)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(po.out)), "\n")
	pid, perr := strconv.Atoi(strings.TrimSpace(first))
	if perr != nil {
		return 0, fmt.Errorf("%s: no pid in %q", step, clip(string(po.out), 80))
	}
	if po.code != 0 {
		return pid, &StepError{Step: step + " not ready", ExitCode: po.code, Stderr: tail(string(po.out), 300)}
	}
	return pid, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("scenario cancelled: %w", ctx.Err())
	case <-tm.C:
		return nil
	}
}

func grepPrefix(out, prefix string) []string {
	var r []string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
			r = append(r, v)
		}
	}
	return r
}
