/* fuzz_bundle.c: the bundle extractor (ccchef.archive.extract, which the
 * runner uses on the tar stream the controller sends). The input is that
 * stream, extracted into an empty directory DIR/root/dest. Oracles:
 * extract returns a count or nil and a message; nothing appears beside
 * dest (no path escaped); inside dest there are only files, directories
 * and symbolic links, no set-id or sticky bits, and every link that
 * resolves, resolves inside dest. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_lua.h"

static const struct fuzz_target target = {
	.name = "bundle",
	.snippet =
		"local input, dir = ...\n"
		"local archive = require('ccchef.archive')\n"
		"local tar = dir .. '/in.tar'\n"
		"local f = assert(io.open(tar, 'wb'))\n"
		"f:write(input)\n"
		"f:close()\n"
		"local n, err = archive.extract(tar, dir .. '/root/dest')\n"
		"os.remove(tar)\n"
		"if n == nil then\n"
		"  if type(err) ~= 'string' then error('extract failed without a message', 0) end\n"
		"elseif math.type(n) ~= 'integer' or n < 0 then\n"
		"  error('extract returned ' .. tostring(n), 0)\n"
		"end\n",
	.max_instructions = 1000000,
	.max_bytes = 64 << 20,
};

static char dest_real[PATH_MAX];
static char problem[PATH_MAX + 128];

static int inspect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_NS || flag == FTW_DNR)
		return 0;
	if (st->st_mode & 07000) {
		snprintf(problem, sizeof problem, "%s has mode %o", path, (unsigned)(st->st_mode & 07777));
		return 1;
	}
	if (S_ISLNK(st->st_mode)) {
		char real[PATH_MAX];
		size_t n = strlen(dest_real);
		if (realpath(path, real) != NULL &&
		    !(strncmp(real, dest_real, n) == 0 && (real[n] == '\0' || real[n] == '/'))) {
			snprintf(problem, sizeof problem, "link %s resolves outside: %s", path, real);
			return 1;
		}
	} else if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		snprintf(problem, sizeof problem, "%s is not a file, directory or link", path);
		return 1;
	}
	return 0;
}

/* A finding unless dir holds nothing but name. */
static void only_entry(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		fuzz_finding(&target, "a directory around the extraction directory is gone");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, name)) {
			snprintf(problem, sizeof problem, "%s appeared in %s", de->d_name, dir);
			closedir(d);
			fuzz_finding(&target, problem);
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_workdir();
	char root[PATH_MAX / 2], dest[PATH_MAX];
	snprintf(root, sizeof root, "%s/root", dir);
	snprintf(dest, sizeof dest, "%s/dest", root);
	if (mkdir(root, 0700) != 0 || mkdir(dest, 0700) != 0 || realpath(dest, dest_real) == NULL)
		fuzz_finding(&target, "cannot make the extraction directory");
	fuzz_lua_run_in(&target, data, size, dir);
	/* The snippet removes it too, unless a bound stopped it first. */
	char tar[PATH_MAX];
	snprintf(tar, sizeof tar, "%s/in.tar", dir);
	unlink(tar);
	only_entry(dir, "root");
	only_entry(root, "dest");
	problem[0] = '\0';
	nftw(dest, inspect, 16, FTW_PHYS);
	if (problem[0] != '\0')
		fuzz_finding(&target, problem);
	if (fuzz_remove_tree(root) != 0)
		fuzz_finding(&target, "cannot remove what was extracted");
	return 0;
}
