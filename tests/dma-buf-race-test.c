// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit race suites for the dma-buf core: kernel threads hammer one
 * buffer (or the registry) from several sides at once, and afterwards
 * every count must be back where it started.
 *
 * On uniprocessor, non-preemptible UML the threads only interleave where
 * they sleep or yield, so every loop yields at random points; that varies
 * the order of the steps from one iteration to the next.  On an SMP kernel
 * (host/smp: qemu with two or more CPUs) the threads are bound to
 * different CPUs and really run at the same time, and KCSAN, where it is
 * built, watches the accesses.
 *
 * The number of iterations per case is the module parameter
 * dma_buf_race_test.iterations.
 */

#include <kunit/device.h>
#include <kunit/dma-buf.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include <uapi/linux/dma-buf.h>

static int iterations = 500;
module_param(iterations, int, 0444);
MODULE_PARM_DESC(iterations, "iterations of every race case");

#define RACE_EXP_NAME	"dma-buf-race"
#define RACE_MAX_THREADS 6
/* How long a case may take before its threads are told to stop. */
#define RACE_TIMEOUT	(240 * HZ)

/* ---- the exporter: the kit's, one page behind every buffer ---- */

static struct kunit_dma_buf_exporter *new_exporter(struct kunit *test,
						   bool dynamic)
{
	struct kunit_dma_buf_exporter_config cfg = {
		.size = PAGE_SIZE,
		.dynamic = dynamic,
		.name = RACE_EXP_NAME,
	};

	return kunit_dma_buf_exporter_create(test, &cfg);
}

static struct dma_buf *export(struct kunit *test,
			      struct kunit_dma_buf_exporter *exp)
{
	struct dma_buf *buf = kunit_dma_buf_try_export(exp, NULL);

	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));
	return buf;
}

/* The file operations every dma-buf file carries. */
static const struct file_operations *
fops_of(struct kunit *test, struct kunit_dma_buf_exporter *exp)
{
	struct dma_buf *buf = export(test, exp);
	const struct file_operations *fops = buf->file->f_op;

	dma_buf_put(buf);
	return fops;
}

/* Every buffer of @exp released, once the deferred fputs have run. */
static void expect_all_released(struct kunit *test,
				struct kunit_dma_buf_exporter *exp)
{
	flush_delayed_fput();
	rcu_barrier();
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&exp->released),
			atomic_read(&exp->exported));
}

/* ---- fences the test signals itself ---- */

static DEFINE_SPINLOCK(race_fence_lock);
static atomic_t race_fences_alive = ATOMIC_INIT(0);

static const char *race_fence_name(struct dma_fence *fence)
{
	return "race";
}

static void race_fence_release(struct dma_fence *fence)
{
	atomic_dec(&race_fences_alive);
	dma_fence_free(fence);
}

static const struct dma_fence_ops race_fence_ops = {
	.get_driver_name = race_fence_name,
	.get_timeline_name = race_fence_name,
	.release = race_fence_release,
};

static struct dma_fence *new_fence(u64 context, u64 seqno)
{
	struct dma_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	dma_fence_init(f, &race_fence_ops, &race_fence_lock, context, seqno);
	atomic_inc(&race_fences_alive);
	return f;
}

static int add_fence(struct dma_buf *buf, struct dma_fence *f,
		     enum dma_resv_usage usage)
{
	int ret;

	dma_resv_lock(buf->resv, NULL);
	ret = dma_resv_reserve_fences(buf->resv, 1);
	if (!ret)
		dma_resv_add_fence(buf->resv, f, usage);
	dma_resv_unlock(buf->resv);
	return ret;
}

/* ---- a poller, as poll(2) sets one up ---- */

struct race_poller {
	poll_table pt;
	wait_queue_entry_t entry;
	wait_queue_head_t *queue;
	atomic_t wakeups;
};

static int race_poller_wake(wait_queue_entry_t *entry, unsigned int mode,
			    int sync, void *key)
{
	struct race_poller *p = container_of(entry, struct race_poller, entry);

	atomic_inc(&p->wakeups);
	return 0;
}

static void race_poller_queue(struct file *file, wait_queue_head_t *queue,
			      poll_table *pt)
{
	struct race_poller *p = container_of(pt, struct race_poller, pt);

	if (p->queue)
		return;
	p->queue = queue;
	init_waitqueue_func_entry(&p->entry, race_poller_wake);
	add_wait_queue(queue, &p->entry);
}

static __poll_t race_poll(struct race_poller *p, struct file *file,
			  __poll_t events)
{
	memset(p, 0, sizeof(*p));
	init_poll_funcptr(&p->pt, race_poller_queue);
	p->pt._key = events;
	return vfs_poll(file, &p->pt);
}

/* Off the wait queue again: must happen before the poller's file ref goes. */
static void race_unpoll(struct race_poller *p)
{
	if (p->queue)
		remove_wait_queue(p->queue, &p->entry);
	p->queue = NULL;
}

/* ---- threads ---- */

struct race;

struct race_thread {
	struct race *race;
	int (*fn)(struct race_thread *t);
	void *arg;
	char __user *ubuf;	/* user memory of its own, in race->mm */
	int index;
	struct completion done;
	unsigned long steps;	/* what it got through */
};

/*
 * One race: up to RACE_MAX_THREADS threads, and a generation counter for
 * the cases that set up fresh objects for every round: in round g the
 * threads wait until gen reaches g, do their step, and count themselves
 * in ready.
 */
struct race {
	struct kunit *test;
	unsigned long deadline;
	atomic_t stop;
	atomic_t gen, ready;
	atomic_t errors;
	char first_error[160];
	spinlock_t error_lock;	/* first_error */
	int nthreads;
	struct race_thread threads[RACE_MAX_THREADS];
	/* The test thread's mm, for threads that pass user pointers. */
	struct mm_struct *mm;
	void *data;
};

static __printf(2, 3) void race_error(struct race *r, const char *fmt, ...)
{
	va_list ap;

	if (atomic_inc_return(&r->errors) != 1)
		return;
	spin_lock(&r->error_lock);
	va_start(ap, fmt);
	vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
	va_end(ap);
	spin_unlock(&r->error_lock);
}

/* Stop every thread of @r, also those waiting for the next round. */
static void race_abort(struct race *r)
{
	atomic_set(&r->stop, 1);
	wake_up_var(&r->gen);
	wake_up_var(&r->ready);
}

static bool race_stopped(struct race *r)
{
	if (atomic_read(&r->stop))
		return true;
	if (time_after(jiffies, r->deadline)) {
		race_error(r, "timed out");
		race_abort(r);
		return true;
	}
	return false;
}

/* Let the others run now and then, so that UP interleaves too. */
static void race_jitter(void)
{
	switch (get_random_u32_below(8)) {
	case 0:
		usleep_range(1, 3);
		break;
	case 1:
		udelay(1);
		break;
	case 2:
		cond_resched();
		break;
	default:
		break;
	}
}

static int race_thread_fn(void *arg)
{
	struct race_thread *t = arg;
	struct mm_struct *mm = t->race->mm;

	if (mm)
		kthread_use_mm(mm);
	t->fn(t);
	if (mm)
		kthread_unuse_mm(mm);
	complete(&t->done);
	return 0;
}

/* A kernel whose fd ops lack what a case drives cannot run it. */
static void need_fop(struct kunit *test, bool present, const char *name)
{
	if (!present)
		kunit_skip(test, "the dma-buf file has no %s", name);
}

static struct race *race_new(struct kunit *test)
{
	struct race *r = kzalloc(sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->test = test;
	r->deadline = jiffies + RACE_TIMEOUT;
	spin_lock_init(&r->error_lock);
	return r;
}

static void race_add(struct race *r, int (*fn)(struct race_thread *t),
		     void *arg)
{
	struct race_thread *t;

	KUNIT_ASSERT_LT(r->test, r->nthreads, RACE_MAX_THREADS);
	t = &r->threads[r->nthreads];
	t->race = r;
	t->fn = fn;
	t->arg = arg;
	t->index = r->nthreads++;
	init_completion(&t->done);
}

/* A thread that reads into user memory of its own. */
static void race_add_user(struct race *r, int (*fn)(struct race_thread *t),
			  char __user *ubuf)
{
	race_add(r, fn, NULL);
	r->threads[r->nthreads - 1].ubuf = ubuf;
}

/* Start every thread, each on a CPU of its own where there are enough. */
static void race_start(struct race *r)
{
	int i, cpu = cpumask_first(cpu_online_mask);

	for (i = 0; i < r->nthreads; i++) {
		struct task_struct *task;

		task = kthread_create(race_thread_fn, &r->threads[i],
				      "dma-buf-race/%d", i);
		if (IS_ERR(task)) {
			race_error(r, "kthread_create: %ld", PTR_ERR(task));
			complete(&r->threads[i].done);
			continue;
		}
		kthread_bind(task, cpu);
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
		wake_up_process(task);
	}
}

/*
 * Wait for all threads; true when they all finished.  Threads that do not
 * stop after a timeout still point into @r, so it is then leaked on
 * purpose.
 */
static bool race_finish(struct race *r)
{
	bool ok = true;
	int i;

	for (i = 0; i < r->nthreads; i++) {
		long left = (long)r->deadline - (long)jiffies;

		if (wait_for_completion_timeout(&r->threads[i].done,
						max(left, 1L)))
			continue;
		race_error(r, "thread %d did not finish", i);
		race_abort(r);
		if (!wait_for_completion_timeout(&r->threads[i].done, 30 * HZ))
			ok = false;
	}
	KUNIT_EXPECT_EQ_MSG(r->test, atomic_read(&r->errors), 0,
			    "first error: %s", r->first_error);
	return ok;
}

static void race_free(struct race *r, bool finished)
{
	if (finished)
		kfree(r);
	else
		kunit_err(r->test, "threads still running: leaking their state");
}

/* Round protocol: the main thread opens round g, threads check in. */
static bool race_wait_round(struct race *r, int g)
{
	/* Acquire: what the main thread set up for round g is visible. */
	wait_var_event(&r->gen,
		       atomic_read_acquire(&r->gen) >= g || atomic_read(&r->stop));
	return !atomic_read(&r->stop);
}

static void race_check_in(struct race *r)
{
	/* Release: the step is done before the main thread moves on. */
	atomic_inc_return_release(&r->ready);
	wake_up_var(&r->ready);
}

static bool race_run_round(struct race *r, int g)
{
	atomic_set(&r->ready, 0);
	atomic_set_release(&r->gen, g);
	wake_up_var(&r->gen);
	while (!wait_var_event_timeout(&r->ready,
				       atomic_read_acquire(&r->ready) == r->nthreads ||
				       atomic_read(&r->stop), HZ))
		if (race_stopped(r))
			break;
	return !atomic_read(&r->stop);
}

/* ---- close racing poll ---- */

struct close_poll {
	struct dma_buf *buf;
	struct file *poll_ref;	/* the poller's own reference */
	struct dma_fence *fence;
	atomic_t armed;		/* rounds in which poll found a pending fence */
};

static int close_poll_poller(struct race_thread *t)
{
	struct close_poll *cp = t->race->data;
	struct race_poller p;
	__poll_t got;
	int g;

	for (g = 1; g <= iterations; g++) {
		if (!race_wait_round(t->race, g))
			break;
		race_jitter();
		got = race_poll(&p, cp->poll_ref, EPOLLIN | EPOLLOUT);
		if (got & ~(EPOLLIN | EPOLLOUT))
			race_error(t->race, "poll returned %#x",
				   (__force unsigned int)got);
		if (!(got & EPOLLOUT))
			atomic_inc(&cp->armed);
		race_jitter();
		race_unpoll(&p);
		fput(cp->poll_ref);
		t->steps++;
		race_check_in(t->race);
	}
	return 0;
}

static int close_poll_closer(struct race_thread *t)
{
	struct close_poll *cp = t->race->data;
	int g;

	for (g = 1; g <= iterations; g++) {
		if (!race_wait_round(t->race, g))
			break;
		race_jitter();
		/* The fd's reference: after this only poll's keep it alive. */
		dma_buf_put(cp->buf);
		t->steps++;
		race_check_in(t->race);
	}
	return 0;
}

static int close_poll_signaler(struct race_thread *t)
{
	struct close_poll *cp = t->race->data;
	int g;

	for (g = 1; g <= iterations; g++) {
		if (!race_wait_round(t->race, g))
			break;
		race_jitter();
		race_jitter();
		dma_fence_signal(cp->fence);
		dma_fence_put(cp->fence);
		t->steps++;
		race_check_in(t->race);
	}
	return 0;
}

static void test_close_vs_poll(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, false);
	struct race *r;
	struct close_poll cp = {};
	u64 ctx = dma_fence_context_alloc(1);
	int g, done = 0;
	bool ok;

	need_fop(test, !!fops_of(test, exp)->poll, "poll");
	r = race_new(test);
	r->data = &cp;
	race_add(r, close_poll_poller, NULL);
	race_add(r, close_poll_closer, NULL);
	race_add(r, close_poll_signaler, NULL);
	race_start(r);
	for (g = 1; g <= iterations; g++) {
		cp.buf = kunit_dma_buf_try_export(exp, NULL);
		cp.fence = new_fence(ctx, g);
		if (IS_ERR(cp.buf) || !cp.fence ||
		    add_fence(cp.buf, cp.fence, DMA_RESV_USAGE_WRITE)) {
			race_error(r, "setting up round %d failed", g);
			race_abort(r);
			break;
		}
		/* The signaler's reference; the resv holds its own. */
		dma_fence_get(cp.fence);
		cp.poll_ref = get_file(cp.buf->file);
		if (!race_run_round(r, g))
			break;
		dma_fence_put(cp.fence);
		done++;
	}
	ok = race_finish(r);
	expect_all_released(test, exp);
	kunit_info(test, "%d rounds, poll found the fence pending in %d",
		   done, atomic_read(&cp.armed));
	KUNIT_EXPECT_EQ(test, done, iterations);
	race_free(r, ok);
}

/* ---- SET_NAME racing the readers of the name ---- */

static const char * const race_names[] = {
	"a",
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",	/* DMA_BUF_NAME_LEN - 1 */
	"cccccccccccc",
};

/* Whether @name (up to @len bytes) is one the writer ever set. */
static bool known_name(const char *name, size_t len, bool none_ok)
{
	int i;

	if (none_ok && len == 0)
		return true;
	for (i = 0; i < ARRAY_SIZE(race_names); i++)
		if (strlen(race_names[i]) == len && !memcmp(name, race_names[i], len))
			return true;
	return false;
}

struct name_race {
	struct dma_buf *buf;
	struct vfsmount *debugfs;
	unsigned long ino;
	atomic_t reads;
};

static int name_reader_path(struct race_thread *t)
{
	struct name_race *nr = t->race->data;
	char *page = kmalloc(PAGE_SIZE, GFP_KERNEL);
	const char *path;
	int i;

	if (!page) {
		race_error(t->race, "no memory");
		return 0;
	}
	for (i = 0; i < iterations * 4 && !race_stopped(t->race); i++) {
		path = file_path(nr->buf->file, page, PAGE_SIZE);
		if (IS_ERR(path)) {
			race_error(t->race, "file_path: %ld", PTR_ERR(path));
			break;
		}
		/* The link /proc/PID/fd/N shows: "/dmabuf:" and the name. */
		if (strncmp(path, "/dmabuf:", 8) ||
		    !known_name(path + 8, strlen(path + 8), true)) {
			race_error(t->race, "d_path gave \"%s\"", path);
			break;
		}
		atomic_inc(&nr->reads);
		t->steps++;
		race_jitter();
	}
	kfree(page);
	return 0;
}

static int name_reader_fdinfo(struct race_thread *t)
{
	struct name_race *nr = t->race->data;
	struct file *file = nr->buf->file;
	struct seq_file m = { .size = PAGE_SIZE };
	const char *line, *end;
	int i;

	m.buf = kmalloc(m.size, GFP_KERNEL);
	if (!m.buf) {
		race_error(t->race, "no memory");
		return 0;
	}
	for (i = 0; i < iterations * 4 && !race_stopped(t->race); i++) {
		m.count = 0;
		file->f_op->show_fdinfo(&m, file);
		if (m.count >= m.size) {
			race_error(t->race, "fdinfo overflowed a page");
			break;
		}
		m.buf[m.count] = '\0';
		/* "size:" always comes first, so "name:" follows a newline. */
		line = strstr(m.buf, "\nname:\t");
		if (line) {
			line += strlen("\nname:\t");
			end = strchrnul(line, '\n');
			if (!known_name(line, end - line, false)) {
				race_error(t->race, "fdinfo name \"%.*s\"",
					   (int)(end - line), line);
				break;
			}
		}
		atomic_inc(&nr->reads);
		t->steps++;
		race_jitter();
	}
	kfree(m.buf);
	return 0;
}

/* @size bytes of "userspace" memory in the test thread's mm. */
static char __user *user_buf(struct kunit *test, size_t size)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, size, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL((void *)addr));
	return (char __user *)addr;
}

/*
 * debugfs bufinfo, read as a tool reads it: read(2) into user memory
 * @ubuf (debugfs files have no read_iter, so kernel_read() cannot), then
 * copied into @buf.  The caller runs in the mm @ubuf belongs to.  Returns
 * the length or an error.
 */
static ssize_t read_bufinfo(struct vfsmount *mnt, char __user *ubuf,
			    char *buf, size_t size)
{
	struct file *file;
	loff_t pos = 0;
	size_t len = 0;
	ssize_t n = 0;

	file = file_open_root_mnt(mnt, "dma_buf/bufinfo", O_RDONLY, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	if (!file->f_op->read)
		n = -EINVAL;
	while (!n && len < size - 1) {
		n = file->f_op->read(file, ubuf + len, size - 1 - len, &pos);
		if (n > 0) {
			len += n;
			n = 0;
		} else if (!n) {
			break;
		}
	}
	fput(file);
	if (n < 0)
		return n;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	return len < size - 1 ? len : -E2BIG;
}

/*
 * Split a bufinfo buffer line ("size flags mode count exp_name ino name",
 * tab separated, the numbers zero-padded to 8 digits) into its fields.
 * Returns false for any other line.
 */
struct bufinfo_line {
	const char *field[7];
	int len[7];
	unsigned long size;
	unsigned long ino;
};

static bool parse_bufinfo_line(const char *line, struct bufinfo_line *bl)
{
	const char *p = line, *end;
	char num[24];
	int i;

	for (i = 0; i < 7; i++) {
		end = i < 6 ? strchrnul(p, '\t') : strchrnul(p, '\n');
		if (i < 6 && *end != '\t')
			return false;
		bl->field[i] = p;
		bl->len[i] = end - p;
		p = end + 1;
	}
	if (bl->len[0] < 8 || bl->len[5] < 8 || bl->len[0] >= sizeof(num) ||
	    bl->len[5] >= sizeof(num) || !isdigit(line[0]))
		return false;
	memcpy(num, bl->field[0], bl->len[0]);
	num[bl->len[0]] = '\0';
	if (kstrtoul(num, 10, &bl->size))
		return false;
	memcpy(num, bl->field[5], bl->len[5]);
	num[bl->len[5]] = '\0';
	return !kstrtoul(num, 10, &bl->ino);
}

static const char *next_line(const char *line)
{
	line = strchrnul(line, '\n');
	return *line ? line + 1 : line;
}

static bool is_ours(const struct bufinfo_line *bl)
{
	return bl->len[4] == strlen(RACE_EXP_NAME) &&
	       !memcmp(bl->field[4], RACE_EXP_NAME, bl->len[4]);
}

static int name_reader_bufinfo(struct race_thread *t)
{
	struct name_race *nr = t->race->data;
	char __user *ubuf = t->ubuf;
	size_t size = 16 * PAGE_SIZE;
	char *text = kvmalloc(size, GFP_KERNEL);
	struct bufinfo_line bl;
	const char *line;
	bool found;
	ssize_t n;
	int i;

	if (!text) {
		race_error(t->race, "no memory");
		return 0;
	}
	for (i = 0; i < iterations && !race_stopped(t->race); i++) {
		n = read_bufinfo(nr->debugfs, ubuf, text, size);
		if (n < 0) {
			race_error(t->race, "reading bufinfo: %zd", n);
			break;
		}
		found = false;
		for (line = text; *line; line = next_line(line)) {
			if (!parse_bufinfo_line(line, &bl) || bl.ino != nr->ino)
				continue;
			found = true;
			break;
		}
		if (!found) {
			race_error(t->race, "bufinfo does not list inode %lu",
				   nr->ino);
			break;
		}
		if (!(bl.len[6] == 6 && !memcmp(bl.field[6], "<none>", 6)) &&
		    !known_name(bl.field[6], bl.len[6], false)) {
			race_error(t->race, "bufinfo name \"%.*s\"",
				   bl.len[6], bl.field[6]);
			break;
		}
		atomic_inc(&nr->reads);
		t->steps++;
		race_jitter();
	}
	kvfree(text);
	return 0;
}

static struct vfsmount *mount_debugfs(struct kunit *test)
{
	struct file_system_type *type = get_fs_type("debugfs");
	struct vfsmount *mnt;

	if (!type)
		kunit_skip(test, "no debugfs in this kernel");
	/* debugfs is built in: there is no module reference to drop. */
	mnt = kern_mount(type);
	KUNIT_ASSERT_FALSE(test, IS_ERR(mnt));
	return mnt;
}

static void test_set_name_vs_readers(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, false);
	struct name_race nr = {};
	struct race *r;
	unsigned long uaddr;
	char __user *u;
	int i, k, set = 0;
	bool ok;

	uaddr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL((void *)uaddr));
	u = (char __user *)uaddr;
	for (k = 0; k < ARRAY_SIZE(race_names); k++)
		KUNIT_ASSERT_EQ(test, copy_to_user(u + 64 * k, race_names[k],
						   strlen(race_names[k]) + 1), 0);

	need_fop(test, !!fops_of(test, exp)->unlocked_ioctl, "ioctls");
	need_fop(test, !!fops_of(test, exp)->show_fdinfo, "fdinfo");
	nr.buf = export(test, exp);
	nr.ino = file_inode(nr.buf->file)->i_ino;
	nr.debugfs = mount_debugfs(test);

	r = race_new(test);
	r->data = &nr;
	r->mm = current->mm;
	race_add(r, name_reader_path, NULL);
	race_add(r, name_reader_fdinfo, NULL);
	race_add_user(r, name_reader_bufinfo, user_buf(test, 16 * PAGE_SIZE));
	race_start(r);

	/* This thread writes: it has the user memory the ioctl reads. */
	for (i = 0; i < iterations * 4 && !race_stopped(r); i++) {
		long ret;

		k = get_random_u32_below(ARRAY_SIZE(race_names));
		ret = nr.buf->file->f_op->unlocked_ioctl(nr.buf->file,
				i & 1 ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B,
				(unsigned long)(u + 64 * k));
		if (ret) {
			race_error(r, "SET_NAME: %ld", ret);
			break;
		}
		set++;
		race_jitter();
	}
	ok = race_finish(r);
	kern_unmount(nr.debugfs);
	kunit_info(test, "%d names set, %d reads of the name", set,
		   atomic_read(&nr.reads));
	KUNIT_EXPECT_EQ(test, set, iterations * 4);
	KUNIT_EXPECT_GT(test, atomic_read(&nr.reads), 0);
	dma_buf_put(nr.buf);
	expect_all_released(test, exp);
	race_free(r, ok);
}

/* ---- export and release racing the registry walk ---- */

struct registry_race {
	struct kunit_dma_buf_exporter *exp;
	struct vfsmount *debugfs;
	atomic_t walks, seen;
};

static int registry_exporter(struct race_thread *t)
{
	struct registry_race *rr = t->race->data;
	struct dma_buf *held[4] = {};
	int i, k;

	for (i = 0; i < iterations && !race_stopped(t->race); i++) {
		k = i % ARRAY_SIZE(held);
		if (held[k])
			dma_buf_put(held[k]);
		held[k] = kunit_dma_buf_try_export(rr->exp, NULL);
		if (IS_ERR(held[k])) {
			race_error(t->race, "export: %ld", PTR_ERR(held[k]));
			held[k] = NULL;
			break;
		}
		/* Sometimes release right here rather than in the workqueue. */
		if (!get_random_u32_below(8))
			flush_delayed_fput();
		t->steps++;
		race_jitter();
	}
	for (k = 0; k < ARRAY_SIZE(held); k++)
		if (held[k])
			dma_buf_put(held[k]);
	return 0;
}

#define RACE_MAX_SEEN 64

/*
 * One walk's listing must be consistent: every buffer once, and totals
 * that add up, however many buffers come and go meanwhile.
 */
static void check_bufinfo(struct race *r, const char *text,
			  atomic_t *seen)
{
	static const char head[] = "\nDma-buf Objects:\n";
	unsigned int objects = 0, total_objects, ours = 0, i;
	size_t bytes = 0, total_bytes;
	unsigned long inos[RACE_MAX_SEEN];
	const char *line, *total = NULL;
	struct bufinfo_line bl;

	if (strncmp(text, head, strlen(head))) {
		race_error(r, "bufinfo header: %.40s", text);
		return;
	}
	for (line = text; *line; line = next_line(line)) {
		unsigned int a;
		size_t b;

		if (parse_bufinfo_line(line, &bl)) {
			objects++;
			bytes += bl.size;
			if (!is_ours(&bl))
				continue;
			for (i = 0; i < ours; i++)
				if (inos[i] == bl.ino)
					race_error(r, "bufinfo lists inode %lu twice",
						   bl.ino);
			if (ours < RACE_MAX_SEEN)
				inos[ours++] = bl.ino;
			atomic_inc(seen);
		} else if (sscanf(line, "Total %u objects, %zu bytes", &a, &b) == 2) {
			total = line;
		}
	}
	if (!total || sscanf(total, "Total %u objects, %zu bytes",
			     &total_objects, &total_bytes) != 2) {
		race_error(r, "bufinfo without its total");
		return;
	}
	if (total_objects != objects || total_bytes != bytes)
		race_error(r, "bufinfo lists %u buffers (%zu bytes) but totals %u (%zu)",
			   objects, bytes, total_objects, total_bytes);
}

static int registry_walker(struct race_thread *t)
{
	struct registry_race *rr = t->race->data;
	char __user *ubuf = t->ubuf;
	size_t size = 64 * PAGE_SIZE;
	char *text = kvmalloc(size, GFP_KERNEL);
	ssize_t n;
	int i;

	if (!text) {
		race_error(t->race, "no memory");
		return 0;
	}
	for (i = 0; i < iterations / 2 && !race_stopped(t->race); i++) {
		n = read_bufinfo(rr->debugfs, ubuf, text, size);
		if (n < 0) {
			race_error(t->race, "reading bufinfo: %zd", n);
			break;
		}
		check_bufinfo(t->race, text, &rr->seen);
		atomic_inc(&rr->walks);
		t->steps++;
		race_jitter();
	}
	kvfree(text);
	return 0;
}

static void test_export_release_vs_walk(struct kunit *test)
{
	struct registry_race rr = {};
	struct race *r;
	size_t size = 64 * PAGE_SIZE;
	char *text;
	bool ok;

	rr.exp = new_exporter(test, false);
	rr.debugfs = mount_debugfs(test);
	r = race_new(test);
	r->data = &rr;
	race_add(r, registry_exporter, NULL);
	race_add(r, registry_exporter, NULL);
	race_add_user(r, registry_walker, user_buf(test, 64 * PAGE_SIZE));
	race_add_user(r, registry_walker, user_buf(test, 64 * PAGE_SIZE));
	r->mm = current->mm;
	race_start(r);
	ok = race_finish(r);
	expect_all_released(test, rr.exp);
	kunit_info(test, "%d buffers exported and released, %d walks saw %d of them",
		   atomic_read(&rr.exp->exported), atomic_read(&rr.walks),
		   atomic_read(&rr.seen));
	KUNIT_EXPECT_EQ(test, atomic_read(&rr.exp->exported), 2 * iterations);

	/* Once released, none of ours is listed any more. */
	text = kvzalloc(size, GFP_KERNEL);
	if (text) {
		KUNIT_EXPECT_GE(test, read_bufinfo(rr.debugfs,
						   user_buf(test, size), text, size), 0);
		KUNIT_EXPECT_NULL(test, strstr(text, "\t" RACE_EXP_NAME "\t"));
		kvfree(text);
	}
	kern_unmount(rr.debugfs);
	race_free(r, ok);
}

/* ---- attach and detach racing move_notify ---- */

struct importer {
	struct dma_buf *buf;
	atomic_t alive;		/* between attach and detach */
	atomic_t notified;
	atomic_t bad;		/* notified while detached, or unlocked */
};

struct move_race {
	struct dma_buf *buf;
	struct device *dev;
	struct importer imp[2];
	atomic_t notifies, bad_notifies;
};

static void race_move_notify(struct dma_buf_attachment *attach)
{
	struct importer *imp = attach->importer_priv;

	atomic_inc(&imp->notified);
	if (!atomic_read(&imp->alive) || attach->dmabuf != imp->buf)
		atomic_inc(&imp->bad);
	if (IS_ENABLED(CONFIG_LOCKDEP) &&
	    !lockdep_is_held(&attach->dmabuf->resv->lock.base))
		atomic_inc(&imp->bad);
}

static const struct dma_buf_attach_ops race_importer_ops = {
	.allow_peer2peer = false,
	.move_notify = race_move_notify,
};

static int move_dynamic_importer(struct race_thread *t)
{
	struct move_race *mr = t->race->data;
	struct importer *imp = t->arg;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	int i;

	for (i = 0; i < iterations && !race_stopped(t->race); i++) {
		atomic_set(&imp->alive, 1);
		attach = dma_buf_dynamic_attach(mr->buf, mr->dev,
						&race_importer_ops, imp);
		if (IS_ERR(attach)) {
			atomic_set(&imp->alive, 0);
			race_error(t->race, "dynamic attach: %ld", PTR_ERR(attach));
			break;
		}
		race_jitter();
		dma_resv_lock(mr->buf->resv, NULL);
		sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
		if (IS_ERR(sgt))
			race_error(t->race, "map: %ld", PTR_ERR(sgt));
		else
			dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
		dma_resv_unlock(mr->buf->resv);
		race_jitter();
		dma_buf_detach(mr->buf, attach);
		atomic_set(&imp->alive, 0);
		t->steps++;
	}
	return 0;
}

static int move_static_importer(struct race_thread *t)
{
	struct move_race *mr = t->race->data;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	int i;

	for (i = 0; i < iterations && !race_stopped(t->race); i++) {
		attach = dma_buf_attach(mr->buf, mr->dev);
		if (IS_ERR(attach)) {
			race_error(t->race, "static attach: %ld", PTR_ERR(attach));
			break;
		}
		race_jitter();
		sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
		if (IS_ERR(sgt))
			race_error(t->race, "static map: %ld", PTR_ERR(sgt));
		else
			dma_buf_unmap_attachment_unlocked(attach, sgt,
							  DMA_BIDIRECTIONAL);
		dma_buf_detach(mr->buf, attach);
		t->steps++;
	}
	return 0;
}

static int move_notifier(struct race_thread *t)
{
	struct move_race *mr = t->race->data;
	int i;

	for (i = 0; i < iterations * 2 && !race_stopped(t->race); i++) {
		dma_resv_lock(mr->buf->resv, NULL);
		dma_buf_move_notify(mr->buf);
		dma_resv_unlock(mr->buf->resv);
		t->steps++;
		race_jitter();
	}
	return 0;
}

static void test_attach_detach_vs_move_notify(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, true);
	struct move_race mr = {};
	struct race *r;
	bool ok;

	mr.dev = kunit_device_register(test, "dma-buf-race-dev");
	KUNIT_ASSERT_FALSE(test, IS_ERR(mr.dev));
	mr.buf = export(test, exp);
	mr.imp[0].buf = mr.buf;
	mr.imp[1].buf = mr.buf;

	r = race_new(test);
	r->data = &mr;
	race_add(r, move_dynamic_importer, &mr.imp[0]);
	race_add(r, move_dynamic_importer, &mr.imp[1]);
	race_add(r, move_static_importer, NULL);
	race_add(r, move_notifier, NULL);
	race_start(r);
	ok = race_finish(r);

	kunit_info(test, "%d attaches, %d maps, %d move notifications",
		   kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_ATTACH),
		   kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MAP),
		   atomic_read(&mr.imp[0].notified) + atomic_read(&mr.imp[1].notified));
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_ATTACH),
			3 * iterations);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_DETACH),
			kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_ATTACH));
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_UNMAP),
			kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_MAP));
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_UNPIN),
			kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_PIN));
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_lock_errors(exp), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mr.imp[0].bad), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mr.imp[1].bad), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&mr.buf->attachments));
	dma_buf_put(mr.buf);
	expect_all_released(test, exp);
	race_free(r, ok);
}

/* ---- concurrent vmap and vunmap ---- */

struct vmap_race {
	struct dma_buf *buf;
	void *want;
};

static int vmap_user(struct race_thread *t)
{
	struct vmap_race *vr = t->race->data;
	struct iosys_map map, again;
	int i, ret;

	for (i = 0; i < iterations * 2 && !race_stopped(t->race); i++) {
		bool nested = t->index & 1;

		if (nested) {
			/* Two users under one lock hold, then both go. */
			dma_resv_lock(vr->buf->resv, NULL);
			ret = dma_buf_vmap(vr->buf, &map);
			if (!ret) {
				ret = dma_buf_vmap(vr->buf, &again);
				if (!ret) {
					if (!iosys_map_is_equal(&map, &again))
						race_error(t->race, "two addresses");
					dma_buf_vunmap(vr->buf, &again);
				}
			}
			dma_resv_unlock(vr->buf->resv);
		} else {
			ret = dma_buf_vmap_unlocked(vr->buf, &map);
		}
		if (ret) {
			race_error(t->race, "vmap: %d", ret);
			break;
		}
		if (map.is_iomem || map.vaddr != vr->want)
			race_error(t->race, "vmap gave %p, want %p", map.vaddr,
				   vr->want);
		/* The mapping must stay usable until our vunmap. */
		READ_ONCE(*(u8 *)map.vaddr);
		race_jitter();
		if (nested) {
			dma_resv_lock(vr->buf->resv, NULL);
			dma_buf_vunmap(vr->buf, &map);
			dma_resv_unlock(vr->buf->resv);
		} else {
			dma_buf_vunmap_unlocked(vr->buf, &map);
		}
		t->steps++;
	}
	return 0;
}

static void test_vmap_vs_vunmap(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, false);
	struct vmap_race vr = {};
	struct race *r;
	bool ok;
	int i;

	vr.buf = export(test, exp);
	vr.want = exp->vaddr;
	r = race_new(test);
	r->data = &vr;
	for (i = 0; i < 4; i++)
		race_add(r, vmap_user, NULL);
	race_start(r);
	ok = race_finish(r);

	kunit_info(test, "%d exporter vmaps for %u users",
		   kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_VMAP), 8 * iterations);
	KUNIT_EXPECT_GT(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_VMAP), 0);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_VUNMAP),
			kunit_dma_buf_calls(exp, KUNIT_DMA_BUF_OP_VMAP));
	KUNIT_EXPECT_EQ(test, vr.buf->vmapping_counter, 0);
	KUNIT_EXPECT_EQ(test, kunit_dma_buf_lock_errors(exp), 0);
	dma_buf_put(vr.buf);
	expect_all_released(test, exp);
	race_free(r, ok);
}

/* ---- add_fence racing unlocked iteration ---- */

struct fence_race {
	struct dma_buf *buf;
	u64 context[2];
	atomic_t seen;
};

static int fence_adder(struct race_thread *t)
{
	struct fence_race *fr = t->race->data;
	u64 ctx = fr->context[t->index];
	struct dma_fence *f, *prev = NULL;
	int i;

	for (i = 1; i <= iterations * 2 && !race_stopped(t->race); i++) {
		f = new_fence(ctx, i);
		if (!f) {
			race_error(t->race, "no memory");
			break;
		}
		if (add_fence(fr->buf, f, i & 1 ? DMA_RESV_USAGE_WRITE :
						  DMA_RESV_USAGE_READ)) {
			race_error(t->race, "reserve failed");
			dma_fence_put(f);
			break;
		}
		/* Fences replaced by a later one of their context can go. */
		if (prev) {
			dma_fence_signal(prev);
			dma_fence_put(prev);
		}
		prev = f;
		t->steps++;
		race_jitter();
	}
	if (prev) {
		dma_fence_signal(prev);
		dma_fence_put(prev);
	}
	return 0;
}

static int fence_iterator(struct race_thread *t)
{
	struct fence_race *fr = t->race->data;
	struct dma_resv_iter cursor;
	struct dma_fence *f, **fences;
	unsigned int n, k;
	int i, count;

	for (i = 0; i < iterations * 2 && !race_stopped(t->race); i++) {
		count = 0;
		dma_resv_iter_begin(&cursor, fr->buf->resv, DMA_RESV_USAGE_BOOKKEEP);
		dma_resv_for_each_fence_unlocked(&cursor, f) {
			if (dma_resv_iter_is_restarted(&cursor))
				count = 0;
			/* Handed out with a reference: it cannot be dead. */
			if (!kref_read(&f->refcount) || f->ops != &race_fence_ops)
				race_error(t->race, "iterator gave a dead fence");
			count++;
		}
		dma_resv_iter_end(&cursor);
		/*
		 * A new fence replaces the older ones of its context and
		 * usage, so two contexts in two usages leave at most four.
		 */
		if (count > 4)
			race_error(t->race, "iterated %d fences of 2 contexts", count);
		atomic_add(count, &fr->seen);

		if (dma_resv_get_fences(fr->buf->resv, DMA_RESV_USAGE_READ, &n,
					&fences)) {
			race_error(t->race, "get_fences failed");
			break;
		}
		if (n > 4)
			race_error(t->race, "get_fences gave %u fences", n);
		for (k = 0; k < n; k++)
			dma_fence_put(fences[k]);
		kfree(fences);
		dma_resv_test_signaled(fr->buf->resv, DMA_RESV_USAGE_READ);
		t->steps++;
		race_jitter();
	}
	return 0;
}

static void test_add_fence_vs_unlocked_iter(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, false);
	struct fence_race fr = {};
	int alive = atomic_read(&race_fences_alive);
	struct race *r;
	bool ok;

	fr.buf = export(test, exp);
	fr.context[0] = dma_fence_context_alloc(1);
	fr.context[1] = dma_fence_context_alloc(1);
	r = race_new(test);
	r->data = &fr;
	race_add(r, fence_adder, NULL);
	race_add(r, fence_adder, NULL);
	race_add(r, fence_iterator, NULL);
	race_add(r, fence_iterator, NULL);
	race_start(r);
	ok = race_finish(r);
	kunit_info(test, "%d fences added, iterators saw %d", 4 * iterations,
		   atomic_read(&fr.seen));
	dma_buf_put(fr.buf);
	expect_all_released(test, exp);
	/* With the buffer gone, every fence must have been released too. */
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_read(&race_fences_alive), alive);
	race_free(r, ok);
}

/* ---- the final put racing a poll callback ---- */

struct put_cb {
	struct dma_buf *buf;
	struct dma_fence *fence;
	atomic_t pending;	/* rounds in which poll armed a callback */
};

static int put_cb_putter(struct race_thread *t)
{
	struct put_cb *pc = t->race->data;
	int g;

	for (g = 1; g <= iterations; g++) {
		if (!race_wait_round(t->race, g))
			break;
		race_jitter();
		dma_buf_put(pc->buf);
		if (get_random_u32_below(2))
			flush_delayed_fput();
		t->steps++;
		race_check_in(t->race);
	}
	return 0;
}

static int put_cb_signaler(struct race_thread *t)
{
	struct put_cb *pc = t->race->data;
	int g;

	for (g = 1; g <= iterations; g++) {
		if (!race_wait_round(t->race, g))
			break;
		race_jitter();
		/* The callback drops poll's file reference: maybe the last. */
		dma_fence_signal(pc->fence);
		dma_fence_put(pc->fence);
		t->steps++;
		race_check_in(t->race);
	}
	return 0;
}

static void test_final_put_vs_poll_callback(struct kunit *test)
{
	struct kunit_dma_buf_exporter *exp = new_exporter(test, false);
	struct put_cb pc = {};
	struct race_poller p;
	u64 ctx = dma_fence_context_alloc(1);
	struct race *r;
	__poll_t got;
	int g, done = 0;
	bool ok;

	need_fop(test, !!fops_of(test, exp)->poll, "poll");
	r = race_new(test);
	r->data = &pc;
	race_add(r, put_cb_putter, NULL);
	race_add(r, put_cb_signaler, NULL);
	race_start(r);
	for (g = 1; g <= iterations; g++) {
		pc.buf = kunit_dma_buf_try_export(exp, NULL);
		pc.fence = new_fence(ctx, g);
		if (IS_ERR(pc.buf) || !pc.fence ||
		    add_fence(pc.buf, pc.fence,
			      g & 1 ? DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ)) {
			race_error(r, "setting up round %d failed", g);
			race_abort(r);
			break;
		}
		/* Arm the callbacks; the poller is gone before the race. */
		got = race_poll(&p, pc.buf->file, EPOLLIN | EPOLLOUT);
		race_unpoll(&p);
		if (got & EPOLLOUT) {
			race_error(r, "poll ignored a pending fence");
			race_abort(r);
			break;
		}
		atomic_inc(&pc.pending);
		if (file_count(pc.buf->file) < 2) {
			race_error(r, "an armed callback holds no file reference");
			race_abort(r);
			break;
		}
		if (!race_run_round(r, g))
			break;
		done++;
	}
	ok = race_finish(r);
	expect_all_released(test, exp);
	kunit_info(test, "%d rounds, callbacks armed in %d", done,
		   atomic_read(&pc.pending));
	KUNIT_EXPECT_EQ(test, done, iterations);
	race_free(r, ok);
}

static void race_suite_exit(struct kunit_suite *suite)
{
	flush_delayed_fput();
	rcu_barrier();
}

static void race_case_exit(struct kunit *test)
{
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks, "lockdep turned itself off");
}

static struct kunit_case dma_buf_race_cases[] = {
	KUNIT_CASE_SLOW(test_close_vs_poll),
	KUNIT_CASE_SLOW(test_set_name_vs_readers),
	KUNIT_CASE_SLOW(test_export_release_vs_walk),
	KUNIT_CASE_SLOW(test_attach_detach_vs_move_notify),
	KUNIT_CASE_SLOW(test_vmap_vs_vunmap),
	KUNIT_CASE_SLOW(test_add_fence_vs_unlocked_iter),
	KUNIT_CASE_SLOW(test_final_put_vs_poll_callback),
	{}
};

static struct kunit_suite dma_buf_race_suite = {
	.name = "dma-buf-race",
	.exit = race_case_exit,
	.suite_exit = race_suite_exit,
	.test_cases = dma_buf_race_cases,
};

kunit_test_suite(dma_buf_race_suite);

MODULE_DESCRIPTION("KUnit race tests of the dma-buf core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
