#!/usr/bin/env bash
# Shared helpers of the host-side tools: dependencies, the kernel tree and
# the overlay of our files onto it.  Sourced, never run.
#
# Environment:
#   KERNEL_TREE  a 6.12 kernel source tree to use instead of our own unpacked
#                copy in .kernel/linux-6.12 (it is modified in place: the
#                files we replace are saved once under its .dmabuf-pristine/)
#   BUILD_ROOT   where build directories go (default .kernel/build)
#   JOBS         parallel make jobs (default: number of CPUs)

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KERNEL_TREE=${KERNEL_TREE:-$REPO/.kernel/linux-6.12}
BUILD_ROOT=${BUILD_ROOT:-$REPO/.kernel/build}
JOBS=${JOBS:-$(nproc)}
TARBALL=/usr/src/linux-source-6.12.tar.xz

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# Install whatever of the build dependencies this machine lacks.
ensure_deps() {
	local want=() extra=("$@")
	[ -f "$TARBALL" ] || want+=(linux-source-6.12)
	command -v flex >/dev/null || want+=(flex)
	command -v bison >/dev/null || want+=(bison)
	command -v bc >/dev/null || want+=(bc)
	command -v sparse >/dev/null || want+=(sparse)
	command -v rsync >/dev/null || want+=(rsync)
	[ -f /usr/include/libelf.h ] || want+=(libelf-dev)
	[ -f /usr/include/openssl/ssl.h ] || want+=(libssl-dev)
	want+=("${extra[@]}")
	[ ${#want[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${want[*]}); run as root or install them"
	log "installing ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

# Files of ours that replace or join upstream's, as "repo-path tree-path".
overlay_map() {
	local f
	(cd "$REPO" && for f in Kconfig Makefile .kunitconfig *.c *.h; do
		[ -f "$f" ] && echo "$f drivers/dma-buf/$f"
	done
	for f in $(git -C "$REPO" ls-files --cached --others --exclude-standard \
			tests include Documentation 2>/dev/null); do
		[ -f "$f" ] || continue
		case $f in
		tests/*) echo "$f drivers/dma-buf/$f" ;;
		*) echo "$f $f" ;;
		esac
	done)
}

ensure_tree() {
	if [ ! -f "$KERNEL_TREE/Makefile" ]; then
		[ "$KERNEL_TREE" = "$REPO/.kernel/linux-6.12" ] ||
			die "KERNEL_TREE=$KERNEL_TREE is not a kernel tree"
		ensure_deps
		log "unpacking $TARBALL into .kernel/"
		mkdir -p "$REPO/.kernel"
		rm -rf "$REPO/.kernel/linux-source-6.12" "$KERNEL_TREE.tmp"
		tar -C "$REPO/.kernel" -xf "$TARBALL"
		mv "$REPO/.kernel/linux-source-6.12" "$KERNEL_TREE"
	fi
	grep -q '^PATCHLEVEL = 12$' "$KERNEL_TREE/Makefile" ||
		die "$KERNEL_TREE is not a 6.12 tree"
}

# Put our files into the tree.  Every tree file we ever replaced is saved in
# .dmabuf-pristine/ first, so that a file we stop carrying goes back to
# upstream's version; unchanged files are not touched, to keep rebuilds
# incremental.
overlay() {
	ensure_tree
	local state=$KERNEL_TREE/.dmabuf-pristine src dst old
	mkdir -p "$state"
	touch "$state/.manifest"
	overlay_map > "$state/.manifest.new"
	while read -r src dst; do
		if grep -q " $dst\$" "$state/.manifest.new"; then
			continue
		fi
		if [ -e "$state/files/$dst" ]; then
			# A fresh mtime, or make keeps the objects built from ours.
			cp "$state/files/$dst" "$KERNEL_TREE/$dst"
		elif [ -e "$state/absent/$dst" ]; then
			rm -f "$KERNEL_TREE/$dst"
		fi
	done < "$state/.manifest"
	while read -r src dst; do
		if [ ! -e "$state/files/$dst" ] && [ ! -e "$state/absent/$dst" ]; then
			if [ -e "$KERNEL_TREE/$dst" ]; then
				mkdir -p "$(dirname "$state/files/$dst")"
				cp -p "$KERNEL_TREE/$dst" "$state/files/$dst"
			else
				mkdir -p "$(dirname "$state/absent/$dst")"
				touch "$state/absent/$dst"
			fi
		fi
		if ! cmp -s "$REPO/$src" "$KERNEL_TREE/$dst"; then
			mkdir -p "$(dirname "$KERNEL_TREE/$dst")"
			cp "$REPO/$src" "$KERNEL_TREE/$dst"
		fi
	done < "$state/.manifest.new"
	mv "$state/.manifest.new" "$state/.manifest"
}

# The upstream version of a file we replace, as the tree had it.
pristine_file() {
	local p=$KERNEL_TREE/.dmabuf-pristine/files/$1
	if [ -f "$p" ]; then cat "$p"; else cat "$KERNEL_TREE/$1"; fi
}

# Our core files: what the style checks judge.
core_files() {
	(cd "$REPO" && ls -1 *.c *.h include/linux/dma-buf.h \
		include/linux/dma-resv.h include/uapi/linux/dma-buf.h \
		tests/*.c tests/*.h 2>/dev/null) | sort -u
}

kunit() {
	(cd "$KERNEL_TREE" && python3 tools/testing/kunit/kunit.py "$@")
}
