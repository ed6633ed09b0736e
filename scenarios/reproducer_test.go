package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/report"
)

func TestReproducer(t *testing.T) {
	src := t.TempDir()
	script := filepath.Join(src, "repro.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello > \"$SRUTEST_OUT/result.txt\"\necho working\necho \"$1 failed here\" >&2\nexit \"${1:-0}\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(src, "input.dat")
	os.WriteFile(data, []byte("x"), 0o644)

	for _, tc := range []struct {
		name    string
		r       Reproducer
		want    report.Outcome
		reason  string
		outFile bool
	}{
		{"exit 0 passes", Reproducer{ID: "r0", Files: []string{script, data}, Command: "test -f input.dat && ./repro.sh 0"}, report.Pass, "command exited 0", true},
		{"exit 3 fails", Reproducer{ID: "r3", Files: []string{script}, Command: "./repro.sh 3"}, report.Fail, "command exited 3: 3 failed here", true},
		{"timeout is an error", Reproducer{ID: "rt", Command: "sleep 5", Timeout: 300 * time.Millisecond}, report.Error, "timed out after 300ms", false},
		{"missing file is an error", Reproducer{ID: "rm", Files: []string{filepath.Join(src, "nope")}, Command: "true"}, report.Error, "push", false},
		{"duplicate base names are an error", Reproducer{ID: "rd", Files: []string{script, script}, Command: "true"}, report.Error, "share the name", false},
		{"no command is an error", Reproducer{ID: "rn"}, report.Error, "no command", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.dir = filepath.Join(t.TempDir(), "repro")
			dir := filepath.Join(t.TempDir(), "cell")
			cell := r.Run(context.Background(), Env{Guest: localGuest{}, Artifacts: dir})
			if cell.Outcome != tc.want || !strings.Contains(cell.Reason, tc.reason) {
				t.Fatalf("got %s: %s; want %s containing %q", cell.Outcome, cell.Reason, tc.want, tc.reason)
			}
			if r.Name() != tc.r.ID || !strings.Contains(r.Describe(), "user reproducer") {
				t.Errorf("Name %q Describe %q", r.Name(), r.Describe())
			}
			if readCell(t, dir).Outcome != tc.want {
				t.Error("verdict.json disagrees")
			}
			if tc.outFile {
				if b, err := os.ReadFile(filepath.Join(dir, "out", "result.txt")); err != nil || string(b) != "hello\n" {
					t.Errorf("out/result.txt: %q %v", b, err)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "stdout.txt")); string(b) != "working\n" {
					t.Errorf("stdout.txt: %q", b)
				}
				if _, err := os.Stat(r.dir); !os.IsNotExist(err) {
					t.Errorf("guest dir left behind: %v", err)
				}
			}
		})
	}
}

func TestReproducerCrash(t *testing.T) {
	g := &scriptedGuest{crashAfter: 2}
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, nil, 0o644)
	cell := (&Reproducer{ID: "c", Command: "./x"}).Run(context.Background(), Env{Guest: g, Artifacts: t.TempDir()})
	if cell.Outcome != report.Error || !strings.Contains(cell.Console, "Call Trace") {
		t.Fatalf("got %s: %s", cell.Outcome, cell.Reason)
	}
}
