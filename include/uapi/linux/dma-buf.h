/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctls a process may issue on a dma-buf file descriptor.
 *
 * A dma-buf fd stands for a buffer owned by some kernel driver (the
 * exporter).  Besides these ioctls the fd supports mmap() for CPU access,
 * poll() to wait for the device work queued on the buffer, lseek() to learn
 * its size, and /proc/<pid>/fdinfo/<fd> for a short description.
 */

#ifndef _DMA_BUF_UAPI_H_
#define _DMA_BUF_UAPI_H_

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct dma_buf_sync - bracket CPU access to a mapped buffer
 *
 * A CPU mapping of a dma-buf is not necessarily coherent with what devices
 * see: caches may need flushing or invalidating, or the exporter may have
 * to move the data somewhere the CPU can reach.  A process therefore wraps
 * every stretch of CPU access in two DMA_BUF_IOCTL_SYNC calls, one with
 * DMA_BUF_SYNC_START before touching the mapping and one with
 * DMA_BUF_SYNC_END afterwards, both naming the same kind of access.
 *
 * This is about coherency only.  It does not lock the buffer against other
 * processes or devices, and it does not order the access against queued
 * device work: to wait for that, poll() the fd (implicit fences) or wait
 * on the sync_file or other primitive the driver uses (explicit fences)
 * before the START call, and submit dependent device work only after the
 * END call.
 */
struct dma_buf_sync {
	/**
	 * @flags: what the CPU access does, and whether it begins or ends
	 *
	 * DMA_BUF_SYNC_START or DMA_BUF_SYNC_END (START is zero),
	 * combined with at least one of:
	 *
	 * DMA_BUF_SYNC_READ:
	 *     the CPU reads the buffer through its mapping.
	 *
	 * DMA_BUF_SYNC_WRITE:
	 *     the CPU writes the buffer through its mapping.
	 *
	 * DMA_BUF_SYNC_RW is both of them.  Any other bit makes the ioctl
	 * fail with EINVAL, and so does naming neither READ nor WRITE.
	 */
	__u64 flags;
};

#define DMA_BUF_SYNC_READ      (1 << 0)
#define DMA_BUF_SYNC_WRITE     (2 << 0)
#define DMA_BUF_SYNC_RW        (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START     (0 << 2)
#define DMA_BUF_SYNC_END       (1 << 2)
#define DMA_BUF_SYNC_VALID_FLAGS_MASK \
	(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)

/* Room for a buffer name, terminating NUL included. */
#define DMA_BUF_NAME_LEN	32

/**
 * struct dma_buf_export_sync_file - take the buffer's fences out as a sync_file
 *
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE returns a new sync_file fd whose fence
 * signals once the fences attached to the buffer at the time of the call
 * have signaled.  poll() on the dma-buf waits for whatever is attached
 * while it waits; this instead freezes the current set, to be waited for
 * later or handed to an API with explicit synchronization (Vulkan, for
 * instance).  With nothing to wait for, the sync_file is already signaled.
 *
 * Together with DMA_BUF_IOCTL_IMPORT_SYNC_FILE it lets an explicitly
 * synchronized client take part in implicit synchronization:
 *
 *  1. export a sync_file for the access the client's job will make;
 *
 *  2. run the job after that sync_file signals, getting a sync_file for
 *     the job's completion;
 *
 *  3. import the completion sync_file into the buffer for that access.
 *
 * The three steps are separate calls.  Nothing stops another client from
 * adding fences or work in between; a client that needs a strict order
 * has to arrange for it itself.
 */
struct dma_buf_export_sync_file {
	/**
	 * @flags: the access the fences are wanted for
	 *
	 * DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE or both; anything else
	 * is EINVAL.
	 *
	 * READ alone: the sync_file covers the buffer's writers, so it
	 * signals when the buffer may be read (like poll() for POLLIN).
	 *
	 * WRITE, with or without READ: the sync_file covers every reader
	 * and writer, so it signals when the buffer may be written (like
	 * poll() for POLLOUT).
	 */
	__u32 flags;
	/** @fd: set by the kernel: the new sync_file (close-on-exec) */
	__s32 fd;
};

/**
 * struct dma_buf_import_sync_file - attach a sync_file's fences to the buffer
 *
 * DMA_BUF_IOCTL_IMPORT_SYNC_FILE adds the fences of a sync_file to the
 * buffer's implicit fences, so that drivers and processes that synchronize
 * implicitly (OpenGL, most media drivers) wait for work that was submitted
 * with explicit synchronization.
 */
struct dma_buf_import_sync_file {
	/**
	 * @flags: how the imported work uses the buffer
	 *
	 * DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE or both; anything else
	 * is EINVAL.
	 *
	 * READ alone: the fences count as readers.  Later writers wait
	 * for them, later readers do not.
	 *
	 * WRITE, with or without READ: the fences count as writers, and
	 * every later access waits for them.
	 */
	__u32 flags;
	/** @fd: the sync_file whose fences are added */
	__s32 fd;
};

#define DMA_BUF_BASE		'b'
#define DMA_BUF_IOCTL_SYNC	_IOW(DMA_BUF_BASE, 0, struct dma_buf_sync)

/*
 * The name ioctl got its number from the size of a pointer, so 32-bit and
 * 64-bit builds of userspace ended up with different numbers for the same
 * call.  Both are accepted on every kernel; the argument is always a
 * pointer to a NUL-terminated string of at most DMA_BUF_NAME_LEN bytes.
 */
#define DMA_BUF_SET_NAME	_IOW(DMA_BUF_BASE, 1, const char *)
#define DMA_BUF_SET_NAME_A	_IOW(DMA_BUF_BASE, 1, __u32)
#define DMA_BUF_SET_NAME_B	_IOW(DMA_BUF_BASE, 1, __u64)
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE	_IOWR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE	_IOW(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file)

#endif
