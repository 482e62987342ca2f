/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trace lines of the differential conformance suites.
 *
 * The conformance suites run the same scenarios against our core and
 * against upstream's and print what they observe; host/conform compares
 * the two traces line by line.  A trace line must therefore say the same
 * thing on two correct cores: no pointers, addresses, times, jiffies or
 * inode numbers.  Fences and fence contexts are named by test-local ids
 * ("f3", "c2") in the order the scenario registers them, errnos by their
 * names ("-EINVAL"), and sets whose order the contract leaves open are
 * printed sorted.
 *
 * Every line goes out through KUnit as
 *
 *   # <case>: trace: <text>
 *
 * A line is built with conform_add*() and printed with conform_emit();
 * conform_trace() does both for a line that needs no fence names.
 */

#ifndef _DMA_BUF_CONFORM_H
#define _DMA_BUF_CONFORM_H

#include <kunit/test.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stdarg.h>
#include <linux/string.h>

#define CONFORM_MAX_NAMES 256u
#define CONFORM_LINE 640

struct conform {
	struct kunit *test;
	unsigned int nfences, ncontexts;
	const struct dma_fence *fence[CONFORM_MAX_NAMES];
	u64 context[CONFORM_MAX_NAMES];
	size_t len;
	char line[CONFORM_LINE];
};

/* A tracer for one test case, freed with the case. */
static inline struct conform *conform_init(struct kunit *test)
{
	struct conform *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	c->test = test;
	return c;
}

/* Give @f the next fence id; returns it (1 for "f1"). */
static inline unsigned int conform_name_fence(struct conform *c,
					      const struct dma_fence *f)
{
	KUNIT_ASSERT_LT(c->test, c->nfences, CONFORM_MAX_NAMES);
	c->fence[c->nfences++] = f;
	return c->nfences;
}

/*
 * The id of @f, 0 when the scenario never named it.  The latest naming
 * wins, so that a fence allocated where a freed one lived gets its own id.
 */
static inline unsigned int conform_fence_id(const struct conform *c,
					    const struct dma_fence *f)
{
	unsigned int i = c->nfences;

	while (i--)
		if (c->fence[i] == f)
			return i + 1;
	return 0;
}

/* The id of fence context @context ("c1"...), named on first sight. */
static inline unsigned int conform_context_id(struct conform *c, u64 context)
{
	unsigned int i;

	for (i = 0; i < c->ncontexts; i++)
		if (c->context[i] == context)
			return i + 1;
	KUNIT_ASSERT_LT(c->test, c->ncontexts, CONFORM_MAX_NAMES);
	c->context[c->ncontexts++] = context;
	return c->ncontexts;
}

static inline __printf(2, 0) void conform_vadd(struct conform *c,
					       const char *fmt, va_list args)
{
	c->len += vscnprintf(c->line + c->len, sizeof(c->line) - c->len,
			     fmt, args);
}

/* Append printf-style text to the line being built. */
static inline __printf(2, 3) void conform_add(struct conform *c,
					      const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	conform_vadd(c, fmt, args);
	va_end(args);
}

/* Append a return value: an errno by name, anything else as a number. */
static inline void conform_add_ret(struct conform *c, long ret)
{
	if (ret < 0 && ret >= -MAX_ERRNO)
		conform_add(c, "%pe", ERR_PTR(ret));
	else
		conform_add(c, "%ld", ret);
}

static inline void conform_add_set(struct conform *c,
				   struct dma_fence *const *fences,
				   unsigned int count);

/*
 * Append the name of @f: its id, or for a container the scenario did not
 * name (one the core built, such as get_singleton's array) its kind and
 * its components, or "f?" for any other fence nobody named.
 */
static inline void conform_add_fence(struct conform *c, struct dma_fence *f)
{
	struct dma_fence_array *array;
	unsigned int id;

	if (!f) {
		conform_add(c, "none");
		return;
	}
	id = conform_fence_id(c, f);
	if (id) {
		conform_add(c, "f%u", id);
		return;
	}
	array = to_dma_fence_array(f);
	if (array) {
		conform_add(c, "array");
		conform_add_set(c, array->fences, array->num_fences);
	} else if (to_dma_fence_chain(f)) {
		conform_add(c, "chain(");
		conform_add_fence(c, dma_fence_chain_contained(f));
		conform_add(c, ")");
	} else {
		conform_add(c, "f?");
	}
}

static inline int conform_cmp_id(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/*
 * Append @count fences as a set: "{f1,f4,f4}", sorted by id, duplicates
 * kept (a walk that returns a fence twice must show).  Unnamed fences
 * come last, in the order given.
 */
static inline void conform_add_set(struct conform *c,
				   struct dma_fence *const *fences,
				   unsigned int count)
{
	unsigned int *ids, i, n = 0;

	ids = kcalloc(count ?: 1, sizeof(*ids), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(c->test, ids);
	for (i = 0; i < count; i++) {
		ids[n] = conform_fence_id(c, fences[i]);
		if (ids[n])
			n++;
	}
	sort(ids, n, sizeof(*ids), conform_cmp_id, NULL);
	conform_add(c, "{");
	for (i = 0; i < n; i++)
		conform_add(c, "%sf%u", i ? "," : "", ids[i]);
	for (i = 0; i < count; i++) {
		if (conform_fence_id(c, fences[i]))
			continue;
		conform_add(c, "%s", n++ ? "," : "");
		conform_add_fence(c, fences[i]);
	}
	conform_add(c, "}");
	kfree(ids);
}

/* Print the line built so far as one trace line and start a new one. */
static inline void conform_emit(struct conform *c)
{
	kunit_info(c->test, "trace: %s", c->line);
	c->len = 0;
	c->line[0] = '\0';
}

/* Print one trace line at once. */
static inline __printf(2, 3) void conform_trace(struct conform *c,
						const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	conform_vadd(c, fmt, args);
	va_end(args);
	conform_emit(c);
}

/*
 * Print multi-line @text (debugfs, describe output) as one trace line per
 * line, each prefixed with @label; tabs are shown as "\t" so that no
 * whitespace is lost on the way through the console.
 */
static inline void conform_trace_text(struct conform *c, const char *label,
				      const char *text)
{
	const char *p = text;

	while (*p) {
		const char *end = strchrnul(p, '\n');

		conform_add(c, "%s: ", label);
		for (; p < end; p++) {
			if (*p == '\t')
				conform_add(c, "\\t");
			else
				conform_add(c, "%c", *p);
		}
		conform_emit(c);
		if (*p)
			p++;
	}
}

#endif
