// SPDX-License-Identifier: GPL-2.0-only
/*
 * The holder tracker (CONFIG_DMABUF_DEBUG_HOLDERS): for each buffer, a
 * list of records, one per kind of resource, key and stack that took it,
 * each counting how many such holds are outstanding.  Identical holds
 * share a record, so repeated maps or mmaps from one place cost one.
 * Stacks live in the stack depot, which deduplicates them across buffers.
 *
 * The core calls the hooks wherever it hands something out or takes it
 * back, sometimes in atomic context (get_dma_buf() under a driver's
 * spinlock, dma_buf_put() from anywhere fput() is allowed), so records
 * are allocated without sleeping; one that cannot be is counted as lost,
 * and a give-back that finds no record is then taken to be for it.
 */

#define pr_fmt(fmt) "dma-buf holders: " fmt

#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/seq_buf.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stackdepot.h>
#include <linux/stacktrace.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <uapi/linux/dma-buf.h>

#include "dma-buf-internal.h"

/* Frames saved per stack, counted from the hook's caller. */
#define DMA_BUF_HOLDERS_DEPTH	16
/* Frames the stack walker may report inside the tracker itself. */
#define DMA_BUF_HOLDERS_OWN	8
/* Given-back records kept per buffer to explain unbalanced give-backs. */
#define DMA_BUF_HOLDERS_GONE	8

struct dma_buf_holder {
	struct list_head node;
	const void *key;
	/* where it was taken; for a REF drop record, unused */
	depot_stack_handle_t taken;
	/* where it was given back: REF drop records and gone records only */
	depot_stack_handle_t given;
	unsigned int count;
	enum dma_buf_hold_kind kind;
	/* a REF record that counts dma_buf_put() calls made at @given */
	bool drop;
};

static const char *const dma_buf_hold_names[DMA_BUF_HOLD_KINDS] = {
	[DMA_BUF_HOLD_REF] = "ref",
	[DMA_BUF_HOLD_FD] = "fd",
	[DMA_BUF_HOLD_MMAP] = "mmap",
	[DMA_BUF_HOLD_ATTACH] = "attach",
	[DMA_BUF_HOLD_MAP] = "map",
	[DMA_BUF_HOLD_PIN] = "pin",
	[DMA_BUF_HOLD_VMAP] = "vmap",
	[DMA_BUF_HOLD_CPU] = "cpu",
};

/* By enum dma_data_direction. */
static const char *const dma_buf_hold_dirs[] = {
	"bidirectional", "to-device", "from-device", "none",
};

/* Set once the stack depot can take stacks; until then none are saved. */
static bool dma_buf_holders_ready __ro_after_init;

static int __init dma_buf_holders_setup(void)
{
	unsigned long probe[1];

	/* Before the core's subsys_initcall, so before any export. */
	if (stack_depot_init()) {
		pr_warn("no stack depot: holders are recorded without stacks\n");
		return 0;
	}
	dma_buf_holders_ready = true;
	/* UML without CONFIG_FRAME_POINTER, for one. */
	if (!stack_trace_save(probe, ARRAY_SIZE(probe), 0))
		pr_warn("the stack walker saves no frames: holders are recorded without stacks\n");
	return 0;
}
core_initcall(dma_buf_holders_setup);

static struct dma_buf_holders *dma_buf_holders_of(struct dma_buf *buf)
{
	return &dma_buf_core(buf)->holders;
}

/* Kinds whose key the core never knows: holders are told apart by stack. */
static bool dma_buf_hold_anonymous(enum dma_buf_hold_kind kind)
{
	return kind == DMA_BUF_HOLD_REF || kind == DMA_BUF_HOLD_FD ||
	       kind == DMA_BUF_HOLD_MMAP;
}

/*
 * The current stack from @ip, the return address of the hook, into
 * @entries; *@start is its first frame, the return value their number.
 * Walkers differ in how many of their own and our frames they report
 * first (UML reports all of them, whatever it is asked to skip), so cut
 * at @ip.
 */
static unsigned int dma_buf_holders_trace(unsigned long ip,
					  unsigned long *entries,
					  unsigned long **start)
{
	unsigned int n, i;

	n = stack_trace_save(entries, DMA_BUF_HOLDERS_DEPTH + DMA_BUF_HOLDERS_OWN, 0);
	for (i = 0; i < n && entries[i] != ip; i++)
		;
	if (i == n)
		i = 0;
	*start = entries + i;
	return min_t(unsigned int, n - i, DMA_BUF_HOLDERS_DEPTH);
}

/* The current stack, saved in the depot, or 0. */
static depot_stack_handle_t dma_buf_holders_stack(unsigned long ip)
{
	unsigned long entries[DMA_BUF_HOLDERS_DEPTH + DMA_BUF_HOLDERS_OWN];
	unsigned long *start;
	unsigned int n;

	if (!dma_buf_holders_ready)
		return 0;
	n = dma_buf_holders_trace(ip, entries, &start);
	return stack_depot_save(start, n, GFP_NOWAIT | __GFP_NOWARN);
}

/**
 * dma_buf_holders_kunit_alloc - allocate a holder record
 * @size: its size
 * @gfp: GFP_NOWAIT or weaker
 *
 * Every record is allocated here, where KUnit can make it fail
 * (KUNIT_STATIC_STUB_REDIRECT); not through dma_buf_kzalloc(), whose
 * failures the core's own suites count.
 *
 * Context: any context @gfp allows; callers hold a holders lock.
 *
 * Return: the zeroed record, or NULL.
 */
void *dma_buf_holders_kunit_alloc(size_t size, gfp_t gfp)
{
	KUNIT_STATIC_STUB_REDIRECT(dma_buf_holders_kunit_alloc, size, gfp);
	return kzalloc(size, gfp);
}
EXPORT_SYMBOL_IF_KUNIT(dma_buf_holders_kunit_alloc);

/* Callers hold the buffer's holders lock with interrupts off. */
static struct dma_buf_holder *dma_buf_holder_new(struct dma_buf_holders *hs,
						 enum dma_buf_hold_kind kind,
						 const void *key)
{
	struct dma_buf_holder *h;

	h = dma_buf_holders_kunit_alloc(sizeof(*h), GFP_NOWAIT | __GFP_NOWARN);
	if (!h) {
		hs->lost[kind]++;
		return NULL;
	}
	h->kind = kind;
	h->key = key;
	h->count = 1;
	list_add(&h->node, &hs->held);
	return h;
}

/*
 * Every hold of @h is given back, the last one at @given: keep @h among
 * the last few given back, merged with an identical one, oldest dropped.
 */
static void dma_buf_holder_retire(struct dma_buf_holders *hs,
				  struct dma_buf_holder *h,
				  depot_stack_handle_t given)
{
	struct dma_buf_holder *old;

	list_del(&h->node);
	h->given = given;
	list_for_each_entry(old, &hs->gone, node) {
		if (old->kind == h->kind && old->key == h->key &&
		    old->taken == h->taken && old->given == h->given) {
			list_move(&old->node, &hs->gone);
			kfree(h);
			return;
		}
	}
	list_add(&h->node, &hs->gone);
	if (++hs->gone_count > DMA_BUF_HOLDERS_GONE) {
		old = list_last_entry(&hs->gone, struct dma_buf_holder, node);
		list_del(&old->node);
		kfree(old);
		hs->gone_count--;
	}
}

/**
 * dma_buf_holders_init - set up a new buffer's holder records
 * @buf: the buffer, not yet visible to anyone else
 *
 * Context: any; called once at export, before the first dma_buf_hold().
 */
void dma_buf_holders_init(struct dma_buf *buf)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);

	spin_lock_init(&hs->lock);
	INIT_LIST_HEAD(&hs->held);
	INIT_LIST_HEAD(&hs->gone);
	hs->gone_count = 0;
	memset(hs->lost, 0, sizeof(hs->lost));
	ratelimit_state_init(&hs->reports, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
}

/**
 * dma_buf_holders_fini - free a buffer's holder records
 * @buf: the buffer, which nobody can reach any more
 *
 * Context: any; the last call on @buf.  Records still held are dropped
 * silently: the core complains about what matters before it frees.
 */
void dma_buf_holders_fini(struct dma_buf *buf)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	struct dma_buf_holder *h, *next;

	list_splice_init(&hs->gone, &hs->held);
	list_for_each_entry_safe(h, next, &hs->held, node)
		kfree(h);
	INIT_LIST_HEAD(&hs->held);
	hs->gone_count = 0;
}

/**
 * dma_buf_hold - record that the caller took something of a buffer
 * @buf: the buffer
 * @kind: what was taken
 * @key: which one, as described at &enum dma_buf_hold_kind
 *
 * Records the caller's stack.  A hold of the same kind and key from the
 * same stack as an outstanding one only counts up that record.
 *
 * Context: any context but NMI; takes the buffer's holders lock with
 * interrupts off and allocates without sleeping.
 */
void dma_buf_hold(struct dma_buf *buf, enum dma_buf_hold_kind kind,
		  const void *key)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	depot_stack_handle_t stack = dma_buf_holders_stack(_RET_IP_);
	struct dma_buf_holder *h;
	unsigned long flags;

	spin_lock_irqsave(&hs->lock, flags);
	list_for_each_entry(h, &hs->held, node) {
		if (h->kind == kind && h->key == key && !h->drop &&
		    h->taken == stack) {
			h->count++;
			goto out;
		}
	}
	h = dma_buf_holder_new(hs, kind, key);
	if (h)
		h->taken = stack;
out:
	spin_unlock_irqrestore(&hs->lock, flags);
}

/* A file reference dropped at @stack: counted per dropping stack. */
static void dma_buf_unhold_ref(struct dma_buf_holders *hs,
			       depot_stack_handle_t stack)
{
	struct dma_buf_holder *h;

	list_for_each_entry(h, &hs->held, node) {
		if (h->kind == DMA_BUF_HOLD_REF && h->drop &&
		    h->given == stack) {
			h->count++;
			return;
		}
	}
	h = dma_buf_holder_new(hs, DMA_BUF_HOLD_REF, NULL);
	if (h) {
		h->drop = true;
		h->given = stack;
	}
}

/* What is printed of a record, copied out under the lock. */
struct dma_buf_holder_copy {
	const void *key;
	depot_stack_handle_t taken;
	depot_stack_handle_t given;
	unsigned int count;
	u8 kind;
	bool drop;
	bool gone;
	/* index in dma_buf_holders_sections[], headings of a report */
	u8 section;
};

static const char *const dma_buf_holders_sections[] = {
	NULL,
	"  recently given back:\n",
	"  held with other keys:\n",
	"  the attachment:\n",
};

/* Records copied for printing; @more counts those that did not fit. */
struct dma_buf_holders_snap {
	struct dma_buf_holder_copy *v;
	unsigned int n, max, more;
	unsigned int lost[DMA_BUF_HOLD_KINDS];
};

/* Records a report copies onto the stack; the rest are only counted. */
#define DMA_BUF_HOLDERS_SHOWN	12

/* Callers hold the buffer's holders lock. */
static void dma_buf_holders_copy(struct dma_buf_holders_snap *snap,
				 const struct dma_buf_holder *h, bool gone,
				 u8 section)
{
	struct dma_buf_holder_copy *c;

	if (snap->n == snap->max) {
		snap->more++;
		return;
	}
	c = &snap->v[snap->n++];
	c->key = h->key;
	c->taken = h->taken;
	c->given = h->given;
	c->count = h->count;
	c->kind = h->kind;
	c->drop = h->drop;
	c->gone = gone;
	c->section = section;
}

/* Whether @h is among what a report on @kind and @key is about. */
static bool dma_buf_holder_match(const struct dma_buf_holder *h,
				 enum dma_buf_hold_kind kind, const void *key)
{
	if (kind == DMA_BUF_HOLD_KINDS)
		return true;
	if (h->kind != kind)
		return false;
	return dma_buf_hold_anonymous(kind) || !key || h->key == key;
}

/* Callers hold the buffer's holders lock. */
static void dma_buf_holders_copy_matching(struct dma_buf_holders_snap *snap,
					  struct list_head *list,
					  enum dma_buf_hold_kind kind,
					  const void *key, bool gone,
					  u8 section)
{
	struct dma_buf_holder *h;

	list_for_each_entry(h, list, node)
		if (dma_buf_holder_match(h, kind, key))
			dma_buf_holders_copy(snap, h, gone, section);
}

static void dma_buf_holders_warn_unbalanced(struct dma_buf *buf,
					    enum dma_buf_hold_kind kind,
					    const void *key,
					    unsigned long ip);

/**
 * dma_buf_unhold - record that the caller gave something of a buffer back
 * @buf: the buffer
 * @kind: what was given back
 * @key: which one, as given to dma_buf_hold()
 *
 * Counts down the newest record of @kind and @key; the last one given
 * back is kept for a while with the caller's stack, so that a later
 * unbalanced give-back can be shown the one that balanced it.  A
 * give-back that finds nothing held is reported here, in the kernel log
 * (rate limited), with the caller's stack and what may explain it.  For
 * %DMA_BUF_HOLD_REF the caller's stack is counted as a dropper instead,
 * since drops cannot be matched with gets.
 *
 * Context: as dma_buf_hold().
 *
 * Return: false when nothing of @kind and @key was held (an unpin without
 * pin, an end of CPU access without begin, a second unmap).  True
 * otherwise, and always for the anonymous kinds.
 */
bool dma_buf_unhold(struct dma_buf *buf, enum dma_buf_hold_kind kind,
		    const void *key)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	depot_stack_handle_t stack;
	struct dma_buf_holder *h;
	unsigned long flags;
	bool ret = true;

	if (kind == DMA_BUF_HOLD_FD || kind == DMA_BUF_HOLD_MMAP)
		return true;
	if (kind == DMA_BUF_HOLD_REF) {
		stack = dma_buf_holders_stack(_RET_IP_);
		spin_lock_irqsave(&hs->lock, flags);
		dma_buf_unhold_ref(hs, stack);
		spin_unlock_irqrestore(&hs->lock, flags);
		return true;
	}

	spin_lock_irqsave(&hs->lock, flags);
	list_for_each_entry(h, &hs->held, node) {
		if (h->kind == kind && h->key == key) {
			/* The stack is needed only by the last give-back. */
			if (!--h->count)
				dma_buf_holder_retire(hs, h,
						      dma_buf_holders_stack(_RET_IP_));
			goto out;
		}
	}
	/* Perhaps the hold whose record could not be allocated. */
	if (hs->lost[kind])
		hs->lost[kind]--;
	else
		ret = false;
out:
	spin_unlock_irqrestore(&hs->lock, flags);
	if (!ret)
		dma_buf_holders_warn_unbalanced(buf, kind, key, _RET_IP_);
	return ret;
}

/*
 * Where the text goes: the debugfs listing, a KUnit string, or (neither)
 * the kernel log at warning level, one line per call.
 */
struct dma_buf_holders_out {
	struct seq_file *seq;
	struct seq_buf *sb;
};

static __printf(2, 3)
void dma_buf_holders_out(const struct dma_buf_holders_out *out,
			 const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	if (out->seq) {
		seq_vprintf(out->seq, fmt, args);
	} else if (out->sb) {
		seq_buf_vprintf(out->sb, fmt, args);
	} else {
		vaf.fmt = fmt;
		vaf.va = &args;
		pr_warn("%pV", &vaf);
	}
	va_end(args);
}

static void dma_buf_holders_out_frames(const struct dma_buf_holders_out *out,
				       const unsigned long *entries,
				       unsigned int n)
{
	unsigned int i;

	if (!n)
		dma_buf_holders_out(out, "      (no stack saved)\n");
	for (i = 0; i < n; i++)
		dma_buf_holders_out(out, "      %pS\n", (void *)entries[i]);
}

static void dma_buf_holders_out_stack(const struct dma_buf_holders_out *out,
				      depot_stack_handle_t stack)
{
	unsigned long *entries = NULL;
	unsigned int n = 0;

	if (stack)
		n = stack_depot_fetch(stack, &entries);
	dma_buf_holders_out_frames(out, entries, n);
}

/* " <key>" as the listing shows it, or "" for the anonymous kinds. */
static void dma_buf_hold_key(char *s, size_t size,
			     enum dma_buf_hold_kind kind, const void *key)
{
	uintptr_t dir = (uintptr_t)key - 1;

	if (dma_buf_hold_anonymous(kind))
		*s = '\0';
	else if (kind == DMA_BUF_HOLD_CPU && dir < ARRAY_SIZE(dma_buf_hold_dirs))
		snprintf(s, size, " %s", dma_buf_hold_dirs[dir]);
	else
		snprintf(s, size, " %p", key);
}

static void dma_buf_holders_out_one(const struct dma_buf_holders_out *out,
				    const struct dma_buf_holder_copy *h)
{
	const char *kind = dma_buf_hold_names[h->kind];
	char key[32];

	dma_buf_hold_key(key, sizeof(key), h->kind, h->key);
	if (h->gone) {
		dma_buf_holders_out(out, "  %s%s given back at:\n", kind, key);
		dma_buf_holders_out_stack(out, h->given);
		dma_buf_holders_out(out, "    after it was taken at:\n");
		dma_buf_holders_out_stack(out, h->taken);
	} else if (h->drop) {
		dma_buf_holders_out(out, "  %s x%u dropped at:\n", kind,
				    h->count);
		dma_buf_holders_out_stack(out, h->given);
	} else {
		dma_buf_holders_out(out, "  %s%s x%u taken at:\n", kind, key,
				    h->count);
		dma_buf_holders_out_stack(out, h->taken);
	}
}

/* Every copied record, each section's heading before its first one. */
static void dma_buf_holders_out_snap(const struct dma_buf_holders_out *out,
				     const struct dma_buf_holders_snap *snap)
{
	enum dma_buf_hold_kind kind;
	unsigned int i;
	int section = -1;

	for (i = 0; i < snap->n; i++) {
		const struct dma_buf_holder_copy *c = &snap->v[i];

		if (c->section != section) {
			section = c->section;
			if (dma_buf_holders_sections[section])
				dma_buf_holders_out(out, "%s",
						    dma_buf_holders_sections[section]);
		}
		dma_buf_holders_out_one(out, c);
	}
	if (snap->more)
		dma_buf_holders_out(out, "  %u more not shown\n", snap->more);
	for (kind = 0; kind < DMA_BUF_HOLD_KINDS; kind++)
		if (snap->lost[kind])
			dma_buf_holders_out(out, "  %s x%u not recorded (out of memory)\n",
					    dma_buf_hold_names[kind],
					    snap->lost[kind]);
}

/* How reports name @buf: by inode number, as userspace knows it. */
static void dma_buf_holders_name(char *s, size_t size, struct dma_buf *buf)
{
	struct file *file = READ_ONCE(buf->file);

	if (file)
		snprintf(s, size, "buffer %lu (%s)", file_inode(file)->i_ino,
			 buf->exp_name);
	else
		snprintf(s, size, "buffer without a file (%s)", buf->exp_name);
}

/* Every record of @buf, with a line about the buffer first. */
static void dma_buf_holders_list(const struct dma_buf_holders_out *out,
				 struct dma_buf *buf)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	char name[DMA_BUF_NAME_LEN] = "<none>";
	struct dma_buf_holders_snap snap = { };
	struct dma_buf_holder *h;
	unsigned long flags;
	unsigned int n = 0;

	spin_lock(&buf->name_lock);
	if (buf->name)
		strscpy(name, buf->name);
	spin_unlock(&buf->name_lock);
	if (buf->file)
		dma_buf_holders_out(out,
				    "buffer %lu (%s, %zu bytes, name %s): %ld file references\n",
				    file_inode(buf->file)->i_ino, buf->exp_name,
				    buf->size, name, file_count(buf->file));
	else
		dma_buf_holders_out(out, "buffer without a file (%s, %zu bytes, name %s)\n",
				    buf->exp_name, buf->size, name);

	/* Sized by a count that may grow meanwhile: the rest is counted. */
	spin_lock_irqsave(&hs->lock, flags);
	list_for_each_entry(h, &hs->held, node)
		n++;
	spin_unlock_irqrestore(&hs->lock, flags);
	snap.v = kmalloc_array(n + 1, sizeof(*snap.v), GFP_KERNEL);
	if (snap.v)
		snap.max = n + 1;

	spin_lock_irqsave(&hs->lock, flags);
	list_for_each_entry(h, &hs->held, node)
		dma_buf_holders_copy(&snap, h, false, 0);
	memcpy(snap.lost, hs->lost, sizeof(snap.lost));
	spin_unlock_irqrestore(&hs->lock, flags);

	dma_buf_holders_out_snap(out, &snap);
	kfree(snap.v);
}

/**
 * dma_buf_holders_show - list who holds what of a buffer, for debugfs
 * @s: the dma_buf/holders file being read
 * @buf: a buffer kept alive by dma_buf_for_each()
 *
 * Context: process context; may sleep; takes the buffer's name and
 * holders locks.
 */
void dma_buf_holders_show(struct seq_file *s, struct dma_buf *buf)
{
	struct dma_buf_holders_out out = { .seq = s };

	dma_buf_holders_list(&out, buf);
	seq_putc(s, '\n');
}

/**
 * dma_buf_holders_snprint - dma_buf_holders_show() into a string
 * @buf: a buffer the caller holds a reference to
 * @s: where to write, NUL-terminated
 * @size: the size of @s
 *
 * For KUnit, which checks the listing without reading debugfs.
 *
 * Context: as dma_buf_holders_show().
 *
 * Return: the length of the text, or -ENOSPC when it did not fit.
 */
int dma_buf_holders_snprint(struct dma_buf *buf, char *s, size_t size)
{
	struct seq_buf sb;
	struct dma_buf_holders_out out = { .sb = &sb };

	seq_buf_init(&sb, s, size);
	dma_buf_holders_list(&out, buf);
	if (seq_buf_has_overflowed(&sb))
		return -ENOSPC;
	seq_buf_str(&sb);
	return seq_buf_used(&sb);
}
EXPORT_SYMBOL_IF_KUNIT(dma_buf_holders_snprint);

/*
 * A give-back of @kind and @key, at the stack above @ip, that found
 * nothing held: shown with the last give-backs of @key (an unbalanced one
 * usually repeats one of them), the other holders of @kind and, for a
 * pin, the attachment's holder.  CPU accesses of other directions are
 * other accesses, not candidates.
 */
static void dma_buf_holders_warn_unbalanced(struct dma_buf *buf,
					    enum dma_buf_hold_kind kind,
					    const void *key, unsigned long ip)
{
	unsigned long entries[DMA_BUF_HOLDERS_DEPTH + DMA_BUF_HOLDERS_OWN];
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	struct dma_buf_holder_copy v[DMA_BUF_HOLDERS_SHOWN];
	struct dma_buf_holders_snap snap = { .v = v, .max = ARRAY_SIZE(v) };
	struct dma_buf_holders_out out = { };
	struct dma_buf_holder *h;
	unsigned long *frames = NULL;
	unsigned long flags;
	char name[64], what[32];
	unsigned int n = 0;

	if (!__ratelimit(&hs->reports))
		return;
	spin_lock_irqsave(&hs->lock, flags);
	dma_buf_holders_copy_matching(&snap, &hs->gone, kind, key, true, 1);
	if (kind != DMA_BUF_HOLD_CPU)
		list_for_each_entry(h, &hs->held, node)
			if (h->kind == kind && h->key != key)
				dma_buf_holders_copy(&snap, h, false, 2);
	if (kind == DMA_BUF_HOLD_PIN)
		dma_buf_holders_copy_matching(&snap, &hs->held,
					      DMA_BUF_HOLD_ATTACH, key, false, 3);
	spin_unlock_irqrestore(&hs->lock, flags);

	if (dma_buf_holders_ready)
		n = dma_buf_holders_trace(ip, entries, &frames);
	dma_buf_holders_name(name, sizeof(name), buf);
	dma_buf_hold_key(what, sizeof(what), kind, key);
	pr_warn("%s: %s%s given back without being held\n", name,
		dma_buf_hold_names[kind], what);
	dma_buf_holders_out(&out, "  %s%s given back again at:\n",
			    dma_buf_hold_names[kind], what);
	dma_buf_holders_out_frames(&out, frames, n);
	dma_buf_holders_out_snap(&out, &snap);
}

/**
 * dma_buf_holders_report - name in the kernel log who holds what
 * @buf: the buffer
 * @kind: the kind the core is complaining about, or %DMA_BUF_HOLD_KINDS
 *	for everything
 * @key: the one the complaint is about, or NULL for all of @kind
 *
 * Called after the core's own WARN about a leaked resource, with every
 * matching holder and its stack; silent when nothing matches, so that the
 * core may ask about whatever might be left.  %DMA_BUF_HOLD_CPU with a
 * NULL @key is the core's question at the last close, and says so.
 * Reports are rate limited per buffer.
 *
 * Context: any context but NMI; takes the buffer's holders lock with
 * interrupts off, and prints after dropping it.
 */
void dma_buf_holders_report(struct dma_buf *buf, enum dma_buf_hold_kind kind,
			    const void *key)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	struct dma_buf_holder_copy v[DMA_BUF_HOLDERS_SHOWN];
	struct dma_buf_holders_snap snap = { .v = v, .max = ARRAY_SIZE(v) };
	struct dma_buf_holders_out out = { };
	bool all = kind == DMA_BUF_HOLD_KINDS;
	unsigned long flags;
	char name[64], what[40];

	spin_lock_irqsave(&hs->lock, flags);
	dma_buf_holders_copy_matching(&snap, &hs->held, kind, key, false, 0);
	if (!all)
		snap.lost[kind] = hs->lost[kind];
	spin_unlock_irqrestore(&hs->lock, flags);
	if (!snap.n && !snap.more && (all || !snap.lost[kind]))
		return;
	if (!__ratelimit(&hs->reports))
		return;

	dma_buf_holders_name(name, sizeof(name), buf);
	if (kind == DMA_BUF_HOLD_CPU && !key) {
		pr_warn("%s: released with CPU access open:\n", name);
	} else if (all) {
		pr_warn("%s: holders of anything:\n", name);
	} else {
		what[0] = '\0';
		if (key)
			dma_buf_hold_key(what, sizeof(what), kind, key);
		pr_warn("%s: holders of %s%s:\n", name,
			dma_buf_hold_names[kind], what);
	}
	dma_buf_holders_out_snap(&out, &snap);
}

/**
 * dma_buf_holders_forget - drop every record of a key about to be freed
 * @buf: the buffer
 * @key: an attachment or sg_table whose memory is about to be freed
 *
 * Removes the held and given-back records of every kind keyed by @key,
 * so that an object later allocated at the same address matches none of
 * them.  Any still held are first reported in the kernel log (rate
 * limited) with the stacks that took them.
 *
 * Context: any context but NMI; takes the buffer's holders lock with
 * interrupts off, and prints after dropping it.
 */
void dma_buf_holders_forget(struct dma_buf *buf, const void *key)
{
	struct dma_buf_holders *hs = dma_buf_holders_of(buf);
	struct dma_buf_holder_copy v[DMA_BUF_HOLDERS_SHOWN];
	struct dma_buf_holders_snap snap = { .v = v, .max = ARRAY_SIZE(v) };
	struct dma_buf_holders_out out = { };
	struct dma_buf_holder *h, *next;
	unsigned long flags;
	char name[64];

	if (!key)
		return;
	spin_lock_irqsave(&hs->lock, flags);
	list_for_each_entry_safe(h, next, &hs->held, node) {
		if (dma_buf_hold_anonymous(h->kind) || h->key != key)
			continue;
		dma_buf_holders_copy(&snap, h, false, 0);
		list_del(&h->node);
		kfree(h);
	}
	list_for_each_entry_safe(h, next, &hs->gone, node) {
		if (dma_buf_hold_anonymous(h->kind) || h->key != key)
			continue;
		list_del(&h->node);
		kfree(h);
		hs->gone_count--;
	}
	spin_unlock_irqrestore(&hs->lock, flags);
	if ((!snap.n && !snap.more) || !__ratelimit(&hs->reports))
		return;

	dma_buf_holders_name(name, sizeof(name), buf);
	pr_warn("%s: %p freed while still held:\n", name, key);
	dma_buf_holders_out_snap(&out, &snap);
}
