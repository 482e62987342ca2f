// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tiny init for booting a UML kernel on a hostfs root folder of test
 * programs: mount the pseudo filesystems, run every program listed in
 * /tests.list, copy each one's output both to the console and to
 * /results/NAME.out, record its exit status, then power off.
 *
 * /tests.list holds one program per line: "NAME TIMEOUT_SECONDS PATH [ARG...]".
 * /results/NAME.status gets "exit N" or "signal N"; /results/done marks
 * that init got through the whole list.  Each program finds
 * /results/NAME.trace in $DMABUF_TRACE, for the trace of what it observed
 * (programs that keep none ignore it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void say(const char *fmt, const char *arg)
{
	dprintf(1, fmt, arg);
}

static void do_mount(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) && errno != EBUSY)
		dprintf(1, "init: mount %s on %s: %s\n", type, dir, strerror(errno));
}

/* The kernel opens the console for init on the initramfs; make sure. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(1, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		dprintf(1, "init: writing %s: %s\n", path, strerror(errno));
	fsync(fd);
	close(fd);
}

static void run(char *line)
{
	char *argv[32], *name, *tmo, *save = NULL, path[256], status[64];
	int argc = 0, pipefd[2], out, wstatus = 0, exited = 0;
	unsigned int timeout;
	pid_t pid;
	ssize_t n;
	char buf[4096];

	name = strtok_r(line, " \t\n", &save);
	tmo = strtok_r(NULL, " \t\n", &save);
	if (!name || !tmo || name[0] == '#')
		return;
	timeout = strtoul(tmo, NULL, 10);
	while (argc < 31 && (argv[argc] = strtok_r(NULL, " \t\n", &save)))
		argc++;
	argv[argc] = NULL;
	if (!argc)
		return;

	snprintf(path, sizeof(path), "/results/%s.out", name);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || pipe(pipefd)) {
		say("init: cannot set up %s\n", name);
		return;
	}
	say("init: running %s\n", name);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[1]);
		close(out);
		setpgid(0, 0);
		/* Where a program that traces what it observes writes it. */
		snprintf(path, sizeof(path), "/results/%s.trace", name);
		setenv("DMABUF_TRACE", path, 1);
		/* A pending alarm survives execve: the per-program timeout. */
		alarm(timeout);
		execv(argv[0], argv);
		dprintf(1, "init: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	/*
	 * Copy output until the program exits; then whatever it left behind
	 * in its process group goes too, so that a stray child holding the
	 * pipe cannot stall the boot.
	 */
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };

		if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			exited = 1;
			kill(-pid, SIGKILL);
		}
		if (poll(&p, 1, exited ? 0 : 500) <= 0) {
			if (exited)
				break;
			continue;
		}
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(1, buf, n) < 0 || write(out, buf, n) < 0)
			break;
	}
	close(pipefd[0]);
	if (!exited)
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	/* Orphans of the program were reparented to us. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (WIFSIGNALED(wstatus))
		snprintf(status, sizeof(status), "signal %d\n", WTERMSIG(wstatus));
	else
		snprintf(status, sizeof(status), "exit %d\n", WEXITSTATUS(wstatus));
	fsync(out);
	close(out);
	snprintf(path, sizeof(path), "/results/%s.status", name);
	write_file(path, status);
	dprintf(1, "init: %s finished: %s", name, status);
}

int main(void)
{
	char line[1024];
	FILE *list;

	do_mount("devtmpfs", "/dev", "devtmpfs");
	ensure_console();
	do_mount("proc", "/proc", "proc");
	do_mount("sysfs", "/sys", "sysfs");
	do_mount("debugfs", "/sys/kernel/debug", "debugfs");
	do_mount("tmpfs", "/tmp", "tmpfs");
	setenv("PATH", "/bin", 1);

	mkdir("/results", 0755);
	list = fopen("/tests.list", "r");
	if (!list) {
		dprintf(1, "init: no /tests.list: %s\n", strerror(errno));
	} else {
		while (fgets(line, sizeof(line), list))
			run(line);
		fclose(list);
	}
	write_file("/results/done", "done\n");
	sync();
	dprintf(1, "init: all done, powering off\n");
	reboot(RB_POWER_OFF);
	return 0;
}
