/* tar_extract.h: the runner's bundle extraction, relative to one open
 * directory (see tar_extract.c for the rules). */
#ifndef CCCHEF_TAR_EXTRACT_H
#define CCCHEF_TAR_EXTRACT_H

#include <stddef.h>

struct archive;

/* Extracts every entry of `in` (opened for reading) under the directory
 * `rootfd`. Returns the number of entries, or -1 with the reason in err;
 * on error the caller discards the directory. */
long tar_extract(struct archive *in, int rootfd, char *err, size_t errlen);

#endif
