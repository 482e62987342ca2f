// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for exporting dma-bufs and for their file descriptors:
 * dma_buf_export() and DEFINE_DMA_BUF_EXPORT_INFO, the checks of the
 * exporter's ops, the buffer's file and inode, module references, the
 * exporter's release, dma_buf_fd(), dma_buf_get(), dma_buf_put() and
 * get_dma_buf().
 */
#include <linux/anon_inodes.h>
#include <linux/dcache.h>
#include <linux/path.h>
#include <linux/rcupdate.h>
#include <uapi/linux/magic.h>

#include "dma-buf-test.h"

/* Callbacks the exporter saw apart from release. */
static int dbt_calls(struct dbt_exporter *exp)
{
	return exp->attached + exp->detached + exp->pinned + exp->unpinned +
	       exp->mapped + exp->unmapped + exp->began + exp->ended +
	       exp->mmapped + exp->vmapped + exp->vunmapped;
}

#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
/*
 * A module the test controls, so that module references can be counted
 * also when the suites are built in (THIS_MODULE == NULL).
 */
static struct module *dbt_fake_module(struct kunit *test,
				      enum module_state state)
{
	struct module *mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mod);
	strscpy(mod->name, "dbt_fake_owner", sizeof(mod->name));
	mod->state = state;
	atomic_set(&mod->refcnt, 1);
	return mod;
}
#endif

static void dbt_export_info_defaults(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);

	KUNIT_EXPECT_STREQ(test, info.exp_name, KBUILD_MODNAME);
	KUNIT_EXPECT_PTR_EQ(test, info.owner, THIS_MODULE);
	KUNIT_EXPECT_NULL(test, info.ops);
	KUNIT_EXPECT_EQ(test, info.size, 0);
	KUNIT_EXPECT_EQ(test, info.flags, 0);
	KUNIT_EXPECT_NULL(test, info.resv);
	KUNIT_EXPECT_NULL(test, info.priv);
}

static void dbt_export_fields(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	info.exp_name = "dbt-exporter";
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe", dmabuf);
	exp->dmabuf = dmabuf;

	KUNIT_EXPECT_EQ(test, dmabuf->size, DBT_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->ops, &exp->ops);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->priv, exp);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->exp_name, info.exp_name);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->owner, THIS_MODULE);
	KUNIT_EXPECT_NULL(test, dmabuf->name);
	KUNIT_EXPECT_TRUE(test, list_empty(&dmabuf->attachments));
	KUNIT_EXPECT_EQ(test, dmabuf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&dmabuf->vmap_ptr));
	KUNIT_ASSERT_NOT_NULL(test, dmabuf->file);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->file->private_data, dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	KUNIT_EXPECT_NOT_NULL(test, dmabuf->resv);
	KUNIT_EXPECT_FALSE(test, dma_buf_is_dynamic(dmabuf));
	KUNIT_EXPECT_EQ(test, exp->released, 0);

	/* The buffer's own reservation object works. */
	KUNIT_EXPECT_EQ(test, dma_resv_lock(dmabuf->resv, NULL), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_TRUE(test, dma_resv_test_signaled(dmabuf->resv,
						       DMA_RESV_USAGE_BOOKKEEP));

	dbt_put_final(exp);
	KUNIT_EXPECT_EQ(test, dbt_calls(exp), 0);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
}

static void dbt_export_external_resv(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_resv *resv;
	struct dma_buf *dmabuf;

	resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);

	dbt_fill_info(exp, &info);
	info.resv = resv;
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe", dmabuf);
	exp->dmabuf = dmabuf;
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->resv, resv);
	dbt_put_final(exp);

	/* The exporter's object outlives the buffer, untouched. */
	KUNIT_EXPECT_EQ(test, dma_resv_lock(resv, NULL), 0);
	dma_resv_unlock(resv);
	dma_resv_fini(resv);
}

enum dbt_bad_ops {
	DBT_NO_OPS,
	DBT_NO_MAP,
	DBT_NO_UNMAP,
	DBT_NO_RELEASE,
	DBT_PIN_ONLY,
	DBT_UNPIN_ONLY,
	DBT_CACHED_PINNING,
	DBT_NR_BAD_OPS,
};

/*
 * Export with broken ops: -EINVAL and a WARN, the exporter's release not
 * called, no module reference kept.
 */
static void dbt_export_bad_ops(struct kunit *test)
{
	int i;

	for (i = 0; i < DBT_NR_BAD_OPS; i++) {
		struct dbt_exporter *exp = dbt_exporter_new(test);
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf *dmabuf;
		int warns = dbt_case_warns(test);
		int refs = 0;

		dbt_fill_info(exp, &info);
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		info.owner = dbt_fake_module(test, MODULE_STATE_LIVE);
		refs = module_refcount(info.owner);
#endif
		switch (i) {
		case DBT_NO_OPS:
			info.ops = NULL;
			break;
		case DBT_NO_MAP:
			exp->ops.map_dma_buf = NULL;
			break;
		case DBT_NO_UNMAP:
			exp->ops.unmap_dma_buf = NULL;
			break;
		case DBT_NO_RELEASE:
			exp->ops.release = NULL;
			break;
		case DBT_PIN_ONLY:
			exp->ops.pin = dbt_op_pin;
			break;
		case DBT_UNPIN_ONLY:
			exp->ops.unpin = dbt_op_unpin;
			break;
		case DBT_CACHED_PINNING:
			dbt_make_dynamic(exp);
			exp->ops.cache_sgt_mapping = true;
			break;
		}

		dmabuf = dma_buf_export(&info);
		flush_delayed_fput();
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(dmabuf), -EINVAL,
				    "bad ops variant %d", i);
		if (!IS_ERR(dmabuf)) {
			exp->dmabuf = dmabuf;
			dbt_put_final(exp);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, dbt_case_warns(test) - warns, 1,
				    "bad ops variant %d", i);
		KUNIT_EXPECT_EQ(test, exp->released, 0);
		KUNIT_EXPECT_EQ(test, dbt_calls(exp), 0);
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
		KUNIT_EXPECT_EQ(test, module_refcount(info.owner), refs);
#endif
		(void)refs;
		dbt_expect_warns(test, 1);
	}
}

static void dbt_export_no_priv(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	info.priv = NULL;
	dmabuf = dma_buf_export(&info);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dmabuf), -EINVAL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	dbt_expect_warns(test, 1);
}

/* The owner is held for the buffer's life, dropped after release. */
static void dbt_export_module_ref(struct kunit *test)
{
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct module *mod = dbt_fake_module(test, MODULE_STATE_LIVE);
	int refs = module_refcount(mod);
	int own = THIS_MODULE ? module_refcount(THIS_MODULE) : 0;
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	info.owner = mod;
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe", dmabuf);
	exp->dmabuf = dmabuf;
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->owner, mod);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), refs + 1);

	get_dma_buf(dmabuf);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), refs + 1);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, module_refcount(mod), refs + 1);

	dbt_put_final(exp);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), refs);

	/* The same with the default owner when we are a real module. */
	if (THIS_MODULE) {
		exp = dbt_exporter_new(test);
		dbt_export(exp);
		KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), own + 1);
		dbt_put_final(exp);
		KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), own);
	}
#else
	kunit_skip(test, "needs CONFIG_MODULE_UNLOAD");
#endif
}

/* An owner that is going away cannot export. */
static void dbt_export_module_going(struct kunit *test)
{
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct module *mod = dbt_fake_module(test, MODULE_STATE_GOING);
	int refs = module_refcount(mod);
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	info.owner = mod;
	dmabuf = dma_buf_export(&info);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dmabuf), -ENOENT);
	if (!IS_ERR(dmabuf)) {
		exp->dmabuf = dmabuf;
		dbt_put_final(exp);
	}
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), refs);
#else
	kunit_skip(test, "needs CONFIG_MODULE_UNLOAD");
#endif
}

#define DBT_NR_INODES 16

/* Every buffer is its own file with its own inode on the dmabuf fs. */
static void dbt_export_inodes(struct kunit *test)
{
	struct dbt_exporter *exp[DBT_NR_INODES];
	struct inode *inode[DBT_NR_INODES];
	int i, j;

	for (i = 0; i < DBT_NR_INODES; i++) {
		exp[i] = dbt_exporter_new(test);
		dbt_export(exp[i]);
		inode[i] = file_inode(exp[i]->dmabuf->file);
		KUNIT_EXPECT_EQ(test, inode[i]->i_sb->s_magic, DMA_BUF_MAGIC);
		KUNIT_EXPECT_EQ(test, i_size_read(inode[i]), DBT_SIZE);
		KUNIT_EXPECT_NE(test, inode[i]->i_ino, 0);
		for (j = 0; j < i; j++) {
			KUNIT_EXPECT_PTR_NE(test, exp[i]->dmabuf->file,
					    exp[j]->dmabuf->file);
			KUNIT_EXPECT_PTR_NE(test, inode[i], inode[j]);
			KUNIT_EXPECT_NE(test, inode[i]->i_ino, inode[j]->i_ino);
			KUNIT_EXPECT_PTR_EQ(test, inode[i]->i_sb,
					    inode[j]->i_sb);
		}
	}
	for (i = 0; i < DBT_NR_INODES; i++)
		dbt_put_final(exp[i]);
}

static void dbt_set_name(struct dma_buf *dmabuf, char *name)
{
	const char *old;

	spin_lock(&dmabuf->name_lock);
	old = dmabuf->name;
	dmabuf->name = name;
	spin_unlock(&dmabuf->name_lock);
	kfree(old);
}

/* The dentry reads "/dmabuf:<name>", with the name as it is now. */
static void dbt_export_dentry_name(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	char *buf = kunit_kzalloc(test, PATH_MAX, GFP_KERNEL);
	char *path;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	path = d_path(&dmabuf->file->f_path, buf, PATH_MAX);
	KUNIT_ASSERT_FALSE(test, IS_ERR(path));
	KUNIT_EXPECT_STREQ(test, path, "/dmabuf:");

	dbt_set_name(dmabuf, kstrdup("kunit-buffer", GFP_KERNEL));
	path = d_path(&dmabuf->file->f_path, buf, PATH_MAX);
	KUNIT_ASSERT_FALSE(test, IS_ERR(path));
	KUNIT_EXPECT_STREQ(test, path, "/dmabuf:kunit-buffer");

	dbt_set_name(dmabuf, kstrdup("renamed", GFP_KERNEL));
	path = d_path(&dmabuf->file->f_path, buf, PATH_MAX);
	KUNIT_ASSERT_FALSE(test, IS_ERR(path));
	KUNIT_EXPECT_STREQ(test, path, "/dmabuf:renamed");

	/* The core frees the name at release. */
	dbt_put_final(exp);
}

/* exp_info.flags become the file's mode and status flags. */
static void dbt_export_file_flags(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	dbt_fill_info(exp, &info);
	info.flags = O_RDONLY;
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe", dmabuf);
	exp->dmabuf = dmabuf;
	KUNIT_EXPECT_TRUE(test, dmabuf->file->f_mode & FMODE_READ);
	KUNIT_EXPECT_FALSE(test, dmabuf->file->f_mode & FMODE_WRITE);
	KUNIT_EXPECT_FALSE(test, dmabuf->file->f_flags & O_NONBLOCK);
	dbt_put_final(exp);

	exp = dbt_exporter_new(test);
	dbt_fill_info(exp, &info);
	info.flags = O_RDWR | O_NONBLOCK;
	dmabuf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dmabuf), "%pe", dmabuf);
	exp->dmabuf = dmabuf;
	KUNIT_EXPECT_TRUE(test, dmabuf->file->f_mode & FMODE_READ);
	KUNIT_EXPECT_TRUE(test, dmabuf->file->f_mode & FMODE_WRITE);
	KUNIT_EXPECT_TRUE(test, dmabuf->file->f_flags & O_NONBLOCK);
	dbt_put_final(exp);
}

/* Release runs once, when the last of many references goes. */
static void dbt_export_release_once(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	int i;

	/* DEFINE_DMA_BUF_EXPORT_INFO names the exporter after its module. */
	KUNIT_EXPECT_STREQ(test, dmabuf->exp_name, KBUILD_MODNAME);
	for (i = 0; i < 3; i++)
		get_dma_buf(dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 4);
	for (i = 0; i < 3; i++) {
		dma_buf_put(dmabuf);
		flush_delayed_fput();
		KUNIT_EXPECT_EQ(test, exp->released, 0);
	}
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	dbt_put_final(exp);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, exp->released, 1);
	KUNIT_EXPECT_EQ(test, dbt_lock_errors(exp), 0);
}

static struct kunit_case dbt_export_cases[] = {
	KUNIT_CASE(dbt_export_info_defaults),
	KUNIT_CASE(dbt_export_fields),
	KUNIT_CASE(dbt_export_external_resv),
	KUNIT_CASE(dbt_export_bad_ops),
	KUNIT_CASE(dbt_export_no_priv),
	KUNIT_CASE(dbt_export_module_ref),
	KUNIT_CASE(dbt_export_module_going),
	KUNIT_CASE(dbt_export_inodes),
	KUNIT_CASE(dbt_export_dentry_name),
	KUNIT_CASE(dbt_export_file_flags),
	KUNIT_CASE(dbt_export_release_once),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_export_suite = {
	.name = "dma-buf-export",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_export_cases,
};

static const struct file_operations dbt_other_fops = {
	.owner = THIS_MODULE,
};

/* The fd owns the reference it was given; dma_buf_get() takes another. */
static void dbt_fd_get_put(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	struct dma_buf *got;
	bool cloexec;
	int fd;

	get_dma_buf(dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	fd = dma_buf_fd(dmabuf, O_CLOEXEC);
	KUNIT_ASSERT_GE(test, fd, 0);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	rcu_read_lock();
	cloexec = close_on_exec(fd, current->files);
	rcu_read_unlock();
	KUNIT_EXPECT_TRUE(test, cloexec);

	got = dma_buf_get(fd);
	KUNIT_ASSERT_FALSE(test, IS_ERR(got));
	KUNIT_EXPECT_PTR_EQ(test, got, dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 3);
	dma_buf_put(got);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);

	KUNIT_EXPECT_EQ(test, close_fd(fd), 0);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	dbt_put_final(exp);
}

/* The last reference may be the fd's. */
static void dbt_fd_close_releases(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);
	int fd = dma_buf_fd(dmabuf, 0);
	bool cloexec;

	KUNIT_ASSERT_GE(test, fd, 0);
	rcu_read_lock();
	cloexec = close_on_exec(fd, current->files);
	rcu_read_unlock();
	KUNIT_EXPECT_FALSE(test, cloexec);
	KUNIT_EXPECT_EQ(test, close_fd(fd), 0);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, exp->released, 1);
}

static void dbt_fd_null(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dma_buf_fd(NULL, 0), -EINVAL);
}

static void dbt_get_bad_fd(struct kunit *test)
{
	int fd;

	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dma_buf_get(-1)), -EBADF);

	/* A free slot: nothing is open there. */
	fd = get_unused_fd_flags(0);
	KUNIT_ASSERT_GE(test, fd, 0);
	put_unused_fd(fd);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dma_buf_get(fd)), -EBADF);
}

/* Another kind of file: -EINVAL, and its reference is given back. */
static void dbt_get_not_dmabuf(struct kunit *test)
{
	struct file *file;
	long count;
	int fd;

	file = anon_inode_getfile("dbt-other", &dbt_other_fops, NULL, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	fd = get_unused_fd_flags(0);
	if (fd < 0)
		fput(file);
	KUNIT_ASSERT_GE(test, fd, 0);
	get_file(file);
	fd_install(fd, file);
	count = file_count(file);

	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dma_buf_get(fd)), -EINVAL);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(file), count);

	close_fd(fd);
	fput(file);
	flush_delayed_fput();
}

static void dbt_get_dma_buf_refs(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *dmabuf = dbt_export(exp);

	get_dma_buf(dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 2);
	get_dma_buf(dmabuf);
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 3);
	dma_buf_put(dmabuf);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(dmabuf->file), 1);
	KUNIT_EXPECT_EQ(test, exp->released, 0);
	dbt_put_final(exp);
}

static void dbt_put_null(struct kunit *test)
{
	dma_buf_put(NULL);
	KUNIT_EXPECT_EQ(test, dbt_case_warns(test), 1);
	dbt_expect_warns(test, 1);
}

static struct kunit_case dbt_fd_cases[] = {
	KUNIT_CASE(dbt_fd_get_put),
	KUNIT_CASE(dbt_fd_close_releases),
	KUNIT_CASE(dbt_fd_null),
	KUNIT_CASE(dbt_get_bad_fd),
	KUNIT_CASE(dbt_get_not_dmabuf),
	KUNIT_CASE(dbt_get_dma_buf_refs),
	KUNIT_CASE(dbt_put_null),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite dbt_fd_suite = {
	.name = "dma-buf-fd",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = dbt_fd_cases,
};

kunit_test_suites(&dbt_export_suite, &dbt_fd_suite);

MODULE_DESCRIPTION("KUnit tests for dma-buf export and file descriptors");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
