/* txn.h - the table of the UA's requests in flight upstream.
 *
 * Towards the service every request leaves with one Via, sipkeep's own
 * (RFC 5626 §5.1: an edge proxy decides from the Via whether it is the
 * first hop).  The UA's Via values wait here, keyed by our branch, until
 * the responses come back.  Entries live for a fixed time from creation:
 * 64*T1 (32 s, RFC 3261 Timer F) for non-INVITE, and long enough for an
 * INVITE to be answered (Timer C, 3 minutes, plus 64*T1 for retransmitted
 * 2xx), so expiry is a FIFO pop, O(1).
 */
#ifndef SIPKEEP_PROXY_TXN_H
#define SIPKEEP_PROXY_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/loop.h"
#include "core/slice.h"

#define TXN_BRANCH_MAX 48
#define TXN_MAX_VIAS 16
#define TXN_TTL_NON_INVITE_MS 32000u
#define TXN_TTL_INVITE_MS (180000u + 32000u)

struct txn_table;

struct txn {
    char branch[TXN_BRANCH_MAX];
    struct ua_addr ua;
    uint32_t binding_id;
    unsigned nvias;
    struct slice vias[TXN_MAX_VIAS]; /* point into the entry's own copy */
};

/* Creates an empty table using l for time and expiry.  Returns 0/-ENOMEM. */
int txn_table_new(struct txn_table **out, struct loop *l);
void txn_table_free(struct txn_table *t);

/* Records (or, for the same branch, keeps) an entry; vias are copied.
 * Returns 0, -E2BIG (more than TXN_MAX_VIAS), -ENOMEM. */
int txn_put(struct txn_table *t, const char *branch, bool invite, const struct ua_addr *ua,
            uint32_t binding_id, const struct slice *vias, unsigned nvias);
/* The live entry for branch, or NULL.  Valid until the next txn_put or
 * until control returns to the loop. */
const struct txn *txn_get(struct txn_table *t, struct slice branch);
size_t txn_count(const struct txn_table *t);

#endif
