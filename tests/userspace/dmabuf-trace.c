// SPDX-License-Identifier: GPL-2.0-only
/*
 * One buffer's whole life as the dma_buf trace events tell it, read
 * through tracefs inside the booted kernel.
 *
 * With every dma_buf event on, a child process takes one buffer from
 * udmabuf (or the system heap) through everything userspace can make the
 * core do: it names it, passes it to itself over a unix socket, maps it,
 * syncs around a write, waits in a sync for a fence it imported (signalled
 * FENCE_MS after it went to sleep), lets vgem import it (PRIME: attach and
 * map the attachment, then unmap and detach at GEM_CLOSE) and
 * videobuf2-vmalloc import it (vivid: vmap at QBUF, vunmap when the queue
 * is freed), and closes it.  The buffer's lines (those carrying its inode
 * number, and the child's dma_resv_wait) must then tell that life in
 * order, one TAP case per property.  Finally the events go off, and a
 * second buffer must leave no line.
 *
 * usage: dmabuf-trace [--require-devices] [--require-events]
 *   --require-devices: a missing exporter or importer fails its cases
 *   --require-events: so does a kernel without the dma_buf events (the
 *   test kernel has them; upstream's 6.12 core, in host/conform, has not)
 */
#include "dmabuf-drivers.h"
#include "dmabuf-tap.h"
#include "dmabuf-tracefs.h"

#include <time.h>

#define LEN		(64 * 1024)
#define BUF_NAME	"traced"
#define FENCE_MS	200

/* What the child did, for the cases to hold the trace against. */
struct life {
	pid_t pid;		/* the child: dma_resv_wait names it */
	unsigned long ino;
	long size;
	char exp_name[64];
	int fd;			/* the exporter's fd number */
	int sent_fd;		/* the fd received over the socket */
	bool via_dma_buf_fd;	/* the exporter gave the fd with dma_buf_fd() */
	bool mmapped, synced;	/* the write's SYNC pair */
	bool waited;		/* the read's SYNC slept on the fence */
	long wait_ms;
	bool read_synced;
	bool sw_sync, have_vgem, have_vivid;	/* the kernel has them */
	bool vgem, vivid;	/* imported by */
	char failed[160];	/* the step that failed, empty if none */
};

static struct life *life;
static bool require_devices, require_events;

static long ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define STEP_FAILED(...) \
	snprintf(life->failed, sizeof(life->failed), __VA_ARGS__)

/* The state letter of task @pid in /proc ('R', 'S', ...); 0 if unknown. */
static char task_state(pid_t pid)
{
	char path[64], *stat, *p, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	stat = slurp(path);
	p = stat ? strrchr(stat, ')') : NULL;
	st = p && p[1] == ' ' ? p[2] : 0;
	free(stat);
	return st;
}

/*
 * A write fence on @fd that a grandchild signals FENCE_MS after we went
 * to sleep (on it, since nothing else here sleeps), so that the wait
 * sleeps however slowly the machine runs; -1 if no fence.
 */
static pid_t fence_later(int fd)
{
	struct dma_buf_import_sync_file is = { .flags = DMA_BUF_SYNC_WRITE };
	int tl = sw_timeline(), r;
	pid_t pid, waiter = getpid();

	if (tl < 0)
		return -1;
	life->sw_sync = true;
	is.fd = sw_fence(tl, 1);
	r = is.fd < 0 ? -1 : ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &is);
	if (is.fd >= 0)
		close(is.fd);
	if (r) {
		STEP_FAILED("IMPORT_SYNC_FILE: %s", strerror(errno));
		close(tl);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 5000 && task_state(waiter) != 'S'; i++)
			usleep(1000);
		usleep(FENCE_MS * 1000);
		_exit(sw_inc(tl, 1) ? 1 : 0);
	}
	close(tl);
	return pid;
}

/* vgem imports the buffer (PRIME) and lets go of it again. */
static void import_vgem(int fd)
{
	__u32 handle;
	int card = drm_open_driver("vgem");

	if (card < 0)
		return;
	life->have_vgem = true;
	if (drm_prime_import(card, fd, &handle)) {
		STEP_FAILED("vgem PRIME import: %s", strerror(errno));
	} else {
		drm_close_handle(card, handle);
		life->vgem = true;
	}
	close(card);
}

/* videobuf2-vmalloc imports it: vmap at QBUF, vunmap when freed. */
static void import_vivid(int fd)
{
	struct v4l2_requestbuffers rb = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.m.fd = fd, .length = LEN,
	};
	int vid = vivid_open(VIVID_VMALLOC);

	if (vid < 0)
		return;
	life->have_vivid = true;
	if (vivid_set_format(vid, V4L2_PIX_FMT_GREY, 320, 180, NULL) ||
	    xioctl(vid, VIDIOC_REQBUFS, &rb) || xioctl(vid, VIDIOC_QBUF, &b)) {
		STEP_FAILED("vivid DMABUF import: %s", strerror(errno));
	} else {
		life->vivid = true;
	}
	rb.count = 0;
	xioctl(vid, VIDIOC_REQBUFS, &rb);
	close(vid);
}

/* The buffer's life, in the child; the cases read what it did in *life. */
static void live(void)
{
	char v[64], *info;
	int sv[2] = { -1, -1 }, fd;
	pid_t signaller;
	void *map;
	long t0;

	/*
	 * udmabuf installs its fd with dma_buf_fd(); the system heap of this
	 * 6.12 tree installs it itself, after copying the fd number out, so
	 * its buffers have no dma_buf_fd line.
	 */
	fd = udmabuf_alloc(LEN, NULL);
	life->via_dma_buf_fd = fd >= 0;
	if (fd < 0)
		fd = heap_alloc(LEN, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		STEP_FAILED("allocating: %s", strerror(errno));
		return;
	}
	life->fd = fd;
	life->ino = ino_of(fd);
	life->size = lseek(fd, 0, SEEK_END);
	info = fdinfo_of(fd);
	if (info && fdinfo_field(info, "exp_name", v, sizeof(v)))
		snprintf(life->exp_name, sizeof(life->exp_name), "%s", v);
	free(info);
	if (ioctl(fd, DMA_BUF_SET_NAME_B, BUF_NAME))
		STEP_FAILED("DMA_BUF_SET_NAME: %s", strerror(errno));

	/* Over a unix socket to ourselves: the received fd goes on. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    send_fd(sv[0], fd, "B", 1)) {
		STEP_FAILED("sending the fd: %s", strerror(errno));
		return;
	}
	/* Received while the first is open: another fd number. */
	fd = recv_fd(sv[1], v, 1);
	close(life->fd);
	close(sv[0]);
	close(sv[1]);
	if (fd < 0) {
		STEP_FAILED("receiving the fd: %s", strerror(errno));
		return;
	}
	life->sent_fd = fd;

	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	life->mmapped = map != MAP_FAILED;
	if (!life->mmapped) {
		STEP_FAILED("mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	if (!dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE)) {
		memset(map, 0x5a, LEN);
		life->synced = !dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	}
	if (!life->synced)
		STEP_FAILED("SYNC around the write: %s", strerror(errno));

	/* A read must wait for the writer's fence: the wait sleeps. */
	signaller = fence_later(fd);
	t0 = ms_now();
	if (!dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)) {
		life->wait_ms = ms_now() - t0;
		life->read_synced = ((unsigned char *)map)[LEN - 1] == 0x5a &&
			!dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
	if (!life->read_synced)
		STEP_FAILED("SYNC around the read: %s", strerror(errno));
	if (signaller > 0) {
		int st;

		waitpid(signaller, &st, 0);
		life->waited = WIFEXITED(st) && !WEXITSTATUS(st);
	}

	import_vgem(fd);
	import_vivid(fd);
	munmap(map, LEN);
	close(fd);
}

/* ---- reading the trace ------------------------------------------------ */

static struct trace_log tlog;

/* The index of the first @name line at or after @from; -1 if none. */
static int find(const char *name, int from)
{
	for (int i = from < 0 ? 0 : from; i < tlog.n; i++)
		if (!strcmp(tlog.ev[i].name, name))
			return i;
	return -1;
}

static int count(const char *name)
{
	int n = 0;

	for (int i = 0; i < tlog.n; i++)
		n += !strcmp(tlog.ev[i].name, name);
	return n;
}

static void dump(void)
{
	for (int i = 0; i < tlog.n; i++)
		diag("  %s", tlog.ev[i].line);
}

/* @e's field @key reads @want. */
static bool field_is(int i, const char *key, const char *want)
{
	char v[128];

	return i >= 0 && trace_field(&tlog.ev[i], key, v, sizeof(v)) &&
		!strcmp(v, want);
}

/* ---- the cases -------------------------------------------------------- */

#define SKIP		2
#define GO_ON		3
static char skip_why[128];

/*
 * A device the kernel lacks skips the case, or fails it with
 * --require-devices; one that is there must have done its step.  GO_ON
 * when the case can read the trace.
 */
static int needs(bool have, bool did, const char *what)
{
	if (!have && require_devices) {
		diag("%s missing", what);
		return FAIL;
	}
	if (!have) {
		snprintf(skip_why, sizeof(skip_why), "%s missing", what);
		return SKIP;
	}
	if (!did) {
		diag("%s is there but the step failed", what);
		return FAIL;
	}
	return GO_ON;
}

/*
 * The whole life in order: every event but dma_buf_put (whose number is
 * the importers' business) exactly as the steps above make them.
 */
static int t_life_in_order(void)
{
	const char *want[24];
	int n = 0, k = 0;

	want[n++] = "dma_buf_export";
	if (life->via_dma_buf_fd)
		want[n++] = "dma_buf_fd";
	want[n++] = "dma_buf_mmap_internal";
	want[n++] = "dma_buf_begin_cpu_access";
	want[n++] = "dma_buf_end_cpu_access";
	if (life->waited)
		want[n++] = "dma_resv_wait";
	want[n++] = "dma_buf_begin_cpu_access";
	want[n++] = "dma_buf_end_cpu_access";
	if (life->vgem) {
		want[n++] = "dma_buf_get";
		want[n++] = "dma_buf_dynamic_attach";
		want[n++] = "dma_buf_map_attachment";
		want[n++] = "dma_buf_unmap_attachment";
		want[n++] = "dma_buf_detach";
	}
	if (life->vivid) {
		want[n++] = "dma_buf_get";
		want[n++] = "dma_buf_vmap";
		want[n++] = "dma_buf_vunmap";
	}
	want[n++] = "dma_buf_release";

	for (int i = 0; i < tlog.n; i++) {
		if (!strcmp(tlog.ev[i].name, "dma_buf_put"))
			continue;
		if (k >= n || strcmp(tlog.ev[i].name, want[k])) {
			diag("event %d is %s, want %s", k + 1, tlog.ev[i].name,
			     k < n ? want[k] : "nothing more");
			dump();
			return FAIL;
		}
		k++;
	}
	if (k != n) {
		diag("the trace ends before %s", want[k]);
		dump();
		return FAIL;
	}
	return PASS;
}

/* dma_buf_export comes first and names the exporter and the size. */
static int t_export_first(void)
{
	char size[32];

	REQUIRE(tlog.n > 0, "no line carries ino=%lu", life->ino);
	snprintf(size, sizeof(size), "%ld", life->size);
	EXPECT(!strcmp(tlog.ev[0].name, "dma_buf_export"), "first: %s",
	       tlog.ev[0].line);
	EXPECT(count("dma_buf_export") == 1, "%d exports",
	       count("dma_buf_export"));
	EXPECT(field_is(0, "exp_name", life->exp_name) &&
	       field_is(0, "size", size), "want exp_name=%s size=%s: %s",
	       life->exp_name, size, tlog.ev[0].line);
	return PASS;
}

/* Every line of the buffer names the same exporter and size. */
static int t_fields_agree(void)
{
	char size[32];

	snprintf(size, sizeof(size), "%ld", life->size);
	for (int i = 0; i < tlog.n; i++) {
		if (!strcmp(tlog.ev[i].name, "dma_resv_wait"))
			continue;
		EXPECT(field_is(i, "exp_name", life->exp_name) &&
		       field_is(i, "size", size), "want exp_name=%s size=%s: %s",
		       life->exp_name, size, tlog.ev[i].line);
	}
	return PASS;
}

/*
 * dma_buf_fd once, right after the export, with the fd number the
 * exporter returned; passing the fd over a socket makes no event.
 */
static int t_fd(void)
{
	char fd[16];
	int i = find("dma_buf_fd", 0);

	if (!life->via_dma_buf_fd) {
		snprintf(skip_why, sizeof(skip_why),
			 "the system heap installs its fds without dma_buf_fd()");
		return SKIP;
	}
	snprintf(fd, sizeof(fd), "%d", life->fd);
	REQUIRE(i == 1, "dma_buf_fd is line %d, want 2", i + 1);
	EXPECT(field_is(i, "fd", fd), "want fd=%s: %s", fd, tlog.ev[i].line);
	EXPECT(count("dma_buf_fd") == 1, "%d dma_buf_fd lines",
	       count("dma_buf_fd"));
	return PASS;
}

/* Userspace's mmap of the fd is dma_buf_mmap_internal, not dma_buf_mmap. */
static int t_mmap(void)
{
	REQUIRE(life->mmapped, "the child could not mmap");
	EXPECT(count("dma_buf_mmap_internal") == 1, "%d mmap_internal lines",
	       count("dma_buf_mmap_internal"));
	EXPECT(count("dma_buf_mmap") == 0, "%d dma_buf_mmap lines",
	       count("dma_buf_mmap"));
	return PASS;
}

/*
 * Each SYNC START is a dma_buf_begin_cpu_access and each SYNC END a
 * dma_buf_end_cpu_access, alternating, with the direction the flags ask:
 * WRITE is DMA_TO_DEVICE (1), READ DMA_FROM_DEVICE (2).
 */
static int t_cpu_access(void)
{
	static const char *const dir[] = { "1", "1", "2", "2" };
	int k = 0;

	REQUIRE(life->synced && life->read_synced, "the child's SYNCs failed");
	for (int i = 0; i < tlog.n; i++) {
		bool begin = !strcmp(tlog.ev[i].name, "dma_buf_begin_cpu_access");

		if (!begin && strcmp(tlog.ev[i].name, "dma_buf_end_cpu_access"))
			continue;
		REQUIRE(k < 4, "more than 2 begin/end pairs: %s", tlog.ev[i].line);
		EXPECT(begin == !(k & 1), "%s where a %s was due",
		       tlog.ev[i].name, k & 1 ? "end" : "begin");
		EXPECT(field_is(i, "dir", dir[k]), "want dir=%s: %s", dir[k],
		       tlog.ev[i].line);
		k++;
	}
	EXPECT(k == 4, "%d begin/end lines, want 4", k);
	return PASS;
}

/*
 * The read's SYNC START slept on the fence: one dma_resv_wait, before the
 * second begin_cpu_access, for the writers (usage 1, DMA_RESV_USAGE_WRITE),
 * that returned what is left of an endless timeout (positive) after at
 * least FENCE_MS.
 */
static int t_resv_wait(void)
{
	int i = find("dma_resv_wait", 0), b;
	long long ns;
	int r = needs(life->sw_sync, life->waited, "sw_sync");

	if (r != GO_ON)
		return r;
	REQUIRE(i >= 0, "no dma_resv_wait from pid %d", life->pid);
	b = find("dma_buf_begin_cpu_access", find("dma_buf_end_cpu_access", 0));
	EXPECT(count("dma_resv_wait") == 1, "%d waits", count("dma_resv_wait"));
	EXPECT(b > i, "the wait is not inside the read's SYNC START");
	EXPECT(trace_num(&tlog.ev[i], "ret", 0) > 0 &&
	       trace_num(&tlog.ev[i], "usage", -1) == 1, "%s", tlog.ev[i].line);
	ns = trace_num(&tlog.ev[i], "duration_ns", -1);
	EXPECT(ns >= FENCE_MS * 1000000LL &&
	       ns <= (life->wait_ms + 100) * 1000000LL,
	       "waited %lld ns; the child saw %ld ms: %s", ns, life->wait_ms,
	       tlog.ev[i].line);
	return PASS;
}

/*
 * vgem's PRIME import: dma_buf_get of the fd, a static attachment of the
 * vgem device mapped once, and at GEM_CLOSE its unmap and detach, all
 * naming the same attachment.
 */
static int t_vgem(void)
{
	int r = needs(life->have_vgem, life->vgem, "vgem"), g, a, m, u, d;
	char fd[16], at[32];

	if (r != GO_ON)
		return r;
	snprintf(fd, sizeof(fd), "%d", life->sent_fd);
	g = find("dma_buf_get", 0);
	a = find("dma_buf_dynamic_attach", g);
	m = find("dma_buf_map_attachment", a);
	u = find("dma_buf_unmap_attachment", m);
	d = find("dma_buf_detach", u);
	REQUIRE(g >= 0 && a > g && m > a && u > m && d > u,
		"get %d, attach %d, map %d, unmap %d, detach %d", g, a, m, u, d);
	EXPECT(field_is(g, "fd", fd), "want fd=%s: %s", fd, tlog.ev[g].line);
	EXPECT(field_is(a, "dev_name", "vgem") && field_is(a, "is_dynamic", "0"),
	       "%s", tlog.ev[a].line);
	REQUIRE(trace_field(&tlog.ev[a], "attachment", at, sizeof(at)),
		"%s", tlog.ev[a].line);
	EXPECT(field_is(m, "attachment", at) && field_is(u, "attachment", at) &&
	       field_is(d, "attachment", at),
	       "the attachment changes:\n#   %s\n#   %s\n#   %s\n#   %s",
	       tlog.ev[a].line, tlog.ev[m].line, tlog.ev[u].line,
	       tlog.ev[d].line);
	EXPECT(field_is(m, "dev_name", "vgem") && field_is(d, "dev_name", "vgem"),
	       "%s", tlog.ev[d].line);
	/* DRM maps for DMA_BIDIRECTIONAL; a static importer's map is fresh. */
	EXPECT(field_is(m, "dir", "0") && field_is(m, "cached", "0"), "%s",
	       tlog.ev[m].line);
	EXPECT(count("dma_buf_dynamic_attach") == 1 && count("dma_buf_detach") == 1,
	       "%d attaches, %d detaches", count("dma_buf_dynamic_attach"),
	       count("dma_buf_detach"));
	return PASS;
}

/* videobuf2-vmalloc's import: a vmap at QBUF, its vunmap at REQBUFS 0. */
static int t_vivid(void)
{
	int v = find("dma_buf_vmap", 0), u = find("dma_buf_vunmap", v);
	int g = find("dma_buf_get", find("dma_buf_detach", 0) + 1);
	int r = needs(life->have_vivid, life->vivid, "vivid (videobuf2-vmalloc)");

	if (r != GO_ON)
		return r;
	REQUIRE(v >= 0 && u > v, "vmap %d, vunmap %d", v, u);
	EXPECT(g >= 0 && g < v, "no dma_buf_get of vivid's before the vmap");
	EXPECT(count("dma_buf_vmap") == 1 && count("dma_buf_vunmap") == 1,
	       "%d vmaps, %d vunmaps", count("dma_buf_vmap"),
	       count("dma_buf_vunmap"));
	/* The first mapping makes the count 1; its vunmap takes it to 0. */
	EXPECT(field_is(v, "count", "1") && field_is(u, "count", "0"),
	       "\n#   %s\n#   %s", tlog.ev[v].line, tlog.ev[u].line);
	return PASS;
}

/*
 * dma_buf_release once, last; every dma_buf_get taken was put before it
 * (dma_buf_put lines at least as many as the gets).
 */
static int t_release_last(void)
{
	int r = find("dma_buf_release", 0);

	REQUIRE(r >= 0, "no dma_buf_release");
	EXPECT(r == tlog.n - 1, "line %d of %d: %s", r + 1, tlog.n,
	       tlog.ev[tlog.n - 1].line);
	EXPECT(count("dma_buf_release") == 1, "%d releases",
	       count("dma_buf_release"));
	EXPECT(count("dma_buf_put") >= count("dma_buf_get"), "%d gets, %d puts",
	       count("dma_buf_get"), count("dma_buf_put"));
	return PASS;
}

/* The events switched off, a new buffer's life leaves no line. */
static int t_off(const char *dir)
{
	struct trace_log after;
	unsigned long ino;
	int fd, lines;

	REQUIRE(!tracefs_dma_buf_events(dir, false), "disabling: %s",
		strerror(errno));
	fd = heap_alloc(LEN, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = udmabuf_alloc(LEN, NULL);
	REQUIRE(fd >= 0, "allocating: %s", strerror(errno));
	ino = ino_of(fd);
	dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	close(fd);
	for (int i = 0; i < 100 && bufinfo_has(ino); i++)
		usleep(10000);
	REQUIRE(!trace_log_read(dir, ino, 0, &after), "reading the trace");
	lines = after.n;
	trace_log_free(&after);
	EXPECT(lines == 0, "%d lines for ino=%lu with the events off", lines,
	       ino);
	return PASS;
}

struct tcase {
	const char *name;
	int (*run)(void);
};

/* The child got through every step the kernel has the means for. */
static int t_lived(void)
{
	REQUIRE(!life->failed[0], "%s", life->failed);
	return PASS;
}

static const struct tcase cases[] = {
	{ "buffer-life-ran", t_lived },
	{ "life-in-order", t_life_in_order },
	{ "export-first", t_export_first },
	{ "fields-agree", t_fields_agree },
	{ "fd-once", t_fd },
	{ "mmap-internal", t_mmap },
	{ "cpu-access-pairs", t_cpu_access },
	{ "resv-wait-slept", t_resv_wait },
	{ "vgem-attach-map-detach", t_vgem },
	{ "vivid-vmap-vunmap", t_vivid },
	{ "release-last", t_release_last },
	{ NULL, NULL }
};

static int report(int n, const char *name, int r)
{
	if (r == SKIP) {
		printf("ok %d %s # SKIP %s\n", n, name, skip_why);
		return 0;
	}
	printf("%sok %d %s\n", r == PASS && !failures ? "" : "not ", n, name);
	return r == PASS && !failures ? 0 : 1;
}

int main(int argc, char **argv)
{
	int n = 0, failed = 0, start_fds, start_bufs, r;
	char events[300];
	const char *dir;
	bool exporter;
	pid_t pid;

	require_devices = take_require_devices(&argc, &argv);
	if (argc > 1 && !strcmp(argv[1], "--require-events"))
		require_events = true;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	start_bufs = bufinfo_objects();
	start_fds = count_fds();

	dir = tracefs_dir();
	snprintf(events, sizeof(events), "%s/events/dma_buf", dir ? dir : "");
	exporter = !access(HEAP_PATH, F_OK) || !access(UDMABUF_PATH, F_OK);
	if (!dir || access(events, F_OK) || !exporter) {
		const char *why = !dir ? "no tracefs" : exporter ?
			"no dma_buf events in tracefs" :
			"no system heap or udmabuf";
		bool fail = exporter ? require_events : require_devices;

		for (const struct tcase *c = cases; c->name; c++)
			printf("%sok %d %s # %s%s\n", fail ? "not " : "", ++n,
			       c->name, fail ? "" : "SKIP ", why);
		printf("%sok %d events-off # %s%s\n", fail ? "not " : "", ++n,
		       fail ? "" : "SKIP ", why);
		failed += fail;
		goto out;
	}

	life = mmap(NULL, sizeof(*life), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (life == MAP_FAILED || tracefs_dma_buf_events(dir, true)) {
		diag("setting up: %s", strerror(errno));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(60);
		live();
		_exit(0);
	}
	life->pid = pid;
	waitpid(pid, &r, 0);
	/* The release runs when the child's last file reference goes. */
	for (int i = 0; i < 200 && bufinfo_has(life->ino); i++)
		usleep(10000);
	if (!WIFEXITED(r) || WEXITSTATUS(r))
		STEP_FAILED("the child died (status %#x)", r);
	if (life->failed[0])
		diag("the buffer's life: %s", life->failed);
	if (trace_log_read(dir, life->ino, pid, &tlog)) {
		diag("reading %s/trace: %s", dir, strerror(errno));
		return 1;
	}
	diag("the trace of ino=%lu (%s, %ld bytes):", life->ino,
	     life->exp_name, life->size);
	dump();

	for (const struct tcase *c = cases; c->name; c++) {
		failures = 0;
		failed += report(++n, c->name, c->run());
	}
	failures = 0;
	failed += report(++n, "events-off", t_off(dir));
	trace_log_free(&tlog);
	munmap(life, sizeof(*life));
out:
	failed += tap_run_leak_point(++n, start_fds, start_bufs);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
