/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.h - one RFC 5626 flow: a persistent TCP or TLS connection from
 * sipkeep (acting as the UA) to one edge proxy, with CRLF keep-alives,
 * failure detection and recovery; or, for a transport=udp proxy, one
 * connected UDP socket with STUN (or SIP OPTIONS) keep-alives and
 * retransmission of sipkeep's own requests (outbound/flow_udp.h).
 *
 * The flow owns its stream and its timers.  Its owner (a registration
 * binding) owns the flow and does the SIP: on on_ready it sends the REGISTER
 * (flow_send), and reports the outcome with flow_registered() or
 * flow_register_failed_after().  States:
 *
 *   IDLE --flow_start--> CONNECTING --connected--> REGISTERING
 *   REGISTERING --flow_registered--> ACTIVE (keep-alives run)
 *   any --failure--> BACKOFF --timer--> CONNECTING ...   (RFC 5626 §4.5)
 *
 * A flow is "working" (§4.5) once it is ACTIVE and, when pongs are expected,
 * one pong came back; flow_working() tells.  Failure of the connection, a
 * missing pong (§4.4.1), a failed registration or flow_fail() all count as
 * a consecutive failure; the back-off before the next attempt follows
 * §4.5: W = min(max, base * 2^n), then a random 50-100 % of W, where n is
 * the Appendix A row: the number of failed attempts to (re)form the flow
 * since it last worked.  The death of a working flow is a failure but not
 * a failed attempt, so the first retry after it is immediate (row 0: 0 s)
 * and each further failure moves one row down (30-60 s, 1-2 min, ...).  At
 * boot the first attempt is the immediate one, so its failure waits 30-60 s
 * (§4.5: "when the UA boots, it immediately tries to register.  If this
 * fails ..., the first retry happens somewhere between 30 and 60 seconds").
 *
 * A retry (any attempt after a failure) also waits for its slot in the
 * connection rate of its edge address (outbound/pacer.h,
 * recovery.connect_rate): the flow is CONNECTING meanwhile, with the
 * target chosen.  The burst lets a lone failure through at once; a storm
 * of them is spread.  A Retry-After from an edge (flow_register_failed_after,
 * flow_register_retry_after) holds every paced retry to that address
 * until it has passed, and the owner holds the REGISTERs of the working
 * flows there by it too (regagent.h).
 *
 * A TLS edge's certificate within 14 days of its notAfter is logged
 * (tls_cert_expiring) once a day per edge address and server name, the
 * pacer's entry of the edge keeping when (flow_info's peer_cert_expiry
 * stays per flow).
 *
 * Callbacks run from the event loop.  Every callback may call any flow_*
 * function on its flow, including flow_free(): on_down runs after the
 * back-off timer is armed, with the flow's state settled (FLOW_BACKOFF).
 */
#ifndef SIPKEEP_OUTBOUND_FLOW_H
#define SIPKEEP_OUTBOUND_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/rand.h"
#include "core/stats.h"
#include "outbound/resolve.h"

/* RFC 5626 §4.4.1: without Flow-Timer, keep-alives every 95-120 s. */
#define FLOW_KA_DEFAULT_MIN_MS 95000u
#define FLOW_KA_DEFAULT_MAX_MS 120000u
/* §4.5 defaults (seconds). */
#define FLOW_BACKOFF_BASE_ALL_FAILED 30u
#define FLOW_BACKOFF_BASE_NOT_FAILED 90u
#define FLOW_BACKOFF_MAX 1800u

enum flow_state {
    FLOW_IDLE,
    FLOW_CONNECTING,   /* transport connecting / TLS handshake */
    FLOW_REGISTERING,  /* transport up, REGISTER outstanding */
    FLOW_ACTIVE,       /* registered; keep-alives running */
    FLOW_BACKOFF,      /* failed; waiting before the next attempt */
};

struct flow;
struct pacer;

struct flow_cbs {
    /* The transport is up (first time or after recovery): send the
     * REGISTER now.  local is the connection's local address (Via). */
    void (*on_ready)(struct flow *f, const struct sockaddr_storage *local, void *arg);
    /* One complete SIP message received on the flow (valid during the
     * call only). */
    void (*on_message)(struct flow *f, const char *msg, size_t len, void *arg);
    /* The flow failed (reason is a one-line text); a new attempt is
     * scheduled after the back-off.  Informational. */
    void (*on_down)(struct flow *f, const char *reason, void *arg);
    /* Optional: whether another flow of the same binding is working right
     * now; chooses the §4.5 base time.  NULL: treated as "none". */
    bool (*others_working)(const struct flow *f, void *arg);
};

/* Recovery parameters (seconds), from the config or the defaults above. */
struct flow_recovery {
    unsigned base_all_failed;
    unsigned base_not_failed;
    unsigned max_time;
};

/* Pacing of retries per edge address (pacer.h, recovery.connect_rate). */
struct flow_pacing {
    struct pacer *pacer; /* shared by the flows; NULL: no pacing */
    unsigned rate;       /* new connections per second per edge, 0: none */
    unsigned burst;      /* of which this many at once */
};

struct flow_params {
    struct loop *loop;
    const struct cfg_proxy *proxy;      /* must outlive the flow */
    unsigned reg_id;                    /* 1-based, for logs */
    SSL_CTX *tls;                       /* required when proxy is TLS; the
                                           flow holds its own reference */
    struct cfg_keepalive keepalive;     /* interval (0 = auto), pong timeout
                                           (seconds; 0 means 10, §4.4.1) */
    struct flow_recovery recovery;
    struct rand_src rng;                /* jitter; next == NULL: the kernel's */
    const struct flow_cbs *cbs;         /* referenced, must outlive the flow */
    void *arg;
    struct sk_stats *stats;             /* counters (keep-alives, messages,
                                           recoveries, timeouts); may be NULL */
    struct resolver *resolver;          /* where a proxy's name leads
                                           (resolve.h); NULL: literals only */
    unsigned spread;                    /* services[].flows: this is the
                                           proxy's k-th flow (0: first); it
                                           starts on the k-th distinct target
                                           (resolve_home) and fails back
                                           only there */
    struct flow_pacing pacing;          /* zero: retries not paced */
};

/* Creates an IDLE flow.  Returns 0, -EINVAL (missing callbacks, TLS proxy
 * without a context) or -ENOMEM. */
int flow_new(struct flow **out, const struct flow_params *p);
/* Closes the connection, cancels timers and frees.  NULL is fine. */
void flow_free(struct flow *f);

/* Starts connecting now (IDLE or BACKOFF, or a flow whose failure could
 * not be scheduled for want of memory; a no-op in other states).  The
 * target is the proxy's RFC 3263 target number n (resolve.h: a literal is
 * its own; a name is resolved without blocking, the flow waiting
 * CONNECTING); every failure of an attempt or of the flow moves n to the
 * next target for the next attempt (failover; past the list's end the
 * name is resolved again and the list starts over).  A failure to resolve
 * or to open the socket is reported through on_down from the loop, never
 * from inside this call. */
void flow_start(struct flow *f);

/* Sends bytes on the flow's connection.  Returns 0, -ENOTCONN when the
 * transport is not up (anything but REGISTERING or ACTIVE), or the
 * stream's error; -ENOBUFS (the proxy is not reading) also fails the flow,
 * reported from the loop.  While REGISTERING, each send restarts the 32 s
 * registration timeout (RFC 3261 Timer F runs per REGISTER transaction, so
 * a REGISTER resent after a 401 gets its own). */
int flow_send(struct flow *f, const void *buf, size_t len);

/* The REGISTER on this flow got a 2xx (ignored unless REGISTERING or
 * ACTIVE).  outbound: the response carried Require: outbound (§4.2.1), so
 * keep-alives are mandatory and a missing pong is a failure.  Without it,
 * CRLF pings are still sent (RFC 3261 §7.5) but a missing pong is a
 * failure only once this proxy has been seen to pong (remembered across
 * reconnects); a warning `outbound_unsupported` is logged once per flow.
 * flow_timer_s: the Flow-Timer value, 0 when absent.  Arms the keep-alive
 * timer: with Flow-Timer, each interval a random 80-100 % of it (§4.4);
 * without, 80-100 % of the configured interval, else 95-120 s (§4.4.1).
 * Also used for refreshes: takes the new values, and brings the next ping
 * forward if the new interval ends sooner (never postpones it). */
void flow_registered(struct flow *f, bool outbound, unsigned flow_timer_s);

/* UDP flows.  flow_registered() arms STUN keep-alives (RFC 5626 §4.4.2)
 * only with an explicit indication that the first hop supports them
 * (§4.4, §8): outbound in force, keepalive.udp: stun, or what the caller
 * found in the 2xx and gives here before flow_registered(): indicated
 * (";ob" on the first Path URI, RFC 6223 "keep" in the top Via; see
 * flow_udp_stun_indicated()) and keep_s (the keep value, the interval
 * when the 2xx has no Flow-Timer; 0: none).  Without an indication (or
 * with keepalive.udp: sip) the keep-alive is a SIP OPTIONS to the proxy at
 * the same interval, logged once per flow (udp_keepalive_sip).  Either
 * starts with one keep-alive at once, then every 80-100 % of Flow-Timer
 * (or keep, or keepalive.interval), else every 24-29 s; the flow works
 * (§4.5) once one is answered, and has failed when one is not (STUN:
 * RFC 5389 retransmissions, 39.5 s; OPTIONS: Timer F, 32 s), on a STUN
 * error response, or when the STUN mapped address changes.  No-op for
 * TCP/TLS flows' keep-alives. */
void flow_set_stun_hint(struct flow *f, bool indicated, unsigned keep_s);

/* As flow_send(), for a request sipkeep originates (its REGISTERs): on a
 * UDP flow it is retransmitted (RFC 3261 §17.1.2.2 Timer E, T1 = 500 ms
 * doubling to T2 = 4 s) until a response with its top Via branch arrives,
 * and Timer F (32 s) fails the flow; -EBADMSG for a buffer that is not a
 * request with a Via branch.  On TCP/TLS exactly flow_send(). */
int flow_send_own(struct flow *f, const void *buf, size_t len);

/* Failback (issue 12 item 3), for the owner to call after a successful
 * re-registration: when the proxy's current answer has a target of a
 * higher SRV priority than the one in use (resolve_better: not failed in
 * the last RESOLVE_FAILED_S), a connection to it is opened beside the
 * working one (connect-before-break).  Once it connects (TLS verified),
 * the old connection is closed and the flow is REGISTERING on the new
 * one (on_ready; a brief gap until that REGISTER's 2xx, the registrar
 * replacing the binding of the same reg-id); if it fails, nothing changes
 * but the target's failed mark.  Returns true when an attempt started.
 * Only TCP/TLS flows to TCP/TLS targets (a UDP flow has no connection to
 * make first: false). */
bool flow_failback(struct flow *f);

/* The registration attempt on this flow failed (non-2xx final response or
 * timeout): counts as a failure; the flow is closed and retried after the
 * back-off; on_down is called before this returns; no-op unless
 * REGISTERING or ACTIVE.  retry_after_s: the response's Retry-After
 * (RFC 3261 §20.33; e.g. a 503, §21.5.4) in seconds, < 0: none.  The
 * value may lengthen the §4.5 back-off, also beyond recovery.max_time (the server knows best; at most a
 * day, against bogus values), but never shortens it, except
 * "Retry-After: 0": the next attempt starts at once (resolving the proxy's
 * name again, as every attempt does).  Granted once in a row: if that
 * immediate attempt fails too, the back-off applies, so a server always
 * answering "Retry-After: 0" cannot make the flow spin. */
void flow_register_failed_after(struct flow *f, const char *reason, int64_t retry_after_s);

/* A refresh on an ACTIVE flow was answered with an error that says
 * nothing about the flow (503, 500, 480, 408: RFC 5626 §4.2.2, the
 * registrar has a problem, the connection does not): the flow stays up,
 * keep-alives go on (a missing pong still fails it), and on_ready is
 * called again after the wait, for the owner to re-send its REGISTER.  The
 * wait is retry_after_s seconds when > 0 (up to a day), else the §4.5
 * back-off for the number of such errors in a row (30-60 s, then 1-2 min,
 * ...); retry_after_s == 0 re-sends at once for the first error in a row
 * only.  A 2xx (flow_registered) or the owner's own REGISTER sent
 * meanwhile (flow_send_own) cancels the wait; a 2xx resets the count.  In
 * any other state this is flow_register_failed_after(). */
void flow_register_retry_after(struct flow *f, const char *reason, int64_t retry_after_s);

/* The REGISTER on a REGISTERING flow was answered with a challenge that
 * only the UA can answer: the registration timeout stops and the
 * connection stays, waiting for the owner's next REGISTER (flow_send
 * re-arms the timeout).  Not a failure.  No-op in other states. */
void flow_register_hold(struct flow *f);

/* Declares the flow failed for another reason (e.g. 430 Flow Failed).
 * on_down is called before this returns.  No-op in IDLE and BACKOFF. */
void flow_fail(struct flow *f, const char *reason);
/* Sends a keep-alive ping at once (from the loop; the regular schedule
 * resumes after it), to check a flow suspected dead, e.g. after a 430 Flow
 * Failed answered a request sent on it (RFC 5626 §11.5).  With a pong
 * expected, a missing one fails the flow as any missing pong does.  No-op
 * unless ACTIVE. */
void flow_ping_now(struct flow *f);

enum flow_state flow_state(const struct flow *f);
/* §4.5: registered and, when pongs are expected, one pong seen since. */
bool flow_working(const struct flow *f);
unsigned flow_reg_id(const struct flow *f);
const struct cfg_proxy *flow_proxy(const struct flow *f);
/* The transport of the current (or last) target: the proxy's configured
 * one until a name's NAPTR/SRV picks another. */
enum cfg_transport flow_transport(const struct flow *f);
/* The current attempt's target (address, transport, why it was chosen), or
 * NULL while none (not started, resolving, or between attempts). */
const struct resolve_target *flow_target(const struct flow *f);
/* Re-points the flow to p, an equal copy of its proxy from a reloaded
 * config (cfg_service_equal), so the old config can be freed; p must
 * outlive the flow.  Changes nothing on the wire. */
void flow_set_proxy(struct flow *f, const struct cfg_proxy *p);
/* The local address of the current connection; -ENOTCONN when down. */
int flow_local_addr(const struct flow *f, struct sockaddr_storage *out);

/* A read-only snapshot for status output. */
struct flow_info {
    enum flow_state state;
    uint64_t since_ms;       /* time spent in this state so far */
    int64_t rtt_ms;          /* last keep-alive ping->pong time, -1: none yet
                                (kept across reconnects: the proxy's last) */
    unsigned flow_timer;     /* Flow-Timer of the last 2xx, 0: none */
    unsigned failures;       /* as flow_consecutive_failures() */
    int64_t retry_in_ms;     /* BACKOFF: time until the next attempt; ACTIVE
                                after a refresh error: until the REGISTER is
                                sent again; CONNECTING paced: until its slot
                                (pacer.h); else -1 */
    int64_t pong_age_ms;     /* since the last pong on this connection, -1:
                                none yet */
    int64_t peer_cert_expiry; /* TLS: notAfter of the edge's certificate on
                                 this connection, seconds since the epoch
                                 (UTC); 0: none (not TLS, not connected) */
};

/* Fills *out for f at the loop's current time. */
void flow_get_info(const struct flow *f, struct flow_info *out);

/* The §4.5 wait in ms for Appendix A row `failures` (the number of failed
 * attempts, see the top of this file; 0 gives 0), with `others_working`
 * choosing the base time, and r a uniform random 32-bit value picking
 * 50-100 % of W (0: 50 %, UINT32_MAX: 100 %).  Pure function, exposed for
 * tests. */
uint64_t flow_backoff_ms(const struct flow_recovery *rc, unsigned failures,
                         bool others_working, uint32_t r);

/* The next keep-alive interval in ms (see flow_registered), r as above. */
uint64_t flow_keepalive_ms(const struct cfg_keepalive *ka, unsigned flow_timer_s,
                           uint32_t r);

/* "idle", "connecting", ... for logs and status. */
const char *flow_state_name(enum flow_state s);

#endif
