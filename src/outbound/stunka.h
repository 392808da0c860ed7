/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stunka.h - the STUN keep-alive client of one UDP flow (RFC 5626 §4.4.2,
 * §8; RFC 5389 §7.2.1).
 *
 * Periodically runs one STUN Binding transaction over the flow: a request
 * with a fresh random transaction ID, retransmitted after RTO, 2*RTO, ...
 * (RTO 500 ms) until Rc = 7 requests were sent, then given Rm * RTO = 8 s
 * more: with no response 39.5 s after the first send the flow has failed.
 * A new transaction never starts while one is outstanding: the next
 * keep-alive interval starts when a transaction succeeds, so a slow or
 * lossy path can never pile transactions up.
 *
 * The flow has failed (on_fail) on a Binding error response, on no
 * response after the retransmissions, on a response that RFC 5389 §7.3
 * says fails the transaction (unknown comprehension-required attribute, no
 * mapped address), and when the XOR-MAPPED-ADDRESS differs from the first
 * one seen since stunka_new() (the NAT rebound: §4.4.2 "the UA MUST treat
 * this event as a failure on the flow").  A success response with the
 * same address is the "pong" (on_pong; RFC 5626 §4.5 counts it as the
 * keep-alive response that makes a recovered flow work).
 *
 * One stunka per connected socket: a new socket (flow recovery) gets a new
 * stunka, and with it a new first address.  Timers run on the loop's
 * (injectable) clock.  Callbacks run from the loop or from stunka_input()
 * (which the owner calls from its own loop callback); on_fail and on_pong
 * may call stunka_free().
 */
#ifndef SIPKEEP_OUTBOUND_STUNKA_H
#define SIPKEEP_OUTBOUND_STUNKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/rand.h"

/* RFC 5389 §7.2.1 defaults. */
#define STUNKA_RTO_MS 500u
#define STUNKA_RC 7u
#define STUNKA_RM 16u
/* RFC 5626 §4.4.2: without Flow-Timer, "a random number between 24 and 29
 * seconds". */
#define STUNKA_DEFAULT_MIN_MS 24000u
#define STUNKA_DEFAULT_MAX_MS 29000u

struct stunka;

struct stunka_cbs {
    /* Writes one datagram on the flow.  A failure is treated as a lost
     * datagram (the retransmissions cover it); a broken socket is the
     * transport's to report. */
    int (*send)(const uint8_t *buf, size_t len, void *arg);
    /* A success response with the flow's address; rtt_ms is measured from
     * the transaction's first request. */
    void (*on_pong)(int64_t rtt_ms, const struct sockaddr_storage *mapped, void *arg);
    /* The flow failed (reason: one line of text, valid during the call);
     * the keep-alives have stopped. */
    void (*on_fail)(const char *reason, void *arg);
};

struct stunka_params {
    struct loop *loop;
    const struct stunka_cbs *cbs;   /* referenced; must outlive the stunka */
    void *arg;
    struct rand_src rng;            /* interval jitter; next == NULL: the kernel's */
};

/* Creates an idle client (nothing sent until stunka_start()).  Returns 0,
 * -EINVAL (missing loop or callbacks) or -ENOMEM. */
int stunka_new(struct stunka **out, const struct stunka_params *p);
/* Cancels everything and frees.  NULL is fine. */
void stunka_free(struct stunka *k);

/* Starts or re-times the keep-alives: each interval is stunka_interval_ms(
 * ka, interval_s, ...).  The first call sends a Binding request at once
 * (RFC 5626 §8: after the 2xx the node may send STUN; the answer gives the
 * flow's first mapped address and the §4.5 proof that the flow works).
 * Later calls (registration refreshes) take the new values and bring the
 * next keep-alive forward when the new interval ends sooner, never
 * postponing it.  Returns 0 or -ENOMEM (timer heap). */
int stunka_start(struct stunka *k, const struct cfg_keepalive *ka, unsigned interval_s);
/* Starts a transaction now unless one is outstanding (e.g. to check a flow
 * suspected dead).  No-op before stunka_start(). */
void stunka_ping_now(struct stunka *k);
/* A datagram that looked like STUN, received on the flow.  Responses to
 * other transaction IDs, and anything not a Binding response, are ignored. */
void stunka_input(struct stunka *k, const uint8_t *buf, size_t len);
/* Requests sent in the current (or last) transaction, 1..STUNKA_RC. */
unsigned stunka_sends(const struct stunka *k);

/* The keep-alive interval for a UDP flow in ms: with interval_s > 0 (the
 * Flow-Timer, RFC 5626 §4.4; or RFC 6223 keep) a random 80-100 % of it;
 * else with a configured ka->interval 80-100 % of that; else 24-29 s
 * (§4.4.2).  r picks the point (0: low end, UINT32_MAX: high end).  Pure;
 * also used for the SIP (OPTIONS) keep-alive of flows without STUN. */
uint64_t stunka_interval_ms(const struct cfg_keepalive *ka, unsigned interval_s, uint32_t r);

#endif
