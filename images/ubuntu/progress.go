package ubuntu

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints "ubuntu: 12.3/45.6 MiB (27%)" lines to w, at most every
// interval, and a final line from finish. A nil *progress or nil writer is
// silent. It is an io.Writer so it can sit in an io.MultiWriter.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	done     int64
	reused   int64 // bytes found already verified on disk (not fetched)
	last     time.Time
	interval time.Duration
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total, interval: time.Second}
}

func (p *progress) Write(b []byte) (int, error) {
	p.add(int64(len(b)))
	return len(b), nil
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.w == nil || time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	p.printLocked()
}

// reuse counts a file that was already verified on disk: done, not fetched.
func (p *progress) reuse(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.reused += n
	p.mu.Unlock()
	p.add(n)
}

func (p *progress) printLocked() {
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	fmt.Fprintf(p.w, "%s: %.1f/%.1f MiB (%.0f%%)\n", p.label, float64(p.done)/(1<<20), float64(p.total)/(1<<20), pct)
}

func (p *progress) finish() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLocked()
	// Say what crossed the network: a second run should fetch nothing.
	fmt.Fprintf(p.w, "%s: %.1f MiB downloaded, %.1f MiB already in the cache\n", p.label, float64(p.done-p.reused)/(1<<20), float64(p.reused)/(1<<20))
}
