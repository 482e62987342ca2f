// SPDX-License-Identifier: GPL-2.0-only
/*
 * A hostile userspace for the dma-buf core: random sequences of the
 * syscalls a dma-buf fd accepts, and many it does not, on buffers from the
 * system heap and udmabuf, some of them carrying unsignaled sw_sync fences.
 *
 * Every round starts from a seed (round r of a run with --seed S uses
 * S + r) and runs a bounded number of operations within a bounded time;
 * the same seed replays the same choices as long as the kernel answers the
 * same way.  The syscalls are not expected to succeed, only to answer
 * sanely: a few answers are part of the ABI and are checked (lseek, unknown
 * ioctls, faults on bad pointers, mmap ranges, the fd link's name).  At
 * the end of a round everything is closed, every fence signaled, every
 * child reaped, and debugfs bufinfo must list no buffer.
 *
 * usage: dmabuf-fuzz [--seed N] [--rounds N] [--ops N] [--time SECONDS]
 *                    [--signal-before-close] [-v]
 * Output is TAP: one "ok" line per round and check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/fs.h>
#include <linux/udmabuf.h>

/* Device paths and the sw_sync ioctls, shared with the other programs. */
#include "dmabuf-util.h"

#define MAX_BUFS	24
#define MAX_SYNCS	8
#define MAX_TLS		3
#define MAX_SOCKS	2
#define MAX_MAPS	24
#define MAX_KIDS	3
#define TRACE_LEN	48

/* ---- the random source: splitmix64, fully determined by the seed ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* ---- state of one round ---- */

struct buf {
	int fd;			/* -1: free slot */
	size_t size;
	bool rdonly;
	ino_t ino;
};

struct map {
	char *addr;		/* NULL: free slot */
	size_t len;
	int prot;
};

struct timeline {
	int fd;
	unsigned int next;	/* value of the next fence we create */
};

static struct buf bufs[MAX_BUFS];
static int syncs[MAX_SYNCS];
static struct timeline tls[MAX_TLS];
static int socks[MAX_SOCKS][2];
static struct map maps[MAX_MAPS];
static pid_t kids[MAX_KIDS];

static long pagesz;
static dev_t dmabuf_dev;	/* st_dev of the dma-buf pseudo filesystem */
static bool verbose, in_child;
/*
 * Closing a sw_sync timeline signals its pending fences under the
 * timeline lock, and sw_sync holds no reference to them meanwhile: a fence
 * callback that drops the last one makes the fence's release take that
 * lock again.  dma-buf poll's callback did until the core kept that
 * reference for the next poll(); half the closes leave fences pending to
 * keep it so.  --signal-before-close signals them all first, always.
 */
static bool signal_before_close;
static unsigned long problems;	/* ABI answers that were wrong */
static unsigned long ops_done, op_counts[32];

/* What the operations achieved, to show that they reach the kernel's paths. */
enum {
	E_HEAP, E_UDMABUF, E_MMAP, E_IMPORT, E_EXPORT, E_SYNC, E_SYNC_INTR,
	E_NAME, E_POLL_PENDING, E_SENT, E_RECEIVED, E_CHILD, E_COUNT
};
static const char * const effect_names[E_COUNT] = {
	"heap-buffers", "udmabufs", "mappings", "fences-imported",
	"sync-files-exported", "cpu-access", "cpu-access-interrupted",
	"names-set", "polls-pending", "fds-sent", "fds-received", "children",
};
static unsigned long effects[E_COUNT];
static char *hole;		/* the first byte of a PROT_NONE page after a mapped one */

/* The last operations, printed when something goes wrong. */
static char trace[TRACE_LEN][96];
static unsigned int trace_pos;

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trace[trace_pos % TRACE_LEN], sizeof(trace[0]), fmt, ap);
	va_end(ap);
	if (verbose && !in_child)
		printf("# op %lu: %s\n", ops_done, trace[trace_pos % TRACE_LEN]);
	trace_pos++;
}

static void dump_trace(void)
{
	unsigned int i = trace_pos > TRACE_LEN ? trace_pos - TRACE_LEN : 0;

	printf("# last operations:\n");
	for (; i < trace_pos; i++)
		printf("#   %s\n", trace[i % TRACE_LEN]);
}

static void problem(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	problems++;
	printf("# %sPROBLEM after op %lu: %s\n", in_child ? "child: " : "",
	       ops_done, msg);
	if (problems <= 3)
		dump_trace();
	fflush(stdout);
}

/*
 * Calls that may wait for a fence forever (CPU access with a pending
 * sw_sync fence) are cut short by a timer signal: EINTR is a fine answer,
 * hanging is not.  The timer is per process and SIGUSR1 has no SA_RESTART.
 */
static timer_t wait_timer;

static void on_timer(int sig)
{
}

static void setup_timer(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_timer };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (timer_create(CLOCK_MONOTONIC, &sev, &wait_timer)) {
		perror("timer_create");
		exit(2);
	}
}

static void arm_timer(unsigned int ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
		/* Keep interrupting in case the first signal lands outside the wait. */
		.it_interval = { .tv_nsec = 5 * 1000000L },
	};

	timer_settime(wait_timer, 0, &its, NULL);
}

static void disarm_timer(void)
{
	struct itimerspec its = { 0 };

	timer_settime(wait_timer, 0, &its, NULL);
}

/* Touching mapped memory: a fault inside a mapping we own is a bug. */
static sigjmp_buf touch_env;
static volatile sig_atomic_t touching;

static void on_fault(int sig)
{
	if (touching)
		siglongjmp(touch_env, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- picking things ---- */

static int pick_buf(void)
{
	int i, start = below(MAX_BUFS);

	for (i = 0; i < MAX_BUFS; i++) {
		int j = (start + i) % MAX_BUFS;

		if (bufs[j].fd >= 0)
			return j;
	}
	return -1;
}

static int free_buf_slot(void)
{
	for (int i = 0; i < MAX_BUFS; i++)
		if (bufs[i].fd < 0)
			return i;
	return -1;
}

static int pick_map(void)
{
	int i, start = below(MAX_MAPS);

	for (i = 0; i < MAX_MAPS; i++) {
		int j = (start + i) % MAX_MAPS;

		if (maps[j].addr)
			return j;
	}
	return -1;
}

static int pick_sync(void)
{
	int i, start = below(MAX_SYNCS);

	for (i = 0; i < MAX_SYNCS; i++) {
		int j = (start + i) % MAX_SYNCS;

		if (syncs[j] >= 0)
			return j;
	}
	return -1;
}

/* Any fd of ours, or one that is not open, or not a dma-buf at all. */
static int pick_any_fd(void)
{
	int i;

	switch (below(8)) {
	case 0:
		return -1;
	case 1:
		return 1000 + below(1000);
	case 2:
		i = pick_sync();
		return i < 0 ? 0 : syncs[i];
	case 3:
		i = below(MAX_TLS);
		return tls[i].fd >= 0 ? tls[i].fd : 1;
	case 4:
		return socks[0][0] >= 0 ? socks[0][0] : 2;
	default:
		i = pick_buf();
		return i < 0 ? -1 : bufs[i].fd;
	}
}

/* A user pointer for an ioctl argument of @len bytes that should be good. */
static void *bad_pointer(size_t len)
{
	switch (below(6)) {
	case 0:
		return NULL;
	case 1:
		return (void *)1;
	case 2:
		return (void *)0xffffffff81000000ull;	/* kernel half */
	case 3:
		return hole;				/* unmapped */
	case 4:
		return hole - (len > 1 ? len / 2 : 1);	/* straddles the hole */
	default:
		return (void *)(uintptr_t)(rnd() & ~0xfffull);
	}
}

static bool is_fault(int err)
{
	return err == EFAULT;
}

static void check_fault(const char *what, long ret, int err, void *p);

/* ---- buffers ---- */

/*
 * Sizes for new buffers.  The system heap has no limit of its own: it
 * allocates until the OOM killer ends the caller, so absurd sizes only go
 * to udmabuf, which must refuse them.
 */
static size_t random_size(bool absurd_ok)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return 1 + below(pagesz * 2);		/* not page aligned */
	case 2:
		if (absurd_ok)
			return (size_t)1 << (40 + below(20));
		return 256 * pagesz;
	case 3:
		if (absurd_ok)
			return -(size_t)pagesz;
		return 32 * pagesz;
	default:
		return (1 + below(16)) * pagesz;
	}
}

static void track_buf(int fd, size_t size, bool rdonly)
{
	int slot = free_buf_slot();
	struct stat st;

	if (slot < 0) {
		close(fd);
		return;
	}
	bufs[slot].fd = fd;
	bufs[slot].size = size;
	bufs[slot].rdonly = rdonly;
	bufs[slot].ino = fstat(fd, &st) ? 0 : st.st_ino;
	if (!dmabuf_dev)
		dmabuf_dev = st.st_dev;
}

static void op_heap_alloc(void)
{
	struct dma_heap_allocation_data d = { 0 };
	void *arg = &d;
	int heap, ret, err;
	bool valid;

	d.len = random_size(false);
	d.fd_flags = chance(70) ? O_RDWR | O_CLOEXEC :
		     chance(50) ? O_RDONLY | O_CLOEXEC : (unsigned int)rnd();
	d.heap_flags = chance(90) ? 0 : rnd();
	valid = d.len && d.len < (64ull << 20) &&
		!(d.fd_flags & ~(O_ACCMODE | O_CLOEXEC)) && !d.heap_flags;
	note("heap alloc len %llu fd_flags %#x heap_flags %#llx",
	     (unsigned long long)d.len, d.fd_flags,
	     (unsigned long long)d.heap_flags);

	heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		return;
	if (chance(5))
		arg = bad_pointer(sizeof(d));
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, arg);
	err = errno;
	close(heap);
	if (arg != &d) {
		check_fault("DMA_HEAP_IOCTL_ALLOC", ret, err, arg);
		if (ret >= 0)
			close(d.fd);
		return;
	}
	if (ret < 0) {
		if (valid && err != ENOMEM && err != EFAULT)
			problem("heap alloc of %llu bytes failed: %s",
				(unsigned long long)d.len, strerror(err));
		return;
	}
	/* The heap rounds the size up to whole pages. */
	effects[E_HEAP]++;
	track_buf(d.fd, (d.len + pagesz - 1) & ~(pagesz - 1),
		  (d.fd_flags & O_ACCMODE) == O_RDONLY);
}

static void op_udmabuf_alloc(void)
{
	struct udmabuf_create c = { 0 };
	size_t memsize = (1 + below(8)) * pagesz;
	int memfd, dev, fd, err;

	note("udmabuf alloc");
	memfd = memfd_create("fuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0)
		return;
	if (ftruncate(memfd, memsize) ||
	    (chance(90) && fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))) {
		close(memfd);
		return;
	}
	c.memfd = chance(95) ? memfd : pick_any_fd();
	c.flags = chance(80) ? UDMABUF_FLAGS_CLOEXEC : rnd();
	c.offset = chance(80) ? 0 : below(memsize / pagesz) * pagesz +
				    (chance(50) ? 0 : below(pagesz));
	c.size = chance(80) ? memsize - c.offset : random_size(true);
	dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		close(memfd);
		return;
	}
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	err = errno;
	close(dev);
	/* udmabuf holds the memfd's pages itself; ours can go. */
	close(memfd);
	if (fd < 0) {
		/* Whatever the arguments, a bad pointer never gets this far. */
		if (err == EFAULT)
			problem("UDMABUF_CREATE faulted on a good pointer");
		return;
	}
	effects[E_UDMABUF]++;
	track_buf(fd, c.size, false);
}

static void close_buf(int i)
{
	note("close buf %d (fd %d)", i, bufs[i].fd);
	close(bufs[i].fd);
	bufs[i].fd = -1;
}

static void op_close(void)
{
	int i = pick_buf();

	if (i >= 0)
		close_buf(i);
}

static void op_dup(void)
{
	int i = pick_buf(), fd;

	if (i < 0)
		return;
	switch (below(3)) {
	case 0:
		fd = dup(bufs[i].fd);
		break;
	case 1:
		fd = fcntl(bufs[i].fd, F_DUPFD_CLOEXEC, 100 + below(100));
		break;
	default:
		/* dup2 over another buffer's fd closes that one. */
		{
			int j = pick_buf();

			if (j < 0 || j == i || bufs[j].fd == bufs[i].fd)
				return;
			note("dup2 buf %d over buf %d", i, j);
			if (dup2(bufs[i].fd, bufs[j].fd) >= 0)
				bufs[j].size = bufs[i].size,
				bufs[j].rdonly = bufs[i].rdonly,
				bufs[j].ino = bufs[i].ino;
			return;
		}
	}
	note("dup buf %d -> %d", i, fd);
	if (fd >= 0) {
		int slot = free_buf_slot();

		if (slot < 0) {
			close(fd);
			return;
		}
		bufs[slot] = bufs[i];
		bufs[slot].fd = fd;
	}
}

/* ---- ioctls ---- */

static void check_fault(const char *what, long ret, int err, void *p)
{
	/* Only pointers that cannot be good must fault. */
	if (p != NULL && p != (void *)1 && p != hole &&
	    p != (void *)0xffffffff81000000ull)
		return;
	if (ret == 0 || !is_fault(err))
		problem("%s with pointer %p: ret %ld, %s (want EFAULT)",
			what, p, ret, strerror(err));
}

static void op_ioctl_sync(int i)
{
	struct dma_buf_sync s;
	void *arg = &s;
	long ret;
	int err;

	s.flags = chance(80) ? (chance(50) ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
			       (1 + below(3)) :
		  chance(50) ? below(16) : rnd();
	if (chance(10))
		arg = bad_pointer(sizeof(s));
	note("SYNC buf %d flags %#llx arg %p", i, (unsigned long long)s.flags, arg);
	arm_timer(2 + below(10));
	ret = ioctl(bufs[i].fd, DMA_BUF_IOCTL_SYNC, arg);
	err = errno;
	disarm_timer();
	if (arg != &s) {
		check_fault("SYNC", ret, err, arg);
		return;
	}
	if (ret == 0)
		effects[E_SYNC]++;
	else if (err == EINTR)
		effects[E_SYNC_INTR]++;
	if (ret == 0 && (!(s.flags & DMA_BUF_SYNC_RW) ||
			 (s.flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK)))
		problem("SYNC with flags %#llx succeeded",
			(unsigned long long)s.flags);
}

static void op_ioctl_set_name(int i)
{
	char name[64];
	size_t len = below(40);
	bool straddle = false;
	void *arg;
	long ret;
	int err;

	for (size_t k = 0; k < len; k++)
		name[k] = 'a' + below(26);
	name[len] = 0;
	arg = name;
	if (chance(10))
		arg = bad_pointer(len + 1);
	else if (chance(10) && len < 20) {
		/* The NUL would be in the unmapped page. */
		memcpy(hole - len, name, len);
		arg = hole - len;
		straddle = true;
	}
	note("SET_NAME buf %d len %zu arg %p", i, len, arg);
	ret = ioctl(bufs[i].fd, chance(50) ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B,
		    arg);
	err = errno;
	if (straddle) {
		if (ret == 0 || err != EFAULT)
			problem("SET_NAME running into an unmapped page: ret %ld %s",
				ret, strerror(err));
		return;
	}
	if (arg != name) {
		check_fault("SET_NAME", ret, err, arg);
		return;
	}
	if (ret == 0)
		effects[E_NAME]++;
	if (len >= DMA_BUF_NAME_LEN ? ret == 0 : ret != 0)
		problem("SET_NAME of %zu bytes: ret %ld %s", len, ret,
			strerror(err));
}

static void keep_sync(int fd)
{
	for (int k = 0; k < MAX_SYNCS; k++) {
		if (syncs[k] < 0) {
			syncs[k] = fd;
			return;
		}
	}
	close(fd);
}

static void op_ioctl_export_sync(int i)
{
	struct dma_buf_export_sync_file e = { .fd = -1 };
	void *arg = &e;
	long ret;
	int err;

	e.flags = chance(85) ? 1 + below(3) : rnd();
	if (chance(10))
		arg = bad_pointer(sizeof(e));
	note("EXPORT_SYNC_FILE buf %d flags %#x arg %p", i, e.flags, arg);
	ret = ioctl(bufs[i].fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, arg);
	err = errno;
	if (arg != &e) {
		check_fault("EXPORT_SYNC_FILE", ret, err, arg);
		return;
	}
	if (ret == 0) {
		effects[E_EXPORT]++;
		if (!e.flags || (e.flags & ~DMA_BUF_SYNC_RW))
			problem("EXPORT_SYNC_FILE with flags %#x succeeded", e.flags);
		if (e.fd < 0)
			problem("EXPORT_SYNC_FILE succeeded without an fd");
		else
			keep_sync(e.fd);
	}
}

/* A new sw_sync fence, not signaled yet; -1 if there is no timeline. */
static int new_fence(void)
{
	struct sw_sync_create_fence_data d = { 0 };
	int t = below(MAX_TLS);

	if (tls[t].fd < 0) {
		tls[t].fd = open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);
		tls[t].next = 1;
		if (tls[t].fd < 0)
			return -1;
	}
	d.value = tls[t].next + below(3);
	tls[t].next = d.value + 1;
	snprintf(d.name, sizeof(d.name), "fz%u", d.value);
	if (ioctl(tls[t].fd, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -1;
	return d.fence;
}

static void op_ioctl_import_sync(int i)
{
	struct dma_buf_import_sync_file im = { 0 };
	void *arg = &im;
	int fence = -1, s;
	long ret;
	int err;

	switch (below(4)) {
	case 0:
	case 1:
		fence = new_fence();
		im.fd = fence;
		break;
	case 2:
		s = pick_sync();
		im.fd = s < 0 ? -1 : syncs[s];
		break;
	default:
		im.fd = pick_any_fd();
	}
	im.flags = chance(85) ? 1 + below(3) : rnd();
	if (chance(8))
		arg = bad_pointer(sizeof(im));
	note("IMPORT_SYNC_FILE buf %d fd %d flags %#x arg %p", i, im.fd,
	     im.flags, arg);
	ret = ioctl(bufs[i].fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, arg);
	err = errno;
	if (fence >= 0) {
		if (chance(30))
			keep_sync(fence);
		else
			close(fence);
	}
	if (arg != &im) {
		check_fault("IMPORT_SYNC_FILE", ret, err, arg);
		return;
	}
	if (ret == 0)
		effects[E_IMPORT]++;
	if (ret == 0 && (!im.flags || (im.flags & ~DMA_BUF_SYNC_RW)))
		problem("IMPORT_SYNC_FILE with flags %#x succeeded", im.flags);
}

static bool known_cmd(unsigned long cmd)
{
	return cmd == DMA_BUF_IOCTL_SYNC || cmd == DMA_BUF_SET_NAME_A ||
	       cmd == DMA_BUF_SET_NAME_B || cmd == DMA_BUF_IOCTL_EXPORT_SYNC_FILE ||
	       cmd == DMA_BUF_IOCTL_IMPORT_SYNC_FILE;
}

static void op_ioctl_random(int i)
{
	unsigned long cmd;
	char scratch[512];
	long ret;
	int err;

	switch (below(3)) {
	case 0:		/* our magic, any number, direction and size */
		cmd = _IOC(below(4), 'b', below(16), below(64));
		break;
	case 1:		/* the common ones every fd sees from tools */
		cmd = (unsigned long[]){ FIONREAD, FIONBIO, FIOCLEX, TCGETS,
					 FS_IOC_GETFLAGS, 0 }[below(6)];
		break;
	default:
		cmd = (unsigned int)rnd();
	}
	memset(scratch, 0, sizeof(scratch));
	/* FIONBIO and FIOCLEX are the VFS's; they are fine on any fd. */
	if (cmd == FIONBIO || cmd == FIOCLEX)
		return;
	note("ioctl buf %d cmd %#lx", i, cmd);
	arm_timer(5);
	ret = ioctl(bufs[i].fd, cmd, chance(50) ? scratch : bad_pointer(64));
	err = errno;
	disarm_timer();
	/*
	 * Other magics may be the VFS's own (FIGETBSZ, FS_IOC_*), which
	 * answer for any file; in ours, all but the five known are unknown.
	 */
	if (_IOC_TYPE(cmd) != DMA_BUF_BASE || known_cmd(cmd))
		return;
	if (ret != -1 || err != ENOTTY)
		problem("unknown ioctl %#lx: ret %ld %s (want ENOTTY)", cmd, ret,
			strerror(err));
}

static void op_ioctl(void)
{
	int i = pick_buf();

	if (i < 0)
		return;
	switch (below(6)) {
	case 0:
		op_ioctl_sync(i);
		break;
	case 1:
		op_ioctl_set_name(i);
		break;
	case 2:
		op_ioctl_export_sync(i);
		break;
	case 3:
	case 4:
		op_ioctl_import_sync(i);
		break;
	default:
		op_ioctl_random(i);
	}
}

/* ---- memory mappings ---- */

static void touch(int m)
{
	volatile char *p = (volatile char *)maps[m].addr;
	size_t off;
	int sig;

	if (!(maps[m].prot & PROT_READ))
		return;
	touching = 1;
	sig = sigsetjmp(touch_env, 1);
	if (sig) {
		touching = 0;
		problem("signal %d touching mapping %d (%p, %zu bytes, prot %d)",
			sig, m, maps[m].addr, maps[m].len, maps[m].prot);
		/* Leave the mapping alone from now on. */
		maps[m].prot = 0;
		return;
	}
	for (off = 0; off < maps[m].len; off += pagesz) {
		char c = p[off];

		if (maps[m].prot & PROT_WRITE)
			p[off] = c + 1;
	}
	touching = 0;
}

static void op_mmap(void)
{
	int i = pick_buf(), m, prot, flags;
	size_t npages, len;
	off_t off;
	void *addr;

	if (i < 0)
		return;
	for (m = 0; m < MAX_MAPS && maps[m].addr; m++)
		;
	if (m == MAX_MAPS)
		return;
	npages = bufs[i].size / pagesz;
	len = chance(85) ? (1 + below(npages + 1)) * pagesz : below(pagesz * 4) + 1;
	off = chance(80) ? below(npages + 1) * pagesz :
	      chance(50) ? (off_t)below(pagesz) : (off_t)(rnd() & ~0xfffull) >> 1;
	prot = (int[]){ PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
			PROT_NONE, PROT_READ | PROT_EXEC }[below(5)];
	flags = chance(85) ? MAP_SHARED : MAP_PRIVATE;
	note("mmap buf %d len %zu off %lld prot %d %s", i, len, (long long)off,
	     prot, flags == MAP_SHARED ? "shared" : "private");
	addr = mmap(NULL, len, prot, flags, bufs[i].fd, off);
	if (addr == MAP_FAILED)
		return;
	if (off < 0 || (size_t)off + ((len + pagesz - 1) & ~(pagesz - 1)) > bufs[i].size)
		problem("mmap of %zu bytes at offset %lld of a %zu byte buffer succeeded",
			len, (long long)off, bufs[i].size);
	if (bufs[i].rdonly && flags == MAP_SHARED && (prot & PROT_WRITE))
		problem("writable shared mmap of a read-only buffer succeeded");
	effects[E_MMAP]++;
	maps[m].addr = addr;
	maps[m].len = (len + pagesz - 1) & ~(pagesz - 1);
	maps[m].prot = prot;
	/* Remember what a later mprotect() may not add. */
	if (bufs[i].rdonly && flags == MAP_SHARED)
		maps[m].prot |= 0x100;
	touch(m);
}

static void forget_map(int m)
{
	maps[m].addr = NULL;
}

static void op_munmap(void)
{
	int m = pick_map();

	if (m < 0)
		return;
	if (chance(30) && maps[m].len > (size_t)pagesz) {
		/* Cut the tail off; the head stays mapped. */
		size_t keep = (1 + below(maps[m].len / pagesz - 1)) * pagesz;

		note("munmap tail of map %d at %zu", m, keep);
		if (!munmap(maps[m].addr + keep, maps[m].len - keep))
			maps[m].len = keep;
		return;
	}
	note("munmap map %d", m);
	if (munmap(maps[m].addr, maps[m].len))
		problem("munmap of our own mapping failed: %s", strerror(errno));
	forget_map(m);
}

static void op_mremap(void)
{
	int m = pick_map();
	size_t newlen;
	void *p;

	if (m < 0)
		return;
	newlen = (1 + below(maps[m].len / pagesz + 2)) * pagesz;
	note("mremap map %d %zu -> %zu", m, maps[m].len, newlen);
	p = mremap(maps[m].addr, maps[m].len, newlen, chance(50) ? MREMAP_MAYMOVE : 0);
	if (p == MAP_FAILED)
		return;
	/* The core marks buffer mappings VM_DONTEXPAND. */
	if (newlen > maps[m].len)
		problem("mremap grew a buffer mapping from %zu to %zu bytes",
			maps[m].len, newlen);
	maps[m].addr = p;
	maps[m].len = newlen;
	touch(m);
}

static void op_mprotect(void)
{
	int m = pick_map(), prot;

	if (m < 0)
		return;
	prot = (int[]){ PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
			PROT_WRITE }[below(4)];
	note("mprotect map %d prot %d", m, prot);
	if (mprotect(maps[m].addr, maps[m].len, prot))
		return;
	if ((maps[m].prot & 0x100) && (prot & PROT_WRITE))
		problem("mprotect made a shared mapping of a read-only buffer writable");
	maps[m].prot = prot | (maps[m].prot & 0x100);
	touch(m);
}

/* ---- everything else an fd takes ---- */

static void op_poll(void)
{
	struct pollfd p[3];
	int n = 1 + below(3), k, i;

	for (k = 0; k < n; k++) {
		i = pick_buf();
		p[k].fd = i < 0 ? pick_any_fd() : chance(80) ? bufs[i].fd : pick_any_fd();
		p[k].events = (short[]){ POLLIN, POLLOUT, POLLIN | POLLOUT,
					 POLLPRI, (short)rnd() }[below(5)];
		p[k].revents = 0;
	}
	note("poll %d fds", n);
	poll(p, n, below(4));
	/* A dma-buf that asked for POLLOUT and did not get it has a fence. */
	for (k = 0; k < n; k++)
		if ((p[k].events & POLLOUT) && !(p[k].revents & (POLLOUT | POLLNVAL)))
			effects[E_POLL_PENDING]++;
}

static void op_llseek(void)
{
	int i = pick_buf(), whence;
	off_t off, ret;

	if (i < 0)
		return;
	off = chance(60) ? 0 : chance(50) ? (off_t)below(8192) - 4096 : (off_t)rnd();
	whence = below(6);	/* SET CUR END DATA HOLE and a bad one */
	note("lseek buf %d off %lld whence %d", i, (long long)off, whence);
	ret = lseek(bufs[i].fd, off, whence);
	/* The whole contract: SEEK_SET 0 gives 0, SEEK_END 0 the size. */
	if (off == 0 && whence == SEEK_SET) {
		if (ret != 0)
			problem("lseek(0, SEEK_SET) gave %lld", (long long)ret);
	} else if (off == 0 && whence == SEEK_END) {
		if (ret != (off_t)bufs[i].size)
			problem("lseek(0, SEEK_END) gave %lld for %zu bytes",
				(long long)ret, bufs[i].size);
	} else if (ret != -1 || errno != EINVAL) {
		problem("lseek(%lld, %d) gave %lld (%s)", (long long)off, whence,
			(long long)ret, strerror(errno));
	}
}

static void op_readwrite(void)
{
	int i = pick_buf();
	char b[64];
	ssize_t n;

	if (i < 0)
		return;
	note("read/write buf %d", i);
	if (chance(50))
		n = read(bufs[i].fd, chance(80) ? (void *)b : bad_pointer(64), sizeof(b));
	else
		n = write(bufs[i].fd, chance(80) ? (void *)b : bad_pointer(64), sizeof(b));
	if (n >= 0)
		problem("read or write on a dma-buf returned %zd", n);
}

/* What the kernel says about a buffer: fdinfo, the fd link, bufinfo. */
static void op_inspect(void)
{
	int i = pick_buf(), fd;
	char path[64], text[4096], want[64];
	ssize_t n;

	if (i < 0)
		return;
	note("inspect buf %d", i);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", bufs[i].fd);
	n = readlink(path, text, sizeof(text) - 1);
	if (n >= 0) {
		text[n] = 0;
		if (strncmp(text, "/dmabuf:", 8) || n > 8 + DMA_BUF_NAME_LEN - 1)
			problem("fd link of a dma-buf reads \"%s\"", text);
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bufs[i].fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return;
	text[n] = 0;
	snprintf(want, sizeof(want), "\nsize:\t%zu\n", bufs[i].size);
	if (!strstr(text, want) || !strstr(text, "\nexp_name:\t"))
		problem("fdinfo lacks size or exp_name: %.200s", text);
}

/* Buffers debugfs lists, -1 if it cannot be read. */
static int bufinfo_count_listed(char *last, size_t lastlen)
{
	static char text[1 << 16];
	size_t len = 0;
	ssize_t n;
	int fd, objects = -1;
	char *t;

	fd = open(BUFINFO_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(text) - 1 &&
	       (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += n;
	close(fd);
	text[len] = 0;
	t = strstr(text, "\nTotal ");
	while (t && strstr(t + 1, "\nTotal "))
		t = strstr(t + 1, "\nTotal ");
	if (t && sscanf(t, "\nTotal %d objects", &objects) != 1)
		objects = -1;
	if (last)
		snprintf(last, lastlen, "%s", text);
	return objects;
}

static void op_bufinfo(void)
{
	static char text[1 << 16];
	char key[32];
	int n, live = 0;

	note("read bufinfo");
	n = bufinfo_count_listed(text, sizeof(text));
	if (n < 0) {
		problem("bufinfo unreadable or without its Total line");
		return;
	}
	/*
	 * Each buffer we hold an fd of is listed (by its inode number); our
	 * fds may share buffers (dup), and children may hold more.
	 */
	for (int i = 0; i < MAX_BUFS; i++) {
		if (bufs[i].fd < 0)
			continue;
		live++;
		snprintf(key, sizeof(key), "\t%08lu\t", (unsigned long)bufs[i].ino);
		if (!strstr(text, key))
			problem("bufinfo does not list inode %lu, which fd %d holds",
				(unsigned long)bufs[i].ino, bufs[i].fd);
	}
	if (live && n == 0)
		problem("bufinfo counts no buffer while we hold %d fds", live);
}

static void op_signal(void)
{
	int t = below(MAX_TLS);
	__u32 by = 1 + below(3);

	if (tls[t].fd < 0)
		return;
	if (chance(15)) {
		/* Closing a timeline signals its pending fences (with an error). */
		bool pending = !signal_before_close && chance(50);

		note("close timeline %d%s", t, pending ? " with fences pending" : "");
		if (!pending) {
			__u32 all = 1u << 30;

			ioctl(tls[t].fd, SW_SYNC_IOC_INC, &all);
		}
		close(tls[t].fd);
		tls[t].fd = -1;
		return;
	}
	note("signal timeline %d by %u", t, by);
	ioctl(tls[t].fd, SW_SYNC_IOC_INC, &by);
}

static void op_sync_file(void)
{
	int s = pick_sync();
	struct pollfd p;

	if (s < 0)
		return;
	if (chance(40)) {
		note("close sync fd %d", syncs[s]);
		close(syncs[s]);
		syncs[s] = -1;
		return;
	}
	p.fd = syncs[s];
	p.events = POLLIN;
	note("poll sync fd %d", syncs[s]);
	poll(&p, 1, 0);
}

/* ---- fd passing ---- */

static void op_scm(void)
{
	int k = below(MAX_SOCKS), n = 1 + below(4), fds[4], j;
	char cbuf[CMSG_SPACE(sizeof(fds))], byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (socks[k][0] < 0) {
		note("socketpair %d", k);
		if (socketpair(AF_UNIX, chance(50) ? SOCK_STREAM : SOCK_DGRAM,
			       0, socks[k]))
			socks[k][0] = socks[k][1] = -1;
		return;
	}
	switch (below(4)) {
	case 0:
		/* In-flight fds die with the socket (maybe through the GC). */
		note("close socketpair %d", k);
		close(socks[k][0]);
		close(socks[k][1]);
		socks[k][0] = socks[k][1] = -1;
		return;
	case 1: {
		/* Receive whatever is queued. */
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		note("recvmsg on socketpair %d", k);
		if (recvmsg(socks[k][1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			int got, *fdp;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			fdp = (int *)CMSG_DATA(cm);
			for (j = 0; j < got; j++) {
				struct stat st;

				/* Only buffers are kept; the rest goes. */
				effects[E_RECEIVED]++;
				if (!fstat(fdp[j], &st) && dmabuf_dev &&
				    st.st_dev == dmabuf_dev)
					track_buf(fdp[j], lseek(fdp[j], 0, SEEK_END),
						  (fcntl(fdp[j], F_GETFL) & O_ACCMODE) == O_RDONLY);
				else
					close(fdp[j]);
			}
		}
		return;
	}
	default:
		break;
	}
	for (j = 0; j < n; j++) {
		int i = pick_buf();

		fds[j] = chance(10) ? socks[k][below(2)] :
			 i < 0 ? socks[k][0] : bufs[i].fd;
	}
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	note("sendmsg %d fds on socketpair %d", n, k);
	if (sendmsg(socks[k][0], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		effects[E_SENT] += n;
}

/* ---- processes ---- */

static void run_ops(unsigned long n, double deadline);

static void reap(pid_t pid);

static void op_fork(void)
{
	int k;
	pid_t pid;

	for (k = 0; k < MAX_KIDS && kids[k] > 0; k++)
		;
	if (k == MAX_KIDS) {
		/* Wait for one; children are short. */
		k = below(MAX_KIDS);
		note("wait for child %d", kids[k]);
		reap(kids[k]);
		kids[k] = 0;
	}
	note("fork");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		/* The child shares our buffers and plays with them a little. */
		in_child = true;
		problems = 0;
		rng_state ^= 0x5eed0000ull + k;
		setup_timer();
		for (k = 0; k < MAX_KIDS; k++)
			kids[k] = 0;
		/*
		 * The parent's timelines stay the parent's: two processes
		 * moving one timeline cannot tell which of its fences are
		 * still pending.  The parent holds them, so closing ours
		 * releases nothing.
		 */
		for (k = 0; k < MAX_TLS; k++) {
			if (tls[k].fd >= 0)
				close(tls[k].fd);
			tls[k].fd = -1;
		}
		run_ops(20 + below(40), now() + 5);
		/*
		 * Exit with fds and mappings still open: the kernel cleans
		 * up, also of timelines with fences pending (see
		 * signal_before_close).
		 */
		for (k = 0; k < MAX_TLS; k++) {
			__u32 all = 1u << 30;

			if (tls[k].fd >= 0 &&
			    (signal_before_close || chance(50)))
				ioctl(tls[k].fd, SW_SYNC_IOC_INC, &all);
		}
		_exit(problems ? 1 : 0);
	}
	effects[E_CHILD]++;
	kids[k] = pid;
}

static void reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return;
	if (WIFSIGNALED(st))
		problem("child %d died of signal %d", pid, WTERMSIG(st));
	else if (WEXITSTATUS(st))
		problem("child %d found problems", pid);
}

/* ---- rounds ---- */

typedef void (*op_fn)(void);

static const struct {
	op_fn fn;
	const char *name;
	unsigned int weight;
} op_table[] = {
	{ op_heap_alloc, "heap-alloc", 8 },
	{ op_udmabuf_alloc, "udmabuf-alloc", 5 },
	{ op_close, "close", 6 },
	{ op_dup, "dup", 4 },
	{ op_ioctl, "ioctl", 20 },
	{ op_mmap, "mmap", 8 },
	{ op_munmap, "munmap", 5 },
	{ op_mremap, "mremap", 3 },
	{ op_mprotect, "mprotect", 3 },
	{ op_poll, "poll", 8 },
	{ op_llseek, "llseek", 4 },
	{ op_readwrite, "read-write", 3 },
	{ op_inspect, "inspect", 4 },
	{ op_bufinfo, "bufinfo", 2 },
	{ op_signal, "signal", 6 },
	{ op_sync_file, "sync-file", 3 },
	{ op_scm, "scm-rights", 5 },
	{ op_fork, "fork", 1 },
};

#define NOPS (sizeof(op_table) / sizeof(op_table[0]))

static void run_ops(unsigned long n, double deadline)
{
	unsigned int total = 0, k, r;

	for (k = 0; k < NOPS; k++)
		total += op_table[k].weight;
	for (unsigned long done = 0; done < n; done++) {
		if ((done & 15) == 0 && now() > deadline)
			break;
		r = below(total);
		for (k = 0; r >= op_table[k].weight; k++)
			r -= op_table[k].weight;
		if (in_child && op_table[k].fn == op_fork)
			continue;
		op_table[k].fn();
		ops_done++;
		op_counts[k]++;
	}
}

static void reset_state(void)
{
	for (int i = 0; i < MAX_BUFS; i++)
		bufs[i].fd = -1;
	for (int i = 0; i < MAX_SYNCS; i++)
		syncs[i] = -1;
	for (int i = 0; i < MAX_TLS; i++)
		tls[i].fd = -1;
	for (int i = 0; i < MAX_SOCKS; i++)
		socks[i][0] = socks[i][1] = -1;
	memset(maps, 0, sizeof(maps));
	memset(kids, 0, sizeof(kids));
}

/* Undo everything; pending fences get signaled first, then all goes. */
static void teardown(void)
{
	__u32 big = 1u << 30;

	for (int i = 0; i < MAX_TLS; i++) {
		if (tls[i].fd < 0)
			continue;
		ioctl(tls[i].fd, SW_SYNC_IOC_INC, &big);
		close(tls[i].fd);
	}
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] > 0)
			reap(kids[i]);
	for (int i = 0; i < MAX_BUFS; i++)
		if (bufs[i].fd >= 0)
			close(bufs[i].fd);
	for (int i = 0; i < MAX_SYNCS; i++)
		if (syncs[i] >= 0)
			close(syncs[i]);
	for (int i = 0; i < MAX_SOCKS; i++) {
		if (socks[i][0] >= 0) {
			close(socks[i][0]);
			close(socks[i][1]);
		}
	}
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].addr)
			munmap(maps[i].addr, maps[i].len);
	reset_state();
}

/*
 * Releases can lag behind the last close: fds in flight on a closed
 * socket go through the unix GC, and kernel-thread fputs through a
 * workqueue.  Give them a moment.
 */
static int wait_bufinfo_empty(char *last, size_t lastlen)
{
	int n = -1, sv[2];

	for (int tries = 0; tries < 50; tries++) {
		n = bufinfo_count_listed(last, lastlen);
		if (n == 0)
			return 0;
		/*
		 * Sockets that hold each other's fds in flight are freed by
		 * the unix GC, which a socket's release sets going.
		 */
		if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
			close(sv[0]);
			close(sv[1]);
		}
		usleep(100 * 1000);
	}
	return n;
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

int main(int argc, char **argv)
{
	unsigned long long seed = 1;
	unsigned long rounds = 2, ops = 2000;
	double limit = 120, start, deadline;
	int test = 0, failed = 0, base_fds, leftover;
	static char last[1 << 16];
	struct sigaction sa = { .sa_handler = on_fault };
	bool seed_given = false;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seed") && a + 1 < argc)
			seed = strtoull(argv[++a], NULL, 0), seed_given = true;
		else if (!strcmp(argv[a], "--rounds") && a + 1 < argc)
			rounds = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--ops") && a + 1 < argc)
			ops = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--time") && a + 1 < argc)
			limit = strtod(argv[++a], NULL);
		else if (!strcmp(argv[a], "-v"))
			verbose = true;
		else if (!strcmp(argv[a], "--signal-before-close"))
			signal_before_close = true;
		else {
			fprintf(stderr, "usage: %s [--seed N] [--rounds N] [--ops N] [--time S] [--signal-before-close] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (!seed_given)
		seed = (unsigned long long)time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pagesz = sysconf(_SC_PAGESIZE);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setup_timer();

	/*
	 * A page no access may touch, right after one that is ours.  It stays
	 * mapped PROT_NONE rather than unmapped, so that no later mmap() of
	 * a buffer can land on it.
	 */
	hole = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED || mprotect(hole + pagesz, pagesz, PROT_NONE))
		return 2;
	hole += pagesz;

	printf("TAP version 13\n1..%lu\n", 2 * rounds + 1);
	printf("# dmabuf-fuzz: seed %llu, %lu rounds of up to %lu operations, %.0f s at most\n",
	       seed, rounds, ops, limit);
	if (access(HEAP_PATH, R_OK) || access(UDMABUF_PATH, R_OK) ||
	    access(SW_SYNC_PATH, R_OK) || access(BUFINFO_PATH, R_OK)) {
		printf("# needs %s, %s, %s and %s\n", HEAP_PATH, UDMABUF_PATH,
		       SW_SYNC_PATH, BUFINFO_PATH);
		for (unsigned long r = 0; r < 2 * rounds + 1; r++)
			printf("ok %d # SKIP exporters or debugfs missing\n", ++test);
		return 4;
	}
	base_fds = open_fds();
	start = now();
	for (unsigned long r = 0; r < rounds; r++) {
		unsigned long long s = seed + r;
		unsigned long before = problems, ops_before = ops_done;
		int left;

		rng_state = s;
		reset_state();
		deadline = start + limit * (r + 1) / rounds;
		run_ops(ops, deadline);
		teardown();
		printf("# round %lu: seed %llu, %lu operations in %.1f s\n", r, s,
		       ops_done - ops_before, now() - start);
		if (problems == before) {
			printf("ok %d - round %lu (seed %llu): every answer sane\n",
			       ++test, r, s);
		} else {
			printf("not ok %d - round %lu (seed %llu): %lu wrong answers\n",
			       ++test, r, s, problems - before);
			failed++;
		}
		left = wait_bufinfo_empty(last, sizeof(last));
		if (left == 0) {
			printf("ok %d - round %lu (seed %llu): every buffer gone\n",
			       ++test, r, s);
		} else {
			printf("# bufinfo:\n# %.2000s\n", last);
			printf("not ok %d - round %lu (seed %llu): bufinfo lists %d buffers after closing everything\n",
			       ++test, r, s, left);
			failed++;
		}
	}
	leftover = open_fds() - base_fds;
	if (leftover == 0) {
		printf("ok %d - no fd left open\n", ++test);
	} else {
		printf("not ok %d - %d fds left open\n", ++test, leftover);
		failed++;
	}
	printf("# operations:");
	for (unsigned int k = 0; k < NOPS; k++)
		printf(" %s=%lu", op_table[k].name, op_counts[k]);
	printf("\n# effects:");
	for (unsigned int k = 0; k < E_COUNT; k++)
		printf(" %s=%lu", effect_names[k], effects[k]);
	printf("\n# %lu operations, %lu wrong answers, %.1f s\n", ops_done,
	       problems, now() - start);
	return failed ? 1 : 0;
}
