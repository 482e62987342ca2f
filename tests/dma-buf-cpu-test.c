// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for CPU access to dma-bufs: dma_buf_begin_cpu_access(),
 * dma_buf_end_cpu_access(), dma_buf_mmap() for importers and
 * dma_buf_vmap()/dma_buf_vunmap() with their _unlocked forms.
 */
#include <linux/anon_inodes.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#include "dma-buf-test.h"

static void dbt_cpu_no_callbacks(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf;

	exp->ops.begin_cpu_access = NULL;
	exp->ops.end_cpu_access = NULL;
	dmabuf = dbt_export(exp);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_TO_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, exp->began + exp->ended, 0);
	dbt_put_final(exp);
}

/* The exporter hears of both ends, unlocked, with the direction. */
static void dbt_cpu_callbacks(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);

	KUNIT_EXPECT_EQ(test,
			dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, exp->began, 1);
	KUNIT_EXPECT_EQ(test, exp->begin_dir, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, exp->ended, 1);
	KUNIT_EXPECT_EQ(test, exp->end_dir, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_put_final(exp);
}

static void dbt_cpu_errors(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);

	exp->begin_ret = -EIO;
	KUNIT_EXPECT_EQ(test,
			dma_buf_begin_cpu_access(dmabuf, DMA_BIDIRECTIONAL),
			-EIO);
	exp->end_ret = -EINVAL;
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_BIDIRECTIONAL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, exp->began, 1);
	KUNIT_EXPECT_EQ(test, exp->ended, 1);
	dbt_put_final(exp);
}

/*
 * begin_cpu_access waits for the implicit fences a CPU access of that
 * direction must wait for: a reader waits for writers, a writer for all.
 */
static void dbt_cpu_fence(struct kunit *test, enum dma_resv_usage usage,
			  enum dma_data_direction dir, bool waits)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_fence *f;

	f = dbt_fence_add(test, dmabuf->resv, usage);
	dbt_fence_signal_later(f, waits ? 100 : 2000);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, dir), 0);
	KUNIT_EXPECT_EQ_MSG(test, dma_fence_is_signaled(&f->base), waits,
			    "fence usage %d, direction %d", usage, dir);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, dir), 0);
	dbt_put_final(exp);
}

static void dbt_cpu_read_waits_writer(struct kunit *test)
{
	dbt_cpu_fence(test, DMA_RESV_USAGE_WRITE, DMA_FROM_DEVICE, true);
}

static void dbt_cpu_read_ignores_reader(struct kunit *test)
{
	dbt_cpu_fence(test, DMA_RESV_USAGE_READ, DMA_FROM_DEVICE, false);
}

static void dbt_cpu_write_waits_reader(struct kunit *test)
{
	dbt_cpu_fence(test, DMA_RESV_USAGE_READ, DMA_TO_DEVICE, true);
}

static void dbt_cpu_ignores_bookkeep(struct kunit *test)
{
	dbt_cpu_fence(test, DMA_RESV_USAGE_BOOKKEEP, DMA_BIDIRECTIONAL, false);
}

static void dbt_cpu_begin_null(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(NULL, DMA_TO_DEVICE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
}

static struct kunit_case dbt_cpu_cases[] = {
	KUNIT_CASE(dbt_cpu_no_callbacks),
	KUNIT_CASE(dbt_cpu_callbacks),
	KUNIT_CASE(dbt_cpu_errors),
	KUNIT_CASE(dbt_cpu_begin_null),
	KUNIT_CASE(dbt_cpu_read_waits_writer),
	KUNIT_CASE(dbt_cpu_read_ignores_reader),
	KUNIT_CASE(dbt_cpu_write_waits_reader),
	KUNIT_CASE(dbt_cpu_ignores_bookkeep),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_cpu_suite = {
	.name = "dma-buf-cpu-access",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_cpu_cases,
};

static const struct file_operations dbt_other_fops = {
	.owner = THIS_MODULE,
};

/*
 * A vma as an importer's mmap handler gets it: @pages long, in the test
 * thread's mm (which KUnit makes with the first mapping) and backed by the
 * importer's own file, which dma_buf_mmap() replaces by the buffer's.  It
 * is never linked into the mm, and no page is ever mapped into it.
 */
static struct vm_area_struct *dbt_vma(struct kunit *test, unsigned long pages)
{
	struct vm_area_struct *vma = kunit_kzalloc(test, sizeof(*vma),
						   GFP_KERNEL);
	struct file *file;
	unsigned long addr;

	KUNIT_ASSERT_NOT_NULL(test, vma);
	if (!current->mm) {
		addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
		KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	}
	file = anon_inode_getfile("dbt-importer", &dbt_other_fops, NULL,
				  O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	vma->vm_mm = current->mm;
	vma->vm_start = 16 * PAGE_SIZE;
	vma->vm_end = vma->vm_start + pages * PAGE_SIZE;
	vma->vm_file = file;
	return vma;
}

/* dma_buf_mmap() as an importer's ->mmap calls it: mmap lock held. */
static int dbt_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma,
		    unsigned long pgoff)
{
	int ret;

	mmap_write_lock(vma->vm_mm);
	ret = dma_buf_mmap(dmabuf, vma, pgoff);
	mmap_write_unlock(vma->vm_mm);
	return ret;
}

/* Drop the vma's file reference, whichever file it is by now. */
static void dbt_vma_done(struct kunit *test, struct vm_area_struct *vma)
{
	fput(vma->vm_file);
	vma->vm_file = NULL;
	flush_delayed_fput();
}

static void dbt_mmap_ok(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct vm_area_struct *vma = dbt_vma(test, 2);
	struct file *old = vma->vm_file;

	get_file(old);
	KUNIT_EXPECT_EQ(test, dbt_mmap(dmabuf, vma, DBT_PAGES - 2), 0);
	KUNIT_EXPECT_EQ(test, exp->mmapped, 1);
	KUNIT_EXPECT_PTR_EQ(test, exp->mmap_vma, vma);
	KUNIT_EXPECT_EQ(test, exp->mmap_pgoff, DBT_PAGES - 2);
	KUNIT_EXPECT_EQ(test, vma->vm_pgoff, DBT_PAGES - 2);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, dmabuf->file);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);

	/* The vma holds the buffer now, and no longer the old file. */
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	KUNIT_EXPECT_EQ(test, file_count(old), 1);
	fput(old);
	dbt_vma_done(test, vma);
	dbt_put_final(exp);
}

static void dbt_mmap_exporter_error(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct vm_area_struct *vma = dbt_vma(test, 1);

	exp->mmap_ret = -EACCES;
	KUNIT_EXPECT_EQ(test, dbt_mmap(dmabuf, vma, 0), -EACCES);
	KUNIT_EXPECT_EQ(test, exp->mmapped, 1);
	dbt_vma_done(test, vma);
	dbt_put_final(exp);
}

static void dbt_mmap_no_callback(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct vm_area_struct *vma = dbt_vma(test, 1);
	struct file *old = vma->vm_file;
	struct dma_buf *dmabuf;

	exp->ops.mmap = NULL;
	dmabuf = dbt_export(exp);
	KUNIT_EXPECT_EQ(test, dbt_mmap(dmabuf, vma, 0), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, old);
	dbt_vma_done(test, vma);
	dbt_put_final(exp);
}

/* Ranges outside the buffer never reach the exporter. */
static void dbt_mmap_bad_range(struct kunit *test)
{
	static const struct {
		unsigned long pages, pgoff;
		int err;
	} bad[] = {
		{ 1, DBT_PAGES, -EINVAL },
		{ 2, DBT_PAGES - 1, -EINVAL },
		{ DBT_PAGES + 1, 0, -EINVAL },
		{ 1, ULONG_MAX / 2, -EINVAL },
		/* pgoff + pages wraps around */
		{ 1, ULONG_MAX, -EOVERFLOW },
		{ 4, ULONG_MAX - 2, -EOVERFLOW },
	};
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vm_area_struct *vma = dbt_vma(test, bad[i].pages);
		struct file *old = vma->vm_file;

		KUNIT_EXPECT_EQ_MSG(test,
				    dbt_mmap(dmabuf, vma, bad[i].pgoff),
				    bad[i].err, "pages %lu at %lu",
				    bad[i].pages, bad[i].pgoff);
		KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, old);
		dbt_vma_done(test, vma);
	}
	KUNIT_EXPECT_EQ(test, exp->mmapped, 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_put_final(exp);
}

static void dbt_mmap_null(struct kunit *test)
{
	struct vm_area_struct *vma = dbt_vma(test, 1);

	KUNIT_EXPECT_EQ(test, dbt_mmap(NULL, vma, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
	dbt_vma_done(test, vma);
}

/* dma_buf_mmap() without the mmap lock is reported. */
static void dbt_mmap_unlocked_warns(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct vm_area_struct *vma = dbt_vma(test, 1);

	dbt_need_lockdep(test);
	dma_buf_mmap(dmabuf, vma, 0);
	KUNIT_EXPECT_GE(test, dbt_case_warns(test), 1);
	dbt_allow_warns(test);
	KUNIT_EXPECT_TRUE(test, debug_locks);
	dbt_vma_done(test, vma);
	dbt_put_final(exp);
}

/* An importer whose own mmap hands its buffer, one page in, to the vma. */
static int dbt_importer_mmap(struct file *file, struct vm_area_struct *vma)
{
	return dma_buf_mmap(file->private_data, vma, vma->vm_pgoff + 1);
}

static const struct file_operations dbt_importer_fops = {
	.owner = THIS_MODULE,
	.mmap = dbt_importer_mmap,
};

/*
 * A real mapping through an importer's file in a KUnit-made mm: the vma
 * ends up on the buffer's file at the shifted offset, and userspace reads
 * the exporter's pages there.
 */
static void dbt_mmap_real_vma(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	unsigned long addr, len = 2 * PAGE_SIZE;
	struct file *importer;
	char c[2];
	int i;

	for (i = 0; i < DBT_PAGES; i++)
		memset(page_address(exp->pages[i]), 'a' + i, PAGE_SIZE);
	exp->mmap_record_only = false;
	importer = anon_inode_getfile("dbt-importer", &dbt_importer_fops,
				      dmabuf, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(importer));

	addr = kunit_vm_mmap(test, importer, 0, len, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr), "%ld",
			       (long)addr);
	KUNIT_EXPECT_EQ(test, exp->mmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->mmap_pgoff, 1);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	KUNIT_EXPECT_EQ(test, copy_from_user(&c[0], (char __user *)addr, 1), 0);
	KUNIT_EXPECT_EQ(test, copy_from_user(&c[1],
					     (char __user *)addr + PAGE_SIZE, 1),
			0);
	KUNIT_EXPECT_EQ(test, c[0], 'b');
	KUNIT_EXPECT_EQ(test, c[1], 'c');

	KUNIT_EXPECT_EQ(test, vm_munmap(addr, len), 0);
	fput(importer);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);

	/* Three pages from page one do not fit: the mmap fails. */
	importer = anon_inode_getfile("dbt-importer", &dbt_importer_fops,
				      dmabuf, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(importer));
	addr = kunit_vm_mmap(test, importer, 0, 3 * PAGE_SIZE, PROT_READ,
			     MAP_SHARED, 1);
	KUNIT_EXPECT_EQ(test, (long)addr, -EINVAL);
	KUNIT_EXPECT_EQ(test, exp->mmapped, 1);
	fput(importer);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_put_final(exp);
}

static struct kunit_case dbt_mmap_cases[] = {
	KUNIT_CASE(dbt_mmap_ok),
	KUNIT_CASE(dbt_mmap_unlocked_warns),
	KUNIT_CASE(dbt_mmap_real_vma),
	KUNIT_CASE(dbt_mmap_exporter_error),
	KUNIT_CASE(dbt_mmap_no_callback),
	KUNIT_CASE(dbt_mmap_bad_range),
	KUNIT_CASE(dbt_mmap_null),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_mmap_suite = {
	.name = "dma-buf-mmap",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_mmap_cases,
};

#define DBT_VMAP_USERS 3

/* The exporter maps for the first user and unmaps after the last. */
static void dbt_vmap_refcount(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map[DBT_VMAP_USERS];
	int i;

	for (i = 0; i < DBT_VMAP_USERS; i++) {
		KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map[i]), 0);
		KUNIT_EXPECT_FALSE(test, map[i].is_iomem);
		KUNIT_EXPECT_PTR_EQ(test, map[i].vaddr, exp->vbuf);
		KUNIT_EXPECT_EQ(test, exp->vmapped, 1);
		KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, i + 1);
	}
	for (i = 0; i < DBT_VMAP_USERS; i++) {
		KUNIT_EXPECT_EQ(test, exp->vunmapped, 0);
		dma_buf_vunmap_unlocked(dmabuf, &map[i]);
	}
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	/* GEM's vunmap clears the map it is given for the last user. */
	KUNIT_EXPECT_PTR_EQ(test, exp->vunmap_map,
			    &map[DBT_VMAP_USERS - 1]);
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&dmabuf->vmap_ptr));

	/* After the last unmap, the next user maps anew. */
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map[0]), 0);
	KUNIT_EXPECT_EQ(test, exp->vmapped, 2);
	dma_buf_vunmap_unlocked(dmabuf, &map[0]);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 2);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static void dbt_vmap_locked(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map a, b;

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(dmabuf, &a), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(dmabuf, &b), 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_equal(&a, &b));
	dma_buf_vunmap(dmabuf, &b);
	dma_buf_vunmap(dmabuf, &a);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, exp->vmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static void dbt_vmap_no_callback(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf;
	struct iosys_map map;

	exp->ops.vmap = NULL;
	exp->ops.vunmap = NULL;
	dmabuf = dbt_export(exp);
	iosys_map_set_vaddr(&map, exp->vbuf);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	dbt_put_final(exp);
}

/* vunmap is optional for the exporter. */
static void dbt_vmap_no_vunmap_callback(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf;
	struct iosys_map map;

	exp->ops.vunmap = NULL;
	dmabuf = dbt_export(exp);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&dmabuf->vmap_ptr));
	dbt_put_final(exp);
}

/* A failing vmap leaves nothing mapped; the next try asks again. */
static void dbt_vmap_fails(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map;

	/* Upstream WARNs once per boot here; the contract does not say. */
	dbt_allow_warns(test);
	exp->vmap_ret = -ENOMEM;
	iosys_map_set_vaddr(&map, exp->vbuf);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), -ENOMEM);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&dmabuf->vmap_ptr));

	exp->vmap_ret = 0;
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	KUNIT_EXPECT_EQ(test, exp->vmapped, 2);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* dma_buf_vmap() without the reservation lock is reported. */
static void dbt_vmap_unlocked_warns(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map;
	int ret;

	dbt_need_lockdep(test);
	ret = dma_buf_vmap(dmabuf, &map);
	KUNIT_EXPECT_GE(test, dbt_case_warns(test), 1);
	dbt_allow_warns(test);
	if (!ret)
		dma_buf_vunmap_unlocked(dmabuf, &map);
	KUNIT_EXPECT_TRUE(test, debug_locks);
	dbt_clear_lock_errors(exp);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

/* An exporter that reports a mapping but gives no address is refused. */
static void dbt_vmap_no_address(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct iosys_map map;

	exp->vmap_no_addr = true;
	iosys_map_set_vaddr(&map, exp->vbuf);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);

	/* The next user asks the exporter again, and may succeed. */
	exp->vmap_no_addr = false;
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	KUNIT_EXPECT_EQ(test, exp->vmapped, 2);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	dbt_expect_balanced(exp);
	dbt_put_final(exp);
}

static void dbt_vmap_null(struct kunit *test)
{
	struct iosys_map map;

	iosys_map_set_vaddr(&map, &map);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(NULL, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	dma_buf_vunmap_unlocked(NULL, &map);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 2);
	dbt_expect_warns(test, 2);
}

static struct kunit_case dbt_vmap_cases[] = {
	KUNIT_CASE(dbt_vmap_refcount),
	KUNIT_CASE(dbt_vmap_locked),
	KUNIT_CASE(dbt_vmap_no_callback),
	KUNIT_CASE(dbt_vmap_no_vunmap_callback),
	KUNIT_CASE(dbt_vmap_fails),
	KUNIT_CASE(dbt_vmap_no_address),
	KUNIT_CASE(dbt_vmap_unlocked_warns),
	KUNIT_CASE(dbt_vmap_null),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_vmap_suite = {
	.name = "dma-buf-vmap",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_vmap_cases,
};

kunit_test_suites(&dbt_cpu_suite, &dbt_mmap_suite, &dbt_vmap_suite);

MODULE_DESCRIPTION("KUnit tests for CPU access to dma-bufs");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
