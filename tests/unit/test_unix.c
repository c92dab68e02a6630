/* test_unix.c: unix_request (src/unix_client.c) against a real listening
 * unix socket served by a child process: the whole answer, a refused
 * connection, a symbolic link and a plain file refused, the deadline. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "test.h"
#include "unix_client.h"

static char dir[] = "/tmp/ccchef-test-unix-XXXXXX";

/* A listening socket at path; the child answers one connection: it reads
 * to EOF, then writes "got:" + the request `copies` times (or nothing and
 * sleeps, when copies < 0), then closes. Returns the child's PID. */
static pid_t serve(const char *path, int copies)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 4) != 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	int c = accept(l, NULL, NULL);
	char req[4096];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof req && (k = read(c, req + n, sizeof req - n)) > 0)
		n += (size_t)k;
	if (copies < 0)
		sleep(10);
	for (int i = 0; i < copies; i++) {
		if (write(c, "got:", 4) != 4 || write(c, req, n) != (ssize_t)n)
			_exit(1);
	}
	close(c);
	_exit(0);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_request_and_whole_answer(void)
{
	char p[256], *out;
	size_t len;
	snprintf(p, sizeof p, "%s/ok.sock", dir);
	pid_t pid = serve(p, 2000); /* 2000 copies: many reads, a grown buffer */
	ASSERT_TRUE(pid > 0);
	int r = unix_request(p, "show stat\n", 10, 5000, 1 << 20, &out, &len);
	reap(pid);
	ASSERT_INT_EQ(r, 0);
	ASSERT_INT_EQ(len, 2000 * 14);
	ASSERT_TRUE(strncmp(out, "got:show stat\ngot:", 18) == 0);
	ASSERT_INT_EQ(out[len], '\0');
	free(out);
}

static void test_answer_over_max_is_refused(void)
{
	char p[256], *out;
	size_t len;
	snprintf(p, sizeof p, "%s/big.sock", dir);
	pid_t pid = serve(p, 2000);
	ASSERT_TRUE(pid > 0);
	int r = unix_request(p, "x", 1, 5000, 8192, &out, &len);
	reap(pid);
	ASSERT_INT_EQ(r, -EMSGSIZE);
	ASSERT_TRUE(out == NULL);
}

static void test_nobody_listening_is_refused(void)
{
	char p[256], *out;
	size_t len;
	snprintf(p, sizeof p, "%s/dead.sock", dir);
	pid_t pid = serve(p, 0);
	reap(pid); /* the socket file stays, nobody listens on it */
	ASSERT_INT_EQ(unix_request(p, "x", 1, 2000, 4096, &out, &len), -ECONNREFUSED);
	snprintf(p, sizeof p, "%s/missing.sock", dir);
	ASSERT_INT_EQ(unix_request(p, "x", 1, 2000, 4096, &out, &len), -ENOENT);
}

static void test_link_and_plain_file_are_refused(void)
{
	char p[256], l[256], f[256], *out;
	size_t len;
	snprintf(p, sizeof p, "%s/real.sock", dir);
	snprintf(l, sizeof l, "%s/link.sock", dir);
	snprintf(f, sizeof f, "%s/plain", dir);
	pid_t pid = serve(p, 1);
	ASSERT_TRUE(pid > 0);
	ASSERT_INT_EQ(symlink(p, l), 0);
	int r = unix_request(l, "x", 1, 2000, 4096, &out, &len);
	reap(pid);
	ASSERT_INT_EQ(r, -ELOOP);
	FILE *fp = fopen(f, "w");
	ASSERT_TRUE(fp != NULL);
	fclose(fp);
	ASSERT_INT_EQ(unix_request(f, "x", 1, 2000, 4096, &out, &len), -ENOTSOCK);
}

static void test_silent_server_times_out(void)
{
	char p[256], *out;
	size_t len;
	snprintf(p, sizeof p, "%s/silent.sock", dir);
	pid_t pid = serve(p, -1);
	ASSERT_TRUE(pid > 0);
	int r = unix_request(p, "x", 1, 300, 4096, &out, &len);
	reap(pid);
	ASSERT_INT_EQ(r, -ETIMEDOUT);
	ASSERT_TRUE(out == NULL);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_request_and_whole_answer);
	RUN(test_answer_over_max_is_refused);
	RUN(test_nobody_listening_is_refused);
	RUN(test_link_and_plain_file_are_refused);
	RUN(test_silent_server_times_out);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_EXIT();
}
