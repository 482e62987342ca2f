// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every importer takes every exporter's buffer, with the data intact: a
 * matrix of the kernel's real exporters (system heap, udmabuf, vgem's
 * PRIME export, vivid's VIDIOC_EXPBUF from its videobuf2-vmalloc and
 * -dma-contig instances) and importers (vgem's PRIME import, read through
 * a vgem dumb mapping; vkms: framebuffer, scanout, CRC and writeback;
 * vivid capturing with V4L2_MEMORY_DMABUF into the buffer, on either
 * instance).  All buffers are one 640x480 XRGB8888 frame (V4L2's XBGR32),
 * 2560 bytes a line, holding a known picture before the import.
 *
 * A cell passes when the importer shows the picture intact, or when it
 * refuses the buffer exactly where and how Linux 6.12's driver does (see
 * the importers' comments).  Per exporter, a "fences" case puts an
 * unsignaled fence in the buffer's reservation object and checks that
 * poll(), DMA_BUF_IOCTL_SYNC and a KMS commit wait for it.
 *
 * Each case runs in its own child; fds and bufinfo buffers are counted
 * around it.  Output is TAP; DMABUF_TRACE=FILE also writes a trace of each
 * step's outcome (no address, fd number or time), which host/conform
 * compares between our core and upstream's.
 * usage: dmabuf-import [--require-devices] [CASE-SUBSTRING]
 *   --require-devices: a missing device fails its cases instead of
 *   skipping them (host/userspace passes it when the kernel has them all)
 */
#include "dmabuf-kms.h"
#include "dmabuf-tap.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define WIDTH	640
#define HEIGHT	480
#define PITCH	(WIDTH * 4)
#define LEN	((size_t)PITCH * HEIGHT)

/* "0" or "-1 EFOO": a call's outcome as the trace spells it. */
static const char *outcome(int r)
{
	static char buf[8][40];
	static int next;
	char *s = buf[next++ & 7];

	if (r < 0)
		snprintf(s, sizeof(buf[0]), "-1 %s", ename(errno));
	else
		snprintf(s, sizeof(buf[0]), "%d", r);
	return s;
}

static long ms_now(void)
{
	return vkms_ms_now();
}

/* ---- pictures ------------------------------------------------------- */

/* A picture no two neighbouring pixels of which are alike, X byte 0xff. */
static void picture(unsigned char *p, unsigned int seed)
{
	for (unsigned int y = 0; y < HEIGHT; y++) {
		__u32 *row = (__u32 *)(p + (size_t)y * PITCH);

		for (unsigned int x = 0; x < WIDTH; x++)
			row[x] = 0xff000000u | ((x + seed) & 0xff) << 16 |
				 ((y * 3 + seed) & 0xff) << 8 |
				 ((x ^ (y * 7)) & 0xff);
	}
}

/* Copy @len bytes between the dma-buf and @pix through a shared mapping. */
static int buffer_io(int fd, unsigned char *pix, bool to_buffer)
{
	__u64 dir = to_buffer ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ;
	unsigned char *map;
	int r = 0;

	map = mmap(NULL, LEN, to_buffer ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		diag("mmap of the dma-buf: %s", strerror(errno));
		return -1;
	}
	if (dmabuf_sync(fd, DMA_BUF_SYNC_START | dir)) {
		diag("DMA_BUF_IOCTL_SYNC start: %s", strerror(errno));
		r = -1;
	}
	if (to_buffer)
		memcpy(map, pix, LEN);
	else
		memcpy(pix, map, LEN);
	if (dmabuf_sync(fd, DMA_BUF_SYNC_END | dir)) {
		diag("DMA_BUF_IOCTL_SYNC end: %s", strerror(errno));
		r = -1;
	}
	munmap(map, LEN);
	return r;
}

/* Pixels of @got that differ from @want (all 4 bytes); the first few said. */
static unsigned long differ(const char *what, const unsigned char *got,
			    const unsigned char *want)
{
	const __u32 *g = (const __u32 *)got, *w = (const __u32 *)want;
	unsigned long bad = 0;

	for (size_t i = 0; i < LEN / 4; i++) {
		if (g[i] == w[i])
			continue;
		if (bad < 4)
			diag("%s: pixel (%zu,%zu) is 0x%08x, expected 0x%08x",
			     what, i % WIDTH, i / WIDTH, g[i], w[i]);
		bad++;
	}
	if (bad)
		diag("%s: %lu of %u pixels differ", what, bad, WIDTH * HEIGHT);
	return bad;
}

static bool uniform(const unsigned char *p)
{
	const __u32 *w = (const __u32 *)p;

	for (size_t i = 1; i < LEN / 4; i++)
		if (w[i] != w[0])
			return false;
	return true;
}

/*
 * Whether the pages behind @fd are physically contiguous, in order, as its
 * mapping's /proc/self/pagemap entries say: 1 yes, 0 no, -1 unknown.  UML's
 * DMA emulation maps without an IOMMU or bounce buffers, so a device's DMA
 * addresses are these physical addresses.  pagemap passes over VM_PFNMAP
 * mappings (the page walk skips them), which is how the heap, udmabuf,
 * vgem and videobuf2-dma-contig map: only videobuf2-vmalloc's mapping
 * (vm_insert_page) and a memfd's show their PFNs.
 */
static int contiguous(int fd)
{
	long pg = page_size();
	size_t n = LEN / pg;
	volatile unsigned char *map;
	unsigned long long first = 0;
	int pm, r = 1;

	map = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < n; i++)
		(void)map[i * pg];	/* fault every page in */
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		munmap((void *)map, LEN);
		return -1;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		unsigned long long e, pfn;
		off_t off = ((uintptr_t)map / pg + i) * 8;

		if (pread(pm, &e, 8, off) != 8 || !(e >> 63)) {
			r = -1;
			break;
		}
		pfn = e & ((1ULL << 55) - 1);
		if (!pfn)
			r = -1;
		else if (!i)
			first = pfn;
		else if (pfn != first + i)
			r = 0;
	}
	close(pm);
	munmap((void *)map, LEN);
	return r;
}

/* Attachments bufinfo lists for the buffer; -1 if it is not listed. */
static int attachments(unsigned long ino)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	int n = -1;

	if (bufinfo_read(&bi))
		return -1;
	e = bufinfo_find(&bi, ino);
	if (e)
		n = e->devices;
	bufinfo_free(&bi);
	return n;
}

/* ---- exporters ------------------------------------------------------ */

/* An exporter's buffer and the picture it holds. */
struct src {
	int fd;
	unsigned long ino;
	unsigned char pix[LEN];
	int memfd;		/* udmabuf: the memfd it is made of, else -1 */
	int card;		/* vgem: the exporting card, else -1 */
	__u32 handle;		/* vgem: the buffer's GEM handle there */
};

struct exporter {
	const char *name;
	const char *what;	/* what a kernel without it lacks */
	bool (*present)(void);
	int (*make)(struct src *s);	/* fd and the picture it holds */
	bool native_vgem;	/* vgem's own GEM object */
	bool contig;		/* allocated physically contiguous */
};

static bool present_heap(void)
{
	return access(HEAP_PATH, R_OK) == 0;
}

static bool present_udmabuf(void)
{
	return access(UDMABUF_PATH, R_OK) == 0;
}

static bool present_drm(const char *driver)
{
	int card = drm_open_driver(driver);

	if (card < 0)
		return false;
	close(card);
	return true;
}

static bool present_vgem(void)
{
	return present_drm("vgem");
}

static bool present_vkms(void)
{
	return present_drm("vkms");
}

static bool present_vivid(enum vivid_alloc inst)
{
	int vid = vivid_open(inst);

	if (vid < 0)
		return false;
	close(vid);
	return true;
}

static bool present_vmalloc(void)
{
	return present_vivid(VIVID_VMALLOC);
}

static bool present_contig(void)
{
	return present_vivid(VIVID_DMA_CONTIG);
}

/* The CPU-written exporters: our picture through the dma-buf's mapping. */
static int fill_src(struct src *s)
{
	if (s->fd < 0) {
		diag("allocation: %s", strerror(errno));
		return -1;
	}
	picture(s->pix, 1);
	if (buffer_io(s->fd, s->pix, true))
		return -1;
	trace("picture written through mmap and SYNC = 0");
	return 0;
}

static int make_heap(struct src *s)
{
	s->fd = heap_alloc(LEN, O_RDWR | O_CLOEXEC);
	return fill_src(s);
}

static int make_udmabuf(struct src *s)
{
	s->fd = udmabuf_alloc(LEN, &s->memfd);
	return fill_src(s);
}

static int make_vgem(struct src *s)
{
	__u32 pitch;
	__u64 size;

	s->card = drm_open_driver("vgem");
	if (s->card < 0 ||
	    drm_dumb_create(s->card, WIDTH, HEIGHT, 32, &s->handle, &pitch,
			    &size)) {
		diag("vgem dumb buffer: %s", strerror(errno));
		return -1;
	}
	if (pitch != PITCH || size < LEN) {
		diag("vgem dumb buffer: pitch %u, size %llu", pitch,
		     (unsigned long long)size);
		return -1;
	}
	s->fd = drm_prime_export(s->card, s->handle, DRM_CLOEXEC | DRM_RDWR);
	return fill_src(s);
}

/* vivid capturing our geometry without on-screen text; -1 if it cannot. */
static int vivid_setup(enum vivid_alloc inst)
{
	struct v4l2_pix_format pf = { 0 };
	int vid = vivid_open(inst);

	if (vid < 0) {
		diag("vivid instance %d: %s", inst, strerror(errno));
		return -1;
	}
	if (vivid_set_format(vid, V4L2_PIX_FMT_XBGR32, WIDTH, HEIGHT, &pf) ||
	    pf.pixelformat != V4L2_PIX_FMT_XBGR32 || pf.width != WIDTH ||
	    pf.height != HEIGHT || pf.bytesperline != PITCH ||
	    pf.sizeimage < LEN) {
		diag("vivid instance %d: format XBGR32 %ux%u: %s (got %ux%u, %u a line)",
		     inst, WIDTH, HEIGHT, strerror(errno), pf.width, pf.height,
		     pf.bytesperline);
		close(vid);
		return -1;
	}
	vivid_steady_picture(vid);
	return vid;
}

/*
 * vivid's own MMAP buffer, exported, with a captured frame in it: stream
 * on the node that made it, dequeue the frame, read it through the
 * dma-buf.  The node is closed after: the dma-buf keeps the memory.
 */
static int make_vivid(enum vivid_alloc inst, struct src *s)
{
	int vid = vivid_setup(inst), idx, r = -1;
	__u32 used = 0;

	if (vid < 0)
		return -1;
	if (vivid_export(vid, 1, 0, O_RDWR | O_CLOEXEC, &s->fd) != 1) {
		diag("vivid export: %s", strerror(errno));
		s->fd = -1;
		goto out;
	}
	/* The queue was empty: CREATE_BUFS gave this buffer index 0. */
	if (vivid_queue_mmap(vid, 0)) {
		diag("QBUF: %s", strerror(errno));
		goto out;
	}
	{
		int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

		if (xioctl(vid, VIDIOC_STREAMON, &type)) {
			diag("STREAMON: %s", strerror(errno));
			goto out;
		}
	}
	idx = vivid_dequeue(vid, V4L2_MEMORY_MMAP, &used, NULL);
	vivid_stop(vid);
	if (idx != 0 || used < LEN) {
		diag("DQBUF: index %d, %u bytes: %s", idx, used, strerror(errno));
		goto out;
	}
	if (buffer_io(s->fd, s->pix, false))
		goto out;
	trace("frame captured into the exported buffer, read through mmap = %s",
	      uniform(s->pix) ? "one value" : "a picture");
	if (uniform(s->pix)) {
		diag("the captured frame is all 0x%08x", *(__u32 *)s->pix);
		goto out;
	}
	r = 0;
out:
	close(vid);
	return r;
}

static int make_vmalloc(struct src *s)
{
	return make_vivid(VIVID_VMALLOC, s);
}

static int make_contig(struct src *s)
{
	return make_vivid(VIVID_DMA_CONTIG, s);
}

static const struct exporter exporters[] = {
	{ "system", HEAP_PATH, present_heap, make_heap },
	{ "udmabuf", UDMABUF_PATH, present_udmabuf, make_udmabuf },
	{ "vgem", "vgem DRM device", present_vgem, make_vgem,
	  .native_vgem = true },
	{ "vivid-vmalloc", "vivid instance 0 (vmalloc)", present_vmalloc,
	  make_vmalloc },
	{ "vivid-dma-contig", "vivid instance 1 (dma-contig)", present_contig,
	  make_contig, .contig = true },
};

static void src_free(struct src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->card >= 0) {
		if (s->handle)
			drm_close_handle(s->card, s->handle);
		close(s->card);
	}
}

/* ---- importers ------------------------------------------------------ */

struct importer {
	const char *name;
	const char *what;
	bool (*present)(void);
	int (*run)(const struct exporter *ex, struct src *s);
};

/*
 * vgem: PRIME import, then the pixels through a dumb mapping of the
 * imported handle.  6.12: drm_gem_prime_import_dev() gives a dma-buf that
 * vgem itself exported back as its own GEM object (no attachment), which
 * maps like any dumb buffer; any other exporter's buffer becomes an
 * imported object (attached, mapped by drm_gem_shmem's import_sg_table),
 * and drm_gem_dumb_map_offset(), which vgem's MAP_DUMB uses, refuses
 * imported objects with EINVAL.  What vgem holds is then checked to be the
 * same buffer: PRIME export of the handle gives back the dma-buf it came
 * from (drm_gem_prime_handle_to_fd() returns the import's dma-buf).
 */
static int imp_vgem(const struct exporter *ex, struct src *s)
{
	struct drm_mode_map_dumb m = { 0 };
	int card, before, during, fd2, r;
	__u32 handle;

	card = drm_open_driver("vgem");
	REQUIRE(card >= 0, "vgem: %s", strerror(errno));
	before = attachments(s->ino);
	r = drm_prime_import(card, s->fd, &handle);
	trace("PRIME FD_TO_HANDLE = %s", outcome(r));
	if (r) {
		EXPECT(0, "vgem refused the import: %s", strerror(errno));
		close(card);
		return FAIL;
	}
	during = attachments(s->ino);
	trace("attachments while imported = %+d", during - before);
	EXPECT(during - before == (ex->native_vgem ? 0 : 1),
	       "bufinfo lists %d attachments while vgem holds it, %d before",
	       during, before);

	fd2 = drm_prime_export(card, handle, DRM_CLOEXEC | DRM_RDWR);
	trace("PRIME HANDLE_TO_FD of the import = %s",
	      fd2 < 0 ? outcome(fd2) : ino_of(fd2) == s->ino ?
	      "the same buffer" : "another buffer");
	EXPECT(fd2 >= 0 && ino_of(fd2) == s->ino,
	       "re-export gave %s", fd2 < 0 ? strerror(errno) : "another inode");
	if (fd2 >= 0)
		close(fd2);

	m.handle = handle;
	r = xioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m);
	trace("MAP_DUMB of the imported handle = %s", outcome(r));
	if (ex->native_vgem) {
		unsigned char *map;

		EXPECT(!r, "MAP_DUMB of vgem's own buffer: %s", strerror(errno));
		map = r ? MAP_FAILED : mmap(NULL, LEN, PROT_READ, MAP_SHARED,
					    card, m.offset);
		trace("mmap of the dumb offset = %s",
		      map == MAP_FAILED ? "failed" : "ok");
		if (map != MAP_FAILED) {
			unsigned long bad = differ("through vgem", map, s->pix);

			trace("pixels through vgem = %s",
			      bad ? "differ" : "intact");
			EXPECT(!bad, "vgem shows other pixels");
			trace("cell = intact");
			munmap(map, LEN);
		} else {
			EXPECT(0, "mmap of the dumb offset: %s", strerror(errno));
		}
	} else {
		EXPECT(r == -1 && errno == EINVAL,
		       "MAP_DUMB of an imported handle: %s, want EINVAL (6.12 refuses imported objects)",
		       outcome(r));
		if (r == 0) {
			/* Not 6.12's answer: still, nothing may be wrong. */
			unsigned char *map = mmap(NULL, LEN, PROT_READ,
						  MAP_SHARED, card, m.offset);

			if (map != MAP_FAILED) {
				differ("through vgem", map, s->pix);
				munmap(map, LEN);
			}
		}
		trace("cell = refused at MAP_DUMB %s (expected: imported object)",
		      ename(errno));
	}
	drm_close_handle(card, handle);
	close(card);
	trace("attachments after GEM_CLOSE = %+d", attachments(s->ino) - before);
	EXPECT(attachments(s->ino) == before, "vgem left its attachment");
	return PASS;
}

/*
 * vkms: every exporter here can vmap (system_heap_vmap, vmap_udmabuf,
 * drm_gem_dmabuf_vmap, vb2_vmalloc/vb2_dc dmabuf_ops_vmap), which is all
 * vkms's shmem-helper import needs to compose from it (it reads through
 * dma_buf_vmap; its sg table is not used for scanout): all must show.
 */
static int imp_vkms(const struct exporter *ex, struct src *s)
{
	int r = vkms_show_check(s->fd, WIDTH, HEIGHT, PITCH, s->pix);

	trace("vkms show (writeback and CRC) = %s",
	      r < 0 ? outcome(r) : r ? "showed something else" : "intact");
	EXPECT(r == 0, "vkms did not show the buffer intact (%d)", r);
	trace("cell = %s", r == 0 ? "intact" : "not intact");
	return PASS;
}

/* Two frames captured into @vid's own MMAP buffer, into @a and @b. */
static int capture_reference(int vid, unsigned char *a, unsigned char *b)
{
	struct v4l2_requestbuffers rb = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
	};
	struct v4l2_buffer qb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, r = -1;
	unsigned char *map = MAP_FAILED;
	__u32 used;

	if (xioctl(vid, VIDIOC_REQBUFS, &rb) || rb.count < 1 ||
	    xioctl(vid, VIDIOC_QUERYBUF, &qb)) {
		diag("reference buffers: %s", strerror(errno));
		goto out;
	}
	map = mmap(NULL, qb.length, PROT_READ, MAP_SHARED, vid, qb.m.offset);
	if (map == MAP_FAILED || qb.length < LEN) {
		diag("mmap of the reference buffer: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		if (vivid_queue_mmap(vid, 0) ||
		    (!i && xioctl(vid, VIDIOC_STREAMON, &type)) ||
		    vivid_dequeue(vid, V4L2_MEMORY_MMAP, &used, NULL) != 0 || used < LEN) {
			diag("reference frame %d: %s", i + 1, strerror(errno));
			goto out;
		}
		memcpy(i ? b : a, map, LEN);
	}
	r = 0;
out:
	vivid_stop(vid);
	if (map != MAP_FAILED)
		munmap(map, qb.length);
	rb.count = 0;
	xioctl(vid, VIDIOC_REQBUFS, &rb);
	return r;
}

/*
 * vivid capturing into the buffer (V4L2_MEMORY_DMABUF), the frame compared
 * with one the same instance captured into its own buffers.
 *
 * 6.12's videobuf2-vmalloc maps an imported buffer with dma_buf_vmap,
 * which every exporter here gives: all are taken.  videobuf2-dma-contig
 * maps the attachment at QBUF (__prepare_dmabuf -> vb2_dc_map_dmabuf) and
 * refuses with EFAULT when the DMA addresses do not run contiguously over
 * the whole plane (vb2_dc_get_contiguous_size): so a buffer is taken iff
 * its pages are contiguous (UML maps DMA 1:1 to physical memory).
 * vivid-dma-contig's own buffers come from dma_alloc_coherent and are.
 * The others are contiguous only by chance of placement: videobuf2-
 * vmalloc's and udmabuf's layout is read from pagemap and decides the
 * expectation; the heap's (an order-8 chunk, order-4 chunks and single
 * pages) and vgem's (shmem pages) cannot be read from userspace, so either
 * 6.12 answer is taken for them: refused at QBUF with EFAULT, or captured
 * intact.  Any other step or errno, or a corrupted frame, fails.
 */
static int imp_vivid(enum vivid_alloc inst, const struct exporter *ex,
		     struct src *s)
{
	struct v4l2_requestbuffers rb = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.index = 0, .m.fd = s->fd, .length = LEN,
	};
	static unsigned char ref[LEN], ref2[LEN], got[LEN];
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, vid, layout, r, idx;
	bool want_refusal = false, either = false, chance;
	int failures_before;
	const char *step;
	__u32 used = 0;

	vid = vivid_setup(inst);
	REQUIRE(vid >= 0, "vivid importer unavailable");
	if (capture_reference(vid, ref, ref2)) {
		close(vid);
		REQUIRE(0, "no reference frame");
	}
	r = memcmp(ref, ref2, LEN) != 0;
	trace("reference frames = %s", r ? "differ" : "equal");
	EXPECT(!r, "two reference frames differ: the picture is not steady");
	EXPECT(!uniform(ref), "the reference frame is one value");

	/* The capture must overwrite what the buffer held before. */
	if (!memcmp(s->pix, ref, LEN)) {
		picture(s->pix, 7);
		if (buffer_io(s->fd, s->pix, true)) {
			close(vid);
			REQUIRE(0, "overwriting the exporter's frame");
		}
		trace("buffer held the reference picture: overwritten");
	}

	/*
	 * Whether dma-contig takes a buffer whose exporter does not allocate
	 * it contiguously is down to where its pages landed, which can differ
	 * between two boots (and so between our kernel and upstream's): the
	 * case checks the outcome against the layout it finds, and the trace
	 * says only whether they agreed.
	 */
	chance = inst == VIVID_DMA_CONTIG && !ex->contig;
	failures_before = failures;
	if (chance)
		trace_mute++;
	if (inst == VIVID_DMA_CONTIG) {
		const char *how = "pagemap of the dma-buf";

		if (ex->contig) {
			layout = 1;
			how = "dma_alloc_coherent";
		} else if (s->memfd >= 0) {
			layout = contiguous(s->memfd);
			how = "pagemap of its memfd";
		} else {
			layout = contiguous(s->fd);
		}
		trace("layout = %s (%s)", layout < 0 ? "unknown" : layout ?
		      "contiguous" : "scattered",
		      layout < 0 ? "PFN-mapped, not in pagemap" : how);
		want_refusal = layout == 0;
		either = layout < 0;
	}

	step = "REQBUFS";
	r = xioctl(vid, VIDIOC_REQBUFS, &rb);
	trace("REQBUFS(DMABUF) = %s", outcome(r));
	if (!r) {
		step = "QBUF";
		r = xioctl(vid, VIDIOC_QBUF, &b);
		trace("QBUF(dma-buf) = %s", outcome(r));
	}
	if (!r) {
		step = "STREAMON";
		r = xioctl(vid, VIDIOC_STREAMON, &type);
		trace("STREAMON = %s", outcome(r));
	}
	if (!r) {
		step = "DQBUF";
		idx = vivid_dequeue(vid, V4L2_MEMORY_DMABUF, &used, NULL);
		r = idx < 0 ? -1 : 0;
		trace("DQBUF = %s, %s", idx < 0 ? outcome(idx) : "index 0",
		      used == LEN ? "full frame" : "short frame");
		EXPECT(idx == 0 && used == LEN, "DQBUF: index %d, %u bytes: %s",
		       idx, used, strerror(errno));
	}
	if (r) {
		int err = errno;

		trace("cell = refused at %s %s%s", step, ename(err),
		      want_refusal ? " (expected: scattered buffer)" :
		      either ? " (layout unknown: refused unless contiguous)" :
		      "");
		EXPECT((want_refusal || either) && !strcmp(step, "QBUF") &&
		       err == EFAULT, "%s failed: %s; want %s", step,
		       ename(err), want_refusal ? "QBUF EFAULT" : "success");
	} else {
		unsigned long bad;

		vivid_stop(vid);
		EXPECT(!want_refusal,
		       "dma-contig took a scattered buffer (6.12 refuses at QBUF with EFAULT)");
		if (either)
			diag("dma-contig took a buffer whose layout pagemap does not show: it was contiguous");
		EXPECT(!buffer_io(s->fd, got, false), "reading the capture back");
		bad = differ("captured into the dma-buf", got, ref);
		trace("captured pixels = %s", bad ? "differ" : "intact");
		EXPECT(!bad, "the captured frame differs from the reference");
		trace("cell = %s", bad ? "not intact" : "intact");
	}
	if (chance) {
		trace_mute--;
		trace("cell = %s", failures == failures_before ?
		      "as 6.12 decides for the buffer's page layout" :
		      "not as 6.12 decides for the buffer's page layout");
	}
	vivid_stop(vid);
	rb.count = 0;
	xioctl(vid, VIDIOC_REQBUFS, &rb);
	close(vid);
	return PASS;
}

static int imp_vmalloc(const struct exporter *ex, struct src *s)
{
	return imp_vivid(VIVID_VMALLOC, ex, s);
}

static int imp_contig(const struct exporter *ex, struct src *s)
{
	return imp_vivid(VIVID_DMA_CONTIG, ex, s);
}

static const struct importer importers[] = {
	{ "vgem", "vgem DRM device", present_vgem, imp_vgem },
	{ "vivid-vmalloc", "vivid instance 0 (vmalloc)", present_vmalloc,
	  imp_vmalloc },
	{ "vivid-dma-contig", "vivid instance 1 (dma-contig)", present_contig,
	  imp_contig },
	{ "vkms", "vkms DRM device", present_vkms, imp_vkms },
};

/* ---- fences --------------------------------------------------------- */

struct fence_ref {
	int timeline;		/* sw_sync, or -1 */
	int card;		/* vgem */
	__u32 fence;
};

static int release(void *arg)
{
	struct fence_ref *f = arg;

	if (f->timeline >= 0)
		return sw_inc(f->timeline, 1);
	return vgem_fence_signal(f->card, f->fence);
}

static pid_t fork_untraced(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		tracing = false;
	return pid;
}

/* Exit status of child @pid, waiting at most @ms; -1 if still running. */
static int child_status(pid_t pid, int ms)
{
	long until = ms_now() + ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (ms_now() >= until)
			return -1;
		usleep(10000);
	}
}

/*
 * With a write fence pending in @fd's reservation object: poll(POLLIN)
 * times out and a reader's DMA_BUF_IOCTL_SYNC blocks; both return once
 * release(@f) signalled it.
 */
static void check_waiters(int fd, struct fence_ref *f, const char *kind)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	pid_t syncer, poller;
	int r, s1, s2;

	r = poll(&p, 1, 200);
	trace("%s: poll(POLLIN, 200 ms) while pending = %s", kind,
	      r == 0 ? "timed out" : outcome(r));
	EXPECT(r == 0, "%s: poll returned %d (revents %#x) with the fence pending",
	       kind, r, p.revents);

	syncer = fork_untraced();
	if (syncer == 0) {
		alarm(20);
		_exit(dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) ||
		      dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	}
	poller = fork_untraced();
	if (poller == 0) {
		alarm(20);
		_exit(!(poll(&p, 1, 10000) == 1 && p.revents == POLLIN));
	}
	if (syncer < 0 || poller < 0) {
		EXPECT(0, "fork: %s", strerror(errno));
		release(f);
		return;
	}
	s1 = child_status(syncer, 300);
	s2 = child_status(poller, 0);
	trace("%s: SYNC(START|READ) while pending = %s, poll(POLLIN) = %s",
	      kind, s1 < 0 ? "blocked" : "returned",
	      s2 < 0 ? "blocked" : "returned");
	EXPECT(s1 < 0, "%s: DMA_BUF_IOCTL_SYNC returned with the fence pending",
	       kind);
	EXPECT(s2 < 0, "%s: poll returned with the fence pending", kind);
	r = release(f);
	trace("%s: signal = %s", kind, outcome(r));
	EXPECT(!r, "%s: signalling: %s", kind, strerror(errno));
	if (s1 < 0)
		s1 = child_status(syncer, 5000);
	if (s2 < 0)
		s2 = child_status(poller, 5000);
	trace("%s: after the signal: SYNC = %s, poll = %s", kind,
	      s1 == 0 ? "returned 0" : s1 < 0 ? "still blocked" : "failed",
	      s2 == 0 ? "POLLIN" : s2 < 0 ? "still blocked" : "failed");
	EXPECT(s1 == 0, "%s: SYNC after the signal: status %d", kind, s1);
	EXPECT(s2 == 0, "%s: poll after the signal: status %d", kind, s2);
	if (s1 < 0)
		kill(syncer, SIGKILL);
	if (s2 < 0)
		kill(poller, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	r = poll(&p, 1, 0);
	trace("%s: poll(POLLIN) after = %s", kind,
	      r == 1 ? "POLLIN" : outcome(r));
	EXPECT(r == 1 && p.revents == POLLIN, "%s: not ready after the signal",
	       kind);
}

static int no_release(void *arg)
{
	return 0;
}

/* A KMS commit of the buffer waits for the pending fence. */
static void check_commit(int fd, struct fence_ref *f, const char *kind)
{
	int r;

	if (!present_vkms()) {
		trace("%s: vkms commit = skipped, no vkms", kind);
		diag("%s: no vkms: the commit's wait is not checked", kind);
		release(f);
		return;
	}
	r = vkms_show_waits(fd, WIDTH, HEIGHT, PITCH, release, f);
	trace("%s: vkms commit = %s", kind, r < 0 ? outcome(r) : r ?
	      "did not wait" : "waited for the signal");
	EXPECT(r == 0, "%s: vkms commit: %d", kind, r);

	/*
	 * The control: with the fence signalled, the same commit must be
	 * done before vkms_show_waits() gives up waiting, or "it waited"
	 * above only meant "it was slow".
	 */
	r = vkms_show_waits(fd, WIDTH, HEIGHT, PITCH, no_release, NULL);
	trace("%s: vkms commit without a pending fence = %s", kind,
	      r < 0 ? outcome(r) : r ? "done at once" : "held back");
	EXPECT(r == 1, "%s: vkms commit with nothing to wait for: %d", kind,
	       r);
}

static int import_write_fence(int buf, int sync_fd)
{
	struct dma_buf_import_sync_file is = {
		.flags = DMA_BUF_SYNC_WRITE, .fd = sync_fd,
	};

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &is);
}

static int t_fences(const struct exporter *ex, struct src *s)
{
	struct fence_ref f = { .timeline = sw_timeline(), .card = -1 };
	int sf, r;

	REQUIRE(f.timeline >= 0, "sw_sync: %s", strerror(errno));
	for (int i = 1; i <= 2; i++) {
		sf = sw_fence(f.timeline, i);
		REQUIRE(sf >= 0, "sw_fence: %s", strerror(errno));
		r = import_write_fence(s->fd, sf);
		close(sf);
		trace("sw_sync fence %d: IMPORT_SYNC_FILE(WRITE) = %s", i,
		      outcome(r));
		REQUIRE(!r, "IMPORT_SYNC_FILE: %s", strerror(errno));
		if (i == 1)
			check_waiters(s->fd, &f, "sw_sync");
		else
			check_commit(s->fd, &f, "sw_sync");
	}
	close(f.timeline);

	if (!ex->native_vgem)
		return PASS;
	/*
	 * vgem signals its fences itself 10 s after attaching them: each is
	 * attached right before its check, which takes well under that.
	 */
	f.timeline = -1;
	f.card = s->card;
	for (int i = 1; i <= 2; i++) {
		r = vgem_fence_attach(s->card, s->handle, true, &f.fence);
		trace("vgem fence %d: FENCE_ATTACH(WRITE) = %s", i, outcome(r));
		REQUIRE(!r, "vgem fence attach: %s", strerror(errno));
		if (i == 1)
			check_waiters(s->fd, &f, "vgem");
		else
			check_commit(s->fd, &f, "vgem");
	}
	return PASS;
}

/* ---- the harness ---------------------------------------------------- */

/*
 * Run a cell (or, with no importer, the exporter's fences case) in a
 * child, which makes the exporter's buffer, runs the check and counts
 * fds and bufinfo buffers around it all.
 */
static int run_case(const struct exporter *ex, const struct importer *im,
		    const char *name)
{
	pid_t pid;

	fflush(stdout);
	snprintf(trace_prefix, sizeof(trace_prefix), "%s", name);
	pid = fork();
	if (pid < 0)
		return FAIL;
	if (pid == 0) {
		static struct src s;
		int fds = count_fds(), bufs = bufinfo_objects(), r;
		long t0 = ms_now();

		failures = 0;
		tracing = true;
		signal(SIGPIPE, SIG_IGN);
		alarm(180);
		s.fd = -1;
		s.memfd = -1;
		s.card = -1;
		r = ex->make(&s);
		trace("export = %s", r ? "failed" : "ok");
		if (r) {
			diag("%s: no buffer with a known picture", ex->name);
			r = FAIL;
		} else {
			s.ino = ino_of(s.fd);
			trace("buffer = ino%d", ino_index(s.ino));
			r = im ? im->run(ex, &s) : t_fences(ex, &s);
		}
		src_free(&s);
		r = tap_case_verdict(r, fds, bufs);
		diag("%s: %ld ms", name, ms_now() - t0);
		fflush(stdout);
		_exit(r);
	}
	return tap_case_wait(pid);
}

/* --require-devices (dmabuf-tap.h): a missing device fails its cases. */
static bool require_devices;

/* Returns 1 when the missing device counts as a failure. */
static int skip(int n, const char *name, const char *what)
{
	if (require_devices) {
		printf("not ok %d %s # %s missing\n", n, name, what);
		return 1;
	}
	printf("ok %d %s # SKIP %s missing\n", n, name, what);
	snprintf(trace_prefix, sizeof(trace_prefix), "%s", name);
	tracing = true;
	trace("case = skipped, no %s", what);
	tracing = false;
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, failed = 0, start_bufs, start_fds;
	long t0 = ms_now();
	const char *only;

	require_devices = take_require_devices(&argc, &argv);
	only = argc > 1 ? argv[1] : NULL;
	trace_open();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	start_bufs = bufinfo_objects();
	start_fds = count_fds();
	if (start_bufs < 0)
		diag("cannot read %s: %s", BUFINFO_PATH, strerror(errno));

	for (unsigned int e = 0; e < sizeof(exporters) / sizeof(exporters[0]); e++) {
		const struct exporter *ex = &exporters[e];
		bool present = ex->present();

		for (int i = -1; i < (int)(sizeof(importers) / sizeof(importers[0])); i++) {
			const struct importer *im = i < 0 ? NULL : &importers[i];
			char name[128];

			snprintf(name, sizeof(name), "%s/%s", ex->name,
				 im ? im->name : "fences");
			if (only && !strstr(name, only))
				continue;
			n++;
			if (!present) {
				failed += skip(n, name, ex->what);
				continue;
			}
			if (im && !im->present()) {
				failed += skip(n, name, im->what);
				continue;
			}
			if (run_case(ex, im, name) == PASS) {
				printf("ok %d %s\n", n, name);
			} else {
				printf("not ok %d %s\n", n, name);
				failed++;
			}
		}
	}

	failed += tap_run_leak_point(++n, start_fds, start_bufs);
	diag("dmabuf-import: %ld ms", ms_now() - t0);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
