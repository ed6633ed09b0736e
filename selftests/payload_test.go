package selftests

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The payload carries the suite below GuestRoot with its layout, and the
// host's bash with every library it needs below ToolsRoot.
func TestWritePayload(t *testing.T) {
	dir := t.TempDir()
	s := &Suite{Dir: dir, Target: "net/mptcp"}
	for _, f := range []string{"net/mptcp/diag.sh", "net/mptcp/mptcp_connect", "net/lib.sh"} {
		p := filepath.Join(s.Tree(), f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/bash\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// bash alone: the default set is ~20 MB, slow to gzip under -race.
	bash := DefaultTools()[:1]
	if bash[0].Names[0] != "bash" || !bash[0].Required {
		t.Fatalf("first default tool %+v, want the required bash", bash[0])
	}
	pl, err := WritePayload(s, filepath.Join(dir, "p.tar"), bash)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pl.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	for _, want := range []string{"opt/kselftest/net/mptcp/diag.sh", "opt/kselftest/net/lib.sh", "opt/kselftest/net/", "opt/srutest-tools/bin/bash"} {
		if got[want] == nil {
			t.Errorf("payload lacks %s", want)
		}
	}
	if h := got["opt/kselftest/net/mptcp/diag.sh"]; h != nil && h.Mode&0o111 == 0 {
		t.Errorf("diag.sh not executable: %o", h.Mode)
	}
	libs := 0
	for n := range got {
		if strings.HasPrefix(n, "opt/srutest-tools/lib/libc.so") {
			libs++
		}
	}
	if libs != 1 {
		t.Errorf("payload has %d libc, want 1 (bash's library closure)", libs)
	}
	for n, h := range got {
		if h.Typeflag == tar.TypeSymlink && (strings.Contains(h.Linkname, "/") || !strings.HasPrefix(n, "opt/srutest-tools/bin/")) {
			t.Errorf("link %s -> %s escapes the tools bin dir", n, h.Linkname)
		}
	}
}
