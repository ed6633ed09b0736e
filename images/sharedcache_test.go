package images

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// TestFailedBuildKeepsGoodDebs: a build that fails for a reason other than
// the deb's own contents (here: the set has no kernel image) keeps the deb
// it downloaded — another run sharing the cache may already have it open
// or about to open it. It used to be deleted.
func TestFailedBuildKeepsGoodDebs(t *testing.T) {
	b := testBuilder(t)
	var mods []tarEntry
	for _, e := range fixtureKernelEntries(t, fixtureRelease) {
		if e.Name != "./boot/vmlinuz-"+fixtureRelease {
			mods = append(mods, e)
		}
	}
	data := makeDeb(t, "xz", "linux-modules-test", "1", mods)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	u := srv.URL + "/linux-modules-test.deb"
	if _, err := b.Build(ctxT(t), "deb:"+u); !errors.Is(err, ErrNoKernel) {
		t.Fatalf("err = %v, want ErrNoKernel", err)
	}
	p, dl, err := b.fetchURL(ctxT(t), u)
	if err != nil || dl {
		t.Errorf("the downloaded deb was not kept: downloaded again = %v, err %v", dl, err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
}
