package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	ok := []struct {
		in   string
		kind string
		args []string
	}{
		{"apt:linux-image-6.1.0-*-cloud-amd64-unsigned", "apt", []string{"linux-image-6.1.0-*-cloud-amd64-unsigned"}},
		{"apt:a, b+c", "apt", []string{"a", "b+c"}},
		{"deb:./x.deb,https://h/y.deb", "deb", []string{"./x.deb", "https://h/y.deb"}},
		{"./linux.deb", "deb", []string{"./linux.deb"}},
		{"/tmp/a_1:2_amd64.deb", "deb", []string{"/tmp/a_1:2_amd64.deb"}},
		{"http://127.0.0.1:8080/k.deb", "deb", []string{"http://127.0.0.1:8080/k.deb"}},
		{"dir:/b/vmlinuz,/b/mods", "dir", []string{"/b/vmlinuz", "/b/mods"}},
		{"bzimage:./arch/x86/boot/bzImage", "bzimage", []string{"./arch/x86/boot/bzImage"}},
		{"ubuntu:noble/updates/generic,x", "ubuntu", []string{"noble/updates/generic,x"}},
		{"source:/usr/src/linux-source-6.12.tar.xz", "source", []string{"/usr/src/linux-source-6.12.tar.xz"}},
		{"source:linux,revert=a.patch,patch=b.patch,localversion=-x1", "source", []string{"linux", "revert=a.patch", "patch=b.patch", "localversion=-x1"}},
	}
	for _, c := range ok {
		sp, err := ParseSpec(c.in)
		if err != nil || sp.Kind != c.kind || !reflect.DeepEqual(sp.Args, c.args) {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, sp, err)
		}
	}
	for _, in := range []string{"", "  ", "vmlinuz", "apt:", "apt:Bad_Name", "apt:a,,b", "dir:only", "dir:a,b,c", "bzimage:", "bzimage:a,b", "deb:", "ubuntu:",
		"source:", "source:patch=a", "source:t,patch", "source:t,patch=", "source:t,frobnicate=1", "source:t,localversion=a/b"} {
		_, err := ParseSpec(in)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpec(%q) err = %v, want *SpecError", in, err)
		}
	}
}

func TestParseSourceSpec(t *testing.T) {
	sp, err := ParseSpec("source:t.tar.xz,revert=fix.patch,patch=other.patch,config=my.config,localversion=-rev")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSourceSpec(sp.Raw, sp.Args)
	want := SourceSpec{Source: "t.tar.xz", Config: "my.config", LocalVersion: "-rev",
		Patches: []SourcePatch{{Revert: true, File: "fix.patch"}, {File: "other.patch"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseSourceSpec = %+v, %v; want %+v", got, err, want)
	}
}

// Missing inputs are named before anything is built, and the cache gets
// nothing but its (removed) scratch dir.
func TestBuildSourceMissingInputs(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "linux.tar.xz")
	os.WriteFile(tree, []byte("not really"), 0o644)
	b := &Builder{CacheDir: filepath.Join(dir, "cache"), Agent: os.Args[0]}
	for _, tc := range []struct{ spec, want string }{
		{"source:" + filepath.Join(dir, "missing.tar.xz"), "missing.tar.xz"},
		{"source:" + tree + ",revert=" + filepath.Join(dir, "nope.patch"), "nope.patch"},
		{"source:" + tree + ",config=" + dir, "is a directory"},
	} {
		_, err := b.Build(context.Background(), tc.spec)
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%s) = %v, want a FileError naming %s", tc.spec, err, tc.want)
		}
	}
	if ents, _ := List(b.CacheDir); len(ents) != 0 {
		t.Errorf("cache not empty: %+v", ents)
	}
}

func TestSourceBuildOutputFilters(t *testing.T) {
	var log strings.Builder
	f := &lineFilter{prefix: "build-kernel: ", w: &log}
	f.Write([]byte("  CC      net/mptcp/sockopt.o\nbuild-kernel: rev"))
	f.Write([]byte("erted 648de37416b3.patch\n  LD vmlinux\nbuild-kernel: built 6.12.117 in 8 s\n"))
	if got := log.String(); got != "build-kernel: reverted 648de37416b3.patch\nbuild-kernel: built 6.12.117 in 8 s\n" {
		t.Errorf("filtered log = %q", got)
	}
	tb := &tailBuffer{max: 8}
	tb.Write([]byte("0123456789"))
	tb.Write([]byte("ab\n"))
	if got := tb.String(); got != "56789ab" {
		t.Errorf("tail = %q", got)
	}
}

func TestRebase(t *testing.T) {
	for in, want := range map[string]string{
		"./k.deb":                             "deb:/plans/k.deb",
		"deb:a.deb,/abs/b.deb,http://h/c.deb": "deb:/plans/a.deb,/abs/b.deb,http://h/c.deb",
		"dir:vmlinuz,mods":                    "dir:/plans/vmlinuz,/plans/mods",
		"bzimage:arch/x86/boot/bzImage":       "bzimage:/plans/arch/x86/boot/bzImage",
		"source:linux.tar.xz,revert=p/fix.patch,config=/etc/x.config,localversion=-r1": "source:/plans/linux.tar.xz,revert=/plans/p/fix.patch,config=/etc/x.config,localversion=-r1",
		"apt:linux-image-6.1.0-*-cloud-amd64-unsigned":                                 "apt:linux-image-6.1.0-*-cloud-amd64-unsigned",
		"ubuntu:series=noble,pocket=updates,flavour=generic,meta=m":                    "ubuntu:series=noble,pocket=updates,flavour=generic,meta=m",
		"dir:only": "dir:only",
	} {
		if got := Rebase(in, "/plans"); got != want {
			t.Errorf("Rebase(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Rebase("bzimage:k", "."); got != "bzimage:k" {
		t.Errorf("Rebase with . = %q", got)
	}
}
