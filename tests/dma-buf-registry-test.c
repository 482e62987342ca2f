// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite for the registry of live buffers that debugfs bufinfo walks
 * (dma_buf_for_each()): a walk that waits on one buffer's reservation lock
 * holds up neither exports nor releases of other buffers on the same CPU,
 * and the release of the buffer it waits on waits for it, however many
 * walks are there, while walks that start meanwhile step over it.
 */
#include <kunit/test.h>
#include <kunit/visibility.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kthread.h>

#include "dma-buf-test.h"
#include "../dma-buf-internal.h"

/* Long enough for a thread that is not stuck, short enough to wait for. */
#define REG_TIMEOUT	(5 * HZ)

/*
 * The exporter's release, seen by the test: the last put only starts it,
 * and a kworker may run it (flush_delayed_fput() does not wait for one).
 */
static struct completion reg_released;
static void (*reg_kit_release)(struct dma_buf *dmabuf);

static void reg_release(struct dma_buf *dmabuf)
{
	reg_kit_release(dmabuf);
	complete(&reg_released);
}

/* Whether the release of @buf marked it for walks to step over. */
static bool reg_unlisting(struct dma_buf *buf)
{
#if IS_ENABLED(CONFIG_DEBUG_FS)
	return READ_ONCE(dma_buf_core(buf)->unlisting);
#else
	return false;
#endif
}

/* A walk that stops at @target to take its reservation lock, as bufinfo. */
struct reg_walk {
	struct dma_buf *target;
	struct completion at_target, done;
	int ret, seen_target;
	bool started;
};

static int reg_walk_one(struct dma_buf *buf, void *data)
{
	struct reg_walk *w = data;
	int ret;

	if (buf != w->target)
		return 0;
	complete(&w->at_target);
	ret = dma_resv_lock_interruptible(buf->resv, NULL);
	if (ret)
		return ret;
	dma_resv_unlock(buf->resv);
	w->seen_target++;
	return 0;
}

static int reg_walk_thread(void *data)
{
	struct reg_walk *w = data;

	w->ret = IS_ENABLED(CONFIG_DEBUG_FS) ?
		 dma_buf_for_each(reg_walk_one, w) : -ENODEV;
	complete(&w->done);
	return 0;
}

/* Returns whether the walk runs (then it must be waited for). */
static bool reg_walk_start(struct reg_walk *w, struct dma_buf *target)
{
	w->target = target;
	init_completion(&w->at_target);
	init_completion(&w->done);
	w->started = !IS_ERR(kthread_run(reg_walk_thread, w, "reg-walk"));
	return w->started;
}

/* Work done on another thread, bound to one CPU, that may get stuck. */
struct reg_job {
	struct dbt_exporter *exp;
	struct dma_buf *buf;	/* to put; NULL: export one and put it */
	struct completion done;
	int err;
	bool started;
};

static int reg_job_thread(void *data)
{
	struct reg_job *job = data;
	struct dma_buf *buf = job->buf;

	if (!buf) {
		buf = kunit_dma_buf_try_export(&job->exp->kit, NULL);
		if (IS_ERR(buf)) {
			job->err = PTR_ERR(buf);
			goto out;
		}
	}
	dma_buf_put(buf);
	/* Usually the release runs right here rather than in a kworker. */
	flush_delayed_fput();
out:
	complete(&job->done);
	return 0;
}

static bool reg_job_start(struct reg_job *job, unsigned int cpu)
{
	struct task_struct *t;

	init_completion(&job->done);
	t = kthread_create(reg_job_thread, job, "reg-job");
	job->started = !IS_ERR(t);
	if (job->started) {
		kthread_bind(t, cpu);
		wake_up_process(t);
	}
	return job->started;
}

/* Waits for @done, failing the test if that takes long, but never gives up. */
static void reg_wait(struct kunit *test, struct completion *done,
		     const char *what)
{
	if (!wait_for_completion_timeout(done, REG_TIMEOUT)) {
		KUNIT_FAIL(test, "%s waited for more than %d s", what,
			   REG_TIMEOUT / HZ);
		wait_for_completion(done);
	}
}

/*
 * The test's exporter, whose releases it sees, and a buffer with a
 * reservation object of the test's: unlocking that must not touch the
 * buffer's memory, which a release waiting on the walk frees as soon as
 * the walk lets go.
 */
static struct dbt_exporter *reg_exporter(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);

	init_completion(&reg_released);
	reg_kit_release = exp->ops.release;
	exp->ops.release = reg_release;
	return exp;
}

static struct dma_buf *reg_export(struct kunit *test, struct dbt_exporter *exp,
				  struct dma_resv *resv)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *buf;

	dbt_fill_info(exp, &info);
	info.resv = resv;
	buf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));
	return buf;
}

/*
 * Keep the test on the CPU it runs on, so that the buffers it exports
 * share that CPU's list.
 */
static unsigned int reg_pin(struct kunit *test)
{
	unsigned int cpu = raw_smp_processor_id();

	if (!IS_ENABLED(CONFIG_DEBUG_FS))
		kunit_skip(test, "no registry without debugfs");
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu)),
			0);
	return cpu;
}

static void reg_unpin(void)
{
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

/*
 * While a walk waits for one buffer's reservation lock, another buffer is
 * exported and released on the same CPU's list.  Once threads run, the
 * test only expects, and always unlocks and waits for them: they use its
 * stack.
 */
static void reg_walk_spares_others(struct kunit *test)
{
	struct dbt_exporter *exp = reg_exporter(test);
	struct reg_job job = { .exp = exp };
	struct reg_walk w = {};
	bool job_done = false, released = false;
	struct dma_resv resv;
	struct dma_buf *buf;
	unsigned int cpu;

	dma_resv_init(&resv);
	cpu = reg_pin(test);
	buf = reg_export(test, exp, &resv);
	dma_resv_lock(&resv, NULL);
	if (!reg_walk_start(&w, buf)) {
		KUNIT_FAIL(test, "no walk thread");
		goto out;
	}
	if (!wait_for_completion_timeout(&w.at_target, REG_TIMEOUT)) {
		KUNIT_FAIL(test, "the walk never reached the buffer");
		goto out;
	}
	if (!reg_job_start(&job, cpu)) {
		KUNIT_FAIL(test, "no job thread");
		goto out;
	}
	/* Exported and put, and released (here or by a kworker). */
	job_done = wait_for_completion_timeout(&job.done, REG_TIMEOUT);
	if (job_done && !job.err)
		released = wait_for_completion_timeout(&reg_released,
						       REG_TIMEOUT);
	KUNIT_EXPECT_TRUE_MSG(test, job_done && released,
			      "export and release waited for the walk");
out:
	dma_resv_unlock(&resv);
	if (job.started && !job_done)
		reg_wait(test, &job.done, "the job");
	if (job.started && !job.err && !released)
		reg_wait(test, &reg_released, "the other buffer's release");
	if (w.started)
		reg_wait(test, &w.done, "the walk");
	reg_unpin();
	KUNIT_EXPECT_EQ(test, job.err, 0);
	KUNIT_EXPECT_EQ(test, w.ret, 0);
	KUNIT_EXPECT_EQ(test, w.seen_target, 1);

	exp->released = 0;
	dma_buf_put(buf);
	flush_delayed_fput();
	reg_wait(test, &reg_released, "the release");
	KUNIT_EXPECT_EQ(test, exp->released, 1);
	dma_resv_fini(&resv);
}

/*
 * The release of a buffer that @walks walks are looking at waits until
 * every one of them has let go, and then runs once.  A walk that starts
 * while the release waits steps over the buffer.
 */
static void reg_release_waits(struct kunit *test, unsigned int walks)
{
	struct dbt_exporter *exp = reg_exporter(test);
	struct reg_job job = { .exp = exp };
	struct reg_walk w[3] = {}, *late = &w[walks];
	unsigned long until;
	struct dma_resv resv;
	unsigned int cpu, i;

	dma_resv_init(&resv);
	cpu = reg_pin(test);
	job.buf = reg_export(test, exp, &resv);
	dma_resv_lock(&resv, NULL);
	for (i = 0; i < walks; i++) {
		if (!reg_walk_start(&w[i], job.buf) ||
		    !wait_for_completion_timeout(&w[i].at_target, REG_TIMEOUT)) {
			KUNIT_FAIL(test, "walk %u did not reach the buffer", i + 1);
			goto out;
		}
	}
	if (!reg_job_start(&job, cpu)) {
		KUNIT_FAIL(test, "no job thread");
		goto out;
	}
	/* The release marked the buffer; it must still be waiting. */
	until = jiffies + REG_TIMEOUT;
	while (!reg_unlisting(job.buf) && time_before(jiffies, until))
		usleep_range(1000, 2000);
	KUNIT_EXPECT_TRUE(test, reg_unlisting(job.buf));
	msleep(20);
	KUNIT_EXPECT_EQ(test, exp->released, 0);

	if (!reg_walk_start(late, job.buf)) {
		KUNIT_FAIL(test, "no late walk thread");
		goto out;
	}
	/* On a timeout it waits for our lock: unlock first, then wait. */
	if (!wait_for_completion_timeout(&late->done, REG_TIMEOUT)) {
		KUNIT_FAIL(test, "a walk that started during the release stopped at the buffer");
		goto out;
	}
	late->started = false;	/* waited for */
	KUNIT_EXPECT_EQ(test, late->seen_target, 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&late->at_target));
	KUNIT_EXPECT_EQ(test, exp->released, 0);
out:
	dma_resv_unlock(&resv);
	if (job.started) {
		reg_wait(test, &reg_released, "the release after the walks");
	} else {
		dma_buf_put(job.buf);
		flush_delayed_fput();
		reg_wait(test, &reg_released, "the release");
	}
	for (i = 0; i <= walks; i++) {
		if (w[i].started)
			reg_wait(test, &w[i].done, "a walk");
		KUNIT_EXPECT_EQ(test, w[i].ret, 0);
		KUNIT_EXPECT_EQ(test, w[i].seen_target, i < walks);
	}
	if (job.started)
		reg_wait(test, &job.done, "the job");
	reg_unpin();
	KUNIT_EXPECT_EQ(test, exp->released, 1);
	dma_resv_fini(&resv);
}

static void reg_release_waits_for_walk(struct kunit *test)
{
	reg_release_waits(test, 1);
}

static void reg_release_waits_for_two_walks(struct kunit *test)
{
	reg_release_waits(test, 2);
}

static struct kunit_case reg_cases[] = {
	KUNIT_CASE(reg_walk_spares_others),
	KUNIT_CASE(reg_release_waits_for_walk),
	KUNIT_CASE(reg_release_waits_for_two_walks),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite reg_suite = {
	.name = "dma-buf-registry",
	.test_cases = reg_cases,
};

kunit_test_suite(reg_suite);

MODULE_DESCRIPTION("KUnit tests for the dma-buf registry");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
