package images

import (
	"bytes"
	"reflect"
	"testing"
)

func TestParseModinfoReal(t *testing.T) {
	mi := ParseModinfo(readTestdata(t, "virtio_net-6.1.modinfo"))
	want := ModInfo{Name: "virtio_net", Depends: []string{"virtio_ring", "virtio", "net_failover"}, Vermagic: "6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions "}
	if !reflect.DeepEqual(mi, want) {
		t.Fatalf("got %+v\nwant %+v", mi, want)
	}
}

// A real .ko.xz from the 6.12 cloud deb: xz with CRC32, decompressed and
// its .modinfo read from the ELF.
func TestDecompressRealModule(t *testing.T) {
	ko, err := decompressModule("mptcp_diag.ko.xz", readTestdata(t, "mptcp_diag.ko.xz"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ko, []byte("\x7fELF")) {
		t.Fatal("not an ELF after decompression")
	}
	mi, err := ReadModinfo(ko)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Name != "mptcp_diag" || !reflect.DeepEqual(mi.Depends, []string{"inet_diag"}) || mi.Vermagic[:26] != "6.12.117+deb12-cloud-amd64" {
		t.Fatalf("%+v", mi)
	}
	// The same module recompressed as .zst and .gz comes back identical.
	for _, c := range []string{"zst", "gz"} {
		got, err := decompressModule("mptcp_diag.ko."+c, compressBytes(t, c, ko))
		if err != nil || !bytes.Equal(got, ko) {
			t.Fatalf("%s: %v", c, err)
		}
	}
	if _, err := decompressModule("x.ko.xz", []byte("garbage")); err == nil {
		t.Fatal("garbage .ko.xz accepted")
	}
	if _, err := ReadModinfo([]byte("\x7fELFgarbage")); err == nil {
		t.Fatal("garbage ELF accepted")
	}
}

func TestParseModinfoDashes(t *testing.T) {
	mi := ParseModinfo([]byte("depends=\x00name=foo-bar\x00junk\x00depends=a-b, c\x00"))
	if mi.Name != "foo_bar" || !reflect.DeepEqual(mi.Depends, []string{"a_b", "c"}) {
		t.Fatalf("%+v", mi)
	}
}

func FuzzParseModinfo(f *testing.F) {
	f.Add(readTestdata(f, "virtio_net-6.1.modinfo"))
	f.Add(fakeKO("x", "v", "a", "b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseModinfo(data)
		ReadModinfo(data)
	})
}
