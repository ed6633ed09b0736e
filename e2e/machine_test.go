package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/vm"
)

func buildImage(t *testing.T, ctx context.Context, spec string) *images.Image {
	t.Helper()
	b := &images.Builder{CacheDir: cacheDir, Agent: filepath.Join(binDir, "srutest")}
	img, err := b.Build(ctx, spec)
	if err != nil {
		t.Fatalf("build %s: %v", spec, err)
	}
	return img
}

// TestE2EMachineAPI drives vm.Machine directly: exec with separate streams
// and exit code, push and pull over SFTP, and host key pinning.
func TestE2EMachineAPI(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img := buildImage(t, ctx, defaultKernel(t).Spec)
	cfg := vm.Config{Kernel: img.Kernel, Initrd: img.Initrd, HostKey: img.HostKey, ClientKey: img.ClientKey}

	m, err := vm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("qemu: %s", strings.Join(m.CmdLine(), " "))
	defer m.Close()

	res, err := m.Exec(ctx, "echo out; echo err >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Fatalf("exec: stdout %q stderr %q code %d", res.Stdout, res.Stderr, res.ExitCode)
	}

	dir := t.TempDir()
	payload := make([]byte, 3<<20)
	rand.Read(payload)
	src := filepath.Join(dir, "payload")
	if err := os.WriteFile(src, payload, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, src, "/tmp/payload"); err != nil {
		t.Fatal(err)
	}
	res, err = m.Exec(ctx, "stat -c %a /tmp/payload && cp /tmp/payload /tmp/back")
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(string(res.Stdout)) != "750" {
		t.Fatalf("pushed file: %v %q %q", err, res.Stdout, res.Stderr)
	}
	back := filepath.Join(dir, "back")
	if err := m.Pull(ctx, "/tmp/back", back); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(back)
	if !bytes.Equal(got, payload) {
		t.Fatalf("pulled %d bytes, differ from the %d pushed", len(got), len(payload))
	}
	if err := m.Pull(ctx, "/no/such/file", filepath.Join(dir, "x")); err == nil {
		t.Error("pulling a missing file succeeded")
	}
	console := m.Console()
	if err := m.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := os.Stat(console); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("console log %s survived Close (temp dir not removed?)", console)
	}

	// The same image with a different pinned host key must be refused.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	cfg.HostKey = string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	m2, err := vm.Start(ctx, cfg)
	if err == nil {
		m2.Close()
		t.Fatal("boot with a wrong pinned host key succeeded")
	}
	if !errors.Is(err, vm.ErrHostKeyMismatch) {
		t.Fatalf("want ErrHostKeyMismatch, got %v", err)
	}
}
