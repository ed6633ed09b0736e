package ubuntu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentDownloadsShareCache: several downloads of one file into one
// cache at once — CI shards on one box — all succeed and leave exactly the
// verified file. The server ignores Range and trickles the body, so the
// transfers overlap. With the old fixed ".<name>.partial" one run renamed
// the file from under another ("rename … no such file or directory") or
// truncated it while the other verified it.
func TestConcurrentDownloadsShareCache(t *testing.T) {
	body := []byte(strings.Repeat("kernel bytes ", 20000))
	h := sha256.Sum256(body)
	sum := hex.EncodeToString(h[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	gets := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets++
		mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for i := 0; i < len(body); i += 16 << 10 {
			w.Write(body[i:min(i+16<<10, len(body))])
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Millisecond) // overlap the transfers; not a wait for anything
		}
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	dst := filepath.Join(dir, "linux-image.deb")
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &fetcher{client: srv.Client(), idle: 30 * time.Second, attempts: 2, backoff: 10 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errs[i] = f.download(ctx, srv.URL+"/linux-image.deb", dst, int64(len(body)), sum)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("download %d: %v", i, err)
		}
	}
	if ok, err := fileMatches(dst, int64(len(body)), sum); !ok {
		t.Errorf("cached file does not verify: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %q, want only the verified file", names)
	}
	if gets != 1 {
		t.Errorf("%d GETs, want 1: the others should wait for the lock and find the file", gets)
	}
}
