package bounded

import (
	"bytes"
	"strings"
	"testing"
)

func TestBufferKeepsHeadAndTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		head   int
		tail   int
		want   string
	}{
		{"fits", []string{"abc", "def"}, 4, 4, "abcdef"},
		{"cut", []string{"0123456789"}, 3, 3, "012\n[… 4 bytes cut by srutest: output limit 3 head + 3 tail bytes …]\n789"},
		{"many small writes wrap the tail", []string{"ab", "cd", "ef", "gh", "ij"}, 2, 3, "ab\n[… 5 bytes cut by srutest: output limit 2 head + 3 tail bytes …]\nhij"},
		{"head only", []string{"abcdef\n"}, 3, 0, "abc\n[… 4 bytes cut by srutest: output limit 3 head + 0 tail bytes …]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.head, tc.tail)
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBufferBoundedMemory: a producer that never stops (yes(1)) costs only
// head + tail bytes.
func TestBufferBoundedMemory(t *testing.T) {
	b := New(1<<10, 1<<10)
	line := []byte(strings.Repeat("y\n", 4096))
	for i := 0; i < 10000; i++ {
		b.Write(line)
	}
	if got := len(b.head) + len(b.tail); got != 2<<10 {
		t.Errorf("kept %d bytes, want %d", got, 2<<10)
	}
	if b.Total() != int64(len(line))*10000 || b.Cut() != b.Total()-2<<10 {
		t.Errorf("total %d cut %d", b.Total(), b.Cut())
	}
	if !bytes.Contains(b.Bytes(), []byte("bytes cut by srutest")) {
		t.Error("no cut marker")
	}
}

func FuzzBuffer(f *testing.F) {
	f.Add([]byte("hello world"), 3, 4, 2)
	f.Fuzz(func(t *testing.T, data []byte, head, tail, chunk int) {
		head, tail, chunk = head&63, tail&63, chunk&15+1
		b := New(head, tail)
		for i := 0; i < len(data); i += chunk {
			b.Write(data[i:min(i+chunk, len(data))])
		}
		out := b.Bytes()
		if len(data) <= head+tail {
			if !bytes.Equal(out, data) {
				t.Fatalf("kept %q, want %q", out, data)
			}
			return
		}
		if !bytes.HasPrefix(out, data[:head]) || !bytes.HasSuffix(out, data[len(data)-tail:]) {
			t.Fatalf("%q is not head %q + tail %q", out, data[:head], data[len(data)-tail:])
		}
	})
}
