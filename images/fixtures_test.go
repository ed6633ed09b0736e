package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// fakeKO builds a minimal relocatable ELF64 whose only real content is a
// .modinfo section, which is all srutest reads from a module.
func fakeKO(name, vermagic string, depends ...string) []byte {
	modinfo := []byte("license=GPL\x00depends=" + strings.Join(depends, ",") + "\x00name=" + name + "\x00vermagic=" + vermagic + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	le := binary.LittleEndian
	var b bytes.Buffer
	modOff := 64
	strOff := modOff + len(modinfo)
	shOff := (strOff + len(shstr) + 7) &^ 7
	hdr := make([]byte, 64)
	copy(hdr, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(hdr[16:], 1)  // ET_REL
	le.PutUint16(hdr[18:], 62) // x86-64
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[40:], uint64(shOff))
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[58:], 64)
	le.PutUint16(hdr[60:], 3)
	le.PutUint16(hdr[62:], 2)
	b.Write(hdr)
	b.Write(modinfo)
	b.Write(shstr)
	b.Write(make([]byte, shOff-b.Len()))
	sh := func(name, typ uint32, flags, off, size uint64) {
		s := make([]byte, 64)
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[8:], flags)
		le.PutUint64(s[24:], off)
		le.PutUint64(s[32:], size)
		le.PutUint64(s[48:], 1)
		b.Write(s)
	}
	sh(0, 0, 0, 0, 0)
	sh(1, 1, 2, uint64(modOff), uint64(len(modinfo)))
	sh(10, 3, 0, uint64(strOff), uint64(len(shstr)))
	return b.Bytes()
}

func compressBytes(t testing.TB, kind string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch kind {
	case "", "tar", "ko":
		return data
	case "xz":
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "zst":
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "gz":
		w := gzip.NewWriter(&b)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown compression %q", kind)
	}
	return b.Bytes()
}

// tarEntry is one member of a fixture data.tar.
type tarEntry struct {
	Name string
	Body []byte
	Link string // symlink target (Type symlink when set)
	Hard bool   // Link is a hard link
	Dir  bool
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, ModTime: time.Unix(1700000000, 0), Format: tar.FormatGNU}
		switch {
		case e.Dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.Link != "" && e.Hard:
			h.Typeflag, h.Linkname = tar.TypeLink, e.Link
		case e.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(e.Body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func arAppend(b *bytes.Buffer, name string, data []byte) {
	hdr := []byte(strings.Repeat(" ", 60))
	copy(hdr[0:], name)
	copy(hdr[16:], "1700000000")
	copy(hdr[28:], "0")
	copy(hdr[34:], "0")
	copy(hdr[40:], "100644")
	copy(hdr[48:], []byte(itoa(len(data))))
	hdr[58], hdr[59] = '`', '\n'
	b.Write(hdr)
	b.Write(data)
	if len(data)%2 == 1 {
		b.WriteByte('\n')
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var s []byte
	for n > 0 {
		s = append([]byte{byte('0' + n%10)}, s...)
		n /= 10
	}
	return string(s)
}

// makeDeb builds a .deb with the given data.tar compression ("xz", "zst",
// "gz") and entries.
func makeDeb(t testing.TB, comp, pkg, version string, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(arMagic)
	arAppend(&b, "debian-binary", []byte("2.0\n"))
	control := "Package: " + pkg + "\nVersion: " + version + "\nArchitecture: amd64\nDescription: fixture\n"
	arAppend(&b, "control.tar.gz", compressBytes(t, "gz", makeTar(t, []tarEntry{{Name: "./", Dir: true}, {Name: "./control", Body: []byte(control)}})))
	arAppend(&b, "data.tar."+comp, compressBytes(t, comp, makeTar(t, entries)))
	return b.Bytes()
}

const fixtureRelease = "6.1.0-99-test"

// fixtureKernelEntries is a kernel shaped like Debian 6.1 cloud: virtio
// modular, af_packet builtin; sch_netem left out on purpose (a missing
// needed module is a warning). Module compression varies per module so all
// four kinds go through the closure.
func fixtureKernelEntries(t testing.TB, rel string) []tarEntry {
	t.Helper()
	vm := rel + " SMP preempt mod_unload modversions "
	head, err := os.ReadFile(filepath.Join("testdata", "vmlinuz-6.1.0-56-cloud-amd64.head"))
	if err != nil {
		t.Fatal(err)
	}
	md := "./lib/modules/" + rel + "/"
	mods := []struct {
		path, comp string
		deps       []string
	}{
		{"kernel/drivers/virtio/virtio_ring.ko", "xz", nil},
		{"kernel/drivers/virtio/virtio.ko", "zst", []string{"virtio_ring"}},
		{"kernel/drivers/virtio/virtio_pci_legacy_dev.ko", "gz", nil},
		{"kernel/drivers/virtio/virtio_pci_modern_dev.ko", "ko", nil},
		{"kernel/drivers/virtio/virtio_pci.ko", "xz", []string{"virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"}},
		{"kernel/net/core/failover.ko", "zst", nil},
		{"kernel/drivers/net/net_failover.ko", "gz", []string{"failover"}},
		{"kernel/drivers/net/virtio_net.ko", "xz", []string{"virtio_ring", "virtio", "net_failover"}},
		{"kernel/drivers/net/veth.ko", "ko", nil},
		{"kernel/net/ipv4/inet_diag.ko", "xz", nil},
		{"kernel/net/ipv4/tcp_diag.ko", "zst", []string{"inet_diag"}},
		{"kernel/net/mptcp/mptcp_diag.ko", "gz", []string{"inet_diag"}},
		{"kernel/net/ipv4/udp_diag.ko", "xz", []string{"inet_diag"}}, // not needed
	}
	es := []tarEntry{
		{Name: "./", Dir: true}, {Name: "./boot/", Dir: true},
		{Name: "./boot/vmlinuz-" + rel, Body: head},
		{Name: "./boot/config-" + rel, Body: []byte("CONFIG_MPTCP=y\n")},
		{Name: md + "modules.builtin", Body: []byte("kernel/net/packet/af_packet.ko\nkernel/net/unix/unix.ko\n")},
		{Name: "./usr/share/doc/linux-image-test/changelog.gz", Body: []byte("x")},
		{Name: "./usr/share/doc/linux-image-test/link", Link: "/usr/share/doc/other"},
	}
	for _, m := range mods {
		name := ModuleName(m.path)
		body := compressBytes(t, m.comp, fakeKO(name, vm, m.deps...))
		p := m.path
		if m.comp != "ko" {
			p += "." + m.comp
		}
		es = append(es, tarEntry{Name: md + p, Body: body})
	}
	return es
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
