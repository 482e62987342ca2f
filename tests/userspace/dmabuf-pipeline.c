// SPDX-License-Identifier: GPL-2.0-only
/*
 * Camera to display without a copy: vivid (a virtual V4L2 camera) captures
 * frames into its own buffers and exports each one as a dma-buf
 * (VIDIOC_EXPBUF); vkms (a virtual KMS display) imports the same dma-bufs
 * as framebuffers and scans each captured frame out; its writeback
 * connector hands back the frame it composed, which must be the captured
 * one byte for byte (the X byte aside: vkms writes it as 0xff).  Along the
 * way we print each buffer's path as the kernel sees it (fdinfo and debugfs
 * bufinfo: exporter, attachments, fences) and save the last frame the
 * display showed for the host to turn into a PNG.
 *
 * usage: dmabuf-pipeline [FRAME_FILE]   (default /results/frame.xrgb)
 * FRAME_FILE is "XRGB8888 <width> <height>\n" followed by the pixels, 4
 * bytes each (B, G, R, X in memory), row after row.
 *
 * Exit status 0 when every frame matched and, after everything was closed,
 * no buffer of ours was left in bufinfo and no fd leaked.
 */
#include "dmabuf-kms.h"

#define WIDTH	640
#define HEIGHT	480
#define NBUF	3
#define FRAMES	6

struct buf {
	int fd;
	unsigned long ino;
	size_t len;
	__u32 handle, fb;
};

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("# FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

/* A vivid camera streaming WIDTHxHEIGHT XBGR32 into NBUF exported buffers. */
static int camera_open(enum vivid_alloc inst, struct v4l2_pix_format *pf,
		       struct buf *bufs)
{
	int vid, n;

	vid = vivid_open(inst);
	if (vid < 0) {
		printf("# vivid instance %d: not found: %s\n", inst,
		       strerror(errno));
		return -ENODEV;
	}
	/*
	 * No clock over the bars: the frame (and so docs/demo-frame.png) is
	 * the same in every run.
	 */
	vivid_steady_picture(vid);
	if (vivid_set_format(vid, V4L2_PIX_FMT_XBGR32, WIDTH, HEIGHT, pf)) {
		printf("# vivid instance %d: S_FMT XBGR32 %dx%d: %s\n", inst,
		       WIDTH, HEIGHT, strerror(errno));
		goto fail;
	}
	if (pf->pixelformat != V4L2_PIX_FMT_XBGR32 || pf->width != WIDTH ||
	    pf->height != HEIGHT || pf->bytesperline < WIDTH * 4) {
		printf("# vivid instance %d: got format %.4s %ux%u, %u bytes a line\n",
		       inst, (char *)&pf->pixelformat, pf->width, pf->height,
		       pf->bytesperline);
		goto fail;
	}
	{
		int fds[NBUF];

		n = vivid_export(vid, NBUF, 0, O_RDWR | O_CLOEXEC, fds);
		if (n != NBUF) {
			printf("# vivid instance %d: %d of %d buffers exported: %s\n",
			       inst, n, NBUF, strerror(errno));
			while (n > 0)
				close(fds[--n]);
			goto fail;
		}
		for (int i = 0; i < NBUF; i++) {
			bufs[i].fd = fds[i];
			bufs[i].ino = ino_of(fds[i]);
			bufs[i].len = lseek(fds[i], 0, SEEK_END);
		}
	}
	return vid;
fail:
	close(vid);
	return -1;
}

/*
 * Print the "Attached Devices" lines bufinfo lists for inode @ino (the
 * shared parser counts them; here we want the names).
 */
static void print_attachments(const char *text, unsigned long ino)
{
	char *copy = strdup(text), *line, *save = NULL;
	bool mine = false, devices = false;
	int n = 0;

	for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long i;
		char tail[8];

		if (line[0] != '\t') {
			mine = sscanf(line, "%*s\t%*s\t%*s\t%*s\t%*[^\t]\t%lu%7s",
				      &i, tail) >= 1 && i == ino;
			devices = false;
			continue;
		}
		if (!mine)
			continue;
		if (!strcmp(line, "\tAttached Devices:")) {
			devices = true;
			continue;
		}
		if (devices) {
			printf("        %s\n", line + 1);
			n++;
		}
	}
	if (!n)
		printf("        (none)\n");
	free(copy);
}

/*
 * What the kernel says about each buffer while vivid and vkms share it;
 * @brief: one line each.
 */
static void print_paths(struct buf *bufs, int n, bool brief)
{
	struct bufinfo bi;

	if (bufinfo_read(&bi)) {
		fail("cannot read %s: %s", BUFINFO_PATH, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct bufinfo_entry *e = bufinfo_find(&bi, bufs[i].ino);
		char *info = fdinfo_of(bufs[i].fd), exp[64] = "?";

		if (info)
			fdinfo_field(info, "exp_name", exp, sizeof(exp));
		free(info);
		if (!brief)
			printf("  buffer %d: fd %d, inode %lu, %zu bytes, exported by \"%s\" (fdinfo exp_name)\n",
			       i, bufs[i].fd, bufs[i].ino, bufs[i].len, exp);
		if (!e) {
			fail("buffer %d (inode %lu) is not in bufinfo", i,
			     bufs[i].ino);
			continue;
		}
		if (e->devices < 1)
			fail("vkms holds buffer %d but bufinfo lists no attachment",
			     i);
		/* Neither vivid nor vkms fences a buffer they share this way. */
		if (e->fences)
			fail("buffer %d has %d fences in its reservation object",
			     i, e->fences);
		if (brief) {
			printf("  buffer %d (inode %lu): %d device%s attached, %d fence%s\n",
			       i, bufs[i].ino, e->devices,
			       e->devices == 1 ? "" : "s", e->fences,
			       e->fences == 1 ? "" : "s");
			continue;
		}
		if (bufs[i].fb)
			printf("      imported by vkms: GEM handle %u, framebuffer %u\n",
			       bufs[i].handle, bufs[i].fb);
		printf("      bufinfo: exporter \"%s\", file count %lu, %d device%s attached:\n",
		       e->exp_name, e->count, e->devices,
		       e->devices == 1 ? "" : "s");
		print_attachments(bi.text, bufs[i].ino);
		if (!e->fences)
			printf("      fences in its reservation object: none\n");
		else
			printf("      fences in its reservation object:\n");
		for (int f = 0; f < e->fences && f < 4; f++)
			printf("        %s\n", e->fence_lines[f]);
	}
	bufinfo_free(&bi);
}

/* Distinct colours (X byte ignored) in the first line of @row. */
static int colours(const __u32 *row, unsigned int width)
{
	__u32 seen[16];
	int n = 0;

	for (unsigned int x = 0; x < width && n < 16; x++) {
		__u32 c = row[x] & 0xffffff;
		int j;

		for (j = 0; j < n && seen[j] != c; j++)
			;
		if (j == n)
			seen[n++] = c;
	}
	return n;
}

/*
 * Compare what the display wrote back with buffer @b, read through mmap.
 * The capture must be a picture (vivid's eight colour bars), or two empty
 * frames would compare equal.
 */
static unsigned long check_frame(struct vkms *k, struct buf *b,
				 unsigned int pitch)
{
	unsigned long bad;
	void *map;

	map = mmap(NULL, b->len, PROT_READ, MAP_SHARED, b->fd, 0);
	if (map == MAP_FAILED) {
		fail("mmap of the captured buffer: %s", strerror(errno));
		return 1;
	}
	if (dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
		fail("DMA_BUF_IOCTL_SYNC start: %s", strerror(errno));
	bad = vkms_compare("writeback vs captured frame", k->wb_map,
			   k->wb_pitch, map, pitch, WIDTH, HEIGHT);
	/* The bars run down the whole frame; the last line has no text. */
	if (colours((const __u32 *)((char *)map + (size_t)(HEIGHT - 1) * pitch),
		    WIDTH) < 8) {
		fail("the captured frame has fewer than 8 colours: no picture");
		bad++;
	}
	if (dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
		fail("DMA_BUF_IOCTL_SYNC end: %s", strerror(errno));
	munmap(map, b->len);
	return bad;
}

static int save_frame(struct vkms *k, const char *path)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -1;
	fprintf(f, "XRGB8888 %u %u\n", k->width, k->height);
	for (unsigned int y = 0; y < k->height; y++)
		if (fwrite(k->wb_map + (size_t)y * k->wb_pitch, 4, k->width, f) !=
		    k->width)
			ret = -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

int main(int argc, char **argv)
{
	static const char *const inst_name[] = {
		[VIVID_VMALLOC] = "videobuf2-vmalloc",
		[VIVID_DMA_CONTIG] = "videobuf2-dma-contig",
	};
	const char *frame_path = argc > 1 ? argv[1] : "/results/frame.xrgb";
	enum vivid_alloc inst = VIVID_DMA_CONTIG;
	struct buf bufs[NBUF] = { 0 };
	struct v4l2_pix_format pf;
	struct vkms k = { .card = -1 };
	int fds_before = count_fds(), vid, shown = 0, matched = 0;
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	char path[64] = "?";

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("Camera to display through dma-buf: vivid captures, vkms shows, nothing is copied\n\n");

	/* Only a kernel without the dma-contig instance falls back. */
	vid = camera_open(inst, &pf, bufs);
	if (vid == -ENODEV) {
		printf("# no dma-contig camera: trying the vmalloc one\n");
		inst = VIVID_VMALLOC;
		vid = camera_open(inst, &pf, bufs);
	}
	if (vid < 0) {
		fail("no vivid camera gave %d XBGR32 %dx%d buffers", NBUF,
		     WIDTH, HEIGHT);
		return 1;
	}
	vivid_path(inst, path, sizeof(path));
	printf("Camera:  vivid instance %d (%s, %s), %ux%u XBGR32 (DRM's XRGB8888), %u bytes a line\n",
	       inst, path, inst_name[inst], pf.width, pf.height,
	       pf.bytesperline);

	if (vkms_open(&k, WIDTH, HEIGHT)) {
		fail("vkms could not be set up");
		goto out;
	}
	printf("Display: vkms (/dev/dri/card%d), CRTC %u, primary plane %u, mode %s, writeback connector %u\n\n",
	       k.minor, k.crtc, k.plane, k.mode.name, k.wb);

	printf("%d buffers allocated by vivid, exported with VIDIOC_EXPBUF, imported by vkms (PRIME) as framebuffers:\n",
	       NBUF);
	for (int i = 0; i < NBUF; i++) {
		if (vkms_import_fb(&k, bufs[i].fd, WIDTH, HEIGHT,
				   pf.bytesperline, &bufs[i].handle,
				   &bufs[i].fb)) {
			fail("vkms refused buffer %d", i);
			goto out;
		}
	}
	print_paths(bufs, NBUF, false);

	for (int i = 0; i < NBUF; i++) {
		if (vivid_queue_mmap(vid, i)) {
			fail("QBUF %d: %s", i, strerror(errno));
			goto out;
		}
	}
	if (xioctl(vid, VIDIOC_STREAMON, &type)) {
		fail("STREAMON: %s", strerror(errno));
		goto out;
	}

	printf("\nFrames (captured by vivid -> scanned out by vkms -> written back):\n");
	for (int n = 0; n < FRAMES; n++) {
		unsigned long bad;
		__u32 seq;
		int i = vivid_dequeue(vid, V4L2_MEMORY_MMAP, NULL, &seq);

		if (i < 0 || i >= NBUF) {
			fail("no captured frame: %s", strerror(errno));
			break;
		}
		/* Not black: a writeback that never came must not match. */
		memset(k.wb_map, 0xa5, k.wb_size);
		if (vkms_show_fb(&k, bufs[i].fb, WIDTH, HEIGHT, NULL)) {
			fail("vkms did not show buffer %d", i);
			break;
		}
		shown++;
		bad = check_frame(&k, &bufs[i], pf.bytesperline);
		if (bad)
			fail("frame %d (buffer %d): %lu pixels differ", n + 1,
			     i, bad);
		else
			matched++;
		printf("  frame %d: sequence %u in buffer %d -> vkms -> writeback %s\n",
		       n + 1, seq, i, bad ? "DIFFERS" :
		       "matches the capture byte for byte");
		if (n == FRAMES - 1 || bad) {
			if (save_frame(&k, frame_path))
				printf("# could not write %s: %s\n",
				       frame_path, strerror(errno));
			else
				printf("  (frame saved to %s)\n", frame_path);
		}
		if (vivid_queue_mmap(vid, i)) {
			fail("QBUF %d: %s", i, strerror(errno));
			break;
		}
	}

	/* A last look: the display still holds them all, none fenced. */
	printf("\nAfter streaming, in bufinfo:\n");
	print_paths(bufs, NBUF, true);

out:
	if (vid >= 0)
		vivid_stop(vid);
	for (int i = 0; i < NBUF; i++) {
		if (k.card >= 0)
			vkms_rmfb(&k, bufs[i].fb);
		if (k.card >= 0 && bufs[i].handle)
			drm_close_handle(k.card, bufs[i].handle);
	}
	if (k.card >= 0)
		vkms_close(&k);
	if (vid >= 0)
		close(vid);
	for (int i = 0; i < NBUF; i++)
		if (bufs[i].fd > 0)
			close(bufs[i].fd);

	/* The last references go with the fds; the frees are immediate. */
	{
		long until = vkms_ms_now() + 2000;
		int left;

		do {
			left = 0;
			for (int i = 0; i < NBUF; i++)
				if (bufs[i].ino && bufinfo_has(bufs[i].ino))
					left++;
		} while (left && vkms_ms_now() < until && !usleep(20000));
		printf("\nAfterwards, with everything closed:\n");
		if (left)
			fail("%d of our buffers still listed in bufinfo", left);
		else
			printf("  no buffer of ours left in bufinfo\n");
	}
	if (count_fds() != fds_before)
		fail("%d fds open, %d at the start", count_fds(), fds_before);
	else
		printf("  no fd leaked (%d open, as at the start)\n", fds_before);

	printf("\n%d of %d frames shown by vkms exactly as vivid captured them\n",
	       matched, FRAMES);
	if (matched != FRAMES || shown != FRAMES)
		failures++;
	printf("dmabuf-pipeline: %s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}
