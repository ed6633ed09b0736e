package vm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// consolePoll is how often the watcher reads new console bytes. QEMU writes
// the serial log itself (-serial file:), so the watcher tails the file; a
// read of an unchanged file costs one syscall.
const consolePoll = 10 * time.Millisecond

// maxConsoleMem bounds the console tail kept in memory (ConsoleTail and
// crash titles work from it, also after Close removed the file).
const maxConsoleMem = 1 << 20

// maxStderrMem bounds QEMU's own stderr kept in memory.
const maxStderrMem = 64 << 10

// maxConsoleFile bounds the serial log on disk: QEMU appends to it without
// limit, so a guest flooding its console (a printk loop) would fill the
// disk. Past it the guest counts as crashed ("console flood") and is
// stopped like any crashed guest. A var for tests.
var maxConsoleFile int64 = 256 << 20

// consoleWatcher tails the serial log and QEMU's stderr, records the first
// kernel crash line and the optional marker line as they appear.
type consoleWatcher struct {
	path, stderrPath string
	marker           string // a line containing it closes markerCh; "" for none

	mu        sync.Mutex
	buf       []byte // console tail
	off       int64  // console bytes consumed from the file
	scanFrom  int    // index in buf of the first byte not yet scanned as a line
	stderr    []byte
	errOff    int64
	isCrashed bool
	crashAt   time.Time
	qemuFatal string // see fatalQEMUMessage
	flooded   bool   // the console file passed maxConsoleFile

	crashCh  chan struct{}
	markerCh chan struct{}
	markerAt time.Time
	stop     chan struct{}
	done     chan struct{}
}

func newConsoleWatcher(path, stderrPath, marker string) *consoleWatcher {
	return &consoleWatcher{
		path: path, stderrPath: stderrPath, marker: marker,
		crashCh: make(chan struct{}), markerCh: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// run polls until stopped, then reads once more so nothing written before
// QEMU exited is missed.
func (w *consoleWatcher) run() {
	defer close(w.done)
	t := time.NewTicker(consolePoll)
	defer t.Stop()
	for {
		w.poll()
		select {
		case <-w.stop:
			w.poll()
			return
		case <-t.C:
		}
	}
}

// close stops the watcher after a final read; idempotent.
func (w *consoleWatcher) close() {
	w.mu.Lock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.mu.Unlock()
	<-w.done
}

// poll reads what is new in both files and scans complete console lines.
func (w *consoleWatcher) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := readFrom(w.stderrPath, &w.errOff, maxStderrMem); len(b) > 0 {
		w.stderr = appendBounded(w.stderr, b, maxStderrMem)
		if msg := fatalQEMUMessage(w.stderr); msg != "" && w.qemuFatal == "" {
			w.qemuFatal = msg
			w.markCrashed()
		}
	}
	b := readFrom(w.path, &w.off, maxConsoleMem)
	if len(b) == 0 {
		return
	}
	if w.off > maxConsoleFile && !w.flooded {
		w.flooded = true
		w.markCrashed()
	}
	w.buf = append(w.buf, b...)
	if n := len(w.buf) - maxConsoleMem; n > 0 {
		w.buf = append(w.buf[:0], w.buf[n:]...)
		w.scanFrom = max(0, w.scanFrom-n)
	}
	for {
		i := bytes.IndexByte(w.buf[w.scanFrom:], '\n')
		if i < 0 {
			return
		}
		line := w.buf[w.scanFrom : w.scanFrom+i]
		w.scanFrom += i + 1
		if isCrashLine(line) {
			w.markCrashed()
		}
		if w.marker != "" && w.markerAt.IsZero() && bytes.Contains(line, []byte(w.marker)) {
			w.markerAt = time.Now()
			close(w.markerCh)
		}
	}
}

// markCrashed closes crashCh once; w.mu is held.
func (w *consoleWatcher) markCrashed() {
	if !w.isCrashed {
		w.isCrashed, w.crashAt = true, time.Now()
		close(w.crashCh)
	}
}

// readFrom reads up to limit new bytes of path from *off on. A missing file
// (QEMU not started yet) reads as empty.
func readFrom(path string, off *int64, limit int) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(io.NewSectionReader(f, *off, int64(limit)), int64(limit)))
	*off += int64(len(b))
	return b
}

func appendBounded(buf, b []byte, limit int) []byte {
	buf = append(buf, b...)
	if len(buf) > limit {
		buf = buf[len(buf)-limit:]
	}
	return buf
}

// markedAt returns when the marker line was seen.
func (w *consoleWatcher) markedAt() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.markerAt, !w.markerAt.IsZero()
}

// crashed reports whether a crash was seen.
func (w *consoleWatcher) crashed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isCrashed
}

// crash returns the crash title, or "" when no crash was seen.
func (w *consoleWatcher) crash() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.isCrashed {
		return ""
	}
	if title, ok := ParseCrash(w.buf); ok {
		return title
	}
	if w.qemuFatal != "" {
		return w.qemuFatal
	}
	if w.flooded {
		return fmt.Sprintf("console flood: the guest wrote more than %d MiB to its console", maxConsoleFile>>20)
	}
	return "crash"
}

// tail returns the last n console lines.
func (w *consoleWatcher) tail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return tailLines(w.buf, n)
}

// report returns the crash report excerpt if a crash line is in memory,
// else the last n lines.
func (w *consoleWatcher) report(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := crashExcerpt(w.buf, crashContext, maxReport); ok {
		return s
	}
	return tailLines(w.buf, n)
}

// Crash report excerpt bounds: lines before the first crash line, total.
const (
	crashContext = 5
	maxReport    = 120
)

// stderrText returns QEMU's stderr so far.
func (w *consoleWatcher) stderrText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.stderr))
}

// fatalQEMUMessage finds a QEMU error that leaves the process alive but the
// guest dead. Matching text is forced on us: QEMU reports this only as a
// message on stderr ("KVM internal error. Suberror: 1" followed by
// "emulation failure"), after which it pauses the guest forever.
func fatalQEMUMessage(stderr []byte) string {
	if i := bytes.Index(stderr, []byte("KVM internal error")); i >= 0 {
		line, _, _ := bytes.Cut(stderr[i:], []byte("\n"))
		return crashTitle(string(line))
	}
	return ""
}
