package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// testELF is a minimal x86-64 ELF executable with one PT_NOTE segment
// holding a note named owner of type typ (18 = XEN_ELFNOTE_PHYS32_ENTRY).
func testELF(owner string, typ uint32) []byte {
	le := binary.LittleEndian
	name := append([]byte(owner), 0)
	for len(name)%4 != 0 {
		name = append(name, 0)
	}
	var note []byte
	note = le.AppendUint32(note, uint32(len(owner)+1))
	note = le.AppendUint32(note, 8)
	note = le.AppendUint32(note, typ)
	note = append(note, name...)
	note = le.AppendUint64(note, 0x1000000)
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	le.PutUint16(h[16:], 2)  // ET_EXEC
	le.PutUint16(h[18:], 62) // EM_X86_64
	le.PutUint32(h[20:], 1)
	le.PutUint64(h[32:], 64) // e_phoff
	le.PutUint16(h[52:], 64) // e_ehsize
	le.PutUint16(h[54:], 56) // e_phentsize
	le.PutUint16(h[56:], 1)  // e_phnum
	ph := make([]byte, 56)
	le.PutUint32(ph[0:], 4)   // PT_NOTE
	le.PutUint64(ph[8:], 120) // p_offset
	le.PutUint64(ph[32:], uint64(len(note)))
	le.PutUint64(ph[40:], uint64(len(note)))
	le.PutUint64(ph[48:], 4)
	return append(append(h, ph...), note...)
}

// testBzImage wraps payload (already compressed) and the uncompressed size
// the way arch/x86/boot lays a bzImage out: setup sectors, then the
// protected-mode code holding the payload at payload_offset.
func testBzImage(payload []byte, size uint32) []byte {
	const setupSects = 2
	bz := make([]byte, (setupSects+1)*512+64)
	bz[0x1f1] = setupSects
	copy(bz[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(bz[0x206:], 0x20f)
	binary.LittleEndian.PutUint32(bz[0x248:], 64) // payload_offset
	binary.LittleEndian.PutUint32(bz[0x24c:], uint32(len(payload)+4))
	bz = append(bz, payload...)
	return binary.LittleEndian.AppendUint32(bz, size)
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return w.EncodeAll(b, nil)
}

func TestPVHKernel(t *testing.T) {
	pvh := testELF("Xen", xenNotePhys32Entry)
	other := testELF("Xen", 5) // XEN_ELFNOTE_XEN_VERSION only
	for _, tc := range []struct {
		name       string
		bz         []byte
		want       []byte
		reason     string // substring of why not, "" when want
		wantErr    bool
		wantLimitE bool
	}{
		{name: "gzip with PVH note", bz: testBzImage(gz(t, pvh), uint32(len(pvh))), want: pvh},
		{name: "zstd with PVH note", bz: testBzImage(zst(t, pvh), uint32(len(pvh))), want: pvh},
		{name: "no PVH note", bz: testBzImage(gz(t, other), uint32(len(other))), reason: "no PVH entry note"},
		{name: "lzo: no decompressor", bz: testBzImage([]byte("\x89LZO\x00\r\n\x1a\n...."), 100), reason: "no decompressor for lzo"},
		{name: "payload not ELF", bz: testBzImage(gz(t, []byte("not an elf")), 10), reason: "not an ELF"},
		{name: "not a bzImage", bz: make([]byte, 4096), reason: "no HdrS"},
		{name: "size mismatch", bz: testBzImage(gz(t, pvh), uint32(len(pvh))+1), wantErr: true},
		{name: "corrupt gzip", bz: testBzImage([]byte("\x1f\x8b\x08\x00garbage"), 100), wantErr: true},
		{name: "declared size over limit", bz: testBzImage(gz(t, pvh), 1<<30), wantErr: true, wantLimitE: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason, err := pvhKernel(context.Background(), tc.bz, 1<<20)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			var le *LimitError
			if tc.wantLimitE != errors.As(err, &le) {
				t.Errorf("limit error: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %d bytes, want %d", len(got), len(tc.want))
			}
			if !strings.Contains(reason, tc.reason) || (tc.reason == "" && reason != "") {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
		})
	}
}

// The host tools for xz (the kernel's xz payload has an x86 BCJ filter)
// and lz4 (legacy frames), where installed.
func TestPVHKernelHostTools(t *testing.T) {
	pvh := testELF("Xen", xenNotePhys32Entry)
	for _, tc := range []struct {
		tool string
		args []string
	}{
		{"xz", []string{"--format=xz", "--check=crc32", "--x86", "--lzma2", "-c"}},
		{"lz4", []string{"-l", "-c"}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool); err != nil {
				t.Skipf("%s not installed (make deps installs it)", tc.tool)
			}
			cmd := exec.Command(tc.tool, tc.args...)
			cmd.Stdin = bytes.NewReader(pvh)
			packed, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			got, reason, err := pvhKernel(context.Background(), testBzImage(packed, uint32(len(pvh))), 1<<20)
			if err != nil || !bytes.Equal(got, pvh) {
				t.Fatalf("got %d bytes, reason %q, err %v", len(got), reason, err)
			}
		})
	}
}

// bootKernel unpacks once per kernel layer and says why not when it
// cannot: the second call finds the result.
func TestBootKernel(t *testing.T) {
	pvh := testELF("Xen", xenNotePhys32Entry)
	for _, tc := range []struct {
		name, want, file string
		bz               []byte
	}{
		{"pvh", fileVmlinux, fileVmlinux, testBzImage(gz(t, pvh), uint32(len(pvh)))},
		{"bzImage only", fileKernel, fileVmlinuxNone, testBzImage(gz(t, testELF("Xen", 5)), uint32(len(testELF("Xen", 5))))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, fileKernel), tc.bz, 0o644); err != nil {
				t.Fatal(err)
			}
			var tm timer
			for i := range 2 {
				got, err := bootKernel(context.Background(), dir, 1<<20, &tm)
				if err != nil || got != filepath.Join(dir, tc.want) {
					t.Fatalf("call %d: %q, %v", i+1, got, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
				t.Error(err)
			}
			if len(tm.order) != 1 || tm.order[0] != "unpack kernel" {
				t.Errorf("phases %v: the second call must not unpack again", tm.order)
			}
		})
	}
}

func FuzzPVHKernel(f *testing.F) {
	pvh := testELF("Xen", xenNotePhys32Entry)
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(pvh)
	w.Close()
	f.Add(testBzImage(buf.Bytes(), uint32(len(pvh))))
	f.Add(testBzImage([]byte("\x28\xb5\x2f\xfd...."), 10))
	f.Fuzz(func(t *testing.T, bz []byte) {
		got, reason, err := pvhKernel(context.Background(), bz, 1<<20)
		if err == nil && got == nil && reason == "" {
			t.Fatal("neither a kernel nor a reason")
		}
		if len(got) > 1<<20 {
			t.Fatalf("%d bytes over the limit", len(got))
		}
	})
}
