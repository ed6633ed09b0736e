package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/srutest/srutest/internal/proc"
)

// Direct (PVH) boot of the uncompressed kernel.
//
// A bzImage decompresses itself inside the guest before the kernel's clock
// starts, and under TCG that is slow: Debian's 6.1 generic kernel (xz)
// spent ~6 s there on this 2-core host, more than the rest of its boot.
// Kernels built with CONFIG_PVH (Debian's and Ubuntu's amd64 kernels are)
// carry an ELF note, XEN_ELFNOTE_PHYS32_ENTRY, with which QEMU loads the
// ELF vmlinux itself and enters it in 32-bit protected mode: no
// decompressor and no real-mode setup run in the guest. The kernel layer
// therefore keeps, beside vmlinuz, the bzImage's payload unpacked on the
// host as vmlinux when it has that note, and the image boots vmlinux. A
// kernel without the note, or compressed in a way srutest cannot unpack,
// boots its bzImage as before; vmlinux.none says why, so the check runs
// once per kernel layer.

const (
	fileVmlinux     = "vmlinux"
	fileVmlinuxNone = "vmlinux.none"
	// xenNotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h).
	xenNotePhys32Entry = 18
)

// bzPayload returns the compressed kernel inside a bzImage and the
// uncompressed size the build appended to it (boot protocol ≥ 2.08:
// payload_offset at 0x248 and payload_length at 0x24c, relative to the
// protected-mode code at (setup_sects+1)×512; arch/x86/boot/compressed's
// Makefile appends the size as 32-bit little endian to every format).
func bzPayload(bz []byte) (payload []byte, size uint32, err error) {
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, 0, fmt.Errorf("%w: no HdrS boot header", ErrNotBzImage)
	}
	if v := binary.LittleEndian.Uint16(bz[0x206:]); v < 0x208 {
		return nil, 0, fmt.Errorf("%w: boot protocol %d.%02d has no payload fields", ErrNotBzImage, v>>8, v&0xff)
	}
	setup := int(bz[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if n < 5 || off < 0 || off > len(bz) || n > len(bz)-off {
		return nil, 0, fmt.Errorf("%w: payload %d bytes at %#x outside the %d-byte file", ErrNotBzImage, n, off, len(bz))
	}
	p := bz[off : off+n]
	return p[:n-4], binary.LittleEndian.Uint32(p[n-4:]), nil
}

// payloadFormat names the payload's compression by its magic ("" when
// unknown).
func payloadFormat(p []byte) string {
	for _, f := range []struct {
		name  string
		magic string
	}{
		{"gzip", "\x1f\x8b"}, {"xz", "\xfd7zXZ\x00"}, {"zstd", "\x28\xb5\x2f\xfd"},
		{"lz4", "\x02\x21\x4c\x18"}, {"bzip2", "BZh"}, {"lzo", "\x89LZO"}, {"lzma", "\x5d\x00\x00"},
	} {
		if bytes.HasPrefix(p, []byte(f.magic)) {
			return f.name
		}
	}
	return ""
}

// unpackTools are the host programs that decompress the formats Go's
// libraries here do not (github.com/ulikunitz/xz lacks the x86 BCJ filter
// the kernel's xz payload uses; nothing here reads LZ4's legacy frames).
var unpackTools = map[string][]string{"xz": {"xz", "-dc"}, "lz4": {"lz4", "-dc"}}

// errNoUnpacker: the payload's format is one srutest cannot unpack here.
var errNoUnpacker = errors.New("no decompressor")

// unpackPayload decompresses a bzImage payload, at most max bytes.
func unpackPayload(ctx context.Context, format string, p []byte, max int64) ([]byte, error) {
	const what = "uncompressed kernel size"
	switch format {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, err
		}
		zr.Multistream(false)
		return readCapped(zr, "vmlinux", what, EnvMaxFileSize, max)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(p), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return readCapped(zr, "vmlinux", what, EnvMaxFileSize, max)
	}
	argv, ok := unpackTools[format]
	if !ok {
		return nil, fmt.Errorf("%w for %s", errNoUnpacker, orUnknown(format))
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("%w for %s: %s not installed", errNoUnpacker, format, argv[0])
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := proc.Command(ctx, time.Second, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(p)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b, rerr := readCapped(out, "vmlinux", what, EnvMaxFileSize, max)
	if rerr != nil {
		cancel() // over the limit: stop the tool instead of draining it
	}
	werr := cmd.Wait()
	switch {
	case rerr != nil:
		return nil, rerr
	case werr != nil:
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), werr, strings.TrimSpace(errb.String()))
	}
	return b, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown format"
	}
	return s
}

// hasPVHNote reports whether the ELF image carries XEN_ELFNOTE_PHYS32_ENTRY
// in a PT_NOTE segment (where QEMU looks for it).
func hasPVHNote(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			continue
		}
		for len(data) >= 12 {
			namesz := binary.LittleEndian.Uint32(data[0:])
			descsz := binary.LittleEndian.Uint32(data[4:])
			typ := binary.LittleEndian.Uint32(data[8:])
			nameEnd := 12 + align4(uint64(namesz))
			end := nameEnd + align4(uint64(descsz))
			if end > uint64(len(data)) {
				break
			}
			name := strings.TrimRight(string(data[12:12+uint64(namesz)]), "\x00")
			if name == "Xen" && typ == xenNotePhys32Entry && descsz >= 4 {
				return true
			}
			data = data[end:]
		}
	}
	return false
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// pvhKernel returns the vmlinux a bzImage unpacks to when QEMU can boot it
// directly, or nil and the reason it cannot (no PVH note, a format with
// no decompressor here, not a bzImage). An error is an unpack that failed
// or went over the limit: the bzImage is damaged or hostile.
func pvhKernel(ctx context.Context, bz []byte, max int64) ([]byte, string, error) {
	payload, size, err := bzPayload(bz)
	if err != nil {
		return nil, err.Error(), nil
	}
	format := payloadFormat(payload)
	if int64(size) > max {
		return nil, "", &LimitError{File: "vmlinux", What: "uncompressed kernel size", Limit: max, Env: EnvMaxFileSize}
	}
	vmlinux, err := unpackPayload(ctx, format, payload, max)
	if errors.Is(err, errNoUnpacker) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("unpack %s kernel payload: %w", format, err)
	}
	if uint32(len(vmlinux)) != size {
		return nil, "", fmt.Errorf("unpack %s kernel payload: %d bytes, the bzImage says %d", format, len(vmlinux), size)
	}
	f, err := elf.NewFile(bytes.NewReader(vmlinux))
	if err != nil {
		return nil, "payload is not an ELF kernel: " + err.Error(), nil
	}
	if f.Machine != elf.EM_X86_64 || !hasPVHNote(f) {
		return nil, "no PVH entry note (kernel built without CONFIG_PVH)", nil
	}
	return vmlinux, "", nil
}

// bootKernel returns the kernel QEMU should boot for the kernel layer
// kdir: kdir/vmlinux when the layer has one, else kdir/vmlinuz. A layer
// that has neither vmlinux nor vmlinux.none yet (built before srutest
// unpacked kernels) gets one now, timed as the "unpack kernel" phase. Both
// files are written atomically, so concurrent builders of one layer at
// worst both unpack it.
func bootKernel(ctx context.Context, kdir string, max int64, tm *timer) (string, error) {
	vmlinux, vmlinuz := filepath.Join(kdir, fileVmlinux), filepath.Join(kdir, fileKernel)
	if _, err := os.Stat(vmlinux); err == nil {
		return vmlinux, nil
	}
	if _, err := os.Stat(filepath.Join(kdir, fileVmlinuxNone)); err == nil {
		return vmlinuz, nil
	}
	tm.start("unpack kernel")
	defer tm.stop()
	bz, err := os.ReadFile(vmlinuz)
	if err != nil {
		return "", &FileError{vmlinuz, "read kernel", err}
	}
	data, reason, err := pvhKernel(ctx, bz, max)
	if err != nil {
		return "", &FileError{vmlinuz, "unpack kernel", err}
	}
	if data == nil {
		return vmlinuz, writeFileAtomic(filepath.Join(kdir, fileVmlinuxNone), []byte(reason+"\n"), 0o644)
	}
	return vmlinux, writeFileAtomic(vmlinux, data, 0o644)
}

// writeFileAtomic writes data to p through a temp file in the same
// directory and a rename: readers see all of it or nothing.
func writeFileAtomic(p string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
