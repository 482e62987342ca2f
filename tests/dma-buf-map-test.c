// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for attachments and DMA mappings: dma_buf_attach(),
 * dma_buf_dynamic_attach(), dma_buf_detach(), dma_buf_pin()/unpin(),
 * dma_buf_map_attachment() and dma_buf_unmap_attachment() with their
 * _unlocked forms, cached mappings, the wait for kernel fences, move_notify
 * and CONFIG_DMABUF_DEBUG.
 */
#include "dma-buf-test.h"

/* Exporter and importer kinds of the four combinations. */
#define DBT_EXP_DYNAMIC	BIT(0)
#define DBT_IMP_DYNAMIC	BIT(1)

static bool dbt_attachment_listed(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct dma_buf_attachment *a;
	bool found = false;

	dma_resv_lock(dmabuf->resv, NULL);
	list_for_each_entry(a, &dmabuf->attachments, node)
		found |= a == attach;
	dma_resv_unlock(dmabuf->resv);
	return found;
}

/* Importer and exporter agree: nothing is mapped before it is asked for. */
static void dbt_attach_static(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;

	attach = dbt_attach(test, dmabuf, imp, false);
	KUNIT_EXPECT_PTR_EQ(test, attach->dmabuf, dmabuf);
	KUNIT_EXPECT_PTR_EQ(test, attach->dev, imp->dev);
	KUNIT_EXPECT_NULL(test, attach->importer_ops);
	KUNIT_EXPECT_NULL(test, attach->importer_priv);
	KUNIT_EXPECT_FALSE(test, attach->peer2peer);
	KUNIT_EXPECT_FALSE(test, dma_buf_attachment_is_dynamic(attach));
	KUNIT_EXPECT_TRUE(test, dbt_attachment_listed(dmabuf, attach));
	KUNIT_EXPECT_EQ(test, exp->attached, 1);
	KUNIT_EXPECT_PTR_EQ(test, exp->last_attach, attach);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_dev, imp->dev);
	KUNIT_EXPECT_PTR_EQ(test, attach->priv, exp);
	KUNIT_EXPECT_EQ(test, exp->mapped, 0);
	KUNIT_EXPECT_EQ(test, exp->pinned, 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->detached, 1);
	KUNIT_EXPECT_PTR_EQ(test, exp->last_attach, attach);
	KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
	KUNIT_EXPECT_EQ(test, exp->unmapped, 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static void dbt_attach_dynamic(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dbt_importer *imp2 = dbt_importer_new(test, "dbt-imp2");
	struct dma_buf_attachment *attach, *attach2;
	struct dma_buf *dmabuf;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	KUNIT_EXPECT_TRUE(test, dma_buf_is_dynamic(dmabuf));

	attach = dbt_attach(test, dmabuf, imp, true);
	/* The exporter's attach sees the importer's side already filled in. */
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_dev, imp->dev);
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_importer_ops,
			    dbt_dynamic_ops(true));
	KUNIT_EXPECT_PTR_EQ(test, exp->attach_importer_priv, imp);
	KUNIT_EXPECT_TRUE(test, exp->attach_p2p);
	KUNIT_EXPECT_PTR_EQ(test, attach->importer_ops, dbt_dynamic_ops(true));
	KUNIT_EXPECT_PTR_EQ(test, attach->importer_priv, imp);
	KUNIT_EXPECT_TRUE(test, attach->peer2peer);
	KUNIT_EXPECT_TRUE(test, dma_buf_attachment_is_dynamic(attach));

	attach2 = dma_buf_dynamic_attach(dmabuf, imp2->dev,
					 dbt_dynamic_ops(false), imp2);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach2));
	KUNIT_EXPECT_FALSE(test, attach2->peer2peer);
	KUNIT_EXPECT_TRUE(test, dma_buf_attachment_is_dynamic(attach2));

	/* Both sides dynamic: no mapping or pin before it is asked for. */
	KUNIT_EXPECT_EQ(test, exp->mapped, 0);
	KUNIT_EXPECT_EQ(test, exp->pinned, 0);
	KUNIT_EXPECT_TRUE(test, dbt_attachment_listed(dmabuf, attach));
	KUNIT_EXPECT_TRUE(test, dbt_attachment_listed(dmabuf, attach2));

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_FALSE(test, dbt_attachment_listed(dmabuf, attach));
	KUNIT_EXPECT_TRUE(test, dbt_attachment_listed(dmabuf, attach2));
	dma_buf_detach(dmabuf, attach2);
	KUNIT_EXPECT_EQ(test, exp->detached, 2);
	KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* The exporter's attach callback failing fails the attach, cleanly. */
static void dbt_attach_callback_fails(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	int mode;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	for (mode = 0; mode < 2; mode++) {
		exp->mapped = 0;
		exp->pinned = 0;
		exp->attach_ret = -ENODEV;
		if (mode)
			attach = dma_buf_dynamic_attach(dmabuf, imp->dev,
							dbt_dynamic_ops(true),
							imp);
		else
			attach = dma_buf_attach(dmabuf, imp->dev);
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(attach), -ENODEV);
		KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
		KUNIT_EXPECT_EQ(test, exp->detached, 0);
		KUNIT_EXPECT_EQ(test, exp->mapped, 0);
		KUNIT_EXPECT_EQ(test, exp->pinned, 0);

		/* The buffer is still fine for the next importer. */
		exp->attach_ret = 0;
		attach = dbt_attach(test, dmabuf, imp, mode);
		dma_buf_detach(dmabuf, attach);
		exp->attached = 0;
		exp->detached = 0;
	}
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* The exporter's attach may turn peer-to-peer off; the importer sees it. */
static void dbt_attach_exporter_clears_p2p(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;

	dbt_make_dynamic(exp);
	exp->clear_p2p = true;
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);
	KUNIT_EXPECT_TRUE(test, exp->attach_p2p);
	KUNIT_EXPECT_FALSE(test, attach->peer2peer);
	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* A dynamic importer must be able to hear about moves. */
static void dbt_attach_no_move_notify(struct kunit *test)
{
	static const struct dma_buf_attach_ops no_notify = {
		.allow_peer2peer = true,
	};
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;

	attach = dma_buf_dynamic_attach(dmabuf, imp->dev, &no_notify, imp);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(attach), -EINVAL);
	if (!IS_ERR(attach))
		dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static void dbt_attach_is_dynamic(struct kunit *test)
{
	int kind;

	for (kind = 0; kind < 4; kind++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		struct dbt_importer *imp;
		struct dma_buf_attachment *attach;
		struct dma_buf *dmabuf;
		char name[16];

		snprintf(name, sizeof(name), "dbt-imp%d", kind);
		imp = dbt_importer_new(test, name);
		if (kind & DBT_EXP_DYNAMIC)
			dbt_make_dynamic(exp);
		dmabuf = dbt_export(exp);
		attach = dbt_attach(test, dmabuf, imp, kind & DBT_IMP_DYNAMIC);
		KUNIT_EXPECT_EQ(test, dma_buf_is_dynamic(dmabuf),
				!!(kind & DBT_EXP_DYNAMIC));
		KUNIT_EXPECT_EQ(test, dma_buf_attachment_is_dynamic(attach),
				!!(kind & DBT_IMP_DYNAMIC));
		dma_buf_detach(dmabuf, attach);
		dbt_expect_balanced(exp);
		dbt_put_final(exp);
	}
}

/*
 * When the two sides disagree the mapping is made at attach: a dynamic
 * exporter is pinned for a static importer; detach undoes it all.
 */
static void dbt_attach_disagree_maps(struct kunit *test)
{
	int kind;

	for (kind = DBT_EXP_DYNAMIC; kind <= DBT_IMP_DYNAMIC; kind++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		bool exp_dyn = kind & DBT_EXP_DYNAMIC;
		struct dbt_importer *imp;
		struct dma_buf_attachment *attach;
		struct sg_table *sgt, *other;
		struct dma_buf *dmabuf;
		char name[16];

		snprintf(name, sizeof(name), "dbt-imp%d", kind);
		imp = dbt_importer_new(test, name);
		if (exp_dyn)
			dbt_make_dynamic(exp);
		dmabuf = dbt_export(exp);
		attach = dbt_attach(test, dmabuf, imp, !exp_dyn);
		KUNIT_EXPECT_EQ(test, exp->mapped, 1);
		KUNIT_EXPECT_EQ(test, exp->map_dir, DMA_BIDIRECTIONAL);
		KUNIT_EXPECT_EQ(test, exp->pins, exp_dyn ? 1 : 0);
		KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);

		/* Any direction is served from the cached mapping. */
		sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
		KUNIT_ASSERT_FALSE(test, IS_ERR(sgt));
		other = dma_buf_map_attachment_unlocked(attach,
							DMA_FROM_DEVICE);
		KUNIT_EXPECT_PTR_EQ(test, other, sgt);
		KUNIT_EXPECT_EQ(test, exp->mapped, 1);
		dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
		dma_buf_unmap_attachment_unlocked(attach, sgt,
						  DMA_FROM_DEVICE);
		KUNIT_EXPECT_EQ(test, exp->unmapped, 0);
		KUNIT_EXPECT_EQ(test, exp->unpinned, 0);

		dma_buf_detach(dmabuf, attach);
		KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
		KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_BIDIRECTIONAL);
		KUNIT_EXPECT_EQ(test, exp->unpinned, exp_dyn ? 1 : 0);
		/* The exporter's detach comes after the unmap and unpin. */
		KUNIT_EXPECT_EQ(test, exp->live_at_detach, 0);
		KUNIT_EXPECT_EQ(test, exp->pins_at_detach, 0);
		dbt_expect_balanced(exp);
		dbt_put_final(exp);
	}
}

/* The mapping made at attach can fail at each step; nothing is left. */
static void dbt_attach_disagree_fails(struct kunit *test)
{
	int step;

	for (step = 0; step < 4; step++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		struct dbt_importer *imp;
		struct dma_buf_attachment *attach;
		struct dma_buf *dmabuf;
		int want = step == 2 ? -ENOMEM : -EIO;
		char name[16];

		snprintf(name, sizeof(name), "dbt-imp%d", step);
		imp = dbt_importer_new(test, name);
		/* steps 0..2: static importer on a dynamic exporter */
		if (step < 3)
			dbt_make_dynamic(exp);
		if (step == 0)
			exp->pin_ret = -EIO;
		else if (step == 2)
			exp->map_null = true;
		else
			exp->map_ret = -EIO;
		dmabuf = dbt_export(exp);

		attach = step < 3 ? dma_buf_attach(dmabuf, imp->dev) :
			 dma_buf_dynamic_attach(dmabuf, imp->dev,
						dbt_dynamic_ops(true), imp);
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(attach), want,
				    "step %d", step);
		if (!IS_ERR(attach))
			dma_buf_detach(dmabuf, attach);
		KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
		KUNIT_EXPECT_EQ(test, exp->unmapped, 0);
		dbt_expect_balanced(exp);
		dbt_put_final(exp);
	}
}

/* NULL buffer or device, or detaching from another buffer: WARN, no-op. */
static void dbt_attach_bad_args(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_exporter *other = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;

	dbt_export(other);
	attach = dma_buf_attach(NULL, imp->dev);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(attach), -EINVAL);
	attach = dma_buf_dynamic_attach(dmabuf, NULL, dbt_dynamic_ops(true),
					imp);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(attach), -EINVAL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 2);
	KUNIT_EXPECT_EQ(test, exp->attached, 0);

	attach = dbt_attach(test, dmabuf, imp, false);
	dma_buf_detach(other->dmabuf, attach);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 3);
	KUNIT_EXPECT_TRUE(test, dbt_attachment_listed(dmabuf, attach));
	KUNIT_EXPECT_EQ(test, exp->detached + other->detached, 0);
	dbt_expect_warns(test, 3);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
	dbt_put_final(other);
}

static struct kunit_case dbt_attach_cases[] = {
	KUNIT_CASE(dbt_attach_static),
	KUNIT_CASE(dbt_attach_dynamic),
	KUNIT_CASE(dbt_attach_callback_fails),
	KUNIT_CASE(dbt_attach_exporter_clears_p2p),
	KUNIT_CASE(dbt_attach_no_move_notify),
	KUNIT_CASE(dbt_attach_bad_args),
	KUNIT_CASE(dbt_attach_is_dynamic),
	KUNIT_CASE(dbt_attach_disagree_maps),
	KUNIT_CASE(dbt_attach_disagree_fails),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_attach_suite = {
	.name = "dma-buf-attach",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_attach_cases,
};

static void dbt_pin_dynamic(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), 0);
	KUNIT_EXPECT_EQ(test, exp->pins, 1);
	dma_buf_unpin(attach);
	KUNIT_EXPECT_EQ(test, exp->pins, 0);
	KUNIT_EXPECT_EQ(test, exp->unpinned, 1);

	exp->pin_ret = -EBUSY;
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), -EBUSY);
	KUNIT_EXPECT_EQ(test, exp->pins, 0);
	dma_resv_unlock(dmabuf->resv);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->unpinned, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* A static exporter has nothing to pin: success, no callback. */
static void dbt_pin_static_exporter(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, true);

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), 0);
	dma_buf_unpin(attach);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, exp->pinned + exp->unpinned, 0);
	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* dma_buf_pin() without the reservation lock is reported. */
static void dbt_pin_unlocked_warns(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	int ret;

	dbt_need_lockdep(test);
	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);

	ret = dma_buf_pin(attach);
	KUNIT_EXPECT_GE(test, dbt_case_warns(test), 1);
	dbt_allow_warns(test);
	dma_resv_lock(dmabuf->resv, NULL);
	if (!ret)
		dma_buf_unpin(attach);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_TRUE(test, debug_locks);

	dma_buf_detach(dmabuf, attach);
	/* The core may have refused, or called pin without the lock. */
	dbt_clear_lock_errors(exp);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static struct kunit_case dbt_pin_cases[] = {
	KUNIT_CASE(dbt_pin_dynamic),
	KUNIT_CASE(dbt_pin_static_exporter),
	KUNIT_CASE(dbt_pin_unlocked_warns),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_pin_suite = {
	.name = "dma-buf-pin",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_pin_cases,
};

static void dbt_expect_table(struct kunit *test, struct dbt_exporter *exp,
			     struct sg_table *sgt)
{
	struct scatterlist *sg;
	int i;

	KUNIT_EXPECT_EQ(test, sgt->orig_nents, DBT_PAGES);
	KUNIT_EXPECT_EQ(test, sgt->nents, DBT_PAGES);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg_dma_address(sg), dbt_dma_addr(i));
		KUNIT_EXPECT_EQ(test, sg_dma_len(sg), PAGE_SIZE);
	}
}

/* Static on both sides: every map and unmap reaches the exporter. */
static void dbt_map_static(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct sg_table *a, *b;

	a = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(a), "%pe", a);
	KUNIT_EXPECT_EQ(test, exp->mapped, 1);
	KUNIT_EXPECT_EQ(test, exp->map_dir, DMA_TO_DEVICE);
	KUNIT_EXPECT_PTR_EQ(test, exp->last_attach, attach);
	dbt_expect_table(test, exp, a);

	/* A second mapping in another direction is a new one. */
	b = dma_buf_map_attachment_unlocked(attach, DMA_FROM_DEVICE);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(b), "%pe", b);
	KUNIT_EXPECT_EQ(test, exp->mapped, 2);
	KUNIT_EXPECT_EQ(test, dbt_live_tables(exp), 2);

	dma_buf_unmap_attachment_unlocked(attach, a, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_TO_DEVICE);
	dma_buf_unmap_attachment_unlocked(attach, b, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 2);
	KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_FROM_DEVICE);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 2);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * Dynamic on both sides, with the lock held by the importer: without
 * CONFIG_DMABUF_MOVE_NOTIFY a mapping pins the buffer.
 */
static void dbt_map_dynamic_locked(struct kunit *test)
{
	bool pins = !IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY);
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);

	dma_resv_lock(dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	KUNIT_EXPECT_EQ(test, exp->mapped, 1);
	KUNIT_EXPECT_EQ(test, exp->pins, pins ? 1 : 0);
	dbt_expect_table(test, exp, sgt);
	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->pins, 0);

	/* A failed mapping leaves no pin behind. */
	exp->map_ret = -EFAULT;
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -EFAULT);
	KUNIT_EXPECT_EQ(test, exp->pins, 0);
	exp->map_ret = 0;

	/* Neither does a failed pin. */
	if (pins) {
		exp->pin_ret = -ENOSPC;
		sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -ENOSPC);
		KUNIT_EXPECT_EQ(test, exp->mapped, 2);
		exp->pin_ret = 0;
	}
	dma_resv_unlock(dmabuf->resv);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* Errors of map_dma_buf reach the importer; NULL becomes -ENOMEM. */
static void dbt_map_errors(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct sg_table *sgt;

	exp->map_ret = -ENOSPC;
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -ENOSPC);

	exp->map_ret = 0;
	exp->map_null = true;
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -ENOMEM);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 0);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * A table without entries is the exporter's business: the importer gets
 * it as it is, and the exporter gets it back.
 */
static void dbt_map_empty_table(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct sg_table *sgt;

	exp->map_empty = true;
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, sgt->nents, 0);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 0);
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->bad_calls, 0);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* dma_buf_map_attachment() without the reservation lock is reported. */
static void dbt_map_unlocked_warns(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct sg_table *sgt;

	dbt_need_lockdep(test);
	sgt = dma_buf_map_attachment(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_GE(test, dbt_case_warns(test), 1);
	dbt_allow_warns(test);
	if (!IS_ERR_OR_NULL(sgt))
		dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	KUNIT_EXPECT_TRUE(test, debug_locks);

	dma_buf_detach(dmabuf, attach);
	dbt_clear_lock_errors(exp);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * cache_sgt_mapping: one mapping per attachment, kept until detach; asking
 * for it in another direction is -EBUSY unless it is bidirectional.
 */
static void dbt_map_cache_sgt(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dbt_importer *imp2 = dbt_importer_new(test, "dbt-imp2");
	struct dma_buf_attachment *attach, *attach2;
	struct dma_buf *dmabuf;
	struct sg_table *sgt, *again;

	exp->ops.cache_sgt_mapping = true;
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, false);
	KUNIT_EXPECT_EQ(test, exp->mapped, 0);

	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	again = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_PTR_EQ(test, again, sgt);
	KUNIT_EXPECT_EQ(test, exp->mapped, 1);

	again = dma_buf_map_attachment_unlocked(attach, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(again), -EBUSY);
	again = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(again), -EBUSY);
	KUNIT_EXPECT_EQ(test, exp->mapped, 1);

	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 0);

	/* A bidirectional cached mapping serves every direction. */
	attach2 = dbt_attach(test, dmabuf, imp2, false);
	sgt = dma_buf_map_attachment_unlocked(attach2, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_map_attachment_unlocked(attach2,
							    DMA_FROM_DEVICE),
			    sgt);
	KUNIT_EXPECT_EQ(test, exp->mapped, 2);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_TO_DEVICE);
	dma_buf_detach(dmabuf, attach2);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 2);
	KUNIT_EXPECT_EQ(test, exp->unmap_dir, DMA_BIDIRECTIONAL);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* A failed mapping is not cached: the next one asks the exporter again. */
static void dbt_map_cache_sgt_error(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;

	exp->ops.cache_sgt_mapping = true;
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, false);

	exp->map_ret = -EIO;
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -EIO);
	exp->map_ret = 0;
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_FROM_DEVICE);
	KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, exp->mapped, 2);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * A static importer's mapping is handed out only once the kernel fences
 * (pending moves) have signaled; a delayed work signals it later.
 */
static void dbt_map_static_waits_kernel_fence(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct dbt_fence *f;
	struct sg_table *sgt;

	f = dbt_fence_add(test, dmabuf->resv, DMA_RESV_USAGE_KERNEL);
	dbt_fence_signal_later(f, 100);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(&f->base),
			      "mapping handed out before the kernel fence");
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* Only kernel fences: implicit sync fences are the importer's business. */
static void dbt_map_static_ignores_write_fence(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct dbt_fence *f;
	struct sg_table *sgt;

	f = dbt_fence_add(test, dmabuf->resv, DMA_RESV_USAGE_WRITE);
	dbt_fence_signal_later(f, 2000);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&f->base));
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* A dynamic importer waits itself: its mapping comes at once. */
static void dbt_map_dynamic_no_wait(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct dbt_fence *f;
	struct sg_table *sgt;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);

	f = dbt_fence_add(test, dmabuf->resv, DMA_RESV_USAGE_KERNEL);
	dbt_fence_signal_later(f, 2000);
	dma_resv_lock(dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(attach, DMA_TO_DEVICE);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&f->base));
	if (!IS_ERR_OR_NULL(sgt))
		dma_buf_unmap_attachment(attach, sgt, DMA_TO_DEVICE);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* The mapping a static importer gets at attach waits as well. */
static void dbt_map_attach_waits_kernel_fence(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct dbt_fence *f;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	f = dbt_fence_add(test, dmabuf->resv, DMA_RESV_USAGE_KERNEL);
	dbt_fence_signal_later(f, 100);
	attach = dbt_attach(test, dmabuf, imp, false);
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(&f->base),
			      "attach mapped before the kernel fence");
	KUNIT_EXPECT_EQ(test, exp->mapped, 1);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* move_notify reaches every dynamic importer, with the lock held. */
static void dbt_map_move_notify(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *dyn[3], *stat;
	struct dma_buf *dmabuf;
	int i;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	for (i = 0; i < ARRAY_SIZE(dyn); i++) {
		char name[16];

		snprintf(name, sizeof(name), "dbt-dyn%d", i);
		dyn[i] = dbt_importer_new(test, name);
		dbt_attach(test, dmabuf, dyn[i], true);
	}
	stat = dbt_importer_new(test, "dbt-static");
	dbt_attach(test, dmabuf, stat, false);

	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_move_notify(dmabuf);
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);
	for (i = 0; i < ARRAY_SIZE(dyn); i++) {
		KUNIT_EXPECT_EQ(test, dyn[i]->moves, 2);
		KUNIT_EXPECT_EQ(test, dyn[i]->lock_errors, 0);
	}
	KUNIT_EXPECT_EQ(test, stat->moves, 0);

	/* A detached importer hears nothing more. */
	dma_buf_detach(dmabuf, dyn[0]->attach);
	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, dyn[0]->moves, 2);
	KUNIT_EXPECT_EQ(test, dyn[1]->moves, 3);
	KUNIT_EXPECT_EQ(test, dyn[2]->moves, 3);

	dma_buf_detach(dmabuf, dyn[1]->attach);
	dma_buf_detach(dmabuf, dyn[2]->attach);
	dma_buf_detach(dmabuf, stat->attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* The exporter must hold the lock for dma_buf_move_notify(). */
static void dbt_map_move_notify_unlocked_warns(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf *dmabuf;

	dbt_need_lockdep(test);
	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	dbt_attach(test, dmabuf, imp, true);

	dma_buf_move_notify(dmabuf);
	KUNIT_EXPECT_GE(test, dbt_case_warns(test), 1);
	dbt_allow_warns(test);
	KUNIT_EXPECT_TRUE(test, debug_locks);

	dma_buf_detach(dmabuf, imp->attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * CONFIG_DMABUF_DEBUG: the importer's page pointers are not the
 * exporter's, the DMA addresses are; the exporter gets its pages back.
 */
static void dbt_map_debug_pages(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct scatterlist *sg;
	struct sg_table *sgt;
	int i;

	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, DBT_PAGES);
	for_each_sgtable_sg(sgt, sg, i) {
		if (IS_ENABLED(CONFIG_DMABUF_DEBUG))
			KUNIT_EXPECT_PTR_NE(test, sg_page(sg), exp->pages[i]);
		else
			KUNIT_EXPECT_PTR_EQ(test, sg_page(sg), exp->pages[i]);
		KUNIT_EXPECT_EQ(test, sg_dma_address(sg), dbt_dma_addr(i));
		KUNIT_EXPECT_EQ(test, sg_dma_len(sg), PAGE_SIZE);
	}
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->bad_calls, 0);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* The same for a mapping cached at attach and undone by detach. */
static void dbt_map_debug_cached(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	struct sg_table *sgt;
	int i;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, false);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_OR_NULL(sgt), "%pe", sgt);
	for_each_sgtable_sg(sgt, sg, i) {
		if (IS_ENABLED(CONFIG_DMABUF_DEBUG))
			KUNIT_EXPECT_PTR_NE(test, sg_page(sg), exp->pages[i]);
		KUNIT_EXPECT_EQ(test, sg_dma_address(sg), dbt_dma_addr(i));
	}
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->unmapped, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* NULL attachment or table: WARN and -EINVAL or nothing. */
static void dbt_map_null_args(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach = dbt_attach(test, dmabuf, imp, false);
	struct sg_table *sgt;

	sgt = dma_buf_map_attachment_unlocked(NULL, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -EINVAL);
	dma_buf_unmap_attachment_unlocked(attach, NULL, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 2);
	dbt_expect_warns(test, 2);
	KUNIT_EXPECT_EQ(test, exp->mapped + exp->unmapped, 0);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static struct kunit_case dbt_map_cases[] = {
	KUNIT_CASE(dbt_map_static),
	KUNIT_CASE(dbt_map_dynamic_locked),
	KUNIT_CASE(dbt_map_errors),
	KUNIT_CASE(dbt_map_empty_table),
	KUNIT_CASE(dbt_map_null_args),
	KUNIT_CASE(dbt_map_unlocked_warns),
	KUNIT_CASE(dbt_map_cache_sgt),
	KUNIT_CASE(dbt_map_cache_sgt_error),
	KUNIT_CASE(dbt_map_static_waits_kernel_fence),
	KUNIT_CASE(dbt_map_static_ignores_write_fence),
	KUNIT_CASE(dbt_map_dynamic_no_wait),
	KUNIT_CASE(dbt_map_attach_waits_kernel_fence),
	KUNIT_CASE(dbt_map_move_notify),
	KUNIT_CASE(dbt_map_move_notify_unlocked_warns),
	KUNIT_CASE(dbt_map_debug_pages),
	KUNIT_CASE(dbt_map_debug_cached),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_map_suite = {
	.name = "dma-buf-map",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_map_cases,
};

kunit_test_suites(&dbt_attach_suite, &dbt_pin_suite, &dbt_map_suite);

MODULE_DESCRIPTION("KUnit tests for dma-buf attachments and mappings");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
