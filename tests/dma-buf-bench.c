// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmarks of the dma-buf core's hot paths, hosted by KUnit.
 *
 * Every operation is timed in batches of many calls, because a single call
 * is far shorter than a clock step (UML's clock moves in 256 ns steps).
 * The batch length is calibrated first so that a batch spans at least
 * batch_us microseconds (default: several hundred clock steps), a few
 * batches are thrown away as warm-up, and then "batches" batches are
 * timed.  Each result is one KUnit diagnostic line:
 *
 *   # <case>: bench: <name> median_ns=<ns> p10_ns=<ns> p90_ns=<ns>
 *     min_ns=<ns> calls=<per batch> batches=<n> floor=<floor name>
 *
 * (on one line) where the times are per call.  Floors are the cheapest
 * primitive work an operation cannot avoid, measured the same way in the
 * same boot, so host/bench can give every result as a ratio to its floor.
 *
 * Only the public dma-buf and dma-resv API is used, so the same file
 * builds against any implementation of the core.
 */

#include <kunit/device.h>
#include <kunit/dma-buf.h>
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>
#include <linux/ww_mutex.h>

static unsigned int batches = 21;
module_param(batches, uint, 0444);
MODULE_PARM_DESC(batches, "timed batches per operation (default 21)");

static unsigned int batch_us = 200;
module_param(batch_us, uint, 0444);
MODULE_PARM_DESC(batch_us, "least length of one batch in microseconds (default 200)");

static unsigned int warmup = 3;
module_param(warmup, uint, 0444);
MODULE_PARM_DESC(warmup, "untimed batches before the timed ones (default 3)");

/*
 * The cost per call of an operation that leaves work behind (export and
 * put: freeing at the batch's end) depends on how much memory a batch
 * touches, so two kernels compare fairly only at the same batch length.
 */
static unsigned long calls_per_batch;
module_param(calls_per_batch, ulong, 0444);
MODULE_PARM_DESC(calls_per_batch, "calls per batch of every operation instead of calibrating (default 0: calibrate)");

/* Most reservation objects one batch of the add benchmarks uses. */
#define BB_MAX_OBJS 1024
/* Most fences already present on an object in the single-size suite. */
#define BB_MAX_FENCES 256
/* ... and in the scaling suite. */
#define BB_SCALE_MAX_FENCES 4096
/* Most objects one submission locks. */
#define BB_MAX_SUBMIT 64
/* UML's clock step; a batch must span at least a hundred of them. */
#define BB_CLOCK_STEP_NS 256
#define BB_MIN_BATCH_NS (100 * BB_CLOCK_STEP_NS)
/*
 * Batches of operations that leave work for later (files, inodes and
 * buffers freed after an RCU grace period, at a tick): long enough to span
 * several ticks at HZ=100, so that every batch pays its share of that work
 * instead of some batches paying all of it.
 */
#define BB_DEFERRED_BATCH_US 30000

struct bb_op;
typedef void (*bb_fn)(struct bb_op *op, unsigned long calls);

/*
 * One timed operation: @run makes @calls calls; @prep and @post, when set,
 * set up and tear down what a batch consumes and are not timed.  @max_calls
 * bounds a batch for operations that consume prepared objects;
 * @min_batch_us, when set, lengthens the batches beyond batch_us.
 */
struct bb_op {
	const char *name;
	const char *floor;
	bb_fn prep, run, post;
	unsigned long max_calls;
	unsigned int min_batch_us;
	void *ctx;
	unsigned long sink;
};

static u64 bb_batch(struct bb_op *op, unsigned long calls)
{
	u64 t0, t1;

	if (op->prep)
		op->prep(op, calls);
	t0 = ktime_get_ns();
	op->run(op, calls);
	t1 = ktime_get_ns();
	if (op->post)
		op->post(op, calls);
	cond_resched();
	return t1 - t0;
}

static int bb_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Picoseconds as nanoseconds with one decimal. */
static const char *bb_ns(char *buf, size_t len, u64 ps)
{
	snprintf(buf, len, "%llu.%llu", div_u64(ps, 1000),
		 div_u64(ps % 1000, 100));
	return buf;
}

/*
 * Time the calls as a production kernel would run them.  A core may route
 * allocations through KUnit static stubs, which look up a replacement
 * whenever the calling thread runs a KUnit test: a cost no production
 * kernel pays (and upstream's core does not have).  Clearing the thread's
 * current test while timing makes the stubs take their fast path; our own
 * KUnit calls name the test explicitly and are unaffected.
 */
static struct kunit *bb_hide_test(void)
{
	struct kunit *cur = current->kunit_test;

	current->kunit_test = NULL;
	return cur;
}

static void bb_show_test(struct kunit *cur)
{
	current->kunit_test = cur;
}

static void bb_measure(struct kunit *test, struct bb_op *op)
{
	u64 target = max3((u64)batch_us * NSEC_PER_USEC, (u64)BB_MIN_BATCH_NS,
			  (u64)op->min_batch_us * NSEC_PER_USEC);
	unsigned int nb = max(batches, 3u), i;
	unsigned long calls = 1;
	char n1[24], n2[24], n3[24], n4[24];
	struct kunit *cur;
	u64 *ps, t = 0;

	ps = kunit_kcalloc(test, nb, sizeof(*ps), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ps);
	cur = bb_hide_test();

	/* Calibrate: grow the batch until it spans the target length. */
	while (!calls_per_batch) {
		t = bb_batch(op, calls);
		if (t >= target || (op->max_calls && calls >= op->max_calls))
			break;
		if (t < target / 64)
			calls *= 16;
		else
			calls = calls * 2;
		if (op->max_calls && calls > op->max_calls)
			calls = op->max_calls;
	}
	/* Round the last estimate up so the batch clears the target. */
	if (!calls_per_batch && t && t < target) {
		u64 want = div64_u64((u64)calls * target, t) + 1;

		if (!op->max_calls || want <= op->max_calls)
			calls = want;
	}
	if (calls_per_batch)
		calls = op->max_calls ? min(calls_per_batch, op->max_calls) :
					calls_per_batch;

	for (i = 0; i < warmup; i++)
		bb_batch(op, calls);
	for (i = 0; i < nb; i++)
		ps[i] = div64_u64(bb_batch(op, calls) * 1000, calls);

	bb_show_test(cur);

	sort(ps, nb, sizeof(*ps), bb_cmp_u64, NULL);
	kunit_info(test,
		   "bench: %s median_ns=%s p10_ns=%s p90_ns=%s min_ns=%s calls=%lu batches=%u floor=%s\n",
		   op->name, bb_ns(n1, sizeof(n1), ps[nb / 2]),
		   bb_ns(n2, sizeof(n2), ps[nb / 10]),
		   bb_ns(n3, sizeof(n3), ps[nb - 1 - nb / 10]),
		   bb_ns(n4, sizeof(n4), ps[0]), calls, nb, op->floor ?: "-");
	/* Say so when the batches were too short to trust. */
	if (div64_u64(ps[nb / 2] * calls, 1000) < BB_MIN_BATCH_NS)
		kunit_info(test, "bench-warning: %s: batches shorter than 100 clock steps\n",
			   op->name);
}

/* ---- the exporter and the importer ---- */

/*
 * The kit's exporter with callbacks that do only an exporter's own work:
 * map hands out one table made in advance, vmap the kit's mapping of the
 * pages.  The kit's callbacks count every call and check the reservation
 * lock's state, and its release takes a lock all buffers share: costs no
 * real exporter has, which the timed loops would add to the core's.
 */
struct bb_exp {
	struct kunit_dma_buf_exporter *kit;
	struct sg_table sgt;
	void *vaddr;
};

static struct sg_table *bb_map(struct dma_buf_attachment *attach,
			       enum dma_data_direction dir)
{
	struct bb_exp *exp = attach->dmabuf->priv;

	return &exp->sgt;
}

static void bb_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		     enum dma_data_direction dir)
{
}

static void bb_release(struct dma_buf *buf)
{
}

static int bb_pin(struct dma_buf_attachment *attach)
{
	return 0;
}

static void bb_unpin(struct dma_buf_attachment *attach)
{
}

static int bb_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct bb_exp *exp = buf->priv;

	iosys_map_set_vaddr(map, exp->vaddr);
	return 0;
}

static void bb_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
}

static int bb_cpu_access(struct dma_buf *buf, enum dma_data_direction dir)
{
	return 0;
}

static const struct dma_buf_ops bb_static_ops = {
	.map_dma_buf = bb_map,
	.unmap_dma_buf = bb_unmap,
	.release = bb_release,
	.vmap = bb_vmap,
	.vunmap = bb_vunmap,
	.begin_cpu_access = bb_cpu_access,
	.end_cpu_access = bb_cpu_access,
};

static const struct dma_buf_ops bb_cached_ops = {
	.cache_sgt_mapping = true,
	.map_dma_buf = bb_map,
	.unmap_dma_buf = bb_unmap,
	.release = bb_release,
};

static const struct dma_buf_ops bb_dynamic_ops = {
	.map_dma_buf = bb_map,
	.unmap_dma_buf = bb_unmap,
	.release = bb_release,
	.pin = bb_pin,
	.unpin = bb_unpin,
};

static void bb_move_notify(struct dma_buf_attachment *attach)
{
}

static const struct dma_buf_attach_ops bb_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = bb_move_notify,
};

struct bb_bufs {
	struct kunit *test;
	struct device *dev;
	struct bb_exp exp;
	struct dma_buf_export_info info;
	struct dma_buf *buf;
	struct dma_buf_attachment *attach;
	struct file *file;
	int fd;
	/* move_notify calls the scaling suite's importers received */
	unsigned int notified;
};

/* A one-page buffer of the kit's, with its table made once. */
static void bb_exp_init(struct kunit *test, struct bb_exp *exp)
{
	struct kunit_dma_buf_exporter_config cfg = {
		.size = PAGE_SIZE,
		.name = "dma-buf-bench",
	};

	exp->kit = kunit_dma_buf_exporter_create(test, &cfg);
	exp->vaddr = exp->kit->vaddr;
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&exp->sgt, 1, GFP_KERNEL), 0);
	sg_set_page(exp->sgt.sgl, exp->kit->pages[0], PAGE_SIZE, 0);
	sg_dma_address(exp->sgt.sgl) = 0;
	sg_dma_len(exp->sgt.sgl) = PAGE_SIZE;
}

/* The kit frees its exporter when the test ends. */
static void bb_exp_fini(struct bb_exp *exp)
{
	sg_free_table(&exp->sgt);
}

/* The kit's export information, with the callbacks above. */
static struct dma_buf *bb_export(struct kunit *test, struct bb_bufs *b,
				 const struct dma_buf_ops *ops)
{
	struct dma_buf *buf;

	kunit_dma_buf_fill_info(b->exp.kit, &b->info);
	b->info.ops = ops;
	b->info.priv = &b->exp;
	b->info.owner = THIS_MODULE;
	buf = dma_buf_export(&b->info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));
	return buf;
}

static void bb_put_flush(struct dma_buf *buf)
{
	dma_buf_put(buf);
	flush_delayed_fput();
}

/* ---- floors ---- */

static DEFINE_MUTEX(bb_mutex);
static DEFINE_WW_CLASS(bb_ww_class);

struct bb_floor {
	struct ww_mutex ww[BB_MAX_SUBMIT];
	unsigned int count;
	struct file *file;
	int fd;
	struct kref kref;
	struct dma_fence *fences[BB_MAX_FENCES];
	struct bb_exp exp;
	struct dma_buf_attachment attach;
	struct dma_buf buf;
};

static void bb_floor_mutex(struct bb_op *op, unsigned long calls)
{
	while (calls--) {
		mutex_lock(&bb_mutex);
		mutex_unlock(&bb_mutex);
	}
}

static void bb_floor_ww(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;

	while (calls--) {
		ww_mutex_lock(&f->ww[0], NULL);
		ww_mutex_unlock(&f->ww[0]);
	}
}

static void bb_floor_ww_acquire(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	struct ww_acquire_ctx ctx;
	unsigned int i;

	while (calls--) {
		ww_acquire_init(&ctx, &bb_ww_class);
		for (i = 0; i < f->count; i++)
			op->sink += ww_mutex_lock(&f->ww[i], &ctx);
		ww_acquire_done(&ctx);
		for (i = 0; i < f->count; i++)
			ww_mutex_unlock(&f->ww[i]);
		ww_acquire_fini(&ctx);
	}
}

static void bb_floor_kmalloc(struct bb_op *op, unsigned long calls)
{
	struct dma_buf_attachment *p;

	while (calls--) {
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		op->sink += (unsigned long)p;
		kfree(p);
	}
}

static void bb_floor_kmalloc_ww(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	struct dma_buf_attachment *p;

	while (calls--) {
		p = kzalloc(sizeof(*p), GFP_KERNEL);
		ww_mutex_lock(&f->ww[0], NULL);
		op->sink += (unsigned long)p;
		ww_mutex_unlock(&f->ww[0]);
		kfree(p);
	}
}

static void bb_floor_kref(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;

	while (calls--) {
		kref_get(&f->kref);
		op->sink += kref_read(&f->kref);
		refcount_dec(&f->kref.refcount);
	}
}

/* The exporter's own map and unmap, called through its ops table. */
static void bb_floor_ops(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	const struct dma_buf_ops *ops = READ_ONCE(f->buf.ops);
	struct sg_table *sgt;

	while (calls--) {
		sgt = ops->map_dma_buf(&f->attach, DMA_BIDIRECTIONAL);
		ops->unmap_dma_buf(&f->attach, sgt, DMA_BIDIRECTIONAL);
	}
}

static void bb_floor_ww_ops(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	const struct dma_buf_ops *ops = READ_ONCE(f->buf.ops);
	struct sg_table *sgt;

	while (calls--) {
		ww_mutex_lock(&f->ww[0], NULL);
		sgt = ops->map_dma_buf(&f->attach, DMA_BIDIRECTIONAL);
		ww_mutex_unlock(&f->ww[0]);
		ww_mutex_lock(&f->ww[0], NULL);
		ops->unmap_dma_buf(&f->attach, sgt, DMA_BIDIRECTIONAL);
		ww_mutex_unlock(&f->ww[0]);
	}
}

static void bb_floor_fget(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	struct file *file;

	while (calls--) {
		file = fget(f->fd);
		op->sink += (unsigned long)file;
		fput(file);
	}
}

static const struct file_operations bb_anon_fops = {
	.owner = THIS_MODULE,
};

static void bb_floor_fd_install(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	int fd;

	while (calls--) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0)
			break;
		get_file(f->file);
		fd_install(fd, f->file);
		close_fd(fd);
	}
}

/* A file on a shared pseudo-filesystem inode, released at once. */
static void bb_floor_anon_file(struct bb_op *op, unsigned long calls)
{
	struct file *file;

	while (calls--) {
		file = anon_inode_getfile("dma-buf-bench", &bb_anon_fops, NULL,
					  O_RDWR);
		if (IS_ERR(file))
			break;
		fput(file);
	}
	flush_delayed_fput();
}

/* Like bb_floor_anon_file, but with an inode of its own, as a dma-buf has. */
static void bb_floor_anon_inode_file(struct bb_op *op, unsigned long calls)
{
	struct file *file;

	while (calls--) {
		file = anon_inode_create_getfile("dma-buf-bench", &bb_anon_fops,
						 NULL, O_RDWR, NULL);
		if (IS_ERR(file))
			break;
		fput(file);
	}
	flush_delayed_fput();
}

static void bb_floor_fence(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;

	while (calls--) {
		dma_fence_get(f->fences[0]);
		dma_fence_put(f->fences[0]);
	}
}

/* Reading every one of count fences from a plain array. */
static void bb_floor_walk(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	unsigned int i;

	while (calls--)
		for (i = 0; i < f->count; i++)
			op->sink += READ_ONCE(f->fences[i])->seqno;
}

/* The same under RCU with a reference taken and dropped on each fence. */
static void bb_floor_rcu_walk(struct bb_op *op, unsigned long calls)
{
	struct bb_floor *f = op->ctx;
	struct dma_fence *fence;
	unsigned int i;

	while (calls--) {
		rcu_read_lock();
		for (i = 0; i < f->count; i++) {
			fence = dma_fence_get_rcu(READ_ONCE(f->fences[i]));
			op->sink += fence->seqno;
			dma_fence_put(fence);
		}
		rcu_read_unlock();
	}
}

/* ---- fences ---- */

static const char *bb_fence_name(struct dma_fence *fence)
{
	return "dma-buf-bench";
}

static const struct dma_fence_ops bb_fence_ops = {
	.get_driver_name = bb_fence_name,
	.get_timeline_name = bb_fence_name,
};

static DEFINE_SPINLOCK(bb_fence_lock);

static struct dma_fence *bb_fence(struct kunit *test, u64 context, u64 seqno,
				  bool signaled)
{
	struct dma_fence *fence = kzalloc(sizeof(*fence), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fence);
	dma_fence_init(fence, &bb_fence_ops, &bb_fence_lock, context, seqno);
	if (signaled)
		dma_fence_signal(fence);
	return fence;
}

/*
 * Fences on distinct contexts (fixed once, so that a later fence of one of
 * them can be made), made afresh pending for every use: a core may drop a
 * fence that is already signaled when it is added, so "N signaled fences
 * present" means N fences added pending and signaled afterwards.
 */
struct bb_fences {
	struct dma_fence *f[BB_SCALE_MAX_FENCES];
	u64 context;
	unsigned int count;
};

static void bb_fences_make(struct kunit *test, struct bb_fences *fs,
			   unsigned int count)
{
	unsigned int i;

	if (!fs->context)
		fs->context = dma_fence_context_alloc(BB_SCALE_MAX_FENCES);
	fs->count = count;
	for (i = 0; i < count; i++)
		fs->f[i] = bb_fence(test, fs->context + i, 1, false);
}

static void bb_fences_signal(struct bb_fences *fs)
{
	unsigned int i;

	for (i = 0; i < fs->count; i++)
		dma_fence_signal(fs->f[i]);
}

static void bb_fences_drop(struct bb_fences *fs)
{
	unsigned int i;

	bb_fences_signal(fs);
	for (i = 0; i < fs->count; i++)
		dma_fence_put(fs->f[i]);
	fs->count = 0;
}

static void bb_resv_fill(struct kunit *test, struct dma_resv *obj,
			 struct bb_fences *fs, unsigned int n)
{
	unsigned int i;

	dma_resv_lock(obj, NULL);
	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_EQ(test, dma_resv_reserve_fences(obj, 1), 0);
		dma_resv_add_fence(obj, fs->f[i], DMA_RESV_USAGE_READ);
	}
	dma_resv_unlock(obj);
}

/* ---- the floors case ---- */

static struct bb_floor *bb_floor_setup(struct kunit *test)
{
	struct bb_floor *f;
	unsigned int i;

	f = vzalloc(sizeof(*f));
	KUNIT_ASSERT_NOT_NULL(test, f);
	for (i = 0; i < BB_MAX_SUBMIT; i++)
		ww_mutex_init(&f->ww[i], &bb_ww_class);
	kref_init(&f->kref);
	for (i = 0; i < BB_MAX_FENCES; i++)
		f->fences[i] = bb_fence(test, dma_fence_context_alloc(1), 1,
					false);
	bb_exp_init(test, &f->exp);
	f->buf.ops = &bb_static_ops;
	f->buf.priv = &f->exp;
	f->attach.dmabuf = &f->buf;
	f->file = anon_inode_getfile("dma-buf-bench", &bb_anon_fops, NULL,
				     O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->file));
	f->fd = get_unused_fd_flags(O_CLOEXEC);
	KUNIT_ASSERT_GE(test, f->fd, 0);
	get_file(f->file);
	fd_install(f->fd, f->file);
	return f;
}

static void bb_floor_teardown(struct bb_floor *f)
{
	unsigned int i;

	close_fd(f->fd);
	fput(f->file);
	flush_delayed_fput();
	for (i = 0; i < BB_MAX_FENCES; i++) {
		dma_fence_signal(f->fences[i]);
		dma_fence_put(f->fences[i]);
	}
	bb_exp_fini(&f->exp);
	vfree(f);
}

static const unsigned int bb_counts[] = { 0, 1, 4, 16, 64, 256 };
static const unsigned int bb_submit_counts[] = { 1, 2, 4, 8, 16, 32, 64 };

static void bb_floors(struct kunit *test)
{
	struct bb_floor *f = bb_floor_setup(test);
	struct bb_op op = { .ctx = f };
	char name[32];
	unsigned int i;

#define BB_FLOOR(n, fn) do {				\
		op.name = n;				\
		op.run = fn;				\
		bb_measure(test, &op);			\
	} while (0)
	BB_FLOOR("floor.mutex", bb_floor_mutex);
	BB_FLOOR("floor.ww_mutex", bb_floor_ww);
	BB_FLOOR("floor.kmalloc", bb_floor_kmalloc);
	BB_FLOOR("floor.kmalloc_ww", bb_floor_kmalloc_ww);
	BB_FLOOR("floor.kref", bb_floor_kref);
	BB_FLOOR("floor.exporter_ops", bb_floor_ops);
	BB_FLOOR("floor.ww_exporter_ops", bb_floor_ww_ops);
	BB_FLOOR("floor.fget", bb_floor_fget);
	BB_FLOOR("floor.fd_install", bb_floor_fd_install);
	op.min_batch_us = BB_DEFERRED_BATCH_US;
	BB_FLOOR("floor.anon_file", bb_floor_anon_file);
	BB_FLOOR("floor.anon_inode_file", bb_floor_anon_inode_file);
	op.min_batch_us = 0;
	BB_FLOOR("floor.fence_getput", bb_floor_fence);
	for (i = 0; i < ARRAY_SIZE(bb_counts); i++) {
		f->count = bb_counts[i];
		snprintf(name, sizeof(name), "floor.walk_%u", f->count);
		BB_FLOOR(name, bb_floor_walk);
		snprintf(name, sizeof(name), "floor.rcu_walk_%u", f->count);
		BB_FLOOR(name, bb_floor_rcu_walk);
	}
	for (i = 0; i < ARRAY_SIZE(bb_submit_counts); i++) {
		f->count = bb_submit_counts[i];
		snprintf(name, sizeof(name), "floor.ww_acquire_%u", f->count);
		BB_FLOOR(name, bb_floor_ww_acquire);
	}
#undef BB_FLOOR
	bb_floor_teardown(f);
}

/* ---- dma-buf ---- */

static void bb_export_put(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct dma_buf *buf;

	while (calls--) {
		buf = dma_buf_export(&b->info);
		if (IS_ERR(buf))
			break;
		dma_buf_put(buf);
	}
	flush_delayed_fput();
}

static void bb_fd_install(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	int fd;

	while (calls--) {
		get_file(b->buf->file);
		fd = dma_buf_fd(b->buf, O_CLOEXEC);
		if (fd < 0) {
			fput(b->buf->file);
			break;
		}
		close_fd(fd);
	}
}

static void bb_get_put(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct dma_buf *buf;

	while (calls--) {
		buf = dma_buf_get(b->fd);
		if (IS_ERR(buf))
			break;
		dma_buf_put(buf);
	}
}

static void bb_attach_static(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct dma_buf_attachment *a;

	while (calls--) {
		a = dma_buf_attach(b->buf, b->dev);
		if (IS_ERR(a))
			break;
		dma_buf_detach(b->buf, a);
	}
}

static void bb_attach_dynamic(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct dma_buf_attachment *a;

	while (calls--) {
		a = dma_buf_dynamic_attach(b->buf, b->dev, &bb_importer_ops, b);
		if (IS_ERR(a))
			break;
		dma_buf_detach(b->buf, a);
	}
}

static void bb_lock_buf(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;

	dma_resv_lock(b->buf->resv, NULL);
}

static void bb_unlock_buf(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;

	dma_resv_unlock(b->buf->resv);
}

static void bb_map_locked(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct sg_table *sgt;

	while (calls--) {
		sgt = dma_buf_map_attachment(b->attach, DMA_BIDIRECTIONAL);
		if (IS_ERR(sgt))
			break;
		dma_buf_unmap_attachment(b->attach, sgt, DMA_BIDIRECTIONAL);
	}
}

static void bb_map_unlocked(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct sg_table *sgt;

	while (calls--) {
		sgt = dma_buf_map_attachment_unlocked(b->attach,
						      DMA_BIDIRECTIONAL);
		if (IS_ERR(sgt))
			break;
		dma_buf_unmap_attachment_unlocked(b->attach, sgt,
						  DMA_BIDIRECTIONAL);
	}
}

static void bb_pin_unpin(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;

	while (calls--) {
		if (dma_buf_pin(b->attach))
			break;
		dma_buf_unpin(b->attach);
	}
}

static void bb_vmap_locked(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct iosys_map map;

	while (calls--) {
		if (dma_buf_vmap(b->buf, &map))
			break;
		dma_buf_vunmap(b->buf, &map);
	}
}

static void bb_vmap_unlocked(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;
	struct iosys_map map;

	while (calls--) {
		if (dma_buf_vmap_unlocked(b->buf, &map))
			break;
		dma_buf_vunmap_unlocked(b->buf, &map);
	}
}

static void bb_cpu_access_op(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;

	while (calls--) {
		if (dma_buf_begin_cpu_access(b->buf, DMA_BIDIRECTIONAL))
			break;
		dma_buf_end_cpu_access(b->buf, DMA_BIDIRECTIONAL);
	}
}

static void bb_run(struct kunit *test, struct bb_bufs *b, const char *name,
		   const char *floor, bb_fn run, bb_fn prep, bb_fn post)
{
	struct bb_op op = {
		.name = name, .floor = floor, .run = run,
		.prep = prep, .post = post, .ctx = b,
	};

	bb_measure(test, &op);
}

static void bb_dma_buf(struct kunit *test)
{
	struct bb_bufs *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct bb_op export_op = {
		.name = "export_put", .floor = "floor.anon_inode_file",
		.run = bb_export_put, .ctx = b,
		.min_batch_us = BB_DEFERRED_BATCH_US,
	};
	struct sg_table *held;
	struct iosys_map map;

	KUNIT_ASSERT_NOT_NULL(test, b);
	b->test = test;
	b->dev = kunit_device_register(test, "dma-buf-bench");
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->dev));
	bb_exp_init(test, &b->exp);

	/* export + final release, the deferred fput flushed in the batch */
	b->buf = bb_export(test, b, &bb_static_ops);
	bb_put_flush(b->buf);
	bb_measure(test, &export_op);

	/* fd install and dma_buf_get/put */
	b->buf = bb_export(test, b, &bb_static_ops);
	bb_run(test, b, "fd_install_close", "floor.fd_install", bb_fd_install,
	       NULL, NULL);
	get_file(b->buf->file);
	b->fd = dma_buf_fd(b->buf, O_CLOEXEC);
	KUNIT_ASSERT_GE(test, b->fd, 0);
	bb_run(test, b, "get_put", "floor.fget", bb_get_put, NULL, NULL);
	close_fd(b->fd);

	/* attach/detach, static importer */
	bb_run(test, b, "attach_detach_static", "floor.kmalloc_ww",
	       bb_attach_static, NULL, NULL);

	/* map/unmap, static importer, uncached */
	b->attach = dma_buf_attach(b->buf, b->dev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->attach));
	bb_run(test, b, "map_unmap_uncached_locked", "floor.exporter_ops",
	       bb_map_locked, bb_lock_buf, bb_unlock_buf);
	bb_run(test, b, "map_unmap_uncached_unlocked", "floor.ww_exporter_ops",
	       bb_map_unlocked, NULL, NULL);
	dma_buf_detach(b->buf, b->attach);

	/* vmap/vunmap with one mapping held: the refcounted path */
	KUNIT_ASSERT_EQ(test, dma_buf_vmap_unlocked(b->buf, &map), 0);
	bb_run(test, b, "vmap_vunmap_locked", "floor.kref", bb_vmap_locked,
	       bb_lock_buf, bb_unlock_buf);
	bb_run(test, b, "vmap_vunmap_unlocked", "floor.ww_mutex",
	       bb_vmap_unlocked, NULL, NULL);
	dma_buf_vunmap_unlocked(b->buf, &map);

	bb_run(test, b, "cpu_access_begin_end", "floor.exporter_ops",
	       bb_cpu_access_op, NULL, NULL);
	bb_put_flush(b->buf);

	/* map/unmap, static importer, mapping cached by the core */
	b->buf = bb_export(test, b, &bb_cached_ops);
	b->attach = dma_buf_attach(b->buf, b->dev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->attach));
	held = dma_buf_map_attachment_unlocked(b->attach, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(held));
	dma_buf_unmap_attachment_unlocked(b->attach, held, DMA_BIDIRECTIONAL);
	bb_run(test, b, "map_unmap_cached_locked", "floor.exporter_ops",
	       bb_map_locked, bb_lock_buf, bb_unlock_buf);
	bb_run(test, b, "map_unmap_cached_unlocked", "floor.ww_exporter_ops",
	       bb_map_unlocked, NULL, NULL);
	dma_buf_detach(b->buf, b->attach);
	bb_put_flush(b->buf);

	/* dynamic exporter and importer: attach, map (pins), pin/unpin */
	b->buf = bb_export(test, b, &bb_dynamic_ops);
	bb_run(test, b, "attach_detach_dynamic", "floor.kmalloc_ww",
	       bb_attach_dynamic, NULL, NULL);
	b->attach = dma_buf_dynamic_attach(b->buf, b->dev, &bb_importer_ops, b);
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->attach));
	bb_run(test, b, "map_unmap_dynamic_locked", "floor.exporter_ops",
	       bb_map_locked, bb_lock_buf, bb_unlock_buf);
	bb_run(test, b, "pin_unpin", "floor.exporter_ops", bb_pin_unpin,
	       bb_lock_buf, bb_unlock_buf);
	dma_buf_detach(b->buf, b->attach);
	bb_put_flush(b->buf);

	bb_exp_fini(&b->exp);
}

/* ---- dma-resv: adding a fence ---- */

struct bb_resv {
	struct kunit *test;
	struct dma_resv *objs;
	struct bb_fences *present;
	struct dma_fence *add;
	unsigned int count;
	bool signaled;
	/* for the submission benchmark */
	unsigned int nobjs;
};

static void bb_resv_prep(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	unsigned long i;

	bb_fences_make(r->test, r->present, r->count);
	for (i = 0; i < calls; i++) {
		dma_resv_init(&r->objs[i]);
		bb_resv_fill(r->test, &r->objs[i], r->present, r->count);
	}
	if (r->signaled)
		bb_fences_signal(r->present);
}

static void bb_resv_post(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	unsigned long i;

	for (i = 0; i < calls; i++)
		dma_resv_fini(&r->objs[i]);
	bb_fences_drop(r->present);
}

/* One fence added to each of @calls prepared objects, as a driver does. */
static void bb_resv_add(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct dma_resv *obj;
	unsigned long i;

	for (i = 0; i < calls; i++) {
		obj = &r->objs[i];
		dma_resv_lock(obj, NULL);
		if (!dma_resv_reserve_fences(obj, 1))
			dma_resv_add_fence(obj, r->add, DMA_RESV_USAGE_READ);
		dma_resv_unlock(obj);
	}
}

static void bb_resv_add_counts(struct kunit *test, const unsigned int *counts,
			       unsigned int ncounts)
{
	struct bb_resv *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct bb_fences *fs;
	struct dma_fence *distinct;
	char name[48];
	unsigned int i, s;
	struct bb_op op = {
		.prep = bb_resv_prep, .run = bb_resv_add, .post = bb_resv_post,
		.max_calls = BB_MAX_OBJS, .floor = "floor.ww_mutex",
	};

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->test = test;
	r->objs = kvcalloc(BB_MAX_OBJS, sizeof(*r->objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->objs);
	fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fs);
	r->present = fs;
	distinct = bb_fence(test, dma_fence_context_alloc(1), 1, false);
	op.ctx = r;

	for (s = 0; s < 2; s++) {
		r->signaled = s;
		for (i = 0; i < ncounts; i++) {
			r->count = counts[i];
			op.name = name;
			/* past 256 fences each prepared object costs a lot */
			op.max_calls = r->count <= BB_MAX_FENCES ? BB_MAX_OBJS :
				       max(16u, 262144u / r->count);

			/* a new context: the fence joins the others */
			r->add = distinct;
			snprintf(name, sizeof(name), "resv_add.distinct.%s.%u",
				 s ? "signaled" : "pending", r->count);
			bb_measure(test, &op);

			/* a later fence of the last context present replaces it */
			if (!r->count)
				continue;
			r->add = bb_fence(test, fs->context + r->count - 1,
					  2, false);
			snprintf(name, sizeof(name), "resv_add.same.%s.%u",
				 s ? "signaled" : "pending", r->count);
			bb_measure(test, &op);
			dma_fence_signal(r->add);
			dma_fence_put(r->add);
		}
	}

	dma_fence_signal(distinct);
	dma_fence_put(distinct);
	kvfree(r->objs);
}

static void bb_resv_add_all(struct kunit *test)
{
	bb_resv_add_counts(test, bb_counts, ARRAY_SIZE(bb_counts));
}

/* ---- dma-resv: queries on an object holding N fences ---- */

static void bb_iter_locked(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	while (calls--)
		dma_resv_for_each_fence(&cursor, r->objs, DMA_RESV_USAGE_BOOKKEEP,
					fence)
			op->sink += fence->seqno;
}

static void bb_iter_unlocked(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	while (calls--) {
		dma_resv_iter_begin(&cursor, r->objs, DMA_RESV_USAGE_BOOKKEEP);
		dma_resv_for_each_fence_unlocked(&cursor, fence)
			op->sink += fence->seqno;
		dma_resv_iter_end(&cursor);
	}
}

static void bb_test_signaled(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;

	while (calls--)
		op->sink += dma_resv_test_signaled(r->objs,
						   DMA_RESV_USAGE_BOOKKEEP);
}

static void bb_get_singleton(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct dma_fence *fence;

	while (calls--) {
		if (dma_resv_get_singleton(r->objs, DMA_RESV_USAGE_BOOKKEEP,
					   &fence))
			break;
		dma_fence_put(fence);
	}
}

static void bb_wait_zero(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;

	while (calls--)
		op->sink += dma_resv_wait_timeout(r->objs,
						  DMA_RESV_USAGE_BOOKKEEP,
						  false, 0);
}

static void bb_lock_obj(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;

	dma_resv_lock(r->objs, NULL);
}

static void bb_unlock_obj(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;

	dma_resv_unlock(r->objs);
}

static void bb_get_fences(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct dma_fence **fences;
	unsigned int n, i;

	while (calls--) {
		if (dma_resv_get_fences(r->objs, DMA_RESV_USAGE_BOOKKEEP, &n,
					&fences))
			break;
		for (i = 0; i < n; i++)
			dma_fence_put(fences[i]);
		kfree(fences);
		op->sink += n;
	}
}

static void bb_resv_query_counts(struct kunit *test, const unsigned int *counts,
				 unsigned int ncounts, bool get_fences)
{
	struct bb_resv *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct bb_fences *fs;
	char name[48], floor[32];
	unsigned int i, s;
	struct bb_op op = { .name = name };
	const char *st;

	KUNIT_ASSERT_NOT_NULL(test, r);
	fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fs);
	r->test = test;
	r->objs = kunit_kzalloc(test, sizeof(*r->objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->objs);
	op.ctx = r;

	for (s = 0; s < 2; s++) {
		st = s ? "signaled" : "pending";
		for (i = 0; i < ncounts; i++) {
			r->count = counts[i];
			bb_fences_make(test, fs, r->count);
			dma_resv_init(r->objs);
			bb_resv_fill(test, r->objs, fs, r->count);
			if (s)
				bb_fences_signal(fs);

#define BB_QUERY(what, fl, fn, pre, post_) do {				\
		snprintf(name, sizeof(name), "resv_" what ".%s.%u", st,	\
			 r->count);					\
		snprintf(floor, sizeof(floor), fl, r->count);		\
		op.floor = floor;					\
		op.run = fn;						\
		op.prep = pre;						\
		op.post = post_;					\
		bb_measure(test, &op);					\
	} while (0)
			BB_QUERY("iter_locked", "floor.walk_%u", bb_iter_locked,
				 bb_lock_obj, bb_unlock_obj);
			BB_QUERY("iter_unlocked", "floor.rcu_walk_%u",
				 bb_iter_unlocked, NULL, NULL);
			BB_QUERY("test_signaled", "floor.walk_%u",
				 bb_test_signaled, NULL, NULL);
			BB_QUERY("get_singleton", "floor.rcu_walk_%u",
				 bb_get_singleton, NULL, NULL);
			BB_QUERY("wait_timeout0", "floor.walk_%u",
				 bb_wait_zero, NULL, NULL);
			if (get_fences)
				BB_QUERY("get_fences", "floor.rcu_walk_%u",
					 bb_get_fences, NULL, NULL);
#undef BB_QUERY
			dma_resv_fini(r->objs);
			bb_fences_drop(fs);
		}
	}
}

static void bb_resv_query(struct kunit *test)
{
	bb_resv_query_counts(test, bb_counts, ARRAY_SIZE(bb_counts), false);
}

/* ---- a whole submission ---- */

static void bb_submit(struct bb_op *op, unsigned long calls)
{
	struct bb_resv *r = op->ctx;
	struct ww_acquire_ctx ctx;
	unsigned int i;

	while (calls--) {
		ww_acquire_init(&ctx, &reservation_ww_class);
		for (i = 0; i < r->nobjs; i++)
			op->sink += dma_resv_lock(&r->objs[i], &ctx);
		ww_acquire_done(&ctx);
		for (i = 0; i < r->nobjs; i++) {
			if (!dma_resv_reserve_fences(&r->objs[i], 1))
				dma_resv_add_fence(&r->objs[i], r->add,
						   DMA_RESV_USAGE_WRITE);
		}
		for (i = 0; i < r->nobjs; i++)
			dma_resv_unlock(&r->objs[i]);
		ww_acquire_fini(&ctx);
	}
}

static void bb_resv_submit(struct kunit *test)
{
	struct bb_resv *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	char name[32], floor[32];
	unsigned int i;
	struct bb_op op = { .name = name, .floor = floor, .run = bb_submit };

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->objs = kunit_kcalloc(test, BB_MAX_SUBMIT, sizeof(*r->objs),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->objs);
	for (i = 0; i < BB_MAX_SUBMIT; i++)
		dma_resv_init(&r->objs[i]);
	/* the job's fence: each object keeps one fence of its context */
	r->add = bb_fence(test, dma_fence_context_alloc(1), 1, false);
	op.ctx = r;

	for (i = 0; i < ARRAY_SIZE(bb_submit_counts); i++) {
		r->nobjs = bb_submit_counts[i];
		snprintf(name, sizeof(name), "submit.%u", r->nobjs);
		snprintf(floor, sizeof(floor), "floor.ww_acquire_%u", r->nobjs);
		bb_measure(test, &op);
	}

	for (i = 0; i < BB_MAX_SUBMIT; i++)
		dma_resv_fini(&r->objs[i]);
	dma_fence_signal(r->add);
	dma_fence_put(r->add);
}

static struct kunit_case dma_buf_bench_cases[] = {
	KUNIT_CASE_SLOW(bb_floors),
	KUNIT_CASE_SLOW(bb_dma_buf),
	KUNIT_CASE_SLOW(bb_resv_add_all),
	KUNIT_CASE_SLOW(bb_resv_query),
	KUNIT_CASE_SLOW(bb_resv_submit),
	{}
};

static struct kunit_suite dma_buf_bench_suite = {
	.name = "dma_buf_bench",
	.test_cases = dma_buf_bench_cases,
};

/* ---- contention, for kernels with several CPUs ---- */

static unsigned int smp_ms = 300;
module_param(smp_ms, uint, 0444);
MODULE_PARM_DESC(smp_ms, "length of each contention scenario in ms (default 300)");

#define BB_SMP_SAMPLES 32768
#define BB_SMP_WORKERS 8

struct bb_smp;

struct bb_worker {
	struct bb_smp *s;
	struct task_struct *task;
	struct completion done;
	void (*fn)(struct bb_worker *w);
	bool timed;
	unsigned long ops, sink;
	u32 *lat;
	unsigned int nlat;
	struct dma_resv *obj;
	struct dma_fence *fence;
	struct file *bufinfo;
	char *page;
};

struct bb_smp {
	struct kunit *test;
	struct bb_bufs b;
	u64 stop_ns;
	struct bb_worker w[BB_SMP_WORKERS];
	unsigned int nw;
	struct dma_resv objs[BB_SMP_WORKERS];
	u32 *all;
};

static void bb_smp_export(struct bb_worker *w)
{
	struct dma_buf *buf = dma_buf_export(&w->s->b.info);

	/* drop the last reference here, not on the shared delayed list */
	if (!IS_ERR(buf))
		__fput_sync(buf->file);
}

static void bb_smp_resv_add(struct bb_worker *w)
{
	dma_resv_lock(w->obj, NULL);
	if (!dma_resv_reserve_fences(w->obj, 1))
		dma_resv_add_fence(w->obj, w->fence, DMA_RESV_USAGE_READ);
	dma_resv_unlock(w->obj);
}

static void bb_smp_resv_test(struct bb_worker *w)
{
	w->sink += dma_resv_test_signaled(w->obj, DMA_RESV_USAGE_BOOKKEEP);
}

/*
 * Reads a seq_file (debugfs bufinfo, an fdinfo) into a kernel buffer.
 * kernel_read() refuses debugfs files, whose proxy has no read_iter; the
 * proxy's read ends in seq_read_iter() on the same seq_file, called here.
 */
static ssize_t bb_read_seq(struct file *file, void *buf, size_t len,
			   loff_t *pos)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	iov_iter_kvec(&iter, ITER_DEST, &kv, 1, len);
	ret = seq_read_iter(&kiocb, &iter);
	*pos = kiocb.ki_pos;
	return ret;
}

/* One whole read of @file from its start; returns the bytes read. */
static size_t bb_read_all(struct file *file, char *page)
{
	size_t total = 0;
	loff_t pos = 0;
	ssize_t n;

	while ((n = bb_read_seq(file, page, PAGE_SIZE, &pos)) > 0)
		total += n;
	return total;
}

static void bb_smp_bufinfo(struct bb_worker *w)
{
	w->sink += bb_read_all(w->bufinfo, w->page);
}

static int bb_smp_thread(void *data)
{
	struct bb_worker *w = data;
	u64 t0, t1;

	do {
		t0 = ktime_get_ns();
		w->fn(w);
		t1 = ktime_get_ns();
		if (w->timed && w->nlat < BB_SMP_SAMPLES)
			w->lat[w->nlat++] = min_t(u64, t1 - t0, U32_MAX);
		w->ops++;
		if (!(w->ops & 63))
			cond_resched();
	} while (t1 < READ_ONCE(w->s->stop_ns));
	complete(&w->done);
	return 0;
}

static int bb_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Runs the workers set up in @s, one per CPU in turn, and reports. */
static void bb_smp_run(struct bb_smp *s, const char *name)
{
	struct kunit *test = s->test;
	unsigned long ops = 0, other = 0;
	unsigned int i, n = 0;
	u64 t0, t1;

	for (i = 0; i < s->nw; i++) {
		struct bb_worker *w = &s->w[i];

		w->s = s;
		w->ops = 0;
		w->nlat = 0;
		init_completion(&w->done);
		w->task = kthread_create(bb_smp_thread, w, "bb-smp/%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(w->task));
		kthread_bind(w->task, i % num_online_cpus());
	}
	/* Woken only now: a spinning start flag could starve this thread. */
	t0 = ktime_get_ns();
	WRITE_ONCE(s->stop_ns, t0 + (u64)smp_ms * NSEC_PER_MSEC);
	for (i = 0; i < s->nw; i++)
		wake_up_process(s->w[i].task);
	for (i = 0; i < s->nw; i++)
		wait_for_completion(&s->w[i].done);
	t1 = ktime_get_ns();

	for (i = 0; i < s->nw; i++) {
		struct bb_worker *w = &s->w[i];

		if (!w->timed) {
			other += w->ops;
			continue;
		}
		ops += w->ops;
		memcpy(s->all + n, w->lat, w->nlat * sizeof(u32));
		n += w->nlat;
	}
	sort(s->all, n, sizeof(u32), bb_cmp_u32, NULL);
	if (!n)
		return;
	kunit_info(test,
		   "smp: %s ops_per_s=%llu p50_ns=%u p99_ns=%u p999_ns=%u max_ns=%u other_ops_per_s=%llu threads=%u cpus=%u\n",
		   name, div64_u64((u64)ops * NSEC_PER_SEC, t1 - t0),
		   s->all[n / 2], s->all[n - 1 - n / 100],
		   s->all[n - 1 - n / 1000], s->all[n - 1],
		   div64_u64((u64)other * NSEC_PER_SEC, t1 - t0), s->nw,
		   num_online_cpus());
}

/*
 * Opens @path on a private mount of filesystem @fstype (debugfs, proc):
 * nothing mounts them in a kernel that runs KUnit from its boot.
 */
static struct file *bb_open_on(const char *fstype, const char *path,
			       int flags)
{
	struct file_system_type *fs = get_fs_type(fstype);
	struct vfsmount *mnt;
	struct path found;
	struct file *file;
	int ret;

	if (!fs)
		return ERR_PTR(-ENODEV);
	mnt = vfs_kern_mount(fs, 0, fstype, NULL);
	module_put(fs->owner);
	if (IS_ERR(mnt))
		return ERR_CAST(mnt);
	ret = vfs_path_lookup(mnt->mnt_root, mnt, path, LOOKUP_FOLLOW, &found);
	if (ret) {
		mntput(mnt);
		return ERR_PTR(ret);
	}
	file = dentry_open(&found, flags, current_cred());
	path_put(&found);
	mntput(mnt);
	return file;
}

static struct file *bb_open_bufinfo(struct kunit *test)
{
	return bb_open_on("debugfs", "dma_buf/bufinfo", O_RDONLY);
}

/* The workers' state, and a fence of its own context for each. */
static struct bb_smp *bb_smp_new(struct kunit *test,
				 struct dma_fence *fences[BB_SMP_WORKERS])
{
	struct bb_smp *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, s);
	s->test = test;
	s->all = kunit_kcalloc(test, BB_SMP_WORKERS * BB_SMP_SAMPLES,
			       sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->all);
	for (i = 0; i < BB_SMP_WORKERS; i++) {
		s->w[i].lat = kunit_kcalloc(test, BB_SMP_SAMPLES, sizeof(u32),
					    GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, s->w[i].lat);
		s->w[i].page = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, s->w[i].page);
		fences[i] = bb_fence(test, dma_fence_context_alloc(1), 1, false);
		dma_resv_init(&s->objs[i]);
	}
	bb_exp_init(test, &s->b.exp);
	bb_put_flush(bb_export(test, &s->b, &bb_static_ops));
	return s;
}

static void bb_smp_free(struct bb_smp *s,
			struct dma_fence *fences[BB_SMP_WORKERS])
{
	unsigned int i;

	for (i = 0; i < BB_SMP_WORKERS; i++) {
		dma_resv_fini(&s->objs[i]);
		dma_fence_signal(fences[i]);
		dma_fence_put(fences[i]);
	}
	bb_exp_fini(&s->b.exp);
}

/* @nw threads adding their own context's fence to one object. */
static void bb_smp_shared_add(struct bb_smp *s, unsigned int nw,
			      struct dma_fence *fences[BB_SMP_WORKERS],
			      const char *name)
{
	unsigned int i;

	s->nw = nw;
	for (i = 0; i < nw; i++) {
		s->w[i].fn = bb_smp_resv_add;
		s->w[i].timed = true;
		s->w[i].fence = fences[i];
		s->w[i].obj = &s->objs[0];
	}
	bb_smp_run(s, name);
}

static void bb_smp(struct kunit *test)
{
	struct dma_fence *fences[BB_SMP_WORKERS];
	struct bb_smp *s = bb_smp_new(test, fences);
	unsigned int cpus = num_online_cpus(), i, c;
	struct file *bufinfo;
	char name[48];

	cpus = min_t(unsigned int, cpus, BB_SMP_WORKERS);

	/* export and release: one thread, then one per CPU */
	for (c = 0; c < (cpus > 1 ? 2 : 1); c++) {
		s->nw = c ? cpus : 1;
		for (i = 0; i < s->nw; i++) {
			s->w[i].fn = bb_smp_export;
			s->w[i].timed = true;
		}
		snprintf(name, sizeof(name), "export_release.x%u", s->nw);
		bb_smp_run(s, name);
	}

	/* export and release on all CPUs but one, which reads bufinfo */
	bufinfo = bb_open_bufinfo(test);
	if (IS_ERR(bufinfo)) {
		kunit_info(test, "smp: bufinfo unavailable (%ld)\n",
			   PTR_ERR(bufinfo));
	} else if (cpus > 1) {
		s->nw = cpus;
		for (i = 0; i < s->nw; i++) {
			s->w[i].fn = i ? bb_smp_export : bb_smp_bufinfo;
			s->w[i].timed = i;
			s->w[i].bufinfo = bufinfo;
		}
		snprintf(name, sizeof(name), "export_release+bufinfo.x%u",
			 s->nw - 1);
		bb_smp_run(s, name);
	}
	if (!IS_ERR(bufinfo))
		fput(bufinfo);

	/* adding fences: one shared object against one object per thread */
	for (c = 0; c < (cpus > 1 ? 2 : 1); c++) {
		snprintf(name, sizeof(name), "resv_add.shared.x%u",
			 c ? cpus : 1);
		bb_smp_shared_add(s, c ? cpus : 1, fences, name);
		for (i = 0; i < s->nw; i++)
			s->w[i].obj = &s->objs[i];
		snprintf(name, sizeof(name), "resv_add.disjoint.x%u", s->nw);
		bb_smp_run(s, name);
	}

	/* adding on one CPU while the others poll the same object unlocked */
	if (cpus > 1) {
		s->nw = cpus;
		for (i = 0; i < s->nw; i++) {
			s->w[i].fn = i ? bb_smp_resv_test : bb_smp_resv_add;
			s->w[i].timed = !i;
			s->w[i].fence = fences[i];
			s->w[i].obj = &s->objs[0];
		}
		snprintf(name, sizeof(name), "resv_add+test_signaled.x%u",
			 s->nw - 1);
		bb_smp_run(s, name);
	}

	bb_smp_free(s, fences);
}

static struct kunit_case dma_buf_bench_smp_cases[] = {
	KUNIT_CASE_SLOW(bb_smp),
	{}
};

static struct kunit_suite dma_buf_bench_smp_suite = {
	.name = "dma_buf_bench_smp",
	.test_cases = dma_buf_bench_smp_cases,
};

/* ---- how costs grow with the work: the scaling suite ---- */

static unsigned int scale_buffers = 100000;
module_param(scale_buffers, uint, 0444);
MODULE_PARM_DESC(scale_buffers, "most live buffers in the scaling suite (default 100000)");

static const unsigned int bb_scale_fence_counts[] = { 1, 4, 16, 64, 256, 1024, 4096 };
static const unsigned int bb_scale_attach_counts[] = { 1, 4, 16, 64, 256 };
static const unsigned int bb_scale_poller_counts[] = { 1, 4, 16, 64, 256, 1024 };
#define BB_SCALE_MAX_ATTACH 256
#define BB_SCALE_MAX_POLLERS 1024

/* A listing being timed: its open file and a page to read it into. */
struct bb_listing {
	struct file *file;
	char *page;
};

/* One call is one whole read of a listing. */
static void bb_read_whole(struct bb_op *op, unsigned long calls)
{
	struct bb_listing *l = op->ctx;

	while (calls--)
		op->sink += bb_read_all(l->file, l->page);
}

/* A listing that reads as empty would time nothing: check it first. */
static void bb_measure_listing(struct kunit *test, struct bb_op *op,
			       unsigned long at_least)
{
	struct bb_listing *l = op->ctx;

	KUNIT_ASSERT_GE(test, bb_read_all(l->file, l->page), at_least);
	bb_measure(test, op);
}

/*
 * Buffers kept alive while others are timed; a KUnit action puts them,
 * so that a failed assertion leaves none behind.
 */
struct bb_live {
	struct dma_buf **buf;
	unsigned long n;
};

static void bb_live_release(void *data)
{
	struct bb_live *l = data;

	while (l->n)
		dma_buf_put(l->buf[--l->n]);
	flush_delayed_fput();
	kvfree(l->buf);
}

static struct bb_live *bb_live_new(struct kunit *test, unsigned long max)
{
	struct bb_live *l = kunit_kzalloc(test, sizeof(*l), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, l);
	l->buf = kvcalloc(max, sizeof(*l->buf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, l->buf);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bb_live_release,
							l), 0);
	return l;
}

/* Export until @n buffers are alive. */
static void bb_live_grow(struct kunit *test, struct bb_bufs *b,
			 struct bb_live *l, unsigned long n)
{
	while (l->n < n)
		l->buf[l->n++] = bb_export(test, b, &bb_static_ops);
}

/*
 * Slab memory in use, in bytes (kmalloc allocations above the largest
 * kmalloc cache included: they count as slab too).  Every CPU's pending
 * counter deltas are folded first (through vm.stat_refresh), and the
 * frees that files and inodes leave to RCU and to the delayed fput have
 * happened.  Free pages are not counted: the per-CPU page lists make that
 * figure swing by pages either way.
 */
static long bb_slab_bytes(void)
{
	struct file *f = bb_open_on("proc", "sys/vm/stat_refresh", O_WRONLY);
	loff_t pos = 0;

	flush_delayed_fput();
	rcu_barrier();
	if (!IS_ERR(f)) {
		kernel_write(f, "1\n", 2, &pos);
		fput(f);
		flush_delayed_fput();
	}
	return (global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B) +
		global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B)) *
	       PAGE_SIZE;
}

static void bb_mem_report(struct kunit *test, const char *what, long before,
			  unsigned long n)
{
	kunit_info(test, "scale-mem: %s n=%lu slab_bytes_per=%ld\n", what, n,
		   (bb_slab_bytes() - before) / (long)n);
}

/* Live buffers: what export, lookups and the listings cost among N. */
static void bb_scale_buffers(struct kunit *test)
{
	struct bb_bufs *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct bb_listing *l = kunit_kzalloc(test, sizeof(*l), GFP_KERNEL);
	struct bb_op export_op = {
		.name = "buffers.export_put", .run = bb_export_put,
		.min_batch_us = BB_DEFERRED_BATCH_US,
	};
	struct bb_op op = { .ctx = l, .run = bb_read_whole };
	struct file *bufinfo;
	struct bb_live *live;
	char name[48], path[32];
	long base;
	unsigned long n;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, l);
	l->page = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, l->page);
	b->test = test;
	bb_exp_init(test, &b->exp);
	live = bb_live_new(test, scale_buffers);
	export_op.ctx = b;
	bufinfo = bb_open_bufinfo(test);
	KUNIT_ASSERT_FALSE(test, IS_ERR(bufinfo));

	/* the buffer whose fd is looked up and whose fdinfo is read */
	bb_live_grow(test, b, live, 1);
	get_file(live->buf[0]->file);
	b->fd = dma_buf_fd(live->buf[0], O_CLOEXEC);
	KUNIT_ASSERT_GE(test, b->fd, 0);
	snprintf(path, sizeof(path), "self/fdinfo/%d", b->fd);
	base = bb_slab_bytes();

	for (n = 1; n <= scale_buffers; n *= 10) {
		bb_live_grow(test, b, live, n);
		if (n >= 1000)
			bb_mem_report(test, "buffer", base, n - 1);

		snprintf(name, sizeof(name), "buffers.export_put.%lu", n);
		export_op.name = name;
		bb_measure(test, &export_op);
		snprintf(name, sizeof(name), "buffers.get_put.%lu", n);
		bb_run(test, b, name, NULL, bb_get_put, NULL, NULL);

		snprintf(name, sizeof(name), "buffers.bufinfo.%lu", n);
		op.name = name;
		l->file = bufinfo;
		/* a header, then at least a line per buffer */
		bb_measure_listing(test, &op, n * 40);

		l->file = bb_open_on("proc", path, O_RDONLY);
		KUNIT_ASSERT_FALSE(test, IS_ERR(l->file));
		snprintf(name, sizeof(name), "buffers.fdinfo.%lu", n);
		bb_measure_listing(test, &op, 40);
		fput(l->file);
	}

	close_fd(b->fd);
	fput(bufinfo);
	kunit_release_action(test, bb_live_release, live);
	bb_exp_fini(&b->exp);
}

/* Fences on one object: the single-size suite's rows, up to 4096. */
static void bb_scale_fences_add(struct kunit *test)
{
	bb_resv_add_counts(test, bb_scale_fence_counts, ARRAY_SIZE(bb_scale_fence_counts));
}

static void bb_scale_fences_query(struct kunit *test)
{
	bb_resv_query_counts(test, bb_scale_fence_counts,
			     ARRAY_SIZE(bb_scale_fence_counts), true);
}

static void bb_scale_move_notify(struct bb_op *op, unsigned long calls)
{
	struct bb_bufs *b = op->ctx;

	dma_resv_lock(b->buf->resv, NULL);
	while (calls--)
		dma_buf_move_notify(b->buf);
	dma_resv_unlock(b->buf->resv);
}

static void bb_scale_counted_move_notify(struct dma_buf_attachment *attach)
{
	struct bb_bufs *b = attach->importer_priv;

	b->notified++;
}

static const struct dma_buf_attach_ops bb_scale_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = bb_scale_counted_move_notify,
};

/* Attachments on one buffer: one more, a mapping, a move among N. */
static void bb_scale_attach(struct kunit *test)
{
	struct bb_bufs *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct dma_buf_attachment **att;
	unsigned int k, i, have, n;
	char name[48];

	KUNIT_ASSERT_NOT_NULL(test, b);
	att = kunit_kcalloc(test, BB_SCALE_MAX_ATTACH, sizeof(*att), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, att);
	b->test = test;
	b->dev = kunit_device_register(test, "dma-buf-bench");
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->dev));
	bb_exp_init(test, &b->exp);

	for (k = 0; k < 2; k++) {
		const char *kind = k ? "dynamic" : "static";

		b->buf = bb_export(test, b, k ? &bb_dynamic_ops : &bb_static_ops);
		for (have = 0, i = 0; i < ARRAY_SIZE(bb_scale_attach_counts); i++) {
			n = bb_scale_attach_counts[i];
			while (have < n) {
				att[have] = k ?
					dma_buf_dynamic_attach(b->buf, b->dev,
							       &bb_scale_importer_ops, b) :
					dma_buf_attach(b->buf, b->dev);
				KUNIT_ASSERT_FALSE(test, IS_ERR(att[have]));
				have++;
			}
			b->attach = att[n - 1];

			snprintf(name, sizeof(name), "attach.attach_detach.%s.%u",
				 kind, n);
			bb_run(test, b, name, NULL,
			       k ? bb_attach_dynamic : bb_attach_static, NULL, NULL);
			snprintf(name, sizeof(name), "attach.map_unmap.%s.%u",
				 kind, n);
			if (k)
				bb_run(test, b, name, NULL, bb_map_locked,
				       bb_lock_buf, bb_unlock_buf);
			else
				bb_run(test, b, name, NULL, bb_map_unlocked,
				       NULL, NULL);
			if (!k)
				continue;
			/* every dynamic importer hears of the move, once */
			b->notified = 0;
			dma_resv_lock(b->buf->resv, NULL);
			dma_buf_move_notify(b->buf);
			dma_resv_unlock(b->buf->resv);
			KUNIT_EXPECT_EQ(test, b->notified, n);
			snprintf(name, sizeof(name), "attach.move_notify.%u", n);
			bb_run(test, b, name, NULL, bb_scale_move_notify, NULL,
			       NULL);
		}
		while (have)
			dma_buf_detach(b->buf, att[--have]);
		bb_put_flush(b->buf);
	}
	bb_exp_fini(&b->exp);
}

/* Memory per attachment and per fence slot, over many of each. */
static void bb_scale_memory(struct kunit *test)
{
	enum { BUFS = 16, OBJS = 256, SLOTS = 1024 };
	struct bb_bufs *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct bb_fences *fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
	struct dma_buf_attachment **att;
	struct dma_buf *bufs[BUFS];
	struct dma_resv *objs;
	long base;
	unsigned int i, j;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, fs);
	att = kvcalloc(BUFS * BB_SCALE_MAX_ATTACH, sizeof(*att), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, att);
	objs = kvcalloc(OBJS, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	b->dev = kunit_device_register(test, "dma-buf-bench");
	KUNIT_ASSERT_FALSE(test, IS_ERR(b->dev));
	bb_exp_init(test, &b->exp);
	for (i = 0; i < BUFS; i++)
		bufs[i] = bb_export(test, b, &bb_static_ops);

	base = bb_slab_bytes();
	for (i = 0; i < BUFS; i++)
		for (j = 0; j < BB_SCALE_MAX_ATTACH; j++) {
			att[i * BB_SCALE_MAX_ATTACH + j] =
				dma_buf_attach(bufs[i], b->dev);
			KUNIT_ASSERT_FALSE(test,
					   IS_ERR(att[i * BB_SCALE_MAX_ATTACH + j]));
		}
	bb_mem_report(test, "attachment", base, BUFS * BB_SCALE_MAX_ATTACH);
	for (i = 0; i < BUFS; i++) {
		for (j = 0; j < BB_SCALE_MAX_ATTACH; j++)
			dma_buf_detach(bufs[i], att[i * BB_SCALE_MAX_ATTACH + j]);
		dma_buf_put(bufs[i]);
	}

	/* the fences are made first: only the objects' slots are counted */
	bb_fences_make(test, fs, SLOTS);
	for (i = 0; i < OBJS; i++)
		dma_resv_init(&objs[i]);
	base = bb_slab_bytes();
	for (i = 0; i < OBJS; i++)
		bb_resv_fill(test, &objs[i], fs, SLOTS);
	bb_mem_report(test, "fence_slot", base, OBJS * SLOTS);
	for (i = 0; i < OBJS; i++)
		dma_resv_fini(&objs[i]);
	bb_fences_drop(fs);

	kvfree(objs);
	kvfree(att);
	bb_exp_fini(&b->exp);
}

/* Pollers of one buffer: how long until the last sees its fence signal. */
struct bb_poller {
	struct task_struct *task;
	struct file *file;
	atomic_t *armed;
	struct completion *all_armed, done;
	u64 woke_ns;
};

static int bb_poller_thread(void *data)
{
	struct bb_poller *p = data;
	struct poll_wqueues table;
	__poll_t mask;

	poll_initwait(&table);
	mask = vfs_poll(p->file, &table.pt);
	table.pt._qproc = NULL;
	if (atomic_dec_and_test(p->armed))
		complete(p->all_armed);
	/* the sleep of do_poll(): woken by the table's entries */
	while (!(mask & EPOLLIN)) {
		set_current_state(TASK_INTERRUPTIBLE);
		/* pairs with the barrier the waker puts before "triggered" */
		if (!smp_load_acquire(&table.triggered))
			schedule();
		__set_current_state(TASK_RUNNING);
		/* cleared before polling again, so no wake-up is lost */
		smp_store_mb(table.triggered, 0);
		mask = vfs_poll(p->file, &table.pt);
	}
	p->woke_ns = ktime_get_ns();
	poll_freewait(&table);
	complete(&p->done);
	return 0;
}

static void bb_scale_poll(struct kunit *test)
{
	enum { ROUNDS = 11 };
	struct bb_bufs *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct bb_poller *p;
	struct completion all_armed;
	u64 first[ROUNDS], last[ROUNDS], t0;
	struct dma_fence *fence;
	unsigned int i, r, k, n;
	atomic_t armed;

	KUNIT_ASSERT_NOT_NULL(test, b);
	p = kvcalloc(BB_SCALE_MAX_POLLERS, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	bb_exp_init(test, &b->exp);
	b->buf = bb_export(test, b, &bb_static_ops);

	for (k = 0; k < ARRAY_SIZE(bb_scale_poller_counts); k++) {
		n = bb_scale_poller_counts[k];
		for (r = 0; r < ROUNDS; r++) {
			fence = bb_fence(test, dma_fence_context_alloc(1), 1,
					 false);
			dma_resv_lock(b->buf->resv, NULL);
			KUNIT_ASSERT_EQ(test,
					dma_resv_reserve_fences(b->buf->resv, 1), 0);
			dma_resv_add_fence(b->buf->resv, fence,
					   DMA_RESV_USAGE_WRITE);
			dma_resv_unlock(b->buf->resv);

			atomic_set(&armed, n);
			init_completion(&all_armed);
			for (i = 0; i < n; i++) {
				p[i].file = b->buf->file;
				p[i].armed = &armed;
				p[i].all_armed = &all_armed;
				init_completion(&p[i].done);
				p[i].task = kthread_run(bb_poller_thread, &p[i],
							"bb-poll/%u", i);
				if (IS_ERR(p[i].task)) {
					/* the started ones must not sleep on */
					dma_fence_signal(fence);
					while (i--)
						wait_for_completion(&p[i].done);
					dma_fence_put(fence);
					KUNIT_FAIL_AND_ABORT(test, "no poller thread");
				}
			}
			wait_for_completion(&all_armed);
			t0 = ktime_get_ns();
			dma_fence_signal(fence);
			first[r] = U64_MAX;
			last[r] = 0;
			for (i = 0; i < n; i++) {
				wait_for_completion(&p[i].done);
				first[r] = min(first[r], p[i].woke_ns - t0);
				last[r] = max(last[r], p[i].woke_ns - t0);
			}
			dma_fence_put(fence);
		}
		sort(first, ROUNDS, sizeof(u64), bb_cmp_u64, NULL);
		sort(last, ROUNDS, sizeof(u64), bb_cmp_u64, NULL);
		kunit_info(test,
			   "scale-poll: pollers n=%u first_ns=%llu last_ns=%llu last_p90_ns=%llu rounds=%u\n",
			   n, first[ROUNDS / 2], last[ROUNDS / 2],
			   last[ROUNDS - 1 - ROUNDS / 10], ROUNDS);
	}
	bb_put_flush(b->buf);
	kvfree(p);
	bb_exp_fini(&b->exp);
}

/*
 * Export until @n buffers are alive, an equal share on each of the first
 * @cpus CPUs, as buffers of many processes end up: each joins the
 * registry of the CPU that exports it.
 */
static void bb_live_grow_spread(struct kunit *test, struct bb_bufs *b,
				struct bb_live *l, unsigned long n,
				unsigned int cpus)
{
	unsigned int cpu;

	for (cpu = 0; cpu < cpus; cpu++) {
		KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current,
							   cpumask_of(cpu)), 0);
		bb_live_grow(test, b, l, l->n + (n - l->n) / (cpus - cpu));
	}
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

/* The quiet side of a comparison: a CPU that does nothing. */
static void bb_smp_idle(struct bb_worker *w)
{
	msleep(20);
}

/*
 * Contention as the work grows (qemu-system-x86_64, two or more CPUs).
 * Among N live buffers, exported on all CPUs in equal shares: export and
 * release on every CPU but the first,
 * while the first is idle, then while it reads bufinfo over and over.
 * And one to four threads adding fences to one object.
 */
static void bb_scale_smp(struct kunit *test)
{
	static const unsigned int adders[] = { 1, 2, 4 };
	struct dma_fence *fences[BB_SMP_WORKERS];
	unsigned int cpus = min_t(unsigned int, num_online_cpus(),
				  BB_SMP_WORKERS);
	unsigned int i, reading;
	struct file *bufinfo;
	struct bb_live *live;
	struct bb_smp *s;
	char name[64];
	unsigned long n;

	if (cpus < 2)
		kunit_skip(test, "needs two CPUs");
	s = bb_smp_new(test, fences);
	live = bb_live_new(test, scale_buffers);
	bufinfo = bb_open_bufinfo(test);
	KUNIT_ASSERT_FALSE(test, IS_ERR(bufinfo));

	for (n = 1; n <= scale_buffers; n *= 10) {
		bb_live_grow_spread(test, &s->b, live, n, cpus);
		for (reading = 0; reading < 2; reading++) {
			s->nw = cpus;
			for (i = 0; i < cpus; i++) {
				s->w[i].fn = i ? bb_smp_export :
					     reading ? bb_smp_bufinfo :
						       bb_smp_idle;
				s->w[i].timed = i;
				s->w[i].bufinfo = bufinfo;
			}
			snprintf(name, sizeof(name), "scale.export_release%s.%lu",
				 reading ? "+bufinfo" : "", n);
			bb_smp_run(s, name);
		}
	}
	fput(bufinfo);
	kunit_release_action(test, bb_live_release, live);

	for (i = 0; i < ARRAY_SIZE(adders); i++) {
		snprintf(name, sizeof(name), "scale.resv_add.shared.%u",
			 adders[i]);
		bb_smp_shared_add(s, adders[i], fences, name);
	}
	bb_smp_free(s, fences);
}

static struct kunit_case dma_buf_scale_smp_cases[] = {
	KUNIT_CASE_SLOW(bb_scale_smp),
	{}
};

static struct kunit_suite dma_buf_scale_smp_suite = {
	.name = "dma_buf_scale_smp",
	.test_cases = dma_buf_scale_smp_cases,
};

static struct kunit_case dma_buf_scale_cases[] = {
	KUNIT_CASE_SLOW(bb_scale_buffers),
	KUNIT_CASE_SLOW(bb_scale_fences_add),
	KUNIT_CASE_SLOW(bb_scale_fences_query),
	KUNIT_CASE_SLOW(bb_scale_attach),
	KUNIT_CASE_SLOW(bb_scale_memory),
	KUNIT_CASE_SLOW(bb_scale_poll),
	{}
};

static struct kunit_suite dma_buf_scale_suite = {
	.name = "dma_buf_scale",
	.test_cases = dma_buf_scale_cases,
};

kunit_test_suites(&dma_buf_bench_suite, &dma_buf_bench_smp_suite,
		  &dma_buf_scale_suite, &dma_buf_scale_smp_suite);

MODULE_DESCRIPTION("Benchmarks of the dma-buf core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
