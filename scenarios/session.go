package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CrashError means the guest kernel crashed (BUG:, Oops, panic, WARNING:
// …) while the scenario ran; Console is what Guest.Crashed reported.
type CrashError struct{ Console string }

func (e *CrashError) Error() string {
	return "kernel crash on the guest console: " + firstLine(e.Console)
}

// session runs guest commands for one scenario, records each in
// commands.log and stops at the first sign of a crash.
type session struct {
	env     Env
	log     *os.File
	started time.Time
}

func newSession(env Env) (*session, error) {
	if err := os.MkdirAll(env.Artifacts, 0o755); err != nil {
		return nil, fmt.Errorf("artifacts dir: %w", err)
	}
	f, err := os.Create(filepath.Join(env.Artifacts, "commands.log"))
	if err != nil {
		return nil, fmt.Errorf("commands.log: %w", err)
	}
	return &session{env: env, log: f, started: time.Now()}, nil
}

func (s *session) close() error { return s.log.Close() }

// logf writes a progress line to Env.Log.
func (s *session) logf(format string, args ...any) {
	if s.env.Log != nil {
		fmt.Fprintf(s.env.Log, "      "+format+"\n", args...)
	}
}

// exec runs cmd in the guest with a deadline, records it, and returns a
// *CrashError when the console shows a crash afterwards. A non-zero exit
// is not an error here: callers decide.
func (s *session) exec(ctx context.Context, step, cmd string, timeout time.Duration) (ExecResult, error) {
	if err := s.crashed(); err != nil {
		return ExecResult{ExitCode: -1}, err
	}
	if timeout <= 0 {
		timeout = s.scaled(defaultTimeout) // a caller's own deadline is kept as given
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	res, err := s.env.Guest.Exec(cctx, cmd)
	d := time.Since(t0)
	fmt.Fprintf(s.log, "### +%.3fs step=%s exit=%d took=%s", t0.Sub(s.started).Seconds(), step, res.ExitCode, d.Round(time.Millisecond))
	if err != nil {
		fmt.Fprintf(s.log, " error=%q", err.Error())
	}
	fmt.Fprintf(s.log, "\n$ %s\n", cmd)
	if len(res.Stdout) > 0 {
		fmt.Fprintf(s.log, "--- stdout\n%s", ensureNL(res.Stdout))
	}
	if len(res.Stderr) > 0 {
		fmt.Fprintf(s.log, "--- stderr\n%s", ensureNL(res.Stderr))
	}
	fmt.Fprintln(s.log)
	if cerr := s.crashed(); cerr != nil {
		return res, cerr
	}
	if err != nil {
		return res, fmt.Errorf("guest command (%s) %q: %w", step, clip(cmd, 120), err)
	}
	return res, nil
}

// must is exec that also treats a non-zero exit as an error.
func (s *session) must(ctx context.Context, step, cmd string, timeout time.Duration) (ExecResult, error) {
	res, err := s.exec(ctx, step, cmd, timeout)
	if err == nil && res.ExitCode != 0 {
		err = &StepError{Step: step, ExitCode: res.ExitCode, Stderr: tail(string(res.Stderr)+string(res.Stdout), 300)}
	}
	return res, err
}

// StepError is a guest command that ran but exited non-zero.
type StepError struct {
	Step     string
	ExitCode int
	Stderr   string // tail of its output
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", e.Step, e.ExitCode, strings.TrimSpace(e.Stderr))
}

func (s *session) crashed() error {
	if err := s.env.Guest.Crashed(); err != nil {
		return &CrashError{Console: err.Error()}
	}
	return nil
}

// scaled applies Env.TimeScale to a deadline.
func (s *session) scaled(d time.Duration) time.Duration {
	if s.env.TimeScale > 1 {
		return time.Duration(float64(d) * s.env.TimeScale)
	}
	return d
}

// push copies a host file into the guest, logged like a command.
func (s *session) push(ctx context.Context, local, remote string) error {
	cctx, cancel := context.WithTimeout(ctx, s.scaled(defaultTimeout))
	defer cancel()
	err := s.env.Guest.Push(cctx, local, remote)
	fmt.Fprintf(s.log, "### +%.3fs push %s -> %s: %v\n\n", time.Since(s.started).Seconds(), local, remote, errText(err))
	if cerr := s.crashed(); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("push %s to guest %s: %w", local, remote, err)
	}
	return nil
}

// pull copies guest files into the artifacts dir under their base names.
// Missing files are logged, not fatal: the analysis notices what is absent.
func (s *session) pull(ctx context.Context, remotes ...string) error {
	if fp, ok := s.env.Guest.(FilesPuller); ok {
		cctx, cancel := context.WithTimeout(ctx, s.scaled(defaultTimeout))
		errs, err := fp.PullFiles(cctx, remotes, s.env.Artifacts)
		cancel()
		for i, r := range remotes {
			e := err
			if errs != nil {
				e = errs[i]
			}
			fmt.Fprintf(s.log, "### +%.3fs pull %s -> %s: %v\n", time.Since(s.started).Seconds(), r, filepath.Join(s.env.Artifacts, filepath.Base(r)), errText(e))
		}
		fmt.Fprintln(s.log)
		if cerr := s.crashed(); cerr != nil {
			return cerr
		}
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("pull: %w", err)
		}
		return nil
	}
	for _, r := range remotes {
		cctx, cancel := context.WithTimeout(ctx, s.scaled(defaultTimeout))
		local := filepath.Join(s.env.Artifacts, filepath.Base(r))
		err := s.env.Guest.Pull(cctx, r, local)
		cancel()
		fmt.Fprintf(s.log, "### +%.3fs pull %s -> %s: %v\n\n", time.Since(s.started).Seconds(), r, local, errText(err))
		if cerr := s.crashed(); cerr != nil {
			return cerr
		}
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("pull %s: %w", r, err)
		}
	}
	return nil
}

// hostPcapText writes <path>.txt next to each pulled <path>.pcap with
// Env.PcapText, logged like a command; a capture that is missing or
// unreadable gets its error in the text file (judge reads the pcap).
func (s *session) hostPcapText(ctx context.Context, paths []link) {
	for _, p := range paths {
		pcap := filepath.Join(s.env.Artifacts, p.Name+".pcap")
		t0 := time.Now()
		out, err := s.env.PcapText(ctx, pcap)
		if err != nil {
			out = fmt.Appendf(out, "srutest: %v\n", err)
		}
		s.save(p.Name+".txt", out)
		fmt.Fprintf(s.log, "### +%.3fs host tcpdump -r %s -> %s.txt: %v (took %s)\n\n", t0.Sub(s.started).Seconds(), pcap, p.Name, errText(err), time.Since(t0).Round(time.Millisecond))
	}
}

// save writes data to a file in the artifacts dir.
func (s *session) save(name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(s.env.Artifacts, name), data, 0o644); err != nil {
		return fmt.Errorf("save artifact %s: %w", name, err)
	}
	return nil
}

// read returns an artifact's content, nil if absent.
func (s *session) read(name string) []byte {
	data, _ := os.ReadFile(filepath.Join(s.env.Artifacts, name))
	return data
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// crashConsole extracts the console text when err is a crash.
func crashConsole(err error) (string, bool) {
	var ce *CrashError
	if errors.As(err, &ce) {
		return ce.Console, true
	}
	return "", false
}

func ensureNL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(b, '\n')
	}
	return b
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
