/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The holder tracker (CONFIG_DMABUF_DEBUG_HOLDERS): who holds each
 * reference and resource the core hands out, with the stack that took it.
 * The core calls these at every hand-out and give-back; with the option
 * off they are empty inlines and struct dma_buf_core has no tracker.
 * Drivers never include this.  The hooks may run in any context but NMI:
 * they take a spinlock with interrupts off and never sleep.
 */
#ifndef _DMA_BUF_HOLDERS_H
#define _DMA_BUF_HOLDERS_H

#include <linux/errno.h>
#include <linux/types.h>

struct dma_buf;
struct seq_file;

/*
 * What a holder holds.  @key below tells two holders of one kind apart
 * where the core can: the attachment for ATTACH and PIN, the sg_table for
 * MAP, DMA_BUF_HOLD_CPU_KEY() of the direction for CPU, the buffer for
 * VMAP; NULL where the
 * resource is anonymous (REF: file references are not named by the
 * callers that drop them, so gets and puts are recorded per stack and the
 * listing shows both; FD and MMAP: we never see close() or munmap(), so
 * they are only ever taken).
 */
enum dma_buf_hold_kind {
	DMA_BUF_HOLD_REF,	/* dma_buf_get(), get_dma_buf(), the export's */
	DMA_BUF_HOLD_FD,	/* dma_buf_fd() */
	DMA_BUF_HOLD_MMAP,	/* mmap of the fd, dma_buf_mmap() */
	DMA_BUF_HOLD_ATTACH,	/* dma_buf_attach(), dma_buf_dynamic_attach() */
	DMA_BUF_HOLD_MAP,	/* dma_buf_map_attachment{,_unlocked}() */
	DMA_BUF_HOLD_PIN,	/* dma_buf_pin() */
	DMA_BUF_HOLD_VMAP,	/* dma_buf_vmap{,_unlocked}() */
	DMA_BUF_HOLD_CPU,	/* dma_buf_begin_cpu_access() */
	DMA_BUF_HOLD_KINDS	/* to dma_buf_holders_report(): every kind */
};

/* A CPU access's key: never NULL, which reports take as "every key". */
#define DMA_BUF_HOLD_CPU_KEY(dir) ((const void *)(uintptr_t)((dir) + 1))

#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)

#include <linux/list.h>
#include <linux/ratelimit_types.h>
#include <linux/spinlock.h>

/* Per buffer, in struct dma_buf_core.  Owned by dma-buf-holders.c. */
struct dma_buf_holders {
	spinlock_t lock;	/* protects everything below */
	/* struct dma_buf_holder records of what is held, newest first */
	struct list_head held;
	/* the last few given back, newest first, for unbalanced give-backs */
	struct list_head gone;
	unsigned int gone_count;
	/*
	 * Holds of each kind whose record could not be allocated, less the
	 * give-backs that found no record (they may have been these).
	 */
	unsigned int lost[DMA_BUF_HOLD_KINDS];
	/* Userspace can make reports at will (a sync end without start). */
	struct ratelimit_state reports;
};

void dma_buf_holders_init(struct dma_buf *dmabuf);
void dma_buf_holders_fini(struct dma_buf *dmabuf);
void dma_buf_hold(struct dma_buf *dmabuf, enum dma_buf_hold_kind kind,
		  const void *key);
bool dma_buf_unhold(struct dma_buf *dmabuf, enum dma_buf_hold_kind kind,
		    const void *key);
void dma_buf_holders_report(struct dma_buf *dmabuf,
			    enum dma_buf_hold_kind kind, const void *key);
void dma_buf_holders_forget(struct dma_buf *dmabuf, const void *key);
void dma_buf_holders_show(struct seq_file *s, struct dma_buf *dmabuf);
/* Exported to KUnit only: the listing into a string, the records' allocator. */
int dma_buf_holders_snprint(struct dma_buf *dmabuf, char *buf, size_t size);
void *dma_buf_holders_kunit_alloc(size_t size, gfp_t gfp);

#else

static inline void dma_buf_holders_init(struct dma_buf *dmabuf) { }
static inline void dma_buf_holders_fini(struct dma_buf *dmabuf) { }
static inline void dma_buf_hold(struct dma_buf *dmabuf,
				enum dma_buf_hold_kind kind, const void *key) { }
static inline bool dma_buf_unhold(struct dma_buf *dmabuf,
				  enum dma_buf_hold_kind kind, const void *key)
{
	return true;
}

static inline void dma_buf_holders_report(struct dma_buf *dmabuf,
					  enum dma_buf_hold_kind kind,
					  const void *key) { }
static inline void dma_buf_holders_forget(struct dma_buf *dmabuf,
					  const void *key) { }
static inline int dma_buf_holders_snprint(struct dma_buf *dmabuf, char *buf,
					  size_t size)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_DMABUF_DEBUG_HOLDERS */

#endif /* _DMA_BUF_HOLDERS_H */
