package images

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractDebsCompressions(t *testing.T) {
	for _, comp := range []string{"xz", "zst", "gz"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			deb := writeFile(t, dir, "k.deb", makeDeb(t, comp, "linux-image-test", "6.1.1-1", fixtureKernelEntries(t, fixtureRelease)))
			root := filepath.Join(dir, "root")
			os.Mkdir(root, 0o755)
			infos, err := ExtractDebs([]string{deb}, root)
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 1 || infos[0].Package != "linux-image-test" || infos[0].Version != "6.1.1-1" || infos[0].Arch != "amd64" {
				t.Fatalf("control: %+v", infos)
			}
			if got := infos[0].Kernels; len(got) != 1 || got[0] != fixtureRelease {
				t.Fatalf("kernels %v", got)
			}
			for _, want := range []string{
				"boot/vmlinuz-" + fixtureRelease,
				"lib/modules/" + fixtureRelease + "/modules.builtin",
				"lib/modules/" + fixtureRelease + "/kernel/drivers/net/virtio_net.ko.xz",
				"lib/modules/" + fixtureRelease + "/kernel/net/core/failover.ko.zst",
				"lib/modules/" + fixtureRelease + "/kernel/drivers/net/veth.ko",
			} {
				if _, err := os.Stat(filepath.Join(root, want)); err != nil {
					t.Errorf("missing %s: %v", want, err)
				}
			}
			// Only what a guest kernel needs is staged.
			for _, not := range []string{"boot/config-" + fixtureRelease, "usr"} {
				if _, err := os.Stat(filepath.Join(root, not)); err == nil {
					t.Errorf("%s staged, should be skipped", not)
				}
			}
		})
	}
}

// Split packages (Ubuntu: linux-image-unsigned + linux-modules) merge; a
// modules tree under /usr/lib/modules folds into lib/modules.
func TestExtractDebsMergesSplitPackages(t *testing.T) {
	dir := t.TempDir()
	all := fixtureKernelEntries(t, fixtureRelease)
	var img, mods []tarEntry
	for _, e := range all {
		if strings.Contains(e.Name, "/lib/modules/") {
			e.Name = strings.Replace(e.Name, "./lib/modules/", "./usr/lib/modules/", 1)
			mods = append(mods, e)
		} else {
			img = append(img, e)
		}
	}
	d1 := writeFile(t, dir, "img.deb", makeDeb(t, "zst", "linux-image-unsigned-test", "1", img))
	d2 := writeFile(t, dir, "mods.deb", makeDeb(t, "xz", "linux-modules-test", "1", mods))
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	if _, err := ExtractDebs([]string{d1, d2}, root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "lib/modules", fixtureRelease, "kernel/net/mptcp/mptcp_diag.ko.gz")); err != nil {
		t.Fatal(err)
	}
}

func TestExtractDebsErrors(t *testing.T) {
	dir := t.TempDir()
	good := makeDeb(t, "xz", "linux-image-test", "1", fixtureKernelEntries(t, fixtureRelease))
	evil := func(e ...tarEntry) []byte {
		return makeDeb(t, "gz", "evil", "1", append([]tarEntry{{Name: "./", Dir: true}}, e...))
	}
	ar := func(members ...string) []byte {
		var b bytes.Buffer
		b.WriteString(arMagic)
		for _, m := range members {
			arAppend(&b, m, []byte("2.0\n"))
		}
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotDeb},
		{"text", []byte("hello, this is not a deb\n"), ErrNotDeb},
		{"tar", makeTar(t, []tarEntry{{Name: "x", Body: []byte("y")}}), ErrNotDeb},
		{"ar without data", ar("debian-binary"), ErrNotDeb},
		{"ar wrong first member", ar("foo", "debian-binary"), ErrNotDeb},
		{"cut in magic", []byte("!<ar"), ErrTruncated},
		{"cut in header", good[:len(arMagic)+30], ErrTruncated},
		{"cut in data", good[:len(good)-100], ErrTruncated},
		{"cut at half", good[:len(good)/2], ErrTruncated},
		{"dotdot", evil(tarEntry{Name: "./lib/modules/../../../etc/passwd", Body: []byte("x")}), ErrUnsafePath},
		{"absolute", evil(tarEntry{Name: "/etc/passwd", Body: []byte("x")}), ErrUnsafePath},
		{"escaping symlink", evil(tarEntry{Name: "./lib/modules/r/kernel", Link: "../../../../../etc"}), ErrUnsafePath},
		{"escaping hard link", evil(tarEntry{Name: "./lib/modules/r/x.ko", Link: "../../etc/shadow", Hard: true}), ErrUnsafePath},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_")+".deb", c.data)
			root := t.TempDir()
			_, err := ExtractDebs([]string{p}, root)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != p {
				t.Errorf("not a *FileError for %s: %#v", p, err)
			}
		})
	}
	// Nothing escaped the root in any case above.
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "etc")); err == nil {
		t.Fatal("a file escaped the extraction root")
	}
}

func TestCheckLink(t *testing.T) {
	cases := []struct {
		name, target string
		ok           bool
	}{
		{"usr/share/doc/a/x", "/usr/share/doc/b", true}, // absolute: rooted
		{"usr/share/doc/a/x", "../b/y", true},
		{"lib/modules/r/build", "../../../usr/src/linux", true},
		{"lib/modules/r/build", "../../../../usr/src", false},
		{"x", "..", false},
		{"x", "", false},
	}
	for _, c := range cases {
		err := checkLink(c.name, c.target, false)
		if (err == nil) != c.ok {
			t.Errorf("checkLink(%q, %q) = %v, want ok=%v", c.name, c.target, err, c.ok)
		}
	}
}

func TestParseArHeader(t *testing.T) {
	h := []byte("data.tar.xz/    1700000000  0     0     100644  1234      `\n")
	m, err := parseArHeader(h)
	if err != nil || m.Name != "data.tar.xz" || m.Size != 1234 {
		t.Fatalf("%+v %v", m, err)
	}
	bad := append([]byte(nil), h...)
	copy(bad[48:], "-5        ")
	if _, err := parseArHeader(bad); !errors.Is(err, ErrNotDeb) {
		t.Fatalf("negative size: %v", err)
	}
}

func FuzzWalkDeb(f *testing.F) {
	f.Add(makeDeb(f, "gz", "p", "1", []tarEntry{{Name: "./boot/vmlinuz-1", Body: []byte("k")}}))
	f.Add([]byte(arMagic + "debian-binary   0           0     0     100644  4         `\n2.0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = walkDebReader(bytes.NewReader(data), int64(len(data)), debVisitor{
			control: func([]byte) {},
		})
	})
}
