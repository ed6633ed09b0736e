package ubuntu

import (
	"os"
	"strings"
	"testing"
)

func TestParseDeb822(t *testing.T) {
	in := "Package: a\nDescription: first\n second line\n .\n third\n\n\n# comment\nPackage: b\r\nversion: 1\r\n\r\nPackage: c\n"
	ps, err := ParseDeb822([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d paragraphs, want 3", len(ps))
	}
	if got := ps[0].Get("description"); got != "first\nsecond line\n.\nthird" {
		t.Errorf("multi-line value = %q", got)
	}
	if ps[1].Get("Version") != "1" || !ps[1].Has("VERSION") || ps[1].Get("Package") != "b" {
		t.Errorf("case-insensitive lookup / CRLF: %+v", ps[1])
	}
	if ps[2].Get("Package") != "c" {
		t.Errorf("last paragraph without trailing newline: %+v", ps[2])
	}
	for _, bad := range []struct{ in, msg string }{
		{" leading continuation\n", "line 1: continuation"},
		{"Package: a\nno colon here\n", "line 2"},
		{"Package: a\npackage: b\n", "repeated"},
		{": empty\n", "line 1"},
		{"Bad Name: x\n", "blanks"},
	} {
		if _, err := ParseDeb822([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParseDeb822(%q) = %v, want error with %q", bad.in, err, bad.msg)
		}
	}
}

func TestParsePackagesFixtures(t *testing.T) {
	for _, name := range []string{"jammy-updates", "noble-updates", "noble-proposed", "plucky-updates"} {
		data, err := os.ReadFile("testdata/" + name + ".Packages")
		if err != nil {
			t.Fatal(err)
		}
		idx, err := ParsePackages(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if idx.Len() < 4 {
			t.Errorf("%s: %d packages", name, idx.Len())
		}
	}
	data, _ := os.ReadFile("testdata/jammy-updates.Packages")
	idx, _ := ParsePackages(data)
	p, ok := idx.Newest("linux-image-unsigned-6.8.0-87-generic")
	if !ok || p.Version != "6.8.0-87.88~22.04.1" || p.Source != "linux-hwe-6.8" || p.Size != 14500000 || len(p.SHA256) != 64 {
		t.Errorf("HWE unsigned image = %+v", p)
	}
	if got := idx.KernelABIs("generic"); strings.Join(got, " ") != "6.8.0-87 6.8.0-85 5.15.0-161 5.15.0-160" {
		t.Errorf("KernelABIs = %v", got)
	}
	for _, bad := range []struct{ in, msg string }{
		{"Package: a\nVersion: 1\nFilename: ../../etc/passwd\nSize: 1\nSHA256: " + strings.Repeat("a", 64) + "\n", "unsafe"},
		{"Package: a\nVersion: 1\nFilename: pool/a.deb\nSize: x\nSHA256: " + strings.Repeat("a", 64) + "\n", "bad Size"},
		{"Package: a\nVersion: 1\nFilename: pool/a.deb\nSize: 1\n", "SHA256"},
		{"Version: 1\n", "lacks Package"},
	} {
		if _, err := ParsePackages([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParsePackages(%q) = %v, want %q", bad.in, err, bad.msg)
		}
	}
}

func TestParseRelations(t *testing.T) {
	rels, err := ParseRelations("linux-image-6.8.0-87-generic (= 6.8.0-87.88), linux-firmware | linux-firmware-free [amd64], libc6:any (>= 2.34) <!nocheck>")
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 3 || rels[0][0] != (Relation{"linux-image-6.8.0-87-generic", "=", "6.8.0-87.88"}) ||
		len(rels[1]) != 2 || rels[1][1].Name != "linux-firmware-free" || rels[2][0] != (Relation{"libc6", ">=", "2.34"}) {
		t.Errorf("ParseRelations = %+v", rels)
	}
	for _, bad := range []string{"a (>= 1", "(>= 1)", "a (~ 1)"} {
		if _, err := ParseRelations(bad); err == nil {
			t.Errorf("ParseRelations(%q) accepted", bad)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"6.8.0-87.88", "6.8.0-87.88", 0},
		{"6.8.0-87.88", "6.8.0-88.89", -1},
		{"6.8.0-87.88~22.04.1", "6.8.0-87.88", -1},
		{"6.8.0-100.100", "6.8.0-99.99", 1},
		{"5.15.0.161.161", "5.15.0.25.27", 1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0", 1},
	} {
		got := CompareVersions(tc.a, tc.b)
		if sign(got) != tc.want || sign(CompareVersions(tc.b, tc.a)) != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func FuzzParseDeb822(f *testing.F) {
	for _, name := range []string{"noble-proposed.Packages"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("A: b\n c\n\nD: e\n"))
	f.Add([]byte(" x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseDeb822(b)
		if err != nil {
			return
		}
		for _, p := range ps {
			if len(p.Names()) == 0 {
				t.Fatal("empty paragraph returned")
			}
			for _, n := range p.Names() {
				if !p.Has(n) {
					t.Fatalf("field %q listed but not present", n)
				}
			}
		}
		_, _ = ParsePackages(b)
		_, _ = ParseRelease(b)
	})
}

func FuzzParseRelations(f *testing.F) {
	f.Add("a (>= 1) | b, c")
	f.Add("linux-image-6.8.0-87-generic, linux-modules-extra-6.8.0-87-generic")
	f.Fuzz(func(t *testing.T, s string) {
		rels, err := ParseRelations(s)
		if err != nil {
			return
		}
		for _, c := range rels {
			for _, r := range c {
				if r.Name == "" || (r.Op == "") != (r.Version == "") {
					t.Fatalf("bad relation %+v from %q", r, s)
				}
			}
		}
	})
}
