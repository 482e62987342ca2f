// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conformance traces of dma-resv: what a driver observes.
 *
 * Fixed scenarios for every exported dma-resv function and seeded random
 * sequences of operations on one reservation object print, step by step,
 * canonical trace lines (see conform.h): return values, the fences each
 * walk returns (as sorted sets: the contract leaves the order open),
 * what waits and tests report, and which fence callbacks the core drove.
 * host/conform runs this module on our core and on upstream's and
 * compares the traces; a correct drop-in core gives the same lines.
 *
 * The random sequences choose every operation from the seed alone, never
 * from what the core answered, so one difference does not shift the rest
 * of the sequence.
 *
 * Only the public API is used, so the file builds against either core.
 */

#include <kunit/test.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "conform.h"

static unsigned long seed = 1;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "seed of the random sequences (default 1)");

static unsigned int count = 6;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "random sequences per mix of fence kinds (default 6)");

static unsigned int steps = 48;
module_param(steps, uint, 0444);
MODULE_PARM_DESC(steps, "operations per random sequence (default 48)");

/*
 * Kinds of test fence, after what drivers do:
 * PLAIN   signals only through dma_fence_signal();
 * POLLED  has ->signaled, which reports the "hardware" completion;
 * WAITER  has no ->signaled and a ->wait that notices the completion
 *         (vmwgfx's kind);
 * IRQ     notices the completion only once signaling is enabled (an
 *         interrupt armed by ->enable_signaling).
 */
enum cf_kind { CF_PLAIN, CF_POLLED, CF_WAITER, CF_IRQ, CF_NKINDS };
static const char *const cf_kind_name[] = { "plain", "polled", "waiter", "irq" };
static const char *const cf_usage_name[] = { "kernel", "write", "read", "bookkeep" };

#define CF_MAX_FENCES 160u
#define CF_CONTEXTS 4

struct cf_fence {
	struct dma_fence base;
	spinlock_t lock;	/* the fence lock; also guards hw_done and armed */
	enum cf_kind kind;
	bool hw_done, armed;
	unsigned int deadlines, waits;
	char timeline[12];
};

/* One scenario's fences, contexts and tracer. */
struct cf_world {
	struct kunit *test;
	struct conform *c;
	u64 context[CF_CONTEXTS];
	u64 seqno[CF_CONTEXTS];
	unsigned int nfences;
	struct dma_fence *fence[CF_MAX_FENCES];
	bool leaf[CF_MAX_FENCES];
};

static struct cf_fence *to_cf(struct dma_fence *f)
{
	return container_of(f, struct cf_fence, base);
}

static const char *cf_driver_name(struct dma_fence *f)
{
	return "conform";
}

static const char *cf_timeline_name(struct dma_fence *f)
{
	return to_cf(f)->timeline;
}

static void cf_op_set_deadline(struct dma_fence *f, ktime_t deadline)
{
	to_cf(f)->deadlines++;
}

static bool cf_signaled(struct dma_fence *f)
{
	return READ_ONCE(to_cf(f)->hw_done);
}

static signed long cf_wait(struct dma_fence *f, bool intr, signed long timeout)
{
	struct cf_fence *cf = to_cf(f);

	cf->waits++;
	if (READ_ONCE(cf->hw_done)) {
		dma_fence_signal(f);
		return timeout ?: 1;
	}
	return dma_fence_default_wait(f, intr, timeout);
}

/* Called with the fence lock held: returning false signals the fence. */
static bool cf_enable_signaling(struct dma_fence *f)
{
	struct cf_fence *cf = to_cf(f);

	if (cf->hw_done)
		return false;
	cf->armed = true;
	return true;
}

static const struct dma_fence_ops cf_ops[CF_NKINDS] = {
	[CF_PLAIN] = {
		.get_driver_name = cf_driver_name,
		.get_timeline_name = cf_timeline_name,
		.set_deadline = cf_op_set_deadline,
	},
	[CF_POLLED] = {
		.get_driver_name = cf_driver_name,
		.get_timeline_name = cf_timeline_name,
		.set_deadline = cf_op_set_deadline,
		.signaled = cf_signaled,
	},
	[CF_WAITER] = {
		.get_driver_name = cf_driver_name,
		.get_timeline_name = cf_timeline_name,
		.set_deadline = cf_op_set_deadline,
		.wait = cf_wait,
	},
	[CF_IRQ] = {
		.get_driver_name = cf_driver_name,
		.get_timeline_name = cf_timeline_name,
		.set_deadline = cf_op_set_deadline,
		.enable_signaling = cf_enable_signaling,
	},
};

static bool cf_is_test_fence(struct dma_fence *f)
{
	return f->ops >= &cf_ops[0] && f->ops < &cf_ops[CF_NKINDS];
}

static struct cf_world *cf_world(struct kunit *test)
{
	struct cf_world *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, w);
	w->test = test;
	w->c = conform_init(test);
	for (i = 0; i < CF_CONTEXTS; i++) {
		w->context[i] = dma_fence_context_alloc(1);
		conform_context_id(w->c, w->context[i]);
	}
	return w;
}

static void cf_world_done(struct cf_world *w)
{
	while (w->nfences)
		dma_fence_put(w->fence[--w->nfences]);
}

static struct dma_fence *cf_keep(struct cf_world *w, struct dma_fence *f,
				 bool leaf)
{
	KUNIT_ASSERT_LT(w->test, w->nfences, CF_MAX_FENCES);
	w->leaf[w->nfences] = leaf;
	w->fence[w->nfences++] = f;
	conform_name_fence(w->c, f);
	return f;
}

/* A new fence of @kind on context @ci with sequence number @seqno. */
static struct dma_fence *cf_new_seq(struct cf_world *w, enum cf_kind kind,
				    unsigned int ci, u64 seqno)
{
	struct cf_fence *cf = kzalloc(sizeof(*cf), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(w->test, cf);
	spin_lock_init(&cf->lock);
	cf->kind = kind;
	snprintf(cf->timeline, sizeof(cf->timeline), "c%u", ci + 1);
	dma_fence_init(&cf->base, &cf_ops[kind], &cf->lock, w->context[ci],
		       seqno);
	if (seqno > w->seqno[ci])
		w->seqno[ci] = seqno;
	cf_keep(w, &cf->base, true);
	conform_trace(w->c, "new f%u %s c%u seq=%llu", w->nfences,
		      cf_kind_name[kind], ci + 1, seqno);
	return &cf->base;
}

/* A new fence of @kind, the next one on context @ci. */
static struct dma_fence *cf_new(struct cf_world *w, enum cf_kind kind,
				unsigned int ci)
{
	return cf_new_seq(w, kind, ci, w->seqno[ci] + 1);
}

/* An array of @n of the world's fences (indices @idx), its own context. */
static struct dma_fence *cf_new_array(struct cf_world *w, const unsigned int *idx,
				      unsigned int n, bool any)
{
	struct dma_fence **fences = kcalloc(n, sizeof(*fences), GFP_KERNEL);
	struct dma_fence_array *array;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(w->test, fences);
	conform_add(w->c, "new f%u array any=%d of ", w->nfences + 1, any);
	for (i = 0; i < n; i++) {
		fences[i] = dma_fence_get(w->fence[idx[i]]);
		conform_add(w->c, "%sf%u", i ? "," : "", idx[i] + 1);
	}
	array = dma_fence_array_create(n, fences, dma_fence_context_alloc(1),
				       1, any);
	KUNIT_ASSERT_NOT_NULL(w->test, array);
	cf_keep(w, &array->base, false);
	conform_emit(w->c);
	return &array->base;
}

/* A chain link holding fence @idx after chain @prev_idx (-1: none). */
static struct dma_fence *cf_new_chain(struct cf_world *w, int prev_idx,
				      unsigned int idx, u64 seqno)
{
	struct dma_fence_chain *chain = dma_fence_chain_alloc();
	struct dma_fence *prev = prev_idx < 0 ? NULL :
		dma_fence_get(w->fence[prev_idx]);

	KUNIT_ASSERT_NOT_NULL(w->test, chain);
	dma_fence_chain_init(chain, prev, dma_fence_get(w->fence[idx]), seqno);
	conform_add(w->c, "new f%u chain of f%u seq=%llu", w->nfences + 1,
		    idx + 1, seqno);
	if (prev)
		conform_add(w->c, " after f%d", prev_idx + 1);
	cf_keep(w, &chain->base, false);
	conform_emit(w->c);
	return &chain->base;
}

/* The "hardware" finished @f's work; only dma_fence_signal() for PLAIN. */
static void cf_complete(struct cf_world *w, struct dma_fence *f)
{
	struct cf_fence *cf = to_cf(f);
	unsigned long flags;
	bool armed;

	if (cf->kind == CF_PLAIN) {
		conform_add(w->c, "signal f%u ret=",
			    conform_fence_id(w->c, f));
		conform_add_ret(w->c, dma_fence_signal(f));
		conform_emit(w->c);
		return;
	}
	spin_lock_irqsave(f->lock, flags);
	WRITE_ONCE(cf->hw_done, true);
	armed = cf->armed;
	spin_unlock_irqrestore(f->lock, flags);
	if (armed)
		dma_fence_signal(f);
	conform_trace(w->c, "complete f%u", conform_fence_id(w->c, f));
}

/*
 * What the fences went through since the last state line: signaled,
 * signaling enabled, deadlines and ->wait calls received.  Read from the
 * flags, never through dma_fence_is_signaled(), which would change them.
 */
static void cf_state(struct cf_world *w)
{
	static const char *const label[] = { "signaled", "enabled", "deadline", "waited" };
	struct dma_fence **set;
	unsigned int i, k, n;

	set = kcalloc(w->nfences ?: 1, sizeof(*set), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(w->test, set);
	conform_add(w->c, "state");
	for (k = 0; k < ARRAY_SIZE(label); k++) {
		for (i = 0, n = 0; i < w->nfences; i++) {
			struct dma_fence *f = w->fence[i];
			bool in;

			if (k == 0)
				in = test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &f->flags);
			else if (k == 1)
				in = test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT, &f->flags);
			else if (!cf_is_test_fence(f))
				in = false;
			else if (k == 2)
				in = to_cf(f)->deadlines;
			else
				in = to_cf(f)->waits;
			if (in)
				set[n++] = f;
		}
		conform_add(w->c, " %s=", label[k]);
		conform_add_set(w->c, set, n);
	}
	conform_emit(w->c);
	for (i = 0; i < w->nfences; i++) {
		if (cf_is_test_fence(w->fence[i])) {
			to_cf(w->fence[i])->deadlines = 0;
			to_cf(w->fence[i])->waits = 0;
		}
	}
	kfree(set);
}

/* Fence-and-usage pairs of a walk, printed sorted: "{f1:write,f3:read}". */
struct cf_seen {
	unsigned int n, restarts;
	unsigned int key[CF_MAX_FENCES];
};

static void cf_seen_add(struct cf_world *w, struct cf_seen *s,
			struct dma_fence *f, enum dma_resv_usage usage)
{
	if (s->n < CF_MAX_FENCES)
		s->key[s->n++] = conform_fence_id(w->c, f) * 4 + usage;
}

static void cf_seen_print(struct cf_world *w, struct cf_seen *s)
{
	unsigned int i;

	sort(s->key, s->n, sizeof(s->key[0]), conform_cmp_id, NULL);
	conform_add(w->c, "{");
	for (i = 0; i < s->n; i++) {
		unsigned int id = s->key[i] / 4;

		if (id)
			conform_add(w->c, "%sf%u:%s", i ? "," : "", id,
				    cf_usage_name[s->key[i] % 4]);
		else
			conform_add(w->c, "%sf?:%s", i ? "," : "",
				    cf_usage_name[s->key[i] % 4]);
	}
	conform_add(w->c, "}");
}

static void cf_walk_locked(struct cf_world *w, struct dma_resv *obj,
			   enum dma_resv_usage usage)
{
	struct cf_seen *s = kzalloc(sizeof(*s), GFP_KERNEL);
	struct dma_resv_iter cursor;
	struct dma_fence *f;

	KUNIT_ASSERT_NOT_NULL(w->test, s);
	dma_resv_for_each_fence(&cursor, obj, usage, f)
		cf_seen_add(w, s, f, dma_resv_iter_usage(&cursor));
	conform_add(w->c, "walk_locked %s ", cf_usage_name[usage]);
	cf_seen_print(w, s);
	conform_emit(w->c);
	kfree(s);
}

static void cf_walk_unlocked(struct cf_world *w, struct dma_resv *obj,
			     enum dma_resv_usage usage)
{
	struct cf_seen *s = kzalloc(sizeof(*s), GFP_KERNEL);
	struct dma_resv_iter cursor;
	struct dma_fence *f;

	KUNIT_ASSERT_NOT_NULL(w->test, s);
	dma_resv_iter_begin(&cursor, obj, usage);
	dma_resv_for_each_fence_unlocked(&cursor, f) {
		if (dma_resv_iter_is_restarted(&cursor)) {
			s->restarts++;
			s->n = 0;
		}
		cf_seen_add(w, s, f, dma_resv_iter_usage(&cursor));
	}
	dma_resv_iter_end(&cursor);
	conform_add(w->c, "walk_unlocked %s restarts=%u ", cf_usage_name[usage],
		    s->restarts);
	cf_seen_print(w, s);
	conform_emit(w->c);
	kfree(s);
}

static void cf_get_fences(struct cf_world *w, struct dma_resv *obj,
			  enum dma_resv_usage usage)
{
	struct dma_fence **fences = NULL;
	unsigned int i, n = 0;
	int ret;

	ret = dma_resv_get_fences(obj, usage, &n, &fences);
	conform_add(w->c, "get_fences %s ret=", cf_usage_name[usage]);
	conform_add_ret(w->c, ret);
	conform_add(w->c, " n=%u ", n);
	conform_add_set(w->c, fences, n);
	conform_emit(w->c);
	for (i = 0; i < n; i++)
		dma_fence_put(fences[i]);
	kfree(fences);
}

static void cf_get_singleton(struct cf_world *w, struct dma_resv *obj,
			     enum dma_resv_usage usage)
{
	struct dma_fence *f = NULL;
	int ret;

	ret = dma_resv_get_singleton(obj, usage, &f);
	conform_add(w->c, "get_singleton %s ret=", cf_usage_name[usage]);
	conform_add_ret(w->c, ret);
	conform_add(w->c, " fence=");
	conform_add_fence(w->c, f);
	if (f && !conform_fence_id(w->c, f))
		conform_add(w->c, " signaled=%d",
			    test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &f->flags));
	conform_emit(w->c);
	dma_fence_put(f);
}

static void cf_test_signaled(struct cf_world *w, struct dma_resv *obj,
			     enum dma_resv_usage usage)
{
	conform_trace(w->c, "test_signaled %s ret=%d", cf_usage_name[usage],
		      dma_resv_test_signaled(obj, usage));
}

/*
 * A wait with no timeout answers exactly (0 busy, 1 idle); a short one
 * leaves some jiffies that depend on the clock, so only their sign shows.
 */
static void cf_wait_timeout(struct cf_world *w, struct dma_resv *obj,
			    enum dma_resv_usage usage, bool intr, bool shortwait)
{
	long ret = dma_resv_wait_timeout(obj, usage, intr, shortwait ? 1 : 0);

	conform_add(w->c, "wait %s intr=%d timeout=%s ret=", cf_usage_name[usage],
		    intr, shortwait ? "short" : "0");
	if (shortwait && ret > 0)
		conform_add(w->c, "remaining");
	else
		conform_add_ret(w->c, ret);
	conform_emit(w->c);
}

static void cf_set_deadline(struct cf_world *w, struct dma_resv *obj,
			    enum dma_resv_usage usage)
{
	dma_resv_set_deadline(obj, usage, ktime_add_ms(ktime_get(), 5));
	conform_trace(w->c, "set_deadline %s", cf_usage_name[usage]);
}

static void cf_describe(struct cf_world *w, struct dma_resv *obj)
{
	struct seq_file seq = { };

	seq.size = PAGE_SIZE;
	seq.buf = kzalloc(seq.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(w->test, seq.buf);
	dma_resv_describe(obj, &seq);
	conform_trace(w->c, "describe overflow=%d", seq_has_overflowed(&seq));
	seq.buf[min(seq.count, seq.size - 1)] = '\0';
	conform_trace_text(w->c, "describe", seq.buf);
	kfree(seq.buf);
}

static void cf_reserve(struct cf_world *w, struct dma_resv *obj,
		       unsigned int n)
{
	conform_add(w->c, "reserve %u ret=", n);
	conform_add_ret(w->c, dma_resv_reserve_fences(obj, n));
	conform_emit(w->c);
}

static void cf_add(struct cf_world *w, struct dma_resv *obj,
		   struct dma_fence *f, enum dma_resv_usage usage)
{
	dma_resv_add_fence(obj, f, usage);
	conform_add(w->c, "add ");
	conform_add_fence(w->c, f);
	conform_add(w->c, " %s", cf_usage_name[usage]);
	conform_emit(w->c);
}

static void cf_replace(struct cf_world *w, struct dma_resv *obj,
		       unsigned int ci, struct dma_fence *f,
		       enum dma_resv_usage usage)
{
	dma_resv_replace_fences(obj, w->context[ci], f, usage);
	conform_add(w->c, "replace c%u by ", ci + 1);
	conform_add_fence(w->c, f);
	conform_add(w->c, " %s", cf_usage_name[usage]);
	conform_emit(w->c);
}

static void cf_lock(struct cf_world *w, struct dma_resv *obj)
{
	conform_add(w->c, "lock ret=");
	conform_add_ret(w->c, dma_resv_lock(obj, NULL));
	conform_emit(w->c);
}

static void cf_unlock(struct cf_world *w, struct dma_resv *obj)
{
	dma_resv_unlock(obj);
	conform_trace(w->c, "unlock");
}

/* Every walk and query, for every usage. */
static void cf_query_all(struct cf_world *w, struct dma_resv *obj, bool locked)
{
	enum dma_resv_usage u;

	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++) {
		if (locked)
			cf_walk_locked(w, obj, u);
		cf_walk_unlocked(w, obj, u);
		cf_get_fences(w, obj, u);
		cf_get_singleton(w, obj, u);
		cf_test_signaled(w, obj, u);
	}
	cf_state(w);
}

/* ---- fixed scenarios ---- */

static void conform_resv_empty(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	enum dma_resv_usage u;
	struct dma_resv obj, dst;

	dma_resv_init(&obj);
	dma_resv_init(&dst);
	cf_lock(w, &obj);
	cf_query_all(w, &obj, true);
	cf_describe(w, &obj);
	cf_unlock(w, &obj);
	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++) {
		cf_wait_timeout(w, &obj, u, false, false);
		cf_wait_timeout(w, &obj, u, true, true);
		cf_set_deadline(w, &obj, u);
	}
	cf_lock(w, &dst);
	conform_add(w->c, "copy empty ret=");
	conform_add_ret(w->c, dma_resv_copy_fences(&dst, &obj));
	conform_emit(w->c);
	cf_walk_locked(w, &dst, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &dst);
	dma_resv_fini(&dst);
	dma_resv_fini(&obj);
}

static void conform_resv_lock(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct ww_acquire_ctx a;
	struct dma_resv o1, o2;
	int ret;

	dma_resv_init(&o1);
	dma_resv_init(&o2);
	conform_trace(w->c, "is_locked=%d", dma_resv_is_locked(&o1));
	ret = dma_resv_trylock(&o1);
	conform_trace(w->c, "trylock ret=%d is_locked=%d ctx_null=%d", ret,
		      dma_resv_is_locked(&o1), !dma_resv_locking_ctx(&o1));
	ret = dma_resv_trylock(&o1);
	conform_trace(w->c, "trylock again ret=%d", ret);
	cf_unlock(w, &o1);

	/* One context per thread: lockdep forbids nesting two. */
	ww_acquire_init(&a, &reservation_ww_class);
	conform_add(w->c, "lock a o1 ret=");
	conform_add_ret(w->c, dma_resv_lock(&o1, &a));
	conform_emit(w->c);
	conform_trace(w->c, "locking_ctx is a=%d", dma_resv_locking_ctx(&o1) == &a);
	conform_add(w->c, "lock a o1 again ret=");
	conform_add_ret(w->c, dma_resv_lock(&o1, &a));
	conform_emit(w->c);
	conform_add(w->c, "lock_interruptible a o1 again ret=");
	conform_add_ret(w->c, dma_resv_lock_interruptible(&o1, &a));
	conform_emit(w->c);
	/*
	 * CONFIG_DEBUG_WW_MUTEX_SLOWPATH makes a second lock fail with
	 * -EDEADLK now and then, depending on how many contexts the boot
	 * made before: back off as drivers do and print only the outcome.
	 */
	ret = dma_resv_lock_interruptible(&o2, &a);
	if (ret == -EDEADLK) {
		dma_resv_unlock(&o1);
		dma_resv_lock_slow(&o2, &a);
		ret = dma_resv_lock(&o1, &a);
	}
	conform_add(w->c, "lock a o2 and o1 ret=");
	conform_add_ret(w->c, ret);
	conform_add(w->c, " o2 ctx is a=%d o1 ctx is a=%d",
		    dma_resv_locking_ctx(&o2) == &a,
		    dma_resv_locking_ctx(&o1) == &a);
	conform_emit(w->c);
	ww_acquire_done(&a);
	cf_unlock(w, &o2);
	if (!ret)
		cf_unlock(w, &o1);
	ww_acquire_fini(&a);
	conform_trace(w->c, "is_locked=%d usage_rw write=%s read=%s",
		      dma_resv_is_locked(&o1),
		      cf_usage_name[dma_resv_usage_rw(true)],
		      cf_usage_name[dma_resv_usage_rw(false)]);
	dma_resv_fini(&o2);
	dma_resv_fini(&o1);
}

/* Each usage, walks filtered by each usage, and fences kept per context. */
static void conform_resv_add_usage(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	enum dma_resv_usage u;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 4);
	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++)
		cf_add(w, &obj, cf_new(w, CF_PLAIN, u), u);
	cf_query_all(w, &obj, true);
	cf_describe(w, &obj);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/*
 * The same context again: the same fence with a higher and a lower usage,
 * a later and an earlier seqno, with each usage.
 */
static void conform_resv_add_same_context(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_fence *f1, *f2, *f0;
	enum dma_resv_usage u;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 8);
	f1 = cf_new(w, CF_PLAIN, 0);
	cf_add(w, &obj, f1, DMA_RESV_USAGE_READ);
	cf_add(w, &obj, f1, DMA_RESV_USAGE_WRITE);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_add(w, &obj, f1, DMA_RESV_USAGE_BOOKKEEP);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	f2 = cf_new(w, CF_PLAIN, 0);
	cf_add(w, &obj, f2, DMA_RESV_USAGE_READ);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	f0 = cf_new_seq(w, CF_PLAIN, 0, 1);
	cf_add(w, &obj, f0, DMA_RESV_USAGE_READ);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &obj);
	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++) {
		cf_lock(w, &obj);
		cf_reserve(w, &obj, 2);
		cf_add(w, &obj, cf_new(w, CF_PLAIN, 1), u);
		cf_add(w, &obj, cf_new(w, CF_PLAIN, 1), DMA_RESV_USAGE_READ);
		cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
		cf_unlock(w, &obj);
	}
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/* Signaled fences are replaced by new ones, and skipped by unlocked walks. */
static void conform_resv_signaled(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_fence *f[4];
	enum cf_kind k;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 4);
	for (k = CF_PLAIN; k < CF_NKINDS; k++) {
		f[k] = cf_new(w, k, k);
		cf_add(w, &obj, f[k], DMA_RESV_USAGE_WRITE);
	}
	for (k = CF_PLAIN; k < CF_NKINDS; k++)
		cf_complete(w, f[k]);
	cf_state(w);
	cf_query_all(w, &obj, true);
	cf_reserve(w, &obj, 1);
	cf_add(w, &obj, cf_new(w, CF_PLAIN, 0), DMA_RESV_USAGE_READ);
	cf_query_all(w, &obj, true);
	cf_describe(w, &obj);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/*
 * Zero and short waits on every kind of fence: done, not done, done only
 * as far as ->signaled, ->wait or enabling signaling can tell.
 */
static void conform_resv_wait_kinds(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_fence *f;
	enum cf_kind k;
	int done;

	for (done = 0; done < 2; done++) {
		for (k = CF_PLAIN; k < CF_NKINDS; k++) {
			struct dma_resv obj;

			dma_resv_init(&obj);
			cf_lock(w, &obj);
			cf_reserve(w, &obj, 1);
			f = cf_new(w, k, k);
			cf_add(w, &obj, f, DMA_RESV_USAGE_WRITE);
			cf_unlock(w, &obj);
			if (done)
				cf_complete(w, f);
			cf_test_signaled(w, &obj, DMA_RESV_USAGE_READ);
			cf_state(w);
			cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, false, false);
			cf_state(w);
			cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, true, false);
			cf_wait_timeout(w, &obj, DMA_RESV_USAGE_KERNEL, false, false);
			cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, true, true);
			cf_state(w);
			cf_test_signaled(w, &obj, DMA_RESV_USAGE_READ);
			cf_walk_unlocked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
			dma_resv_fini(&obj);
		}
	}
	cf_world_done(w);
}

static void conform_resv_replace(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_fence *r;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_replace(w, &obj, 0, cf_new(w, CF_PLAIN, 3), DMA_RESV_USAGE_READ);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_reserve(w, &obj, 4);
	cf_add(w, &obj, cf_new(w, CF_PLAIN, 0), DMA_RESV_USAGE_WRITE);
	cf_add(w, &obj, cf_new(w, CF_PLAIN, 1), DMA_RESV_USAGE_READ);
	cf_add(w, &obj, cf_new(w, CF_PLAIN, 2), DMA_RESV_USAGE_BOOKKEEP);
	r = cf_new(w, CF_PLAIN, 3);
	cf_replace(w, &obj, 0, r, DMA_RESV_USAGE_BOOKKEEP);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_replace(w, &obj, 2, r, DMA_RESV_USAGE_KERNEL);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_replace(w, &obj, 3, cf_new(w, CF_PLAIN, 1), DMA_RESV_USAGE_WRITE);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_query_all(w, &obj, true);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

static void conform_resv_copy(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_resv src, dst;
	struct dma_fence *s;

	dma_resv_init(&src);
	dma_resv_init(&dst);
	cf_lock(w, &src);
	cf_reserve(w, &src, 3);
	cf_add(w, &src, cf_new(w, CF_PLAIN, 0), DMA_RESV_USAGE_WRITE);
	s = cf_new(w, CF_PLAIN, 1);
	cf_add(w, &src, s, DMA_RESV_USAGE_READ);
	cf_add(w, &src, cf_new(w, CF_POLLED, 2), DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &src);
	cf_complete(w, s);
	cf_lock(w, &dst);
	cf_reserve(w, &dst, 1);
	cf_add(w, &dst, cf_new(w, CF_PLAIN, 3), DMA_RESV_USAGE_KERNEL);
	conform_add(w->c, "copy ret=");
	conform_add_ret(w->c, dma_resv_copy_fences(&dst, &src));
	conform_emit(w->c);
	cf_walk_locked(w, &dst, DMA_RESV_USAGE_BOOKKEEP);
	cf_reserve(w, &dst, 1);
	cf_add(w, &dst, cf_new(w, CF_PLAIN, 3), DMA_RESV_USAGE_KERNEL);
	cf_walk_locked(w, &dst, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &dst);
	cf_state(w);
	dma_resv_fini(&dst);
	dma_resv_fini(&src);
	cf_world_done(w);
}

static void conform_resv_singleton(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_fence *f1, *f2;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 3);
	f1 = cf_new(w, CF_PLAIN, 0);
	cf_add(w, &obj, f1, DMA_RESV_USAGE_WRITE);
	cf_get_singleton(w, &obj, DMA_RESV_USAGE_READ);
	f2 = cf_new(w, CF_PLAIN, 1);
	cf_add(w, &obj, f2, DMA_RESV_USAGE_READ);
	cf_get_singleton(w, &obj, DMA_RESV_USAGE_WRITE);
	cf_get_singleton(w, &obj, DMA_RESV_USAGE_READ);
	cf_complete(w, f1);
	cf_get_singleton(w, &obj, DMA_RESV_USAGE_READ);
	cf_complete(w, f2);
	cf_get_singleton(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

static void conform_resv_deadline(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	enum dma_resv_usage u;
	unsigned int idx[2];
	struct dma_resv obj;
	enum cf_kind k;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 6);
	for (k = CF_PLAIN; k < CF_NKINDS; k++)
		cf_add(w, &obj, cf_new(w, k, k), (enum dma_resv_usage)k);
	cf_complete(w, w->fence[1]);
	idx[0] = 0;
	idx[1] = 2;
	cf_state(w);
	cf_unlock(w, &obj);
	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++) {
		cf_set_deadline(w, &obj, u);
		cf_state(w);
	}
	/* A deadline on an array reaches its fences. */
	{
		struct dma_resv o2;

		dma_resv_init(&o2);
		cf_new_array(w, idx, 2, false);
		cf_lock(w, &o2);
		cf_reserve(w, &o2, 1);
		/* 6.12 warns here (containers) and still keeps the fence. */
		cf_add(w, &o2, w->fence[w->nfences - 1], DMA_RESV_USAGE_WRITE);
		cf_unlock(w, &o2);
		cf_state(w);
		cf_set_deadline(w, &o2, DMA_RESV_USAGE_READ);
		cf_state(w);
		dma_resv_fini(&o2);
	}
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/* Containers (driver misuse: 6.12 warns) are kept, and waited for. */
static void conform_resv_container(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	unsigned int idx[2] = { 0, 1 };
	struct dma_fence *a, *ch;
	struct dma_resv obj;

	dma_resv_init(&obj);
	cf_new(w, CF_PLAIN, 0);
	cf_new(w, CF_PLAIN, 1);
	a = cf_new_array(w, idx, 2, false);
	ch = cf_new_chain(w, -1, 1, 1);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 2);
	cf_add(w, &obj, a, DMA_RESV_USAGE_WRITE);
	cf_add(w, &obj, ch, DMA_RESV_USAGE_READ);
	cf_query_all(w, &obj, true);
	cf_describe(w, &obj);
	cf_unlock(w, &obj);
	cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, false, false);
	cf_complete(w, w->fence[0]);
	cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, false, false);
	cf_complete(w, w->fence[1]);
	cf_wait_timeout(w, &obj, DMA_RESV_USAGE_READ, false, false);
	cf_test_signaled(w, &obj, DMA_RESV_USAGE_READ);
	cf_state(w);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/*
 * A locked walk keeps walking the list it started on when the caller
 * reserves (and so replaces the list) inside the loop.
 */
static void conform_resv_walk_reserve(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct cf_seen *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	struct dma_fence *f;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, s);
	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 4);
	for (i = 0; i < 4; i++)
		cf_add(w, &obj, cf_new(w, CF_PLAIN, i), DMA_RESV_USAGE_READ);
	i = 0;
	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP, f) {
		cf_seen_add(w, s, f, dma_resv_iter_usage(&cursor));
		if (i++ == 1) {
			/* Earlier than f1 on its context: a new entry. */
			cf_reserve(w, &obj, 16);
			cf_add(w, &obj, cf_new_seq(w, CF_PLAIN, 0, 0),
			       DMA_RESV_USAGE_WRITE);
		}
	}
	conform_add(w->c, "walk_locked with reserve and add inside ");
	cf_seen_print(w, s);
	conform_emit(w->c);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

static void conform_resv_reserve(struct kunit *test)
{
	struct cf_world *w = cf_world(test);
	struct dma_resv obj;
	unsigned int i;

	dma_resv_init(&obj);
	cf_lock(w, &obj);
	cf_reserve(w, &obj, 1);
	cf_reserve(w, &obj, 1);
	cf_reserve(w, &obj, 3);
	for (i = 0; i < 3; i++)
		cf_add(w, &obj, cf_new(w, CF_PLAIN, i), DMA_RESV_USAGE_READ);
	cf_reserve(w, &obj, 64);
	for (i = 0; i < 64; i++)
		cf_add(w, &obj, cf_new(w, CF_PLAIN, i % CF_CONTEXTS),
		       DMA_RESV_USAGE_BOOKKEEP);
	cf_walk_locked(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_get_fences(w, &obj, DMA_RESV_USAGE_BOOKKEEP);
	cf_unlock(w, &obj);
	dma_resv_fini(&obj);
	cf_world_done(w);
}

/* ---- seeded random sequences ---- */

enum cf_op {
	OP_LOCK, OP_RESERVE, OP_ADD, OP_REPLACE, OP_SIGNAL, OP_WALK_LOCKED,
	OP_WALK_UNLOCKED, OP_COPY, OP_GET_FENCES, OP_SINGLETON, OP_TEST,
	OP_WAIT, OP_DEADLINE, OP_DESCRIBE, OP_COUNT
};

/* Adds are the most common step: they drive everything else. */
static const unsigned int cf_op_weight[OP_COUNT] = {
	[OP_LOCK] = 3, [OP_RESERVE] = 3, [OP_ADD] = 8, [OP_REPLACE] = 1,
	[OP_SIGNAL] = 3, [OP_WALK_LOCKED] = 2, [OP_WALK_UNLOCKED] = 2,
	[OP_COPY] = 1, [OP_GET_FENCES] = 2, [OP_SINGLETON] = 2, [OP_TEST] = 2,
	[OP_WAIT] = 2, [OP_DEADLINE] = 1, [OP_DESCRIBE] = 1,
};

struct cf_mix {
	const char *name;
	unsigned int kinds;	/* bit per enum cf_kind */
	bool containers;
};

static u32 cf_rand(struct rnd_state *rnd, u32 n)
{
	return prandom_u32_state(rnd) % n;
}

static enum cf_op cf_pick_op(struct rnd_state *rnd)
{
	unsigned int total = 0, i, r;

	for (i = 0; i < OP_COUNT; i++)
		total += cf_op_weight[i];
	r = cf_rand(rnd, total);
	for (i = 0; r >= cf_op_weight[i]; i++)
		r -= cf_op_weight[i];
	return i;
}

static enum cf_kind cf_pick_kind(struct rnd_state *rnd, const struct cf_mix *mix)
{
	enum cf_kind k;

	do
		k = cf_rand(rnd, CF_NKINDS);
	while (!(mix->kinds & BIT(k)));
	return k;
}

/* An existing leaf fence, or NULL when there is none yet. */
static struct dma_fence *cf_pick_leaf(struct cf_world *w, struct rnd_state *rnd,
				      int *idx)
{
	unsigned int i, n = 0, r;

	for (i = 0; i < w->nfences; i++)
		n += w->leaf[i];
	if (!n)
		return NULL;
	r = cf_rand(rnd, n);
	for (i = 0; i < w->nfences; i++) {
		if (w->leaf[i] && !r--) {
			if (idx)
				*idx = i;
			return w->fence[i];
		}
	}
	return NULL;
}

/* The fence one add step adds: new, earlier, the same again, a container. */
static struct dma_fence *cf_pick_add(struct cf_world *w, struct rnd_state *rnd,
				     const struct cf_mix *mix)
{
	unsigned int ci = cf_rand(rnd, CF_CONTEXTS), pattern = cf_rand(rnd, 10);
	enum cf_kind kind = cf_pick_kind(rnd, mix);
	unsigned int idx[2];
	struct dma_fence *f;
	int i;

	if (w->nfences + 2 >= CF_MAX_FENCES)
		pattern = 9;
	if (pattern < 5)
		return cf_new(w, kind, ci);
	if (pattern < 6 && w->seqno[ci] > 1)
		return cf_new_seq(w, kind, ci, w->seqno[ci] - 1);
	if (pattern < 8 && mix->containers && cf_pick_leaf(w, rnd, &i)) {
		idx[0] = i;
		cf_pick_leaf(w, rnd, &i);
		idx[1] = i;
		if (pattern == 6)
			return cf_new_array(w, idx, 2, cf_rand(rnd, 2));
		return cf_new_chain(w, -1, idx[0], 1);
	}
	f = cf_pick_leaf(w, rnd, NULL);
	return f ?: cf_new(w, kind, ci);
}

static void cf_random_sequence(struct cf_world *w, const struct cf_mix *mix,
			       struct rnd_state *rnd)
{
	struct dma_resv obj, dst;
	unsigned int step, slots = 0;
	bool locked = false;

	dma_resv_init(&obj);
	dma_resv_init(&dst);
	for (step = 0; step < steps; step++) {
		enum dma_resv_usage usage = cf_rand(rnd, 4);
		enum cf_op op = cf_pick_op(rnd);
		struct dma_fence *f;

		conform_trace(w->c, "step %u", step);
		/* Operations that need the lock take it first. */
		if (!locked && (op == OP_RESERVE || op == OP_ADD ||
				op == OP_REPLACE || op == OP_WALK_LOCKED ||
				op == OP_DESCRIBE)) {
			cf_lock(w, &obj);
			locked = true;
			if (op == OP_ADD)
				op = OP_RESERVE;
		}
		switch (op) {
		case OP_LOCK:
			if (locked)
				cf_unlock(w, &obj);
			else
				cf_lock(w, &obj);
			locked = !locked;
			slots = 0;
			break;
		case OP_RESERVE: {
			static const unsigned int n[] = { 1, 2, 3, 4, 8, 17 };
			unsigned int r = n[cf_rand(rnd, ARRAY_SIZE(n))];

			cf_reserve(w, &obj, r);
			slots = max(slots, r);
			break;
		}
		case OP_ADD:
			if (!slots) {
				cf_reserve(w, &obj, 1);
				slots = 1;
			}
			cf_add(w, &obj, cf_pick_add(w, rnd, mix), usage);
			slots--;
			break;
		case OP_REPLACE:
			f = cf_pick_leaf(w, rnd, NULL);
			if (f)
				cf_replace(w, &obj, cf_rand(rnd, CF_CONTEXTS), f,
					   usage);
			break;
		case OP_SIGNAL:
			f = cf_pick_leaf(w, rnd, NULL);
			if (f)
				cf_complete(w, f);
			break;
		case OP_WALK_LOCKED:
			cf_walk_locked(w, &obj, usage);
			break;
		case OP_WALK_UNLOCKED:
			cf_walk_unlocked(w, &obj, usage);
			break;
		case OP_COPY:
			/* Two reservation locks without a context: lockdep says no. */
			if (locked)
				cf_unlock(w, &obj);
			cf_lock(w, &dst);
			conform_add(w->c, "copy ret=");
			conform_add_ret(w->c, dma_resv_copy_fences(&dst, &obj));
			conform_emit(w->c);
			cf_walk_locked(w, &dst, DMA_RESV_USAGE_BOOKKEEP);
			cf_unlock(w, &dst);
			if (locked)
				cf_lock(w, &obj);
			slots = 0;
			break;
		case OP_GET_FENCES:
			cf_get_fences(w, &obj, usage);
			break;
		case OP_SINGLETON:
			cf_get_singleton(w, &obj, usage);
			break;
		case OP_TEST:
			cf_test_signaled(w, &obj, usage);
			break;
		case OP_WAIT: {
			/* Two statements: argument order is unspecified. */
			bool intr = cf_rand(rnd, 2);

			cf_wait_timeout(w, &obj, usage, intr, !cf_rand(rnd, 4));
			break;
		}
		case OP_DEADLINE:
			cf_set_deadline(w, &obj, usage);
			break;
		case OP_DESCRIBE:
			cf_describe(w, &obj);
			break;
		case OP_COUNT:
			break;
		}
		cf_state(w);
	}
	if (locked)
		cf_unlock(w, &obj);
	dma_resv_fini(&dst);
	dma_resv_fini(&obj);
}

static void cf_random(struct kunit *test, const struct cf_mix *mix)
{
	struct rnd_state rnd;
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct cf_world *w = cf_world(test);

		/* Each sequence from its own seed: one can be rerun alone. */
		prandom_seed_state(&rnd, seed + i);
		conform_trace(w->c, "sequence %s seed=%lu steps=%u", mix->name,
			      seed + i, steps);
		cf_random_sequence(w, mix, &rnd);
		cf_world_done(w);
	}
}

static void conform_resv_random_plain(struct kunit *test)
{
	static const struct cf_mix mix = { "plain", BIT(CF_PLAIN), false };

	cf_random(test, &mix);
}

static void conform_resv_random_kinds(struct kunit *test)
{
	static const struct cf_mix mix = {
		"kinds", BIT(CF_PLAIN) | BIT(CF_POLLED) | BIT(CF_WAITER) |
			BIT(CF_IRQ), false,
	};

	cf_random(test, &mix);
}

static void conform_resv_random_containers(struct kunit *test)
{
	static const struct cf_mix mix = {
		"containers", BIT(CF_PLAIN) | BIT(CF_POLLED), true,
	};

	cf_random(test, &mix);
}

static struct kunit_case dma_resv_conform_cases[] = {
	KUNIT_CASE(conform_resv_empty),
	KUNIT_CASE(conform_resv_lock),
	KUNIT_CASE(conform_resv_reserve),
	KUNIT_CASE(conform_resv_add_usage),
	KUNIT_CASE(conform_resv_add_same_context),
	KUNIT_CASE(conform_resv_signaled),
	KUNIT_CASE(conform_resv_wait_kinds),
	KUNIT_CASE(conform_resv_replace),
	KUNIT_CASE(conform_resv_copy),
	KUNIT_CASE(conform_resv_singleton),
	KUNIT_CASE(conform_resv_deadline),
	KUNIT_CASE(conform_resv_container),
	KUNIT_CASE(conform_resv_walk_reserve),
	KUNIT_CASE(conform_resv_random_plain),
	KUNIT_CASE(conform_resv_random_kinds),
	KUNIT_CASE(conform_resv_random_containers),
	{}
};

static struct kunit_suite dma_resv_conform_suite = {
	.name = "dma_resv_conform",
	.test_cases = dma_resv_conform_cases,
};

kunit_test_suite(dma_resv_conform_suite);

MODULE_DESCRIPTION("Conformance traces of dma-resv");
MODULE_LICENSE("GPL");
