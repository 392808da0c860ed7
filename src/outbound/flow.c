/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.c - one RFC 5626 flow to one edge proxy: connect, keep alive,
 * detect failure, back off, reconnect.  See flow.h. */
#include "outbound/flow.h"
#include "outbound/flow_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/rand.h"
#include "outbound/flow_udp.h"
#include "outbound/pacer.h"
#include "transport/stream.h"

/* RFC 3261 §17.1.2.2 Timer F = 64*T1: a REGISTER transaction gives up after
 * 32 s without a final response. */
#define FLOW_REG_TIMEOUT_MS (64u * 500u)
/* §4.4.1: "If a pong is not received within 10 seconds after sending a ping
 * ... the client MUST treat the flow as failed." */
#define FLOW_PONG_TIMEOUT_DEFAULT_S 10u
/* See on_pong_timer(): the pause that lets the loop read once more. */
#define FLOW_PONG_GRACE_MS 1u
/* The longest Retry-After obeyed (a day): RFC 3261 §20.33 lets a server
 * ask for more than recovery.max_time and sipkeep honours that, but a
 * malformed or hostile value must not park a flow for years. */
#define FLOW_RETRY_AFTER_MAX_S 86400u
/* Failure reasons: the stream's own are up to 200 bytes.  A deferred one
 * is kept in the flow (10,000 flows per daemon), so it is shorter. */
#define FLOW_WHY_MAX 256
#define FLOW_DEFER_MAX 128
/* Warn this long before the edge's certificate expires (issue 12), at most
 * once a day per edge address and server name, however many flows go there
 * (checked at each handshake and each REGISTER 2xx). */
#define FLOW_CERT_WARN_S (14 * 86400)
#define FLOW_CERT_REWARN_MS (86400u * 1000u)
/* RFC 8305 §5: the Connection Attempt Delay before the other family's
 * address of the same name is tried alongside (recommended 250 ms). */
#define FLOW_HE_DELAY_MS 250u

/* A second target of a flow (struct flow's alt). */
struct flow_alt {
    struct resolve_target t;
    unsigned n;                   /* its index in the target list */
};

struct flow {
    struct loop *loop;
    const struct cfg_proxy *proxy;
    unsigned reg_id;
    SSL_CTX *tls;                 /* own reference, or NULL for TCP */
    struct cfg_keepalive ka;
    struct flow_recovery rc;
    struct rand_src rng;
    const struct flow_cbs *cbs;
    void *arg;
    struct sk_stats *stats;       /* may be NULL */
    struct resolver *resolver;    /* names (RFC 3263); NULL: literals only */
    struct flow_pacing pace;      /* recovery pacing (pacer.h) */
    bool paced;                   /* CONNECTING: t_state is the pacing slot */
    bool slot_granted;            /* that slot came: the attempt goes */
    struct resolve_req rq;        /* CONNECTING: waiting for the resolver */
    struct resolve_target target; /* the current (or last) attempt's target */
    bool have_target;             /* target is this attempt's */
    unsigned target_n;            /* its index in the proxy's target list:
                                     the next attempt after a failure takes
                                     the next one (failover) */
    enum cfg_transport tr;        /* the target's transport */

    enum flow_state state;
    uint64_t state_since;         /* loop time of the last state change */
    struct stream *s;             /* TCP/TLS: non-NULL in CONNECTING..ACTIVE */
    struct flow_udp *u;           /* UDP: the same (flow_udp.h) */
    /* REGISTERING: registration timeout; BACKOFF: next attempt; any
     * other state: a failure noticed inside an owner's call (why[0]). */
    struct loop_timer t_state;
    struct loop_timer t_ka;       /* next ping (ACTIVE) */
    struct loop_timer t_pong;     /* pong deadline of the oldest ping */
    unsigned flow_timer;          /* Flow-Timer of the last 2xx, 0: none */
    unsigned failures;            /* consecutive, since the flow last worked */
    bool outbound;                /* last 2xx had Require: outbound */
    bool pong_seen;               /* this proxy has answered a ping (ever) */
    bool working;                 /* §4.5 success since the last failure */
    bool lost_working;            /* the current run of failures began
                                     with a working flow dying */
    bool pong_grace;              /* t_pong is in its grace period */
    bool warned_no_outbound;
    bool ping_out;                /* a ping awaits its pong (RTT) */
    bool retried_at_once;         /* the current attempt is a Retry-After: 0
                                     retry that skipped the back-off */
    bool stun_hint;               /* UDP: the last 2xx indicated STUN support */
    unsigned keep_s;              /* ... with an RFC 6223 keep value, 0: none */
    bool warned_udp_sip;
    bool reg_retry;               /* ACTIVE: t_state re-sends the REGISTER
                                     (flow_register_retry_after) */
    unsigned reg_errors;          /* refreshes answered with an error since
                                     the last 2xx (the §4.5 row of the wait) */
    uint64_t ping_sent;           /* loop time of that ping */
    int64_t rtt_ms;               /* last ping->pong time, -1: none */
    int64_t pong_at;              /* loop time of the last pong on this
                                     connection, -1: none */
    enum sk_down_cause down_cause; /* what failed it first since it worked */
    int64_t cert_expiry;          /* TLS: the edge certificate's notAfter (s
                                     since the epoch) on this connection, 0:
                                     none */
    /* Deferred failure reason (defer_failure), NULL for none: on the heap
     * only while one is on its way (10,000 idle flows per daemon), or
     * why_nomem. */
    char *why;
    /* Happy Eyeballs (RFC 8305), TCP/TLS while CONNECTING: the same name's
     * address of the other family, raced against target (IPv6 first) */
    bool he;                      /* a partner: t_he armed or s2 open */
    struct stream *s2;            /* its connection, once started */
    struct loop_timer t_he;       /* when to start it */
    /* Failback (flow_failback): a connection to a preferred target, opened
     * while the flow goes on over s; the flow moves to it once connected */
    struct stream *fb;
    /* The partner's target (while he) or the failback's (while fb is
     * open; opened only when ACTIVE, so after he_won), else NULL: on the
     * heap only while in use (10,000 idle flows per daemon), freed by
     * alt_drop and close_io. */
    struct flow_alt *alt;
    unsigned spread;              /* flow_params.spread */
    bool spread_done;             /* the first attempt took its home */
};

static void on_state_timer(struct loop_timer *t);
static void on_ka_timer(struct loop_timer *t);
static void on_pong_timer(struct loop_timer *t);

/* ---- helpers ---- */

static bool is_udp(const struct flow *f)
{
    return f->tr == CFG_TRANSPORT_UDP;
}

/* The transports a target may have: TLS only for a proxy configured so
 * (sips: or transport=tls): its context and name checks come with that
 * configuration. */
static unsigned resolve_mask(const struct flow *f)
{
    return f->tls ? RESOLVE_TLS : RESOLVE_UDP | RESOLVE_TCP;
}

/* §4.4: a pong may be expected only with outbound in force or another
 * explicit indication; a proxy that has answered a ping before is one.  A
 * UDP flow's keep-alives are transactions (STUN or OPTIONS): a response is
 * always expected, and its absence is the transaction's failure. */
static bool expect_pong(const struct flow *f)
{
    return is_udp(f) || f->outbound || f->pong_seen;
}

static unsigned pong_timeout_s(const struct flow *f)
{
    return f->ka.pong_timeout ? f->ka.pong_timeout : FLOW_PONG_TIMEOUT_DEFAULT_S;
}

static bool others_working(const struct flow *f)
{
    return f->cbs->others_working && f->cbs->others_working(f, f->arg);
}

/* Every state change goes through here, so status can tell how long a
 * flow has been in its state. */
static void set_state(struct flow *f, enum flow_state s)
{
    f->state = s;
    f->state_since = loop_now(f->loop);
}

/* Closes the connection and disarms every timer. */
/* The name the edge's certificate must carry, sent as SNI: config's
 * tls_name (tls.server_name or the URI's host); a cfg_proxy built by hand
 * (tests) may leave it NULL. */
static const char *flow_tls_name(const struct flow *f)
{
    return f->proxy->tls_name ? f->proxy->tls_name : f->proxy->host;
}

/* The reason of a deferred failure whose own copy could not be made. */
static char why_nomem[] = "out of memory";

static void why_drop(struct flow *f)
{
    if (f->why != why_nomem)
        free(f->why);
    f->why = NULL;
}

static void alt_drop(struct flow *f)
{
    free(f->alt);
    f->alt = NULL;
}

static void close_io(struct flow *f)
{
    stream_free(f->s);
    f->s = NULL;
    stream_free(f->s2);
    f->s2 = NULL;
    stream_free(f->fb);
    f->fb = NULL;
    f->he = false;
    loop_timer_cancel(f->loop, &f->t_he);
    alt_drop(f);
    f->cert_expiry = 0;
    flow_udp_free(f->u);
    f->u = NULL;
    resolve_cancel(&f->rq);
    f->ping_out = false;
    f->reg_retry = false;
    f->reg_errors = 0;
    loop_timer_cancel(f->loop, &f->t_state);
    loop_timer_cancel(f->loop, &f->t_ka);
    loop_timer_cancel(f->loop, &f->t_pong);
    f->pong_grace = false;
    f->pong_at = -1;
    why_drop(f);
    f->paced = false;
    f->slot_granted = false;
}

/* §4.5 success: "outbound registration succeeded, and if keep-alives are
 * in use on this flow, at least one subsequent keep-alive response was
 * received". */
static void become_working(struct flow *f)
{
    if (f->failures > 0) {
        SK_STAT_INC(f->stats, flow_recoveries);
        SK_STAT_INC(f->stats, flow_recoveries_by_cause[f->down_cause]);
    }
    f->working = true;
    f->failures = 0;
    f->lost_working = false;
    f->retried_at_once = false;
    log_info("flow_working", "reg_id=%u proxy=%s pong_expected=%s", f->reg_id,
             f->proxy->uri, expect_pong(f) ? "yes" : "no");
}

/* The Appendix A row for the wait before the next attempt.  The table
 * counts failed attempts to (re)form the flow: the death of a working flow
 * is a failure (counted in f->failures) but not a failed attempt, so the
 * first retry after it is immediate (row 0); if that retry fails too the
 * wait is 30-60 s (row 1), and so on.  At boot no flow has worked: the
 * first attempt itself was the immediate one, so its failure is row 1 (§4.5:
 * "when the UA boots, it immediately tries to register.  If this fails
 * ..., the first retry happens somewhere between 30 and 60 seconds"). */
static unsigned backoff_row(const struct flow *f)
{
    return f->lost_working ? f->failures - 1 : f->failures;
}

/* The wait before the next attempt: the §4.5 back-off, which a server's
 * Retry-After (retry_after_s >= 0, else -1) may lengthen, up to max-time;
 * "Retry-After: 0" asks for a retry at once, granted once in a row so that
 * a server always saying 0 cannot make the flow spin. */
static uint64_t next_wait(struct flow *f, int64_t retry_after_s)
{
    uint64_t wait = flow_backoff_ms(&f->rc, backoff_row(f), others_working(f),
                                    rand_draw(&f->rng));
    bool at_once = retry_after_s == 0 && !f->retried_at_once;

    f->retried_at_once = at_once;
    if (at_once)
        return 0;
    /* A server's word beats recovery.max_time (RFC 3261 §20.33, §21.5.4:
     * retrying before it is pointless load on a registrar that said it is
     * down for that long). */
    if (retry_after_s > 0) {
        uint64_t ra = (uint64_t)retry_after_s < FLOW_RETRY_AFTER_MAX_S
                          ? (uint64_t)retry_after_s : FLOW_RETRY_AFTER_MAX_S;
        if (ra * 1000u > wait)
            wait = ra * 1000u;
    }
    return wait;
}

/* A Retry-After from the edge of the current target holds every paced
 * retry to that address until it has passed (pacer.h), not only this
 * flow's, and the REGISTERs of the flows working through it (regagent.c). */
static void hold_edge(struct flow *f, int64_t retry_after_s)
{
    uint64_t ra;

    if (!f->pace.pacer || !f->have_target || retry_after_s <= 0)
        return;
    ra = (uint64_t)retry_after_s < FLOW_RETRY_AFTER_MAX_S ? (uint64_t)retry_after_s
                                                           : FLOW_RETRY_AFTER_MAX_S;
    pacer_hold(f->pace.pacer, (const struct sockaddr *)&f->target.addr, loop_now(f->loop),
               loop_now(f->loop) + ra * 1000u);
}

/* Any failure: close, count, schedule the next attempt, tell the owner.
 * The owner is told last, with everything settled, so on_down may call
 * any flow_* function, including flow_free().  retry_after_s: a server's
 * Retry-After, -1 for none. */
static void flow_failed_after(struct flow *f, enum sk_down_cause cause, const char *why,
                              int64_t retry_after_s)
{
    char reason[FLOW_WHY_MAX];
    uint64_t wait;

    snprintf(reason, sizeof(reason), "%s", why); /* why may be f->why */
    if (f->failures == 0) {
        f->lost_working = f->working;
        f->down_cause = cause;
    }
    close_io(f);
    f->working = false;
    /* failover: the next attempt takes the next target of the list (past
     * its end the resolver starts over on a fresh answer) */
    if (f->have_target) {
        hold_edge(f, retry_after_s);
        resolve_mark_failed(f->resolver, f->proxy, resolve_mask(f), &f->target);
        f->target_n++;
        f->have_target = false;
    }
    if (f->failures < UINT_MAX)
        f->failures++;
    wait = next_wait(f, retry_after_s);
    set_state(f, FLOW_BACKOFF);
    if (loop_timer_set(f->loop, &f->t_state, wait) < 0)
        log_error("flow_stuck", "reg_id=%u proxy=%s reason=\"no memory for the retry timer\"",
                  f->reg_id, f->proxy->uri);
    log_warn("flow_down", "reg_id=%u proxy=%s reason=\"%s\" failures=%u retry_in_ms=%" PRIu64,
             f->reg_id, f->proxy->uri, reason, f->failures, wait);
    f->cbs->on_down(f, reason, f->arg);
}

static void flow_failed(struct flow *f, enum sk_down_cause cause, const char *why)
{
    flow_failed_after(f, cause, why, -1);
}

/* A failure noticed inside a call from the owner (or before a stream
 * exists) is reported from the loop, so that on_down never runs inside
 * flow_start() or flow_send(). */
static void defer_failure(struct flow *f, const char *why)
{
    if (f->why)
        return;
    f->why = strndup(why, FLOW_DEFER_MAX - 1);
    if (!f->why)
        f->why = why_nomem;
    if (loop_timer_set(f->loop, &f->t_state, 0) < 0)
        log_error("flow_stuck", "reg_id=%u proxy=%s reason=\"no memory for a timer: %s\"",
                  f->reg_id, f->proxy->uri, why);
}

/* ---- the stream's callbacks ---- */

/* The transport is up (TCP connected, TLS handshake done, UDP socket
 * ready): REGISTERING, and the owner sends its REGISTER. */
static void transport_up(struct flow *f, const struct sockaddr_storage *local, int err)
{
    char buf[ADDR_STR_MAX];

    set_state(f, FLOW_REGISTERING);
    if (err < 0 || loop_timer_set(f->loop, &f->t_state, FLOW_REG_TIMEOUT_MS) < 0) {
        defer_failure(f, "cannot arm the registration timer or read the local address");
        return;
    }
    log_info("flow_connected", "reg_id=%u proxy=%s local=%s", f->reg_id, f->proxy->uri,
             addr_format((const struct sockaddr *)local, true, buf, sizeof(buf)));
    f->cbs->on_ready(f, local, f->arg); /* last: it may free f */
}

/* The edge's certificate expires within FLOW_CERT_WARN_S (or has: only
 * with tls.verify false would such a handshake succeed).  Said once a day
 * per edge address and server name (the pacer's entry of the edge keeps
 * when): every flow to the edge sees the same certificate, and 10,000 of
 * them reconnecting would otherwise log 10,000 lines.  Without a pacer
 * (tests): at every check. */
static void check_cert_expiry(struct flow *f)
{
    int64_t now = (int64_t)time(NULL);
    time_t na = (time_t)f->cert_expiry;
    struct tm tm;
    char when[32] = "?";

    if (f->cert_expiry == 0 || f->cert_expiry - now > FLOW_CERT_WARN_S ||
        (f->have_target &&
         !pacer_note_once(f->pace.pacer, (const struct sockaddr *)&f->target.addr,
                          flow_tls_name(f), loop_now(f->loop), FLOW_CERT_REWARN_MS)))
        return;
    if (gmtime_r(&na, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    log_warn("tls_cert_expiring", "reg_id=%u proxy=%s server_name=%s not_after=%s "
             "days_left=%" PRId64, f->reg_id, f->proxy->uri, flow_tls_name(f), when,
             (f->cert_expiry - now) / 86400);
}

static void he_won(struct flow *f, struct stream *s);
static bool he_lost(struct flow *f, struct stream *s, const char *reason);
static void fb_connected(struct flow *f);
static void fb_lost(struct flow *f, const char *reason);

static void st_connected(struct stream *s, void *arg)
{
    struct sockaddr_storage local;
    struct flow *f = arg;

    if (f->tls) {
        SK_STAT_INC(f->stats, tls_handshakes);
        if (stream_tls_resumed(s))
            SK_STAT_INC(f->stats, tls_resumed);
    }
    if (s == f->fb) {
        fb_connected(f);
        return;
    }
    if (f->he)
        he_won(f, s);
    if (f->tls && stream_peer_cert_expiry(s, &f->cert_expiry) < 0)
        f->cert_expiry = 0;
    check_cert_expiry(f);
    transport_up(f, &local, stream_local_addr(s, &local));
}

static void st_message(struct stream *s, const char *msg, size_t len, void *arg)
{
    struct flow *f = arg;

    if (s && s == f->fb)
        return; /* nothing is sent on it before it is the flow's */
    SK_STAT_INC(f->stats, msg_flow_in);
    f->cbs->on_message(f, msg, len, f->arg); /* last: it may free f */
}

/* A keep-alive was answered; rtt_ms < 0: unknown. */
static void got_pong(struct flow *f, int64_t rtt_ms)
{
    if (rtt_ms >= 0)
        f->rtt_ms = rtt_ms;
    f->pong_seen = true;
    f->pong_at = (int64_t)loop_now(f->loop);
    f->pong_grace = false;
    loop_timer_cancel(f->loop, &f->t_pong);
    if (f->state == FLOW_ACTIVE && !f->working)
        become_working(f);
}

static void st_pong(struct stream *s, void *arg)
{
    struct flow *f = arg;
    int64_t rtt = f->ping_out ? (int64_t)(loop_now(f->loop) - f->ping_sent) : -1;

    if (s == f->fb)
        return;
    f->ping_out = false;
    got_pong(f, rtt);
}

static void st_close(struct stream *s, int err, const char *reason, void *arg)
{
    struct flow *f = arg;

    (void)err;
    if (s == f->fb) {
        fb_lost(f, reason);
        return;
    }
    if (f->he && he_lost(f, s, reason))
        return; /* the other attempt goes on */
    stream_free(s);
    f->s = NULL;
    flow_failed(f, SK_DOWN_CONNECTION, reason);
}

static const struct stream_cbs flow_stream_cbs = {
    .on_connected = st_connected,
    .on_message = st_message,
    .on_pong = st_pong,
    .on_close = st_close,
};

/* ---- the UDP half's callbacks (flow_udp.h) ---- */

static void u_connected(const struct sockaddr_storage *local, void *arg)
{
    transport_up(arg, local, 0);
}

static void u_message(const char *msg, size_t len, void *arg)
{
    st_message(NULL, msg, len, arg);
}

static void u_pong(int64_t rtt_ms, void *arg)
{
    got_pong(arg, rtt_ms);
}

/* flow_udp does not say what failed: by the state it failed in. */
static void u_fail(const char *reason, void *arg)
{
    struct flow *f = arg;

    flow_failed(f, f->state == FLOW_REGISTERING ? SK_DOWN_REGISTER
                   : f->state == FLOW_ACTIVE    ? SK_DOWN_KEEPALIVE
                                                : SK_DOWN_CONNECTION, reason);
}

static const struct flow_udp_cbs flow_udp_cbs = { u_connected, u_message, u_pong, u_fail };

static int open_stream(struct flow *f, struct stream **out, const union sockaddr_ip *dst,
                       socklen_t len)
{
    /* dst may be any target the proxy's name led to; the certificate is
     * checked against the configured name all the same (RFC 5922 §4). */
    return stream_open(out, f->loop, (const struct sockaddr *)dst, len, f->tls,
                       f->tls ? flow_tls_name(f) : NULL, &flow_stream_cbs, f);
}

static int open_transport(struct flow *f, const union sockaddr_ip *dst, socklen_t len)
{
    struct flow_udp_params up = { f->loop, f->proxy, f->reg_id, f->rng,
                                  &flow_udp_cbs, f, f->stats };

    if (is_udp(f))
        return flow_udp_open(&f->u, &up, (const struct sockaddr *)dst, len);
    return open_stream(f, &f->s, dst, len);
}

/* ---- Happy Eyeballs (RFC 8305) ---- */

/* Before a TCP/TLS attempt: the first later target of the list that came
 * from the same name (same `why`), with the same transport and the other
 * family, becomes the partner; of the two, the IPv6 one is tried first
 * (§4: IPv6 preferred) and the IPv4 one FLOW_HE_DELAY_MS later unless the
 * first has connected or failed by then. */
static void he_plan(struct flow *f)
{
    struct resolve_target t;

    f->he = false;
    if (is_udp(f) || !f->resolver)
        return;
    for (unsigned k = f->target_n + 1; k <= f->target_n + RESOLVE_MAX_TARGETS; k++) {
        if (resolve_peek(f->resolver, f->proxy, resolve_mask(f), k, &t) < 0)
            return;
        if (t.transport != f->target.transport || strcmp(t.why, f->target.why) != 0)
            return; /* another name, SRV target or transport: failover's */
        if (t.addr.sa.sa_family == f->target.addr.sa.sa_family)
            continue;
        if (!f->alt && !(f->alt = malloc(sizeof(*f->alt))))
            return; /* no memory: the first attempt goes on alone */
        f->he = true;
        f->alt->t = t;
        f->alt->n = k;
        if (t.addr.sa.sa_family == AF_INET6) { /* IPv6 first */
            f->alt->t = f->target;
            f->alt->n = f->target_n;
            f->target = t;
            f->target_n = k;
        }
        return;
    }
}

/* The partner's attempt, now (the delay is over or the first failed). */
static int he_start(struct flow *f)
{
    char buf[ADDR_STR_MAX];
    int err = open_stream(f, &f->s2, &f->alt->t.addr, f->alt->t.len);

    if (err < 0) {
        f->s2 = NULL;
        f->he = false;
        alt_drop(f);
        return err;
    }
    log_info("flow_happy_eyeballs", "reg_id=%u proxy=%s addr=%s after_ms=%" PRIu64,
             f->reg_id, f->proxy->uri,
             addr_format((const struct sockaddr *)&f->alt->t.addr, true, buf, sizeof(buf)),
             loop_now(f->loop) - f->state_since);
    return 0;
}

static void on_he_timer(struct loop_timer *t)
{
    struct flow *f = container_of(t, struct flow, t_he);

    if (f->he && !f->s2 && f->state == FLOW_CONNECTING && he_start(f) < 0)
        log_debug("flow_happy_eyeballs_failed", "reg_id=%u proxy=%s", f->reg_id,
                  f->proxy->uri);
}

/* The partner's stream takes the flow's place (and its target, so that
 * status and failover see the address in use). */
static void he_adopt(struct flow *f)
{
    f->s = f->s2;
    f->s2 = NULL;
    f->target = f->alt->t;
    f->target_n = f->alt->n;
    alt_drop(f);
}

/* s connected first: the other attempt is dropped. */
static void he_won(struct flow *f, struct stream *s)
{
    loop_timer_cancel(f->loop, &f->t_he);
    f->he = false;
    if (s == f->s2) {
        stream_free(f->s);
        he_adopt(f);
    } else {
        stream_free(f->s2);
        f->s2 = NULL;
        alt_drop(f);
    }
}

/* s failed before connecting: true when the other attempt goes on (it
 * is started at once if it was still waiting, §5; s is freed), false
 * when the flow has failed (s is left to the caller). */
static bool he_lost(struct flow *f, struct stream *s, const char *reason)
{
    char buf[ADDR_STR_MAX];
    bool first = s == f->s;

    log_info("flow_attempt_failed", "reg_id=%u proxy=%s addr=%s reason=\"%s\"", f->reg_id,
             f->proxy->uri,
             addr_format((const struct sockaddr *)(first ? &f->target.addr : &f->alt->t.addr),
                         true, buf, sizeof(buf)), reason);
    if (!first) {
        stream_free(s);
        f->s2 = NULL;
        f->he = false;
        alt_drop(f);
        return true;
    }
    loop_timer_cancel(f->loop, &f->t_he);
    if (!f->s2 && he_start(f) < 0)
        return false;
    stream_free(s);
    f->he = false;
    he_adopt(f);
    return true;
}

/* ---- failback (issue 12 item 3) ---- */

/* The preferred target connected (TCP, and the TLS handshake): the flow
 * moves to it and registers there (on_ready), the old connection closes
 * now.  The registrar replaces the binding of this instance-id and reg-id
 * with the new flow at that REGISTER (RFC 5626 §6); until its 2xx the
 * binding still names the closed connection. */
static void fb_connected(struct flow *f)
{
    struct stream *s = f->fb;
    struct resolve_target t = f->alt->t;
    unsigned n = f->alt->n;
    struct sockaddr_storage local;
    char buf[ADDR_STR_MAX];

    f->fb = NULL;
    close_io(f); /* the old connection and its timers */
    f->s = s;
    f->target = t;
    f->target_n = n;
    f->have_target = true;
    f->tr = t.transport;
    log_info("flow_failback", "reg_id=%u proxy=%s addr=%s target=\"%s\"", f->reg_id,
             f->proxy->uri, addr_format((const struct sockaddr *)&t.addr, true, buf, sizeof(buf)),
             t.why);
    if (f->tls && stream_peer_cert_expiry(s, &f->cert_expiry) < 0)
        f->cert_expiry = 0;
    check_cert_expiry(f);
    /* working stays set: if this REGISTER fails, the retry is at once
     * (§4.5 row 0), as for any working flow that died */
    transport_up(f, &local, stream_local_addr(s, &local));
}

/* The preferred target did not connect: the flow stays where it is, and
 * the target is marked failed (no new attempt for RESOLVE_FAILED_S). */
static void fb_lost(struct flow *f, const char *reason)
{
    char buf[ADDR_STR_MAX];

    log_info("flow_failback_failed", "reg_id=%u proxy=%s addr=%s reason=\"%s\"", f->reg_id,
             f->proxy->uri,
             addr_format((const struct sockaddr *)&f->alt->t.addr, true, buf, sizeof(buf)),
             reason);
    stream_free(f->fb);
    f->fb = NULL;
    resolve_mark_failed(f->resolver, f->proxy, resolve_mask(f), &f->alt->t);
    alt_drop(f);
}

/* ---- connecting ---- */

static void connect_now(struct flow *f);

/* Recovery pacing (pacer.h): a retry (a failure since the flow last
 * worked) waits for its slot at the target's address; true when it does
 * (t_state armed, still CONNECTING).  A slot that came goes, unless a
 * Retry-After hold arrived meanwhile: then a new slot after it. */
static bool pace_wait(struct flow *f)
{
    const struct sockaddr *a = (const struct sockaddr *)&f->target.addr;
    uint64_t now = loop_now(f->loop), d;
    bool granted = f->slot_granted;
    char buf[ADDR_STR_MAX];

    f->slot_granted = false;
    if (!f->pace.pacer || f->failures == 0 || f->pace.rate == 0)
        return false;
    if (granted && pacer_held_until(f->pace.pacer, a, now) == 0)
        return false;
    d = pacer_reserve(f->pace.pacer, a, f->pace.rate, f->pace.burst, now, rand_draw(&f->rng));
    if (d == 0 || loop_timer_set(f->loop, &f->t_state, d) < 0)
        return false; /* no timer: better at once than never */
    f->paced = true;
    log_debug("flow_paced", "reg_id=%u proxy=%s addr=%s wait_ms=%" PRIu64, f->reg_id,
              f->proxy->uri, addr_format(a, true, buf, sizeof(buf)), d);
    return true;
}

/* The resolver answered (or failed) while the flow waited in CONNECTING. */
static void on_resolved(struct resolve_req *q, int err, const char *why)
{
    struct flow *f = container_of(q, struct flow, rq);

    if (err < 0)
        flow_failed(f, SK_DOWN_CONNECTION, why); /* may free f */
    else
        connect_now(f);
}

/* One attempt to form the flow (§4.2, and §4.5 after a failure): the
 * proxy's target number target_n (resolve.h), then the connection.  A name
 * not resolved yet leaves the flow CONNECTING until the resolver answers;
 * the loop goes on meanwhile. */
static void connect_now(struct flow *f)
{
    char why[FLOW_WHY_MAX], buf[ADDR_STR_MAX];
    unsigned mask = resolve_mask(f);
    int err;

    set_state(f, FLOW_CONNECTING);
    f->have_target = false;
    why[0] = '\0';
    /* services[].flows: the k-th flow of a proxy starts on the answer's
     * k-th distinct target (once an answer is there) */
    if (f->spread > 0 && !f->spread_done && f->target_n == 0 &&
        resolve_home(f->resolver, f->proxy, mask, f->spread, &f->target_n) == 0)
        f->spread_done = true;
    err = resolve_get(f->resolver, f->proxy, mask, &f->target_n, &f->target, &f->rq,
                      on_resolved, why, sizeof(why));
    if (err == -EINPROGRESS) {
        log_debug("flow_resolving", "reg_id=%u proxy=%s", f->reg_id, f->proxy->uri);
        return;
    }
    if (err == 0) {
        f->have_target = true;
        f->tr = f->target.transport;
        if (pace_wait(f))
            return;
        he_plan(f);
        err = open_transport(f, &f->target.addr, f->target.len);
        if (err < 0 && f->he) { /* e.g. no IPv6 route: the partner at once */
            f->s = NULL;
            err = he_start(f);
            if (err == 0) {
                f->he = false;
                he_adopt(f);
            }
        } else if (err == 0 && f->he &&
                   loop_timer_set(f->loop, &f->t_he, FLOW_HE_DELAY_MS) < 0) {
            f->he = false; /* no race: the first attempt goes on alone */
            alt_drop(f);
        }
        if (err < 0)
            snprintf(why, sizeof(why), "cannot open a connection: %s", strerror(-err));
    }
    if (err < 0) {
        f->s = NULL;
        f->u = NULL;
        defer_failure(f, why);
        return;
    }
    log_info("flow_connecting", "reg_id=%u proxy=%s addr=%s tls=%s transport=%s target=\"%s\"",
             f->reg_id, f->proxy->uri,
             addr_format((const struct sockaddr *)&f->target.addr, true, buf, sizeof(buf)),
             f->tr == CFG_TRANSPORT_TLS ? "yes" : "no", cfg_transport_name(f->tr),
             f->target.why);
}

/* ---- timers ---- */

static void on_state_timer(struct loop_timer *t)
{
    struct flow *f = container_of(t, struct flow, t_state);

    if (f->why)
        flow_failed(f, f->state == FLOW_CONNECTING ? SK_DOWN_CONNECTION : SK_DOWN_OTHER, f->why);
    else if (f->state == FLOW_REGISTERING) {
        SK_STAT_INC(f->stats, reg_failed);
        flow_failed(f, SK_DOWN_REGISTER, "registration timed out (no final response within 32 s)");
    }
    else if (f->state == FLOW_BACKOFF)
        connect_now(f);
    else if (f->state == FLOW_CONNECTING && f->paced) {
        f->paced = false;
        f->slot_granted = true;
        connect_now(f);
    }
    else if (f->state == FLOW_ACTIVE && f->reg_retry) {
        struct sockaddr_storage local;

        f->reg_retry = false;
        if (flow_local_addr(f, &local) < 0) {
            flow_failed(f, SK_DOWN_OTHER, "cannot read the local address for the REGISTER retry");
            return;
        }
        log_info("flow_register_retry", "reg_id=%u proxy=%s errors=%u", f->reg_id,
                 f->proxy->uri, f->reg_errors);
        f->cbs->on_ready(f, &local, f->arg); /* last: it may free f */
    }
}

/* §4.4.1: ping with a double CRLF; with a pong expected, the oldest
 * unanswered ping's deadline runs (a newer ping does not push it back). */
static void on_ka_timer(struct loop_timer *t)
{
    struct flow *f = container_of(t, struct flow, t_ka);
    char why[FLOW_WHY_MAX];
    int err = stream_send_ping(f->s);

    if (err < 0) {
        snprintf(why, sizeof(why), "keep-alive send failed: %s", strerror(-err));
        flow_failed(f, SK_DOWN_CONNECTION, why);
        return;
    }
    SK_STAT_INC(f->stats, ka_sent);
    /* The RTT is timed from the oldest unanswered ping. */
    if (!f->ping_out) {
        f->ping_out = true;
        f->ping_sent = loop_now(f->loop);
    }
    if (expect_pong(f) && !loop_timer_armed(&f->t_pong)) {
        f->pong_grace = false;
        err = loop_timer_set(f->loop, &f->t_pong, (uint64_t)pong_timeout_s(f) * 1000u);
    }
    if (err == 0)
        err = loop_timer_set(f->loop, &f->t_ka,
                             flow_keepalive_ms(&f->ka, f->flow_timer, rand_draw(&f->rng)));
    if (err < 0)
        flow_failed(f, SK_DOWN_OTHER, "no memory for the keep-alive timers");
}

/* §4.4.1: no pong "within 10 seconds after sending a ping (or immediately
 * after processing any incoming message being received when that 10
 * seconds expires)" means failure.  When the deadline fires, bytes may
 * already wait in the socket (loop_run_once reads descriptors before it
 * runs timers, but only what was ready at its epoll_wait).  So the deadline
 * does not fail the flow itself: it arms a 1 ms grace timer, which the loop
 * cannot fire in the same pass (loop_run_timers fires only what was due
 * when it began), hence one more epoll_wait and read happen first; a pong
 * among those bytes cancels the grace.  Only then is the flow failed. */
static void on_pong_timer(struct loop_timer *t)
{
    struct flow *f = container_of(t, struct flow, t_pong);
    char why[FLOW_WHY_MAX];

    if (!f->pong_grace) {
        f->pong_grace = true;
        if (loop_timer_set(f->loop, &f->t_pong, FLOW_PONG_GRACE_MS) == 0)
            return;
    }
    snprintf(why, sizeof(why), "no pong within %u s of the keep-alive ping (RFC 5626 §4.4.1)",
             pong_timeout_s(f));
    SK_STAT_INC(f->stats, ka_lost);
    flow_failed(f, SK_DOWN_KEEPALIVE, why);
}

/* ---- public API ---- */

static int check_params(const struct flow_params *p)
{
    const struct flow_cbs *c = p->cbs;

    if (!p->loop || !p->proxy || !c || !c->on_ready || !c->on_message || !c->on_down)
        return -EINVAL;
    if (!p->proxy->host)
        return -EINVAL;
    if (p->proxy->transport == CFG_TRANSPORT_TLS && !p->tls)
        return -EINVAL;
    return 0;
}

int flow_new(struct flow **out, const struct flow_params *p)
{
    struct flow *f;

    if (!out || !p || check_params(p) < 0)
        return -EINVAL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->loop = p->loop;
    f->proxy = p->proxy;
    f->reg_id = p->reg_id;
    f->ka = p->keepalive;
    f->rc = p->recovery;
    f->rng = p->rng;
    f->cbs = p->cbs;
    f->arg = p->arg;
    f->stats = p->stats;
    f->resolver = p->resolver;
    f->spread = p->spread;
    f->pace = p->pacing;
    f->tr = p->proxy->transport;
    f->rtt_ms = -1;
    f->pong_at = -1;
    set_state(f, FLOW_IDLE);
    loop_timer_init(&f->t_state, on_state_timer);
    loop_timer_init(&f->t_ka, on_ka_timer);
    loop_timer_init(&f->t_pong, on_pong_timer);
    loop_timer_init(&f->t_he, on_he_timer);
    if (p->proxy->transport == CFG_TRANSPORT_TLS) {
        if (!SSL_CTX_up_ref(p->tls)) {
            free(f);
            return -ENOMEM;
        }
        f->tls = p->tls;
    }
    *out = f;
    return 0;
}

void flow_free(struct flow *f)
{
    if (!f)
        return;
    close_io(f);
    SSL_CTX_free(f->tls);
    free(f);
}

void flow_start(struct flow *f)
{
    /* stuck: a failure whose timer could not be armed (no memory) would
     * otherwise leave the flow CONNECTING for good */
    bool stuck = f->why && !loop_timer_armed(&f->t_state);

    if (f->state != FLOW_IDLE && f->state != FLOW_BACKOFF && !stuck)
        return;
    if (stuck)
        close_io(f);
    loop_timer_cancel(f->loop, &f->t_state);
    connect_now(f);
}

static bool transport_ready(const struct flow *f)
{
    return (f->s || f->u) && (f->state == FLOW_REGISTERING || f->state == FLOW_ACTIVE);
}

/* Drops a pending REGISTER retry of an ACTIVE flow (flow_register_retry_after),
 * unless a failure is already on its way (t_state is then the failure's). */
static void cancel_reg_retry(struct flow *f)
{
    if (f->reg_retry && !f->why) {
        f->reg_retry = false;
        loop_timer_cancel(f->loop, &f->t_state);
    }
}

/* own: a request sipkeep originates (retransmitted on UDP). */
static int send_any(struct flow *f, const void *buf, size_t len, bool own)
{
    int err;

    if (!transport_ready(f))
        return -ENOTCONN;
    /* The owner's own REGISTER makes a pending retry of it moot (a second
     * one would take its branch and orphan its answer). */
    if (own)
        cancel_reg_retry(f);
    if (f->u)
        err = own ? flow_udp_send_own(f->u, buf, len) : flow_udp_send(f->u, buf, len);
    else
        err = stream_send(f->s, buf, len);
    if (err == 0)
        SK_STAT_INC(f->stats, msg_flow_out);
    /* stream.h: -ENOBUFS means the proxy is not reading; other errors
     * reach us through on_close. */
    if (err == -ENOBUFS)
        defer_failure(f, "send queue full: the proxy is not reading");
    /* Timer F runs per REGISTER transaction (RFC 3261 §17.1.2.2): a
     * REGISTER resent after a challenge gets its own 32 s. */
    else if (err == 0 && f->state == FLOW_REGISTERING && !f->why &&
             loop_timer_set(f->loop, &f->t_state, FLOW_REG_TIMEOUT_MS) < 0)
        defer_failure(f, "no memory for the registration timer");
    return err;
}

int flow_send(struct flow *f, const void *buf, size_t len)
{
    return send_any(f, buf, len, false);
}

int flow_send_own(struct flow *f, const void *buf, size_t len)
{
    return send_any(f, buf, len, true);
}

static void warn_no_outbound(struct flow *f)
{
    if (f->warned_no_outbound)
        return;
    f->warned_no_outbound = true;
    log_warn("outbound_unsupported",
             "reg_id=%u proxy=%s detail=\"the registrar did not answer with Require: outbound "
             "(RFC 5626 §4.2.1); keep-alive pings are still sent, but until this proxy answers "
             "one with a pong a dead connection cannot be detected by them\"",
             f->reg_id, f->proxy->uri);
}

/* Arms the next ping; on a refresh only ever brings it forward, so that
 * frequent refreshes cannot postpone keep-alives forever. */
static int arm_keepalive(struct flow *f)
{
    uint64_t d = flow_keepalive_ms(&f->ka, f->flow_timer, rand_draw(&f->rng));

    if (loop_timer_armed(&f->t_ka) && f->t_ka.due_ms <= loop_now(f->loop) + d)
        return 0;
    return loop_timer_set(f->loop, &f->t_ka, d);
}

void flow_set_stun_hint(struct flow *f, bool indicated, unsigned keep_s)
{
    f->stun_hint = indicated;
    f->keep_s = keep_s;
}

/* UDP: STUN with an explicit indication that the first hop supports it
 * (§4.4, §8: outbound in force, ;ob on the Path, RFC 6223 keep, or the
 * keepalive.udp setting), else an OPTIONS that keeps the NAT binding open
 * with SIP itself.  Never CRLF (§4.4.1 is for connection-oriented
 * transports). */
static int arm_udp_keepalive(struct flow *f)
{
    bool stun = f->ka.udp == CFG_UDP_KA_STUN ||
                (f->ka.udp == CFG_UDP_KA_AUTO && (f->outbound || f->stun_hint));

    if (!stun && !f->warned_udp_sip) {
        f->warned_udp_sip = true;
        log_info("udp_keepalive_sip", "reg_id=%u proxy=%s detail=\"%s; keeping the NAT binding "
                 "open with SIP OPTIONS instead of STUN (RFC 5626 §4.4, §8)\"", f->reg_id,
                 f->proxy->uri, f->ka.udp == CFG_UDP_KA_SIP ? "keepalive.udp is sip"
                 : "no indication that the first hop supports STUN keep-alives");
    }
    return flow_udp_keepalive(f->u, stun, &f->ka, f->flow_timer ? f->flow_timer : f->keep_s);
}

void flow_registered(struct flow *f, bool outbound, unsigned flow_timer_s)
{
    if (f->state != FLOW_REGISTERING && f->state != FLOW_ACTIVE)
        return; /* a late answer on a flow that has failed since */
    f->outbound = outbound;
    f->flow_timer = flow_timer_s;
    if (!outbound && !is_udp(f)) /* UDP: udp_keepalive_sip says what matters */
        warn_no_outbound(f);
    f->reg_errors = 0;
    check_cert_expiry(f);
    cancel_reg_retry(f); /* a REGISTER of the owner's came first */
    if (f->state == FLOW_REGISTERING) {
        loop_timer_cancel(f->loop, &f->t_state);
        set_state(f, FLOW_ACTIVE);
        /* Without pongs to wait for, the registration is the success. */
        if (!expect_pong(f))
            become_working(f);
    }
    if (!expect_pong(f)) {
        loop_timer_cancel(f->loop, &f->t_pong); /* a refresh dropped outbound */
        f->pong_grace = false;
    }
    if ((f->u ? arm_udp_keepalive(f) : arm_keepalive(f)) < 0)
        defer_failure(f, "no memory for the keep-alive timer");
}

bool flow_failback(struct flow *f)
{
    struct resolve_target t;
    unsigned n;
    char buf[ADDR_STR_MAX];
    int err;

    /* UDP has no connection to make before the break (see flow.h) */
    if (f->state != FLOW_ACTIVE || f->why || f->reg_retry || f->fb || !f->have_target ||
        f->he || f->s2 || f->alt || is_udp(f) || /* (never in ACTIVE: alt is the partner's) */
        resolve_better(f->resolver, f->proxy, resolve_mask(f), &f->target, f->spread, &n,
                       &t) < 0 ||
        t.transport == CFG_TRANSPORT_UDP)
        return false;
    f->alt = malloc(sizeof(*f->alt));
    if (f->alt) {
        f->alt->t = t;
        f->alt->n = n;
    }
    err = f->alt ? open_stream(f, &f->fb, &t.addr, t.len) : -ENOMEM;
    if (err < 0) {
        f->fb = NULL;
        alt_drop(f);
        log_info("flow_failback_failed", "reg_id=%u proxy=%s reason=\"cannot open a "
                 "connection: %s\"", f->reg_id, f->proxy->uri, strerror(-err));
        return false;
    }
    log_info("flow_failback_trying", "reg_id=%u proxy=%s addr=%s from=\"%s\" to=\"%s\"",
             f->reg_id, f->proxy->uri,
             addr_format((const struct sockaddr *)&t.addr, true, buf, sizeof(buf)),
             f->target.why, t.why);
    return true;
}

void flow_register_failed(struct flow *f, const char *reason)
{
    if (f->state != FLOW_REGISTERING && f->state != FLOW_ACTIVE)
        return;
    flow_failed(f, SK_DOWN_REGISTER, reason ? reason : "registration failed");
}

void flow_register_failed_after(struct flow *f, const char *reason, int64_t retry_after_s)
{
    if (f->state != FLOW_REGISTERING && f->state != FLOW_ACTIVE)
        return;
    flow_failed_after(f, SK_DOWN_REGISTER, reason ? reason : "registration failed",
                      retry_after_s < 0 ? -1 : retry_after_s);
}

void flow_register_retry_after(struct flow *f, const char *reason, int64_t retry_after_s)
{
    uint64_t wait;

    if (f->state != FLOW_ACTIVE) {
        flow_register_failed_after(f, reason, retry_after_s);
        return;
    }
    if (f->why)
        return; /* a failure is already on its way */
    if (f->reg_errors < UINT_MAX)
        f->reg_errors++;
    hold_edge(f, retry_after_s);
    /* The server's Retry-After when it gave one (the connection is fine,
     * so its word is all there is to go by), else §4.5's wait for the n-th
     * error in a row (30-60 s, 1-2 min, ...).  "Retry-After: 0" only for
     * the first error in a row, so a registrar always saying 0 cannot make
     * sipkeep spin. */
    if (retry_after_s > 0)
        wait = ((uint64_t)retry_after_s < FLOW_RETRY_AFTER_MAX_S
                    ? (uint64_t)retry_after_s : FLOW_RETRY_AFTER_MAX_S) * 1000u;
    else if (retry_after_s == 0 && f->reg_errors == 1)
        wait = 0;
    else
        wait = flow_backoff_ms(&f->rc, f->reg_errors, others_working(f), rand_draw(&f->rng));
    if (loop_timer_set(f->loop, &f->t_state, wait) < 0) {
        flow_failed_after(f, SK_DOWN_REGISTER, reason ? reason : "registration failed",
                          retry_after_s);
        return;
    }
    f->reg_retry = true;
    log_warn("flow_register_error", "reg_id=%u proxy=%s reason=\"%s\" errors=%u "
             "retry_in_ms=%" PRIu64 " action=\"keeping the flow: it still answers "
             "keep-alives (RFC 5626 §4.2.2)\"", f->reg_id, f->proxy->uri,
             reason ? reason : "registration failed", f->reg_errors, wait);
}

void flow_register_hold(struct flow *f)
{
    if (f->state == FLOW_REGISTERING && !f->why)
        loop_timer_cancel(f->loop, &f->t_state);
}

void flow_fail(struct flow *f, const char *reason)
{
    if (f->state == FLOW_IDLE || f->state == FLOW_BACKOFF)
        return;
    flow_failed(f, SK_DOWN_OTHER, reason ? reason : "failed");
}

void flow_ping_now(struct flow *f)
{
    if (f->state != FLOW_ACTIVE)
        return;
    if (f->u) {
        flow_udp_ping_now(f->u); /* sends from the loop too */
        return;
    }
    /* From the loop, not from inside the caller: a send error fails the
     * flow, whose callbacks must not run under the caller's feet. */
    if (loop_timer_set(f->loop, &f->t_ka, 0) < 0)
        flow_failed(f, SK_DOWN_OTHER, "no memory for the keep-alive timers");
}

enum flow_state flow_state(const struct flow *f)
{
    return f->state;
}

bool flow_working(const struct flow *f)
{
    return f->state == FLOW_ACTIVE && f->working;
}

unsigned flow_reg_id(const struct flow *f)
{
    return f->reg_id;
}

const struct cfg_proxy *flow_proxy(const struct flow *f)
{
    return f->proxy;
}

enum cfg_transport flow_transport(const struct flow *f)
{
    return f->tr;
}

const struct resolve_target *flow_target(const struct flow *f)
{
    return f->have_target ? &f->target : NULL;
}

void flow_set_proxy(struct flow *f, const struct cfg_proxy *p)
{
    f->proxy = p;
}

unsigned flow_consecutive_failures(const struct flow *f)
{
    return f->failures;
}

int flow_local_addr(const struct flow *f, struct sockaddr_storage *out)
{
    if (!transport_ready(f))
        return -ENOTCONN;
    return f->u ? flow_udp_local_addr(f->u, out) : stream_local_addr(f->s, out);
}

void flow_get_info(const struct flow *f, struct flow_info *out)
{
    uint64_t now = loop_now(f->loop);

    out->state = f->state;
    out->since_ms = now >= f->state_since ? now - f->state_since : 0;
    out->rtt_ms = f->rtt_ms;
    out->flow_timer = f->flow_timer;
    out->failures = f->failures;
    out->retry_in_ms = -1;
    out->pong_age_ms = f->pong_at < 0 ? -1 : (int64_t)now - f->pong_at;
    out->peer_cert_expiry = f->cert_expiry;
    if ((f->state == FLOW_BACKOFF || (f->state == FLOW_ACTIVE && f->reg_retry) ||
         (f->state == FLOW_CONNECTING && f->paced)) &&
        loop_timer_armed(&f->t_state))
        out->retry_in_ms = f->t_state.due_ms > now ? (int64_t)(f->t_state.due_ms - now) : 0;
}
