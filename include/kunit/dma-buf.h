/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A KUnit kit for testing dma-buf exporters and importers: a configurable
 * fake exporter, fake importers that record move notifications, and a
 * contract checker that drives any dma-buf through the importer-visible
 * API and reports what its exporter got wrong.
 *
 * Everything here uses the public dma-buf and dma-resv API only, so the
 * kit works the same on any implementation of the core.  See
 * Documentation/driver-api/dma-buf-testing.rst.
 */
#ifndef _KUNIT_DMA_BUF_H
#define _KUNIT_DMA_BUF_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct device;
struct dma_resv;
struct kunit;
struct page;
struct sg_table;

/**
 * enum kunit_dma_buf_op - the callbacks of the kit's exporter
 * @KUNIT_DMA_BUF_OP_ATTACH: &dma_buf_ops.attach
 * @KUNIT_DMA_BUF_OP_DETACH: &dma_buf_ops.detach
 * @KUNIT_DMA_BUF_OP_PIN: &dma_buf_ops.pin
 * @KUNIT_DMA_BUF_OP_UNPIN: &dma_buf_ops.unpin
 * @KUNIT_DMA_BUF_OP_MAP: &dma_buf_ops.map_dma_buf
 * @KUNIT_DMA_BUF_OP_UNMAP: &dma_buf_ops.unmap_dma_buf
 * @KUNIT_DMA_BUF_OP_RELEASE: &dma_buf_ops.release
 * @KUNIT_DMA_BUF_OP_BEGIN_CPU: &dma_buf_ops.begin_cpu_access
 * @KUNIT_DMA_BUF_OP_END_CPU: &dma_buf_ops.end_cpu_access
 * @KUNIT_DMA_BUF_OP_MMAP: &dma_buf_ops.mmap
 * @KUNIT_DMA_BUF_OP_VMAP: &dma_buf_ops.vmap
 * @KUNIT_DMA_BUF_OP_VUNMAP: &dma_buf_ops.vunmap
 * @KUNIT_DMA_BUF_NR_OPS: the number of callbacks
 *
 * Indexes &kunit_dma_buf_exporter.calls, .lock_errors and .fail.
 */
enum kunit_dma_buf_op {
	KUNIT_DMA_BUF_OP_ATTACH,
	KUNIT_DMA_BUF_OP_DETACH,
	KUNIT_DMA_BUF_OP_PIN,
	KUNIT_DMA_BUF_OP_UNPIN,
	KUNIT_DMA_BUF_OP_MAP,
	KUNIT_DMA_BUF_OP_UNMAP,
	KUNIT_DMA_BUF_OP_RELEASE,
	KUNIT_DMA_BUF_OP_BEGIN_CPU,
	KUNIT_DMA_BUF_OP_END_CPU,
	KUNIT_DMA_BUF_OP_MMAP,
	KUNIT_DMA_BUF_OP_VMAP,
	KUNIT_DMA_BUF_OP_VUNMAP,
	KUNIT_DMA_BUF_NR_OPS,
};

/* The made-up DMA address of the exporter's first page. */
#define KUNIT_DMA_BUF_DMA_BASE	0x40000000ULL

/* The exporter's size when its configuration does not name one. */
#define KUNIT_DMA_BUF_DEFAULT_PAGES	4

/**
 * struct kunit_dma_buf_exporter_config - how to build an exporter
 * @size: bytes of every buffer, a multiple of PAGE_SIZE; 0 for
 *	%KUNIT_DMA_BUF_DEFAULT_PAGES pages
 * @dynamic: give the exporter pin and unpin callbacks
 * @cache_sgt_mapping: set &dma_buf_ops.cache_sgt_mapping (the core
 *	refuses it for a dynamic exporter)
 * @shared_sgt: hand the same preallocated sg_table to every map call
 *	instead of a fresh one (no allocation per call, for benchmarks)
 * @read_only: export with O_RDONLY instead of O_RDWR
 * @name: &dma_buf_export_info.exp_name; NULL for "kunit-dma-buf"
 * @resv: a reservation object for the buffers to share; NULL to let the
 *	core embed one in each buffer
 */
struct kunit_dma_buf_exporter_config {
	size_t size;
	bool dynamic;
	bool cache_sgt_mapping;
	bool shared_sgt;
	bool read_only;
	const char *name;
	struct dma_resv *resv;
};

/**
 * struct kunit_dma_buf_exporter - a fake exporter backed by real pages
 * @test: the test that made it
 * @ops: the callbacks every buffer of this exporter uses; a test may
 *	change them (clear one, wrap one) before exporting.  The kit finds
 *	its exporter from a buffer through this member, not through
 *	&dma_buf.priv.
 * @size: bytes of every buffer
 * @nr_pages: pages behind every buffer (@size / PAGE_SIZE)
 * @pages: the pages; every buffer of the exporter shows the same ones
 * @vaddr: a kernel mapping of @pages, what vmap hands out
 * @read_only: buffers are exported O_RDONLY
 * @name: the exporter name buffers carry
 * @resv: the shared reservation object, or NULL
 * @dmabuf: the buffer kunit_dma_buf_export() made last
 * @calls: how many times each callback ran
 * @lock_errors: callbacks that ran with the reservation lock in the wrong
 *	state for the 6.12 convention (see kunit_dma_buf_op_locked())
 * @bad_calls: calls with arguments the exporter never handed out: an
 *	unknown sg_table or vmap address, an unpin or vunmap too many, an
 *	attachment of another buffer
 * @exported: buffers made by kunit_dma_buf_export() and
 *	kunit_dma_buf_try_export()
 * @released: release callbacks that ran
 * @pins: pins currently held (pins minus unpins)
 * @vmaps: vmaps currently held
 * @live_tables: sg_tables handed out and not given back
 * @fail: the error each callback returns instead of doing its work (0:
 *	succeed); only the callbacks that return an int use it, and map
 *	returns ERR_PTR() of it
 * @map_null: map returns NULL
 * @map_empty: map returns a table without entries
 * @vmap_no_addr: vmap returns 0 without setting an address
 * @clear_p2p: attach clears &dma_buf_attachment.peer2peer
 * @mmap_record_only: mmap records its arguments but maps nothing, for a
 *	test that hands in a made-up vma
 * @last_attach: the attachment the last attach, detach or map saw
 * @attach_dev: &dma_buf_attachment.dev at the last attach
 * @attach_importer_ops: &dma_buf_attachment.importer_ops at the last attach
 * @attach_importer_priv: &dma_buf_attachment.importer_priv at the last attach
 * @attach_p2p: &dma_buf_attachment.peer2peer at the last attach
 * @live_at_detach: @live_tables when the last detach ran
 * @pins_at_detach: @pins when the last detach ran
 * @map_dir: the direction the last map was given
 * @unmap_dir: the direction the last unmap was given
 * @begin_dir: the direction the last begin_cpu_access was given
 * @end_dir: the direction the last end_cpu_access was given
 * @mmap_vma: the vma the last mmap was given
 * @mmap_pgoff: its &vm_area_struct.vm_pgoff at the call
 * @vunmap_map: the map the last vunmap was given (the caller's)
 * @attachments: attachments attach accepted and detach has not seen yet
 *
 * Counters are atomic so that kernel threads may share an exporter; the
 * "last ..." members are only meaningful to a test that calls from one
 * thread.  Read and set the plain members between calls, never while
 * another thread is inside the exporter.
 *
 * A callback the core must call without the lock is checked only while
 * lockdep runs: without it the kit cannot tell the caller's hold from
 * another thread's.
 */
struct kunit_dma_buf_exporter {
	struct kunit *test;
	struct dma_buf_ops ops;
	size_t size;
	unsigned int nr_pages;
	struct page **pages;
	void *vaddr;
	bool read_only;
	const char *name;
	struct dma_resv *resv;
	struct dma_buf *dmabuf;

	atomic_t calls[KUNIT_DMA_BUF_NR_OPS];
	atomic_t lock_errors[KUNIT_DMA_BUF_NR_OPS];
	atomic_t bad_calls;
	atomic_t exported, released;
	atomic_t pins, vmaps, live_tables;

	int fail[KUNIT_DMA_BUF_NR_OPS];
	bool map_null;
	bool map_empty;
	bool vmap_no_addr;
	bool clear_p2p;
	bool mmap_record_only;

	struct dma_buf_attachment *last_attach;
	struct device *attach_dev;
	const struct dma_buf_attach_ops *attach_importer_ops;
	void *attach_importer_priv;
	bool attach_p2p;
	int live_at_detach, pins_at_detach;
	enum dma_data_direction map_dir, unmap_dir, begin_dir, end_dir;
	struct vm_area_struct *mmap_vma;
	unsigned long mmap_pgoff;
	const struct iosys_map *vunmap_map;
	atomic_t attachments;

	/* private: */
	/* tables handed out, to check unmap; live buffers, each a reference */
	spinlock_t tables_lock;
	struct list_head tables;
	struct sg_table *shared;
	struct list_head bufs;
	refcount_t refs;
};

/*
 * Every callback of the kit's exporter, for a test that wraps one of them
 * in &kunit_dma_buf_exporter.ops and calls the original from its wrapper.
 */
extern const struct dma_buf_ops kunit_dma_buf_exporter_ops;

struct kunit_dma_buf_exporter *
kunit_dma_buf_exporter_create(struct kunit *test,
			      const struct kunit_dma_buf_exporter_config *cfg);
struct kunit_dma_buf_exporter *kunit_dma_buf_exporter_of(struct dma_buf *dmabuf);
void kunit_dma_buf_exporter_fail(struct kunit_dma_buf_exporter *exp,
				 enum kunit_dma_buf_op op, int err);
void kunit_dma_buf_fill_info(struct kunit_dma_buf_exporter *exp,
			     struct dma_buf_export_info *info);
struct dma_buf *kunit_dma_buf_try_export(struct kunit_dma_buf_exporter *exp,
					 struct dma_buf_export_info *info);
struct dma_buf *kunit_dma_buf_export(struct kunit_dma_buf_exporter *exp);
void kunit_dma_buf_put_final(struct kunit_dma_buf_exporter *exp,
			     struct dma_buf *dmabuf);
void kunit_dma_buf_expect_balanced(struct kunit_dma_buf_exporter *exp);
int kunit_dma_buf_lock_errors(struct kunit_dma_buf_exporter *exp);
bool kunit_dma_buf_op_locked(enum kunit_dma_buf_op op);
const char *kunit_dma_buf_op_name(enum kunit_dma_buf_op op);
bool kunit_dma_buf_resv_held(struct dma_resv *resv);

/**
 * kunit_dma_buf_calls() - how many times a callback of the exporter ran
 * @exp: the exporter
 * @op: the callback
 *
 * Context: any.
 * Return: the count.
 */
static inline int kunit_dma_buf_calls(struct kunit_dma_buf_exporter *exp,
				      enum kunit_dma_buf_op op)
{
	return atomic_read(&exp->calls[op]);
}

/**
 * kunit_dma_buf_dma_addr() - the made-up DMA address of a page
 * @pgoff: the page's index in the buffer
 *
 * The kit's exporter puts this address in the table entry of page @pgoff.
 *
 * Context: any.
 * Return: the address.
 */
static inline dma_addr_t kunit_dma_buf_dma_addr(unsigned long pgoff)
{
	return KUNIT_DMA_BUF_DMA_BASE + (dma_addr_t)pgoff * PAGE_SIZE;
}

/**
 * struct kunit_dma_buf_importer - a fake importer with its own device
 * @test: the test that made it
 * @dev: the importer's device (a KUnit device with a 64-bit DMA mask)
 * @ops: what dynamic attachments pass to the core: move_notify is the
 *	kit's recorder and allow_peer2peer is true; a test may change them
 *	before attaching
 * @dmabuf: the buffer of the last attach
 * @attach: the current attachment, or NULL
 * @dynamic: @attach is a dynamic attachment
 * @attached: attachments this importer currently holds (0 or 1); set
 *	before the core is asked, so a move notification that races with
 *	the attach is never taken for a stray one
 * @moves: move notifications received
 * @lock_errors: move notifications received without the reservation lock
 * @bad_moves: move notifications for an attachment this importer does not
 *	hold (another buffer's, or after detach)
 * @last_move: the attachment of the last move notification
 * @on_move: called from the move notification after it was recorded, with
 *	the reservation lock held, e.g. to unmap like a real importer
 * @priv: for the test
 */
struct kunit_dma_buf_importer {
	struct kunit *test;
	struct device *dev;
	struct dma_buf_attach_ops ops;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	bool dynamic;
	atomic_t attached;
	atomic_t moves, lock_errors, bad_moves;
	struct dma_buf_attachment *last_move;
	void (*on_move)(struct kunit_dma_buf_importer *imp,
			struct dma_buf_attachment *attach);
	void *priv;
};

struct device *kunit_dma_buf_device(struct kunit *test, const char *name);
struct kunit_dma_buf_importer *
kunit_dma_buf_importer_create(struct kunit *test, const char *name);
struct dma_buf_attachment *
kunit_dma_buf_importer_try_attach(struct kunit_dma_buf_importer *imp,
				  struct dma_buf *dmabuf, bool dynamic);
struct dma_buf_attachment *
kunit_dma_buf_importer_attach(struct kunit_dma_buf_importer *imp,
			      struct dma_buf *dmabuf, bool dynamic);
void kunit_dma_buf_importer_detach(struct kunit_dma_buf_importer *imp);

/**
 * enum kunit_dma_buf_check_step - what the contract checker drives
 * @KUNIT_DMA_BUF_CHECK_ATTACH: static and dynamic attach and detach, two
 *	importers at once
 * @KUNIT_DMA_BUF_CHECK_MAP: map and unmap of static attachments; the
 *	sg_table must cover the buffer with usable DMA segments
 * @KUNIT_DMA_BUF_CHECK_PIN: a dynamic attachment: pin, map under the
 *	reservation lock, unmap, unpin
 * @KUNIT_DMA_BUF_CHECK_VMAP: vmap, a nested vmap, writing and reading
 *	through the mapping, vunmap, and the contents kept for the next vmap
 * @KUNIT_DMA_BUF_CHECK_CPU_ACCESS: begin and end CPU access in every
 *	direction
 * @KUNIT_DMA_BUF_CHECK_MMAP: mmap of the whole buffer and of its tail into
 *	the test's user memory; every page readable (and writable when the
 *	file is), the same memory vmap shows
 * @KUNIT_DMA_BUF_CHECK_NR_STEPS: the number of steps
 */
enum kunit_dma_buf_check_step {
	KUNIT_DMA_BUF_CHECK_ATTACH,
	KUNIT_DMA_BUF_CHECK_MAP,
	KUNIT_DMA_BUF_CHECK_PIN,
	KUNIT_DMA_BUF_CHECK_VMAP,
	KUNIT_DMA_BUF_CHECK_CPU_ACCESS,
	KUNIT_DMA_BUF_CHECK_MMAP,
	KUNIT_DMA_BUF_CHECK_NR_STEPS,
};

/* Every step, for &kunit_dma_buf_check_options.steps and .required. */
#define KUNIT_DMA_BUF_CHECK_ALL	(BIT(KUNIT_DMA_BUF_CHECK_NR_STEPS) - 1)

/**
 * enum kunit_dma_buf_check_status - the outcome of one step
 * @KUNIT_DMA_BUF_CHECK_NOT_RUN: not asked for, or an earlier step it needs
 *	failed
 * @KUNIT_DMA_BUF_CHECK_PASSED: ran and found nothing wrong
 * @KUNIT_DMA_BUF_CHECK_UNSUPPORTED: the exporter does not offer it (no
 *	vmap or mmap callback: the core's -EINVAL) and it was not required
 * @KUNIT_DMA_BUF_CHECK_FAILED: found at least one problem
 */
enum kunit_dma_buf_check_status {
	KUNIT_DMA_BUF_CHECK_NOT_RUN,
	KUNIT_DMA_BUF_CHECK_PASSED,
	KUNIT_DMA_BUF_CHECK_UNSUPPORTED,
	KUNIT_DMA_BUF_CHECK_FAILED,
};

/**
 * struct kunit_dma_buf_check_options - what to check and how
 * @dev: the device every attachment is made for, for an exporter that
 *	only accepts its own devices; NULL for two KUnit devices with a
 *	64-bit DMA mask, so that two importers attach at once
 * @steps: the steps to run (BIT() of &enum kunit_dma_buf_check_step);
 *	0 for all of them
 * @required: steps the exporter must support: "unsupported" counts as a
 *	problem for these
 * @quiet: do not log each problem (the result still has them)
 */
struct kunit_dma_buf_check_options {
	struct device *dev;
	unsigned long steps;
	unsigned long required;
	bool quiet;
};

/**
 * struct kunit_dma_buf_check_result - what the contract checker found
 * @status: the outcome of every step
 * @problems: the number of contract violations found
 * @failed: the steps that found one (BIT() of the step)
 * @first: the first problem, as logged
 */
struct kunit_dma_buf_check_result {
	enum kunit_dma_buf_check_status status[KUNIT_DMA_BUF_CHECK_NR_STEPS];
	unsigned int problems;
	unsigned long failed;
	char first[160];
};

int kunit_dma_buf_check(struct kunit *test, struct dma_buf *dmabuf,
			const struct kunit_dma_buf_check_options *opts,
			struct kunit_dma_buf_check_result *result);
void kunit_dma_buf_expect_contract(struct kunit *test, struct dma_buf *dmabuf,
				   const struct kunit_dma_buf_check_options *opts);
const char *kunit_dma_buf_check_step_name(enum kunit_dma_buf_check_step step);

/**
 * KUNIT_EXPECT_DMA_BUF_CONTRACT() - the buffer's exporter honours the contract
 * @test: the running test
 * @dmabuf: the buffer to drive
 *
 * Runs every step of the contract checker with default options and fails
 * @test with one message per problem found.
 */
#define KUNIT_EXPECT_DMA_BUF_CONTRACT(test, dmabuf) \
	kunit_dma_buf_expect_contract(test, dmabuf, NULL)

struct dma_buf *kunit_dma_buf_heap_alloc(struct kunit *test,
					 const char *heap, size_t size);
struct dma_buf *kunit_dma_buf_udmabuf_create(struct kunit *test, size_t size);

#endif /* _KUNIT_DMA_BUF_H */
