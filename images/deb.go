package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// DebInfo describes one package read by ExtractDeb.
type DebInfo struct {
	Path    string
	Package string // from control (empty if control could not be read)
	Version string
	Arch    string
	Kernels []string // releases of boot/vmlinuz-<release> found in it
}

const arMagic = "!<arch>\n"

// arMember is one member header of an ar archive.
type arMember struct {
	Name string
	Size int64
}

// readArHeader reads the next 60-byte ar member header from r.
// It returns io.EOF at a clean end of archive.
func readArHeader(r io.Reader) (arMember, error) {
	var h [60]byte
	n, err := io.ReadFull(r, h[:])
	if err == io.EOF {
		return arMember{}, io.EOF
	}
	if err != nil {
		return arMember{}, fmt.Errorf("%w: member header cut after %d bytes", ErrTruncated, n)
	}
	return parseArHeader(h[:])
}

// parseArHeader decodes a 60-byte ar member header (System V/GNU layout).
func parseArHeader(h []byte) (arMember, error) {
	if len(h) != 60 || h[58] != '`' || h[59] != '\n' {
		return arMember{}, fmt.Errorf("%w: bad ar member header", ErrNotDeb)
	}
	name := strings.TrimRight(string(h[0:16]), " ")
	name = strings.TrimSuffix(name, "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
	if err != nil || size < 0 {
		return arMember{}, fmt.Errorf("%w: bad ar member size %q", ErrNotDeb, h[48:58])
	}
	return arMember{Name: name, Size: size}, nil
}

// debVisitor receives the entries of a deb's data.tar (and the control
// file). Returning an error stops the walk.
type debVisitor struct {
	control func(data []byte)
	entry   func(hdr *tar.Header, name string, r io.Reader) error
}

// walkDeb reads the deb at path member by member, decompressing control.tar.*
// (only ./control is read) and data.tar.* and calling v for each entry of
// data.tar. Errors are wrapped in *FileError naming path.
func walkDeb(p string, v debVisitor) error {
	f, err := openRegular(p)
	if errors.Is(err, ErrNotRegular) {
		return &FileError{p, "read deb", fmt.Errorf("%w: %w", ErrNotDeb, err)}
	}
	if err != nil {
		return &FileError{p, "open deb", err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &FileError{p, "stat deb", err}
	}
	if err := walkDebReader(f, st.Size(), v); err != nil {
		return &FileError{p, "read deb", err}
	}
	return nil
}

// walkDebReader is walkDeb over an io.ReaderAt-less stream of known size.
func walkDebReader(f io.Reader, size int64, v debVisitor) error {
	br := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(arMagic))
	if n, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		if n < len(arMagic) && bytes.HasPrefix([]byte(arMagic), magic[:n]) && n > 0 {
			return fmt.Errorf("%w: ends inside the ar magic", ErrTruncated)
		}
		return fmt.Errorf("%w: no ar magic", ErrNotDeb)
	}
	off := int64(len(arMagic))
	sawBinary, sawData := false, false
	for i := 0; ; i++ {
		m, err := readArHeader(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		off += 60
		if m.Size > size-off {
			return fmt.Errorf("%w: member %q claims %d bytes, file has %d left", ErrTruncated, m.Name, m.Size, size-off)
		}
		body := io.LimitReader(br, m.Size)
		switch {
		case i == 0 && m.Name != "debian-binary":
			return fmt.Errorf("%w: first member is %q, want debian-binary", ErrNotDeb, m.Name)
		case m.Name == "debian-binary":
			b, _ := io.ReadAll(body)
			if !bytes.HasPrefix(b, []byte("2.")) {
				return fmt.Errorf("%w: debian-binary is %q", ErrNotDeb, bytes.TrimSpace(b))
			}
			sawBinary = true
		case strings.HasPrefix(m.Name, "control.tar"):
			if v.control != nil {
				if err := readControl(m.Name, body, v.control); err != nil {
					return fmt.Errorf("member %s: %w", m.Name, err)
				}
			}
		case strings.HasPrefix(m.Name, "data.tar"):
			if err := walkTar(m.Name, body, v.entry); err != nil {
				return fmt.Errorf("member %s: %w", m.Name, err)
			}
			sawData = true
		}
		// Drain what the visitor did not read, then the pad byte.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("member %s: %w", m.Name, err)
		}
		off += m.Size
		if m.Size%2 == 1 {
			if _, err := br.Discard(1); err != nil && off+1 <= size {
				return fmt.Errorf("member %s: %w", m.Name, err)
			}
			off++
		}
	}
	if !sawBinary || !sawData {
		return fmt.Errorf("%w: ar archive without debian-binary and data.tar members", ErrNotDeb)
	}
	return nil
}

// decompressor wraps r according to the member name suffix.
func decompressor(name string, r io.Reader) (io.Reader, func(), error) {
	switch {
	case strings.HasSuffix(name, ".xz"):
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", truncErr(err))
		}
		return zr, func() {}, nil
	case strings.HasSuffix(name, ".zst"):
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", truncErr(err))
		}
		return zr, func() { zr.Close() }, nil
	case strings.HasSuffix(name, ".tar"):
		return r, func() {}, nil
	}
	return nil, nil, fmt.Errorf("%w: unsupported compression of %s", ErrNotDeb, name)
}

// truncErr marks an unexpected end of stream as ErrTruncated.
func truncErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	return err
}

func walkTar(member string, r io.Reader, fn func(*tar.Header, string, io.Reader) error) error {
	zr, done, err := decompressor(member, r)
	if err != nil {
		return err
	}
	defer done()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return truncErr(err)
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return err
		}
		if isSparse(hdr.Typeflag, hdr.PAXRecords) {
			return fmt.Errorf("%w: %s is a sparse tar entry, which dpkg never writes (its holes could expand without bound)", ErrLimit, hdr.Name)
		}
		if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
			if err := checkLink(name, hdr.Linkname, hdr.Typeflag == tar.TypeLink); err != nil {
				return err
			}
		}
		if fn == nil || name == "" {
			continue
		}
		if err := fn(hdr, name, tr); err != nil {
			return truncErr(err)
		}
	}
}

func readControl(member string, r io.Reader, fn func([]byte)) error {
	return walkTar(member, r, func(h *tar.Header, name string, r io.Reader) error {
		if name == "control" && h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			fn(b)
		}
		return nil
	})
}

// cleanEntryName turns a tar entry name ("./boot/x") into a clean relative
// path ("boot/x"); "." becomes "". Names with .. components or absolute
// names are rejected: dpkg writes neither.
func cleanEntryName(n string) (string, error) {
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("%w: absolute entry %q", ErrUnsafePath, n)
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: entry %q has a .. component", ErrUnsafePath, n)
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// checkLink rejects links that leave the extraction root. An absolute
// symlink target means the installed system's root, which is the extraction
// root, so only relative targets climbing above it escape. Hard link names
// are archive paths and follow the entry-name rules.
func checkLink(name, target string, hard bool) error {
	if target == "" {
		return fmt.Errorf("%w: link %q has an empty target", ErrUnsafePath, name)
	}
	if hard {
		if _, err := cleanEntryName(target); err != nil {
			return fmt.Errorf("hard link %q: %w", name, err)
		}
		return nil
	}
	if strings.HasPrefix(target, "/") {
		return nil
	}
	j := path.Join(path.Dir(name), target)
	if j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("%w: symlink %q -> %q escapes the root", ErrUnsafePath, name, target)
	}
	return nil
}

// parseControl extracts Package, Version and Architecture from a control
// file.
func parseControl(b []byte) (pkg, ver, arch string) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			pkg = v
		case "Version":
			ver = v
		case "Architecture":
			arch = v
		}
	}
	return
}

// keepForKernel says whether a data.tar entry belongs in the staging tree
// and under which relative name: boot/vmlinuz-*, and everything under
// (usr/)lib/modules/<rel>/ that module handling reads.
func keepForKernel(name string) (string, bool) {
	if strings.HasPrefix(name, "boot/vmlinuz-") && !strings.Contains(name[len("boot/"):], "/") {
		return name, true
	}
	rest, ok := strings.CutPrefix(name, "usr/")
	if !ok {
		rest = name
	}
	rel, ok := strings.CutPrefix(rest, "lib/modules/")
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rel, '/')
	if i <= 0 {
		return "", false
	}
	file := rel[i+1:]
	switch {
	case file == "modules.dep", file == "modules.builtin", file == "modules.order":
	case isModuleFile(file):
	default:
		return "", false
	}
	return "lib/modules/" + rel, true
}

// ExtractDebs extracts, from the given debs merged, what a guest kernel needs
// (boot/vmlinuz-<rel> and the lib/modules/<rel> tree; /usr/lib/modules is
// folded into lib/modules) into root, which must exist and be empty. It is
// path-traversal safe: entries and links that would escape root are errors.
// What it writes is bounded by DefaultLimits.
func ExtractDebs(debs []string, root string) ([]DebInfo, error) {
	lim, err := DefaultLimits()
	if err != nil {
		return nil, err
	}
	return extractDebsLimited(debs, root, lim)
}

// extractDebsLimited is ExtractDebs within lim: an entry over lim.File, or
// the files together over lim.Total or lim.Files, stop it with a
// *LimitError naming the entry (wrapped in a FileError naming the deb).
func extractDebsLimited(debs []string, root string, lim Limits) ([]DebInfo, error) {
	budget := &extractBudget{lim: lim}
	var infos []DebInfo
	type link struct{ name, target string }
	var links []link
	for _, p := range debs {
		info := DebInfo{Path: p}
		err := walkDeb(p, debVisitor{
			control: func(b []byte) { info.Package, info.Version, info.Arch = parseControl(b) },
			entry: func(h *tar.Header, name string, r io.Reader) error {
				dst, ok := keepForKernel(name)
				if !ok {
					return nil
				}
				switch h.Typeflag {
				case tar.TypeReg, tar.TypeRegA:
				case tar.TypeSymlink:
					t := h.Linkname
					if strings.HasPrefix(t, "/") {
						t = strings.TrimPrefix(path.Clean(t), "/")
					} else {
						t = path.Join(path.Dir(name), t)
					}
					if tk, ok := keepForKernel(t); ok {
						links = append(links, link{dst, tk})
					}
					return nil
				case tar.TypeLink:
					if tk, ok := keepForKernel(path.Clean(h.Linkname)); ok {
						links = append(links, link{dst, tk})
					}
					return nil
				default:
					return nil
				}
				if rel, ok := strings.CutPrefix(dst, "boot/vmlinuz-"); ok {
					info.Kernels = append(info.Kernels, rel)
				}
				if h.Size > lim.File {
					return &LimitError{File: name, What: fmt.Sprintf("declared size %d bytes", h.Size), Limit: lim.File, Env: EnvMaxFileSize}
				}
				lr, err := budget.file(name, r)
				if err != nil {
					return err
				}
				return writeStaged(root, dst, lr)
			},
		})
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	// Links are materialised as copies, after every deb is in, so a link in
	// one package may point at a file of another. Chains are followed a few
	// steps; a dangling link is ignored like any file we did not need.
	for pass := 0; pass < 4; pass++ {
		for _, l := range links {
			dst := filepath.Join(root, filepath.FromSlash(l.name))
			if _, err := os.Lstat(dst); err == nil {
				continue
			}
			src, err := os.Open(filepath.Join(root, filepath.FromSlash(l.target)))
			if err != nil {
				continue
			}
			lr, err := budget.file(l.name, src)
			if err == nil {
				err = writeStaged(root, l.name, lr)
			}
			src.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return infos, nil
}

// writeStaged writes r to root/name, creating parents.
func writeStaged(root, name string, r io.Reader) error {
	dst := filepath.Join(root, filepath.FromSlash(name))
	if !strings.HasPrefix(dst, filepath.Clean(root)+string(filepath.Separator)) {
		return fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		var le *LimitError
		if errors.As(err, &le) {
			return err // names the file already
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
