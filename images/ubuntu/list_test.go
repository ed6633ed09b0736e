package ubuntu_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/internal/ubuntuarchive"
)

// A series' kernel line over two pockets, plus an HWE kernel and an ABI
// published in both pockets.
func bisectArchive(t *testing.T) (*ubuntuarchive.Archive, *ubuntuarchive.Server) {
	k := func(pocket, abi, upload, source string) ubuntuarchive.Kernel {
		return ubuntuarchive.Kernel{Series: "noble", Pocket: pocket, ABI: abi, Upload: upload, Source: source, Files: ubuntuarchive.SyntheticKernel(abi + "-generic")}
	}
	return loopback(t, ubuntuarchive.Options{
		Kernels: []ubuntuarchive.Kernel{
			k("release", "6.8.0-31", "31", ""),
			k("updates", "6.8.0-100", "100", ""),
			k("updates", "6.8.0-41", "41", ""),
			k("updates", "6.8.0-31", "31", ""), // also in release: listed once
			k("updates", "6.11.0-29", "29~24.04.1", "linux-hwe-6.11"),
			k("proposed", "6.8.0-101", "101", ""),
		},
		Sources: []ubuntuarchive.SourcePackage{
			{Series: "noble", Pocket: "release", Name: "linux-source-6.8.0", Version: "6.8.0-31.31", Tarball: []byte("ga tree")},
			{Series: "noble", Pocket: "updates", Name: "linux-source-6.8.0", Version: "6.8.0-100.100", Tarball: []byte("current tree")},
		},
	})
}

func TestListKernels(t *testing.T) {
	a, s := bisectArchive(t)
	r := newResolver(t, a, s)
	list, err := r.ListKernels(context.Background(), ubuntu.ListQuery{Series: "noble"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range list {
		got = append(got, k.Pocket+":"+k.ABI+"="+k.Version)
		if k.Query.ABI != k.ABI || k.Query.Pocket != k.Pocket {
			t.Errorf("%s: query %s", k.ABI, k.Query)
		}
	}
	want := "release:6.8.0-31=6.8.0-31.31 updates:6.8.0-41=6.8.0-41.41 updates:6.8.0-100=6.8.0-100.100"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q\nwant %q", strings.Join(got, " "), want)
	}
	list, err = r.ListKernels(context.Background(), ubuntu.ListQuery{Series: "noble", Pockets: []string{"release", "updates", "proposed"}, Source: "linux-hwe-6.11"})
	if err != nil || len(list) != 1 || list[0].ABI != "6.11.0-29" {
		t.Errorf("HWE line: %+v %v", list, err)
	}
	if _, err := r.ListKernels(context.Background(), ubuntu.ListQuery{Series: "noble", Source: "linux-oem"}); !errors.Is(err, ubuntu.ErrNoPackage) {
		t.Errorf("no such line: %v", err)
	}
}

func TestListKernelsRejectsTamperedIndex(t *testing.T) {
	a, s := bisectArchive(t)
	s.SetFaults(ubuntuarchive.Fault{Suffix: "/noble-updates/InRelease", Kind: ubuntuarchive.Corrupt})
	r := newResolver(t, a, s)
	if _, err := r.ListKernels(context.Background(), ubuntu.ListQuery{Series: "noble"}); !errors.Is(err, ubuntu.ErrSignature) {
		t.Errorf("tampered InRelease: %v, want ErrSignature", err)
	}
}

func TestResolveSource(t *testing.T) {
	a, s := bisectArchive(t)
	r := newResolver(t, a, s)
	for _, tc := range []struct{ arg, version, tree string }{
		{"noble", "6.8.0-31.31", "ga tree"},
		{"noble-updates", "6.8.0-100.100", "current tree"},
		{"noble-updates@6.8.0-100.100", "6.8.0-100.100", "current tree"},
	} {
		dl := t.TempDir()
		deb, meta, err := r.ResolveSource(context.Background(), tc.arg, dl)
		if err != nil {
			t.Fatalf("%s: %v", tc.arg, err)
		}
		if meta["version"] != tc.version || meta["package"] != "linux-source-6.8.0" || filepath.Dir(deb) != dl {
			t.Errorf("%s: %s %v", tc.arg, deb, meta)
		}
		if !strings.Contains(meta["tarballs"], "usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.xz") {
			t.Errorf("%s: tarballs %q", tc.arg, meta["tarballs"])
		}
		files, _, err := ubuntuarchive.ReadDebData(deb)
		if err != nil || string(files["usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.xz"]) != tc.tree {
			t.Errorf("%s: deb holds %v (%v), want the %s", tc.arg, files, err, tc.tree)
		}
	}
	if _, _, err := r.ResolveSource(context.Background(), "noble@6.8.0-99.99", t.TempDir()); !errors.Is(err, ubuntu.ErrNoPackage) || !strings.Contains(err.Error(), "6.8.0-31.31") {
		t.Errorf("missing version: %v", err)
	}
	for _, bad := range []string{"", "Noble", "noble-nowhere", "noble@", "noble/../x"} {
		if _, err := ubuntu.ParseSourceArg(bad); err == nil {
			t.Errorf("ParseSourceArg(%q) accepted", bad)
		}
	}
}
