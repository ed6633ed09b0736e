// Package images turns a kernel spec into a cached, bootable guest image: a
// kernel (vmlinuz/bzImage) plus an uncompressed newc initramfs whose /init is
// the srutest agent.
//
// It owns, in data-flow order:
//
//   - spec parsing (ParseSpec): apt:, deb:, dir:, bzimage:, source:, bare
//     *.deb, and kinds served by registered Resolvers (ubuntu: lives in
//     images/ubuntu); a source: tree may itself come from a Resolver that is
//     also a SourceResolver (source:ubuntu:noble: linux-source-6.8.0);
//   - fetching: host `apt-get download` for apt:, HTTP(S) for deb: URLs;
//   - .deb extraction in pure Go (ar + data.tar.{xz,zst,gz}), path-traversal
//     safe;
//   - kernel modules: modules.dep parsing, .modinfo parsing (Debian debs ship
//     no modules.dep; depmod runs in postinst), the dependency closure of the
//     modules the scenarios need, decompression of .ko.{xz,zst,gz};
//   - the initramfs: a pure-Go newc cpio writer, host tools (busybox, ip,
//     ss, nstat, tcpdump) with their ELF shared libraries, per-image SSH keys;
//   - the two-layer content-addressed cache (kernel layer, image layer) and
//     its listing and pruning.
//
// Cache layout under Builder.CacheDir (default $XDG_CACHE_HOME/srutest):
//
//	kernels/<sha256>/   vmlinuz, lib/modules/<rel>/… (plain .ko), kernel.json
//	images/<sha256>/    initrd.cpio, ssh keys, image.json
//	markers/<sha256>/   initrd.cpio holding only /init (bench floor)
//	debs/apt/           .deb files fetched by apt-get download
//	debs/url/<sha256>/  .deb files fetched from deb: URLs
//	debs/<kind>/        .deb files fetched by a registered Resolver
//	debs/<kind>-source/ source packages fetched by a SourceResolver
//	kbuild/             source: builds (kconfig/build-kernel.sh: src-*, build-*,
//	                    out-*) and trees/<package>/ (tarballs taken out of
//	                    source packages)
//	tmp/                work dirs; every entry above appears by rename only
//
// Environment:
//
//	XDG_CACHE_HOME       parent of the default cache dir
//	SRUTEST_TEST_CACHE   tests only: cache dir shared between test runs
//	                     (keeps the slow real-kernel test fast on reruns)
package images
