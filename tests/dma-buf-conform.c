// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conformance traces of the dma-buf half of the core.
 *
 * Each case drives the public dma-buf API through a recording exporter
 * and recording importers and prints, as trace lines (tests/conform.h),
 * everything a driver can observe: return values and errnos, which
 * exporter and importer callbacks ran, in which order, and whether the
 * buffer's reservation lock was held when they did, the fences a wait
 * touched, the fields of the buffer and its file, and the text of fdinfo
 * and debugfs bufinfo.  host/conform runs this module on our core and on
 * upstream's and compares the traces line by line.
 *
 * A line reads
 *
 *   <scenario>: <result...> ops=<event> <event>... [warned=N]
 *
 * where an event is the callback's name, its arguments in parentheses
 * and "@L" or "@U" for the reservation lock held or not held; "ops=-" is
 * no callback at all.  Sg tables are named t1, t2... in the order the
 * exporter handed them out, so "the same table again" shows as the same
 * name.  "warned=N" appears when the step printed N kernel WARNs.
 *
 * Only the public API is used, so the file builds against either core.
 */

#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/console.h>
#include <linux/ctype.h>
#include <linux/dcache.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-buf.h>

#include "conform.h"

#define CF_PAGES	4
#define CF_SIZE		(CF_PAGES * PAGE_SIZE)
#define CF_MAX_SGT	16
#define CF_EVENTS	512

/* A knob value of the map callback: return NULL instead of a table. */
#define CF_RET_NULL	1

struct cf_exp {
	struct kunit *test;
	struct conform *c;
	struct dma_buf *dmabuf;
	void *vbuf;
	struct page *page;
	int released;
	/* what the next callback of each kind returns */
	int attach_ret, pin_ret, map_ret, vmap_ret, begin_ret, end_ret;
	int mmap_ret;
	/* the attach callback clears attach->peer2peer */
	bool deny_p2p;
	/* every table handed out, by name t<index + 1> */
	struct sg_table *sgt[CF_MAX_SGT];
	bool live[CF_MAX_SGT];
	unsigned int nsgt;
	size_t len;
	char ev[CF_EVENTS];
};

/* A fence whose ->wait records the wait and then signals it. */
struct cf_fence {
	struct dma_fence base;
	struct cf_exp *e;
	spinlock_t lock;	/* the fence's */
};

/*
 * WARN probe: a console that counts the WARNING lines the kernel prints,
 * so that a trace line can say that a step WARNed.
 */
static atomic_t cf_warn_count = ATOMIC_INIT(0);

static void cf_con_write(struct console *con, const char *s, unsigned int n)
{
	if (strnstr(s, "WARNING:", n))
		atomic_inc(&cf_warn_count);
}

static struct console cf_console = {
	.name = "cfwarn",
	.write = cf_con_write,
	.index = -1,
};

static int cf_suite_init(struct kunit_suite *suite)
{
	cf_console.flags = CON_ENABLED;
	register_console(&cf_console);
	return 0;
}

static void cf_suite_exit(struct kunit_suite *suite)
{
	unregister_console(&cf_console);
}

/* WARNs printed so far; console_lock() flushes what is still pending. */
static int cf_warns(void)
{
	console_lock();
	console_unlock();
	return atomic_read(&cf_warn_count);
}

static __printf(2, 3) void cf_ev(struct cf_exp *e, const char *fmt, ...)
{
	va_list args;
	bool locked = e->dmabuf && dma_resv_is_locked(e->dmabuf->resv);

	if (e->len)
		e->len += scnprintf(e->ev + e->len, sizeof(e->ev) - e->len,
				    " ");
	va_start(args, fmt);
	e->len += vscnprintf(e->ev + e->len, sizeof(e->ev) - e->len, fmt,
			     args);
	va_end(args);
	e->len += scnprintf(e->ev + e->len, sizeof(e->ev) - e->len, "@%c",
			    locked ? 'L' : 'U');
}

/*
 * Finish the line being built with the events recorded since the last
 * line and the WARNs printed since @warns0, and print it.
 */
static void cf_emit(struct cf_exp *e, int warns0)
{
	int warned = cf_warns() - warns0;

	conform_add(e->c, " ops=%s", e->len ? e->ev : "-");
	if (warned)
		conform_add(e->c, " warned=%d", warned);
	conform_emit(e->c);
	e->len = 0;
	e->ev[0] = '\0';
}

static const char *cf_dir(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return "bidi";
	case DMA_TO_DEVICE:
		return "to_dev";
	case DMA_FROM_DEVICE:
		return "from_dev";
	default:
		return "none";
	}
}

static int cf_sgt_index(struct cf_exp *e, struct sg_table *sgt);

/* "t<n>" for a table the exporter handed out, else "t?" */
static void cf_add_sgt(struct cf_exp *e, struct sg_table *sgt)
{
	int i;

	if (!sgt) {
		conform_add(e->c, "null");
		return;
	}
	if (IS_ERR(sgt)) {
		conform_add_ret(e->c, PTR_ERR(sgt));
		return;
	}
	i = cf_sgt_index(e, sgt);
	if (i >= 0)
		conform_add(e->c, "t%d", i + 1);
	else
		conform_add(e->c, "t?");
}

/*
 * The latest table handed out at @sgt's address: a freed table's memory
 * is readily handed out again for the next one.
 */
static int cf_sgt_index(struct cf_exp *e, struct sg_table *sgt)
{
	int i = e->nsgt;

	while (i--)
		if (e->sgt[i] == sgt)
			return i;
	return -1;
}

/* The exporter's callbacks: each records itself and obeys its knob. */

static int cf_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *a)
{
	struct cf_exp *e = dmabuf->priv;

	cf_ev(e, "attach(dyn=%d,p2p=%d,priv=%s)",
	      dma_buf_attachment_is_dynamic(a), a->peer2peer,
	      a->importer_priv ? (const char *)a->importer_priv : "none");
	if (e->deny_p2p)
		a->peer2peer = false;
	return e->attach_ret;
}

static void cf_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *a)
{
	cf_ev(dmabuf->priv, "detach");
}

static int cf_pin(struct dma_buf_attachment *a)
{
	struct cf_exp *e = a->dmabuf->priv;

	cf_ev(e, "pin");
	return e->pin_ret;
}

static void cf_unpin(struct dma_buf_attachment *a)
{
	cf_ev(a->dmabuf->priv, "unpin");
}

static struct sg_table *cf_map(struct dma_buf_attachment *a,
			       enum dma_data_direction dir)
{
	struct cf_exp *e = a->dmabuf->priv;
	struct sg_table *sgt;

	cf_ev(e, "map(%s)", cf_dir(dir));
	if (e->map_ret == CF_RET_NULL)
		return NULL;
	if (e->map_ret)
		return ERR_PTR(e->map_ret);
	if (e->nsgt == CF_MAX_SGT)
		return ERR_PTR(-ENOSPC);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt || sg_alloc_table(sgt, 1, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	sg_set_page(sgt->sgl, e->page, PAGE_SIZE, 0);
	e->live[e->nsgt] = true;
	e->sgt[e->nsgt++] = sgt;
	return sgt;
}

static void cf_free_sgt(struct cf_exp *e, unsigned int i)
{
	if (!e->live[i])
		return;
	e->live[i] = false;
	sg_free_table(e->sgt[i]);
	kfree(e->sgt[i]);
}

static void cf_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
		     enum dma_data_direction dir)
{
	struct cf_exp *e = a->dmabuf->priv;
	int i = cf_sgt_index(e, sgt);

	if (i < 0 || !e->live[i]) {
		cf_ev(e, "unmap(t?,%s)", cf_dir(dir));
		return;
	}
	cf_ev(e, "unmap(t%d,%s)", i + 1, cf_dir(dir));
	cf_free_sgt(e, i);
}

static void cf_release(struct dma_buf *dmabuf)
{
	struct cf_exp *e = dmabuf->priv;
	unsigned int i;

	cf_ev(e, "release");
	e->released++;
	/* tables an importer never gave back */
	for (i = 0; i < e->nsgt; i++)
		cf_free_sgt(e, i);
}

static int cf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct cf_exp *e = dmabuf->priv;
	const unsigned long shown = VM_READ | VM_WRITE | VM_SHARED |
		VM_MAYREAD | VM_MAYWRITE | VM_MAYSHARE | VM_DONTEXPAND |
		VM_IO | VM_PFNMAP | VM_DONTDUMP;

	cf_ev(e, "mmap(pgoff=%lu,pages=%lu,flags=0x%lx,file=%s)",
	      vma->vm_pgoff, vma_pages(vma), vma->vm_flags & shown,
	      vma->vm_file == dmabuf->file ? "dmabuf" : "other");
	return e->mmap_ret;
}

static int cf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct cf_exp *e = dmabuf->priv;

	cf_ev(e, "vmap");
	if (e->vmap_ret)
		return e->vmap_ret;
	iosys_map_set_vaddr(map, e->vbuf);
	return 0;
}

static void cf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct cf_exp *e = dmabuf->priv;

	cf_ev(e, "vunmap(%s)", !map->is_iomem && map->vaddr == e->vbuf ?
	      "exporter" : "other");
}

static int cf_begin(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct cf_exp *e = dmabuf->priv;

	cf_ev(e, "begin(%s)", cf_dir(dir));
	return e->begin_ret;
}

static int cf_end(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct cf_exp *e = dmabuf->priv;

	cf_ev(e, "end(%s)", cf_dir(dir));
	return e->end_ret;
}

#define CF_OPS_COMMON \
	.attach = cf_attach, \
	.detach = cf_detach, \
	.map_dma_buf = cf_map, \
	.unmap_dma_buf = cf_unmap, \
	.release = cf_release, \
	.mmap = cf_mmap, \
	.vmap = cf_vmap, \
	.vunmap = cf_vunmap, \
	.begin_cpu_access = cf_begin, \
	.end_cpu_access = cf_end

/* A static exporter: no pin, a fresh table per mapping. */
static const struct dma_buf_ops cf_ops_static = { CF_OPS_COMMON };

/* A static exporter whose mappings the core caches. */
static const struct dma_buf_ops cf_ops_cached = {
	CF_OPS_COMMON,
	.cache_sgt_mapping = true,
};

/* A dynamic exporter: it can pin, and moves buffers otherwise. */
static const struct dma_buf_ops cf_ops_dynamic = {
	CF_OPS_COMMON,
	.pin = cf_pin,
	.unpin = cf_unpin,
};

/* Only what dma_buf_export() requires. */
static const struct dma_buf_ops cf_ops_min = {
	.map_dma_buf = cf_map,
	.unmap_dma_buf = cf_unmap,
	.release = cf_release,
};

/* vmap without vunmap. */
static const struct dma_buf_ops cf_ops_vmap_only = {
	.map_dma_buf = cf_map,
	.unmap_dma_buf = cf_unmap,
	.release = cf_release,
	.vmap = cf_vmap,
};

/* The importers: move_notify is recorded on the exporter's log. */
static void cf_move_notify(struct dma_buf_attachment *a)
{
	cf_ev(a->dmabuf->priv, "move_notify(%s)",
	      (const char *)a->importer_priv);
}

static const struct dma_buf_attach_ops cf_imp = {
	.move_notify = cf_move_notify,
};

static const struct dma_buf_attach_ops cf_imp_p2p = {
	.allow_peer2peer = true,
	.move_notify = cf_move_notify,
};

static const struct dma_buf_attach_ops cf_imp_no_move = {
	.allow_peer2peer = true,
};

static struct cf_exp *cf_exp_new(struct kunit *test, struct conform *c)
{
	struct cf_exp *e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, e);
	e->test = test;
	e->c = c ? c : conform_init(test);
	e->vbuf = kunit_kzalloc(test, CF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->vbuf);
	e->page = virt_to_page(e->vbuf);
	return e;
}

static struct dma_buf *cf_export_info(struct cf_exp *e,
				      struct dma_buf_export_info *info)
{
	struct dma_buf *dmabuf;

	info->priv = info->priv ?: e;
	dmabuf = dma_buf_export(info);
	if (!IS_ERR(dmabuf))
		e->dmabuf = dmabuf;
	return dmabuf;
}

static struct dma_buf *cf_export(struct cf_exp *e,
				 const struct dma_buf_ops *ops,
				 const char *name, int flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	info.ops = ops;
	info.size = CF_SIZE;
	info.flags = flags;
	info.exp_name = name;
	dmabuf = cf_export_info(e, &info);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(e->test, dmabuf);
	return dmabuf;
}

/* Drop the last reference and trace the release. */
static void cf_put(struct cf_exp *e, const char *what)
{
	int w = cf_warns();

	dma_buf_put(e->dmabuf);
	flush_delayed_fput();
	conform_add(e->c, "%s.put: released=%d", what, e->released);
	cf_emit(e, w);
	e->dmabuf = NULL;
}

static struct device *cf_dev(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	return dev;
}

static void cf_lock(struct cf_exp *e)
{
	dma_resv_lock(e->dmabuf->resv, NULL);
}

static void cf_unlock(struct cf_exp *e)
{
	dma_resv_unlock(e->dmabuf->resv);
}

/* --- export --------------------------------------------------------- */

static void cf_export_bad(struct kunit *test)
{
	static const char * const what[] = {
		"no_ops", "no_map", "no_unmap", "no_release", "no_priv",
		"pin_only", "unpin_only", "cached_with_pin",
	};
	struct cf_exp *e = cf_exp_new(test, NULL);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(what); i++) {
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf_ops ops = cf_ops_dynamic;
		struct dma_buf *dmabuf;
		int w;

		info.ops = &ops;
		info.size = CF_SIZE;
		info.priv = e;
		switch (i) {
		case 0:
			info.ops = NULL;
			break;
		case 1:
			ops.map_dma_buf = NULL;
			break;
		case 2:
			ops.unmap_dma_buf = NULL;
			break;
		case 3:
			ops.release = NULL;
			break;
		case 4:
			info.priv = NULL;
			break;
		case 5:
			ops.unpin = NULL;
			break;
		case 6:
			ops.pin = NULL;
			break;
		case 7:
			ops.cache_sgt_mapping = true;
			break;
		}
		w = cf_warns();
		dmabuf = dma_buf_export(&info);
		conform_add(e->c, "export.%s: ret=", what[i]);
		conform_add_ret(e->c, PTR_ERR_OR_ZERO(dmabuf));
		cf_emit(e, w);
		if (!IS_ERR(dmabuf)) {
			e->dmabuf = dmabuf;
			cf_put(e, what[i]);
		}
	}
}

static void cf_add_file(struct conform *c, struct dma_buf *dmabuf)
{
	struct file *f = dmabuf->file;

	conform_add(c, " f_flags=0x%x f_mode=0x%x count=%ld i_size=%lld",
		    f->f_flags, (__force unsigned int)f->f_mode, file_count(f),
		    i_size_read(file_inode(f)));
}

static void cf_export_fields(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf *dmabuf = cf_export(e, &cf_ops_dynamic, "cf-fields",
					   O_RDWR);
	int w = cf_warns();

	conform_add(e->c,
		    "export.fields: size=%zu exp_name=%s priv=%s ops=%s owner=%s name=%s vmap_count=%u attachments=%s resv=%s dynamic=%d",
		    dmabuf->size, dmabuf->exp_name,
		    dmabuf->priv == e ? "exporter" : "other",
		    dmabuf->ops == &cf_ops_dynamic ? "exporter" : "other",
		    dmabuf->owner == THIS_MODULE ? "this" : "other",
		    dmabuf->name ?: "none", dmabuf->vmapping_counter,
		    list_empty(&dmabuf->attachments) ? "empty" : "some",
		    dmabuf->resv ? "own" : "none", dma_buf_is_dynamic(dmabuf));
	cf_add_file(e->c, dmabuf);
	conform_add(e->c, " private_data=%s",
		    dmabuf->file->private_data == dmabuf ? "dmabuf" : "other");
	cf_emit(e, w);
	cf_put(e, "fields");
}

static void cf_export_flags(struct kunit *test)
{
	static const int flags[] = {
		0, O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_CLOEXEC,
		O_RDWR | O_NONBLOCK, O_RDONLY | O_APPEND | O_SYNC | O_DIRECT,
		O_ACCMODE,
	};
	struct conform *c = conform_init(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		struct cf_exp *e = cf_exp_new(test, c);
		struct dma_buf *dmabuf = cf_export(e, &cf_ops_min, "cf-flags",
						   flags[i]);
		int w = cf_warns();

		conform_add(c, "export.flags(0x%x):", flags[i]);
		cf_add_file(c, dmabuf);
		cf_emit(e, w);
		cf_put(e, "flags");
	}
}

static void cf_export_size(struct kunit *test)
{
	static const size_t sizes[] = { 0, 1, PAGE_SIZE + 1, CF_SIZE };
	struct conform *c = conform_init(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct cf_exp *e = cf_exp_new(test, c);
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf *dmabuf;
		int w = cf_warns();

		info.ops = &cf_ops_min;
		info.size = sizes[i];
		dmabuf = cf_export_info(e, &info);
		conform_add(c, "export.size(%zu): ret=", sizes[i]);
		conform_add_ret(c, PTR_ERR_OR_ZERO(dmabuf));
		if (!IS_ERR(dmabuf)) {
			conform_add(c, " size=%zu", dmabuf->size);
			cf_add_file(c, dmabuf);
		}
		cf_emit(e, w);
		if (!IS_ERR(dmabuf))
			cf_put(e, "size");
	}
}

/* An exporter's resv: the core uses it and leaves it to the exporter. */
static void cf_export_resv(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_resv *resv = kunit_kzalloc(test, sizeof(*resv), GFP_KERNEL);
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf_attachment *a;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	int w;

	KUNIT_ASSERT_NOT_NULL(test, resv);
	dma_resv_init(resv);
	info.ops = &cf_ops_static;
	info.size = CF_SIZE;
	info.resv = resv;
	w = cf_warns();
	dmabuf = cf_export_info(e, &info);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	conform_add(e->c, "export.resv: resv=%s",
		    dmabuf->resv == resv ? "exporter" : "other");
	cf_emit(e, w);

	a = dma_buf_attach(dmabuf, cf_dev(test, "cf-resv"));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	w = cf_warns();
	dma_resv_lock(resv, NULL);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	conform_add(e->c, "export.resv.map: ret=");
	cf_add_sgt(e, sgt);
	if (!IS_ERR(sgt))
		dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(resv);
	dma_buf_detach(dmabuf, a);
	cf_emit(e, w);
	cf_put(e, "resv");
	/* still the exporter's: lockable after the buffer is gone */
	w = cf_warns();
	dma_resv_lock(resv, NULL);
	dma_resv_unlock(resv);
	dma_resv_fini(resv);
	conform_add(e->c, "export.resv.after: usable=1");
	cf_emit(e, w);
}

#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
/* A module whose references the test can count, also when built in. */
static struct module *cf_fake_module(struct kunit *test,
				     enum module_state state)
{
	struct module *mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mod);
	strscpy(mod->name, "cf_fake_owner", sizeof(mod->name));
	mod->state = state;
	atomic_set(&mod->refcnt, 1);
	return mod;
}
#endif

static void cf_export_owner(struct kunit *test)
{
#if IS_ENABLED(CONFIG_MODULE_UNLOAD)
	static const enum module_state states[] = {
		MODULE_STATE_LIVE, MODULE_STATE_GOING,
	};
	struct conform *c = conform_init(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		struct cf_exp *e = cf_exp_new(test, c);
		DEFINE_DMA_BUF_EXPORT_INFO(info);
		struct dma_buf *dmabuf;
		int before, w = cf_warns();

		info.ops = &cf_ops_min;
		info.size = CF_SIZE;
		info.owner = cf_fake_module(test, states[i]);
		before = module_refcount(info.owner);
		dmabuf = cf_export_info(e, &info);
		conform_add(c, "export.owner(%s): ret=",
			    i ? "going" : "live");
		conform_add_ret(c, PTR_ERR_OR_ZERO(dmabuf));
		conform_add(c, " refs=%+d", module_refcount(info.owner) - before);
		cf_emit(e, w);
		if (IS_ERR(dmabuf))
			continue;
		get_dma_buf(dmabuf);
		dma_buf_put(dmabuf);
		flush_delayed_fput();
		w = cf_warns();
		conform_add(c, "export.owner.put_one: refs=%+d released=%d",
			    module_refcount(info.owner) - before, e->released);
		cf_emit(e, w);
		cf_put(e, "owner");
		w = cf_warns();
		conform_add(c, "export.owner.after: refs=%+d",
			    module_refcount(info.owner) - before);
		cf_emit(e, w);
	}
#else
	kunit_skip(test, "module references need CONFIG_MODULE_UNLOAD");
#endif
}

/* Release runs once, after the last reference, without the resv. */
static void cf_export_release(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf *dmabuf = cf_export(e, &cf_ops_static, "cf-release",
					   O_RDWR);
	int w, i;

	get_dma_buf(dmabuf);
	get_dma_buf(dmabuf);
	for (i = 0; i < 2; i++) {
		w = cf_warns();
		dma_buf_put(dmabuf);
		flush_delayed_fput();
		conform_add(e->c, "release.put%d: count=%ld released=%d", i,
			    file_count(dmabuf->file), e->released);
		cf_emit(e, w);
	}
	cf_put(e, "release.last");
}

static int cf_anon_release(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations cf_anon_fops = {
	.release = cf_anon_release,
};

static bool cf_cloexec(int fd)
{
	bool ret;

	rcu_read_lock();
	ret = close_on_exec(fd, current->files);
	rcu_read_unlock();
	return ret;
}

static void cf_fd(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf *dmabuf = cf_export(e, &cf_ops_static, "cf-fd", O_RDWR);
	static const int flags[] = { 0, O_CLOEXEC, O_RDONLY | O_NONBLOCK };
	struct dma_buf *got;
	unsigned int i;
	int fd, fd2, w;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		w = cf_warns();
		get_dma_buf(dmabuf);
		fd = dma_buf_fd(dmabuf, flags[i]);
		conform_add(e->c, "fd(0x%x): ret=%s", flags[i],
			    fd >= 0 ? "fd" : "err");
		if (fd < 0) {
			conform_add_ret(e->c, fd);
			dma_buf_put(dmabuf);
			cf_emit(e, w);
			continue;
		}
		conform_add(e->c, " cloexec=%d count=%ld", cf_cloexec(fd),
			    file_count(dmabuf->file));
		got = dma_buf_get(fd);
		conform_add(e->c, " get=%s count=%ld",
			    got == dmabuf ? "same" : "other",
			    file_count(dmabuf->file));
		if (!IS_ERR(got))
			dma_buf_put(got);
		close_fd(fd);
		flush_delayed_fput();
		conform_add(e->c, " closed_count=%ld",
			    file_count(dmabuf->file));
		cf_emit(e, w);
	}

	w = cf_warns();
	conform_add(e->c, "fd(null): ret=");
	conform_add_ret(e->c, dma_buf_fd(NULL, 0));
	cf_emit(e, w);

	w = cf_warns();
	conform_add(e->c, "get(-1): ret=");
	conform_add_ret(e->c, PTR_ERR_OR_ZERO(dma_buf_get(-1)));
	cf_emit(e, w);

	/* a descriptor number nothing has: far above any the test uses */
	w = cf_warns();
	conform_add(e->c, "get(unused): ret=");
	conform_add_ret(e->c, PTR_ERR_OR_ZERO(dma_buf_get(4000)));
	cf_emit(e, w);

	fd2 = anon_inode_getfd("cf-anon", &cf_anon_fops, NULL, O_RDWR);
	KUNIT_ASSERT_GE(test, fd2, 0);
	w = cf_warns();
	conform_add(e->c, "get(other_file): ret=");
	conform_add_ret(e->c, PTR_ERR_OR_ZERO(dma_buf_get(fd2)));
	cf_emit(e, w);
	close_fd(fd2);

	cf_put(e, "fd");
}

static void cf_put_null(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	int w = cf_warns();

	dma_buf_put(NULL);
	conform_add(e->c, "put(null): done");
	cf_emit(e, w);
}

/* --- attach and map ------------------------------------------------- */

static void cf_trace_attach(struct cf_exp *e, const char *what,
			    struct dma_buf_attachment *a, int w)
{
	conform_add(e->c, "%s: ret=", what);
	conform_add_ret(e->c, PTR_ERR_OR_ZERO(a));
	if (!IS_ERR(a))
		conform_add(e->c, " dyn=%d p2p=%d",
			    dma_buf_attachment_is_dynamic(a), a->peer2peer);
	cf_emit(e, w);
}

static struct dma_buf_attachment *
cf_attach_trace(struct cf_exp *e, const char *what, const char *dev,
		const struct dma_buf_attach_ops *imp, const char *priv)
{
	struct device *d = cf_dev(e->test, dev);
	struct dma_buf_attachment *a;
	int w = cf_warns();

	if (imp)
		a = dma_buf_dynamic_attach(e->dmabuf, d, imp, (void *)priv);
	else
		a = dma_buf_attach(e->dmabuf, d);
	cf_trace_attach(e, what, a, w);
	return a;
}

static void cf_detach_trace(struct cf_exp *e, const char *what,
			    struct dma_buf_attachment *a)
{
	int w = cf_warns();

	dma_buf_detach(e->dmabuf, a);
	conform_add(e->c, "%s: done", what);
	cf_emit(e, w);
}

/* map (unlocked variant unless @locked) and trace what came back */
static struct sg_table *cf_map_trace(struct cf_exp *e, const char *what,
				     struct dma_buf_attachment *a,
				     enum dma_data_direction dir, bool locked)
{
	struct sg_table *sgt;
	int w = cf_warns();

	if (locked) {
		cf_lock(e);
		sgt = dma_buf_map_attachment(a, dir);
		cf_unlock(e);
	} else {
		sgt = dma_buf_map_attachment_unlocked(a, dir);
	}
	conform_add(e->c, "%s(%s,%s): ret=", what, cf_dir(dir),
		    locked ? "locked" : "unlocked");
	cf_add_sgt(e, sgt);
	cf_emit(e, w);
	return sgt;
}

static void cf_unmap_trace(struct cf_exp *e, const char *what,
			   struct dma_buf_attachment *a, struct sg_table *sgt,
			   enum dma_data_direction dir, bool locked)
{
	int w = cf_warns();

	conform_add(e->c, "%s(", what);
	cf_add_sgt(e, sgt);
	conform_add(e->c, ",%s,%s): done", cf_dir(dir),
		    locked ? "locked" : "unlocked");
	if (locked) {
		cf_lock(e);
		dma_buf_unmap_attachment(a, sgt, dir);
		cf_unlock(e);
	} else {
		dma_buf_unmap_attachment_unlocked(a, sgt, dir);
	}
	cf_emit(e, w);
}

static void cf_config(struct conform *c)
{
	conform_trace(c, "config: move_notify=%d debug=%d",
		      IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY),
		      IS_ENABLED(CONFIG_DMABUF_DEBUG));
}

/* A static exporter whose mappings the core caches. */
static void cf_attach_cached(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	struct sg_table *t;

	cf_export(e, &cf_ops_cached, "cf-cached", O_RDWR);
	a = cf_attach_trace(e, "cached.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	t = cf_map_trace(e, "cached.map1", a, DMA_BIDIRECTIONAL, false);
	cf_map_trace(e, "cached.map2", a, DMA_BIDIRECTIONAL, true);
	cf_map_trace(e, "cached.map_other_dir", a, DMA_TO_DEVICE, false);
	if (!IS_ERR_OR_NULL(t))
		cf_unmap_trace(e, "cached.unmap", a, t, DMA_BIDIRECTIONAL,
			       false);
	cf_map_trace(e, "cached.map_after_unmap", a, DMA_BIDIRECTIONAL, false);
	cf_detach_trace(e, "cached.detach", a);

	/* a one-way cached mapping refuses the other ways */
	a = cf_attach_trace(e, "cached.attach2", "cf-dev-b", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	cf_map_trace(e, "cached2.map", a, DMA_TO_DEVICE, false);
	cf_map_trace(e, "cached2.map_from", a, DMA_FROM_DEVICE, false);
	cf_map_trace(e, "cached2.map_bidi", a, DMA_BIDIRECTIONAL, true);
	cf_map_trace(e, "cached2.map_same", a, DMA_TO_DEVICE, true);
	cf_detach_trace(e, "cached2.detach", a);

	/* the core's cache holds nothing after a failed map */
	a = cf_attach_trace(e, "cached.attach3", "cf-dev-c", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	e->map_ret = -ENOSPC;
	cf_map_trace(e, "cached3.map_fails", a, DMA_BIDIRECTIONAL, false);
	e->map_ret = 0;
	cf_map_trace(e, "cached3.map", a, DMA_BIDIRECTIONAL, false);
	cf_detach_trace(e, "cached3.detach", a);
	cf_put(e, "cached");
}

/* A static exporter that does not cache: one table per map. */
static void cf_attach_static(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	struct sg_table *t1, *t2;

	cf_export(e, &cf_ops_static, "cf-static", O_RDWR);
	a = cf_attach_trace(e, "static.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	t1 = cf_map_trace(e, "static.map1", a, DMA_BIDIRECTIONAL, false);
	t2 = cf_map_trace(e, "static.map2", a, DMA_TO_DEVICE, true);
	if (!IS_ERR_OR_NULL(t2))
		cf_unmap_trace(e, "static.unmap2", a, t2, DMA_TO_DEVICE, true);
	if (!IS_ERR_OR_NULL(t1))
		cf_unmap_trace(e, "static.unmap1", a, t1, DMA_BIDIRECTIONAL,
			       false);
	cf_detach_trace(e, "static.detach", a);

	/* exporter errors reach the importer; NULL becomes an errno */
	a = cf_attach_trace(e, "static.attach2", "cf-dev-b", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	e->map_ret = -ENOSPC;
	cf_map_trace(e, "static.map_err", a, DMA_BIDIRECTIONAL, false);
	e->map_ret = CF_RET_NULL;
	cf_map_trace(e, "static.map_null", a, DMA_FROM_DEVICE, true);
	e->map_ret = 0;
	cf_detach_trace(e, "static.detach2", a);

	/* the exporter refuses the attachment */
	e->attach_ret = -ENOSPC;
	cf_attach_trace(e, "static.attach_fails", "cf-dev-c", NULL, NULL);
	cf_attach_trace(e, "static.dyn_attach_fails", "cf-dev-d", &cf_imp, "a");
	e->attach_ret = 0;
	cf_put(e, "static");
}

/* A dynamic importer on a dynamic exporter: nothing cached or pinned. */
static void cf_attach_dynamic(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	struct sg_table *t1, *t2;
	int w, ret;

	cf_config(e->c);
	cf_export(e, &cf_ops_dynamic, "cf-dyn", O_RDWR);
	a = cf_attach_trace(e, "dyn.attach", "cf-dev-a", &cf_imp, "a");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	t1 = cf_map_trace(e, "dyn.map1", a, DMA_BIDIRECTIONAL, true);
	t2 = cf_map_trace(e, "dyn.map2", a, DMA_BIDIRECTIONAL, true);
	if (!IS_ERR_OR_NULL(t2))
		cf_unmap_trace(e, "dyn.unmap2", a, t2, DMA_BIDIRECTIONAL, true);
	if (!IS_ERR_OR_NULL(t1))
		cf_unmap_trace(e, "dyn.unmap1", a, t1, DMA_BIDIRECTIONAL,
			       false);

	w = cf_warns();
	cf_lock(e);
	ret = dma_buf_pin(a);
	cf_unlock(e);
	conform_add(e->c, "dyn.pin: ret=");
	conform_add_ret(e->c, ret);
	cf_emit(e, w);
	w = cf_warns();
	cf_lock(e);
	dma_buf_unpin(a);
	cf_unlock(e);
	conform_add(e->c, "dyn.unpin: done");
	cf_emit(e, w);

	e->pin_ret = -EBUSY;
	w = cf_warns();
	cf_lock(e);
	ret = dma_buf_pin(a);
	cf_unlock(e);
	conform_add(e->c, "dyn.pin_fails: ret=");
	conform_add_ret(e->c, ret);
	cf_emit(e, w);

	/* without CONFIG_DMABUF_MOVE_NOTIFY, map pins around itself */
	cf_map_trace(e, "dyn.map_pin_fails", a, DMA_BIDIRECTIONAL, true);
	e->pin_ret = 0;
	e->map_ret = -ENOSPC;
	cf_map_trace(e, "dyn.map_err", a, DMA_BIDIRECTIONAL, true);
	e->map_ret = CF_RET_NULL;
	cf_map_trace(e, "dyn.map_null", a, DMA_BIDIRECTIONAL, true);
	e->map_ret = 0;

	cf_detach_trace(e, "dyn.detach", a);
	cf_put(e, "dyn");
}

/* A static importer on a dynamic exporter: pinned and mapped at attach. */
static void cf_attach_static_on_dynamic(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	struct sg_table *t;

	cf_export(e, &cf_ops_dynamic, "cf-mixed", O_RDWR);
	a = cf_attach_trace(e, "mixed_s.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	t = cf_map_trace(e, "mixed_s.map", a, DMA_TO_DEVICE, false);
	cf_map_trace(e, "mixed_s.map_from", a, DMA_FROM_DEVICE, true);
	if (!IS_ERR_OR_NULL(t))
		cf_unmap_trace(e, "mixed_s.unmap", a, t, DMA_TO_DEVICE, false);
	cf_detach_trace(e, "mixed_s.detach", a);

	e->pin_ret = -EBUSY;
	cf_attach_trace(e, "mixed_s.attach_pin_fails", "cf-dev-b", NULL, NULL);
	e->pin_ret = 0;
	e->map_ret = -ENOSPC;
	cf_attach_trace(e, "mixed_s.attach_map_fails", "cf-dev-c", NULL, NULL);
	e->map_ret = CF_RET_NULL;
	cf_attach_trace(e, "mixed_s.attach_map_null", "cf-dev-d", NULL, NULL);
	e->map_ret = 0;
	cf_put(e, "mixed_s");
}

/* A dynamic importer on a static exporter: mapped at attach. */
static void cf_attach_dynamic_on_static(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	struct sg_table *t;

	cf_export(e, &cf_ops_static, "cf-mixed", O_RDWR);
	a = cf_attach_trace(e, "mixed_d.attach", "cf-dev-a", &cf_imp, "a");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	t = cf_map_trace(e, "mixed_d.map", a, DMA_BIDIRECTIONAL, true);
	if (!IS_ERR_OR_NULL(t))
		cf_unmap_trace(e, "mixed_d.unmap", a, t, DMA_BIDIRECTIONAL,
			       true);
	cf_detach_trace(e, "mixed_d.detach", a);

	e->map_ret = -ENOSPC;
	cf_attach_trace(e, "mixed_d.attach_map_fails", "cf-dev-b", &cf_imp, "b");
	e->map_ret = 0;
	cf_put(e, "mixed_d");
}

static void cf_attach_p2p(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;

	cf_export(e, &cf_ops_dynamic, "cf-p2p", O_RDWR);
	a = cf_attach_trace(e, "p2p.allowed", "cf-dev-a", &cf_imp_p2p, "a");
	if (!IS_ERR(a))
		cf_detach_trace(e, "p2p.detach", a);
	a = cf_attach_trace(e, "p2p.not_allowed", "cf-dev-b", &cf_imp, "b");
	if (!IS_ERR(a))
		cf_detach_trace(e, "p2p.detach", a);
	e->deny_p2p = true;
	a = cf_attach_trace(e, "p2p.exporter_denies", "cf-dev-c", &cf_imp_p2p,
			    "c");
	if (!IS_ERR(a))
		cf_detach_trace(e, "p2p.detach", a);
	cf_put(e, "p2p");
}

/* Driver misuse of attach and map: each WARNs in 6.12. */
static void cf_attach_misuse(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct cf_exp *e2 = cf_exp_new(test, e->c);
	struct dma_buf_attachment *a;
	struct sg_table *sgt;
	int w;

	cf_export(e, &cf_ops_static, "cf-misuse", O_RDWR);
	cf_export(e2, &cf_ops_static, "cf-misuse2", O_RDWR);
	cf_attach_trace(e, "misuse.no_move_notify", "cf-dev-a",
			&cf_imp_no_move, "a");

	w = cf_warns();
	a = dma_buf_attach(e->dmabuf, NULL);
	cf_trace_attach(e, "misuse.no_dev", a, w);

	w = cf_warns();
	a = dma_buf_attach(NULL, cf_dev(test, "cf-dev-b"));
	cf_trace_attach(e, "misuse.no_buf", a, w);

	/* detach from the wrong buffer changes nothing */
	a = cf_attach_trace(e, "misuse.attach", "cf-dev-c", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	w = cf_warns();
	dma_buf_detach(e2->dmabuf, a);
	conform_add(e->c, "misuse.detach_wrong_buf: done");
	cf_emit(e, w);
	cf_detach_trace(e, "misuse.detach", a);

	w = cf_warns();
	sgt = dma_buf_map_attachment_unlocked(NULL, DMA_BIDIRECTIONAL);
	conform_add(e->c, "misuse.map_null: ret=");
	cf_add_sgt(e, sgt);
	cf_emit(e, w);

	a = cf_attach_trace(e, "misuse.attach2", "cf-dev-d", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	w = cf_warns();
	dma_buf_unmap_attachment_unlocked(a, NULL, DMA_BIDIRECTIONAL);
	conform_add(e->c, "misuse.unmap_null_sgt: done");
	cf_emit(e, w);
	cf_detach_trace(e, "misuse.detach2", a);
	cf_put(e2, "misuse2");
	cf_put(e, "misuse");
}

/* A mapping still held at detach: who unmaps it? */
static void cf_detach_mapped(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;

	cf_export(e, &cf_ops_static, "cf-detach", O_RDWR);
	a = cf_attach_trace(e, "detach_mapped.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	cf_map_trace(e, "detach_mapped.map", a, DMA_BIDIRECTIONAL, false);
	cf_detach_trace(e, "detach_mapped.detach", a);
	cf_put(e, "detach_mapped");

	cf_export(e, &cf_ops_dynamic, "cf-detach-dyn", O_RDWR);
	a = cf_attach_trace(e, "detach_mapped_dyn.attach", "cf-dev-b", &cf_imp,
			    "b");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	cf_map_trace(e, "detach_mapped_dyn.map", a, DMA_TO_DEVICE, true);
	cf_detach_trace(e, "detach_mapped_dyn.detach", a);
	cf_put(e, "detach_mapped_dyn");
}

/* dma_buf_pin() on a static attachment: 6.12 WARNs and calls the exporter. */
static void cf_pin_static(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	int w, ret;

	cf_export(e, &cf_ops_dynamic, "cf-pin", O_RDWR);
	a = cf_attach_trace(e, "pin_static.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	w = cf_warns();
	cf_lock(e);
	ret = dma_buf_pin(a);
	cf_unlock(e);
	conform_add(e->c, "pin_static.pin: ret=");
	conform_add_ret(e->c, ret);
	cf_emit(e, w);
	w = cf_warns();
	cf_lock(e);
	dma_buf_unpin(a);
	cf_unlock(e);
	conform_add(e->c, "pin_static.unpin: done");
	cf_emit(e, w);
	cf_detach_trace(e, "pin_static.detach", a);
	cf_put(e, "pin_static");

	/* nor can the exporter pin */
	cf_export(e, &cf_ops_static, "cf-pin-static", O_RDWR);
	a = cf_attach_trace(e, "pin_static2.attach", "cf-dev-b", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	w = cf_warns();
	cf_lock(e);
	ret = dma_buf_pin(a);
	dma_buf_unpin(a);
	cf_unlock(e);
	conform_add(e->c, "pin_static2.pin_unpin: ret=");
	conform_add_ret(e->c, ret);
	cf_emit(e, w);
	cf_detach_trace(e, "pin_static2.detach", a);
	cf_put(e, "pin_static2");
}

/* Pinning where the exporter cannot pin: nothing to call. */
static void cf_pin_no_op(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *a;
	int w, ret;

	cf_export(e, &cf_ops_static, "cf-pin", O_RDWR);
	a = cf_attach_trace(e, "pin_no_op.attach", "cf-dev-a", &cf_imp, "a");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	w = cf_warns();
	cf_lock(e);
	ret = dma_buf_pin(a);
	dma_buf_unpin(a);
	cf_unlock(e);
	conform_add(e->c, "pin_no_op.pin_unpin: ret=");
	conform_add_ret(e->c, ret);
	cf_emit(e, w);
	cf_detach_trace(e, "pin_no_op.detach", a);
	cf_put(e, "pin_no_op");
}

static void cf_move(struct cf_exp *e, const char *what)
{
	int w = cf_warns();

	cf_lock(e);
	dma_buf_move_notify(e->dmabuf);
	cf_unlock(e);
	conform_add(e->c, "%s: done", what);
	cf_emit(e, w);
}

/* move_notify reaches the dynamic importers, newest or oldest first? */
static void cf_move_notify_order(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *s, *a, *b;

	cf_export(e, &cf_ops_dynamic, "cf-move", O_RDWR);
	s = cf_attach_trace(e, "move.attach_s", "cf-dev-s", NULL, NULL);
	a = cf_attach_trace(e, "move.attach_a", "cf-dev-a", &cf_imp, "a");
	b = cf_attach_trace(e, "move.attach_b", "cf-dev-b", &cf_imp_p2p, "b");
	KUNIT_ASSERT_FALSE(test, IS_ERR(s) || IS_ERR(a) || IS_ERR(b));
	cf_move(e, "move.all");
	cf_detach_trace(e, "move.detach_a", a);
	cf_move(e, "move.after_detach_a");
	cf_detach_trace(e, "move.detach_b", b);
	cf_move(e, "move.static_only");
	cf_detach_trace(e, "move.detach_s", s);
	cf_move(e, "move.none");
	cf_put(e, "move");
}

/* --- fences the core waits for ---------------------------------------- */

static const char *cf_fence_name(struct dma_fence *f)
{
	return "cf";
}

static bool cf_fence_enable(struct dma_fence *f)
{
	return true;
}

static signed long cf_fence_wait(struct dma_fence *f, bool intr,
				 signed long timeout)
{
	struct cf_fence *cf = container_of(f, struct cf_fence, base);

	cf_ev(cf->e, "wait(f%u)", conform_fence_id(cf->e->c, f));
	dma_fence_signal(f);
	return timeout ?: 1;
}

static void cf_fence_put(void *f)
{
	dma_fence_put(f);
}

static const struct dma_fence_ops cf_fence_ops = {
	.get_driver_name = cf_fence_name,
	.get_timeline_name = cf_fence_name,
	.enable_signaling = cf_fence_enable,
	.wait = cf_fence_wait,
};

/* Add a new unsignaled fence with @usage to the buffer's resv. */
static struct dma_fence *cf_add_fence(struct cf_exp *e,
				      enum dma_resv_usage usage)
{
	struct cf_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(e->test, f);
	f->e = e;
	spin_lock_init(&f->lock);
	dma_fence_init(&f->base, &cf_fence_ops, &f->lock,
		       dma_fence_context_alloc(1), 1);
	conform_name_fence(e->c, &f->base);
	cf_lock(e);
	KUNIT_ASSERT_EQ(e->test, dma_resv_reserve_fences(e->dmabuf->resv, 1), 0);
	dma_resv_add_fence(e->dmabuf->resv, &f->base, usage);
	cf_unlock(e);
	/* the test's reference, dropped when the case ends */
	KUNIT_ASSERT_EQ(e->test,
			kunit_add_action_or_reset(e->test, cf_fence_put,
						  &f->base), 0);
	return &f->base;
}

static void cf_signal_all(struct cf_exp *e, struct dma_fence **f,
			  unsigned int n)
{
	while (n--)
		dma_fence_signal(f[n]);
}

static void cf_trace_signaled(struct cf_exp *e, struct dma_fence **f,
			      unsigned int n)
{
	unsigned int i;

	conform_add(e->c, " signaled=");
	for (i = 0; i < n; i++)
		conform_add(e->c, "%d", dma_fence_is_signaled(f[i]));
}

/*
 * A static attachment's map waits for the kernel fences (the exporter's
 * move), a dynamic one's does not.
 */
static void cf_map_waits(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf_attachment *s, *d;
	struct dma_fence *f[3];
	struct sg_table *t;

	cf_export(e, &cf_ops_static, "cf-wait", O_RDWR);
	s = cf_attach_trace(e, "map_wait.attach_s", "cf-dev-s", NULL, NULL);
	d = cf_attach_trace(e, "map_wait.attach_d", "cf-dev-d", &cf_imp, "d");
	KUNIT_ASSERT_FALSE(test, IS_ERR(s) || IS_ERR(d));
	/* the dynamic importer on a static exporter mapped at attach */
	t = cf_map_trace(e, "map_wait.map_d", d, DMA_BIDIRECTIONAL, true);

	f[0] = cf_add_fence(e, DMA_RESV_USAGE_KERNEL);
	f[1] = cf_add_fence(e, DMA_RESV_USAGE_WRITE);
	f[2] = cf_add_fence(e, DMA_RESV_USAGE_KERNEL);
	t = cf_map_trace(e, "map_wait.map_s", s, DMA_BIDIRECTIONAL, false);
	conform_add(e->c, "map_wait.after_s:");
	cf_trace_signaled(e, f, 3);
	cf_emit(e, cf_warns());
	if (!IS_ERR_OR_NULL(t))
		cf_unmap_trace(e, "map_wait.unmap_s", s, t, DMA_BIDIRECTIONAL,
			       false);
	cf_signal_all(e, f, 3);
	cf_detach_trace(e, "map_wait.detach_d", d);
	cf_detach_trace(e, "map_wait.detach_s", s);
	cf_put(e, "map_wait");
}

/* --- vmap ----------------------------------------------------------- */

static int cf_vmap_trace(struct cf_exp *e, const char *what,
			 struct dma_buf *dmabuf, struct iosys_map *map,
			 bool locked)
{
	int w = cf_warns(), ret;

	/* a stale value the core must clear on failure */
	iosys_map_set_vaddr(map, e);
	if (locked) {
		dma_resv_lock(dmabuf->resv, NULL);
		ret = dma_buf_vmap(dmabuf, map);
		dma_resv_unlock(dmabuf->resv);
	} else {
		ret = dma_buf_vmap_unlocked(dmabuf, map);
	}
	conform_add(e->c, "%s(%s): ret=", what,
		    locked ? "locked" : "unlocked");
	conform_add_ret(e->c, ret);
	conform_add(e->c, " map=%s vmap_count=%u",
		    iosys_map_is_null(map) ? "null" :
		    map->is_iomem ? "iomem" :
		    map->vaddr == e->vbuf ? "exporter" : "other",
		    dmabuf->vmapping_counter);
	cf_emit(e, w);
	return ret;
}

static void cf_vunmap_trace(struct cf_exp *e, const char *what,
			    struct dma_buf *dmabuf, struct iosys_map *map,
			    bool locked)
{
	int w = cf_warns();

	if (locked) {
		dma_resv_lock(dmabuf->resv, NULL);
		dma_buf_vunmap(dmabuf, map);
		dma_resv_unlock(dmabuf->resv);
	} else {
		dma_buf_vunmap_unlocked(dmabuf, map);
	}
	conform_add(e->c, "%s(%s): vmap_count=%u", what,
		    locked ? "locked" : "unlocked", dmabuf->vmapping_counter);
	cf_emit(e, w);
}

static void cf_vmap_refcount(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf *dmabuf = cf_export(e, &cf_ops_static, "cf-vmap",
					   O_RDWR);
	struct iosys_map m1, m2, m3;

	cf_vmap_trace(e, "vmap.first", dmabuf, &m1, false);
	cf_vmap_trace(e, "vmap.second", dmabuf, &m2, true);
	cf_vmap_trace(e, "vmap.third", dmabuf, &m3, false);
	cf_vunmap_trace(e, "vunmap.third", dmabuf, &m3, true);
	cf_vunmap_trace(e, "vunmap.second", dmabuf, &m2, false);
	cf_vunmap_trace(e, "vunmap.first", dmabuf, &m1, true);
	cf_vmap_trace(e, "vmap.again", dmabuf, &m1, true);
	cf_vunmap_trace(e, "vunmap.again", dmabuf, &m1, false);
	cf_put(e, "vmap");
}

static void cf_vmap_no_op(struct kunit *test)
{
	struct conform *c = conform_init(test);
	struct cf_exp *e = cf_exp_new(test, c);
	struct cf_exp *e2 = cf_exp_new(test, c);
	struct iosys_map m;

	cf_export(e, &cf_ops_min, "cf-novmap", O_RDWR);
	cf_vmap_trace(e, "vmap.no_op", e->dmabuf, &m, false);
	cf_vmap_trace(e, "vmap.no_op", e->dmabuf, &m, true);
	cf_put(e, "vmap.no_op");

	cf_export(e2, &cf_ops_vmap_only, "cf-novunmap", O_RDWR);
	cf_vmap_trace(e2, "vmap.no_vunmap", e2->dmabuf, &m, false);
	cf_vunmap_trace(e2, "vunmap.no_vunmap", e2->dmabuf, &m, false);
	cf_put(e2, "vmap.no_vunmap");
}

/* The exporter's vmap fails: 6.12 WARNs once per boot. */
static void cf_vmap_fails(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	struct dma_buf *dmabuf = cf_export(e, &cf_ops_static, "cf-vmapfail",
					   O_RDWR);
	struct iosys_map m;

	e->vmap_ret = -ENOMEM;
	cf_vmap_trace(e, "vmap.fails", dmabuf, &m, false);
	cf_vmap_trace(e, "vmap.fails_again", dmabuf, &m, true);
	e->vmap_ret = 0;
	cf_vmap_trace(e, "vmap.after_failure", dmabuf, &m, false);
	cf_vunmap_trace(e, "vunmap.after_failure", dmabuf, &m, false);
	cf_put(e, "vmap.fails");
}

static void cf_null_buf(struct kunit *test)
{
	struct conform *c = conform_init(test);
	struct cf_exp *e = cf_exp_new(test, c);
	struct iosys_map m;
	int w, ret;

	w = cf_warns();
	iosys_map_set_vaddr(&m, e);
	ret = dma_buf_vmap_unlocked(NULL, &m);
	conform_add(c, "null.vmap: ret=");
	conform_add_ret(c, ret);
	conform_add(c, " map=%s", iosys_map_is_null(&m) ? "null" : "set");
	cf_emit(e, w);

	w = cf_warns();
	conform_add(c, "null.begin_cpu_access: ret=");
	conform_add_ret(c, dma_buf_begin_cpu_access(NULL, DMA_TO_DEVICE));
	cf_emit(e, w);
}

/* --- CPU access ------------------------------------------------------- */

static void cf_cpu_trace(struct cf_exp *e, const char *what,
			 enum dma_data_direction dir, bool begin)
{
	int w = cf_warns(), ret;

	if (begin)
		ret = dma_buf_begin_cpu_access(e->dmabuf, dir);
	else
		ret = dma_buf_end_cpu_access(e->dmabuf, dir);
	conform_add(e->c, "%s.%s(%s): ret=", what, begin ? "begin" : "end",
		    cf_dir(dir));
	conform_add_ret(e->c, ret);
	cf_emit(e, w);
}

static void cf_cpu_access(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE,
	};
	struct conform *c = conform_init(test);
	struct cf_exp *e = cf_exp_new(test, c);
	struct cf_exp *e2 = cf_exp_new(test, c);
	unsigned int i;

	cf_export(e, &cf_ops_static, "cf-cpu", O_RDWR);
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		cf_cpu_trace(e, "cpu", dirs[i], true);
		cf_cpu_trace(e, "cpu", dirs[i], false);
	}
	e->begin_ret = -EAGAIN;
	e->end_ret = -EIO;
	cf_cpu_trace(e, "cpu.fails", DMA_TO_DEVICE, true);
	cf_cpu_trace(e, "cpu.fails", DMA_TO_DEVICE, false);
	cf_put(e, "cpu");

	cf_export(e2, &cf_ops_min, "cf-cpu-noop", O_RDWR);
	cf_cpu_trace(e2, "cpu.no_ops", DMA_BIDIRECTIONAL, true);
	cf_cpu_trace(e2, "cpu.no_ops", DMA_BIDIRECTIONAL, false);
	cf_put(e2, "cpu.no_ops");
}

/* Which fences begin_cpu_access waits for, per direction. */
static void cf_cpu_waits(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_FROM_DEVICE, DMA_TO_DEVICE, DMA_BIDIRECTIONAL,
	};
	struct conform *c = conform_init(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct cf_exp *e = cf_exp_new(test, c);
		struct dma_fence *f[5];

		cf_export(e, i == 2 ? &cf_ops_min : &cf_ops_static,
			  "cf-cpuwait", O_RDWR);
		f[0] = cf_add_fence(e, DMA_RESV_USAGE_KERNEL);
		f[1] = cf_add_fence(e, DMA_RESV_USAGE_WRITE);
		f[2] = cf_add_fence(e, DMA_RESV_USAGE_READ);
		f[3] = cf_add_fence(e, DMA_RESV_USAGE_BOOKKEEP);
		cf_cpu_trace(e, "cpu_wait", dirs[i], true);
		conform_add(c, "cpu_wait.after:");
		cf_trace_signaled(e, f, 4);
		cf_emit(e, cf_warns());
		cf_cpu_trace(e, "cpu_wait", dirs[i], false);

		/* the exporter refuses: the core waits for nothing */
		e->begin_ret = -EAGAIN;
		f[4] = cf_add_fence(e, DMA_RESV_USAGE_KERNEL);
		cf_cpu_trace(e, "cpu_wait.refused", dirs[i], true);
		e->begin_ret = 0;
		cf_signal_all(e, f, 5);
		cf_put(e, "cpu_wait");
	}
}

/* --- mmap ------------------------------------------------------------- */

/* dma_buf_mmap() from a driver's mmap handler, on a vma the test builds. */
static void cf_mmap_driver(struct kunit *test)
{
	static const struct {
		const char *what;
		unsigned long pgoff, pages;
	} cases[] = {
		{ "fit", 1, 3 },
		{ "whole", 0, CF_PAGES },
		{ "past_end", 1, CF_PAGES },
		{ "overflow", ULONG_MAX, 2 },
		{ "pgoff_past_end", CF_PAGES, 1 },
	};
	struct conform *c = conform_init(test);
	struct cf_exp *e = cf_exp_new(test, c);
	struct cf_exp *e2 = cf_exp_new(test, c);
	struct vm_area_struct *vma;
	struct file *other;
	unsigned long addr;
	unsigned int i;
	int w, ret;

	/* gives the test thread an mm, whose lock a driver's ->mmap holds */
	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	cf_export(e, &cf_ops_static, "cf-mmap", O_RDWR);
	cf_export(e2, &cf_ops_min, "cf-nommap", O_RDWR);
	other = anon_inode_getfile("cf-anon", &cf_anon_fops, NULL, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	vma->vm_mm = current->mm;

	for (i = 0; i < ARRAY_SIZE(cases) * 2 + 1; i++) {
		unsigned int k = i % ARRAY_SIZE(cases);
		/* every case twice on @e, the second time failing; then @e2 */
		struct cf_exp *x = e;

		if (i == ARRAY_SIZE(cases) * 2)
			x = e2;

		vma->vm_start = PAGE_SIZE;
		vma->vm_end = PAGE_SIZE * (cases[k].pages + 1);
		vma->vm_pgoff = 7;
		vma->vm_file = get_file(other);
		e->mmap_ret = 0;
		if (x == e && i >= ARRAY_SIZE(cases))
			e->mmap_ret = -ENXIO;
		w = cf_warns();
		mmap_write_lock(current->mm);
		ret = dma_buf_mmap(x->dmabuf, vma, cases[k].pgoff);
		mmap_write_unlock(current->mm);
		conform_add(c, "mmap.driver.%s%s%s: ret=",
			    x == e2 ? "no_op." : "",
			    e->mmap_ret ? "exporter_fails." : "", cases[k].what);
		conform_add_ret(c, ret);
		conform_add(c, " vm_pgoff=%lu vm_file=%s", vma->vm_pgoff,
			    vma->vm_file == other ? "kept" :
			    vma->vm_file == x->dmabuf->file ? "dmabuf" :
			    "other");
		cf_emit(x, w);
		fput(vma->vm_file);
	}
	fput(other);
	cf_put(e, "mmap.driver");
	cf_put(e2, "mmap.driver.no_op");
}

static unsigned long cf_vma_flags(unsigned long addr)
{
	struct vm_area_struct *vma;
	unsigned long flags = 0;

	mmap_read_lock(current->mm);
	vma = find_vma(current->mm, addr);
	if (vma && vma->vm_start <= addr)
		flags = vma->vm_flags & (VM_READ | VM_WRITE | VM_SHARED |
					 VM_MAYREAD | VM_MAYWRITE |
					 VM_MAYSHARE | VM_DONTEXPAND);
	mmap_read_unlock(current->mm);
	return flags;
}

/* mmap() of the buffer's file, as userspace does it. */
static void cf_mmap_file(struct kunit *test)
{
	static const struct {
		const char *what;
		unsigned long len, off, prot, flags;
		int fmode;
	} cases[] = {
		{ "rw_shared", CF_SIZE, 0, PROT_READ | PROT_WRITE, MAP_SHARED,
		  O_RDWR },
		{ "offset", PAGE_SIZE, 3, PROT_READ, MAP_SHARED, O_RDWR },
		{ "past_end", 2 * PAGE_SIZE, 3, PROT_READ, MAP_SHARED, O_RDWR },
		{ "too_long", CF_SIZE + PAGE_SIZE, 0, PROT_READ, MAP_SHARED,
		  O_RDWR },
		{ "rdonly_fd_shared_write", PAGE_SIZE, 0,
		  PROT_READ | PROT_WRITE, MAP_SHARED, O_RDONLY },
		{ "rdonly_fd_shared_read", PAGE_SIZE, 0, PROT_READ, MAP_SHARED,
		  O_RDONLY },
		{ "rdonly_fd_private_write", PAGE_SIZE, 0,
		  PROT_READ | PROT_WRITE, MAP_PRIVATE, O_RDONLY },
		{ "wronly_fd_shared_write", PAGE_SIZE, 0, PROT_WRITE,
		  MAP_SHARED, O_WRONLY },
	};
	struct conform *c = conform_init(test);
	unsigned int i;
	unsigned long addr;
	int w;

	/* gives the test thread an mm */
	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cf_exp *e = cf_exp_new(test, c);

		cf_export(e, &cf_ops_static, "cf-mmapfile", cases[i].fmode);
		w = cf_warns();
		addr = vm_mmap(e->dmabuf->file, 0, cases[i].len, cases[i].prot,
			       cases[i].flags, cases[i].off << PAGE_SHIFT);
		conform_add(c, "mmap.file.%s: ret=", cases[i].what);
		if (IS_ERR_VALUE(addr)) {
			conform_add_ret(c, (long)addr);
		} else {
			conform_add(c, "addr vma_flags=0x%lx",
				    cf_vma_flags(addr));
			vm_munmap(addr, cases[i].len);
		}
		cf_emit(e, w);
		cf_put(e, "mmap.file");
	}

	/* no mmap op */
	{
		struct cf_exp *e = cf_exp_new(test, c);

		cf_export(e, &cf_ops_min, "cf-mmapfile", O_RDWR);
		w = cf_warns();
		addr = vm_mmap(e->dmabuf->file, 0, PAGE_SIZE, PROT_READ,
			       MAP_SHARED, 0);
		conform_add(c, "mmap.file.no_op: ret=");
		if (IS_ERR_VALUE(addr))
			conform_add_ret(c, (long)addr);
		else
			conform_add(c, "addr");
		cf_emit(e, w);
		if (!IS_ERR_VALUE(addr))
			vm_munmap(addr, PAGE_SIZE);
		cf_put(e, "mmap.file.no_op");
	}
}

/* --- names, fdinfo, bufinfo ------------------------------------------ */

static long cf_set_name(struct dma_buf *dmabuf, const char __user *name)
{
	struct file *f = dmabuf->file;

	return f->f_op->unlocked_ioctl(f, DMA_BUF_SET_NAME_B,
				       (unsigned long)name);
}

static void cf_add_names(struct cf_exp *e)
{
	struct dma_buf *dmabuf = e->dmabuf;
	char *buf = kmalloc(PATH_MAX, GFP_KERNEL), *p;

	KUNIT_ASSERT_NOT_NULL(e->test, buf);
	spin_lock(&dmabuf->name_lock);
	conform_add(e->c, " name=%s", dmabuf->name ?: "none");
	spin_unlock(&dmabuf->name_lock);
	p = d_path(&dmabuf->file->f_path, buf, PATH_MAX);
	if (IS_ERR(p))
		conform_add(e->c, " path=%ld", PTR_ERR(p));
	else
		conform_add(e->c, " path=%s", p);
	kfree(buf);
}

/* fdinfo as procfs shows it: procfs holds one reference while it does. */
static void cf_trace_fdinfo(struct cf_exp *e, const char *label)
{
	struct seq_file m = { .size = PAGE_SIZE };
	struct file *file = e->dmabuf->file;

	m.buf = kunit_kzalloc(e->test, m.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(e->test, m.buf);
	get_file(file);
	file->f_op->show_fdinfo(&m, file);
	fput(file);
	KUNIT_ASSERT_LT(e->test, m.count, m.size);
	m.buf[m.count] = '\0';
	conform_trace_text(e->c, label, m.buf);
}

static void cf_name(struct kunit *test)
{
	struct cf_exp *e = cf_exp_new(test, NULL);
	char __user *u;
	char *s;
	unsigned long addr;
	struct dma_buf_attachment *a;
	long ret;
	int w;

	cf_export(e, &cf_ops_static, "cf-name", O_RDWR);
	addr = kunit_vm_mmap(test, NULL, 0, 2 * PAGE_SIZE,
			     PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	u = (char __user *)addr;
	s = kunit_kzalloc(test, 2 * DMA_BUF_NAME_LEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);

	w = cf_warns();
	conform_add(e->c, "name.initial:");
	cf_add_names(e);
	cf_emit(e, w);
	cf_trace_fdinfo(e, "name.fdinfo.initial");

	KUNIT_ASSERT_EQ(test, copy_to_user(u, "scanout-0", 10), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.set: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);
	cf_trace_fdinfo(e, "name.fdinfo.set");

	/* longest accepted, one more, and much more */
	memset(s, 'n', 2 * DMA_BUF_NAME_LEN - 1);
	KUNIT_ASSERT_EQ(test, copy_to_user(u, s, 2 * DMA_BUF_NAME_LEN), 0);
	KUNIT_ASSERT_EQ(test, copy_to_user(u + DMA_BUF_NAME_LEN - 1, "", 1),
			0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.len_max_minus_1: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);
	KUNIT_ASSERT_EQ(test, copy_to_user(u + DMA_BUF_NAME_LEN - 1, "n", 1),
			0);
	KUNIT_ASSERT_EQ(test, copy_to_user(u + DMA_BUF_NAME_LEN, "", 1), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.len_max: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);
	KUNIT_ASSERT_EQ(test, copy_to_user(u, s, 2 * DMA_BUF_NAME_LEN), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.too_long: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);

	/* an empty name */
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "", 1), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.empty: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);
	cf_trace_fdinfo(e, "name.fdinfo.empty");

	/* a name running into an unmapped page */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, copy_to_user(u + PAGE_SIZE - 3, "abc", 3), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u + PAGE_SIZE - 3);
	conform_add(e->c, "name.fault: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);

	/* attached: 6.12's kernel-doc says -EBUSY */
	a = cf_attach_trace(e, "name.attach", "cf-dev-a", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	KUNIT_ASSERT_EQ(test, copy_to_user(u, "attached", 9), 0);
	w = cf_warns();
	ret = cf_set_name(e->dmabuf, u);
	conform_add(e->c, "name.set_attached: ret=");
	conform_add_ret(e->c, ret);
	cf_add_names(e);
	cf_emit(e, w);
	cf_detach_trace(e, "name.detach", a);

	get_file(e->dmabuf->file);
	cf_trace_fdinfo(e, "name.fdinfo.two_refs");
	fput(e->dmabuf->file);
	cf_put(e, "name");
}

static struct file *cf_open_bufinfo(void)
{
	struct file_system_type *fs = get_fs_type("debugfs");
	struct vfsmount *mnt;
	struct path path;
	struct file *file;
	int ret;

	if (!fs)
		return ERR_PTR(-ENODEV);
	mnt = vfs_kern_mount(fs, 0, "debugfs", NULL);
	module_put(fs->owner);
	if (IS_ERR(mnt))
		return ERR_CAST(mnt);
	ret = vfs_path_lookup(mnt->mnt_root, mnt, "dma_buf/bufinfo", 0, &path);
	if (ret) {
		mntput(mnt);
		return ERR_PTR(ret);
	}
	file = dentry_open(&path, O_RDONLY, current_cred());
	path_put(&path);
	mntput(mnt);
	return file;
}

/*
 * Replace the inode number, the sixth tab-separated field of a buffer's
 * line, by "INO": it counts every buffer since boot.
 */
static void cf_canon_buf_line(char *line)
{
	char *p = line, *end;
	int i;

	for (i = 0; i < 5 && p; i++) {
		p = strchr(p, '\t');
		if (p)
			p++;
	}
	if (!p)
		return;
	end = strchrnul(p, '\t');
	memmove(p + 3, end, strlen(end) + 1);
	memcpy(p, "INO", 3);
}

/*
 * The lines of bufinfo about the test's buffers (those whose exporter
 * name starts with @prefix) and the header, in the order bufinfo gives.
 */
static void cf_trace_bufinfo(struct kunit *test, struct conform *c,
			     const char *prefix)
{
	const size_t size = 64 * 1024;
	char *text = kunit_kzalloc(test, size, GFP_KERNEL);
	unsigned long ubuf;
	char *line, *p;
	struct file *f;
	loff_t pos = 0;
	size_t len = 0;
	ssize_t n;
	bool ours = false, header = true;

	KUNIT_ASSERT_NOT_NULL(test, text);
	/* debugfs show files can only be read into user memory */
	ubuf = kunit_vm_mmap(test, NULL, 0, size, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(ubuf));
	f = cf_open_bufinfo();
	if (IS_ERR(f)) {
		conform_add(c, "bufinfo: open=");
		conform_add_ret(c, PTR_ERR(f));
		conform_emit(c);
		return;
	}
	while (len < size - 1 &&
	       (n = f->f_op->read(f, (char __user *)ubuf + len,
				  size - 1 - len, &pos)) > 0)
		len += n;
	fput(f);
	if (n < 0) {
		conform_add(c, "bufinfo: read=");
		conform_add_ret(c, n);
		conform_emit(c);
		return;
	}
	KUNIT_ASSERT_EQ(test, copy_from_user(text, (char __user *)ubuf, len), 0);
	text[len] = '\0';

	p = text;
	while ((line = strsep(&p, "\n"))) {
		char *tab = strchr(line, '\t');

		/* a buffer's first line: size, flags, mode, count, exp_name */
		if (tab && isdigit(line[0])) {
			header = false;
			ours = strnstr(line, prefix, strlen(line));
			if (ours)
				cf_canon_buf_line(line);
		}
		if (!strncmp(line, "Total ", 6) && strstr(line, " objects")) {
			/* every buffer of the system: not the test's */
			continue;
		}
		if (header || ours)
			conform_trace_text(c, "bufinfo", line[0] ? line : " ");
		if (!strncmp(line, "Total ", 6))
			ours = false;
	}
}

static void cf_bufinfo(struct kunit *test)
{
	struct conform *c = conform_init(test);
	struct cf_exp *e = cf_exp_new(test, c);
	struct cf_exp *e2 = cf_exp_new(test, c);
	struct dma_buf_attachment *a1, *a2;
	struct dma_fence *f[3];
	unsigned long addr;

	cf_export(e, &cf_ops_dynamic, "cf-bufinfo-a", O_RDWR);
	cf_export(e2, &cf_ops_static, "cf-bufinfo-b", O_RDONLY | O_NONBLOCK);
	a1 = cf_attach_trace(e, "bufinfo.attach1", "cf-info-dev1", &cf_imp,
			     "a");
	a2 = cf_attach_trace(e, "bufinfo.attach2", "cf-info-dev2", NULL, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a1) || IS_ERR(a2));
	f[0] = cf_add_fence(e, DMA_RESV_USAGE_WRITE);
	f[1] = cf_add_fence(e, DMA_RESV_USAGE_READ);
	f[2] = cf_add_fence(e, DMA_RESV_USAGE_BOOKKEEP);
	dma_fence_signal(f[1]);

	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, copy_to_user((char __user *)addr, "info-b", 7),
			0);
	KUNIT_ASSERT_EQ(test, cf_set_name(e2->dmabuf, (char __user *)addr),
			0);
	get_file(e2->dmabuf->file);

	cf_trace_bufinfo(test, c, "cf-bufinfo-");
	fput(e2->dmabuf->file);
	cf_signal_all(e, f, 3);
	dma_buf_detach(e->dmabuf, a2);
	dma_buf_detach(e->dmabuf, a1);
	cf_put(e, "bufinfo.a");
	cf_put(e2, "bufinfo.b");
	/* both gone from bufinfo */
	cf_trace_bufinfo(test, c, "cf-bufinfo-");
}

static struct kunit_case dma_buf_conform_cases[] = {
	KUNIT_CASE(cf_export_bad),
	KUNIT_CASE(cf_export_fields),
	KUNIT_CASE(cf_export_flags),
	KUNIT_CASE(cf_export_size),
	KUNIT_CASE(cf_export_resv),
	KUNIT_CASE(cf_export_owner),
	KUNIT_CASE(cf_export_release),
	KUNIT_CASE(cf_fd),
	KUNIT_CASE(cf_put_null),
	KUNIT_CASE(cf_attach_cached),
	KUNIT_CASE(cf_attach_static),
	KUNIT_CASE(cf_attach_dynamic),
	KUNIT_CASE(cf_attach_static_on_dynamic),
	KUNIT_CASE(cf_attach_dynamic_on_static),
	KUNIT_CASE(cf_attach_p2p),
	KUNIT_CASE(cf_attach_misuse),
	KUNIT_CASE(cf_detach_mapped),
	KUNIT_CASE(cf_pin_static),
	KUNIT_CASE(cf_pin_no_op),
	KUNIT_CASE(cf_move_notify_order),
	KUNIT_CASE(cf_map_waits),
	KUNIT_CASE(cf_vmap_refcount),
	KUNIT_CASE(cf_vmap_no_op),
	KUNIT_CASE(cf_vmap_fails),
	KUNIT_CASE(cf_null_buf),
	KUNIT_CASE(cf_cpu_access),
	KUNIT_CASE(cf_cpu_waits),
	KUNIT_CASE(cf_mmap_driver),
	KUNIT_CASE(cf_mmap_file),
	KUNIT_CASE(cf_name),
	KUNIT_CASE(cf_bufinfo),
	{}
};

static struct kunit_suite dma_buf_conform_suite = {
	.name = "dma_buf_conform",
	.suite_init = cf_suite_init,
	.suite_exit = cf_suite_exit,
	.test_cases = dma_buf_conform_cases,
};

kunit_test_suite(dma_buf_conform_suite);

MODULE_DESCRIPTION("Conformance traces of the dma-buf core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
