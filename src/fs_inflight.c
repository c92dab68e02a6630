/*
 * fs_inflight.c: the temporaries a write creates beside its target and the
 * journal of directories with a write in flight. Each write notes its
 * directory (fdatasync'd) before its first temporary there, so the next run
 * finds and removes what a killed run left; a normal exit removes the
 * journal. Split out of fs.c: recovery is its own concept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

#define TEMP_SUFFIX ".ccchef-"
#define TEMP_RANDOM 6

int fs_is_temp_name(const char *name)
{
	size_t n = strlen(name), sl = strlen(TEMP_SUFFIX);
	if (name[0] != '.' || n < 2 + sl + TEMP_RANDOM)
		return 0;
	if (memcmp(name + n - TEMP_RANDOM - sl, TEMP_SUFFIX, sl) != 0)
		return 0;
	for (size_t i = n - TEMP_RANDOM; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}


/* .BASE.ccchef-XXXXXX with an unpredictable XXXXXX. */
int fs_temp_name(char *out, size_t size, const char *base)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[TEMP_RANDOM];
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
		for (int i = 0; i < TEMP_RANDOM; i++, x = x * 6364136223846793005UL + 1)
			rnd[i] = (unsigned char)(x >> 33);
	}
	char tail[TEMP_RANDOM + 1];
	for (int i = 0; i < TEMP_RANDOM; i++)
		tail[i] = alnum[rnd[i] % (sizeof alnum - 1)];
	tail[TEMP_RANDOM] = '\0';
	if ((size_t)snprintf(out, size, ".%s%s%s", base, TEMP_SUFFIX, tail) >= size ||
	    strlen(out) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static char inflight_record[4096];
static int inflight_on;
static int inflight_fd = -1;
static pid_t inflight_pid;
static char **noted;
static size_t noted_len, noted_cap;

/* A normal exit has no write in flight: the record is not needed. Only our
 * own process removes it (not a child that exits after a fork). */
static void inflight_done(void)
{
	if (inflight_fd >= 0 && getpid() == inflight_pid) {
		unlink(inflight_record);
		close(inflight_fd);
		inflight_fd = -1;
	}
}

static int noted_has(const char *dir)
{
	for (size_t i = noted_len; i > 0; i--)
		if (strcmp(noted[i - 1], dir) == 0)
			return 1;
	return 0;
}

/* Before the first temporary of this run in dir: dir is on disk in the
 * record (fdatasync) so the next run finds what a kill leaves there. The
 * list is searched newest first: writes come in runs per directory. */
int fs_inflight_note(const char *dir)
{
	if (!inflight_on || noted_has(dir))
		return 0;
	char abs[4096];
	if (dir[0] != '/') {
		char cwd[2048];
		if (getcwd(cwd, sizeof cwd) == NULL)
			return -errno;
		if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= sizeof abs)
			return -ENAMETOOLONG;
	} else {
		snprintf(abs, sizeof abs, "%s", dir);
	}
	if (strchr(abs, '\n') != NULL)
		return 0; /* cannot be recorded one per line; not worth failing for */
	int created = 0;
	if (inflight_fd < 0) {
		inflight_fd = open(inflight_record, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (inflight_fd < 0)
			return -errno;
		inflight_pid = getpid();
		created = 1;
	}
	size_t n = strlen(abs);
	abs[n] = '\n';
	int r = fs_write_full(inflight_fd, abs, n + 1);
	abs[n] = '\0';
	if (r == 0 && fdatasync(inflight_fd) != 0)
		r = -errno;
	if (r == 0 && created) {
		/* The record's own name must survive a crash too. */
		char sdir[4096];
		snprintf(sdir, sizeof sdir, "%s", inflight_record);
		char *slash = strrchr(sdir, '/');
		if (slash != NULL) {
			*slash = '\0';
			int dfd = open(slash == sdir ? "/" : sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	if (r != 0)
		return r;
	if (noted_len == noted_cap) {
		size_t cap = noted_cap ? noted_cap * 2 : 64;
		char **nn = realloc(noted, cap * sizeof *nn);
		if (nn == NULL)
			return 0;
		noted = nn;
		noted_cap = cap;
	}
	char *copy = strdup(dir);
	if (copy != NULL)
		noted[noted_len++] = copy;
	return 0;
}

static int remove_temps_in(const char *dir)
{
	DIR *d = fs_opendir_safe(dir);
	if (d == NULL)
		return 0; /* gone or no longer safe to enter: nothing of ours to clean */
	int dfd = dirfd(d);
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!fs_is_temp_name(e->d_name))
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && unlinkat(dfd, e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int fs_inflight_start(const char *record, int why_run)
{
	static int registered;
	if (strlen(record) >= sizeof inflight_record)
		return -ENAMETOOLONG;
	inflight_done();
	while (noted_len > 0)
		free(noted[--noted_len]);
	strcpy(inflight_record, record);
	inflight_on = !why_run;
	if (!registered && atexit(inflight_done) == 0)
		registered = 1;
	if (why_run)
		return 0;
	char *text;
	size_t len;
	int r = fs_read_safe(record, (size_t)1 << 24, NULL, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r != 0)
		return r;
	int removed = 0;
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (line[0] == '/')
			removed += remove_temps_in(line);
	}
	free(text);
	unlink(record);
	return removed;
}
