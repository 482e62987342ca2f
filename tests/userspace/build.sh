#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the static userspace test programs that run inside a booted UML
# kernel: our tiny init, the dma-buf ABI suite, the import matrix, the
# trace events' suite and the demos, and, given a
# kernel tree, the kernel's own kselftests for the dma-buf exporters.
#
# usage: build.sh OUT_DIR UAPI_INCLUDE_DIR [KERNEL_TREE]
#   UAPI_INCLUDE_DIR: the include/ of a `make headers_install` of the tree
#
# (A shell script rather than a Makefile: this folder is copied into the
# kernel tree as drivers/dma-buf/tests/userspace/, where Kbuild never reads
# it, and no one should mistake it for a Kbuild file.)
set -eu

[ $# -ge 2 ] || { echo "usage: $0 OUT_DIR UAPI_INCLUDE_DIR [KERNEL_TREE]" >&2; exit 2; }
out=$1 inc=$2 tree=${3:-}
src=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}
OURS="-O2 -g -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter -Wno-missing-field-initializers"

[ -f "$inc/linux/dma-buf.h" ] || { echo "no $inc/linux/dma-buf.h: run make headers_install" >&2; exit 2; }
mkdir -p "$out"

build() {	# build NAME SOURCE CFLAGS...
	name=$1 file=$2
	shift 2
	# Rebuild only when a source or the headers changed.
	if [ -x "$out/$name" ] && [ -z "$(find "$file" "$src"/*.h "$inc/linux/dma-buf.h" \
			-newer "$out/$name" 2>/dev/null)" ]; then
		return 0
	fi
	echo "  CC      $name"
	$CC -static "$@" -isystem "$inc" -o "$out/$name" "$file"
}

build init "$src/init.c" $OURS
build dmabuf-abi "$src/dmabuf-abi.c" $OURS
build dmabuf-import "$src/dmabuf-import.c" $OURS
build dmabuf-trace "$src/dmabuf-trace.c" $OURS
build dmabuf-demo "$src/dmabuf-demo.c" $OURS
build dmabuf-pipeline "$src/dmabuf-pipeline.c" $OURS

if [ -n "$tree" ]; then
	st=$tree/tools/testing/selftests
	# The flags their own Makefiles use (udmabuf's adds -static here).
	build dmabuf-heap "$st/dmabuf-heaps/dmabuf-heap.c" -O3 -Wl,-no-as-needed -Wall
	build udmabuf "$st/drivers/dma-buf/udmabuf.c" -O2 -Wall
fi
