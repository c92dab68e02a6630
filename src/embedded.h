/* embedded.h: the Lua modules compiled into the binary (see tools/embed-lua.c). */
#ifndef CCCHEF_EMBEDDED_H
#define CCCHEF_EMBEDDED_H

#include <stddef.h>

struct embedded_module {
	const char *name;          /* "ccchef.engine" */
	const unsigned char *code; /* precompiled chunk */
	size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct embedded_module embedded_modules[];

#endif
