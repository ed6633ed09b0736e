package e2e

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestE2ETwoBootsAtOnce runs two `srutest boot` of the same kernel at the
// same time: each picks its own free loopback port and its own temp dir,
// both guests answer, and the SSH forwards are on 127.0.0.1 only.
func TestE2ETwoBootsAtOnce(t *testing.T) {
	skipUnlessE2E(t)
	k := defaultKernel(t)
	// Build (or reuse) the image first so both runs race on booting, not on
	// filling the cache.
	if out, err := srutest(t, "boot", "--kernel", k.Spec, "--", "true").CombinedOutput(); err != nil {
		t.Fatalf("warm-up boot: %v\n%s", err, out)
	}
	type result struct {
		stdout, stderr bytes.Buffer
		err            error
	}
	var res [2]result
	tmp := t.TempDir()
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := srutest(t, "boot", "--kernel", k.Spec, "--", "uname -r; sleep 2")
			cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
			cmd.Stdout, cmd.Stderr = &res[i].stdout, &res[i].stderr
			res[i].err = cmd.Run()
		}()
	}
	wg.Wait()
	forward := regexp.MustCompile(`ssh on (\S+):(\d+)`)
	ports := map[string]bool{}
	for i, r := range res {
		if r.err != nil {
			t.Errorf("boot %d: %v\n%s", i, r.err, r.stderr.String())
			continue
		}
		if !releaseRE(k).MatchString(strings.TrimSpace(r.stdout.String())) {
			t.Errorf("boot %d: uname -r = %q", i, r.stdout.String())
		}
		m := forward.FindStringSubmatch(r.stderr.String())
		if m == nil {
			t.Errorf("boot %d: no 'ssh on host:port' line:\n%s", i, r.stderr.String())
			continue
		}
		if m[1] != "127.0.0.1" {
			t.Errorf("boot %d: SSH forward on %s, want 127.0.0.1", i, m[1])
		}
		ports[m[2]] = true
	}
	if len(ports) == 1 {
		t.Errorf("both guests forwarded the same port %v", ports)
	}
	if n := qemuUsing(tmp); n > 0 {
		t.Errorf("%d QEMU processes left", n)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}
