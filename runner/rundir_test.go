package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// TestRunNeverRemovesWhatItDidNotMake: a kernel named "." with a
// reproducer named ".." used to map to the run directory itself, and the
// cell's RemoveAll deleted the user's files in --out. Plans from files are
// rejected at load (plan.TestDirNames); this is the runner's own guard, for
// plans built in code (--kernel specs).
func TestRunNeverRemovesWhatItDidNotMake(t *testing.T) {
	w := &fakeWorld{t: t}
	out := t.TempDir()
	precious := filepath.Join(out, "precious.txt")
	os.WriteFile(precious, []byte("user data"), 0o644)
	userDir := filepath.Join(out, "k1", "a")
	os.MkdirAll(userDir, 0o755)
	os.WriteFile(filepath.Join(userDir, "mine.txt"), []byte("user data"), 0o644)

	p := onePlan([]plan.Repro{repro("..", "FAKE-EXIT-0")}, report.Pass)
	p.Kernels[0].Name = "."
	run, _ := w.runner(out).Run(context.Background(), p)
	if c := run.Kernels[0].Cells[0]; c.Outcome != report.Error {
		t.Errorf("kernel '.' × '..': %s %s, want ERROR", c.Outcome, c.Reason)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("the run deleted a file it did not make: %v", err)
	}

	// A cell directory that exists but was not made by srutest is left
	// alone and the cell is ERROR, not silently cleared.
	p = onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-0")}, report.Pass, report.Pass)
	run, _ = w.runner(out).Run(context.Background(), p)
	if got := outcomes(run.Kernels[0]); got != "a=ERROR b=ERROR" {
		// k1 itself exists unmarked (the user made it), so nothing runs there.
		t.Errorf("cells: %s", got)
	}
	if _, err := os.Stat(filepath.Join(userDir, "mine.txt")); err != nil {
		t.Fatalf("the run deleted a file it did not make: %v", err)
	}

	// A second run into the same --out reuses (and clears) the directories
	// the first one made.
	out2 := t.TempDir()
	for i := 0; i < 2; i++ {
		run, err := w.runner(out2).Run(context.Background(), onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0")}, report.Pass))
		if err != nil || outcomes(run.Kernels[0]) != "a=PASS" {
			t.Fatalf("run %d into the same --out: %v %s", i, err, outcomes(run.Kernels[0]))
		}
	}
}

func TestOwnedDir(t *testing.T) {
	parent := t.TempDir()
	for _, name := range []string{"", ".", ".."} {
		if _, err := ownedDir(parent, name, true); err == nil {
			t.Errorf("ownedDir(%q) accepted", name)
		}
	}
	os.Mkdir(filepath.Join(parent, "theirs"), 0o755)
	if _, err := ownedDir(parent, "theirs", true); !errors.Is(err, ErrNotOurs) {
		t.Errorf("unmarked dir: %v, want ErrNotOurs", err)
	}
	d, err := ownedDir(parent, "ours", true)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "old.txt"), nil, 0o644)
	if _, err := ownedDir(parent, "ours", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "old.txt")); !os.IsNotExist(err) {
		t.Errorf("a reused cell dir keeps the last run's files: %v", err)
	}
}

// TestSavedConsoleBounded: a flooded console is saved as head + tail with a
// line saying how much was cut, not read whole into memory.
func TestSavedConsoleBounded(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "console.log")
	os.WriteFile(src, append([]byte("boot\n"), make([]byte, 1<<20)...), 0o644)
	dst := filepath.Join(dir, "console-1.log")
	if err := copyHeadTail(src, dst, 1024, 1024); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dst)
	if len(b) > 2048+200 || !bytes.HasPrefix(b, []byte("boot\n")) || !bytes.Contains(b, []byte("bytes cut by srutest")) {
		t.Errorf("saved %d bytes: %q…", len(b), b[:min(len(b), 80)])
	}
}

// TestLogStripsGuestControlChars: a reproducer's stderr line becomes the
// cell reason the progress log prints; a guest writing escape sequences
// (retitle the terminal, clear the screen) must not reach the terminal.
func TestLogStripsGuestControlChars(t *testing.T) {
	var log bytes.Buffer
	r := &Runner{Log: &log}
	r.logf("   %s × %s: %s", "k1", "repro", "command exited 1: \x1b]0;owned\x07\x1b[2Jgone\r")
	if bytes.ContainsAny(log.Bytes(), "\x1b\x07\r") {
		t.Errorf("control characters reached the log: %q", log.String())
	}
	if !bytes.Contains(log.Bytes(), []byte("gone")) {
		t.Errorf("text lost: %q", log.String())
	}
}
