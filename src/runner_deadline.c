/*
 * runner_deadline.c: the node's own deadline for a run of ccchef-runner
 * (`ccchef remote --command-timeout`; docs/remote.md, "Timeouts").
 *
 * The runner forks before anything else: the child is the run, the
 * parent a watchdog that only waits. At the deadline (or on SIGTERM) the
 * watchdog notes the run's children (/proc/PID/task/TID/children; where
 * the kernel lacks it, every process whose parent is the run), sends TERM
 * to the run and to those children's process groups (the commands of
 * execute, service... each run in a session of their own, so no signal to
 * the run's group reaches them), gives the run half a second to record
 * what it did, then KILL, and exits 124 as timeout(1) does. The run never
 * outlives the session, so its lock is free when the controller reports
 * the timeout.
 *
 * This did `timeout --foreground N sh -c WRAPPER`: two more programs
 * started on every run (about 2 ms of a cached run), and no deadline at
 * all on a node without timeout(1). A fork of a process that has not
 * started Lua costs a few hundred microseconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner_deadline.h"

#define EXIT_TIMEOUT 124
#define MAX_KIDS 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The status this process exits with for the run's wait status. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static size_t add_pids(const char *text, pid_t *kids, size_t n)
{
	char *end;
	for (const char *p = text; *p != '\0' && n < MAX_KIDS; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p) {
			end = (char *)p + 1;
			continue;
		}
		if (v > 0)
			kids[n++] = (pid_t)v;
	}
	return n;
}

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, size - 1);
	close(fd);
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

/* The run's direct children, from each of its threads' children list;
 * without that file, from every process's PPid. */
static size_t children_of(pid_t run, pid_t *kids)
{
	size_t n = 0;
	char path[64], buf[8192];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)run, (int)run);
	if (access(path, R_OK) == 0) {
		snprintf(path, sizeof path, "/proc/%d/task", (int)run);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char file[320];
			snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)run, e->d_name);
			if (read_small(file, buf, sizeof buf) > 0)
				n = add_pids(buf, kids, n);
		}
		if (d != NULL)
			closedir(d);
		return n;
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL && n < MAX_KIDS) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		char file[320];
		snprintf(file, sizeof file, "/proc/%ld/status", pid);
		if (read_small(file, buf, sizeof buf) <= 0)
			continue;
		const char *pp = strstr(buf, "\nPPid:");
		if (pp != NULL && strtol(pp + 6, NULL, 10) == (long)run)
			kids[n++] = (pid_t)pid;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static _Noreturn void stop(pid_t run)
{
	static pid_t kids[MAX_KIDS];
	size_t n = children_of(run, kids);
	kill(run, SIGTERM);
	for (size_t i = 0; i < n; i++) {
		if (kill(-kids[i], SIGTERM) != 0)
			kill(kids[i], SIGTERM);
	}
	/* Half a second to record what it did; then no more. */
	for (int i = 0; i < 50; i++) {
		int status;
		if (waitpid(run, &status, WNOHANG) == run)
			_exit(EXIT_TIMEOUT);
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		nanosleep(&ten_ms, NULL);
	}
	kill(run, SIGKILL);
	while (waitpid(run, NULL, 0) < 0 && errno == EINTR) {
	}
	_exit(EXIT_TIMEOUT);
}

static _Noreturn void watch(pid_t run, double deadline, const sigset_t *wait_for)
{
	/* The watchdog writes nothing and reads nothing: the session's pipes
	 * are the run's. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	for (;;) {
		int status;
		pid_t w = waitpid(run, &status, WNOHANG);
		if (w == run)
			_exit(exit_code(status));
		if (w < 0 && errno != EINTR)
			_exit(1);
		double left = deadline - now();
		if (left <= 0)
			stop(run);
		struct timespec ts;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		int sig = sigtimedwait(wait_for, NULL, &ts);
		if (sig == SIGTERM)
			stop(run);
	}
}

void runner_deadline(int *argc, char **argv)
{
	if (*argc < 2 || strcmp(argv[1], "--deadline") != 0)
		return;
	char *end = NULL;
	double secs = *argc > 2 ? strtod(argv[2], &end) : NAN;
	if (end == NULL || end == argv[2] || *end != '\0' || !(secs > 0)) {
		fprintf(stderr, "ccchef-runner: --deadline needs a number of seconds\n");
		exit(2);
	}
	double deadline = now() + secs;
	/* SIGCHLD and SIGTERM wait in the mask for sigtimedwait; the run gets
	 * the mask it had. */
	sigset_t wait_for, old;
	sigemptyset(&wait_for);
	sigaddset(&wait_for, SIGCHLD);
	sigaddset(&wait_for, SIGTERM);
	sigprocmask(SIG_BLOCK, &wait_for, &old);
	fflush(NULL);
	pid_t run = fork();
	if (run < 0) {
		fprintf(stderr, "ccchef-runner: cannot fork the run: %s\n", strerror(errno));
		exit(1);
	}
	if (run > 0)
		watch(run, deadline, &wait_for);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (int i = 3; i <= *argc; i++)
		argv[i - 2] = argv[i];
	*argc -= 2;
}
