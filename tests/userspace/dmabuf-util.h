/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the userspace test programs and the demo: allocating
 * dma-bufs from the kernel's own exporters, reading what the kernel says
 * about them (fdinfo, debugfs bufinfo), and a software fence timeline.
 */
#ifndef DMABUF_UTIL_H
#define DMABUF_UTIL_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#define HEAP_PATH	"/dev/dma_heap/system"
#define UDMABUF_PATH	"/dev/udmabuf"
#define BUFINFO_PATH	"/sys/kernel/debug/dma_buf/bufinfo"
#define SW_SYNC_PATH	"/sys/kernel/debug/sync/sw_sync"

/*
 * The sw_sync debugfs interface is kernel ABI without a UAPI header
 * (drivers/dma-buf/sw_sync.c): the layout and numbers must match it.
 */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};
#define SW_SYNC_IOC_MAGIC	'W'
#define SW_SYNC_IOC_CREATE_FENCE \
	_IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC		_IOW(SW_SYNC_IOC_MAGIC, 1, __u32)

static inline long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* A dma-buf fd from the system heap; fd_flags as for DMA_HEAP_IOCTL_ALLOC. */
static inline int heap_alloc(size_t len, unsigned int fd_flags)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = fd_flags,
	};
	int heap, ret;

	heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		return -1;
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &data);
	close(heap);
	return ret < 0 ? -1 : (int)data.fd;
}

/*
 * A dma-buf fd from udmabuf over a sealed memfd of len bytes.  The memfd is
 * returned in *memfd_out if that is not NULL, else closed.
 */
static inline int udmabuf_alloc(size_t len, int *memfd_out)
{
	struct udmabuf_create create = { 0 };
	int dev, memfd, fd, err;

	memfd = memfd_create("dmabuf-test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0)
		return -1;
	if (ftruncate(memfd, len) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		err = errno;
		close(memfd);
		errno = err;
		return -1;
	}
	dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		err = errno;
		close(memfd);
		errno = err;
		return -1;
	}
	create.memfd = memfd;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.offset = 0;
	create.size = len;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	err = errno;
	close(dev);
	if (fd >= 0 && memfd_out)
		*memfd_out = memfd;
	else
		close(memfd);
	errno = err;
	return fd;
}

static inline int dmabuf_sync(int fd, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* Read a whole small file into a malloc'ed string; NULL on error. */
static inline char *slurp(const char *path)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static inline char *fdinfo_of(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return slurp(path);
}

/*
 * The value of "key:" in an fdinfo text, copied into out; false if absent.
 * fdinfo lines are "key:\tvalue" (or "key:  value" for the VFS's own).
 */
static inline bool fdinfo_field(const char *info, const char *key,
				char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = info;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;

			while (*v == ' ' || *v == '\t')
				v++;
			e = strchr(v, '\n');
			if (!e)
				e = v + strlen(v);
			snprintf(out, outlen, "%.*s", (int)(e - v), v);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* One buffer as debugfs dma_buf/bufinfo lists it. */
struct bufinfo_entry {
	unsigned long size, flags, mode, count, ino;
	char exp_name[64];
	char name[64];
	int fences, unsignalled, devices;
	char fence_lines[4][160];
};

struct bufinfo {
	int objects;			/* entries listed */
	unsigned long bytes;		/* sum of their sizes */
	int total_objects;		/* from the "Total" line */
	unsigned long total_bytes;
	bool header_ok, total_ok;
	struct bufinfo_entry *entries;
	char *text;
};

static inline void bufinfo_free(struct bufinfo *bi)
{
	free(bi->entries);
	free(bi->text);
	memset(bi, 0, sizeof(*bi));
}

/*
 * Parse bufinfo.  The format is 6.12's (tools parse it):
 *   "\nDma-buf Objects:\n"
 *   "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
 * per buffer "%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s\n", its fences as
 * "\t<usage> fence:<driver> <timeline> seq <n> [un]signalled\n", then
 * "\tAttached Devices:\n", one "\t<dev>\n" each, "Total %d devices attached\n\n";
 * finally "\nTotal %d objects, %zu bytes\n".
 */
static inline int bufinfo_read(struct bufinfo *bi)
{
	static const char head[] = "\nDma-buf Objects:\n"
		"size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n";
	struct bufinfo_entry *cur = NULL;
	int cap = 0, in_devices = 0;
	char *line, *save = NULL, *copy;

	memset(bi, 0, sizeof(*bi));
	bi->text = slurp(BUFINFO_PATH);
	if (!bi->text)
		return -1;
	bi->header_ok = !strncmp(bi->text, head, sizeof(head) - 1);
	copy = strdup(bi->text);
	if (!copy)
		return -1;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct bufinfo_entry e = { 0 };
		char sz[32], fl[32], md[32], ct[32], in[32];
		int n;

		if (line[0] == '\t') {
			if (!cur)
				continue;
			if (!strcmp(line, "\tAttached Devices:")) {
				in_devices = 1;
			} else if (in_devices) {
				cur->devices++;
			} else if (strstr(line, " fence:")) {
				if (cur->fences < 4)
					snprintf(cur->fence_lines[cur->fences],
						 sizeof(cur->fence_lines[0]), "%s",
						 line + 1);
				cur->fences++;
				if (strstr(line, " unsignalled"))
					cur->unsignalled++;
			}
			continue;
		}
		if (sscanf(line, "Total %d objects, %lu bytes",
			   &bi->total_objects, &bi->total_bytes) == 2) {
			bi->total_ok = true;
			continue;
		}
		if (!strncmp(line, "Total ", 6) || !strncmp(line, "Dma-buf", 7) ||
		    !strncmp(line, "size", 4))
			continue;
		/* size flags mode count exp_name ino name, tab separated */
		n = sscanf(line, "%31[0-9]\t%31[0-9a-f]\t%31[0-9a-f]\t%31[0-9]\t%63[^\t]\t%31[0-9]\t%63[^\n]",
			   sz, fl, md, ct, e.exp_name, in, e.name);
		if (n < 6)
			continue;
		if (strlen(sz) < 8 || strlen(fl) != 8 || strlen(md) != 8 ||
		    strlen(ct) < 8 || strlen(in) < 8)
			continue;	/* not the zero-padded format */
		e.size = strtoul(sz, NULL, 10);
		e.flags = strtoul(fl, NULL, 16);
		e.mode = strtoul(md, NULL, 16);
		e.count = strtoul(ct, NULL, 10);
		e.ino = strtoul(in, NULL, 10);
		if (bi->objects == cap) {
			struct bufinfo_entry *ne;

			cap = cap ? cap * 2 : 16;
			ne = realloc(bi->entries, cap * sizeof(*ne));
			if (!ne) {
				free(copy);
				return -1;
			}
			bi->entries = ne;
		}
		bi->entries[bi->objects] = e;
		cur = &bi->entries[bi->objects++];
		in_devices = 0;
		bi->bytes += e.size;
	}
	free(copy);
	return 0;
}

static inline struct bufinfo_entry *bufinfo_find(struct bufinfo *bi,
						 unsigned long ino)
{
	for (int i = 0; i < bi->objects; i++)
		if (bi->entries[i].ino == ino)
			return &bi->entries[i];
	return NULL;
}

static inline unsigned long ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Buffers the kernel lists right now, -1 if bufinfo cannot be read. */
static inline int bufinfo_objects(void)
{
	struct bufinfo bi;
	int n;

	if (bufinfo_read(&bi))
		return -1;
	n = bi.objects;
	bufinfo_free(&bi);
	return n;
}

static inline bool bufinfo_has(unsigned long ino)
{
	struct bufinfo bi;
	bool found;

	if (bufinfo_read(&bi))
		return false;
	found = bufinfo_find(&bi, ino) != NULL;
	bufinfo_free(&bi);
	return found;
}

/* Open file descriptors of this process. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* A fresh sw_sync timeline (its fd) and fences on it. */
static inline int sw_timeline(void)
{
	return open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);
}

static inline int sw_fence(int timeline, unsigned int value)
{
	struct sw_sync_create_fence_data d = { .value = value };

	snprintf(d.name, sizeof(d.name), "pt%u", value);
	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -1;
	return d.fence;
}

static inline int sw_inc(int timeline, unsigned int by)
{
	__u32 v = by;

	return ioctl(timeline, SW_SYNC_IOC_INC, &v);
}

/* Pass @fd over a unix socket with @len bytes of @data (SCM_RIGHTS). */
static inline int send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == (ssize_t)len ? 0 : -1;
}

/* The fd sent with @len bytes into @data, or -1. */
static inline int recv_fd(int sock, void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#endif /* DMABUF_UTIL_H */
