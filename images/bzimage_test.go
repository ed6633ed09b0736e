package images

import (
	"errors"
	"testing"
)

func TestBzImageRelease(t *testing.T) {
	head := readTestdata(t, "vmlinuz-6.1.0-56-cloud-amd64.head")
	rel, err := BzImageRelease(head)
	if err != nil || rel != "6.1.0-56-cloud-amd64" {
		t.Fatalf("%q %v", rel, err)
	}
	bad := func(mut func(b []byte) []byte) []byte {
		return mut(append([]byte(nil), head...))
	}
	for name, b := range map[string][]byte{
		"short":        head[:0x100],
		"no HdrS":      bad(func(b []byte) []byte { b[0x202] = 'X'; return b }),
		"zero pointer": bad(func(b []byte) []byte { b[0x20E], b[0x20F] = 0, 0; return b }),
		"past end":     head[:0x44c0],
		"unterminated": head[:0x44c0+10],
		"binary":       bad(func(b []byte) []byte { b[0x44c0] = 0x01; return b }),
	} {
		if _, err := BzImageRelease(b); !errors.Is(err, ErrNotBzImage) {
			t.Errorf("%s: err = %v, want ErrNotBzImage", name, err)
		}
	}
}

func FuzzBzImageRelease(f *testing.F) {
	f.Add(readTestdata(f, "vmlinuz-6.1.0-56-cloud-amd64.head"))
	f.Fuzz(func(t *testing.T, data []byte) {
		BzImageRelease(data)
	})
}
