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
// Release file lists one, and otherwise from a per-series table (see
// modules.go and docs/ubuntu-series.md).
//
// The package owns only resolution and download; turning debs into a guest
// image is the images package's job. It does not import images: cmd wires
// (*Resolver).Resolve in as the "ubuntu:" kernel source.
//
// Environment:
//
//	SRUTEST_UBUNTU_ARCHIVE  replaces the archive URL of every query (mirrors,
//	                        test archives); same effect as WithMirror.
package ubuntu
