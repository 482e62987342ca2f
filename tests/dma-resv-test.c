// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for reservation objects: locking and ww backoff, reserving
 * and adding fences, the replacement rules, every query at every usage
 * level, allocation failures (each allocation of an operation failed in
 * turn), and unlocked walks racing with writers.
 *
 * Every fence is one of ours, counted when made and when released, so each
 * case ends by checking that exactly the fences it dropped are gone (KASAN
 * catches the ones freed too early).
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "../dma-resv-internal.h"

#define TFENCE_MAGIC	0x7e5f3a11u

struct resv_test {
	atomic_t made;
	atomic_t released;
	bool lockdep;		/* lockdep was watching when the case began */
};

struct tfence {
	struct dma_fence base;	/* first: dma_fence_free() frees the whole */
	spinlock_t lock;
	struct resv_test *owner;
	u32 magic;
	bool hw_done;		/* what ->signaled reports */
	unsigned int waits;	/* calls of ->wait */
	bool has_deadline;
	ktime_t deadline;
};

static struct tfence *to_tfence(struct dma_fence *f)
{
	return container_of(f, struct tfence, base);
}

static const char *tfence_name(struct dma_fence *f)
{
	return "dma-resv-test";
}

static bool tfence_signaled(struct dma_fence *f)
{
	return READ_ONCE(to_tfence(f)->hw_done);
}

static void tfence_set_deadline(struct dma_fence *f, ktime_t deadline)
{
	struct tfence *tf = to_tfence(f);

	tf->deadline = deadline;
	tf->has_deadline = true;
}

static void tfence_release(struct dma_fence *f)
{
	struct tfence *tf = to_tfence(f);

	WARN_ON(tf->magic != TFENCE_MAGIC);
	tf->magic = 0;
	atomic_inc(&tf->owner->released);
	dma_fence_free(f);
}

static const struct dma_fence_ops tfence_ops = {
	.get_driver_name = tfence_name,
	.get_timeline_name = tfence_name,
	.signaled = tfence_signaled,
	.set_deadline = tfence_set_deadline,
	.release = tfence_release,
};

/* No ->signaled: only its ->wait finds it done, as with vmwgfx's fences. */
static long tfence_wait_done(struct dma_fence *f, bool intr, long timeout)
{
	to_tfence(f)->waits++;
	return timeout ? timeout : 1;
}

static const struct dma_fence_ops tfence_wait_ops = {
	.get_driver_name = tfence_name,
	.get_timeline_name = tfence_name,
	.wait = tfence_wait_done,
	.release = tfence_release,
};

/* Done as soon as someone enables signaling: false signals it at once. */
static bool tfence_enable_done(struct dma_fence *f)
{
	return false;
}

static const struct dma_fence_ops tfence_enable_ops = {
	.get_driver_name = tfence_name,
	.get_timeline_name = tfence_name,
	.enable_signaling = tfence_enable_done,
	.release = tfence_release,
};

static struct dma_fence *mkfence_with(struct kunit *test,
				      const struct dma_fence_ops *ops,
				      u64 context, u64 seqno)
{
	struct resv_test *rt = test->priv;
	struct tfence *tf = kzalloc(sizeof(*tf), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, tf);
	spin_lock_init(&tf->lock);
	tf->owner = rt;
	tf->magic = TFENCE_MAGIC;
	dma_fence_init(&tf->base, ops, &tf->lock, context, seqno);
	atomic_inc(&rt->made);
	return &tf->base;
}

static struct dma_fence *mkfence(struct kunit *test, u64 context, u64 seqno)
{
	return mkfence_with(test, &tfence_ops, context, seqno);
}

static struct dma_fence *mkfence_ops(struct kunit *test,
				     const struct dma_fence_ops *ops)
{
	return mkfence_with(test, ops, dma_fence_context_alloc(1), 1);
}

static struct dma_fence *mkfence_new(struct kunit *test)
{
	return mkfence_ops(test, &tfence_ops);
}

static unsigned int refs(struct dma_fence *f)
{
	return kref_read(&f->refcount);
}

static int resv_test_init(struct kunit *test)
{
	struct resv_test *rt = kunit_kzalloc(test, sizeof(*rt), GFP_KERNEL);

	if (!rt)
		return -ENOMEM;
	test->priv = rt;
	rt->lockdep = IS_ENABLED(CONFIG_PROVE_LOCKING) && debug_locks;
	if (IS_ENABLED(CONFIG_PROVE_LOCKING) && !debug_locks)
		kunit_info(test, "lockdep was off before this case began\n");
	return 0;
}

static bool lockdep_watching(struct kunit *test)
{
	return ((struct resv_test *)test->priv)->lockdep && debug_locks;
}

/*
 * Every fence made is gone, and lockdep is still watching if it was when
 * the case began (an earlier suite may have turned it off for good).
 */
static void resv_test_exit(struct kunit *test)
{
	struct resv_test *rt = test->priv;

	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&rt->released),
			    atomic_read(&rt->made), "fences leaked");
	if (rt->lockdep)
		KUNIT_EXPECT_TRUE_MSG(test, debug_locks,
				      "lockdep turned itself off");
}

static void resv_lock(struct kunit *test, struct dma_resv *obj)
{
	KUNIT_ASSERT_EQ(test, dma_resv_lock(obj, NULL), 0);
}

/* Lock, reserve @n slots, add @f with @usage, unlock. */
static void add_one(struct kunit *test, struct dma_resv *obj,
		    struct dma_fence *f, enum dma_resv_usage usage)
{
	resv_lock(test, obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(obj, 1), 0);
	dma_resv_add_fence(obj, f, usage);
	dma_resv_unlock(obj);
}

/* Fences seen by a locked walk at @usage; @out gets up to @max of them. */
static unsigned int walk_locked(struct kunit *test, struct dma_resv *obj,
				enum dma_resv_usage usage,
				struct dma_fence **out, unsigned int max)
{
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	unsigned int n = 0;

	resv_lock(test, obj);
	dma_resv_for_each_fence(&cursor, obj, usage, f) {
		KUNIT_EXPECT_EQ(test, dma_resv_iter_is_restarted(&cursor), !n);
		KUNIT_EXPECT_LE(test, dma_resv_iter_usage(&cursor), usage);
		if (n < max)
			out[n] = f;
		n++;
	}
	dma_resv_unlock(obj);
	return n;
}

static unsigned int walk_unlocked(struct kunit *test, struct dma_resv *obj,
				  enum dma_resv_usage usage)
{
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	unsigned int n = 0;

	dma_resv_iter_begin(&cursor, obj, usage);
	dma_resv_for_each_fence_unlocked(&cursor, f) {
		if (dma_resv_iter_is_restarted(&cursor))
			n = 0;
		KUNIT_EXPECT_LE(test, dma_resv_iter_usage(&cursor), usage);
		KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(f));
		n++;
	}
	dma_resv_iter_end(&cursor);
	return n;
}

static const enum dma_resv_usage all_usages[] = {
	DMA_RESV_USAGE_KERNEL, DMA_RESV_USAGE_WRITE,
	DMA_RESV_USAGE_READ, DMA_RESV_USAGE_BOOKKEEP,
};

static void usage_desc(const enum dma_resv_usage *u, char *desc)
{
	static const char * const names[] = {
		"kernel", "write", "read", "bookkeep"
	};

	strscpy(desc, names[*u], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(usage, all_usages, usage_desc);

static void *fail_kmalloc(size_t size, gfp_t gfp)
{
	return NULL;
}

/* ---- locking ---------------------------------------------------------- */

static void test_usage_rw(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dma_resv_usage_rw(true), DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, dma_resv_usage_rw(false), DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_LT(test, DMA_RESV_USAGE_KERNEL, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_LT(test, DMA_RESV_USAGE_WRITE, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_LT(test, DMA_RESV_USAGE_READ, DMA_RESV_USAGE_BOOKKEEP);
}

static void test_lock_helpers(struct kunit *test)
{
	struct ww_acquire_ctx ctx;
	struct dma_resv obj;

	dma_resv_init(&obj);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(&obj));
	KUNIT_EXPECT_NULL(test, dma_resv_locking_ctx(&obj));

	resv_lock(test, &obj);
	KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(&obj));
	KUNIT_EXPECT_TRUE(test, dma_resv_held(&obj));
	KUNIT_EXPECT_NULL(test, dma_resv_locking_ctx(&obj));
	dma_resv_assert_held(&obj);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(&obj));
	if (lockdep_watching(test))
		KUNIT_EXPECT_FALSE(test, dma_resv_held(&obj));

	KUNIT_ASSERT_TRUE(test, dma_resv_trylock(&obj));
	KUNIT_EXPECT_TRUE(test, dma_resv_held(&obj));
	dma_resv_unlock(&obj);

	KUNIT_ASSERT_EQ(test, dma_resv_lock_interruptible(&obj, NULL), 0);
	dma_resv_unlock(&obj);

	ww_acquire_init(&ctx, &reservation_ww_class);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&obj, &ctx), 0);
	KUNIT_EXPECT_PTR_EQ(test, dma_resv_locking_ctx(&obj), &ctx);
	KUNIT_EXPECT_EQ(test, dma_resv_lock(&obj, &ctx), -EALREADY);
	KUNIT_EXPECT_EQ(test, dma_resv_lock_interruptible(&obj, &ctx),
			-EALREADY);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_NULL(test, dma_resv_locking_ctx(&obj));
	ww_acquire_fini(&ctx);

	/* The slow paths are only legal after -EDEADLK: see test_ww_*. */
	dma_resv_fini(&obj);
}

struct holder {
	struct dma_resv *obj;
	struct completion locked, release, done;
	bool trylock_result;
};

static int holder_fn(void *arg)
{
	struct holder *h = arg;

	dma_resv_lock(h->obj, NULL);
	complete(&h->locked);
	wait_for_completion(&h->release);
	dma_resv_unlock(h->obj);
	complete(&h->done);
	return 0;
}

static void test_trylock_contended(struct kunit *test)
{
	struct task_struct *t;
	struct dma_resv obj;
	struct holder h = { .obj = &obj };

	dma_resv_init(&obj);
	init_completion(&h.locked);
	init_completion(&h.release);
	init_completion(&h.done);
	t = kthread_run(holder_fn, &h, "resv-holder");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_completion(&h.locked);

	KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(&obj));
	if (lockdep_watching(test))
		KUNIT_EXPECT_FALSE(test, dma_resv_held(&obj));
	KUNIT_EXPECT_FALSE(test, dma_resv_trylock(&obj));

	/* A signal ends an interruptible wait for the contended lock. */
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	KUNIT_EXPECT_EQ(test, dma_resv_lock_interruptible(&obj, NULL), -EINTR);
	flush_signals(current);
	disallow_signal(SIGUSR1);

	complete(&h.release);
	wait_for_completion(&h.done);
	KUNIT_EXPECT_TRUE(test, dma_resv_trylock(&obj));
	dma_resv_unlock(&obj);
	dma_resv_fini(&obj);
}

static void no_injection(struct ww_acquire_ctx *ctx)
{
#ifdef CONFIG_DEBUG_WW_MUTEX_SLOWPATH
	/* The exact sequences below must not see injected -EDEADLKs. */
	ctx->deadlock_inject_countdown = UINT_MAX;
#endif
}

struct ww_young {
	struct dma_resv *a, *b;
	bool intr;
	int first_ret;		/* locking @a while holding @b */
	int slow_ret, second_ret;
	struct completion backed_off, done;
};

/* The younger transaction: holds B, wants A, which an older one holds. */
static int ww_young_fn(void *arg)
{
	struct ww_young *y = arg;
	struct ww_acquire_ctx ctx;

	ww_acquire_init(&ctx, &reservation_ww_class);
	no_injection(&ctx);
	dma_resv_lock(y->b, &ctx);
	y->first_ret = y->intr ? dma_resv_lock_interruptible(y->a, &ctx) :
				 dma_resv_lock(y->a, &ctx);
	if (y->first_ret == -EDEADLK) {
		/* Back off: drop everything, then sleep on the contended one. */
		dma_resv_unlock(y->b);
		complete(&y->backed_off);
		if (y->intr) {
			y->slow_ret = dma_resv_lock_slow_interruptible(y->a,
								       &ctx);
		} else {
			dma_resv_lock_slow(y->a, &ctx);
			y->slow_ret = 0;
		}
		y->second_ret = dma_resv_lock(y->b, &ctx);
		if (!y->second_ret)
			dma_resv_unlock(y->b);
		if (!y->slow_ret)
			dma_resv_unlock(y->a);
	} else {
		if (!y->first_ret)
			dma_resv_unlock(y->a);
		dma_resv_unlock(y->b);
		complete(&y->backed_off);
	}
	ww_acquire_fini(&ctx);
	complete(&y->done);
	return 0;
}

static void ww_backoff(struct kunit *test, bool intr)
{
	struct ww_young y = { .intr = intr };
	struct ww_acquire_ctx ctx;
	struct dma_resv a, b;
	struct task_struct *t;

	dma_resv_init(&a);
	dma_resv_init(&b);
	y.a = &a;
	y.b = &b;
	init_completion(&y.backed_off);
	init_completion(&y.done);

	/* Initialized first, so older: it wins every conflict. */
	ww_acquire_init(&ctx, &reservation_ww_class);
	no_injection(&ctx);
	KUNIT_ASSERT_EQ(test, dma_resv_lock(&a, &ctx), 0);

	t = kthread_run(ww_young_fn, &y, "resv-ww-young");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_completion(&y.backed_off);
	KUNIT_EXPECT_EQ(test, y.first_ret, -EDEADLK);

	/* The younger one let go of B, so the older one gets it. */
	KUNIT_EXPECT_EQ(test, intr ? dma_resv_lock_interruptible(&b, &ctx) :
				     dma_resv_lock(&b, &ctx), 0);
	KUNIT_EXPECT_PTR_EQ(test, dma_resv_locking_ctx(&b), &ctx);
	ww_acquire_done(&ctx);
	dma_resv_unlock(&b);
	dma_resv_unlock(&a);
	ww_acquire_fini(&ctx);

	wait_for_completion(&y.done);
	KUNIT_EXPECT_EQ(test, y.slow_ret, 0);
	KUNIT_EXPECT_EQ(test, y.second_ret, 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(&a));
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(&b));
	dma_resv_fini(&a);
	dma_resv_fini(&b);
}

static void test_ww_backoff(struct kunit *test)
{
	ww_backoff(test, false);
}

static void test_ww_backoff_interruptible(struct kunit *test)
{
	ww_backoff(test, true);
}

#define WW_OBJS		4
#define WW_ROUNDS	50

struct ww_worker {
	struct dma_resv *objs;
	int order;		/* 1 or -1: the two workers lock in opposite orders */
	unsigned int deadlocks;
	int error;
	struct completion done;
};

/* Lock every object under one context, backing off on -EDEADLK. */
static int lock_all(struct ww_worker *w, struct ww_acquire_ctx *ctx)
{
	struct dma_resv *contended = NULL;
	int i, j, idx, ret;

retry:
	for (i = 0; i < WW_OBJS; i++) {
		idx = w->order > 0 ? i : WW_OBJS - 1 - i;
		if (&w->objs[idx] == contended) {
			contended = NULL;
			continue;
		}
		ret = dma_resv_lock(&w->objs[idx], ctx);
		if (!ret)
			continue;
		for (j = 0; j < i; j++) {
			int k = w->order > 0 ? j : WW_OBJS - 1 - j;

			if (&w->objs[k] != contended)
				dma_resv_unlock(&w->objs[k]);
		}
		if (contended)
			dma_resv_unlock(contended);
		if (ret != -EDEADLK)
			return ret;
		w->deadlocks++;
		contended = &w->objs[idx];
		dma_resv_lock_slow(contended, ctx);
		goto retry;
	}
	return 0;
}

static int ww_worker_fn(void *arg)
{
	struct ww_worker *w = arg;
	int round, i;

	for (round = 0; round < WW_ROUNDS && !w->error; round++) {
		struct ww_acquire_ctx ctx;

		ww_acquire_init(&ctx, &reservation_ww_class);
		w->error = lock_all(w, &ctx);
		if (!w->error) {
			ww_acquire_done(&ctx);
			for (i = 0; i < WW_OBJS; i++) {
				if (dma_resv_locking_ctx(&w->objs[i]) != &ctx)
					w->error = -EINVAL;
			}
			/* Let the other worker run into our locks. */
			schedule_timeout_uninterruptible(1);
			for (i = 0; i < WW_OBJS; i++)
				dma_resv_unlock(&w->objs[i]);
		}
		ww_acquire_fini(&ctx);
	}
	complete(&w->done);
	return 0;
}

static void test_ww_contention(struct kunit *test)
{
	struct dma_resv objs[WW_OBJS];
	struct ww_worker w[2];
	int i;

	for (i = 0; i < WW_OBJS; i++)
		dma_resv_init(&objs[i]);
	for (i = 0; i < 2; i++) {
		struct task_struct *t;

		w[i] = (struct ww_worker){ .objs = objs, .order = i ? -1 : 1 };
		init_completion(&w[i].done);
		t = kthread_run(ww_worker_fn, &w[i], "resv-ww-%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	}
	for (i = 0; i < 2; i++) {
		wait_for_completion(&w[i].done);
		KUNIT_EXPECT_EQ(test, w[i].error, 0);
	}
	/* Opposite orders with a sleep inside must have collided. */
	KUNIT_EXPECT_GT(test, w[0].deadlocks + w[1].deadlocks, 0);
	for (i = 0; i < WW_OBJS; i++) {
		KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(&objs[i]));
		dma_resv_fini(&objs[i]);
	}
}

/*
 * The order taught to lockdep at boot, used the allowed way round: memory
 * allocation and fence waits under the lock, only trylock from reclaim.
 * A wrong boot-time order makes lockdep complain here.
 */
static void test_lock_order(struct kunit *test)
{
	struct dma_fence *f = mkfence_new(test);
	struct dma_resv obj;
	void *p;

	dma_resv_init(&obj);
	dma_fence_signal(f);
	resv_lock(test, &obj);
	p = kmalloc(64, GFP_KERNEL);
	kfree(p);
	KUNIT_EXPECT_EQ(test, dma_fence_wait(f, false), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
	dma_resv_add_fence(&obj, f, DMA_RESV_USAGE_KERNEL);
	dma_resv_unlock(&obj);

	fs_reclaim_acquire(GFP_KERNEL);
	if (dma_resv_trylock(&obj)) {
		KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
							       DMA_RESV_USAGE_KERNEL));
		dma_resv_unlock(&obj);
	}
	fs_reclaim_release(GFP_KERNEL);
	dma_resv_fini(&obj);
	dma_fence_put(f);
}

static struct kunit_case resv_lock_cases[] = {
	KUNIT_CASE(test_usage_rw),
	KUNIT_CASE(test_lock_helpers),
	KUNIT_CASE(test_trylock_contended),
	KUNIT_CASE(test_ww_backoff),
	KUNIT_CASE(test_ww_backoff_interruptible),
	KUNIT_CASE_SLOW(test_ww_contention),
	KUNIT_CASE(test_lock_order),
	{}
};

static struct kunit_suite resv_lock_suite = {
	.name = "dma-resv-lock",
	.init = resv_test_init,
	.exit = resv_test_exit,
	.test_cases = resv_lock_cases,
};

/* ---- reserving and adding -------------------------------------------- */

static void test_empty(struct kunit *test)
{
	struct dma_fence **fences = (void *)1, *single = (void *)1;
	struct dma_resv obj;
	unsigned int n = 1;
	int u;

	dma_resv_init(&obj);
	for (u = DMA_RESV_USAGE_KERNEL; u <= DMA_RESV_USAGE_BOOKKEEP; u++) {
		KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj, u));
		KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, u, false, 0),
				1);
		KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, u, true, 7),
				7);
		KUNIT_EXPECT_EQ(test, dma_resv_get_fences(&obj, u, &n, &fences),
				0);
		KUNIT_EXPECT_EQ(test, n, 0);
		KUNIT_EXPECT_NULL(test, fences);
		KUNIT_EXPECT_EQ(test, dma_resv_get_singleton(&obj, u, &single),
				0);
		KUNIT_EXPECT_NULL(test, single);
		KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, u, NULL, 0), 0);
		KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, u), 0);
	}
	dma_resv_set_deadline(&obj, DMA_RESV_USAGE_BOOKKEEP, ktime_get());

	/* A reservation alone changes nothing that queries can see. */
	resv_lock(test, &obj);
	KUNIT_EXPECT_EQ(test, dma_resv_reserve_fences(&obj, 3), 0);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
						       DMA_RESV_USAGE_BOOKKEEP));
	dma_resv_fini(&obj);
}

/* One fence of @usage is seen exactly by the queries at or above it. */
static void test_one_fence_each_level(struct kunit *test)
{
	const enum dma_resv_usage *usage = test->param_value;
	struct dma_fence *f = mkfence_new(test), *seen[2], **fences, *single;
	struct dma_resv obj;
	unsigned int n;
	int q;

	dma_resv_init(&obj);
	add_one(test, &obj, f, *usage);
	KUNIT_EXPECT_EQ(test, refs(f), 2);

	for (q = DMA_RESV_USAGE_KERNEL; q <= DMA_RESV_USAGE_BOOKKEEP; q++) {
		bool visible = *usage <= q;

		KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, q, seen, 2),
				visible);
		if (visible)
			KUNIT_EXPECT_PTR_EQ(test, seen[0], f);
		KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, q), visible);
		KUNIT_EXPECT_EQ(test, dma_resv_test_signaled(&obj, q), !visible);
		KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, q, false, 0),
				!visible);
		KUNIT_ASSERT_EQ(test, dma_resv_get_fences(&obj, q, &n, &fences),
				0);
		KUNIT_EXPECT_EQ(test, n, visible);
		if (n) {
			KUNIT_EXPECT_PTR_EQ(test, fences[0], f);
			dma_fence_put(fences[0]);
		}
		kfree(fences);
		KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&obj, q, &single),
				0);
		KUNIT_EXPECT_PTR_EQ(test, single, visible ? f : NULL);
		dma_fence_put(single);
	}
	KUNIT_EXPECT_EQ(test, refs(f), 2);

	dma_fence_signal(f);
	for (q = DMA_RESV_USAGE_KERNEL; q <= DMA_RESV_USAGE_BOOKKEEP; q++) {
		KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj, q));
		KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, q), 0);
		/* The locked walk still shows signaled fences. */
		KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, q, seen, 2),
				*usage <= q);
	}
	dma_resv_fini(&obj);
	KUNIT_EXPECT_EQ(test, refs(f), 1);
	dma_fence_put(f);
}

/* Four fences, one per level: each query sees exactly the levels below. */
static void test_all_levels(struct kunit *test)
{
	struct dma_fence *f[4], *seen[4], **fences, *single;
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	unsigned int n, i;
	int q;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 4), 0);
	/* Added strongest last, to show that order does not matter. */
	for (i = 0; i < 4; i++) {
		f[i] = mkfence_new(test);
		dma_resv_add_fence(&obj, f[i], DMA_RESV_USAGE_BOOKKEEP - i);
	}
	dma_resv_unlock(&obj);

	for (q = DMA_RESV_USAGE_KERNEL; q <= DMA_RESV_USAGE_BOOKKEEP; q++) {
		unsigned int want = q + 1;

		KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, q, seen, 4), want);
		KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, q), want);
		KUNIT_ASSERT_EQ(test, dma_resv_get_fences(&obj, q, &n, &fences),
				0);
		KUNIT_EXPECT_EQ(test, n, want);
		for (i = 0; i < n; i++) {
			struct dma_fence *g = fences[i];
			int lvl = DMA_RESV_USAGE_BOOKKEEP - (g == f[0] ? 0 :
				  g == f[1] ? 1 : g == f[2] ? 2 : 3);

			KUNIT_EXPECT_LE(test, lvl, q);
			dma_fence_put(g);
		}
		kfree(fences);

		KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&obj, q, &single),
				0);
		KUNIT_ASSERT_NOT_NULL(test, single);
		if (want == 1) {
			KUNIT_EXPECT_PTR_EQ(test, single, f[3]);
		} else {
			struct dma_fence_array *arr = to_dma_fence_array(single);

			KUNIT_ASSERT_NOT_NULL(test, arr);
			KUNIT_EXPECT_EQ(test, arr->num_fences, want);
			KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(single));
		}
		dma_fence_put(single);
	}

	/* The locked walk reports each fence with its own level. */
	resv_lock(test, &obj);
	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP,
				single) {
		for (i = 0; i < 4; i++)
			if (single == f[i])
				KUNIT_EXPECT_EQ(test,
						dma_resv_iter_usage(&cursor),
						DMA_RESV_USAGE_BOOKKEEP - i);
	}
	dma_resv_unlock(&obj);

	/* Signaling the write fence leaves only the kernel one for WRITE. */
	dma_fence_signal(f[2]);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_WRITE),
			1);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_WRITE));
	dma_fence_signal(f[3]);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
						       DMA_RESV_USAGE_WRITE));
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_READ));

	dma_resv_fini(&obj);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, refs(f[i]), 1);
		dma_fence_put(f[i]);
	}
}

static void test_reserve_zero(struct kunit *test)
{
	struct dma_resv obj;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_EXPECT_EQ(test, dma_resv_reserve_fences(&obj, 0), -EINVAL);
	dma_resv_unlock(&obj);
	dma_resv_fini(&obj);
}

static void test_reserve_huge(struct kunit *test)
{
	struct dma_fence *f = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, f, DMA_RESV_USAGE_READ);
	resv_lock(test, &obj);
	KUNIT_EXPECT_EQ(test, dma_resv_reserve_fences(&obj, UINT_MAX),
			-ENOMEM);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_READ),
			1);
	dma_resv_fini(&obj);
	dma_fence_put(f);
}

/*
 * A reservation that fits is served from the list in place; with
 * CONFIG_DEBUG_MUTEXES only within one lock hold, since the unlock forgets
 * the room and the next hold's reservation allocates, as in 6.12.
 */
static void test_reserve_no_realloc(struct kunit *test)
{
	struct dma_resv_list *list;
	struct dma_fence *f[3];
	struct dma_resv obj;
	int i;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 3), 0);
	list = rcu_access_pointer(obj.fences);
	KUNIT_ASSERT_NOT_NULL(test, list);
	dma_resv_unlock(&obj);

	for (i = 0; i < 3; i++) {
		f[i] = mkfence_new(test);
		add_one(test, &obj, f[i], DMA_RESV_USAGE_WRITE);
		KUNIT_EXPECT_EQ(test, rcu_access_pointer(obj.fences) == list,
				!IS_ENABLED(CONFIG_DEBUG_MUTEXES));
		list = rcu_access_pointer(obj.fences);
	}
	/* Several reservations in one hold do not add up. */
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
	list = rcu_access_pointer(obj.fences);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(obj.fences), list);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_WRITE),
			3);
	dma_resv_fini(&obj);
	for (i = 0; i < 3; i++)
		dma_fence_put(f[i]);
}

static void test_reserve_nomem(struct kunit *test)
{
	struct dma_fence *f = mkfence_new(test);
	struct dma_resv_list *list;
	struct dma_resv obj;
	int i, ret = 0;

	dma_resv_init(&obj);
	add_one(test, &obj, f, DMA_RESV_USAGE_KERNEL);
	list = rcu_access_pointer(obj.fences);

	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, fail_kmalloc);
	resv_lock(test, &obj);
	/* Big enough to need a new list whatever the bucket size. */
	for (i = 0; i < 8 && !ret; i++)
		ret = dma_resv_reserve_fences(&obj, 64 << i);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	dma_resv_unlock(&obj);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);

	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(obj.fences), list);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_KERNEL));
	dma_resv_fini(&obj);
	dma_fence_put(f);
}

/* Growing copies the pending fences and drops the signaled ones. */
static void test_grow_prunes_signaled(struct kunit *test)
{
	struct resv_test *rt = test->priv;
	struct dma_fence *f[16];
	struct dma_resv obj;
	int i, released;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 16), 0);
	for (i = 0; i < 16; i++) {
		f[i] = mkfence_new(test);
		dma_resv_add_fence(&obj, f[i], DMA_RESV_USAGE_READ);
	}
	for (i = 0; i < 16; i++) {
		if (i % 4)
			dma_fence_signal(f[i]);
		dma_fence_put(f[i]);	/* the object holds the last reference */
	}
	released = atomic_read(&rt->released);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 256), 0);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, atomic_read(&rt->released) - released, 12);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), 4);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_READ),
			4);
	dma_resv_fini(&obj);
	KUNIT_EXPECT_EQ(test, atomic_read(&rt->released) - released, 16);
}

/* A fence whose slot is free again (signaled) is replaced, not appended. */
static void test_signaled_slot_reused(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_WRITE);
	dma_fence_signal(a);
	add_one(test, &obj, b, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), 1);
	KUNIT_EXPECT_EQ(test, refs(a), 1);
	KUNIT_EXPECT_EQ(test, refs(b), 2);

	/* Also when the driver's ->signaled hook is the only one who knows. */
	to_tfence(b)->hw_done = true;
	dma_fence_put(a);
	a = mkfence_new(test);
	add_one(test, &obj, a, DMA_RESV_USAGE_KERNEL);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), 1);
	KUNIT_EXPECT_EQ(test, refs(b), 1);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

/*
 * The first free slot is taken even when a fence of the same context sits
 * further on: the add does not pay a scan of the whole list for it.
 */
static void test_first_free_slot_taken(struct kunit *test)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence *done = mkfence_new(test);
	struct dma_fence *a1 = mkfence(test, ctx, 1), *a2 = mkfence(test, ctx, 2);
	struct dma_resv obj;

	/* One hold: with CONFIG_DEBUG_MUTEXES a new hold reallocates. */
	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 3), 0);
	dma_resv_add_fence(&obj, done, DMA_RESV_USAGE_READ);
	dma_resv_add_fence(&obj, a1, DMA_RESV_USAGE_READ);
	dma_fence_signal(done);
	dma_resv_add_fence(&obj, a2, DMA_RESV_USAGE_READ);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, refs(done), 1);
	KUNIT_EXPECT_EQ(test, refs(a1), 2);
	KUNIT_EXPECT_EQ(test, refs(a2), 2);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), 2);
	dma_resv_fini(&obj);
	dma_fence_put(done);
	dma_fence_put(a1);
	dma_fence_put(a2);
}

static void test_same_context_replacement(struct kunit *test)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence *f1 = mkfence(test, ctx, 1), *f2 = mkfence(test, ctx, 2);
	struct dma_fence *f3 = mkfence(test, ctx, 3), *f0 = mkfence(test, ctx, 0);
	struct dma_fence *seen[4];
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, f1, DMA_RESV_USAGE_WRITE);
	add_one(test, &obj, f2, DMA_RESV_USAGE_WRITE);
	KUNIT_ASSERT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  seen, 4), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], f2);
	KUNIT_EXPECT_EQ(test, refs(f1), 1);

	/* An earlier fence of the context does not replace a later one. */
	add_one(test, &obj, f0, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  seen, 4), 2);
	KUNIT_EXPECT_EQ(test, refs(f2), 2);

	/* A later fence with a stronger level replaces and promotes. */
	add_one(test, &obj, f3, DMA_RESV_USAGE_KERNEL);
	KUNIT_EXPECT_EQ(test, refs(f2), 1);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_KERNEL,
					  seen, 4), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], f3);

	dma_resv_fini(&obj);
	dma_fence_put(f0);
	dma_fence_put(f1);
	dma_fence_put(f2);
	dma_fence_put(f3);
}

/* A later fence never takes over a stronger slot with a weaker level. */
static void test_no_degrade(struct kunit *test)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence *f1 = mkfence(test, ctx, 1), *f2 = mkfence(test, ctx, 2);
	struct dma_fence *seen[4];
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, f1, DMA_RESV_USAGE_WRITE);
	add_one(test, &obj, f2, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  seen, 4), 2);
	KUNIT_ASSERT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_WRITE,
					  seen, 4), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], f1);
	dma_resv_fini(&obj);
	dma_fence_put(f1);
	dma_fence_put(f2);
}

/*
 * Adding a fence again with a lower level moves it there; with a higher
 * level, 6.12 adds a second entry.
 */
static void test_readd_promotes(struct kunit *test)
{
	static const enum dma_resv_usage want[] = {
		DMA_RESV_USAGE_READ, DMA_RESV_USAGE_BOOKKEEP,
	};
	struct dma_fence *f = mkfence_new(test), *seen[2];
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	unsigned int n = 0;

	dma_resv_init(&obj);
	add_one(test, &obj, f, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
						       DMA_RESV_USAGE_READ));
	add_one(test, &obj, f, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_READ));
	KUNIT_EXPECT_EQ(test, refs(f), 2);
	add_one(test, &obj, f, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test, refs(f), 3);
	resv_lock(test, &obj);
	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP,
				seen[0]) {
		KUNIT_EXPECT_PTR_EQ(test, seen[0], f);
		if (n < ARRAY_SIZE(want))
			KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
					want[n]);
		n++;
	}
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, n, 2);
	dma_resv_fini(&obj);
	dma_fence_put(f);
}

/* 6.12 WARNs about containers and still adds them: they are waited for. */
static void test_container_kept(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence **arr = kmalloc_array(2, sizeof(*arr), GFP_KERNEL);
	struct dma_fence_chain *chain = dma_fence_chain_alloc();
	struct dma_fence_array *array;
	struct dma_resv obj;

	KUNIT_ASSERT_NOT_NULL(test, arr);
	KUNIT_ASSERT_NOT_NULL(test, chain);
	arr[0] = dma_fence_get(a);
	arr[1] = dma_fence_get(b);
	array = dma_fence_array_create(2, arr, dma_fence_context_alloc(1), 1,
				       false);
	KUNIT_ASSERT_NOT_NULL(test, array);
	dma_fence_chain_init(chain, NULL, dma_fence_get(a), 1);

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 2), 0);
	dma_resv_add_fence(&obj, &array->base, DMA_RESV_USAGE_WRITE);
	dma_resv_add_fence(&obj, &chain->base, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), 2);
	KUNIT_EXPECT_EQ(test, refs(&array->base), 2);
	KUNIT_EXPECT_EQ(test, refs(&chain->base), 2);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE,
						    false, 0), 0);
	dma_fence_signal(a);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_WRITE));
	dma_fence_signal(b);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE,
						    false, 0), 1);
	/*
	 * The wait enabled the array's signaling: it signals, and drops what
	 * it holds, from irq_work.
	 */
	irq_work_sync(&array->work);

	dma_resv_fini(&obj);
	dma_fence_put(&array->base);
	dma_fence_put(&chain->base);
	dma_fence_put(a);
	dma_fence_put(b);
}

/* Without a reservation in this lock hold: a WARN, and a sane object. */
static void test_add_unreserved(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	/* No list at all yet. */
	resv_lock(test, &obj);
	dma_resv_add_fence(&obj, a, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_WRITE),
			1);

	/* A reservation from an earlier hold does not count. */
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 4), 0);
	dma_resv_unlock(&obj);
	resv_lock(test, &obj);
	dma_resv_add_fence(&obj, b, DMA_RESV_USAGE_READ);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_unlocked(test, &obj, DMA_RESV_USAGE_READ),
			2);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	KUNIT_EXPECT_EQ(test, refs(b), 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

/* Unreserved and no memory: the fence is waited for instead of stored. */
static void test_add_unreserved_nomem(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	dma_fence_signal(a);
	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, fail_kmalloc);
	resv_lock(test, &obj);
	dma_resv_add_fence(&obj, a, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&obj);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);
	KUNIT_EXPECT_EQ(test, refs(a), 1);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(obj.fences));
	dma_resv_fini(&obj);
	dma_fence_put(a);
}

static void test_replace_fences(struct kunit *test)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence *x1 = mkfence(test, ctx, 1);
	struct dma_fence *x2 = mkfence(test, ctx, 2);
	struct dma_fence *y = mkfence_new(test), *r = mkfence_new(test);
	struct dma_fence *seen[4];
	struct dma_resv obj;
	unsigned int n, i;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 3), 0);
	dma_resv_add_fence(&obj, x1, DMA_RESV_USAGE_READ);
	dma_resv_add_fence(&obj, y, DMA_RESV_USAGE_READ);
	/* Weaker than x1, so both stay. */
	dma_resv_add_fence(&obj, x2, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_replace_fences(&obj, ctx, r, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&obj);

	KUNIT_EXPECT_EQ(test, refs(x1), 1);
	KUNIT_EXPECT_EQ(test, refs(x2), 1);
	KUNIT_EXPECT_EQ(test, refs(r), 3);
	KUNIT_ASSERT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_READ,
					  seen, 4), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], y);
	n = walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP, seen, 4);
	KUNIT_ASSERT_EQ(test, n, 3);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE(test, seen[i] == y || seen[i] == r);

	/* Nothing of that context left: a no-op. */
	resv_lock(test, &obj);
	dma_resv_replace_fences(&obj, ctx, x1, DMA_RESV_USAGE_KERNEL);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, refs(x1), 1);

	dma_resv_fini(&obj);
	KUNIT_EXPECT_EQ(test, refs(r), 1);
	dma_fence_put(x1);
	dma_fence_put(x2);
	dma_fence_put(y);
	dma_fence_put(r);
}

static void test_copy_fences(struct kunit *test)
{
	struct dma_fence *f[4], *old = mkfence_new(test), *seen[4];
	struct dma_resv src, dst;
	unsigned int i, n;

	dma_resv_init(&src);
	dma_resv_init(&dst);
	resv_lock(test, &src);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&src, 4), 0);
	for (i = 0; i < 4; i++) {
		f[i] = mkfence_new(test);
		dma_resv_add_fence(&src, f[i], i);
	}
	dma_resv_unlock(&src);
	dma_fence_signal(f[0]);
	add_one(test, &dst, old, DMA_RESV_USAGE_KERNEL);

	resv_lock(test, &dst);
	KUNIT_ASSERT_EQ(test, dma_resv_copy_fences(&dst, &src), 0);
	dma_resv_unlock(&dst);

	KUNIT_EXPECT_EQ(test, refs(old), 1);
	KUNIT_EXPECT_EQ(test, refs(f[0]), 2);	/* signaled: not copied */
	for (i = 1; i < 4; i++)
		KUNIT_EXPECT_EQ(test, refs(f[i]), 3);
	for (i = 0; i < 4; i++) {
		n = walk_locked(test, &dst, i, seen, 4);
		KUNIT_EXPECT_EQ(test, n, i);
		if (n)
			KUNIT_EXPECT_PTR_EQ(test, seen[n - 1], f[i]);
	}

	/* Copying an empty object empties the destination. */
	dma_resv_fini(&src);
	dma_resv_init(&src);
	resv_lock(test, &dst);
	KUNIT_ASSERT_EQ(test, dma_resv_copy_fences(&dst, &src), 0);
	dma_resv_unlock(&dst);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&dst,
						       DMA_RESV_USAGE_BOOKKEEP));
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, refs(f[i]), 1);

	dma_resv_fini(&src);
	dma_resv_fini(&dst);
	for (i = 0; i < 4; i++)
		dma_fence_put(f[i]);
	dma_fence_put(old);
}

static void test_copy_nomem(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence *seen[2];
	struct dma_resv src, dst;

	dma_resv_init(&src);
	dma_resv_init(&dst);
	add_one(test, &src, a, DMA_RESV_USAGE_READ);
	add_one(test, &dst, b, DMA_RESV_USAGE_WRITE);

	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, fail_kmalloc);
	resv_lock(test, &dst);
	KUNIT_EXPECT_EQ(test, dma_resv_copy_fences(&dst, &src), -ENOMEM);
	dma_resv_unlock(&dst);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);

	KUNIT_ASSERT_EQ(test, walk_locked(test, &dst, DMA_RESV_USAGE_BOOKKEEP,
					  seen, 2), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], b);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	dma_resv_fini(&src);
	dma_resv_fini(&dst);
	dma_fence_put(a);
	dma_fence_put(b);
}

/* The list's address, without the tag a locked walk may have put on it. */
static void *list_addr(struct dma_resv *obj)
{
	return (void *)((unsigned long)rcu_access_pointer(obj->fences) &
			~DMA_RESV_LIST_WALKED);
}

/* 6.12's list header: an rcu_head and two counters. */
#define UPSTREAM_LIST_HDR	(sizeof(struct rcu_head) + 2 * sizeof(u32))

/* The kmalloc bucket of 6.12's list asked for @want fences. */
static size_t upstream_list_bytes(size_t want)
{
	return kmalloc_size_roundup(UPSTREAM_LIST_HDR + want * sizeof(void *));
}

/* What 6.12's list holds when asked for @want: its whole kmalloc bucket. */
static size_t upstream_capacity(size_t want)
{
	return (upstream_list_bytes(want) - UPSTREAM_LIST_HDR) /
	       sizeof(void *);
}

/*
 * Within one hold, a list is replaced exactly when 6.12 replaces its own:
 * the first one holds the bucket of max(4, n) fences, each later one that
 * of max(len + n, twice the previous size).  That decides when signaled
 * fences disappear from locked walks and bufinfo.  Each list also takes
 * the memory of 6.12's, no more: the same bucket.
 */
static void test_capacity_as_upstream(struct kunit *test)
{
	struct dma_fence *f[40];
	size_t cap = upstream_capacity(4), want;
	struct dma_resv obj;
	unsigned int i;
	void *list;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
	list = list_addr(&obj);
	KUNIT_EXPECT_EQ(test, ksize(list), upstream_list_bytes(4));
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
		if (i < cap) {
			KUNIT_EXPECT_PTR_EQ_MSG(test, list_addr(&obj), list,
						"fence %u", i);
		} else {
			KUNIT_EXPECT_PTR_NE_MSG(test, list_addr(&obj), list,
						"fence %u", i);
			want = max_t(size_t, i + 1, 2 * cap);
			cap = upstream_capacity(want);
			list = list_addr(&obj);
			KUNIT_EXPECT_EQ_MSG(test, ksize(list),
					    upstream_list_bytes(want),
					    "fence %u", i);
		}
		f[i] = mkfence_new(test);
		dma_resv_add_fence(&obj, f[i], DMA_RESV_USAGE_READ);
	}
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), ARRAY_SIZE(f));
	dma_resv_fini(&obj);
	for (i = 0; i < ARRAY_SIZE(f); i++)
		dma_fence_put(f[i]);
}

/*
 * A signaled fence stays visible to locked walks until a reservation
 * replaces the list: in the next hold with CONFIG_DEBUG_MUTEXES (whose
 * unlock forgets the room), not before the list is full without it.
 */
static void test_prune_on_next_hold(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_resv obj;
	bool debug = IS_ENABLED(CONFIG_DEBUG_MUTEXES);
	void *list;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 2), 0);
	dma_resv_add_fence(&obj, a, DMA_RESV_USAGE_WRITE);
	dma_resv_add_fence(&obj, b, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&obj);
	dma_fence_signal(a);
	list = list_addr(&obj);

	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 1), 0);
	KUNIT_EXPECT_EQ(test, list_addr(&obj) != list, debug);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  NULL, 0), debug ? 1 : 2);
	KUNIT_EXPECT_EQ(test, refs(a), debug ? 1 : 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

static struct kunit_case resv_fence_cases[] = {
	KUNIT_CASE(test_empty),
	KUNIT_CASE_PARAM(test_one_fence_each_level, usage_gen_params),
	KUNIT_CASE(test_all_levels),
	KUNIT_CASE(test_reserve_zero),
	KUNIT_CASE(test_reserve_huge),
	KUNIT_CASE(test_reserve_no_realloc),
	KUNIT_CASE(test_reserve_nomem),
	KUNIT_CASE(test_grow_prunes_signaled),
	KUNIT_CASE(test_signaled_slot_reused),
	KUNIT_CASE(test_first_free_slot_taken),
	KUNIT_CASE(test_same_context_replacement),
	KUNIT_CASE(test_no_degrade),
	KUNIT_CASE(test_readd_promotes),
	KUNIT_CASE(test_container_kept),
	KUNIT_CASE(test_add_unreserved),
	KUNIT_CASE(test_add_unreserved_nomem),
	KUNIT_CASE(test_replace_fences),
	KUNIT_CASE(test_copy_fences),
	KUNIT_CASE(test_copy_nomem),
	KUNIT_CASE(test_capacity_as_upstream),
	KUNIT_CASE(test_prune_on_next_hold),
	{}
};

static struct kunit_suite resv_fence_suite = {
	.name = "dma-resv-fences",
	.init = resv_test_init,
	.exit = resv_test_exit,
	.test_cases = resv_fence_cases,
};

/* ---- queries ----------------------------------------------------------- */

static void test_get_fences_nomem(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), **fences = (void *)1;
	struct dma_fence *single = (void *)1;
	struct dma_resv obj;
	unsigned int n = 5;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_READ);
	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, fail_kmalloc);
	KUNIT_EXPECT_EQ(test, dma_resv_get_fences(&obj, DMA_RESV_USAGE_READ,
						  &n, &fences), -ENOMEM);
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_NULL(test, fences);
	KUNIT_EXPECT_EQ(test, dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ,
						     &single), -ENOMEM);
	/* Left as the caller had it, as 6.12 does. */
	KUNIT_EXPECT_PTR_EQ(test, single, (struct dma_fence *)1);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
}

static void test_singleton_array(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence *single;
	struct dma_fence_array *arr;
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_WRITE);
	add_one(test, &obj, b, DMA_RESV_USAGE_READ);
	KUNIT_ASSERT_EQ(test, dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ,
						     &single), 0);
	arr = to_dma_fence_array(single);
	KUNIT_ASSERT_NOT_NULL(test, arr);
	KUNIT_EXPECT_EQ(test, arr->num_fences, 2);
	KUNIT_EXPECT_EQ(test, refs(a), 3);
	dma_fence_signal(a);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(single));
	dma_fence_signal(b);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(single));
	dma_fence_put(single);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

struct signaler {
	struct dma_fence *fence;
	unsigned int delay_ms;
	int error;
};

static int signaler_fn(void *arg)
{
	struct signaler *s = arg;

	msleep(s->delay_ms);
	if (s->error)
		dma_fence_set_error(s->fence, s->error);
	dma_fence_signal(s->fence);
	return 0;
}

static void test_wait_timeout(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *k = mkfence_new(test);
	struct signaler s = { .fence = a, .delay_ms = 20, .error = -EIO };
	struct signaler s2 = { .fence = k, .delay_ms = 20 };
	struct task_struct *t;
	struct dma_resv obj;
	long ret;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_READ);
	add_one(test, &obj, k, DMA_RESV_USAGE_BOOKKEEP);

	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ,
						    false, 0), 0);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ,
						    true, 1), 0);
	/* Only the bookkeeping fence is above WRITE... */
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE,
						    false, 5), 5);

	/* ...and an error is still a completion. */
	t = kthread_run(signaler_fn, &s, "resv-signaler");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	ret = dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ, true,
				    MAX_SCHEDULE_TIMEOUT);
	KUNIT_EXPECT_GT(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(a));
	KUNIT_EXPECT_EQ(test, a->error, -EIO);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
						       DMA_RESV_USAGE_READ));
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ,
						    false, 0), 1);
	ret = dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ, false, 100);
	KUNIT_EXPECT_EQ(test, ret, 100);

	/* A pending signal interrupts the wait, if it may be interrupted. */
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj,
						    DMA_RESV_USAGE_BOOKKEEP,
						    true, 10 * HZ), -ERESTARTSYS);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj,
						    DMA_RESV_USAGE_BOOKKEEP,
						    false, 2), 0);
	flush_signals(current);
	disallow_signal(SIGUSR1);

	/* Time left shrinks while waiting for a late fence. */
	t = kthread_run(signaler_fn, &s2, "resv-signaler");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	ret = dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_BOOKKEEP, false,
				    10 * HZ);
	KUNIT_EXPECT_GT(test, ret, 0);
	KUNIT_EXPECT_LT(test, ret, 10 * HZ);

	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(k);
}

/* A fence only the driver's ->signaled hook knows to be done. */
static void test_signaled_by_hook(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_KERNEL);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_KERNEL));
	to_tfence(a)->hw_done = true;
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&obj,
						       DMA_RESV_USAGE_KERNEL));
	KUNIT_EXPECT_TRUE(test, test_bit(DMA_FENCE_FLAG_SIGNALED_BIT,
					 &a->flags));
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_KERNEL,
						    false, 0), 1);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
}

/*
 * A walk asks every fence it passes whether it is done, also those its
 * usage level leaves out, as 6.12's does: a bookkeeping fence whose hook
 * reports completion is signaled by a query for kernel fences.
 */
static void test_walk_polls_filtered(struct kunit *test)
{
	struct dma_fence *k = mkfence_new(test), *b = mkfence_new(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, b, DMA_RESV_USAGE_BOOKKEEP);
	add_one(test, &obj, k, DMA_RESV_USAGE_KERNEL);
	to_tfence(b)->hw_done = true;
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_KERNEL));
	KUNIT_EXPECT_TRUE(test, test_bit(DMA_FENCE_FLAG_SIGNALED_BIT,
					 &b->flags));
	KUNIT_EXPECT_EQ(test, refs(b), 2);
	dma_resv_fini(&obj);
	dma_fence_put(k);
	dma_fence_put(b);
}

static void test_set_deadline(struct kunit *test)
{
	struct dma_fence *w = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence *done = mkfence_new(test);
	ktime_t when = ktime_add_ms(ktime_get(), 5);
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, w, DMA_RESV_USAGE_WRITE);
	add_one(test, &obj, b, DMA_RESV_USAGE_BOOKKEEP);
	dma_fence_signal(done);
	add_one(test, &obj, done, DMA_RESV_USAGE_KERNEL);
	dma_resv_set_deadline(&obj, DMA_RESV_USAGE_READ, when);
	KUNIT_EXPECT_TRUE(test, to_tfence(w)->has_deadline);
	KUNIT_EXPECT_EQ(test, ktime_to_ns(to_tfence(w)->deadline),
			ktime_to_ns(when));
	KUNIT_EXPECT_FALSE(test, to_tfence(b)->has_deadline);
	KUNIT_EXPECT_FALSE(test, to_tfence(done)->has_deadline);
	dma_resv_fini(&obj);
	dma_fence_put(w);
	dma_fence_put(b);
	dma_fence_put(done);
}

static void test_describe(struct kunit *test)
{
	struct dma_fence *w = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence *r = mkfence_new(test);
	struct seq_file seq = { };
	struct dma_resv obj;
	char *p;
	int lines = 0;

	seq.size = PAGE_SIZE;
	seq.buf = kunit_kzalloc(test, seq.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seq.buf);
	dma_resv_init(&obj);
	add_one(test, &obj, w, DMA_RESV_USAGE_WRITE);
	add_one(test, &obj, r, DMA_RESV_USAGE_READ);
	add_one(test, &obj, b, DMA_RESV_USAGE_BOOKKEEP);
	dma_fence_signal(r);
	resv_lock(test, &obj);
	dma_resv_describe(&obj, &seq);
	dma_resv_unlock(&obj);
	seq.buf[min(seq.count, seq.size - 1)] = 0;
	for (p = seq.buf; (p = strchr(p, '\n')); p++)
		lines++;
	/* 6.12's bufinfo lists signaled fences, but no bookkeeping ones. */
	KUNIT_EXPECT_EQ(test, lines, 2);
	KUNIT_EXPECT_NOT_NULL(test, strstr(seq.buf, "\twrite fence:"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(seq.buf, "\tread fence:"));
	KUNIT_EXPECT_NULL(test, strstr(seq.buf, "\tbookkeep fence:"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(seq.buf, "dma-resv-test"));
	dma_resv_fini(&obj);
	dma_fence_put(w);
	dma_fence_put(r);
	dma_fence_put(b);
}

/* A new list between two steps restarts the walk, with the flag set. */
static void test_unlocked_restart(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test), *f;
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	unsigned int steps = 0, restarts = 0, refs_a;

	dma_resv_init(&obj);
	add_one(test, &obj, a, DMA_RESV_USAGE_READ);
	add_one(test, &obj, b, DMA_RESV_USAGE_READ);

	dma_resv_iter_begin(&cursor, &obj, DMA_RESV_USAGE_READ);
	dma_resv_for_each_fence_unlocked(&cursor, f) {
		if (dma_resv_iter_is_restarted(&cursor))
			restarts++;
		KUNIT_EXPECT_EQ(test, dma_resv_iter_usage(&cursor),
				DMA_RESV_USAGE_READ);
		if (steps++ == 0) {
			/* The walk holds its own reference meanwhile. */
			refs_a = refs(f);
			resv_lock(test, &obj);
			KUNIT_ASSERT_EQ(test,
					dma_resv_reserve_fences(&obj, 100), 0);
			dma_resv_unlock(&obj);
		}
		KUNIT_ASSERT_LT(test, steps, 10);
	}
	dma_resv_iter_end(&cursor);
	KUNIT_EXPECT_EQ(test, restarts, 2);
	KUNIT_EXPECT_EQ(test, steps, 3);
	KUNIT_EXPECT_EQ(test, refs_a, 3);
	KUNIT_EXPECT_EQ(test, refs(a), 2);
	KUNIT_EXPECT_EQ(test, refs(b), 2);

	/* Breaking out early and ending drops the current reference. */
	dma_resv_iter_begin(&cursor, &obj, DMA_RESV_USAGE_READ);
	f = dma_resv_iter_first_unlocked(&cursor);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, refs(f), 3);
	dma_resv_iter_end(&cursor);
	KUNIT_EXPECT_EQ(test, refs(f), 2);

	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

/* Fences added during a locked walk are seen by it, without restart. */
static void test_locked_walk_sees_adds(struct kunit *test)
{
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test), *f;
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	unsigned int n = 0;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 2), 0);
	dma_resv_add_fence(&obj, a, DMA_RESV_USAGE_WRITE);
	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_WRITE, f) {
		KUNIT_EXPECT_PTR_EQ(test, f, n ? b : a);
		KUNIT_EXPECT_EQ(test, dma_resv_iter_is_restarted(&cursor), !n);
		if (!n++)
			dma_resv_add_fence(&obj, b, DMA_RESV_USAGE_KERNEL);
	}
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, n, 2);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(b);
}

/*
 * A zero timeout asks each pending fence, as dma_fence_wait_timeout() does:
 * signaling is enabled and ->wait is called, which may find it done.
 */
static void test_wait_zero_asks_fences(struct kunit *test)
{
	struct dma_fence *w = mkfence_ops(test, &tfence_wait_ops);
	struct dma_fence *e = mkfence_ops(test, &tfence_enable_ops);
	struct dma_fence *p = mkfence_new(test), *done;
	struct dma_resv obj;

	dma_resv_init(&obj);
	add_one(test, &obj, w, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_FALSE(test, dma_resv_test_signaled(&obj,
							DMA_RESV_USAGE_WRITE));
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE,
						    false, 0), 1);
	KUNIT_EXPECT_EQ(test, to_tfence(w)->waits, 1);
	KUNIT_EXPECT_TRUE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT,
					 &w->flags));

	add_one(test, &obj, e, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ,
						    false, 0), 1);
	KUNIT_EXPECT_TRUE(test, test_bit(DMA_FENCE_FLAG_SIGNALED_BIT,
					 &e->flags));
	KUNIT_EXPECT_EQ(test, to_tfence(w)->waits, 2);

	/* A fence nobody can find done: busy, or interrupted by a signal. */
	add_one(test, &obj, p, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj,
						    DMA_RESV_USAGE_BOOKKEEP,
						    false, 0), 0);
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj,
						    DMA_RESV_USAGE_BOOKKEEP,
						    true, 0), -ERESTARTSYS);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj,
						    DMA_RESV_USAGE_BOOKKEEP,
						    false, 0), 0);
	flush_signals(current);
	disallow_signal(SIGUSR1);
	dma_resv_fini(&obj);

	/* Fences known to be signaled are passed over without a call. */
	done = mkfence_ops(test, &tfence_wait_ops);
	dma_fence_signal(done);
	dma_resv_init(&obj);
	add_one(test, &obj, done, DMA_RESV_USAGE_KERNEL);
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_KERNEL,
						    false, 0), 1);
	KUNIT_EXPECT_EQ(test, to_tfence(done)->waits, 0);
	dma_resv_fini(&obj);
	dma_fence_put(w);
	dma_fence_put(e);
	dma_fence_put(p);
	dma_fence_put(done);
}

/*
 * An unlocked reader takes the last fence of list L1 and "sleeps"; the
 * fences signal and new lists replace L1 until one lands at L1's address,
 * with a pending fence at index 0 and a shorter length.  The reader must
 * notice that this is not its list, start over and find that fence.
 */
static void test_unlocked_aba(struct kunit *test)
{
	struct dma_fence *f[4], *other[3], *pending;
	unsigned long deadline = jiffies + 20 * HZ;
	struct dma_resv_iter it;
	struct dma_resv obj, src;
	unsigned int i, tries;
	bool reused;
	void *l1;

	dma_resv_init(&obj);
	dma_resv_init(&src);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 4), 0);
	for (i = 0; i < 4; i++) {
		f[i] = mkfence_new(test);
		dma_resv_add_fence(&obj, f[i], DMA_RESV_USAGE_READ);
		if (i < 3)
			dma_fence_signal(f[i]);
	}
	dma_resv_unlock(&obj);
	l1 = list_addr(&obj);

	/* Copies of @src have L1's size, but only @pending at index 0. */
	pending = mkfence_new(test);
	resv_lock(test, &src);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&src, 4), 0);
	dma_resv_add_fence(&src, pending, DMA_RESV_USAGE_READ);
	for (i = 0; i < 3; i++) {
		other[i] = mkfence_new(test);
		dma_resv_add_fence(&src, other[i], DMA_RESV_USAGE_READ);
		dma_fence_signal(other[i]);
	}
	dma_resv_unlock(&src);

	dma_resv_iter_begin(&it, &obj, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_PTR_EQ(test, dma_resv_iter_first_unlocked(&it), f[3]);
	dma_fence_signal(f[3]);

	for (tries = 1; ; tries++) {
		resv_lock(test, &obj);
		KUNIT_ASSERT_EQ(test, dma_resv_copy_fences(&obj, &src), 0);
		dma_resv_unlock(&obj);
		if (list_addr(&obj) == l1 || time_after(jiffies, deadline))
			break;
		/* Free the retired lists; KASAN's quarantine needs many. */
		if (tries < 64 || !(tries % 1024))
			kvfree_rcu_barrier();
		cond_resched();
	}
	reused = list_addr(&obj) == l1;
	if (reused) {
		kunit_info(test, "a new list got L1's address after %u tries\n",
			   tries);
		KUNIT_EXPECT_PTR_EQ(test, dma_resv_iter_next_unlocked(&it),
				    pending);
		KUNIT_EXPECT_TRUE(test, dma_resv_iter_is_restarted(&it));
		KUNIT_EXPECT_LE(test, it.index, it.num_fences);
		KUNIT_EXPECT_LE(test, it.num_fences, 1);
		KUNIT_EXPECT_FALSE(test,
				   dma_resv_test_signaled(&obj,
							  DMA_RESV_USAGE_READ));
	}
	dma_resv_iter_end(&it);
	dma_resv_fini(&obj);
	dma_resv_fini(&src);
	for (i = 0; i < 4; i++)
		dma_fence_put(f[i]);
	for (i = 0; i < 3; i++)
		dma_fence_put(other[i]);
	dma_fence_put(pending);
	/*
	 * Without KASAN's quarantine kmalloc hands a freed list's address
	 * back within a few tries: not getting it means the case tested
	 * nothing, which must not pass quietly.
	 */
	if (!reused && IS_ENABLED(CONFIG_KASAN))
		kunit_skip(test, "no list got L1's address in %u tries\n",
			   tries);
	KUNIT_EXPECT_TRUE_MSG(test, reused,
			      "no list got L1's address in %u tries", tries);
}

/*
 * A reservation inside a locked walk replaces the list; as in 6.12 the
 * walk goes on over the list it began with, signaled fence included, and
 * not over the new one.  That list and the fences only it referenced stay
 * alive until the unlock, even though the caller slept long enough for RCU
 * to free anything it could (KASAN would see a use after free).
 */
static void test_locked_walk_keeps_list(struct kunit *test)
{
	struct resv_test *rt = test->priv;
	struct dma_fence *a = mkfence_new(test), *b = mkfence_new(test);
	struct dma_fence *c = mkfence_new(test), *d = mkfence_new(test);
	struct dma_fence *seen[4], *f;
	struct dma_resv_iter cursor;
	struct dma_resv obj;
	unsigned int n = 0, released;
	void *list;

	dma_resv_init(&obj);
	resv_lock(test, &obj);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 3), 0);
	dma_resv_add_fence(&obj, a, DMA_RESV_USAGE_READ);
	dma_resv_add_fence(&obj, b, DMA_RESV_USAGE_READ);
	dma_resv_add_fence(&obj, c, DMA_RESV_USAGE_READ);
	dma_fence_signal(b);
	dma_fence_put(b);	/* the object holds b's last reference */
	released = atomic_read(&rt->released);
	list = list_addr(&obj);

	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP, f) {
		if (n < ARRAY_SIZE(seen))
			seen[n] = f;
		if (n++)
			continue;
		KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(&obj, 64), 0);
		KUNIT_EXPECT_PTR_NE(test, list_addr(&obj), list);
		dma_resv_add_fence(&obj, d, DMA_RESV_USAGE_READ);
		synchronize_rcu();
		kvfree_rcu_barrier();
	}
	KUNIT_ASSERT_EQ(test, n, 3);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], a);
	KUNIT_EXPECT_PTR_EQ(test, seen[1], b);
	KUNIT_EXPECT_PTR_EQ(test, seen[2], c);
	KUNIT_EXPECT_EQ(test, dma_fence_is_signaled(seen[1]), true);
	KUNIT_EXPECT_EQ(test, atomic_read(&rt->released), released);
	dma_resv_unlock(&obj);
	KUNIT_EXPECT_EQ(test, atomic_read(&rt->released) - released, 1);

	/* The next walk is on the new list: a, c, d. */
	KUNIT_EXPECT_EQ(test, walk_locked(test, &obj, DMA_RESV_USAGE_BOOKKEEP,
					  seen, 4), 3);
	KUNIT_EXPECT_PTR_EQ(test, seen[2], d);
	dma_resv_fini(&obj);
	dma_fence_put(a);
	dma_fence_put(c);
	dma_fence_put(d);
}

static struct kunit_case resv_query_cases[] = {
	KUNIT_CASE(test_get_fences_nomem),
	KUNIT_CASE(test_singleton_array),
	KUNIT_CASE(test_wait_timeout),
	KUNIT_CASE(test_signaled_by_hook),
	KUNIT_CASE(test_walk_polls_filtered),
	KUNIT_CASE(test_set_deadline),
	KUNIT_CASE(test_describe),
	KUNIT_CASE(test_unlocked_restart),
	KUNIT_CASE(test_locked_walk_sees_adds),
	KUNIT_CASE(test_wait_zero_asks_fences),
	KUNIT_CASE_SLOW(test_unlocked_aba),
	KUNIT_CASE(test_locked_walk_keeps_list),
	{}
};

static struct kunit_suite resv_query_suite = {
	.name = "dma-resv-query",
	.init = resv_test_init,
	.exit = resv_test_exit,
	.test_cases = resv_query_cases,
};

/* ---- fail the Nth allocation -------------------------------------------- */

/* Allocations seen and the one to fail (1-based, 0: none); one case at a time. */
static struct {
	int calls;
	int fail_at;
	int failed;
} resv_fault;

static void *nth_kmalloc(size_t size, gfp_t gfp)
{
	if (++resv_fault.calls == resv_fault.fail_at) {
		resv_fault.failed++;
		return NULL;
	}
	return kmalloc(size, gfp);
}

/*
 * What each attempt starts from: @obj holds a pending reader, a pending
 * writer and a signaled kernel fence; @dst holds one pending writer of its
 * own.  @before is @obj's locked walk and @refs the references counted
 * before the operation ran.
 */
struct fault_env {
	struct dma_resv obj, dst;
	struct dma_fence *f[4];		/* 0-2 in obj, 3 in dst */
	struct dma_resv_list *obj_list, *dst_list;
	unsigned int refs[4];
};

static void fault_env_init(struct kunit *test, struct fault_env *env)
{
	unsigned int i;

	dma_resv_init(&env->obj);
	dma_resv_init(&env->dst);
	for (i = 0; i < ARRAY_SIZE(env->f); i++)
		env->f[i] = mkfence_new(test);
	add_one(test, &env->obj, env->f[0], DMA_RESV_USAGE_READ);
	add_one(test, &env->obj, env->f[1], DMA_RESV_USAGE_WRITE);
	add_one(test, &env->obj, env->f[2], DMA_RESV_USAGE_KERNEL);
	dma_fence_signal(env->f[2]);
	add_one(test, &env->dst, env->f[3], DMA_RESV_USAGE_WRITE);
	env->obj_list = rcu_access_pointer(env->obj.fences);
	env->dst_list = rcu_access_pointer(env->dst.fences);
	for (i = 0; i < ARRAY_SIZE(env->f); i++)
		env->refs[i] = refs(env->f[i]);
}

/* A failed operation changed nothing: same lists, fences and references. */
static void fault_env_unchanged(struct kunit *test, struct fault_env *env,
				int n)
{
	struct dma_fence *seen[4];
	unsigned int i;

	KUNIT_EXPECT_PTR_EQ_MSG(test, rcu_access_pointer(env->obj.fences),
				env->obj_list, "allocation %d failed", n);
	KUNIT_EXPECT_PTR_EQ_MSG(test, rcu_access_pointer(env->dst.fences),
				env->dst_list, "allocation %d failed", n);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &env->obj,
					  DMA_RESV_USAGE_BOOKKEEP, seen, 4), 3);
	KUNIT_EXPECT_EQ(test, walk_locked(test, &env->dst,
					  DMA_RESV_USAGE_BOOKKEEP, seen, 4), 1);
	KUNIT_EXPECT_PTR_EQ(test, seen[0], env->f[3]);
	for (i = 0; i < ARRAY_SIZE(env->f); i++)
		KUNIT_EXPECT_EQ_MSG(test, refs(env->f[i]), env->refs[i],
				    "fence %u after allocation %d failed", i, n);
}

static void fault_env_fini(struct fault_env *env)
{
	unsigned int i;

	dma_resv_fini(&env->obj);
	dma_resv_fini(&env->dst);
	for (i = 0; i < ARRAY_SIZE(env->f); i++) {
		dma_fence_signal(env->f[i]);
		dma_fence_put(env->f[i]);
	}
}

/* An operation under test: 0 or -ENOMEM; what it returned is dropped. */
struct fault_op {
	const char *name;
	int (*run)(struct kunit *test, struct fault_env *env);
};

static int op_reserve_grow(struct kunit *test, struct fault_env *env)
{
	int ret;

	resv_lock(test, &env->obj);
	/* More than any list of three fences has room for. */
	ret = dma_resv_reserve_fences(&env->obj, 64);
	dma_resv_unlock(&env->obj);
	return ret;
}

static int op_reserve_first(struct kunit *test, struct fault_env *env)
{
	struct dma_resv empty;
	int ret;

	dma_resv_init(&empty);
	resv_lock(test, &empty);
	ret = dma_resv_reserve_fences(&empty, 1);
	if (ret)
		KUNIT_EXPECT_NULL(test, rcu_access_pointer(empty.fences));
	dma_resv_unlock(&empty);
	dma_resv_fini(&empty);
	return ret;
}

static int op_copy_fences(struct kunit *test, struct fault_env *env)
{
	int ret;

	resv_lock(test, &env->dst);
	ret = dma_resv_copy_fences(&env->dst, &env->obj);
	dma_resv_unlock(&env->dst);
	return ret;
}

static int op_get_fences(struct kunit *test, struct fault_env *env)
{
	struct dma_fence **fences = (void *)1;
	unsigned int n = 7, i;
	int ret;

	ret = dma_resv_get_fences(&env->obj, DMA_RESV_USAGE_BOOKKEEP, &n,
				  &fences);
	if (ret) {
		KUNIT_EXPECT_EQ(test, n, 0);
		KUNIT_EXPECT_NULL(test, fences);
		return ret;
	}
	KUNIT_EXPECT_EQ(test, n, 2);	/* the signaled one is left out */
	for (i = 0; i < n; i++)
		dma_fence_put(fences[i]);
	kfree(fences);
	return 0;
}

static int op_get_singleton(struct kunit *test, struct fault_env *env)
{
	struct dma_fence *single = (void *)1;
	int ret;

	ret = dma_resv_get_singleton(&env->obj, DMA_RESV_USAGE_BOOKKEEP,
				     &single);
	if (ret) {
		/* Left as the caller had it, as 6.12 does. */
		KUNIT_EXPECT_PTR_EQ(test, single, (struct dma_fence *)1);
		return ret;
	}
	KUNIT_EXPECT_NOT_NULL(test, to_dma_fence_array(single));
	dma_fence_put(single);
	return 0;
}

static const struct fault_op fault_ops[] = {
	{ "reserve_grow", op_reserve_grow },
	{ "reserve_first", op_reserve_first },
	{ "copy_fences", op_copy_fences },
	{ "get_fences", op_get_fences },
	{ "get_singleton", op_get_singleton },
};

static void fault_op_desc(const struct fault_op *op, char *desc)
{
	strscpy(desc, op->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fault_op, fault_ops, fault_op_desc);

/* Give up on an operation that keeps allocating. */
#define RESV_MAX_ALLOCS 16

/*
 * Fail the first allocation of the operation, then the second, and so on
 * until it runs through without a failure: each failure is -ENOMEM and
 * leaves both objects and every reference as they were.
 */
static void test_fail_nth(struct kunit *test)
{
	const struct fault_op *op = test->param_value;
	struct fault_env env;
	int n, ret;

	for (n = 1; n <= RESV_MAX_ALLOCS; n++) {
		fault_env_init(test, &env);
		memset(&resv_fault, 0, sizeof(resv_fault));
		resv_fault.fail_at = n;
		kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, nth_kmalloc);
		ret = op->run(test, &env);
		kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);

		if (!resv_fault.failed) {
			KUNIT_EXPECT_EQ(test, ret, 0);
			fault_env_fini(&env);
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "allocation %d failed",
				    n);
		fault_env_unchanged(test, &env, n);
		fault_env_fini(&env);
	}
	KUNIT_EXPECT_LE(test, n, RESV_MAX_ALLOCS);
	/* Each of these operations allocates at least once. */
	KUNIT_EXPECT_GE(test, n, 2);
	kunit_info(test, "%s: %d allocation(s) failed in turn\n", op->name,
		   n - 1);
}

static struct kunit_case resv_fault_cases[] = {
	KUNIT_CASE_PARAM(test_fail_nth, fault_op_gen_params),
	{}
};

static struct kunit_suite resv_fault_suite = {
	.name = "dma-resv-fault",
	.init = resv_test_init,
	.exit = resv_test_exit,
	.test_cases = resv_fault_cases,
};

/* ---- unlocked readers against a writer -------------------------------- */

#define RACE_ROUNDS	400
#define RACE_CONTEXTS	6

struct race {
	struct kunit *test;
	struct dma_resv obj;
	u64 ctx;
	bool stop;
	unsigned int reallocs;
	struct completion done;
};

/*
 * The writer: new fences on a few timelines (replacing their predecessors),
 * signaling old ones, and now and then a reservation big enough to force a
 * new list.
 */
static int race_writer(void *arg)
{
	struct race *r = arg;
	struct dma_fence *prev[RACE_CONTEXTS] = { };
	unsigned int i;

	for (i = 0; i < RACE_ROUNDS && !READ_ONCE(r->stop); i++) {
		unsigned int c = i % RACE_CONTEXTS;
		struct dma_fence *f = mkfence(r->test, r->ctx + c, i + 1);
		struct dma_resv_list *before;

		dma_resv_lock(&r->obj, NULL);
		before = rcu_access_pointer(r->obj.fences);
		if (dma_resv_reserve_fences(&r->obj, i % 37 ? 1 : 64 + i)) {
			dma_resv_unlock(&r->obj);
			dma_fence_put(f);
			break;
		}
		if (rcu_access_pointer(r->obj.fences) != before)
			r->reallocs++;
		dma_resv_add_fence(&r->obj, f, i % 4);
		/* Copying the object onto itself publishes a new list. */
		if (i % 7 == 3 && !dma_resv_copy_fences(&r->obj, &r->obj))
			r->reallocs++;
		dma_resv_unlock(&r->obj);
		if (prev[c]) {
			dma_fence_signal(prev[c]);
			dma_fence_put(prev[c]);
		}
		prev[c] = f;
		if (i % 3 == 0)
			cond_resched();
		if (i % 5 == 0)
			usleep_range(20, 50);
	}
	for (i = 0; i < RACE_CONTEXTS; i++) {
		if (prev[i]) {
			dma_fence_signal(prev[i]);
			dma_fence_put(prev[i]);
		}
	}
	complete(&r->done);
	return 0;
}

static void check_fence(struct kunit *test, struct race *r,
			struct dma_fence *f)
{
	KUNIT_EXPECT_EQ(test, to_tfence(f)->magic, TFENCE_MAGIC);
	KUNIT_EXPECT_GE(test, refs(f), 1);
	KUNIT_EXPECT_GE(test, f->context, r->ctx);
	KUNIT_EXPECT_LT(test, f->context, r->ctx + RACE_CONTEXTS);
}

static void test_race_unlocked_walks(struct kunit *test)
{
	struct race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned int restarts = 0, walks = 0, dup = 0, midway = 0;
	struct task_struct *t;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->test = test;
	r->ctx = dma_fence_context_alloc(RACE_CONTEXTS);
	dma_resv_init(&r->obj);
	init_completion(&r->done);
	t = kthread_run(race_writer, r, "resv-race-writer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));

	while (!completion_done(&r->done)) {
		struct dma_fence *f, **fences;
		struct dma_resv_iter cursor;
		unsigned int n, i, j, seen = 0;

		dma_resv_iter_begin(&cursor, &r->obj, DMA_RESV_USAGE_BOOKKEEP);
		dma_resv_for_each_fence_unlocked(&cursor, f) {
			if (dma_resv_iter_is_restarted(&cursor)) {
				restarts++;
				midway += seen > 0;
			}
			seen++;
			check_fence(test, r, f);
			/* Sleep with the reference held while the writer moves on. */
			usleep_range(20, 50);
		}
		dma_resv_iter_end(&cursor);

		if (!dma_resv_get_fences(&r->obj, walks % 4, &n, &fences)) {
			for (i = 0; i < n; i++) {
				check_fence(test, r, fences[i]);
				for (j = 0; j < i; j++)
					dup += fences[i] == fences[j];
			}
			for (i = 0; i < n; i++)
				dma_fence_put(fences[i]);
			kfree(fences);
		}
		dma_resv_test_signaled(&r->obj, walks % 4);
		walks++;
		usleep_range(20, 50);
	}
	wait_for_completion(&r->done);

	kunit_info(test, "%u walks, %u restarts (%u midway), %u new lists\n",
		   walks, restarts, midway, r->reallocs);
	KUNIT_EXPECT_EQ(test, dup, 0);
	KUNIT_EXPECT_GT(test, r->reallocs, 10);
	/* Every walk starts with a restart, and lists changed during some. */
	KUNIT_EXPECT_GE(test, restarts, walks);
	KUNIT_EXPECT_GT(test, midway, 0);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(&r->obj,
						       DMA_RESV_USAGE_BOOKKEEP));
	dma_resv_fini(&r->obj);
}

/* Copies and singletons of an object that keeps changing. */
static void test_race_copy(struct kunit *test)
{
	struct race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct task_struct *t;
	struct dma_resv dst;
	unsigned int copies = 0;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->test = test;
	r->ctx = dma_fence_context_alloc(RACE_CONTEXTS);
	dma_resv_init(&r->obj);
	dma_resv_init(&dst);
	init_completion(&r->done);
	t = kthread_run(race_writer, r, "resv-race-writer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));

	while (!completion_done(&r->done)) {
		struct dma_fence *single;

		resv_lock(test, &dst);
		KUNIT_EXPECT_EQ(test, dma_resv_copy_fences(&dst, &r->obj), 0);
		dma_resv_unlock(&dst);
		if (!dma_resv_get_singleton(&r->obj, DMA_RESV_USAGE_READ,
					    &single) && single) {
			if (!to_dma_fence_array(single))
				check_fence(test, r, single);
			dma_fence_put(single);
		}
		copies++;
		usleep_range(20, 50);
	}
	wait_for_completion(&r->done);
	KUNIT_EXPECT_GT(test, copies, 0);
	dma_resv_fini(&dst);
	dma_resv_fini(&r->obj);
}

static struct kunit_case resv_race_cases[] = {
	KUNIT_CASE_SLOW(test_race_unlocked_walks),
	KUNIT_CASE_SLOW(test_race_copy),
	{}
};

static struct kunit_suite resv_race_suite = {
	.name = "dma-resv-race",
	.init = resv_test_init,
	.exit = resv_test_exit,
	.test_cases = resv_race_cases,
};

kunit_test_suites(&resv_lock_suite, &resv_fence_suite, &resv_query_suite,
		  &resv_fault_suite, &resv_race_suite);

MODULE_DESCRIPTION("KUnit tests for dma-resv");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
