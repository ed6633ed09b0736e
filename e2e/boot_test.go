package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EBootHostKernels boots the host's kernels (Debian: the 6.1 cloud,
// 6.12 cloud and 6.12 generic kernels; Ubuntu: the series' newest generic
// kernel) through the CLI, checks the guest's uname -r, exit code
// propagation, the guest tool set, virtio_net loaded from the deb's modules
// (or working built in, as on Ubuntu's noble and later generic kernels), and
// that a second run is fully cached.
func TestE2EBootHostKernels(t *testing.T) {
	skipUnlessE2E(t)
	for _, k := range needHost(t).Boot {
		tc := struct{ spec, release string }{k.Spec, k.Release}
		t.Run(k.Name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := srutest(t, "boot", "--kernel", tc.spec, "--", "uname -r")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("boot: %v\n%s", err, stderr.String())
			}
			rel := strings.TrimSpace(stdout.String())
			if !regexp.MustCompile(tc.release).MatchString(rel) {
				t.Fatalf("uname -r = %q, want %s", rel, tc.release)
			}
			if !strings.Contains(stderr.String(), "boot-to-ssh") {
				t.Errorf("no timing breakdown on stderr:\n%s", stderr.String())
			}

			// Second run: cached image, guest exit code becomes ours, and the
			// tools and modules the scenarios need are there.
			stdout.Reset()
			stderr.Reset()
			// Built in (the image build says so) or loaded from the debs.
			virtio := `grep -q '^virtio_net ' /proc/modules`
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if img := buildImage(t, ctx, tc.spec); slices.Contains(strings.Split(img.Meta["builtin_modules"], ","), "virtio_net") {
				virtio = `test -e /sys/class/net/eth0/device`
			}
			script := `set -e
for t in /usr/sbin/ip /usr/bin/ss /usr/bin/nstat /usr/bin/tcpdump busybox; do command -v $t >/dev/null; done
/usr/sbin/ip netns add probe && /usr/sbin/ip netns del probe
/usr/sbin/ip link add va type veth peer name vb && /usr/sbin/ip link del va
/usr/bin/tcpdump --version >/dev/null 2>&1
/usr/bin/ss -M >/dev/null 2>&1 || /usr/bin/ss -tin >/dev/null
test -e /proc/sys/net/mptcp/enabled
` + virtio + `
exit 7`
			cmd = srutest(t, "boot", "--kernel", tc.spec, "--", script)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 7 {
				t.Fatalf("want exit 7 from the guest script, got %v\nstdout:%s\nstderr:%s", err, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "image cached") {
				t.Errorf("second run was not served from the cache:\n%s", stderr.String())
			}
		})
	}
}

// TestE2ESignalCleanup proves that SIGTERM, SIGINT and SIGKILL of srutest
// leave no QEMU process and no temp dir behind.
func TestE2ESignalCleanup(t *testing.T) {
	skipUnlessE2E(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp := t.TempDir()
			cmd := srutest(t, "boot", "--kernel", defaultKernel(t).Spec, "--", "echo GUEST-UP; sleep 600")
			cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			up := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "GUEST-UP") {
						up <- true
						return
					}
				}
				up <- false
			}()
			select {
			case ok := <-up:
				if !ok {
					cmd.Wait()
					t.Fatalf("guest command never started:\n%s", stderr.String())
				}
			case <-time.After(5 * time.Minute):
				cmd.Process.Kill()
				t.Fatal("guest not up within 5 minutes")
			}
			if qemuUsing(tmp) == 0 {
				t.Fatal("no QEMU process found using the test TMPDIR: the check below would prove nothing")
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("srutest did not exit within 60s of %v", sig)
			}
			deadline := time.Now().Add(20 * time.Second)
			for qemuUsing(tmp) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if n := qemuUsing(tmp); n > 0 {
				t.Fatalf("%d QEMU process(es) survived %v", n, sig)
			}
			if sig == syscall.SIGKILL {
				// A killed srutest cannot clean up; the next run sweeps
				// leftovers whose owner is gone.
				cmd := srutest(t, "boot", "--kernel", defaultKernel(t).Spec, "--", "true")
				cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("follow-up run: %v\n%s", err, out)
				}
			}
			left, _ := filepath.Glob(filepath.Join(tmp, "*"))
			if len(left) > 0 {
				t.Fatalf("temp files left behind after %v: %v", sig, left)
			}
		})
	}
}

// qemuUsing counts QEMU processes whose command line mentions dir.
func qemuUsing(dir string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("qemu-system")) && bytes.Contains(b, []byte(dir)) {
			n++
		}
	}
	return n
}
