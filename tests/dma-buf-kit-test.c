// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites of the dma-buf kit (include/kunit/dma-buf.h): what its
 * exporter and importers record, that its contract checker passes a
 * correct exporter and names what a broken one gets wrong, and the
 * checker run on two real exporters, udmabuf and the system heap.
 */

#include <kunit/dma-buf.h>
#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#define KIT_PAGES	3

static void need_lockdep(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP) || !debug_locks)
		kunit_skip(test, "needs lockdep (CONFIG_PROVE_LOCKING)");
}

/* ---- the exporter ---- */

/* Every callback is counted, and the core's calls see the right lock state. */
static void kit_exporter_counts(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct iosys_map map;
	int op;

	exp = kunit_dma_buf_exporter_create(test, NULL);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	KUNIT_EXPECT_PTR_EQ(test, exp->dmabuf, dmabuf);
	KUNIT_EXPECT_PTR_EQ(test, kunit_dma_buf_exporter_of(dmabuf), exp);
	KUNIT_EXPECT_EQ(test, dmabuf->size,
			(size_t)KUNIT_DMA_BUF_DEFAULT_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, dma_buf_is_dynamic(dmabuf));

	attach = kunit_dma_buf_importer_attach(imp, dmabuf, false);
	KUNIT_EXPECT_PTR_EQ(test, exp->last_attach, attach);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_dev, imp->dev);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->live_tables), 1);
	KUNIT_EXPECT_EQ(test, exp->map_dir, DMA_TO_DEVICE);
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_TO_DEVICE);
	kunit_dma_buf_importer_detach(imp);
	KUNIT_EXPECT_NULL(test, imp->attach);

	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, exp->begin_dir, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->end_dir, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_FROM_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, exp->end_dir, DMA_FROM_DEVICE);
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	KUNIT_EXPECT_PTR_EQ(test, map.vaddr, exp->vaddr);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->vmaps), 1);
	dma_buf_vunmap_unlocked(dmabuf, &map);

	for (op = 0; op < KUNIT_DMA_BUF_NR_OPS; op++) {
		bool called = op != KUNIT_DMA_BUF_OP_PIN &&
			      op != KUNIT_DMA_BUF_OP_UNPIN &&
			      op != KUNIT_DMA_BUF_OP_MMAP &&
			      op != KUNIT_DMA_BUF_OP_RELEASE;

		KUNIT_EXPECT_EQ_MSG(test, kunit_dma_buf_calls(exp, op), called,
				    "%s", kunit_dma_buf_op_name(op));
	}
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_RELEASE), 1);
	KUNIT_EXPECT_NULL(test, exp->dmabuf);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_lock_errors(exp), 0);
}

/* The configured size, page-backed: tables, vmap and mmap show the pages. */
static void kit_exporter_config(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = {
		.size = KIT_PAGES * PAGE_SIZE,
		.dynamic = true,
		.read_only = true,
		.name = "kit-config",
	};
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct dma_resv *resv;
	struct sg_table *sgt;
	unsigned long addr;
	unsigned int i;
	u32 v;

	resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);
	cfg.resv = resv;
	exp = kunit_dma_buf_exporter_create(test, &cfg);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	KUNIT_EXPECT_EQ(test, dmabuf->size, (size_t)KIT_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, dma_buf_is_dynamic(dmabuf));
	KUNIT_EXPECT_STREQ(test, dmabuf->exp_name, "kit-config");
	KUNIT_EXPECT_FALSE(test, dmabuf->file->f_mode & FMODE_WRITE);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->resv, resv);

	attach = kunit_dma_buf_importer_attach(imp, dmabuf, true);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->pins), 1);
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, sgt->nents, KIT_PAGES);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg_dma_address(sg), kunit_dma_buf_dma_addr(i));
		KUNIT_EXPECT_EQ(test, sg_dma_len(sg), PAGE_SIZE);
	}
	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	dma_buf_unpin(attach);
	dma_resv_unlock(dmabuf->resv);
	kunit_dma_buf_importer_detach(imp);

	/* What the kernel writes to page 2, userspace reads from its mapping. */
	*(u32 *)(exp->vaddr + 2 * PAGE_SIZE) = 0xfeedf00d;
	addr = kunit_vm_mmap(test, dmabuf->file, 0, PAGE_SIZE, PROT_READ,
			     MAP_SHARED, 2 * PAGE_SIZE);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, v, 0xfeedf00d);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(exp->pages[2]), 0xfeedf00d);
	KUNIT_EXPECT_EQ(test, exp->mmap_pgoff, 2);
	vm_munmap(addr, PAGE_SIZE);

	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
	dma_resv_fini(resv);
}

/* Every callback that returns an error can be made to fail. */
static void kit_exporter_fail(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .dynamic = true };
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	unsigned long addr;

	exp = kunit_dma_buf_exporter_create(test, &cfg);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);

	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_ATTACH, -ENODEV);
	attach = kunit_dma_buf_importer_try_attach(imp, dmabuf, true);
	KUNIT_EXPECT_EQ(test, PTR_ERR(attach), -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&imp->attached), 0);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_ATTACH, 0);

	attach = kunit_dma_buf_importer_attach(imp, dmabuf, true);
	/* A second attach of an attached importer is refused. */
	sgt = ERR_CAST(kunit_dma_buf_importer_try_attach(imp, dmabuf, false));
	KUNIT_EXPECT_EQ(test, PTR_ERR(sgt), -EBUSY);
	dma_resv_lock(dmabuf->resv, NULL);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_PIN, -EAGAIN);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), -EAGAIN);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->pins), 0);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_PIN, 0);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_MAP, -ENOSPC);
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(sgt), -ENOSPC);
	dma_resv_unlock(dmabuf->resv);

	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_BEGIN_CPU, -EIO);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_TO_DEVICE), -EIO);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_BEGIN_CPU, 0);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_TO_DEVICE), 0);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_END_CPU, -EPERM);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE), -EPERM);
	/* the access did not end: end it, as a caller would retry */
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_END_CPU, 0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE), 0);

	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_MMAP, -EACCES);
	addr = kunit_vm_mmap(test, dmabuf->file, 0, PAGE_SIZE, PROT_READ,
			     MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, -EACCES);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MMAP), 1);

	kunit_dma_buf_importer_detach(imp);
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* A callback called with the lock in the wrong state is counted. */
static void kit_exporter_lock_errors(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf;
	struct iosys_map map;

	exp = kunit_dma_buf_exporter_create(test, NULL);
	dmabuf = kunit_dma_buf_export(exp);
	KUNIT_EXPECT_TRUE(test, kunit_dma_buf_op_locked(KUNIT_DMA_BUF_OP_VMAP));
	KUNIT_EXPECT_FALSE(test, kunit_dma_buf_op_locked(KUNIT_DMA_BUF_OP_MMAP));

	/* vmap and vunmap without the lock, as a broken core would call them */
	KUNIT_ASSERT_EQ(test, dmabuf->ops->vmap(dmabuf, &map), 0);
	dmabuf->ops->vunmap(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->lock_errors[KUNIT_DMA_BUF_OP_VMAP]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->lock_errors[KUNIT_DMA_BUF_OP_VUNMAP]), 1);

	/* begin_cpu_access with it: only lockdep can tell who holds it */
	if (IS_ENABLED(CONFIG_LOCKDEP) && debug_locks) {
		dma_resv_lock(dmabuf->resv, NULL);
		dmabuf->ops->begin_cpu_access(dmabuf, DMA_TO_DEVICE);
		dma_resv_unlock(dmabuf->resv);
		KUNIT_EXPECT_EQ(test,
				atomic_read(&exp->lock_errors[KUNIT_DMA_BUF_OP_BEGIN_CPU]),
				1);
	}
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_lock_errors(exp),
			IS_ENABLED(CONFIG_LOCKDEP) && debug_locks ? 3 : 2);

	/* The core's own calls are all right. */
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->lock_errors[KUNIT_DMA_BUF_OP_VMAP]), 1);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* The switches that make callbacks misbehave, called as the core would. */
static void kit_exporter_switches(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .dynamic = true };
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct iosys_map map;

	exp = kunit_dma_buf_exporter_create(test, &cfg);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	exp->clear_p2p = true;
	attach = kunit_dma_buf_importer_attach(imp, dmabuf, true);
	KUNIT_EXPECT_TRUE(test, exp->attach_p2p);
	KUNIT_EXPECT_FALSE(test, attach->peer2peer);

	dma_resv_lock(dmabuf->resv, NULL);
	exp->map_null = true;
	KUNIT_EXPECT_NULL(test, dmabuf->ops->map_dma_buf(attach, DMA_TO_DEVICE));
	exp->map_null = false;
	exp->map_empty = true;
	sgt = dmabuf->ops->map_dma_buf(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, sgt->nents, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->live_tables), 1);
	dmabuf->ops->unmap_dma_buf(attach, sgt, DMA_TO_DEVICE);
	exp->vmap_no_addr = true;
	iosys_map_clear(&map);
	KUNIT_EXPECT_EQ(test, dmabuf->ops->vmap(dmabuf, &map), 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->vmaps), 0);
	dma_resv_unlock(dmabuf->resv);

	kunit_dma_buf_importer_detach(imp);
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* unmap of a table the exporter never handed out is a bad call. */
static void kit_exporter_bad_calls(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table other = {};
	struct iosys_map map;

	exp = kunit_dma_buf_exporter_create(test, NULL);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	attach = kunit_dma_buf_importer_attach(imp, dmabuf, false);

	dma_resv_lock(dmabuf->resv, NULL);
	dmabuf->ops->unmap_dma_buf(attach, &other, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->bad_calls), 1);
	iosys_map_set_vaddr(&map, &other);
	dmabuf->ops->vunmap(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->bad_calls), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->vmaps), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_lock_errors(exp), 0);

	kunit_dma_buf_importer_detach(imp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* One preallocated table for every map; many buffers of one exporter. */
static void kit_exporter_shared_sgt(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .shared_sgt = true };
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf_attachment *attach;
	struct sg_table *a, *b;
	struct dma_buf *dmabuf, *second;

	exp = kunit_dma_buf_exporter_create(test, &cfg);
	imp = kunit_dma_buf_importer_create(test, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	second = kunit_dma_buf_try_export(exp, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(second));
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->exported), 2);

	attach = kunit_dma_buf_importer_attach(imp, dmabuf, false);
	a = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	b = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(a));
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(b));
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->live_tables), 2);
	dma_buf_unmap_attachment_unlocked(attach, b, DMA_BIDIRECTIONAL);
	dma_buf_unmap_attachment_unlocked(attach, a, DMA_BIDIRECTIONAL);
	kunit_dma_buf_importer_detach(imp);
	kunit_dma_buf_expect_balanced(exp);

	kunit_dma_buf_put_final(exp, second);
	kunit_dma_buf_put_final(exp, dmabuf);
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->released), 2);
}

/*
 * Test-managed cleanup, seen from a test of its own: an attachment left
 * behind is detached, and a buffer left alive fails that test without the
 * exporter being freed under it.
 */
static void kit_cleanup(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct kunit_dma_buf_importer *imp;
	struct dma_buf *dmabuf;
	struct kunit *inner;

	inner = kunit_kzalloc(test, sizeof(*inner), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, inner);
	kunit_init_test(inner, "kit-inner", NULL);
	exp = kunit_dma_buf_exporter_create(inner, NULL);
	imp = kunit_dma_buf_importer_create(inner, "kit-imp");
	dmabuf = kunit_dma_buf_export(exp);
	kunit_dma_buf_importer_attach(imp, dmabuf, true);
	KUNIT_ASSERT_EQ(test, inner->status, KUNIT_SUCCESS);

	kunit_cleanup(inner);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_DETACH), 1);
	KUNIT_EXPECT_EQ(test, inner->status, KUNIT_FAILURE);

	/* The exporter outlived the test for its buffer, and goes with it. */
	dma_buf_put(dmabuf);
	flush_delayed_fput();
}

/* ---- the importers ---- */

static void kit_count_move(struct kunit_dma_buf_importer *imp,
			   struct dma_buf_attachment *attach)
{
	int *seen = imp->priv;

	(*seen)++;
}

/* Dynamic importers record move_notify; static ones get none. */
static void kit_importer_moves(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .dynamic = true };
	struct kunit_dma_buf_importer *dyn, *stat;
	struct dma_buf_attachment *attach, stale = {};
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf;
	int seen = 0;

	exp = kunit_dma_buf_exporter_create(test, &cfg);
	dyn = kunit_dma_buf_importer_create(test, "kit-dynamic");
	stat = kunit_dma_buf_importer_create(test, "kit-static");
	dmabuf = kunit_dma_buf_export(exp);
	dyn->on_move = kit_count_move;
	dyn->priv = &seen;
	attach = kunit_dma_buf_importer_attach(dyn, dmabuf, true);
	KUNIT_EXPECT_TRUE(test, dyn->dynamic);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_importer_ops, &dyn->ops);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_importer_priv, dyn);
	KUNIT_EXPECT_TRUE(test, exp->attach_p2p);
	kunit_dma_buf_importer_attach(stat, dmabuf, false);
	KUNIT_EXPECT_FALSE(test, stat->dynamic);

	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_move_notify(dmabuf);
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->moves), 2);
	KUNIT_EXPECT_PTR_EQ(test, dyn->last_move, attach);
	KUNIT_EXPECT_EQ(test, seen, 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->lock_errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->bad_moves), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&stat->moves), 0);

	/* A notification without the lock, or once detached, is recorded. */
	dyn->ops.move_notify(attach);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->lock_errors), 1);
	kunit_dma_buf_importer_detach(dyn);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->attached), 0);
	stale.dmabuf = dmabuf;
	stale.importer_priv = dyn;
	dma_resv_lock(dmabuf->resv, NULL);
	dyn->ops.move_notify(&stale);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, atomic_read(&dyn->bad_moves), 1);

	kunit_dma_buf_importer_detach(stat);
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* ---- the contract checker ---- */

static void expect_clean(struct kunit *test,
			 const struct kunit_dma_buf_check_result *res)
{
	int step;

	KUNIT_EXPECT_EQ_MSG(test, res->problems, 0, "first: %s", res->first);
	for (step = 0; step < KUNIT_DMA_BUF_CHECK_NR_STEPS; step++)
		KUNIT_EXPECT_EQ_MSG(test, res->status[step],
				    KUNIT_DMA_BUF_CHECK_PASSED, "%s",
				    kunit_dma_buf_check_step_name(step));
}

/* A correct exporter, static, dynamic or caching, passes every step. */
static void kit_check_correct(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .size = KIT_PAGES * PAGE_SIZE };
	struct kunit_dma_buf_check_result res;
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf;
	int kind;

	for (kind = 0; kind < 3; kind++) {
		bool dynamic = kind == 1;

		cfg.dynamic = dynamic;
		cfg.cache_sgt_mapping = kind == 2;
		exp = kunit_dma_buf_exporter_create(test, &cfg);
		dmabuf = kunit_dma_buf_export(exp);
		KUNIT_EXPECT_EQ(test, dmabuf->ops->cache_sgt_mapping, kind == 2);
		KUNIT_EXPECT_EQ(test, kunit_dma_buf_check(test, dmabuf, NULL, &res), 0);
		expect_clean(test, &res);
		/* The checker exercised the exporter and gave everything back. */
		KUNIT_EXPECT_GT(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MAP), 0);
		KUNIT_EXPECT_GT(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MMAP), 0);
		if (dynamic)
			KUNIT_EXPECT_GT(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_PIN), 0);
		else
			KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_PIN), 0);
		kunit_dma_buf_expect_balanced(exp);
		kunit_dma_buf_put_final(exp, dmabuf);
	}
}

/* The steps asked for run; what the exporter lacks is unsupported or required. */
static void kit_check_steps(struct kunit *test)
{
	struct kunit_dma_buf_check_options opts = {
		.steps = BIT(KUNIT_DMA_BUF_CHECK_VMAP) | BIT(KUNIT_DMA_BUF_CHECK_MMAP),
		.quiet = true,
	};
	struct kunit_dma_buf_check_result res;
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf;

	exp = kunit_dma_buf_exporter_create(test, NULL);
	exp->ops.vmap = NULL;
	exp->ops.vunmap = NULL;
	dmabuf = kunit_dma_buf_export(exp);

	KUNIT_EXPECT_EQ(test, kunit_dma_buf_check(test, dmabuf, &opts, &res), 0);
	KUNIT_EXPECT_EQ(test, res.status[KUNIT_DMA_BUF_CHECK_VMAP],
			KUNIT_DMA_BUF_CHECK_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, res.status[KUNIT_DMA_BUF_CHECK_MMAP],
			KUNIT_DMA_BUF_CHECK_PASSED);
	KUNIT_EXPECT_EQ(test, res.status[KUNIT_DMA_BUF_CHECK_MAP],
			KUNIT_DMA_BUF_CHECK_NOT_RUN);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_ATTACH), 0);

	opts.required = BIT(KUNIT_DMA_BUF_CHECK_VMAP);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_check(test, dmabuf, &opts, &res), 1);
	KUNIT_EXPECT_EQ(test, res.failed, BIT(KUNIT_DMA_BUF_CHECK_VMAP));
	KUNIT_EXPECT_STREQ(test, res.first,
			   "vmap: required, but the exporter has no vmap callback");
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* An exporter that only accepts one device, and the checker told so. */
static struct device *kit_only_dev;

static int kit_attach_only(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attach)
{
	if (attach->dev != kit_only_dev)
		return -ENODEV;
	return kunit_dma_buf_exporter_ops.attach(dmabuf, attach);
}

static void kit_check_device(struct kunit *test)
{
	struct kunit_dma_buf_check_options opts = { .quiet = true };
	struct kunit_dma_buf_check_result res;
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf;

	kit_only_dev = kunit_dma_buf_device(test, "kit-only");
	exp = kunit_dma_buf_exporter_create(test, NULL);
	exp->ops.attach = kit_attach_only;
	dmabuf = kunit_dma_buf_export(exp);

	KUNIT_EXPECT_GT(test, kunit_dma_buf_check(test, dmabuf, &opts, &res), 0);
	KUNIT_EXPECT_STREQ(test, res.first, "attach: static attach failed: -ENODEV");
	opts.dev = kit_only_dev;
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_check(test, dmabuf, &opts, &res), 0);
	expect_clean(test, &res);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_dev, kit_only_dev);
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* Run the checker on a broken exporter; expect only @steps to fail. */
static void expect_caught(struct kunit *test, struct kunit_dma_buf_exporter *exp,
			  unsigned long steps, const char *first)
{
	struct kunit_dma_buf_check_result res;
	struct dma_buf *dmabuf = kunit_dma_buf_export(exp);

	KUNIT_EXPECT_GT(test, kunit_dma_buf_check(test, dmabuf, NULL, &res), 0);
	KUNIT_EXPECT_EQ_MSG(test, res.failed, steps, "first: %s", res.first);
	KUNIT_EXPECT_STREQ(test, res.first, first);
	kunit_dma_buf_expect_balanced(exp);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* An exporter that takes the reservation lock and keeps it. */
static int kit_begin_keeps_lock(struct dma_buf *dmabuf,
				enum dma_data_direction dir)
{
	dma_resv_lock(dmabuf->resv, NULL);
	return 0;
}

static void kit_check_lock_kept(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;

	need_lockdep(test);
	exp = kunit_dma_buf_exporter_create(test, NULL);
	exp->ops.begin_cpu_access = kit_begin_keeps_lock;
	/* vmap and mmap bracket their CPU access: they see it first */
	expect_caught(test, exp,
		      BIT(KUNIT_DMA_BUF_CHECK_VMAP) |
		      BIT(KUNIT_DMA_BUF_CHECK_CPU_ACCESS) |
		      BIT(KUNIT_DMA_BUF_CHECK_MMAP),
		      "vmap: begin_cpu_access returned with the reservation lock held");
}

/* An exporter whose tables miss the last page. */
static struct sg_table *kit_map_short(struct dma_buf_attachment *attach,
				      enum dma_data_direction dir)
{
	struct sg_table *sgt = kunit_dma_buf_exporter_ops.map_dma_buf(attach, dir);

	if (!IS_ERR_OR_NULL(sgt))
		sgt->nents--;
	return sgt;
}

static void kit_check_short_table(struct kunit *test)
{
	struct kunit_dma_buf_exporter_config cfg = { .size = KIT_PAGES * PAGE_SIZE };
	struct kunit_dma_buf_exporter *exp;
	char first[96];

	exp = kunit_dma_buf_exporter_create(test, &cfg);
	exp->ops.map_dma_buf = kit_map_short;
	snprintf(first, sizeof(first),
		 "map: map gave DMA segments of %lu bytes for a %lu-byte buffer",
		 (KIT_PAGES - 1) * PAGE_SIZE, KIT_PAGES * PAGE_SIZE);
	expect_caught(test, exp,
		      BIT(KUNIT_DMA_BUF_CHECK_MAP) | BIT(KUNIT_DMA_BUF_CHECK_PIN),
		      first);
}

static void kit_check_vmap_fails(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_create(test, NULL);

	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_VMAP, -ENOMEM);
	expect_caught(test, exp, BIT(KUNIT_DMA_BUF_CHECK_VMAP),
		      "vmap: vmap failed: -12");
}

static void kit_check_begin_fails(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_create(test, NULL);

	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_BEGIN_CPU, -EIO);
	expect_caught(test, exp, BIT(KUNIT_DMA_BUF_CHECK_CPU_ACCESS),
		      "cpu-access: begin_cpu_access(DMA_TO_DEVICE) failed: -5");
}

static void kit_check_mmap_empty(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_create(test, NULL);

	/* mmap succeeds but maps nothing: the first access faults */
	exp->mmap_record_only = true;
	expect_caught(test, exp, BIT(KUNIT_DMA_BUF_CHECK_MMAP),
		      "mmap: page 0 of the mapping cannot be read");
}

/* An exporter whose vmap shows other memory than its pages. */
static void *kit_elsewhere;

static int kit_vmap_elsewhere(struct dma_buf *dmabuf, struct iosys_map *map)
{
	iosys_map_set_vaddr(map, kit_elsewhere);
	return 0;
}

static void kit_vunmap_elsewhere(struct dma_buf *dmabuf, struct iosys_map *map)
{
}

static void kit_check_vmap_elsewhere(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_create(test, NULL);

	kit_elsewhere = kunit_kzalloc(test, exp->size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kit_elsewhere);
	exp->ops.vmap = kit_vmap_elsewhere;
	exp->ops.vunmap = kit_vunmap_elsewhere;
	expect_caught(test, exp, BIT(KUNIT_DMA_BUF_CHECK_MMAP),
		      "mmap: page 0 shows other memory than vmap does");
}

static struct kunit_case kit_cases[] = {
	KUNIT_CASE(kit_exporter_counts),
	KUNIT_CASE(kit_exporter_config),
	KUNIT_CASE(kit_exporter_fail),
	KUNIT_CASE(kit_exporter_lock_errors),
	KUNIT_CASE(kit_exporter_switches),
	KUNIT_CASE(kit_exporter_bad_calls),
	KUNIT_CASE(kit_exporter_shared_sgt),
	KUNIT_CASE(kit_cleanup),
	KUNIT_CASE(kit_importer_moves),
	KUNIT_CASE(kit_check_correct),
	KUNIT_CASE(kit_check_steps),
	KUNIT_CASE(kit_check_device),
	KUNIT_CASE(kit_check_lock_kept),
	KUNIT_CASE(kit_check_short_table),
	KUNIT_CASE(kit_check_vmap_fails),
	KUNIT_CASE(kit_check_begin_fails),
	KUNIT_CASE(kit_check_mmap_empty),
	KUNIT_CASE(kit_check_vmap_elsewhere),
	{}
};

static struct kunit_suite kit_suite = {
	.name = "dma-buf-kit",
	.test_cases = kit_cases,
};

/* ---- real exporters ---- */

#define KIT_REAL_SIZE	(4 * PAGE_SIZE)

static void kit_udmabuf(struct kunit *test)
{
	struct dma_buf *dmabuf = kunit_dma_buf_udmabuf_create(test, KIT_REAL_SIZE);

	if (PTR_ERR(dmabuf) == -ENODEV)
		kunit_skip(test, "no udmabuf device (CONFIG_UDMABUF)");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "udmabuf: %pe", dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf->size, KIT_REAL_SIZE);
	KUNIT_EXPECT_DMA_BUF_CONTRACT(test, dmabuf);
	dma_buf_put(dmabuf);
}

static void kit_system_heap(struct kunit *test)
{
	struct dma_buf *dmabuf = kunit_dma_buf_heap_alloc(test, "system",
							  KIT_REAL_SIZE);

	if (PTR_ERR(dmabuf) == -ENODEV)
		kunit_skip(test, "no system heap (CONFIG_DMABUF_HEAPS_SYSTEM)");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "system heap: %pe", dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf->size, KIT_REAL_SIZE);
	KUNIT_EXPECT_DMA_BUF_CONTRACT(test, dmabuf);
	dma_buf_put(dmabuf);
}

/* A heap that does not exist is reported as such, not as another error. */
static void kit_no_such_heap(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, PTR_ERR(kunit_dma_buf_heap_alloc(test, "kit-none",
							       PAGE_SIZE)),
			-ENODEV);
}

static struct kunit_case kit_exporter_cases[] = {
	KUNIT_CASE(kit_udmabuf),
	KUNIT_CASE(kit_system_heap),
	KUNIT_CASE(kit_no_such_heap),
	{}
};

static struct kunit_suite kit_exporter_suite = {
	.name = "dma-buf-kit-exporters",
	.test_cases = kit_exporter_cases,
};

kunit_test_suites(&kit_suite, &kit_exporter_suite);

MODULE_DESCRIPTION("KUnit tests of the dma-buf KUnit kit");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
