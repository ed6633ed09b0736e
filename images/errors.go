package images

import (
	"errors"
	"fmt"
)

// Sentinel errors for errors.Is; the concrete errors carry the file and
// the detail.
var (
	// ErrNotDeb: the file is not a Debian binary package (no ar magic, no
	// debian-binary/data.tar member).
	ErrNotDeb = errors.New("not a Debian package")
	// ErrTruncated: the file ends before its ar member or compressed
	// stream does.
	ErrTruncated = errors.New("truncated")
	// ErrNoKernel: none of the given packages ships boot/vmlinuz-<release>.
	ErrNoKernel = errors.New("no kernel image (boot/vmlinuz-<release>)")
	// ErrUnsafePath: an archive entry or modules.dep path would escape the
	// extraction root (.., absolute path, escaping symlink).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrNoModulesDep: a dir: modules tree has no modules.dep.
	ErrNoModulesDep = errors.New("no modules.dep (run depmod)")
	// ErrUnknownPackage: apt knows no installable package by that name.
	ErrUnknownPackage = errors.New("unknown apt package")
	// ErrMissingTool: a host tool the initramfs carries is not installed.
	ErrMissingTool = errors.New("host tool missing")
	// ErrNotBzImage: the file has no Linux boot protocol header.
	ErrNotBzImage = errors.New("not a bzImage")
)

// FileError ties an error to the file (or URL, or package) it is about.
type FileError struct {
	Path string // file, URL or package name
	Op   string // what was being done: "read deb", "extract", …
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }
