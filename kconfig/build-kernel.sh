#!/usr/bin/env bash
# build-kernel.sh — build a bootable, module-free x86_64 bzImage for srutest
# guests from a kernel source tarball or tree, optionally with patches applied
# or commits reverted, and keep the build tree cached so that the next build
# of the same source (say, the same tree with one fix reverted) is incremental.
#
#   scripts/build-kernel.sh --source /usr/src/linux-source-6.12.tar.xz \
#       --out out/fixed
#   scripts/build-kernel.sh --source /usr/src/linux-source-6.12.tar.xz \
#       --revert kconfig/patches/648de37416b3.patch \
#       --localversion -revert648de374 --out out/reverted
#
# Layout of the cache (default ${XDG_CACHE_HOME:-~/.cache}/srutest/kbuild):
#   src-<key>/     the extracted tarball (<key>: sha256 of the tarball), kept
#                  pristine between runs: patches are applied just for the
#                  build and taken off again on exit
#   build-<key>/   the O= output tree, reused by every build of that source
#   <key>.lock     flock(1) lock: one build per source at a time
# A directory given as --source is built in place (patches are applied to it
# and taken off again); its build tree is build-<sha256 of its path>.
#
# The kernel config is `make tinyconfig` plus the fragment (default
# kconfig/mptcp-guest.config) plus `make olddefconfig`; every CONFIG_X=value
# line of the fragment must survive olddefconfig or the build stops.
# On success the path of the bzImage is the last line on stdout. A patch that
# does not apply (or revert) exits 3 and leaves <out>/rejects.txt: patch's
# verdict per hunk and the rejected hunks.
set -euo pipefail

prog="build-kernel"
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bump when a change here changes what a given set of inputs builds.
stamp_version=1

log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

usage() {
	cat <<EOF
usage: $prog --source <tarball|dir> --out <dir> [options]

  --source <path>            kernel source: a .tar(.xz|.bz2|.gz|.zst) tarball with one
                             top-level directory, or an unpacked tree (built in place)
  --out <dir>                where to put bzImage, config, kernel.release, build-info
  --revert <patch>           apply <patch> in reverse (repeatable; order kept)
  --patch <patch>            apply <patch> (repeatable; order kept)
  --config-fragment <file>   Kconfig fragment on top of tinyconfig
                             (default: $script_dir/../kconfig/mptcp-guest.config)
  --localversion <str>       appended to the kernel release (default: none without
                             patches, -p<8 hex digits of the patch set hash> with)
  --cache <dir>              build cache (default: \${XDG_CACHE_HOME:-~/.cache}/srutest/kbuild)
  --jobs <n>                 make -j (default: number of CPUs)
  --force                    rebuild even when --out already holds this build
  -h, --help                 this text
EOF
}

source_arg=""
out=""
fragment="$script_dir/../kconfig/mptcp-guest.config"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/srutest/kbuild"
jobs=$(nproc 2>/dev/null || echo 2)
localversion=""
localversion_set=0
force=0
patch_modes=()
patch_files=()

need_arg() {
	if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi
}

while [ "$#" -gt 0 ]; do
	case "$1" in
	--source) need_arg "$@"; source_arg=$2; shift 2 ;;
	--out) need_arg "$@"; out=$2; shift 2 ;;
	--revert | --patch)
		need_arg "$@"
		[ -f "$2" ] || die "$1 $2: no such file"
		if [ "$1" = --revert ]; then patch_modes+=(R); else patch_modes+=(F); fi
		patch_files+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")")
		shift 2
		;;
	--config-fragment) need_arg "$@"; fragment=$2; shift 2 ;;
	--localversion) [ "$#" -ge 2 ] || die "--localversion needs a value"; localversion=$2; localversion_set=1; shift 2 ;;
	--cache) need_arg "$@"; cache=$2; shift 2 ;;
	--jobs) need_arg "$@"; jobs=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

[ -n "$source_arg" ] || die "--source is required (see --help)"
[ -n "$out" ] || die "--out is required (see --help)"
[ -e "$source_arg" ] || die "--source $source_arg: no such file or directory"
[ -f "$fragment" ] || die "--config-fragment $fragment: no such file"
case "$jobs" in '' | *[!0-9]*) die "--jobs $jobs: not a number" ;; esac
case "$localversion" in *[!A-Za-z0-9._+-]*) die "--localversion $localversion: only [A-Za-z0-9._+-]" ;; esac

missing=()
for tool in make gcc ld flex bison bc perl patch tar sha256sum flock; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
	die "missing tools: ${missing[*]} (Debian/Ubuntu: apt-get install build-essential flex bison bc perl patch libelf-dev libssl-dev xz-utils util-linux)"
fi

sha256() { sha256sum "$1" | cut -c1-64; }

fragment=$(cd "$(dirname "$fragment")" && pwd)/$(basename "$fragment")
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# Hash of the patch set, in order, with its direction.
patchset_hash=""
if [ "${#patch_files[@]}" -gt 0 ]; then
	patchset_hash=$(
		for i in "${!patch_files[@]}"; do
			printf '%s %s\n' "${patch_modes[$i]}" "$(sha256 "${patch_files[$i]}")"
		done | sha256sum | cut -c1-64
	)
	if [ "$localversion_set" -eq 0 ]; then
		localversion="-p${patchset_hash:0:8}"
	fi
fi

# --- source: key, lock, extraction ------------------------------------------

if [ -d "$source_arg" ]; then
	src=$(cd "$source_arg" && pwd)
	key=dir-$(printf '%s' "$src" | sha256sum | cut -c1-16)
	source_id="dir:$src"
	if [ ! -f "$src/Makefile" ] || [ ! -f "$src/Kconfig" ]; then
		die "--source $src does not look like a kernel tree"
	fi
else
	log "hashing $source_arg"
	tar_sha=$(sha256 "$source_arg")
	key=tar-${tar_sha:0:16}
	src=$cache/src-$key
	source_id="tar:$tar_sha"
fi
build=$cache/build-$key

exec 9>"$cache/$key.lock"
if ! flock -n 9; then
	log "waiting for another build of this source ($cache/$key.lock)"
	flock -w 7200 9 || die "timed out waiting for $cache/$key.lock"
fi

# Mark the trees used now: `srutest cache prune` ages them by mtime.
touch "$cache/$key.lock"
[ -d "$build" ] && touch "$build"
[ ! -d "$source_arg" ] && [ -d "$src" ] && touch "$src"

# Everything that decides what the bzImage is; an --out holding the same
# stamp is already this build (directory sources are always rebuilt).
stamp=$(
	printf 'v%s\nsource %s\nfragment %s\nlocalversion %s\n' \
		"$stamp_version" "$source_id" "$(sha256 "$fragment")" "$localversion"
	for i in "${!patch_files[@]}"; do
		printf 'patch %s %s %s\n' "${patch_modes[$i]}" "$(sha256 "${patch_files[$i]}")" "${patch_files[$i]}"
	done
)
if [ "$force" -eq 0 ] && [ ! -d "$source_arg" ] && [ -f "$out/bzImage" ] &&
	[ -f "$out/build-info" ] && [ "$(sed -n '/^v[0-9]/,$p' "$out/build-info" | sed '/^release /,$d')" = "$stamp" ]; then
	log "$out already holds this build (use --force to rebuild)"
	printf '%s\n' "$(cd "$out" && pwd)/bzImage"
	exit 0
fi

if [ ! -d "$source_arg" ] && [ ! -f "$src/.srutest-extracted" ]; then
	log "extracting $source_arg into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	t0=$(date +%s)
	# Ubuntu's linux-source tarballs are one ~360 MB bzip2 stream: bzip2 is
	# single-threaded and takes minutes (tens at high load); lbzip2
	# decompresses one stream on every CPU. Without it, tar's own choice.
	unpack=()
	case "$source_arg" in
	*.tar.bz2 | *.tbz2 | *.tbz)
		if command -v lbzip2 >/dev/null; then
			unpack=(--use-compress-program=lbzip2)
		else
			log "lbzip2 not installed: single-threaded bzip2 (scripts/install-deps.sh --kernel-build)"
		fi
		;;
	esac
	nice -n 10 tar "${unpack[@]}" -xf "$source_arg" -C "$src.tmp" --strip-components=1 --no-same-owner
	if [ ! -f "$src.tmp/Makefile" ] || [ ! -f "$src.tmp/Kconfig" ]; then
		die "$source_arg does not hold a kernel tree under one top-level directory"
	fi
	touch "$src.tmp/.srutest-extracted"
	mv "$src.tmp" "$src"
	log "extracted in $(($(date +%s) - t0)) s"
fi
mkdir -p "$build"

# --- patches: apply for this build, always take them off again ---------------

state=$build/.srutest-applied # lines: <R|F> <saved patch>, in applied order
saved=$build/.srutest-patches

# patch_run <R|F> <file> [patch options]: apply one patch to $src, strictly.
patch_run() {
	local mode=$1 file=$2
	shift 2
	local dir=()
	[ "$mode" = R ] && dir=(-R)
	patch -d "$src" -p1 "${dir[@]}" --force --fuzz=0 --no-backup-if-mismatch -r - -s "$@" <"$file"
}

# reject_report <R|F> <patch> <report>: what a patch that does not apply
# rejects, for the backporter: patch's own verdict per hunk, whether the
# change is already there (the patch applies the other way), and the
# rejected hunks, found by applying it to a scratch copy of the files it
# touches (the tree itself stays pristine).
reject_report() {
	local mode=$1 file=$2 report=$3 scratch f other=R
	[ "$mode" = R ] && other=F
	scratch=$(mktemp -d)
	grep -E '^(---|\+\+\+) ' "$file" | awk '{print $2}' | sed -E 's#^[ab]/##' | sort -u |
		while IFS= read -r f; do
			case "$f" in /dev/null | */../* | ../*) continue ;; esac
			if [ -f "$src/$f" ]; then
				mkdir -p "$scratch/tree/$(dirname "$f")"
				cp "$src/$f" "$scratch/tree/$f"
			fi
		done
	mkdir -p "$(dirname "$report")"
	{
		if [ "$mode" = R ]; then
			printf 'revert %s: does not apply (in reverse) to %s\n' "$(basename "$file")" "$source_arg"
		else
			printf 'patch %s: does not apply to %s\n' "$(basename "$file")" "$source_arg"
		fi
		if patch_run "$other" "$file" --dry-run >/dev/null 2>&1; then
			if [ "$mode" = F ]; then
				printf 'the tree already carries this change (the patch reverses cleanly)\n'
			else
				printf 'the tree does not carry this change (the patch applies forward cleanly)\n'
			fi
		fi
		printf '\n== patch --dry-run\n'
		patch_run "$mode" "$file" --dry-run 2>&1 || true
		printf '\n== rejected hunks\n'
		local dir=()
		[ "$mode" = R ] && dir=(-R)
		patch -d "$scratch/tree" -p1 "${dir[@]}" --force --fuzz=0 --no-backup-if-mismatch \
			-r "$scratch/rejects" -s <"$file" >/dev/null 2>&1 || true
		cat "$scratch/rejects" 2>/dev/null || printf '(none written)\n'
	} >"$report"
	rm -rf "$scratch"
}

unapply_all() {
	[ -f "$state" ] || return 0
	local lines=() line mode file undo
	mapfile -t lines <"$state"
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		line=${lines[$i]}
		mode=${line%% *}
		file=${line#* }
		if [ "$mode" = R ]; then undo=F; else undo=R; fi
		if ! patch_run "$undo" "$file" --dry-run >/dev/null; then
			log "cannot take $file off $src again; restore the tree (or delete it) by hand"
			return 1
		fi
		patch_run "$undo" "$file"
		# Drop the line only once the tree no longer carries the patch.
		printf '%s\n' "${lines[@]:0:$i}" | sed '/^$/d' >"$state.tmp"
		mv "$state.tmp" "$state"
	done
	rm -f "$state"
	rm -rf "$saved"
}

if [ -f "$state" ]; then
	log "a previous run left patches applied to $src; taking them off"
	unapply_all || die "source tree $src is in an unknown state"
fi

cleanup() {
	local rc=$?
	if [ -f "$state" ]; then
		unapply_all || rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -f "$out/rejects.txt"
if [ "${#patch_files[@]}" -gt 0 ]; then
	mkdir -p "$saved"
	: >"$state"
	for i in "${!patch_files[@]}"; do
		mode=${patch_modes[$i]}
		file=${patch_files[$i]}
		if ! patch_run "$mode" "$file" --dry-run >/dev/null; then
			reject_report "$mode" "$file" "$out/rejects.txt"
			if [ "$mode" = R ]; then
				log "$file does not revert cleanly from $src: is that change in this tree? rejected hunks: $out/rejects.txt"
			else
				log "$file does not apply cleanly to $src; rejected hunks: $out/rejects.txt"
			fi
			exit 3
		fi
		copy=$saved/$i.patch
		cp "$file" "$copy"
		printf '%s %s\n' "$mode" "$copy" >>"$state"
		patch_run "$mode" "$copy"
		if [ "$mode" = R ]; then log "reverted $(basename "$file")"; else log "applied $(basename "$file")"; fi
	done
fi

# --- config --------------------------------------------------------------------

kmake() {
	nice -n 10 make -C "$src" O="$build" ARCH=x86_64 \
		KBUILD_BUILD_USER=srutest KBUILD_BUILD_HOST=srutest \
		LOCALVERSION="$localversion" "$@"
}

newcfg=.config.srutest-new # relative to $build, where kconfig runs
rm -f "$build/$newcfg"
log "config: tinyconfig + $(basename "$fragment") + olddefconfig"
t0=$(date +%s)
if grep -q 'merge_config\.sh -m \.config ' "$src/scripts/kconfig/Makefile" 2>/dev/null; then
	# Before v5.17 (jammy's 5.15) tinyconfig's second step merges its
	# fragments into a literal .config, ignoring KCONFIG_CONFIG, and stops
	# with "The base file '.config' does not exist". Do its two steps with
	# our config file: allnoconfig on tiny-base, then merge the tiny
	# fragments (olddefconfig follows below, after the fragment).
	KCONFIG_CONFIG=$newcfg KCONFIG_ALLCONFIG=kernel/configs/tiny-base.config kmake -s allnoconfig >/dev/null
	tiny=()
	for f in kernel/configs/tiny.config arch/x86/configs/tiny.config; do
		[ -f "$src/$f" ] && tiny+=("$src/$f")
	done
	(cd "$build" && KCONFIG_CONFIG=$newcfg "$src/scripts/kconfig/merge_config.sh" -m "$newcfg" "${tiny[@]}") >/dev/null
else
	KCONFIG_CONFIG=$newcfg kmake -s tinyconfig >/dev/null
fi
# Replace tinyconfig's lines for the fragment's symbols (kconfig would only
# warn "override: reassigning" for each) by the fragment itself.
awk '
	NR == FNR {
		if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) frag[substr($0, 1, RLENGTH - 1)] = 1
		else if (match($0, /^# CONFIG_[A-Za-z0-9_]+ is not set/)) frag[substr($0, 3, RLENGTH - 13)] = 1
		next
	}
	{
		sym = ""
		if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) sym = substr($0, 1, RLENGTH - 1)
		else if (match($0, /^# CONFIG_[A-Za-z0-9_]+ is not set/)) sym = substr($0, 3, RLENGTH - 13)
		if (!(sym in frag)) print
	}
' "$fragment" "$build/$newcfg" >"$build/$newcfg.tmp"
cat "$fragment" >>"$build/$newcfg.tmp"
mv "$build/$newcfg.tmp" "$build/$newcfg"
KCONFIG_CONFIG=$newcfg kmake -s olddefconfig >/dev/null

# check_config <fragment> <config>: print every fragment line that did not survive.
check_config() {
	local line sym val got
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		CONFIG_*=*)
			sym=${line%%=*}
			val=${line#*=}
			got=$(grep -E "^($sym=|# $sym is not set)" "$2" || true)
			[ "$got" = "$sym=$val" ] || printf '  %s (got: %s)\n' "$line" "${got:-absent}"
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -qE "^$sym=[ym]" "$2"; then
				printf '  %s (got: %s)\n' "$line" "$(grep -E "^$sym=" "$2")"
			fi
			;;
		esac
	done <"$1"
}
lost=$(check_config "$fragment" "$build/$newcfg")
if [ -n "$lost" ]; then
	printf '%s: error: these fragment lines did not survive olddefconfig (missing dependencies?):\n%s\n' \
		"$prog" "$lost" >&2
	exit 1
fi
if cmp -s "$build/$newcfg" "$build/.config"; then
	rm -f "$build/$newcfg"
else
	mv "$build/$newcfg" "$build/.config"
fi
rm -f "$build/$newcfg.old"
log "config ready in $(($(date +%s) - t0)) s"

# --- build -----------------------------------------------------------------------

log "make -j$jobs bzImage in $build"
t0=$(date +%s)
kmake -j"$jobs" bzImage >&2
t1=$(date +%s)
release=$(kmake -s kernelrelease)
log "built $release in $((t1 - t0)) s"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cp "$build/arch/x86/boot/bzImage" "$out/.bzImage.tmp"
cp "$build/.config" "$out/.config.tmp"
mv "$out/.config.tmp" "$out/config"
printf '%s\n' "$release" >"$out/kernel.release"
{
	printf '# %s: written by scripts/build-kernel.sh\n' "$out/bzImage"
	printf '%s\n' "$stamp"
	printf 'release %s\nbuild-seconds %s\n' "$release" "$((t1 - t0))"
} >"$out/.build-info.tmp"
mv "$out/.bzImage.tmp" "$out/bzImage"
mv "$out/.build-info.tmp" "$out/build-info"
printf '%s\n' "$out/bzImage"
