// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf core: buffers and their files on the buf pseudo
 * filesystem, the registry of live buffers, attachments, mappings, CPU
 * access and kernel mappings.  What userspace does with a buffer's fd is
 * in dma-buf-file.c, the debugfs listing in dma-buf-debugfs.c.
 *
 * Locking, in one place: the buffer's reservation lock (buf->resv)
 * protects the attachment list, pinning, mapping, the kernel mapping and
 * its count.  Calls ending in _unlocked, attach, detach and CPU access
 * take it themselves and must be called without it; the others require
 * it held.
 */

#define pr_fmt(fmt) "dma-buf: " fmt

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <uapi/linux/dma-buf.h>
#include <uapi/linux/magic.h>

#include "dma-buf-internal.h"
#include "dma-buf-sysfs-stats.h"

/* The trace events are made here, for dma-buf-file.c and dma-resv.c too. */
#define CREATE_TRACE_POINTS
#include <trace/events/dma_buf.h>

/* For modules that attach probes, our KUnit suites among them. */
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_export);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_mmap_internal);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_mmap);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_put);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_move_notify);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_release);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_dynamic_attach);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_detach);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_pin);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_unpin);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_fd);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_get);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_map_attachment);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_unmap_attachment);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_vmap);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_vunmap);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_begin_cpu_access);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_buf_end_cpu_access);
EXPORT_TRACEPOINT_SYMBOL_GPL(dma_resv_wait);

#if IS_ENABLED(CONFIG_DEBUG_FS)
/*
 * The registry: every live buffer, for the debugfs listing (which is all
 * it is for: without debugfs, as in 6.12, there is neither registry nor
 * struct dma_buf.list_node).  Buffers join the list of the CPU that
 * exports them, so export and release take only that CPU's mutex.
 *
 * A walker holds a list's mutex only to step from one buffer to the next,
 * not while it looks at a buffer (which may mean waiting for the buffer's
 * reservation lock): exports and releases on that CPU go on meanwhile.
 * The buffer being looked at is kept linked, and so alive, without a
 * reference by its count of walkers: its release waits in
 * dma_buf_registry_del() until no walker is on it, and marks it so that
 * no new walker steps onto it meanwhile.  Its memory can therefore be
 * freed at once, with no RCU grace period.
 */
struct dma_buf_registry {
	struct mutex lock; /* protects buffers and the walker counts */
	struct list_head buffers;
};

static DEFINE_PER_CPU(struct dma_buf_registry, dma_buf_registry);
/* struct dma_buf_core keeps the CPU in 16 bits. */
static_assert(CONFIG_NR_CPUS <= 1 << 16);

/*
 * A release waits for walkers, and walkers take reservation locks: tell
 * lockdep, so that a release under a reservation lock is reported as the
 * deadlock it can be, as the walker's mutex once made it.
 */
#ifdef CONFIG_LOCKDEP
static struct lockdep_map dma_buf_walk_map =
	STATIC_LOCKDEP_MAP_INIT("dma_buf_registry_walk", &dma_buf_walk_map);
#endif

static struct dma_buf_registry *dma_buf_registry_of(struct dma_buf *buf)
{
	return per_cpu_ptr(&dma_buf_registry, dma_buf_core(buf)->registry_cpu);
}

static void dma_buf_registry_add(struct dma_buf *buf)
{
	struct dma_buf_registry *reg;

	dma_buf_core(buf)->registry_cpu = raw_smp_processor_id();
	reg = dma_buf_registry_of(buf);
	mutex_lock(&reg->lock);
	list_add(&buf->list_node, &reg->buffers);
	mutex_unlock(&reg->lock);
}

static void dma_buf_registry_del(struct dma_buf *buf)
{
	struct dma_buf_registry *reg = dma_buf_registry_of(buf);
	struct dma_buf_core *core = dma_buf_core(buf);

	lock_map_acquire(&dma_buf_walk_map);
	lock_map_release(&dma_buf_walk_map);
	mutex_lock(&reg->lock);
	/* Walks that come later step over it: they cannot hold this up. */
	core->unlisting = true;
	/*
	 * Wait for the walks on it, if any (almost never: no queueing on
	 * the shared wait queue otherwise).  The count is tested under the
	 * mutex, and the walker that brings it to 0 wakes us under the mutex
	 * too, after we queued ourselves: no wake-up can be lost in between.
	 */
	if (core->walkers)
		___wait_var_event(&core->walkers, !core->walkers,
				  TASK_UNINTERRUPTIBLE, 0, 0,
				  mutex_unlock(&reg->lock); schedule();
				  mutex_lock(&reg->lock));
	list_del(&buf->list_node);
	mutex_unlock(&reg->lock);
}

/* Under @reg's mutex: leave @buf, which stays linked until then. */
static void dma_buf_registry_leave(struct dma_buf *buf)
{
	struct dma_buf_core *core = dma_buf_core(buf);

	if (!--core->walkers)
		wake_up_var(&core->walkers);
}

/* Under @reg's mutex: the first buffer after @pos not on its way out. */
static struct dma_buf *dma_buf_registry_next(struct dma_buf_registry *reg,
					     struct list_head *pos)
{
	struct dma_buf *buf;

	for (pos = pos->next; pos != &reg->buffers; pos = pos->next) {
		buf = list_entry(pos, struct dma_buf, list_node);
		if (!dma_buf_core(buf)->unlisting)
			return buf;
	}
	return NULL;
}

int dma_buf_for_each(int (*fn)(struct dma_buf *buf, void *data),
		     void *data)
{
	struct dma_buf *buf, *next;
	int cpu, ret = 0;

	for_each_possible_cpu(cpu) {
		struct dma_buf_registry *reg;

		reg = per_cpu_ptr(&dma_buf_registry, cpu);
		ret = mutex_lock_interruptible(&reg->lock);
		if (ret)
			break;
		buf = dma_buf_registry_next(reg, &reg->buffers);
		while (buf) {
			dma_buf_core(buf)->walkers++;
			mutex_unlock(&reg->lock);
			lock_map_acquire_read(&dma_buf_walk_map);
			ret = fn(buf, data);
			lock_map_release(&dma_buf_walk_map);
			/* Not interruptible: the count must come down. */
			mutex_lock(&reg->lock);
			next = dma_buf_registry_next(reg, &buf->list_node);
			dma_buf_registry_leave(buf);
			if (ret)
				break;
			buf = next;
		}
		mutex_unlock(&reg->lock);
		if (ret)
			break;
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dma_buf_for_each);

static void __init dma_buf_registry_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dma_buf_registry *reg = per_cpu_ptr(&dma_buf_registry, cpu);

		mutex_init(&reg->lock);
		INIT_LIST_HEAD(&reg->buffers);
	}
}
#else
static inline void dma_buf_registry_add(struct dma_buf *buf) {}
static inline void dma_buf_registry_del(struct dma_buf *buf) {}
static inline void dma_buf_registry_init(void) {}
#endif

void *dma_buf_kunit_kzalloc(struct kmem_cache *cache, size_t size, gfp_t gfp)
{
	KUNIT_STATIC_STUB_REDIRECT(dma_buf_kunit_kzalloc, cache, size, gfp);
	return cache ? kmem_cache_zalloc(cache, gfp) : kzalloc(size, gfp);
}
EXPORT_SYMBOL_IF_KUNIT(dma_buf_kunit_kzalloc);

/*
 * Buffers come from caches of their exact size, not from kmalloc: 6.12's
 * buffer with its reservation object fills the 256-byte bucket, and our
 * private state on top would double that.  One cache for buffers whose
 * exporter brings the reservation object, one for buffers with ours; both
 * made at boot, where failing is fatal (SLAB_PANIC).  kfree() frees from
 * either.
 */
static struct kmem_cache *dma_buf_cache, *dma_buf_with_resv_cache;

/* The pseudo filesystem every buffer's file lives on. */
static struct vfsmount *dma_buf_mount;

static char *dma_buf_dname(struct dentry *dentry, char *buffer, int buflen)
{
	struct dma_buf *buf = dentry->d_fsdata;
	char name[DMA_BUF_NAME_LEN] = "";

	/* A dentry whose export failed has no buffer behind it. */
	if (buf) {
		spin_lock(&buf->name_lock);
		if (buf->name)
			strscpy(name, buf->name);
		spin_unlock(&buf->name_lock);
	}
	return dynamic_dname(buffer, buflen, "/dmabuf:%s", name);
}

/*
 * Take poll callback @dcb off its fence, if a broken file reference count
 * left it armed: the fence would call it on freed memory.  A callback
 * that no longer sits on the fence has finished, since fences run their
 * callbacks under the lock dma_fence_remove_callback() takes.
 */
static void dma_buf_poll_disarm(struct dma_buf *buf,
				struct dma_buf_poll_cb_t *dcb)
{
	struct dma_fence **slot = dma_buf_poll_fence(buf, dcb);

	if (!dcb->active)
		return;
	if (*slot)
		dma_fence_remove_callback(*slot, &dcb->cb);
	dcb->active = 0;
}

/*
 * Whether a buffer whose last reference is gone must be kept.  All three
 * cases are driver bugs.  A kernel mapping still in use points into the
 * exporter's memory and will be handed back with dma_buf_vunmap() on this
 * buffer; an attachment still on the list will be handed back with
 * dma_buf_detach(), which locks the reservation object, unlinks itself and
 * may unmap through the exporter.  Either way the buffer, its exporter's
 * memory and module are kept, never released, so that those later calls
 * find them alive.  Its file is gone (freed after this d_release): a holder
 * that still passes the buffer to dma_buf_put() or dma_buf_fd() is told so.
 */
static bool dma_buf_release_leaks(struct dma_buf *buf)
{
	struct dma_buf_attachment *attach;
	bool vmapped, attached;

	if (WARN(buf->cb_in.active || buf->cb_out.active,
		 "dma-buf %s released with poll callbacks armed\n",
		 buf->exp_name)) {
		dma_buf_poll_disarm(buf, &buf->cb_in);
		dma_buf_poll_disarm(buf, &buf->cb_out);
	}
	vmapped = WARN(buf->vmapping_counter,
		       "dma-buf %s released with %u kernel mappings left, leaking it\n",
		       buf->exp_name, buf->vmapping_counter);
	attached = WARN(!list_empty(&buf->attachments),
			"dma-buf %s released with devices still attached, leaking it\n",
			buf->exp_name);
	if (!vmapped && !attached)
		return false;
	/* Before the reports: the file and its inode are freed by now. */
	buf->file = NULL;
	if (vmapped)
		dma_buf_holders_report(buf, DMA_BUF_HOLD_VMAP, buf);
	list_for_each_entry(attach, &buf->attachments, node) {
		dma_buf_holders_report(buf, DMA_BUF_HOLD_ATTACH, attach);
		dma_buf_holders_report(buf, DMA_BUF_HOLD_PIN, attach);
	}
	/* Mappings are known by their tables, which only importers have. */
	if (attached)
		dma_buf_holders_report(buf, DMA_BUF_HOLD_MAP, NULL);
	return true;
}

/*
 * The file's ->release only takes the buffer out of the registry
 * (dma_buf_file_closed()); the buffer itself goes with the dentry, which
 * d_dname() may still use after the file is gone.
 */
static void dma_buf_dentry_release(struct dentry *dentry)
{
	struct dma_buf *buf = dentry->d_fsdata;
	struct dma_buf_core *core;

	if (!buf || dma_buf_release_leaks(buf))
		return;
	core = dma_buf_core(buf);

	/* Fences of callbacks that ran since the last poll(). */
	dma_fence_put(core->poll_fence_in);
	dma_fence_put(core->poll_fence_out);

	dma_buf_stats_teardown(buf);
	buf->ops->release(buf);
	if (core->owns_resv)
		dma_resv_fini(&core->resv);
	module_put(buf->owner);
	kfree(buf->name);
	dma_buf_holders_fini(buf);
	kfree(core);
}

static const struct dentry_operations dma_buf_dentry_operations = {
	.d_dname = dma_buf_dname,
	.d_release = dma_buf_dentry_release,
};

static int dma_buf_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, DMA_BUF_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->dops = &dma_buf_dentry_operations;
	return 0;
}

static struct file_system_type dma_buf_fstype = {
	.name = "dmabuf",
	.init_fs_context = dma_buf_init_fs_context,
	.kill_sb = kill_anon_super,
};

void dma_buf_file_closed(struct dma_buf *buf)
{
	/* NULL when the export failed before the file was linked to it. */
	if (!buf)
		return;
	trace_dma_buf_release(buf);
	/* 6.12 never complains about CPU access left open; the tracker does. */
	dma_buf_holders_report(buf, DMA_BUF_HOLD_CPU, NULL);
	dma_buf_registry_del(buf);
}

/*
 * Inode numbers identify buffers to userspace (fdinfo, bufinfo, sysfs), so
 * they must never repeat.  Each CPU takes them from the shared 64-bit
 * counter a batch at a time, which keeps exports on different CPUs from
 * bouncing one cache line.
 */
#define DMA_BUF_INO_BATCH 1024

static DEFINE_PER_CPU(u64, dma_buf_next_ino);
static atomic64_t dma_buf_ino_pool = ATOMIC64_INIT(DMA_BUF_INO_BATCH);

static u64 dma_buf_new_ino(void)
{
	u64 *next = get_cpu_ptr(&dma_buf_next_ino);
	u64 ino = *next;

	/* Zero on first use; a multiple of the batch once one is used up. */
	if (ino % DMA_BUF_INO_BATCH == 0)
		ino = atomic64_fetch_add(DMA_BUF_INO_BATCH, &dma_buf_ino_pool);
	*next = ino + 1;
	put_cpu_ptr(next);
	return ino;
}

struct file *dma_buf_alloc_file(struct dma_buf *buf, int flags)
{
	struct inode *inode;
	struct file *file;

	KUNIT_STATIC_STUB_REDIRECT(dma_buf_alloc_file, buf, flags);

	inode = alloc_anon_inode(dma_buf_mount->mnt_sb);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	inode->i_ino = dma_buf_new_ino();
	inode->i_size = buf->size;
	inode_set_bytes(inode, buf->size);

	file = alloc_file_pseudo(inode, dma_buf_mount, "dmabuf",
				 flags & (O_ACCMODE | O_NONBLOCK),
				 &dma_buf_fops);
	if (IS_ERR(file))
		iput(inode);
	return file;
}
EXPORT_SYMBOL_IF_KUNIT(dma_buf_alloc_file);

static bool dma_buf_ops_valid(const struct dma_buf_ops *ops)
{
	if (WARN(!ops || !ops->map_dma_buf || !ops->unmap_dma_buf ||
		 !ops->release,
		 "dma-buf: exporter lacks a mandatory operation\n"))
		return false;
	if (WARN(!ops->pin != !ops->unpin,
		 "dma-buf: exporter implements only one of pin and unpin\n"))
		return false;
	/* A cached mapping outlives any pin, so the two cannot mix. */
	if (WARN(ops->cache_sgt_mapping && ops->pin,
		 "dma-buf: a dynamic exporter cannot cache mappings\n"))
		return false;
	return true;
}

/**
 * dma_buf_export - wrap an exporter's buffer in a new dma-buf
 * @exp_info: the buffer's size, operations, private data and module
 *
 * Makes the &dma_buf, its file on the buf filesystem (with an inode
 * number of its own) and, unless @exp_info->resv names one, its
 * reservation object.  The exporter's module is held until the buffer is
 * released.  Hand the buffer to userspace with dma_buf_fd(); release it
 * with dma_buf_put().
 *
 * Context: process context; takes no dma-buf lock.
 *
 * Return: the new buffer, or an ERR_PTR: -EINVAL (with a WARN) when
 * @exp_info->ops lacks a mandatory operation, has only one of pin and
 * unpin, or combines pinning with cached mappings, or @exp_info->priv is
 * NULL; -ENOENT when the owner module is going away; -ENOMEM or another
 * error from making the file.  On failure &dma_buf_ops.release is not
 * called: the exporter still owns its buffer.
 */
struct dma_buf *dma_buf_export(const struct dma_buf_export_info *exp_info)
{
	struct dma_buf_core *core;
	struct dma_buf *buf;
	struct file *file;
	int ret;

	might_sleep();
	if (!dma_buf_ops_valid(exp_info->ops))
		return ERR_PTR(-EINVAL);
	if (WARN(!exp_info->priv, "dma-buf: export without private data\n"))
		return ERR_PTR(-EINVAL);
	if (!try_module_get(exp_info->owner))
		return ERR_PTR(-ENOENT);

	/* Our reservation object only when the exporter brings none. */
	core = dma_buf_cache_zalloc(exp_info->resv ? dma_buf_cache :
					dma_buf_with_resv_cache, GFP_KERNEL);
	if (!core) {
		ret = -ENOMEM;
		goto err_module;
	}
	buf = &core->buf;
	buf->size = exp_info->size;
	buf->ops = exp_info->ops;
	buf->priv = exp_info->priv;
	buf->exp_name = exp_info->exp_name;
	buf->owner = exp_info->owner;
	INIT_LIST_HEAD(&buf->attachments);
	spin_lock_init(&buf->name_lock);
	init_waitqueue_head(&buf->poll);
	buf->cb_in.poll = &buf->poll;
	buf->cb_out.poll = &buf->poll;
	if (exp_info->resv) {
		buf->resv = exp_info->resv;
	} else {
		core->owns_resv = true;
		dma_resv_init(&core->resv);
		buf->resv = &core->resv;
	}
	dma_buf_holders_init(buf);

	file = dma_buf_alloc_file(buf, exp_info->flags);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_free;
	}
	ret = dma_buf_stats_setup(buf, file);
	if (ret)
		goto err_file;

	/*
	 * Nothing fails from here on.  Until these are set, releasing the
	 * file (the error path above) leaves the buffer alone.
	 */
	buf->file = file;
	file->private_data = buf;
	file->f_path.dentry->d_fsdata = buf;
	/* The caller's reference, recorded before debugfs can list it. */
	dma_buf_hold(buf, DMA_BUF_HOLD_REF, NULL);
	dma_buf_registry_add(buf);
	trace_dma_buf_export(buf);
	return buf;

err_file:
	fput(file);
err_free:
	dma_buf_holders_fini(buf);
	if (core->owns_resv)
		dma_resv_fini(&core->resv);
	kfree(core);
err_module:
	module_put(exp_info->owner);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_export, DMA_BUF);

/**
 * dma_buf_fd - give a buffer a file descriptor in the current process
 * @buf: the buffer
 * @flags: flags for the new fd, e.g. O_CLOEXEC
 *
 * The fd takes over the caller's reference to @buf: on success the
 * caller must not call dma_buf_put() for it.  Install the fd last, when
 * nothing else can fail, since userspace may use it at once.
 *
 * Return: the new fd, or -EINVAL for a NULL or half-made buffer, or the
 * error of get_unused_fd_flags() (-EMFILE when the table is full).
 */
int dma_buf_fd(struct dma_buf *buf, int flags)
{
	int fd;

	if (!buf || !buf->file)
		return -EINVAL;
	fd = get_unused_fd_flags(flags);
	if (fd < 0)
		return fd;
	/*
	 * Both before the fd is installed: from then on the reference is
	 * userspace's, and a close() racing with us may free the buffer.
	 */
	trace_dma_buf_fd(buf, fd);
	dma_buf_hold(buf, DMA_BUF_HOLD_FD, NULL);
	fd_install(fd, buf->file);
	return fd;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_fd, DMA_BUF);

/**
 * dma_buf_get - look up the buffer behind a file descriptor
 * @fd: a file descriptor of the current process
 *
 * Takes a reference to the buffer; drop it with dma_buf_put().
 *
 * Return: the buffer, ERR_PTR(-EBADF) when @fd is not open, or
 * ERR_PTR(-EINVAL) when it is not a dma-buf.
 */
struct dma_buf *dma_buf_get(int fd)
{
	struct file *file = fget(fd);
	struct dma_buf *buf;

	if (!file)
		return ERR_PTR(-EBADF);
	if (!is_dma_buf_file_op(file)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	buf = file->private_data;
	dma_buf_hold(buf, DMA_BUF_HOLD_REF, NULL);
	trace_dma_buf_get(buf, fd);
	return buf;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_get, DMA_BUF);

#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
/**
 * dma_buf_track_get - tell the holder tracker about a get_dma_buf()
 * @buf: the buffer, whose file reference get_dma_buf() has just taken
 *
 * Only get_dma_buf() calls this, and only with CONFIG_DMABUF_DEBUG_HOLDERS,
 * so that the new reference is recorded with its taker's stack.  It is
 * out of line to keep get_dma_buf() small, and exported without a
 * namespace since drivers may call get_dma_buf() without importing DMA_BUF.
 *
 * Context: any context get_dma_buf() is called in, atomic ones included.
 */
void dma_buf_track_get(struct dma_buf *buf)
{
	dma_buf_hold(buf, DMA_BUF_HOLD_REF, NULL);
}
EXPORT_SYMBOL_GPL(dma_buf_track_get);
#endif

/**
 * dma_buf_put - drop a reference to a buffer
 * @buf: the buffer
 *
 * The buffer is released, and the exporter's &dma_buf_ops.release called,
 * once the last reference (fd, mapping, kernel user) is gone; from a
 * kernel thread that happens later, from a workqueue.
 *
 * Context: any context fput() allows.
 */
void dma_buf_put(struct dma_buf *buf)
{
	if (WARN_ON(!buf || !buf->file))
		return;
	/* Before the fput(), which may drop the last reference. */
	trace_dma_buf_put(buf);
	dma_buf_unhold(buf, DMA_BUF_HOLD_REF, NULL);
	fput(buf->file);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_put, DMA_BUF);

/*
 * CONFIG_DMABUF_DEBUG: importers may only use the DMA addresses of a
 * mapping.  Flipping the page pointers (but not the chain and end bits)
 * of every entry the importer sees makes one that touches the pages fault
 * at once; flipping them again restores the exporter's list.
 */
static void dma_buf_scramble_pages(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_DMABUF_DEBUG))
		return;
	for_each_sgtable_sg(sgt, sg, i)
		sg->page_link ^= ~(unsigned long)SG_PAGE_LINK_MASK;
}

/* Importers passing a NULL or freed attachment get a WARN and an error. */
static bool dma_buf_bad_attachment(struct dma_buf_attachment *attach)
{
	return WARN_ON(!attach || !attach->dmabuf);
}

static struct dma_resv *dma_buf_attachment_resv(struct dma_buf_attachment *attach)
{
	return attach->dmabuf->resv;
}

/* The exporter's mapping, made ready for the importer. */
static struct sg_table *dma_buf_exporter_map(struct dma_buf_attachment *attach,
					     enum dma_data_direction dir)
{
	struct dma_buf *buf = attach->dmabuf;
	struct sg_table *sgt;
	long wait;

	sgt = buf->ops->map_dma_buf(attach, dir);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (IS_ERR(sgt))
		return sgt;

	/*
	 * A static importer cannot hear about moves: it gets the buffer only
	 * once the exporter's own work on it (kernel fences) is done.
	 */
	if (!dma_buf_attachment_is_dynamic(attach)) {
		wait = dma_resv_wait_timeout(buf->resv,
					     DMA_RESV_USAGE_KERNEL, true,
					     MAX_SCHEDULE_TIMEOUT);
		if (wait < 0) {
			buf->ops->unmap_dma_buf(attach, sgt, dir);
			return ERR_PTR(wait);
		}
	}
	dma_buf_scramble_pages(sgt);
	return sgt;
}

static void dma_buf_exporter_unmap(struct dma_buf_attachment *attach,
				   struct sg_table *sgt,
				   enum dma_data_direction dir)
{
	dma_buf_scramble_pages(sgt);
	attach->dmabuf->ops->unmap_dma_buf(attach, sgt, dir);
}

/*
 * Whether maps for this attachment pin a dynamic exporter one by one.
 * Without move notification the core cannot let dynamic importers follow
 * moves, so each of their mappings pins the buffer while it exists.
 */
static bool dma_buf_pins_per_map(struct dma_buf_attachment *attach)
{
	return dma_buf_is_dynamic(attach->dmabuf) &&
	       !IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY);
}

/*
 * Every pin of the exporter goes through these two, dma_buf_pin()'s and
 * those the core takes for mappings that cannot follow moves, so that the
 * holder tracker sees them all.  An exporter that is not dynamic has
 * nothing to pin, and pinning it succeeds.
 */
static int dma_buf_exporter_pin(struct dma_buf_attachment *attach)
{
	struct dma_buf *buf = attach->dmabuf;
	int ret = buf->ops->pin ? buf->ops->pin(attach) : 0;

	if (!ret)
		dma_buf_hold(buf, DMA_BUF_HOLD_PIN, attach);
	return ret;
}

static void dma_buf_exporter_unpin(struct dma_buf_attachment *attach)
{
	struct dma_buf *buf = attach->dmabuf;

	if (buf->ops->unpin)
		buf->ops->unpin(attach);
	dma_buf_unhold(buf, DMA_BUF_HOLD_PIN, attach);
}

/*
 * When importer and exporter disagree on dynamic handling, neither side's
 * locking works for the other at map time, so the one mapping the
 * attachment will ever have is made now, bidirectional, and a dynamic
 * exporter stays pinned for the importer that cannot follow moves.
 */
static int dma_buf_map_at_attach(struct dma_buf_attachment *attach)
{
	struct dma_buf *buf = attach->dmabuf;
	struct sg_table *sgt;
	int ret;

	if (dma_buf_is_dynamic(buf)) {
		ret = dma_buf_exporter_pin(attach);
		if (ret)
			return ret;
	}
	sgt = dma_buf_exporter_map(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		if (dma_buf_is_dynamic(buf))
			dma_buf_exporter_unpin(attach);
		return PTR_ERR(sgt);
	}
	attach->sgt = sgt;
	attach->dir = DMA_BIDIRECTIONAL;
	return 0;
}

/**
 * dma_buf_dynamic_attach - attach a device to a buffer
 * @buf: the buffer
 * @dev: the device that will access it
 * @importer_ops: the importer's callbacks, or NULL for a static importer
 * @importer_priv: the importer's data, stored in the attachment
 *
 * With @importer_ops the importer is dynamic: it maps with the buffer's
 * reservation lock held and follows moves through
 * &dma_buf_attach_ops.move_notify.  When importer and exporter differ in
 * this, the attachment's only mapping is made here (bidirectional) and a
 * dynamic exporter is pinned until dma_buf_detach().
 *
 * Context: process context; takes the buffer's reservation lock, so the
 * caller must not hold it.
 *
 * Return: the new attachment, or an ERR_PTR: -EINVAL (with a WARN) for a
 * NULL buffer or device or @importer_ops without move_notify; -ENOMEM;
 * or the error of the exporter's attach, pin or map.
 */
struct dma_buf_attachment *
dma_buf_dynamic_attach(struct dma_buf *buf, struct device *dev,
		       const struct dma_buf_attach_ops *importer_ops,
		       void *importer_priv)
{
	struct dma_buf_attachment *attach;
	int ret;

	might_sleep();
	if (WARN_ON(!buf || !dev))
		return ERR_PTR(-EINVAL);
	if (WARN_ON(importer_ops && !importer_ops->move_notify))
		return ERR_PTR(-EINVAL);
	might_lock(&buf->resv->lock.base);

	attach = dma_buf_kzalloc(sizeof(*attach), GFP_KERNEL);
	if (!attach)
		return ERR_PTR(-ENOMEM);
	attach->dmabuf = buf;
	attach->dev = dev;
	attach->importer_ops = importer_ops;
	attach->importer_priv = importer_priv;
	attach->peer2peer = importer_ops && importer_ops->allow_peer2peer;

	if (buf->ops->attach) {
		ret = buf->ops->attach(buf, attach);
		if (ret)
			goto err_free;
	}

	/*
	 * The attachment joins the list before any pin or map: exporters
	 * look at all attachments to decide where the buffer can live.  One
	 * lock hold covers both, so nobody sees it half set up.
	 */
	dma_resv_lock(buf->resv, NULL);
	list_add(&attach->node, &buf->attachments);
	if (dma_buf_attachment_is_dynamic(attach) != dma_buf_is_dynamic(buf)) {
		ret = dma_buf_map_at_attach(attach);
		if (ret) {
			list_del(&attach->node);
			dma_resv_unlock(buf->resv);
			goto err_detach;
		}
	}
	dma_resv_unlock(buf->resv);
	dma_buf_hold(buf, DMA_BUF_HOLD_ATTACH, attach);
	/* Named for mainline's dynamic attach, it reports static ones too. */
	trace_dma_buf_dynamic_attach(buf, attach,
				     dma_buf_attachment_is_dynamic(attach), dev);
	return attach;

err_detach:
	if (buf->ops->detach)
		buf->ops->detach(buf, attach);
err_free:
	kfree(attach);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_dynamic_attach, DMA_BUF);

/**
 * dma_buf_attach - attach a device to a buffer as a static importer
 * @buf: the buffer
 * @dev: the device that will access it
 *
 * dma_buf_dynamic_attach() without importer callbacks: the importer cannot
 * follow moves, so a dynamic exporter stays pinned while it is attached.
 *
 * Context: process context; takes the buffer's reservation lock.
 *
 * Return: as for dma_buf_dynamic_attach().
 */
struct dma_buf_attachment *dma_buf_attach(struct dma_buf *buf,
					  struct device *dev)
{
	return dma_buf_dynamic_attach(buf, dev, NULL, NULL);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_attach, DMA_BUF);

/**
 * dma_buf_detach - detach a device from a buffer
 * @buf: the buffer
 * @attach: its attachment, from dma_buf_attach() or dma_buf_dynamic_attach()
 *
 * Releases the mapping the core cached for the attachment and the pin that
 * came with it, then frees the attachment.  Mappings the importer made
 * itself must be unmapped before.
 *
 * Context: process context; takes the buffer's reservation lock, so the
 * caller must not hold it.  WARNs and does nothing when @attach is not an
 * attachment of @buf.
 */
void dma_buf_detach(struct dma_buf *buf, struct dma_buf_attachment *attach)
{
	might_sleep();
	if (WARN_ON(!buf || !attach || attach->dmabuf != buf))
		return;
	/* At the start, as mainline's event. */
	trace_dma_buf_detach(buf, attach, dma_buf_attachment_is_dynamic(attach),
			     attach->dev);

	dma_resv_lock(buf->resv, NULL);
	if (attach->sgt) {
		/* Importers still using the kept mapping lose it now. */
		dma_buf_holders_forget(buf, attach->sgt);
		dma_buf_exporter_unmap(attach, attach->sgt, attach->dir);
		/* Only mappings made at attach pin; cached ones cannot. */
		if (dma_buf_is_dynamic(buf))
			dma_buf_exporter_unpin(attach);
		attach->sgt = NULL;
	}
	list_del(&attach->node);
	dma_resv_unlock(buf->resv);

	if (buf->ops->detach)
		buf->ops->detach(buf, attach);
	dma_buf_unhold(buf, DMA_BUF_HOLD_ATTACH, attach);
	/* Pins left behind: named, then dropped before the address is reused. */
	dma_buf_holders_forget(buf, attach);
	kfree(attach);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_detach, DMA_BUF);

/**
 * dma_buf_pin - keep a buffer where a dynamic importer can reach it
 * @attach: a dynamic importer's attachment
 *
 * For importers that need the buffer in place for a while, e.g. for
 * scanout.  Undo with dma_buf_unpin().  A buffer whose exporter is not
 * dynamic never moves, so pinning it does nothing.
 *
 * Context: the buffer's reservation lock must be held.
 *
 * Return: 0 or the exporter's error.  A static importer's attachment,
 * which is already pinned as long as it needs, gets a WARN, and the
 * exporter's &dma_buf_ops.pin is called all the same.
 */
int dma_buf_pin(struct dma_buf_attachment *attach)
{
	struct dma_buf *buf = attach->dmabuf;
	bool dynamic = dma_buf_attachment_is_dynamic(attach);
	int ret;

	dma_resv_assert_held(buf->resv);
	/* Misuse, but the exporter still decides, as in 6.12. */
	WARN_ON(!dynamic);
	ret = dma_buf_exporter_pin(attach);
	if (!ret)
		trace_dma_buf_pin(buf, attach, dynamic, attach->dev);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_pin, DMA_BUF);

/**
 * dma_buf_unpin - undo one dma_buf_pin()
 * @attach: the attachment that was pinned
 *
 * Context: the buffer's reservation lock must be held.  WARNs for a
 * static importer's attachment, and still calls the exporter's
 * &dma_buf_ops.unpin.
 */
void dma_buf_unpin(struct dma_buf_attachment *attach)
{
	struct dma_buf *buf = attach->dmabuf;
	bool dynamic = dma_buf_attachment_is_dynamic(attach);

	dma_resv_assert_held(buf->resv);
	WARN_ON(!dynamic);
	trace_dma_buf_unpin(buf, attach, dynamic, attach->dev);
	dma_buf_exporter_unpin(attach);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_unpin, DMA_BUF);

/* A map that succeeded; @cached: the attachment's kept mapping, reused. */
static void dma_buf_mapped(struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir,
			   bool cached)
{
	dma_buf_hold(attach->dmabuf, DMA_BUF_HOLD_MAP, sgt);
	trace_dma_buf_map_attachment(attach->dmabuf, attach,
				     dma_buf_attachment_is_dynamic(attach),
				     attach->dev, dir, cached);
}

/**
 * dma_buf_map_attachment - map a buffer for an attached device
 * @attach: the attachment
 * @direction: the direction of the DMA transfers
 *
 * Returns the scatterlist of the buffer's DMA addresses for the attached
 * device; only those may be used, never the pages.  An attachment with a
 * cached mapping gets that one back.  For a static importer the mapping
 * is handed out only after the buffer's kernel fences have signaled; a
 * dynamic importer must wait for them itself, and keeps the mapping only
 * until the next &dma_buf_attach_ops.move_notify.  Release it with
 * dma_buf_unmap_attachment().
 *
 * Context: process context, with the buffer's reservation lock held (see
 * dma_buf_map_attachment_unlocked() otherwise).
 *
 * Return: the scatterlist, or an ERR_PTR: -EINVAL (with a WARN) for a
 * NULL attachment; -EBUSY when a cached mapping exists for another
 * direction; -ENOMEM; -ERESTARTSYS when a signal interrupted the wait for
 * kernel fences; or the exporter's pin or map error.
 */
struct sg_table *dma_buf_map_attachment(struct dma_buf_attachment *attach,
					enum dma_data_direction direction)
{
	const struct dma_buf_ops *ops;
	struct sg_table *sgt;
	bool pinned = false;
	int ret;

	might_sleep();
	if (dma_buf_bad_attachment(attach))
		return ERR_PTR(-EINVAL);
	dma_resv_assert_held(dma_buf_attachment_resv(attach));
	ops = attach->dmabuf->ops;

	if (attach->sgt) {
		/* A bidirectional mapping serves either direction. */
		if (attach->dir != direction && attach->dir != DMA_BIDIRECTIONAL)
			return ERR_PTR(-EBUSY);
		dma_buf_mapped(attach, attach->sgt, direction, true);
		return attach->sgt;
	}

	if (dma_buf_pins_per_map(attach)) {
		ret = dma_buf_exporter_pin(attach);
		if (ret)
			return ERR_PTR(ret);
		pinned = true;
	}
	sgt = dma_buf_exporter_map(attach, direction);
	if (IS_ERR(sgt)) {
		if (pinned)
			dma_buf_exporter_unpin(attach);
		return sgt;
	}
	if (ops->cache_sgt_mapping) {
		attach->sgt = sgt;
		attach->dir = direction;
	}
	dma_buf_mapped(attach, sgt, direction, false);
	return sgt;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_map_attachment, DMA_BUF);

/**
 * dma_buf_map_attachment_unlocked - map a buffer, taking the lock itself
 * @attach: the attachment
 * @direction: the direction of the DMA transfers
 *
 * dma_buf_map_attachment() for importers that do not hold the buffer's
 * reservation lock.
 *
 * Context: process context; the caller must not hold the reservation lock.
 *
 * Return: as for dma_buf_map_attachment().
 */
struct sg_table *
dma_buf_map_attachment_unlocked(struct dma_buf_attachment *attach,
				enum dma_data_direction direction)
{
	struct dma_resv *resv;
	struct sg_table *sgt;

	might_sleep();
	if (dma_buf_bad_attachment(attach))
		return ERR_PTR(-EINVAL);
	resv = attach->dmabuf->resv;
	dma_resv_lock(resv, NULL);
	sgt = dma_buf_map_attachment(attach, direction);
	dma_resv_unlock(resv);
	return sgt;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_map_attachment_unlocked, DMA_BUF);

/**
 * dma_buf_unmap_attachment - release a mapping
 * @attach: the attachment it was made for
 * @sg_table: the scatterlist dma_buf_map_attachment() returned
 * @direction: the direction it was mapped with
 *
 * A cached mapping stays until dma_buf_detach(); others go back to the
 * exporter now, along with the pin a dynamic exporter took for them.
 *
 * Context: process context, with the buffer's reservation lock held.
 * WARNs and does nothing for a NULL attachment or scatterlist.
 */
void dma_buf_unmap_attachment(struct dma_buf_attachment *attach,
			      struct sg_table *sg_table,
			      enum dma_data_direction direction)
{
	bool dynamic, cached;

	might_sleep();
	if (dma_buf_bad_attachment(attach) || WARN_ON(!sg_table))
		return;
	dma_resv_assert_held(dma_buf_attachment_resv(attach));
	dynamic = dma_buf_attachment_is_dynamic(attach);
	/* The cached mapping is the attachment's until detach. */
	cached = sg_table == attach->sgt;

	trace_dma_buf_unmap_attachment(attach->dmabuf, attach, dynamic,
				       attach->dev, direction, cached);
	dma_buf_unhold(attach->dmabuf, DMA_BUF_HOLD_MAP, sg_table);
	if (cached)
		return;
	dma_buf_exporter_unmap(attach, sg_table, direction);
	if (dma_buf_pins_per_map(attach)) {
		/* The WARN of 6.12's dma_buf_unpin() for a static importer. */
		WARN_ON(!dynamic);
		dma_buf_exporter_unpin(attach);
	}
}
EXPORT_SYMBOL_NS_GPL(dma_buf_unmap_attachment, DMA_BUF);

/**
 * dma_buf_unmap_attachment_unlocked - release a mapping, taking the lock
 * @attach: the attachment it was made for
 * @sg_table: the scatterlist dma_buf_map_attachment() returned
 * @direction: the direction it was mapped with
 *
 * Context: process context; the caller must not hold the reservation lock.
 */
void dma_buf_unmap_attachment_unlocked(struct dma_buf_attachment *attach,
				       struct sg_table *sg_table,
				       enum dma_data_direction direction)
{
	struct dma_resv *resv;

	might_sleep();
	if (dma_buf_bad_attachment(attach) || WARN_ON(!sg_table))
		return;
	resv = attach->dmabuf->resv;
	dma_resv_lock(resv, NULL);
	dma_buf_unmap_attachment(attach, sg_table, direction);
	dma_resv_unlock(resv);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_unmap_attachment_unlocked, DMA_BUF);

/**
 * dma_buf_move_notify - tell the dynamic importers that a buffer moves
 * @buf: the buffer
 *
 * Called by a dynamic exporter before it moves the buffer; every dynamic
 * importer's &dma_buf_attach_ops.move_notify runs.  Static importers hold
 * a pin, so the buffer cannot move under them.
 *
 * Context: the buffer's reservation lock must be held.
 */
void dma_buf_move_notify(struct dma_buf *buf)
{
	struct dma_buf_attachment *attach;

	dma_resv_assert_held(buf->resv);
	trace_dma_buf_move_notify(buf);
	list_for_each_entry(attach, &buf->attachments, node) {
		if (dma_buf_attachment_is_dynamic(attach))
			attach->importer_ops->move_notify(attach);
	}
}
EXPORT_SYMBOL_NS_GPL(dma_buf_move_notify, DMA_BUF);

/**
 * dma_buf_begin_cpu_access - prepare a buffer for CPU access
 * @buf: the buffer
 * @direction: DMA_FROM_DEVICE to read, DMA_TO_DEVICE or DMA_BIDIRECTIONAL
 *	to write
 *
 * Lets the exporter make the CPU's view coherent, then waits for the
 * device work the access must not overlap: writers before a read, all
 * fences before a write.  The exporter goes first because the work it
 * queues (a move, a flush) is part of what must be waited for.  Pair with
 * dma_buf_end_cpu_access().
 *
 * Context: process context; may take the buffer's reservation lock, so the
 * caller must not hold it.
 *
 * Return: 0, -EINVAL (with a WARN) for a NULL buffer, -ERESTARTSYS when a
 * signal interrupted the wait, or the exporter's error.
 */
int dma_buf_begin_cpu_access(struct dma_buf *buf,
			     enum dma_data_direction direction)
{
	bool write = direction == DMA_TO_DEVICE ||
		     direction == DMA_BIDIRECTIONAL;
	long ret;

	might_sleep();
	if (WARN_ON(!buf))
		return -EINVAL;
	might_lock(&buf->resv->lock.base);

	if (buf->ops->begin_cpu_access) {
		ret = buf->ops->begin_cpu_access(buf, direction);
		if (ret)
			return ret;
	}
	ret = dma_resv_wait_timeout(buf->resv, dma_resv_usage_rw(write),
				    true, MAX_SCHEDULE_TIMEOUT);
	if (ret < 0)
		return ret;
	/* The direction tells concurrent accesses apart. */
	dma_buf_hold(buf, DMA_BUF_HOLD_CPU, DMA_BUF_HOLD_CPU_KEY(direction));
	trace_dma_buf_begin_cpu_access(buf, direction);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_begin_cpu_access, DMA_BUF);

/**
 * dma_buf_end_cpu_access - finish CPU access to a buffer
 * @buf: the buffer
 * @direction: the direction given to dma_buf_begin_cpu_access()
 *
 * Lets the exporter flush what the CPU wrote for the devices.
 *
 * Context: process context; may take the buffer's reservation lock, so the
 * caller must not hold it.
 *
 * Return: 0, -EINVAL (with a WARN) for a NULL buffer, or the exporter's
 * error.
 */
int dma_buf_end_cpu_access(struct dma_buf *buf,
			   enum dma_data_direction direction)
{
	const void *key = DMA_BUF_HOLD_CPU_KEY(direction);
	int ret;

	might_sleep();
	if (WARN_ON(!buf))
		return -EINVAL;
	might_lock(&buf->resv->lock.base);

	if (buf->ops->end_cpu_access) {
		ret = buf->ops->end_cpu_access(buf, direction);
		/* Still open: the caller may try again (a restarted SYNC). */
		if (ret)
			return ret;
	}
	dma_buf_unhold(buf, DMA_BUF_HOLD_CPU, key);
	trace_dma_buf_end_cpu_access(buf, direction);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_end_cpu_access, DMA_BUF);

/**
 * dma_buf_mmap - map a buffer into a process on an importer's behalf
 * @buf: the buffer
 * @vma: the importer's vma, which now maps the buffer's file
 * @pgoff: the offset into the buffer, in pages
 *
 * For importers whose own mmap() of a buffer they imported should map the
 * exporter's memory.  The vma's file is replaced by the buffer's.
 *
 * Context: process context, with the mmap lock held (as in ->mmap); the
 * exporter may take the buffer's reservation lock.
 *
 * Return: 0; -EINVAL (with a WARN for NULL arguments) when the exporter
 * cannot mmap or the range does not fit in the buffer; -EOVERFLOW when
 * @pgoff plus the vma's size overflows; or the exporter's error.
 */
int dma_buf_mmap(struct dma_buf *buf, struct vm_area_struct *vma,
		 unsigned long pgoff)
{
	unsigned long end;
	int ret;

	if (WARN_ON(!buf || !vma))
		return -EINVAL;
	/* Called from an ->mmap handler, which runs under the mmap lock. */
	mmap_assert_locked(vma->vm_mm);
	if (!buf->ops->mmap)
		return -EINVAL;
	if (check_add_overflow(pgoff, vma_pages(vma), &end))
		return -EOVERFLOW;
	if (end > buf->size >> PAGE_SHIFT)
		return -EINVAL;

	vma_set_file(vma, buf->file);
	vma->vm_pgoff = pgoff;
	/* As mainline: once the core accepted the range, whatever follows. */
	trace_dma_buf_mmap(buf);
	ret = buf->ops->mmap(buf, vma);
	if (!ret)
		dma_buf_hold(buf, DMA_BUF_HOLD_MMAP, NULL);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_mmap, DMA_BUF);

/**
 * dma_buf_vmap - map a whole buffer into the kernel's address space
 * @buf: the buffer
 * @map: set to the mapping's address on success, cleared otherwise
 *
 * The core counts the users of the mapping: the exporter's
 * &dma_buf_ops.vmap runs only for the first, and every user gets the same
 * address.  Each successful call needs one dma_buf_vunmap().
 *
 * Context: the buffer's reservation lock must be held (see
 * dma_buf_vmap_unlocked() otherwise).
 *
 * Return: 0; -EINVAL (with a WARN for a NULL buffer) when the exporter
 * cannot vmap or reported success without an address; -EOVERFLOW when the
 * count would wrap; or the exporter's error, of which the first one since
 * boot is reported with a WARN, as in 6.12.
 */
int dma_buf_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct iosys_map mapping;
	int ret;

	iosys_map_clear(map);
	if (WARN_ON(!buf))
		return -EINVAL;
	dma_resv_assert_held(buf->resv);
	if (!buf->ops->vmap)
		return -EINVAL;

	if (!buf->vmapping_counter) {
		iosys_map_clear(&mapping);
		ret = buf->ops->vmap(buf, &mapping);
		/* Reported once, as 6.12 does: callers may retry under pressure. */
		if (WARN_ON_ONCE(ret))
			return ret;
		if (WARN(iosys_map_is_null(&mapping),
			 "dma-buf %s: vmap succeeded without an address\n",
			 buf->exp_name))
			return -EINVAL;
		buf->vmap_ptr = mapping;
	} else if (WARN_ON(buf->vmapping_counter == UINT_MAX)) {
		return -EOVERFLOW;
	}
	buf->vmapping_counter++;
	*map = buf->vmap_ptr;
	dma_buf_hold(buf, DMA_BUF_HOLD_VMAP, buf);
	trace_dma_buf_vmap(buf, buf->vmapping_counter);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_vmap, DMA_BUF);

/**
 * dma_buf_vmap_unlocked - dma_buf_vmap(), taking the lock itself
 * @buf: the buffer
 * @map: set to the mapping's address on success, cleared otherwise
 *
 * Context: process context; the caller must not hold the reservation lock.
 *
 * Return: as for dma_buf_vmap().
 */
int dma_buf_vmap_unlocked(struct dma_buf *buf, struct iosys_map *map)
{
	int ret;

	iosys_map_clear(map);
	if (WARN_ON(!buf))
		return -EINVAL;
	dma_resv_lock(buf->resv, NULL);
	ret = dma_buf_vmap(buf, map);
	dma_resv_unlock(buf->resv);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_vmap_unlocked, DMA_BUF);

/**
 * dma_buf_vunmap - give up one user's kernel mapping of a buffer
 * @buf: the buffer
 * @map: the mapping dma_buf_vmap() returned
 *
 * The exporter's &dma_buf_ops.vunmap runs when the last user is gone.
 *
 * Context: the buffer's reservation lock must be held.  WARNs and changes
 * nothing when the buffer is not mapped or @map is not its mapping.
 */
void dma_buf_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	if (WARN_ON(!buf))
		return;
	dma_resv_assert_held(buf->resv);
	if (WARN(!buf->vmapping_counter,
		 "dma-buf %s: vunmap without vmap\n", buf->exp_name))
		return;
	if (WARN(!iosys_map_is_equal(&buf->vmap_ptr, map),
		 "dma-buf %s: vunmap of an address that is not mapped\n",
		 buf->exp_name)) {
		dma_buf_holders_report(buf, DMA_BUF_HOLD_VMAP, buf);
		return;
	}

	dma_buf_unhold(buf, DMA_BUF_HOLD_VMAP, buf);
	if (!--buf->vmapping_counter) {
		/*
		 * The caller's map, as 6.12: GEM's vunmap clears it for the
		 * caller.
		 */
		if (buf->ops->vunmap)
			buf->ops->vunmap(buf, map);
		iosys_map_clear(&buf->vmap_ptr);
	}
	trace_dma_buf_vunmap(buf, buf->vmapping_counter);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_vunmap, DMA_BUF);

/**
 * dma_buf_vunmap_unlocked - dma_buf_vunmap(), taking the lock itself
 * @buf: the buffer
 * @map: the mapping dma_buf_vmap() returned
 *
 * Context: process context; the caller must not hold the reservation lock.
 */
void dma_buf_vunmap_unlocked(struct dma_buf *buf, struct iosys_map *map)
{
	if (WARN_ON(!buf))
		return;
	dma_resv_lock(buf->resv, NULL);
	dma_buf_vunmap(buf, map);
	dma_resv_unlock(buf->resv);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_vunmap_unlocked, DMA_BUF);

static int __init dma_buf_core_init(void)
{
	struct vfsmount *mnt;
	int ret;

	dma_buf_registry_init();
	/* Without the exporter's object the buffer ends with ours. */
	dma_buf_cache = kmem_cache_create("dma_buf",
					  offsetof(struct dma_buf_core, resv),
					  __alignof__(struct dma_buf_core),
					  SLAB_PANIC, NULL);
	dma_buf_with_resv_cache = kmem_cache_create("dma_buf_with_resv",
						    sizeof(struct dma_buf_core),
						    __alignof__(struct dma_buf_core),
						    SLAB_PANIC, NULL);
	ret = dma_buf_init_sysfs_statistics();
	if (ret)
		return ret;
	mnt = kern_mount(&dma_buf_fstype);
	if (IS_ERR(mnt)) {
		ret = PTR_ERR(mnt);
		goto err_stats;
	}
	dma_buf_mount = mnt;
	/* Buffers work without their debugfs listing. */
	if (dma_buf_debugfs_init())
		pr_warn("no debugfs listing of buffers\n");
	pr_info("clean-room core\n");
	return 0;

err_stats:
	dma_buf_uninit_sysfs_statistics();
	return ret;
}
subsys_initcall(dma_buf_core_init);
