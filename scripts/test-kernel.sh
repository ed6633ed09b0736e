#!/usr/bin/env bash
# test-kernel.sh — print the path of a real vmlinuz for the vm package's
# real-QEMU tests (SRUTEST_TEST_KERNEL), from the host's apt sources: the
# package `srutest host get test-kernel` names (Debian: the newest 6.1 cloud
# kernel; Ubuntu: the series' newest generic kernel, unsigned image),
# downloaded once into
# ${SRUTEST_TEST_CACHE:-~/.cache/srutest-test}/test-kernel.
# $SRUTEST is the srutest binary (default bin/srutest: make build).
set -euo pipefail
srutest=${SRUTEST:-bin/srutest}
dir="${SRUTEST_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/srutest-test}/test-kernel"
mkdir -p "$dir"
[ -x "$srutest" ] || { echo "test-kernel: $srutest not built (make build)" >&2; exit 1; }
pkg=$("$srutest" host get test-kernel) || { echo "test-kernel: no test kernel in this host's apt sources (apt-get update?)" >&2; exit 1; }
vmlinuz="$dir/${pkg%-unsigned}.vmlinuz"
if [ ! -s "$vmlinuz" ]; then
	tmp=$(mktemp -d "$dir/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 777 "$tmp" # apt downloads as _apt
	(cd "$tmp" && apt-get download -q "$pkg" >&2)
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xf - -C "$tmp" --wildcards './boot/vmlinuz-*'
	mv "$tmp"/boot/vmlinuz-* "$vmlinuz"
fi
echo "$vmlinuz"
