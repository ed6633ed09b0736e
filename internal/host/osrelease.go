package host

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OSRelease is the part of os-release(5) srutest reads.
type OSRelease struct {
	ID         string   // "debian", "ubuntu", …
	IDLike     []string // ID_LIKE, e.g. [ubuntu debian] on Linux Mint
	VersionID  string   // "24.04", "12"
	Codename   string   // VERSION_CODENAME, "noble", "bookworm"
	Ubuntu     string   // UBUNTU_CODENAME (Ubuntu and its derivatives)
	PrettyName string
}

// ParseOSRelease reads os-release(5) text: KEY=value lines, values optionally
// in shell quotes; comments and lines that do not parse are skipped, as
// systemd does.
func ParseOSRelease(b []byte) OSRelease {
	var o OSRelease
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = unquote(v)
		switch k {
		case "ID":
			o.ID = strings.ToLower(v)
		case "ID_LIKE":
			o.IDLike = strings.Fields(strings.ToLower(v))
		case "VERSION_ID":
			o.VersionID = v
		case "VERSION_CODENAME":
			o.Codename = v
		case "UBUNTU_CODENAME":
			o.Ubuntu = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}

// unquote removes one level of shell quoting ("…" with backslash escapes, or
// '…'); anything else is returned as is.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	return v
}

// Distro names the distribution families srutest knows.
type Distro string

const (
	Debian Distro = "debian"
	Ubuntu Distro = "ubuntu"
)

// Distro returns the family and series srutest treats this host as: Ubuntu
// (ID ubuntu, or a derivative naming its Ubuntu base in UBUNTU_CODENAME) or
// Debian (ID debian); "" for anything else.
func (o OSRelease) Distro() (Distro, string) {
	switch {
	case o.ID == "ubuntu":
		s := o.Codename
		if s == "" {
			s = o.Ubuntu
		}
		return Ubuntu, s
	case o.Ubuntu != "":
		return Ubuntu, o.Ubuntu
	case o.ID == "debian":
		return Debian, o.Codename
	}
	return "", ""
}

// String is the one-line name of the host, e.g. "Ubuntu 24.04.3 LTS".
func (o OSRelease) String() string {
	if o.PrettyName != "" {
		return o.PrettyName
	}
	if o.ID == "" {
		return "unknown OS"
	}
	return strings.TrimSpace(o.ID + " " + o.VersionID)
}

// ReadOSRelease reads $SRUTEST_OS_RELEASE, else /etc/os-release, else
// /usr/lib/os-release.
func ReadOSRelease() (OSRelease, string, error) {
	paths := []string{"/etc/os-release", "/usr/lib/os-release"}
	if p := os.Getenv("SRUTEST_OS_RELEASE"); p != "" {
		paths = []string{p}
	}
	var firstErr error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			return ParseOSRelease(b), p, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return OSRelease{}, "", fmt.Errorf("read os-release: %w", firstErr)
}
