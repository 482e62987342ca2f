/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness the TAP test programs share (dmabuf-abi, dmabuf-import):
 * diagnostics and checks inside a case, and the trace.
 *
 * The trace: what a program observes, one line per call and per thing read
 * back, "CASE: CALL = RESULT", written to the file $DMABUF_TRACE names
 * (init sets it).  It must read the same on two kernels exactly where they
 * behave the same, so it holds no address, time, pid or fd number, and
 * inode numbers become ino1, ino2, ... in the order a case first sees them
 * (equal inodes keep equal tokens).  Only the process running a case
 * traces: what its children see would interleave by timing, so they report
 * through their exit status, which the case traces.  Steps whose outcome
 * depends on timing, on allocation counts or on page placement are muted
 * (trace_mute) and traced as one summary line.
 */
#ifndef DMABUF_TAP_H
#define DMABUF_TAP_H

#include "dmabuf-util.h"

#include <signal.h>
#include <sys/wait.h>

#define PASS		0
#define FAIL		1

static int failures;		/* EXPECT()s failed in the running case */

#define diag(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		diag("%s:%d: %s", __func__, __LINE__, #cond);		\
		diag("  " __VA_ARGS__);					\
		failures++;						\
	}								\
} while (0)

#define REQUIRE(cond, ...) do {						\
	if (!(cond)) {							\
		diag("%s:%d: %s", __func__, __LINE__, #cond);		\
		diag("  " __VA_ARGS__);					\
		return FAIL;						\
	}								\
} while (0)

static inline const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "?";
}

static int trace_fd = -1;
static bool tracing;		/* this process writes the trace */
static int trace_mute;		/* inside muted steps */
static unsigned long trace_lines;	/* lines written (or muted) so far */
static char trace_prefix[128];
static unsigned long seen_inos[64];
static int nseen_inos;

static inline bool trace_active(void)
{
	return tracing && !trace_mute && trace_fd >= 0;
}

__attribute__((format(printf, 1, 2)))
static inline void trace(const char *fmt, ...)
{
	char line[8192];
	int err = errno, n;
	va_list ap;

	trace_lines++;
	if (!trace_active())
		return;
	n = snprintf(line, sizeof(line), "%s: ", trace_prefix);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(trace_fd, line, n) != n)
		diag("trace: %s", strerror(errno));
	errno = err;
}

/* The token of an inode number: ino1 for the first one this case saw. */
static inline int ino_index(unsigned long ino)
{
	int i;

	for (i = 0; i < nseen_inos; i++)
		if (seen_inos[i] == ino)
			return i + 1;
	if (nseen_inos < (int)(sizeof(seen_inos) / sizeof(seen_inos[0])))
		seen_inos[nseen_inos++] = ino;
	return nseen_inos;
}

/*
 * Open $DMABUF_TRACE, if set.  Call it before counting fds: the trace's
 * is one of the program's own.
 */
static inline void trace_open(void)
{
	const char *path = getenv("DMABUF_TRACE");

	if (!path || !*path)
		return;
	trace_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (trace_fd < 0)
		fprintf(stderr, "cannot write the trace %s: %s\n", path,
			strerror(errno));
}

/*
 * The programs' leading option "--require-devices" (host/userspace passes
 * it when the kernel has every device): a missing device then fails its
 * cases instead of skipping them.  Takes it off the arguments.
 */
static inline bool take_require_devices(int *argc, char ***argv)
{
	if (*argc > 1 && !strcmp((*argv)[1], "--require-devices")) {
		(*argv)++;
		(*argc)--;
		return true;
	}
	return false;
}

/*
 * Each case runs in a child of its own, so that a crash fails one case.
 * In the child, after the case: @r (PASS or FAIL) turned FAIL by failed
 * EXPECT()s, by fds left open or by buffers left in bufinfo (counted as
 * @fds and @bufs before the case; releases may lag a little), traced.
 */
static inline int tap_case_verdict(int r, int fds, int bufs)
{
	int i;

	if (r == PASS && failures)
		r = FAIL;
	if (count_fds() != fds) {
		diag("leak: %d fds open after the case, %d before", count_fds(), fds);
		r = FAIL;
	}
	for (i = 0; i < 200 && bufinfo_objects() != bufs; i++)
		usleep(10000);
	if (bufinfo_objects() != bufs) {
		diag("leak: bufinfo lists %d buffers after the case, %d before",
		     bufinfo_objects(), bufs);
		r = FAIL;
	}
	trace("after the case: fds %s, buffers %s",
	      count_fds() == fds ? "as before" : "leaked",
	      bufinfo_objects() == bufs ? "as before" : "leaked");
	return r;
}

/* In the parent: wait for the case's child @pid; PASS or FAIL, traced. */
static inline int tap_case_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	tracing = true;
	if (WIFSIGNALED(status)) {
		diag("case died with signal %d (%s)", WTERMSIG(status),
		     strsignal(WTERMSIG(status)));
		trace("case = died, %s", sigabbrev_np(WTERMSIG(status)));
		tracing = false;
		return FAIL;
	}
	trace("case = %s", WEXITSTATUS(status) == PASS ? "ok" : "not ok");
	tracing = false;
	return WEXITSTATUS(status) == PASS ? PASS : FAIL;
}

/*
 * The last TAP point, number @n: nothing leaked across the whole run
 * (fds and bufinfo as counted at the start).  Returns 1 when it failed.
 */
static inline int tap_run_leak_point(int n, int start_fds, int start_bufs)
{
	snprintf(trace_prefix, sizeof(trace_prefix), "no-buffer-or-fd-leaked");
	tracing = true;
	trace("after all cases: fds %s, buffers %s",
	      count_fds() == start_fds ? "as before" : "leaked",
	      bufinfo_objects() == start_bufs ? "as before" : "leaked");
	tracing = false;
	if (start_bufs >= 0 && bufinfo_objects() == start_bufs &&
	    count_fds() == start_fds) {
		printf("ok %d no-buffer-or-fd-leaked\n", n);
		return 0;
	}
	diag("bufinfo %d buffers (start %d), fds %d (start %d)",
	     bufinfo_objects(), start_bufs, count_fds(), start_fds);
	printf("not ok %d no-buffer-or-fd-leaked\n", n);
	return 1;
}

#endif /* DMABUF_TAP_H */
