// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf KUnit kit (include/kunit/dma-buf.h): a fake exporter, fake
 * importers, a contract checker for any exporter's buffers, and the
 * in-kernel creation of udmabuf and dma-heap buffers through their
 * character devices.  Public dma-buf and dma-resv API only.
 */

#include <kunit/device.h>
#include <kunit/dma-buf.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/mount.h>
#include <linux/scatterlist.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/dma-heap.h>
#include <uapi/linux/fcntl.h>
#include <uapi/linux/udmabuf.h>

/* ---- the 6.12 locking convention ---- */

static const char * const kit_op_names[KUNIT_DMA_BUF_NR_OPS] = {
	[KUNIT_DMA_BUF_OP_ATTACH] = "attach",
	[KUNIT_DMA_BUF_OP_DETACH] = "detach",
	[KUNIT_DMA_BUF_OP_PIN] = "pin",
	[KUNIT_DMA_BUF_OP_UNPIN] = "unpin",
	[KUNIT_DMA_BUF_OP_MAP] = "map_dma_buf",
	[KUNIT_DMA_BUF_OP_UNMAP] = "unmap_dma_buf",
	[KUNIT_DMA_BUF_OP_RELEASE] = "release",
	[KUNIT_DMA_BUF_OP_BEGIN_CPU] = "begin_cpu_access",
	[KUNIT_DMA_BUF_OP_END_CPU] = "end_cpu_access",
	[KUNIT_DMA_BUF_OP_MMAP] = "mmap",
	[KUNIT_DMA_BUF_OP_VMAP] = "vmap",
	[KUNIT_DMA_BUF_OP_VUNMAP] = "vunmap",
};

/**
 * kunit_dma_buf_op_name() - the name of an exporter callback
 * @op: the callback
 *
 * Context: any.
 * Return: the &struct dma_buf_ops member's name, "?" for an unknown @op.
 */
const char *kunit_dma_buf_op_name(enum kunit_dma_buf_op op)
{
	if ((unsigned int)op >= KUNIT_DMA_BUF_NR_OPS)
		return "?";
	return kit_op_names[op];
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_op_name);

/**
 * kunit_dma_buf_op_locked() - whether a callback runs under the resv lock
 * @op: the callback
 *
 * In 6.12 the core calls pin, unpin, map_dma_buf, unmap_dma_buf, vmap and
 * vunmap with the buffer's reservation lock held, and attach, detach,
 * release, begin_cpu_access, end_cpu_access and mmap without it.  The
 * kit's exporter counts a callback that sees otherwise in
 * &kunit_dma_buf_exporter.lock_errors.
 *
 * Context: any.
 * Return: true if the core holds the lock around @op.
 */
bool kunit_dma_buf_op_locked(enum kunit_dma_buf_op op)
{
	switch (op) {
	case KUNIT_DMA_BUF_OP_PIN:
	case KUNIT_DMA_BUF_OP_UNPIN:
	case KUNIT_DMA_BUF_OP_MAP:
	case KUNIT_DMA_BUF_OP_UNMAP:
	case KUNIT_DMA_BUF_OP_VMAP:
	case KUNIT_DMA_BUF_OP_VUNMAP:
		return true;
	default:
		return false;
	}
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_op_locked);

/* Whether lockdep can say who holds a lock. */
static bool kit_lockdep_on(void)
{
	return IS_ENABLED(CONFIG_LOCKDEP) && debug_locks;
}

/**
 * kunit_dma_buf_resv_held() - whether a reservation lock is held
 * @resv: the reservation object
 *
 * With lockdep running this is exact: whether the calling thread holds
 * the lock.  Without it, the kit can only see whether anybody holds it,
 * which is the same thing while a single thread uses the buffer.
 *
 * Context: any.
 * Return: true if the lock is held.
 */
bool kunit_dma_buf_resv_held(struct dma_resv *resv)
{
	if (kit_lockdep_on())
		return lockdep_is_held(&resv->lock.base);
	return ww_mutex_is_locked(&resv->lock);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_resv_held);

/* ---- the exporter ---- */

struct kit_table {
	struct sg_table sgt;
	struct list_head node;
};

/* A buffer exported through the kit, alive until its release callback. */
struct kit_buf {
	struct dma_buf *dmabuf;
	struct list_head node;
};

static void kit_exporter_put(struct kunit_dma_buf_exporter *exp);

/**
 * kunit_dma_buf_exporter_of() - the kit exporter behind a buffer
 * @dmabuf: a buffer exported with an exporter's &kunit_dma_buf_exporter.ops
 *
 * Context: any.
 * Return: the exporter.  Only valid for the kit's own buffers.
 */
struct kunit_dma_buf_exporter *kunit_dma_buf_exporter_of(struct dma_buf *dmabuf)
{
	return container_of(dmabuf->ops, struct kunit_dma_buf_exporter, ops);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_exporter_of);

static void kit_lock_check(struct kunit_dma_buf_exporter *exp,
			   struct dma_buf *dmabuf, enum kunit_dma_buf_op op)
{
	bool held = kunit_dma_buf_resv_held(dmabuf->resv);

	atomic_inc(&exp->calls[op]);
	if (kunit_dma_buf_op_locked(op) ? !held : held && kit_lockdep_on())
		atomic_inc(&exp->lock_errors[op]);
}

static int kit_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_ATTACH);
	exp->last_attach = attach;
	if (attach->dmabuf != dmabuf)
		atomic_inc(&exp->bad_calls);
	exp->attach_dev = attach->dev;
	exp->attach_importer_ops = attach->importer_ops;
	exp->attach_importer_priv = attach->importer_priv;
	exp->attach_p2p = attach->peer2peer;
	if (exp->fail[KUNIT_DMA_BUF_OP_ATTACH])
		return exp->fail[KUNIT_DMA_BUF_OP_ATTACH];
	if (exp->clear_p2p)
		attach->peer2peer = false;
	attach->priv = exp;
	atomic_inc(&exp->attachments);
	return 0;
}

static void kit_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_DETACH);
	exp->last_attach = attach;
	/* attach() succeeded for every attachment that gets here */
	if (attach->priv != exp)
		atomic_inc(&exp->bad_calls);
	else
		atomic_dec(&exp->attachments);
	exp->live_at_detach = atomic_read(&exp->live_tables);
	exp->pins_at_detach = atomic_read(&exp->pins);
}

static int kit_pin(struct dma_buf_attachment *attach)
{
	struct kunit_dma_buf_exporter *exp =
		kunit_dma_buf_exporter_of(attach->dmabuf);

	kit_lock_check(exp, attach->dmabuf, KUNIT_DMA_BUF_OP_PIN);
	if (exp->fail[KUNIT_DMA_BUF_OP_PIN])
		return exp->fail[KUNIT_DMA_BUF_OP_PIN];
	atomic_inc(&exp->pins);
	return 0;
}

static void kit_unpin(struct dma_buf_attachment *attach)
{
	struct kunit_dma_buf_exporter *exp =
		kunit_dma_buf_exporter_of(attach->dmabuf);

	kit_lock_check(exp, attach->dmabuf, KUNIT_DMA_BUF_OP_UNPIN);
	if (atomic_dec_return(&exp->pins) < 0) {
		atomic_inc(&exp->pins);
		atomic_inc(&exp->bad_calls);
	}
}

static void kit_fill_table(struct kunit_dma_buf_exporter *exp,
			   struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		sg_set_page(sg, exp->pages[i], PAGE_SIZE, 0);
		sg_dma_address(sg) = kunit_dma_buf_dma_addr(i);
		sg_dma_len(sg) = PAGE_SIZE;
	}
	sgt->nents = sgt->orig_nents;
}

static struct sg_table *kit_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	struct kunit_dma_buf_exporter *exp =
		kunit_dma_buf_exporter_of(attach->dmabuf);
	struct kit_table *t;

	kit_lock_check(exp, attach->dmabuf, KUNIT_DMA_BUF_OP_MAP);
	exp->map_dir = dir;
	exp->last_attach = attach;
	if (exp->map_null)
		return NULL;
	if (exp->fail[KUNIT_DMA_BUF_OP_MAP])
		return ERR_PTR(exp->fail[KUNIT_DMA_BUF_OP_MAP]);
	if (exp->shared) {
		atomic_inc(&exp->live_tables);
		return exp->shared;
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	if (!exp->map_empty) {
		if (sg_alloc_table(&t->sgt, exp->nr_pages, GFP_KERNEL)) {
			kfree(t);
			return ERR_PTR(-ENOMEM);
		}
		kit_fill_table(exp, &t->sgt);
	}
	spin_lock(&exp->tables_lock);
	list_add(&t->node, &exp->tables);
	spin_unlock(&exp->tables_lock);
	atomic_inc(&exp->live_tables);
	return &t->sgt;
}

static struct kit_table *kit_take_table(struct kunit_dma_buf_exporter *exp,
					struct sg_table *sgt)
{
	struct kit_table *t, *found = NULL;

	spin_lock(&exp->tables_lock);
	list_for_each_entry(t, &exp->tables, node) {
		if (&t->sgt == sgt) {
			list_del(&t->node);
			found = t;
			break;
		}
	}
	spin_unlock(&exp->tables_lock);
	return found;
}

static void kit_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		      enum dma_data_direction dir)
{
	struct kunit_dma_buf_exporter *exp =
		kunit_dma_buf_exporter_of(attach->dmabuf);
	struct scatterlist *sg;
	struct kit_table *t;
	unsigned int i;

	kit_lock_check(exp, attach->dmabuf, KUNIT_DMA_BUF_OP_UNMAP);
	exp->unmap_dir = dir;
	if (exp->shared && sgt == exp->shared) {
		atomic_dec(&exp->live_tables);
		return;
	}
	t = kit_take_table(exp, sgt);
	if (!t) {
		atomic_inc(&exp->bad_calls);
		return;
	}
	atomic_dec(&exp->live_tables);
	/* The exporter must get its own page pointers back. */
	for_each_sgtable_sg(sgt, sg, i)
		if (sg_page(sg) != exp->pages[i])
			atomic_inc(&exp->bad_calls);
	sg_free_table(&t->sgt);
	kfree(t);
}

static void kit_release(struct dma_buf *dmabuf)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	struct kit_buf *b, *found = NULL;

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_RELEASE);
	atomic_inc(&exp->released);
	spin_lock(&exp->tables_lock);
	list_for_each_entry(b, &exp->bufs, node) {
		if (b->dmabuf == dmabuf) {
			list_del(&b->node);
			found = b;
			break;
		}
	}
	spin_unlock(&exp->tables_lock);
	/* a buffer exported without the kit holds no reference */
	if (!found)
		return;
	kfree(found);
	kit_exporter_put(exp);
}

static int kit_begin_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_BEGIN_CPU);
	exp->begin_dir = dir;
	return exp->fail[KUNIT_DMA_BUF_OP_BEGIN_CPU];
}

static int kit_end_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_END_CPU);
	exp->end_dir = dir;
	return exp->fail[KUNIT_DMA_BUF_OP_END_CPU];
}

static int kit_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);
	unsigned long addr, i = vma->vm_pgoff;
	int ret;

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_MMAP);
	exp->mmap_vma = vma;
	exp->mmap_pgoff = vma->vm_pgoff;
	if (exp->fail[KUNIT_DMA_BUF_OP_MMAP] || exp->mmap_record_only)
		return exp->fail[KUNIT_DMA_BUF_OP_MMAP];

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		/* the core let a range outside the buffer through */
		if (i >= exp->nr_pages)
			return -EIO;
		ret = vm_insert_page(vma, addr, exp->pages[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int kit_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_VMAP);
	if (exp->fail[KUNIT_DMA_BUF_OP_VMAP])
		return exp->fail[KUNIT_DMA_BUF_OP_VMAP];
	if (exp->vmap_no_addr)
		return 0;
	iosys_map_set_vaddr(map, exp->vaddr);
	atomic_inc(&exp->vmaps);
	return 0;
}

static void kit_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct kunit_dma_buf_exporter *exp = kunit_dma_buf_exporter_of(dmabuf);

	kit_lock_check(exp, dmabuf, KUNIT_DMA_BUF_OP_VUNMAP);
	exp->vunmap_map = map;
	if (map->is_iomem || map->vaddr != exp->vaddr ||
	    atomic_dec_return(&exp->vmaps) < 0) {
		atomic_inc(&exp->bad_calls);
		if (atomic_read(&exp->vmaps) < 0)
			atomic_inc(&exp->vmaps);
	}
}

const struct dma_buf_ops kunit_dma_buf_exporter_ops = {
	.attach = kit_attach,
	.detach = kit_detach,
	.pin = kit_pin,
	.unpin = kit_unpin,
	.map_dma_buf = kit_map,
	.unmap_dma_buf = kit_unmap,
	.release = kit_release,
	.begin_cpu_access = kit_begin_cpu,
	.end_cpu_access = kit_end_cpu,
	.mmap = kit_mmap,
	.vmap = kit_vmap,
	.vunmap = kit_vunmap,
};
EXPORT_SYMBOL_GPL(kunit_dma_buf_exporter_ops);

static void kit_exporter_put(struct kunit_dma_buf_exporter *exp)
{
	struct kit_table *t, *next;
	unsigned int i;

	if (!refcount_dec_and_test(&exp->refs))
		return;
	list_for_each_entry_safe(t, next, &exp->tables, node) {
		sg_free_table(&t->sgt);
		kfree(t);
	}
	if (exp->shared) {
		sg_free_table(exp->shared);
		kfree(exp->shared);
	}
	if (exp->vaddr)
		vunmap(exp->vaddr);
	for (i = 0; i < exp->nr_pages; i++)
		if (exp->pages[i])
			__free_page(exp->pages[i]);
	kfree(exp->pages);
	kfree(exp);
}

/*
 * At the end of the test.  A buffer still alive keeps the exporter until
 * its release, so that its callbacks never run on freed memory.
 */
static void kit_exporter_cleanup(void *data)
{
	struct kunit_dma_buf_exporter *exp = data;
	struct kit_buf *b;
	int alive = 0;

	flush_delayed_fput();
	rcu_barrier();
	flush_delayed_fput();
	spin_lock(&exp->tables_lock);
	list_for_each_entry(b, &exp->bufs, node)
		alive++;
	spin_unlock(&exp->tables_lock);
	if (alive)
		KUNIT_FAIL(exp->test,
			   "%d buffer(s) of exporter %s still alive at the end of the test",
			   alive, exp->name);
	kit_exporter_put(exp);
}

/**
 * kunit_dma_buf_exporter_create() - a fake exporter for the running test
 * @test: the running test
 * @cfg: how to build it, or NULL for a static exporter of
 *	%KUNIT_DMA_BUF_DEFAULT_PAGES zeroed pages, exported O_RDWR
 *
 * The exporter has every optional callback (pin and unpin only when
 * @cfg asks for a dynamic one), counts each call, checks the reservation
 * lock's state in each against the 6.12 convention and can be told to
 * fail any callback that returns an error.  Its map hands out a fresh
 * sg_table with one entry per page and made-up DMA addresses
 * (kunit_dma_buf_dma_addr()), vmap the kernel mapping of the pages and
 * mmap inserts the pages themselves, so all three show the same memory.
 *
 * When the test ends, a buffer the kit exported that is still alive fails
 * the test; the exporter is freed once the test has ended and all those
 * buffers are released.
 *
 * Context: process context, the test's own thread (asserts on failure).
 * Return: the exporter.
 */
struct kunit_dma_buf_exporter *
kunit_dma_buf_exporter_create(struct kunit *test,
			      const struct kunit_dma_buf_exporter_config *cfg)
{
	static const struct kunit_dma_buf_exporter_config defaults;
	struct kunit_dma_buf_exporter *exp;
	struct page **pages;
	unsigned int i;

	if (!cfg)
		cfg = &defaults;
	KUNIT_ASSERT_TRUE_MSG(test, PAGE_ALIGNED(cfg->size),
			      "exporter size %zu is not a multiple of PAGE_SIZE",
			      cfg->size);
	exp = kzalloc(sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);
	exp->test = test;
	exp->size = cfg->size ?: KUNIT_DMA_BUF_DEFAULT_PAGES * PAGE_SIZE;
	exp->nr_pages = exp->size >> PAGE_SHIFT;
	exp->read_only = cfg->read_only;
	exp->name = cfg->name ?: "kunit-dma-buf";
	exp->resv = cfg->resv;
	spin_lock_init(&exp->tables_lock);
	INIT_LIST_HEAD(&exp->tables);
	INIT_LIST_HEAD(&exp->bufs);
	refcount_set(&exp->refs, 1);
	exp->ops = kunit_dma_buf_exporter_ops;
	exp->ops.cache_sgt_mapping = cfg->cache_sgt_mapping;
	if (!cfg->dynamic) {
		exp->ops.pin = NULL;
		exp->ops.unpin = NULL;
	}
	pages = kcalloc(exp->nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		kfree(exp);
		KUNIT_ASSERT_NOT_NULL(test, pages);
	}
	exp->pages = pages;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test,
							   kit_exporter_cleanup,
							   exp));
	for (i = 0; i < exp->nr_pages; i++) {
		exp->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		KUNIT_ASSERT_NOT_NULL(test, exp->pages[i]);
	}
	exp->vaddr = vmap(exp->pages, exp->nr_pages, VM_MAP, PAGE_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp->vaddr);
	if (cfg->shared_sgt) {
		exp->shared = kzalloc(sizeof(*exp->shared), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, exp->shared);
		KUNIT_ASSERT_EQ(test, 0, sg_alloc_table(exp->shared,
							exp->nr_pages,
							GFP_KERNEL));
		kit_fill_table(exp, exp->shared);
	}
	return exp;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_exporter_create);

/**
 * kunit_dma_buf_exporter_fail() - make a callback fail
 * @exp: the exporter
 * @op: the callback; one that returns nothing ignores this
 * @err: the negative errno it returns from now on, or 0 to let it work
 *
 * Context: between calls into the exporter.
 */
void kunit_dma_buf_exporter_fail(struct kunit_dma_buf_exporter *exp,
				 enum kunit_dma_buf_op op, int err)
{
	if ((unsigned int)op < KUNIT_DMA_BUF_NR_OPS)
		exp->fail[op] = err;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_exporter_fail);

/**
 * kunit_dma_buf_fill_info() - describe one of the exporter's buffers
 * @exp: the exporter
 * @info: export information, as DEFINE_DMA_BUF_EXPORT_INFO() made it
 *
 * Sets ops, size, flags, priv (the exporter), exp_name, owner and resv.
 * A test may change any of them before passing @info to
 * kunit_dma_buf_try_export(); the kit counts the buffer only if ops
 * stays &kunit_dma_buf_exporter.ops.
 *
 * Context: any.
 */
void kunit_dma_buf_fill_info(struct kunit_dma_buf_exporter *exp,
			     struct dma_buf_export_info *info)
{
	info->ops = &exp->ops;
	info->size = exp->size;
	info->flags = exp->read_only ? O_RDONLY : O_RDWR;
	info->priv = exp;
	info->exp_name = exp->name;
	info->owner = THIS_MODULE;
	info->resv = exp->resv;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_fill_info);

/**
 * kunit_dma_buf_try_export() - export a buffer, without asserting
 * @exp: the exporter
 * @info: export information from kunit_dma_buf_fill_info(), or NULL for
 *	the exporter's own
 *
 * Safe from any kernel thread of the test.  The caller owns the returned
 * reference and drops it with dma_buf_put().
 *
 * Context: process context.
 * Return: the buffer, or what dma_buf_export() returned on failure.
 */
struct dma_buf *kunit_dma_buf_try_export(struct kunit_dma_buf_exporter *exp,
					 struct dma_buf_export_info *info)
{
	DEFINE_DMA_BUF_EXPORT_INFO(own);
	struct kit_buf *b = NULL;
	struct dma_buf *dmabuf;

	if (!info) {
		kunit_dma_buf_fill_info(exp, &own);
		info = &own;
	}
	if (info->ops == &exp->ops) {
		b = kzalloc(sizeof(*b), GFP_KERNEL);
		if (!b)
			return ERR_PTR(-ENOMEM);
	}
	dmabuf = dma_buf_export(info);
	if (IS_ERR(dmabuf) || !b) {
		kfree(b);
		return dmabuf;
	}
	b->dmabuf = dmabuf;
	refcount_inc(&exp->refs);
	spin_lock(&exp->tables_lock);
	list_add(&b->node, &exp->bufs);
	spin_unlock(&exp->tables_lock);
	atomic_inc(&exp->exported);
	return dmabuf;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_try_export);

/**
 * kunit_dma_buf_export() - export a buffer, asserting success
 * @exp: the exporter
 *
 * The test owns the returned reference and drops it with dma_buf_put() or
 * kunit_dma_buf_put_final().  Sets &kunit_dma_buf_exporter.dmabuf.
 *
 * Context: process context, the test's own thread.
 * Return: the buffer.
 */
struct dma_buf *kunit_dma_buf_export(struct kunit_dma_buf_exporter *exp)
{
	struct dma_buf *dmabuf = kunit_dma_buf_try_export(exp, NULL);

	KUNIT_ASSERT_FALSE_MSG(exp->test, IS_ERR(dmabuf), "export: %pe",
			       dmabuf);
	exp->dmabuf = dmabuf;
	return dmabuf;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_export);

/**
 * kunit_dma_buf_put_final() - drop the last reference and see the release
 * @exp: the exporter
 * @dmabuf: one of its buffers, of which the caller holds the last reference
 *
 * Expects exactly one release callback to run, after the deferred file
 * release has been flushed.  Clears &kunit_dma_buf_exporter.dmabuf if it
 * was @dmabuf.
 *
 * Context: process context, the test's own thread; no lock held.
 */
void kunit_dma_buf_put_final(struct kunit_dma_buf_exporter *exp,
			     struct dma_buf *dmabuf)
{
	int before = atomic_read(&exp->released);

	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ_MSG(exp->test, atomic_read(&exp->released), before + 1,
			    "the last dma_buf_put() did not release the buffer");
	if (exp->dmabuf == dmabuf)
		exp->dmabuf = NULL;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_put_final);

/**
 * kunit_dma_buf_lock_errors() - callbacks that saw the wrong lock state
 * @exp: the exporter
 *
 * Context: any.
 * Return: the sum of &kunit_dma_buf_exporter.lock_errors.
 */
int kunit_dma_buf_lock_errors(struct kunit_dma_buf_exporter *exp)
{
	int op, n = 0;

	for (op = 0; op < KUNIT_DMA_BUF_NR_OPS; op++)
		n += atomic_read(&exp->lock_errors[op]);
	return n;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_lock_errors);

/**
 * kunit_dma_buf_expect_balanced() - everything given out came back
 * @exp: the exporter
 *
 * Expects no attachment, pin, vmap or sg_table still held, no callback
 * with the wrong lock state (each is named) and no call with arguments
 * the exporter never handed out.
 *
 * Context: the test's own thread, between calls into the exporter.
 */
void kunit_dma_buf_expect_balanced(struct kunit_dma_buf_exporter *exp)
{
	struct kunit *test = exp->test;
	int op;

	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->attachments), 0,
			    "attachments not detached");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->pins), 0, "pins held");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->vmaps), 0, "vmaps held");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->live_tables), 0,
			    "sg_tables not given back");
	for (op = 0; op < KUNIT_DMA_BUF_NR_OPS; op++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->lock_errors[op]), 0,
				    "%s called with the reservation lock %s",
				    kunit_dma_buf_op_name(op),
				    kunit_dma_buf_op_locked(op) ? "not held" : "held");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&exp->bad_calls), 0,
			    "calls with something the exporter never handed out");
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_expect_balanced);

/* ---- importers ---- */

/**
 * kunit_dma_buf_device() - a device for an importer
 * @test: the running test
 * @name: the device's name, unique among the test's devices
 *
 * A KUnit device (unregistered when the test ends) with a 64-bit DMA mask
 * where the platform has DMA, so that real exporters can map for it.
 *
 * Context: process context, the test's own thread (asserts on failure).
 * Return: the device.
 */
struct device *kunit_dma_buf_device(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dev), "device %s: %pe", name, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	/* Without DMA (UML without emulation) this fails; mapping will too. */
	if (dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)))
		dev->dma_mask = NULL;
	return dev;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_device);

static void kit_move_notify(struct dma_buf_attachment *attach)
{
	struct kunit_dma_buf_importer *imp = attach->importer_priv;

	atomic_inc(&imp->moves);
	imp->last_move = attach;
	if (!kunit_dma_buf_resv_held(attach->dmabuf->resv))
		atomic_inc(&imp->lock_errors);
	if (!atomic_read(&imp->attached) || attach->dmabuf != imp->dmabuf)
		atomic_inc(&imp->bad_moves);
	if (imp->on_move)
		imp->on_move(imp, attach);
}

/**
 * kunit_dma_buf_importer_create() - a fake importer for the running test
 * @test: the running test
 * @name: the name of its device (kunit_dma_buf_device())
 *
 * Context: process context, the test's own thread (asserts on failure).
 * Return: the importer; freed when the test ends.
 */
struct kunit_dma_buf_importer *
kunit_dma_buf_importer_create(struct kunit *test, const char *name)
{
	struct kunit_dma_buf_importer *imp;

	imp = kunit_kzalloc(test, sizeof(*imp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, imp);
	imp->test = test;
	imp->dev = kunit_dma_buf_device(test, name);
	imp->ops.allow_peer2peer = true;
	imp->ops.move_notify = kit_move_notify;
	return imp;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_importer_create);

static void kit_importer_cleanup(void *data)
{
	struct kunit_dma_buf_importer *imp = data;

	if (!imp->attach)
		return;
	dma_buf_detach(imp->dmabuf, imp->attach);
	imp->attach = NULL;
	atomic_set(&imp->attached, 0);
}

/**
 * kunit_dma_buf_importer_try_attach() - attach, without asserting
 * @imp: the importer, not attached
 * @dmabuf: the buffer
 * @dynamic: attach with &kunit_dma_buf_importer.ops (a dynamic importer)
 *	rather than as a static importer
 *
 * Safe from any kernel thread of the test.  The attachment is detached
 * when the test ends unless kunit_dma_buf_importer_detach() did it
 * before; never pass it to dma_buf_detach() yourself.
 *
 * Context: process context, the reservation lock not held.
 * Return: the attachment, -EBUSY if @imp is attached already, or what the
 * core returned.
 */
struct dma_buf_attachment *
kunit_dma_buf_importer_try_attach(struct kunit_dma_buf_importer *imp,
				  struct dma_buf *dmabuf, bool dynamic)
{
	struct dma_buf_attachment *attach;

	if (atomic_cmpxchg(&imp->attached, 0, 1))
		return ERR_PTR(-EBUSY);
	imp->dmabuf = dmabuf;
	if (dynamic)
		attach = dma_buf_dynamic_attach(dmabuf, imp->dev, &imp->ops, imp);
	else
		attach = dma_buf_attach(dmabuf, imp->dev);
	if (IS_ERR(attach)) {
		atomic_set(&imp->attached, 0);
		return attach;
	}
	imp->attach = attach;
	imp->dynamic = dynamic;
	if (kunit_add_action_or_reset(imp->test, kit_importer_cleanup, imp))
		return ERR_PTR(-ENOMEM);
	return attach;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_importer_try_attach);

/**
 * kunit_dma_buf_importer_attach() - attach, asserting success
 * @imp: the importer, not attached
 * @dmabuf: the buffer
 * @dynamic: attach as a dynamic importer
 *
 * As kunit_dma_buf_importer_try_attach(), for the test's own thread.
 *
 * Context: process context, the test's own thread, the reservation lock
 * not held.
 * Return: the attachment.
 */
struct dma_buf_attachment *
kunit_dma_buf_importer_attach(struct kunit_dma_buf_importer *imp,
			      struct dma_buf *dmabuf, bool dynamic)
{
	struct dma_buf_attachment *attach;

	attach = kunit_dma_buf_importer_try_attach(imp, dmabuf, dynamic);
	KUNIT_ASSERT_FALSE_MSG(imp->test, IS_ERR(attach), "%s attach: %pe",
			       dynamic ? "dynamic" : "static", attach);
	return attach;
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_importer_attach);

/**
 * kunit_dma_buf_importer_detach() - detach the importer's attachment
 * @imp: the importer; nothing happens if it is not attached
 *
 * Any mapping of the attachment must have been unmapped.
 *
 * Context: process context, the reservation lock not held.
 */
void kunit_dma_buf_importer_detach(struct kunit_dma_buf_importer *imp)
{
	if (!imp->attach)
		return;
	kunit_release_action(imp->test, kit_importer_cleanup, imp);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_importer_detach);

/* ---- the contract checker ---- */

static const char * const kit_step_names[KUNIT_DMA_BUF_CHECK_NR_STEPS] = {
	[KUNIT_DMA_BUF_CHECK_ATTACH] = "attach",
	[KUNIT_DMA_BUF_CHECK_MAP] = "map",
	[KUNIT_DMA_BUF_CHECK_PIN] = "pin",
	[KUNIT_DMA_BUF_CHECK_VMAP] = "vmap",
	[KUNIT_DMA_BUF_CHECK_CPU_ACCESS] = "cpu-access",
	[KUNIT_DMA_BUF_CHECK_MMAP] = "mmap",
};

/**
 * kunit_dma_buf_check_step_name() - the name of a contract checker step
 * @step: the step
 *
 * Context: any.
 * Return: the name the checker's messages use, "?" for an unknown @step.
 */
const char *kunit_dma_buf_check_step_name(enum kunit_dma_buf_check_step step)
{
	if ((unsigned int)step >= KUNIT_DMA_BUF_CHECK_NR_STEPS)
		return "?";
	return kit_step_names[step];
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_check_step_name);

struct kit_check {
	struct kunit *test;
	struct dma_buf *dmabuf;
	struct kunit_dma_buf_check_result *res;
	bool quiet, expect;
	unsigned long required;
	enum kunit_dma_buf_check_step step;
	/* the first static attachment's device */
	struct device *dev;
	/* the second and the dynamic attachments */
	struct kunit_dma_buf_importer *imp;
	u32 cookie;
	/* the buffer holds kit_tag() values, written through vmap */
	bool tagged;
};

static __printf(2, 3) void kit_problem(struct kit_check *c, const char *fmt, ...)
{
	const char *step = kunit_dma_buf_check_step_name(c->step);
	struct kunit_dma_buf_check_result *res = c->res;
	char msg[sizeof(res->first)];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	res->problems++;
	res->failed |= BIT(c->step);
	res->status[c->step] = KUNIT_DMA_BUF_CHECK_FAILED;
	if (!res->first[0])
		snprintf(res->first, sizeof(res->first), "%s: %s", step, msg);
	if (c->expect)
		KUNIT_FAIL(c->test, "dma-buf contract, %s: %s", step, msg);
	else if (!c->quiet)
		kunit_info(c->test, "dma-buf contract, %s: %s\n", step, msg);
}

/* The exporter does not offer the step: a problem only if it was required. */
static void kit_unsupported(struct kit_check *c, const char *what)
{
	if (c->required & BIT(c->step))
		kit_problem(c, "required, but the exporter has no %s callback",
			    what);
	else
		c->res->status[c->step] = KUNIT_DMA_BUF_CHECK_UNSUPPORTED;
}

/*
 * After a call the caller made without the reservation lock: the exporter
 * must not have left it held.  Only lockdep can tell that this thread
 * holds it; the lock is dropped again so that the checker can go on.
 */
static void kit_expect_unlocked(struct kit_check *c, const char *call)
{
	struct dma_resv *resv = c->dmabuf->resv;

	if (!kit_lockdep_on() || !lockdep_is_held(&resv->lock.base))
		return;
	kit_problem(c, "%s returned with the reservation lock held", call);
	dma_resv_unlock(resv);
}

/* After a call made under the caller's lock: it must still be held. */
static void kit_expect_locked(struct kit_check *c, const char *call)
{
	if (kunit_dma_buf_resv_held(c->dmabuf->resv))
		return;
	kit_problem(c, "%s dropped the reservation lock its caller held", call);
	dma_resv_lock(c->dmabuf->resv, NULL);
}

/* What an importer may rely on: DMA segments that cover the buffer. */
static void kit_check_table(struct kit_check *c, struct sg_table *sgt,
			    const char *call)
{
	struct scatterlist *sg;
	u64 total = 0;
	unsigned int i;

	if (!sgt->sgl || !sgt->nents) {
		kit_problem(c, "%s handed out an sg_table without DMA segments",
			    call);
		return;
	}
	if (sgt->nents > sgt->orig_nents) {
		kit_problem(c, "%s: %u DMA segments in a table of %u entries",
			    call, sgt->nents, sgt->orig_nents);
		return;
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (!sg_dma_len(sg)) {
			kit_problem(c, "%s: DMA segment %u is empty", call, i);
			return;
		}
		if (sg_dma_address(sg) == DMA_MAPPING_ERROR) {
			kit_problem(c, "%s: DMA segment %u has no address",
				    call, i);
			return;
		}
		total += sg_dma_len(sg);
	}
	if (total != c->dmabuf->size)
		kit_problem(c, "%s gave DMA segments of %llu bytes for a %zu-byte buffer",
			    call, total, c->dmabuf->size);
}

static void kit_step_attach(struct kit_check *c)
{
	struct dma_buf_attachment *a, *b;

	a = dma_buf_attach(c->dmabuf, c->dev);
	kit_expect_unlocked(c, "attach");
	if (IS_ERR(a)) {
		kit_problem(c, "static attach failed: %pe", a);
		return;
	}
	/* Two importers at once, the second a static then a dynamic one. */
	b = kunit_dma_buf_importer_try_attach(c->imp, c->dmabuf, false);
	kit_expect_unlocked(c, "attach");
	if (IS_ERR(b))
		kit_problem(c, "a second static attachment failed: %pe", b);
	kunit_dma_buf_importer_detach(c->imp);
	kit_expect_unlocked(c, "detach");

	b = kunit_dma_buf_importer_try_attach(c->imp, c->dmabuf, true);
	kit_expect_unlocked(c, "attach");
	if (IS_ERR(b))
		kit_problem(c, "dynamic attach failed: %pe", b);
	kunit_dma_buf_importer_detach(c->imp);
	kit_expect_unlocked(c, "detach");

	dma_buf_detach(c->dmabuf, a);
	kit_expect_unlocked(c, "detach");
}

static void kit_step_map(struct kit_check *c)
{
	struct dma_buf_attachment *a, *b;
	struct sg_table *sgt, *other;
	struct dma_resv *resv = c->dmabuf->resv;

	a = dma_buf_attach(c->dmabuf, c->dev);
	if (IS_ERR(a)) {
		kit_problem(c, "static attach failed: %pe", a);
		return;
	}
	sgt = dma_buf_map_attachment_unlocked(a, DMA_BIDIRECTIONAL);
	kit_expect_unlocked(c, "map");
	if (IS_ERR_OR_NULL(sgt)) {
		kit_problem(c, "map failed: %pe", sgt);
		goto detach;
	}
	kit_check_table(c, sgt, "map");

	/* A second importer's mapping while the first one is held. */
	b = kunit_dma_buf_importer_try_attach(c->imp, c->dmabuf, false);
	if (IS_ERR(b)) {
		kit_problem(c, "a second static attachment failed: %pe", b);
	} else {
		other = dma_buf_map_attachment_unlocked(b, DMA_TO_DEVICE);
		kit_expect_unlocked(c, "map");
		if (IS_ERR_OR_NULL(other)) {
			kit_problem(c, "a second importer's map failed: %pe",
				    other);
		} else {
			kit_check_table(c, other, "map");
			dma_buf_unmap_attachment_unlocked(b, other,
							  DMA_TO_DEVICE);
			kit_expect_unlocked(c, "unmap");
		}
		kunit_dma_buf_importer_detach(c->imp);
	}
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_BIDIRECTIONAL);
	kit_expect_unlocked(c, "unmap");

	/* Mapped again, through the API for a caller holding the lock. */
	dma_resv_lock(resv, NULL);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	kit_expect_locked(c, "map");
	if (IS_ERR_OR_NULL(sgt)) {
		kit_problem(c, "map after unmap failed: %pe", sgt);
	} else {
		kit_check_table(c, sgt, "map");
		dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
		kit_expect_locked(c, "unmap");
	}
	dma_resv_unlock(resv);
detach:
	dma_buf_detach(c->dmabuf, a);
}

/* Map a dynamic attachment under the lock, and unmap it. */
static void kit_map_dynamic(struct kit_check *c, struct dma_buf_attachment *a,
			    const char *how)
{
	struct sg_table *sgt;

	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	kit_expect_locked(c, "map");
	if (IS_ERR_OR_NULL(sgt)) {
		kit_problem(c, "map of a%s dynamic attachment failed: %pe", how,
			    sgt);
		return;
	}
	kit_check_table(c, sgt, "map");
	dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	kit_expect_locked(c, "unmap");
}

static void kit_step_pin(struct kit_check *c)
{
	struct dma_resv *resv = c->dmabuf->resv;
	struct dma_buf_attachment *a;
	int ret;

	a = kunit_dma_buf_importer_try_attach(c->imp, c->dmabuf, true);
	if (IS_ERR(a)) {
		kit_problem(c, "dynamic attach failed: %pe", a);
		return;
	}
	dma_resv_lock(resv, NULL);
	ret = dma_buf_pin(a);
	kit_expect_locked(c, "pin");
	if (ret) {
		kit_problem(c, "pin failed: %d", ret);
	} else {
		kit_map_dynamic(c, a, " pinned");
		dma_buf_unpin(a);
		kit_expect_locked(c, "unpin");
	}
	/* Unpinned: the importer relies on move_notify instead. */
	kit_map_dynamic(c, a, "n unpinned");
	dma_resv_unlock(resv);
	kunit_dma_buf_importer_detach(c->imp);
	kit_expect_unlocked(c, "detach");
}

/* The value the checker writes at the start of "page" @i of the buffer. */
static u32 kit_tag(struct kit_check *c, unsigned int i)
{
	return c->cookie ^ (i * 0x9e3779b9);
}

static unsigned int kit_pages(struct kit_check *c)
{
	return DIV_ROUND_UP(c->dmabuf->size, PAGE_SIZE);
}

/* Offsets of the two words the checker uses in page @i. */
static size_t kit_first_word(unsigned int i)
{
	return (size_t)i * PAGE_SIZE;
}

static size_t kit_last_word(struct kit_check *c, unsigned int i)
{
	return min_t(size_t, c->dmabuf->size, ((size_t)i + 1) * PAGE_SIZE) -
	       sizeof(u32);
}

/*
 * CPU access around the checker's own reads and writes; failures are the
 * cpu-access step's to report, but a lock left held would stop this one.
 */
static bool kit_cpu_begin(struct kit_check *c)
{
	bool begun = !dma_buf_begin_cpu_access(c->dmabuf, DMA_BIDIRECTIONAL);

	kit_expect_unlocked(c, "begin_cpu_access");
	return begun;
}

static void kit_cpu_end(struct kit_check *c, bool begun)
{
	if (!begun)
		return;
	dma_buf_end_cpu_access(c->dmabuf, DMA_BIDIRECTIONAL);
	kit_expect_unlocked(c, "end_cpu_access");
}

/* Whether the mapping shows tag ^ @flip at both words of every page. */
static int kit_vmap_mismatch(struct kit_check *c, struct iosys_map *map,
			     u32 flip)
{
	unsigned int i;

	for (i = 0; i < kit_pages(c); i++) {
		if (iosys_map_rd(map, kit_first_word(i), u32) !=
		    (kit_tag(c, i) ^ flip) ||
		    iosys_map_rd(map, kit_last_word(c, i), u32) !=
		    ~(kit_tag(c, i) ^ flip))
			return i;
	}
	return -1;
}

static void kit_step_vmap(struct kit_check *c)
{
	struct dma_resv *resv = c->dmabuf->resv;
	struct iosys_map map;
	unsigned int i;
	bool begun;
	int ret, bad;

	if (!c->dmabuf->ops->vmap) {
		kit_unsupported(c, "vmap");
		return;
	}
	if (c->dmabuf->size < 2 * sizeof(u32)) {
		kit_problem(c, "a %zu-byte buffer is too small to check",
			    c->dmabuf->size);
		return;
	}
	ret = dma_buf_vmap_unlocked(c->dmabuf, &map);
	kit_expect_unlocked(c, "vmap");
	if (ret) {
		kit_problem(c, "vmap failed: %d", ret);
		return;
	}
	if (iosys_map_is_null(&map)) {
		/* Nothing the core could do with it: it stays mapped. */
		kit_problem(c, "vmap succeeded without an address");
		return;
	}
	begun = kit_cpu_begin(c);
	for (i = 0; i < kit_pages(c); i++) {
		iosys_map_wr(&map, kit_first_word(i), u32, kit_tag(c, i));
		iosys_map_wr(&map, kit_last_word(c, i), u32, ~kit_tag(c, i));
	}
	bad = kit_vmap_mismatch(c, &map, 0);
	kit_cpu_end(c, begun);
	if (bad >= 0)
		kit_problem(c, "page %d does not read back what was written to it",
			    bad);
	dma_buf_vunmap_unlocked(c->dmabuf, &map);
	kit_expect_unlocked(c, "vunmap");

	/* Mapped again, through the API for a caller holding the lock. */
	dma_resv_lock(resv, NULL);
	ret = dma_buf_vmap(c->dmabuf, &map);
	kit_expect_locked(c, "vmap");
	dma_resv_unlock(resv);
	if (ret) {
		kit_problem(c, "vmap after vunmap failed: %d", ret);
		return;
	}
	if (iosys_map_is_null(&map)) {
		kit_problem(c, "vmap succeeded without an address");
		return;
	}
	/* CPU access may take the lock: never inside it */
	begun = kit_cpu_begin(c);
	bad = kit_vmap_mismatch(c, &map, 0);
	kit_cpu_end(c, begun);
	if (bad >= 0)
		kit_problem(c, "page %d lost its contents between vunmap and vmap",
			    bad);
	else
		c->tagged = true;
	dma_buf_vunmap_unlocked(c->dmabuf, &map);
	kit_expect_unlocked(c, "vunmap");
}

static void kit_step_cpu_access(struct kit_check *c)
{
	static const enum dma_data_direction dirs[] = {
		DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL,
	};
	static const char * const names[] = {
		"DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL",
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		ret = dma_buf_begin_cpu_access(c->dmabuf, dirs[i]);
		kit_expect_unlocked(c, "begin_cpu_access");
		if (ret) {
			kit_problem(c, "begin_cpu_access(%s) failed: %d",
				    names[i], ret);
			continue;
		}
		ret = dma_buf_end_cpu_access(c->dmabuf, dirs[i]);
		kit_expect_unlocked(c, "end_cpu_access");
		if (ret)
			kit_problem(c, "end_cpu_access(%s) failed: %d",
				    names[i], ret);
	}
}

/* Map @pages pages of the buffer from page @pgoff into the test's mm. */
static unsigned long kit_user_map(struct kit_check *c, unsigned int pgoff,
				  unsigned int pages, bool writable)
{
	unsigned long prot = PROT_READ | (writable ? PROT_WRITE : 0);

	return kunit_vm_mmap(c->test, c->dmabuf->file, 0,
			     (unsigned long)pages * PAGE_SIZE, prot, MAP_SHARED,
			     (unsigned long)pgoff * PAGE_SIZE);
}

static bool kit_user_map_failed(struct kit_check *c, unsigned long addr,
				const char *what)
{
	if (addr && !IS_ERR_VALUE(addr))
		return false;
	kit_problem(c, "mmap of %s failed: %ld", what,
		    addr ? (long)addr : -ENOMEM);
	return true;
}

/* Read the first word of every page; -1 or the first page that differs. */
static int kit_user_check(struct kit_check *c, unsigned long addr,
			  unsigned int first, unsigned int pages, u32 flip,
			  bool compare)
{
	unsigned int i;
	u32 v;

	for (i = 0; i < pages; i++) {
		if (copy_from_user(&v, (void __user *)(addr + (size_t)i * PAGE_SIZE),
				   sizeof(v))) {
			kit_problem(c, "page %u of the mapping cannot be read",
				    first + i);
			return first + i;
		}
		if (compare && v != (kit_tag(c, first + i) ^ flip)) {
			kit_problem(c, "page %u shows other memory than vmap does",
				    first + i);
			return first + i;
		}
	}
	return -1;
}

static void kit_step_mmap(struct kit_check *c)
{
	bool writable = c->dmabuf->file->f_mode & FMODE_WRITE;
	/* the core maps whole pages of the buffer only */
	unsigned int i, pages = c->dmabuf->size >> PAGE_SHIFT;
	const u32 flip = 0x5a5a5a5a;
	struct iosys_map map;
	unsigned long addr, tail;
	bool begun, written = false;
	int bad;

	if (!c->dmabuf->ops->mmap) {
		kit_unsupported(c, "mmap");
		return;
	}
	if (!pages)
		return;
	addr = kit_user_map(c, 0, pages, writable);
	kit_expect_unlocked(c, "mmap");
	if (kit_user_map_failed(c, addr, "the whole buffer"))
		return;

	begun = kit_cpu_begin(c);
	bad = kit_user_check(c, addr, 0, pages, 0, c->tagged);
	if (bad < 0 && writable) {
		for (i = 0; i < pages; i++) {
			u32 v = kit_tag(c, i) ^ flip;

			if (copy_to_user((void __user *)(addr + (size_t)i * PAGE_SIZE),
					 &v, sizeof(v))) {
				kit_problem(c, "page %u of a writable mapping cannot be written",
					    i);
				break;
			}
		}
		written = i == pages;
	}
	kit_cpu_end(c, begun);

	/* What userspace wrote, the kernel sees. */
	if (written && c->tagged && !dma_buf_vmap_unlocked(c->dmabuf, &map)) {
		begun = kit_cpu_begin(c);
		for (i = 0; i < pages; i++)
			if (iosys_map_rd(&map, kit_first_word(i), u32) !=
			    (kit_tag(c, i) ^ flip))
				break;
		kit_cpu_end(c, begun);
		dma_buf_vunmap_unlocked(c->dmabuf, &map);
		if (i < pages)
			kit_problem(c, "page %u written through mmap reads otherwise through vmap",
				    i);
	}

	/* A mapping at an offset starts at that page of the buffer. */
	if (pages > 1) {
		tail = kit_user_map(c, pages - 1, 1, false);
		kit_expect_unlocked(c, "mmap");
		if (!kit_user_map_failed(c, tail, "the last page")) {
			begun = kit_cpu_begin(c);
			kit_user_check(c, tail, pages - 1, 1, written ? flip : 0,
				       written || c->tagged);
			kit_cpu_end(c, begun);
			vm_munmap(tail, PAGE_SIZE);
		}
	}
	vm_munmap(addr, (size_t)pages * PAGE_SIZE);
}

static void (*const kit_steps[KUNIT_DMA_BUF_CHECK_NR_STEPS])(struct kit_check *) = {
	[KUNIT_DMA_BUF_CHECK_ATTACH] = kit_step_attach,
	[KUNIT_DMA_BUF_CHECK_MAP] = kit_step_map,
	[KUNIT_DMA_BUF_CHECK_PIN] = kit_step_pin,
	[KUNIT_DMA_BUF_CHECK_VMAP] = kit_step_vmap,
	[KUNIT_DMA_BUF_CHECK_CPU_ACCESS] = kit_step_cpu_access,
	[KUNIT_DMA_BUF_CHECK_MMAP] = kit_step_mmap,
};

static atomic_t kit_devices = ATOMIC_INIT(0);

/* A device name no other test's device has. */
static const char *kit_device_name(struct kunit *test)
{
	char *name = kunit_kzalloc(test, 32, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, name);
	snprintf(name, 32, "dma-buf-check-%d", atomic_inc_return(&kit_devices));
	return name;
}

static int kit_check(struct kunit *test, struct dma_buf *dmabuf,
		     const struct kunit_dma_buf_check_options *opts,
		     struct kunit_dma_buf_check_result *result, bool expect)
{
	static const struct kunit_dma_buf_check_options defaults;
	struct kit_check c = {
		.test = test, .dmabuf = dmabuf, .res = result, .expect = expect,
	};
	unsigned long steps;

	if (!opts)
		opts = &defaults;
	memset(result, 0, sizeof(*result));
	steps = opts->steps ?: KUNIT_DMA_BUF_CHECK_ALL;
	c.quiet = opts->quiet;
	c.required = opts->required;
	c.cookie = get_random_u32() | 1;
	c.dev = opts->dev ?: kunit_dma_buf_device(test, kit_device_name(test));
	c.imp = kunit_dma_buf_importer_create(test, kit_device_name(test));
	if (opts->dev)
		c.imp->dev = opts->dev;

	for (c.step = 0; c.step < KUNIT_DMA_BUF_CHECK_NR_STEPS; c.step++) {
		if (!(steps & BIT(c.step)))
			continue;
		/* Without an attachment there is nothing to map. */
		if ((c.step == KUNIT_DMA_BUF_CHECK_MAP ||
		     c.step == KUNIT_DMA_BUF_CHECK_PIN) &&
		    (result->failed & BIT(KUNIT_DMA_BUF_CHECK_ATTACH)))
			continue;
		result->status[c.step] = KUNIT_DMA_BUF_CHECK_PASSED;
		kit_steps[c.step](&c);
	}
	return result->problems;
}

/**
 * kunit_dma_buf_check() - drive a buffer through the importer's contract
 * @test: the running test
 * @dmabuf: any dma-buf, whoever exported it; the caller keeps its reference
 * @opts: what to check, or NULL for every step with the kit's devices
 * @result: filled with what each step found
 *
 * Runs the steps of &enum kunit_dma_buf_check_step in order, as an
 * importer and a CPU user would, and checks after every call that the
 * exporter kept the 6.12 contract: calls that must work did, tables and
 * mappings cover the buffer, contents written one way read back every
 * other way, and the reservation lock is as the caller left it.  Each
 * problem is logged (unless &kunit_dma_buf_check_options.quiet) and
 * counted; the test itself is not failed, so a test may run the checker
 * on a buffer it knows to be broken.  The checker gives back everything
 * it took (attachments, mappings, the lock) before it returns, even from
 * a step that failed, unless the exporter made that impossible.
 *
 * The buffer's contents are overwritten.  Lock checks need lockdep.
 *
 * Context: process context, the test's own thread, the reservation lock
 * not held.
 * Return: the number of problems found, 0 if none.
 */
int kunit_dma_buf_check(struct kunit *test, struct dma_buf *dmabuf,
			const struct kunit_dma_buf_check_options *opts,
			struct kunit_dma_buf_check_result *result)
{
	return kit_check(test, dmabuf, opts, result, false);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_check);

/**
 * kunit_dma_buf_expect_contract() - fail the test for every contract problem
 * @test: the running test
 * @dmabuf: any dma-buf
 * @opts: as for kunit_dma_buf_check(), or NULL
 *
 * Runs kunit_dma_buf_check() and fails @test with one message per problem,
 * "dma-buf contract, STEP: WHAT", then logs which steps passed, were
 * unsupported or were not run.
 *
 * Context: process context, the test's own thread, the reservation lock
 * not held.
 */
void kunit_dma_buf_expect_contract(struct kunit *test, struct dma_buf *dmabuf,
				   const struct kunit_dma_buf_check_options *opts)
{
	static const char * const status[] = {
		[KUNIT_DMA_BUF_CHECK_NOT_RUN] = "not run",
		[KUNIT_DMA_BUF_CHECK_PASSED] = "passed",
		[KUNIT_DMA_BUF_CHECK_UNSUPPORTED] = "unsupported",
		[KUNIT_DMA_BUF_CHECK_FAILED] = "failed",
	};
	struct kunit_dma_buf_check_result *res;
	int step;

	res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, res);
	kit_check(test, dmabuf, opts, res, true);
	for (step = 0; step < KUNIT_DMA_BUF_CHECK_NR_STEPS; step++)
		kunit_info(test, "dma-buf contract, %s: %s\n",
			   kunit_dma_buf_check_step_name(step),
			   status[res->status[step]]);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_expect_contract);

/* ---- buffers of the kernel's own exporters, made as userspace would ---- */

/* Open a device node in a private mount of devtmpfs. */
static struct file *kit_open_dev(const char *path)
{
	struct file_system_type *type = get_fs_type("devtmpfs");
	struct vfsmount *mnt;
	struct file *file;

	if (!type)
		return ERR_PTR(-ENODEV);
	/* devtmpfs is always built in: no module reference to drop */
	mnt = kern_mount(type);
	if (IS_ERR(mnt))
		return ERR_CAST(mnt);
	file = file_open_root_mnt(mnt, path, O_RDWR, 0);
	/* an open file keeps its own reference to the mount */
	kern_unmount(mnt);
	return file == ERR_PTR(-ENOENT) ? ERR_PTR(-ENODEV) : file;
}

/* @size bytes of the test thread's user memory, for an ioctl argument. */
static void __user *kit_user_mem(struct kunit *test, size_t size)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, size,
					   PROT_READ | PROT_WRITE,
					   MAP_ANONYMOUS | MAP_PRIVATE, 0);

	if (!addr || IS_ERR_VALUE(addr))
		return NULL;
	return (void __user *)addr;
}

/* The buffer behind an fd of the test thread; the fd is closed. */
static struct dma_buf *kit_take_fd(int fd)
{
	struct dma_buf *dmabuf = dma_buf_get(fd);

	close_fd(fd);
	return dmabuf;
}

/**
 * kunit_dma_buf_heap_alloc() - allocate from a dma-buf heap
 * @test: the running test
 * @heap: the heap's name, e.g. "system"
 * @size: bytes
 *
 * Allocates the way userspace does, with DMA_HEAP_IOCTL_ALLOC on
 * /dev/dma_heap/@heap in a private devtmpfs mount, since heaps have no
 * in-kernel allocation API in 6.12.
 *
 * Context: process context, the test's own thread.
 * Return: a buffer whose reference the caller owns (drop it with
 * dma_buf_put()); ERR_PTR(-ENODEV) if the kernel has no such heap, or the
 * error of the step that failed.
 */
struct dma_buf *kunit_dma_buf_heap_alloc(struct kunit *test,
					 const char *heap, size_t size)
{
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct dma_heap_allocation_data __user *udata;
	struct file *file;
	char *path;
	long ret;

	udata = kit_user_mem(test, sizeof(*udata));
	if (!udata)
		return ERR_PTR(-ENOMEM);
	path = kasprintf(GFP_KERNEL, "dma_heap/%s", heap);
	if (!path)
		return ERR_PTR(-ENOMEM);
	file = kit_open_dev(path);
	kfree(path);
	if (IS_ERR(file))
		return ERR_CAST(file);

	ret = -EFAULT;
	if (!copy_to_user(udata, &data, sizeof(data)))
		ret = file->f_op->unlocked_ioctl(file, DMA_HEAP_IOCTL_ALLOC,
						 (unsigned long)udata);
	fput(file);
	if (ret)
		return ERR_PTR(ret);
	if (copy_from_user(&data, udata, sizeof(data)))
		return ERR_PTR(-EFAULT);
	return kit_take_fd(data.fd);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_heap_alloc);

/*
 * What udmabuf accepts as memory: a shmem file (a memfd) sealed against
 * shrinking and not against writes.  memfd_create() has no in-kernel
 * form, so the seal is set on a fresh shmem file directly.  Returns its
 * fd in the test thread.
 */
static int kit_memfd(size_t size)
{
	struct file *file;
	int fd;

	if (!IS_ENABLED(CONFIG_SHMEM))
		return -EOPNOTSUPP;
	file = shmem_file_setup("kunit-udmabuf", size, VM_NORESERVE);
	if (IS_ERR(file))
		return PTR_ERR(file);
	SHMEM_I(file_inode(file))->seals = F_SEAL_SHRINK;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	fd_install(fd, file);
	return fd;
}

/**
 * kunit_dma_buf_udmabuf_create() - a udmabuf over fresh shmem memory
 * @test: the running test
 * @size: bytes, a multiple of PAGE_SIZE
 *
 * Creates the buffer the way userspace does, with UDMABUF_CREATE on
 * /dev/udmabuf in a private devtmpfs mount over a sealed memfd, since
 * udmabuf has no in-kernel API in 6.12.
 *
 * Context: process context, the test's own thread.
 * Return: a buffer whose reference the caller owns (drop it with
 * dma_buf_put()); ERR_PTR(-ENODEV) if the kernel has no udmabuf device,
 * or the error of the step that failed.
 */
struct dma_buf *kunit_dma_buf_udmabuf_create(struct kunit *test, size_t size)
{
	struct udmabuf_create create = {
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};
	struct udmabuf_create __user *ucreate;
	struct file *file;
	int memfd;
	long ret;

	ucreate = kit_user_mem(test, sizeof(*ucreate));
	if (!ucreate)
		return ERR_PTR(-ENOMEM);
	file = kit_open_dev("udmabuf");
	if (IS_ERR(file))
		return ERR_CAST(file);
	memfd = kit_memfd(size);
	if (memfd < 0) {
		fput(file);
		return ERR_PTR(memfd);
	}
	create.memfd = memfd;
	ret = -EFAULT;
	if (!copy_to_user(ucreate, &create, sizeof(create)))
		ret = file->f_op->unlocked_ioctl(file, UDMABUF_CREATE,
						 (unsigned long)ucreate);
	/* udmabuf holds the memory's folios now, not the memfd */
	close_fd(memfd);
	fput(file);
	if (ret < 0)
		return ERR_PTR(ret);
	return kit_take_fd(ret);
}
EXPORT_SYMBOL_GPL(kunit_dma_buf_udmabuf_create);

MODULE_DESCRIPTION("KUnit kit for testing dma-buf exporters and importers");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
