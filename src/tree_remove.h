/* tree_remove.h: removing a directory tree relative to an open directory
 * (the runner's private directories; see tree_remove.c). */
#ifndef CCCHEF_TREE_REMOVE_H
#define CCCHEF_TREE_REMOVE_H

#include <stddef.h>
#include <sys/types.h>

/* Removes the directory `name` in dirfd and everything under it, never
 * following a symbolic link, only when that directory belongs to `owner`.
 * 0, or -errno with the reason in err (-EPERM: not owner's). */
int tree_remove_at(int dirfd, const char *name, uid_t owner, char *err, size_t errlen);

#endif
