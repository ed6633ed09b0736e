package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadDebFile returns the regular file name (a path inside data.tar, e.g.
// usr/share/doc/<pkg>/changelog.Debian.gz) of the deb at path, at most max
// bytes. A missing file wraps os.ErrNotExist.
func ReadDebFile(path, name string, max int64) ([]byte, error) {
	var data []byte
	found := false
	err := walkDeb(path, debVisitor{entry: func(h *tar.Header, n string, r io.Reader) error {
		if found || n != name || h.Typeflag != tar.TypeReg {
			return nil
		}
		if h.Size > max {
			return fmt.Errorf("%s: %d bytes, more than %d", name, h.Size, max)
		}
		b, err := io.ReadAll(r)
		data, found = b, true
		return err
	}})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &FileError{path, "read " + name, errors.Join(os.ErrNotExist, errors.New("not in the package"))}
	}
	return data, nil
}
