package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// fetched is the outcome of the resolve and fetch phases of a deb-backed
// spec: local .deb files and what the build learnt on the way.
type fetched struct {
	debs       []string
	fresh      []string // files downloaded by this build (removed if it fails)
	meta       map[string]string
	downloaded bool
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// fetchURL downloads a .deb from u into debs/url/<sha256(u)>/<name>, unless
// it is there already. The file appears by rename only after a complete
// 200 response.
func (b *Builder) fetchURL(ctx context.Context, u string) (p string, downloaded bool, err error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", false, &FileError{u, "parse URL", err}
	}
	name := path.Base(pu.Path)
	if name == "" || name == "/" || name == "." || !strings.HasSuffix(name, ".deb") {
		name = "package.deb"
	}
	sum := sha256.Sum256([]byte(u))
	dir := filepath.Join(b.cacheDir(), dirDebs, "url", hex.EncodeToString(sum[:16]))
	dst := filepath.Join(dir, name)
	if _, err := os.Stat(dst); err == nil {
		touch(dst)
		return dst, false, nil
	}
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(tmpRoot, "url-*.deb")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, &FileError{u, "download", err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false, &FileError{u, "download", err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", false, &FileError{u, "download", fmt.Errorf("HTTP %s", resp.Status)}
	}
	lim, err := DefaultLimits()
	if err != nil {
		return "", false, err
	}
	tooBig := &LimitError{File: u, What: "download size", Limit: lim.Download, Env: EnvMaxDownloadSize}
	if resp.ContentLength > lim.Download {
		return "", false, tooBig
	}
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, lim.Download+1))
	if err != nil {
		return "", false, &FileError{u, "download", err}
	}
	if n > lim.Download {
		return "", false, tooBig
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", false, &FileError{u, "download", fmt.Errorf("%w: got %d of %d bytes", ErrTruncated, n, resp.ContentLength)}
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", false, fmt.Errorf("store %s: %w", u, err)
	}
	b.logf("fetched %s (%d bytes)", u, n)
	return dst, true, nil
}

// resolveDebArgs handles deb: (files and URLs). Local files are checked for
// readability here so that the error names the path.
func (b *Builder) resolveDebArgs(ctx context.Context, args []string, tm *timer) (*fetched, error) {
	f := &fetched{meta: map[string]string{}}
	for _, a := range args {
		if isURL(a) {
			tm.start("fetch")
			p, dl, err := b.fetchURL(ctx, a)
			if err != nil {
				return f, err
			}
			if dl {
				f.fresh = append(f.fresh, p)
				f.downloaded = true
			}
			f.debs = append(f.debs, p)
			continue
		}
		tm.start("resolve")
		p, err := filepath.Abs(a)
		if err != nil {
			return f, &FileError{a, "read deb", err}
		}
		fh, err := openRegular(p)
		if errors.Is(err, ErrNotRegular) {
			return f, &FileError{a, "read deb", fmt.Errorf("%w: %w", ErrNotDeb, err)}
		}
		if err != nil {
			return f, &FileError{a, "read deb", err}
		}
		fh.Close()
		f.debs = append(f.debs, p)
	}
	return f, nil
}

// resolveApt handles apt: names → versions → cached or downloaded debs.
func (b *Builder) resolveApt(ctx context.Context, names []string, tm *timer) (*fetched, error) {
	f := &fetched{meta: map[string]string{}}
	tm.start("resolve")
	pkgs, err := b.resolveAptCached(ctx, names)
	if err != nil {
		return f, err
	}
	tm.start("fetch")
	dir := filepath.Join(b.cacheDir(), dirDebs, "apt")
	var pk []string
	for _, p := range pkgs {
		pk = append(pk, p.Name+"="+p.Version)
		if c := cachedAptDeb(dir, p); c != "" {
			touch(c)
			f.debs = append(f.debs, c)
			continue
		}
		tmpRoot, err := b.tmpRoot()
		if err != nil {
			return f, err
		}
		b.logf("apt-get download %s=%s", p.Name, p.Version)
		d, err := aptDownload(ctx, tmpRoot, dir, p)
		if err != nil {
			return f, err
		}
		f.fresh = append(f.fresh, d)
		f.downloaded = true
		f.debs = append(f.debs, d)
	}
	f.meta["packages"] = strings.Join(pk, " ")
	return f, nil
}

// resolveWith hands a spec to a registered Resolver, which downloads (and
// verifies) into debs/<kind>/.
func (b *Builder) resolveWith(ctx context.Context, kind string, r Resolver, arg string, tm *timer) (*fetched, error) {
	f := &fetched{meta: map[string]string{}}
	tm.start("fetch")
	dl := filepath.Join(b.cacheDir(), dirDebs, kind)
	before := map[string]bool{}
	if ents, err := os.ReadDir(dl); err == nil {
		for _, e := range ents {
			before[e.Name()] = true
		}
	}
	debs, meta, err := r.Resolve(ctx, arg, dl)
	if err != nil {
		return f, fmt.Errorf("%s:%s: %w", kind, arg, err)
	}
	if len(debs) == 0 {
		return f, fmt.Errorf("%s:%s: resolver returned no packages", kind, arg)
	}
	for k, v := range meta {
		f.meta[k] = v
	}
	for _, d := range debs {
		inCache := filepath.Dir(d) == filepath.Clean(dl)
		switch {
		case inCache && !before[filepath.Base(d)]:
			f.fresh = append(f.fresh, d)
			f.downloaded = true
		case inCache:
			touch(d) // last use, for Prune; files elsewhere are not ours
		}
	}
	f.debs = debs
	return f, nil
}
