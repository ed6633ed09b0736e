package ubuntuarchive

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way for the test server to misbehave.
type FaultKind int

const (
	// NotFound answers 404.
	NotFound FaultKind = iota
	// Corrupt serves the file with one byte flipped (at a third of its
	// length: inside the signed text of an InRelease).
	Corrupt
	// Truncate announces the full Content-Length, sends half, and closes
	// the connection.
	Truncate
	// Stall sends the headers and half the body, then sends nothing more
	// until Delay passes or the client gives up.
	Stall
	// Slow waits Delay before answering at all.
	Slow
	// ServerError answers 503.
	ServerError
)

// Fault applies Kind to requests whose URL path ends with Suffix (e.g.
// "/InRelease", "Packages.xz", ".deb"). Times > 0 limits it to the first
// Times matching requests (so a retry then succeeds).
type Fault struct {
	Suffix string
	Kind   FaultKind
	Delay  time.Duration
	Times  int
}

// Server serves an Archive on 127.0.0.1 (httptest), with faults.
type Server struct {
	*httptest.Server
	root   string
	mu     sync.Mutex
	faults []Fault
	hits   []int
	log    []string
	done   chan struct{}
}

// Serve starts a loopback HTTP server for the archive. Close it when done.
func (a *Archive) Serve() *Server {
	s := &Server{root: a.Root, done: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Close stops stalled handlers and the server.
func (s *Server) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.Server.Close()
}

// SetFaults replaces the fault list.
func (s *Server) SetFaults(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append([]Fault(nil), f...)
	s.hits = make([]int, len(f))
}

// Requests returns "METHOD path [range]" for every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Server) fault(p string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if strings.HasSuffix(p, f.Suffix) && (f.Times == 0 || s.hits[i] < f.Times) {
			s.hits[i]++
			return f, true
		}
	}
	return Fault{}, false
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
	s.mu.Unlock()
	clean := path.Clean("/" + r.URL.Path)
	full := filepath.Join(s.root, filepath.FromSlash(clean))
	f, hasFault := s.fault(clean)
	if hasFault && f.Kind == NotFound {
		http.NotFound(w, r)
		return
	}
	if hasFault && f.Kind == ServerError {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if hasFault && f.Kind == Slow {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	data, err := os.ReadFile(full)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if !hasFault || f.Kind == Slow {
		http.ServeContent(w, r, clean, time.Time{}, bytes.NewReader(data))
		return
	}
	switch f.Kind {
	case Corrupt:
		data = append([]byte(nil), data...)
		if len(data) > 0 {
			data[len(data)/3] ^= 0x01
		}
		http.ServeContent(w, r, clean, time.Time{}, bytes.NewReader(data))
	case Truncate, Stall:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if f.Kind == Stall {
			delay := f.Delay
			if delay == 0 {
				delay = time.Minute
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			case <-s.done:
			}
		}
		// Returning with fewer bytes than announced makes net/http close
		// the connection: the client sees an unexpected EOF.
	}
}
