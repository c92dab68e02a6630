/*
 * fs_path_cache.c: the per-run cache of resolved parent directories
 * (absolute path -> O_PATH descriptor) that fs_path.c lends to callers.
 * A lent slot is busy until given back; a flush while it is lent marks it
 * stale and it is dropped when given back. Any fork empties the cache
 * before the next lookup (the child may change any path). Split out of
 * fs_path.c: resolving and remembering are two concepts.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

#define CACHE_SLOTS 256
#define CACHE_PROBE 4

struct slot {
	char *key;
	int fd;
	int busy;   /* lent to a caller */
	int stale;  /* flushed while lent: dropped when given back */
};

static struct slot cache[CACHE_SLOTS];

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void slot_clear(struct slot *s)
{
	if (s->key == NULL)
		return;
	close(s->fd);
	free(s->key);
	s->key = NULL;
	s->fd = -1;
	s->busy = 0;
	s->stale = 0;
}

void fs_cache_flush(void)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (!cache[i].busy)
			slot_clear(&cache[i]);
		else
			cache[i].stale = 1;
}

static int cache_stale;

/* In the parent, before any fork: the child may change any path. */
static void cache_before_fork(void)
{
	cache_stale = 1;
}

int fs_cache_take(const char *dir, int *slot_out)
{
	static int registered;
	if (!registered) {
		registered = 1;
		pthread_atfork(cache_before_fork, NULL, NULL);
	}
	if (cache_stale) {
		cache_stale = 0;
		fs_cache_flush();
	}
	unsigned h = hash(dir);
	for (int k = 0; k < CACHE_PROBE; k++) {
		struct slot *s = &cache[(h + (unsigned)k) % CACHE_SLOTS];
		if (s->key == NULL || s->busy || strcmp(s->key, dir) != 0)
			continue;
		s->busy = 1;
		*slot_out = (int)(s - cache);
		return s->fd;
	}
	return -1;
}

void fs_cache_put(const char *dir, int fd)
{
	unsigned h = hash(dir);
	struct slot *victim = NULL;
	for (int k = 0; k < CACHE_PROBE; k++) {
		struct slot *s = &cache[(h + (unsigned)k) % CACHE_SLOTS];
		if (s->busy)
			continue;
		if (s->key == NULL) {
			victim = s;
			break;
		}
		if (victim == NULL)
			victim = s;
	}
	char *key = victim ? strdup(dir) : NULL;
	if (key == NULL) {
		close(fd);
		return;
	}
	slot_clear(victim);
	victim->key = key;
	victim->fd = fd;
}

void fs_cache_give_back(int slot)
{
	struct slot *s = &cache[slot];
	s->busy = 0;
	if (s->stale)
		slot_clear(s);
}
