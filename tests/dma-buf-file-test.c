// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of what userspace does with a dma-buf fd: the ioctls, mmap,
 * poll, lseek, fdinfo and debugfs bufinfo.  Buffers come from a fake
 * exporter backed by real pages; "userspace" memory is a KUnit-made mm of
 * the test thread, so the handlers see real __user pointers and faults.
 */

#include <kunit/device.h>
#include <kunit/dma-buf.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/ctype.h>
#include <linux/debug_locks.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-buf.h>

#include "../dma-buf-internal.h"
#include "../dma-resv-internal.h"

/* The kit exporter's default size. */
#define TEST_SIZE	(KUNIT_DMA_BUF_DEFAULT_PAGES * PAGE_SIZE)
#define TEST_EXP_NAME	"fops-test-exporter"

/* The kit's exporter, with one buffer: zeroed pages that mmap maps. */
static struct dma_buf *export_buf(struct kunit *test,
				  struct kunit_dma_buf_exporter **expp,
				  bool read_only)
{
	struct kunit_dma_buf_exporter_config cfg = {
		.read_only = read_only,
		.name = TEST_EXP_NAME,
	};

	*expp = kunit_dma_buf_exporter_create(test, &cfg);
	return kunit_dma_buf_export(*expp);
}

/* An exporter without mmap and CPU access callbacks. */
static struct dma_buf *export_nommap(struct kunit *test,
				     struct kunit_dma_buf_exporter **expp)
{
	struct kunit_dma_buf_exporter *exp;

	exp = kunit_dma_buf_exporter_create(test, NULL);
	exp->ops = (struct dma_buf_ops) {
		.map_dma_buf = kunit_dma_buf_exporter_ops.map_dma_buf,
		.unmap_dma_buf = kunit_dma_buf_exporter_ops.unmap_dma_buf,
		.release = kunit_dma_buf_exporter_ops.release,
	};
	*expp = exp;
	return kunit_dma_buf_export(exp);
}

static int nr_mmaps(struct kunit_dma_buf_exporter *exp)
{
	return kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MMAP);
}

static int nr_begins(struct kunit_dma_buf_exporter *exp)
{
	return kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_BEGIN_CPU);
}

static int nr_ends(struct kunit_dma_buf_exporter *exp)
{
	return kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_END_CPU);
}

/* Both CPU access callbacks return @err. */
static void cpu_access_returns(struct kunit_dma_buf_exporter *exp, int err)
{
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_BEGIN_CPU, err);
	kunit_dma_buf_exporter_fail(exp, KUNIT_DMA_BUF_OP_END_CPU, err);
}

/* Anonymous read-write "userspace" memory in the test thread's mm. */
static void __user *user_mem(struct kunit *test, unsigned long len)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, len, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL((void *)addr));
	return (void __user *)addr;
}

/* A user page followed by an unmapped one; returns the start of the hole. */
static char __user *user_hole(struct kunit *test)
{
	char __user *p = user_mem(test, 2 * PAGE_SIZE);

	KUNIT_ASSERT_EQ(test, vm_munmap((unsigned long)p + PAGE_SIZE,
					PAGE_SIZE), 0);
	return p + PAGE_SIZE;
}

static long do_ioctl(struct dma_buf *dmabuf, unsigned int cmd,
		     const void __user *arg)
{
	struct file *file = dmabuf->file;

	return file->f_op->unlocked_ioctl(file, cmd, (unsigned long)arg);
}

/* Fences the test signals by hand. */
static DEFINE_SPINLOCK(test_fence_lock);

static const char *test_fence_driver(struct dma_fence *fence)
{
	return "fops-test";
}

static const char *test_fence_timeline(struct dma_fence *fence)
{
	return "fops-timeline";
}

static const struct dma_fence_ops test_fence_ops = {
	.get_driver_name = test_fence_driver,
	.get_timeline_name = test_fence_timeline,
};

static struct dma_fence *new_fence(struct kunit *test)
{
	struct dma_fence *fence = kzalloc(sizeof(*fence), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fence);
	dma_fence_init(fence, &test_fence_ops, &test_fence_lock,
		       dma_fence_context_alloc(1), 1);
	return fence;
}

static void add_fence(struct kunit *test, struct dma_buf *dmabuf,
		      struct dma_fence *fence, enum dma_resv_usage usage)
{
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(dmabuf->resv, 1), 0);
	dma_resv_add_fence(dmabuf->resv, fence, usage);
	dma_resv_unlock(dmabuf->resv);
}

static void signal_and_put(struct dma_fence *fence)
{
	dma_fence_signal(fence);
	dma_fence_put(fence);
}

/*
 * fds: KUnit threads share the fd table of kernel threads, so every fd a
 * case installs is closed again before it ends.  The lowest free fd tells
 * whether an ioctl leaked one.
 */
static int lowest_free_fd(struct kunit *test)
{
	int fd = get_unused_fd_flags(0);

	KUNIT_ASSERT_GE(test, fd, 0);
	put_unused_fd(fd);
	return fd;
}

static void test_llseek(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct file *file = dmabuf->file;

	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_END), (loff_t)TEST_SIZE);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_SET), 0);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_CUR), -EINVAL);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 1, SEEK_END), -EINVAL);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, -1, SEEK_END), -EINVAL);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, PAGE_SIZE, SEEK_SET), -EINVAL);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_DATA), -EINVAL);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_HOLE), -EINVAL);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_ioctl_unknown(struct kunit *test)
{
	static const unsigned int cmds[] = {
		_IO(DMA_BUF_BASE, 0),		/* SYNC's number, wrong size */
		_IOW(DMA_BUF_BASE, 0, __u32),
		_IOR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file),
		_IOW(DMA_BUF_BASE, 4, __u64),
		_IO('x', 1),
		0,
	};
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	void __user *mem = user_mem(test, PAGE_SIZE);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		KUNIT_EXPECT_EQ_MSG(test, do_ioctl(dmabuf, cmds[i], mem),
				    -ENOTTY, "cmd %#x", cmds[i]);
	KUNIT_EXPECT_EQ(test, nr_begins(exp) + nr_ends(exp), 0);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_ioctl_sync(struct kunit *test)
{
	static const struct {
		u64 flags;
		bool end;
		enum dma_data_direction dir;
	} ok[] = {
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, false, DMA_FROM_DEVICE },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ, true, DMA_FROM_DEVICE },
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE, false, DMA_TO_DEVICE },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, true, DMA_TO_DEVICE },
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW, false, DMA_BIDIRECTIONAL },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW, true, DMA_BIDIRECTIONAL },
	};
	static const u64 bad[] = {
		0,
		DMA_BUF_SYNC_END,
		DMA_BUF_SYNC_READ | (1 << 3),
		DMA_BUF_SYNC_RW | (1ULL << 32),
		DMA_BUF_SYNC_WRITE | (1ULL << 63),
		~0ULL,
	};
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_buf_sync __user *arg = user_mem(test, PAGE_SIZE);
	unsigned int i, begins, ends;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		begins = nr_begins(exp);
		ends = nr_ends(exp);
		KUNIT_ASSERT_EQ(test, put_user(ok[i].flags, &arg->flags), 0);
		KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, arg), 0);
		if (ok[i].end) {
			KUNIT_EXPECT_EQ(test, nr_ends(exp), ends + 1);
			KUNIT_EXPECT_EQ(test, nr_begins(exp), begins);
			KUNIT_EXPECT_EQ(test, exp->end_dir, ok[i].dir);
		} else {
			KUNIT_EXPECT_EQ(test, nr_begins(exp), begins + 1);
			KUNIT_EXPECT_EQ(test, nr_ends(exp), ends);
			KUNIT_EXPECT_EQ(test, exp->begin_dir, ok[i].dir);
		}
	}

	begins = nr_begins(exp);
	ends = nr_ends(exp);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_ASSERT_EQ(test, put_user(bad[i], &arg->flags), 0);
		KUNIT_EXPECT_EQ_MSG(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, arg),
				    -EINVAL, "flags %#llx", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, nr_begins(exp), begins);
	KUNIT_EXPECT_EQ(test, nr_ends(exp), ends);

	/* The exporter's answer is what userspace gets. */
	cpu_access_returns(exp, -EIO);
	KUNIT_ASSERT_EQ(test, put_user((u64)DMA_BUF_SYNC_READ, &arg->flags), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, arg), -EIO);
	cpu_access_returns(exp, 0);

	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC,
				       user_hole(test)), -EFAULT);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC,
				       (char __user *)user_hole(test) - 4),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, nr_begins(exp), begins + 1);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* The buffer's name as the core holds it, "" for none. */
static void get_name(struct dma_buf *dmabuf, char *buf)
{
	spin_lock(&dmabuf->name_lock);
	strscpy(buf, dmabuf->name ?: "", DMA_BUF_NAME_LEN);
	spin_unlock(&dmabuf->name_lock);
}

static void test_set_name(struct kunit *test)
{
	static const char longest[] = "0123456789abcdefghijklmnopqrstu";
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	char __user *u = user_mem(test, PAGE_SIZE);
	char name[DMA_BUF_NAME_LEN];

	BUILD_BUG_ON(sizeof(longest) != DMA_BUF_NAME_LEN);
	KUNIT_EXPECT_NULL(test, dmabuf->name);

	KUNIT_ASSERT_EQ(test, copy_to_user(u, "first", 6), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), 0);
	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, "first");

	KUNIT_ASSERT_EQ(test, copy_to_user(u, longest, sizeof(longest)), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_B, u), 0);
	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, longest);

	/* The native spelling is one of the two. */
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "", 1), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME, u), 0);
	KUNIT_EXPECT_NOT_NULL(test, dmabuf->name);
	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, "");

	/* A name that ends right before unmapped memory is fine. */
	u = user_hole(test) - 4;
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "end", 4), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), 0);
	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, "end");
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_set_name_invalid(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	char __user *u = user_mem(test, PAGE_SIZE);
	char __user *hole;
	char name[DMA_BUF_NAME_LEN + 1];

	KUNIT_ASSERT_EQ(test, copy_to_user(u, "kept", 5), 0);
	KUNIT_ASSERT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), 0);

	/* 32 bytes and no NUL among them. */
	memset(name, 'x', sizeof(name));
	KUNIT_ASSERT_EQ(test, copy_to_user(u, name, sizeof(name)), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), -EINVAL);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_B, u), -EINVAL);

	hole = user_hole(test);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, hole), -EFAULT);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_B, NULL), -EFAULT);
	/* Runs into the hole before any NUL. */
	KUNIT_ASSERT_EQ(test, copy_to_user(hole - 5, "abcde", 5), 0);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, hole - 5),
			-EFAULT);

	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, "kept");
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void *failing_kzalloc(struct kmem_cache *cache, size_t size,
			     gfp_t gfp)
{
	return NULL;
}

static void test_set_name_nomem(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	char __user *u = user_mem(test, PAGE_SIZE);
	char name[DMA_BUF_NAME_LEN];

	KUNIT_ASSERT_EQ(test, copy_to_user(u, "old", 4), 0);
	KUNIT_ASSERT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), 0);

	KUNIT_ASSERT_EQ(test, copy_to_user(u, "new", 4), 0);
	kunit_activate_static_stub(test, dma_buf_kunit_kzalloc, failing_kzalloc);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), -ENOMEM);
	kunit_deactivate_static_stub(test, dma_buf_kunit_kzalloc);

	get_name(dmabuf, name);
	KUNIT_EXPECT_STREQ(test, name, "old");
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* fdinfo as procfs shows it: procfs holds one reference while it does. */
static char *fdinfo(struct kunit *test, struct dma_buf *dmabuf)
{
	struct seq_file m = { .size = PAGE_SIZE };
	struct file *file = dmabuf->file;

	m.buf = kunit_kzalloc(test, m.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	get_file(file);
	file->f_op->show_fdinfo(&m, file);
	fput(file);
	KUNIT_ASSERT_LT(test, m.count, m.size);
	m.buf[m.count] = '\0';
	return m.buf;
}

static void test_fdinfo(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	char __user *u = user_mem(test, PAGE_SIZE);
	char *want;

	want = kasprintf(GFP_KERNEL, "size:\t%lu\ncount:\t1\nexp_name:\t%s\n",
			 TEST_SIZE, TEST_EXP_NAME);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_EXPECT_STREQ(test, fdinfo(test, dmabuf), want);
	kfree(want);

	/* Another holder of the file, e.g. a second process. */
	get_file(dmabuf->file);
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "scanout-0", 10), 0);
	KUNIT_ASSERT_EQ(test, do_ioctl(dmabuf, DMA_BUF_SET_NAME_A, u), 0);
	want = kasprintf(GFP_KERNEL,
			 "size:\t%lu\ncount:\t2\nexp_name:\t%s\nname:\tscanout-0\n",
			 TEST_SIZE, TEST_EXP_NAME);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_EXPECT_STREQ(test, fdinfo(test, dmabuf), want);
	kfree(want);
	fput(dmabuf->file);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static unsigned long map_buf(struct dma_buf *dmabuf, unsigned long len,
			     unsigned long prot, unsigned long flags,
			     unsigned long off)
{
	return vm_mmap(dmabuf->file, 0, len, prot, flags, off);
}

static unsigned long vma_flags_at(unsigned long addr)
{
	struct vm_area_struct *vma;
	unsigned long flags = 0;

	mmap_read_lock(current->mm);
	vma = find_vma(current->mm, addr);
	if (vma && vma->vm_start <= addr)
		flags = vma->vm_flags;
	mmap_read_unlock(current->mm);
	return flags;
}

static void test_mmap(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	unsigned long addr, flags;
	char word[8];

	user_mem(test, PAGE_SIZE);	/* gives the test thread an mm */
	addr = map_buf(dmabuf, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, nr_mmaps(exp), 1);
	flags = vma_flags_at(addr);
	/* Whether the mapping may grow is the exporter's choice, not ours. */
	KUNIT_EXPECT_FALSE(test, flags & VM_DONTEXPAND);
	KUNIT_EXPECT_TRUE(test, flags & VM_MAYWRITE);

	/* Writes through the mapping land in the exporter's pages. */
	KUNIT_EXPECT_EQ(test, copy_to_user((char __user *)addr + 2 * PAGE_SIZE,
					   "page-2", 7), 0);
	KUNIT_EXPECT_STREQ(test, (char *)page_address(exp->pages[2]), "page-2");
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, TEST_SIZE), 0);

	/* A window at an offset sees the right page. */
	strscpy(page_address(exp->pages[3]), "page-3", 8);
	addr = map_buf(dmabuf, PAGE_SIZE, PROT_READ, MAP_SHARED, 3 * PAGE_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, copy_from_user(word, (char __user *)addr, 7), 0);
	KUNIT_EXPECT_STREQ(test, word, "page-3");
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);

	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_mmap_range(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp, *exp2;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_buf *nommap = export_nommap(test, &exp2);
	const unsigned long rw = PROT_READ | PROT_WRITE;
	struct vm_area_struct *vma;

	user_mem(test, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, TEST_SIZE + PAGE_SIZE, rw,
				      MAP_SHARED, 0), (unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, TEST_SIZE, rw, MAP_SHARED,
				      PAGE_SIZE), (unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, PAGE_SIZE, rw, MAP_SHARED,
				      TEST_SIZE), (unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, PAGE_SIZE, rw, MAP_SHARED,
				      64 * TEST_SIZE), (unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, map_buf(nommap, PAGE_SIZE, rw, MAP_SHARED, 0),
			(unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, nr_mmaps(exp), 0);

	/*
	 * vm_mmap() itself refuses page offsets that wrap, so hand the
	 * handler such a VMA directly; it must refuse before touching it.
	 */
	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	vma->vm_start = PAGE_SIZE;
	vma->vm_end = 3 * PAGE_SIZE;
	vma->vm_pgoff = ULONG_MAX;
	KUNIT_EXPECT_EQ(test, dmabuf->file->f_op->mmap(dmabuf->file, vma),
			-EINVAL);
	vma->vm_pgoff = ULONG_MAX - 1;
	KUNIT_EXPECT_EQ(test, dmabuf->file->f_op->mmap(dmabuf->file, vma),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, nr_mmaps(exp), 0);

	kunit_dma_buf_put_final(exp2, nommap);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/*
 * A read-only fd, as PRIME hands out without DRM_RDWR.  The VFS refuses
 * shared writable mappings and keeps shared ones from becoming writable
 * (no VM_MAYWRITE, which mprotect() checks).  Private mappings may be
 * writable from the start or later, as in 6.12: their writes go to
 * private copies of the pages, never to the buffer.
 */
static void test_mmap_readonly(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, true);
	const unsigned long rw = PROT_READ | PROT_WRITE;
	unsigned long addr, flags;
	char word[8];

	user_mem(test, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, TEST_SIZE, rw, MAP_SHARED, 0),
			(unsigned long)-EACCES);
	KUNIT_EXPECT_EQ(test, map_buf(dmabuf, TEST_SIZE, PROT_WRITE,
				      MAP_SHARED, 0), (unsigned long)-EACCES);
	KUNIT_EXPECT_EQ(test, nr_mmaps(exp), 0);

	addr = map_buf(dmabuf, TEST_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_FALSE(test, vma_flags_at(addr) & (VM_WRITE | VM_MAYWRITE));
	KUNIT_EXPECT_NE(test, copy_to_user((char __user *)addr, "x", 1), 0);
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, TEST_SIZE), 0);

	/* Private and writable: the write stays in the process. */
	strscpy(page_address(exp->pages[1]), "shared", 8);
	addr = map_buf(dmabuf, TEST_SIZE, rw, MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	flags = vma_flags_at(addr);
	KUNIT_EXPECT_TRUE(test, flags & VM_WRITE);
	KUNIT_EXPECT_FALSE(test, flags & VM_SHARED);
	KUNIT_EXPECT_EQ(test, copy_to_user((char __user *)addr + PAGE_SIZE,
					   "privat", 7), 0);
	KUNIT_EXPECT_EQ(test, copy_from_user(word, (char __user *)addr +
					     PAGE_SIZE, 7), 0);
	KUNIT_EXPECT_STREQ(test, word, "privat");
	KUNIT_EXPECT_STREQ(test, (char *)page_address(exp->pages[1]), "shared");
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, TEST_SIZE), 0);

	addr = map_buf(dmabuf, PAGE_SIZE, PROT_WRITE, MAP_PRIVATE, 0);
	KUNIT_EXPECT_FALSE(test, IS_ERR_VALUE(addr));
	if (!IS_ERR_VALUE(addr))
		KUNIT_EXPECT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);

	/* Private and read-only: mprotect() may add write access later. */
	addr = map_buf(dmabuf, TEST_SIZE, PROT_READ, MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	flags = vma_flags_at(addr);
	KUNIT_EXPECT_FALSE(test, flags & VM_WRITE);
	KUNIT_EXPECT_TRUE(test, flags & VM_MAYWRITE);
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, TEST_SIZE), 0);
	KUNIT_EXPECT_EQ(test, nr_mmaps(exp), 4);

	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

/*
 * A poll table that records which events wake it, like a sleeping
 * poll() or epoll would be woken.
 */
struct poll_probe {
	poll_table pt;
	wait_queue_entry_t wait;
	wait_queue_head_t *head;
	unsigned int woken;	/* __poll_t bits, as KUnit compares integers */
};

static int probe_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
		      void *key)
{
	struct poll_probe *p = container_of(wait, struct poll_probe, wait);

	p->woken |= (__force unsigned int)key_to_poll(key);
	return 0;
}

static void probe_queue(struct file *file, wait_queue_head_t *head,
			poll_table *pt)
{
	struct poll_probe *p = container_of(pt, struct poll_probe, pt);

	if (p->head)
		return;
	p->head = head;
	init_waitqueue_func_entry(&p->wait, probe_wake);
	add_wait_queue(head, &p->wait);
}

static void probe_init(struct poll_probe *p, __poll_t events)
{
	memset(p, 0, sizeof(*p));
	init_poll_funcptr(&p->pt, probe_queue);
	p->pt._key = events;
}

static void probe_fini(struct poll_probe *p)
{
	if (p->head)
		remove_wait_queue(p->head, &p->wait);
}

#define EV_IN	((__force unsigned int)EPOLLIN)
#define EV_OUT	((__force unsigned int)EPOLLOUT)

static unsigned int do_poll(struct dma_buf *dmabuf, struct poll_probe *p)
{
	return (__force unsigned int)vfs_poll(dmabuf->file, p ? &p->pt : NULL);
}

/* Which event a poll callback is armed for, 0 when it is not. */
static unsigned int armed(struct dma_buf_poll_cb_t *dcb)
{
	return (__force unsigned int)READ_ONCE(dcb->active);
}

static void test_poll_no_fences(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *f = new_fence(test);
	struct poll_probe p;

	probe_init(&p, EPOLLIN | EPOLLOUT);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN | EV_OUT);
	KUNIT_EXPECT_PTR_EQ(test, p.head, &dmabuf->poll);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);

	/* Signaled fences count as none. */
	dma_fence_signal(f);
	add_fence(test, dmabuf, f, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN | EV_OUT);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);

	/* Bookkeeping fences are nobody's business in implicit sync. */
	dma_fence_put(f);
	f = new_fence(test);
	add_fence(test, dmabuf, f, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN | EV_OUT);

	/* Asking for neither event gives neither, and arms nothing. */
	probe_fini(&p);
	probe_init(&p, EPOLLPRI);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	probe_fini(&p);
	signal_and_put(f);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_poll_read_fence(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *f = new_fence(test);
	struct poll_probe p;

	add_fence(test, dmabuf, f, DMA_RESV_USAGE_READ);
	probe_init(&p, EPOLLIN | EPOLLOUT);

	/* Readers do not hold up other readers, only writers. */
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), EV_OUT);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);

	/* Polling again while armed arms nothing more. */
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	KUNIT_EXPECT_EQ(test, p.woken, 0);

	signal_and_put(f);
	KUNIT_EXPECT_EQ(test, p.woken, EV_OUT);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), 0);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN | EV_OUT);
	probe_fini(&p);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_poll_write_fence(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *w = new_fence(test), *r = new_fence(test);
	struct poll_probe p;

	add_fence(test, dmabuf, w, DMA_RESV_USAGE_WRITE);
	add_fence(test, dmabuf, r, DMA_RESV_USAGE_READ);
	probe_init(&p, EPOLLIN | EPOLLOUT);

	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), EV_IN);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), EV_OUT);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 3);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 3);

	/* The writer done: readable; the reader still keeps writers out. */
	signal_and_put(w);
	KUNIT_EXPECT_TRUE(test, p.woken & EV_IN);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), 0);
	p.woken = 0;
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), EV_OUT);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);

	signal_and_put(r);
	KUNIT_EXPECT_EQ(test, p.woken, EV_OUT);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), EV_IN | EV_OUT);
	probe_fini(&p);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_poll_only_requested(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *w = new_fence(test);
	struct poll_probe p;

	add_fence(test, dmabuf, w, DMA_RESV_USAGE_WRITE);
	probe_init(&p, EPOLLIN);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), EV_IN);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	probe_fini(&p);

	probe_init(&p, EPOLLOUT);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, &p), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), EV_OUT);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 3);

	signal_and_put(w);
	KUNIT_EXPECT_TRUE(test, p.woken & EV_OUT);
	probe_fini(&p);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_poll_close_while_armed(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *w = new_fence(test);

	add_fence(test, dmabuf, w, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), 0);

	/* Every fd closed: the armed callbacks keep the buffer. */
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->released), 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);

	signal_and_put(w);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->released), 1);
}

/*
 * A fence whose release must not run inside its own signaling, as
 * sw_sync's: it signals under the timeline lock, which its release takes.
 */
struct release_probe {
	bool signaling;
	unsigned int released;
	unsigned int released_signaling;
};

struct probed_fence {
	struct dma_fence base;
	struct release_probe *probe;
};

static void probed_fence_release(struct dma_fence *fence)
{
	struct probed_fence *pf = container_of(fence, struct probed_fence, base);

	pf->probe->released++;
	if (pf->probe->signaling)
		pf->probe->released_signaling++;
	dma_fence_free(fence);
}

static const struct dma_fence_ops probed_fence_ops = {
	.get_driver_name = test_fence_driver,
	.get_timeline_name = test_fence_timeline,
	.release = probed_fence_release,
};

/*
 * Arm both poll callbacks on a new fence, then let the reservation object
 * and the test drop theirs: the callbacks hold the only references left.
 */
static struct dma_fence *arm_on_orphan(struct kunit *test,
				       struct dma_buf *dmabuf,
				       struct release_probe *probe)
{
	struct probed_fence *pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	struct dma_fence *stub = dma_fence_get_stub();
	unsigned int released = probe->released;

	KUNIT_ASSERT_NOT_NULL(test, pf);
	pf->probe = probe;
	dma_fence_init(&pf->base, &probed_fence_ops, &test_fence_lock,
		       dma_fence_context_alloc(1), 1);
	add_fence(test, dmabuf, &pf->base, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), EV_IN);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), EV_OUT);

	dma_resv_lock(dmabuf->resv, NULL);
	dma_resv_replace_fences(dmabuf->resv, pf->base.context, stub,
				DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(dmabuf->resv);
	dma_fence_put(stub);
	dma_fence_put(&pf->base);
	KUNIT_EXPECT_EQ(test, probe->released, released);
	return &pf->base;
}

/* Signal as sw_sync does on timeline release: under the fence's lock. */
static void signal_locked(struct dma_fence *fence, struct release_probe *probe)
{
	unsigned long flags;

	spin_lock_irqsave(&test_fence_lock, flags);
	probe->signaling = true;
	dma_fence_signal_locked(fence);
	probe->signaling = false;
	spin_unlock_irqrestore(&test_fence_lock, flags);
}

static void test_poll_callback_defers_fence_put(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct release_probe probe = {};
	struct dma_fence *f;

	f = arm_on_orphan(test, dmabuf, &probe);
	signal_locked(f, &probe);
	KUNIT_EXPECT_EQ(test, probe.released_signaling, 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_in), 0);
	KUNIT_EXPECT_EQ(test, armed(&dmabuf->cb_out), 0);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);

	/* The next poll() lets go of the signaled fence, in process context. */
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN | EV_OUT);
	KUNIT_EXPECT_EQ(test, probe.released, 1);

	/* Without another poll(), the buffer's release does. */
	f = arm_on_orphan(test, dmabuf, &probe);
	signal_locked(f, &probe);
	KUNIT_EXPECT_EQ(test, probe.released, 1);
	kunit_dma_buf_put_final(exp, dmabuf);
	KUNIT_EXPECT_EQ(test, probe.released, 2);
	KUNIT_EXPECT_EQ(test, probe.released_signaling, 0);
}

/* Export a sync_file for @flags and take its fence out of it. */
static struct dma_fence *export_fence(struct kunit *test,
				      struct dma_buf *dmabuf, u32 flags)
{
	struct dma_buf_export_sync_file __user *arg = user_mem(test, PAGE_SIZE);
	struct dma_fence *fence;
	s32 fd = -1;

	KUNIT_ASSERT_EQ(test, put_user(flags, &arg->flags), 0);
	KUNIT_ASSERT_EQ(test, put_user(-1, &arg->fd), 0);
	KUNIT_ASSERT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				       arg), 0);
	KUNIT_ASSERT_EQ(test, get_user(fd, &arg->fd), 0);
	KUNIT_ASSERT_GE(test, fd, 0);
	fence = sync_file_get_fence(fd);
	KUNIT_EXPECT_EQ(test, close_fd(fd), 0);
	KUNIT_ASSERT_NOT_NULL(test, fence);
	return fence;
}

static void test_export_sync_file(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *w = new_fence(test), *r = new_fence(test);
	struct dma_fence *got, *got_rw;

	/* No fences: a sync_file that has signaled already. */
	got = export_fence(test, dmabuf, DMA_BUF_SYNC_READ);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got));
	dma_fence_put(got);
	got = export_fence(test, dmabuf, DMA_BUF_SYNC_RW);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got));
	dma_fence_put(got);

	/* A reader: nothing for another reader to wait for, but for a writer. */
	add_fence(test, dmabuf, r, DMA_RESV_USAGE_READ);
	got = export_fence(test, dmabuf, DMA_BUF_SYNC_READ);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got));
	dma_fence_put(got);
	got = export_fence(test, dmabuf, DMA_BUF_SYNC_WRITE);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(got));
	signal_and_put(r);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got));
	dma_fence_put(got);

	/* A writer: readers wait for it; RW is the same as WRITE. */
	r = new_fence(test);
	add_fence(test, dmabuf, w, DMA_RESV_USAGE_WRITE);
	add_fence(test, dmabuf, r, DMA_RESV_USAGE_READ);
	got = export_fence(test, dmabuf, DMA_BUF_SYNC_READ);
	got_rw = export_fence(test, dmabuf, DMA_BUF_SYNC_RW);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(got));
	signal_and_put(w);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(got_rw));
	signal_and_put(r);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(got_rw));
	dma_fence_put(got);
	dma_fence_put(got_rw);

	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_export_sync_file_errors(struct kunit *test)
{
	static const u32 bad[] = { 0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ | 8,
				   1u << 31, ~0u };
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_buf_export_sync_file __user *arg = user_mem(test, PAGE_SIZE);
	struct dma_buf_export_sync_file *karg;
	unsigned long ro;
	unsigned int i;
	int fd;

	fd = lowest_free_fd(test);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_ASSERT_EQ(test, put_user(bad[i], &arg->flags), 0);
		KUNIT_EXPECT_EQ_MSG(test,
				    do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, arg),
				    -EINVAL, "flags %#x", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				       user_hole(test)), -EFAULT);

	/*
	 * Readable but not writable: the sync_file is made, then the fd
	 * cannot be copied out.  Neither may be left behind.  The read-only
	 * memory is the buffer's own first page, mapped read-only.
	 */
	karg = page_address(exp->pages[0]);
	karg->flags = DMA_BUF_SYNC_RW;
	karg->fd = -1;
	ro = map_buf(dmabuf, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(ro));
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				       (void __user *)ro), -EFAULT);
	KUNIT_EXPECT_EQ(test, karg->fd, -1);
	KUNIT_EXPECT_EQ(test, vm_munmap(ro, PAGE_SIZE), 0);

	KUNIT_EXPECT_EQ(test, lowest_free_fd(test), fd);
	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

/* Put @fence in a sync_file and give it an fd. */
static int sync_file_fd(struct kunit *test, struct dma_fence *fence)
{
	struct sync_file *sf = sync_file_create(fence);
	int fd;

	KUNIT_ASSERT_NOT_NULL(test, sf);
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		fput(sf->file);
	KUNIT_ASSERT_GE(test, fd, 0);
	fd_install(fd, sf->file);
	return fd;
}

static long import_fd(struct kunit *test, struct dma_buf *dmabuf, u32 flags,
		      s32 fd)
{
	struct dma_buf_import_sync_file __user *arg = user_mem(test, PAGE_SIZE);

	KUNIT_ASSERT_EQ(test, put_user(flags, &arg->flags), 0);
	KUNIT_ASSERT_EQ(test, put_user(fd, &arg->fd), 0);
	return do_ioctl(dmabuf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, arg);
}

/* How many fences of exactly @usage the buffer holds, and whether @fence. */
static unsigned int count_fences(struct dma_buf *dmabuf,
				 enum dma_resv_usage usage,
				 struct dma_fence *fence, bool *found)
{
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	unsigned int n = 0;

	*found = false;
	dma_resv_lock(dmabuf->resv, NULL);
	dma_resv_for_each_fence(&cursor, dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP, f) {
		if (dma_resv_iter_usage(&cursor) != usage)
			continue;
		n++;
		if (f == fence)
			*found = true;
	}
	dma_resv_unlock(dmabuf->resv);
	return n;
}

static void test_import_sync_file(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *r = new_fence(test), *w = new_fence(test);
	bool found;
	int fd;

	fd = sync_file_fd(test, r);
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_READ, fd), 0);
	close_fd(fd);
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_READ, r,
					   &found), 1);
	KUNIT_EXPECT_TRUE(test, found);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN);

	fd = sync_file_fd(test, w);
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_RW, fd), 0);
	close_fd(fd);
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_WRITE, w,
					   &found), 1);
	KUNIT_EXPECT_TRUE(test, found);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), 0);

	signal_and_put(w);
	signal_and_put(r);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN | EV_OUT);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_import_sync_file_container(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence **fences;
	struct dma_fence_array *array;
	struct dma_fence *a, *b;
	bool found;
	int fd;

	fences = kmalloc_array(2, sizeof(*fences), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fences);
	a = new_fence(test);
	b = new_fence(test);
	fences[0] = dma_fence_get(a);
	fences[1] = dma_fence_get(b);
	array = dma_fence_array_create(2, fences, dma_fence_context_alloc(1),
				       1, false);
	KUNIT_ASSERT_NOT_NULL(test, array);

	fd = sync_file_fd(test, &array->base);
	dma_fence_put(&array->base);
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_WRITE, fd), 0);
	close_fd(fd);

	/* The members went in, not the container. */
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_WRITE, a,
					   &found), 2);
	KUNIT_EXPECT_TRUE(test, found);
	count_fences(dmabuf, DMA_RESV_USAGE_WRITE, b, &found);
	KUNIT_EXPECT_TRUE(test, found);

	signal_and_put(a);
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), 0);
	signal_and_put(b);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, do_poll(dmabuf, NULL), EV_IN | EV_OUT);
	kunit_dma_buf_put_final(exp, dmabuf);
}

/*
 * A kthread that holds a buffer's reservation lock until @waiter is seen
 * asleep uninterruptibly (queued on the lock), or a few seconds passed.
 */
struct lock_holder {
	struct dma_resv *resv;
	struct task_struct *waiter;
	struct completion locked;
	bool saw_waiter;
};

/*
 * Asleep uninterruptibly is not enough: the ioctl might sleep so elsewhere
 * first, and the old interruptible lock would then find the lock free and
 * succeed without ever looking at the signal.  Wait until it is queued.
 */
static bool lock_has_waiter(struct dma_resv *resv)
{
#ifdef CONFIG_PREEMPT_RT
	return true;	/* an rt_mutex: no wait list to look at */
#else
	return !list_empty(&resv->lock.base.wait_list);
#endif
}

static int lock_holder_fn(void *data)
{
	struct lock_holder *h = data;
	unsigned long end = jiffies + 5 * HZ;

	dma_resv_lock(h->resv, NULL);
	complete(&h->locked);
	while (time_before(jiffies, end)) {
		if (READ_ONCE(h->waiter->__state) == TASK_UNINTERRUPTIBLE &&
		    lock_has_waiter(h->resv)) {
			h->saw_waiter = true;
			break;
		}
		schedule_timeout_uninterruptible(1);
	}
	dma_resv_unlock(h->resv);
	while (!kthread_should_stop())
		schedule_timeout_uninterruptible(1);
	return 0;
}

/*
 * IMPORT_SYNC_FILE on a contended lock with a signal pending: it waits
 * for the lock and imports, as 6.12 does, instead of failing with EINTR.
 */
static void test_import_sync_file_signal(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *f = new_fence(test);
	struct dma_buf_import_sync_file __user *arg = user_mem(test, PAGE_SIZE);
	struct lock_holder h = { .resv = dmabuf->resv, .waiter = current };
	struct task_struct *holder;
	bool found;
	long ret;
	int fd;

	fd = sync_file_fd(test, f);
	KUNIT_ASSERT_EQ(test, put_user(DMA_BUF_SYNC_WRITE, &arg->flags), 0);
	KUNIT_ASSERT_EQ(test, put_user(fd, &arg->fd), 0);
	init_completion(&h.locked);
	holder = kthread_run(lock_holder_fn, &h, "dma-buf-lock-holder");
	KUNIT_ASSERT_FALSE(test, IS_ERR(holder));
	wait_for_completion(&h.locked);

	/* KUnit runs cases in kthreads, which ignore signals by default. */
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	KUNIT_EXPECT_TRUE(test, signal_pending(current));
	ret = do_ioctl(dmabuf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, arg);
	flush_signals(current);
	disallow_signal(SIGUSR1);
	kthread_stop(holder);

	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE_MSG(test, h.saw_waiter,
			      "the ioctl never waited for the lock");
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_WRITE, f,
					   &found), 1);
	KUNIT_EXPECT_TRUE(test, found);
	close_fd(fd);
	signal_and_put(f);
	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

static void test_import_sync_file_errors(struct kunit *test)
{
	static const u32 bad[] = { 0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_WRITE | 4,
				   1u << 31, ~0u };
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_fence *f = new_fence(test);
	unsigned int i;
	bool found;
	int fd, bufd;

	fd = sync_file_fd(test, f);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, import_fd(test, dmabuf, bad[i], fd),
				    -EINVAL, "flags %#x", bad[i]);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
				       user_hole(test)), -EFAULT);
	close_fd(fd);

	/* fds that are no sync_file: closed, negative, a dma-buf. */
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_READ, fd),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_READ, -1),
			-EINVAL);
	bufd = dma_buf_fd(dmabuf, O_CLOEXEC);
	KUNIT_ASSERT_GE(test, bufd, 0);
	get_file(dmabuf->file);	/* the fd now owns the test's reference */
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_READ, bufd),
			-EINVAL);
	close_fd(bufd);

	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_READ, f,
					   &found), 0);
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_WRITE, f,
					   &found), 0);
	signal_and_put(f);
	flush_delayed_fput();
	kunit_dma_buf_put_final(exp, dmabuf);
}

/*
 * Read debugfs dma_buf/bufinfo the way a tool does, through a mount of
 * debugfs of our own (nothing mounts it in a KUnit boot).
 */
static char *read_bufinfo(struct kunit *test)
{
	struct file_system_type *type = get_fs_type("debugfs");
	struct vfsmount *mnt;
	struct file *file;
	size_t len = 0, size = 4 * PAGE_SIZE;
	char __user *ubuf;
	loff_t pos = 0;
	ssize_t n;
	char *buf;

	if (!type)
		kunit_skip(test, "no debugfs");
	mnt = kern_mount(type);
	KUNIT_ASSERT_FALSE(test, IS_ERR(mnt));
	file = file_open_root_mnt(mnt, "dma_buf/bufinfo", O_RDONLY, 0);
	if (IS_ERR(file)) {
		kern_unmount(mnt);
		KUNIT_FAIL_AND_ABORT(test, "open bufinfo: %ld", PTR_ERR(file));
	}

	buf = kunit_kzalloc(test, size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	/* debugfs files have no read_iter, so read like userspace does. */
	ubuf = user_mem(test, PAGE_SIZE);
	for (;;) {
		n = file->f_op->read(file, ubuf,
				     min(size - 1 - len, PAGE_SIZE), &pos);
		if (n <= 0)
			break;
		if (copy_from_user(buf + len, ubuf, n)) {
			n = -EFAULT;
			break;
		}
		len += n;
		if (len == size - 1) {
			char *bigger = kunit_kzalloc(test, 2 * size, GFP_KERNEL);

			KUNIT_ASSERT_NOT_NULL(test, bigger);
			memcpy(bigger, buf, len);
			buf = bigger;
			size *= 2;
		}
	}
	fput(file);
	kern_unmount(mnt);
	KUNIT_ASSERT_EQ(test, n, 0);
	buf[len] = '\0';
	return buf;
}

static const char *next_line(const char *line)
{
	line = strchr(line, '\n');
	return line ? line + 1 : NULL;
}

/*
 * A buffer's first line: size, flags, mode, count, exp_name, ino, name,
 * the numbers zero-padded to 8 digits.  Returns the size and inode.
 */
static bool buffer_line(const char *line, size_t *size, unsigned long *ino)
{
	return isdigit(line[0]) && line[8] == '\t' &&
	       sscanf(line, "%zu %*x %*x %*u %*s %lu", size, ino) == 2;
}

/* The part of @text about the buffer with inode @ino, up to its blank line. */
static char *bufinfo_entry(struct kunit *test, const char *text,
			   unsigned long ino)
{
	const char *line, *end;
	unsigned long i;
	size_t size;
	char *copy;

	for (line = text; line && *line; line = next_line(line)) {
		if (buffer_line(line, &size, &i) && i == ino) {
			end = strstr(line, "\n\n");
			KUNIT_ASSERT_NOT_NULL(test, end);
			copy = kunit_kzalloc(test, end + 3 - line, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, copy);
			return memcpy(copy, line, end + 2 - line);
		}
	}
	return NULL;
}

static void check_totals(struct kunit *test, const char *text)
{
	unsigned int objects = 0, want_objects;
	size_t bytes = 0, want_bytes, size;
	const char *line, *total;
	unsigned long ino;
	int n;

	total = strstr(text, "\nTotal ");
	while (total && strstr(total + 1, "\nTotal "))
		total = strstr(total + 1, "\nTotal ");
	KUNIT_ASSERT_NOT_NULL(test, total);
	n = sscanf(total, "\nTotal %u objects, %zu bytes\n", &want_objects,
		   &want_bytes);
	KUNIT_ASSERT_EQ(test, n, 2);
	KUNIT_EXPECT_EQ(test, total[strlen(total) - 1], '\n');

	for (line = text; line && *line; line = next_line(line)) {
		if (buffer_line(line, &size, &ino)) {
			objects++;
			bytes += size;
		}
	}
	KUNIT_EXPECT_EQ(test, objects, want_objects);
	KUNIT_EXPECT_EQ(test, bytes, want_bytes);
}

static void test_bufinfo(struct kunit *test)
{
	static const char header[] =
		"\nDma-buf Objects:\n"
		"size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n";
	struct kunit_dma_buf_exporter *exp, *exp2;
	struct dma_buf *named = export_buf(test, &exp, false);
	struct dma_buf *plain = export_buf(test, &exp2, true);
	struct dma_fence *w = new_fence(test);
	struct dma_buf_attachment *attach;
	char __user *u = user_mem(test, PAGE_SIZE);
	struct device *dev;
	char *text, *want, *entry;

	dev = kunit_device_register(test, "fops-test-dev");
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	attach = dma_buf_attach(named, dev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "bufinfo-name", 13), 0);
	KUNIT_ASSERT_EQ(test, do_ioctl(named, DMA_BUF_SET_NAME_A, u), 0);
	add_fence(test, named, w, DMA_RESV_USAGE_WRITE);
	get_file(named->file);

	text = read_bufinfo(test);
	KUNIT_EXPECT_EQ(test, strncmp(text, header, strlen(header)), 0);

	entry = bufinfo_entry(test, text, file_inode(named->file)->i_ino);
	KUNIT_ASSERT_NOT_NULL(test, entry);
	want = kasprintf(GFP_KERNEL,
			 "%08lu\t%08x\t%08x\t00000002\t%s\t%08lu\tbufinfo-name\n"
			 "\twrite fence:fops-test fops-timeline seq 1 unsignalled\n"
			 "\tAttached Devices:\n"
			 "\t%s\n"
			 "Total 1 devices attached\n\n",
			 TEST_SIZE, named->file->f_flags,
			 (__force unsigned int)named->file->f_mode,
			 TEST_EXP_NAME, file_inode(named->file)->i_ino,
			 dev_name(dev));
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_EXPECT_STREQ(test, entry, want);
	kfree(want);

	entry = bufinfo_entry(test, text, file_inode(plain->file)->i_ino);
	KUNIT_ASSERT_NOT_NULL(test, entry);
	want = kasprintf(GFP_KERNEL,
			 "%08lu\t%08x\t%08x\t00000001\t%s\t%08lu\t<none>\n"
			 "\tAttached Devices:\n"
			 "Total 0 devices attached\n\n",
			 TEST_SIZE, plain->file->f_flags,
			 (__force unsigned int)plain->file->f_mode,
			 TEST_EXP_NAME, file_inode(plain->file)->i_ino);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_EXPECT_STREQ(test, entry, want);
	kfree(want);
	KUNIT_EXPECT_FALSE(test, plain->file->f_mode & FMODE_WRITE);
	check_totals(test, text);

	/* Gone from the listing once released. */
	fput(named->file);
	dma_buf_detach(named, attach);
	signal_and_put(w);
	kunit_dma_buf_put_final(exp, named);
	text = read_bufinfo(test);
	KUNIT_EXPECT_NOT_NULL(test, bufinfo_entry(test, text,
						  file_inode(plain->file)->i_ino));
	check_totals(test, text);
	kunit_dma_buf_put_final(exp2, plain);
}

static void fops_test_exit(struct kunit *test)
{
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks, "lockdep turned itself off");
}

static void *failing_kmalloc(size_t size, gfp_t gfp)
{
	return NULL;
}

/*
 * The sync-file ioctls when the reservation object cannot allocate:
 * EXPORT needs an array for the pending fences it merges, IMPORT a fence
 * list for a buffer that has none.  Either fails with -ENOMEM, installs no
 * fd, adds no fence and drops every reference it took.
 */
static void test_sync_file_nomem(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp;
	struct dma_buf *dmabuf = export_buf(test, &exp, false);
	struct dma_buf_export_sync_file __user *arg = user_mem(test, PAGE_SIZE);
	struct dma_fence *r = new_fence(test), *w = new_fence(test);
	struct dma_fence *in = new_fence(test);
	unsigned int refs_r, refs_in;
	bool found;
	int fd, sync_fd;

	sync_fd = sync_file_fd(test, in);
	refs_in = kref_read(&in->refcount);

	/* A buffer without a fence list: IMPORT must make one, and cannot. */
	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, failing_kmalloc);
	KUNIT_EXPECT_EQ(test, import_fd(test, dmabuf, DMA_BUF_SYNC_WRITE,
					sync_fd), -ENOMEM);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);
	KUNIT_EXPECT_EQ(test, count_fences(dmabuf, DMA_RESV_USAGE_WRITE, in,
					   &found), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&in->refcount), refs_in);
	close_fd(sync_fd);

	/* Two pending fences: EXPORT must merge them, and cannot. */
	add_fence(test, dmabuf, r, DMA_RESV_USAGE_READ);
	add_fence(test, dmabuf, w, DMA_RESV_USAGE_WRITE);
	refs_r = kref_read(&r->refcount);
	fd = lowest_free_fd(test);
	KUNIT_ASSERT_EQ(test, put_user(DMA_BUF_SYNC_WRITE, &arg->flags), 0);
	KUNIT_ASSERT_EQ(test, put_user(-1, &arg->fd), 0);
	kunit_activate_static_stub(test, dma_resv_kunit_kmalloc, failing_kmalloc);
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				       arg), -ENOMEM);
	kunit_deactivate_static_stub(test, dma_resv_kunit_kmalloc);
	KUNIT_EXPECT_EQ(test, lowest_free_fd(test), fd);
	KUNIT_EXPECT_EQ(test, kref_read(&r->refcount), refs_r);

	/* With memory, both work. */
	KUNIT_EXPECT_EQ(test, do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				       arg), 0);
	KUNIT_ASSERT_EQ(test, get_user(sync_fd, &arg->fd), 0);
	KUNIT_EXPECT_EQ(test, sync_fd, fd);
	close_fd(sync_fd);

	flush_delayed_fput();
	signal_and_put(r);
	signal_and_put(w);
	signal_and_put(in);
	kunit_dma_buf_put_final(exp, dmabuf);
}

static struct kunit_case dma_buf_file_cases[] = {
	KUNIT_CASE(test_llseek),
	KUNIT_CASE(test_ioctl_unknown),
	KUNIT_CASE(test_ioctl_sync),
	KUNIT_CASE(test_set_name),
	KUNIT_CASE(test_set_name_invalid),
	KUNIT_CASE(test_set_name_nomem),
	KUNIT_CASE(test_fdinfo),
	KUNIT_CASE(test_mmap),
	KUNIT_CASE(test_mmap_range),
	KUNIT_CASE(test_mmap_readonly),
	KUNIT_CASE(test_poll_no_fences),
	KUNIT_CASE(test_poll_read_fence),
	KUNIT_CASE(test_poll_write_fence),
	KUNIT_CASE(test_poll_only_requested),
	KUNIT_CASE(test_poll_close_while_armed),
	KUNIT_CASE(test_poll_callback_defers_fence_put),
	KUNIT_CASE(test_export_sync_file),
	KUNIT_CASE(test_export_sync_file_errors),
	KUNIT_CASE(test_import_sync_file),
	KUNIT_CASE(test_import_sync_file_container),
	KUNIT_CASE(test_import_sync_file_signal),
	KUNIT_CASE(test_import_sync_file_errors),
	KUNIT_CASE(test_sync_file_nomem),
	KUNIT_CASE(test_bufinfo),
	{}
};

static struct kunit_suite dma_buf_file_suite = {
	.name = "dma-buf-file",
	.exit = fops_test_exit,
	.test_cases = dma_buf_file_cases,
};

kunit_test_suite(dma_buf_file_suite);

MODULE_DESCRIPTION("KUnit tests of the dma-buf file operations");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
