package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
)

// keepaliveScenario runs one MPTCP keepalive spec in the guest.
type keepaliveScenario struct {
	spec spec
	topo topology
	// work is the guest directory for the pair binary and raw files.
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

func newKeepalive(s spec) *keepaliveScenario {
	t := topology{Cli: "cli", Srv: "srv", Paths: []link{path1}, KeepaliveTime: keepaliveSysctl, KeepaliveIntvl: keepaliveSysctl}
	if s.join {
		t.Paths = append(t.Paths, path2)
		t.Join = true
	}
	return &keepaliveScenario{
		spec:      s,
		topo:      t,
		work:      guestWorkDir,
		snapshots: []time.Duration{1500 * time.Millisecond, 3500 * time.Millisecond},
		window:    captureWindow,
	}
}

// Name implements Scenario.
func (k *keepaliveScenario) Name() string { return k.spec.name }

// Describe implements Scenario.
func (k *keepaliveScenario) Describe() string { return k.spec.describe }

// Run implements Scenario.
func (k *keepaliveScenario) Run(ctx context.Context, env Env) report.Cell {
	t0 := time.Now()
	cell := report.Cell{Scenario: k.spec.name}
	s, err := newSession(env)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, err.Error()
		return cell
	}
	defer s.close()
	o, skip, err := k.collect(ctx, s)
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

// collect runs the scenario in the guest and parses what it pulled back.
// skip is set when the kernel cannot run it (no MPTCP).
func (k *keepaliveScenario) collect(ctx context.Context, s *session) (o observation, skip string, err error) {
	o = observation{spec: k.spec, topo: k.topo}
	w := k.work
	pairBin := path.Join(w, "srutest-pair")

	res, err := s.exec(ctx, "preflight", fmt.Sprintf(
		"uname -r; if [ -e /proc/sys/net/mptcp/enabled ]; then echo mptcp=yes; else echo mptcp=no; fi; "+
			"for t in %s %s %s %s; do [ -x $t ] || echo missing=$t; done", ipBin, ssBin, nstatBin, tcpdumpBin), 0)
	if err != nil {
		return o, "", err
	}
	out := string(res.Stdout)
	if strings.Contains(out, "mptcp=no") {
		return o, "kernel has no MPTCP (/proc/sys/net/mptcp/enabled missing)", nil
	}
	if strings.Contains(out, "missing=") {
		return o, "", fmt.Errorf("guest tools missing: %s", strings.Join(grepPrefix(out, "missing="), ", "))
	}

	// Leftovers of an interrupted scenario would make setup fail.
	if _, err := s.exec(ctx, "cleanup", k.topo.teardownScript()+"rm -rf "+w, 0); err != nil {
		return o, "", err
	}
	if _, err := s.must(ctx, "workdir", "mkdir -p "+w, 0); err != nil {
		return o, "", err
	}
	if err := s.push(ctx, s.env.Pair, pairBin); err != nil {
		return o, "", err
	}
	files := []string{w + "/client.json", w + "/client.err", w + "/server.json", w + "/server.err", w + "/nstat-cli.txt", w + "/nstat-srv.txt"}
	for _, p := range k.topo.Paths {
		files = append(files, fmt.Sprintf("%s/%s.pcap", w, p.Name), fmt.Sprintf("%s/%s.txt", w, p.Name), fmt.Sprintf("%s/%s.tcpdump.log", w, p.Name))
	}
	defer func() {
		// Teardown even when the scenario failed, unless the kernel died
		// (the runner throws that guest away) or the run was cancelled.
		if _, crashed := crashConsole(err); crashed || ctx.Err() != nil {
			return
		}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		if err != nil {
			// Whatever the pair and tcpdump wrote explains the failure.
			s.pull(tctx, files...)
		}
		if _, terr := s.exec(tctx, "teardown", k.topo.teardownScript()+"rm -rf "+w, 0); terr != nil && err == nil {
			err = terr
		}
	}()
	if _, err := s.must(ctx, "setup", "chmod 755 "+pairBin+"\n"+k.topo.setupScript(), 0); err != nil {
		return o, "", fmt.Errorf("setup: %w", err)
	}

	// Server, then one tcpdump per client-side path, then the client; each
	// waits for its readiness file, never a fixed sleep.
	mptcp := strconv.FormatBool(k.spec.serverMPTCP)
	srvPID, err := k.background(ctx, s, "server", k.topo.Srv,
		fmt.Sprintf("%s server --listen %s:%d --mptcp=%s --ready %s/server.ready --timeout 90s", pairBin, serverIP1, serverPort, mptcp, w),
		w+"/server.json", w+"/server.err", fmt.Sprintf("%s wait --file %s/server.ready --timeout 10s", pairBin, w))
	if err != nil {
		return o, "", err
	}
	var dumpPIDs []int
	for _, p := range k.topo.Paths {
		log := fmt.Sprintf("%s/%s.tcpdump.log", w, p.Name)
		// --immediate-mode: without it libpcap hands packets over per ring
		// block (up to 1 s late), and the SIGINT at the end of the window
		// would drop the last probe.
		pid, err := k.background(ctx, s, "tcpdump-"+p.Name, k.topo.Cli,
			fmt.Sprintf("%s -Z root -U --immediate-mode -n -s 200 -i %s -w %s/%s.pcap tcp", tcpdumpBin, p.CliDev, w, p.Name),
			log, log, fmt.Sprintf("%s wait --file %s --contains 'listening on' --timeout 10s", pairBin, log))
		if err != nil {
			return o, "", err
		}
		dumpPIDs = append(dumpPIDs, pid)
	}
	cliPID, err := k.background(ctx, s, "client", k.topo.Cli,
		fmt.Sprintf("%s client --connect %s:%d --keepalive %s --hold 60s --ready %s/client.ready", pairBin, serverIP1, serverPort, k.spec.mode, w),
		w+"/client.json", w+"/client.err", fmt.Sprintf("%s wait --file %s/client.ready --timeout 15s", pairBin, w))
	ready := time.Now()
	clientUp := err == nil
	var se *StepError
	if err != nil && !errors.As(err, &se) {
		return o, "", err
	}

	if clientUp {
		for i, at := range k.snapshots {
			if err := sleepUntil(ctx, ready.Add(at)); err != nil {
				return o, "", err
			}
			res, err := s.must(ctx, fmt.Sprintf("ss-%d", i+1), fmt.Sprintf("%s netns exec %s %s -tinoe", ipBin, k.topo.Cli, ssBin), 0)
			if err != nil {
				return o, "", err
			}
			s.save(fmt.Sprintf("ss-%d.txt", i+1), res.Stdout)
			// MPTCP sockets: needs mptcp_diag; a failure is recorded only.
			res, err = s.exec(ctx, fmt.Sprintf("ss-mptcp-%d", i+1), fmt.Sprintf("%s netns exec %s %s -Minoe", ipBin, k.topo.Cli, ssBin), 0)
			if err != nil {
				return o, "", err
			}
			out := res.Stdout
			if res.ExitCode != 0 {
				out = fmt.Appendf(out, "# ss -M exit %d: %s\n", res.ExitCode, res.Stderr)
			}
			s.save(fmt.Sprintf("ss-mptcp-%d.txt", i+1), out)
		}
		if err := sleepUntil(ctx, ready.Add(k.window)); err != nil {
			return o, "", err
		}
	}

	// Stop the captures BEFORE the client closes: the close exchange has
	// pure ACKs that look like probes.
	var stop strings.Builder
	for _, pid := range dumpPIDs {
		fmt.Fprintf(&stop, "kill -INT %d; ", pid)
	}
	for _, pid := range dumpPIDs {
		fmt.Fprintf(&stop, "%s wait --pid %d --timeout 5s || kill -9 %d; ", pairBin, pid, pid)
	}
	if _, err := s.must(ctx, "stop-captures", stop.String(), 0); err != nil {
		return o, "", err
	}
	res, err = s.exec(ctx, "state", fmt.Sprintf(
		"%[1]s netns exec %[2]s %[3]s -asz > %[4]s/nstat-cli.txt; %[1]s netns exec %[5]s %[3]s -asz > %[4]s/nstat-srv.txt; "+
			"%[1]s -n %[2]s addr; %[1]s -n %[2]s rule; %[1]s -n %[2]s route show table all; %[1]s -n %[2]s mptcp endpoint show; %[1]s -n %[2]s mptcp limits show; %[1]s -n %[5]s mptcp limits show",
		ipBin, k.topo.Cli, nstatBin, w, k.topo.Srv), 0)
	if err != nil {
		return o, "", err
	}
	s.save("state.txt", append(res.Stdout, res.Stderr...))

	// Release the client; the server ends when the client has closed.
	if _, err := s.exec(ctx, "release", fmt.Sprintf(
		"kill -TERM %[1]d; %[3]s wait --pid %[1]d --timeout 5s || kill -9 %[1]d; %[3]s wait --pid %[2]d --timeout 5s || kill -TERM %[2]d",
		cliPID, srvPID, pairBin), 0); err != nil {
		return o, "", err
	}
	var text strings.Builder
	for _, p := range k.topo.Paths {
		fmt.Fprintf(&text, "%[1]s -r %[2]s/%[3]s.pcap -nn -tt -S > %[2]s/%[3]s.txt 2>&1; ", tcpdumpBin, w, p.Name)
	}
	if _, err := s.exec(ctx, "pcap-text", text.String(), 0); err != nil {
		return o, "", err
	}
	res, err = s.exec(ctx, "dmesg", "dmesg", 0)
	if err != nil {
		return o, "", err
	}
	s.save("dmesg.txt", append(res.Stdout, res.Stderr...))
	if err := s.pull(ctx, files...); err != nil {
		return o, "", err
	}

	o = loadObservation(k.spec, k.topo, s.env.Artifacts)
	return o, "", nil
}

// background starts cmd in netns ns with output to files, prints its pid,
// then runs wait (the readiness handshake). It returns the pid; a failed
// wait is a *StepError.
func (k *keepaliveScenario) background(ctx context.Context, s *session, step, ns, cmd, stdout, stderr, wait string) (int, error) {
	redir := fmt.Sprintf(">%s 2>%s", stdout, stderr)
	if stdout == stderr {
		redir = fmt.Sprintf(">%s 2>&1", stdout)
	}
	res, err := s.exec(ctx, step, fmt.Sprintf("%s netns exec %s %s %s </dev/null &\necho $!\n%s", ipBin, ns, cmd, redir, wait), 0)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(res.Stdout)), "\n")
	pid, perr := strconv.Atoi(strings.TrimSpace(first))
	if perr != nil {
		return 0, fmt.Errorf("%s: no pid in %q", step, clip(string(res.Stdout), 80))
	}
	if res.ExitCode != 0 {
		return pid, &StepError{Step: step + " not ready", ExitCode: res.ExitCode, Stderr: tail(string(res.Stderr), 300)}
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
