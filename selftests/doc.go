// Package selftests owns the kernel's own kselftests as srutest cells: it
// builds a target's binaries from a kernel source (tarball, linux-source
// .deb or tree) once per source into a content-addressed cache
// (<cache>/selftests/<key>), packs what the scripts need from the host
// (bash, tc, iptables, nft, ethtool, ps and their ELF libraries) into a
// payload pushed over SFTP at run time — the base initramfs stays as it
// is, so the boot of the normal scenarios does not pay for it — runs one
// script the kselftest way (exit 4 = SKIP, per-script timeout) and parses
// its TAP/KTAP output into subtests.
//
// It knows neither QEMU nor the runner: a script runs on anything that
// satisfies scenarios.Guest, and the result is a report.Cell.
package selftests
