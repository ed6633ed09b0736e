package images

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// CPIOWriter writes an uncompressed newc ("070701") cpio archive, the format
// the kernel unpacks as an initramfs. Parent directories are emitted
// automatically (mode 0755) before the first entry below them. All entries
// are owned by root with mtime 0, so equal inputs give equal bytes.
type CPIOWriter struct {
	w     *bufio.Writer
	ino   uint32
	names map[string]bool
	err   error
}

// NewCPIOWriter returns a writer to w. Call Close to write the trailer.
func NewCPIOWriter(w io.Writer) *CPIOWriter {
	return &CPIOWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1, names: map[string]bool{}}
}

const (
	cpioDir     = 0o040000
	cpioReg     = 0o100000
	cpioSymlink = 0o120000
)

func cleanArchiveName(name string) (string, error) {
	n := strings.TrimPrefix(path.Clean("/"+name), "/")
	if n == "" || n != strings.TrimPrefix(name, "/") {
		return "", fmt.Errorf("cpio: bad name %q", name)
	}
	return n, nil
}

func (c *CPIOWriter) header(name string, mode uint32, size int64, nlink uint32) {
	if c.err != nil {
		return
	}
	if size > 0xffffffff {
		c.err = fmt.Errorf("cpio: %s: %d bytes is too large for newc", name, size)
		return
	}
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad(int64(len(hdr) + len(name) + 1))
}

func (c *CPIOWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *CPIOWriter) pad(n int64) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// parents emits the missing parent directories of name.
func (c *CPIOWriter) parents(name string) {
	dir := path.Dir(name)
	if dir == "." || c.names[dir] {
		return
	}
	c.parents(dir)
	c.names[dir] = true
	c.header(dir, cpioDir|0o755, 0, 2)
}

func (c *CPIOWriter) add(name string) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	n, err := cleanArchiveName(name)
	if err != nil {
		return "", err
	}
	if c.names[n] {
		return "", fmt.Errorf("cpio: duplicate entry %q", n)
	}
	c.parents(n)
	c.names[n] = true
	return n, nil
}

// Dir adds a directory (idempotent for directories already emitted).
func (c *CPIOWriter) Dir(name string, perm uint32) error {
	if n, err := cleanArchiveName(name); err == nil && c.names[n] {
		return c.err
	}
	n, err := c.add(name)
	if err != nil {
		return err
	}
	c.header(n, cpioDir|perm&0o7777, 0, 2)
	return c.err
}

// File adds a regular file of size bytes read from r.
func (c *CPIOWriter) File(name string, perm uint32, r io.Reader, size int64) error {
	n, err := c.add(name)
	if err != nil {
		return err
	}
	c.header(n, cpioReg|perm&0o7777, size, 1)
	if c.err != nil {
		return c.err
	}
	w, err := io.Copy(c.w, io.LimitReader(r, size))
	if err != nil {
		c.err = fmt.Errorf("cpio: %s: %w", n, err)
		return c.err
	}
	if w != size {
		c.err = fmt.Errorf("cpio: %s: got %d bytes, want %d", n, w, size)
		return c.err
	}
	c.pad(size)
	return c.err
}

// Bytes adds a regular file with the given contents.
func (c *CPIOWriter) Bytes(name string, perm uint32, data []byte) error {
	return c.File(name, perm, strings.NewReader(string(data)), int64(len(data)))
}

// Symlink adds a symbolic link name → target.
func (c *CPIOWriter) Symlink(name, target string) error {
	n, err := c.add(name)
	if err != nil {
		return err
	}
	c.header(n, cpioSymlink|0o777, int64(len(target)), 1)
	c.write([]byte(target))
	c.pad(int64(len(target)))
	return c.err
}

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (c *CPIOWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 1)
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

// CharDev adds a character device node (e.g. dev/console 5:1), which the
// kernel needs in an external initramfs to give /init a console before
// devtmpfs is mounted.
func (c *CPIOWriter) CharDev(name string, perm uint32, major, minor uint32) error {
	n, err := c.add(name)
	if err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, 0o020000|perm&0o7777, 0, 0, 1, 0, 0, 0, 0, major, minor, len(n)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(n + "\x00"))
	c.pad(int64(len(hdr) + len(n) + 1))
	return c.err
}
