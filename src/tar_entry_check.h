/* tar_entry_check.h: the checks an entry of a bundle passes before it is
 * extracted (see tar_entry_check.c). */
#ifndef CCCHEF_TAR_ENTRY_CHECK_H
#define CCCHEF_TAR_ENTRY_CHECK_H

struct archive_entry;

/* Why entry e may not be extracted, or NULL when it may. */
const char *tar_entry_refusal(struct archive_entry *e);

#endif
