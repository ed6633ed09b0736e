package images

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular: a path given as a file (deb, vmlinuz, bzImage,
// modules.dep) is a directory, FIFO, device or socket.
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens p for reading only if it is a regular file (symlinks
// followed). The open does not block: a FIFO nobody writes to would
// otherwise hang the build in open(2).
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(p); lerr == nil {
			return nil, fmt.Errorf("dangling symlink to %s: %w", target, err)
		}
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, fileType(st.Mode()))
	}
	return f, nil
}

// readRegular is os.ReadFile through openRegular.
func readRegular(p string) ([]byte, error) {
	f, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return m.Type().String()
}
