/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dma-buf: buffers shared between devices, drivers and processes.
 *
 * An exporter wraps memory it owns in a struct dma_buf; the buffer travels
 * as a file descriptor; importers attach their devices to it and ask for
 * scatterlists of DMA addresses.  See Documentation/driver-api/dma-buf.rst.
 */
#ifndef __DMA_BUF_H__
#define __DMA_BUF_H__

#include <linux/iosys-map.h>
#include <linux/file.h>
#include <linux/err.h>
#include <linux/scatterlist.h>
#include <linux/list.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/dma-fence.h>
#include <linux/wait.h>

struct device;
struct dma_buf;
struct dma_buf_attachment;

/**
 * struct dma_buf_ops - what an exporter implements for its buffers
 *
 * The core calls these on behalf of importers and userspace.  Only
 * @map_dma_buf, @unmap_dma_buf and @release are mandatory; dma_buf_export()
 * refuses a table without them.  "Resv lock" below is the buffer's
 * reservation lock, &dma_buf.resv.
 *
 * @cache_sgt_mapping:
 *	Ask the core to keep the first mapping of each attachment and hand
 *	it out again instead of calling @map_dma_buf for every map.  Such a
 *	mapping lives until the attachment is detached, so it cannot be
 *	combined with @pin/@unpin: dma_buf_export() refuses that.
 *
 * @attach:
 *	Optional.  Called when an importer attaches a device, before the
 *	attachment is visible to anyone else, without the resv lock held.
 *	The exporter may refuse a device it cannot reach by returning a
 *	negative error code, typically -EBUSY when the backing storage
 *	already sits where the new device cannot use it.  It may set
 *	&dma_buf_attachment.peer2peer to false when it cannot serve peer to
 *	peer transfers for this device.
 *
 * @detach:
 *	Optional.  Undoes @attach, without the resv lock held, after the
 *	attachment has left the buffer's list.
 *
 * @pin:
 *	Optional, and only together with @unpin; the pair makes the
 *	exporter dynamic (dma_buf_is_dynamic()).  Called with the resv lock
 *	held to keep the backing storage in place and reachable by the
 *	attachment's device, until @unpin.  Used for importers that cannot
 *	handle moves, and by dynamic importers through dma_buf_pin().
 *	Returns 0 or a negative error code.
 *
 * @unpin:
 *	Undoes one @pin, with the resv lock held.  Once nothing is pinned
 *	the exporter may move the buffer again, after telling the dynamic
 *	importers with dma_buf_move_notify().
 *
 * @map_dma_buf:
 *	Mandatory.  Returns a scatterlist with the DMA addresses of the
 *	whole buffer for &dma_buf_attachment.dev, mapped for @direction, or
 *	an ERR_PTR: -EINTR or -ERESTARTSYS when interrupted, -ENOMEM when
 *	out of memory.  A dynamic exporter is called with the resv lock
 *	held, and for a dynamic importer the mapping stays valid only until
 *	the next move_notify; an exporter that is not dynamic is also
 *	called with the resv lock held and must not take it itself.  The
 *	exporter may need to allocate or move backing storage here and may
 *	add fences for that work to the buffer's reservation object; the
 *	core waits for them before a static importer sees the list.
 *	Importers must use only the DMA addresses, never the pages.
 *
 * @unmap_dma_buf:
 *	Mandatory.  Releases a list from @map_dma_buf, with the resv lock
 *	held.  For dynamic exporters this also ends the implicit pin a
 *	mapping for a static importer holds.
 *
 * @release:
 *	Mandatory.  Frees the exporter's side of the buffer once the last
 *	reference to the buffer's file is gone.  Called exactly once per
 *	exported buffer, and never for an export that failed: the exporter
 *	still owns @priv then and cleans up itself.
 *
 * @begin_cpu_access:
 *	Optional.  Called by dma_buf_begin_cpu_access() and the SYNC ioctl
 *	before the CPU reads or writes the buffer, to make the CPU's view
 *	coherent (cache maintenance, allocating storage, moving it where the
 *	CPU can reach it).  Called without the resv lock; the exporter may
 *	take it.  Returns 0 or a negative error code, -ERESTARTSYS or
 *	-EINTR when interrupted.
 *
 * @end_cpu_access:
 *	Optional.  The counterpart of @begin_cpu_access once the CPU is
 *	done, e.g. to flush the CPU caches for the devices.  Same locking
 *	and return values.
 *
 * @mmap:
 *	Optional.  Maps the buffer (or the part @vma asks for, starting at
 *	vm_pgoff pages into the buffer; the core has checked that the range
 *	lies inside it) into a process, for mmap() on the buffer's fd and for
 *	dma_buf_mmap().  Called without the resv lock.  The mapping should
 *	be coherent; where it is not, userspace brackets its accesses with
 *	the SYNC ioctl, which ends up in @begin_cpu_access/@end_cpu_access.
 *	Returns 0 or a negative error code.
 *
 * @vmap:
 *	Optional.  Maps the whole buffer into the kernel's address space and
 *	fills @map.  Called with the resv lock held, and only when no kernel
 *	mapping exists: the core counts the users of the mapping.
 *
 * @vunmap:
 *	Optional.  Removes the mapping @vmap made, with the resv lock held,
 *	when its last user is gone.
 */
struct dma_buf_ops {
	bool cache_sgt_mapping;

	int (*attach)(struct dma_buf *dmabuf,
		      struct dma_buf_attachment *attach);
	void (*detach)(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach);
	int (*pin)(struct dma_buf_attachment *attach);
	void (*unpin)(struct dma_buf_attachment *attach);
	struct sg_table *(*map_dma_buf)(struct dma_buf_attachment *attach,
					enum dma_data_direction direction);
	void (*unmap_dma_buf)(struct dma_buf_attachment *attach,
			      struct sg_table *sgt,
			      enum dma_data_direction direction);
	void (*release)(struct dma_buf *dmabuf);
	int (*begin_cpu_access)(struct dma_buf *dmabuf,
				enum dma_data_direction direction);
	int (*end_cpu_access)(struct dma_buf *dmabuf,
			      enum dma_data_direction direction);
	int (*mmap)(struct dma_buf *dmabuf, struct vm_area_struct *vma);
	int (*vmap)(struct dma_buf *dmabuf, struct iosys_map *map);
	void (*vunmap)(struct dma_buf *dmabuf, struct iosys_map *map);
};

/**
 * struct dma_buf - a buffer shared between devices
 *
 * Made by dma_buf_export() and kept alive by references to @file: the
 * buffer goes away when the last file reference does.  Drivers read the
 * members documented here, which are 6.12's; the core keeps its own
 * bookkeeping outside the structure.
 *
 * @size: size of the buffer in bytes; fixed for the buffer's life.
 * @file: the file behind the buffer's fds; every reference to the buffer
 *	is a reference to this file.
 * @attachments: the buffer's &dma_buf_attachment list, under the resv
 *	lock.
 * @ops: the exporter's operations.
 * @vmapping_counter: users of the kernel mapping in @vmap_ptr, under the
 *	resv lock.
 * @vmap_ptr: the kernel mapping while @vmapping_counter is not zero.
 * @exp_name: name of the exporter, for debugging.
 * @name: a name userspace gave the buffer (DMA_BUF_SET_NAME), or NULL;
 *	read and replaced only under @name_lock.
 * @name_lock: protects @name.
 * @owner: the exporter's module, held while the buffer exists.
 * @list_node: core-private: the buffer's place in the registry that the
 *	debugfs listing walks; only with CONFIG_DEBUG_FS.
 * @priv: the exporter's data for this buffer.
 * @resv: the reservation object with the buffer's fences; the core's own
 *	unless the exporter passed one in &dma_buf_export_info.resv.
 * @poll: wait queue of poll() on the buffer's fds.
 * @cb_in: poll's fence callback for EPOLLIN (waits for writers).
 * @cb_out: poll's fence callback for EPOLLOUT (waits for all fences).
 * @sysfs_entry: the buffer's entry under /sys/kernel/dmabuf/buffers, with
 *	CONFIG_DMABUF_SYSFS_STATS.
 */
struct dma_buf {
	size_t size;
	struct file *file;
	struct list_head attachments;
	const struct dma_buf_ops *ops;
	unsigned int vmapping_counter;
	struct iosys_map vmap_ptr;
	const char *exp_name;
	const char *name;
	spinlock_t name_lock; /* protects name */
	struct module *owner;
#if IS_ENABLED(CONFIG_DEBUG_FS)
	struct list_head list_node;
#endif
	void *priv;
	struct dma_resv *resv;
	wait_queue_head_t poll;

	/*
	 * A fence callback armed by poll(): @cb sits on the fence poll
	 * waits for, @poll is the wait queue to wake (&dma_buf.poll), and
	 * @active holds the events to report while armed, 0 when idle,
	 * under the wait queue's lock.
	 */
	struct dma_buf_poll_cb_t {
		struct dma_fence_cb cb;
		wait_queue_head_t *poll;
		__poll_t active;
	} cb_in, cb_out;
#ifdef CONFIG_DMABUF_SYSFS_STATS
	/* The kobject of /sys/kernel/dmabuf/buffers/<inode>. */
	struct dma_buf_sysfs_entry {
		struct kobject kobj;
		struct dma_buf *dmabuf;
	} *sysfs_entry;
#endif
};

/**
 * struct dma_buf_attach_ops - what a dynamic importer implements
 * @allow_peer2peer: the importer can use DMA addresses of another
 *	device's memory (PCI peer to peer), which are not backed by struct
 *	page.  Copied into &dma_buf_attachment.peer2peer at attach time.
 * @move_notify: mandatory.  Called with the resv lock held when the
 *	exporter is about to move the buffer: mappings of this attachment
 *	become invalid once the fences in the reservation object signal, and
 *	the importer must map again before its next use.  May not fail; it
 *	can only queue work.
 *
 * An importer that passes these to dma_buf_dynamic_attach() is dynamic:
 * it maps with the resv lock held and handles moves.
 */
struct dma_buf_attach_ops {
	bool allow_peer2peer;

	void (*move_notify)(struct dma_buf_attachment *attach);
};

/**
 * struct dma_buf_attachment - one device attached to a buffer
 * @dmabuf: the buffer.
 * @dev: the attached device.
 * @node: entry in &dma_buf.attachments, under the resv lock.
 * @sgt: the cached mapping, or NULL.
 * @dir: the direction of @sgt.
 * @peer2peer: the importer accepts peer-to-peer addresses; the exporter
 *	may clear it in its &dma_buf_ops.attach.
 * @importer_ops: the importer's callbacks, NULL for a static importer.
 * @importer_priv: the importer's data for this attachment.
 * @priv: the exporter's data for this attachment.
 *
 * Made by dma_buf_attach() or dma_buf_dynamic_attach(), freed by
 * dma_buf_detach().  Mappings are made for an attachment, never for the
 * buffer as a whole, so that the exporter knows which device will use
 * them.
 */
struct dma_buf_attachment {
	struct dma_buf *dmabuf;
	struct device *dev;
	struct list_head node;
	struct sg_table *sgt;
	enum dma_data_direction dir;
	bool peer2peer;
	const struct dma_buf_attach_ops *importer_ops;
	void *importer_priv;
	void *priv;
};

/**
 * struct dma_buf_export_info - what dma_buf_export() needs to know
 * @exp_name: the exporter's name; DEFINE_DMA_BUF_EXPORT_INFO() sets the
 *	module's name.
 * @owner: the exporter's module; DEFINE_DMA_BUF_EXPORT_INFO() sets it.
 * @ops: the exporter's operations.
 * @size: size of the buffer in bytes.
 * @flags: O_ACCMODE and O_NONBLOCK flags for the buffer's file.
 * @resv: a reservation object to use, or NULL for one of the buffer's own.
 * @priv: the exporter's data, &dma_buf.priv; must not be NULL.
 */
struct dma_buf_export_info {
	const char *exp_name;
	struct module *owner;
	const struct dma_buf_ops *ops;
	size_t size;
	int flags;
	struct dma_resv *resv;
	void *priv;
};

/**
 * DEFINE_DMA_BUF_EXPORT_INFO - declare a &dma_buf_export_info
 * @name: the variable's name
 *
 * Fills in the exporter's name and module, so that only the buffer's own
 * fields are left to set.
 */
#define DEFINE_DMA_BUF_EXPORT_INFO(name)	\
	struct dma_buf_export_info name = { .exp_name = KBUILD_MODNAME, \
					 .owner = THIS_MODULE }

void dma_buf_track_get(struct dma_buf *dmabuf);

/**
 * get_dma_buf - take another reference to a buffer
 * @dmabuf: the buffer, which the caller already holds a reference to
 *
 * The reference is a reference to &dma_buf.file; drop it with
 * dma_buf_put().  With CONFIG_DMABUF_DEBUG_HOLDERS the holder tracker
 * records who took it.
 *
 * Context: any context.
 */
static inline void get_dma_buf(struct dma_buf *dmabuf)
{
	get_file(dmabuf->file);
	if (IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS))
		dma_buf_track_get(dmabuf);
}

/**
 * dma_buf_is_dynamic - whether the exporter can move the buffer
 * @dmabuf: the buffer
 *
 * Return: true when the exporter implements &dma_buf_ops.pin: it maps
 * with the resv lock held and may move the buffer while nothing pins it.
 */
static inline bool dma_buf_is_dynamic(struct dma_buf *dmabuf)
{
	return !!dmabuf->ops->pin;
}

/**
 * dma_buf_attachment_is_dynamic - whether the importer handles moves
 * @attach: the attachment
 *
 * Return: true when the attachment was made with &dma_buf_attach_ops.
 */
static inline bool
dma_buf_attachment_is_dynamic(struct dma_buf_attachment *attach)
{
	return !!attach->importer_ops;
}

struct dma_buf_attachment *dma_buf_attach(struct dma_buf *dmabuf,
					  struct device *dev);
struct dma_buf_attachment *
dma_buf_dynamic_attach(struct dma_buf *dmabuf, struct device *dev,
		       const struct dma_buf_attach_ops *importer_ops,
		       void *importer_priv);
void dma_buf_detach(struct dma_buf *dmabuf,
		    struct dma_buf_attachment *attach);
int dma_buf_pin(struct dma_buf_attachment *attach);
void dma_buf_unpin(struct dma_buf_attachment *attach);

struct dma_buf *dma_buf_export(const struct dma_buf_export_info *exp_info);

int dma_buf_fd(struct dma_buf *dmabuf, int flags);
struct dma_buf *dma_buf_get(int fd);
void dma_buf_put(struct dma_buf *dmabuf);

struct sg_table *dma_buf_map_attachment(struct dma_buf_attachment *attach,
					enum dma_data_direction direction);
void dma_buf_unmap_attachment(struct dma_buf_attachment *attach,
			      struct sg_table *sg_table,
			      enum dma_data_direction direction);
void dma_buf_move_notify(struct dma_buf *dma_buf);
int dma_buf_begin_cpu_access(struct dma_buf *dma_buf,
			     enum dma_data_direction dir);
int dma_buf_end_cpu_access(struct dma_buf *dma_buf,
			   enum dma_data_direction dir);
struct sg_table *
dma_buf_map_attachment_unlocked(struct dma_buf_attachment *attach,
				enum dma_data_direction direction);
void dma_buf_unmap_attachment_unlocked(struct dma_buf_attachment *attach,
				       struct sg_table *sg_table,
				       enum dma_data_direction direction);

int dma_buf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma,
		 unsigned long pgoff);
int dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map);
void dma_buf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map);
int dma_buf_vmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map);
void dma_buf_vunmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map);
#endif /* __DMA_BUF_H__ */
