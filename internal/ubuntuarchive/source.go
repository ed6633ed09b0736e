package ubuntuarchive

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
)

// SourcePackage is a linux-source-<x.y.z> upload: the series' kernel tree
// as a tarball at /usr/src/<Name>/<Name><ext>, as Ubuntu ships it (a
// .tar.bz2 there; any extension build-kernel.sh can read works here).
type SourcePackage struct {
	Series  string // e.g. noble
	Pocket  string // release, updates, proposed…
	Name    string // e.g. linux-source-6.12.0
	Version string // e.g. 6.12.117-1.1
	// Tarball is the tree; TarballExt its extension (default .tar.xz).
	Tarball    []byte
	TarballExt string
	// Changelog, when set, ships as usr/share/doc/<Name>/changelog.Debian.gz.
	Changelog []byte
}

// sourcePackage builds the deb of one linux-source upload (architecture
// all, source linux).
func sourcePackage(s SourcePackage) (pub, error) {
	if s.Name == "" || s.Version == "" || len(s.Tarball) == 0 {
		return pub{}, fmt.Errorf("source package: need Name, Version and Tarball")
	}
	ext := s.TarballExt
	if ext == "" {
		ext = ".tar.xz"
	}
	files := map[string][]byte{"usr/src/" + s.Name + "/" + s.Name + ext: s.Tarball}
	if s.Changelog != nil {
		gz, err := gzipBytes(s.Changelog)
		if err != nil {
			return pub{}, err
		}
		files["usr/share/doc/"+s.Name+"/changelog.Debian.gz"] = gz
	}
	ctl := control(s.Name, s.Version, "linux", "binutils, bzip2, coreutils", "Linux kernel source for version "+s.Version+" with Ubuntu patches\n Repackaged for srutest tests (not a Canonical build).", files)
	ctl = strings.Replace(ctl, "Architecture: amd64", "Architecture: all", 1)
	var buf bytes.Buffer
	if err := WriteDeb(&buf, ctl, files); err != nil {
		return pub{}, err
	}
	return pub{control: ctl, name: s.Name, version: s.Version, data: buf.Bytes(), contents: sortedKeys(files), section: "devel",
		filename: fmt.Sprintf("pool/main/l/linux/%s_%s_all.deb", s.Name, s.Version)}, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
