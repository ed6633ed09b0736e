package selftests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
)

// Exit codes of the kselftest convention (tools/testing/selftests/kselftest.h)
// and of timeout(1).
const (
	exitSkip    = 4
	exitTimeout = 124 // timeout(1) sent its signal
	exitKilled  = 137 // timeout(1) -k had to SIGKILL
	// exitTermed: busybox timeout returns the script's own status, 128 +
	// SIGTERM, where GNU timeout returns 124; a timeout only when the
	// script ran its whole deadline (see timedOut).
	exitTermed = 143
)

// Script is one selftest program to run in a guest.
type Script struct {
	Suite   *Suite
	Program Program
	// Args are the script's own arguments (mptcp_join.sh's test groups,
	// "-f -e"); the plan checked they are plain words.
	Args    []string
	Payload *Payload
	// Timeout bounds the script in the guest (timeout(1)); 0 means
	// Program.Timeout. Callers scale it for TCG.
	Timeout time.Duration
}

// pushTimeout bounds the payload's push and its unpacking.
const pushTimeout = 10 * time.Minute

// guest paths of one run.
const (
	guestPayload = "/tmp/kselftest-payload.tar.gz"
	guestOut     = "/tmp/kselftest-output.txt"
)

// Env is the environment a script runs with: the payload's tools first,
// GNU options included, then the base image's.
func Env() []string {
	return []string{
		"PATH=" + ToolsRoot + "/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LD_LIBRARY_PATH=" + ToolsRoot + "/lib",
		"XTABLES_LIBDIR=" + ToolsRoot + "/xtables",
		"TERM=dumb", // no colours: the output is parsed
	}
}

// Run pushes the payload into g, runs the script the kselftest way and
// returns its cell: exit 0 PASS, 4 SKIP (reason: the script's last SKIP
// line), timeout ERROR, any other exit FAIL (reason: the not-ok subtests).
// The output (output.txt), dmesg (dmesg.txt) and the parsed TAP
// (verdict.json) go to artifacts. A guest that stops answering, or a
// kernel crash, is ERROR; the caller checks the console for crashes.
func (sc Script) Run(ctx context.Context, g scenarios.Guest, artifacts string, log io.Writer) report.Cell {
	cell := report.Cell{}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		cell.Outcome, cell.Reason = report.Error, "artifacts dir: "+err.Error()
		return cell
	}
	outcome, reason, subtests, err := sc.run(ctx, g, artifacts)
	if err != nil {
		outcome, reason = report.Error, err.Error()
	}
	cell.Outcome, cell.Reason, cell.Subtests = outcome, reason, subtests
	if data, err := json.MarshalIndent(cell, "", "  "); err == nil {
		os.WriteFile(filepath.Join(artifacts, "verdict.json"), append(data, '\n'), 0o644)
	}
	if log != nil {
		fmt.Fprintf(log, "   selftest %s: %s: %s\n", strings.Join(append([]string{sc.Program.Name}, sc.Args...), " "), cell.Outcome, cell.Reason)
	}
	return cell
}

func (sc Script) timeout() time.Duration {
	if sc.Timeout > 0 {
		return sc.Timeout
	}
	if sc.Program.Timeout > 0 {
		return sc.Program.Timeout
	}
	return DefaultTimeout
}

func (sc Script) run(ctx context.Context, g scenarios.Guest, artifacts string) (report.Outcome, string, []report.Subtest, error) {
	if err := mustExec(ctx, g, "", 30*time.Second, "rm -rf "+GuestRoot+" "+ToolsRoot+" && mkdir -p /tmp"); err != nil {
		return "", "", nil, err
	}
	// Minutes, not seconds: SFTP into a TCG guest on a loaded host moves
	// well under 1 MB/s (21 MB took over 2 min with three guests at load 36).
	pctx, cancel := context.WithTimeout(ctx, pushTimeout)
	err := g.Push(pctx, sc.Payload.Path, guestPayload)
	cancel()
	if err != nil {
		return "", "", nil, fmt.Errorf("push selftests payload: %w", err)
	}
	// /bin/bash: the scripts' #! line; busybox has no bash.
	setup := fmt.Sprintf("tar -xzf %s -C / && rm -f %s && ln -sf %s/bin/bash /bin/bash", guestPayload, guestPayload, ToolsRoot)
	if err := mustExec(ctx, g, "", pushTimeout, setup); err != nil {
		return "", "", nil, fmt.Errorf("unpack selftests payload: %w", err)
	}
	if len(sc.Payload.Missing) > 0 {
		os.WriteFile(filepath.Join(artifacts, "missing-tools.txt"), []byte(strings.Join(sc.Payload.Missing, "\n")+"\n"), 0o644)
	}
	dir := path.Join(GuestRoot, sc.Suite.Target)
	to := sc.timeout()
	secs := int((to + time.Second - 1) / time.Second)
	// timeout(1) in the guest is the kselftest runner's own bound (runner.sh
	// uses timeout --foreground $kselftest_timeout); -k: a script that
	// ignores TERM is killed 10 s later. The host waits a minute longer so
	// the guest's bound, not the SSH deadline, decides.
	cmd := fmt.Sprintf("cd %s && export %s && timeout -k 10 %d ./%s >%s 2>&1 </dev/null",
		dir, strings.Join(Env(), " "), secs, strings.Join(append([]string{sc.Program.Name}, sc.Args...), " "), guestOut)
	t0 := time.Now()
	rctx, rcancel := context.WithTimeout(ctx, to+time.Minute)
	res, runErr := g.Exec(rctx, cmd)
	rcancel()
	took := time.Since(t0)
	// Whatever happened, keep what the script printed and the kernel log:
	// also after a crash cancelled ctx (a soft lockup leaves a guest that
	// still answers), so collection gets its own short bound.
	cctx := context.WithoutCancel(ctx)
	out := filepath.Join(artifacts, "output.txt")
	pctx, cancel = context.WithTimeout(cctx, time.Minute)
	pullErr := g.Pull(pctx, guestOut, out)
	cancel()
	// dmesg, and the agent's module log: which of the config's modules
	// this kernel had and loaded.
	for _, a := range []struct{ file, cmd string }{{"dmesg.txt", "dmesg"}, {"modules.log", "cat /run/srutest/modules.log"}} {
		dctx, dcancel := context.WithTimeout(cctx, 30*time.Second)
		if d, err := g.Exec(dctx, a.cmd); err == nil {
			os.WriteFile(filepath.Join(artifacts, a.file), append(d.Stdout, d.Stderr...), 0o644)
		}
		dcancel()
	}
	if runErr != nil {
		if errors.Is(runErr, context.DeadlineExceeded) && ctx.Err() == nil {
			return "", "", nil, fmt.Errorf("%s: guest did not answer within %s of the script's own %ds timeout", sc.Program.Name, time.Minute, secs)
		}
		return "", "", nil, fmt.Errorf("%s: %w", sc.Program.Name, runErr)
	}
	if pullErr != nil {
		return "", "", nil, fmt.Errorf("pull %s output: %w", sc.Program.Name, pullErr)
	}
	output, err := os.ReadFile(out)
	if err != nil {
		return "", "", nil, err
	}
	tap := ParseTAP(output)
	subtests, _ := subtestsOf(res.ExitCode, tap, output)
	outcome, reason := Verdict(res.ExitCode, tap, output, took, secs)
	return outcome, reason, subtests, nil
}

func mustExec(ctx context.Context, g scenarios.Guest, what string, to time.Duration, cmd string) error {
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	res, err := g.Exec(ctx, cmd)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s%q exited %d: %s", what, cmd, res.ExitCode, strings.TrimSpace(string(res.Stderr)+string(res.Stdout)))
	}
	return nil
}

// Subtests turns TAP test lines into report subtests: ok is PASS; a SKIP
// directive is SKIP, with the reason the script printed (the directive's
// text, else its log line, see SkipReasons); mptcp_lib.sh's "IGNORE Flaky"
// (a failure the script chose to ignore) is SKIP saying so, never PASS;
// TODO/XFAIL are SKIP; TIMEOUT is ERROR; other not-ok is FAIL.
func Subtests(t TAP, output []byte) []report.Subtest {
	var out []report.Subtest
	var logged map[int]string
	for _, tt := range t.Tests {
		st := report.Subtest{Num: tt.Num, Name: tt.Name, Reason: tt.Reason, Duration: tt.Time}
		switch {
		case tt.Directive == "SKIP":
			st.Outcome = report.Skip
			if st.Reason == "" {
				if logged == nil {
					logged = SkipReasons(output)
				}
				st.Reason = logged[tt.Num]
			}
		case tt.Directive == "IGNORE":
			st.Outcome = report.Skip
			st.Reason = strings.TrimSpace("failed, ignored by the script: " + tt.Reason)
		case tt.Directive == "TODO" || tt.Directive == "XFAIL":
			st.Outcome = report.Skip
			st.Reason = strings.TrimSpace(tt.Directive + " " + tt.Reason)
		case tt.Directive == "TIMEOUT":
			st.Outcome = report.Error
			st.Reason = strings.TrimSpace("TIMEOUT " + tt.Reason)
		case tt.OK:
			st.Outcome = report.Pass
		default:
			st.Outcome = report.Fail
		}
		out = append(out, st)
	}
	return out
}

// subtestsOf is the script's subtests from its TAP, else from its log
// (fromLog): a script stopped at its timeout never printed its TAP block.
func subtestsOf(code int, t TAP, output []byte) (subs []report.Subtest, fromLog bool) {
	if subs = Subtests(t, output); len(subs) > 0 || t.Version != "" {
		return subs, false
	}
	subs = LogSubtests(output, code == exitTimeout || code == exitKilled)
	return subs, len(subs) > 0
}

// Verdict decides a script's cell from its exit code (the kselftest
// contract) and explains it from its output.
func Verdict(code int, t TAP, output []byte, took time.Duration, timeoutSecs int) (report.Outcome, string) {
	shown := code
	if code == exitTermed && timeoutSecs > 0 && took >= time.Duration(timeoutSecs)*time.Second {
		code = exitTimeout
	}
	subs, fromLog := subtestsOf(code, t, output)
	count := map[report.Outcome]int{}
	var failed []string
	for _, s := range subs {
		count[s.Outcome]++
		if s.Outcome == report.Fail || s.Outcome == report.Error {
			failed = append(failed, fmt.Sprintf("%d %s", s.Num, s.Name))
		}
	}
	summary := fmt.Sprintf("%d subtests: %d ok, %d skip, %d fail", len(subs), count[report.Pass], count[report.Skip], count[report.Fail]+count[report.Error])
	if len(subs) == 0 {
		summary = "no TAP subtests"
	} else if fromLog {
		summary += " (from the log: no TAP)"
	}
	switch code {
	case 0:
		return report.Pass, fmt.Sprintf("exit 0 in %s; %s", took.Round(time.Second), summary)
	case exitSkip:
		why := skipLine(output)
		if why == "" {
			why = "exit 4 (kselftest SKIP)"
		}
		return report.Skip, why
	case exitTimeout, exitKilled:
		reason := fmt.Sprintf("timed out after %ds (exit %d); %s", timeoutSecs, shown, summary)
		if len(failed) > 0 {
			reason += ": " + clip(strings.Join(failed, "; "), 400)
		}
		return report.Error, reason
	}
	reason := fmt.Sprintf("exit %d in %s; %s", code, took.Round(time.Second), summary)
	if len(failed) > 0 {
		reason += ": " + clip(strings.Join(failed, "; "), 400)
	} else if l := lastLine(output); l != "" {
		reason += ": " + clip(l, 200)
	}
	return report.Fail, reason
}

// skipLine is the last line of output saying SKIP (mptcp_lib.sh prints
// "[SKIP] reason", kselftest.h "# SKIP reason"), without the TAP lines.
func skipLine(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "not ok ") {
			continue
		}
		if strings.Contains(strings.ToUpper(l), "SKIP") {
			return clip(l, 300)
		}
	}
	return ""
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
