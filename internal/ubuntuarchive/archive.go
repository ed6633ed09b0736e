// Package ubuntuarchive builds, on disk, a small archive in the Ubuntu
// layout (dists/<series>{,-updates,-proposed}/InRelease signed with a test
// key, main/binary-amd64/Packages{,.gz,.xz} + by-hash, Contents-amd64.gz,
// pool/main/l/<source>/*.deb, meta packages) and serves it on 127.0.0.1 with
// optional fault injection; series past end of life are published under
// old-releases/ instead (Options.EndOfLife). It exists for tests: the
// images/ubuntu unit tests and the end-to-end test that boots kernels
// resolved from it.
//
// Kernels come either from SyntheticKernel (tiny fake files, for resolution
// and download tests) or from LoadKernelDebs: a real kernel (a Debian
// linux-image-*-unsigned .deb, or an Ubuntu kernel's image and modules debs)
// repackaged under Ubuntu names —
// linux-image-unsigned-<abi>-<flavour> (boot/vmlinuz-<abi>-<flavour>),
// linux-modules-<abi>-<flavour> (boot/config-…, lib/modules/…) and
// linux-modules-extra-<abi>-<flavour> (by default kernel/net/mptcp/, where
// Ubuntu's generic inclusion list puts mptcp_diag) — with modules
// recompressed as the series does (.ko.zst from mantic on, plain .ko on
// jammy) and a modules.dep written for the new file names.
//
// Naming caveat, on purpose: the release string compiled into a Debian
// vmlinuz stays Debian's (e.g. 6.1.0-56-cloud-amd64), and the kernel looks
// for its modules in lib/modules/<that release>/. So the repackaged debs
// keep the module directory = the real kernel release, while package names,
// the vmlinuz file name and versions follow the Ubuntu scheme from the ABI
// given (e.g. linux-modules-6.8.0-87-generic, 6.8.0-87.88). Consumers must
// take the module directory from the deb contents, not from the package
// name. On the real archive both agree (lib/modules/6.8.0-87-generic/).
package ubuntuarchive

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Kernel is one kernel upload to publish.
type Kernel struct {
	Series  string // e.g. noble
	Pocket  string // release, updates, proposed, security, backports
	ABI     string // e.g. 6.8.0-87
	Upload  string // upload number: version <ABI>.<Upload>, e.g. 88
	Version string // full version; overrides ABI.Upload (e.g. 6.8.0-87.88~22.04.1)
	Flavour string // default generic
	Source  string // source package, default linux
	// Metas are the meta packages published pointing at this kernel (none:
	// a -proposed upload of the kernel alone). A name containing
	// "-generic" also depends on linux-modules-extra, as on the archive.
	Metas []string
	// Signed publishes linux-image-<abi>-<flavour> (source linux-signed)
	// instead of linux-image-unsigned-<abi>-<flavour>.
	Signed bool
	// Files is the content (SyntheticKernel or LoadKernelDebs).
	Files *KernelFiles
	// ModuleSuffix is ".ko" or ".ko.zst"; default by series (jammy .ko,
	// others .ko.zst).
	ModuleSuffix string
	// ExtraDirs are module directories (relative to lib/modules/<rel>/)
	// that go to linux-modules-extra; default kernel/net/mptcp/. Empty
	// slice (non-nil) publishes no extra package.
	ExtraDirs []string
	// Changelog, when set, ships in the image package as
	// usr/share/doc/<image package>/changelog.Debian.gz (as on the archive).
	Changelog []byte
}

// Options controls Build.
type Options struct {
	Kernels []Kernel
	// Sources are linux-source-<x.y.z> uploads (see SourcePackage).
	Sources []SourcePackage
	// Dists to publish even without kernels (e.g. "noble-security").
	// Every series with a kernel gets <series>, -updates and -proposed.
	Dists []string
	// Key signs InRelease; nil generates one (ed25519).
	Key *openpgp.Entity
	// NoByHash leaves out Acquire-By-Hash and the by-hash tree.
	NoByHash bool
	// NoContents leaves out Contents-amd64.gz.
	NoContents bool
	// OmitModulesDep leaves modules.dep out of linux-modules (the real
	// archive's debs are believed not to ship it: depmod runs at install).
	OmitModulesDep bool
	// Date stamps the Release files (default: a fixed date).
	Date time.Time
	// EndOfLife lists series that have left the archive: their dists and
	// pool files are published under <Root>/old-releases/ (served at
	// <URL>/old-releases, the stand-in for old-releases.ubuntu.com), and
	// the main archive answers 404 for them, as archive.ubuntu.com does.
	EndOfLife []string
}

// OldReleasesDir is the directory under Root (and the URL path under the
// server's root) of the old-releases stand-in.
const OldReleasesDir = "old-releases"

// Archive is a built archive tree.
type Archive struct {
	Root string // served directory (the archive root URL maps here)
	// Keyring holds the public test key; KeyringPath is the same as a
	// binary keyring file (outside Root).
	Keyring     openpgp.EntityList
	KeyringPath string
	Key         *openpgp.Entity // private signing key, for re-signing in tests
	// Debs lists every published .deb by package name → path under Root.
	Debs map[string]string
	// Dists lists the dist names published.
	Dists []string
}

type pub struct {
	control  string // without Filename/Size/hashes
	name     string
	version  string
	filename string
	data     []byte
	contents []string // data file paths
	section  string
}

// Build writes an archive under dir/archive and a keyring at
// dir/test-archive-keyring.gpg.
func Build(dir string, opts Options) (*Archive, error) {
	a := &Archive{Root: filepath.Join(dir, "archive"), KeyringPath: filepath.Join(dir, "test-archive-keyring.gpg"), Debs: map[string]string{}}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = NewTestKey(); err != nil {
			return nil, err
		}
	}
	a.Key = key
	var pubKey bytes.Buffer
	if err := key.Serialize(&pubKey); err != nil {
		return nil, fmt.Errorf("serialize test key: %w", err)
	}
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(pubKey.Bytes()))
	if err != nil {
		return nil, err
	}
	a.Keyring = ring
	if err := os.MkdirAll(a.Root, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(a.KeyringPath, pubKey.Bytes(), 0o644); err != nil {
		return nil, err
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	defer enc.Close()

	byDist := map[string][]pub{}
	distSet := map[string]bool{}
	for _, d := range opts.Dists {
		distSet[d] = true
	}
	for i := range opts.Kernels {
		k := opts.Kernels[i]
		pubs, err := kernelPackages(&k, opts, enc)
		if err != nil {
			return nil, fmt.Errorf("kernel %s %s: %w", k.Series, k.ABI, err)
		}
		dist := distName(k.Series, k.Pocket)
		for _, s := range []string{"", "-updates", "-proposed"} {
			distSet[k.Series+s] = true
		}
		byDist[dist] = append(byDist[dist], pubs...)
		for _, p := range pubs {
			full := filepath.Join(rootFor(a.Root, k.Series, opts), filepath.FromSlash(p.filename))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(full, p.data, 0o644); err != nil {
				return nil, err
			}
			a.Debs[p.name] = full
		}
	}
	for _, sp := range opts.Sources {
		p, err := sourcePackage(sp)
		if err != nil {
			return nil, err
		}
		dist := distName(sp.Series, sp.Pocket)
		distSet[dist] = true
		byDist[dist] = append(byDist[dist], p)
		full := filepath.Join(a.Root, filepath.FromSlash(p.filename))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, p.data, 0o644); err != nil {
			return nil, err
		}
		a.Debs[p.name+"_"+p.version] = full
	}
	for d := range distSet {
		a.Dists = append(a.Dists, d)
	}
	sort.Strings(a.Dists)
	for _, d := range a.Dists {
		series, _, _ := strings.Cut(d, "-")
		if err := writeDist(rootFor(a.Root, series, opts), d, byDist[d], opts, date, key); err != nil {
			return nil, fmt.Errorf("dist %s: %w", d, err)
		}
	}
	return a, nil
}

// rootFor is the archive root a series is published under.
func rootFor(root, series string, opts Options) string {
	for _, s := range opts.EndOfLife {
		if s == series {
			return filepath.Join(root, OldReleasesDir)
		}
	}
	return root
}

func distName(series, pocket string) string {
	if pocket == "" || pocket == "release" {
		return series
	}
	return series + "-" + pocket
}

// kernelPackages builds the debs (and control text) of one kernel upload.
func kernelPackages(k *Kernel, opts Options, enc *zstd.Encoder) ([]pub, error) {
	if k.Files == nil {
		return nil, fmt.Errorf("no Files")
	}
	if k.Flavour == "" {
		k.Flavour = "generic"
	}
	if k.Source == "" {
		k.Source = "linux"
	}
	if k.Version == "" {
		if k.Upload == "" {
			return nil, fmt.Errorf("need Upload or Version")
		}
		k.Version = k.ABI + "." + k.Upload
	}
	if k.ModuleSuffix == "" {
		k.ModuleSuffix = ".ko.zst"
		if k.Series == "jammy" {
			k.ModuleSuffix = ".ko"
		}
	}
	if k.ExtraDirs == nil {
		k.ExtraDirs = []string{"kernel/net/mptcp/"}
	}
	rel := k.ABI + "-" + k.Flavour
	modRoot := "lib/modules/" + k.Files.Release + "/"
	inExtra := func(p string) bool {
		for _, d := range k.ExtraDirs {
			if strings.HasPrefix(p, d) {
				return true
			}
		}
		return false
	}
	image := map[string][]byte{"boot/vmlinuz-" + rel: k.Files.Vmlinuz}
	mods := map[string][]byte{}
	extra := map[string][]byte{}
	if k.Files.Config != nil {
		mods["boot/config-"+rel] = k.Files.Config
	}
	for p, raw := range k.Files.Modules {
		dst := modRoot + strings.TrimSuffix(p, ".ko") + k.ModuleSuffix
		body := compressModule(raw, k.ModuleSuffix, enc)
		if inExtra(p) {
			extra[dst] = body
		} else {
			mods[dst] = body
		}
	}
	for n, b := range k.Files.Meta {
		mods[modRoot+n] = b
	}
	if !opts.OmitModulesDep {
		dep, err := modulesDep(k.Files, k.ModuleSuffix)
		if err != nil {
			return nil, fmt.Errorf("modules.dep: %w", err)
		}
		mods[modRoot+"modules.dep"] = dep
	}

	imgName, imgSource := "linux-image-unsigned-"+rel, k.Source
	if k.Signed {
		imgName, imgSource = "linux-image-"+rel, strings.Replace(k.Source, "linux", "linux-signed", 1)
	}
	modsName, extraName := "linux-modules-"+rel, "linux-modules-extra-"+rel
	if k.Changelog != nil {
		gz, err := gzipBytes(k.Changelog)
		if err != nil {
			return nil, err
		}
		image["usr/share/doc/"+imgName+"/changelog.Debian.gz"] = gz
	}
	var out []pub
	add := func(name, source, depends, desc string, files map[string][]byte) error {
		var buf bytes.Buffer
		ctl := control(name, k.Version, source, depends, desc, files)
		if err := WriteDeb(&buf, ctl, files); err != nil {
			return err
		}
		out = append(out, pub{
			control:  ctl,
			name:     name,
			version:  k.Version,
			filename: fmt.Sprintf("pool/main/l/%s/%s_%s_amd64.deb", source, name, k.Version),
			data:     buf.Bytes(),
			contents: sortedKeys(files),
			section:  "kernel",
		})
		return nil
	}
	if err := add(imgName, imgSource, "linux-base (>= 4.5ubuntu1~16.04.1), "+modsName,
		"Linux kernel image for version "+k.ABI+" on 64 bit x86 SMP\n This package contains the Linux kernel image for version "+k.ABI+" on\n 64 bit x86 SMP.\n .\n Built for srutest tests (repackaged, not a Canonical build).", image); err != nil {
		return nil, err
	}
	if err := add(modsName, k.Source, "", "Linux kernel extra modules for version "+k.ABI+"\n Contains the corresponding System.map file, the modules built by the\n packager, and scripts that try to ensure that the system is not left\n in an unbootable state after an update.", mods); err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		if err := add(extraName, k.Source, modsName, "Linux kernel extra modules for version "+k.ABI+" on 64 bit x86 SMP\n This package contains the Linux kernel extra modules for version "+k.ABI+".", extra); err != nil {
			return nil, err
		}
	}
	for _, m := range k.Metas {
		deps := "linux-image-" + rel
		if strings.Contains(m, "-generic") && len(extra) > 0 {
			deps += ", " + extraName + ", linux-firmware, intel-microcode, amd64-microcode"
		}
		metaVersion := strings.Replace(k.Version, "-", ".", 1)
		var buf bytes.Buffer
		ctl := control(m, metaVersion, "linux-meta", deps, "Virtual Linux kernel image\n This package will always depend on the latest kernel image.", nil)
		if err := WriteDeb(&buf, ctl, map[string][]byte{"usr/share/doc/" + m + "/copyright": []byte("srutest test meta package\n")}); err != nil {
			return nil, err
		}
		out = append(out, pub{control: ctl, name: m, version: metaVersion,
			filename: fmt.Sprintf("pool/main/l/linux-meta/%s_%s_amd64.deb", m, metaVersion), data: buf.Bytes(), section: "kernel"})
	}
	// The signed image package exists alongside its signed binary; publish
	// it so lookups for linux-image-<abi>-<flavour> (meta Depends) resolve.
	return out, nil
}

func control(name, version, source, depends, desc string, files map[string][]byte) string {
	var size int
	for _, b := range files {
		size += len(b)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "Package: %s\nArchitecture: amd64\nVersion: %s\nPriority: optional\nSection: kernel\n", name, version)
	if source != name {
		fmt.Fprintf(&s, "Source: %s\n", source)
	}
	fmt.Fprintf(&s, "Maintainer: Ubuntu Kernel Team <kernel-team@lists.ubuntu.com>\nInstalled-Size: %d\n", (size+1023)/1024)
	if depends != "" {
		fmt.Fprintf(&s, "Depends: %s\n", depends)
	}
	fmt.Fprintf(&s, "Description: %s\n", desc)
	return s.String()
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeDist writes Packages{,.gz,.xz}, Contents-amd64.gz, by-hash copies
// and the signed InRelease (plus Release and Release.gpg-less twin) of one
// dist.
func writeDist(root, dist string, pubs []pub, opts Options, date time.Time, key *openpgp.Entity) error {
	distDir := filepath.Join(root, "dists", dist)
	sort.Slice(pubs, func(i, j int) bool { return pubs[i].name < pubs[j].name })
	var pk bytes.Buffer
	for _, p := range pubs {
		md := md5.Sum(p.data)
		sh := sha256.Sum256(p.data)
		pk.WriteString(p.control)
		fmt.Fprintf(&pk, "Filename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", p.filename, len(p.data), hex.EncodeToString(md[:]), hex.EncodeToString(sh[:]))
	}
	files := map[string][]byte{"main/binary-amd64/Packages": pk.Bytes()}
	var gz bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	gw.Write(pk.Bytes())
	gw.Close()
	files["main/binary-amd64/Packages.gz"] = gz.Bytes()
	var xzb bytes.Buffer
	xw, err := xz.NewWriter(&xzb)
	if err != nil {
		return err
	}
	xw.Write(pk.Bytes())
	if err := xw.Close(); err != nil {
		return err
	}
	files["main/binary-amd64/Packages.xz"] = xzb.Bytes()
	if !opts.NoContents {
		var lines []string
		for _, p := range pubs {
			for _, f := range p.contents {
				lines = append(lines, fmt.Sprintf("%-60s %s/%s", f, p.section, p.name))
			}
		}
		sort.Strings(lines)
		var cz bytes.Buffer
		cw := gzip.NewWriter(&cz)
		for _, l := range lines {
			cw.Write([]byte(l + "\n"))
		}
		cw.Close()
		files["Contents-amd64.gz"] = cz.Bytes()
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	series, _, _ := strings.Cut(dist, "-")
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Ubuntu\nLabel: Ubuntu\nSuite: %s\nVersion: %s\nCodename: %s\nDate: %s\nArchitectures: amd64\nComponents: main\nDescription: srutest test archive (not Ubuntu)\n",
		dist, seriesVersion(series), series, date.UTC().Format(time.RFC1123))
	if !opts.NoByHash {
		rel.WriteString("Acquire-By-Hash: yes\n")
	}
	rel.WriteString("SHA256:\n")
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&rel, " %s %16d %s\n", hex.EncodeToString(sum[:]), len(files[n]), n)
	}
	for _, n := range names {
		full := filepath.Join(distDir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[n], 0o644); err != nil {
			return err
		}
		if !opts.NoByHash {
			sum := sha256.Sum256(files[n])
			bh := filepath.Join(distDir, filepath.FromSlash(path.Dir(n)), "by-hash", "SHA256", hex.EncodeToString(sum[:]))
			if err := os.MkdirAll(filepath.Dir(bh), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(bh, files[n], 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(distDir, "Release"), []byte(rel.String()), 0o644); err != nil {
		return err
	}
	signed, err := ClearSign([]byte(rel.String()), key)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(distDir, "InRelease"), signed, 0o644)
}

func seriesVersion(s string) string {
	switch s {
	case "jammy":
		return "22.04"
	case "noble":
		return "24.04"
	case "plucky":
		return "25.04"
	case "resolute":
		return "26.04"
	}
	return "0.0"
}
