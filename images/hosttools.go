package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/srutest/srutest/internal/proc"
)

// hostTool is one program copied from the host into the initramfs.
type hostTool struct {
	Name    string   // for messages
	Sources []string // host paths tried in order
	Guest   string   // install path in the guest
	Links   []string // extra guest paths linking to Guest
	Package string   // Debian package that ships it
}

// HostTools are the programs every image carries. Guest paths follow
// Debian's merged-/usr layout; compatibility links cover the other common
// spellings (DESIGN names /usr/sbin/nstat, Debian installs /usr/bin/nstat).
var HostTools = []hostTool{
	{"busybox", []string{"/usr/bin/busybox", "/bin/busybox"}, "/bin/busybox", nil, "busybox-static"},
	{"ip", []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}, "/usr/sbin/ip", []string{"/sbin/ip"}, "iproute2"},
	{"ss", []string{"/usr/bin/ss", "/bin/ss", "/usr/sbin/ss"}, "/usr/bin/ss", []string{"/usr/sbin/ss"}, "iproute2"},
	{"nstat", []string{"/usr/bin/nstat", "/usr/sbin/nstat"}, "/usr/bin/nstat", []string{"/usr/sbin/nstat"}, "iproute2"},
	{"tcpdump", []string{"/usr/bin/tcpdump", "/usr/sbin/tcpdump"}, "/usr/bin/tcpdump", []string{"/usr/sbin/tcpdump"}, "tcpdump"},
}

// HostToolPath is where this host has the named tool of HostTools (the
// binary the images copy), or "" when it has none.
func HostToolPath(name string) string {
	for _, t := range HostTools {
		if t.Name != name {
			continue
		}
		for _, src := range t.Sources {
			if st, err := os.Stat(src); err == nil && st.Mode().IsRegular() {
				return src
			}
		}
	}
	return ""
}

// guestFile is a host file to place at a guest path.
type guestFile struct {
	Guest string
	Host  string // opened (symlinks followed) when writing
	Mode  uint32
}

// toolSet is everything the image takes from the host, resolved.
type toolSet struct {
	Files    []guestFile
	Links    map[string]string // guest path → target
	Applets  []string
	Digest   string // sha256 over paths, contents and applet list
	Versions map[string]string
}

// collectHostTools finds the host tools and their libraries. A missing tool
// is an ErrMissingTool error naming the apt package to install.
func collectHostTools(ctx context.Context) (*toolSet, error) {
	ts := &toolSet{Links: map[string]string{}}
	placed := map[string]bool{}
	add := func(guest, host string, mode uint32) {
		if !placed[guest] {
			placed[guest] = true
			ts.Files = append(ts.Files, guestFile{guest, host, mode})
		}
	}
	var missing []string
	var busybox string
	for _, t := range HostTools {
		src := ""
		for _, s := range t.Sources {
			if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				src = s
				break
			}
		}
		if src == "" {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", t.Name, t.Package))
			continue
		}
		add(t.Guest, src, 0o755)
		for _, l := range t.Links {
			ts.Links[l] = t.Guest
		}
		if t.Name == "busybox" {
			busybox = src
			continue
		}
		deps, err := ReadELFDeps(src, nil)
		if err != nil {
			return nil, fmt.Errorf("libraries of %s: %w", src, err)
		}
		if deps.Interp != "" {
			add(deps.Interp, deps.Interp, 0o755)
		}
		for _, l := range deps.Libs {
			add(l, l, 0o755)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrMissingTool, strings.Join(missing, ", "))
	}
	if deps, err := ReadELFDeps(busybox, nil); err != nil || deps.Interp != "" {
		return nil, fmt.Errorf("%w: %s is not a static busybox (apt-get install busybox-static)", ErrMissingTool, busybox)
	}
	applets, err := busyboxApplets(ctx, busybox)
	if err != nil {
		return nil, err
	}
	ts.Applets = applets
	for _, a := range applets {
		g := "/bin/" + a
		if a == "init" || a == "linuxrc" || placed[g] {
			continue
		}
		if _, ok := ts.Links[g]; ok {
			continue
		}
		ts.Links[g] = "busybox"
	}
	ts.Links["/bin/sh"] = "busybox"
	sort.Slice(ts.Files, func(i, j int) bool { return ts.Files[i].Guest < ts.Files[j].Guest })
	h := sha256.New()
	for _, f := range ts.Files {
		fmt.Fprintf(h, "%s %o\n", f.Guest, f.Mode)
		if err := hashFileInto(h, f.Host); err != nil {
			return nil, err
		}
	}
	var links []string
	for k, v := range ts.Links {
		links = append(links, k+" -> "+v)
	}
	sort.Strings(links)
	fmt.Fprintf(h, "links\n%s\n", strings.Join(links, "\n"))
	ts.Digest = hex.EncodeToString(h.Sum(nil))
	return ts, nil
}

// busyboxApplets asks busybox for its applet list.
func busyboxApplets(ctx context.Context, bin string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := proc.Command(ctx, time.Second, bin, "--list")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s --list: %w: %s", bin, err, strings.TrimSpace(errb.String()))
	}
	var applets []string
	for _, a := range strings.Fields(out.String()) {
		if !strings.ContainsAny(a, "/.") {
			applets = append(applets, a)
		}
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list printed no applets", bin)
	}
	sort.Strings(applets)
	return applets, nil
}

func hashFileInto(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	return nil
}

// sha256File returns the hex SHA-256 of the file at p.
func sha256File(p string) (string, error) {
	h := sha256.New()
	if err := hashFileInto(h, p); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// relLink makes a symlink target relative when it is in the same directory
// (keeps the archive tidy: /bin/sh -> busybox).
func relLink(from, to string) string {
	if !filepath.IsAbs(to) {
		return to
	}
	if filepath.Dir(from) == filepath.Dir(to) {
		return filepath.Base(to)
	}
	return to
}
