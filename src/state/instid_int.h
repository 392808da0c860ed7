/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instid_int.h - what of the instance-id store only tests call (the
 * number of phones it knows, pending ones, where batches are synced).
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_STATE_INSTID_INT_H
#define SIPKEEP_STATE_INSTID_INT_H

#include "state/instid.h"

/* Number of UAs known to the store. */
size_t instid_count(const struct instid_store *s);
/* Number of them not on disk yet (in the batch in flight or the next). */
size_t instid_pending(const struct instid_store *s);
/* Where instid_commit_start has a batch written: ADAPTIVE (the default:
 * on the calling thread until recent syncs take INSTID_INLINE_SYNC_US or
 * more, then on the worker), always on the WORKER, or
 * always INLINE (what the store falls back to when it cannot start a
 * thread).  Either way the result is collected through instid_commit_fd. */
enum instid_sync_how { INSTID_SYNC_ADAPTIVE, INSTID_SYNC_WORKER, INSTID_SYNC_INLINE };
void instid_sync_how(struct instid_store *s, enum instid_sync_how how);
/* ADAPTIVE's limit instead of INSTID_INLINE_SYNC_US, in microseconds. */
void instid_sync_limit(struct instid_store *s, uint64_t us);
/* Whether the next batch would be written on the calling thread. */
bool instid_next_sync_here(const struct instid_store *s);

#endif
