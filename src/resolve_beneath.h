/* resolve_beneath.h: whether a path resolves beneath an open directory
 * (see resolve_beneath.c). */
#ifndef CCCHEF_RESOLVE_BENEATH_H
#define CCCHEF_RESOLVE_BENEATH_H

/* path (relative) resolved from root, every link followed: 0 when it stays
 * beneath root, else EXDEV (it climbs out, or a link is absolute), ELOOP,
 * ENOENT, ENOTDIR or ENAMETOOLONG. root's tree must not change meanwhile. */
int resolve_beneath(int root, const char *path);

#endif
