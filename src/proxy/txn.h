/* txn.h - the table of the UA's requests in flight upstream.
 *
 * Towards the service every request leaves with one Via, sipkeep's own
 * (RFC 5626 §5.1: an edge proxy decides from the Via whether it is the
 * first hop).  The UA's Via values wait here, keyed by our branch, until
 * the responses come back.  Entries live for a fixed time from creation:
 * 64*T1 (32 s, RFC 3261 Timer F) for non-INVITE, and long enough for an
 * INVITE to be answered (Timer C, 3 minutes, plus 64*T1 for retransmitted
 * 2xx), so expiry is a FIFO pop, O(1).
 *
 * The table also holds the client transactions of requests relayed from a
 * reliable flow to a UA over UDP (RFC 3261 §16.6 item 10, §17.1.1.2,
 * §17.1.2.2): nobody upstream retransmits those, so sipkeep does, with
 * sipretx.h timers owned by the entry and freed with it.  They live
 * 64*T1 + 1 s (Timer B/F has fired by then) and are never returned by
 * txn_get().
 */
#ifndef SIPKEEP_PROXY_TXN_H
#define SIPKEEP_PROXY_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/loop.h"
#include "core/slice.h"

#define TXN_BRANCH_MAX 64
#define TXN_MAX_VIAS 16
#define TXN_TTL_NON_INVITE_MS 32000u
#define TXN_TTL_INVITE_MS (180000u + 32000u)
#define TXN_TTL_RETX_MS (32000u + 1000u)

struct txn_table;

struct txn {
    char branch[TXN_BRANCH_MAX];
    struct ua_addr ua;
    uint32_t binding_id;
    /* The flow (index) the request left on, so that its CANCEL, the ACK of
     * a non-2xx and retransmissions take it too (RFC 5626 §5.3); 0 from
     * txn_put, set by the router on the entry txn_get returns. */
    unsigned flow_idx;
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

/* Sends a retransmission of a relayed request to the UA of binding_id.
 * Returns 0, or -errno: -ESRCH (the binding or its UA is gone) stops that
 * transaction's retransmissions for good. */
typedef int (*txn_retx_send_fn)(uint32_t binding_id, const char *buf, size_t len, void *arg);

/* Sets how retransmissions are sent (before any txn_put_retx). */
void txn_set_retx_sender(struct txn_table *t, txn_retx_send_fn send, void *arg);
/* Starts the client transaction keyed key (our branch; plus a method
 * suffix for a CANCEL, which shares its INVITE's branch) of the request
 * buf[0..len) (copied), just sent to the UA of binding_id over UDP: INVITE
 * per Timer A/B, anything else per Timer E/F.  Never for an ACK.  A key
 * already present (the same request again) is kept as it is.  Returns 0,
 * -EINVAL (key too long, no sender set), -ENOMEM; nothing kept on error. */
int txn_put_retx(struct txn_table *t, const char *key, bool invite, uint32_t binding_id,
                 const char *buf, size_t len);
/* A response from the UA to the transaction key: any one ends an INVITE's
 * retransmissions, a 1xx moves a non-INVITE to T2 spacing, a final one
 * ends it.  Unknown keys are ignored. */
void txn_retx_response(struct txn_table *t, struct slice key, unsigned status);
/* Client transactions still retransmitting (tests, status). */
size_t txn_retx_active(struct txn_table *t);

#endif
