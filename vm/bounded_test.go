package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecOutputBounded: a command printing far more than MaxExecOutput
// (a reproducer running yes(1)) costs bounded memory; the result keeps the
// head and the tail and says how much was cut.
func TestExecOutputBounded(t *testing.T) {
	f := newFake(t)
	m, _, _ := startFake(t, f, "ssh")
	defer m.Close()
	res, err := m.Exec(context.Background(), "yes | head -c 25165824; echo end-of-output")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) > MaxExecOutput+256 {
		t.Errorf("kept %d bytes of stdout, limit %d", len(res.Stdout), MaxExecOutput)
	}
	if !bytes.HasPrefix(res.Stdout, []byte("y\ny\n")) || !bytes.HasSuffix(res.Stdout, []byte("y\nend-of-output\n")) {
		t.Errorf("head or tail lost: %q … %q", res.Stdout[:16], res.Stdout[len(res.Stdout)-32:])
	}
	if want := "bytes cut by srutest"; !bytes.Contains(res.Stdout, []byte(want)) {
		t.Errorf("no %q line", want)
	}
}

// TestPullBounded: a guest file over the pull limit is refused, saying so,
// and leaves nothing on the host.
func TestPullBounded(t *testing.T) {
	old := maxPull
	maxPull = 1 << 20
	defer func() { maxPull = old }()
	f := newFake(t)
	m, _, _ := startFake(t, f, "ssh")
	defer m.Close()
	dir := t.TempDir()
	remote := filepath.Join(dir, "huge.pcap")
	os.WriteFile(remote, make([]byte, 2<<20), 0o644)
	local := filepath.Join(dir, "out", "huge.pcap")
	os.MkdirAll(filepath.Dir(local), 0o755)
	err := m.Pull(context.Background(), remote, local)
	if !errors.Is(err, ErrPullTooBig) || !strings.Contains(err.Error(), "huge.pcap") || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("err = %v, want ErrPullTooBig naming the file and the limit", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(local)); len(ents) != 0 {
		t.Errorf("left on the host: %v", ents)
	}
}

// TestConsoleFloodIsACrash: a guest writing without end to its console
// would fill the disk (QEMU appends to the serial log without limit); past
// maxConsoleFile the watcher calls it a crash, so the guest is stopped and
// the cell says why.
func TestConsoleFloodIsACrash(t *testing.T) {
	old := maxConsoleFile
	maxConsoleFile = 64 << 10
	defer func() { maxConsoleFile = old }()
	dir := t.TempDir()
	con := filepath.Join(dir, "console.log")
	w := newConsoleWatcher(con, filepath.Join(dir, "stderr"), "")
	os.WriteFile(con, bytes.Repeat([]byte("[ 1.0] printk loop\n"), 1000), 0o644)
	w.poll()
	if w.crashed() {
		t.Fatal("crashed under the limit")
	}
	os.WriteFile(con, bytes.Repeat([]byte("[ 1.0] printk loop\n"), 10000), 0o644)
	w.poll()
	if !w.crashed() || !strings.Contains(w.crash(), "console flood") {
		t.Errorf("crashed %v title %q after %d bytes", w.crashed(), w.crash(), 10000*19)
	}
}
