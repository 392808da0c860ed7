/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.h - the table of the UA's requests in flight upstream.
 *
 * Towards the service every request leaves with one Via, sipkeep's own
 * (RFC 5626 §5.1: an edge proxy decides from the Via whether it is the
 * first hop).  The UA's Via values wait here, keyed by our branch, until
 * the responses come back.  Non-INVITE entries live a fixed 64*T1 (32 s,
 * RFC 3261 Timer F) from creation, so their expiry is a FIFO pop, O(1).
 *
 * INVITE entries have a timer each (embedded, no allocation per event):
 * Timer C (RFC 3261 §16.6 item 11: 3 minutes), restarted by every
 * provisional response 101-199 (§16.7 step 2), so a call may ring for
 * ever as long as the far side keeps saying so; then, once a final
 * response came, 64*T1 more so that retransmitted 2xx still find the
 * entry.  When Timer C fires before a final response (§16.8), sipkeep
 * CANCELs the INVITE on the flow it went on if a provisional response came
 * (otherwise later, when one does, §9.1; over a UDP flow with Timer E/F,
 * §17.1.2.2), and answers the UA 408 itself;
 * the upstream final response that follows is absorbed (a non-2xx one
 * ACKed by sipkeep, §17.1.1.3), except a 2xx, which the UA still gets
 * (§16.7 step 5).  A non-2xx final response relayed to the UA from a
 * reliable flow is retransmitted to it (the UA is always on UDP) with
 * Timer G until the UA's ACK, at most 64*T1 (Timer H) (§17.2.1: nobody
 * upstream retransmits over TCP/TLS); over a UDP flow the edge's own
 * retransmissions are relayed instead.
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
#define TXN_TIMER_C_MS 180000u          /* §16.6 item 11: "greater than 3 minutes" */
#define TXN_INVITE_LINGER_MS 32000u     /* 64*T1 after the final response */
#define TXN_TTL_RETX_MS (32000u + 1000u)

struct txn_table;
struct sipmsg;

struct txn {
    char branch[TXN_BRANCH_MAX];
    struct ua_addr ua;
    uint32_t binding_id;
    /* The flow (index) the request left on, so that its CANCEL, the ACK of
     * a non-2xx and retransmissions take it too (RFC 5626 §5.3); 0 from
     * txn_put, set by the router on the entry txn_get returns. */
    unsigned flow_idx;
    unsigned nvias;
    const struct slice *vias; /* nvias of them, in the entry's own copy */
};

/* Creates an empty table using l for time and expiry.  Returns 0/-ENOMEM. */
int txn_table_new(struct txn_table **out, struct loop *l);
void txn_table_free(struct txn_table *t);

/* Records (or, for the same branch, keeps) an entry; vias are copied.
 * invite: an INVITE transaction (Timer C; see txn_invite_sent()).
 * Returns 0, -E2BIG (more than TXN_MAX_VIAS), -ENOMEM. */
int txn_put(struct txn_table *t, const char *branch, bool invite, const struct ua_addr *ua,
            uint32_t binding_id, const struct slice *vias, unsigned nvias);
/* The live entry for branch, or NULL.  Valid until the next txn_put or
 * until control returns to the loop. */
const struct txn *txn_get(struct txn_table *t, struct slice branch);

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

/* ---- INVITE transactions (Timer C, Timer G/H) ---- */

struct txn_senders {
    /* Sends a request sipkeep makes itself (CANCEL, ACK) on flow `flow`
     * (reg-id - 1) of binding id.  Returns 0 or -errno (logged). */
    int (*to_flow)(uint32_t binding_id, unsigned flow, const char *buf, size_t len,
                   void *arg);
    /* Sends a response to the UA (a 408 of ours, a retransmitted final). */
    void (*to_ua)(const struct ua_addr *ua, const char *buf, size_t len, void *arg);
    void *arg;
};

/* Sets how Timer C and Timer G send (copied).  Without senders the timers
 * still run and end transactions, but send nothing. */
void txn_set_senders(struct txn_table *t, const struct txn_senders *s);
/* The INVITE buf[0..len) (as serialised, with our Via on top) has just
 * been sent on flow `flow`: what a CANCEL, an ACK or a 408 needs of it is
 * kept (Request-URI, our Via, From, To, Call-ID, CSeq number, Route lines)
 * with whether the flow is reliable (the Via's transport).  Only the first
 * call for an entry counts (the UA's retransmissions change nothing).
 * Returns 0, -ENOENT (no INVITE entry for its branch), -EBADMSG, -E2BIG
 * (a line longer than 64 KiB), -ENOMEM. */
int txn_invite_sent(struct txn_table *t, unsigned flow, const char *buf, size_t len);
/* A response from upstream to the entry of branch (found by txn_get()):
 * moves its timers (1xx restarts Timer C, a final one to an INVITE starts
 * the 64*T1 linger).  Returns true when it goes on to the UA, false when
 * sipkeep absorbs it (answers to its own CANCEL; after Timer C, all but a
 * 2xx, a non-2xx final then being ACKed by sipkeep). */
bool txn_response_in(struct txn_table *t, struct slice branch, const struct sipmsg *rsp);
/* The response txn_response_in() let through was sent to the UA as
 * buf[0..len): a non-2xx final to an INVITE that came on a reliable flow
 * starts Timer G with a copy (on -ENOMEM it is logged and the UA has
 * the one copy). */
void txn_response_relayed(struct txn_table *t, struct slice branch, const char *buf,
                          size_t len);
/* An ACK from the UA whose upstream branch is branch (its INVITE's): stops
 * Timer G.  Returns true when the ACK acknowledges a 408 sipkeep made
 * (Timer C): it is then sipkeep's and goes no further. */
bool txn_ua_ack(struct txn_table *t, struct slice branch);

#endif
