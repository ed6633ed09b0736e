package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/srutest/srutest/report"
)

// Reproducer is a user-supplied scenario: push Files into /tmp/repro/ in
// the guest, run Command there with /bin/sh -c; exit code 0 is PASS, any
// other exit is FAIL. A push failure, a timeout or a kernel crash is
// ERROR. Files the command writes under $SRUTEST_OUT (/tmp/repro/out) are
// pulled into the artifacts next to stdout.txt, stderr.txt, dmesg.txt,
// commands.log and verdict.json.
//
// The scenario name is ID (a field called Name would clash with the
// Scenario method).
type Reproducer struct {
	ID      string        // scenario name
	Files   []string      // host files, pushed to /tmp/repro/<base name>
	Command string        // run in /tmp/repro
	Timeout time.Duration // 0 = DefaultReproducerTimeout

	dir string // guest directory; "" = /tmp/repro (tests use their own)
}

// DefaultReproducerTimeout bounds a reproducer command without its own.
const DefaultReproducerTimeout = 5 * time.Minute

// Name implements Scenario.
func (r *Reproducer) Name() string { return r.ID }

// Describe implements Scenario.
func (r *Reproducer) Describe() string {
	return "user reproducer: " + clip(r.Command, 100)
}

// Run implements Scenario.
func (r *Reproducer) Run(ctx context.Context, env Env) report.Cell {
	cell := report.Cell{Scenario: r.ID}
	s, err := newSession(env)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, err.Error()
		return cell
	}
	defer s.close()
	cell.Outcome, cell.Reason, err = r.run(ctx, s)
	if err != nil {
		cell.Outcome, cell.Reason = report.Error, err.Error()
		if console, ok := crashConsole(err); ok {
			cell.Console = console
		}
	}
	if data, err := json.MarshalIndent(cell, "", "  "); err == nil {
		s.save("verdict.json", append(data, '\n'))
	}
	s.logf("%s: %s: %s", r.ID, cell.Outcome, cell.Reason)
	return cell
}

func (r *Reproducer) run(ctx context.Context, s *session) (report.Outcome, string, error) {
	reproDir := r.dir
	if reproDir == "" {
		reproDir = "/tmp/repro"
	}
	reproOutDir := reproDir + "/out"
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReproducerTimeout
	}
	if strings.TrimSpace(r.Command) == "" {
		return "", "", errors.New("reproducer has no command")
	}
	if _, err := s.must(ctx, "prepare", fmt.Sprintf("rm -rf %s && mkdir -p %s", reproDir, reproOutDir), 0); err != nil {
		return "", "", err
	}
	seen := map[string]string{}
	for _, f := range r.Files {
		base := filepath.Base(f)
		if prev, dup := seen[base]; dup {
			return "", "", fmt.Errorf("reproducer files %s and %s share the name %s in %s", prev, f, base, reproDir)
		}
		seen[base] = f
		if err := s.push(ctx, f, path.Join(reproDir, base)); err != nil {
			return "", "", err
		}
	}
	cmd := fmt.Sprintf("cd %s && SRUTEST_OUT=%s; export SRUTEST_OUT; %s", reproDir, reproOutDir, r.Command)
	res, err := s.exec(ctx, "command", cmd, timeout)
	s.save("stdout.txt", res.Stdout)
	s.save("stderr.txt", res.Stderr)
	if err != nil {
		if _, crashed := crashConsole(err); !crashed && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return "", "", fmt.Errorf("reproducer command timed out after %s", timeout)
		}
		return "", "", err
	}
	if d, err := s.exec(ctx, "dmesg", "dmesg", 0); err == nil {
		s.save("dmesg.txt", append(d.Stdout, d.Stderr...))
	} else {
		return "", "", err
	}
	if ls, err := s.exec(ctx, "list-out", "ls -1 "+reproOutDir, 0); err == nil && ls.ExitCode == 0 {
		var remotes []string
		for _, name := range strings.Fields(string(ls.Stdout)) {
			remotes = append(remotes, path.Join(reproOutDir, name))
		}
		if len(remotes) > 0 {
			out := filepath.Join(s.env.Artifacts, "out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				return "", "", fmt.Errorf("artifacts out dir: %w", err)
			}
			sub := &session{env: Env{Guest: s.env.Guest, Artifacts: out}, log: s.log, started: s.started}
			if err := sub.pull(ctx, remotes...); err != nil {
				return "", "", err
			}
		}
	} else if err != nil {
		return "", "", err
	}
	if _, err := s.exec(ctx, "cleanup", "rm -rf "+reproDir, 0); err != nil {
		return "", "", err
	}
	if res.ExitCode == 0 {
		return report.Pass, "command exited 0", nil
	}
	why := lastLines(string(res.Stderr), 1)
	if why == "" {
		why = lastLines(string(res.Stdout), 1)
	}
	return report.Fail, fmt.Sprintf("command exited %d: %s", res.ExitCode, clip(why, 200)), nil
}

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
