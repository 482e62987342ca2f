// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf file descriptor as userspace sees it: mmap, poll, lseek, the
 * DMA_BUF_* ioctls and fdinfo.  Buffers, their files and the pseudo
 * filesystem are made in dma-buf.c; this file only implements the
 * file_operations those files carry.
 */

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-unwrap.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-buf.h>
#include <trace/events/dma_buf.h>

#include "dma-buf-internal.h"

static int dma_buf_fop_release(struct inode *inode, struct file *file)
{
	dma_buf_file_closed(file->private_data);
	return 0;
}

/*
 * Userspace mappings go straight to the exporter, once we know the range
 * lies inside the buffer.  Only whole pages of the buffer can be mapped,
 * so a partial last page stays out of reach.
 *
 * Access rights are the VFS's business, as in 6.12: it refuses shared
 * writable mappings of a read-only fd and takes VM_MAYWRITE from its
 * shared ones, while private mappings may be (or later become) writable,
 * their writes going to private copies.  Whether a mapping may grow with
 * mremap() is the exporter's to say (VM_DONTEXPAND); see
 * Documentation/driver-api/dma-buf-exporter.rst.
 */
static int dma_buf_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct dma_buf *buf = file->private_data;
	unsigned long end;
	int ret;

	if (!buf->ops->mmap)
		return -EINVAL;

	if (check_add_overflow(vma->vm_pgoff, vma_pages(vma), &end) ||
	    end > (buf->size >> PAGE_SHIFT))
		return -EINVAL;

	/* As mainline: once the range is accepted, whatever the exporter says. */
	trace_dma_buf_mmap_internal(buf);
	ret = buf->ops->mmap(buf, vma);
	if (!ret)
		dma_buf_hold(buf, DMA_BUF_HOLD_MMAP, NULL);
	return ret;
}

/*
 * The file has no contents to seek in.  SEEK_END tells the size, and
 * SEEK_SET to 0 is allowed so that the usual "lseek to the end, then back"
 * way of learning a file's size works.
 */
static loff_t dma_buf_fop_llseek(struct file *file, loff_t offset, int whence)
{
	struct dma_buf *buf = file->private_data;

	if (offset)
		return -EINVAL;

	switch (whence) {
	case SEEK_SET:
		return 0;
	case SEEK_END:
		return buf->size;
	default:
		return -EINVAL;
	}
}

/*
 * poll(): EPOLLIN is ready when the buffer's writers are done, EPOLLOUT
 * when every fence on it is done (dma_resv_usage_rw() picks the fences).
 *
 * For each of the two events the buffer has one fence callback, cb_in and
 * cb_out.  When poll() finds an unsignaled fence it arms that callback on
 * the fence, unless it is armed already; the callback wakes the pollers and
 * disarms.  dcb->active, under the wait queue's lock, says whether it is
 * armed.  An armed callback holds a reference to the file, so that the
 * buffer outlives it even if every fd is closed meanwhile.
 *
 * The fence reference taken for arming stays in the callback's slot in
 * struct dma_buf_core (dma_buf_poll_fence()) after the callback ran, and
 * the next poll() or the buffer's release drops it.
 * The callback runs inside the fence's signaling, often under the lock
 * the fence was signaled with; dropping what may be the last reference
 * there would run the fence's release under that lock, and some releases
 * take it (sw_sync's, when its timeline goes away with fences pending).
 */
static void dma_buf_poll_fence_signaled(struct dma_fence *fence,
					struct dma_fence_cb *cb)
{
	struct dma_buf_poll_cb_t *dcb =
		container_of(cb, struct dma_buf_poll_cb_t, cb);
	struct dma_buf *buf = container_of(dcb->poll, struct dma_buf, poll);
	unsigned long flags;

	spin_lock_irqsave(&buf->poll.lock, flags);
	wake_up_locked_poll(&buf->poll, dcb->active);
	dcb->active = 0;
	spin_unlock_irqrestore(&buf->poll.lock, flags);

	/* Never the final release here: fput() defers that to task context. */
	fput(buf->file);
}

/*
 * Called with the reservation lock held.  Returns true when @event is
 * ready, i.e. no fence of @usage is left to wait for.
 */
static bool dma_buf_poll_check(struct dma_buf *buf,
			       struct dma_buf_poll_cb_t *dcb,
			       enum dma_resv_usage usage, __poll_t event)
{
	struct dma_resv_iter cursor;
	struct dma_fence *fence, *done, **slot;

	dma_resv_assert_held(buf->resv);

	spin_lock_irq(&buf->poll.lock);
	if (dcb->active) {
		/* Still waiting for a fence; its callback will wake us. */
		spin_unlock_irq(&buf->poll.lock);
		return false;
	}
	dcb->poll = &buf->poll;
	dcb->active = event;
	spin_unlock_irq(&buf->poll.lock);

	/* The fence a callback that already ran was armed on. */
	slot = dma_buf_poll_fence(buf, dcb);
	done = *slot;
	*slot = NULL;
	dma_fence_put(done);

	/* Taken before arming: the callback may run as soon as it is armed. */
	get_file(buf->file);

	dma_resv_for_each_fence(&cursor, buf->resv, usage, fence) {
		dma_fence_get(fence);
		if (!dma_fence_add_callback(fence, &dcb->cb,
					    dma_buf_poll_fence_signaled)) {
			*slot = fence;
			return false;
		}
		dma_fence_put(fence);
	}

	/*
	 * All signaled, nothing armed.  No poller can have seen the short
	 * spell of ->active: everyone who looks holds the reservation lock.
	 */
	spin_lock_irq(&buf->poll.lock);
	dcb->active = 0;
	spin_unlock_irq(&buf->poll.lock);
	fput(buf->file);
	return true;
}

static __poll_t dma_buf_fop_poll(struct file *file, poll_table *wait)
{
	struct dma_buf *buf = file->private_data;
	__poll_t want, ready = 0;

	poll_wait(file, &buf->poll, wait);

	want = poll_requested_events(wait) & (EPOLLIN | EPOLLOUT);
	if (!want)
		return 0;

	dma_resv_lock(buf->resv, NULL);
	if ((want & EPOLLOUT) &&
	    dma_buf_poll_check(buf, &buf->cb_out,
			       dma_resv_usage_rw(true), EPOLLOUT))
		ready |= EPOLLOUT;
	if ((want & EPOLLIN) &&
	    dma_buf_poll_check(buf, &buf->cb_in,
			       dma_resv_usage_rw(false), EPOLLIN))
		ready |= EPOLLIN;
	dma_resv_unlock(buf->resv);

	return ready;
}

static long dma_buf_ioctl_sync(struct dma_buf *buf,
			       struct dma_buf_sync __user *uarg)
{
	enum dma_data_direction dir;
	struct dma_buf_sync req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;

	if (req.flags & ~(__u64)DMA_BUF_SYNC_VALID_FLAGS_MASK)
		return -EINVAL;

	switch (req.flags & DMA_BUF_SYNC_RW) {
	case DMA_BUF_SYNC_READ:
		dir = DMA_FROM_DEVICE;
		break;
	case DMA_BUF_SYNC_WRITE:
		dir = DMA_TO_DEVICE;
		break;
	case DMA_BUF_SYNC_RW:
		dir = DMA_BIDIRECTIONAL;
		break;
	default:
		return -EINVAL;
	}

	if (req.flags & DMA_BUF_SYNC_END)
		return dma_buf_end_cpu_access(buf, dir);
	return dma_buf_begin_cpu_access(buf, dir);
}

static long dma_buf_ioctl_set_name(struct dma_buf *buf,
				   const char __user *uname)
{
	char copy[DMA_BUF_NAME_LEN];
	const char *old;
	char *name;
	long len;

	len = strncpy_from_user(copy, uname, sizeof(copy));
	if (len < 0)
		return len;
	if (len == sizeof(copy))
		return -EINVAL;	/* no NUL within DMA_BUF_NAME_LEN bytes */

	name = dma_buf_kzalloc(len + 1, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	memcpy(name, copy, len);

	spin_lock(&buf->name_lock);
	old = buf->name;
	buf->name = name;
	spin_unlock(&buf->name_lock);

	kfree(old);
	return 0;
}

#if IS_ENABLED(CONFIG_SYNC_FILE)
static long dma_buf_ioctl_export_sync_file(struct dma_buf *buf,
					   struct dma_buf_export_sync_file __user *uarg)
{
	struct dma_buf_export_sync_file req;
	struct dma_fence *fence = NULL;
	struct sync_file *sf;
	int fd, ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;

	if (!req.flags || (req.flags & ~DMA_BUF_SYNC_RW))
		return -EINVAL;

	ret = dma_resv_get_singleton(buf->resv,
				     dma_resv_usage_rw(req.flags & DMA_BUF_SYNC_WRITE),
				     &fence);
	if (ret)
		return ret;

	/* Nothing to wait for: hand out a fence that has signaled already. */
	if (!fence)
		fence = dma_fence_get_stub();

	sf = sync_file_create(fence);
	dma_fence_put(fence);
	if (!sf)
		return -ENOMEM;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_file;
	}

	if (put_user(fd, &uarg->fd)) {
		ret = -EFAULT;
		goto err_fd;
	}

	/* Last: once installed, the fd belongs to userspace. */
	fd_install(fd, sf->file);
	return 0;

err_fd:
	put_unused_fd(fd);
err_file:
	fput(sf->file);
	return ret;
}

static long dma_buf_ioctl_import_sync_file(struct dma_buf *buf,
					   const struct dma_buf_import_sync_file __user *uarg)
{
	struct dma_buf_import_sync_file req;
	struct dma_fence *in, *leaf;
	struct dma_fence_unwrap pos;
	enum dma_resv_usage usage;
	unsigned int leaves = 0;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;

	if (!req.flags || (req.flags & ~DMA_BUF_SYNC_RW))
		return -EINVAL;

	usage = DMA_RESV_USAGE_READ;
	if (req.flags & DMA_BUF_SYNC_WRITE)
		usage = DMA_RESV_USAGE_WRITE;

	in = sync_file_get_fence(req.fd);
	if (!in)
		return -EINVAL;

	/* The reservation object takes no containers, only what is in them. */
	dma_fence_unwrap_for_each(leaf, &pos, in)
		leaves++;

	ret = 0;
	if (leaves) {
		/*
		 * Not interruptible: 6.12 never fails this ioctl with EINTR,
		 * and programs do not retry it.
		 */
		dma_resv_lock(buf->resv, NULL);
		ret = dma_resv_reserve_fences(buf->resv, leaves);
		if (!ret) {
			dma_fence_unwrap_for_each(leaf, &pos, in)
				dma_resv_add_fence(buf->resv, leaf, usage);
		}
		dma_resv_unlock(buf->resv);
	}
	dma_fence_put(in);
	return ret;
}
#endif

static long dma_buf_fop_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct dma_buf *buf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMA_BUF_IOCTL_SYNC:
		return dma_buf_ioctl_sync(buf, uarg);
	case DMA_BUF_SET_NAME_A:
	case DMA_BUF_SET_NAME_B:
		return dma_buf_ioctl_set_name(buf, uarg);
#if IS_ENABLED(CONFIG_SYNC_FILE)
	case DMA_BUF_IOCTL_EXPORT_SYNC_FILE:
		return dma_buf_ioctl_export_sync_file(buf, uarg);
	case DMA_BUF_IOCTL_IMPORT_SYNC_FILE:
		return dma_buf_ioctl_import_sync_file(buf, uarg);
#endif
	default:
		return -ENOTTY;
	}
}

/*
 * /proc/<pid>/fdinfo/<fd>.  Tools parse these lines, so their format is
 * fixed.  procfs holds a reference of its own while it shows a file; the
 * count leaves it out.
 */
static void dma_buf_fop_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct dma_buf *buf = file->private_data;

	seq_printf(m, "size:\t%zu\n", buf->size);
	seq_printf(m, "count:\t%ld\n", file_count(file) - 1);
	seq_printf(m, "exp_name:\t%s\n", buf->exp_name);

	spin_lock(&buf->name_lock);
	if (buf->name)
		seq_printf(m, "name:\t%s\n", buf->name);
	spin_unlock(&buf->name_lock);
}

const struct file_operations dma_buf_fops = {
	.release	= dma_buf_fop_release,
	.mmap		= dma_buf_fop_mmap,
	.llseek		= dma_buf_fop_llseek,
	.poll		= dma_buf_fop_poll,
	.unlocked_ioctl	= dma_buf_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= dma_buf_fop_show_fdinfo,
};
