package vm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/pull.tar is busybox 1.35's `tar -cf -` of client.json (7 bytes),
// a missing file, a directory and path1.pcap (600 bytes, mode 0600), as
// PullFiles asks for them (names relative to /).
func TestExtractTar(t *testing.T) {
	data, err := os.ReadFile("testdata/pull.tar")
	if err != nil {
		t.Fatal(err)
	}
	remotes := []string{"/tmp/srutest/0/client.json", "/tmp/srutest/0/missing", "/tmp/srutest/0/sub", "/tmp/srutest/0//path1.pcap"}
	dir := t.TempDir()
	files, err := extractTar(bytes.NewReader(data), remotes, dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files["/tmp/srutest/0/missing"] != nil {
		t.Fatalf("extracted %v", files)
	}
	if f := files["/tmp/srutest/0/sub"]; f == nil || f.err == nil || f.tmp != "" {
		t.Errorf("directory entry: %+v, want a not-a-regular-file error", f)
	}
	pcap := files["/tmp/srutest/0/path1.pcap"]
	if pcap == nil || pcap.err != nil || pcap.mode != 0o600 {
		t.Fatalf("path1.pcap: %+v", pcap)
	}
	if err := pcap.commit(filepath.Join(dir, "path1.pcap")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "path1.pcap")); err != nil || st.Size() != 600 || st.Mode().Perm() != 0o600 {
		t.Errorf("committed path1.pcap: %v %v", st, err)
	}
	files["/tmp/srutest/0/client.json"].discard()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left in dir: %v (want only path1.pcap)", ents)
	}

	// Over the limit: that file's error, the others still come.
	files, err = extractTar(bytes.NewReader(data), remotes, t.TempDir(), 100)
	if err != nil || files["/tmp/srutest/0/client.json"].err != nil || !errors.Is(files["/tmp/srutest/0/path1.pcap"].err, ErrPullTooBig) {
		t.Errorf("limit 100: %v %+v", err, files)
	}

	// A stream cut inside a header is an error; what came before stays.
	files, err = extractTar(bytes.NewReader(data[:1800]), remotes, t.TempDir(), 1<<20)
	if err == nil || files["/tmp/srutest/0/client.json"] == nil || files["/tmp/srutest/0/client.json"].err != nil {
		t.Errorf("cut header: %v %+v", err, files)
	}
	// Cut inside a file's data: that file is an error and leaves nothing.
	cutDir := t.TempDir()
	files, err = extractTar(bytes.NewReader(data[:2048+100]), remotes, cutDir, 1<<20)
	if f := files["/tmp/srutest/0/path1.pcap"]; err == nil || f == nil || f.err == nil || f.tmp != "" {
		t.Errorf("cut data: %v %+v", err, f)
	}
	files["/tmp/srutest/0/client.json"].discard()
	if ents, _ := os.ReadDir(cutDir); len(ents) != 0 {
		t.Errorf("cut data left %v", ents)
	}
}

func TestTarCommand(t *testing.T) {
	got := tarCommand([]string{"/tmp/a b/x", "/tmp/it's"})
	want := `cd / && exec /bin/busybox tar -chf - 'tmp/a b/x' 'tmp/it'\''s'`
	if got != want {
		t.Errorf("tarCommand = %s, want %s", got, want)
	}
	if c := tarComplaint("tar: tmp/srutest/0/missing: No such file or directory\n", "/tmp/srutest/0/missing", 1); !strings.Contains(c, "No such file") {
		t.Errorf("tarComplaint = %q", c)
	}
}

func FuzzExtractTar(f *testing.F) {
	data, _ := os.ReadFile("testdata/pull.tar")
	f.Add(data)
	f.Add(data[:1800])
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		files, _ := extractTar(bytes.NewReader(b), []string{"/tmp/srutest/0/client.json", "/tmp/srutest/0/path1.pcap"}, dir, 4096)
		for _, f := range files {
			f.discard()
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("temp files left: %v", ents)
		}
	})
}
