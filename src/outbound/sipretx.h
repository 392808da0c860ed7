/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sipretx.h - retransmission of one non-INVITE request that sipkeep itself
 * sends over an unreliable transport (RFC 3261 §17.1.2.2): its REGISTERs
 * and OPTIONS keep-alives on a UDP flow.
 *
 * The owner sends the request, then calls sipretx_start() with it: the
 * request is sent again after T1 = 500 ms, then at doubling intervals
 * capped at T2 = 4 s (Timer E), at T2 intervals once a provisional
 * response came (Proceeding), and on_timeout is called 64*T1 = 32 s after
 * the first send without a final response (Timer F).  A final response
 * (sipretx_response()) ends the transaction.  Requests sipkeep relays from
 * a UA or from a UDP flow are never given to it: their sender retransmits
 * them itself; those relayed from a reliable flow to a UA over UDP are (the
 * router's transaction table, proxy/txn.h), INVITEs included
 * (sipretx_start_invite()).
 *
 * Timers run on the loop's (injectable) clock.  on_timeout runs from the
 * loop and may call sipretx_free().
 */
#ifndef SIPKEEP_OUTBOUND_SIPRETX_H
#define SIPKEEP_OUTBOUND_SIPRETX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"

#define SIPRETX_T1_MS 500u
#define SIPRETX_T2_MS 4000u
#define SIPRETX_TIMER_F_MS (64u * SIPRETX_T1_MS)

struct sipretx;

struct sipretx_cbs {
    /* Sends the copy again; a failure counts as a lost datagram.  May call
     * sipretx_cancel() (e.g. the destination is gone). */
    int (*send)(const char *buf, size_t len, void *arg);
    /* Timer F fired: no final response in 32 s. */
    void (*on_timeout)(void *arg);
};

/* Creates an idle transaction slot.  cbs is referenced.  Returns 0,
 * -EINVAL or -ENOMEM. */
int sipretx_new(struct sipretx **out, struct loop *l, const struct sipretx_cbs *cbs, void *arg);
/* Cancels and frees.  NULL is fine. */
void sipretx_free(struct sipretx *x);

/* Starts the transaction of the request buf[0..len) (copied), which the
 * caller has just sent, and whose top Via branch is branch (copied, for
 * sipretx_matches()).  Replaces a transaction in progress (a REGISTER
 * resent after a challenge is a new transaction).  Returns 0, -EINVAL or
 * -ENOMEM (nothing started). */
int sipretx_start(struct sipretx *x, const char *buf, size_t len, const char *branch);
/* Like sipretx_start(), for an INVITE client transaction (§17.1.1.2),
 * e.g. one sipkeep relays over UDP: Timer A starts at T1 and doubles with
 * no T2 cap, any response (1xx included) ends the retransmissions, and
 * on_timeout is Timer B (64*T1).  Same returns. */
int sipretx_start_invite(struct sipretx *x, const char *buf, size_t len, const char *branch);
/* Whether a transaction is in progress and its branch is branch[0..n). */
bool sipretx_matches(const struct sipretx *x, const char *branch, size_t n);
/* A response to it: 1xx moves to Proceeding, >= 200 ends it (for an
 * INVITE, any response ends it). */
void sipretx_response(struct sipretx *x, unsigned status);
/* Ends the transaction without a callback. */
void sipretx_cancel(struct sipretx *x);
bool sipretx_active(const struct sipretx *x);
/* Times the current (or last) request was sent, the first one included. */
unsigned sipretx_sends(const struct sipretx *x);

#endif
