package ubuntuarchive

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// KernelFiles is the content of a kernel: the image, and the module tree with
// modules stored uncompressed (they are recompressed per series when
// packaged).
type KernelFiles struct {
	// Release is the kernel release the image reports (uname -r) and thus
	// the directory under lib/modules/ the modules must live in. For a
	// repackaged Debian kernel this stays the Debian release (e.g.
	// 6.1.0-56-cloud-amd64) even though the packages get Ubuntu names.
	Release string
	Vmlinuz []byte
	Config  []byte
	// Modules maps paths relative to lib/modules/<Release>/ ending in
	// ".ko" (e.g. kernel/drivers/net/veth.ko) to uncompressed ELF bytes.
	Modules map[string][]byte
	// Meta maps other files of lib/modules/<Release>/ (modules.order,
	// modules.builtin, modules.builtin.modinfo) to their bytes.
	Meta map[string][]byte
}

// LoadKernelDebs reads a kernel from its packages: one Debian
// linux-image-*.deb (e.g. linux-image-6.1.0-56-cloud-amd64-unsigned), or an
// Ubuntu image deb with its linux-modules(-extra) debs. It takes
// boot/vmlinuz-<rel>, boot/config-<rel> and lib/modules/<rel>/ (or under
// usr/), decompressing .ko.xz/.ko.zst/.ko.gz modules.
func LoadKernelDebs(debPaths ...string) (*KernelFiles, error) {
	if len(debPaths) == 0 {
		return nil, fmt.Errorf("no kernel debs")
	}
	debPath := strings.Join(debPaths, ",") // for messages
	files := map[string][]byte{}
	for _, p := range debPaths {
		f, _, err := ReadDebData(p)
		if err != nil {
			return nil, err
		}
		for name, body := range f {
			files[name] = body
		}
	}
	k := &KernelFiles{Modules: map[string][]byte{}, Meta: map[string][]byte{}}
	for name, body := range files {
		name = strings.TrimPrefix(name, "usr/")
		if rel, ok := strings.CutPrefix(name, "boot/vmlinuz-"); ok {
			if k.Release != "" && k.Release != rel {
				return nil, fmt.Errorf("%s: two kernel images (%s, %s)", debPath, k.Release, rel)
			}
			k.Release, k.Vmlinuz = rel, body
		}
	}
	if k.Release == "" {
		return nil, fmt.Errorf("%s: no boot/vmlinuz-*", debPath)
	}
	prefix := "lib/modules/" + k.Release + "/"
	for name, body := range files {
		name = strings.TrimPrefix(name, "usr/")
		if name == "boot/config-"+k.Release {
			k.Config = body
		}
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		base := moduleBase(rel)
		if base == "" {
			if !strings.Contains(rel, "/") {
				k.Meta[rel] = body
			}
			continue
		}
		raw, err := decompressModule(rel, body)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", debPath, rel, err)
		}
		k.Modules[base] = raw
	}
	if len(k.Modules) == 0 {
		return nil, fmt.Errorf("%s: no modules under %s", debPath, prefix)
	}
	return k, nil
}

// moduleBase maps "x.ko", "x.ko.xz", "x.ko.zst", "x.ko.gz" to "x.ko"; ""
// for other files.
func moduleBase(p string) string {
	for _, s := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(p, s) {
			return strings.TrimSuffix(p, s) + ".ko"
		}
	}
	return ""
}

func decompressModule(name string, body []byte) ([]byte, error) {
	r, err := decompressor(name, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// SyntheticKernel is a tiny stand-in kernel for tests that exercise
// resolution and download only: a fake image and minimal ELF modules whose
// .modinfo carries real-looking dependencies (virtio_net → net_failover →
// failover; tcp_diag and mptcp_diag → inet_diag).
func SyntheticKernel(release string) *KernelFiles {
	mod := func(name, depends string) []byte { return fakeModule(name, depends) }
	return &KernelFiles{
		Release: release,
		Vmlinuz: []byte("not a real kernel: " + release + "\n"),
		Config:  []byte("CONFIG_MPTCP=y\nCONFIG_INET_MPTCP_DIAG=m\nCONFIG_VETH=m\n"),
		Modules: map[string][]byte{
			"kernel/drivers/net/virtio_net.ko":   mod("virtio_net", "net_failover"),
			"kernel/drivers/net/net_failover.ko": mod("net_failover", "failover"),
			"kernel/net/core/failover.ko":        mod("failover", ""),
			"kernel/drivers/net/veth.ko":         mod("veth", ""),
			"kernel/net/ipv4/inet_diag.ko":       mod("inet_diag", ""),
			"kernel/net/ipv4/tcp_diag.ko":        mod("tcp_diag", "inet_diag"),
			"kernel/net/mptcp/mptcp_diag.ko":     mod("mptcp_diag", "inet_diag"),
			"kernel/net/sched/sch_netem.ko":      mod("sch_netem", ""),
		},
		Meta: map[string][]byte{"modules.builtin": []byte("kernel/net/mptcp/mptcp.ko\n")},
	}
}

// fakeModule builds a minimal relocatable x86-64 ELF with a .modinfo
// section, enough for anything that reads module metadata.
func fakeModule(name, depends string) []byte {
	modinfo := []byte("name=" + name + "\x00depends=" + depends + "\x00license=GPL\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	off := uint64(ehsize)
	modOff, strOff := off, off+uint64(len(modinfo))
	shOff := strOff + uint64(len(shstr))
	shOff = (shOff + 7) &^ 7
	var b bytes.Buffer
	le := func(v any) {
		switch x := v.(type) {
		case uint16:
			b.Write([]byte{byte(x), byte(x >> 8)})
		case uint32:
			b.Write([]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24)})
		case uint64:
			for i := 0; i < 8; i++ {
				b.WriteByte(byte(x >> (8 * i)))
			}
		}
	}
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le(uint16(elf.ET_REL))
	le(uint16(elf.EM_X86_64))
	le(uint32(1))
	le(uint64(0)) // entry
	le(uint64(0)) // phoff
	le(shOff)
	le(uint32(0))
	le(uint16(ehsize))
	le(uint16(0)) // phentsize
	le(uint16(0)) // phnum
	le(uint16(shentsize))
	le(uint16(3)) // shnum
	le(uint16(2)) // shstrndx
	b.Write(modinfo)
	b.Write(shstr)
	for uint64(b.Len()) < shOff {
		b.WriteByte(0)
	}
	sh := func(name uint32, typ elf.SectionType, offset, size uint64) {
		le(name)
		le(uint32(typ))
		le(uint64(0)) // flags
		le(uint64(0)) // addr
		le(offset)
		le(size)
		le(uint32(0)) // link
		le(uint32(0)) // info
		le(uint64(1)) // align
		le(uint64(0)) // entsize
	}
	sh(0, elf.SHT_NULL, 0, 0)
	sh(1, elf.SHT_PROGBITS, modOff, uint64(len(modinfo)))
	sh(10, elf.SHT_STRTAB, strOff, uint64(len(shstr)))
	return b.Bytes()
}

// modinfoDepends reads the depends= entry of a module's .modinfo section.
func modinfoDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var out []string
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					out = append(out, d)
				}
			}
			return out, nil
		}
	}
	return nil, nil
}

// modulesDep renders modules.dep for the module tree as packaged (paths
// with their final suffix), computed from each module's .modinfo depends=,
// as depmod would: "<path>: <dep> <dep-of-dep> …", every transitive
// dependency listed once, dependents before what they depend on (modprobe
// loads the list from the end).
func modulesDep(k *KernelFiles, suffix string) ([]byte, error) {
	byName := map[string]string{} // module name → packaged path
	for p := range k.Modules {
		byName[modName(p)] = p + strings.TrimPrefix(suffix, ".ko")
	}
	direct := map[string][]string{}
	for p, ko := range k.Modules {
		deps, err := modinfoDepends(ko)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, d := range deps {
			if _, ok := byName[strings.ReplaceAll(d, "-", "_")]; !ok {
				return nil, fmt.Errorf("%s depends on %s, which is not in the tree", p, d)
			}
			direct[modName(p)] = append(direct[modName(p)], strings.ReplaceAll(d, "-", "_"))
		}
	}
	paths := make([]string, 0, len(k.Modules))
	for p := range k.Modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out bytes.Buffer
	for _, p := range paths {
		// Reverse DFS post-order: every module precedes its dependencies.
		var post []string
		state := map[string]int{} // 1 visiting, 2 done
		var visit func(string) error
		visit = func(m string) error {
			switch state[m] {
			case 1:
				return fmt.Errorf("%s: dependency loop at %s", p, m)
			case 2:
				return nil
			}
			state[m] = 1
			for _, d := range direct[m] {
				if err := visit(d); err != nil {
					return err
				}
			}
			state[m] = 2
			post = append(post, m)
			return nil
		}
		if err := visit(modName(p)); err != nil {
			return nil, err
		}
		var order []string
		for i := len(post) - 2; i >= 0; i-- { // last is the module itself
			order = append(order, post[i])
		}
		out.WriteString(byName[modName(p)] + ":")
		for _, d := range order {
			out.WriteString(" " + byName[d])
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

func modName(p string) string {
	return strings.ReplaceAll(strings.TrimSuffix(path.Base(p), ".ko"), "-", "_")
}

// compressModule encodes a module for the given suffix (".ko" or ".ko.zst").
func compressModule(raw []byte, suffix string, enc *zstd.Encoder) []byte {
	if suffix == ".ko.zst" {
		return enc.EncodeAll(raw, nil)
	}
	return raw
}
