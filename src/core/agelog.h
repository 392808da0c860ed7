/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agelog.h - byte strings kept for a fixed time, in the order they came:
 * the answers sipkeep keeps for a phone's retransmissions (Timer J, 32 s,
 * RFC 3261 §17.2.2).  Kept in malloc'd copies, each answer outlived the
 * flows and bindings made after it, and once freed left its hole between
 * them, resident for good (0.4 KiB per phone at 10,000 phones, issue 14
 * item 4).  Here they are appended to segments of their own (mmap: outside
 * the heap), and a segment goes back to the kernel as a whole once its
 * newest entry is older than keep_ms.  A string replaced or no longer
 * wanted is not freed on its own: its bytes wait for their segment.
 *
 * One timer on the loop frees the old segments (each put also frees what
 * is due first, so a timer that could not be armed costs no more than the
 * cap).  Ids are never reused; a stale id finds nothing.  One thread; no
 * locking. */
#ifndef SIPKEEP_CORE_AGELOG_H
#define SIPKEEP_CORE_AGELOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

/* Bytes per segment (its header included); also the longest entry. */
#define AGELOG_SEG_SIZE (256u * 1024u)

struct agelog;

/* A log on loop keeping each entry keep_ms (> 0), in at most max_bytes of
 * segments (at least one).  Returns 0 and *out, or -EINVAL / -ENOMEM. */
int agelog_new(struct agelog **out, struct loop *loop, uint64_t keep_ms, size_t max_bytes);

/* Frees every segment and the log.  NULL is a no-op. */
void agelog_free(struct agelog *l);

/* Appends p[0..len), stamped with the loop's time.  Returns 0 and *id
 * (never 0), -EMSGSIZE (longer than a segment holds), -ENOSPC (max_bytes
 * in use) or -ENOMEM; nothing kept on error. */
int agelog_put(struct agelog *l, const char *p, size_t len, uint64_t *id);

/* The bytes of entry id while it is younger than keep_ms (*len set), else
 * NULL (expired, or id 0).  Valid until control returns to the loop. */
const char *agelog_get(const struct agelog *l, uint64_t id, size_t *len);

/* Bytes of segments held now (for tests and benchmarks). */
size_t agelog_bytes(const struct agelog *l);

#endif
