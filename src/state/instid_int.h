/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instid_int.h - what of the instance-id store only tests call (the
 * number of phones it knows).
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_STATE_INSTID_INT_H
#define SIPKEEP_STATE_INSTID_INT_H

#include "state/instid.h"

/* Number of UAs known to the store. */
size_t instid_count(const struct instid_store *s);
/* Number of them minted since the last instid_commit (not on disk). */
size_t instid_pending(const struct instid_store *s);

#endif
