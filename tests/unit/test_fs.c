/* test_fs.c: the safe path layer (resolution, trust rule, the cache),
 * atomic writes, content comparison, attribute changes by descriptor,
 * rm -rf by descriptors, the temporaries' journal and the run lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <string.h>
#include <dirent.h>
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


static void mk(const char *name, mode_t mode)
{
	char p[256];
	path_in(p, sizeof p, name);
	if (mkdir(p, mode) != 0 || chmod(p, mode) != 0)
		perror(p);
}

static void put(const char *name, const char *text)
{
	char p[256];
	path_in(p, sizeof p, name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_to(const char *target, const char *name)
{
	char p[256];
	path_in(p, sizeof p, name);
	if (symlink(target, p) != 0)
		perror(p);
}

static void test_trust_rule(void)
{
	struct stat lnk = {0}, d = {0};
	uid_t stranger = geteuid() == 4242 ? 4343 : 4242;
	lnk.st_uid = geteuid();
	d.st_uid = geteuid();
	d.st_mode = S_IFDIR | 0755;
	ASSERT_TRUE(fs_path_trusted(&lnk, &d));
	d.st_mode = S_IFDIR | 0775;
	ASSERT_TRUE(!fs_path_trusted(&lnk, &d));
	d.st_mode = S_IFDIR | 01777; /* sticky: only the owner replaces it */
	ASSERT_TRUE(fs_path_trusted(&lnk, &d));
	d.st_mode = S_IFDIR | 0755;
	lnk.st_uid = stranger;
	ASSERT_TRUE(!fs_path_trusted(&lnk, &d));
	lnk.st_uid = 0;
	d.st_uid = stranger;
	ASSERT_TRUE(!fs_path_trusted(&lnk, &d));
}

static void test_parent_links(void)
{
	char p[256], real[256];
	mk("real", 0755);
	path_in(real, sizeof real, "real");
	/* Our own link in our own 0700 directory: trusted (as /var/run -> /run). */
	link_to("real", "trusted");
	path_in(p, sizeof p, "trusted/f");
	ASSERT_INT_EQ(fs_write_atomic(p, "ok", 2, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct stat st;
	path_in(p, sizeof p, "real/f");
	ASSERT_INT_EQ(lstat(p, &st), 0);
	/* A link in a directory others can write: refused, with its name. */
	mk("open", 0777);
	link_to(real, "open/l");
	path_in(p, sizeof p, "open/l/f");
	ASSERT_INT_EQ(fs_write_atomic(p, "no", 2, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), -ELOOP);
	ASSERT_STR_CONTAINS(fs_error_detail(), "refusing to follow the symbolic link");
	ASSERT_STR_CONTAINS(fs_error_detail(), "open/l");
	ASSERT_INT_EQ(fs_lstat(p, &st), -ELOOP);
	int fd;
	path_in(p, sizeof p, "open/l");
	ASSERT_INT_EQ(fs_dir_open(p, 1, &fd), -ELOOP);
	/* The last component is never followed. */
	ASSERT_INT_EQ(fs_lstat(p, &st), 0);
	ASSERT_TRUE(S_ISLNK(st.st_mode));
	path_in(p, sizeof p, "trusted");
	ASSERT_INT_EQ(fs_dir_open(p, 0, &fd), -ELOOP);
	ASSERT_INT_EQ(fs_dir_open(p, 1, &fd), 0);
	close(fd);
	/* ".." out of a directory others can change: refused. */
	path_in(p, sizeof p, "open/../real/g");
	ASSERT_INT_EQ(fs_write_atomic(p, "no", 2, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), -ELOOP);
	ASSERT_STR_CONTAINS(fs_error_detail(), "refusing '..'");
	path_in(p, sizeof p, "real/../real/g");
	ASSERT_INT_EQ(fs_write_atomic(p, "ok", 2, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	/* A file in a parent position. */
	put("plain", "x");
	path_in(p, sizeof p, "plain/f");
	ASSERT_INT_EQ(fs_lstat(p, &st), -ENOTDIR);
}

/* A cached parent swapped for a link by someone else: the write goes to
 * the directory that was checked (held open), never through the link.
 * After a child process (which may move directories for us) the cache is
 * dropped, and a fresh walk refuses the link. */
static void test_cache_holds_checked_directory(void)
{
	char p[256], a[256], b[256], real[256];
	mk("cached", 0777);
	mk("cached/d", 0755);
	path_in(p, sizeof p, "cached/d/f");
	ASSERT_INT_EQ(fs_write_atomic(p, "1", 1, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	path_in(a, sizeof a, "cached/d");
	path_in(b, sizeof b, "cached/moved");
	ASSERT_INT_EQ(rename(a, b), 0);
	path_in(real, sizeof real, "real");
	ASSERT_INT_EQ(symlink(real, a), 0);
	ASSERT_INT_EQ(fs_write_atomic(p, "2", 1, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	char *data;
	size_t len;
	path_in(b, sizeof b, "cached/moved/f");
	ASSERT_INT_EQ(fs_read_all(b, &data, &len), 0);
	ASSERT_STR_EQ(data, "2");
	free(data);
	pid_t child = fork(); /* as libuv's uv_spawn does */
	if (child == 0)
		_exit(0);
	int status;
	ASSERT_INT_EQ(waitpid(child, &status, 0), child);
	ASSERT_INT_EQ(fs_write_atomic(p, "3", 1, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), -ELOOP);
	path_in(p, sizeof p, "real/f");
	ASSERT_INT_EQ(fs_read_all(p, &data, &len), 0);
	ASSERT_STR_EQ(data, "ok");
	free(data);
}

static void test_lstat_content_old_bytes(void)
{
	char p[256];
	path_in(p, sizeof p, "old");
	ASSERT_INT_EQ(fs_write_atomic(p, "before\n", 7, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct stat st;
	int same;
	char *old;
	size_t old_len;
	ASSERT_INT_EQ(fs_lstat_content(p, &st, "after\n", 6, &same, 100, &old, &old_len), 0);
	ASSERT_INT_EQ(same, 0);
	ASSERT_INT_EQ(old_len, 7);
	ASSERT_STR_EQ(old, "before\n");
	free(old);
	ASSERT_INT_EQ(fs_lstat_content(p, &st, "before\n", 7, &same, 100, &old, &old_len), 0);
	ASSERT_INT_EQ(same, 1);
	ASSERT_TRUE(old == NULL);
	/* Over the cap: compared, but no old bytes. */
	ASSERT_INT_EQ(fs_lstat_content(p, &st, "after\n", 6, &same, 3, &old, &old_len), 0);
	ASSERT_INT_EQ(same, 0);
	ASSERT_TRUE(old == NULL);
	/* A link is a link: never compared or read through. */
	link_to(p, "old-link");
	path_in(p, sizeof p, "old-link");
	ASSERT_INT_EQ(fs_lstat_content(p, &st, "before\n", 7, &same, 100, &old, &old_len), 0);
	ASSERT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_INT_EQ(same, 0);
	ASSERT_TRUE(old == NULL);
	char *data;
	size_t len;
	ASSERT_INT_EQ(fs_read_safe(p, 100, NULL, &data, &len), -ELOOP);
}

static void test_setattr_by_descriptor(void)
{
	char p[256], l[256], h[256];
	path_in(p, sizeof p, "attr");
	ASSERT_INT_EQ(fs_write_atomic(p, "a", 1, 0600, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct stat st, now;
	ASSERT_INT_EQ(lstat(p, &st), 0);
	ASSERT_INT_EQ(fs_setattr(p, 0640, FS_KEEP_UID, FS_KEEP_GID, &st), 0);
	ASSERT_INT_EQ(stat(p, &now), 0);
	ASSERT_INT_EQ(now.st_mode & 07777, 0640);
	/* Another object under the name since st was taken: nothing done. */
	ASSERT_INT_EQ(fs_write_atomic(p, "b", 1, 0600, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	ASSERT_INT_EQ(fs_setattr(p, 0644, FS_KEEP_UID, FS_KEEP_GID, &st), -ESTALE);
	ASSERT_INT_EQ(stat(p, &now), 0);
	ASSERT_INT_EQ(now.st_mode & 07777, 0600);
	/* A link: refused, its target keeps its mode. */
	path_in(l, sizeof l, "attr-link");
	ASSERT_INT_EQ(symlink(p, l), 0);
	ASSERT_INT_EQ(fs_setattr(l, 0666, FS_KEEP_UID, FS_KEEP_GID, NULL), -ELOOP);
	ASSERT_STR_CONTAINS(fs_error_detail(), "is a symbolic link");
	ASSERT_INT_EQ(stat(p, &now), 0);
	ASSERT_INT_EQ(now.st_mode & 07777, 0600);
	/* A file with another name: refused. */
	path_in(h, sizeof h, "attr-hard");
	ASSERT_INT_EQ(link(p, h), 0);
	ASSERT_INT_EQ(fs_setattr(h, 0666, FS_KEEP_UID, FS_KEEP_GID, NULL), -EMLINK);
	ASSERT_INT_EQ(stat(p, &now), 0);
	ASSERT_INT_EQ(now.st_mode & 07777, 0600);
}

static void test_touch(void)
{
	char p[256], l[256];
	path_in(p, sizeof p, "touch");
	ASSERT_INT_EQ(fs_write_atomic(p, "keep", 4, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	ASSERT_INT_EQ(utimensat(AT_FDCWD, p, old, 0), 0);
	struct stat before, after;
	ASSERT_INT_EQ(stat(p, &before), 0);
	ASSERT_INT_EQ(fs_touch(p), 0);
	ASSERT_INT_EQ(stat(p, &after), 0);
	ASSERT_INT_EQ(after.st_ino, before.st_ino);
	ASSERT_TRUE(after.st_mtim.tv_sec > 1000000000);
	ASSERT_INT_EQ(after.st_size, 4);
	path_in(l, sizeof l, "touch-link");
	ASSERT_INT_EQ(symlink(p, l), 0);
	ASSERT_INT_EQ(utimensat(AT_FDCWD, p, old, 0), 0);
	ASSERT_INT_EQ(fs_touch(l), -ELOOP);
	ASSERT_INT_EQ(stat(p, &after), 0);
	ASSERT_INT_EQ(after.st_mtim.tv_sec, 1000000000);
	path_in(p, sizeof p, "touch-missing");
	ASSERT_INT_EQ(fs_touch(p), -ENOENT);
}

static int count_entries(const char *name)
{
	char p[256];
	path_in(p, sizeof p, name);
	DIR *d = opendir(p);
	int n = 0;
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_remove_tree_never_follows(void)
{
	char p[256], out[256];
	mk("keepout", 0755);
	put("keepout/a", "a");
	put("keepout/b", "b");
	path_in(out, sizeof out, "keepout");
	mk("rm", 0755);
	mk("rm/sub", 0755);
	put("rm/sub/f", "f");
	link_to(out, "rm/link");
	link_to(out, "rm/sub/link");
	path_in(p, sizeof p, "rm");
	ASSERT_INT_EQ(fs_remove_tree(p, FS_ANY_OWNER), 0);
	struct stat st;
	ASSERT_INT_EQ(lstat(p, &st), -1);
	ASSERT_INT_EQ(count_entries("keepout"), 2);
	/* The top itself a link: the link goes, its target stays. */
	link_to(out, "rm-top");
	path_in(p, sizeof p, "rm-top");
	ASSERT_INT_EQ(fs_remove_tree(p, FS_ANY_OWNER), 0);
	ASSERT_INT_EQ(count_entries("keepout"), 2);
}

/* The hook (set in main) swaps rm2/sub for a link to keepout between the
 * listing of rm2 and the descent into sub. */
static void test_remove_tree_swapped_mid_walk(void)
{
	char p[256];
	mk("rm2", 0755);
	mk("rm2/sub", 0755);
	put("rm2/sub/x", "x");
	path_in(p, sizeof p, "rm2");
	ASSERT_INT_EQ(fs_remove_tree(p, FS_ANY_OWNER), 0);
	ASSERT_INT_EQ(count_entries("keepout"), 2);
	ASSERT_INT_EQ(count_entries("rm2-moved"), 1);
}

/* With an owner: only a directory of that owner goes, checked on the
 * descriptor; another owner's directory, a file or a link are refused
 * (detail set) and left as they are; a missing path is 0. */
static void test_remove_tree_owner(void)
{
	char p[256], out[256];
	mk("own", 0755);
	put("own/f", "f");
	path_in(p, sizeof p, "own");
	ASSERT_INT_EQ(fs_remove_tree(p, getuid() + 1), -EPERM);
	ASSERT_TRUE(strstr(fs_error_detail(), "not removing it") != NULL);
	ASSERT_INT_EQ(count_entries("own"), 1);
	ASSERT_INT_EQ(fs_remove_tree(p, getuid()), 0);
	struct stat st;
	ASSERT_INT_EQ(lstat(p, &st), -1);
	ASSERT_INT_EQ(fs_remove_tree(p, getuid()), 0);
	path_in(out, sizeof out, "keepout");
	link_to(out, "own-link");
	path_in(p, sizeof p, "own-link");
	ASSERT_INT_EQ(fs_remove_tree(p, getuid()), -ENOTDIR);
	ASSERT_INT_EQ(lstat(p, &st), 0);
	ASSERT_INT_EQ(count_entries("keepout"), 2);
	put("own-file", "x");
	path_in(p, sizeof p, "own-file");
	ASSERT_INT_EQ(fs_remove_tree(p, getuid()), -ENOTDIR);
	ASSERT_INT_EQ(lstat(p, &st), 0);
}

static int scan_cb(void *arg, const char *name, const struct stat *st)
{
	int *links = arg;
	if (strcmp(name, "link") == 0 && S_ISLNK(st->st_mode))
		(*links)++;
	return 0;
}

static void test_scandir_lstat(void)
{
	char p[256], out[256];
	mk("scan", 0755);
	path_in(out, sizeof out, "keepout");
	link_to(out, "scan/link");
	path_in(p, sizeof p, "scan");
	int links = 0;
	ASSERT_INT_EQ(fs_scandir(p, scan_cb, &links), 0);
	ASSERT_INT_EQ(links, 1);
	/* The directory itself: a trusted link is followed (as in a parent),
	 * one in a directory others can write is not. */
	path_in(p, sizeof p, "scan/link");
	ASSERT_INT_EQ(fs_scandir(p, scan_cb, &links), 0);
	link_to(out, "open/scanlink");
	path_in(p, sizeof p, "open/scanlink");
	ASSERT_INT_EQ(fs_scandir(p, scan_cb, &links), -ELOOP);
}

static void test_symlink_replace(void)
{
	char p[256], buf[64];
	mk("ln", 0755);
	path_in(p, sizeof p, "ln/l");
	ASSERT_INT_EQ(fs_symlink_replace("one", p, FS_KEEP_UID, FS_KEEP_GID), 0);
	ASSERT_INT_EQ(fs_symlink_replace("two", p, FS_KEEP_UID, FS_KEEP_GID), 0);
	size_t n;
	ASSERT_INT_EQ(fs_readlink(p, buf, sizeof buf, &n), 0);
	buf[n] = '\0';
	ASSERT_STR_EQ(buf, "two");
	ASSERT_INT_EQ(count_entries("ln"), 1);
	path_in(p, sizeof p, "ln");
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ls -A %s | grep -q ccchef-", p);
	ASSERT_TRUE(system(cmd) != 0);
}

static void test_temp_names(void)
{
	ASSERT_TRUE(fs_is_temp_name(".app.conf.ccchef-a1B2c3"));
	ASSERT_TRUE(!fs_is_temp_name("app.conf.ccchef-a1B2c3"));
	ASSERT_TRUE(!fs_is_temp_name(".app.conf.ccchef-a1B2c"));
	ASSERT_TRUE(!fs_is_temp_name(".app.conf.ccchef-a1B2c3d"));
	ASSERT_TRUE(!fs_is_temp_name(".ccchef-a1B2c3"));
	ASSERT_TRUE(!fs_is_temp_name(".x.ccchef-20261130T"));
}

static void test_inflight_recovery(void)
{
	char rec[256], d[256], line[300];
	mk("fl", 0755);
	mk("fl/state", 0700);
	put("fl/.page.ccchef-AbC123", "secret");
	put("fl/.page.ccchef-AbC12", "not ours");
	put("fl/page", "page");
	mk("fl/.dir.ccchef-AbC123", 0755); /* a directory: not ours either */
	path_in(d, sizeof d, "fl");
	path_in(rec, sizeof rec, "fl/state/inflight");
	snprintf(line, sizeof line, "%s\n", d);
	FILE *f = fopen(rec, "w");
	ASSERT_TRUE(f != NULL);
	fputs(line, f);
	fclose(f);
	/* Why-run removes nothing. */
	ASSERT_INT_EQ(fs_inflight_start(rec, 1), 0);
	ASSERT_INT_EQ(count_entries("fl"), 2);
	ASSERT_INT_EQ(fs_inflight_start(rec, 0), 1);
	char p[256];
	struct stat st;
	path_in(p, sizeof p, "fl/.page.ccchef-AbC123");
	ASSERT_INT_EQ(lstat(p, &st), -1);
	path_in(p, sizeof p, "fl/.page.ccchef-AbC12");
	ASSERT_INT_EQ(lstat(p, &st), 0);
	path_in(p, sizeof p, "fl/.dir.ccchef-AbC123");
	ASSERT_INT_EQ(lstat(p, &st), 0);
	ASSERT_INT_EQ(lstat(rec, &st), -1);
	/* A write now records its directory before making a temporary. */
	path_in(p, sizeof p, "fl/page");
	ASSERT_INT_EQ(fs_write_atomic(p, "new", 3, 0644, FS_KEEP_UID, FS_KEEP_GID, 0), 0);
	char *data;
	size_t len;
	ASSERT_INT_EQ(fs_read_all(rec, &data, &len), 0);
	ASSERT_STR_EQ(data, line);
	free(data);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	/* The test hook: only rm2/sub is swapped (a link to keepout). */
	char hook[1024];
	snprintf(hook, sizeof hook,
		 "[ \"$2\" = %s/rm2/sub ] && mv %s/rm2/sub %s/rm2-moved && ln -s %s/keepout %s/rm2/sub; true",
		 dir, dir, dir, dir, dir);
	setenv("CCCHEF_TEST_HOOK", "remove_tree", 1);
	setenv("CCCHEF_TEST_HOOK_CMD", hook, 1);
	RUN(test_write_new_file_has_mode_and_content);
	RUN(test_write_keeps_existing_mode);
	RUN(test_write_into_missing_dir_fails_cleanly);
	RUN(test_same_content);
	RUN(test_same_content_large);
	RUN(test_no_temporary_left_behind);
	RUN(test_lock_held_reports_holder);
	RUN(test_trust_rule);
	RUN(test_parent_links);
	RUN(test_cache_holds_checked_directory);
	RUN(test_lstat_content_old_bytes);
	RUN(test_setattr_by_descriptor);
	RUN(test_touch);
	RUN(test_remove_tree_never_follows);
	RUN(test_remove_tree_swapped_mid_walk);
	RUN(test_remove_tree_owner);
	RUN(test_scandir_lstat);
	RUN(test_symlink_replace);
	RUN(test_temp_names);
	RUN(test_inflight_recovery);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return TEST_EXIT();
}
