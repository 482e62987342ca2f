/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vkms as a dma-buf importer that shows what it made of a buffer, through
 * the raw DRM ioctls (no libdrm): open the card, find its one CRTC, the
 * CRTC's primary plane, the virtual connector and the writeback connector,
 * turn a dma-buf into an XRGB8888 framebuffer, scan it out with an atomic
 * commit that also asks the writeback connector for a copy of the frame,
 * wait for that copy's out-fence, and read the CRTC's CRC from debugfs.
 *
 * What vkms does, from its sources (drivers/gpu/drm/vkms/, 6.12):
 * - planes and writeback take ARGB8888, XRGB8888, XRGB16161616,
 *   ARGB16161616 and RGB565; the writeback frame must have the mode's size;
 * - every pixel goes through 16 bits per channel and back, which is exact
 *   for 8-bit channels; the writeback's X byte is always written as 0xff,
 *   so comparisons ignore byte 3 of each pixel;
 * - the primary plane may be positioned: it need not cover the CRTC, the
 *   rest of the frame is black;
 * - the CRTC feeds the virtual connector or the writeback connector, not
 *   both (their encoders are not clones): the commits here use writeback;
 * - the CRC is a crc32 of the composed 16-bit pixels, one per vblank while
 *   crtc-N/crc/data is open (only on an active CRTC);
 * - framebuffers on imported buffers are read through dma_buf_vmap, and
 *   the plane waits for the write fences in the buffer's reservation
 *   object before it shows it (nonblocking commits wait in a worker).
 *
 * A commit needs DRM master: the first opener of the card gets it, so a
 * caller must not hold vkms open itself while calling vkms_show_check() or
 * vkms_show_waits().  UML has no VT; nothing here touches one.
 *
 * The two checks other programs call:
 *   vkms_show_check(fd, width, height, pitch, expect)
 *   vkms_show_waits(fd, width, height, pitch, release, arg)
 * and the steps they are made of, for programs that drive vkms themselves
 * (dmabuf-pipeline): vkms_open()/vkms_close() a @w x @h output with its
 * writeback buffer (k->wb_map, k->wb_pitch), vkms_import_fb() and
 * vkms_dumb_fb() to make framebuffers, vkms_show_fb() to commit one and
 * wait for the writeback (vkms_commit() and vkms_fence_wait() apart),
 * vkms_compare() to compare frames, vkms_crc() for the CRTC's CRC.
 *
 * Functions return -1 with errno set on failure unless they say otherwise;
 * failures print a TAP "# " line saying which step failed.
 */
#ifndef DMABUF_KMS_H
#define DMABUF_KMS_H

#include "dmabuf-drivers.h"

#include <poll.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <drm/drm_fourcc.h>

/* The "type" property's value of a primary plane (drm_plane.h). */
#define VKMS_PLANE_PRIMARY	1

/* Property ids of one KMS object, by the names the commit sets. */
struct vkms_props {
	__u32 ids[16];
	char names[16][DRM_PROP_NAME_LEN];
	int count;
};

struct vkms {
	int card;
	int minor;			/* debugfs dri/<minor> */
	__u32 crtc, plane, conn, wb;	/* object ids */
	struct vkms_props crtc_p, plane_p, conn_p, wb_p;
	__u32 other_planes[8];		/* kept off in every commit */
	struct vkms_props other_p[8];
	int n_other;
	struct drm_mode_modeinfo mode;
	__u32 mode_blob;
	unsigned int width, height;
	/* the writeback target: a vkms dumb buffer of the mode's size */
	__u32 wb_handle, wb_fb, wb_pitch;
	__u64 wb_size;
	unsigned char *wb_map;
};

static inline void vkms_diag(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	errno = err;
}

static inline long vkms_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Keep the ids of the properties in @want (NULL-terminated) of object @id. */
static inline int vkms_get_props(int card, __u32 id, __u32 type,
				 const char *const *want, struct vkms_props *p)
{
	struct drm_mode_obj_get_properties op = { .obj_id = id, .obj_type = type };
	__u32 ids[64];
	__u64 vals[64];

	memset(p, 0, sizeof(*p));
	if (xioctl(card, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return -1;
	if (op.count_props > 64)
		op.count_props = 64;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)vals;
	if (xioctl(card, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return -1;
	for (__u32 i = 0; i < op.count_props && i < 64; i++) {
		struct drm_mode_get_property gp = { .prop_id = ids[i] };

		if (xioctl(card, DRM_IOCTL_MODE_GETPROPERTY, &gp))
			return -1;
		for (int w = 0; want[w]; w++) {
			if (strcmp(gp.name, want[w]) || p->count == 16)
				continue;
			p->ids[p->count] = ids[i];
			snprintf(p->names[p->count], DRM_PROP_NAME_LEN, "%s",
				 gp.name);
			p->count++;
		}
	}
	return 0;
}

/* The id of property @name, 0 when the object has none. */
static inline __u32 vkms_prop(const struct vkms_props *p, const char *name)
{
	for (int i = 0; i < p->count; i++)
		if (!strcmp(p->names[i], name))
			return p->ids[i];
	return 0;
}

/* The value of property "type" of plane @id, -1 if unknown. */
static inline long vkms_plane_type(int card, __u32 id)
{
	struct drm_mode_obj_get_properties op = {
		.obj_id = id, .obj_type = DRM_MODE_OBJECT_PLANE,
	};
	__u32 ids[64];
	__u64 vals[64];

	if (xioctl(card, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op) ||
	    op.count_props > 64)
		return -1;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)vals;
	if (xioctl(card, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return -1;
	for (__u32 i = 0; i < op.count_props; i++) {
		struct drm_mode_get_property gp = { .prop_id = ids[i] };

		if (!xioctl(card, DRM_IOCTL_MODE_GETPROPERTY, &gp) &&
		    !strcmp(gp.name, "type"))
			return (long)vals[i];
	}
	return -1;
}

/*
 * A mode of exactly @w x @h: the connector's own when it lists one (vkms
 * lists the DMT modes, 640x480 among them), else a 60 Hz one made up
 * here (vkms takes any size from 10x10 to 8192x8192).
 */
static inline int vkms_pick_mode(int card, __u32 conn, unsigned int w,
				 unsigned int h, struct drm_mode_modeinfo *out)
{
	struct drm_mode_get_connector gc = { .connector_id = conn };
	struct drm_mode_modeinfo *modes;
	unsigned int ht = w + 160, vt = h + 45;

	if (xioctl(card, DRM_IOCTL_MODE_GETCONNECTOR, &gc))
		return -1;
	modes = calloc(gc.count_modes + 1, sizeof(*modes));
	if (!modes)
		return -1;
	gc.count_props = gc.count_encoders = 0;
	gc.modes_ptr = (uintptr_t)modes;
	if (xioctl(card, DRM_IOCTL_MODE_GETCONNECTOR, &gc)) {
		free(modes);
		return -1;
	}
	for (__u32 i = 0; i < gc.count_modes; i++) {
		if (modes[i].hdisplay == w && modes[i].vdisplay == h) {
			*out = modes[i];
			free(modes);
			return 0;
		}
	}
	free(modes);
	memset(out, 0, sizeof(*out));
	out->hdisplay = w;
	out->hsync_start = w + 16;
	out->hsync_end = w + 16 + 96;
	out->htotal = ht;
	out->vdisplay = h;
	out->vsync_start = h + 10;
	out->vsync_end = h + 12;
	out->vtotal = vt;
	out->clock = (unsigned long)ht * vt * 60 / 1000 + 1;
	out->vrefresh = 60;
	out->type = DRM_MODE_TYPE_USERDEF;
	snprintf(out->name, sizeof(out->name), "%ux%u", w, h);
	return 0;
}

/* Close everything vkms_open() set up (safe on a half-opened @k). */
static inline void vkms_close(struct vkms *k)
{
	int err = errno;

	if (k->card < 0)
		return;
	if (k->wb_map && k->wb_map != MAP_FAILED)
		munmap(k->wb_map, k->wb_size);
	if (k->wb_fb)
		xioctl(k->card, DRM_IOCTL_MODE_RMFB, &k->wb_fb);
	if (k->wb_handle)
		drm_close_handle(k->card, k->wb_handle);
	if (k->mode_blob) {
		struct drm_mode_destroy_blob db = { .blob_id = k->mode_blob };

		xioctl(k->card, DRM_IOCTL_MODE_DESTROYPROPBLOB, &db);
	}
	close(k->card);
	memset(k, 0, sizeof(*k));
	k->card = -1;
	errno = err;
}

/* An XRGB8888 framebuffer on GEM @handle; its id in *fb. */
static inline int vkms_addfb(struct vkms *k, __u32 handle, unsigned int w,
			     unsigned int h, unsigned int pitch, __u32 *fb)
{
	struct drm_mode_fb_cmd2 c = {
		.width = w, .height = h,
		.pixel_format = DRM_FORMAT_XRGB8888,
		.handles = { handle }, .pitches = { pitch },
	};

	if (xioctl(k->card, DRM_IOCTL_MODE_ADDFB2, &c))
		return -1;
	*fb = c.fb_id;
	return 0;
}

static inline void vkms_rmfb(struct vkms *k, __u32 fb)
{
	if (fb)
		xioctl(k->card, DRM_IOCTL_MODE_RMFB, &fb);
}

/*
 * Open vkms and prepare a @w x @h output: the objects, their properties,
 * the mode's blob and the writeback framebuffer.
 */
static inline int vkms_open(struct vkms *k, unsigned int w, unsigned int h)
{
	static const char *const crtc_names[] = { "ACTIVE", "MODE_ID",
		"GAMMA_LUT", "DEGAMMA_LUT", "CTM", NULL };
	static const char *const plane_names[] = { "FB_ID", "CRTC_ID",
		"SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X", "CRTC_Y",
		"CRTC_W", "CRTC_H", "rotation", "alpha", NULL };
	static const char *const conn_names[] = { "CRTC_ID",
		"WRITEBACK_FB_ID", "WRITEBACK_OUT_FENCE_PTR", NULL };
	struct drm_set_client_cap cap_atomic = { DRM_CLIENT_CAP_ATOMIC, 1 };
	struct drm_set_client_cap cap_wb = {
		DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1 };
	struct drm_mode_card_res res = { 0 };
	struct drm_mode_get_plane_res pres = { 0 };
	struct drm_mode_create_blob blob = { 0 };
	__u32 crtcs[4], conns[8], planes[16];
	struct stat st;
	const char *step;

	memset(k, 0, sizeof(*k));
	k->card = drm_open_driver("vkms");
	if (k->card < 0) {
		vkms_diag("vkms: no vkms card: %s", strerror(errno));
		return -1;
	}
	step = "client caps (atomic, writeback connectors)";
	if (xioctl(k->card, DRM_IOCTL_SET_CLIENT_CAP, &cap_atomic) ||
	    xioctl(k->card, DRM_IOCTL_SET_CLIENT_CAP, &cap_wb))
		goto fail;
	step = "fstat of the card";
	if (fstat(k->card, &st))
		goto fail;
	k->minor = minor(st.st_rdev);

	step = "GETRESOURCES";
	if (xioctl(k->card, DRM_IOCTL_MODE_GETRESOURCES, &res))
		goto fail;
	if (res.count_crtcs < 1 || res.count_crtcs > 4 ||
	    res.count_connectors > 8) {
		errno = ENODEV;
		goto fail;
	}
	res.count_fbs = res.count_encoders = 0;
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	if (xioctl(k->card, DRM_IOCTL_MODE_GETRESOURCES, &res))
		goto fail;
	k->crtc = crtcs[0];

	for (__u32 i = 0; i < res.count_connectors; i++) {
		struct drm_mode_get_connector gc = { .connector_id = conns[i] };

		if (xioctl(k->card, DRM_IOCTL_MODE_GETCONNECTOR, &gc))
			continue;
		if (gc.connector_type == DRM_MODE_CONNECTOR_VIRTUAL && !k->conn)
			k->conn = conns[i];
		if (gc.connector_type == DRM_MODE_CONNECTOR_WRITEBACK && !k->wb)
			k->wb = conns[i];
	}
	step = "finding the virtual and writeback connectors";
	if (!k->conn || !k->wb) {
		errno = ENODEV;
		goto fail;
	}

	step = "GETPLANERESOURCES";
	if (xioctl(k->card, DRM_IOCTL_MODE_GETPLANERESOURCES, &pres) ||
	    pres.count_planes > 16)
		goto fail;
	pres.plane_id_ptr = (uintptr_t)planes;
	if (xioctl(k->card, DRM_IOCTL_MODE_GETPLANERESOURCES, &pres))
		goto fail;
	for (__u32 i = 0; i < pres.count_planes; i++) {
		struct drm_mode_get_plane gp = { .plane_id = planes[i] };

		if (xioctl(k->card, DRM_IOCTL_MODE_GETPLANE, &gp) ||
		    !(gp.possible_crtcs & 1))
			continue;
		if (!k->plane &&
		    vkms_plane_type(k->card, planes[i]) == VKMS_PLANE_PRIMARY)
			k->plane = planes[i];
		else if (k->n_other < 8)
			k->other_planes[k->n_other++] = planes[i];
	}
	step = "finding the primary plane";
	if (!k->plane) {
		errno = ENODEV;
		goto fail;
	}

	step = "reading properties";
	if (vkms_get_props(k->card, k->crtc, DRM_MODE_OBJECT_CRTC,
			   crtc_names, &k->crtc_p) ||
	    vkms_get_props(k->card, k->plane, DRM_MODE_OBJECT_PLANE,
			   plane_names, &k->plane_p) ||
	    vkms_get_props(k->card, k->conn, DRM_MODE_OBJECT_CONNECTOR,
			   conn_names, &k->conn_p) ||
	    vkms_get_props(k->card, k->wb, DRM_MODE_OBJECT_CONNECTOR,
			   conn_names, &k->wb_p))
		goto fail;
	for (int i = 0; i < k->n_other; i++)
		if (vkms_get_props(k->card, k->other_planes[i],
				   DRM_MODE_OBJECT_PLANE, plane_names,
				   &k->other_p[i]))
			goto fail;
	if (!vkms_prop(&k->crtc_p, "MODE_ID") ||
	    !vkms_prop(&k->plane_p, "FB_ID") ||
	    !vkms_prop(&k->wb_p, "WRITEBACK_FB_ID") ||
	    !vkms_prop(&k->wb_p, "WRITEBACK_OUT_FENCE_PTR")) {
		errno = ENOENT;
		goto fail;
	}

	step = "choosing the mode";
	if (vkms_pick_mode(k->card, k->conn, w, h, &k->mode))
		goto fail;
	blob.data = (uintptr_t)&k->mode;
	blob.length = sizeof(k->mode);
	step = "CREATEPROPBLOB for the mode";
	if (xioctl(k->card, DRM_IOCTL_MODE_CREATEPROPBLOB, &blob))
		goto fail;
	k->mode_blob = blob.blob_id;
	k->width = w;
	k->height = h;

	step = "the writeback buffer (dumb buffer, ADDFB2, mmap)";
	if (drm_dumb_create(k->card, w, h, 32, &k->wb_handle, &k->wb_pitch,
			    &k->wb_size) ||
	    vkms_addfb(k, k->wb_handle, w, h, k->wb_pitch, &k->wb_fb))
		goto fail;
	k->wb_map = drm_dumb_map(k->card, k->wb_handle, k->wb_size,
				 PROT_READ | PROT_WRITE);
	if (k->wb_map == MAP_FAILED) {
		k->wb_map = NULL;
		goto fail;
	}
	return 0;
fail:
	vkms_diag("vkms: %s failed: %s", step, strerror(errno));
	vkms_close(k);
	return -1;
}

struct vkms_req {
	__u32 objs[16], counts[16], props[64];
	__u64 vals[64];
	int n_objs, n_props;
};

static inline void vkms_req_add(struct vkms_req *r, __u32 obj, __u32 prop,
				__u64 val)
{
	if (!prop || r->n_props == 64)
		return;		/* a property this vkms lacks */
	if (!r->n_objs || r->objs[r->n_objs - 1] != obj) {
		r->objs[r->n_objs] = obj;
		r->counts[r->n_objs++] = 0;
	}
	r->counts[r->n_objs - 1]++;
	r->props[r->n_props] = prop;
	r->vals[r->n_props++] = val;
}

/*
 * Show framebuffer @fb (@w x @h, at the top left, unscaled) as the only
 * plane, with a writeback of the frame into k->wb_fb whose out-fence comes
 * back in *fence.  @nonblock: return before the commit is done (it waits
 * for the buffer's fences in a worker).  EBUSY (an earlier commit still
 * pending) is retried for up to two seconds.
 */
static inline int vkms_commit(struct vkms *k, __u32 fb, unsigned int w,
			      unsigned int h, bool nonblock, int *fence)
{
	struct vkms_req r = { 0 };
	struct drm_mode_atomic a = { 0 };
	__s32 out = -1;
	long until = vkms_ms_now() + 2000;
	int ret;

	vkms_req_add(&r, k->crtc, vkms_prop(&k->crtc_p, "ACTIVE"), 1);
	vkms_req_add(&r, k->crtc, vkms_prop(&k->crtc_p, "MODE_ID"), k->mode_blob);
	/* No colour management: the frame must be the buffer's pixels. */
	vkms_req_add(&r, k->crtc, vkms_prop(&k->crtc_p, "GAMMA_LUT"), 0);
	vkms_req_add(&r, k->crtc, vkms_prop(&k->crtc_p, "DEGAMMA_LUT"), 0);
	vkms_req_add(&r, k->crtc, vkms_prop(&k->crtc_p, "CTM"), 0);

	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "FB_ID"), fb);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "CRTC_ID"), k->crtc);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "SRC_X"), 0);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "SRC_Y"), 0);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "SRC_W"), (__u64)w << 16);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "SRC_H"), (__u64)h << 16);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "CRTC_X"), 0);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "CRTC_Y"), 0);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "CRTC_W"), w);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "CRTC_H"), h);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "rotation"),
		     DRM_MODE_ROTATE_0);
	vkms_req_add(&r, k->plane, vkms_prop(&k->plane_p, "alpha"), 0xffff);
	for (int i = 0; i < k->n_other; i++) {
		vkms_req_add(&r, k->other_planes[i],
			     vkms_prop(&k->other_p[i], "FB_ID"), 0);
		vkms_req_add(&r, k->other_planes[i],
			     vkms_prop(&k->other_p[i], "CRTC_ID"), 0);
	}

	/*
	 * vkms's two encoders are not clones of each other: the CRTC drives
	 * either the virtual connector or the writeback one, so the virtual
	 * one (the fbdev emulation may have left it on) is taken off.
	 */
	vkms_req_add(&r, k->conn, vkms_prop(&k->conn_p, "CRTC_ID"), 0);
	vkms_req_add(&r, k->wb, vkms_prop(&k->wb_p, "CRTC_ID"), k->crtc);
	vkms_req_add(&r, k->wb, vkms_prop(&k->wb_p, "WRITEBACK_FB_ID"), k->wb_fb);
	vkms_req_add(&r, k->wb, vkms_prop(&k->wb_p, "WRITEBACK_OUT_FENCE_PTR"),
		     (uintptr_t)&out);

	a.flags = DRM_MODE_ATOMIC_ALLOW_MODESET |
		  (nonblock ? DRM_MODE_ATOMIC_NONBLOCK : 0);
	a.count_objs = r.n_objs;
	a.objs_ptr = (uintptr_t)r.objs;
	a.count_props_ptr = (uintptr_t)r.counts;
	a.props_ptr = (uintptr_t)r.props;
	a.prop_values_ptr = (uintptr_t)r.vals;
	for (;;) {
		ret = xioctl(k->card, DRM_IOCTL_MODE_ATOMIC, &a);
		if (!ret || errno != EBUSY || vkms_ms_now() > until)
			break;
		usleep(10000);
	}
	if (ret)
		return -1;
	if (out < 0) {
		errno = ENOENT;	/* no writeback out-fence came back */
		return -1;
	}
	*fence = out;
	return 0;
}

/* 1 when sync_file @fence signaled within @ms, 0 if not yet, -1 on error. */
static inline int vkms_fence_wait(int fence, int ms)
{
	struct pollfd p = { .fd = fence, .events = POLLIN };
	long until = vkms_ms_now() + ms;
	int r;

	for (;;) {
		long left = until - vkms_ms_now();

		r = poll(&p, 1, left > 0 ? left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (p.revents & (POLLERR | POLLNVAL)) {
			errno = EIO;
			return -1;
		}
		return 1;
	}
}

/*
 * Compare @w x @h XRGB8888 frames @got and @want (pitches in bytes),
 * ignoring the X byte.  Returns the number of pixels that differ; the
 * first few are printed as "# " lines prefixed by @what.
 */
static inline unsigned long vkms_compare(const char *what, const void *got,
					 unsigned int got_pitch,
					 const void *want,
					 unsigned int want_pitch,
					 unsigned int w, unsigned int h)
{
	unsigned long bad = 0;

	for (unsigned int y = 0; y < h; y++) {
		const __u32 *g = (const __u32 *)((const char *)got + (size_t)y * got_pitch);
		const __u32 *e = (const __u32 *)((const char *)want + (size_t)y * want_pitch);

		for (unsigned int x = 0; x < w; x++) {
			if (!((g[x] ^ e[x]) & 0x00ffffff))
				continue;
			if (bad < 4)
				vkms_diag("%s: pixel (%u,%u) is 0x%06x, expected 0x%06x",
					  what, x, y, g[x] & 0xffffff,
					  e[x] & 0xffffff);
			bad++;
		}
	}
	if (bad)
		vkms_diag("%s: %lu of %u pixels differ", what, bad, w * h);
	return bad;
}

/* Write @s into debugfs file @path. */
static inline int vkms_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -1;
	close(fd);
	return ret;
}

/*
 * Up to @want CRC values from an open crtc-N/crc/data, stopping at two
 * frames in a row that agree (*crc gets that value: 1 returned); 0 when no
 * entry came within @ms, -1 on a read error.
 */
static inline int vkms_crc_read(int fd, int ms, __u32 *crc)
{
	char line[64];
	__u32 prev = 0;
	int n = 0;

	while (n < 10) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		unsigned int frame, val;
		ssize_t len;
		int r = poll(&p, 1, ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		len = read(fd, line, sizeof(line) - 1);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			if (!len)
				errno = EIO;
			return -1;
		}
		line[len] = 0;
		if (sscanf(line, "%x %x", &frame, &val) != 2)
			continue;	/* "XXXXXXXXXX": no frame counter */
		if (n++ && val == prev) {
			*crc = val;
			return 1;
		}
		prev = val;
	}
	errno = EIO;	/* the picture did not settle */
	return -1;
}

/*
 * The CRC of what the CRTC shows now, in *crc: CRC capture from source
 * "auto" (crtc-N/crc/control), then entries from crtc-N/crc/data until two
 * frames in a row agree, so that a frame composed while the picture was
 * changing is not taken.  Call it after the commit completed.
 *
 * vkms has one on/off switch for composing, which CRC capture and a
 * writeback job share: the job's cleanup, run from a worker just after
 * its out-fence signaled, switches it off under an open data file.  When
 * no entry comes, the file is opened again (which switches it back on).
 */
static inline int vkms_crc(struct vkms *k, __u32 *crc)
{
	char dir[80], path[112];
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "/sys/kernel/debug/dri/%d/crtc-0/crc",
		 k->minor);
	snprintf(path, sizeof(path), "%s/control", dir);
	if (vkms_write_file(path, "auto")) {
		vkms_diag("vkms: writing \"auto\" to %s: %s", path,
			  strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/data", dir);
	for (int tries = 0; tries < 5 && r == 0; tries++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			vkms_diag("vkms: opening %s: %s", path, strerror(errno));
			return -1;
		}
		r = vkms_crc_read(fd, 500, crc);
		close(fd);
	}
	if (r < 0)
		vkms_diag("vkms: reading %s: %s", path, strerror(errno));
	if (r == 0) {
		vkms_diag("vkms: no CRC from %s in 5 tries", path);
		errno = ETIMEDOUT;
	}
	return r > 0 ? 0 : -1;
}

/* Commit @fb with writeback and wait for it; then the CRC if @crc. */
static inline int vkms_show_fb(struct vkms *k, __u32 fb, unsigned int w,
			       unsigned int h, __u32 *crc)
{
	int fence, r;

	if (vkms_commit(k, fb, w, h, false, &fence)) {
		vkms_diag("vkms: atomic commit failed: %s", strerror(errno));
		return -1;
	}
	r = vkms_fence_wait(fence, 5000);
	close(fence);
	if (r <= 0) {
		vkms_diag("vkms: writeback out-fence %s", r ? strerror(errno) :
			  "not signaled within 5 s");
		if (!r)
			errno = ETIMEDOUT;
		return -1;
	}
	return crc ? vkms_crc(k, crc) : 0;
}

/*
 * The dma-buf as a framebuffer: PRIME import (GEM handle in *handle) and
 * ADDFB2 (id in *fb).  "# " says which step vkms refused.
 */
static inline int vkms_import_fb(struct vkms *k, int fd, unsigned int w,
				 unsigned int h, unsigned int pitch,
				 __u32 *handle, __u32 *fb)
{
	if (drm_prime_import(k->card, fd, handle)) {
		vkms_diag("vkms: PRIME import (FD_TO_HANDLE) refused: %s",
			  strerror(errno));
		return -1;
	}
	if (vkms_addfb(k, *handle, w, h, pitch, fb)) {
		int err = errno;

		vkms_diag("vkms: ADDFB2 XRGB8888 %ux%u pitch %u refused: %s",
			  w, h, pitch, strerror(errno));
		drm_close_handle(k->card, *handle);
		*handle = 0;	/* closed: callers must not close it again */
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * A vkms dumb buffer holding @pixels (@w x @h, @pitch bytes a line) as a
 * framebuffer: the reference a CRC is compared with.
 */
static inline int vkms_dumb_fb(struct vkms *k, const void *pixels,
			       unsigned int w, unsigned int h,
			       unsigned int pitch, __u32 *handle, __u32 *fb)
{
	__u32 dpitch;
	__u64 size;
	unsigned char *map;

	if (drm_dumb_create(k->card, w, h, 32, handle, &dpitch, &size))
		return -1;
	map = drm_dumb_map(k->card, *handle, size, PROT_READ | PROT_WRITE);
	if (map == MAP_FAILED)
		goto fail;
	for (unsigned int y = 0; y < h; y++)
		memcpy(map + (size_t)y * dpitch,
		       (const char *)pixels + (size_t)y * pitch, (size_t)w * 4);
	munmap(map, size);
	if (vkms_addfb(k, *handle, w, h, dpitch, fb))
		goto fail;
	return 0;
fail:
	{
		int err = errno;

		drm_close_handle(k->card, *handle);
		errno = err;
	}
	return -1;
}

/*
 * Show dma-buf @fd on vkms as an XRGB8888 framebuffer (@width x @height,
 * @pitch bytes per line, offset 0) and check what the display made of it:
 * the writeback frame must equal the buffer's pixels (@expect, laid out
 * with @pitch) byte for byte, the X byte aside (vkms writes 0xff there),
 * and the CRTC CRC must equal the CRC of the same pixels shown from a vkms
 * dumb buffer.  Returns 0 when both hold, 1 when the display showed
 * something else ("# " says what), -1 with errno set when vkms refused the
 * buffer (import, ADDFB2 or commit failed; "# " says which) or the check
 * itself could not run.
 */
static inline int vkms_show_check(int fd, unsigned int width,
				  unsigned int height, unsigned int pitch,
				  const void *expect)
{
	struct vkms k;
	__u32 handle = 0, fb = 0, dhandle = 0, dfb = 0, crc_buf, crc_ref;
	int ret = -1, err;

	if (vkms_open(&k, width, height))
		return -1;
	if (vkms_import_fb(&k, fd, width, height, pitch, &handle, &fb))
		goto out;
	memset(k.wb_map, 0, k.wb_size);	/* nothing left of earlier frames */
	if (vkms_show_fb(&k, fb, width, height, &crc_buf))
		goto out;
	ret = vkms_compare("vkms writeback vs buffer", k.wb_map, k.wb_pitch,
			   expect, pitch, width, height) ? 1 : 0;

	if (vkms_dumb_fb(&k, expect, width, height, pitch, &dhandle, &dfb)) {
		vkms_diag("vkms: reference dumb buffer: %s", strerror(errno));
		ret = -1;
		goto out;
	}
	if (vkms_show_fb(&k, dfb, width, height, &crc_ref)) {
		ret = -1;
		goto out;
	}
	if (crc_buf != crc_ref) {
		vkms_diag("vkms: CRTC CRC 0x%08x showing the dma-buf, 0x%08x showing the same pixels from a dumb buffer",
			  crc_buf, crc_ref);
		ret = 1;
	}
out:
	err = errno;
	vkms_rmfb(&k, dfb);
	vkms_rmfb(&k, fb);
	if (dhandle)
		drm_close_handle(k.card, dhandle);
	if (handle)
		drm_close_handle(k.card, handle);
	vkms_close(&k);
	errno = err;
	return ret;
}

/*
 * Commit dma-buf @fd (as above) without blocking while a fence the caller
 * put in its reservation object (as a writer) is unsignaled: returns 0
 * when the commit did not complete (writeback out-fence still unsignaled
 * after 200 ms) until @release(@arg) (which signals the caller's fence)
 * was called, and completed within 5 s after; 1 when it completed before
 * the release (fence not honoured; @release is still called) or never;
 * -1 with errno on setup failure.
 */
static inline int vkms_show_waits(int fd, unsigned int width,
				  unsigned int height, unsigned int pitch,
				  int (*release)(void *arg), void *arg)
{
	struct vkms k;
	__u32 handle = 0, fb = 0;
	int ret = -1, fence = -1, r, err;

	if (vkms_open(&k, width, height))
		return -1;
	if (vkms_import_fb(&k, fd, width, height, pitch, &handle, &fb))
		goto out;
	if (vkms_commit(&k, fb, width, height, true, &fence)) {
		vkms_diag("vkms: nonblocking atomic commit failed: %s",
			  strerror(errno));
		goto out;
	}
	r = vkms_fence_wait(fence, 200);
	if (r < 0) {
		vkms_diag("vkms: polling the writeback out-fence: %s",
			  strerror(errno));
		goto out;
	}
	if (r) {
		vkms_diag("vkms: the commit completed within 200 ms, before the release");
		ret = 1;
		/* still release: the caller's fence must not stay pending */
		release(arg);
		goto out;
	}
	if (release(arg)) {
		vkms_diag("vkms: the caller's release failed: %s",
			  strerror(errno));
		goto out;
	}
	r = vkms_fence_wait(fence, 5000);
	if (r < 0) {
		vkms_diag("vkms: polling the writeback out-fence: %s",
			  strerror(errno));
		goto out;
	}
	if (!r) {
		vkms_diag("vkms: the commit did not complete within 5 s of the release");
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	err = errno;
	if (fence >= 0)
		close(fence);
	vkms_rmfb(&k, fb);
	if (handle)
		drm_close_handle(k.card, handle);
	vkms_close(&k);
	errno = err;
	return ret;
}

#endif /* DMABUF_KMS_H */
