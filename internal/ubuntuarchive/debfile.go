package ubuntuarchive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// debEpoch is the fixed mtime of every member and file, so builds are
// reproducible (same input → same SHA256).
var debEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteDeb writes a binary package in deb format: an ar archive whose first
// member is "debian-binary" ("2.0\n"), then control.tar.zst (./control and
// ./md5sums) and data.tar.zst. files maps paths (relative, no leading "./")
// to contents; parent directories are added.
func WriteDeb(w io.Writer, control string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		if n == "" || strings.HasPrefix(n, "/") || path.Clean(n) != n {
			return fmt.Errorf("deb file path %q is not clean and relative", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var md5s strings.Builder
	for _, n := range names {
		sum := md5.Sum(files[n])
		fmt.Fprintf(&md5s, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	if !strings.HasSuffix(control, "\n") {
		control += "\n"
	}
	ctl, err := zstdTar([]string{"control", "md5sums"}, map[string][]byte{"control": []byte(control), "md5sums": []byte(md5s.String())}, false)
	if err != nil {
		return err
	}
	data, err := zstdTar(names, files, true)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.zst", ctl}, {"data.tar.zst", data}} {
		fmt.Fprintf(bw, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, debEpoch.Unix(), 0, 0, "100644", len(m.body))
		bw.Write(m.body)
		if len(m.body)%2 == 1 {
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

func zstdTar(names []string, files map[string][]byte, withDirs bool) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	hdr := func(h *tar.Header) error {
		h.ModTime, h.Uname, h.Gname, h.Format = debEpoch, "root", "root", tar.FormatGNU
		return tw.WriteHeader(h)
	}
	if withDirs {
		if err := hdr(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if withDirs {
			var parents []string
			for d := path.Dir(n); d != "." && !dirs[d]; d = path.Dir(d) {
				parents = append(parents, d)
				dirs[d] = true
			}
			for i := len(parents) - 1; i >= 0; i-- {
				if err := hdr(&tar.Header{Name: "./" + parents[i] + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
					return nil, err
				}
			}
		}
		if err := hdr(&tar.Header{Name: "./" + n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArMember is one member of an ar archive.
type ArMember struct {
	Name string
	Data []byte
}

// ReadAr parses an ar archive (the outer layer of a .deb).
func ReadAr(data []byte) ([]ArMember, error) {
	if !bytes.HasPrefix(data, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("not an ar archive")
	}
	data = data[8:]
	var out []ArMember
	for len(data) > 0 {
		if len(data) < 60 {
			return nil, fmt.Errorf("ar: truncated member header")
		}
		h := data[:60]
		if string(h[58:60]) != "`\n" {
			return nil, fmt.Errorf("ar: bad member header magic")
		}
		name := strings.TrimRight(strings.TrimSpace(string(h[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
		if err != nil || size < 0 || size > int64(len(data)-60) {
			return nil, fmt.Errorf("ar: member %q: bad size", name)
		}
		out = append(out, ArMember{Name: name, Data: data[60 : 60+size]})
		data = data[60+size:]
		if size%2 == 1 && len(data) > 0 {
			data = data[1:]
		}
	}
	return out, nil
}

// decompressor returns a reader for a member or file by its suffix.
func decompressor(name string, r io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".xz"):
		return xz.NewReader(r)
	case strings.HasSuffix(name, ".zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".gz"):
		return gzip.NewReader(r)
	}
	return r, nil
}

// ReadDebData returns the regular files of a .deb's data member, keyed by
// clean relative path, and its control file text.
func ReadDebData(debPath string) (files map[string][]byte, control string, err error) {
	raw, err := os.ReadFile(debPath)
	if err != nil {
		return nil, "", err
	}
	members, err := ReadAr(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", debPath, err)
	}
	if len(members) < 3 || members[0].Name != "debian-binary" {
		return nil, "", fmt.Errorf("%s: not a deb (members %d)", debPath, len(members))
	}
	files = map[string][]byte{}
	for _, m := range members[1:] {
		isData := strings.HasPrefix(m.Name, "data.tar")
		if !isData && !strings.HasPrefix(m.Name, "control.tar") {
			continue
		}
		dr, err := decompressor(m.Name, bytes.NewReader(m.Data))
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", debPath, m.Name, err)
		}
		tr := tar.NewReader(dr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, "", fmt.Errorf("%s %s: %w", debPath, m.Name, err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			name := path.Clean(strings.TrimPrefix(h.Name, "./"))
			body, err := io.ReadAll(tr)
			if err != nil {
				return nil, "", fmt.Errorf("%s %s %s: %w", debPath, m.Name, name, err)
			}
			if isData {
				files[name] = body
			} else if name == "control" {
				control = string(body)
			}
		}
	}
	return files, control, nil
}
