/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Reservation objects: the fences and the lock that guard a buffer shared
 * between drivers, engines and processes.
 */
#ifndef _LINUX_RESERVATION_H
#define _LINUX_RESERVATION_H

#include <linux/ww_mutex.h>
#include <linux/dma-fence.h>
#include <linux/slab.h>
#include <linux/seqlock.h>
#include <linux/rcupdate.h>

extern struct ww_class reservation_ww_class;

struct dma_resv_list;

/**
 * enum dma_resv_usage - what the operation behind a fence does to the buffer
 *
 * Every fence in a reservation object is tagged with one of these levels.
 * The levels are ordered KERNEL < WRITE < READ < BOOKKEEP, and a query for
 * one level always includes the levels below it: asking for READ fences
 * yields the READ, WRITE and KERNEL ones.
 *
 * Adding a fence that is already in the object with a lower (stronger)
 * level moves it to that level; a fence is never moved to a higher level.
 */
enum dma_resv_usage {
	/**
	 * @DMA_RESV_USAGE_KERNEL: memory management by the kernel itself,
	 * such as a DMA engine clearing or migrating the buffer.  Every
	 * access to the buffer must wait for these fences first, unless the
	 * buffer is pinned in place.
	 */
	DMA_RESV_USAGE_KERNEL,

	/**
	 * @DMA_RESV_USAGE_WRITE: a userspace submission that writes the
	 * buffer and takes part in implicit synchronization.
	 */
	DMA_RESV_USAGE_WRITE,

	/**
	 * @DMA_RESV_USAGE_READ: a userspace submission that reads the buffer
	 * and takes part in implicit synchronization.
	 */
	DMA_RESV_USAGE_READ,

	/**
	 * @DMA_RESV_USAGE_BOOKKEEP: work that does not take part in implicit
	 * synchronization at all: preemption fences, page table updates, TLB
	 * flushes, explicitly synchronized submissions.  Such a fence can be
	 * promoted later, for instance by dma_buf_import_sync_file().
	 */
	DMA_RESV_USAGE_BOOKKEEP
};

/**
 * dma_resv_usage_rw - the usage level an implicitly synced access waits for
 * @write: true for an access that will write the buffer
 *
 * A writer has to wait for every earlier reader and writer, so it asks for
 * READ (which includes WRITE); a reader only has to wait for earlier
 * writers, so it asks for WRITE.
 *
 * Return: the level to pass to the query and wait functions.
 */
static inline enum dma_resv_usage dma_resv_usage_rw(bool write)
{
	return write ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE;
}

/**
 * struct dma_resv - the fences and lock of one shared buffer
 *
 * The object collects the fences of every operation that uses the buffer,
 * each with its &enum dma_resv_usage, so that later users know what to
 * wait for.  Writers of the fence set hold @lock; readers need only RCU.
 * Buffer managers (TTM, GEM) also use @lock to protect the placement and
 * state of their buffer objects.
 */
struct dma_resv {
	/**
	 * @lock: serializes all changes of the object.  Taken and released
	 * through dma_resv_lock() and dma_resv_unlock() and their variants,
	 * never directly.
	 */
	struct ww_mutex lock;

	/**
	 * @fences: the fence list, replaced under @lock and read under RCU.
	 * Private to dma-resv.c.  dma_resv_add_fence() cannot fail, so
	 * callers make room beforehand with dma_resv_reserve_fences().
	 */
	struct dma_resv_list __rcu *fences;
};

/**
 * struct dma_resv_iter - a cursor over the fences of a reservation object
 *
 * Only the dma_resv_iter_*() functions touch the members.  The unlocked
 * walk may start over when the object changes under it; code that sums
 * up what it sees must check dma_resv_iter_is_restarted() and discard
 * what it collected before.
 */
struct dma_resv_iter {
	/** @obj: the object being walked */
	struct dma_resv *obj;

	/** @usage: the highest usage level to return */
	enum dma_resv_usage usage;

	/** @fence: the fence returned last, referenced in unlocked walks */
	struct dma_fence *fence;

	/** @fence_usage: the usage level of @fence */
	enum dma_resv_usage fence_usage;

	/** @index: the next list position to look at */
	unsigned int index;

	/**
	 * @fences: locked walks: the list being walked; unlocked walks: the
	 * generation of that list, compared and never dereferenced
	 */
	struct dma_resv_list *fences;

	/** @num_fences: the list length when the walk (re)started */
	unsigned int num_fences;

	/** @is_restarted: the walk (re)started with the current fence */
	bool is_restarted;
};

struct dma_fence *dma_resv_iter_first_unlocked(struct dma_resv_iter *cursor);
struct dma_fence *dma_resv_iter_next_unlocked(struct dma_resv_iter *cursor);
struct dma_fence *dma_resv_iter_first(struct dma_resv_iter *cursor);
struct dma_fence *dma_resv_iter_next(struct dma_resv_iter *cursor);

/**
 * dma_resv_iter_begin - set up a cursor
 * @cursor: the cursor
 * @obj: the reservation object to walk
 * @usage: the highest usage level to return, see &enum dma_resv_usage
 *
 * Every cursor set up this way is finished with dma_resv_iter_end().
 */
static inline void dma_resv_iter_begin(struct dma_resv_iter *cursor,
				       struct dma_resv *obj,
				       enum dma_resv_usage usage)
{
	cursor->obj = obj;
	cursor->usage = usage;
	cursor->fence = NULL;
}

/**
 * dma_resv_iter_end - finish with a cursor
 * @cursor: the cursor
 *
 * Drops the reference an unlocked walk still holds on its current fence.
 */
static inline void dma_resv_iter_end(struct dma_resv_iter *cursor)
{
	dma_fence_put(cursor->fence);
}

/**
 * dma_resv_iter_usage - usage level of the cursor's current fence
 * @cursor: the cursor
 *
 * Return: the &enum dma_resv_usage the current fence was added with.
 */
static inline enum dma_resv_usage
dma_resv_iter_usage(struct dma_resv_iter *cursor)
{
	return cursor->fence_usage;
}

/**
 * dma_resv_iter_is_restarted - did the walk start over at this fence
 * @cursor: the cursor
 *
 * Return: true when the current fence is the first of a new pass over the
 * object, the very first one included; everything an unlocked walk
 * returned before it is stale.
 */
static inline bool dma_resv_iter_is_restarted(struct dma_resv_iter *cursor)
{
	return cursor->is_restarted;
}

/**
 * dma_resv_for_each_fence_unlocked - walk the fences without the lock
 * @cursor: a cursor set up with dma_resv_iter_begin()
 * @fence: set to each unsignaled fence in turn
 *
 * Runs under RCU internally, not in the loop body: the body may sleep, and
 * holds a reference to @fence until the next step or dma_resv_iter_end().
 * The walk starts over when the object's fence list is replaced meanwhile
 * (see dma_resv_iter_is_restarted()); prefer dma_resv_for_each_fence()
 * when the lock can be held.  Each macro argument is evaluated once.
 */
#define dma_resv_for_each_fence_unlocked(cursor, fence)			\
	for (struct { struct dma_resv_iter *it; typeof(fence) *f; bool more; } \
	     __resv = { (cursor), &(fence), false };			\
	     (*__resv.f = __resv.more ?					\
			  dma_resv_iter_next_unlocked(__resv.it) :	\
			  dma_resv_iter_first_unlocked(__resv.it));	\
	     __resv.more = true)

/**
 * dma_resv_for_each_fence - walk the fences with the lock held
 * @cursor: a cursor, set up by the macro itself
 * @obj: the reservation object, locked by the caller
 * @usage: the highest usage level to return
 * @fence: set to each fence in turn, signaled ones included
 *
 * No references are taken: the fences stay alive as long as the lock is
 * held.  The walk never restarts, and stays on the list it began with even
 * when the loop body reserves (see dma_resv_iter_first()).  Each macro
 * argument is evaluated once.
 */
#define dma_resv_for_each_fence(cursor, obj, usage, fence)		\
	for (struct { struct dma_resv_iter *it; typeof(fence) *f; bool more; } \
	     __resv = { (cursor), &(fence), false };			\
	     (*__resv.f = __resv.more ?					\
			  dma_resv_iter_next(__resv.it) :		\
			  (dma_resv_iter_begin(__resv.it, obj, usage),	\
			   dma_resv_iter_first(__resv.it)));		\
	     __resv.more = true)

#define dma_resv_held(obj) lockdep_is_held(&(obj)->lock.base)
#define dma_resv_assert_held(obj) lockdep_assert_held(&(obj)->lock.base)

/* Set in &dma_resv.fences while a locked walk of this hold may need it. */
#define DMA_RESV_LIST_WALKED	1UL

void dma_resv_end_locked_walks(struct dma_resv *obj);

#ifdef CONFIG_DEBUG_MUTEXES
void dma_resv_reset_max_fences(struct dma_resv *obj);
#else
static inline void dma_resv_reset_max_fences(struct dma_resv *obj) {}
#endif

/**
 * dma_resv_lock - take the reservation lock
 * @obj: the reservation object
 * @ctx: the acquire context of a multi-object transaction, or NULL
 *
 * Takes @obj's lock, sleeping while someone else holds it.  The lock only
 * excludes other writers; RCU readers of the fences keep running.  Objects
 * locked together in any order share one &struct ww_acquire_ctx (see
 * ww_acquire_init()); a lone object may be locked with a NULL @ctx.
 *
 * Release with dma_resv_unlock().
 *
 * Return: 0 on success; -EALREADY if @ctx already holds @obj; -EDEADLK
 * when an older transaction holds it, in which case the caller releases
 * every lock taken under @ctx and then waits with dma_resv_lock_slow().
 */
static inline int dma_resv_lock(struct dma_resv *obj,
				struct ww_acquire_ctx *ctx)
{
	return ww_mutex_lock(&obj->lock, ctx);
}

/**
 * dma_resv_lock_interruptible - take the reservation lock, or give up on a signal
 * @obj: the reservation object
 * @ctx: the acquire context of a multi-object transaction, or NULL
 *
 * As dma_resv_lock(), but the wait ends when a signal arrives.  After
 * -EDEADLK, back off and use dma_resv_lock_slow_interruptible().
 *
 * Return: 0 on success, -EALREADY, -EDEADLK as for dma_resv_lock(), or
 * -EINTR when interrupted.
 */
static inline int dma_resv_lock_interruptible(struct dma_resv *obj,
					      struct ww_acquire_ctx *ctx)
{
	return ww_mutex_lock_interruptible(&obj->lock, ctx);
}

/**
 * dma_resv_lock_slow - take the contended lock after backing off
 * @obj: the reservation object that returned -EDEADLK
 * @ctx: the acquire context, which must hold no other lock now
 *
 * Sleeps until @obj is free and takes it; cannot fail.
 */
static inline void dma_resv_lock_slow(struct dma_resv *obj,
				      struct ww_acquire_ctx *ctx)
{
	ww_mutex_lock_slow(&obj->lock, ctx);
}

/**
 * dma_resv_lock_slow_interruptible - dma_resv_lock_slow(), or give up on a signal
 * @obj: the reservation object that returned -EDEADLK
 * @ctx: the acquire context, which must hold no other lock now
 *
 * Return: 0 once the lock is held, -EINTR when interrupted.
 */
static inline int dma_resv_lock_slow_interruptible(struct dma_resv *obj,
						   struct ww_acquire_ctx *ctx)
{
	return ww_mutex_lock_slow_interruptible(&obj->lock, ctx);
}

/**
 * dma_resv_trylock - take the reservation lock if it is free
 * @obj: the reservation object
 *
 * Never sleeps and takes no acquire context, so it cannot deadlock; usable
 * where the lock order forbids a sleeping lock, such as in shrinkers.
 *
 * Return: true when the lock is now held by the caller.
 */
static inline bool __must_check dma_resv_trylock(struct dma_resv *obj)
{
	return ww_mutex_trylock(&obj->lock, NULL);
}

/**
 * dma_resv_is_locked - is anyone holding the reservation lock
 * @obj: the reservation object
 *
 * Return: true when the lock is held, by whoever.
 */
static inline bool dma_resv_is_locked(struct dma_resv *obj)
{
	return ww_mutex_is_locked(&obj->lock);
}

/**
 * dma_resv_locking_ctx - the acquire context holding the lock
 * @obj: the reservation object
 *
 * For code (TTM) that needs to know whether the current transaction holds
 * @obj without having the context at hand.
 *
 * Return: the &struct ww_acquire_ctx the lock was taken with, or NULL when
 * it was taken without one or is not held.
 */
static inline struct ww_acquire_ctx *dma_resv_locking_ctx(struct dma_resv *obj)
{
	return READ_ONCE(obj->lock.ctx);
}

/**
 * dma_resv_unlock - release the reservation lock
 * @obj: the reservation object, locked by the caller
 *
 * Slots reserved with dma_resv_reserve_fences() do not outlive the lock
 * hold; with CONFIG_DEBUG_MUTEXES they are forgotten here, so that a
 * missing reservation shows up in testing.  Fence lists that locked walks
 * of this hold kept alive are released.  Always unlock through this
 * function, not ww_mutex_unlock() on @obj->lock: those lists would
 * otherwise stay, with their fences, until a later dma_resv_unlock().
 */
static inline void dma_resv_unlock(struct dma_resv *obj)
{
	dma_resv_reset_max_fences(obj);
	if (unlikely((unsigned long)rcu_access_pointer(obj->fences) &
		     DMA_RESV_LIST_WALKED))
		dma_resv_end_locked_walks(obj);
	ww_mutex_unlock(&obj->lock);
}

void dma_resv_init(struct dma_resv *obj);
void dma_resv_fini(struct dma_resv *obj);
int dma_resv_reserve_fences(struct dma_resv *obj, unsigned int num_fences);
void dma_resv_add_fence(struct dma_resv *obj, struct dma_fence *fence,
			enum dma_resv_usage usage);
void dma_resv_replace_fences(struct dma_resv *obj, uint64_t context,
			     struct dma_fence *fence,
			     enum dma_resv_usage usage);
int dma_resv_get_fences(struct dma_resv *obj, enum dma_resv_usage usage,
			unsigned int *num_fences, struct dma_fence ***fences);
int dma_resv_get_singleton(struct dma_resv *obj, enum dma_resv_usage usage,
			   struct dma_fence **fence);
int dma_resv_copy_fences(struct dma_resv *dst, struct dma_resv *src);
long dma_resv_wait_timeout(struct dma_resv *obj, enum dma_resv_usage usage,
			   bool intr, unsigned long timeout);
void dma_resv_set_deadline(struct dma_resv *obj, enum dma_resv_usage usage,
			   ktime_t deadline);
bool dma_resv_test_signaled(struct dma_resv *obj, enum dma_resv_usage usage);
void dma_resv_describe(struct dma_resv *obj, struct seq_file *seq);

#endif /* _LINUX_RESERVATION_H */
