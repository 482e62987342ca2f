/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the dma-buf KUnit suites share: the kit's fake exporter under the
 * names the suites use, fake importers and a few probes.
 *
 * Every module that includes this gets its own copy of everything (all of
 * it is static), so the suites can be built in or as separate modules.
 *
 * The exporter is the kit's (include/kunit/dma-buf.h): DBT_PAGES real
 * pages, a fresh sg_table per mapping with made-up DMA addresses, a count
 * of every callback, any of them made to fail, and a record of callbacks
 * that ran with the reservation lock in the wrong state for the 6.12
 * locking convention.
 */
#ifndef _DMA_BUF_TEST_H
#define _DMA_BUF_TEST_H

#include <kunit/device.h>
#include <kunit/dma-buf.h>
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

#define DBT_PAGES	KUNIT_DMA_BUF_DEFAULT_PAGES
#define DBT_SIZE	(DBT_PAGES * PAGE_SIZE)

/*
 * The kit's exporter seen under the suites' names: its counters as plain
 * ints, one per callback, and its failure table as one return value per
 * callback.  The suites drive an exporter from the test's thread only, so
 * plain reads and writes of the kit's atomics are safe.  The layout is
 * checked member by member below.
 */
struct dbt_exporter {
	union {
		struct kunit_dma_buf_exporter kit;
		struct {
			struct kunit *test;
			struct dma_buf_ops ops;
			size_t size;
			unsigned int nr_pages;
			struct page **pages;
			/* what vmap hands out: the kit's mapping of the pages */
			void *vbuf;
			bool read_only;
			const char *name;
			struct dma_resv *resv;
			struct dma_buf *dmabuf;

			/* calls of each callback */
			int attached, detached, pinned, unpinned, mapped;
			int unmapped, released, began, ended, mmapped;
			int vmapped, vunmapped;
			/* per callback; dbt_lock_errors() is their sum */
			int op_lock_errors[KUNIT_DMA_BUF_NR_OPS];
			/* unmap/unpin/vunmap with something never handed out */
			int bad_calls;
			int kit_exported, kit_released;
			/* pins and vmaps held, tables not given back */
			int pins, vmaps, live_tables;

			/*
			 * What the callbacks return; the *_unused slots are
			 * those of callbacks that return nothing.
			 */
			int attach_ret, detach_unused, pin_ret, unpin_unused;
			int map_ret, unmap_unused, release_unused, begin_ret;
			int end_ret, mmap_ret, vmap_ret, vunmap_unused;
			bool map_null;
			/* map hands out a table without entries */
			bool map_empty;
			/* vmap reports success but sets no address */
			bool vmap_no_addr;
			/* attach refuses peer-to-peer, as an exporter may */
			bool clear_p2p;
			/* mmap maps nothing (the vma may be a made-up one) */
			bool mmap_record_only;

			/* what attach and detach saw of the attachment */
			struct dma_buf_attachment *last_attach;
			struct device *attach_dev;
			const struct dma_buf_attach_ops *attach_importer_ops;
			void *attach_importer_priv;
			bool attach_p2p;
			int live_at_detach, pins_at_detach;

			/* what the callbacks were last given */
			enum dma_data_direction map_dir, unmap_dir;
			enum dma_data_direction begin_dir, end_dir;
			struct vm_area_struct *mmap_vma;
			unsigned long mmap_pgoff;
			/* the map the last vunmap got: the caller's, as in 6.12 */
			const struct iosys_map *vunmap_map;
		};
	};
};

#define DBT_KIT_AT(m, kit_m)						\
	static_assert(offsetof(struct dbt_exporter, m) ==		\
		      offsetof(struct kunit_dma_buf_exporter, kit_m))
#define DBT_KIT_CALLS(m, op)						\
	static_assert(offsetof(struct dbt_exporter, m) ==		\
		      offsetof(struct kunit_dma_buf_exporter,		\
			       calls[KUNIT_DMA_BUF_OP_##op]))
#define DBT_KIT_FAIL(m, op)						\
	static_assert(offsetof(struct dbt_exporter, m) ==		\
		      offsetof(struct kunit_dma_buf_exporter,		\
			       fail[KUNIT_DMA_BUF_OP_##op]))
static_assert(sizeof(atomic_t) == sizeof(int));
DBT_KIT_AT(test, test);
DBT_KIT_AT(ops, ops);
DBT_KIT_AT(size, size);
DBT_KIT_AT(nr_pages, nr_pages);
DBT_KIT_AT(pages, pages);
DBT_KIT_AT(vbuf, vaddr);
DBT_KIT_AT(read_only, read_only);
DBT_KIT_AT(name, name);
DBT_KIT_AT(resv, resv);
DBT_KIT_AT(dmabuf, dmabuf);
DBT_KIT_CALLS(attached, ATTACH);
DBT_KIT_CALLS(detached, DETACH);
DBT_KIT_CALLS(pinned, PIN);
DBT_KIT_CALLS(unpinned, UNPIN);
DBT_KIT_CALLS(mapped, MAP);
DBT_KIT_CALLS(unmapped, UNMAP);
DBT_KIT_CALLS(released, RELEASE);
DBT_KIT_CALLS(began, BEGIN_CPU);
DBT_KIT_CALLS(ended, END_CPU);
DBT_KIT_CALLS(mmapped, MMAP);
DBT_KIT_CALLS(vmapped, VMAP);
DBT_KIT_CALLS(vunmapped, VUNMAP);
DBT_KIT_AT(op_lock_errors, lock_errors);
DBT_KIT_AT(bad_calls, bad_calls);
DBT_KIT_AT(kit_exported, exported);
DBT_KIT_AT(kit_released, released);
DBT_KIT_AT(pins, pins);
DBT_KIT_AT(vmaps, vmaps);
DBT_KIT_AT(live_tables, live_tables);
DBT_KIT_FAIL(attach_ret, ATTACH);
DBT_KIT_FAIL(pin_ret, PIN);
DBT_KIT_FAIL(map_ret, MAP);
DBT_KIT_FAIL(begin_ret, BEGIN_CPU);
DBT_KIT_FAIL(end_ret, END_CPU);
DBT_KIT_FAIL(mmap_ret, MMAP);
DBT_KIT_FAIL(vmap_ret, VMAP);
DBT_KIT_FAIL(vunmap_unused, VUNMAP);
DBT_KIT_AT(map_null, map_null);
DBT_KIT_AT(map_empty, map_empty);
DBT_KIT_AT(vmap_no_addr, vmap_no_addr);
DBT_KIT_AT(clear_p2p, clear_p2p);
DBT_KIT_AT(mmap_record_only, mmap_record_only);
DBT_KIT_AT(last_attach, last_attach);
DBT_KIT_AT(attach_dev, attach_dev);
DBT_KIT_AT(attach_importer_ops, attach_importer_ops);
DBT_KIT_AT(attach_importer_priv, attach_importer_priv);
DBT_KIT_AT(attach_p2p, attach_p2p);
DBT_KIT_AT(live_at_detach, live_at_detach);
DBT_KIT_AT(pins_at_detach, pins_at_detach);
DBT_KIT_AT(map_dir, map_dir);
DBT_KIT_AT(unmap_dir, unmap_dir);
DBT_KIT_AT(begin_dir, begin_dir);
DBT_KIT_AT(end_dir, end_dir);
DBT_KIT_AT(mmap_vma, mmap_vma);
DBT_KIT_AT(mmap_pgoff, mmap_pgoff);
DBT_KIT_AT(vunmap_map, vunmap_map);
static_assert(sizeof(struct dbt_exporter) ==
	      sizeof(struct kunit_dma_buf_exporter));
#undef DBT_KIT_AT
#undef DBT_KIT_CALLS
#undef DBT_KIT_FAIL

/* The kit's callbacks, for a case that puts one back into exp->ops. */
#define dbt_op_attach		(kunit_dma_buf_exporter_ops.attach)
#define dbt_op_detach		(kunit_dma_buf_exporter_ops.detach)
#define dbt_op_pin		(kunit_dma_buf_exporter_ops.pin)
#define dbt_op_unpin		(kunit_dma_buf_exporter_ops.unpin)
#define dbt_op_map		(kunit_dma_buf_exporter_ops.map_dma_buf)
#define dbt_op_unmap		(kunit_dma_buf_exporter_ops.unmap_dma_buf)
#define dbt_op_release		(kunit_dma_buf_exporter_ops.release)
#define dbt_op_begin		(kunit_dma_buf_exporter_ops.begin_cpu_access)
#define dbt_op_end		(kunit_dma_buf_exporter_ops.end_cpu_access)
#define dbt_op_mmap		(kunit_dma_buf_exporter_ops.mmap)
#define dbt_op_vmap		(kunit_dma_buf_exporter_ops.vmap)
#define dbt_op_vunmap		(kunit_dma_buf_exporter_ops.vunmap)

static inline dma_addr_t dbt_dma_addr(int i)
{
	return kunit_dma_buf_dma_addr(i);
}

static inline int dbt_live_tables(struct dbt_exporter *exp)
{
	return exp->live_tables;
}

/* Callbacks that saw the reservation lock in the wrong state. */
static inline int dbt_lock_errors(struct dbt_exporter *exp)
{
	return kunit_dma_buf_lock_errors(&exp->kit);
}

/* Forget them, after a case that provoked them on purpose. */
static inline void dbt_clear_lock_errors(struct dbt_exporter *exp)
{
	memset(exp->op_lock_errors, 0, sizeof(exp->op_lock_errors));
}

/*
 * A static exporter with every optional callback; its mmap only records
 * (exp->mmap_record_only) unless a case wants the pages mapped.  Tests
 * change exp->ops before exporting (dbt_make_dynamic(), clearing
 * callbacks, ...).
 */
static inline struct dbt_exporter *dbt_exporter_new(struct kunit *test)
{
	struct kunit_dma_buf_exporter *kit;
	struct dbt_exporter *exp;

	kit = kunit_dma_buf_exporter_create(test, NULL);
	exp = container_of(kit, struct dbt_exporter, kit);
	exp->mmap_record_only = true;
	return exp;
}

static inline void dbt_make_dynamic(struct dbt_exporter *exp)
{
	exp->ops.pin = dbt_op_pin;
	exp->ops.unpin = dbt_op_unpin;
}

/*
 * Fills in what the exporter decides; exp_name and owner stay the
 * caller's, from its DEFINE_DMA_BUF_EXPORT_INFO.
 */
static inline void dbt_fill_info(struct dbt_exporter *exp,
				 struct dma_buf_export_info *info)
{
	info->ops = &exp->ops;
	info->size = DBT_SIZE;
	info->flags = O_RDWR;
	info->priv = exp;
}

/*
 * Not through kunit_dma_buf_export(): the buffer is named after the
 * caller's module and owned by it, and the kit does not track it, since
 * a case may replace the release callback or leak a buffer on purpose.
 */
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

/*
 * Drop the caller's last reference and wait for the release: the only
 * one of this exporter.
 */
static inline void dbt_put_final(struct dbt_exporter *exp)
{
	kunit_dma_buf_put_final(&exp->kit, exp->dmabuf);
	KUNIT_EXPECT_EQ(exp->test, exp->released, 1);
}

/* Every mapping, pin and attachment the exporter saw was given back. */
static inline void dbt_expect_balanced(struct dbt_exporter *exp)
{
	kunit_dma_buf_expect_balanced(&exp->kit);
}

struct dbt_importer {
	struct device *dev;
	struct dma_buf_attachment *attach;
	int moves;
	int lock_errors;
};

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
