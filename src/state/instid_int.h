/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instid_int.h - what of the instance-id store only tests call (the
 * number of phones it knows, pending ones, syncing without the worker).
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_STATE_INSTID_INT_H
#define SIPKEEP_STATE_INSTID_INT_H

#include "state/instid.h"

/* Number of UAs known to the store. */
size_t instid_count(const struct instid_store *s);
/* Number of them not on disk yet (in the batch in flight or the next). */
size_t instid_pending(const struct instid_store *s);
/* No worker thread: instid_commit_start writes and syncs on the calling
 * thread (what the store falls back to when it cannot start one); the
 * result is still collected through instid_commit_fd. */
void instid_sync_inline(struct instid_store *s);

#endif
