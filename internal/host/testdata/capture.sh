#!/usr/bin/env bash
# capture.sh <dir> — record what the host package asks apt-cache (Ubuntu
# hosts) into <dir>/: madison.txt, show-linux-image-virtual.txt,
# show-linux-source.txt. Run on the host (or with APT_CONFIG pointing at a
# private apt state for another series); copy its os-release in by hand.
set -euo pipefail
dir=$1
mkdir -p "$dir"
export LC_ALL=C
apt-cache show linux-image-virtual >"$dir/show-linux-image-virtual.txt"
apt-cache show linux-source >"$dir/show-linux-source.txt"
abis=$(grep -oE 'linux-image-[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-generic' "$dir/show-linux-image-virtual.txt" | sed -E 's/linux-image-(.*)-generic/\1/' | sort -u)
pkgs=(linux-image-virtual)
for a in $abis; do
	pkgs+=("linux-image-unsigned-$a-generic" "linux-image-$a-generic" "linux-modules-$a-generic" "linux-modules-extra-$a-generic")
done
apt-cache madison "${pkgs[@]}" >"$dir/madison.txt"
# policy/<host>-<pkg>.txt (install-deps' tests) are `LC_ALL=C apt-cache
# policy <pkg>` on that host: a candidate (bookworm linux-source-6.12), no
# candidate (noble chromium: "Candidate: (none)"), unknown (noble
# linux-source-6.12: empty).
