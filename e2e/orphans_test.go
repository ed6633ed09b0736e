package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

// killMidway starts cmd tagged with a unique environment entry, waits until
// the file ready exists (the child tree is up), SIGKILLs srutest — no
// cleanup runs in a SIGKILLed process — and fails unless every process
// srutest started, grandchildren included, is gone.
func killMidway(t *testing.T, cmd *exec.Cmd, ready string) {
	t.Helper()
	kv := fmt.Sprintf("SRUTEST_E2E_ORPHAN_TAG=%s-%d", t.Name(), time.Now().UnixNano())
	cmd.Env = append(cmd.Env, kv, "SRUTEST_TEST_READY="+ready)
	out, err := os.CreateTemp(t.TempDir(), "srutest-out-")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(10 * time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("srutest ended (%v) before its child was up:\n%s", err, b)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("child never became ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if n := len(testutil.ProcsWithEnv(kv)); n < 3 {
		t.Fatalf("%d tagged processes before the kill, want srutest, its child and a grandchild", n)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	testutil.WaitNoProcsWithEnv(t, kv, 20*time.Second)
}

// TestE2ESigkillDuringSourceBuild: srutest SIGKILLed while a source: kernel
// build runs leaves no make, compiler or shell behind. The "kernel tree" is
// a stand-in whose tinyconfig target forks long-running children the way
// make -j forks compilers; the real build-kernel.sh drives it.
func TestE2ESigkillDuringSourceBuild(t *testing.T) {
	testutil.SkipShort(t, "a source: kernel build killed midway")
	for _, tool := range []string{"make", "gcc", "ld", "flex", "bison", "bc", "perl", "patch", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Unavailable(t, "%s not installed: source: builds need it (make deps-test)", tool)
		}
	}
	tree := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(tree, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Kconfig", "")
	write("Makefile", "tinyconfig:\n\tsleep 600 & sleep 600 & touch \"$$SRUTEST_TEST_READY\"; wait\n")
	cmd := srutest(t, "--cache-dir", t.TempDir(), "boot", "--kernel", "source:"+tree, "--", "true")
	killMidway(t, cmd, filepath.Join(t.TempDir(), "ready"))
}

// TestE2ESigkillDuringBoot: srutest SIGKILLed while QEMU boots leaves
// neither QEMU nor anything QEMU's wrapper started. The wrapper forks a
// child of its own and then execs the real QEMU.
func TestE2ESigkillDuringBoot(t *testing.T) {
	skipUnlessE2E(t)
	k := defaultKernel(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "qemu-wrapper")
	script := "#!/bin/sh\nsleep 600 &\ntouch \"$SRUTEST_TEST_READY\"\nexec " + qemu + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// Warm the image first so the kill lands during the boot, not the build.
	if out, err := srutest(t, "boot", "--kernel", k.Spec, "--", "true").CombinedOutput(); err != nil {
		t.Fatalf("warm-up boot: %v\n%s", err, out)
	}
	cmd := srutest(t, "--qemu", wrapper, "boot", "--kernel", k.Spec, "--", "sleep 600")
	killMidway(t, cmd, filepath.Join(t.TempDir(), "ready"))
}
