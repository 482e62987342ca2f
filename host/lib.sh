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
#   UPSTREAM_TREE  the copy of the tree with upstream's core, for the
#                side-by-side tools (default .kernel/bench-upstream)

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KERNEL_TREE=${KERNEL_TREE:-$REPO/.kernel/linux-6.12}
BUILD_ROOT=${BUILD_ROOT:-$REPO/.kernel/build}
JOBS=${JOBS:-$(nproc)}
UPSTREAM_TREE=${UPSTREAM_TREE:-$REPO/.kernel/bench-upstream}
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
	command -v patch >/dev/null || want+=(patch)
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

# Fixes of the test harness's own kernel (UML's arch code, never our core)
# that a host needs to run it: host/patches/*.patch, each applied once.
# Both sides of host/bench and host/conform get them (the upstream copy is
# synced from this tree).
harness_patches() {
	local p
	for p in "$REPO"/host/patches/*.patch; do
		[ -f "$p" ] || continue
		if patch -d "$KERNEL_TREE" -p1 -R --dry-run -s -f < "$p" >/dev/null 2>&1; then
			continue	# already in
		fi
		log "applying $(basename "$p") to the tree (test harness fix)"
		patch -d "$KERNEL_TREE" -p1 -s -f --no-backup-if-mismatch < "$p" ||
			die "$p does not apply to $KERNEL_TREE"
	done
}

# Put our files into the tree.  Every tree file we ever replaced is saved in
# .dmabuf-pristine/ first, so that a file we stop carrying goes back to
# upstream's version; unchanged files are not touched, to keep rebuilds
# incremental.
overlay() {
	ensure_tree
	harness_patches
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
		include/kunit/dma-buf.h include/trace/events/dma_buf.h \
		tests/*.c tests/*.h 2>/dev/null) | sort -u
}

kunit() {
	(cd "$KERNEL_TREE" && python3 tools/testing/kunit/kunit.py "$@")
}

# Copy $1 to $2 only when the contents differ, so that make sees no change
# (and rebuilds nothing) when there is none.
put() {
	cmp -s "$1" "$2" && return 0
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2"
}

# Options whose modules use only the public API and so build against
# upstream's core too: the side-by-side tools add exactly these to the
# upstream copy (host/bench the benchmark, host/conform the conformance
# scenarios), and the KUnit kit both select, with its header.
UPSTREAM_TEST_OPTIONS="DMABUF_KUNIT_BENCHMARK DMABUF_KUNIT_CONFORMANCE DMABUF_KUNIT_KIT"

# The upstream side (host/bench, host/conform): a copy of the kernel tree
# as it was before overlay(), in UPSTREAM_TREE.  rsync keeps it
# incremental; the overlaid paths are excluded from the copy and set from
# .dmabuf-pristine/ (files/ holds the tree's own version, absent/ marks
# files the tree did not have).  Then the options of UPSTREAM_TEST_OPTIONS
# are added: their Kconfig entries from our Kconfig, their lines of our
# tests/Makefile, the files those lines build and our tests/*.h.
make_upstream_tree() {
	local state=$KERNEL_TREE/.dmabuf-pristine src dst tmp opt f
	local up=$UPSTREAM_TREE/drivers/dma-buf
	[ -f "$state/.manifest" ] || die "no overlay manifest in $KERNEL_TREE"
	tmp=$(mktemp -d)
	{
		echo '/.dmabuf-pristine/'
		while read -r src dst; do echo "/$dst"; done < "$state/.manifest"
		echo '/drivers/dma-buf/tests/'
	} > "$tmp/exclude"
	log "syncing the upstream copy $UPSTREAM_TREE"
	mkdir -p "$UPSTREAM_TREE"
	rsync -a --delete --exclude-from="$tmp/exclude" \
		"$KERNEL_TREE/" "$UPSTREAM_TREE/"
	while read -r src dst; do
		case $dst in
		drivers/dma-buf/tests/* | drivers/dma-buf/Kconfig | \
		drivers/dma-buf/Makefile | include/kunit/dma-buf.h) continue ;;
		esac
		if [ -e "$state/files/$dst" ]; then
			put "$state/files/$dst" "$UPSTREAM_TREE/$dst"
		else
			rm -f "$UPSTREAM_TREE/$dst"
		fi
	done < "$state/.manifest"

	echo '# SPDX-License-Identifier: GPL-2.0-only' > "$tmp/tests.mk"
	cp "$state/files/drivers/dma-buf/Kconfig" "$tmp/Kconfig"
	for opt in $UPSTREAM_TEST_OPTIONS; do
		grep "(CONFIG_$opt)" "$REPO/tests/Makefile" >> "$tmp/tests.mk" ||
			die "tests/Makefile builds nothing for $opt"
		# The entry runs from its "config" line to the next entry.
		awk -v opt="$opt" '
			/^(config|menuconfig|menu|endmenu|source|if|endif)/ { on = 0 }
			$0 == "config " opt { on = 1; print "" }
			on' "$REPO/Kconfig" >> "$tmp/Kconfig"
	done
	# Upstream has no tests/ directory: exactly those files, nothing else.
	for f in $(sed -n 's/.*+= *//p' "$tmp/tests.mk" | tr ' ' '\n' |
			sed -n 's/\.o$/.c/p') $(cd "$REPO/tests" && ls *.h); do
		put "$REPO/tests/$f" "$up/tests/$f"
		echo "$f" >> "$tmp/keep"
	done
	find "$up/tests" -type f ! -name Makefile 2>/dev/null |
		while read -r f; do
			grep -qx "$(basename "$f")" "$tmp/keep" || rm -f "$f"
		done
	put "$tmp/tests.mk" "$up/tests/Makefile"
	put "$REPO/include/kunit/dma-buf.h" "$UPSTREAM_TREE/include/kunit/dma-buf.h"
	{ cat "$state/files/drivers/dma-buf/Makefile"; echo 'obj-y += tests/'; } \
		> "$tmp/Makefile"
	put "$tmp/Makefile" "$up/Makefile"
	put "$tmp/Kconfig" "$up/Kconfig"
	rm -rf "$tmp"

	# Nothing of ours may be left in the copy.
	if grep -q 'clean-room core' "$up/dma-buf.c"; then
		die "the upstream copy still carries our dma-buf.c"
	fi
}

# bench_boot BUILD_DIR LOG BATCHES BATCH_US [KERNEL_ARG...]: boot a bench
# kernel (host/bench, host/bench-overhead) for the single-CPU benchmark
# suite; dies unless the suite ran to its end.
bench_boot() {
	local build=$1 out=$2 batches=$3 batch_us=$4
	shift 4
	timeout "${BOOT_TIMEOUT:-900}" "$build/linux" mem=512M console=tty \
		kunit_shutdown=halt kunit.enable=1 \
		kunit.filter_glob='dma_buf_bench' \
		dma_buf_bench.batches="$batches" dma_buf_bench.batch_us="$batch_us" \
		"$@" < /dev/null > "$out" 2>&1 || true
	if ! grep -q '^ok [0-9]* dma_buf_bench' "$out"; then
		grep -E 'not ok|BUG|WARNING|Kernel panic' "$out" | head >&2
		die "benchmark boot failed, see $out"
	fi
}

# The two UML timing kernels of host/bench and host/scale, built from the
# same tree with the same configuration: ours, and upstream's core in
# UPSTREAM_TREE.
BENCH_CONFIG=$REPO/host/configs/uml-bench.config
B_OURS=$BUILD_ROOT/bench-ours
B_UP=$BUILD_ROOT/bench-upstream
# Every function starts on a cache line of its own: otherwise the same
# code (dma-resv.c while it is upstream's on both sides, the benchmark
# module, the floors) lands at different offsets in the two images and
# differs by up to a third in speed for that reason alone.
ALIGN_FLAGS=${ALIGN_FLAGS:--falign-functions=64}

bench_build_kernel() { # TREE BUILD_DIR NAME
	log "building the $3 kernel in $2"
	mkdir -p "$2"
	(cd "$1" && python3 tools/testing/kunit/kunit.py build \
		--kunitconfig="$BENCH_CONFIG" --build_dir="$2" --jobs="$JOBS" \
		--make_options="KCFLAGS=$ALIGN_FLAGS") \
		> "$2/build.log" 2>&1 || { tail -40 "$2/build.log" >&2; die "$3 build failed"; }
}

bench_build_both() {
	overlay
	make_upstream_tree
	bench_build_kernel "$KERNEL_TREE" "$B_OURS" ours
	# Which of our commits the kernel carries, for the report.
	git -C "$REPO" describe --always --dirty --abbrev=7 \
		> "$B_OURS/dmabuf-commit" 2>/dev/null || rm -f "$B_OURS/dmabuf-commit"
	bench_build_kernel "$UPSTREAM_TREE" "$B_UP" upstream
}

# Both kernels must be built and configured alike: the same options set.
bench_check_both() {
	local a b
	[ -x "$B_OURS/linux" ] && [ -x "$B_UP/linux" ] || die "kernels not built"
	a=$(grep '^CONFIG_' "$B_OURS/.config" | sort)
	b=$(grep '^CONFIG_' "$B_UP/.config" | sort)
	if [ "$a" != "$b" ]; then
		diff <(echo "$a") <(echo "$b") >&2 || true
		die "the two kernels differ in configuration"
	fi
}

# The x86_64 SMP variants of the two timing kernels, for the contention
# suites (host/bench --smp, host/scale --smp), booted in qemu with two
# vCPUs.
B_SMP_OURS=$BUILD_ROOT/bench-smp-ours
B_SMP_UP=$BUILD_ROOT/bench-smp-upstream

bench_build_smp() {
	local cfg=$BUILD_ROOT/x86-bench.config side tree bdir
	mkdir -p "$BUILD_ROOT"
	grep -v 'UML' "$BENCH_CONFIG" > "$cfg"
	printf '%s\n' CONFIG_SMP=y CONFIG_NR_CPUS=8 CONFIG_64BIT=y >> "$cfg"
	overlay
	make_upstream_tree
	for side in ours upstream; do
		if [ $side = ours ]; then
			tree=$KERNEL_TREE bdir=$B_SMP_OURS
		else
			tree=$UPSTREAM_TREE bdir=$B_SMP_UP
		fi
		log "building the $side x86_64 SMP kernel in $bdir"
		mkdir -p "$bdir"
		# Aligned as the UML kernels are (ALIGN_FLAGS above).
		(cd "$tree" && python3 tools/testing/kunit/kunit.py build \
			--arch=x86_64 --kunitconfig="$cfg" --build_dir="$bdir" \
			--make_options="KCFLAGS=$ALIGN_FLAGS" \
			--jobs="$JOBS") > "$bdir/build.log" 2>&1 ||
			{ tail -40 "$bdir/build.log" >&2; die "$side x86_64 build failed"; }
	done
}

# Prints kvm or tcg.  KVM has been seen to hang without a word here:
# trust it only when a guest prints its banner within a few seconds.
bench_smp_accel() {
	command -v qemu-system-x86_64 >/dev/null || ensure_deps qemu-system-x86
	[ -f "$B_SMP_OURS/arch/x86/boot/bzImage" ] || die "x86_64 kernels not built"
	if [ -w /dev/kvm ] &&
	   timeout 30 qemu-system-x86_64 -accel kvm -m 512 -smp 2 \
		-nodefaults -display none -serial stdio -no-reboot \
		-kernel "$B_SMP_OURS/arch/x86/boot/bzImage" \
		-append 'console=ttyS0 kunit.enable=0 panic=-1' < /dev/null 2>&1 |
	   grep -q 'Linux version'; then
		echo kvm
	else
		echo tcg
	fi
}

# Boots BUILD_DIR's x86_64 kernel with two vCPUs for the suites matching
# SUITE; returns non-zero unless the last of them ran to its end.
bench_smp_boot() { # BUILD_DIR ACCEL SUITE LOG [KERNEL ARGS...]
	local bdir=$1 accel=$2 suite=$3 out=$4
	shift 4
	timeout "${BOOT_TIMEOUT:-900}" qemu-system-x86_64 -accel "$accel" \
		-m "${SMP_MEM:-1024}" -smp 2 -nodefaults -display none \
		-serial stdio -no-reboot -kernel "$bdir/arch/x86/boot/bzImage" \
		-append "console=ttyS0 kunit.enable=1 kunit.filter_glob=$suite kunit_shutdown=reboot $*" \
		< /dev/null > "$out" 2>&1 || true
	grep -q "^ok [0-9]* $suite" "$out"
}

# Prints a python that has matplotlib, for the charts: the one on PATH, or
# Debian's (with Debian's python3-matplotlib, installed if missing) when
# that one (perhaps another installation) has none.
chart_python() {
	if python3 -c 'import matplotlib' 2>/dev/null; then
		echo python3
		return
	fi
	/usr/bin/python3 -c 'import matplotlib' 2>/dev/null ||
		ensure_deps python3-matplotlib >&2
	echo /usr/bin/python3
}
