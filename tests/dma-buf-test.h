/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake exporter, fake importers and a few probes shared by the dma-buf
 * KUnit suites.
 *
 * Every module that includes this gets its own copy of everything (all of
 * it is static), so the suites can be built in or as separate modules.
 *
 * The exporter owns DBT_PAGES real pages and hands out a fresh sg_table per
 * mapping with made-up DMA addresses; it counts every callback, can be told
 * to fail any of them, and records callbacks that ran with the reservation
 * lock in the wrong state for the 6.12 locking convention.
 */
#ifndef _DMA_BUF_TEST_H
#define _DMA_BUF_TEST_H

#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/console.h>
#include <linux/debug_locks.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#define DBT_PAGES	4
#define DBT_SIZE	(DBT_PAGES * PAGE_SIZE)
#define DBT_MAX_SGT	8
#define DBT_DMA_BASE	0x40000000ULL

struct dbt_exporter {
	struct kunit *test;
	struct dma_buf_ops ops;
	struct page *pages[DBT_PAGES];
	void *vbuf;
	struct dma_buf *dmabuf;
	/* tables handed out by map_dma_buf and not yet given back */
	struct sg_table *live[DBT_MAX_SGT];

	/* calls of each callback */
	int attached, detached, pinned, unpinned, mapped, unmapped;
	int released, began, ended, mmapped, vmapped, vunmapped;
	/* the map the last vunmap was handed: the caller's, as in 6.12 */
	const struct iosys_map *vunmap_map;
	/* pins and vmaps currently held (successful calls minus undos) */
	int pins, vmaps;

	/* callbacks that saw the reservation lock in the wrong state */
	int lock_errors;
	/* unmap/unpin/vunmap with something never handed out */
	int bad_calls;

	/* what the callbacks return */
	int attach_ret, pin_ret, map_ret, begin_ret, end_ret, mmap_ret;
	int vmap_ret;
	bool map_null;
	/* map hands out a table without entries */
	bool map_empty;
	/* vmap reports success but sets no address */
	bool vmap_no_addr;
	/* attach refuses peer-to-peer, as an exporter may */
	bool clear_p2p;
	/* mmap really maps the pages (the vma must be a real one) */
	bool mmap_insert;

	/* what attach and detach saw of the attachment */
	struct device *attach_dev;
	const struct dma_buf_attach_ops *attach_importer_ops;
	void *attach_importer_priv;
	bool attach_p2p;
	int live_at_detach, pins_at_detach;

	/* what the callbacks were last given */
	struct dma_buf_attachment *last_attach;
	enum dma_data_direction map_dir, unmap_dir, cpu_dir;
	struct vm_area_struct *mmap_vma;
	unsigned long mmap_pgoff;
};

struct dbt_importer {
	struct device *dev;
	struct dma_buf_attachment *attach;
	int moves;
	int lock_errors;
};

static inline dma_addr_t dbt_dma_addr(int i)
{
	return DBT_DMA_BASE + (dma_addr_t)i * PAGE_SIZE;
}

static inline struct dbt_exporter *dbt_exp(struct dma_buf *dmabuf)
{
	return dmabuf->priv;
}

static inline void dbt_lock_state(struct dbt_exporter *exp,
				  struct dma_buf *dmabuf, bool held)
{
	if (ww_mutex_is_locked(&dmabuf->resv->lock) != held)
		exp->lock_errors++;
}

static inline int dbt_live_tables(struct dbt_exporter *exp)
{
	int i, n = 0;

	for (i = 0; i < DBT_MAX_SGT; i++)
		n += !!exp->live[i];
	return n;
}

static inline int dbt_op_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->attached++;
	exp->last_attach = attach;
	dbt_lock_state(exp, dmabuf, false);
	if (attach->dmabuf != dmabuf)
		exp->bad_calls++;
	exp->attach_dev = attach->dev;
	exp->attach_importer_ops = attach->importer_ops;
	exp->attach_importer_priv = attach->importer_priv;
	exp->attach_p2p = attach->peer2peer;
	if (exp->attach_ret)
		return exp->attach_ret;
	if (exp->clear_p2p)
		attach->peer2peer = false;
	attach->priv = exp;
	return 0;
}

static inline void dbt_op_detach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->detached++;
	exp->last_attach = attach;
	dbt_lock_state(exp, dmabuf, false);
	if (attach->priv != exp)
		exp->bad_calls++;
	exp->live_at_detach = dbt_live_tables(exp);
	exp->pins_at_detach = exp->pins;
}

static inline int dbt_op_pin(struct dma_buf_attachment *attach)
{
	struct dbt_exporter *exp = dbt_exp(attach->dmabuf);

	exp->pinned++;
	dbt_lock_state(exp, attach->dmabuf, true);
	if (exp->pin_ret)
		return exp->pin_ret;
	exp->pins++;
	return 0;
}

static inline void dbt_op_unpin(struct dma_buf_attachment *attach)
{
	struct dbt_exporter *exp = dbt_exp(attach->dmabuf);

	exp->unpinned++;
	dbt_lock_state(exp, attach->dmabuf, true);
	if (exp->pins-- <= 0)
		exp->bad_calls++;
}

static inline struct sg_table *
dbt_op_map(struct dma_buf_attachment *attach, enum dma_data_direction dir)
{
	struct dbt_exporter *exp = dbt_exp(attach->dmabuf);
	struct scatterlist *sg;
	struct sg_table *sgt;
	int i, slot;

	exp->mapped++;
	exp->map_dir = dir;
	exp->last_attach = attach;
	dbt_lock_state(exp, attach->dmabuf, true);
	if (exp->map_null)
		return NULL;
	if (exp->map_ret)
		return ERR_PTR(exp->map_ret);

	for (slot = 0; slot < DBT_MAX_SGT && exp->live[slot]; slot++)
		;
	if (slot == DBT_MAX_SGT)
		return ERR_PTR(-ENOSPC);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (exp->map_empty) {
		exp->live[slot] = sgt;
		return sgt;
	}
	if (sg_alloc_table(sgt, DBT_PAGES, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	for_each_sgtable_sg(sgt, sg, i) {
		sg_set_page(sg, exp->pages[i], PAGE_SIZE, 0);
		sg_dma_address(sg) = dbt_dma_addr(i);
		sg_dma_len(sg) = PAGE_SIZE;
	}
	sgt->nents = sgt->orig_nents;
	exp->live[slot] = sgt;
	return sgt;
}

static inline void dbt_op_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	struct dbt_exporter *exp = dbt_exp(attach->dmabuf);
	struct scatterlist *sg;
	int i, slot;

	exp->unmapped++;
	exp->unmap_dir = dir;
	dbt_lock_state(exp, attach->dmabuf, true);

	for (slot = 0; slot < DBT_MAX_SGT && exp->live[slot] != sgt; slot++)
		;
	if (slot == DBT_MAX_SGT) {
		exp->bad_calls++;
		return;
	}
	/* The exporter must get its own page pointers back. */
	for_each_sgtable_sg(sgt, sg, i)
		if (sg_page(sg) != exp->pages[i])
			exp->bad_calls++;
	exp->live[slot] = NULL;
	sg_free_table(sgt);
	kfree(sgt);
}

static inline void dbt_op_release(struct dma_buf *dmabuf)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->released++;
	if (ww_mutex_is_locked(&dmabuf->resv->lock))
		exp->lock_errors++;
}

static inline int dbt_op_begin(struct dma_buf *dmabuf,
			       enum dma_data_direction dir)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->began++;
	exp->cpu_dir = dir;
	dbt_lock_state(exp, dmabuf, false);
	return exp->begin_ret;
}

static inline int dbt_op_end(struct dma_buf *dmabuf,
			     enum dma_data_direction dir)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->ended++;
	exp->cpu_dir = dir;
	dbt_lock_state(exp, dmabuf, false);
	return exp->end_ret;
}

static inline int dbt_op_mmap(struct dma_buf *dmabuf,
			      struct vm_area_struct *vma)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	unsigned long addr, i = vma->vm_pgoff;
	int ret;

	exp->mmapped++;
	exp->mmap_vma = vma;
	exp->mmap_pgoff = vma->vm_pgoff;
	dbt_lock_state(exp, dmabuf, false);
	if (exp->mmap_ret || !exp->mmap_insert)
		return exp->mmap_ret;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		/* the core let a range outside the buffer through */
		if (i >= DBT_PAGES)
			return -EIO;
		ret = vm_insert_page(vma, addr, exp->pages[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

static inline int dbt_op_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->vmapped++;
	dbt_lock_state(exp, dmabuf, true);
	if (exp->vmap_ret)
		return exp->vmap_ret;
	if (exp->vmap_no_addr)
		return 0;
	iosys_map_set_vaddr(map, exp->vbuf);
	exp->vmaps++;
	return 0;
}

static inline void dbt_op_vunmap(struct dma_buf *dmabuf,
				 struct iosys_map *map)
{
	struct dbt_exporter *exp = dbt_exp(dmabuf);

	exp->vunmapped++;
	exp->vunmap_map = map;
	dbt_lock_state(exp, dmabuf, true);
	if (map->is_iomem || map->vaddr != exp->vbuf || exp->vmaps-- <= 0)
		exp->bad_calls++;
}

static inline void dbt_free_page(void *page)
{
	__free_page(page);
}

static inline void dbt_flush_fput(void *unused)
{
	flush_delayed_fput();
}

/*
 * A static exporter with every optional callback.  Tests change exp->ops
 * before exporting (dbt_make_dynamic(), clearing callbacks, ...).
 */
static inline struct dbt_exporter *dbt_exporter_new(struct kunit *test)
{
	struct dbt_exporter *exp;
	int i;

	exp = kunit_kzalloc(test, sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);
	exp->test = test;
	exp->vbuf = kunit_kzalloc(test, DBT_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp->vbuf);
	for (i = 0; i < DBT_PAGES; i++) {
		exp->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, exp->pages[i]);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, dbt_free_page,
							  exp->pages[i]));
	}

	exp->ops.attach = dbt_op_attach;
	exp->ops.detach = dbt_op_detach;
	exp->ops.map_dma_buf = dbt_op_map;
	exp->ops.unmap_dma_buf = dbt_op_unmap;
	exp->ops.release = dbt_op_release;
	exp->ops.begin_cpu_access = dbt_op_begin;
	exp->ops.end_cpu_access = dbt_op_end;
	exp->ops.mmap = dbt_op_mmap;
	exp->ops.vmap = dbt_op_vmap;
	exp->ops.vunmap = dbt_op_vunmap;

	/*
	 * Runs before exp is freed (actions run in reverse order), so a
	 * deferred release never touches freed memory.
	 */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, dbt_flush_fput, NULL));
	return exp;
}

static inline void dbt_make_dynamic(struct dbt_exporter *exp)
{
	exp->ops.pin = dbt_op_pin;
	exp->ops.unpin = dbt_op_unpin;
}

static inline void dbt_fill_info(struct dbt_exporter *exp,
				 struct dma_buf_export_info *info)
{
	info->ops = &exp->ops;
	info->size = DBT_SIZE;
	info->flags = O_RDWR;
	info->priv = exp;
}

static inline struct dma_buf *dbt_export(struct dbt_exporter *exp)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(exp->test, IS_ERR(dmabuf), "export: %pe",
			       dmabuf);
	exp->dmabuf = dmabuf;
	return dmabuf;
}

/* Drop the caller's last reference and wait for the release to happen. */
static inline void dbt_put_final(struct dbt_exporter *exp)
{
	dma_buf_put(exp->dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(exp->test, exp->released, 1);
	exp->dmabuf = NULL;
}

/* Every mapping, pin and attachment the exporter saw was given back. */
static inline void dbt_expect_balanced(struct dbt_exporter *exp)
{
	struct kunit *test = exp->test;

	KUNIT_EXPECT_EQ(test, exp->attached, exp->detached);
	KUNIT_EXPECT_EQ(test, exp->pins, 0);
	KUNIT_EXPECT_EQ(test, exp->vmaps, 0);
	KUNIT_EXPECT_EQ(test, dbt_live_tables(exp), 0);
	KUNIT_EXPECT_EQ(test, exp->lock_errors, 0);
	KUNIT_EXPECT_EQ(test, exp->bad_calls, 0);
}

static inline void dbt_move_notify(struct dma_buf_attachment *attach)
{
	struct dbt_importer *imp = attach->importer_priv;

	imp->moves++;
	if (!ww_mutex_is_locked(&attach->dmabuf->resv->lock))
		imp->lock_errors++;
}

static inline const struct dma_buf_attach_ops *dbt_dynamic_ops(bool p2p)
{
	static const struct dma_buf_attach_ops with_p2p = {
		.allow_peer2peer = true,
		.move_notify = dbt_move_notify,
	};
	static const struct dma_buf_attach_ops without_p2p = {
		.move_notify = dbt_move_notify,
	};

	return p2p ? &with_p2p : &without_p2p;
}

static inline struct device *dbt_device(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dev), "device %s: %pe", name, dev);
	return dev;
}

static inline struct dbt_importer *dbt_importer_new(struct kunit *test,
						    const char *name)
{
	struct dbt_importer *imp = kunit_kzalloc(test, sizeof(*imp),
						 GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, imp);
	imp->dev = dbt_device(test, name);
	return imp;
}

/* A static (dynamic == false) or dynamic attachment that must succeed. */
static inline struct dma_buf_attachment *
dbt_attach(struct kunit *test, struct dma_buf *dmabuf,
	   struct dbt_importer *imp, bool dynamic)
{
	struct dma_buf_attachment *attach;

	if (dynamic)
		attach = dma_buf_dynamic_attach(dmabuf, imp->dev,
						dbt_dynamic_ops(true), imp);
	else
		attach = dma_buf_attach(dmabuf, imp->dev);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(attach), "attach: %pe", attach);
	imp->attach = attach;
	return attach;
}

/*
 * A fence nobody signals but the test, either by hand or from a delayed
 * work item (to see who waits for it).
 */
struct dbt_fence {
	struct dma_fence base;
	spinlock_t lock;	/* the fence's lock */
	struct delayed_work work;
};

static inline const char *dbt_fence_name(struct dma_fence *fence)
{
	return "dma-buf-kunit";
}

static inline void dbt_fence_signal_work(struct work_struct *work)
{
	struct dbt_fence *f = container_of(work, struct dbt_fence, work.work);

	dma_fence_signal(&f->base);
}

static inline void dbt_fence_cleanup(void *data)
{
	struct dbt_fence *f = data;

	cancel_delayed_work_sync(&f->work);
	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
}

/* An unsignaled fence added to @resv with @usage; the test keeps a ref. */
static inline struct dbt_fence *dbt_fence_add(struct kunit *test,
					      struct dma_resv *resv,
					      enum dma_resv_usage usage)
{
	static const struct dma_fence_ops ops = {
		.get_driver_name = dbt_fence_name,
		.get_timeline_name = dbt_fence_name,
	};
	struct dbt_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	spin_lock_init(&f->lock);
	INIT_DELAYED_WORK(&f->work, dbt_fence_signal_work);
	dma_fence_init(&f->base, &ops, &f->lock, dma_fence_context_alloc(1), 1);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, dbt_fence_cleanup, f));

	dma_resv_lock(resv, NULL);
	KUNIT_ASSERT_EQ(test, 0, dma_resv_reserve_fences(resv, 1));
	dma_resv_add_fence(resv, &f->base, usage);
	dma_resv_unlock(resv);
	return f;
}

static inline void dbt_fence_signal_later(struct dbt_fence *f,
					  unsigned int ms)
{
	schedule_delayed_work(&f->work, msecs_to_jiffies(ms));
}

/*
 * WARN probe: a console that counts the "WARNING:" lines the kernel
 * prints, so that a case can check that a misuse it provokes is reported.
 * It is registered for the life of a suite.
 */
static inline atomic_t *dbt_warn_counter(void)
{
	static atomic_t count = ATOMIC_INIT(0);

	return &count;
}

static inline void dbt_con_write(struct console *con, const char *s,
				 unsigned int n)
{
	if (strnstr(s, "WARNING:", n))
		atomic_inc(dbt_warn_counter());
}

static inline struct console *dbt_console(void)
{
	static struct console con = {
		.name = "dbtwarn",
		.write = dbt_con_write,
		.index = -1,
	};

	return &con;
}

static inline int dbt_suite_init(struct kunit_suite *suite)
{
	struct console *con = dbt_console();

	con->flags = CON_ENABLED;
	register_console(con);
	return 0;
}

static inline void dbt_suite_exit(struct kunit_suite *suite)
{
	unregister_console(dbt_console());
}

/*
 * WARNs printed so far.  console_lock() + console_unlock() flushes records
 * another context may still be printing.  Never call with a reservation
 * lock held: console_lock must not nest inside one.
 */
static inline int dbt_warns(void)
{
	console_lock();
	console_unlock();
	return atomic_read(dbt_warn_counter());
}

/* lockdep's assertions only report while lockdep is on. */
static inline void dbt_need_lockdep(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP) || !debug_locks)
		kunit_skip(test, "needs lockdep (CONFIG_PROVE_LOCKING)");
}

struct dbt_case_state {
	bool locks_at_start;
	int warns_at_start;
	int warns_expected;
	bool warns_unchecked;
};

/* Per-case init/exit: no unexpected WARN, lockdep not turned off. */
static inline int dbt_case_init(struct kunit *test)
{
	struct dbt_case_state *st = kunit_kzalloc(test, sizeof(*st),
						  GFP_KERNEL);

	if (!st)
		return -ENOMEM;
	st->locks_at_start = debug_locks;
	st->warns_at_start = dbt_warns();
	test->priv = st;
	return 0;
}

/* The running case provokes @n WARNs on purpose. */
static inline void dbt_expect_warns(struct kunit *test, int n)
{
	struct dbt_case_state *st = test->priv;

	st->warns_expected += n;
}

/* The running case may or may not WARN (e.g. a WARN_ON_ONCE). */
static inline void dbt_allow_warns(struct kunit *test)
{
	struct dbt_case_state *st = test->priv;

	st->warns_unchecked = true;
}

/* WARNs the running case printed so far. */
static inline int dbt_case_warns(struct kunit *test)
{
	struct dbt_case_state *st = test->priv;

	return dbt_warns() - st->warns_at_start;
}

static inline void dbt_case_exit(struct kunit *test)
{
	struct dbt_case_state *st = test->priv;

	flush_delayed_fput();
	if (st && st->locks_at_start)
		KUNIT_EXPECT_TRUE_MSG(test, debug_locks,
				      "lockdep turned itself off in this case");
	if (st && !st->warns_unchecked)
		KUNIT_EXPECT_EQ_MSG(test, dbt_case_warns(test),
				    st->warns_expected,
				    "kernel WARNs printed by this case");
}

/*
 * The last case of every suite: the suite's locking was checked only if
 * lockdep is still on.  Each case's exit catches a case that turns it
 * off; this also fails a suite that ran after something else did.
 */
static inline void dbt_lockdep_on(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP))
		kunit_skip(test, "lockdep not built in");
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks,
			      "lockdep is off: the first lockdep report in the log turned it off, locking went unchecked");
}

#endif /* _DMA_BUF_TEST_H */
