/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * What dma-resv.c exposes to its KUnit suites only: the one allocator
 * behind every fence list and fence array it allocates, so that a test can
 * make any of those allocations fail (KUNIT_STATIC_STUB_REDIRECT).  A
 * replacement that does not fail must allocate itself, with kmalloc().
 */
#ifndef _DMA_RESV_INTERNAL_H
#define _DMA_RESV_INTERNAL_H

#include <linux/types.h>

#if IS_ENABLED(CONFIG_KUNIT)
void *dma_resv_kmalloc(size_t size, gfp_t gfp);
#endif

#endif /* _DMA_RESV_INTERNAL_H */
