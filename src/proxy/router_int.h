/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router_int.h - internals shared by router.c (life cycle, dispatch and
 * the helpers of both directions), router_ua.c (phone -> service) and
 * router_flow.c (service -> phone).  Not a public API: see router.h. */
#ifndef SIPKEEP_PROXY_ROUTER_INT_H
#define SIPKEEP_PROXY_ROUTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbound/regagent.h"
#include "proxy/router.h"
#include "proxy/txn.h"
#include "sip/msg.h"
#include "sip/via.h"

#define ROUTER_MSG_MAX 20000u
/* Our branch for requests we relay to a UA: magic cookie (RFC 3261
 * §8.1.1.7), "sk", the binding and flow that carried it, and a hash of the
 * upstream branch, so a CANCEL or ACK maps to the same branch statelessly
 * (§16.11) and the UA's response finds its flow. */
#define INBOUND_TAG "sk"
#define INBOUND_PREFIX SIPVIA_COOKIE INBOUND_TAG

struct router {
    struct router_env env;
    struct regagent *ra;
    struct txn_table *txns;
    SSL_CTX *tls[CFG_MAX_SERVICES];
    uint64_t secret;     /* keys branch hashes so they cannot be forged */
};

/* A sender: buf (len bytes) to wherever ctx says; 0 or -errno. */
typedef int (*router_send_fn)(void *ctx, const char *buf, size_t len);

/* router_send_on_flow's ctx: flow idx of binding b. */
struct router_flow_dst {
    struct binding *b;
    unsigned idx;
};

/* router_send_to_ua's ctx: the phone at ua, through r's env.send_ua. */
struct router_ua_dst {
    struct router *r;
    const struct ua_addr *ua;
};

/* ---- router.c: helpers of both directions ---- */

/* FNV-1a (core/hash) of a then b (bn bytes), keyed with seed (r->secret). */
uint64_t router_hash64(uint64_t seed, struct slice a, const void *b, size_t bn);
/* Max-Forwards (RFC 3261 §16.3 item 2, §16.6 item 3); buf holds the new
 * value.  Returns 0 with the edit made, -ELOOP when it reached 0, or an
 * edit's error. */
int router_decrement_max_forwards(struct sipmsg_edits *ed, const struct sipmsg *m, char *buf,
                                  size_t bufsz);
/* The key of the client transaction of a request we relay to a UA (our
 * branch, ";CANCEL" for a CANCEL).  Returns 0 or -ENAMETOOLONG. */
int router_retx_key(struct slice branch, struct slice method, char *out, size_t outsz);
/* Serialises m with ed (at most ROUTER_MSG_MAX bytes) and hands it to
 * sendfn(ctx).  Returns 0 or -errno. */
int router_send_edited(const struct sipmsg *m, const struct sipmsg_edits *ed,
                       router_send_fn sendfn, void *ctx);
/* router_send_fn over a struct router_flow_dst. */
int router_send_on_flow(void *ctx, const char *buf, size_t len);
/* router_send_fn over a struct router_ua_dst; always 0. */
int router_send_to_ua(void *ctx, const char *buf, size_t len);
/* Answers request m with status and the extra header lines through sendfn
 * (never an ACK, §17.1.1.3). */
void router_respond(const struct sipmsg *m, unsigned status, const struct sipmsg_nv *extra,
                    size_t nextra, router_send_fn sendfn, void *ctx);
/* router_respond without extra lines, logged with why as a refusal. */
void router_reply_with(const struct sipmsg *m, unsigned status, const char *why,
                       router_send_fn sendfn, void *ctx);
/* router_reply_with to the phone at ua. */
void router_reply(struct router *r, const struct sipmsg *m, const struct ua_addr *ua,
                  unsigned status, const char *why);
/* The phone's REGISTER as it sent it, or SLICE_NULL (rroute.h). */
struct slice router_ua_register(const struct binding *b);
/* Our Record-Route (with flow idx's token) on a dialog-forming request, as
 * the top one: call it after the Via is added.  rr holds the value.
 * Returns 0 (nothing to do for other requests) or -errno. */
int router_add_record_route(struct sipmsg_edits *ed, const struct sipmsg *m, struct binding *b,
                            unsigned idx, char *rr, size_t rrsz);

/* ---- router_ua.c: phone -> service ---- */

/* A request from the phone at ua other than REGISTER: our Routes popped,
 * answered when it is for sipkeep, else relayed on a flow of its binding
 * (or refused: 403, 483, 503, ...). */
void router_ua_request(struct router *r, const struct sipmsg *m, const struct ua_addr *ua);
/* A response from the phone at ua to a request relayed to it from a flow:
 * accepted only from that binding's phone, sent back on that flow. */
void router_ua_response(struct router *r, const struct sipmsg *m, const struct ua_addr *ua);
/* An ACK from the phone: true when the transaction table absorbed it (it
 * acknowledges sipkeep's own 408); it also ends Timer G. */
bool router_ua_ack_absorbed(struct router *r, const struct sipmsg *m, const struct ua_addr *ua);

/* ---- router_flow.c: service -> phone ---- */

/* A request that came on flow idx of b, relayed to b's phone. */
void router_flow_request(struct router *r, struct binding *b, unsigned idx,
                         const struct sipmsg *m);
/* A response that came on a flow, relayed to the phone its transaction
 * names (or absorbed, txn_response_in). */
void router_flow_response(struct router *r, const struct sipmsg *m);
/* The transaction table's senders towards the service side (txn.h; arg
 * is the router): retransmissions to a binding's phone (txn_retx_send_fn)
 * and sipkeep's own CANCEL/ACK on a flow (txn_senders.to_flow). */
int router_retx_send_ua(uint32_t id, const char *buf, size_t len, void *arg);
int router_txn_send_flow(uint32_t id, unsigned idx, const char *buf, size_t len, void *arg);

/* ---- used by tests only ---- */
/* Registered legacy UA bindings (status, benchmarks). */
size_t router_bindings(const struct router *r);

#endif
