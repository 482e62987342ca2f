// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite "dma-buf-trace": the core's trace events.
 *
 * Probes attached to the tracepoints record what fires for the buffers of
 * the case's exporter (and for waits on its reservation object): a
 * buffer's whole life gives the expected events in order with the right
 * fields, failed calls give none, every event fires while its buffer is
 * alive (dma_buf_fd's before the fd is installed), and dma_resv_wait
 * reports only waits that slept.
 *
 * The race cases enable the real ftrace events and close the buffer's fd
 * from another thread the moment it appears, against dma_buf_fd() and
 * against the final dma_buf_put(): an event emitted after the reference
 * was handed over reads a buffer that may already be freed, which KASAN
 * reports.  They race for real only with two CPUs (host/smp); on
 * uniprocessor UML they still check that every buffer is released once.
 */

#include <kunit/static_stub.h>
#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mman.h>
#include <linux/sched/signal.h>
#include <linux/trace_events.h>
#include <linux/tracepoint.h>
#include <linux/wait_bit.h>
#include <trace/events/dma_buf.h>

#include "dma-buf-test.h"
#include "../dma-buf-internal.h"

static int iterations = 1000;
module_param(iterations, int, 0444);
MODULE_PARM_DESC(iterations, "iterations of each race case");

enum tt_ev {
	TT_EXPORT, TT_FD, TT_GET, TT_PUT, TT_ATTACH, TT_DETACH, TT_PIN,
	TT_UNPIN, TT_MAP, TT_UNMAP, TT_VMAP, TT_VUNMAP, TT_BEGIN, TT_END,
	TT_MMAP_FD, TT_MMAP, TT_MOVE, TT_RELEASE, TT_WAIT, TT_EVENTS
};

static const char * const tt_names[TT_EVENTS] = {
	[TT_EXPORT] = "dma_buf_export",
	[TT_FD] = "dma_buf_fd",
	[TT_GET] = "dma_buf_get",
	[TT_PUT] = "dma_buf_put",
	[TT_ATTACH] = "dma_buf_dynamic_attach",
	[TT_DETACH] = "dma_buf_detach",
	[TT_PIN] = "dma_buf_pin",
	[TT_UNPIN] = "dma_buf_unpin",
	[TT_MAP] = "dma_buf_map_attachment",
	[TT_UNMAP] = "dma_buf_unmap_attachment",
	[TT_VMAP] = "dma_buf_vmap",
	[TT_VUNMAP] = "dma_buf_vunmap",
	[TT_BEGIN] = "dma_buf_begin_cpu_access",
	[TT_END] = "dma_buf_end_cpu_access",
	[TT_MMAP_FD] = "dma_buf_mmap_internal",
	[TT_MMAP] = "dma_buf_mmap",
	[TT_MOVE] = "dma_buf_move_notify",
	[TT_RELEASE] = "dma_buf_release",
	[TT_WAIT] = "dma_resv_wait",
};

/* One event as a probe saw it, with the state of its buffer then. */
struct tt_rec {
	enum tt_ev ev;
	struct dma_buf *dmabuf;
	const char *exp_name;
	size_t size;
	unsigned long ino;
	long file_refs;		/* file_count() of the buffer's file */
	int released;		/* the exporter's release calls so far */
	bool fd_open;		/* dma_buf_fd: the fd led to the file already */
	struct dma_buf_attachment *attach;
	struct device *dev;
	bool is_dynamic, cached;
	int arg;		/* fd, direction or vmap count */
	/* dma_resv_wait */
	const void *resv;
	int usage;
	long timeout, ret;
	u64 duration_ns;
};

#define TT_MAX_RECS	64

struct tt_log {
	spinlock_t lock;	/* protects n, lost and rec */
	struct dbt_exporter *exp;	/* only its buffers are recorded */
	const struct dma_resv *resv;	/* and waits on this object */
	unsigned int n, lost;
	struct tt_rec rec[TT_MAX_RECS];
};

static void tt_push(struct tt_log *log, const struct tt_rec *r)
{
	unsigned long flags;

	spin_lock_irqsave(&log->lock, flags);
	if (log->n < TT_MAX_RECS)
		log->rec[log->n++] = *r;
	else
		log->lost++;
	spin_unlock_irqrestore(&log->lock, flags);
}

static unsigned int tt_count(struct tt_log *log)
{
	unsigned int n;

	spin_lock_irq(&log->lock);
	n = log->n + log->lost;
	spin_unlock_irq(&log->lock);
	return n;
}

/* What every buffer event records; false for other exporters' buffers. */
static bool tt_fill(struct tt_log *log, struct tt_rec *r, enum tt_ev ev,
		    struct dma_buf *dmabuf)
{
	if (dmabuf->ops != &log->exp->ops)
		return false;
	memset(r, 0, sizeof(*r));
	r->ev = ev;
	r->dmabuf = dmabuf;
	r->exp_name = dmabuf->exp_name;
	r->size = dmabuf->size;
	r->ino = file_inode(dmabuf->file)->i_ino;
	r->file_refs = file_count(dmabuf->file);
	r->released = log->exp->released;
	return true;
}

static void tt_buf_event(void *log, enum tt_ev ev, struct dma_buf *dmabuf,
			 int arg)
{
	struct tt_rec r;

	if (!tt_fill(log, &r, ev, dmabuf))
		return;
	r.arg = arg;
	tt_push(log, &r);
}

static void tt_attach_event(void *log, enum tt_ev ev, struct dma_buf *dmabuf,
			    struct dma_buf_attachment *attach, bool is_dynamic,
			    struct device *dev, int dir, bool cached)
{
	struct tt_rec r;

	if (!tt_fill(log, &r, ev, dmabuf))
		return;
	r.attach = attach;
	r.is_dynamic = is_dynamic;
	r.dev = dev;
	r.arg = dir;
	r.cached = cached;
	tt_push(log, &r);
}

static void tt_export(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_EXPORT, dmabuf, 0);
}

static void tt_put(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_PUT, dmabuf, 0);
}

static void tt_mmap_fd(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_MMAP_FD, dmabuf, 0);
}

static void tt_mmap(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_MMAP, dmabuf, 0);
}

static void tt_move(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_MOVE, dmabuf, 0);
}

static void tt_release(void *log, struct dma_buf *dmabuf)
{
	tt_buf_event(log, TT_RELEASE, dmabuf, 0);
}

/* Also looks the fd up: it must not lead to the buffer yet. */
static void tt_fd(void *log, struct dma_buf *dmabuf, int fd)
{
	struct file *file;
	struct tt_rec r;

	if (!tt_fill(log, &r, TT_FD, dmabuf))
		return;
	r.arg = fd;
	file = fget(fd);
	r.fd_open = file == dmabuf->file;
	if (file)
		fput(file);
	tt_push(log, &r);
}

static void tt_get(void *log, struct dma_buf *dmabuf, int fd)
{
	tt_buf_event(log, TT_GET, dmabuf, fd);
}

static void tt_vmap(void *log, struct dma_buf *dmabuf, unsigned int count)
{
	tt_buf_event(log, TT_VMAP, dmabuf, count);
}

static void tt_vunmap(void *log, struct dma_buf *dmabuf, unsigned int count)
{
	tt_buf_event(log, TT_VUNMAP, dmabuf, count);
}

static void tt_begin(void *log, struct dma_buf *dmabuf, int dir)
{
	tt_buf_event(log, TT_BEGIN, dmabuf, dir);
}

static void tt_end(void *log, struct dma_buf *dmabuf, int dir)
{
	tt_buf_event(log, TT_END, dmabuf, dir);
}

static void tt_attach(void *log, struct dma_buf *dmabuf,
		      struct dma_buf_attachment *attach, bool is_dynamic,
		      struct device *dev)
{
	tt_attach_event(log, TT_ATTACH, dmabuf, attach, is_dynamic, dev, 0,
			false);
}

static void tt_detach(void *log, struct dma_buf *dmabuf,
		      struct dma_buf_attachment *attach, bool is_dynamic,
		      struct device *dev)
{
	tt_attach_event(log, TT_DETACH, dmabuf, attach, is_dynamic, dev, 0,
			false);
}

static void tt_pin(void *log, struct dma_buf *dmabuf,
		   struct dma_buf_attachment *attach, bool is_dynamic,
		   struct device *dev)
{
	tt_attach_event(log, TT_PIN, dmabuf, attach, is_dynamic, dev, 0, false);
}

static void tt_unpin(void *log, struct dma_buf *dmabuf,
		     struct dma_buf_attachment *attach, bool is_dynamic,
		     struct device *dev)
{
	tt_attach_event(log, TT_UNPIN, dmabuf, attach, is_dynamic, dev, 0,
			false);
}

static void tt_map(void *log, struct dma_buf *dmabuf,
		   struct dma_buf_attachment *attach, bool is_dynamic,
		   struct device *dev, int dir, bool cached)
{
	tt_attach_event(log, TT_MAP, dmabuf, attach, is_dynamic, dev, dir,
			cached);
}

static void tt_unmap(void *log, struct dma_buf *dmabuf,
		     struct dma_buf_attachment *attach, bool is_dynamic,
		     struct device *dev, int dir, bool cached)
{
	tt_attach_event(log, TT_UNMAP, dmabuf, attach, is_dynamic, dev, dir,
			cached);
}

static void tt_wait(void *data, const void *resv, int usage, long timeout,
		    long ret, u64 duration_ns)
{
	struct tt_log *log = data;
	struct tt_rec r = {
		.ev = TT_WAIT,
		.resv = resv,
		.usage = usage,
		.timeout = timeout,
		.ret = ret,
		.duration_ns = duration_ns,
	};

	if (resv == log->resv)
		tt_push(log, &r);
}

/* Detaching a probe that is not attached does no harm. */
static void tt_unregister(struct tt_log *log)
{
	unregister_trace_dma_buf_export(tt_export, log);
	unregister_trace_dma_buf_fd(tt_fd, log);
	unregister_trace_dma_buf_get(tt_get, log);
	unregister_trace_dma_buf_put(tt_put, log);
	unregister_trace_dma_buf_dynamic_attach(tt_attach, log);
	unregister_trace_dma_buf_detach(tt_detach, log);
	unregister_trace_dma_buf_pin(tt_pin, log);
	unregister_trace_dma_buf_unpin(tt_unpin, log);
	unregister_trace_dma_buf_map_attachment(tt_map, log);
	unregister_trace_dma_buf_unmap_attachment(tt_unmap, log);
	unregister_trace_dma_buf_vmap(tt_vmap, log);
	unregister_trace_dma_buf_vunmap(tt_vunmap, log);
	unregister_trace_dma_buf_begin_cpu_access(tt_begin, log);
	unregister_trace_dma_buf_end_cpu_access(tt_end, log);
	unregister_trace_dma_buf_mmap_internal(tt_mmap_fd, log);
	unregister_trace_dma_buf_mmap(tt_mmap, log);
	unregister_trace_dma_buf_move_notify(tt_move, log);
	unregister_trace_dma_buf_release(tt_release, log);
	unregister_trace_dma_resv_wait(tt_wait, log);
	tracepoint_synchronize_unregister();
}

static int tt_register(struct tt_log *log)
{
	return register_trace_dma_buf_export(tt_export, log) ?:
	       register_trace_dma_buf_fd(tt_fd, log) ?:
	       register_trace_dma_buf_get(tt_get, log) ?:
	       register_trace_dma_buf_put(tt_put, log) ?:
	       register_trace_dma_buf_dynamic_attach(tt_attach, log) ?:
	       register_trace_dma_buf_detach(tt_detach, log) ?:
	       register_trace_dma_buf_pin(tt_pin, log) ?:
	       register_trace_dma_buf_unpin(tt_unpin, log) ?:
	       register_trace_dma_buf_map_attachment(tt_map, log) ?:
	       register_trace_dma_buf_unmap_attachment(tt_unmap, log) ?:
	       register_trace_dma_buf_vmap(tt_vmap, log) ?:
	       register_trace_dma_buf_vunmap(tt_vunmap, log) ?:
	       register_trace_dma_buf_begin_cpu_access(tt_begin, log) ?:
	       register_trace_dma_buf_end_cpu_access(tt_end, log) ?:
	       register_trace_dma_buf_mmap_internal(tt_mmap_fd, log) ?:
	       register_trace_dma_buf_mmap(tt_mmap, log) ?:
	       register_trace_dma_buf_move_notify(tt_move, log) ?:
	       register_trace_dma_buf_release(tt_release, log) ?:
	       register_trace_dma_resv_wait(tt_wait, log);
}

static void tt_stop(void *log)
{
	tt_unregister(log);
}

/* Record the events of @exp's buffers until the case ends. */
static struct tt_log *tt_start(struct kunit *test, struct dbt_exporter *exp)
{
	struct tt_log *log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, log);
	spin_lock_init(&log->lock);
	log->exp = exp;
	ret = tt_register(log);
	if (ret) {
		tt_unregister(log);
		kunit_skip(test, "cannot attach probes (%d): no tracepoints?",
			   ret);
	}
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, tt_stop, log));
	return log;
}

static void tt_expect_none(struct kunit *test, struct tt_log *log,
			   unsigned int before, const char *what)
{
	KUNIT_EXPECT_EQ_MSG(test, tt_count(log), before, "%s emitted events",
			    what);
}

/* What an attachment's events must show, noted while it still exists. */
struct tt_att {
	struct dma_buf_attachment *attach;
	struct device *dev;
	bool dynamic;
};

static void tt_note(struct tt_att *a, struct dma_buf_attachment *attach)
{
	a->attach = attach;
	a->dev = attach->dev;
	a->dynamic = dma_buf_attachment_is_dynamic(attach);
}

/* An expected event; @att: 0 none, else 1 + index into the attachments. */
struct tt_want {
	enum tt_ev ev;
	int att;
	int arg;
	bool cached;
};

/*
 * The log holds exactly @want, for buffer @buf with inode @ino, each
 * event fired while the buffer was alive: its file referenced, except at
 * dma_buf_release, which comes when the last reference has gone and
 * before the exporter's release.
 */
static void tt_expect_log(struct kunit *test, struct tt_log *log,
			  struct dma_buf *buf, unsigned long ino,
			  const struct tt_want *want, unsigned int n,
			  const struct tt_att *att)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, log->lost, 0);
	KUNIT_EXPECT_EQ(test, log->n, n);
	for (i = 0; i < min(n, log->n); i++) {
		const struct tt_rec *r = &log->rec[i];
		const struct tt_want *w = &want[i];
		const struct tt_att *a;
		const char *name = tt_names[w->ev];

		KUNIT_EXPECT_STREQ_MSG(test, tt_names[r->ev], name,
				       "event %u", i);
		if (r->ev != w->ev)
			continue;
		KUNIT_EXPECT_PTR_EQ_MSG(test, r->dmabuf, buf, "%s", name);
		KUNIT_EXPECT_STREQ_MSG(test, r->exp_name, KBUILD_MODNAME,
				       "%s", name);
		KUNIT_EXPECT_EQ_MSG(test, r->size, DBT_SIZE, "%s", name);
		KUNIT_EXPECT_EQ_MSG(test, r->ino, ino, "%s", name);
		KUNIT_EXPECT_EQ_MSG(test, r->arg, w->arg, "%s", name);
		KUNIT_EXPECT_EQ_MSG(test, r->cached, w->cached, "%s", name);
		if (w->ev == TT_RELEASE) {
			KUNIT_EXPECT_EQ(test, r->file_refs, 0);
			KUNIT_EXPECT_EQ(test, r->released, 0);
		} else {
			KUNIT_EXPECT_GT_MSG(test, r->file_refs, 0,
					    "%s fired on a dead buffer", name);
		}
		if (w->ev == TT_FD)
			KUNIT_EXPECT_FALSE_MSG(test, r->fd_open,
					       "dma_buf_fd fired after installing the fd");
		if (!w->att) {
			KUNIT_EXPECT_NULL_MSG(test, r->attach, "%s", name);
			continue;
		}
		a = &att[w->att - 1];
		KUNIT_EXPECT_PTR_EQ_MSG(test, r->attach, a->attach, "%s", name);
		KUNIT_EXPECT_PTR_EQ_MSG(test, r->dev, a->dev, "%s", name);
		KUNIT_EXPECT_EQ_MSG(test, r->is_dynamic, a->dynamic, "%s", name);
	}
}

/* A free fd number of the kernel threads' table, which cases share. */
static int tt_free_fd(struct kunit *test)
{
	int fd = get_unused_fd_flags(0);

	KUNIT_ASSERT_GE(test, fd, 0);
	put_unused_fd(fd);
	return fd;
}

/* The test thread's mm, which KUnit makes with its first mapping. */
static void tt_need_mm(struct kunit *test)
{
	unsigned long addr;

	if (current->mm)
		return;
	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
}

static const struct file_operations tt_importer_fops = {
	.owner = THIS_MODULE,
};

/*
 * dma_buf_mmap() as an importer's mmap handler calls it, on a vma of the
 * importer's file that is never linked into the mm.  Drops the file
 * reference the vma ends up with.
 */
static int tt_importer_mmap(struct kunit *test, struct dma_buf *buf,
			    unsigned long pgoff)
{
	struct vm_area_struct *vma = kunit_kzalloc(test, sizeof(*vma),
						   GFP_KERNEL);
	struct file *file;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, vma);
	tt_need_mm(test);
	file = anon_inode_getfile("tt-importer", &tt_importer_fops, NULL,
				  O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	vma->vm_mm = current->mm;
	vma->vm_start = 16 * PAGE_SIZE;
	vma->vm_end = vma->vm_start + PAGE_SIZE;
	vma->vm_file = file;

	mmap_write_lock(vma->vm_mm);
	ret = dma_buf_mmap(buf, vma, pgoff);
	mmap_write_unlock(vma->vm_mm);
	fput(vma->vm_file);
	return ret;
}

/* A buffer's whole life, with a static and a dynamic importer. */
static void tt_life(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *simp = dbt_importer_new(test, "tt-static");
	struct dbt_importer *dimp = dbt_importer_new(test, "tt-dynamic");
	struct dma_buf_attachment *sa, *da;
	struct iosys_map map, map2;
	struct tt_att att[2];
	struct tt_log *log;
	struct dma_buf *buf;
	struct sg_table *sgt;
	unsigned long addr, ino;
	int fd;

	dbt_make_dynamic(exp);
	log = tt_start(test, exp);
	buf = dbt_export(exp);
	ino = file_inode(buf->file)->i_ino;

	fd = dma_buf_fd(buf, O_CLOEXEC);
	KUNIT_ASSERT_GE(test, fd, 0);
	KUNIT_ASSERT_PTR_EQ(test, dma_buf_get(fd), buf);

	/* A static importer of a dynamic exporter: mapped at attach. */
	sa = dbt_attach(test, buf, simp, false);
	tt_note(&att[0], sa);
	sgt = dma_buf_map_attachment_unlocked(sa, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(sgt));
	dma_buf_unmap_attachment_unlocked(sa, sgt, DMA_TO_DEVICE);

	da = dbt_attach(test, buf, dimp, true);
	tt_note(&att[1], da);
	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_map_attachment(da, DMA_FROM_DEVICE);
	KUNIT_EXPECT_FALSE(test, IS_ERR(sgt));
	KUNIT_EXPECT_EQ(test, dma_buf_pin(da), 0);
	dma_buf_move_notify(buf);
	dma_buf_unpin(da);
	if (!IS_ERR(sgt))
		dma_buf_unmap_attachment(da, sgt, DMA_FROM_DEVICE);
	dma_resv_unlock(buf->resv);
	KUNIT_EXPECT_EQ(test, dimp->moves, 1);

	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(buf, &map), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(buf, &map2), 0);
	dma_buf_vunmap_unlocked(buf, &map2);
	dma_buf_vunmap_unlocked(buf, &map);

	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(buf, DMA_BIDIRECTIONAL),
			0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(buf, DMA_BIDIRECTIONAL),
			0);

	tt_need_mm(test);
	addr = vm_mmap(buf->file, 0, DBT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, 0);
	KUNIT_EXPECT_FALSE(test, IS_ERR_VALUE(addr));
	if (!IS_ERR_VALUE(addr))
		KUNIT_EXPECT_EQ(test, vm_munmap(addr, DBT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tt_importer_mmap(test, buf, 1), 0);
	KUNIT_EXPECT_EQ(test, exp->mmapped, 2);

	dma_buf_detach(buf, da);
	dma_buf_detach(buf, sa);
	dma_buf_put(buf);		/* dma_buf_get()'s */
	KUNIT_EXPECT_EQ(test, close_fd(fd), 0);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, exp->released, 1);
	dbt_expect_balanced(exp);

	{
		const struct tt_want want[] = {
			{ TT_EXPORT },
			{ TT_FD, 0, fd },
			{ TT_GET, 0, fd },
			{ TT_ATTACH, 1 },
			{ TT_MAP, 1, DMA_TO_DEVICE, true },
			{ TT_UNMAP, 1, DMA_TO_DEVICE, true },
			{ TT_ATTACH, 2 },
			{ TT_MAP, 2, DMA_FROM_DEVICE },
			{ TT_PIN, 2 },
			{ TT_MOVE },
			{ TT_UNPIN, 2 },
			{ TT_UNMAP, 2, DMA_FROM_DEVICE },
			{ TT_VMAP, 0, 1 },
			{ TT_VMAP, 0, 2 },
			{ TT_VUNMAP, 0, 1 },
			{ TT_VUNMAP, 0, 0 },
			{ TT_BEGIN, 0, DMA_BIDIRECTIONAL },
			{ TT_END, 0, DMA_BIDIRECTIONAL },
			{ TT_MMAP_FD },
			{ TT_MMAP },
			{ TT_DETACH, 2 },
			{ TT_DETACH, 1 },
			{ TT_PUT },
			{ TT_RELEASE },
		};

		tt_expect_log(test, log, buf, ino, want, ARRAY_SIZE(want), att);
	}
	exp->dmabuf = NULL;
}

static struct file *tt_no_file(struct dma_buf *dmabuf, int flags)
{
	return ERR_PTR(-ENOMEM);
}

/* Calls that fail emit nothing; mmap follows mainline (see below). */
static void tt_failures(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *simp = dbt_importer_new(test, "tt-static");
	struct dbt_importer *dimp = dbt_importer_new(test, "tt-dynamic");
	struct rlimit *nofile = &current->signal->rlim[RLIMIT_NOFILE];
	struct dma_buf_attachment *da;
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct tt_att att[1];
	unsigned long ino, old_limit;
	struct iosys_map map;
	struct tt_log *log;
	struct dma_buf *buf;
	struct sg_table *sgt;
	unsigned int n;

	dbt_make_dynamic(exp);
	log = tt_start(test, exp);

	dbt_fill_info(exp, &info);
	kunit_activate_static_stub(test, dma_buf_alloc_file, tt_no_file);
	buf = dma_buf_export(&info);
	kunit_deactivate_static_stub(test, dma_buf_alloc_file);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -ENOMEM);
	tt_expect_none(test, log, 0, "a failed export");

	buf = dbt_export(exp);
	ino = file_inode(buf->file)->i_ino;
	n = tt_count(log);

	/* No fd left: this thread's own limit (kernel threads have one each). */
	old_limit = nofile->rlim_cur;
	nofile->rlim_cur = 0;
	KUNIT_EXPECT_EQ(test, dma_buf_fd(buf, O_CLOEXEC), -EMFILE);
	nofile->rlim_cur = old_limit;
	tt_expect_none(test, log, n, "dma_buf_fd");

	exp->attach_ret = -EBUSY;
	KUNIT_EXPECT_TRUE(test, IS_ERR(dma_buf_attach(buf, simp->dev)));
	exp->attach_ret = 0;
	tt_expect_none(test, log, n, "dma_buf_attach refused by the exporter");

	/* The pin the core takes for a static importer fails. */
	exp->pin_ret = -ENOMEM;
	KUNIT_EXPECT_TRUE(test, IS_ERR(dma_buf_attach(buf, simp->dev)));
	tt_expect_none(test, log, n, "dma_buf_attach failing to pin");

	da = dbt_attach(test, buf, dimp, true);
	tt_note(&att[0], da);
	n = tt_count(log);
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(da), -ENOMEM);
	exp->pin_ret = 0;
	exp->map_ret = -ENOMEM;
	sgt = dma_buf_map_attachment(da, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -ENOMEM);
	exp->map_ret = 0;
	dma_resv_unlock(buf->resv);
	tt_expect_none(test, log, n, "dma_buf_pin, dma_buf_map_attachment");

	/* An exporter without vmap: refused without a WARN. */
	exp->ops.vmap = NULL;
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(buf, &map), -EINVAL);
	exp->ops.vmap = dbt_op_vmap;
	tt_expect_none(test, log, n, "dma_buf_vmap");

	exp->begin_ret = -EIO;
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(buf, DMA_TO_DEVICE),
			-EIO);
	exp->begin_ret = 0;
	exp->end_ret = -EIO;
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(buf, DMA_TO_DEVICE),
			-EIO);
	exp->end_ret = 0;
	tt_expect_none(test, log, n, "CPU access");

	tt_need_mm(test);
	KUNIT_EXPECT_EQ(test, vm_mmap(buf->file, 0, DBT_SIZE + PAGE_SIZE,
				      PROT_READ, MAP_SHARED, 0),
			(unsigned long)-EINVAL);
	KUNIT_EXPECT_EQ(test, tt_importer_mmap(test, buf, DBT_PAGES), -EINVAL);
	tt_expect_none(test, log, n, "mmap outside the buffer");
	KUNIT_EXPECT_EQ(test, exp->mmapped, 0);

	/*
	 * As mainline's: once the core accepted the range, the mmap events
	 * fire before the exporter is asked, whatever it answers.
	 */
	exp->mmap_ret = -EIO;
	KUNIT_EXPECT_EQ(test, tt_importer_mmap(test, buf, 0), -EIO);
	exp->mmap_ret = 0;
	KUNIT_EXPECT_EQ(test, exp->mmapped, 1);

	dma_buf_detach(buf, da);
	dbt_put_final(exp);
	/* Refused attaches count as attached in the fake exporter. */
	KUNIT_EXPECT_EQ(test, exp->pins, 0);
	KUNIT_EXPECT_EQ(test, dbt_live_tables(exp), 0);
	KUNIT_EXPECT_EQ(test, exp->bad_calls, 0);
	{
		const struct tt_want want[] = {
			{ TT_EXPORT },
			{ TT_ATTACH, 1 },
			{ TT_MMAP },
			{ TT_DETACH, 1 },
			{ TT_PUT },
			{ TT_RELEASE },
		};

		tt_expect_log(test, log, buf, ino, want, ARRAY_SIZE(want), att);
	}
}

/* dma_resv_wait: only for waits that slept, with what they were asked. */
static void tt_resv_wait(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	const long timeout = 10 * HZ;
	struct dbt_fence *f;
	struct tt_log *log;
	struct dma_buf *buf;
	u64 start, took;
	unsigned int n;
	long ret;

	log = tt_start(test, exp);
	buf = dbt_export(exp);
	log->resv = buf->resv;
	f = dbt_fence_add(test, buf->resv, DMA_RESV_USAGE_WRITE);
	n = tt_count(log);

	/* A query: the fence is pending, nothing slept. */
	KUNIT_EXPECT_EQ(test, dma_resv_wait_timeout(buf->resv,
						    DMA_RESV_USAGE_READ,
						    false, 0), 0);
	tt_expect_none(test, log, n, "a zero-timeout query");

	dbt_fence_signal_later(f, 50);
	start = ktime_get_ns();
	ret = dma_resv_wait_timeout(buf->resv, DMA_RESV_USAGE_READ, false,
				    timeout);
	took = ktime_get_ns() - start;
	KUNIT_EXPECT_GT(test, ret, 0);
	KUNIT_ASSERT_EQ(test, tt_count(log), n + 1);
	KUNIT_EXPECT_EQ(test, log->rec[n].ev, TT_WAIT);
	KUNIT_EXPECT_PTR_EQ(test, log->rec[n].resv, (const void *)buf->resv);
	KUNIT_EXPECT_EQ(test, log->rec[n].usage, DMA_RESV_USAGE_READ);
	KUNIT_EXPECT_EQ(test, log->rec[n].timeout, timeout);
	KUNIT_EXPECT_EQ(test, log->rec[n].ret, ret);
	KUNIT_EXPECT_GT(test, log->rec[n].duration_ns, 0);
	KUNIT_EXPECT_LE(test, log->rec[n].duration_ns, took);
	n++;

	/* Everything signaled: even a long wait returns at once, silently. */
	KUNIT_EXPECT_GT(test, dma_resv_wait_timeout(buf->resv,
						    DMA_RESV_USAGE_READ,
						    false, timeout), 0);
	tt_expect_none(test, log, n, "a wait with nothing pending");

	/* CPU access waits for the writer, then begins. */
	f = dbt_fence_add(test, buf->resv, DMA_RESV_USAGE_WRITE);
	dbt_fence_signal_later(f, 50);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(buf, DMA_FROM_DEVICE),
			0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(buf, DMA_FROM_DEVICE), 0);
	KUNIT_ASSERT_EQ(test, tt_count(log), n + 3);
	KUNIT_EXPECT_EQ(test, log->rec[n].ev, TT_WAIT);
	KUNIT_EXPECT_EQ(test, log->rec[n].usage, DMA_RESV_USAGE_WRITE);
	KUNIT_EXPECT_EQ(test, log->rec[n].timeout, MAX_SCHEDULE_TIMEOUT);
	KUNIT_EXPECT_EQ(test, log->rec[n + 1].ev, TT_BEGIN);
	KUNIT_EXPECT_EQ(test, log->rec[n + 1].arg, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, log->rec[n + 2].ev, TT_END);
	dbt_put_final(exp);
}

#if IS_ENABLED(CONFIG_EVENT_TRACING)
static void tt_ftrace_off(void *unused)
{
	trace_set_clr_event("dma_buf", NULL, 0);
}

/* Turn the real events on (ring buffer and all) until the case ends. */
static void tt_ftrace_on(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, trace_set_clr_event("dma_buf", NULL, 1), 0);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, tt_ftrace_off,
							   NULL));
}

/* Every event exists for ftrace, under the names tools look for. */
static void tt_ftrace_names(struct kunit *test)
{
	int i;

	for (i = 0; i < TT_EVENTS; i++) {
		KUNIT_EXPECT_EQ_MSG(test, trace_set_clr_event("dma_buf",
							      tt_names[i], 1),
				    0, "%s", tt_names[i]);
		trace_set_clr_event("dma_buf", tt_names[i], 0);
	}
}

/*
 * A buffer released with an attachment and a kernel mapping left is kept,
 * without its file, so that the late detach and vunmap still work: the
 * events those fire must not look for the file's inode.
 */
static void tt_ftrace_leaked_buffer(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "tt-imp");
	struct dma_buf_attachment *attach;
	struct iosys_map map;

	tt_ftrace_on(test);
	attach = dbt_attach(test, dmabuf, imp, false);
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(dmabuf, &map), 0);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	/* One WARN each for the mapping and the attachment left. */
	dbt_expect_warns(test, 2);
	KUNIT_ASSERT_EQ(test, exp->released, 0);
	KUNIT_ASSERT_NULL(test, dmabuf->file);

	dma_buf_vunmap_unlocked(dmabuf, &map);
	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);
	dma_buf_detach(dmabuf, attach);
	KUNIT_EXPECT_EQ(test, exp->vunmapped, 1);
	KUNIT_EXPECT_EQ(test, exp->detached, 1);
}
#else
static void tt_ftrace_on(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_EVENT_TRACING");
}

static void tt_ftrace_names(struct kunit *test)
{
	tt_ftrace_on(test);
}

static void tt_ftrace_leaked_buffer(struct kunit *test)
{
	tt_ftrace_on(test);
}
#endif

/* ---- close() racing the events ---- */

static atomic_t tt_released = ATOMIC_INIT(0);

static void tt_count_release(struct dma_buf *dmabuf)
{
	atomic_inc(&tt_released);
	wake_up_var(&tt_released);
}

struct tt_race {
	atomic_t target;	/* the fd number to close, or -1 */
	atomic_t closed;	/* fds closed so far */
	struct task_struct *closer;
};

/*
 * Closes fd r->target the moment it is installed, and runs the release
 * right here if that was the last reference, so that the buffer is freed
 * as early as it can be.
 */
static int tt_closer_fn(void *arg)
{
	struct tt_race *r = arg;
	int fd;

	while (!kthread_should_stop()) {
		fd = atomic_read_acquire(&r->target);
		if (fd < 0) {
			wait_var_event(&r->target,
				       atomic_read(&r->target) >= 0 ||
				       kthread_should_stop());
			continue;
		}
		if (close_fd(fd)) {
			/* Not installed yet; let a lone CPU get on with it. */
			if (num_online_cpus() == 1)
				usleep_range(1, 3);
			else
				cpu_relax();
			continue;
		}
		atomic_set(&r->target, -1);
		flush_delayed_fput();
		atomic_inc_return_release(&r->closed);
		wake_up_var(&r->closed);
	}
	return 0;
}

static void tt_closer_stop(void *arg)
{
	struct tt_race *r = arg;

	atomic_set(&r->target, -1);
	kthread_stop(r->closer);
}

static struct tt_race *tt_race_start(struct kunit *test)
{
	struct tt_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct task_struct *task;

	KUNIT_ASSERT_NOT_NULL(test, r);
	atomic_set(&r->target, -1);
	task = kthread_create(tt_closer_fn, r, "dma-buf-tt-closer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	/* Another CPU than ours where there is one. */
	if (num_online_cpus() > 1)
		kthread_bind(task, cpumask_any_but(cpu_online_mask,
						   raw_smp_processor_id()));
	r->closer = task;
	wake_up_process(task);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, tt_closer_stop, r));
	return r;
}

/*
 * Each iteration hands a new buffer's only reference (or, with
 * @final_put, one of two) to an fd that the closer closes as soon as it
 * appears; with @final_put this thread drops the other one meanwhile.
 */
static void tt_race(struct kunit *test, bool final_put)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct tt_race *r;
	struct dma_buf *buf;
	int i, fd, want;

	exp->ops.release = tt_count_release;
	atomic_set(&tt_released, 0);
	tt_ftrace_on(test);
	r = tt_race_start(test);

	for (i = 0; i < iterations; i++) {
		buf = dbt_export(exp);
		if (final_put)
			get_dma_buf(buf);
		want = tt_free_fd(test);
		atomic_set_release(&r->target, want);
		wake_up_var(&r->target);
		/* Not a word about @buf from here on: it may be gone. */
		fd = dma_buf_fd(buf, 0);
		if (final_put)
			dma_buf_put(buf);
		if (fd != want) {
			atomic_set(&r->target, -1);
			if (fd >= 0)
				close_fd(fd);
			KUNIT_FAIL(test, "fd %d, not the free %d", fd, want);
			break;
		}
		if (!wait_var_event_timeout(&r->closed,
					    atomic_read_acquire(&r->closed) > i,
					    10 * HZ)) {
			KUNIT_FAIL(test, "fd %d was never closed", fd);
			break;
		}
	}
	exp->dmabuf = NULL;
	/* A last put of ours may be released by the fput worker. */
	flush_delayed_fput();
	wait_var_event_timeout(&tt_released, atomic_read(&tt_released) >= i,
			       10 * HZ);
	KUNIT_EXPECT_EQ(test, atomic_read(&tt_released), i);
}

static void tt_race_fd(struct kunit *test)
{
	tt_race(test, false);
}

static void tt_race_final_put(struct kunit *test)
{
	tt_race(test, true);
}

static struct kunit_case dma_buf_trace_cases[] = {
	KUNIT_CASE(tt_life),
	KUNIT_CASE(tt_failures),
	KUNIT_CASE(tt_resv_wait),
	KUNIT_CASE(tt_ftrace_names),
	KUNIT_CASE(tt_ftrace_leaked_buffer),
	KUNIT_CASE(tt_race_fd),
	KUNIT_CASE(tt_race_final_put),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dma_buf_trace_suite = {
	.name = "dma-buf-trace",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dma_buf_trace_cases,
};

kunit_test_suite(dma_buf_trace_suite);

MODULE_DESCRIPTION("KUnit tests of the dma-buf trace events");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
