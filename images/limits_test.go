package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// debWithData builds a .deb around a ready data.tar.<comp>.
func debWithData(t *testing.T, comp string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(arMagic)
	arAppend(&b, "debian-binary", []byte("2.0\n"))
	control := "Package: linux-image-bomb\nVersion: 1\nArchitecture: amd64\nDescription: bomb\n"
	arAppend(&b, "control.tar.gz", compressBytes(t, "gz", makeTar(t, []tarEntry{{Name: "./control", Body: []byte(control)}})))
	arAppend(&b, "data.tar."+comp, data)
	return b.Bytes()
}

// wantLimit checks err is a one-line *LimitError naming the deb, the entry
// and the limit, and that nothing near the claimed size was written.
func wantLimit(t *testing.T, err error, deb, entry, env string, root string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want a *LimitError", err)
	}
	msg := err.Error()
	for _, want := range []string{deb, entry, "limit of", env} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	if n := dirSize(root); n > 64<<20 {
		t.Errorf("%d bytes written before the limit stopped it", n)
	}
}

// TestExtractRejectsSparseEntry: a 0.5 KB deb whose entry declares itself
// sparse (GNU.sparse.realsize=512 MiB) used to extract to a 512 MiB
// boot/vmlinuz; now it is refused before a byte is written.
func TestExtractRejectsSparseEntry(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "sparse-vmlinuz.data.tar.xz"))
	if err != nil {
		t.Fatal(err)
	}
	deb := writeFile(t, t.TempDir(), "sparse.deb", debWithData(t, "xz", data))
	root := t.TempDir()
	_, err = ExtractDebs([]string{deb}, root)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "sparse") || !strings.Contains(err.Error(), "boot/vmlinuz-6.1.0-99-test") {
		t.Fatalf("err = %v, want a sparse-entry refusal naming the entry", err)
	}
	if n := dirSize(root); n != 0 {
		t.Errorf("%d bytes written", n)
	}
}

// TestExtractZstdBomb: 160 MiB of zeros in a zstd data.tar (a few KB of deb)
// is over the default per-file limit (128 MiB): refused, naming the entry.
func TestExtractZstdBomb(t *testing.T) {
	const size = 160 << 20
	var tarBuf bytes.Buffer
	zw, err := zstd.NewWriter(&tarBuf)
	if err != nil {
		t.Fatal(err)
	}
	entry := "./boot/vmlinuz-6.1.0-99-test"
	tw := newStreamTar(t, zw, entry, size)
	if _, err := io.CopyN(tw, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	zw.Close()
	dir := t.TempDir()
	deb := writeFile(t, dir, "bomb.deb", debWithData(t, "zst", tarBuf.Bytes()))
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	_, err = ExtractDebs([]string{deb}, root)
	wantLimit(t, err, deb, "boot/vmlinuz-6.1.0-99-test", EnvMaxFileSize, "")
}

// TestExtractLimits: the per-file limit also holds for an entry that
// declares a small size in a bomb-like xz stream, the total and the file
// count limits hold across debs, and the environment overrides them.
func TestExtractLimits(t *testing.T) {
	zeros := make([]byte, 64<<10)
	mods := func(n int) []tarEntry {
		var es []tarEntry
		for i := 0; i < n; i++ {
			es = append(es, tarEntry{Name: "./lib/modules/6.1.0-99-test/kernel/m" + itoa(i) + ".ko", Body: zeros})
		}
		return es
	}
	for _, tc := range []struct {
		name  string
		lim   Limits
		entry []tarEntry
		env   string
	}{
		{"file", Limits{File: 32 << 10, Total: 1 << 30, Files: 100}, []tarEntry{{Name: "./boot/vmlinuz-6.1.0-99-test", Body: zeros}}, EnvMaxFileSize},
		{"total", Limits{File: 1 << 20, Total: 200 << 10, Files: 100}, mods(4), EnvMaxExtractSize},
		{"files", Limits{File: 1 << 20, Total: 1 << 30, Files: 3}, mods(4), EnvMaxExtractFiles},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			deb := writeFile(t, dir, "k.deb", makeDeb(t, "xz", "linux-image-bomb", "1", tc.entry))
			root := filepath.Join(dir, "root")
			os.Mkdir(root, 0o755)
			_, err := extractDebsLimited([]string{deb}, root, tc.lim)
			wantLimit(t, err, deb, "6.1.0-99-test", tc.env, root)
		})
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv(EnvMaxFileSize, "32K")
		dir := t.TempDir()
		deb := writeFile(t, dir, "k.deb", makeDeb(t, "zst", "linux-image-bomb", "1", []tarEntry{{Name: "./boot/vmlinuz-6.1.0-99-test", Body: zeros}}))
		_, err := ExtractDebs([]string{deb}, t.TempDir())
		wantLimit(t, err, deb, "vmlinuz", "32 KiB", "")
		t.Setenv(EnvMaxFileSize, "lots")
		if _, err := ExtractDebs([]string{deb}, t.TempDir()); err == nil || !strings.Contains(err.Error(), EnvMaxFileSize) {
			t.Errorf("bad override: %v", err)
		}
	})
}

// TestReadModuleCapped: a module over the file limit is an error naming it
// (it used to be read whole, then silently cut at 256 MiB).
func TestReadModuleCapped(t *testing.T) {
	t.Setenv(EnvMaxFileSize, "16K")
	dir := t.TempDir()
	ko := append(fakeKO("big", "6.1.0-99-test "), make([]byte, 32<<10)...)
	for _, c := range []string{"ko", "xz", "zst", "gz"} {
		name := "big.ko"
		body := ko
		if c != "ko" {
			name += "." + c
			body = compressBytes(t, c, ko)
		}
		p := writeFile(t, dir, name, body)
		_, err := readModule(p)
		wantLimit(t, err, name, name, EnvMaxFileSize, "")
	}
	small := writeFile(t, dir, "small.ko.xz", compressBytes(t, "xz", fakeKO("small", "6.1.0-99-test ")))
	if _, err := readModule(small); err != nil {
		t.Errorf("small module: %v", err)
	}
}

// TestFetchURLCapped: a deb: URL larger than the download limit is refused,
// with or without a Content-Length, and nothing lands in the cache.
func TestFetchURLCapped(t *testing.T) {
	t.Setenv(EnvMaxDownloadSize, "1K")
	body := bytes.Repeat([]byte("x"), 4096)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked.deb" {
			w.Write(body[:1])
			w.(http.Flusher).Flush() // no Content-Length: chunked
		}
		w.Write(body)
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	b := testBuilder(t)
	for _, p := range []string{"/sized.deb", "/chunked.deb"} {
		_, _, err := b.fetchURL(ctxT(t), srv.URL+p)
		wantLimit(t, err, srv.URL+p, p, EnvMaxDownloadSize, "")
	}
	if n := dirSize(filepath.Join(b.CacheDir, dirDebs)); n != 0 {
		t.Errorf("%d bytes left in the deb cache", n)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// newStreamTar starts a tar with one regular entry of size bytes; the
// caller writes the body and closes it.
func newStreamTar(t *testing.T, w io.Writer, name string, size int64) *tar.Writer {
	t.Helper()
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	return tw
}
