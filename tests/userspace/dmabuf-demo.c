// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffer sharing, shown step by step: a producer process allocates a
 * dma-buf from the system heap, names it, fills it through mmap with
 * DMA_BUF_IOCTL_SYNC around the writes, and hands the fd over a unix
 * socket to a consumer process, which maps it, checks every byte, writes a
 * reply and reports.  Then we print what the kernel says about the buffer
 * (fdinfo and debugfs bufinfo), the buffer's whole life as the dma_buf
 * trace events told it (switched on through tracefs before the buffer
 * existed, its lines picked out by inode number) and a summary.  Exit
 * status 0 when all of it worked; a kernel without the events only says so.
 */
#include "dmabuf-util.h"
#include "dmabuf-tracefs.h"

#include <sys/socket.h>
#include <sys/wait.h>

#define BUF_SIZE	(1024 * 1024)
#define BUF_NAME	"demo-frame"
#define REPLY_AT	(BUF_SIZE - 4096)

static const char *who = "producer";

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("  [%-8s pid %d] ", who, getpid());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static __u32 word(size_t i)
{
	return (__u32)(i * 2654435761u) ^ 0x5eed;
}

/* The consumer: everything it knows about the buffer comes from the fd. */
static int consumer(int sock)
{
	char v[64], name[64] = "?", *info, tag;
	size_t n = BUF_SIZE / 4 - 1024, bad = 0;
	__u32 *w;
	int fd;

	who = "consumer";
	fd = recv_fd(sock, &tag, 1);
	if (fd < 0) {
		say("FAILED: no fd arrived on the socket");
		return 1;
	}
	info = fdinfo_of(fd);
	if (info && fdinfo_field(info, "name", v, sizeof(v)))
		snprintf(name, sizeof(name), "%s", v);
	say("received fd %d over the unix socket (SCM_RIGHTS)", fd);
	say("it is a %lld-byte dma-buf named \"%s\", exported by \"%s\" (inode %lu)",
	    (long long)lseek(fd, 0, SEEK_END), name,
	    info && fdinfo_field(info, "exp_name", v, sizeof(v)) ? v : "?",
	    ino_of(fd));
	free(info);

	w = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED) {
		say("FAILED: mmap: %s", strerror(errno));
		return 1;
	}
	dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	say("message at the start of the buffer: \"%s\"", (char *)w);
	for (size_t i = 64; i < n; i++)
		if (w[i] != word(i))
			bad++;
	dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (bad) {
		say("FAILED: %zu of %zu words differ from what the producer wrote", bad, n - 64);
		return 1;
	}
	say("checked all %zu pattern words through its own mapping: all match", n - 64);

	dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	snprintf((char *)w + REPLY_AT, 128, "reply from pid %d", getpid());
	dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	say("wrote a reply into the last page, telling the producer");
	if (write(sock, "k", 1) != 1)
		return 1;
	/* Keep the buffer until the producer has shown what the kernel sees. */
	if (read(sock, v, 1) != 1)
		return 1;
	munmap(w, BUF_SIZE);
	close(fd);
	say("unmapped and closed its fd");
	return 0;
}

static void show_kernel_view(int fd, void *addr)
{
	struct bufinfo bi;
	struct bufinfo_entry *e;
	char *info = fdinfo_of(fd), *p, *end, mine[32];
	unsigned long ino = ino_of(fd);
	bool in_ours = false;

	printf("\n  What the kernel shows about the buffer now:\n");
	printf("  --- /proc/%d/fdinfo/%d (the producer's fd) ---\n", getpid(), fd);
	for (p = info; p && *p; p = end) {
		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		printf("    %.*s", (int)(end - p), p);
	}
	free(info);

	printf("  --- /proc/%d/maps, the producer's mapping of it ---\n", getpid());
	info = slurp("/proc/self/maps");
	snprintf(mine, sizeof(mine), "%lx-", (unsigned long)addr);
	for (p = info; p && *p; p = end) {
		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		if (!strncmp(p, mine, strlen(mine)))
			printf("    %.*s", (int)(end - p), p);
	}
	free(info);

	printf("  --- %s: header, this buffer's entry, totals ---\n", BUFINFO_PATH);
	if (bufinfo_read(&bi)) {
		printf("    (cannot read it: %s)\n", strerror(errno));
		return;
	}
	snprintf(mine, sizeof(mine), "\t%08lu\t", ino);
	for (p = bi.text; *p; p = end) {
		int len;

		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		len = (int)(end - p);
		if (len <= 1)
			continue;
		if (!strncmp(p, "Dma-buf Objects:", 16) || !strncmp(p, "size", 4))
			printf("    %.*s", len, p);
		else if (!strncmp(p, "Total ", 6) && memmem(p, len, " objects", 8))
			printf("    ...\n    %.*s", len, p);
		else if (memmem(p, len, mine, strlen(mine)) && p[0] != '\t')
			in_ours = true;
		if (in_ours) {
			printf("    %.*s", len, p);
			if (!strncmp(p, "Total ", 6))
				in_ours = false;
		}
	}
	e = bufinfo_find(&bi, ino);
	if (e && e->count == 4)
		printf("  count 4: the producer's fd and mapping, the consumer's fd and mapping\n");
	else if (e)
		printf("  count %lu: NOTE 6.12 counts 4 here (two fds, two mappings)\n", e->count);
	bufinfo_free(&bi);
}

static void mark(bool ok, const char *what)
{
	printf("  %s  %s\n", ok ? "[ok]  " : "[FAIL]", what);
}

/*
 * The events switched off again, the buffer's lines in the trace; true
 * when they begin with its export and end with its release.
 */
static bool show_trace(const char *dir, unsigned long ino, int *lines)
{
	struct trace_log log;
	bool ok;

	tracefs_dma_buf_events(dir, false);
	if (trace_log_read(dir, ino, 0, &log)) {
		printf("  (cannot read %s/trace: %s)\n", dir, strerror(errno));
		return false;
	}
	printf("\n  The buffer's life in %s/trace (the lines with ino=%lu):\n",
	       dir, ino);
	for (int i = 0; i < log.n; i++)
		printf("    %s\n", log.ev[i].line);
	ok = log.n >= 2 && !strcmp(log.ev[0].name, "dma_buf_export") &&
		!strcmp(log.ev[log.n - 1].name, "dma_buf_release");
	*lines = log.n;
	trace_log_free(&log);
	return ok;
}

int main(void)
{
	int sv[2], fd, status, ok_write = 0, ok_consumer = 0, ok_reply = 0, ok_gone = 0;
	int ok_trace = 0, lines = 0;
	const char *tdir = tracefs_dir();
	char events[300];
	unsigned long ino;
	__u32 *w;
	char c;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("\ndma-buf demo: sharing one buffer between two processes\n\n");
	snprintf(events, sizeof(events), "%s/events/dma_buf", tdir ? tdir : "");
	if (!tdir || access(events, F_OK)) {
		say("this kernel has no dma_buf trace events in tracefs: not tracing");
		tdir = NULL;
	} else if (tracefs_dma_buf_events(tdir, true)) {
		say("switching the dma_buf trace events on: %s", strerror(errno));
		tdir = NULL;
	} else {
		say("switched the dma_buf trace events on (echo 1 > %s/enable)",
		    events);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(consumer(sv[1]));
	}
	close(sv[1]);

	fd = heap_alloc(BUF_SIZE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		say("FAILED: allocating from %s: %s", HEAP_PATH, strerror(errno));
		return 1;
	}
	ino = ino_of(fd);
	say("allocated %d KiB from %s: fd %d, inode %lu", BUF_SIZE / 1024, HEAP_PATH, fd, ino);
	if (ioctl(fd, DMA_BUF_SET_NAME_B, BUF_NAME)) {
		say("FAILED: DMA_BUF_SET_NAME: %s", strerror(errno));
		return 1;
	}
	say("named it \"%s\" (DMA_BUF_SET_NAME)", BUF_NAME);

	w = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED) {
		say("FAILED: mmap: %s", strerror(errno));
		return 1;
	}
	if (dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE) == 0) {
		snprintf((char *)w, 256, "hello from producer %d", getpid());
		for (size_t i = 64; i < BUF_SIZE / 4 - 1024; i++)
			w[i] = word(i);
		ok_write = dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE) == 0;
	}
	say("mapped it and filled it, between DMA_BUF_IOCTL_SYNC START and END: %s",
	    ok_write ? "ok" : "FAILED");

	say("passing the fd to the consumer (pid %d) over a unix socket", pid);
	if (send_fd(sv[0], fd, "B", 1)) {
		say("FAILED: sendmsg: %s", strerror(errno));
		return 1;
	}

	if (read(sv[0], &c, 1) == 1) {
		dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		say("read the reply through its own mapping: \"%s\"", (char *)w + REPLY_AT);
		ok_reply = !strncmp((char *)w + REPLY_AT, "reply from ", 11);
		dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		show_kernel_view(fd, w);
		printf("\n");
	} else {
		say("FAILED: the consumer did not answer");
	}
	if (write(sv[0], "x", 1) != 1)
		say("consumer is gone");
	waitpid(pid, &status, 0);
	ok_consumer = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	munmap(w, BUF_SIZE);
	close(fd);
	for (int i = 0; i < 100 && bufinfo_has(ino); i++)
		usleep(10000);
	ok_gone = !bufinfo_has(ino);
	say("unmapped and closed its fd; bufinfo %s lists inode %lu",
	    ok_gone ? "no longer" : "STILL", ino);
	if (tdir)
		ok_trace = show_trace(tdir, ino, &lines);

	printf("\nSummary\n");
	mark(ok_write,
	     "producer allocated 1 MiB from the system heap, named it, filled it via mmap with SYNC around the writes");
	mark(ok_consumer,
	     "consumer received the fd over a unix socket, mapped it and found every word the producer wrote");
	mark(ok_reply, "producer saw the consumer's reply in the same memory");
	mark(ok_gone,
	     "once both closed it, the kernel freed the buffer (gone from bufinfo)");
	if (tdir)
		printf("  %s  tracefs followed it: %d events, export first, release last\n",
		       ok_trace ? "[ok]  " : "[FAIL]", lines);
	else
		printf("  [skip]  no dma_buf trace events in this kernel\n");
	if (ok_write && ok_consumer && ok_reply && ok_gone && (ok_trace || !tdir)) {
		printf("\nDEMO PASSED: one buffer, two processes, zero copies.\n");
		return 0;
	}
	printf("\nDEMO FAILED\n");
	return 1;
}
