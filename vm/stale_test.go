package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestSweepStale(t *testing.T) {
	parent := t.TempDir()
	// A pid that certainly is dead: a finished child.
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string, age time.Duration) string {
		dir := filepath.Join(parent, name)
		os.Mkdir(dir, 0o700)
		if owner != "" {
			os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600)
		}
		when := time.Now().Add(-age)
		os.Chtimes(dir, when, when)
		return dir
	}
	dead := mk(tempPrefix+"dead", strconv.Itoa(c.Process.Pid), 0)
	alive := mk(tempPrefix+"alive", strconv.Itoa(os.Getpid()), 0)
	fresh := mk(tempPrefix+"fresh", "", 0)
	orphan := mk(tempPrefix+"orphan", "", 2*ownerGrace)
	other := mk("not-ours", strconv.Itoa(c.Process.Pid), 0)
	os.WriteFile(filepath.Join(other, ownerFile), []byte(strconv.Itoa(c.Process.Pid)), 0o600)

	if n := sweepStale(parent); n != 2 {
		t.Errorf("removed %d dirs, want 2", n)
	}
	for dir, want := range map[string]bool{dead: false, alive: true, fresh: true, orphan: false, other: true} {
		_, err := os.Stat(dir)
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(dir), got, want)
		}
	}
}

// TestKilledOwnerLeavesNothing: a srutest killed with SIGKILL takes its QEMU
// with it (Pdeathsig) and its temp dir is swept by the next launch.
func TestKilledOwnerLeavesNothing(t *testing.T) {
	if os.Getenv("VM_TEST_OWNER") == "1" {
		f := newFake(t)
		cfg, _, _ := f.config("ssh")
		cfg.Dir = os.Getenv("VM_TEST_DIR")
		cfg.ExtraArgs = append(cfg.ExtraArgs, "-fake-pidfile", os.Getenv("VM_TEST_PIDFILE"))
		m, err := Start(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(os.Getenv("VM_TEST_PIDFILE")+".ready", nil, 0o600)
		time.Sleep(time.Minute) // killed here
		m.Close()
		return
	}
	parent, pidfile := t.TempDir(), filepath.Join(t.TempDir(), "qemu.pid")
	owner := exec.Command(os.Args[0], "-test.run=^TestKilledOwnerLeavesNothing$")
	// The owner is killed before its own t.TempDir cleanups run: its
	// temp dirs go under one of ours, which this test removes.
	owner.Env = append(os.Environ(), "VM_TEST_OWNER=1", "VM_TEST_DIR="+parent, "VM_TEST_PIDFILE="+pidfile, "TMPDIR="+t.TempDir())
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(pidfile + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			owner.Process.Kill()
			owner.Wait()
			t.Fatal("owner never got a machine up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	owner.Process.Kill()
	owner.Wait()
	b, _ := os.ReadFile(pidfile)
	qpid, err := strconv.Atoi(string(b))
	if err != nil || qpid <= 0 {
		t.Fatalf("qemu pid file: %q %v", b, err)
	}
	t.Logf("owner %d killed; its qemu was %d", owner.Process.Pid, qpid)
	for time.Now().Before(deadline) && processExists(qpid) {
		time.Sleep(20 * time.Millisecond)
	}
	if processExists(qpid) {
		t.Errorf("qemu pid %d outlived its killed owner", qpid)
	}
	if n := sweepStale(parent); n != 1 {
		t.Errorf("sweep removed %d dirs, want the killed owner's one", n)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left: %v", ents)
	}
}
