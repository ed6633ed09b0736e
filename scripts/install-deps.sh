#!/usr/bin/env bash
# Installs what srutest needs on a Debian or Ubuntu host: QEMU, the guest
# tools copied into every initramfs (busybox-static, iproute2, tcpdump), and
# the build/test toolchain bits. Idempotent; uses sudo when not root. The
# distribution comes from /etc/os-release ($SRUTEST_OS_RELEASE overrides);
# a package the host's apt sources do not carry is named, with where it
# lives, instead of leaving apt's "Unable to locate package".
#
#   --kernel-build  also what scripts/build-kernel.sh needs to build the
#                   negative-control kernel from the distribution's kernel
#                   source: Debian's linux-source-6.12, Ubuntu's linux-source
#                   (the series' GA kernel source, e.g. linux-source-6.8.0 on
#                   noble); make test runs that end-to-end test; also
#                   chromium (the e2e tests look at the HTML report headless)
#   --selftests     also what the kernel's net/mptcp selftests call in the
#                   guest, copied from the host (selftests/payload.go): bash,
#                   tc, iptables, nft, ethtool, ps/sysctl, GNU tools; and the
#                   kernel source to build them from
#   --list          print the packages this host would need (one a line,
#                   installed or not) and exit: nothing is installed
set -euo pipefail

# Package lists, per distribution where names differ. Keep one package per
# concern so merges stay line-local.
common=(qemu-system-x86 busybox-static iproute2 tcpdump cpio ca-certificates gcc libc6-dev make git xz-utils zstd lz4 kmod)
kernel_build=(bc bison flex perl patch util-linux binutils libelf-dev pkg-config bzip2)
# make lint-deploy: actionlint checks the workflows' run: scripts with it.
lint_tools=(shellcheck)
# make deps-test: the e2e tests look at the HTML report in headless Chromium.
# Debian packages it; Ubuntu ships it only as a snap (chromium-browser is a
# transitional deb running snap install, which fails where snapd cannot run:
# containers, chroots), so there the test uses a chromium snap if one is
# installed and otherwise skips the browser half, saying so.
debian_browser_tests=(chromium)
ubuntu_browser_tests=()
selftest_tools=(bash iproute2 iptables nftables ethtool procps coreutils diffutils findutils grep sed mawk)
debian_kernel_source=(linux-source-6.12)
# Ubuntu's linux-source meta package depends on the series' source package;
# its tarball is .tar.bz2.
ubuntu_kernel_source=(linux-source bzip2)
# Installed when the host's apt sources carry it, skipped (with a note)
# when not: lbzip2 unpacks Ubuntu's one-stream .tar.bz2 kernel tarballs on
# every CPU; build-kernel.sh falls back to bzip2 without it (Debian main;
# Ubuntu universe).
kernel_build_optional=(lbzip2)
# Where a package lives when the sources lack it.
declare -A debian_where=([linux-source-6.12]="bookworm-security (or bookworm-backports)")
declare -A ubuntu_where=([linux-source]="main, <series>-updates" [lbzip2]="universe")

kernel=0 selftests=0 list=0
for arg in "$@"; do
	case "$arg" in
	--kernel-build) kernel=1 ;;
	--selftests) selftests=1 ;;
	--list) list=1 ;;
	*)
		echo "usage: $0 [--kernel-build] [--selftests] [--list]" >&2
		exit 2
		;;
	esac
done

osrel=${SRUTEST_OS_RELEASE:-/etc/os-release}
[ -r "$osrel" ] || osrel=/usr/lib/os-release
ID="" UBUNTU_CODENAME="" VERSION_CODENAME="" PRETTY_NAME=""
# shellcheck disable=SC1090
. "$osrel"
if [ "$ID" = ubuntu ] || [ -n "$UBUNTU_CODENAME" ]; then
	distro=ubuntu
elif [ "$ID" = debian ]; then
	distro=debian
else
	echo "install-deps: this host is ${PRETTY_NAME:-$ID}, neither Debian nor Ubuntu: install by hand the equivalents of: ${common[*]}" >&2
	exit 1
fi

pkgs=("${common[@]}" "${lint_tools[@]}")
if ((kernel || selftests)); then
	if [ "$distro" = ubuntu ]; then
		pkgs+=("${ubuntu_kernel_source[@]}")
	else
		pkgs+=("${debian_kernel_source[@]}")
	fi
fi
if ((kernel)); then
	pkgs+=("${kernel_build[@]}" "${kernel_build_optional[@]}")
	if [ "$distro" = ubuntu ]; then
		pkgs+=("${ubuntu_browser_tests[@]}")
	else
		pkgs+=("${debian_browser_tests[@]}")
	fi
fi
((selftests)) && pkgs+=("${selftest_tools[@]}")
if ((list)); then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	absent=() install=()
	for p in "${missing[@]}"; do
		cand=$(LC_ALL=C apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
			if [ "$distro" = ubuntu ]; then
				where=${ubuntu_where[$p]:-}
			else
				where=${debian_where[$p]:-}
			fi
			where=${where:+ (in ${where//<series>/${VERSION_CODENAME:-$UBUNTU_CODENAME}})}
			if [[ " ${kernel_build_optional[*]} " == *" $p "* ]]; then
				echo "install-deps: optional $p$where not in this host's apt sources; skipped" >&2
				continue
			fi
			absent+=("$p$where")
		fi
		install+=("$p")
	done
	if ((${#absent[@]})); then
		echo "install-deps: not in this host's apt sources (${PRETTY_NAME:-$distro}):" >&2
		printf '  %s\n' "${absent[@]}" >&2
		echo "install-deps: add the component/suite to /etc/apt/sources.list(.d), then apt-get update" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${install[@]}"
fi
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
	echo "install-deps: Go ≥ 1.26 is required (https://go.dev/dl/)" >&2
	exit 1
fi
