#!/usr/bin/env bash
# Installs what srutest needs on a Debian/Ubuntu host: QEMU, the guest tools
# copied into every initramfs (busybox-static, iproute2, tcpdump), and the
# build/test toolchain bits. Idempotent; uses sudo when not root.
#
#   --kernel-build  also what scripts/build-kernel.sh needs to build the
#                   negative-control kernel from Debian's linux-source-6.12
#                   (make test runs that end-to-end test)
#   --selftests     also what the kernel's net/mptcp selftests call in the
#                   guest, copied from the host (selftests/payload.go): bash,
#                   tc, iptables, nft, ethtool, ps/sysctl, GNU tools; and
#                   linux-source-6.12 to build them from
set -euo pipefail
pkgs=(qemu-system-x86 busybox-static iproute2 tcpdump cpio ca-certificates gcc libc6-dev make git xz-utils zstd kmod)
# make lint-deploy: actionlint checks the workflows' run: scripts with it.
pkgs+=(shellcheck)
for arg in "$@"; do
	case "$arg" in
	--kernel-build) pkgs+=(linux-source-6.12 bc bison flex perl patch util-linux binutils libelf-dev pkg-config) ;;
	--selftests) pkgs+=(linux-source-6.12 bash iproute2 iptables nftables ethtool procps coreutils diffutils findutils grep sed mawk) ;;
	*)
		echo "usage: $0 [--kernel-build] [--selftests]" >&2
		exit 2
		;;
	esac
done
# make deps-test: the e2e tests look at the HTML report in headless Chromium.
for arg in "$@"; do [ "$arg" = --kernel-build ] && pkgs+=(chromium); done
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
	echo "install-deps: Go ≥ 1.26 is required (https://go.dev/dl/)" >&2
	exit 1
fi
