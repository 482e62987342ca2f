/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's virtual devices as dma-buf exporters and importers, for the
 * userspace programs: vgem (GEM buffers, PRIME export and import, its
 * fences) and vivid (V4L2 capture: VIDIOC_EXPBUF export, V4L2_MEMORY_DMABUF
 * import).  The test kernels boot vivid instances (UML_ARGS in
 * host/uml.sh): instance 0 allocates with videobuf2-vmalloc, instance 1
 * with videobuf2-dma-contig.  Devices are found by what they say they are,
 * not by node number.
 *
 * Every function returns -1 with errno set on failure unless it says
 * otherwise.
 */
#ifndef DMABUF_DRIVERS_H
#define DMABUF_DRIVERS_H

#include "dmabuf-util.h"

#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <drm/vgem_drm.h>
#include <linux/videodev2.h>
#include <poll.h>

/* An ioctl retried on EINTR/EAGAIN, as libdrm's drmIoctl does. */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

/* ---- DRM ---------------------------------------------------------------- */

/*
 * Open the DRM primary node whose driver is @driver ("vgem", "vkms"); -1
 * with errno ENODEV when none is.
 */
static inline int drm_open_driver(const char *driver)
{
	char path[32], name[32];

	for (int i = 0; i < 16; i++) {
		struct drm_version v = { 0 };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!xioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, driver))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

/* A GEM handle to a dumb buffer of width x height at bpp; *pitch, *size out. */
static inline int drm_dumb_create(int card, unsigned int width,
				  unsigned int height, unsigned int bpp,
				  __u32 *handle, __u32 *pitch, __u64 *size)
{
	struct drm_mode_create_dumb c = {
		.width = width, .height = height, .bpp = bpp,
	};

	if (xioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -1;
	*handle = c.handle;
	if (pitch)
		*pitch = c.pitch;
	if (size)
		*size = c.size;
	return 0;
}

static inline void drm_close_handle(int card, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	xioctl(card, DRM_IOCTL_GEM_CLOSE, &c);
}

/* Map a dumb buffer's GEM handle through the card; MAP_FAILED on error. */
static inline void *drm_dumb_map(int card, __u32 handle, size_t len, int prot)
{
	struct drm_mode_map_dumb m = { .handle = handle };

	if (xioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return MAP_FAILED;
	return mmap(NULL, len, prot, MAP_SHARED, card, m.offset);
}

/* PRIME: a dma-buf fd for @handle (flags DRM_CLOEXEC | DRM_RDWR as a rule). */
static inline int drm_prime_export(int card, __u32 handle, __u32 flags)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags };

	if (xioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -1;
	return p.fd;
}

/* PRIME: the card's GEM handle for dma-buf @fd, in *handle. */
static inline int drm_prime_import(int card, int fd, __u32 *handle)
{
	struct drm_prime_handle p = { .fd = fd };

	if (xioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -1;
	*handle = p.handle;
	return 0;
}

/*
 * A dma-buf of at least @len bytes exported by vgem (a dumb buffer one
 * page wide in pixels of 4 bytes).  The GEM object lives as long as the
 * dma-buf: the handle and the card are closed before returning.
 */
static inline int vgem_alloc(size_t len)
{
	unsigned int width = page_size() / 4;
	__u32 handle;
	int card, fd, err;

	card = drm_open_driver("vgem");
	if (card < 0)
		return -1;
	if (drm_dumb_create(card, width, (len + page_size() - 1) / page_size(),
			    32, &handle, NULL, NULL)) {
		err = errno;
		close(card);
		errno = err;
		return -1;
	}
	fd = drm_prime_export(card, handle, DRM_CLOEXEC | DRM_RDWR);
	err = errno;
	drm_close_handle(card, handle);
	close(card);
	errno = err;
	return fd;
}

/*
 * vgem fences: attach an unsignaled fence to GEM @handle's reservation
 * object (@write: as its writer, VGEM_FENCE_WRITE, else as a reader); the
 * fence's id is returned in *fence.  vgem signals it itself after 10 s.
 */
static inline int vgem_fence_attach(int card, __u32 handle, bool write,
				    __u32 *fence)
{
	struct drm_vgem_fence_attach a = {
		.handle = handle,
		.flags = write ? VGEM_FENCE_WRITE : 0,
	};

	if (xioctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		return -1;
	*fence = a.out_fence;
	return 0;
}

static inline int vgem_fence_signal(int card, __u32 fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return xioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

/* ---- vivid (V4L2) ----------------------------------------------------- */

enum vivid_alloc {
	VIVID_VMALLOC = 0,	/* instance 0: videobuf2-vmalloc */
	VIVID_DMA_CONTIG = 1,	/* instance 1: videobuf2-dma-contig */
};

/*
 * Open the capture node of vivid instance @inst; -1 with errno ENODEV when
 * the kernel has none.
 */
static inline int vivid_open(enum vivid_alloc inst)
{
	char path[32], want[32];

	snprintf(want, sizeof(want), "platform:vivid-%03d", (int)inst);
	for (int i = 0; i < 64; i++) {
		struct v4l2_capability cap = { 0 };
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!xioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    !strcmp((char *)cap.bus_info, want) &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

/* The /dev/videoN path of instance @inst into @out; false if absent. */
static inline bool vivid_path(enum vivid_alloc inst, char *out, size_t len)
{
	char link[64];
	int fd = vivid_open(inst);
	ssize_t n;

	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	out[n] = 0;
	return true;
}

/*
 * Set a single-planar capture format on @vid; what the driver chose comes
 * back in *fmt (width, height, bytesperline, sizeimage).  The driver may
 * adjust the size: callers check *fmt.
 */
static inline int vivid_set_format(int vid, __u32 fourcc, __u32 width,
				   __u32 height, struct v4l2_pix_format *fmt)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

	f.fmt.pix.pixelformat = fourcc;
	f.fmt.pix.width = width;
	f.fmt.pix.height = height;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(vid, VIDIOC_S_FMT, &f))
		return -1;
	if (fmt)
		*fmt = f.fmt.pix;
	return 0;
}

/*
 * A picture that is the same in every frame: no on-screen text (frame
 * counter, time) over vivid's test pattern, which is otherwise still.
 * Controls that this vivid lacks are passed over.
 */
static inline void vivid_steady_picture(int vid)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!xioctl(vid, VIDIOC_QUERYCTRL, &q)) {
		if (!strcmp((char *)q.name, "OSD Text Mode")) {
			struct v4l2_control c = { .id = q.id, .value = 2 };

			xioctl(vid, VIDIOC_S_CTRL, &c);	/* 2: none */
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
}

/*
 * MMAP buffers on @vid exported as dma-bufs: allocate @count buffers of at
 * least @len bytes each (0: the format's sizeimage) with VIDIOC_CREATE_BUFS
 * and export each with VIDIOC_EXPBUF (@flags: O_RDWR | O_CLOEXEC as a
 * rule) into fds[].  Returns the number of buffers exported.  The buffers
 * outlive @vid: each dma-buf keeps its memory after the queue is freed.
 */
static inline int vivid_export(int vid, unsigned int count, size_t len,
			       unsigned int flags, int *fds)
{
	struct v4l2_create_buffers cb = {
		.count = count,
		.memory = V4L2_MEMORY_MMAP,
		.format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
	};
	unsigned int i;

	if (xioctl(vid, VIDIOC_G_FMT, &cb.format))
		return -1;
	if (len > cb.format.fmt.pix.sizeimage)
		cb.format.fmt.pix.sizeimage = len;
	if (xioctl(vid, VIDIOC_CREATE_BUFS, &cb))
		return -1;
	for (i = 0; i < cb.count && i < count; i++) {
		struct v4l2_exportbuffer e = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.index = cb.index + i,
			.flags = flags,
		};

		if (xioctl(vid, VIDIOC_EXPBUF, &e)) {
			int err = errno;

			while (i)
				close(fds[--i]);
			errno = err;
			return -1;
		}
		fds[i] = e.fd;
	}
	return i;
}

/*
 * One dma-buf of at least @len bytes exported by vivid instance @inst, in
 * an 8-bit grey format small enough for @len (the ABI suite's buffers);
 * the video node is closed before returning.
 */
static inline int vivid_alloc(enum vivid_alloc inst, size_t len)
{
	struct v4l2_pix_format pf;
	int vid, fd = -1, err;

	vid = vivid_open(inst);
	if (vid < 0)
		return -1;
	if (vivid_set_format(vid, V4L2_PIX_FMT_GREY, 320, 180, &pf)) {
		err = errno;
		close(vid);
		errno = err;
		return -1;
	}
	if (pf.sizeimage > len) {
		close(vid);
		errno = E2BIG;
		return -1;
	}
	if (vivid_export(vid, 1, len, O_RDWR | O_CLOEXEC, &fd) != 1)
		fd = -1;
	err = errno;
	close(vid);
	errno = err;
	return fd;
}

/* Queue MMAP buffer @index of @vid for capture. */
static inline int vivid_queue_mmap(int vid, __u32 index)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
		.index = index,
	};

	return xioctl(vid, VIDIOC_QBUF, &b);
}

/*
 * The next filled buffer of @vid's @memory queue, waiting at most 5 s
 * (errno ETIMEDOUT): its index; bytes used and sequence number in *used
 * and *seq when not NULL.
 */
static inline int vivid_dequeue(int vid, enum v4l2_memory memory,
				__u32 *used, __u32 *seq)
{
	struct pollfd p = { .fd = vid, .events = POLLIN };
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	if (poll(&p, 1, 5000) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (xioctl(vid, VIDIOC_DQBUF, &b))
		return -1;
	if (used)
		*used = b.bytesused;
	if (seq)
		*seq = b.sequence;
	return b.index;
}

static inline int vivid_stop(int vid)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	return xioctl(vid, VIDIOC_STREAMOFF, &type);
}

#endif /* DMABUF_DRIVERS_H */
