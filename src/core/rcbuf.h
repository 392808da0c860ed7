/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rcbuf.h - immutable bytes shared by reference count: one copy held by
 * several owners that may go in any order (a binding's last REGISTER and
 * its stored record, issue 14 item 4: 10,000 phones each kept it twice).
 * Never changed once made: an owner that needs other bytes makes a new
 * buffer and drops its reference to the old.  One thread; no locking. */
#ifndef SIPKEEP_CORE_RCBUF_H
#define SIPKEEP_CORE_RCBUF_H

#include <stddef.h>

struct rcbuf {
    unsigned refs;
    size_t len;
    char p[];   /* len bytes and a NUL after them */
};

/* A copy of p[0..len) with one reference (the caller's), or NULL: ENOMEM. */
struct rcbuf *rcbuf_new(const char *p, size_t len);

/* One more reference to b (not NULL); returns b. */
struct rcbuf *rcbuf_ref(struct rcbuf *b);

/* Drops one reference; the last frees b.  NULL is a no-op. */
void rcbuf_unref(struct rcbuf *b);

#endif
