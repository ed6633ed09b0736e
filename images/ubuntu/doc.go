// Package ubuntu resolves and fetches Ubuntu kernels from an Ubuntu archive
// (or a mirror of it), verifying every byte on the way:
//
//	dists/<dist>/InRelease   OpenPGP clearsigned, checked against a keyring
//	                         (default: the embedded Ubuntu archive key)
//	main/binary-amd64/Packages.xz   SHA256 + size from InRelease (by-hash
//	                         when the Release file offers Acquire-By-Hash)
//	pool/…/*.deb             SHA256 + size from Packages, checked while
//	                         streaming; resumed, retried, parallel
//
// A kernel is chosen by a Query (series, pocket, flavour, and either a meta
// package such as linux-image-virtual or an exact ABI such as 6.8.0-87). The
// meta package's Depends name the concrete linux-image-<abi>-<flavour>; the
// ABI then selects linux-image-unsigned-<abi>-<flavour> (or the signed
// linux-image-<abi>-<flavour>), linux-modules-<abi>-<flavour> and, when the
// modules srutest needs live there, linux-modules-extra-<abi>-<flavour>.
// Where those modules live is read from the archive's Contents index when the
// Release file lists one (an optional index: when it cannot be fetched whole,
// a warning says so and the table decides), and otherwise from a table keyed
// by kernel version, flavour and source (ModuleLayouts in modules.go; see
// docs/ubuntu-series.md). A series gone from the archive (end of life) is
// looked up on the old-releases archive, and the resolution says so.
//
// The package owns only resolution and download; turning debs into a guest
// image is the images package's job. It does not import images: cmd wires
// (*Resolver).Resolve in as the "ubuntu:" kernel source.
//
// Environment:
//
//	SRUTEST_UBUNTU_ARCHIVE  replaces the archive URL of every query (mirrors,
//	                        test archives); same effect as WithMirror.
//	SRUTEST_UBUNTU_OLD_RELEASES  replaces the old-releases archive URL
//	                        (default http://old-releases.ubuntu.com/ubuntu);
//	                        "off" disables the fallback.
package ubuntu
