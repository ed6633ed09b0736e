package ubuntuarchive

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// debianKernelDeb finds a real Debian linux-image-*-unsigned .deb:
// $SRUTEST_UBUNTU_DEBIAN_DEB, else the newest match in $SRUTEST_TEST_CACHE
// (fill it with `apt-get download linux-image-6.1.0-56-cloud-amd64-unsigned`).
func debianKernelDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the real-kernel repackaging test")
	}
	if p := os.Getenv("SRUTEST_UBUNTU_DEBIAN_DEB"); p != "" {
		return p
	}
	dir := os.Getenv("SRUTEST_TEST_CACHE")
	if dir == "" {
		t.Skip("set SRUTEST_UBUNTU_DEBIAN_DEB or SRUTEST_TEST_CACHE to a Debian linux-image-*-unsigned .deb")
	}
	m, _ := filepath.Glob(filepath.Join(dir, "linux-image-*-unsigned_*.deb"))
	if len(m) == 0 {
		t.Skipf("no linux-image-*-unsigned_*.deb in %s", dir)
	}
	sort.Strings(m)
	return m[len(m)-1]
}

func TestRepackageDebianKernel(t *testing.T) {
	deb := debianKernelDeb(t)
	k, err := LoadKernelDebs(deb)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Modules) < 100 || len(k.Vmlinuz) < 1<<20 {
		t.Fatalf("%s: %d modules, vmlinuz %d bytes", deb, len(k.Modules), len(k.Vmlinuz))
	}
	a, err := Build(t.TempDir(), Options{Kernels: []Kernel{{
		Series: "noble", Pocket: "proposed", ABI: "6.8.0-88", Upload: "89", Files: k,
		Metas: []string{"linux-image-virtual"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := ReadDebData(a.Debs["linux-image-unsigned-6.8.0-88-generic"])
	if err != nil {
		t.Fatal(err)
	}
	if string(img["boot/vmlinuz-6.8.0-88-generic"]) != string(k.Vmlinuz) {
		t.Error("vmlinuz not carried over under the Ubuntu name")
	}
	mods, _, err := ReadDebData(a.Debs["linux-modules-6.8.0-88-generic"])
	if err != nil {
		t.Fatal(err)
	}
	extra, _, err := ReadDebData(a.Debs["linux-modules-extra-6.8.0-88-generic"])
	if err != nil {
		t.Fatal(err)
	}
	// Module dir = the release the Debian kernel really reports.
	root := "lib/modules/" + k.Release + "/"
	for _, want := range []string{"kernel/drivers/net/veth.ko.zst", "kernel/drivers/net/virtio_net.ko.zst", "kernel/net/sched/sch_netem.ko.zst", "kernel/net/ipv4/inet_diag.ko.zst", "modules.dep", "modules.order"} {
		if _, ok := mods[root+want]; !ok {
			t.Errorf("linux-modules lacks %s%s", root, want)
		}
	}
	if _, ok := extra[root+"kernel/net/mptcp/mptcp_diag.ko.zst"]; !ok {
		t.Errorf("linux-modules-extra lacks mptcp_diag.ko.zst")
	}
	for p := range mods {
		if strings.HasPrefix(p, root) && (strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".ko.xz")) {
			t.Errorf("module not recompressed: %s", p)
			break
		}
	}
	dep := string(mods[root+"modules.dep"])
	for _, line := range strings.Split(dep, "\n") {
		if strings.HasPrefix(line, "kernel/drivers/net/virtio_net.ko.zst:") {
			if !strings.Contains(line, "kernel/drivers/net/net_failover.ko.zst") {
				t.Errorf("virtio_net deps = %q", line)
			}
		}
		if strings.HasPrefix(line, "kernel/net/mptcp/mptcp_diag.ko.zst:") && !strings.Contains(line, "inet_diag.ko.zst") {
			t.Errorf("mptcp_diag deps = %q", line)
		}
	}
	if !strings.Contains(dep, "kernel/drivers/net/veth.ko.zst:") {
		t.Error("modules.dep lacks veth")
	}
	t.Logf("%s (release %s): %d modules; debs %d/%d/%d bytes", filepath.Base(deb), k.Release, len(k.Modules),
		size(a.Debs["linux-image-unsigned-6.8.0-88-generic"]), size(a.Debs["linux-modules-6.8.0-88-generic"]), size(a.Debs["linux-modules-extra-6.8.0-88-generic"]))
}

func size(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}
