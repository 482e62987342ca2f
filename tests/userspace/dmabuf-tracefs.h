/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dma_buf trace events as userspace reads them from tracefs, for
 * dmabuf-trace and the demo: mounting tracefs, switching the events on
 * and off, and picking one buffer's lines out of the trace.
 *
 * A line of the trace file reads
 *   "  COMM-PID  [CPU] FLAGS  SECONDS.MICROS: EVENT: FIELDS"
 * and the FIELDS of every dma_buf event but dma_resv_wait carry the
 * buffer's "ino=N", its inode number as fstat() gives it.
 */
#ifndef DMABUF_TRACEFS_H
#define DMABUF_TRACEFS_H

#include "dmabuf-util.h"

#include <sys/mount.h>

#define TRACEFS_PATH	"/sys/kernel/tracing"
#define TRACEFS_OLD	"/sys/kernel/debug/tracing"	/* automounted there */

/*
 * Where tracefs is, mounting it on TRACEFS_PATH if nobody has; NULL when
 * the kernel has no tracing.  Only the events' directory proves that the
 * mount is tracefs, not the empty mount point sysfs always shows.
 */
static inline const char *tracefs_dir(void)
{
	if (!access(TRACEFS_PATH "/events", F_OK))
		return TRACEFS_PATH;
	if (!mount("tracefs", TRACEFS_PATH, "tracefs", 0, NULL) &&
	    !access(TRACEFS_PATH "/events", F_OK))
		return TRACEFS_PATH;
	if (!access(TRACEFS_OLD "/events", F_OK))
		return TRACEFS_OLD;
	return NULL;
}

/* Write @text into the tracefs file @rel; 0 or -1 with errno. */
static inline int tracefs_write(const char *dir, const char *rel,
				const char *text)
{
	char path[256];
	int fd, err;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * Empty the ring buffer and switch every dma_buf event on (@on) or off.
 * Switching on also makes sure tracing as a whole runs.
 */
static inline int tracefs_dma_buf_events(const char *dir, bool on)
{
	if (!on)
		return tracefs_write(dir, "events/dma_buf/enable", "0");
	if (tracefs_write(dir, "tracing_on", "1"))
		return -1;
	/* Opening "trace" for writing with O_TRUNC empties the buffer. */
	if (tracefs_write(dir, "trace", ""))
		return -1;
	return tracefs_write(dir, "events/dma_buf/enable", "1");
}

/* One line of the trace. */
struct trace_ev {
	char name[48];		/* the event: "dma_buf_export" */
	int pid;		/* of the task that emitted it */
	char *fields;		/* what the event printed, into the line */
	char *line;		/* the whole line, within trace_log.text */
};

struct trace_log {
	char *text;
	struct trace_ev *ev;
	int n;
};

static inline void trace_log_free(struct trace_log *log)
{
	free(log->text);
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

/*
 * The value of @key in an event's fields, into @out: "key=value" and, for
 * the attachment's pointer, "key:value".  False when the event has none.
 */
static inline bool trace_field(const struct trace_ev *e, const char *key,
			       char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = e->fields;

	while ((p = strstr(p, key))) {
		if ((p == e->fields || p[-1] == ' ') &&
		    (p[klen] == '=' || p[klen] == ':')) {
			const char *v = p + klen + 1;

			snprintf(out, len, "%.*s", (int)strcspn(v, "\n "), v);
			return true;
		}
		p += klen;
	}
	return false;
}

/* The numeric value of @key, or @dflt when the event has none. */
static inline long long trace_num(const struct trace_ev *e, const char *key,
				  long long dflt)
{
	char v[64];

	return trace_field(e, key, v, sizeof(v)) ? strtoll(v, NULL, 0) : dflt;
}

/*
 * Read the trace and keep, in order, the dma_buf lines of buffer @ino and
 * the dma_resv_wait lines that task @wait_pid emitted (their event names
 * no buffer: the waiter does).  @wait_pid 0 keeps no waits.  0 or -1.
 */
static inline int trace_log_read(const char *dir, unsigned long ino,
				 int wait_pid, struct trace_log *log)
{
	char path[256], want[32], *line, *next;
	int cap = 0;

	memset(log, 0, sizeof(*log));
	snprintf(path, sizeof(path), "%s/trace", dir);
	log->text = slurp(path);
	if (!log->text)
		return -1;
	snprintf(want, sizeof(want), "%lu", ino);
	for (line = log->text; *line; line = next) {
		struct trace_ev e = { .line = line };
		char *ev, *colon, *dash, *cpu, tok[32];

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		if (line[0] == '#')
			continue;
		/* The event's name follows the timestamp's colon. */
		ev = strstr(line, ": dma_");
		cpu = strstr(line, " [");
		if (!ev || !cpu || cpu > ev)
			continue;
		colon = strchr(ev + 2, ':');
		if (!colon || colon - (ev + 2) >= (long)sizeof(e.name))
			continue;
		snprintf(e.name, sizeof(e.name), "%.*s", (int)(colon - (ev + 2)),
			 ev + 2);
		e.fields = colon[1] == ' ' ? colon + 2 : colon + 1;
		/* COMM-PID: the pid is what follows the last dash. */
		*cpu = 0;
		dash = strrchr(line, '-');
		e.pid = dash ? atoi(dash + 1) : 0;
		*cpu = ' ';
		if (!strcmp(e.name, "dma_resv_wait")) {
			if (!wait_pid || e.pid != wait_pid)
				continue;
		} else {
			if (!trace_field(&e, "ino", tok, sizeof(tok)) ||
			    strcmp(tok, want))
				continue;
		}
		if (log->n == cap) {
			struct trace_ev *ne;

			cap = cap ? 2 * cap : 32;
			ne = realloc(log->ev, cap * sizeof(*ne));
			if (!ne)
				return -1;
			log->ev = ne;
		}
		log->ev[log->n++] = e;
	}
	return 0;
}

#endif /* DMABUF_TRACEFS_H */
