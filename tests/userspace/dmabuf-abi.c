// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf file descriptor as userspace sees it, checked operation by
 * operation against Linux 6.12's ABI: mmap, poll, llseek, read/write, the
 * dma-buf ioctls, fstat, fdinfo and debugfs bufinfo, sharing over a unix
 * socket and through fork, and closing while a buffer is still in use.
 *
 * Every case runs once per exporter a program can reach (the system
 * dma-heap, udmabuf, vgem's PRIME export, vivid's VIDIOC_EXPBUF from its
 * videobuf2-vmalloc and -dma-contig instances), each in its own child
 * process so that a crash fails one case only; an exporter the kernel
 * lacks skips.  Where exporters legitimately differ, the exporter's entry
 * says what it does and the case checks that.  Around every case the
 * harness counts this process's open fds and the buffers bufinfo lists: a
 * case that leaks either fails.
 *
 * Output is TAP; with DMABUF_TRACE=FILE in the environment, also a trace
 * of what each call returned and what the kernel showed (see trace()).
 * usage: dmabuf-abi [--require-devices] [CASE-SUBSTRING]
 *   --require-devices: a missing exporter fails its cases instead of
 *   skipping them (host/userspace passes it when the kernel has them all)
 */
#include "dmabuf-drivers.h"
#include "dmabuf-tap.h"

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sync_file.h>

#define NPAGES		16

/*
 * An allocation made ready up to its export call: fail-nth injects into
 * the export alone, not into finding and opening the device.
 */
struct staged {
	int dev;		/* the DRM card or the V4L2 node */
	__u32 handle;		/* vgem: the dumb buffer's GEM handle */
	__u32 index;		/* vivid: the buffer's index in the queue */
};

struct exporter {
	const char *name;	/* in test names */
	const char *what;	/* what a kernel without the exporter lacks */
	bool (*present)(void);
	int (*alloc)(size_t len);
	/* A new buffer behind an O_RDONLY fd; NULL: the exporter makes none. */
	int (*alloc_ro)(size_t len);
	/*
	 * For fail-nth: set up everything an allocation needs but the export,
	 * export, tear the setup down.  NULL: alloc() is one call already.
	 */
	int (*stage)(struct staged *s, size_t len);
	int (*export_staged)(struct staged *s);
	void (*unstage)(struct staged *s);

	/* Where exporters legitimately differ, what this one does: */
	const char *exp_name;	/* what fdinfo and bufinfo must call it */
	int private_errno;	/* mmap(MAP_PRIVATE) refused with; 0: allowed */
	int private_multi_errno; /* ... of more than one page; 0: allowed */
	bool offset_ignored;	/* maps from page 0 whatever the mmap offset */
	bool fake_offset;	/* /proc/PID/maps shows a GEM fake offset */
	int sync_end_first_errno; /* SYNC_END before any SYNC_START gives */
	int export_fail_errno;	/* if not ENOMEM: errno of a failed export */
};

static int alloc_heap(size_t len)
{
	return heap_alloc(len, O_RDWR | O_CLOEXEC);
}

static int alloc_heap_ro(size_t len)
{
	return heap_alloc(len, O_RDONLY | O_CLOEXEC);
}

static int alloc_udmabuf(size_t len)
{
	return udmabuf_alloc(len, NULL);
}

static bool present_heap(void)
{
	return access(HEAP_PATH, R_OK) == 0;
}

static bool present_udmabuf(void)
{
	return access(UDMABUF_PATH, R_OK) == 0;
}

/*
 * vgem: a dumb buffer exported with PRIME.  vgem_alloc() of
 * dmabuf-drivers.h with the PRIME flags as a parameter: without DRM_RDWR
 * the dma-buf's file is O_RDONLY (drm_gem_prime_export() passes the flags
 * to dma_buf_export() as the file's).
 */
static int vgem_stage(struct staged *s, size_t len)
{
	int err;

	s->dev = drm_open_driver("vgem");
	if (s->dev < 0)
		return -1;
	if (drm_dumb_create(s->dev, page_size() / 4,
			    (len + page_size() - 1) / page_size(), 32,
			    &s->handle, NULL, NULL)) {
		err = errno;
		close(s->dev);
		errno = err;
		return -1;
	}
	return 0;
}

static void vgem_unstage(struct staged *s)
{
	int err = errno;

	drm_close_handle(s->dev, s->handle);
	close(s->dev);
	errno = err;
}

static int vgem_export_staged(struct staged *s)
{
	return drm_prime_export(s->dev, s->handle, DRM_CLOEXEC | DRM_RDWR);
}

static int vgem_alloc_flags(size_t len, __u32 flags)
{
	struct staged s;
	int fd;

	if (vgem_stage(&s, len))
		return -1;
	fd = drm_prime_export(s.dev, s.handle, flags);
	vgem_unstage(&s);
	return fd;
}

static int alloc_vgem(size_t len)
{
	return vgem_alloc(len);
}

static int alloc_vgem_ro(size_t len)
{
	return vgem_alloc_flags(len, DRM_CLOEXEC);
}

static bool present_vgem(void)
{
	int card = drm_open_driver("vgem");

	if (card < 0)
		return false;
	close(card);
	return true;
}

/*
 * vivid: one MMAP capture buffer of a queue, exported with VIDIOC_EXPBUF.
 * Its O_ACCMODE flags become the dma-buf file's (vb2_core_expbuf() hands
 * them to the allocator's get_dmabuf, which passes them to
 * dma_buf_export()), so O_RDONLY gives a read-only fd.
 */
static int vivid_expbuf(struct staged *s, unsigned int flags)
{
	struct v4l2_exportbuffer e = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.index = s->index,
		.flags = flags,
	};

	if (xioctl(s->dev, VIDIOC_EXPBUF, &e))
		return -1;
	return e.fd;
}

/*
 * Open instance @inst, set vivid_alloc()'s grey format and create one
 * buffer of @len bytes; @prime: export it once and close that export.
 */
static int vivid_stage(enum vivid_alloc inst, struct staged *s, size_t len,
		       bool prime)
{
	struct v4l2_create_buffers cb = {
		.count = 1,
		.memory = V4L2_MEMORY_MMAP,
		.format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
	};
	int err, fd;

	s->dev = vivid_open(inst);
	if (s->dev < 0)
		return -1;
	if (vivid_set_format(s->dev, V4L2_PIX_FMT_GREY, 320, 180, NULL) ||
	    xioctl(s->dev, VIDIOC_G_FMT, &cb.format))
		goto fail;
	if (cb.format.fmt.pix.sizeimage > len) {
		errno = E2BIG;
		goto fail;
	}
	cb.format.fmt.pix.sizeimage = len;
	if (xioctl(s->dev, VIDIOC_CREATE_BUFS, &cb))
		goto fail;
	if (cb.count < 1) {
		errno = ENOBUFS;
		goto fail;
	}
	s->index = cb.index;
	if (prime) {
		fd = vivid_expbuf(s, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			goto fail;
		close(fd);
	}
	return 0;
fail:
	err = errno;
	close(s->dev);
	errno = err;
	return -1;
}

static void vivid_unstage(struct staged *s)
{
	int err = errno;

	close(s->dev);
	errno = err;
}

/* vivid_alloc() of dmabuf-drivers.h with the EXPBUF flags as a parameter. */
static int vivid_alloc_flags(enum vivid_alloc inst, size_t len,
			     unsigned int flags)
{
	struct staged s;
	int fd;

	if (vivid_stage(inst, &s, len, false))
		return -1;
	fd = vivid_expbuf(&s, flags);
	vivid_unstage(&s);
	return fd;
}

static int vivid_export_staged(struct staged *s)
{
	return vivid_expbuf(s, O_RDWR | O_CLOEXEC);
}

static int alloc_vivid_vmalloc(size_t len)
{
	return vivid_alloc(VIVID_VMALLOC, len);
}

static int alloc_vivid_vmalloc_ro(size_t len)
{
	return vivid_alloc_flags(VIVID_VMALLOC, len, O_RDONLY | O_CLOEXEC);
}

static int stage_vivid_vmalloc(struct staged *s, size_t len)
{
	return vivid_stage(VIVID_VMALLOC, s, len, false);
}

static bool present_vivid_vmalloc(void)
{
	int vid = vivid_open(VIVID_VMALLOC);

	if (vid < 0)
		return false;
	close(vid);
	return true;
}

static int alloc_vivid_contig(size_t len)
{
	return vivid_alloc(VIVID_DMA_CONTIG, len);
}

static int alloc_vivid_contig_ro(size_t len)
{
	return vivid_alloc_flags(VIVID_DMA_CONTIG, len, O_RDONLY | O_CLOEXEC);
}

/*
 * videobuf2-dma-contig builds a buffer's scatterlist at its first export
 * (vb2_dc_get_dmabuf() calls vb2_dc_get_base_sgt()) and WARNs when that
 * allocation fails: fail-nth exports a buffer exported once before, so
 * that what it fails is the export proper.
 */
static int stage_vivid_contig(struct staged *s, size_t len)
{
	return vivid_stage(VIVID_DMA_CONTIG, s, len, true);
}

static bool present_vivid_contig(void)
{
	int vid = vivid_open(VIVID_DMA_CONTIG);

	if (vid < 0)
		return false;
	close(vid);
	return true;
}

/*
 * Every property below is 6.12's code, quoted by function:
 *
 * exp_name: the system heap and udmabuf name themselves; vgem's buffers
 * are exported by drm_gem_prime_export(), which passes KBUILD_MODNAME of
 * drm_prime.c, "drm"; the videobuf2 allocators use
 * DEFINE_DMA_BUF_EXPORT_INFO(), their module names.
 *
 * private_errno: mmap_udmabuf() refuses mappings that are not shared, and
 * drm_gem_shmem_mmap() (vgem's, through drm_gem_prime_mmap()) refuses
 * copy-on-write ones: MAP_PRIVATE, also of a read-only fd, keeps
 * VM_MAYWRITE.  private_multi_errno: system_heap_mmap() maps page by page
 * with remap_pfn_range(), which takes a copy-on-write mapping only whole,
 * so a private mapping of one page works and of two does not.
 * vb2_vmalloc_mmap() inserts pages (vm_insert_page()) and vb2_dc_mmap()
 * remaps the whole range at once: both map privately.
 *
 * offset_ignored: the mmap offset is the core's to check, then the
 * exporter's to honour.  vb2_vmalloc_mmap() passes pgoff 0 to
 * remap_vmalloc_range(), and drm_gem_shmem_fault() finds the page from the
 * address within the mapping (drm_gem_prime_mmap() has added the
 * object's fake offset to vm_pgoff): both show the buffer from its first
 * page at any offset.  fake_offset: that shifted vm_pgoff is what
 * /proc/PID/maps prints.
 *
 * sync_end_first_errno: end_cpu_udmabuf() has no scatterlist before a
 * begin; the system heap's and videobuf2-dma-contig's end_cpu_access
 * return 0, vgem and videobuf2-vmalloc have none (the core answers 0).
 *
 * export_fail_errno: vb2_core_expbuf() turns any failure of get_dmabuf,
 * dma_buf_export()'s included, into -EINVAL.
 */
static const struct exporter exporters[] = {
	{
		.name = "system", .what = HEAP_PATH, .present = present_heap,
		.alloc = alloc_heap, .alloc_ro = alloc_heap_ro,
		.exp_name = "system", .private_multi_errno = EINVAL,
	}, {
		.name = "udmabuf", .what = UDMABUF_PATH,
		.present = present_udmabuf, .alloc = alloc_udmabuf,
		.exp_name = "udmabuf", .private_errno = EINVAL,
		.sync_end_first_errno = EINVAL,
	}, {
		.name = "vgem", .what = "vgem DRM device",
		.present = present_vgem, .alloc = alloc_vgem,
		.alloc_ro = alloc_vgem_ro, .stage = vgem_stage,
		.export_staged = vgem_export_staged, .unstage = vgem_unstage,
		.exp_name = "drm", .private_errno = EINVAL,
		.offset_ignored = true, .fake_offset = true,
	}, {
		.name = "vivid-vmalloc", .what = "vivid instance 0 (vmalloc)",
		.present = present_vivid_vmalloc, .alloc = alloc_vivid_vmalloc,
		.alloc_ro = alloc_vivid_vmalloc_ro, .stage = stage_vivid_vmalloc,
		.export_staged = vivid_export_staged, .unstage = vivid_unstage,
		.exp_name = "videobuf2_vmalloc", .offset_ignored = true,
		.export_fail_errno = EINVAL,
	}, {
		.name = "vivid-dma-contig", .what = "vivid instance 1 (dma-contig)",
		.present = present_vivid_contig, .alloc = alloc_vivid_contig,
		.alloc_ro = alloc_vivid_contig_ro, .stage = stage_vivid_contig,
		.export_staged = vivid_export_staged, .unstage = vivid_unstage,
		.exp_name = "videobuf2_dma_contig", .export_fail_errno = EINVAL,
	},
};

static size_t PG, SIZE;
/* Control characters of multi-line texts (fdinfo, bufinfo) as \n, \t. */
static void escape(char *out, size_t len, const char *in)
{
	size_t o = 0;

	for (; *in && o + 5 < len; in++) {
		if (*in == '\n' || *in == '\t' || *in == '\\') {
			out[o++] = '\\';
			out[o++] = *in == '\n' ? 'n' : *in == '\t' ? 't' : '\\';
		} else if ((unsigned char)*in < 0x20) {
			o += snprintf(out + o, len - o, "\\x%02x", (unsigned char)*in);
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

/* A call's outcome: its return value, or -1 and the errno's name. */
static void trace_ret(const char *call, long r, bool fd)
{
	if (r == -1)
		trace("%s = -1 %s", call, ename(errno));
	else if (fd && r >= 0)
		trace("%s = fd", call);
	else
		trace("%s = %ld", call, r);
}

/*
 * Evaluate a call and trace it, unless a helper inside it traced a better
 * description of itself already.
 */
#define TRACED(call, text, fd) ({					\
	unsigned long __n = trace_lines;				\
	long __v;							\
	errno = 0;							\
	__v = (long)(call);						\
	if (trace_lines == __n)						\
		trace_ret(text, __v, fd);				\
	__v;								\
})
/* The call as written, its macros unexpanded: stringified right here. */
#define TRY(call)	TRACED(call, #call, false)
#define TRY_FD(call)	TRACED(call, #call, true)

/* Evaluate without tracing: loops whose length is not the kernel's ABI. */
#define MUTED(expr) ({							\
	__typeof__(expr) __m;						\
	trace_mute++;							\
	__m = (expr);							\
	trace_mute--;							\
	__m;								\
})

static const char *prot_name(int prot)
{
	static const char *const names[] = {
		"NONE", "R", "W", "RW", "X", "RX", "WX", "RWX",
	};

	return names[prot & 7];
}

static const char *map_flags_name(int flags)
{
	return flags & MAP_SHARED ? "SHARED" : flags & MAP_PRIVATE ? "PRIVATE" : "?";
}

/* mmap, traced with length and offset in bytes: the address is not. */
static void *mmap_t(size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		trace("mmap(len %zu, %s, %s, off %lld) = MAP_FAILED %s", len,
		      prot_name(prot), map_flags_name(flags), (long long)off,
		      ename(errno));
	else
		trace("mmap(len %zu, %s, %s, off %lld) = ok", len,
		      prot_name(prot), map_flags_name(flags), (long long)off);
	return p;
}

static int mprotect_t(void *p, size_t len, int prot)
{
	int r = mprotect(p, len, prot);

	if (r)
		trace("mprotect(len %zu, %s) = -1 %s", len, prot_name(prot), ename(errno));
	else
		trace("mprotect(len %zu, %s) = 0", len, prot_name(prot));
	return r;
}

/* mremap: whether the mapping stayed, moved or the call failed. */
static void *mremap_t(void *p, size_t from, size_t to, int flags)
{
	void *q = mremap(p, from, to, flags);

	trace("mremap(len %zu -> %zu, %s) = %s%s", from, to,
	      flags & MREMAP_MAYMOVE ? "MAYMOVE" : "0",
	      q == MAP_FAILED ? "MAP_FAILED " : q == p ? "same address" : "moved",
	      q == MAP_FAILED ? ename(errno) : "");
	return q;
}

/* The call must fail with exactly errno want. */
#define EXPECT_ERRNO(call, want) do {					\
	long __r;							\
	__r = TRACED(call, #call, false);				\
	if (__r != -1 || errno != (want)) {				\
		diag("%s:%d: %s", __func__, __LINE__, #call);		\
		diag("  returned %ld, errno %s; want -1, errno %s",	\
		     __r, ename(errno), ename(want));			\
		failures++;						\
	}								\
} while (0)

#define EXPECT_OK(call) do {						\
	long __r;							\
	__r = TRACED(call, #call, false);				\
	if (__r < 0) {							\
		diag("%s:%d: %s", __func__, __LINE__, #call);		\
		diag("  returned %ld, errno %s; want success",		\
		     __r, ename(errno));				\
		failures++;						\
	}								\
} while (0)

#define EXPECT_MAP_FAILS(len, prot, flags, fd, off, want) do {		\
	void *__p;							\
	errno = 0;							\
	__p = mmap_t((len), (prot), (flags), (fd), (off));		\
	if (__p != MAP_FAILED || errno != (want)) {			\
		diag("%s:%d: mmap(len %#zx, off %#llx) gave %p, errno %s; want %s", \
		     __func__, __LINE__, (size_t)(len),			\
		     (unsigned long long)(off), __p, ename(errno), ename(want)); \
		failures++;						\
		if (__p != MAP_FAILED)					\
			munmap(__p, (len));				\
	}								\
} while (0)

/* fork() for a case's helpers: the child does not trace. */
static pid_t fork_untraced(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		tracing = false;
	return pid;
}

/* How a child of a case ended, traced. */
static int wait_child(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		trace("%s: signal %s", what, sigabbrev_np(WTERMSIG(status)));
	else
		trace("%s: exit %d", what, WEXITSTATUS(status));
	return status;
}

static void fill(void *p, size_t len, unsigned int seed)
{
	uint32_t *w = p;

	for (size_t i = 0; i < len / 4; i++)
		w[i] = seed * 0x9e3779b9u + (uint32_t)i;
}

/* Index of the first word that differs from fill(seed), or -1; traced. */
static long verify(const void *p, size_t len, unsigned int seed)
{
	const uint32_t *w = p;

	for (size_t i = 0; i < len / 4; i++)
		if (w[i] != seed * 0x9e3779b9u + (uint32_t)i) {
			trace("contents(len %zu, seed %u) = differ at word %zu",
			      len, seed, i);
			return (long)i;
		}
	trace("contents(len %zu, seed %u) = as written", len, seed);
	return -1;
}

static void *map(int fd, size_t len, int prot, off_t off)
{
	return mmap_t(len, prot, MAP_SHARED, fd, off);
}

/* Some releases happen from fence callbacks: give them a moment. */
static bool wait_gone(unsigned long ino)
{
	bool gone = false;

	for (int i = 0; i < 200 && !gone; i++) {
		gone = !bufinfo_has(ino);
		if (!gone)
			usleep(10000);
	}
	trace("ino%d released = %s", ino_index(ino), gone ? "yes" : "no");
	return gone;
}

/* Whether bufinfo lists the buffer, traced. */
static bool listed(unsigned long ino)
{
	bool has = bufinfo_has(ino);

	trace("ino%d listed = %s", ino_index(ino), has ? "yes" : "no");
	return has;
}

static long fdinfo_count(int fd)
{
	char *info = fdinfo_of(fd), v[64];
	long n = -1;

	if (info && fdinfo_field(info, "count", v, sizeof(v)))
		n = strtol(v, NULL, 10);
	free(info);
	trace("fdinfo count = %ld", n);
	return n;
}

/*
 * The whole fdinfo text, canonical: the ino line and the mnt_id line
 * (which counts the mounts made before dma-buf's own) become tokens.
 */
static void trace_fdinfo(int fd)
{
	char *info = fdinfo_of(fd), canon[4096] = "", esc[8192], *line, *save = NULL;
	size_t o = 0;

	if (!info) {
		trace("fdinfo = unreadable %s", ename(errno));
		return;
	}
	for (line = strtok_r(info, "\n", &save); line && o < sizeof(canon) - 1;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "mnt_id:", 7))
			o += snprintf(canon + o, sizeof(canon) - o, "mnt_id:\tM\n");
		else if (!strncmp(line, "ino:", 4))
			o += snprintf(canon + o, sizeof(canon) - o, "ino:\tino%d\n",
				      ino_index(strtoul(line + 4, NULL, 10)));
		else
			o += snprintf(canon + o, sizeof(canon) - o, "%s\n", line);
	}
	free(info);
	escape(esc, sizeof(esc), canon);
	trace("fdinfo = %s", esc);
}

/*
 * The buffer's block in bufinfo, byte for byte but for its inode number:
 * its line, its fence lines and its attached devices.
 */
static void trace_bufinfo(unsigned long ino)
{
	char key[40], tok[24], block[4096], esc[8192], *start, *end, *p;
	struct bufinfo bi;
	size_t o;

	if (bufinfo_read(&bi)) {
		trace("bufinfo = unreadable %s", ename(errno));
		return;
	}
	snprintf(key, sizeof(key), "\t%08lu\t", ino);
	snprintf(tok, sizeof(tok), "\tino%d\t", ino_index(ino));
	start = strstr(bi.text, key);
	while (start && start > bi.text && start[-1] != '\n')
		start--;
	if (!start) {
		trace("bufinfo ino%d = not listed", ino_index(ino));
		bufinfo_free(&bi);
		return;
	}
	end = strstr(start, " devices attached\n");
	end = end ? end + strlen(" devices attached\n") : start + strlen(start);
	p = strstr(start, key);
	o = snprintf(block, sizeof(block), "%.*s%s", (int)(p - start), start, tok);
	p += strlen(key);
	snprintf(block + o, sizeof(block) - o, "%.*s", (int)(end - p), p);
	escape(esc, sizeof(esc), block);
	trace("bufinfo ino%d = %s", ino_index(ino), esc);
	bufinfo_free(&bi);
}

static long bufinfo_count(unsigned long ino)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	long n = -1;

	if (bufinfo_read(&bi))
		return -1;
	e = bufinfo_find(&bi, ino);
	if (e)
		n = e->count;
	bufinfo_free(&bi);
	trace("bufinfo count ino%d = %ld", ino_index(ino), n);
	return n;
}

static const char *events_name(short ev)
{
	static char s[64];

	if (ev < 0)
		return "error";
	snprintf(s, sizeof(s), "%s%s%s%s%s%s", ev ? "" : "0",
		 ev & POLLIN ? "|IN" : "", ev & POLLOUT ? "|OUT" : "",
		 ev & POLLERR ? "|ERR" : "", ev & POLLHUP ? "|HUP" : "",
		 ev & ~(POLLIN | POLLOUT | POLLERR | POLLHUP) ? "|other" : "");
	return s[0] == '|' ? s + 1 : s;
}

static short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	char want[64];

	snprintf(want, sizeof(want), "%s", events_name(events));
	if (poll(&p, 1, 0) < 0) {
		trace("poll(%s) = -1 %s", want, ename(errno));
		return -1;
	}
	trace("poll(%s) = %s", want, events_name(p.revents));
	return p.revents;
}

/* An fd argument is traced by what it is (its /proc link): not its number. */
static const char *fd_kind(int fd)
{
	static char s[160];
	char path[64];
	ssize_t n;

	if (fd < 0)
		return "fd -1";
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, s, sizeof(s) - 1);
	if (n < 0)
		return "no such fd";
	s[n] = 0;
	return s;
}

static int import_fence(int buf, int sync_fd, __u32 flags)
{
	struct dma_buf_import_sync_file a = { .flags = flags, .fd = sync_fd };
	int r, err;

	r = ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &a);
	err = errno;	/* fd_kind()'s readlink may fail */
	trace("IMPORT_SYNC_FILE(flags %#x, %s) = %d%s%s", flags, fd_kind(sync_fd),
	      r, r ? " " : "", r ? ename(err) : "");
	errno = err;
	return r;
}

static int export_fence(int buf, __u32 flags)
{
	struct dma_buf_export_sync_file a = { .flags = flags, .fd = -1 };

	if (ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a)) {
		trace("EXPORT_SYNC_FILE(flags %#x) = -1 %s", flags, ename(errno));
		return -1;
	}
	trace("EXPORT_SYNC_FILE(flags %#x) = 0, fd", flags);
	return a.fd;
}

static bool sync_file_signaled(int sf)
{
	struct pollfd p = { .fd = sf, .events = POLLIN };
	bool s = poll(&p, 1, 0) == 1 && (p.revents & POLLIN);

	trace("sync_file signaled = %s", s ? "yes" : "no");
	return s;
}

static int sync_t(int fd, __u64 flags)
{
	int r = dmabuf_sync(fd, flags);

	trace("SYNC(flags %#llx) = %d%s%s", (unsigned long long)flags, r,
	      r ? " " : "", r ? ename(errno) : "");
	return r;
}

/*
 * The mapping's line in /proc/self/maps without its addresses: length,
 * permissions, offset, device, inode token and path.  A GEM fake offset
 * (fake: the exporter's mmap puts one in vm_pgoff) depends on what else
 * the DRM device has mapped: it is traced as a token.
 */
static bool maps_line(void *addr, char *out, size_t len);

/*
 * Where DRM's fake offsets start on 64-bit, in bytes: from
 * DRM_FILE_PAGE_OFFSET_START of drm_vma_manager.h, 4 GiB whatever the
 * page size.
 */
#define GEM_FAKE_OFFSET_START	(1ULL << 32)

static void trace_maps(void *addr, bool fake)
{
	char line[512], perms[8], off[32], dev[16], path[256] = "";
	unsigned long start, end, ino;

	if (!maps_line(addr, line, sizeof(line))) {
		trace("maps = not listed");
		return;
	}
	if (sscanf(line, "%lx-%lx %7s %31s %15s %lu %255[^\n]", &start, &end,
		   perms, off, dev, &ino, path) < 6) {
		trace("maps = unparsed");
		return;
	}
	if (fake && strtoull(off, NULL, 16) >= GEM_FAKE_OFFSET_START)
		snprintf(off, sizeof(off), "gem-fake-offset");
	trace("maps = len %lu %s %s %s ino%d %s", end - start, perms, off, dev,
	      ino_index(ino), path);
}

/* A new buffer of the exporter, traced with the token of its inode. */
static int alloc_t(const struct exporter *ex, size_t len)
{
	int fd = ex->alloc(len);

	if (fd < 0)
		trace("alloc(%s, len %zu) = -1 %s", ex->name, len, ename(errno));
	else
		trace("alloc(%s, len %zu) = fd ino%d", ex->name, len,
		      ino_index(ino_of(fd)));
	return fd;
}

/* A page nothing is mapped at. */
static void *hole(void)
{
	void *p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p, PG);
	return p;
}

/* ---- the cases ------------------------------------------------------ */

static int t_fstat_size(const struct exporter *ex)
{
	struct stat st;
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	EXPECT_OK(fstat(fd, &st));
	trace("fstat = mode %07o nlink %lu uid %u gid %u size %lld blksize %ld blocks %lld dev %u:%u ino%d",
	      st.st_mode, (unsigned long)st.st_nlink, st.st_uid, st.st_gid,
	      (long long)st.st_size, (long)st.st_blksize, (long long)st.st_blocks,
	      major(st.st_dev), minor(st.st_dev), ino_index(st.st_ino));
	EXPECT(st.st_size == (off_t)SIZE, "st_size %lld, want %zu",
	       (long long)st.st_size, SIZE);
	EXPECT(st.st_ino != 0, "st_ino is 0");
	close(fd);
	return PASS;
}

static int t_llseek(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	off_t r;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	r = TRY(lseek(fd, 0, SEEK_END));
	EXPECT(r == (off_t)SIZE, "SEEK_END 0 gave %lld (%s), want %zu",
	       (long long)r, ename(errno), SIZE);
	r = TRY(lseek(fd, 0, SEEK_SET));
	EXPECT(r == 0, "SEEK_SET 0 gave %lld (%s)", (long long)r, ename(errno));
	EXPECT_ERRNO(lseek(fd, 0, SEEK_CUR), EINVAL);
	EXPECT_ERRNO(lseek(fd, 1, SEEK_SET), EINVAL);
	EXPECT_ERRNO(lseek(fd, PG, SEEK_SET), EINVAL);
	EXPECT_ERRNO(lseek(fd, -1, SEEK_END), EINVAL);
	EXPECT_ERRNO(lseek(fd, PG, SEEK_END), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, SEEK_DATA), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, SEEK_HOLE), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, 42), EINVAL);
	/* A failed seek leaves the position alone. */
	r = TRY(lseek(fd, 0, SEEK_END));
	EXPECT(r == (off_t)SIZE, "SEEK_END 0 gave %lld after errors",
	       (long long)r);
	close(fd);
	return PASS;
}

static int t_read_write(const struct exporter *ex)
{
	char b[16] = { 0 };
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	/* No read or write file operation: the VFS answers -EINVAL. */
	EXPECT_ERRNO(read(fd, b, sizeof(b)), EINVAL);
	EXPECT_ERRNO(write(fd, b, sizeof(b)), EINVAL);
	close(fd);
	return PASS;
}

static int t_mmap_in_range(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	unsigned char *p, *q, *r, *s;
	long bad;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap whole buffer: %s", ename(errno));
	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill(p, SIZE, 1);
	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));

	q = map(fd, SIZE - PG, PROT_READ, PG);
	REQUIRE(q != MAP_FAILED, "mmap from page 1 to the end: %s", ename(errno));
	r = map(fd, PG, PROT_READ, SIZE - PG);
	REQUIRE(r != MAP_FAILED, "mmap of the last page: %s", ename(errno));
	/* A length that is not a page multiple is rounded up, still inside. */
	s = map(fd, SIZE - 100, PROT_READ, 0);
	REQUIRE(s != MAP_FAILED, "mmap of SIZE-100 bytes: %s", ename(errno));

	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	trace("offset mapping = %s", memcmp(q, p + PG, SIZE - PG) ? "differs" : "same bytes");
	trace("last-page mapping = %s", memcmp(r, p + SIZE - PG, PG) ? "differs" : "same bytes");
	if (ex->offset_ignored) {
		/* The exporter maps from the buffer's start at any offset. */
		trace("offset mappings from page 0 = %s",
		      memcmp(q, p, SIZE - PG) || memcmp(r, p, PG) ?
		      "differ" : "same bytes");
		EXPECT(!memcmp(q, p, SIZE - PG),
		       "mapping at offset 1 page is not page 0 on, as %s maps",
		       ex->name);
		EXPECT(!memcmp(r, p, PG),
		       "mapping of the last page does not show page 0, as %s's mmap does",
		       ex->name);
	} else {
		EXPECT(!memcmp(q, p + PG, SIZE - PG), "offset mapping differs");
		EXPECT(!memcmp(r, p + SIZE - PG, PG), "last-page mapping differs");
	}
	bad = verify(s, SIZE - PG, 1);
	EXPECT(bad < 0, "short mapping differs at word %ld", bad);
	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	munmap(p, SIZE);
	munmap(q, SIZE - PG);
	munmap(r, PG);
	munmap(s, SIZE - 100);
	close(fd);
	return PASS;
}

static int t_mmap_past_end(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	const int rw = PROT_READ | PROT_WRITE;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	EXPECT_MAP_FAILS(SIZE + PG, rw, MAP_SHARED, fd, 0, EINVAL);
	EXPECT_MAP_FAILS(SIZE, rw, MAP_SHARED, fd, PG, EINVAL);
	EXPECT_MAP_FAILS(SIZE - PG + 1, rw, MAP_SHARED, fd, PG, EINVAL);
	EXPECT_MAP_FAILS(PG, rw, MAP_SHARED, fd, SIZE, EINVAL);
	EXPECT_MAP_FAILS(PG, PROT_READ, MAP_SHARED, fd, SIZE, EINVAL);
	EXPECT_MAP_FAILS(PG, rw, MAP_SHARED, fd, 1ULL << 40, EINVAL);
	EXPECT_MAP_FAILS(PG, rw, MAP_SHARED, fd, 0x7ffffffffffff000LL, EINVAL);
	close(fd);
	return PASS;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* Touch len bytes at p (write them with c, or read them): the signal, or 0. */
static int touch(unsigned char *p, size_t len, int c, bool write)
{
	volatile int sig = 0;
	volatile unsigned char sink = 0;

	signal(SIGSEGV, on_fault);
	signal(SIGBUS, on_fault);
	sig = sigsetjmp(fault_jmp, 1);
	if (!sig) {
		if (write)
			memset(p, c, len);
		else
			for (size_t i = 0; i < len; i += PG)
				sink += p[i];
	}
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	(void)sink;
	trace("%s len %zu = %s", write ? "write" : "read", len,
	      sig ? sigabbrev_np(sig) : "done");
	return sig;
}

/* Whether len bytes at p all equal c. */
static bool all_bytes(const unsigned char *p, size_t len, int c, const char *what)
{
	size_t i;

	for (i = 0; i < len && p[i] == c; i++)
		;
	trace("%s = %s %#x", what, i == len ? "all" : "not all", c);
	return i == len;
}

/*
 * Write through a private mapping priv of len bytes whose range the shared
 * mapping shared also covers: the private copy holds the write, the
 * buffer does not.  shared holds zeroes.
 */
static void expect_private_copy(unsigned char *priv, unsigned char *shared,
				size_t len)
{
	int sig = touch(priv, len, 0xa5, true);

	EXPECT(!sig, "write to a private mapping faulted");
	if (!sig)
		EXPECT(all_bytes(priv, len, 0xa5, "private copy after the write"),
		       "the private mapping lost what was written to it");
	EXPECT(all_bytes(shared, len, 0, "buffer through a shared mapping"),
	       "a private mapping wrote into the buffer");
}

/*
 * A private mapping of len bytes at off: what the exporter answers is its
 * own (see private_errno in the exporters' table), and a mapping that
 * should have been refused is unmapped again.
 */
static unsigned char *map_private(const struct exporter *ex, int fd, size_t len,
				  int prot, off_t off)
{
	int want = ex->private_errno ? ex->private_errno :
		   len > PG ? ex->private_multi_errno : 0;
	unsigned char *q = mmap_t(len, prot, MAP_PRIVATE, fd, off);

	if (want) {
		EXPECT(q == MAP_FAILED && errno == want,
		       "private mapping of %zu bytes: %s, want %s as %s's mmap answers",
		       len, q == MAP_FAILED ? ename(errno) : "mapped", ename(want),
		       ex->name);
		if (q != MAP_FAILED)
			munmap(q, len);
		return MAP_FAILED;
	}
	EXPECT(q != MAP_FAILED, "private mapping of %zu bytes refused: %s",
	       len, ename(errno));
	return q;
}

/*
 * The whole buffer privately, with the zeroed buffer mapped shared at
 * shared: whether the exporter can map several pages so is its own business
 * (the system heap inserts page by page, which a copy-on-write pfn mapping
 * takes for one page only).  Where it can, the writes stay private.
 */
static void private_whole(const struct exporter *ex, int fd,
			  unsigned char *shared)
{
	unsigned char *w = map_private(ex, fd, SIZE, PROT_READ | PROT_WRITE, 0);

	if (w == MAP_FAILED)
		return;
	EXPECT(!touch(w, SIZE, 0x5a, true), "write to a private mapping faulted");
	EXPECT(all_bytes(shared, SIZE, 0, "buffer through a shared mapping"),
	       "a private mapping wrote into the buffer");
	munmap(w, SIZE);
}

/*
 * A read-only fd: 6.12 lets the VFS decide.  Shared writable mappings are
 * refused (EACCES), and so is making a shared read-only mapping writable;
 * private mappings may be writable, now or after mprotect(), and writes
 * land in private copies.  PRIME fds are O_RDONLY unless DRM_RDWR is
 * passed, and programs (GStreamer's fd allocator) map them MAP_PRIVATE.
 */
static int t_mmap_readonly_fd(const struct exporter *ex)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	char *info, v[64];
	unsigned char *p, *q, *r;
	int fd;

	fd = ex->alloc_ro(SIZE);
	trace("alloc(%s, len %zu, O_RDONLY) = %s", ex->name, SIZE,
	      fd >= 0 ? "fd" : ename(errno));
	REQUIRE(fd >= 0, "read-only allocation failed: %s", strerror(errno));
	trace_fdinfo(fd);
	trace_bufinfo(ino_of(fd));

	info = fdinfo_of(fd);
	REQUIRE(info && fdinfo_field(info, "flags", v, sizeof(v)), "no fdinfo flags");
	EXPECT((strtoul(v, NULL, 8) & O_ACCMODE) == O_RDONLY,
	       "fdinfo flags %s, want O_RDONLY", v);
	free(info);
	REQUIRE(!bufinfo_read(&bi), "cannot read bufinfo");
	e = bufinfo_find(&bi, ino_of(fd));
	EXPECT(e && (e->flags & O_ACCMODE) == O_RDONLY && (e->mode & 3) == 1,
	       "bufinfo flags/mode %lx/%lx, want O_RDONLY and FMODE_READ only",
	       e ? e->flags : 0, e ? e->mode : 0);
	bufinfo_free(&bi);

	/* The VFS refuses shared writable mappings of a read-only file. */
	EXPECT_MAP_FAILS(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, EACCES);
	EXPECT_MAP_FAILS(PG, PROT_WRITE, MAP_SHARED, fd, 0, EACCES);

	p = map(fd, SIZE, PROT_READ, 0);
	REQUIRE(p != MAP_FAILED, "read-only mmap: %s", ename(errno));
	EXPECT(all_bytes(p, SIZE, 0, "fresh buffer"), "fresh buffer not zeroed");
	/* ... and a shared mapping cannot be made writable later either. */
	EXPECT_ERRNO(mprotect_t(p, SIZE, PROT_READ | PROT_WRITE), EACCES);
	EXPECT_ERRNO(mprotect_t(p, PG, PROT_WRITE), EACCES);

	/*
	 * A private writable mapping is fine as far as the VFS goes (the
	 * exporter may refuse private mappings of any fd); its writes stay
	 * private.
	 */
	q = map_private(ex, fd, PG, PROT_READ | PROT_WRITE, 0);
	if (q != MAP_FAILED) {
		expect_private_copy(q, p, PG);
		munmap(q, PG);
	}

	/* So is making a private read-only mapping writable. */
	r = map_private(ex, fd, PG, PROT_READ, PG);
	if (r != MAP_FAILED) {
		int rc = mprotect_t(r, PG, PROT_READ | PROT_WRITE);

		EXPECT(!rc, "mprotect of a private mapping to writable: %s", ename(errno));
		if (!rc)
			expect_private_copy(r, p + PG, PG);
		munmap(r, PG);
	}

	private_whole(ex, fd, p);
	munmap(p, SIZE);
	close(fd);
	return PASS;
}

/*
 * Private mappings of a read-write fd: what the exporter answers (udmabuf
 * and vgem refuse them); what is written never reaches the buffer.
 * Also recorded: whether the fd's /proc link opens a read-only fd (the
 * only way to one for udmabuf, whose fds are all O_RDWR).
 */
static int t_mmap_private(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE), ro;
	unsigned char *p, *q;
	char path[64];

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = TRY_FD(open(path, O_RDONLY | O_CLOEXEC));
	if (ro >= 0)
		close(ro);
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap: %s", ename(errno));
	memset(p, 0, SIZE);
	q = map_private(ex, fd, PG, PROT_READ | PROT_WRITE, 0);
	if (q != MAP_FAILED) {
		expect_private_copy(q, p, PG);
		munmap(q, PG);
	}
	private_whole(ex, fd, p);
	munmap(p, SIZE);
	close(fd);
	return PASS;
}

static int t_mprotect_upgrade(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	unsigned char *p, *q;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ, 0);
	REQUIRE(p != MAP_FAILED, "mmap: %s", ename(errno));
	EXPECT_OK(mprotect_t(p, SIZE, PROT_READ | PROT_WRITE));
	q = map(fd, SIZE, PROT_READ, 0);
	REQUIRE(q != MAP_FAILED, "second mmap: %s", ename(errno));
	fill(p, SIZE, 2);
	EXPECT(verify(q, SIZE, 2) < 0, "write after mprotect not seen by a second mapping");
	munmap(p, SIZE);
	munmap(q, SIZE);
	close(fd);
	return PASS;
}

/*
 * Growing a mapping: 6.12 leaves it to the exporter (both here refuse with
 * EFAULT: the system heap's pfn mapping cannot grow, udmabuf's is
 * VM_DONTEXPAND).  Recorded; what must hold is that a grown mapping
 * shows nothing past the buffer's end.
 */
static void grow(unsigned char *p, size_t from, size_t to, int flags)
{
	unsigned char *g = mremap_t(p, from, to, flags), *back;

	if (g == MAP_FAILED)
		return;
	EXPECT(touch(g + from, to - from, 0, false),
	       "a mapping grown by mremap reads past the buffer");
	/* Back to the old size and place, where the caller unmaps it. */
	back = mremap(g, to, from, 0);
	if (back == g && g != p)
		back = mremap(g, from, from, MREMAP_MAYMOVE | MREMAP_FIXED, p);
	EXPECT(back == p, "cannot undo mremap growth: %s", ename(errno));
}

static int t_mremap_growth(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	unsigned char *p, *last, *half;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap: %s", ename(errno));
	grow(p, SIZE, SIZE + PG, 0);
	grow(p, SIZE, SIZE + PG, MREMAP_MAYMOVE);
	grow(p, SIZE, 4 * SIZE, MREMAP_MAYMOVE);

	last = map(fd, PG, PROT_READ, SIZE - PG);
	REQUIRE(last != MAP_FAILED, "mmap last page: %s", ename(errno));
	grow(last, PG, 2 * PG, MREMAP_MAYMOVE);
	munmap(last, PG);

	/* Shrinking is fine. */
	half = mremap_t(p, SIZE, SIZE / 2, 0);
	EXPECT(half == p, "shrinking mremap gave %p (%s)", half, ename(errno));
	if (half == p) {
		fill(p, SIZE / 2, 4);
		EXPECT(verify(p, SIZE / 2, 4) < 0, "shrunk mapping broken");
		munmap(p, SIZE / 2);
	} else {
		munmap(p, SIZE);
	}
	close(fd);
	return PASS;
}

static int t_sync_ioctl(const struct exporter *ex)
{
	static const __u64 good[] = {
		DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
		DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ,
		DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE,
		DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE,
		DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW,
		DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
	};
	static const __u64 bad[] = {
		0, DMA_BUF_SYNC_END, 1 << 3, DMA_BUF_SYNC_READ | 1 << 3,
		DMA_BUF_SYNC_RW | 1 << 4, DMA_BUF_SYNC_WRITE | 1ULL << 32,
		DMA_BUF_SYNC_READ | 1ULL << 63, ~0ULL,
	};
	int fd = alloc_t(ex, SIZE);
	unsigned int i;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		errno = 0;
		EXPECT(sync_t(fd, good[i]) == 0, "flags %#llx: %s",
		       (unsigned long long)good[i], ename(errno));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT(sync_t(fd, bad[i]) == -1 && errno == EINVAL,
		       "flags %#llx: errno %s, want EINVAL",
		       (unsigned long long)bad[i], ename(errno));
	}
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_SYNC, NULL), EFAULT);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_SYNC, hole()), EFAULT);
	close(fd);
	return PASS;
}

/*
 * SYNC reaches the exporter and its answer comes back: udmabuf refuses an
 * END before any START with -EINVAL (it has no mapping to sync yet); the
 * others have nothing to refuse (sync_end_first_errno), and the core must
 * not invent an error of its own.
 */
static int t_sync_reaches_exporter(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	if (ex->sync_end_first_errno)
		EXPECT_ERRNO(sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
			     ex->sync_end_first_errno);
	else
		EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_OK(sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	close(fd);
	return PASS;
}

static char *fdinfo_name(int fd, bool *present)
{
	static char v[128];
	char *info = fdinfo_of(fd);

	*present = info && fdinfo_field(info, "name", v, sizeof(v));
	free(info);
	return v;
}

static bool link_is(int fd, const char *want)
{
	char path[64], got[128] = "";
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, got, sizeof(got) - 1);
	if (n >= 0)
		got[n] = 0;
	trace("readlink = %s%s", n < 0 ? "-1 " : got, n < 0 ? ename(errno) : "");
	if (strcmp(got, want))
		diag("readlink %s = \"%s\", want \"%s\"", path, got, want);
	return !strcmp(got, want);
}

/* fdinfo and bufinfo both carry name (NULL: unnamed). */
static void expect_name(int fd, const char *name, int line)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	bool present;
	const char *got = fdinfo_name(fd, &present);

	trace("fdinfo name = %s%s%s", present ? "\"" : "absent", present ? got : "",
	      present ? "\"" : "");
	trace_bufinfo(ino_of(fd));
	if (name)
		EXPECT(present && !strcmp(got, name),
		       "line %d: fdinfo name \"%s\"%s, want \"%s\"", line, got,
		       present ? "" : " (absent)", name);
	else
		EXPECT(!present, "line %d: fdinfo has a name line \"%s\"", line, got);
	if (bufinfo_read(&bi) == 0) {
		e = bufinfo_find(&bi, ino_of(fd));
		EXPECT(e && !strcmp(e->name, name ? name : "<none>"),
		       "line %d: bufinfo name \"%s\", want \"%s\"", line,
		       e ? e->name : "(not listed)", name ? name : "<none>");
		bufinfo_free(&bi);
	} else {
		EXPECT(0, "cannot read bufinfo");
	}
}

static int t_set_name(const struct exporter *ex)
{
	const char *n31 = "abcdefghijklmnopqrstuvwxyz01234";
	char n32[33], n40[41], *page;
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	REQUIRE(strlen(n31) == DMA_BUF_NAME_LEN - 1, "bad test name");
	expect_name(fd, NULL, __LINE__);

	EXPECT_OK(ioctl(fd, DMA_BUF_SET_NAME_A, n31));
	expect_name(fd, n31, __LINE__);
	EXPECT_OK(ioctl(fd, DMA_BUF_SET_NAME_B, "renamed by B"));
	expect_name(fd, "renamed by B", __LINE__);

	/* 32 bytes without a NUL among them: too long, name unchanged. */
	memset(n32, 'x', 32);
	n32[32] = 0;
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_SET_NAME_A, n32), EINVAL);
	memset(n40, 'y', 40);
	n40[40] = 0;
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_SET_NAME_B, n40), EINVAL);
	expect_name(fd, "renamed by B", __LINE__);

	/* Bad pointers: -EFAULT, name unchanged. */
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_SET_NAME_A, NULL), EFAULT);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_SET_NAME_B, hole()), EFAULT);
	page = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(page != MAP_FAILED, "anonymous mmap");
	munmap(page + PG, PG);
	/* An unterminated name running into an unmapped page. */
	memset(page + PG - 10, 'z', 10);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_SET_NAME_A, page + PG - 10), EFAULT);
	expect_name(fd, "renamed by B", __LINE__);
	/* 31 bytes and the NUL right at the end of the page are fine. */
	memcpy(page + PG - 32, n31, 32);
	EXPECT_OK(ioctl(fd, DMA_BUF_SET_NAME_B, page + PG - 32));
	expect_name(fd, n31, __LINE__);
	munmap(page, PG);

	/* An empty name is a name (6.12 prints it as empty). */
	EXPECT_OK(ioctl(fd, DMA_BUF_SET_NAME_A, ""));
	expect_name(fd, "", __LINE__);
	close(fd);
	return PASS;
}

/* The fd's /proc link is "/dmabuf:NAME", like 6.12's d_dname. */
static int t_proc_fd_link(const struct exporter *ex)
{
	const char *n31 = "abcdefghijklmnopqrstuvwxyz01234";
	char want[64];
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	EXPECT(link_is(fd, "/dmabuf:"), "unnamed");
	REQUIRE(!ioctl(fd, DMA_BUF_SET_NAME_A, n31), "set name");
	snprintf(want, sizeof(want), "/dmabuf:%s", n31);
	EXPECT(link_is(fd, want), "named");
	REQUIRE(!ioctl(fd, DMA_BUF_SET_NAME_B, ""), "set empty name");
	EXPECT(link_is(fd, "/dmabuf:"), "empty name");
	close(fd);
	return PASS;
}

static int t_name_concurrent(const struct exporter *ex)
{
	const char *names[2] = { "first-name-of-this-buffer", "second" };
	int fd = alloc_t(ex, SIZE), status, i;
	pid_t pid;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	REQUIRE(!ioctl(fd, DMA_BUF_SET_NAME_A, names[0]), "set name");
	pid = fork_untraced();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		/* Readers never see a torn or freed name. */
		for (i = 0; i < 400; i++) {
			bool present;
			char *n = fdinfo_name(fd, &present);
			struct bufinfo bi;

			if (!present || (strcmp(n, names[0]) && strcmp(n, names[1]))) {
				diag("reader saw \"%s\"", n);
				_exit(1);
			}
			if (i % 20 == 0) {
				if (bufinfo_read(&bi))
					_exit(1);
				bufinfo_free(&bi);
			}
		}
		_exit(0);
	}
	for (i = 0; i < 2000; i++)
		if (ioctl(fd, DMA_BUF_SET_NAME_B, names[i & 1])) {
			EXPECT(0, "rename %d: %s", i, ename(errno));
			break;
		}
	trace("2000 renames while a reader reads = %s", i == 2000 ? "ok" : ename(errno));
	status = wait_child(pid, "reader");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader failed");
	close(fd);
	return PASS;
}

static int t_export_sync_file(const struct exporter *ex)
{
	static const __u32 good[] = {
		DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW,
	};
	static const __u32 bad[] = {
		0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END,
		DMA_BUF_SYNC_RW | 1 << 3, 1u << 31, ~0u,
	};
	struct dma_buf_export_sync_file *ro;
	int fd = alloc_t(ex, SIZE), sf, before, probe;
	unsigned int i;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		sf = export_fence(fd, good[i]);
		EXPECT(sf >= 0, "flags %#x: %s", good[i], ename(errno));
		if (sf < 0)
			continue;
		/* No fences: a signaled sync_file. */
		EXPECT(sync_file_signaled(sf), "flags %#x: sync_file not signaled", good[i]);
		trace("sync_file %s, FD_CLOEXEC %s", fd_kind(sf),
		      fcntl(sf, F_GETFD) & FD_CLOEXEC ? "set" : "clear");
		EXPECT(fcntl(sf, F_GETFD) & FD_CLOEXEC, "sync_file fd without FD_CLOEXEC");
		close(sf);
	}
	before = count_fds();
	probe = dup(0);
	close(probe);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(export_fence(fd, bad[i]) == -1 && errno == EINVAL,
		       "flags %#x: errno %s, want EINVAL", bad[i], ename(errno));
	}
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, NULL), EFAULT);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, hole()), EFAULT);

	/* Readable but not writable argument: copying the fd out fails... */
	ro = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ro != MAP_FAILED, "anonymous mmap");
	ro->flags = DMA_BUF_SYNC_READ;
	ro->fd = -1;
	REQUIRE(!mprotect(ro, PG, PROT_READ), "mprotect");
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, ro), EFAULT);
	munmap(ro, PG);
	/* ...and no fd was installed. */
	trace("fds after the failed exports = %s", count_fds() == before ? "as before" : "changed");
	EXPECT(count_fds() == before, "fds %d after failed exports, was %d",
	       count_fds(), before);
	/* A reserved but never installed slot would not show in /proc. */
	sf = export_fence(fd, DMA_BUF_SYNC_WRITE);
	trace("exported fd = %s", sf == probe ? "the lowest free one" : "another");
	EXPECT(sf == probe, "next free fd %d, was %d: a slot was lost", sf, probe);
	close(sf);
	close(fd);
	return PASS;
}

static int t_import_sync_file(const struct exporter *ex)
{
	static const __u32 bad[] = {
		0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END,
		DMA_BUF_SYNC_READ | 1 << 3, ~0u,
	};
	struct bufinfo bi;
	struct bufinfo_entry *e;
	int fd = alloc_t(ex, SIZE), tl, f1, f2, sf, null;
	unsigned long ino;
	unsigned int i;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	ino = ino_of(fd);
	tl = sw_timeline();
	REQUIRE(tl >= 0, "sw_sync timeline: %s", strerror(errno));
	f1 = sw_fence(tl, 1);
	REQUIRE(f1 >= 0, "sw_sync fence: %s", strerror(errno));
	null = open("/dev/null", O_RDWR);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT(import_fence(fd, f1, bad[i]) == -1 && errno == EINVAL,
		       "flags %#x: errno %s, want EINVAL", bad[i], ename(errno));
	}
	/* Not a sync_file. */
	EXPECT_ERRNO(import_fence(fd, fd, DMA_BUF_SYNC_WRITE), EINVAL);
	EXPECT_ERRNO(import_fence(fd, tl, DMA_BUF_SYNC_WRITE), EINVAL);
	EXPECT_ERRNO(import_fence(fd, null, DMA_BUF_SYNC_READ), EINVAL);
	EXPECT_ERRNO(import_fence(fd, -1, DMA_BUF_SYNC_READ), EINVAL);
	EXPECT_ERRNO(import_fence(fd, 4000, DMA_BUF_SYNC_READ), EINVAL);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, NULL), EFAULT);
	EXPECT_ERRNO(ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, hole()), EFAULT);
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT),
	       "failed imports left fences behind");

	/* A pending write fence: readers and writers must wait. */
	EXPECT_OK(import_fence(fd, f1, DMA_BUF_SYNC_WRITE));
	trace_bufinfo(ino);
	REQUIRE(!bufinfo_read(&bi), "bufinfo");
	e = bufinfo_find(&bi, ino);
	EXPECT(e && e->fences == 1 && e->unsignalled == 1 &&
	       !strncmp(e->fence_lines[0], "write fence:sw_sync ", 20) &&
	       strstr(e->fence_lines[0], " seq 1 unsignalled"),
	       "bufinfo fences: %d, first \"%s\"", e ? e->fences : -1,
	       e ? e->fence_lines[0] : "");
	bufinfo_free(&bi);
	EXPECT(poll_now(fd, POLLIN) == 0, "POLLIN with a pending write fence");
	EXPECT(poll_now(fd, POLLOUT) == 0, "POLLOUT with a pending write fence");
	sf = export_fence(fd, DMA_BUF_SYNC_READ);
	EXPECT(sf >= 0 && !sync_file_signaled(sf), "export for readers not pending");
	EXPECT_OK(sw_inc(tl, 1));
	EXPECT(sf >= 0 && sync_file_signaled(sf), "exported sync_file not signaled");
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT),
	       "not ready after the fence signaled");
	close(sf);
	trace_bufinfo(ino);
	REQUIRE(!bufinfo_read(&bi), "bufinfo");
	e = bufinfo_find(&bi, ino);
	EXPECT(e && e->unsignalled == 0, "bufinfo still shows unsignalled fences");
	bufinfo_free(&bi);

	/* A pending read fence: only writers wait. */
	f2 = sw_fence(tl, 2);
	REQUIRE(f2 >= 0, "sw_sync fence 2");
	EXPECT_OK(import_fence(fd, f2, DMA_BUF_SYNC_READ));
	trace_bufinfo(ino);
	REQUIRE(!bufinfo_read(&bi), "bufinfo");
	e = bufinfo_find(&bi, ino);
	EXPECT(e && e->unsignalled == 1, "want one unsignalled fence");
	for (i = 0; e && i < (unsigned int)e->fences && i < 4; i++)
		if (strstr(e->fence_lines[i], "unsignalled"))
			EXPECT(!strncmp(e->fence_lines[i], "read fence:sw_sync ", 19),
			       "fence line \"%s\"", e->fence_lines[i]);
	bufinfo_free(&bi);
	EXPECT(poll_now(fd, POLLIN) == POLLIN, "POLLIN with only a read fence");
	EXPECT(poll_now(fd, POLLOUT) == 0, "POLLOUT with a pending read fence");
	sf = export_fence(fd, DMA_BUF_SYNC_READ);
	EXPECT(sf >= 0 && sync_file_signaled(sf), "readers need not wait for readers");
	close(sf);
	sf = export_fence(fd, DMA_BUF_SYNC_WRITE);
	EXPECT(sf >= 0 && !sync_file_signaled(sf), "writers must wait for readers");
	EXPECT_OK(sw_inc(tl, 1));
	EXPECT(sf >= 0 && sync_file_signaled(sf), "not signaled after inc");
	EXPECT(poll_now(fd, POLLOUT) == POLLOUT, "POLLOUT after the read fence signaled");
	close(sf);

	/* An already signaled fence changes nothing. */
	EXPECT_OK(import_fence(fd, f1, DMA_BUF_SYNC_RW));
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "signaled import");

	close(null);
	close(f1);
	close(f2);
	close(tl);
	close(fd);
	return PASS;
}

static int t_import_merged(const struct exporter *ex)
{
	struct sync_merge_data m = { .name = "merged" };
	struct bufinfo bi;
	struct bufinfo_entry *e;
	int fd = alloc_t(ex, SIZE), t1, t2, a, b;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	t1 = sw_timeline();
	t2 = sw_timeline();
	REQUIRE(t1 >= 0 && t2 >= 0, "timelines");
	a = sw_fence(t1, 1);
	b = sw_fence(t2, 1);
	REQUIRE(a >= 0 && b >= 0, "fences");
	m.fd2 = b;
	REQUIRE(!ioctl(a, SYNC_IOC_MERGE, &m), "SYNC_IOC_MERGE: %s", ename(errno));
	/* Every fence inside a merged sync_file lands in the buffer. */
	EXPECT_OK(import_fence(fd, m.fence, DMA_BUF_SYNC_WRITE));
	trace_bufinfo(ino_of(fd));
	REQUIRE(!bufinfo_read(&bi), "bufinfo");
	e = bufinfo_find(&bi, ino_of(fd));
	EXPECT(e && e->fences == 2 && e->unsignalled == 2,
	       "bufinfo lists %d fences (%d unsignalled), want 2",
	       e ? e->fences : -1, e ? e->unsignalled : -1);
	bufinfo_free(&bi);
	EXPECT_OK(sw_inc(t1, 1));
	EXPECT(poll_now(fd, POLLIN) == 0, "ready with one fence of two pending");
	EXPECT_OK(sw_inc(t2, 1));
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "not ready");
	close(m.fence);
	close(a);
	close(b);
	close(t1);
	close(t2);
	close(fd);
	return PASS;
}

static int t_poll(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE), tl, f, status, ep, r;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, got;
	long armed, again;
	pid_t pid;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT),
	       "idle buffer not ready");
	EXPECT(poll_now(fd, POLLIN) == POLLIN, "idle buffer: POLLIN alone");
	tl = sw_timeline();
	f = sw_fence(tl, 1);
	REQUIRE(tl >= 0 && f >= 0, "sw_sync");
	REQUIRE(!import_fence(fd, f, DMA_BUF_SYNC_WRITE), "import");

	EXPECT(poll_now(fd, POLLIN | POLLOUT) == 0, "ready with a pending fence");
	armed = fdinfo_count(fd);
	/* Polling again while the callbacks are armed arms nothing more. */
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == 0, "ready on second poll");
	EXPECT(poll_now(fd, POLLIN) == 0, "ready on third poll");
	again = fdinfo_count(fd);
	EXPECT(armed == again, "count %ld after the first poll, %ld after more", armed, again);

	/* A blocked poller is woken when the fence signals. */
	pid = fork_untraced();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 10000);

		_exit(n == 1 && p.revents == POLLIN ? 0 : 1);
	}
	usleep(200000);
	r = waitpid(pid, &status, WNOHANG);
	trace("poller after 200 ms = %s", r == 0 ? "blocked" : "returned");
	EXPECT(r == 0, "poller did not block");
	EXPECT_OK(sw_inc(tl, 1));
	status = wait_child(pid, "blocked poller");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "blocked poller not woken with POLLIN");
	for (int i = 0; i < 100 && MUTED(fdinfo_count(fd)) != 1; i++)
		usleep(10000);
	EXPECT(fdinfo_count(fd) == 1, "count %ld after the callbacks ran, want 1",
	       fdinfo_count(fd));
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "not ready");
	close(f);

	/* The same through epoll. */
	f = sw_fence(tl, 2);
	REQUIRE(f >= 0 && !import_fence(fd, f, DMA_BUF_SYNC_WRITE), "import 2");
	ep = epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0, "epoll_create1");
	EXPECT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT(TRY(epoll_wait(ep, &got, 1, 0)) == 0, "epoll ready with a pending fence");
	EXPECT_OK(sw_inc(tl, 1));
	got.events = 0;
	r = TRY(epoll_wait(ep, &got, 1, 5000));
	trace("epoll events = %s", events_name(got.events));
	EXPECT(r == 1 &&
	       (got.events & (EPOLLIN | EPOLLOUT)) == (EPOLLIN | EPOLLOUT),
	       "epoll not woken with IN|OUT (events %#x)", got.events);
	close(ep);
	close(f);
	close(tl);
	close(fd);
	return PASS;
}

static int t_unknown_ioctl(const struct exporter *ex)
{
	static const unsigned long cmds[] = {
		_IO('b', 4), _IOW('b', 4, __u64), _IOWR('b', 9, __u64),
		_IOW('b', 0, __u32),		/* SYNC with the wrong size */
		_IOR('b', 0, struct dma_buf_sync),	/* ... wrong direction */
		_IOR('b', 2, struct dma_buf_export_sync_file),
		_IOW('b', 1, __u16),
		_IO('B', 0), 0, 0x5401 /* TCGETS */, 0xdeadbeef,
	};
	__u64 arg[8] = { 0 };
	int fd = alloc_t(ex, SIZE);

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int r = ioctl(fd, cmds[i], arg);

		trace("ioctl(%#lx) = %d%s%s", cmds[i], r, r ? " " : "", r ? ename(errno) : "");
		EXPECT(r == -1 && errno == ENOTTY,
		       "ioctl %#lx: errno %s, want ENOTTY", cmds[i], ename(errno));
	}
	close(fd);
	return PASS;
}

static int t_fdinfo(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE), d;
	char *info, want[128], v[64];
	const char *ps, *pc, *pe;
	void *p;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	trace_fdinfo(fd);
	info = fdinfo_of(fd);
	REQUIRE(info, "no fdinfo");
	/* The exact lines tools parse. */
	snprintf(want, sizeof(want), "\nsize:\t%zu\n", SIZE);
	ps = strstr(info, want);
	EXPECT(ps, "no \"size:\\t%zu\" line in:\n%s", SIZE, info);
	pc = strstr(info, "\ncount:\t1\n");
	EXPECT(pc, "no \"count:\\t1\" line in:\n%s", info);
	snprintf(want, sizeof(want), "\nexp_name:\t%s\n", ex->exp_name);
	pe = strstr(info, want);
	EXPECT(pe, "no \"exp_name:\\t%s\" line in:\n%s", ex->exp_name, info);
	EXPECT(!ps || !pc || !pe || (ps < pc && pc < pe), "fields out of order:\n%s", info);
	EXPECT(!strstr(info, "\nname:"), "unnamed buffer has a name line");
	EXPECT(fdinfo_field(info, "pos", v, sizeof(v)) && !strcmp(v, "0"), "pos %s", v);
	EXPECT(fdinfo_field(info, "flags", v, sizeof(v)) &&
	       (strtoul(v, NULL, 8) & O_ACCMODE) == O_RDWR, "flags %s, want O_RDWR", v);
	EXPECT(fdinfo_field(info, "ino", v, sizeof(v)) &&
	       strtoul(v, NULL, 10) == ino_of(fd), "ino %s, fstat %lu", v, ino_of(fd));
	free(info);

	/* count follows the references to the file: fds and mappings. */
	d = TRY_FD(dup(fd));
	EXPECT(fdinfo_count(fd) == 2 && bufinfo_count(ino_of(fd)) == 2,
	       "after dup: fdinfo %ld, bufinfo %ld, want 2", fdinfo_count(fd),
	       bufinfo_count(ino_of(fd)));
	p = map(fd, SIZE, PROT_READ, 0);
	REQUIRE(p != MAP_FAILED, "mmap");
	trace_fdinfo(d);
	EXPECT(fdinfo_count(d) == 3 && bufinfo_count(ino_of(fd)) == 3,
	       "mapped: fdinfo %ld, bufinfo %ld, want 3", fdinfo_count(d),
	       bufinfo_count(ino_of(fd)));
	munmap(p, SIZE);
	close(d);
	EXPECT(fdinfo_count(fd) == 1 && bufinfo_count(ino_of(fd)) == 1,
	       "back to one: fdinfo %ld, bufinfo %ld", fdinfo_count(fd),
	       bufinfo_count(ino_of(fd)));
	close(fd);
	return PASS;
}

static int t_bufinfo(const struct exporter *ex)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	char want[256];
	int fd = alloc_t(ex, SIZE), fd2, before;
	unsigned long bytes;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	trace_bufinfo(ino_of(fd));
	REQUIRE(!bufinfo_read(&bi), "cannot read %s", BUFINFO_PATH);
	trace("bufinfo header = %s, totals line = %s, totals match the list = %s",
	      bi.header_ok ? "6.12's" : "other", bi.total_ok ? "present" : "absent",
	      bi.total_objects == bi.objects && bi.total_bytes == bi.bytes ? "yes" : "no");
	EXPECT(bi.header_ok, "header differs from 6.12's:\n%.200s", bi.text);
	EXPECT(bi.total_ok, "no \"Total N objects, N bytes\" line");
	EXPECT(bi.total_objects == bi.objects && bi.total_bytes == bi.bytes,
	       "totals say %d objects/%lu bytes, listed %d/%lu",
	       bi.total_objects, bi.total_bytes, bi.objects, bi.bytes);
	e = bufinfo_find(&bi, ino_of(fd));
	REQUIRE(e, "our buffer (ino %lu) is not listed", ino_of(fd));
	EXPECT(e->size == SIZE, "size %lu", e->size);
	EXPECT((e->flags & O_ACCMODE) == O_RDWR, "flags %08lx", e->flags);
	EXPECT((e->mode & 3) == 3, "mode %08lx lacks FMODE_READ|FMODE_WRITE", e->mode);
	EXPECT(e->count == 1, "count %lu", e->count);
	EXPECT(!strcmp(e->exp_name, ex->exp_name), "exp_name %s", e->exp_name);
	EXPECT(!strcmp(e->name, "<none>"), "name %s", e->name);
	EXPECT(e->fences == 0 && e->devices == 0, "fences %d devices %d",
	       e->fences, e->devices);
	/* The whole block, byte for byte. */
	snprintf(want, sizeof(want),
		 "\n%08zu\t%08lx\t%08lx\t%08ld\t%s\t%08lu\t%s\n"
		 "\tAttached Devices:\nTotal 0 devices attached\n\n",
		 SIZE, e->flags, e->mode, 1L, ex->exp_name, ino_of(fd), "<none>");
	EXPECT(strstr(bi.text, want), "no block\n%s", want);
	EXPECT(strstr(bi.text, "\nTotal ") && bi.text[strlen(bi.text) - 1] == '\n',
	       "text does not end with the totals line");
	before = bi.objects;
	bytes = bi.bytes;
	bufinfo_free(&bi);

	fd2 = alloc_t(ex, 2 * SIZE);
	REQUIRE(fd2 >= 0, "second allocation");
	trace_bufinfo(ino_of(fd2));
	REQUIRE(!bufinfo_read(&bi), "bufinfo");
	trace("with a second buffer: %+d objects, %+ld bytes", bi.objects - before,
	      (long)(bi.bytes - bytes));
	EXPECT(bi.objects == before + 1 && bi.bytes == bytes + 2 * SIZE &&
	       bi.total_objects == bi.objects && bi.total_bytes == bi.bytes,
	       "with a second buffer: %d objects, %lu bytes (totals %d, %lu)",
	       bi.objects, bi.bytes, bi.total_objects, bi.total_bytes);
	bufinfo_free(&bi);
	close(fd2);
	trace("objects after closing the second = %+d", bufinfo_objects() - before);
	EXPECT(bufinfo_objects() == before, "closed buffer still listed");
	close(fd);
	return PASS;
}

/* The consumer side: receive, check who it is, map, read, write back. */
static int consumer(int sock, const struct exporter *ex)
{
	unsigned long ino;
	bool present;
	char ack = 'k';
	const char *name;
	unsigned char *p;
	int fd;

	fd = recv_fd(sock, &ino, sizeof(ino));
	if (fd < 0) {
		diag("consumer: no fd received");
		return 1;
	}
	if (ino_of(fd) != ino || lseek(fd, 0, SEEK_END) != (off_t)SIZE) {
		diag("consumer: got ino %lu size %lld, sent ino %lu", ino_of(fd),
		     (long long)lseek(fd, 0, SEEK_END), ino);
		return 1;
	}
	name = fdinfo_name(fd, &present);
	if (!present || strcmp(name, "passed-over-socket")) {
		diag("consumer: name \"%s\"", name);
		return 1;
	}
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	if (p == MAP_FAILED) {
		diag("consumer: mmap: %s", ename(errno));
		return 1;
	}
	sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (verify(p, SIZE / 2, 7) >= 0) {
		diag("consumer: producer's data not seen");
		return 1;
	}
	sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill(p + SIZE / 2, SIZE / 2, 9);
	sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	if (write(sock, &ack, 1) != 1)
		return 1;
	/* Stay mapped until the producer has looked. */
	if (read(sock, &ack, 1) != 1)
		return 1;
	munmap(p, SIZE);
	close(fd);
	(void)ex;
	return 0;
}

static int share_over_socket(const struct exporter *ex, bool sender_closes)
{
	int sv[2], fd, status;
	unsigned long ino;
	unsigned char *p;
	char c;
	pid_t pid;

	fd = alloc_t(ex, SIZE);
	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	ino = ino_of(fd);
	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	REQUIRE(!ioctl(fd, DMA_BUF_SET_NAME_A, "passed-over-socket"), "name");
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap");
	sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill(p, SIZE / 2, 7);
	sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	REQUIRE(!TRY(send_fd(sv[0], fd, &ino, sizeof(ino))), "sendmsg: %s", ename(errno));
	if (sender_closes) {
		/* Only the message in flight holds the buffer now. */
		munmap(p, SIZE);
		close(fd);
		EXPECT(listed(ino), "buffer in flight was freed");
	}
	pid = fork_untraced();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		close(sv[0]);
		if (!sender_closes) {
			munmap(p, SIZE);
			close(fd);
		}
		_exit(consumer(sv[1], ex));
	}
	close(sv[1]);
	if (read(sv[0], &c, 1) != 1) {
		EXPECT(0, "consumer did not answer");
	} else if (!sender_closes) {
		sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		EXPECT(verify(p + SIZE / 2, SIZE / 2, 9) < 0,
		       "consumer's writes not seen by the producer");
		EXPECT(verify(p, SIZE / 2, 7) < 0, "producer's half changed");
		sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		/* Producer fd + mapping, consumer fd + mapping. */
		EXPECT(fdinfo_count(fd) == 4, "count %ld while both map it, want 4",
		       fdinfo_count(fd));
	} else {
		EXPECT(bufinfo_count(ino) == 2, "count %ld with the consumer only, want 2",
		       bufinfo_count(ino));
	}
	if (write(sv[0], "x", 1) != 1)
		EXPECT(0, "write to consumer");
	status = wait_child(pid, "consumer");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "consumer failed");
	close(sv[0]);
	if (!sender_closes) {
		munmap(p, SIZE);
		close(fd);
	}
	EXPECT(wait_gone(ino), "buffer still listed after everyone closed it");
	return PASS;
}

static int t_scm_rights(const struct exporter *ex)
{
	return share_over_socket(ex, false);
}

static int t_scm_rights_sender_closed(const struct exporter *ex)
{
	return share_over_socket(ex, true);
}

static int t_fork(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE), status;
	unsigned char *p;
	pid_t pid;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap");
	fill(p, SIZE, 3);
	pid = fork_untraced();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		unsigned char *q;

		if (verify(p, SIZE, 3) >= 0)
			_exit(2);
		/* The inherited fd maps the same memory too. */
		q = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
		if (q == MAP_FAILED || verify(q, SIZE, 3) >= 0)
			_exit(3);
		fill(q + SIZE / 2, SIZE / 2, 5);
		munmap(q, SIZE);
		/* Writes through the inherited mapping land as well. */
		fill(p, SIZE / 4, 6);
		close(fd);
		_exit(0);
	}
	status = wait_child(pid, "child");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (%d)",
	       WEXITSTATUS(status));
	EXPECT(verify(p + SIZE / 2, SIZE / 2, 5) < 0, "child's mmap writes not seen");
	EXPECT(verify(p, SIZE / 4, 6) < 0, "child's inherited-mapping writes not seen");
	EXPECT(fdinfo_count(fd) == 2, "count %ld after the child left, want 2",
	       fdinfo_count(fd));
	munmap(p, SIZE);
	close(fd);
	return PASS;
}

static int t_close_while_mapped(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	unsigned long ino;
	unsigned char *p;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	ino = ino_of(fd);
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	REQUIRE(p != MAP_FAILED, "mmap");
	fill(p, SIZE, 11);
	close(fd);
	/* The mapping keeps the buffer. */
	EXPECT(listed(ino), "buffer gone while still mapped");
	EXPECT(bufinfo_count(ino) == 1, "count %ld, want 1 (the mapping)",
	       bufinfo_count(ino));
	EXPECT(verify(p, SIZE, 11) < 0, "contents changed after close");
	fill(p, SIZE, 12);
	EXPECT(verify(p, SIZE, 12) < 0, "cannot write after close");
	munmap(p, SIZE);
	EXPECT(wait_gone(ino), "buffer still listed after munmap");
	return PASS;
}

static int t_close_while_polled(const struct exporter *ex)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int fd = alloc_t(ex, SIZE), tl, f, ep;
	unsigned long ino;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	ino = ino_of(fd);
	tl = sw_timeline();
	f = sw_fence(tl, 1);
	REQUIRE(tl >= 0 && f >= 0, "sw_sync");
	REQUIRE(!import_fence(fd, f, DMA_BUF_SYNC_WRITE), "import");
	close(f);
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == 0, "ready with a pending fence");
	/* Callbacks are armed: closing must neither free nor crash. */
	close(fd);
	EXPECT(listed(ino), "buffer freed while a poll callback is armed");
	EXPECT_OK(sw_inc(tl, 1));
	EXPECT(wait_gone(ino), "buffer not released after its fence signaled");

	/* Again with an epoll registration outliving the fd. */
	fd = alloc_t(ex, SIZE);
	REQUIRE(fd >= 0, "allocation 2");
	ino = ino_of(fd);
	f = sw_fence(tl, 2);
	REQUIRE(f >= 0 && !import_fence(fd, f, DMA_BUF_SYNC_READ), "import 2");
	close(f);
	ep = epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0, "epoll");
	EXPECT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	close(fd);
	EXPECT_OK(sw_inc(tl, 1));
	EXPECT(wait_gone(ino), "buffer not released (epoll)");
	close(ep);

	/* And with the timeline destroyed instead of signaled. */
	fd = alloc_t(ex, SIZE);
	REQUIRE(fd >= 0, "allocation 3");
	ino = ino_of(fd);
	f = sw_fence(tl, 5);
	REQUIRE(f >= 0 && !import_fence(fd, f, DMA_BUF_SYNC_WRITE), "import 3");
	close(f);
	EXPECT(poll_now(fd, POLLIN | POLLOUT) == 0, "ready with a pending fence");
	close(fd);
	close(tl);	/* signals what is left on the timeline */
	EXPECT(wait_gone(ino), "buffer not released after the timeline went away");
	return PASS;
}

static int t_close_with_sync_file(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE), tl, f, sf, stub;
	unsigned long ino;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	ino = ino_of(fd);
	stub = export_fence(fd, DMA_BUF_SYNC_RW);
	tl = sw_timeline();
	f = sw_fence(tl, 1);
	REQUIRE(stub >= 0 && tl >= 0 && f >= 0, "setup");
	REQUIRE(!import_fence(fd, f, DMA_BUF_SYNC_WRITE), "import");
	sf = export_fence(fd, DMA_BUF_SYNC_READ);
	REQUIRE(sf >= 0, "export");
	/* The sync_files hold fences, not the buffer. */
	close(fd);
	EXPECT(wait_gone(ino), "buffer kept alive by its exported sync_file");
	EXPECT(sync_file_signaled(stub), "stub sync_file broken after close");
	EXPECT(!sync_file_signaled(sf), "exported fence signaled early");
	EXPECT_OK(sw_inc(tl, 1));
	EXPECT(sync_file_signaled(sf), "exported fence not signaled after inc");
	close(sf);
	close(stub);
	close(f);
	close(tl);
	return PASS;
}

/*
 * /proc/PID/maps names a mapped buffer "/dmabuf:NAME" with its inode: that is
 * how tools (Android's libdmabufinfo) find the buffers a process maps.
 */
static bool maps_line(void *addr, char *out, size_t len)
{
	char *maps = slurp("/proc/self/maps"), want[32], *p, *e;
	bool found = false;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	for (p = maps; p && *p; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (!strncmp(p, want, strlen(want))) {
			snprintf(out, len, "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
			found = true;
			break;
		}
		if (!e)
			break;
	}
	free(maps);
	return found;
}

/* The offset field of a maps line, in bytes. */
static unsigned long long maps_offset(const char *line)
{
	char off[32] = "";

	sscanf(line, "%*s %*s %31s", off);
	return strtoull(off, NULL, 16);
}

static int t_proc_maps(const struct exporter *ex)
{
	int fd = alloc_t(ex, SIZE);
	char line[512], want[128];
	unsigned long long off;
	void *p;

	REQUIRE(fd >= 0, "allocation failed: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ, 0);
	REQUIRE(p != MAP_FAILED, "mmap");
	trace_maps(p, ex->fake_offset);
	trace("fstat ino = ino%d", ino_index(ino_of(fd)));
	REQUIRE(maps_line(p, line, sizeof(line)), "mapping not in /proc/self/maps");
	snprintf(want, sizeof(want), " %lu ", ino_of(fd));
	EXPECT(strstr(line, want), "maps line lacks inode %lu: %s", ino_of(fd), line);
	EXPECT(strstr(line, " /dmabuf:") && line[strlen(line) - 1] == ':',
	       "unnamed: maps line %s", line);
	/* Mapped at offset 0; vgem's mmap moves vm_pgoff to the GEM offset. */
	off = maps_offset(line);
	if (ex->fake_offset)
		EXPECT(off >= GEM_FAKE_OFFSET_START && !(off % PG),
		       "offset %#llx, want a GEM fake offset: maps line %s", off, line);
	else
		EXPECT(off == 0, "offset %#llx, want 0: maps line %s", off, line);
	REQUIRE(!TRY(ioctl(fd, DMA_BUF_SET_NAME_A, "mapped-name")), "set name");
	trace_maps(p, ex->fake_offset);
	REQUIRE(maps_line(p, line, sizeof(line)), "mapping gone from /proc/self/maps");
	EXPECT(strstr(line, " /dmabuf:mapped-name"), "named: maps line %s", line);
	munmap(p, SIZE);
	close(fd);
	return PASS;
}

static int t_many_buffers(const struct exporter *ex)
{
	int before = bufinfo_objects(), fds[32], i, fails = failures;

	/* Traced as a summary: 32 times the same calls. */
	trace_mute++;
	for (i = 0; i < 32; i++) {
		void *p;
		int sf;

		fds[i] = alloc_t(ex, SIZE);
		REQUIRE(fds[i] >= 0, "allocation %d: %s", i, strerror(errno));
		p = map(fds[i], SIZE, PROT_READ | PROT_WRITE, 0);
		REQUIRE(p != MAP_FAILED, "mmap %d", i);
		fill(p, PG, i);
		munmap(p, SIZE);
		ioctl(fds[i], DMA_BUF_SET_NAME_B, "many");
		sf = export_fence(fds[i], DMA_BUF_SYNC_WRITE);
		EXPECT(sf >= 0, "export %d", i);
		close(sf);
	}
	trace_mute--;
	trace("32 buffers allocated, mapped, named, exported = %s",
	      failures == fails ? "ok" : "failed");
	trace("objects listed = %+d", bufinfo_objects() - before);
	EXPECT(bufinfo_objects() == before + 32, "listed %d, want %d",
	       bufinfo_objects(), before + 32);
	for (i = 0; i < 32; i++)
		close(fds[i]);
	trace("objects listed after closing = %+d", bufinfo_objects() - before);
	EXPECT(bufinfo_objects() == before, "listed %d after closing, want %d",
	       bufinfo_objects(), before);
	return PASS;
}

/* bufinfo and fdinfo stay readable and consistent while buffers churn. */
static int t_bufinfo_churn(const struct exporter *ex)
{
	int status, i;
	pid_t pid;

	pid = fork_untraced();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		for (i = 0; i < 300; i++) {
			struct bufinfo bi;

			if (bufinfo_read(&bi) || !bi.header_ok || !bi.total_ok ||
			    bi.total_objects != bi.objects || bi.total_bytes != bi.bytes) {
				diag("reader: bad listing at round %d: %d/%lu listed, totals %d/%lu",
				     i, bi.objects, bi.bytes, bi.total_objects, bi.total_bytes);
				_exit(1);
			}
			bufinfo_free(&bi);
		}
		_exit(0);
	}
	/* How far this gets before the reader is done depends on timing. */
	trace_mute++;
	for (i = 0; i < 300; i++) {
		int fd = alloc_t(ex, SIZE), sf;

		if (fd < 0) {
			EXPECT(0, "allocation %d: %s", i, strerror(errno));
			break;
		}
		ioctl(fd, DMA_BUF_SET_NAME_A, i & 1 ? "churn-odd" : "churn-even");
		sf = export_fence(fd, DMA_BUF_SYNC_RW);
		free(fdinfo_of(fd));
		close(fd);
		if (sf >= 0)
			close(sf);
		if (waitpid(pid, &status, WNOHANG) == pid)
			goto reaped;
	}
	waitpid(pid, &status, 0);
reaped:
	trace_mute--;
	trace("reader listing while buffers come and go: %s",
	      WIFEXITED(status) && !WEXITSTATUS(status) ? "consistent" : "failed");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bufinfo reader failed");
	return PASS;
}

static int t_memfd_coherent(const struct exporter *ex)
{
	int memfd = -1, fd;
	unsigned char *p, *m;

	fd = udmabuf_alloc(SIZE, &memfd);
	REQUIRE(fd >= 0, "udmabuf: %s", strerror(errno));
	p = map(fd, SIZE, PROT_READ | PROT_WRITE, 0);
	m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	REQUIRE(p != MAP_FAILED && m != MAP_FAILED, "mmap");
	sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill(p, SIZE, 21);
	sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	EXPECT(verify(m, SIZE, 21) < 0, "dma-buf writes not in the memfd");
	fill(m, SIZE, 22);
	sync_t(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	EXPECT(verify(p, SIZE, 22) < 0, "memfd writes not in the dma-buf");
	sync_t(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(p, SIZE);
	munmap(m, SIZE);
	close(fd);
	close(memfd);
	return PASS;
}

/*
 * Fail the 1st, 2nd, ... allocation of one call with the kernel's own
 * fault injection (CONFIG_FAILSLAB, /proc/thread-self/fail-nth, as
 * syzkaller does), until the call gets through.  This reaches every slab
 * allocation the call makes, in the core and in what it calls (sync_file,
 * fence arrays, files and fds, the exporter).  Each failure must be a
 * clean errno that leaves no fd and no buffer behind.
 */
#define FAIL_NTH_PATH	"/proc/thread-self/fail-nth"
#define FAILSLAB_DIR	"/sys/kernel/debug/failslab"
#define NTH_MAX		64

struct nth_ctx {
	const struct exporter *ex;
	int buf;		/* a buffer with two pending fences */
	int merged;		/* a sync_file with two more */
	int fresh;		/* a buffer without fences, made by prep */
	struct staged st;	/* an allocation up to its export, by prep */
	void *map;
};

/*
 * prep and done run outside the injection window, around every attempt.
 * Where what prep made may keep a buffer until done (vgem's GEM object
 * holds on to a dma-buf whose PRIME bookkeeping failed, until its handle
 * is closed), the leak check waits for done: check_after_done.
 * exporter_errno: the exporter may answer its own errno for an allocation
 * failure (its export_fail_errno).
 */
struct nth_op {
	const char *name;
	long (*run)(struct nth_ctx *c);	/* a handle for undo, or -errno */
	void (*undo)(struct nth_ctx *c, long handle);
	int (*prep)(struct nth_ctx *c);
	void (*done)(struct nth_ctx *c);
	bool check_after_done;
	bool exporter_errno;
};

static int nth_stage(struct nth_ctx *c)
{
	return c->ex->stage ? c->ex->stage(&c->st, SIZE) : 0;
}

static void nth_unstage(struct nth_ctx *c)
{
	if (c->ex->unstage)
		c->ex->unstage(&c->st);
}

/* The allocation; for staged exporters, its export call alone. */
static long nth_alloc(struct nth_ctx *c)
{
	int fd = c->ex->export_staged ? c->ex->export_staged(&c->st) :
		 c->ex->alloc(SIZE);

	return fd < 0 ? -errno : fd;
}

static long nth_export(struct nth_ctx *c)
{
	int sf = export_fence(c->buf, DMA_BUF_SYNC_WRITE);

	return sf < 0 ? -errno : sf;
}

static void nth_close(struct nth_ctx *c, long fd)
{
	close(fd);
}

static long nth_import(struct nth_ctx *c)
{
	return import_fence(c->buf, c->merged, DMA_BUF_SYNC_READ) ? -errno : 0;
}

static int nth_fresh_buffer(struct nth_ctx *c)
{
	c->fresh = c->ex->alloc(SIZE);
	return c->fresh < 0 ? -1 : 0;
}

static void nth_close_fresh(struct nth_ctx *c)
{
	close(c->fresh);
}

/* Into a buffer without a fence list: the reservation must allocate. */
static long nth_import_fresh(struct nth_ctx *c)
{
	return import_fence(c->fresh, c->merged, DMA_BUF_SYNC_WRITE) ? -errno : 0;
}

static long nth_set_name(struct nth_ctx *c)
{
	return ioctl(c->buf, DMA_BUF_SET_NAME_B, "fail-nth") ? -errno : 0;
}

static long nth_mmap(struct nth_ctx *c)
{
	c->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);
	return c->map == MAP_FAILED ? -errno : 0;
}

static void nth_munmap(struct nth_ctx *c, long unused)
{
	munmap(c->map, SIZE);
}

static const struct nth_op nth_ops[] = {
	{ "alloc", nth_alloc, nth_close, .prep = nth_stage, .done = nth_unstage,
	  .check_after_done = true, .exporter_errno = true },
	{ "export-sync-file", nth_export, nth_close },
	{ "import-sync-file", nth_import },
	{ "import-sync-file-first-fences", nth_import_fresh, .prep = nth_fresh_buffer,
	  .done = nth_close_fresh },
	{ "set-name", nth_set_name },
	{ "mmap", nth_mmap, nth_munmap },
};

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* Arm fail-nth through an fd opened before, so that nothing else counts. */
static void nth_arm(int nth, int n)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", n);
	if (pwrite(nth, v, strlen(v), 0) < 0)
		diag("fail-nth: %s", strerror(errno));
}

/* Disarm; true when the fault was injected (the count ran down to 0). */
static bool nth_disarm(int nth)
{
	char v[16] = "";
	bool hit;

	hit = pread(nth, v, sizeof(v) - 1, 0) > 0 && atoi(v) == 0;
	if (pwrite(nth, "0", 1, 0) < 0)
		diag("fail-nth: %s", strerror(errno));
	return hit;
}

static int t_fail_nth(const struct exporter *ex)
{
	struct nth_ctx c = { .ex = ex };
	struct sync_merge_data m = { .name = "nth" };
	int nth, tl, tl2, a, b, bm;

	REQUIRE(!write_str(FAILSLAB_DIR "/ignore-gfp-wait", "N") &&
		!write_str(FAILSLAB_DIR "/verbose", "0"),
		"no %s: the kernel needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS",
		FAILSLAB_DIR);
	nth = open(FAIL_NTH_PATH, O_RDWR | O_CLOEXEC);
	REQUIRE(nth >= 0, "%s: %s", FAIL_NTH_PATH, strerror(errno));

	c.buf = alloc_t(ex, SIZE);
	tl = sw_timeline();
	tl2 = sw_timeline();
	REQUIRE(c.buf >= 0 && tl >= 0 && tl2 >= 0, "buffer or timelines");
	a = sw_fence(tl, 1);
	b = sw_fence(tl, 2);
	bm = sw_fence(tl2, 1);
	REQUIRE(a >= 0 && b >= 0 && bm >= 0, "fences");
	EXPECT_OK(import_fence(c.buf, a, DMA_BUF_SYNC_WRITE));
	EXPECT_OK(import_fence(c.buf, b, DMA_BUF_SYNC_READ));
	m.fd2 = bm;
	REQUIRE(!ioctl(a, SYNC_IOC_MERGE, &m), "SYNC_IOC_MERGE: %s", ename(errno));
	c.merged = m.fence;

	for (unsigned int i = 0; i < sizeof(nth_ops) / sizeof(nth_ops[0]); i++) {
		const struct nth_op *op = &nth_ops[i];
		int n, failed = 0, fails = failures;
		/* What the failures answered: 0 (the call got through anyway) or errno. */
		bool answered[256] = { false };
		char seen[128] = "";

		/* How many allocations a call makes is not ABI: one summary. */
		trace_mute++;
		for (n = 1; n <= NTH_MAX; n++) {
			int fds, bufs, err;
			bool hit;
			long r;

			if (op->check_after_done) {
				fds = count_fds();
				bufs = bufinfo_objects();
			}
			if (op->prep && op->prep(&c)) {
				EXPECT(0, "%s: setting up: %s", op->name, strerror(errno));
				break;
			}
			if (!op->check_after_done) {
				fds = count_fds();
				bufs = bufinfo_objects();
			}
			nth_arm(nth, n);
			r = op->run(&c);
			hit = nth_disarm(nth);
			err = r < 0 ? (int)-r : 0;
			if (r >= 0 && op->undo)
				op->undo(&c, r);
			if (!hit) {
				EXPECT(r >= 0, "%s without a fault: %s", op->name, ename(err));
				if (op->done)
					op->done(&c);
				break;
			}
			failed++;
			answered[err & 255] = true;
			/* ENOSPC: shmem's answer when memfd_create cannot get an inode. */
			EXPECT(r >= 0 || err == ENOMEM || err == ENFILE || err == EMFILE ||
			       err == ENOSPC ||
			       (op->exporter_errno && c.ex->export_fail_errno &&
				err == c.ex->export_fail_errno),
			       "%s, allocation %d failed: errno %s", op->name, n, ename(err));
			if (op->check_after_done && op->done)
				op->done(&c);
			EXPECT(count_fds() == fds, "%s, allocation %d failed: %d fds, %d before",
			       op->name, n, count_fds(), fds);
			for (int w = 0; w < 100 && bufinfo_objects() != bufs; w++)
				usleep(10000);
			EXPECT(bufinfo_objects() == bufs,
			       "%s, allocation %d failed: %d buffers, %d before",
			       op->name, n, bufinfo_objects(), bufs);
			if (!op->check_after_done && op->done)
				op->done(&c);
		}
		trace_mute--;
		for (int e = 0; e < 256; e++)
			if (answered[e])
				snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
					 "%s%s", seen[0] ? "," : "", e ? ename(e) : "ok");
		trace("fail-nth %s: failed allocations answered {%s}, %s", op->name, seen,
		      failures == fails ? "clean" : "not clean");
		EXPECT(n <= NTH_MAX, "%s still failing after %d allocations", op->name, NTH_MAX);
		diag("%s/%s: %d allocation(s) failed in turn", ex->name, op->name, failed);
	}

	sw_inc(tl, 2);
	sw_inc(tl2, 1);
	close(c.merged);
	close(a);
	close(b);
	close(bm);
	close(tl);
	close(tl2);
	close(c.buf);
	close(nth);
	return PASS;
}

/* Exporter-independent: our UAPI header declares 6.12's ABI. */
static int t_uapi_layout(const struct exporter *ex)
{
	(void)ex;
	trace("SYNC %#lx SET_NAME_A %#lx SET_NAME_B %#lx EXPORT %#lx IMPORT %#lx NAME_LEN %d",
	      (unsigned long)DMA_BUF_IOCTL_SYNC, (unsigned long)DMA_BUF_SET_NAME_A,
	      (unsigned long)DMA_BUF_SET_NAME_B,
	      (unsigned long)DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
	      (unsigned long)DMA_BUF_IOCTL_IMPORT_SYNC_FILE, DMA_BUF_NAME_LEN);
	EXPECT(DMA_BUF_IOCTL_SYNC == 0x40086200, "SYNC %#lx", (unsigned long)DMA_BUF_IOCTL_SYNC);
	EXPECT(DMA_BUF_SET_NAME_A == 0x40046201, "SET_NAME_A %#lx", (unsigned long)DMA_BUF_SET_NAME_A);
	EXPECT(DMA_BUF_SET_NAME_B == 0x40086201, "SET_NAME_B %#lx", (unsigned long)DMA_BUF_SET_NAME_B);
	EXPECT(DMA_BUF_SET_NAME == DMA_BUF_SET_NAME_B, "SET_NAME on LP64");
	EXPECT(DMA_BUF_IOCTL_EXPORT_SYNC_FILE == 0xc0086202, "EXPORT %#lx",
	       (unsigned long)DMA_BUF_IOCTL_EXPORT_SYNC_FILE);
	EXPECT(DMA_BUF_IOCTL_IMPORT_SYNC_FILE == 0x40086203, "IMPORT %#lx",
	       (unsigned long)DMA_BUF_IOCTL_IMPORT_SYNC_FILE);
	EXPECT(DMA_BUF_SYNC_READ == 1 && DMA_BUF_SYNC_WRITE == 2 &&
	       DMA_BUF_SYNC_RW == 3 && DMA_BUF_SYNC_START == 0 &&
	       DMA_BUF_SYNC_END == 4 && DMA_BUF_SYNC_VALID_FLAGS_MASK == 7,
	       "sync flags");
	EXPECT(DMA_BUF_NAME_LEN == 32, "DMA_BUF_NAME_LEN %d", DMA_BUF_NAME_LEN);
	EXPECT(DMA_BUF_BASE == 'b', "DMA_BUF_BASE");
	EXPECT(sizeof(struct dma_buf_sync) == 8 &&
	       sizeof(struct dma_buf_export_sync_file) == 8 &&
	       sizeof(struct dma_buf_import_sync_file) == 8, "struct sizes");
	EXPECT(offsetof(struct dma_buf_export_sync_file, fd) == 4 &&
	       offsetof(struct dma_buf_import_sync_file, fd) == 4, "fd offsets");
	return PASS;
}

struct tcase {
	const char *name;
	int (*fn)(const struct exporter *ex);
	bool once;	/* not per exporter */
	bool readonly;	/* needs O_RDONLY dma-buf fds (exporter's alloc_ro) */
	const char *only;	/* for this exporter only */
};

static const struct tcase cases[] = {
	{ "uapi-layout", t_uapi_layout, true },
	{ "fstat-size", t_fstat_size },
	{ "llseek", t_llseek },
	{ "read-write-refused", t_read_write },
	{ "mmap-in-range", t_mmap_in_range },
	{ "mmap-past-end", t_mmap_past_end },
	{ "mmap-readonly-fd", t_mmap_readonly_fd, .readonly = true },
	{ "mprotect-upgrade-rdwr-fd", t_mprotect_upgrade },
	{ "mmap-private", t_mmap_private },
	{ "mremap-growth", t_mremap_growth },
	{ "sync-ioctl-flags", t_sync_ioctl },
	{ "sync-reaches-exporter", t_sync_reaches_exporter },
	{ "set-name", t_set_name },
	{ "set-name-concurrent-readers", t_name_concurrent },
	{ "proc-fd-link", t_proc_fd_link },
	{ "export-sync-file", t_export_sync_file },
	{ "import-sync-file", t_import_sync_file },
	{ "import-merged-sync-file", t_import_merged },
	{ "poll", t_poll },
	{ "unknown-ioctl-enotty", t_unknown_ioctl },
	{ "fdinfo", t_fdinfo },
	{ "proc-maps", t_proc_maps },
	{ "bufinfo", t_bufinfo },
	{ "scm-rights", t_scm_rights },
	{ "scm-rights-sender-closed", t_scm_rights_sender_closed },
	{ "fork", t_fork },
	{ "close-while-mapped", t_close_while_mapped },
	{ "close-while-polled", t_close_while_polled },
	{ "close-with-sync-file-outstanding", t_close_with_sync_file },
	{ "many-buffers", t_many_buffers },
	{ "bufinfo-while-buffers-come-and-go", t_bufinfo_churn },
	{ "memfd-coherent", t_memfd_coherent, .only = "udmabuf" },
	{ "fail-nth", t_fail_nth },
};

/* Run one case in a child; the child also checks for leaks around it. */
static int run_case(const struct tcase *tc, const struct exporter *ex,
		    const char *name)
{
	int r;
	pid_t pid;

	fflush(stdout);
	snprintf(trace_prefix, sizeof(trace_prefix), "%s", name);
	pid = fork();
	if (pid < 0)
		return FAIL;
	if (pid == 0) {
		int fds = count_fds(), bufs = bufinfo_objects();

		failures = 0;
		tracing = true;
		/* A peer that gave up must fail the case, not kill it. */
		signal(SIGPIPE, SIG_IGN);
		alarm(60);
		r = tap_case_verdict(tc->fn(ex), fds, bufs);
		fflush(stdout);
		_exit(r);
	}
	return tap_case_wait(pid);
}

int main(int argc, char **argv)
{
	bool require_devices = take_require_devices(&argc, &argv);
	const char *only = argc > 1 ? argv[1] : NULL;
	int n = 0, failed = 0, start_bufs, start_fds;

	trace_open();

	setvbuf(stdout, NULL, _IOLBF, 0);
	PG = page_size();
	SIZE = NPAGES * PG;
	printf("TAP version 13\n");
	start_bufs = bufinfo_objects();
	start_fds = count_fds();
	if (start_bufs < 0)
		diag("cannot read %s: %s", BUFINFO_PATH, strerror(errno));

	for (unsigned int e = 0; e < sizeof(exporters) / sizeof(exporters[0]); e++) {
		const struct exporter *ex = &exporters[e];
		bool present = ex->present();

		for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct tcase *tc = &cases[i];
			char name[128];
			int r;

			if ((tc->once && e > 0) || (tc->readonly && !ex->alloc_ro) ||
			    (tc->only && strcmp(tc->only, ex->name)))
				continue;
			if (tc->once)
				snprintf(name, sizeof(name), "%s", tc->name);
			else
				snprintf(name, sizeof(name), "%s/%s", ex->name, tc->name);
			if (only && !strstr(name, only))
				continue;
			n++;
			if (!tc->once && !present && require_devices) {
				/* A driver that did not come up fails. */
				printf("not ok %d %s # %s missing\n", n, name, ex->what);
				failed++;
				continue;
			}
			if (!tc->once && !present) {
				printf("ok %d %s # SKIP %s missing\n", n, name, ex->what);
				snprintf(trace_prefix, sizeof(trace_prefix), "%s", name);
				tracing = true;
				trace("case = skipped, no %s", ex->what);
				tracing = false;
				continue;
			}
			r = run_case(tc, ex, name);
			if (r == PASS)
				printf("ok %d %s\n", n, name);
			else {
				printf("not ok %d %s\n", n, name);
				failed++;
			}
		}
	}
	/* Nothing leaked across the whole run either. */
	failed += tap_run_leak_point(++n, start_fds, start_bufs);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
