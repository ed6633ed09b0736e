// Package bounded keeps output whose producer srutest does not control (a
// reproducer that prints forever, a flooding console, a chatty child
// process) in bounded memory: the first and the last bytes are kept, what
// lies between is counted and replaced by one line saying how much was cut.
package bounded

import (
	"fmt"
	"sync"
)

// Buffer is an io.Writer keeping at most Head bytes from the start and Tail
// bytes from the end of what was written. The zero value keeps nothing;
// use New. Safe for concurrent use.
type Buffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte // ring of the last tailMax bytes
	start   int    // index of the oldest byte in tail once it is full
	headMax int
	tailMax int
	total   int64
}

// New returns a Buffer keeping head + tail bytes at most.
func New(head, tail int) *Buffer {
	return &Buffer{headMax: head, tailMax: tail}
}

// Write keeps what fits in the head, then the newest bytes in the tail.
// It never fails: output past the limits is counted, not stored.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	b.total += int64(n)
	if room := b.headMax - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if b.tailMax <= 0 || len(p) == 0 {
		return n, nil
	}
	if len(p) >= b.tailMax {
		b.tail = append(b.tail[:0], p[len(p)-b.tailMax:]...)
		b.start = 0
		return n, nil
	}
	for len(p) > 0 {
		if len(b.tail) < b.tailMax {
			k := min(b.tailMax-len(b.tail), len(p))
			b.tail = append(b.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(b.tail[b.start:], p)
		b.start = (b.start + k) % b.tailMax
		p = p[k:]
	}
	return n, nil
}

// Total is the number of bytes written so far.
func (b *Buffer) Total() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// Cut is the number of bytes that were written but not kept.
func (b *Buffer) Cut() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total - int64(len(b.head)+len(b.tail))
}

// Bytes returns the head, a "[… N bytes cut …]" line when anything was
// dropped, and the tail.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]byte, 0, len(b.head)+len(b.tail)+64)
	out = append(out, b.head...)
	if cut := b.total - int64(len(b.head)+len(b.tail)); cut > 0 {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = fmt.Appendf(out, "[… %d bytes cut by srutest: output limit %d head + %d tail bytes …]\n", cut, b.headMax, b.tailMax)
	}
	out = append(out, b.tail[b.start:]...)
	out = append(out, b.tail[:b.start]...)
	return out
}

// String is Bytes as a string.
func (b *Buffer) String() string { return string(b.Bytes()) }
