package ubuntuarchive

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

func buildSynthetic(t *testing.T, opts Options) *Archive {
	t.Helper()
	if opts.Kernels == nil {
		opts.Kernels = []Kernel{
			{Series: "noble", Pocket: "updates", ABI: "6.8.0-87", Upload: "88", Metas: []string{"linux-image-generic", "linux-image-virtual"}, Files: SyntheticKernel("6.8.0-87-generic")},
			{Series: "noble", Pocket: "proposed", ABI: "6.8.0-88", Upload: "89", Files: SyntheticKernel("6.8.0-88-generic")},
		}
	}
	a, err := Build(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return a
}

func TestBuildLayout(t *testing.T) {
	a := buildSynthetic(t, Options{})
	for _, p := range []string{
		"dists/noble/InRelease", "dists/noble-updates/InRelease", "dists/noble-proposed/InRelease",
		"dists/noble-updates/main/binary-amd64/Packages.xz", "dists/noble-updates/Contents-amd64.gz",
		"pool/main/l/linux/linux-image-unsigned-6.8.0-87-generic_6.8.0-87.88_amd64.deb",
		"pool/main/l/linux/linux-modules-extra-6.8.0-87-generic_6.8.0-87.88_amd64.deb",
		"pool/main/l/linux-meta/linux-image-virtual_6.8.0.87.88_amd64.deb",
	} {
		if _, err := os.Stat(filepath.Join(a.Root, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	inrel, err := os.ReadFile(filepath.Join(a.Root, "dists/noble-updates/InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := clearsign.Decode(inrel)
	if b == nil {
		t.Fatal("InRelease is not clearsigned")
	}
	if _, err := b.VerifySignature(a.Keyring, nil); err != nil {
		t.Fatalf("InRelease does not verify with the archive keyring: %v", err)
	}
	for _, want := range []string{"Suite: noble-updates", "Codename: noble", "Acquire-By-Hash: yes", "main/binary-amd64/Packages.xz"} {
		if !bytes.Contains(b.Plaintext, []byte(want)) {
			t.Errorf("Release lacks %q", want)
		}
	}
	pk, _ := os.ReadFile(filepath.Join(a.Root, "dists/noble-proposed/main/binary-amd64/Packages"))
	if bytes.Contains(pk, []byte("Package: linux-image-virtual")) {
		t.Error("proposed has a meta package although the kernel was published without one")
	}
}

func TestDebContents(t *testing.T) {
	a := buildSynthetic(t, Options{})
	files, ctl, err := ReadDebData(a.Debs["linux-modules-6.8.0-87-generic"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ctl, "Package: linux-modules-6.8.0-87-generic") {
		t.Errorf("control = %q", ctl)
	}
	root := "lib/modules/6.8.0-87-generic/"
	if _, ok := files[root+"kernel/drivers/net/veth.ko.zst"]; !ok {
		t.Errorf("veth.ko.zst missing; files: %v", sortedKeys(files))
	}
	if _, ok := files[root+"kernel/net/mptcp/mptcp_diag.ko.zst"]; ok {
		t.Error("mptcp_diag in linux-modules; want it in linux-modules-extra")
	}
	dep := string(files[root+"modules.dep"])
	for _, want := range []string{
		"kernel/drivers/net/virtio_net.ko.zst: kernel/drivers/net/net_failover.ko.zst kernel/net/core/failover.ko.zst\n",
		"kernel/net/mptcp/mptcp_diag.ko.zst: kernel/net/ipv4/inet_diag.ko.zst\n",
		"kernel/drivers/net/veth.ko.zst:\n",
	} {
		if !strings.Contains(dep, want) {
			t.Errorf("modules.dep lacks %q:\n%s", want, dep)
		}
	}
	// The recompressed module decompresses to the original ELF.
	raw, err := decompressModule("x.ko.zst", files[root+"kernel/drivers/net/veth.ko.zst"])
	if err != nil || !bytes.Equal(raw, SyntheticKernel("x").Modules["kernel/drivers/net/veth.ko"]) {
		t.Errorf("veth.ko.zst does not round-trip: %v", err)
	}
	extra, _, err := ReadDebData(a.Debs["linux-modules-extra-6.8.0-87-generic"])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := extra[root+"kernel/net/mptcp/mptcp_diag.ko.zst"]; !ok {
		t.Errorf("extra lacks mptcp_diag: %v", sortedKeys(extra))
	}
	// dpkg-deb must accept what we write, when the host has it.
	if _, err := exec.LookPath("dpkg-deb"); err == nil {
		out, err := exec.Command("dpkg-deb", "-c", a.Debs["linux-modules-6.8.0-87-generic"]).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "veth.ko.zst") {
			t.Errorf("dpkg-deb -c: %v\n%s", err, out)
		}
		out, err = exec.Command("dpkg-deb", "-f", a.Debs["linux-image-virtual"], "Depends").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "linux-image-6.8.0-87-generic" {
			t.Errorf("dpkg-deb -f Depends = %q, %v", out, err)
		}
	}
}

func TestJammySuffix(t *testing.T) {
	a := buildSynthetic(t, Options{Kernels: []Kernel{{Series: "jammy", Pocket: "updates", ABI: "5.15.0-161", Upload: "171", Files: SyntheticKernel("5.15.0-161-generic")}}})
	files, _, err := ReadDebData(a.Debs["linux-modules-5.15.0-161-generic"])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["lib/modules/5.15.0-161-generic/kernel/drivers/net/veth.ko"]; !ok {
		t.Errorf("jammy modules should be plain .ko: %v", sortedKeys(files))
	}
}

func TestServerFaults(t *testing.T) {
	a := buildSynthetic(t, Options{})
	s := a.Serve()
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("server not on loopback: %s", s.URL)
	}
	get := func(p string) (int, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	orig, _ := os.ReadFile(filepath.Join(a.Root, "dists/noble/InRelease"))
	s.SetFaults(Fault{Suffix: "/InRelease", Kind: Corrupt, Times: 1}, Fault{Suffix: ".deb", Kind: NotFound}, Fault{Suffix: "Packages.xz", Kind: Truncate})
	if code, b, err := get("/dists/noble/InRelease"); err != nil || code != 200 || bytes.Equal(b, orig) || len(b) != len(orig) {
		t.Errorf("corrupt: code %d err %v same %v", code, err, bytes.Equal(b, orig))
	}
	if _, b, _ := get("/dists/noble/InRelease"); !bytes.Equal(b, orig) {
		t.Error("Times: 1 fault applied twice")
	}
	if code, _, _ := get("/pool/main/l/linux/linux-image-unsigned-6.8.0-87-generic_6.8.0-87.88_amd64.deb"); code != 404 {
		t.Errorf("deb: code %d, want 404", code)
	}
	if _, _, err := get("/dists/noble/main/binary-amd64/Packages.xz"); err == nil {
		t.Error("truncated body read without error")
	}
}
