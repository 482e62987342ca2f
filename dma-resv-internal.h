/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * What dma-resv.c shares with its KUnit suites: the one allocator behind
 * every fence list and fence array it allocates.  A thread running a KUnit
 * test goes through dma_resv_kunit_kmalloc(), which the test can redirect
 * (KUNIT_STATIC_STUB_REDIRECT) to make any of those allocations fail; a
 * replacement that does not fail must allocate itself, with kmalloc().
 * Everyone else calls kmalloc() inline.
 */
#ifndef _DMA_RESV_INTERNAL_H
#define _DMA_RESV_INTERNAL_H

#include <kunit/test-bug.h>
#include <linux/slab.h>
#include <linux/types.h>

void *dma_resv_kunit_kmalloc(size_t size, gfp_t gfp);

static __always_inline void *dma_resv_kmalloc(size_t size, gfp_t gfp)
{
	if (kunit_get_current_test())
		return dma_resv_kunit_kmalloc(size, gfp);
	return kmalloc(size, gfp);
}

#endif /* _DMA_RESV_INTERNAL_H */
