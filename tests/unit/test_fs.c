/* test_fs.c: atomic writes, content comparison and the run lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "test.h"

static char dir[] = "/tmp/ccchef-test-fs-XXXXXX";

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void test_write_new_file_has_mode_and_content(void)
{
	char p[256];
	path_in(p, sizeof p, "new");
	ASSERT_INT_EQ(fs_write_atomic(p, "hello\n", 6, 0640, FS_KEEP_UID, FS_KEEP_GID, FS_FSYNC), 0);
	struct stat st;
	ASSERT_INT_EQ(stat(p, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0640);
	char *data;
	size_t len;
	ASSERT_INT_EQ(fs_read_all(p, &data, &len), 0);
	ASSERT_INT_EQ(len, 6);
	ASSERT_STR_EQ(data, "hello\n");
	free(data);
}

static void test_write_keeps_existing_mode(void)
{
	char p[256];
	path_in(p, sizeof p, "keep");
	ASSERT_INT_EQ(fs_write_atomic(p, "a", 1, 0600, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	ASSERT_INT_EQ(fs_write_atomic(p, "bb", 2, FS_KEEP_MODE, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct stat st;
	ASSERT_INT_EQ(stat(p, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0600);
	ASSERT_INT_EQ(st.st_size, 2);
}

static void test_write_into_missing_dir_fails_cleanly(void)
{
	char p[256];
	path_in(p, sizeof p, "nodir/file");
	ASSERT_INT_EQ(fs_write_atomic(p, "x", 1, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), -ENOENT);
}

static void test_same_content(void)
{
	char p[256];
	path_in(p, sizeof p, "cmp");
	ASSERT_INT_EQ(fs_write_atomic(p, "abc", 3, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct stat st;
	ASSERT_INT_EQ(lstat(p, &st), 0);
	ASSERT_INT_EQ(fs_same_content(p, &st, "abc", 3), 1);
	ASSERT_INT_EQ(fs_same_content(p, &st, "abd", 3), 0);
	ASSERT_INT_EQ(fs_same_content(p, &st, "abcd", 4), 0);
}

/* Files larger than the comparison buffer, also an exact multiple of it,
 * where the end is only seen by a read that returns 0. */
static void test_same_content_large(void)
{
	char p[256];
	path_in(p, sizeof p, "cmp-large");
	static char big[2 * 65536 + 5];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	struct stat st;
	size_t sizes[] = {2 * 65536, 2 * 65536 + 5};
	for (int k = 0; k < 2; k++) {
		size_t n = sizes[k];
		ASSERT_INT_EQ(fs_write_atomic(p, big, n, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
		ASSERT_INT_EQ(lstat(p, &st), 0);
		ASSERT_INT_EQ(fs_same_content(p, &st, big, n), 1);
		big[n - 1] ^= 1;
		ASSERT_INT_EQ(fs_same_content(p, &st, big, n), 0);
		big[n - 1] ^= 1;
		big[70000] ^= 1;
		ASSERT_INT_EQ(fs_same_content(p, &st, big, n), 0);
		big[70000] ^= 1;
	}
}

static void test_no_temporary_left_behind(void)
{
	char p[256];
	path_in(p, sizeof p, "tmpcheck");
	ASSERT_INT_EQ(fs_write_atomic(p, "x", 1, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ls -A %s | grep -q ccchef-", dir);
	ASSERT_TRUE(system(cmd) != 0);
}

static void test_lock_held_reports_holder(void)
{
	char p[256];
	path_in(p, sizeof p, "lock");
	long holder = -1;
	int fd = fs_lock(p, 0, &holder);
	ASSERT_TRUE(fd >= 0);
	pid_t child = fork();
	if (child == 0) {
		long h = 0;
		/* flock locks belong to the open file description: a new open in
		 * the child contends like another process would. */
		int r = fs_lock(p, 0.2, &h);
		_exit(r == -EWOULDBLOCK && h == (long)getppid() ? 0 : 1);
	}
	int status;
	waitpid(child, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_write_new_file_has_mode_and_content);
	RUN(test_write_keeps_existing_mode);
	RUN(test_write_into_missing_dir_fails_cleanly);
	RUN(test_same_content);
	RUN(test_same_content_large);
	RUN(test_no_temporary_left_behind);
	RUN(test_lock_held_reports_holder);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return TEST_EXIT();
}
