/* unix_client.c: one request and its whole answer over a unix stream
 * socket (unix_client.h), for haproxy's runtime API on a balancer node. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "unix_client.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Open the socket file safely and check it is one: an O_PATH descriptor. */
static int open_socket_file(const char *path, int *fd)
{
	struct fs_parent par;
	struct stat st;
	int r;

	*fd = -1;
	if ((r = fs_parent_open(path, &par)) != 0)
		return r;
	int f = openat(par.dirfd, par.base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	r = f < 0 ? -errno : 0;
	fs_parent_release(&par);
	if (r != 0)
		return r;
	if (fstat(f, &st) != 0) {
		r = -errno;
		close(f);
		return r;
	}
	if (S_ISLNK(st.st_mode)) {
		close(f);
		fs_set_detail("%s is a symbolic link", path);
		return -ELOOP;
	}
	if (!S_ISSOCK(st.st_mode)) {
		close(f);
		return -ENOTSOCK;
	}
	*fd = f;
	return 0;
}

/* Connect s to the socket held by the O_PATH descriptor f. Linux resolves
 * /proc/self/fd/N to that very inode, so the socket we checked is the one
 * we reach, and a long path does not meet sun_path's 108 bytes. */
static int connect_fd(int s, int f, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d", f);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	int r = wait_fd(s, POLLOUT, deadline);
	if (r != 0)
		return r;
	int err = 0;
	socklen_t elen = sizeof err;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		return -errno;
	return -err;
}

static int send_all(int s, const char *req, size_t len, long long deadline)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = send(s, req + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int r = wait_fd(s, POLLOUT, deadline);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Read to the end into a growing buffer (*buf, *len; *cap its size). */
static int recv_all(int s, char **buf, size_t *len, size_t max, long long deadline)
{
	size_t cap = 4096;
	char *b = malloc(cap + 1);
	if (!b)
		return -ENOMEM;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap >= max) {
				free(b);
				return -EMSGSIZE;
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		ssize_t n = recv(s, b + *len, cap - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		int r = (errno == EAGAIN || errno == EINTR) ? wait_fd(s, POLLIN, deadline) : -errno;
		if (r != 0) {
			free(b);
			return r;
		}
	}
	b[*len] = '\0';
	*buf = b;
	return 0;
}

int unix_request(const char *path, const char *req, size_t len, int timeout_ms,
		 size_t max, char **out, size_t *outlen)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int f = -1, s = -1, r;

	*out = NULL;
	*outlen = 0;
	if ((r = open_socket_file(path, &f)) != 0)
		goto out;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		r = -errno;
		goto out;
	}
	if ((r = connect_fd(s, f, deadline)) != 0)
		goto out;
	if ((r = send_all(s, req, len, deadline)) != 0)
		goto out;
	/* The end of our request: a server that reads to EOF answers now. */
	shutdown(s, SHUT_WR);
	r = recv_all(s, out, outlen, max, deadline);
out:
	if (s >= 0)
		close(s);
	if (f >= 0)
		close(f);
	return r;
}
