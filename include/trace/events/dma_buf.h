/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trace events of the dma-buf core and its reservation objects.
 *
 * dma_buf_export, dma_buf_mmap_internal, dma_buf_mmap, dma_buf_put,
 * dma_buf_dynamic_attach, dma_buf_detach, dma_buf_fd and dma_buf_get are
 * mainline's (Linux 7.0): the same names, fields, types and output, so that
 * tools written for mainline read them unchanged.  The others are this
 * core's and describe the buffer the same way.
 *
 * The core emits an event only while the buffer is certainly alive: a call
 * that hands its reference over (dma_buf_fd(), dma_buf_put()) emits before
 * it does.  dma_buf_release marks the last file reference going away; the
 * buffer and its inode are still there when it fires.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dma_buf

#if !defined(_TRACE_DMA_BUF_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_DMA_BUF_H

#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/tracepoint.h>

/*
 * Filling in what every event records of its buffer @dmabuf and, for the
 * attachment events, of @attach on device @dev.  The fields themselves are
 * listed in each class, in mainline's order.
 */
#define DMA_BUF_TP_BUFFER_ASSIGN					\
	do {								\
		__assign_str(exp_name);					\
		__entry->size = dmabuf->size;				\
		/* A buffer leaked by its release has no file left. */	\
		__entry->ino = dmabuf->file ?				\
			file_inode(dmabuf->file)->i_ino : 0;		\
	} while (0)

#define DMA_BUF_TP_ATTACH_ASSIGN			\
	do {						\
		__assign_str(dev_name);			\
		DMA_BUF_TP_BUFFER_ASSIGN;		\
		__entry->attach = attach;		\
		__entry->is_dynamic = is_dynamic;	\
	} while (0)

/* Events about the buffer as a whole. */
DECLARE_EVENT_CLASS(dma_buf,
		    TP_PROTO(struct dma_buf *dmabuf),
		    TP_ARGS(dmabuf),
		    TP_STRUCT__entry(__string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)),
		    TP_fast_assign(DMA_BUF_TP_BUFFER_ASSIGN;),
		    TP_printk("exp_name=%s size=%zu ino=%lu",
			      __get_str(exp_name), __entry->size, __entry->ino)
);

/* Events about one device's attachment. */
DECLARE_EVENT_CLASS(dma_buf_attach_dev,
		    TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
			     bool is_dynamic, struct device *dev),
		    TP_ARGS(dmabuf, attach, is_dynamic, dev),
		    TP_STRUCT__entry(__string(dev_name, dev_name(dev))
				     __string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)
				     __field(struct dma_buf_attachment *, attach)
				     __field(bool, is_dynamic)),
		    TP_fast_assign(DMA_BUF_TP_ATTACH_ASSIGN;),
		    TP_printk("exp_name=%s size=%zu ino=%lu attachment:%p is_dynamic=%d dev_name=%s",
			      __get_str(exp_name), __entry->size, __entry->ino,
			      __entry->attach, __entry->is_dynamic, __get_str(dev_name))
);

/* Events about a file descriptor of the buffer in the current process. */
DECLARE_EVENT_CLASS(dma_buf_fd,
		    TP_PROTO(struct dma_buf *dmabuf, int fd),
		    TP_ARGS(dmabuf, fd),
		    TP_STRUCT__entry(__string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)
				     __field(int, fd)),
		    TP_fast_assign(DMA_BUF_TP_BUFFER_ASSIGN;
				   __entry->fd = fd;),
		    TP_printk("exp_name=%s size=%zu ino=%lu fd=%d",
			      __get_str(exp_name), __entry->size, __entry->ino,
			      __entry->fd)
);

/*
 * A mapping for an attachment, made or released for DMA direction @dir.
 * @cached: the mapping is the one the core keeps for the attachment, and
 * the exporter was not called: a map handing it out again, an unmap that
 * leaves it to dma_buf_detach().
 */
DECLARE_EVENT_CLASS(dma_buf_map,
		    TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
			     bool is_dynamic, struct device *dev, int dir, bool cached),
		    TP_ARGS(dmabuf, attach, is_dynamic, dev, dir, cached),
		    TP_STRUCT__entry(__string(dev_name, dev_name(dev))
				     __string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)
				     __field(struct dma_buf_attachment *, attach)
				     __field(bool, is_dynamic)
				     __field(int, dir)
				     __field(bool, cached)),
		    TP_fast_assign(DMA_BUF_TP_ATTACH_ASSIGN;
				   __entry->dir = dir;
				   __entry->cached = cached;),
		    TP_printk("exp_name=%s size=%zu ino=%lu attachment:%p is_dynamic=%d dev_name=%s dir=%d cached=%d",
			      __get_str(exp_name), __entry->size, __entry->ino,
			      __entry->attach, __entry->is_dynamic, __get_str(dev_name),
			      __entry->dir, __entry->cached)
);

/* The kernel mapping; @count is its number of users after the call. */
DECLARE_EVENT_CLASS(dma_buf_vmap_count,
		    TP_PROTO(struct dma_buf *dmabuf, unsigned int count),
		    TP_ARGS(dmabuf, count),
		    TP_STRUCT__entry(__string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)
				     __field(unsigned int, count)),
		    TP_fast_assign(DMA_BUF_TP_BUFFER_ASSIGN;
				   __entry->count = count;),
		    TP_printk("exp_name=%s size=%zu ino=%lu count=%u",
			      __get_str(exp_name), __entry->size, __entry->ino,
			      __entry->count)
);

/* CPU access in DMA direction @dir. */
DECLARE_EVENT_CLASS(dma_buf_cpu_access,
		    TP_PROTO(struct dma_buf *dmabuf, int dir),
		    TP_ARGS(dmabuf, dir),
		    TP_STRUCT__entry(__string(exp_name, dmabuf->exp_name)
				     __field(size_t, size)
				     __field(ino_t, ino)
				     __field(int, dir)),
		    TP_fast_assign(DMA_BUF_TP_BUFFER_ASSIGN;
				   __entry->dir = dir;),
		    TP_printk("exp_name=%s size=%zu ino=%lu dir=%d",
			      __get_str(exp_name), __entry->size, __entry->ino,
			      __entry->dir)
);

/* dma_buf_export() succeeded. */
DEFINE_EVENT(dma_buf, dma_buf_export,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* Userspace maps the fd: as mainline, before the exporter's mmap. */
DEFINE_EVENT(dma_buf, dma_buf_mmap_internal,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* dma_buf_mmap() for an importer, also before the exporter's mmap. */
DEFINE_EVENT(dma_buf, dma_buf_mmap,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* dma_buf_put(), before the reference goes. */
DEFINE_EVENT(dma_buf, dma_buf_put,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* dma_buf_move_notify(), before the importers hear of it. */
DEFINE_EVENT(dma_buf, dma_buf_move_notify,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* The last reference to the buffer's file is gone. */
DEFINE_EVENT(dma_buf, dma_buf_release,
	     TP_PROTO(struct dma_buf *dmabuf),
	     TP_ARGS(dmabuf));

/* Every attach that succeeded, static ones too (@is_dynamic false). */
DEFINE_EVENT(dma_buf_attach_dev, dma_buf_dynamic_attach,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev));

DEFINE_EVENT(dma_buf_attach_dev, dma_buf_detach,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev));

/*
 * dma_buf_pin() that succeeded, and dma_buf_unpin().  The pins the core
 * takes itself, for mappings that cannot follow moves, are not reported.
 */
DEFINE_EVENT(dma_buf_attach_dev, dma_buf_pin,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev));

DEFINE_EVENT(dma_buf_attach_dev, dma_buf_unpin,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev));

/* dma_buf_fd(), before the fd is installed: then it is userspace's. */
DEFINE_EVENT(dma_buf_fd, dma_buf_fd,
	     TP_PROTO(struct dma_buf *dmabuf, int fd),
	     TP_ARGS(dmabuf, fd));

DEFINE_EVENT(dma_buf_fd, dma_buf_get,
	     TP_PROTO(struct dma_buf *dmabuf, int fd),
	     TP_ARGS(dmabuf, fd));

/* Both variants of each, with the lock held and _unlocked. */
DEFINE_EVENT(dma_buf_map, dma_buf_map_attachment,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev, int dir, bool cached),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev, dir, cached));

DEFINE_EVENT(dma_buf_map, dma_buf_unmap_attachment,
	     TP_PROTO(struct dma_buf *dmabuf, struct dma_buf_attachment *attach,
		      bool is_dynamic, struct device *dev, int dir, bool cached),
	     TP_ARGS(dmabuf, attach, is_dynamic, dev, dir, cached));

DEFINE_EVENT(dma_buf_vmap_count, dma_buf_vmap,
	     TP_PROTO(struct dma_buf *dmabuf, unsigned int count),
	     TP_ARGS(dmabuf, count));

DEFINE_EVENT(dma_buf_vmap_count, dma_buf_vunmap,
	     TP_PROTO(struct dma_buf *dmabuf, unsigned int count),
	     TP_ARGS(dmabuf, count));

/* Begin after the wait for the device; end after the exporter. */
DEFINE_EVENT(dma_buf_cpu_access, dma_buf_begin_cpu_access,
	     TP_PROTO(struct dma_buf *dmabuf, int dir),
	     TP_ARGS(dmabuf, dir));

DEFINE_EVENT(dma_buf_cpu_access, dma_buf_end_cpu_access,
	     TP_PROTO(struct dma_buf *dmabuf, int dir),
	     TP_ARGS(dmabuf, dir));

/*
 * dma_resv_wait_timeout() on @resv for fences up to @usage that slept;
 * waits that found nothing pending stay silent.  @timeout is the one
 * requested, in jiffies, @ret the call's result, @duration_ns the time the
 * call took.
 */
TRACE_EVENT(dma_resv_wait,
	    TP_PROTO(const void *resv, int usage, long timeout, long ret,
		     u64 duration_ns),
	    TP_ARGS(resv, usage, timeout, ret, duration_ns),
	    TP_STRUCT__entry(__field(const void *, resv)
			     __field(int, usage)
			     __field(long, timeout)
			     __field(long, ret)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->resv = resv;
			   __entry->usage = usage;
			   __entry->timeout = timeout;
			   __entry->ret = ret;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("resv=%p usage=%d timeout=%ld ret=%ld duration_ns=%llu",
		      __entry->resv, __entry->usage, __entry->timeout, __entry->ret,
		      __entry->duration_ns)
);

#endif /* _TRACE_DMA_BUF_H */

/* Outside the guard: the trace machinery reads this file once per stage. */
#include <trace/define_trace.h>
