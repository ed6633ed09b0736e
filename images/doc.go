// Package images turns a kernel spec into a cached, bootable guest image: a
// kernel (the unpacked vmlinux when it has a PVH entry, see vmlinux.go, else
// the vmlinuz/bzImage) plus an uncompressed newc initramfs whose /init is
// the srutest agent.
//
// Spec kinds (ParseSpec). Each kind has one file (kindapt.go, kinddeb.go,
// kinddir.go, kindbzimage.go, kindsource.go, kindresolver.go) behind one
// small interface, kernelKind, that turns a spec into the source of its
// kernel layer; Builder.Build (builder.go) only picks the kind and caches
// the kernel layer and the image layer built on it:
//
//	apt:<pkg>[,<pkg>…]    host `apt-get download` (a glob picks the newest match)
//	deb:<file|url>[,…]    local .deb files or HTTP(S) URLs; a bare *.deb path too
//	dir:<vmlinuz>,<root>  a kernel and a modules tree on disk
//	bzimage:<path>        a kernel with everything built in, no modules
//	source:<tree|tarball|kind:query>[,patch=…][,revert=…][,config=…][,localversion=…]
//	                      a minimal module-free build by kconfig's embedded
//	                      build-kernel.sh, build trees cached in kbuild/;
//	                      the tree may come from a SourceResolver
//	                      (source:ubuntu:noble)
//	ubuntu:<query>        and any other kind a registered Resolver serves
//	                      (images/ubuntu: the verified Ubuntu archive)
//
// It owns, in data-flow order:
//
//   - spec parsing (ParseSpec) and resolving a spec to its inputs; a
//     source: tree may itself come from a Resolver that is also a
//     SourceResolver (source:ubuntu:noble: linux-source-6.8.0, sourcetree.go);
//   - fetching: host `apt-get download` for apt:, HTTP(S) for deb: URLs,
//     the Resolver for its kinds; compiling for source:;
//   - .deb extraction in pure Go (ar + data.tar.{xz,zst,gz}), path-traversal
//     safe and bounded;
//   - kernel modules: modules.dep parsing, .modinfo parsing (Debian debs ship
//     no modules.dep; depmod runs in postinst), the dependency closure of the
//     modules the scenarios need, decompression of .ko.{xz,zst,gz};
//   - the initramfs: a pure-Go newc cpio writer, the agent as /init and the
//     files it reads (paths in internal/wire), host tools (busybox, ip, ss,
//     nstat, tcpdump) with their ELF shared libraries, per-image SSH keys;
//   - the two-layer content-addressed cache (kernel layer, image layer) and
//     its listing and pruning.
//
// Cache layout under Builder.CacheDir (default $XDG_CACHE_HOME/srutest):
//
//	kernels/<sha256>/   vmlinuz, lib/modules/<rel>/… (plain .ko), kernel.json,
//	                    vmlinux (vmlinuz unpacked, booted through its PVH
//	                    entry) or vmlinux.none (why the bzImage is booted)
//	images/<sha256>/    initrd.cpio, ssh keys, image.json
//	markers/<sha256>/   initrd.cpio holding only /init (bench floor)
//	debs/apt/           .deb files fetched by apt-get download
//	debs/url/<sha256>/  .deb files fetched from deb: URLs
//	debs/<kind>/        .deb files fetched by a registered Resolver
//	debs/<kind>-source/ source packages fetched by a SourceResolver
//	kbuild/             source: builds: extracted trees (src-*), O= build
//	                    trees (build-*, kept so one patch more or less
//	                    rebuilds incrementally), out-<key>/ (bzImage,
//	                    build.log) per spec, and trees/<package>/ (tarballs
//	                    taken out of source packages); .tree-<key>.lock
//	                    lets one process at a time unpack or build a tree
//	<kind>/             a Resolver's own cache (ubuntu/: signed indexes)
//	tmp/                work dirs; every entry above appears by rename only
//
// Environment:
//
//	XDG_CACHE_HOME       parent of the default cache dir
//	SRUTEST_TEST_CACHE   tests only: cache dir shared between test runs
//	                     (keeps the slow real-kernel test fast on reruns)
package images
