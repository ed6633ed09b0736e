package images

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/srutest/srutest/internal/wire"
)

// Guest files besides the agent's own (its paths are in internal/wire).
const (
	guestPasswd       = "root:x:0:0:root:/root:/bin/sh\ntcpdump:x:104:108:tcpdump:/nonexistent:/bin/false\n"
	guestGroup        = "root:x:0:\ntcpdump:x:108:\n"
	guestNsswitch     = "passwd: files\ngroup: files\nhosts: files\n"
	guestHosts        = "127.0.0.1 localhost\n::1 localhost\n"
	guestModulesPerms = 0o644
)

// initramfsSpec is everything one initramfs holds.
type initramfsSpec struct {
	Agent      string // host path of the agent binary → /init
	Tools      *toolSet
	KernelDir  string   // kernel layer dir (holds lib/modules/<rel>/…)
	Release    string   // "" when the kernel has no modules
	ModulePath []string // load order, relative to lib/modules/<rel>, plain .ko
	HostKeyPEM []byte
	ClientPub  []byte
}

// baseDirs are created in every initramfs, including the marker one.
var baseDirs = []struct {
	name string
	perm uint32
}{
	{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"tmp", 0o1777}, {"run", 0o755},
	{"var/run", 0o755}, {"root", 0o700}, {"etc", 0o755}, {"bin", 0o755}, {"sbin", 0o755},
	{"usr/bin", 0o755}, {"usr/sbin", 0o755},
}

func writeBase(cw *CPIOWriter, agent string) error {
	for _, d := range baseDirs {
		if err := cw.Dir(d.name, d.perm); err != nil {
			return err
		}
	}
	if err := cw.CharDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := cw.CharDev("dev/null", 0o666, 1, 3); err != nil {
		return err
	}
	return addHostFile(cw, "init", agent, 0o755)
}

func addHostFile(cw *CPIOWriter, guest, host string, perm uint32) error {
	f, err := os.Open(host)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("initramfs: %s is not a regular file", host)
	}
	if err := cw.File(guest, perm, f, st.Size()); err != nil {
		return fmt.Errorf("initramfs: %s: %w", guest, err)
	}
	return nil
}

// writeInitramfs writes the full guest initramfs to w.
func writeInitramfs(w io.Writer, s initramfsSpec) error {
	cw := NewCPIOWriter(w)
	if err := writeBase(cw, s.Agent); err != nil {
		return err
	}
	for _, d := range []string{"etc/iproute2", "etc/srutest"} {
		if err := cw.Dir(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range s.Tools.Files {
		if err := addHostFile(cw, strings.TrimPrefix(f.Guest, "/"), f.Host, f.Mode); err != nil {
			return err
		}
	}
	links := make([]string, 0, len(s.Tools.Links))
	for l := range s.Tools.Links {
		links = append(links, l)
	}
	sort.Strings(links)
	for _, l := range links {
		if err := cw.Symlink(strings.TrimPrefix(l, "/"), relLink(l, s.Tools.Links[l])); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		perm uint32
		data []byte
	}{
		{"etc/passwd", 0o644, []byte(guestPasswd)},
		{"etc/group", 0o644, []byte(guestGroup)},
		{"etc/nsswitch.conf", 0o644, []byte(guestNsswitch)},
		{"etc/hosts", 0o644, []byte(guestHosts)},
		{strings.TrimPrefix(wire.HostKeyPath, "/"), 0o600, s.HostKeyPEM},
		{strings.TrimPrefix(wire.AuthorizedPath, "/"), 0o644, s.ClientPub},
	}
	var list strings.Builder
	if s.Release != "" {
		relDir := path.Join("lib/modules", s.Release)
		for _, m := range s.ModulePath {
			list.WriteString("/" + path.Join(relDir, m) + "\n")
			if err := addHostFile(cw, path.Join(relDir, m), filepath.Join(s.KernelDir, filepath.FromSlash(relDir), filepath.FromSlash(m)), 0o644); err != nil {
				return err
			}
		}
		for _, meta := range []string{"modules.dep", "modules.builtin"} {
			host := filepath.Join(s.KernelDir, filepath.FromSlash(relDir), meta)
			if _, err := os.Stat(host); err == nil {
				if err := addHostFile(cw, path.Join(relDir, meta), host, 0o644); err != nil {
					return err
				}
			}
		}
	}
	files = append(files, struct {
		name string
		perm uint32
		data []byte
	}{strings.TrimPrefix(wire.ModulesListPath, "/"), guestModulesPerms, []byte(list.String())})
	for _, f := range files {
		if err := cw.Bytes(f.name, f.perm, f.data); err != nil {
			return err
		}
	}
	return cw.Close()
}

// writeMarkerInitramfs writes the bench-floor initramfs: the base dirs,
// console node and /init only.
func writeMarkerInitramfs(w io.Writer, agent string) error {
	cw := NewCPIOWriter(w)
	if err := writeBase(cw, agent); err != nil {
		return err
	}
	return cw.Close()
}
