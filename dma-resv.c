// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Reservation objects: the fence set and ww_mutex that every shared buffer
 * carries.
 */

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-resv.h>
#include <linux/export.h>
#include <linux/fs.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <trace/events/dma_buf.h>

#include "dma-resv-internal.h"

/**
 * DOC: Reservation Object Overview
 *
 * A reservation object (&struct dma_resv) records which operations are
 * using a buffer: every operation is represented by a &struct dma_fence,
 * stored with an &enum dma_resv_usage that says whether it writes, reads,
 * manages or merely accounts for the buffer.  Whoever wants to use the
 * buffer next picks the fences it must wait for by usage level.
 *
 * Changing the fence set requires the object's ww_mutex, taken with
 * dma_resv_lock() (or one of its variants) and released with
 * dma_resv_unlock().  Reading it does not: dma_resv_for_each_fence_unlocked(),
 * dma_resv_test_signaled(), dma_resv_wait_timeout() and the other queries
 * run under RCU and hold a reference to each fence they hand out.
 *
 * Adding a fence cannot fail, because it usually happens after a job has
 * been committed to the hardware.  The memory for it is therefore reserved
 * first, with dma_resv_reserve_fences(), during the same lock hold.  A
 * fence whose context already has a fence in the object replaces that one
 * when it is later on their shared timeline, and slots of signaled fences
 * are reused, so the object stays as small as its set of pending work.
 *
 * Lock order, taught to lockdep at boot: the mmap lock, then reservation
 * locks, then memory reclaim (so allocating with GFP_KERNEL under a
 * reservation lock is fine, while reclaim may only trylock one), then MMU
 * notifier invalidation and waiting for fences.
 */

/*
 * The fence list.  Entry i packs a fence pointer with its usage level in the
 * low bits, so that a reader sees both change at once.  Entries below @len
 * are in use and each holds a reference to its fence.
 *
 * Readers walk a list under RCU without any lock.  To keep them from
 * missing a fence, writers never move entries: they rewrite one in place
 * (reusing the slot of a signaled fence, or one whose fence a later fence
 * of the same context supersedes) or store a new one past the end before
 * publishing the longer @len.  Dropping signaled fences for good happens
 * only when the list is copied into a new one, which is published as a
 * whole; readers notice the new list and start over.
 *
 * @max is how far appends may go: what the allocation holds until
 * dma_resv_reset_max_fences() lowers it to @len at unlock (debug builds), so
 * that the next hold's reservation has to allocate, as in 6.12.  Lists are
 * sized as 6.12 sizes its own (see list_alloc()), which decides when
 * signaled fences are pruned; locked walks and bufinfo show that moment.
 *
 * @gen tells lists apart where their addresses cannot: an unlocked reader
 * that slept holding a fence may come back to a list that kmalloc() gave
 * the address of the one it left.  Each new list of an object gets the
 * previous list's @gen plus one, and an object that had a list never goes
 * back to none (an emptied list is bumped in place instead), so a value
 * returns for the same object only after 2^32 lists.  On 64-bit the cursor
 * also keeps the low half of the list's address (list_id()), so only a
 * reader that slept through 2^32 lists and then found its list's address
 * again is fooled; even that one never reads past the list's length.
 *
 * @retired chains the lists replaced while a locked walk of this lock hold
 * may still be on them; they keep their fence references until the unlock.
 *
 * The header is as big as 6.12's, so that the capacity 6.12 gives a list
 * (which fills its kmalloc bucket) lands in the same bucket here.  @retired
 * and @max share the storage of @rcu: only writers read them, under the
 * lock, and never after the list went to kfree_rcu().  Unlocked readers
 * read @len and @gen, which therefore stay outside it.
 */
struct dma_resv_list {
	union {
		struct rcu_head rcu;
		struct {
			struct dma_resv_list *retired;
			u32 max;
		};
	};
	u32 len;
	u32 gen;
	unsigned long ent[];
};

static_assert(sizeof(struct dma_resv_list) ==
	      sizeof(struct rcu_head) + 2 * sizeof(u32));

#define RESV_USAGE_MASK		3UL

static_assert(DMA_RESV_USAGE_BOOKKEEP <= RESV_USAGE_MASK);
static_assert(__alignof__(struct dma_fence) > RESV_USAGE_MASK);
static_assert(__alignof__(struct dma_resv_list) > DMA_RESV_LIST_WALKED);

DEFINE_WD_CLASS(reservation_ww_class);
EXPORT_SYMBOL(reservation_ww_class);

static inline struct dma_fence *ent_fence(unsigned long ent)
{
	return (struct dma_fence *)(ent & ~RESV_USAGE_MASK);
}

static inline enum dma_resv_usage ent_usage(unsigned long ent)
{
	return ent & RESV_USAGE_MASK;
}

static inline unsigned long ent_pack(struct dma_fence *fence,
				     enum dma_resv_usage usage)
{
	return (unsigned long)fence | usage;
}

/* Publish an entry: the fence must be fully visible to whoever loads it. */
static inline void ent_store(struct dma_resv_list *fl, unsigned int i,
			     struct dma_fence *fence, enum dma_resv_usage usage)
{
	/* Pairs with the address dependency of READ_ONCE() in iter_scan(). */
	smp_store_release(&fl->ent[i], ent_pack(fence, usage));
}

/* Signaled as far as anyone has noticed: a flag test, no callbacks. */
static inline bool fence_known_signaled(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags);
}

/*
 * @obj->fences carries DMA_RESV_LIST_WALKED in its low bit while a locked
 * walk of the current lock hold may be on one of the object's lists.
 */
static inline struct dma_resv_list *list_untag(struct dma_resv_list *fl)
{
	return (struct dma_resv_list *)((unsigned long)fl &
					~DMA_RESV_LIST_WALKED);
}

static inline struct dma_resv_list *resv_list(struct dma_resv *obj)
{
	return list_untag(rcu_dereference_protected(obj->fences,
						    dma_resv_held(obj)));
}

static inline struct dma_resv_list *resv_list_rcu(struct dma_resv *obj)
{
	return list_untag(rcu_dereference(obj->fences));
}

static inline bool resv_walked(struct dma_resv *obj)
{
	return (unsigned long)rcu_access_pointer(obj->fences) &
	       DMA_RESV_LIST_WALKED;
}

/*
 * What an unlocked cursor keeps of its list (0: none): the generation and,
 * where a long has room for it, the low half of the list's address.
 */
static inline unsigned long list_id(const struct dma_resv_list *fl)
{
	unsigned long id;

	if (!fl)
		return 0;
	/*
	 * Acquire: a list emptied in place stores its new generation after
	 * its zero length, so whoever sees the generation sees the length.
	 */
	id = smp_load_acquire(&fl->gen);
#if BITS_PER_LONG == 64
	id |= (unsigned long)fl << 32;
#endif
	return id;
}

/* Never 0, which stands for "no list", even after a wrap. */
static inline u32 list_next_gen(u32 gen)
{
	return gen + 1 ?: 1;
}

/* The out-of-line half of dma_resv_kmalloc(), which KUnit can redirect. */
void *dma_resv_kunit_kmalloc(size_t size, gfp_t gfp)
{
	KUNIT_STATIC_STUB_REDIRECT(dma_resv_kunit_kmalloc, size, gfp);
	return kmalloc(size, gfp);
}
EXPORT_SYMBOL_IF_KUNIT(dma_resv_kunit_kmalloc);

#define RESV_LIST_MAX	((KMALLOC_MAX_SIZE - sizeof(struct dma_resv_list)) / \
			 sizeof(unsigned long))

/*
 * How many fences 6.12 fits into a list asked for @want: all of the kmalloc
 * bucket behind its header, which is as big as ours.  Lists fill up, and
 * signaled fences get pruned, when they do in 6.12.
 */
static size_t list_capacity(size_t want)
{
	const size_t hdr = sizeof(struct dma_resv_list);

	return (kmalloc_size_roundup(hdr + want * sizeof(void *)) - hdr) /
	       sizeof(void *);
}

/* A list for at least @want entries, not yet published. */
static struct dma_resv_list *list_alloc(size_t want, gfp_t gfp)
{
	struct dma_resv_list *fl;
	size_t max;

	/* Callers made sure that what they need fits; doubling may not. */
	want = min_t(size_t, want, RESV_LIST_MAX);
	max = min_t(size_t, list_capacity(want), RESV_LIST_MAX);
	fl = dma_resv_kmalloc(struct_size(fl, ent, max), gfp);
	if (!fl)
		return NULL;
	fl->len = 0;
	fl->max = max;
	fl->retired = NULL;
	return fl;
}

/* Drop the references a list holds; its entries stay as they are. */
static void list_drop_fences(struct dma_resv_list *fl)
{
	u32 i;

	for (i = 0; i < fl->len; i++)
		dma_fence_put(ent_fence(fl->ent[i]));
}

/* Retire a list that readers may still be walking. */
static void list_release(struct dma_resv_list *fl)
{
	list_drop_fences(fl);
	kfree_rcu(fl, rcu);
}

/* Free a list that was never published. */
static void list_discard(struct dma_resv_list *fl)
{
	list_drop_fences(fl);
	kfree(fl);
}

/* Release @fl and the lists retired behind it. */
static void list_release_chain(struct dma_resv_list *fl)
{
	while (fl) {
		struct dma_resv_list *next = fl->retired;

		list_release(fl);
		fl = next;
	}
}

/*
 * Make @new, filled and holding its own references, @obj's list in place of
 * @old.  Returns @old when the caller is to release it; NULL when a locked
 * walk may still be on it, in which case it waits, with its references,
 * for dma_resv_end_locked_walks() at unlock.
 */
static struct dma_resv_list *resv_publish(struct dma_resv *obj,
					  struct dma_resv_list *old,
					  struct dma_resv_list *new)
{
	unsigned long walked = resv_walked(obj) ? DMA_RESV_LIST_WALKED : 0;

	new->gen = list_next_gen(old ? old->gen : 0);
	if (walked)
		new->retired = old;
	rcu_assign_pointer(obj->fences,
			   (struct dma_resv_list *)((unsigned long)new | walked));
	return walked ? NULL : old;
}

/**
 * dma_resv_init - set up a reservation object
 * @obj: the object, in memory owned by the caller
 *
 * The object starts unlocked and without fences.  Context: any context
 * that may call ww_mutex_init().
 */
void dma_resv_init(struct dma_resv *obj)
{
	ww_mutex_init(&obj->lock, &reservation_ww_class);
	RCU_INIT_POINTER(obj->fences, NULL);
}
EXPORT_SYMBOL(dma_resv_init);

/**
 * dma_resv_fini - tear down a reservation object
 * @obj: the object; unlocked, and no longer reachable by anyone else
 *
 * Drops the object's references to its fences.  The fence list itself is
 * freed after an RCU grace period, so a reader that found the object under
 * RCU just before may finish its walk.
 */
void dma_resv_fini(struct dma_resv *obj)
{
	struct dma_resv_list *fl;

	fl = list_untag(rcu_dereference_protected(obj->fences, 1));
	RCU_INIT_POINTER(obj->fences, NULL);
	list_release_chain(fl);
	ww_mutex_destroy(&obj->lock);
}
EXPORT_SYMBOL(dma_resv_fini);

/*
 * The size 6.12 gives the list that makes room for @extra more fences:
 * double a list that is full, or start at four.
 */
static size_t resv_grow_target(const struct dma_resv_list *fl,
			       unsigned int extra)
{
	if (fl && fl->max)
		return max_t(size_t, (size_t)fl->len + extra,
			     2 * (size_t)fl->max);
	return max_t(size_t, 4, roundup_pow_of_two(extra));
}

/*
 * Replace @obj's list by one of @want entries, leaving out the signaled
 * fences.
 */
static int resv_grow(struct dma_resv *obj, struct dma_resv_list *old,
		     size_t want, gfp_t gfp)
{
	struct dma_resv_list *new;
	bool walked = resv_walked(obj);
	u32 i, j;

	new = list_alloc(want, gfp);
	if (!new)
		return -ENOMEM;

	for (i = 0; old && i < old->len; i++) {
		struct dma_fence *fence = ent_fence(old->ent[i]);

		if (dma_fence_is_signaled(fence))
			continue;
		new->ent[new->len++] = old->ent[i];
		/* A walked list keeps its references until the unlock. */
		if (walked)
			dma_fence_get(fence);
	}
	old = resv_publish(obj, old, new);
	if (!old)
		return 0;

	/*
	 * Only now that no reader can find them anymore, drop the fences that
	 * stayed behind; the others' references moved along.  The new list is
	 * a subsequence of the old one, so a single pass over both tells which.
	 */
	for (i = 0, j = 0; i < old->len; i++) {
		if (j < new->len && new->ent[j] == old->ent[i])
			j++;
		else
			dma_fence_put(ent_fence(old->ent[i]));
	}
	kfree_rcu(old, rcu);
	return 0;
}

/**
 * dma_resv_reserve_fences - make room for fences about to be added
 * @obj: the reservation object, locked by the caller
 * @num_fences: how many fences the caller may add; must not be 0
 *
 * Guarantees that the next @num_fences calls of dma_resv_add_fence() on
 * @obj, within this lock hold, find a slot without allocating.  Calls do
 * not add up: each one makes sure of @num_fences free slots from the
 * current state.  When the list has no room, it is replaced by a bigger one
 * without the signaled fences.  The reservation ends with the lock hold;
 * with CONFIG_DEBUG_MUTEXES, dma_resv_unlock() forgets it, so that the next
 * reservation allocates and a caller relying on an older one is caught.
 *
 * Context: process context, may sleep and allocate (GFP_KERNEL), with the
 * reservation lock held.
 *
 * Return: 0 on success, -EINVAL (and a WARN) for @num_fences == 0, or
 * -ENOMEM; @obj is unchanged on failure.
 */
int dma_resv_reserve_fences(struct dma_resv *obj, unsigned int num_fences)
{
	struct dma_resv_list *fl;

	dma_resv_assert_held(obj);
	/*
	 * Most calls find room and never allocate, so in production the
	 * check would only add a voluntary resched point to every submission;
	 * debug kernels still catch callers that could not allocate.
	 */
	if (IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP) || IS_ENABLED(CONFIG_LOCKDEP))
		might_alloc(GFP_KERNEL);

	/* Reserving nothing means the caller got its own count wrong. */
	if (WARN_ON(num_fences == 0))
		return -EINVAL;

	fl = resv_list(obj);
	if (fl && num_fences <= fl->max - fl->len)
		return 0;
	if (num_fences > RESV_LIST_MAX - (fl ? fl->len : 0))
		return -ENOMEM;
	return resv_grow(obj, fl, resv_grow_target(fl, num_fences), GFP_KERNEL);
}
EXPORT_SYMBOL(dma_resv_reserve_fences);

#ifdef CONFIG_DEBUG_MUTEXES
/**
 * dma_resv_reset_max_fences - forget the slots reserved during this hold
 * @obj: the reservation object, locked by the caller
 *
 * Called by dma_resv_unlock() in CONFIG_DEBUG_MUTEXES builds, so that
 * adding a fence requires a dma_resv_reserve_fences() in the same lock
 * hold, which then allocates a new list.
 */
void dma_resv_reset_max_fences(struct dma_resv *obj)
{
	struct dma_resv_list *fl = resv_list(obj);

	dma_resv_assert_held(obj);
	if (fl)
		fl->max = fl->len;
}
EXPORT_SYMBOL(dma_resv_reset_max_fences);
#endif

/**
 * dma_resv_end_locked_walks - release what this hold's locked walks needed
 * @obj: the reservation object, locked by the caller
 *
 * Called by dma_resv_unlock() when a locked walk ran during the hold: the
 * lists replaced since then, kept with their fence references because a
 * walk may still have been on them, are released.
 */
void dma_resv_end_locked_walks(struct dma_resv *obj)
{
	struct dma_resv_list *fl = resv_list(obj), *chain;

	dma_resv_assert_held(obj);
	chain = fl->retired;
	fl->retired = NULL;
	/* Readers load the pointer concurrently: publish, even if only a bit. */
	rcu_assign_pointer(obj->fences, fl);
	list_release_chain(chain);
}
EXPORT_SYMBOL(dma_resv_end_locked_walks);

/*
 * A driver added a fence it had not reserved a slot for.  Keep the object
 * consistent and the fence waited for: allocate without sleeping, or as a
 * last resort wait for the fence so that leaving it out loses nothing.
 */
static void resv_add_unreserved(struct dma_resv *obj, struct dma_fence *fence,
				enum dma_resv_usage usage)
{
	struct dma_resv_list *fl = resv_list(obj);

	WARN(1, "dma-resv: fence added without dma_resv_reserve_fences()\n");
	if (resv_grow(obj, fl, resv_grow_target(fl, 1),
		      GFP_NOWAIT | __GFP_NOWARN)) {
		dma_fence_wait(fence, false);
		return;
	}
	fl = resv_list(obj);
	ent_store(fl, fl->len, dma_fence_get(fence), usage);
	/* The entry before the length: pairs with iter_restart(). */
	smp_store_release(&fl->len, fl->len + 1);
}

/**
 * dma_resv_add_fence - add a fence to a reservation object
 * @obj: the reservation object, locked by the caller
 * @fence: the fence; the object takes its own reference
 * @usage: what the fence's operation does with the buffer
 *
 * @fence takes the first slot whose fence is signaled, or is of @fence's
 * context, not later than @fence on that timeline and of the same or a
 * higher usage level; otherwise it is appended, into a slot reserved with
 * dma_resv_reserve_fences() during this lock hold.  So adding a fence that
 * is already in @obj with a lower level moves it there, while adding it
 * with a higher level adds a second entry.  Adding without a reservation
 * is a driver bug and WARNs; the object stays consistent.  Container fences
 * (arrays, chains) WARN too, since drivers are to add their components,
 * but are added all the same, so that later users still wait for them.
 *
 * Context: any context with the reservation lock held; does not sleep,
 * except to wait for @fence when it has no reserved slot and no memory.
 */
void dma_resv_add_fence(struct dma_resv *obj, struct dma_fence *fence,
			enum dma_resv_usage usage)
{
	struct dma_resv_list *fl;
	u32 i, len;

	dma_resv_assert_held(obj);
	WARN_ON(dma_fence_is_container(fence));
	if (WARN_ON(usage > DMA_RESV_USAGE_BOOKKEEP))
		usage = DMA_RESV_USAGE_KERNEL;

	fl = resv_list(obj);
	len = fl ? fl->len : 0;
	for (i = 0; i < len; i++) {
		unsigned long ent = fl->ent[i];
		struct dma_fence *old = ent_fence(ent);

		if ((old->context == fence->context && ent_usage(ent) >= usage &&
		     dma_fence_is_later_or_same(fence, old)) ||
		    dma_fence_is_signaled(old)) {
			ent_store(fl, i, dma_fence_get(fence), usage);
			dma_fence_put(old);
			return;
		}
	}

	if (unlikely(!fl || len >= fl->max)) {
		resv_add_unreserved(obj, fence, usage);
		return;
	}
	ent_store(fl, len, dma_fence_get(fence), usage);
	/* The entry before the length: pairs with iter_restart(). */
	smp_store_release(&fl->len, len + 1);
}
EXPORT_SYMBOL(dma_resv_add_fence);

/**
 * dma_resv_replace_fences - swap out every fence of one context
 * @obj: the reservation object, locked by the caller
 * @context: the fence context whose fences go
 * @fence: the fence that takes their slots (a reference per slot is taken)
 * @usage: the usage level of the replacement
 *
 * Only correct when the operations behind the replaced fences can no longer
 * touch the buffer once @fence signals; for instance when a page table
 * update that unmaps the buffer replaces a preemption fence.  Does not
 * allocate and never fails.  May be called from inside a locked walk with
 * dma_resv_for_each_fence().
 *
 * Context: any context with the reservation lock held.
 */
void dma_resv_replace_fences(struct dma_resv *obj, uint64_t context,
			     struct dma_fence *fence,
			     enum dma_resv_usage usage)
{
	struct dma_resv_list *fl;
	u32 i;

	dma_resv_assert_held(obj);
	fl = resv_list(obj);
	for (i = 0; fl && i < fl->len; i++) {
		struct dma_fence *cur = ent_fence(fl->ent[i]);

		if (cur->context != context)
			continue;
		ent_store(fl, i, dma_fence_get(fence), usage);
		dma_fence_put(cur);
	}
}
EXPORT_SYMBOL(dma_resv_replace_fences);

/*
 * Unlocked walks.  The cursor's @fences holds the list's generation, not
 * its address: between two steps the walker may sleep, its list may be
 * freed and a later one may get the same address.  It is only compared
 * with the generation of the list the object has at the next step.
 */
static void iter_restart(struct dma_resv_iter *it, struct dma_resv_list *fl)
{
	it->fences = (struct dma_resv_list *)list_id(fl);
	/* Entries below the length are complete: pairs with the appends. */
	it->num_fences = fl ? smp_load_acquire(&fl->len) : 0;
	it->index = 0;
	it->is_restarted = true;
}

/*
 * Under RCU: is @fl, the object's list when the walk went on, no longer the
 * cursor's?  Either the object has another one, or @fl was emptied in place.
 */
static bool iter_stale(struct dma_resv_iter *it, struct dma_resv_list *fl)
{
	return resv_list_rcu(it->obj) != fl ||
	       list_id(fl) != (unsigned long)it->fences ||
	       (fl && it->num_fences > READ_ONCE(fl->len));
}

/*
 * Under RCU: a fence the cursor's usage level leaves out is still asked
 * whether it is done, as 6.12's walk asks every fence it passes, so that
 * a fence only its ->signaled hook knows to be complete gets signaled (and
 * its callbacks run) by any walk over it.  Fences without the hook can only
 * be signaled by their driver: nothing to ask, no reference to take.
 */
static void iter_poll_filtered(struct dma_fence *fence)
{
	if (!fence->ops->signaled || !dma_fence_get_rcu(fence))
		return;
	dma_fence_is_signaled(fence);
	dma_fence_put(fence);
}

/*
 * Under RCU: the next pending fence of @fl from the cursor's position, with
 * a reference, or NULL at the end, or an error pointer when the list was
 * replaced under us.  Fences known to be signaled are skipped before
 * their reference count is touched.
 */
static struct dma_fence *iter_scan(struct dma_resv_iter *it,
				   struct dma_resv_list *fl)
{
	while (it->index < it->num_fences) {
		unsigned long ent = READ_ONCE(fl->ent[it->index]);
		struct dma_fence *fence = ent_fence(ent);

		if (fence_known_signaled(fence)) {
			it->index++;
			continue;
		}
		if (ent_usage(ent) > it->usage) {
			iter_poll_filtered(fence);
			it->index++;
			continue;
		}
		if (!dma_fence_get_rcu(fence)) {
			/*
			 * The fence is being freed, so its slot was rewritten
			 * or the whole list replaced or emptied: look again,
			 * after the failed refcount read.
			 */
			smp_rmb();
			if (iter_stale(it, fl))
				return ERR_PTR(-EAGAIN);
			continue;
		}
		it->index++;
		if (unlikely(dma_fence_is_signaled(fence))) {
			dma_fence_put(fence);
			continue;
		}
		it->fence = fence;
		it->fence_usage = ent_usage(ent);
		return fence;
	}
	return NULL;
}

/* Under RCU: continue the walk, starting over whenever the list changed. */
static struct dma_fence *iter_walk(struct dma_resv_iter *it)
{
	struct dma_resv_list *fl;
	struct dma_fence *fence;

	for (;;) {
		fl = resv_list_rcu(it->obj);
		/*
		 * An identity only repeats after the generation wrapped (2^32
		 * new lists); even then the cursor never reads past the end.
		 */
		if (list_id(fl) != (unsigned long)it->fences ||
		    (fl && it->num_fences > READ_ONCE(fl->len)))
			iter_restart(it, fl);
		fence = iter_scan(it, fl);
		if (IS_ERR(fence))
			continue;
		/* Do not end the walk on a list that is already stale. */
		if (!fence && iter_stale(it, fl))
			continue;
		return fence;
	}
}

/**
 * dma_resv_iter_first_unlocked - start an unlocked walk
 * @it: a cursor set up with dma_resv_iter_begin()
 *
 * Usually called through dma_resv_for_each_fence_unlocked().  Only fences
 * that are not signaled yet, at or below the cursor's usage level, are
 * returned.  The caller holds no lock; the walk takes the RCU read lock
 * internally.
 *
 * Return: the first such fence, referenced until the next step or
 * dma_resv_iter_end(), or NULL when there is none.
 */
struct dma_fence *dma_resv_iter_first_unlocked(struct dma_resv_iter *it)
{
	struct dma_fence *fence;

	dma_fence_put(it->fence);
	it->fence = NULL;
	rcu_read_lock();
	iter_restart(it, resv_list_rcu(it->obj));
	/*
	 * A published list only grows, or is emptied in place under a new
	 * generation, so an empty one was empty when we found it in the
	 * object: nothing to walk, nothing to recheck.
	 */
	fence = it->num_fences ? iter_walk(it) : NULL;
	rcu_read_unlock();
	return fence;
}
EXPORT_SYMBOL(dma_resv_iter_first_unlocked);

/**
 * dma_resv_iter_next_unlocked - continue an unlocked walk
 * @it: a cursor started with dma_resv_iter_first_unlocked()
 *
 * Drops the reference to the previous fence.  When the object's fence
 * list was replaced since the previous step, the walk starts over from the
 * beginning and dma_resv_iter_is_restarted() says so.
 *
 * Return: the next pending fence, referenced, or NULL at the end.
 */
struct dma_fence *dma_resv_iter_next_unlocked(struct dma_resv_iter *it)
{
	struct dma_fence *fence;

	dma_fence_put(it->fence);
	it->fence = NULL;
	it->is_restarted = false;
	rcu_read_lock();
	fence = iter_walk(it);
	rcu_read_unlock();
	return fence;
}
EXPORT_SYMBOL(dma_resv_iter_next_unlocked);

/* Locked walks stay on the list they started on, re-reading its length. */
static struct dma_fence *iter_step_locked(struct dma_resv_iter *it)
{
	struct dma_resv_list *fl = it->fences;

	while (fl && it->index < fl->len) {
		unsigned long ent = fl->ent[it->index++];

		if (ent_usage(ent) <= it->usage) {
			it->fence_usage = ent_usage(ent);
			return ent_fence(ent);
		}
	}
	return NULL;
}

/**
 * dma_resv_iter_first - start a locked walk
 * @it: a cursor set up with dma_resv_iter_begin()
 *
 * Usually called through dma_resv_for_each_fence().  Returns every fence at
 * or below the cursor's usage level, signaled ones included, without taking
 * references; the walk never restarts.  It stays on the list the object
 * has now: fences added to that list during the walk are seen, while a
 * reservation that replaces the list leaves the walk on the old one, which
 * is kept, with its fences, until dma_resv_unlock().
 *
 * Context: the reservation lock must be held for the whole walk.
 *
 * Return: the first fence, or NULL when there is none.
 */
struct dma_fence *dma_resv_iter_first(struct dma_resv_iter *it)
{
	struct dma_resv_list *fl;
	struct dma_fence *fence;

	dma_resv_assert_held(it->obj);
	fl = resv_list(it->obj);
	/*
	 * Keep what the walk is on alive until the unlock.  Only a lock
	 * holder may write the pointer: without lockdep the assertion above
	 * is empty, and a driver walking unlocked must not race a writer.
	 */
	if (fl && !resv_walked(it->obj) &&
	    !WARN_ON_ONCE(!ww_mutex_is_locked(&it->obj->lock)))
		rcu_assign_pointer(it->obj->fences,
				   (struct dma_resv_list *)((unsigned long)fl |
							    DMA_RESV_LIST_WALKED));
	it->fences = fl;
	it->index = 0;
	it->num_fences = fl ? fl->len : 0;
	fence = iter_step_locked(it);
	it->is_restarted = true;
	return fence;
}
EXPORT_SYMBOL_GPL(dma_resv_iter_first);

/**
 * dma_resv_iter_next - continue a locked walk
 * @it: a cursor started with dma_resv_iter_first()
 *
 * Context: the reservation lock must be held.
 *
 * Return: the next fence, or NULL at the end.
 */
struct dma_fence *dma_resv_iter_next(struct dma_resv_iter *it)
{
	dma_resv_assert_held(it->obj);
	it->is_restarted = false;
	return iter_step_locked(it);
}
EXPORT_SYMBOL_GPL(dma_resv_iter_next);

/*
 * Empty @fl in place: with no fences it takes no memory worth freeing, and
 * the object must not go back to having no list (see struct dma_resv_list).
 * The new generation sends unlocked readers back to the start; the next
 * reservation allocates, as for an object without a list.
 */
static void list_empty_in_place(struct dma_resv_list *fl)
{
	u32 i, len = fl->len;

	fl->max = 0;
	/*
	 * The length, then the generation, then the puts.  A cursor that read
	 * the new generation reads length 0 (list_id() acquires); one that
	 * still holds the old generation and meets a fence freed by the puts
	 * sees the new one (iter_stale()), and otherwise the shorter length.
	 */
	WRITE_ONCE(fl->len, 0);
	/* Pairs with the acquire in list_id(). */
	smp_store_release(&fl->gen, list_next_gen(fl->gen));
	for (i = 0; i < len; i++)
		dma_fence_put(ent_fence(fl->ent[i]));
}

/**
 * dma_resv_copy_fences - make @dst's fences a copy of @src's
 * @dst: the destination, locked by the caller
 * @src: the source, which need not be locked
 *
 * @dst's previous fences are dropped; it receives every pending fence of
 * @src with its usage level.
 *
 * Context: process context, may sleep and allocate, with @dst locked.
 *
 * Return: 0 on success or -ENOMEM, in which case @dst is unchanged.
 */
int dma_resv_copy_fences(struct dma_resv *dst, struct dma_resv *src)
{
	struct dma_resv_list *fl = NULL, *old;
	struct dma_resv_iter it;
	struct dma_fence *fence;

	dma_resv_assert_held(dst);
	might_alloc(GFP_KERNEL);

	dma_resv_iter_begin(&it, src, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_for_each_fence_unlocked(&it, fence) {
		if (dma_resv_iter_is_restarted(&it)) {
			/* Sized for the source's list, as 6.12 does. */
			if (fl)
				list_discard(fl);
			fl = list_alloc(it.num_fences, GFP_KERNEL);
			if (!fl) {
				dma_resv_iter_end(&it);
				return -ENOMEM;
			}
		}
		fl->ent[fl->len++] = ent_pack(dma_fence_get(fence),
					      dma_resv_iter_usage(&it));
	}
	/* A last pass that found nothing makes the earlier ones stale. */
	if (fl && dma_resv_iter_is_restarted(&it)) {
		list_discard(fl);
		fl = NULL;
	}
	dma_resv_iter_end(&it);

	old = resv_list(dst);
	if (!fl) {
		if (old)
			list_empty_in_place(old);
		return 0;
	}
	old = resv_publish(dst, old, fl);
	if (old)
		list_release(old);
	return 0;
}
EXPORT_SYMBOL(dma_resv_copy_fences);

static void put_fences(struct dma_fence **fences, unsigned int count)
{
	while (count)
		dma_fence_put(fences[--count]);
}

/**
 * dma_resv_get_fences - take references to an object's pending fences
 * @obj: the reservation object, locked or not
 * @usage: the highest usage level to include
 * @num_fences: set to the number of fences returned
 * @fences: set to a kmalloc'ed array of referenced fences, or NULL when
 *	there are none; the caller puts each fence and kfree()s the array
 *
 * Context: process context, may sleep and allocate.
 *
 * Return: 0 on success, or -ENOMEM with *@num_fences = 0 and
 * *@fences = NULL.
 */
int dma_resv_get_fences(struct dma_resv *obj, enum dma_resv_usage usage,
			unsigned int *num_fences, struct dma_fence ***fences)
{
	struct dma_fence **array = NULL, *fence;
	/*
	 * Queries run often: spare their cursors the zeroing that
	 * CONFIG_INIT_STACK_ALL_ZERO adds.  dma_resv_iter_begin() and the
	 * walk write every field before anything reads it.
	 */
	struct dma_resv_iter it __uninitialized;
	unsigned int count = 0, cap = 0;

	might_alloc(GFP_KERNEL);
	dma_resv_iter_begin(&it, obj, usage);
	dma_resv_for_each_fence_unlocked(&it, fence) {
		if (dma_resv_iter_is_restarted(&it)) {
			put_fences(array, count);
			count = 0;
			if (cap < it.num_fences) {
				kfree(array);
				cap = it.num_fences;
				array = dma_resv_kmalloc(array_size(cap,
								    sizeof(*array)),
							 GFP_KERNEL);
				if (!array) {
					dma_resv_iter_end(&it);
					*num_fences = 0;
					*fences = NULL;
					return -ENOMEM;
				}
			}
		}
		array[count++] = dma_fence_get(fence);
	}
	if (dma_resv_iter_is_restarted(&it)) {
		put_fences(array, count);
		count = 0;
	}
	dma_resv_iter_end(&it);

	if (!count) {
		kfree(array);
		array = NULL;
	}
	*num_fences = count;
	*fences = array;
	return 0;
}
EXPORT_SYMBOL_GPL(dma_resv_get_fences);

/**
 * dma_resv_get_singleton - one fence that stands for all pending ones
 * @obj: the reservation object, locked or not
 * @usage: the highest usage level to include
 * @fence: set to NULL when nothing is pending, to the only pending fence,
 *	or to a new &struct dma_fence_array of all of them; referenced
 *
 * The result may be a container, which dma_resv_add_fence() WARNs about:
 * add its components instead.
 *
 * Context: process context, may sleep and allocate.
 *
 * Return: 0 on success or -ENOMEM, with @fence left as it was.
 */
int dma_resv_get_singleton(struct dma_resv *obj, enum dma_resv_usage usage,
			   struct dma_fence **fence)
{
	struct dma_fence_array *merged;
	struct dma_fence **all;
	unsigned int count;
	int ret;

	/* On failure *fence stays as the caller had it, as in 6.12. */
	ret = dma_resv_get_fences(obj, usage, &count, &all);
	if (ret)
		return ret;
	if (!count) {
		*fence = NULL;
		return 0;
	}
	if (count == 1) {
		*fence = all[0];
		kfree(all);
		return 0;
	}

	/* On success the array owns @all and their references. */
	merged = dma_fence_array_create(count, all,
					dma_fence_context_alloc(1), 1, false);
	if (!merged) {
		put_fences(all, count);
		kfree(all);
		return -ENOMEM;
	}
	*fence = &merged->base;
	return 0;
}
EXPORT_SYMBOL_GPL(dma_resv_get_singleton);

/**
 * dma_resv_wait_timeout - wait until an object's fences have signaled
 * @obj: the reservation object, locked or not
 * @usage: the highest usage level to wait for
 * @intr: whether a signal may interrupt the wait
 * @timeout: the longest total wait, in jiffies; MAX_SCHEDULE_TIMEOUT for
 *	no limit, 0 to only check without blocking
 *
 * Each pending fence is waited for with dma_fence_wait_timeout(), also for
 * a zero @timeout: that enables signaling and asks the fence's ->wait hook,
 * which may find it done when nothing else does.
 *
 * Context: process context; may sleep (and says so with might_sleep())
 * whenever a fence is pending, whatever @timeout; lock order allows the
 * reservation lock to be held.  Only fences known to be signaled are passed
 * over without that.
 *
 * Return: for a non-zero @timeout, the time left (at least 1) when
 * everything has signaled; for @timeout == 0, 1 when everything has
 * signaled (or what the last fence's wait said); 0 when something is still
 * pending at the end of the time; -ERESTARTSYS when interrupted, which with
 * @intr a pending signal may also cause for @timeout == 0.
 */
long dma_resv_wait_timeout(struct dma_resv *obj, enum dma_resv_usage usage,
			   bool intr, unsigned long timeout)
{
	struct dma_resv_iter it __uninitialized;	/* see get_fences */
	bool traced = trace_dma_resv_wait_enabled();
	unsigned long switches = 0;
	struct dma_fence *fence;
	u64 start = 0;
	long left;

	/*
	 * Only waits that slept are traced.  Sleeping is what bumps the
	 * task's count of voluntary context switches; being preempted, or
	 * waiting on fences that had signaled already, does not.
	 */
	if (traced) {
		switches = current->nvcsw;
		start = ktime_get_ns();
	}
	/*
	 * Not clamped: a timeout above LONG_MAX reaches the fences as the
	 * negative value 6.12 passes them (dma_fence_wait_timeout() WARNs and
	 * fails), and an idle object returns it as 6.12 does.
	 */
	left = timeout ? (long)timeout : 1;
	dma_resv_iter_begin(&it, obj, usage);
	dma_resv_for_each_fence_unlocked(&it, fence) {
		left = dma_fence_wait_timeout(fence, intr, timeout ? left : 0);
		if (left <= 0)
			break;
	}
	dma_resv_iter_end(&it);
	if (traced && current->nvcsw != switches)
		trace_dma_resv_wait(obj, usage, (long)timeout, left,
				    ktime_get_ns() - start);
	return left;
}
EXPORT_SYMBOL_GPL(dma_resv_wait_timeout);

/**
 * dma_resv_set_deadline - ask for an object's fences to signal by a time
 * @obj: the reservation object, locked or not
 * @usage: the highest usage level concerned
 * @deadline: the CLOCK_MONOTONIC time by which they are wanted
 *
 * Passes @deadline to each pending fence (see dma_fence_set_deadline()).
 *
 * Context: any context that may call the fences' set_deadline hooks.
 */
void dma_resv_set_deadline(struct dma_resv *obj, enum dma_resv_usage usage,
			   ktime_t deadline)
{
	struct dma_resv_iter it;
	struct dma_fence *f;

	dma_resv_iter_begin(&it, obj, usage);
	dma_resv_for_each_fence_unlocked(&it, f)
		dma_fence_set_deadline(f, deadline);
	dma_resv_iter_end(&it);
}
EXPORT_SYMBOL_GPL(dma_resv_set_deadline);

/**
 * dma_resv_test_signaled - have all of an object's fences signaled
 * @obj: the reservation object, locked or not
 * @usage: the highest usage level to check
 *
 * Context: any context; does not sleep.
 *
 * Return: true when no fence at or below @usage is pending.
 */
bool dma_resv_test_signaled(struct dma_resv *obj, enum dma_resv_usage usage)
{
	struct dma_resv_iter it __uninitialized;	/* see get_fences */
	struct dma_fence *fence;

	dma_resv_iter_begin(&it, obj, usage);
	fence = dma_resv_iter_first_unlocked(&it);
	dma_resv_iter_end(&it);
	return !fence;
}
EXPORT_SYMBOL_GPL(dma_resv_test_signaled);

/**
 * dma_resv_describe - print an object's fences into a seq_file
 * @obj: the reservation object, locked by the caller
 * @seq: where to print
 *
 * One line per fence that implicit synchronization sees (kernel, write
 * and read; bookkeeping fences are left out), signaled ones included: a
 * tab, the usage level, " fence:", and what dma_fence_describe() says.
 * debugfs bufinfo prints this, and tools parse it as 6.12 prints it.
 *
 * Context: the reservation lock must be held.
 */
void dma_resv_describe(struct dma_resv *obj, struct seq_file *seq)
{
	static const char * const names[] = {
		[DMA_RESV_USAGE_KERNEL] = "kernel",
		[DMA_RESV_USAGE_WRITE] = "write",
		[DMA_RESV_USAGE_READ] = "read",
		[DMA_RESV_USAGE_BOOKKEEP] = "bookkeep",
	};
	struct dma_resv_iter it;
	struct dma_fence *f;

	dma_resv_for_each_fence(&it, obj, DMA_RESV_USAGE_READ, f) {
		seq_printf(seq, "\t%s fence:", names[dma_resv_iter_usage(&it)]);
		dma_fence_describe(f, seq);
	}
}
EXPORT_SYMBOL_GPL(dma_resv_describe);

#ifdef CONFIG_LOCKDEP
#ifdef CONFIG_MMU_NOTIFIER
static struct lockdep_map *__init resv_mmu_notifier_map(void)
{
	return &__mmu_notifier_invalidate_range_start_map;
}
#else
static struct lockdep_map *__init resv_mmu_notifier_map(void)
{
	return NULL;
}
#endif

/*
 * What drivers may do under a reservation lock that reclaim can run into:
 * shrinkers unmap buffers (i_mmap_rwsem), MMU notifiers invalidate ranges,
 * and either may wait for fences.
 */
static void __init resv_teach_reclaim(void)
{
	struct lockdep_map *notifier = resv_mmu_notifier_map();
	const gfp_t gfp = GFP_KERNEL;
	struct address_space as;

	address_space_init_once(&as);
	fs_reclaim_acquire(gfp);
	i_mmap_lock_write(&as);
	i_mmap_unlock_write(&as);
	if (notifier)
		lock_map_acquire(notifier);
	__dma_fence_might_wait();
	if (notifier)
		lock_map_release(notifier);
	fs_reclaim_release(gfp);
}

/*
 * Take the locks once in the order drivers must follow, so that lockdep
 * reports the first inversion anywhere, even one that never deadlocks in
 * practice: mmap lock, reservation lock (with an acquire context, as in a
 * page fault handler), then everything reclaim may do.
 */
static int __init dma_resv_teach_lockdep(void)
{
	struct ww_acquire_ctx acq;
	struct dma_resv resv;
	struct mm_struct *mm;

	mm = mm_alloc();
	if (!mm)
		return -ENOMEM;
	dma_resv_init(&resv);

	mmap_read_lock(mm);
	ww_acquire_init(&acq, &reservation_ww_class);
	if (dma_resv_lock(&resv, &acq) == -EDEADLK)
		dma_resv_lock_slow(&resv, &acq);
	resv_teach_reclaim();
	dma_resv_unlock(&resv);
	ww_acquire_fini(&acq);
	mmap_read_unlock(mm);

	dma_resv_fini(&resv);
	mmput(mm);
	return 0;
}
subsys_initcall(dma_resv_teach_lockdep);
#endif
