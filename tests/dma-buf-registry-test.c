// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite for the registry of live buffers that debugfs bufinfo walks
 * (dma_buf_for_each()): a walk that waits on one buffer's reservation lock
 * holds up neither exports nor releases of other buffers on the same CPU,
 * and the release of the buffer it waits on waits for it, however many
 * walks are there.
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

/* A walk that stops at @target to take its reservation lock, as bufinfo. */
struct reg_walk {
	struct dma_buf *target;
	struct completion at_target, done;
	int ret, seen_target;
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

static void reg_walk_start(struct kunit *test, struct reg_walk *w,
			   struct dma_buf *target)
{
	struct task_struct *t;

	w->target = target;
	init_completion(&w->at_target);
	init_completion(&w->done);
	t = kthread_run(reg_walk_thread, w, "reg-walk");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&w->at_target,
							  REG_TIMEOUT), 0);
}

/* Work done on another thread, bound to one CPU, that may get stuck. */
struct reg_job {
	struct dbt_exporter *exp;
	struct dma_buf *buf;	/* to put; NULL: export one and put it */
	struct completion done;
	int err;
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
	/* The release, in this thread rather than in the workqueue. */
	flush_delayed_fput();
out:
	complete(&job->done);
	return 0;
}

static void reg_job_start(struct kunit *test, struct reg_job *job,
			  unsigned int cpu)
{
	struct task_struct *t;

	init_completion(&job->done);
	t = kthread_create(reg_job_thread, job, "reg-job");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpu);
	wake_up_process(t);
}

/*
 * A buffer with a reservation object of the test's: unlocking it must not
 * touch the buffer's memory, which a release waiting on the walk frees
 * as soon as the walk lets go.
 */
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
 * exported and released on the same CPU's list.
 */
static void reg_walk_spares_others(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct reg_job job = { .exp = exp };
	struct reg_walk w;
	struct dma_resv resv;
	struct dma_buf *buf;
	unsigned int cpu;
	bool stuck;

	dma_resv_init(&resv);
	cpu = reg_pin(test);
	buf = reg_export(test, exp, &resv);
	dma_resv_lock(&resv, NULL);
	reg_walk_start(test, &w, buf);

	reg_job_start(test, &job, cpu);
	stuck = !wait_for_completion_timeout(&job.done, REG_TIMEOUT);
	dma_resv_unlock(&resv);
	/* Once the walk goes on, a stuck job does too. */
	if (stuck)
		wait_for_completion(&job.done);
	wait_for_completion(&w.done);
	reg_unpin();
	KUNIT_EXPECT_FALSE_MSG(test, stuck,
			       "export and release waited for the walk");
	KUNIT_EXPECT_EQ(test, job.err, 0);
	KUNIT_EXPECT_EQ(test, w.ret, 0);
	KUNIT_EXPECT_EQ(test, w.seen_target, 1);
	KUNIT_EXPECT_EQ(test, exp->released, 1);

	exp->released = 0;
	exp->dmabuf = buf;
	dbt_put_final(exp);
	dma_resv_fini(&resv);
}

/*
 * The release of a buffer that @walks walks are looking at waits until
 * every one of them has let go, and then runs once.
 */
static void reg_release_waits(struct kunit *test, unsigned int walks)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct reg_job job = { .exp = exp };
	unsigned long released;
	struct reg_walk w[2];
	struct dma_resv resv;
	unsigned int cpu, i;

	dma_resv_init(&resv);
	cpu = reg_pin(test);
	job.buf = reg_export(test, exp, &resv);
	dma_resv_lock(&resv, NULL);
	for (i = 0; i < walks; i++)
		reg_walk_start(test, &w[i], job.buf);

	reg_job_start(test, &job, cpu);
	/* The last put happened; the release must still be waiting. */
	msleep(100);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&job.done));
	dma_resv_unlock(&resv);

	released = wait_for_completion_timeout(&job.done, REG_TIMEOUT);
	KUNIT_EXPECT_GT(test, released, 0);
	/* The job's state is on this stack: never leave it running. */
	if (!released)
		wait_for_completion(&job.done);
	for (i = 0; i < walks; i++) {
		wait_for_completion(&w[i].done);
		KUNIT_EXPECT_EQ(test, w[i].ret, 0);
		KUNIT_EXPECT_EQ(test, w[i].seen_target, 1);
	}
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
