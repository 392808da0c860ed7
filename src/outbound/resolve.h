/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resolve.h - where an outbound proxy is: RFC 3263 over c-ares, driven by
 * the event loop (nothing blocks on DNS).
 *
 * One resolver per daemon holds a cache entry per distinct proxy (host,
 * port, scheme, transport, allowed transports).  An entry's answer is an
 * ordered list of targets (address, transport, why it was chosen):
 *   - a literal address: itself ("literal");
 *   - a name with a port: its A/AAAA records ("a/aaaa");
 *   - a name without port and transport: NAPTR (SIP+D2U, SIP+D2T,
 *     SIPS+D2T, only the transports allowed; sips: only SIPS+D2T), by
 *     order and preference, each replacement's SRV in turn until one has
 *     records; no usable NAPTR: SRV _sips._tcp (sips:) or _sip._tcp then
 *     _sip._udp; a name with a transport but no port: that transport's
 *     SRV; no SRV: A/AAAA of the name on the default port;
 *   - SRV records in priority order, equal priorities in RFC 2782's
 *     weighted random order (drawn from the injectable rand_src), each
 *     target's A/AAAA addresses in the order c-ares gives them.
 * Answers are cached for the smallest TTL seen (clamped to
 * RESOLVE_TTL_MIN_S..RESOLVE_TTL_MAX_S).  An expired answer is still
 * handed out while a background query refreshes it; when DNS fails, the
 * last good answer is kept (logged `dns_stale`) and asked again after
 * RESOLVE_RETRY_S.  /etc/resolv.conf (or the configured path) is checked
 * before each query and the c-ares channel is re-made when it changed and
 * no query is in flight.
 *
 * Layer: outbound.  c-ares is a network client like transport/, but what
 * it asks is SIP's (RFC 3263 over struct cfg_proxy, config layer), so it
 * sits here, below flow.c, its only user. */
#ifndef SIPKEEP_OUTBOUND_RESOLVE_H
#define SIPKEEP_OUTBOUND_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "core/rand.h"

#define RESOLVE_MAX_TARGETS 16
#define RESOLVE_WHY_MAX 160
#define RESOLVE_TTL_MIN_S 5u
#define RESOLVE_TTL_MAX_S 86400u
/* After a failed refresh, the last good answer serves this long before
 * DNS is asked again. */
#define RESOLVE_RETRY_S 30u

/* Transports a caller can use (a mask). */
enum {
    RESOLVE_UDP = 1u << 0,
    RESOLVE_TCP = 1u << 1,
    RESOLVE_TLS = 1u << 2,
};

struct resolver;

struct resolver_params {
    struct loop *loop;
    struct rand_src rng;        /* RFC 2782 weights; next == NULL: kernel */
    const char *resolv_conf;    /* NULL: /etc/resolv.conf */
    uint16_t dns_port;          /* 0: 53 (tests: a fake server's port) */
    unsigned timeout_ms;        /* per try; 0: 2000 */
    unsigned tries;             /* 0: 2 */
};

/* Returns 0 and *out, -ENOMEM, or -EIO (c-ares could not start; logged). */
int resolver_new(struct resolver **out, const struct resolver_params *p);
/* Cancels every query (no waiter is called) and frees.  NULL is fine. */
void resolver_free(struct resolver *r);

/* Kept in every flow (10,000 per daemon): the address in 28 bytes. */
struct resolve_target {
    union sockaddr_ip addr;      /* AF_INET or AF_INET6 */
    socklen_t len;
    enum cfg_transport transport;
    uint32_t rank;               /* lower is preferred: the SRV priority; 0
                                    for a literal and A/AAAA of the name */
    char why[RESOLVE_WHY_MAX];   /* "literal", "a/aaaa", "srv prio 10 ..." */
};

struct resolve_entry;
struct resolve_req;
/* A resolution the caller waited for has ended: err 0 (call resolve_get
 * again: it answers at once) or -EHOSTUNREACH with a one-line reason.
 * May free the object embedding q. */
typedef void (*resolve_cb)(struct resolve_req *q, int err, const char *why);

/* A waiting caller; embedded in its owner, zero-initialised. */
struct resolve_req {
    resolve_cb cb;
    struct resolve_req *next;
    struct resolve_entry *e;    /* non-NULL while waiting */
};

/* Target *n of p's list into *t.  Returns 0 (a literal, or a cached
 * answer, possibly expired and then refreshed in the background),
 * -EINPROGRESS (q waits; cb is called from the loop, never from inside
 * this call), -EINVAL (a bad literal, no resolver for a name, a transport
 * not in mask), -ENOMEM.  When *n is past the end of the list, it is set
 * to 0 and the name is resolved again first (failover starts over on a
 * fresh answer).  mask: RESOLVE_* transports the caller can use.  why
 * gets a one-line reason on errors. */
int resolve_get(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned *n,
                struct resolve_target *t, struct resolve_req *q, resolve_cb cb, char *why,
                size_t whysz);
/* Stops q waiting (no-op when it is not). */
void resolve_cancel(struct resolve_req *q);

/* A flow could not use target t of p (connect, TLS, REGISTER timeout, or
 * it died): for RESOLVE_FAILED_S, resolve_get skips that address for every
 * flow of p, as long as a later target of the list is not so marked
 * (a new phone's flow does not try the edge that just died first).  No-op
 * for literals and for targets not in the current answer. */
#define RESOLVE_FAILED_S 30u
void resolve_mark_failed(struct resolver *r, const struct cfg_proxy *p, unsigned mask,
                         const struct resolve_target *t);

/* Failback (issue 12 item 3): the first target of p's current answer
 * that ranks before cur (a higher SRV priority) and has not failed
 * within RESOLVE_FAILED_S, into *t and its index into *n: 0, or -ENOENT
 * (none, a literal, nothing cached).  spread > 0 (resolve_home): only
 * among the addresses of that flow's home target.  Resolves nothing. */
int resolve_better(struct resolver *r, const struct cfg_proxy *p, unsigned mask,
                   const struct resolve_target *cur, unsigned spread, unsigned *n,
                   struct resolve_target *t);

/* services[].flows: where the k-th flow of one proxy starts, so that its
 * flows go to distinct targets when the answer has them: the index of
 * the first address of the (k mod D)-th of the answer's D distinct
 * targets (an SRV record's target, in the answer's order).  0 and *n, or
 * -ENOENT (a literal, nothing cached).  Resolves nothing. */
int resolve_home(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned k,
                 unsigned *n);

/* After a reload: frees the cache entries of proxies that no service of
 * cfg lists (a flow of a retired binding that still asks gets a new one),
 * except those a caller waits on; one whose query runs is freed when it
 * ends, unless resolve_get asked for it meanwhile.  Returns how many were
 * freed now.  NULL r is fine. */
size_t resolve_prune(struct resolver *r, const struct cfg *cfg);

/* Target n of p's current answer into *t, without resolving or
 * refreshing anything: 0, or -ENOENT (a literal, nothing cached, n past
 * the end).  For Happy Eyeballs (flow.c), which looks ahead in the list. */
int resolve_peek(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned n,
                 struct resolve_target *t);

/* The smallest TTL of the answer records of type `type` in a DNS
 * message (c-ares' parsers do not give SRV's and NAPTR's).  Bounded by
 * alen; returns 0 and *ttl, or -EBADMSG (malformed) / -ENOENT (none).
 * Exposed for tests and the fuzz target. */
int resolve_min_ttl(const unsigned char *abuf, size_t alen, unsigned type, uint32_t *ttl);

/* RFC 2782 order of n SRV-like records (priority, weight) in place:
 * ascending priority, and within one priority the weighted random
 * selection (weight-0 records first in the running sum), one draw from
 * rng per pick.  idx receives the permutation (idx[k] = original index);
 * n <= RESOLVE_MAX_TARGETS.  Pure but for rng; exposed for tests. */
void resolve_srv_order(const uint16_t *prio, const uint16_t *weight, size_t n,
                       const struct rand_src *rng, size_t *idx);

#endif
