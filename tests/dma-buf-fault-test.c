// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites that need our core, not upstream's: allocation failures
 * injected through the core's allocation points (dma_buf_kunit_kzalloc()
 * and dma_buf_alloc_file()), the size of what it allocates, and misuse
 * our core reports where upstream's BUG()s.
 */
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "dma-buf-test.h"
#include "../dma-buf-internal.h"

/* Allocations seen and the one to fail; the suites run one case at a time. */
static struct {
	int calls;
	int fail_at;	/* 1-based, 0: never */
	int failed;
	int file_calls;
	int file_err;
} dbt_fault;

/* What the core's allocator does when not redirected. */
static void *dbt_zalloc(struct kmem_cache *cache, size_t size, gfp_t gfp)
{
	return cache ? kmem_cache_zalloc(cache, gfp) : kzalloc(size, gfp);
}

static void *dbt_kzalloc_stub(struct kmem_cache *cache, size_t size,
			      gfp_t gfp)
{
	if (++dbt_fault.calls == dbt_fault.fail_at) {
		dbt_fault.failed++;
		return NULL;
	}
	return dbt_zalloc(cache, size, gfp);
}

static struct file *dbt_alloc_file_stub(struct dma_buf *dmabuf, int flags)
{
	dbt_fault.file_calls++;
	return ERR_PTR(dbt_fault.file_err);
}

static void dbt_fault_arm(struct kunit *test, int fail_at)
{
	memset(&dbt_fault, 0, sizeof(dbt_fault));
	dbt_fault.fail_at = fail_at;
	kunit_activate_static_stub(test, dma_buf_kunit_kzalloc, dbt_kzalloc_stub);
}

static void dbt_fault_disarm(struct kunit *test)
{
	kunit_deactivate_static_stub(test, dma_buf_kunit_kzalloc);
}

#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
static struct module *dbt_fake_module(struct kunit *test)
{
	struct module *mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mod);
	strscpy(mod->name, "dbt_fake_owner", sizeof(mod->name));
	mod->state = MODULE_STATE_LIVE;
	atomic_set(&mod->refcnt, 1);
	return mod;
}
#endif

/* Give up on an operation that keeps allocating. */
#define DBT_MAX_ALLOCS 32

/*
 * Fail the first, second, ... allocation of dma_buf_export() until it
 * succeeds: each failure is -ENOMEM, never calls release and keeps no
 * module reference.
 */
static void dbt_fault_export(struct kunit *test, struct dma_resv *resv)
{
	int n;

	for (n = 1; n <= DBT_MAX_ALLOCS; n++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf *dmabuf;
		int refs = 0;

		dbt_fill_info(exp, &info);
		info.resv = resv;
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		info.owner = dbt_fake_module(test);
		refs = module_refcount(info.owner);
#endif
		dbt_fault_arm(test, n);
		dmabuf = dma_buf_export(&info);
		dbt_fault_disarm(test);
		flush_delayed_fput();

		if (!dbt_fault.failed) {
			KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe",
					       dmabuf);
			exp->dmabuf = dmabuf;
			dbt_put_final(exp);
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(dmabuf), -ENOMEM,
				    "allocation %d failed", n);
		if (!IS_ERR(dmabuf)) {
			exp->dmabuf = dmabuf;
			dbt_put_final(exp);
			continue;
		}
		KUNIT_EXPECT_EQ(test, exp->released, 0);
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		KUNIT_EXPECT_EQ(test, module_refcount(info.owner), refs);
#endif
		(void)refs;
	}
	KUNIT_EXPECT_LE(test, n, DBT_MAX_ALLOCS);
	/* The buffer itself comes from dma_buf_cache_zalloc(). */
	KUNIT_EXPECT_GE(test, n, 2);
	kunit_info(test, "%d allocation(s) failed in turn, %s resv\n", n - 1,
		   resv ? "exporter's" : "own");
}

static void dbt_fault_export_kzalloc(struct kunit *test)
{
	dbt_fault_export(test, NULL);
}

/* With the exporter's own reservation object, which must survive. */
static void dbt_fault_export_kzalloc_resv(struct kunit *test)
{
	struct dma_resv *resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);
	dbt_fault_export(test, resv);
	KUNIT_EXPECT_EQ(test, dma_resv_lock(resv, NULL), 0);
	dma_resv_unlock(resv);
	dma_resv_fini(resv);
}

/* The buffer's file cannot be made: that error, nothing kept. */
static void dbt_fault_export_file(struct kunit *test)
{
	static const int errs[] = { -ENFILE, -ENOMEM };
	int i;

	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf *dmabuf;
		int refs = 0;

		dbt_fill_info(exp, &info);
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		info.owner = dbt_fake_module(test);
		refs = module_refcount(info.owner);
#endif
		dbt_fault_arm(test, 0);
		dbt_fault.file_err = errs[i];
		kunit_activate_static_stub(test, dma_buf_alloc_file,
					   dbt_alloc_file_stub);
		dmabuf = dma_buf_export(&info);
		kunit_deactivate_static_stub(test, dma_buf_alloc_file);
		dbt_fault_disarm(test);
		flush_delayed_fput();

		KUNIT_EXPECT_EQ(test, dbt_fault.file_calls, 1);
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dmabuf), errs[i]);
		kunit_info(test, "file allocation failed with %d\n", errs[i]);
		if (!IS_ERR(dmabuf)) {
			exp->dmabuf = dmabuf;
			dbt_put_final(exp);
			continue;
		}
		KUNIT_EXPECT_EQ(test, exp->released, 0);
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		KUNIT_EXPECT_EQ(test, module_refcount(info.owner), refs);
#endif
		(void)refs;
	}
}

/*
 * Every allocation of an attach, in all four exporter/importer kinds,
 * failing in turn: -ENOMEM, the exporter's attach/detach, pin/unpin and
 * map/unmap balanced, no attachment left.
 */
static void dbt_fault_attach(struct kunit *test)
{
	int kind, n;

	for (kind = 0; kind < 4; kind++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		bool dyn_imp = kind & 2;
		struct dbt_importer *imp;
		struct dma_buf *dmabuf;
		char name[16];

		snprintf(name, sizeof(name), "dbt-imp%d", kind);
		imp = dbt_importer_new(test, name);
		if (kind & 1)
			dbt_make_dynamic(exp);
		dmabuf = dbt_export(exp);

		for (n = 1; n <= DBT_MAX_ALLOCS; n++) {
			struct dma_buf_attachment *attach;

			dbt_fault_arm(test, n);
			if (dyn_imp)
				attach = dma_buf_dynamic_attach(dmabuf, imp->dev,
								dbt_dynamic_ops(true),
								imp);
			else
				attach = dma_buf_attach(dmabuf, imp->dev);
			dbt_fault_disarm(test);

			if (!dbt_fault.failed) {
				KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
				dma_buf_detach(dmabuf, attach);
				break;
			}
			KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(attach),
					    -ENOMEM, "kind %d, allocation %d",
					    kind, n);
			if (!IS_ERR(attach))
				dma_buf_detach(dmabuf, attach);
			KUNIT_EXPECT_TRUE(test,
					  list_empty(&dmabuf->attachments));
			KUNIT_EXPECT_EQ(test, exp->mapped, exp->unmapped);
			dbt_expect_balanced(exp);
		}
		KUNIT_EXPECT_LE(test, n, DBT_MAX_ALLOCS);
		KUNIT_EXPECT_GE(test, n, 2);
		kunit_info(test, "%s importer, %s exporter: %d allocation(s) failed in turn\n",
			   dyn_imp ? "dynamic" : "static",
			   kind & 1 ? "dynamic" : "static", n - 1);
		dbt_expect_balanced(exp);
		KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
		dbt_put_final(exp);
	}
}

/*
 * The other calls of the kernel API, failing each allocation they make
 * (most make none): an error or success, and the exporter balanced.
 */
static void dbt_fault_other_calls(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct iosys_map map;
	int n, ret, fd;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, true);

	for (n = 1; n <= DBT_MAX_ALLOCS; n++) {
		dbt_fault_arm(test, n);

		sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
		if (!IS_ERR(sgt))
			dma_buf_unmap_attachment_unlocked(attach, sgt,
							  DMA_TO_DEVICE);

		ret = dma_buf_vmap_unlocked(dmabuf, &map);
		if (!ret)
			dma_buf_vunmap_unlocked(dmabuf, &map);

		ret = dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE);
		if (!ret)
			dma_buf_end_cpu_access(dmabuf, DMA_FROM_DEVICE);

		dma_resv_lock(dmabuf->resv, NULL);
		ret = dma_buf_pin(attach);
		if (!ret)
			dma_buf_unpin(attach);
		dma_buf_move_notify(dmabuf);
		dma_resv_unlock(dmabuf->resv);

		get_dma_buf(dmabuf);
		fd = dma_buf_fd(dmabuf, O_CLOEXEC);
		if (fd >= 0) {
			struct dma_buf *got = dma_buf_get(fd);

			if (!IS_ERR(got))
				dma_buf_put(got);
			close_fd(fd);
		} else {
			dma_buf_put(dmabuf);
		}

		dbt_fault_disarm(test);
		flush_delayed_fput();
		KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
		KUNIT_EXPECT_EQ(test, exp->attached, 1);
		KUNIT_EXPECT_EQ(test, exp->detached, 0);
		KUNIT_EXPECT_EQ(test, exp->pins, 0);
		KUNIT_EXPECT_EQ(test, exp->vmaps, 0);
		KUNIT_EXPECT_EQ(test, dbt_live_tables(exp), 0);
		KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
		KUNIT_EXPECT_EQ(test, exp->bad_calls, 0);
		if (!dbt_fault.failed)
			break;
	}
	KUNIT_EXPECT_LE(test, n, DBT_MAX_ALLOCS);
	kunit_info(test, "map, vmap, CPU access, pin, move_notify, fd: %d allocation(s) failed in turn\n",
		   n - 1);
	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/*
 * An exporter's reservation object right after the memory the core
 * allocates for its buffer, where 6.12's layout puts the core's own: the
 * first export learns how much the core asks for, the second gets a block
 * with the exporter's object just past that.  The core must not take it
 * for its own and finalize it at release (which would drop its fence).
 * The exporter's object shares the block only so that the test can put it
 * there; it goes with the buffer, and the test drops its fence reference.
 */
static struct {
	size_t size;
	void *block;
} dbt_adjacent;

static void *dbt_kzalloc_adjacent(struct kmem_cache *cache, size_t size,
				  gfp_t gfp)
{
	void *block = dbt_adjacent.block;

	dbt_adjacent.size = size;
	if (!block)
		return dbt_zalloc(cache, size, gfp);
	dbt_adjacent.block = NULL;
	return block;
}

static void dbt_fault_resv_adjacent(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_resv probe, *resv;
	struct dbt_fence *f;
	unsigned int refs;
	void *block;

	memset(&dbt_adjacent, 0, sizeof(dbt_adjacent));
	kunit_activate_static_stub(test, dma_buf_kunit_kzalloc,
				   dbt_kzalloc_adjacent);
	dma_resv_init(&probe);
	dbt_fill_info(exp, &info);
	info.resv = &probe;
	exp->dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(exp->dmabuf));
	dbt_put_final(exp);
	dma_resv_fini(&probe);
	KUNIT_ASSERT_GE(test, dbt_adjacent.size, sizeof(struct dma_buf));

	block = kzalloc(dbt_adjacent.size + sizeof(*resv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, block);
	resv = block + dbt_adjacent.size;
	dma_resv_init(resv);
	dbt_adjacent.block = block;
	exp->released = 0;
	info.resv = resv;
	exp->dmabuf = dma_buf_export(&info);
	kunit_deactivate_static_stub(test, dma_buf_kunit_kzalloc);
	KUNIT_ASSERT_FALSE(test, IS_ERR(exp->dmabuf));
	KUNIT_ASSERT_PTR_EQ(test, (void *)exp->dmabuf, block);
	KUNIT_EXPECT_PTR_EQ(test, exp->dmabuf->resv, resv);

	f = dbt_fence_add(test, resv, DMA_RESV_USAGE_WRITE);
	refs = kref_read(&f->base.refcount);
	dbt_put_final(exp);
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&f->base.refcount), refs,
			    "the release finalized the exporter's object");
	if (kref_read(&f->base.refcount) == refs)
		dma_fence_put(&f->base);	/* the freed object's reference */
}

/*
 * What a slab cache made for @size bytes hands out: @size rounded up to
 * the cache's alignment, the architecture's minimum and a pointer.
 */
static size_t dbt_slab_object_size(size_t size)
{
	size_t align = max_t(size_t, __alignof__(struct dma_buf_core),
			     ARCH_SLAB_MINALIGN);

	return ALIGN(size, ALIGN(align, sizeof(void *)));
}

/*
 * A buffer takes its own size, not the next kmalloc bucket: 6.12's buffer
 * with its reservation object fills the 256-byte bucket on 64-bit, and our
 * private state on top of it took the 512-byte one.
 */
static void dbt_alloc_exact_size(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	size_t with_resv = sizeof(struct dma_buf_core);
	size_t without = offsetof(struct dma_buf_core, resv);
	struct dma_resv resv;

	dbt_fill_info(exp, &info);
	exp->dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(exp->dmabuf));
	KUNIT_EXPECT_GE(test, ksize(exp->dmabuf), with_resv);
	KUNIT_EXPECT_LE(test, ksize(exp->dmabuf),
			dbt_slab_object_size(with_resv));
	dbt_put_final(exp);

	dma_resv_init(&resv);
	info.resv = &resv;
	exp->released = 0;
	exp->dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(exp->dmabuf));
	KUNIT_EXPECT_GE(test, ksize(exp->dmabuf), without);
	KUNIT_EXPECT_LE(test, ksize(exp->dmabuf),
			dbt_slab_object_size(without));
	dbt_put_final(exp);
	dma_resv_fini(&resv);
}

static struct kunit_case dbt_fault_cases[] = {
	KUNIT_CASE(dbt_fault_export_kzalloc),
	KUNIT_CASE(dbt_fault_export_kzalloc_resv),
	KUNIT_CASE(dbt_fault_export_file),
	KUNIT_CASE(dbt_fault_attach),
	KUNIT_CASE(dbt_fault_other_calls),
	KUNIT_CASE(dbt_fault_resv_adjacent),
	KUNIT_CASE(dbt_alloc_exact_size),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_fault_suite = {
	.name = "dma-buf-fault",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_fault_cases,
};

/* An address that is not the mapped one WARNs and unmaps nothing. */
static void dbt_misuse_vunmap_wrong_address(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map, wrong;

	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	iosys_map_set_vaddr(&wrong, (u8 *)exp->vbuf + PAGE_SIZE);
	dma_buf_vunmap_unlocked(dmabuf, &wrong);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 0);
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 1);

	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* Nothing is mapped: a vunmap WARNs and reaches nobody. */
static void dbt_misuse_vunmap_unmapped(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map;

	iosys_map_set_vaddr(&map, exp->vbuf);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 0);
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	dbt_put_final(exp);
}

/*
 * The last reference goes while still vmapped (6.12 BUG()s): reported,
 * and the buffer is kept, never released, because the mapping points
 * into the exporter's memory and will still be handed back.  KASAN sees
 * whether the vunmaps below touch freed memory.
 */
static void dbt_misuse_release_vmapped(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map;

	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 0);
	if (exp->released)
		return;	/* the buffer is gone: nothing may touch it */

	dma_buf_vunmap_unlocked(dmabuf, &map);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->vmaps, 0);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
}

/*
 * The last reference goes while poll callbacks are armed, which a broken
 * file reference count allows (6.12 BUG()s): reported, and the callbacks
 * are taken off the fence before the buffer is freed, so that signaling
 * it later calls nothing on freed memory.
 */
static void dbt_misuse_release_poll_armed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct file *file = dmabuf->file;
	struct dbt_fence *f;
	bool armed;

	f = dbt_fence_add(test, dmabuf->resv, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, (__force unsigned int)file->f_op->poll(file, NULL),
			0u);
	KUNIT_ASSERT_EQ(test, file_count(file), 3);
	/* Steal the references of the two armed callbacks. */
	fput(file);
	fput(file);
	dbt_put_final(exp);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);

	spin_lock_irq(&f->lock);
	armed = !list_empty(&f->base.cb_list);
	if (armed)	/* they point into the freed buffer: never call them */
		INIT_LIST_HEAD(&f->base.cb_list);
	spin_unlock_irq(&f->lock);
	KUNIT_EXPECT_FALSE_MSG(test, armed,
			       "the freed buffer's callbacks are still on the fence");
}

/*
 * The last reference goes while a device is still attached (6.12 WARNs and
 * frees, so the importer's detach touches freed memory): reported, and the
 * buffer is kept, never released, so that the importer's later detach
 * finds it alive.  KASAN sees whether it does.  Like the vmapped case this
 * leaks the buffer and its exporter's module reference for good.
 */
static void dbt_misuse_release_attached(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;

	attach = dbt_attach(test, dmabuf, imp, false);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	if (exp->released) {
		kfree(attach);	/* the buffer is gone: nothing may touch it */
		return;
	}
	KUNIT_EXPECT_NULL(test, dmabuf->file);

	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->detached, 1);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
}

/*
 * Pinning is for dynamic importers.  A static importer's pin and unpin
 * are reported, and still reach the exporter, whose answer is returned:
 * 6.12 does the same, and importers that misuse it rely on the pin.
 */
static void dbt_misuse_pin_static(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "dbt-imp");
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;

	dbt_make_dynamic(exp);
	dmabuf = dbt_export(exp);
	attach = dbt_attach(test, dmabuf, imp, false);
	KUNIT_EXPECT_EQ(test, exp->pins, 1);

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), 0);
	KUNIT_EXPECT_EQ(test, exp->pins, 2);
	exp->pin_ret = -EBUSY;
	KUNIT_EXPECT_EQ(test, dma_buf_pin(attach), -EBUSY);
	exp->pin_ret = 0;
	dma_buf_unpin(attach);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 3);
	dbt_expect_warns(test, 3);
	KUNIT_EXPECT_EQ(test, exp->pinned, 3);
	KUNIT_EXPECT_EQ(test, exp->unpinned, 1);
	KUNIT_EXPECT_EQ(test, exp->pins, 1);

	dma_buf_detach(dmabuf, attach);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* Upstream dereferences the NULL buffer after its WARN; ours returns. */
static void dbt_misuse_end_cpu_null(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(NULL, DMA_TO_DEVICE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
}

static struct kunit_case dbt_misuse_cases[] = {
	KUNIT_CASE(dbt_misuse_vunmap_wrong_address),
	KUNIT_CASE(dbt_misuse_vunmap_unmapped),
	KUNIT_CASE(dbt_misuse_release_vmapped),
	KUNIT_CASE(dbt_misuse_release_poll_armed),
	KUNIT_CASE(dbt_misuse_release_attached),
	KUNIT_CASE(dbt_misuse_pin_static),
	KUNIT_CASE(dbt_misuse_end_cpu_null),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_misuse_suite = {
	.name = "dma-buf-misuse",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_misuse_cases,
};

kunit_test_suites(&dbt_fault_suite, &dbt_misuse_suite);

MODULE_DESCRIPTION("KUnit fault injection tests for our dma-buf core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
