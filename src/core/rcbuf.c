/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rcbuf.c - shared immutable bytes; see rcbuf.h. */
#include "core/rcbuf.h"

#include <stdlib.h>
#include <string.h>

struct rcbuf *rcbuf_new(const char *p, size_t len)
{
    struct rcbuf *b = malloc(sizeof(*b) + len + 1);

    if (!b)
        return NULL;
    b->refs = 1;
    b->len = len;
    if (len)
        memcpy(b->p, p, len);
    b->p[len] = '\0';
    return b;
}

struct rcbuf *rcbuf_ref(struct rcbuf *b)
{
    b->refs++;
    return b;
}

void rcbuf_unref(struct rcbuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}
