/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agelog.c - byte strings kept for a fixed time; see agelog.h. */
#include "core/agelog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* An entry: its header, then its bytes, then padding to 8. */
struct entry {
    uint64_t at_ms;     /* loop time it was put */
    uint32_t len;
    uint32_t pad;
};

struct seg {
    struct seg *next;   /* younger */
    uint64_t first_id;  /* id of its first byte: ids are log offsets + 1 */
    uint64_t newest_ms; /* at_ms of its last entry */
    size_t used;        /* bytes of data[] taken */
    char data[];
};

#define DATA_MAX (AGELOG_SEG_SIZE - sizeof(struct seg))

struct agelog {
    struct loop *loop;
    uint64_t keep_ms;
    size_t max_segs, nsegs;
    uint64_t next_id;   /* first_id of the next segment */
    struct seg *oldest, *newest;
    struct loop_timer expire;
};

static size_t entry_size(size_t len)
{
    return (sizeof(struct entry) + len + 7) & ~(size_t)7;
}

/* Frees the segments whose every entry is keep_ms old, oldest first; the
 * timer then waits for the next one. */
static void expire_now(struct agelog *l)
{
    uint64_t now = loop_now(l->loop);

    while (l->oldest && now - l->oldest->newest_ms >= l->keep_ms) {
        struct seg *s = l->oldest;

        l->oldest = s->next;
        if (l->newest == s)
            l->newest = NULL;
        munmap(s, AGELOG_SEG_SIZE);
        l->nsegs--;
    }
    if (l->oldest)
        loop_timer_set(l->loop, &l->expire, l->oldest->newest_ms + l->keep_ms - now);
}

static void on_expire(struct loop_timer *t)
{
    expire_now(container_of(t, struct agelog, expire));
}

int agelog_new(struct agelog **out, struct loop *loop, uint64_t keep_ms, size_t max_bytes)
{
    struct agelog *l;

    if (keep_ms == 0 || max_bytes < AGELOG_SEG_SIZE)
        return -EINVAL;
    l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->loop = loop;
    l->keep_ms = keep_ms;
    l->max_segs = max_bytes / AGELOG_SEG_SIZE;
    l->next_id = 1;
    loop_timer_init(&l->expire, on_expire);
    *out = l;
    return 0;
}

void agelog_free(struct agelog *l)
{
    if (!l)
        return;
    loop_timer_cancel(l->loop, &l->expire);
    while (l->oldest) {
        struct seg *s = l->oldest;

        l->oldest = s->next;
        munmap(s, AGELOG_SEG_SIZE);
    }
    free(l);
}

static int seg_add(struct agelog *l)
{
    struct seg *s;

    if (l->nsegs >= l->max_segs)
        return -ENOSPC;
    s = mmap(NULL, AGELOG_SEG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return -ENOMEM;
    s->next = NULL;
    s->first_id = l->next_id;
    s->newest_ms = 0;
    s->used = 0;
    l->next_id += DATA_MAX;
    if (l->newest)
        l->newest->next = s;
    else
        l->oldest = s;
    l->newest = s;
    l->nsegs++;
    return 0;
}

int agelog_put(struct agelog *l, const char *p, size_t len, uint64_t *id)
{
    size_t need = entry_size(len);
    struct entry e = { loop_now(l->loop), (uint32_t)len, 0 };
    struct seg *s;
    int err;

    if (need > DATA_MAX)
        return -EMSGSIZE;
    /* Free what is due first: the space may be needed now. */
    expire_now(l);
    if (!l->newest || l->newest->used + need > DATA_MAX) {
        err = seg_add(l);
        if (err < 0)
            return err;
    }
    s = l->newest;
    memcpy(s->data + s->used, &e, sizeof(e));
    memcpy(s->data + s->used + sizeof(e), p, len);
    *id = s->first_id + s->used;
    s->used += need;
    s->newest_ms = e.at_ms;
    if (!loop_timer_armed(&l->expire))
        loop_timer_set(l->loop, &l->expire, l->keep_ms);
    return 0;
}

const char *agelog_get(const struct agelog *l, uint64_t id, size_t *len)
{
    struct entry e;

    for (const struct seg *s = l->oldest; s && id >= s->first_id; s = s->next) {
        if (id - s->first_id >= s->used)
            continue;
        memcpy(&e, s->data + (id - s->first_id), sizeof(e));
        if (loop_now(l->loop) - e.at_ms >= l->keep_ms)
            return NULL;
        *len = e.len;
        return s->data + (id - s->first_id) + sizeof(e);
    }
    return NULL;
}

size_t agelog_bytes(const struct agelog *l)
{
    return l->nsegs * (size_t)AGELOG_SEG_SIZE;
}
