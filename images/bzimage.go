package images

import (
	"bytes"
	"fmt"
	"io"
)

// BzImageRelease returns the kernel release (first word of the kernel
// version string, e.g. "6.1.0-56-cloud-amd64") from the x86 boot protocol
// header of a bzImage: "HdrS" at 0x202, a 16-bit kernel_version pointer at
// 0x20E that points 0x200 bytes short of the NUL-terminated string.
func BzImageRelease(head []byte) (string, error) {
	if len(head) < 0x210 || string(head[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%w: no HdrS boot header", ErrNotBzImage)
	}
	ptr := int(head[0x20E]) | int(head[0x20F])<<8
	if ptr == 0 {
		return "", fmt.Errorf("%w: no kernel_version pointer", ErrNotBzImage)
	}
	off := ptr + 0x200
	if off >= len(head) {
		return "", fmt.Errorf("%w: kernel_version at %#x beyond the %d bytes read", ErrNotBzImage, off, len(head))
	}
	s := head[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	} else {
		return "", fmt.Errorf("%w: kernel_version string not terminated", ErrNotBzImage)
	}
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	if len(s) == 0 {
		return "", fmt.Errorf("%w: empty kernel_version", ErrNotBzImage)
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("%w: kernel_version has non-printable bytes", ErrNotBzImage)
		}
	}
	return string(s), nil
}

// bzImageReleaseFile reads the header of the bzImage at p.
func bzImageReleaseFile(p string) (string, error) {
	f, err := openRegular(p)
	if err != nil {
		return "", &FileError{p, "open kernel", err}
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return "", &FileError{p, "read kernel", err}
	}
	rel, err := BzImageRelease(head[:n])
	if err != nil {
		return "", &FileError{p, "read kernel header", err}
	}
	return rel, nil
}
