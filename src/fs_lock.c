/*
 * fs_lock.c: the run lock: one converge at a time on a machine. flock on
 * the lock file (released by the kernel when the holder dies), polled
 * until the timeout, with the holder's pid written in it for the message.
 * Split out of fs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"


int fs_lock(const char *path, double timeout, long *holder)
{
	struct timespec start, now;
	char pid[32];
	int n, r;
	*holder = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) +
				(double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (waited >= timeout) {
			char buf[32] = {0};
			if (pread(fd, buf, sizeof buf - 1, 0) > 0)
				*holder = strtol(buf, NULL, 10);
			r = -EWOULDBLOCK;
			goto out;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0) {
		r = -errno;
		goto out;
	}
	/* A short write sets no errno (and errno may still say EWOULDBLOCK
	 * from the wait above: that would read as "held"). */
	ssize_t w = pwrite(fd, pid, (size_t)n, 0);
	if (w != n) {
		r = w < 0 ? -errno : -EIO;
		goto out;
	}
	return fd; /* held: the caller keeps it open until it exits */
out:
	close(fd);
	return r;
}
