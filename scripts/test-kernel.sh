#!/usr/bin/env bash
# test-kernel.sh — print the path of a real vmlinuz for the vm package's
# real-QEMU tests (SRUTEST_TEST_KERNEL): the newest Debian 6.1 cloud kernel
# from the host's apt sources, downloaded once into
# ${SRUTEST_TEST_CACHE:-~/.cache/srutest-test}/test-kernel.
set -euo pipefail
dir="${SRUTEST_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/srutest-test}/test-kernel"
mkdir -p "$dir"
pkg=$(apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' | sort -V | tail -1)
[ -n "$pkg" ] || { echo "test-kernel: no Debian 6.1 cloud kernel in apt (apt-get update?)" >&2; exit 1; }
vmlinuz="$dir/${pkg%-unsigned}.vmlinuz"
if [ ! -s "$vmlinuz" ]; then
	tmp=$(mktemp -d "$dir/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q "$pkg" >&2)
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xf - -C "$tmp" --wildcards './boot/vmlinuz-*'
	mv "$tmp"/boot/vmlinuz-* "$vmlinuz"
fi
echo "$vmlinuz"
