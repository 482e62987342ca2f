/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the parts of the dma-buf core share with each other: dma-buf.c (the
 * kernel API, the pseudo filesystem and the buffer registry),
 * dma-buf-file.c (what userspace does with the fd) and dma-buf-debugfs.c.
 * Drivers never include this.
 */
#ifndef _DMA_BUF_INTERNAL_H
#define _DMA_BUF_INTERNAL_H

#include <kunit/test-bug.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/types.h>

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>

#include "dma-buf-holders.h"

/*
 * Each buffer is one of these.  struct dma_buf keeps 6.12's members only;
 * what the core needs besides lives here, around it, where no driver sees
 * it.
 */
struct dma_buf_core {
	struct dma_buf buf;
	/*
	 * The fence each poll callback (cb_in, cb_out) was last armed on,
	 * with the reference taken for arming.  It stays here after the
	 * callback ran, so that the callback never drops it; the next poll
	 * or the release does.  Under the reservation lock.
	 */
	struct dma_fence *poll_fence_in, *poll_fence_out;
	/*
	 * Whether buf.resv is @resv below, made by the core.  A flag, not a
	 * comparison of addresses: whatever an exporter's reservation object
	 * is next to, it can never be taken for ours.
	 */
	bool owns_resv;
#if IS_ENABLED(CONFIG_DEBUG_FS)
	/* Released: listings step over it.  Under the registry list's mutex. */
	bool unlisting;
	/* Which per-CPU registry list holds the buffer. */
	u16 registry_cpu;
	/* Listings looking at the buffer, under the registry list's mutex. */
	unsigned int walkers;
#endif
#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
	/* Who holds what of this buffer (dma-buf-holders.c). */
	struct dma_buf_holders holders;
#endif
	/*
	 * The reservation object of a buffer whose exporter brings none.
	 * Last, so that buffers with the exporter's are allocated without it.
	 */
	struct dma_resv resv;
};

static inline struct dma_buf_core *dma_buf_core(struct dma_buf *buf)
{
	return container_of(buf, struct dma_buf_core, buf);
}

/* The slot of poll callback @dcb's fence (see struct dma_buf_core). */
static inline struct dma_fence **
dma_buf_poll_fence(struct dma_buf *buf, struct dma_buf_poll_cb_t *dcb)
{
	struct dma_buf_core *core = dma_buf_core(buf);

	return dcb == &buf->cb_in ? &core->poll_fence_in :
				    &core->poll_fence_out;
}

/*
 * dma-buf.c: every allocation the core makes for buffers, attachments and
 * names goes through dma_buf_cache_zalloc() or dma_buf_kzalloc(), and every
 * buffer file is made by dma_buf_alloc_file(), so that KUnit can make any
 * one of them fail (KUNIT_STATIC_STUB_REDIRECT on dma_buf_kunit_kzalloc()
 * and dma_buf_alloc_file()).  Both are exported only to KUnit.
 * dma_buf_kunit_kzalloc() allocates from @cache, or @size bytes from
 * kmalloc when @cache is NULL.
 */
void *dma_buf_kunit_kzalloc(struct kmem_cache *cache, size_t size, gfp_t gfp);
struct file *dma_buf_alloc_file(struct dma_buf *dmabuf, int flags);

/*
 * Inline, so that kzalloc() sees the constant size and picks its cache at
 * build time; only a thread running a KUnit test takes the out-of-line
 * path that the test can redirect.
 */
static __always_inline void *dma_buf_kzalloc(size_t size, gfp_t gfp)
{
	if (kunit_get_current_test())
		return dma_buf_kunit_kzalloc(NULL, size, gfp);
	return kzalloc(size, gfp);
}

static __always_inline void *dma_buf_cache_zalloc(struct kmem_cache *cache,
						  gfp_t gfp)
{
	if (kunit_get_current_test())
		return dma_buf_kunit_kzalloc(cache, kmem_cache_size(cache),
					     gfp);
	return kmem_cache_zalloc(cache, gfp);
}

/* dma-buf-file.c */
extern const struct file_operations dma_buf_fops;

/*
 * dma-buf.c: the file's ->release calls this once, when the last reference
 * to the file is gone.  The buffer leaves the registry here; it is freed
 * later, when its dentry goes.
 */
void dma_buf_file_closed(struct dma_buf *dmabuf);

/*
 * dma-buf.c: call @fn for every buffer in the registry, in no particular
 * order.  @fn may sleep and may take the buffer's reservation lock; the
 * buffer cannot be freed while @fn runs on it, because its release waits
 * for the walk to leave it.  Buffers exported or released during the walk
 * may or may not be seen.  @fn must not drop the last reference to any
 * buffer.  A non-zero return from @fn ends the walk and
 * is returned; so is -EINTR when a signal interrupts the wait for a list.
 */
int dma_buf_for_each(int (*fn)(struct dma_buf *dmabuf, void *data),
		     void *data);

/* dma-buf-debugfs.c: the dma_buf/bufinfo listing. */
#ifdef CONFIG_DEBUG_FS
int dma_buf_debugfs_init(void);
void dma_buf_debugfs_exit(void);
#else
static inline int dma_buf_debugfs_init(void) { return 0; }
static inline void dma_buf_debugfs_exit(void) { }
#endif

static inline bool is_dma_buf_file_op(const struct file *file)
{
	return file->f_op == &dma_buf_fops;
}

#endif /* _DMA_BUF_INTERNAL_H */
