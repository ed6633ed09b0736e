package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

// TestRealQEMU boots $SRUTEST_TEST_KERNEL under the real QEMU with tiny
// busybox initramfs images (no agent, so no SSH): it proves the command line,
// QMP through go-qemu, the console watcher and cleanup against the real
// thing. SSH against a real guest is the e2e package's job.
func TestRealQEMU(t *testing.T) {
	qemu := testutil.SkipWithoutQEMU(t)
	testutil.SkipShort(t, "booting a real kernel")
	kernel := testutil.TestKernel(t)
	busybox := staticBusybox(t)
	f := newFake(t) // for its keys only: no guest here answers SSH

	initrd := func(script string) string {
		path := filepath.Join(t.TempDir(), "initrd.cpio")
		if err := writeNewc(path, []fileSpec{
			{"bin", 0o40755, nil},
			{"proc", 0o40755, nil},
			{"bin/busybox", 0o755, busybox},
			{"init", 0o755, []byte("#!/bin/busybox sh\n" + script)},
		}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	config := func(script string) (Config, string) {
		vmDir := t.TempDir()
		return Config{
			QEMU: qemu, Kernel: kernel, Initrd: initrd(script),
			HostKey: f.hostKeyPub, ClientKey: f.clientKeyFile,
			Dir: vmDir, Log: testLog{t},
		}, vmDir
	}
	noLeftovers := func(t *testing.T, vmDir string) {
		t.Helper()
		if ents, _ := os.ReadDir(vmDir); len(ents) != 0 {
			t.Errorf("left behind: %v", ents)
		}
	}

	t.Run("marker", func(t *testing.T) {
		cfg, vmDir := config("/bin/busybox echo SRUTEST-MARKER\n/bin/busybox poweroff -f\n")
		d, err := BootToMarker(context.Background(), cfg, "SRUTEST-MARKER")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("boot to marker: %s (accel %s)", d, DetectAccel(""))
		noLeftovers(t, vmDir)
	})

	t.Run("panic ends boot at once", func(t *testing.T) {
		cfg, vmDir := config("/bin/busybox mount -t proc proc /proc\n" +
			"/bin/busybox echo 1 > /proc/sys/kernel/sysrq\n/bin/busybox echo c > /proc/sysrq-trigger\n")
		t0 := time.Now()
		_, err := Start(context.Background(), cfg)
		var be *BootError
		if !errors.As(err, &be) || be.Title != "Kernel panic - not syncing: sysrq triggered crash" {
			t.Fatalf("want BootError for the sysrq panic, got %v", err)
		}
		if !strings.Contains(be.Output, "Call Trace:") {
			t.Errorf("output lacks the trace:\n%s", be.Output)
		}
		t.Logf("panic reported %s after start", time.Since(t0))
		noLeftovers(t, vmDir)
	})

	t.Run("boot deadline, then QMP quit", func(t *testing.T) {
		cfg, vmDir := config("/bin/busybox echo guest-up-but-no-ssh\nexec /bin/busybox sleep 1000\n")
		cfg.BootTimeout = 10 * time.Second
		t0 := time.Now()
		_, err := Start(context.Background(), cfg)
		var be *BootError
		if !errors.As(err, &be) || !strings.Contains(be.Title, "waiting for SSH") ||
			!strings.Contains(be.Output, "guest-up-but-no-ssh") {
			t.Fatalf("want BootError waiting for SSH, got %v", err)
		}
		if took := time.Since(t0); took > cfg.BootTimeout+5*time.Second {
			t.Errorf("took %s", took)
		}
		noLeftovers(t, vmDir)
	})

	t.Run("machine API on a booted guest without SSH", func(t *testing.T) {
		cfg, vmDir := config("/bin/busybox echo up\nexec /bin/busybox sleep 1000\n")
		cfg, _ = cfg.withDefaults()
		accel := DetectAccel(cfg.KVM)
		m, err := launch(cfg, accel, "")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		q, err := connectQMP(ctx, m.qmpPath, m.proc.exited, m.proc.kill)
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		m.qmp = q
		st, err := q.status(ctx)
		if err != nil || st != "running" {
			t.Errorf("query-status = %q, %v", st, err)
		}
		t.Logf("QMP events so far: %v", q.seenEvents())
		t0 := time.Now()
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		t.Logf("close via QMP quit: %s (exit: %s)", time.Since(t0), m.proc.exitStatus())
		if time.Since(t0) > quitWait {
			t.Errorf("QMP quit did not end QEMU")
		}
		noLeftovers(t, vmDir)
	})
}

// staticBusybox returns /bin/busybox if it is statically linked, or skips.
func staticBusybox(t *testing.T) []byte {
	t.Helper()
	const path = "/bin/busybox"
	f, err := elf.Open(path)
	if err != nil {
		testutil.Unavailable(t, "no busybox: %v (apt-get install busybox-static)", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			testutil.Unavailable(t, "%s is dynamically linked (apt-get install busybox-static)", path)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fileSpec struct {
	name string
	mode uint32 // with S_IFDIR (0o40000) for a directory; regular file otherwise
	data []byte
}

// writeNewc writes a newc cpio archive (the kernel's initramfs format);
// directories must come before their contents.
func writeNewc(path string, files []fileSpec) error {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	entry := func(ino int, name string, mode uint32, data []byte) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name)
		b.WriteByte(0)
		pad()
		b.Write(data)
		pad()
	}
	ino := 1
	for _, f := range files {
		mode := f.mode
		if mode&0o170000 == 0 {
			mode |= 0o100000
		}
		entry(ino, f.name, mode, f.data)
		ino++
	}
	entry(0, "TRAILER!!!", 0, nil)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
