#!/usr/bin/env bash
# Helpers for booting the UML test kernel on a host folder of static test
# programs: shared by host/userspace and host/demo.  Sourced after lib.sh,
# never run.
#
# The kernel is the one host/test builds: host/configs/uml-test.config in
# $BUILD_ROOT/uml-test, built by kunit.py.  It boots with
#   BUILD/linux mem=512M rootfstype=hostfs rootflags=ROOT rw init=/init
# where ROOT/init (tests/userspace/init.c) runs the programs ROOT/tests.list
# names and leaves their output in ROOT/results/.

UML_CONFIG=$REPO/host/configs/uml-test.config
UML_BUILD=$BUILD_ROOT/uml-test

# Kernel arguments for a userspace boot.  The KUnit suites built into the
# test kernel stay off (host/test runs them), and of the dma-buf selftests
# module only its trivial sanity check runs: the others spin forever on
# uniprocessor UML.  vivid comes up as three capture-only instances: 0
# allocates with videobuf2-vmalloc (importing a dma-buf means vmap), 1
# and 2 with videobuf2-dma-contig (importing means mapping an
# attachment), so that a dma-contig importer has a contiguous exporter
# too.  tests/userspace/dmabuf-drivers.h finds 0 and 1 by bus info.
UML_ARGS=(mem=512M rw init=/init kunit.enable=0
	dmabuf_selftests.igt__12__sanitycheck=1 panic_on_warn=0
	vivid.n_devs=3 vivid.node_types=0x1,0x1,0x1 vivid.allocators=0,1,1)

# True when BUILD/linux is missing, or when the config or a file we put into
# the tree is newer than both BUILD/linux and the stamp of our last build
# (a changed file that is not built in, say a disabled test, relinks
# nothing: the stamp keeps us from rebuilding for it every time).
uml_kernel_stale() {
	local build=$1 src dst f
	[ -x "$build/linux" ] || return 0
	newer() {
		[ "$1" -nt "$build/linux" ] &&
			{ [ ! -e "$build/.uml-built" ] || [ "$1" -nt "$build/.uml-built" ]; }
	}
	newer "$UML_CONFIG" && return 0
	while read -r src dst; do
		case $dst in
		drivers/dma-buf/tests/userspace/*|Documentation/*) continue ;;
		esac
		newer "$KERNEL_TREE/$dst" && return 0
	done < <(overlay_map)
	return 1
}

# Build (or bring up to date) the kernel exactly as host/test configures
# it.  Quiet unless it fails; the log stays in BUILD/build.log.
uml_build_kernel() {
	local build=$1
	mkdir -p "$build"
	log "building the UML kernel in $build (several minutes the first time; log: $build/build.log)"
	rm -f "$build/.uml-built"
	if ! kunit build --build_dir="$build" --jobs="$JOBS" \
			--kunitconfig="$UML_CONFIG" > "$build/build.log" 2>&1; then
		tail -40 "$build/build.log" >&2
		return 1
	fi
	touch "$build/.uml-built"
}

# The tree's UAPI headers as userspace gets them, from `make headers_install`.
# UML exports none of its own ("Headers not exportable for UML"): UML
# userspace is plain x86_64, so these are ARCH=x86's, in a build dir of
# their own.
UML_HDR_BUILD=$BUILD_ROOT/uapi-headers
UML_HDR=$UML_HDR_BUILD/usr/include

uml_headers() {
	# Only our dma-buf.h can change in the tree; its checksum says when
	# (mtimes do not: a restored upstream file keeps its old one).
	local sum
	sum=$(md5sum "$KERNEL_TREE/include/uapi/linux/dma-buf.h" | cut -d' ' -f1)
	if [ -f "$UML_HDR/linux/dma-buf.h" ] &&
	   [ "$(cat "$UML_HDR_BUILD/.source-sum" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	ensure_deps	# headers_install needs rsync
	log "installing the tree's UAPI headers into $UML_HDR"
	mkdir -p "$UML_HDR_BUILD"
	# make would keep a copy newer than an upstream file put back.
	rm -f "$UML_HDR/linux/dma-buf.h" "$UML_HDR/linux/.dma-buf.h.cmd"
	make -s -C "$KERNEL_TREE" O="$UML_HDR_BUILD" ARCH=x86 headers_install >&2
	touch "$UML_HDR/linux/dma-buf.h"	# programs rebuild after it
	echo "$sum" > "$UML_HDR_BUILD/.source-sum"
}

# gcc -static needs the static glibc (libc6-dev); install it if missing.
uml_ensure_static() {
	local t
	t=$(mktemp -d)
	echo 'int main(void) { return 0; }' > "$t/t.c"
	if ! gcc -static -o "$t/t" "$t/t.c" 2>/dev/null; then
		ensure_deps gcc libc6-dev
		gcc -static -o "$t/t" "$t/t.c" || { rm -rf "$t"; die "gcc -static does not work here"; }
	fi
	rm -rf "$t"
}

# Static test programs into OUT (from tests/userspace, plus the kernel's
# kselftests for the exporters).
uml_programs() {
	local out=$1
	uml_ensure_static
	"$REPO/tests/userspace/build.sh" "$out" "$UML_HDR" "$KERNEL_TREE" >&2
}

# A fresh root folder: ROOT/init, ROOT/bin/* from BIN, ROOT/tests.list
# from stdin ("NAME TIMEOUT PATH [ARGS]" per line).
uml_root() {
	local root=$1 bin=$2
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,results}
	cp "$bin/init" "$root/init"
	find "$bin" -maxdepth 1 -type f -perm -u+x ! -name init -exec cp {} "$root/bin/" \;
	cat > "$root/tests.list"
	# hostfs serves the folder with host permissions: all of it readable.
	chmod -R a+rX "$root"
}

# Copy the host's dynamically linked program PROG into ROOT at the same
# path, with the shared libraries and loader it needs: UML's userspace is
# the host's x86_64, so Debian's own binaries (v4l2-compliance) run there.
uml_host_program() {
	local root=$1 prog lib
	prog=$(command -v "$2") || return 1
	cp -L --parents "$prog" "$root/"
	for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do
		cp -L --parents "$lib" "$root/"
	done
	chmod -R a+rX "$root"
}

# Boot ROOT; the console goes to LOG.  Fails when the kernel did not get
# through init's list (crash, hang past TIMEOUT seconds).
uml_boot() {
	local build=$1 root=$2 consolelog=$3 tmo=$4 rc=0
	root=$(cd "$root" && pwd)
	timeout -k 10 "$tmo" "$build/linux" "${UML_ARGS[@]}" \
		rootfstype=hostfs rootflags="$root" \
		< /dev/null > "$consolelog" 2>&1 || rc=$?
	[ -t 0 ] && stty sane 2>/dev/null
	if [ ! -f "$root/results/done" ]; then
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "UML did not finish within ${tmo}s" >&2
		else
			echo "UML stopped before init finished (exit $rc)" >&2
		fi
		tail -30 "$consolelog" >&2
		return 1
	fi
}

# Whether the booted kernel carried our core rather than upstream's.
uml_core_is_ours() {
	grep -q 'dma-buf: clean-room core' "$1"
}
