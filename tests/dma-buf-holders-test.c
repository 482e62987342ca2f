// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite for the holder tracker (CONFIG_DMABUF_DEBUG_HOLDERS).  Each
 * resource is taken, and given back where that matters, by a function of
 * its own that nothing else calls (holders_take_*, holders_give_*): the
 * listing, or the report in the kernel log, must name that function in
 * the right record.
 */
#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/ctype.h>
#include <linux/kmsg_dump.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/stacktrace.h>
#include <linux/uaccess.h>

#include "dma-buf-test.h"
#include "../dma-buf-internal.h"

#define HT_TEXT_SIZE	SZ_64K
/* What dma-buf-holders.c starts each line of its reports with. */
#define HT_PREFIX	"dma-buf holders: "

/*
 * Keeps the call before it from being a tail call, which would take the
 * calling function off the stack the tracker records.
 */
#define HT_NO_TAIL()	barrier()

#if !IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
/* Never called: the cases skip first.  It only has to compile. */
static void *dma_buf_holders_kunit_alloc(size_t size, gfp_t gfp)
{
	return NULL;
}
#endif

static void ht_need_tracker(struct kunit *test)
{
#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
	unsigned long entries[4];

	if (!stack_trace_save(entries, ARRAY_SIZE(entries), 0))
		kunit_skip(test, "no stack walker (UML needs CONFIG_FRAME_POINTER)");
#else
	kunit_skip(test, "needs CONFIG_DMABUF_DEBUG_HOLDERS");
#endif
}

/*
 * The takers and givers whose names the tracker must find: __noipa, not
 * just noinline, so that identical ones are not folded into one symbol.
 */

static __noipa struct dma_buf_attachment *
holders_take_attach(struct dma_buf *buf, struct dbt_importer *imp,
		    bool dynamic)
{
	struct dma_buf_attachment *attach;

	attach = dma_buf_dynamic_attach(buf, imp->dev,
					dynamic ? dbt_dynamic_ops(true) : NULL,
					imp);
	HT_NO_TAIL();
	return attach;
}

static __noipa int holders_take_vmap(struct dma_buf *buf,
				     struct iosys_map *map)
{
	int ret = dma_buf_vmap_unlocked(buf, map);

	HT_NO_TAIL();
	return ret;
}

/* A second place that vmaps, with the lock held by the caller's code. */
static __noipa int holders_take_vmap_again(struct dma_buf *buf,
					   struct iosys_map *map)
{
	int ret;

	dma_resv_lock(buf->resv, NULL);
	ret = dma_buf_vmap(buf, map);
	dma_resv_unlock(buf->resv);
	return ret;
}

static __noipa int holders_take_pin(struct dma_buf_attachment *attach)
{
	int ret;

	dma_resv_lock(attach->dmabuf->resv, NULL);
	ret = dma_buf_pin(attach);
	dma_resv_unlock(attach->dmabuf->resv);
	return ret;
}

static __noipa void holders_give_pin(struct dma_buf_attachment *attach)
{
	dma_resv_lock(attach->dmabuf->resv, NULL);
	dma_buf_unpin(attach);
	dma_resv_unlock(attach->dmabuf->resv);
}

static __noipa struct sg_table *
holders_take_map(struct dma_buf_attachment *attach)
{
	struct sg_table *sgt;

	sgt = dma_buf_map_attachment_unlocked(attach, DMA_TO_DEVICE);
	HT_NO_TAIL();
	return sgt;
}

static __noipa int holders_take_cpu(struct dma_buf *buf)
{
	int ret = dma_buf_begin_cpu_access(buf, DMA_FROM_DEVICE);

	HT_NO_TAIL();
	return ret;
}

static __noipa int holders_give_cpu(struct dma_buf *buf)
{
	int ret = dma_buf_end_cpu_access(buf, DMA_FROM_DEVICE);

	HT_NO_TAIL();
	return ret;
}

/* The same give-backs from elsewhere, once too often. */
static __noipa int holders_give_cpu_again(struct dma_buf *buf,
					  enum dma_data_direction dir)
{
	int ret = dma_buf_end_cpu_access(buf, dir);

	HT_NO_TAIL();
	return ret;
}

static __noipa void holders_give_map(struct dma_buf_attachment *attach,
				     struct sg_table *sgt)
{
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	HT_NO_TAIL();
}

static __noipa void holders_give_map_again(struct dma_buf_attachment *attach,
					   struct sg_table *sgt)
{
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	HT_NO_TAIL();
}

static __noipa struct dma_buf *holders_take_ref(int fd)
{
	struct dma_buf *buf = dma_buf_get(fd);

	HT_NO_TAIL();
	return buf;
}

static __noipa void holders_take_extra_ref(struct dma_buf *buf)
{
	get_dma_buf(buf);
	HT_NO_TAIL();
}

static __noipa void holders_give_ref(struct dma_buf *buf)
{
	dma_buf_put(buf);
	HT_NO_TAIL();
}

static __noipa int holders_take_fd(struct dma_buf *buf)
{
	int fd = dma_buf_fd(buf, O_CLOEXEC);

	HT_NO_TAIL();
	return fd;
}

/* Reading what the tracker wrote. */

/* A record's "x<n>", or 1 for records that have none. */
static unsigned int ht_record_count(const char *line, const char *end)
{
	unsigned int n = 0;

	for (; line + 2 < end; line++) {
		if (line[0] != ' ' || line[1] != 'x' || !isdigit(line[2]))
			continue;
		for (line += 2; line < end && isdigit(*line); line++)
			n = n * 10 + (*line - '0');
		return n;
	}
	return 1;
}

/*
 * In @text, laid out as dma-buf-holders.c prints (record lines indented
 * by two spaces, stack frames by six, a heading ending in ':' before each
 * stack), find a stack naming @fn under a heading containing @what, in a
 * record whose line starts with @head.  Return the record's count, or 0
 * when no such stack names @fn.
 */
static unsigned int ht_find(const char *text, const char *head,
			    const char *what, const char *fn)
{
	size_t head_len = strlen(head), fn_len = strlen(fn);
	bool record = false, section = false;
	unsigned int count = 0;
	const char *line, *end, *p;

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (!strncmp(line, "      ", 6)) {
			p = strnstr(line, fn, end - line);
			/* "fn+0x..", or a compiler's clone "fn.isra.0+0x.." */
			if (record && section && p &&
			    (p[fn_len] == '+' || p[fn_len] == '.'))
				return count;
			continue;
		}
		if (!strncmp(line, "  ", 2) && line[2] != ' ') {
			record = !strncmp(line + 2, head, head_len) &&
				 (line[2 + head_len] == ' ' ||
				  line[2 + head_len] == ':');
			count = ht_record_count(line, end);
		}
		if (end > line && end[-1] == ':')
			section = strnstr(line, what, end - line);
	}
	return 0;
}

/* The number of records of @head in @text. */
static unsigned int ht_records(const char *text, const char *head)
{
	size_t head_len = strlen(head);
	const char *line, *end;
	unsigned int n = 0;

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (!strncmp(line, "  ", 2) && !strncmp(line + 2, head, head_len) &&
		    line[2 + head_len] == ' ')
			n++;
	}
	return n;
}

/* How often @what occurs in @text. */
static unsigned int ht_count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (; (text = strstr(text, what)); text += strlen(what))
		n++;
	return n;
}

static char *ht_listing(struct kunit *test, struct dma_buf *buf)
{
	char *text = kunit_kzalloc(test, HT_TEXT_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_GT(test, dma_buf_holders_snprint(buf, text, HT_TEXT_SIZE), 0);
	return text;
}

/* Report lines are read from the kernel log from here on. */
static void ht_log_start(struct kmsg_dump_iter *iter)
{
	kmsg_dump_rewind(iter);
	iter->cur_seq = iter->next_seq;
}

/* The tracker's lines logged since ht_log_start(), without the prefix. */
static char *ht_log_read(struct kunit *test, struct kmsg_dump_iter *iter)
{
	char *text = kunit_kzalloc(test, HT_TEXT_SIZE, GFP_KERNEL);
	char *line = kunit_kzalloc(test, 1024, GFP_KERNEL);
	size_t len, used = 0;
	char *body;

	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_NOT_NULL(test, line);
	while (kmsg_dump_get_line(iter, false, line, 1023, &len)) {
		line[len] = '\0';
		body = strstr(line, HT_PREFIX);
		if (!body)
			continue;
		body += strlen(HT_PREFIX);
		body[strcspn(body, "\n")] = '\0';
		used += scnprintf(text + used, HT_TEXT_SIZE - used, "%s\n",
				  body);
	}
	return text;
}

/*
 * An exporter for buffers the core leaks forever (released with an
 * attachment or a kernel mapping left): nothing in it is ever freed, and
 * the buffers hold no module reference, which would never be dropped.
 */
static char ht_leak_mem[64];

static struct sg_table *ht_leak_map(struct dma_buf_attachment *attach,
				    enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void ht_leak_unmap(struct dma_buf_attachment *attach,
			  struct sg_table *sgt, enum dma_data_direction dir)
{
}

static void ht_leak_release(struct dma_buf *buf)
{
}

static int ht_leak_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	iosys_map_set_vaddr(map, ht_leak_mem);
	return 0;
}

static const struct dma_buf_ops ht_leak_ops = {
	.map_dma_buf = ht_leak_map,
	.unmap_dma_buf = ht_leak_unmap,
	.release = ht_leak_release,
	.vmap = ht_leak_vmap,
};

static struct dma_buf *ht_leak_export(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *buf;

	info.ops = &ht_leak_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = ht_leak_mem;
	info.owner = NULL;
	buf = dma_buf_export(&info);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(buf), "export: %pe", buf);
	return buf;
}

/* The listing: one record per kind, naming its taker, gone when given back. */

static void ht_attach_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-attach");
	struct dma_buf_attachment *attach;

	ht_need_tracker(test);
	attach = holders_take_attach(buf, imp, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "attach",
				      "taken at", "holders_take_attach"), 1);

	dma_buf_detach(buf, attach);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "attach"), 0);
	dbt_put_final(exp);
}

static void ht_vmap_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct iosys_map map;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_vmap(buf, &map), 0);
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "vmap",
				      "taken at", "holders_take_vmap"), 1);

	dma_buf_vunmap_unlocked(buf, &map);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "vmap"), 0);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

static void ht_pin_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-pin");
	struct dma_buf_attachment *attach;
	struct dma_buf *buf;

	ht_need_tracker(test);
	dbt_make_dynamic(exp);
	buf = dbt_export(exp);
	attach = holders_take_attach(buf, imp, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	KUNIT_ASSERT_EQ(test, holders_take_pin(attach), 0);
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "pin",
				      "taken at", "holders_take_pin"), 1);

	holders_give_pin(attach);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "pin"), 0);
	dma_buf_detach(buf, attach);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

static void ht_map_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-map");
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;

	ht_need_tracker(test);
	attach = holders_take_attach(buf, imp, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	sgt = holders_take_map(attach);
	KUNIT_ASSERT_FALSE(test, IS_ERR(sgt));
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "map",
				      "taken at", "holders_take_map"), 1);

	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "map"), 0);
	dma_buf_detach(buf, attach);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

static void ht_cpu_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_cpu(buf), 0);
	/* The key of a CPU access is its direction. */
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "cpu from-device",
				      "taken at", "holders_take_cpu"), 1);

	KUNIT_ASSERT_EQ(test, holders_give_cpu(buf), 0);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "cpu"), 0);
	dbt_put_final(exp);
}

/* File references: gets and puts counted per stack, beside the fd's. */
static void ht_ref_listed(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct dma_buf *got;
	char *text, head[64];
	int fd;

	ht_need_tracker(test);
	/* The fd takes over the export's reference, the test keeps this. */
	holders_take_extra_ref(buf);
	fd = holders_take_fd(buf);
	KUNIT_ASSERT_GE(test, fd, 0);
	got = holders_take_ref(fd);
	KUNIT_ASSERT_PTR_EQ(test, got, buf);
	text = ht_listing(test, buf);
	KUNIT_EXPECT_EQ(test, ht_find(text, "fd", "taken at",
				      "holders_take_fd"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "ref", "taken at",
				      "holders_take_ref"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "ref", "taken at",
				      "holders_take_extra_ref"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "ref", "taken at",
				      "dma_buf_export"), 1);

	holders_give_ref(got);
	flush_delayed_fput();
	text = ht_listing(test, buf);
	KUNIT_EXPECT_EQ(test, ht_find(text, "ref", "dropped at",
				      "holders_give_ref"), 1);
	/* Gets cannot be matched with puts: both stay listed. */
	KUNIT_EXPECT_EQ(test, ht_find(text, "ref", "taken at",
				      "holders_take_ref"), 1);
	snprintf(head, sizeof(head), "): %ld file references\n",
		 file_count(buf->file));
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, head));

	KUNIT_EXPECT_EQ(test, close_fd(fd), 0);
	dbt_put_final(exp);
}

/* Allocations the tracker made, and how many of them could have slept. */
static struct {
	int calls;
	int blocking;
} ht_allocs;

static void *ht_alloc_counted(size_t size, gfp_t gfp)
{
	ht_allocs.calls++;
	ht_allocs.blocking += gfpflags_allow_blocking(gfp);
	return kzalloc(size, gfp);
}

/*
 * get_dma_buf() under a driver's spinlock: the tracker must not sleep.
 * A sleeping allocation is also splatted by CONFIG_DEBUG_ATOMIC_SLEEP, but
 * only once in a while, so the case checks the flags instead.
 */
static DEFINE_SPINLOCK(ht_driver_lock);

static void ht_hold_in_atomic(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);

	ht_need_tracker(test);
	memset(&ht_allocs, 0, sizeof(ht_allocs));
	kunit_activate_static_stub(test, dma_buf_holders_kunit_alloc,
				   ht_alloc_counted);
	spin_lock(&ht_driver_lock);
	holders_take_extra_ref(buf);
	holders_give_ref(buf);
	spin_unlock(&ht_driver_lock);
	kunit_deactivate_static_stub(test, dma_buf_holders_kunit_alloc);
	flush_delayed_fput();

	/* A new record for the get, another for the put. */
	KUNIT_EXPECT_EQ(test, ht_allocs.calls, 2);
	KUNIT_EXPECT_EQ(test, ht_allocs.blocking, 0);
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "ref", "taken at",
				      "holders_take_extra_ref"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(ht_listing(test, buf), "ref",
				      "dropped at", "holders_give_ref"), 1);
	dbt_put_final(exp);
}

/* Holds from one stack share a record; another stack gets its own. */
static void ht_same_stack_merged(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct iosys_map map;
	char *text;
	int i;

	ht_need_tracker(test);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, holders_take_vmap(buf, &map), 0);
	KUNIT_ASSERT_EQ(test, holders_take_vmap_again(buf, &map), 0);
	text = ht_listing(test, buf);
	KUNIT_EXPECT_EQ(test, ht_find(text, "vmap", "taken at",
				      "holders_take_vmap"), 3);
	KUNIT_EXPECT_EQ(test, ht_find(text, "vmap", "taken at",
				      "holders_take_vmap_again"), 1);
	KUNIT_EXPECT_EQ(test, ht_records(text, "vmap"), 2);

	for (i = 0; i < 4; i++)
		dma_buf_vunmap_unlocked(buf, &map);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "vmap"), 0);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

static void *ht_alloc_fails(size_t size, gfp_t gfp)
{
	return NULL;
}

/*
 * A hold whose record cannot be allocated is counted, and its give-back,
 * finding no record, is not reported as unbalanced.
 */
static void ht_lost_counted(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-lost");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	char *text;

	ht_need_tracker(test);
	kunit_activate_static_stub(test, dma_buf_holders_kunit_alloc,
				   ht_alloc_fails);
	attach = holders_take_attach(buf, imp, false);
	kunit_deactivate_static_stub(test, dma_buf_holders_kunit_alloc);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	text = ht_listing(test, buf);
	KUNIT_EXPECT_NOT_NULL(test,
			      strstr(text, "  attach x1 not recorded (out of memory)\n"));
	KUNIT_EXPECT_EQ(test, ht_records(text, "attach"), 1);

	ht_log_start(&iter);
	dma_buf_detach(buf, attach);
	KUNIT_EXPECT_STREQ(test, ht_log_read(test, &iter), "");
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "attach"), 0);
	dbt_put_final(exp);
}

/* The complaints the core makes name the stack that took the resource. */

static void ht_release_attached_reported(struct kunit *test)
{
	struct dbt_importer *imp = dbt_importer_new(test, "ht-leak-attach");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	struct dma_buf *buf;
	char *text;

	ht_need_tracker(test);
	buf = ht_leak_export(test);
	attach = holders_take_attach(buf, imp, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));

	ht_log_start(&iter);
	dma_buf_put(buf);
	flush_delayed_fput();
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, "): holders of attach "));
	KUNIT_EXPECT_EQ(test, ht_find(text, "attach", "taken at",
				      "holders_take_attach"), 1);
	dbt_expect_warns(test, 1);

	/* The core kept the buffer for this. */
	dma_buf_detach(buf, attach);
}

static void ht_release_vmapped_reported(struct kunit *test)
{
	struct kmsg_dump_iter iter;
	struct iosys_map map;
	struct dma_buf *buf;
	char *text;

	ht_need_tracker(test);
	buf = ht_leak_export(test);
	KUNIT_ASSERT_EQ(test, holders_take_vmap(buf, &map), 0);

	ht_log_start(&iter);
	dma_buf_put(buf);
	flush_delayed_fput();
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, "): holders of vmap"));
	KUNIT_EXPECT_EQ(test, ht_find(text, "vmap", "taken at",
				      "holders_take_vmap"), 1);
	dbt_expect_warns(test, 1);

	dma_buf_vunmap_unlocked(buf, &map);
}

static void ht_vunmap_wrong_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct kmsg_dump_iter iter;
	struct iosys_map map, wrong;
	char *text;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_vmap(buf, &map), 0);
	iosys_map_set_vaddr(&wrong, map.vaddr + 1);

	ht_log_start(&iter);
	dma_buf_vunmap_unlocked(buf, &wrong);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_find(text, "vmap", "taken at",
				      "holders_take_vmap"), 1);
	dbt_expect_warns(test, 1);

	dma_buf_vunmap_unlocked(buf, &map);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

/* A CPU access still open when the last reference goes. */
static void ht_release_cpu_open_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct kmsg_dump_iter iter;
	char *text;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_cpu(buf), 0);

	ht_log_start(&iter);
	dbt_put_final(exp);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, "): released with CPU access open:\n"));
	KUNIT_EXPECT_EQ(test, ht_find(text, "cpu from-device", "taken at",
				      "holders_take_cpu"), 1);
}

/* A detach that takes the kept mapping from an importer still using it. */
static void ht_detach_mapped_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-detach");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	struct dma_buf *buf;
	struct sg_table *sgt;
	char *text;

	ht_need_tracker(test);
	exp->ops.cache_sgt_mapping = true;
	buf = dbt_export(exp);
	attach = holders_take_attach(buf, imp, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	sgt = holders_take_map(attach);
	KUNIT_ASSERT_FALSE(test, IS_ERR(sgt));

	ht_log_start(&iter);
	dma_buf_detach(buf, attach);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, " freed while still held:\n"));
	KUNIT_EXPECT_EQ(test, ht_find(text, "map", "taken at",
				      "holders_take_map"), 1);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

/* An unpin without pin is shown the pin and unpin that came before. */
static void ht_unpin_unbalanced_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-unpin");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	struct dma_buf *buf;
	char *text;

	ht_need_tracker(test);
	dbt_make_dynamic(exp);
	buf = dbt_export(exp);
	attach = holders_take_attach(buf, imp, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	KUNIT_ASSERT_EQ(test, holders_take_pin(attach), 0);
	holders_give_pin(attach);

	ht_log_start(&iter);
	dma_resv_lock(buf->resv, NULL);
	dma_buf_unpin(attach);
	dma_resv_unlock(buf->resv);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text, " given back without being held\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "pin", "given back again at",
				      "ht_unpin_unbalanced_reported"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "pin", "given back at",
				      "holders_give_pin"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "pin", "after it was taken at",
				      "holders_take_pin"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "attach", "taken at",
				      "holders_take_attach"), 1);

	dma_buf_detach(buf, attach);
	dbt_put_final(exp);
}

/*
 * An unbalanced end is reported once, by the tracker itself, with the
 * stack that ended and the begin and end before it.
 */
static void ht_end_cpu_unbalanced_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct kmsg_dump_iter iter;
	char *text;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_cpu(buf), 0);
	KUNIT_ASSERT_EQ(test, holders_give_cpu(buf), 0);

	ht_log_start(&iter);
	holders_give_cpu_again(buf, DMA_FROM_DEVICE);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text,
				       "): cpu from-device given back without being held\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "cpu from-device", "given back again at",
				      "holders_give_cpu_again"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "cpu from-device", "given back at",
				      "holders_give_cpu"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "cpu from-device",
				      "after it was taken at",
				      "holders_take_cpu"), 1);
	dbt_put_final(exp);
}

/*
 * Each direction is a key of its own (bidirectional is not "every key"):
 * listed by name, and an unbalanced end of one shows none of the others.
 */
static void ht_cpu_directions_apart(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct kmsg_dump_iter iter;
	char *text;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, dma_buf_begin_cpu_access(buf, DMA_BIDIRECTIONAL), 0);
	KUNIT_ASSERT_EQ(test, dma_buf_begin_cpu_access(buf, DMA_TO_DEVICE), 0);
	KUNIT_ASSERT_EQ(test, dma_buf_end_cpu_access(buf, DMA_TO_DEVICE), 0);
	text = ht_listing(test, buf);
	KUNIT_EXPECT_EQ(test, ht_records(text, "cpu bidirectional"), 1);
	KUNIT_EXPECT_EQ(test, ht_records(text, "cpu"), 1);

	ht_log_start(&iter);
	holders_give_cpu_again(buf, DMA_FROM_DEVICE);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text,
				       "): cpu from-device given back without being held\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_records(text, "cpu bidirectional"), 0);
	KUNIT_EXPECT_EQ(test, ht_records(text, "cpu to-device"), 0);

	KUNIT_ASSERT_EQ(test, dma_buf_end_cpu_access(buf, DMA_BIDIRECTIONAL), 0);
	KUNIT_EXPECT_EQ(test, ht_records(ht_listing(test, buf), "cpu"), 0);
	dbt_put_final(exp);
}

/* A second unmap of a table is reported with the unmap before it. */
static void ht_unmap_twice_reported(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-unmap");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	struct dma_buf *buf;
	struct sg_table *sgt;
	char *text;

	ht_need_tracker(test);
	/* The kept table: unmapping it twice frees nothing twice. */
	exp->ops.cache_sgt_mapping = true;
	buf = dbt_export(exp);
	attach = holders_take_attach(buf, imp, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	sgt = holders_take_map(attach);
	KUNIT_ASSERT_FALSE(test, IS_ERR(sgt));
	holders_give_map(attach, sgt);

	ht_log_start(&iter);
	holders_give_map_again(attach, sgt);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text, " given back without being held\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "map", "given back again at",
				      "holders_give_map_again"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "map", "given back at",
				      "holders_give_map"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "map", "after it was taken at",
				      "holders_take_map"), 1);

	dma_buf_detach(buf, attach);
	dbt_put_final(exp);
	dbt_expect_balanced(exp);
}

/*
 * A detach with a pin left names the pin, then forgets it: an attachment
 * later allocated at the same address must not inherit it.
 */
static void ht_detach_forgets(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dbt_importer *imp = dbt_importer_new(test, "ht-forget");
	struct dma_buf_attachment *attach;
	struct kmsg_dump_iter iter;
	struct dma_buf *buf;
	char *text;

	ht_need_tracker(test);
	dbt_make_dynamic(exp);
	buf = dbt_export(exp);
	attach = holders_take_attach(buf, imp, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	KUNIT_ASSERT_EQ(test, holders_take_pin(attach), 0);
	holders_give_pin(attach);
	KUNIT_ASSERT_EQ(test, holders_take_pin(attach), 0);

	ht_log_start(&iter);
	dma_buf_detach(buf, attach);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text, " freed while still held:\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "pin", "taken at",
				      "holders_take_pin"), 1);
	text = ht_listing(test, buf);
	KUNIT_EXPECT_EQ(test, ht_records(text, "pin"), 0);

	/* Nor is the earlier give-back kept to explain a later unpin. */
	attach = holders_take_attach(buf, imp, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(attach));
	ht_log_start(&iter);
	dma_resv_lock(buf->resv, NULL);
	dma_buf_unpin(attach);
	dma_resv_unlock(buf->resv);
	text = ht_log_read(test, &iter);
	KUNIT_EXPECT_EQ(test, ht_count(text, " given back without being held\n"), 1);
	KUNIT_EXPECT_EQ(test, ht_find(text, "pin", "given back at",
				      "holders_give_pin"), 0);
	dma_buf_detach(buf, attach);
	dbt_put_final(exp);
}

/* debugfs dma_buf/holders lists the live buffers with their holders. */
static void ht_debugfs_lists(struct kunit *test)
{
	struct dbt_exporter *exp = dbt_exporter_new(test);
	struct dma_buf *buf = dbt_export(exp);
	struct file_system_type *type;
	struct vfsmount *mnt;
	struct iosys_map map;
	struct file *file;
	char *text, *mine, *end, head[32];
	unsigned long uaddr;
	ssize_t n, used = 0;
	loff_t pos = 0;

	ht_need_tracker(test);
	KUNIT_ASSERT_EQ(test, holders_take_vmap(buf, &map), 0);

	type = get_fs_type("debugfs");
	if (!type)
		kunit_skip(test, "no debugfs");
	/* debugfs keeps a mount of its own: dropping ours frees nothing. */
	mnt = kern_mount(type);
	module_put(type->owner);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(mnt), "mount: %pe", mnt);
	file = file_open_root_mnt(mnt, "dma_buf/holders", O_RDONLY, 0);
	if (IS_ERR(file))
		kern_unmount(mnt);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open: %pe", file);
	/* debugfs files have no read_iter, so no kernel_read(): read as a user. */
	uaddr = kunit_vm_mmap(test, NULL, 0, HT_TEXT_SIZE, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	text = kunit_kzalloc(test, HT_TEXT_SIZE, GFP_KERNEL);
	if (!IS_ERR_OR_NULL((void *)uaddr) && text)
		while ((n = file->f_op->read(file, (char __user *)uaddr + used,
					     HT_TEXT_SIZE - 1 - used, &pos)) > 0)
			used += n;
	fput(file);
	kern_unmount(mnt);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL((void *)uaddr));
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_GT(test, used, 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(text, (char __user *)uaddr, used), 0);

	snprintf(head, sizeof(head), "buffer %lu (",
		 file_inode(buf->file)->i_ino);
	mine = strstr(text, head);
	KUNIT_ASSERT_NOT_NULL(test, mine);
	/* Our buffer's entry ends at the blank line before the next. */
	end = strstr(mine, "\n\n");
	if (end)
		end[1] = '\0';
	KUNIT_EXPECT_EQ(test, ht_find(mine, "vmap", "taken at",
				      "holders_take_vmap"), 1);

	dma_buf_vunmap_unlocked(buf, &map);
	dbt_put_final(exp);
}

static struct kunit_case ht_cases[] = {
	KUNIT_CASE(ht_attach_listed),
	KUNIT_CASE(ht_vmap_listed),
	KUNIT_CASE(ht_pin_listed),
	KUNIT_CASE(ht_map_listed),
	KUNIT_CASE(ht_cpu_listed),
	KUNIT_CASE(ht_ref_listed),
	KUNIT_CASE(ht_hold_in_atomic),
	KUNIT_CASE(ht_same_stack_merged),
	KUNIT_CASE(ht_lost_counted),
	KUNIT_CASE(ht_release_attached_reported),
	KUNIT_CASE(ht_release_vmapped_reported),
	KUNIT_CASE(ht_vunmap_wrong_reported),
	KUNIT_CASE(ht_release_cpu_open_reported),
	KUNIT_CASE(ht_detach_mapped_reported),
	KUNIT_CASE(ht_unpin_unbalanced_reported),
	KUNIT_CASE(ht_end_cpu_unbalanced_reported),
	KUNIT_CASE(ht_cpu_directions_apart),
	KUNIT_CASE(ht_unmap_twice_reported),
	KUNIT_CASE(ht_detach_forgets),
	KUNIT_CASE(ht_debugfs_lists),
	KUNIT_CASE(dbt_lockdep_on),
	{}
};

static struct kunit_suite ht_suite = {
	.name = "dma-buf-holders",
	.suite_init = dbt_suite_init,
	.suite_exit = dbt_suite_exit,
	.init = dbt_case_init,
	.exit = dbt_case_exit,
	.test_cases = ht_cases,
};

kunit_test_suite(ht_suite);

MODULE_DESCRIPTION("KUnit tests for the dma-buf holder tracker");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
