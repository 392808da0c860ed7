/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_udp.c - the UDP half of a flow: socket, STUN or OPTIONS keep-alives,
 * retransmission of sipkeep's own requests; see flow_udp.h. */
#include "outbound/flow_udp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/rand.h"
#include "outbound/sipretx.h"
#include "outbound/stunka.h"
#include "sip/param.h"
#include "sip/uri.h"
#include "sip/via.h"
#include "transport/dgram.h"

#define FU_OPTIONS_MAX 1024u
#define FU_BRANCH_MAX 48

enum fu_ka { FU_KA_NONE, FU_KA_STUN, FU_KA_SIP };

struct flow_udp {
    struct loop *loop;
    /* "sip:host:port" of the proxy, copied: a SIGHUP reload may replace
     * the flow's cfg_proxy while this connection lives on. */
    char target[300];
    unsigned reg_id;
    struct rand_src rng;
    const struct flow_udp_cbs *cbs;
    void *arg;
    struct sk_stats *stats;
    struct dgram *d;
    struct sipretx *reg;          /* sipkeep's REGISTER in progress */
    char reg_done[FU_BRANCH_MAX]; /* branch of the last one answered */
    struct sipretx *opt;          /* the OPTIONS keep-alive in progress */
    struct stunka *stun;          /* STUN keep-alives (FU_KA_STUN) */
    enum fu_ka ka_kind;
    struct cfg_keepalive ka;      /* OPTIONS: interval source */
    unsigned interval_s;
    struct loop_timer t_opt;      /* the next OPTIONS (idle) */
    uint64_t opt_sent;            /* loop time of the OPTIONS's first send */
    uint32_t opt_cseq;
    char call_id[40];
    char tag[20];
};

/* ---- helpers ---- */

static int send_raw(struct flow_udp *u, const void *buf, size_t len)
{
    return dgram_send(u->d, buf, len);
}

/* ---- sipretx callbacks ---- */

static int rtx_send(const char *buf, size_t len, void *arg)
{
    return send_raw(arg, buf, len);
}

static void reg_timeout(void *arg)
{
    struct flow_udp *u = arg;

    u->cbs->on_fail("no final response to the REGISTER within 32 s (RFC 3261 Timer F)",
                    u->arg);
}

static void opt_timeout(void *arg)
{
    struct flow_udp *u = arg;

    SK_STAT_INC(u->stats, ka_lost);
    u->cbs->on_fail("no response to the OPTIONS keep-alive within 32 s (RFC 3261 Timer F)",
                    u->arg);
}

static const struct sipretx_cbs reg_rtx_cbs = { rtx_send, reg_timeout };
static const struct sipretx_cbs opt_rtx_cbs = { rtx_send, opt_timeout };

/* ---- OPTIONS keep-alive ---- */

/* RFC 3261 §11: an OPTIONS with Max-Forwards: 0 is answered by the first
 * proxy itself (§16.3 item 2), whatever its routing does: a response of
 * any status proves the path and refreshes the NAT binding. */
static int build_options(struct flow_udp *u, char *out, size_t outsz, size_t *outlen,
                         char *branch, size_t brsz)
{
    struct sockaddr_storage local;
    char host[ADDR_STR_MAX];
    int n, err = dgram_local_addr(u->d, &local);

    if (err < 0)
        return err;
    addr_format((const struct sockaddr *)&local, true, host, sizeof(host));
    sipvia_branch_random(branch, brsz, "ka", 16);
    n = snprintf(out, outsz,
                 "OPTIONS %s SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP %s;rport;branch=%s\r\n"
                 "Max-Forwards: 0\r\n"
                 "To: <%s>\r\n"
                 "From: <sip:sipkeep@%s>;tag=%s\r\n"
                 "Call-ID: %s\r\n"
                 "CSeq: %" PRIu32 " OPTIONS\r\n"
                 "Content-Length: 0\r\n\r\n",
                 u->target, host, branch, u->target, host, u->tag, u->call_id,
                 u->opt_cseq + 1);
    if (n < 0 || (size_t)n >= outsz)
        return -ENOSPC;
    *outlen = (size_t)n;
    u->opt_cseq++;
    return 0;
}

static void on_opt_timer(struct loop_timer *t)
{
    struct flow_udp *u = container_of(t, struct flow_udp, t_opt);
    char buf[FU_OPTIONS_MAX], branch[FU_BRANCH_MAX];
    size_t n;
    int err;

    if (sipretx_active(u->opt))
        return; /* never two keep-alive transactions at once */
    err = build_options(u, buf, sizeof(buf), &n, branch, sizeof(branch));
    if (!err) {
        (void)send_raw(u, buf, n); /* a lost datagram: Timer E resends */
        err = sipretx_start(u->opt, buf, n, branch);
    }
    if (err < 0) {
        u->cbs->on_fail("cannot send the OPTIONS keep-alive", u->arg);
        return;
    }
    SK_STAT_INC(u->stats, ka_sent);
    u->opt_sent = loop_now(u->loop);
}

static void opt_answered(struct flow_udp *u, unsigned status)
{
    int64_t rtt = (int64_t)(loop_now(u->loop) - u->opt_sent);

    sipretx_response(u->opt, status);
    if (status < 200)
        return;
    if (loop_timer_set(u->loop, &u->t_opt, stunka_interval_ms(&u->ka, u->interval_s,
                                                              rand_draw(&u->rng))) < 0) {
        u->cbs->on_fail("no memory for the keep-alive timer", u->arg);
        return;
    }
    u->cbs->on_pong(rtt, u->arg);
}

/* ---- STUN ---- */

static int stun_send(const uint8_t *buf, size_t len, void *arg)
{
    struct flow_udp *u = arg;

    if (stunka_sends(u->stun) == 1) /* a transaction, not a retransmission */
        SK_STAT_INC(u->stats, ka_sent);
    return send_raw(u, buf, len);
}

static void stun_pong(int64_t rtt_ms, const struct sockaddr_storage *mapped, void *arg)
{
    struct flow_udp *u = arg;

    (void)mapped;
    u->cbs->on_pong(rtt_ms, u->arg);
}

static void stun_fail(const char *reason, void *arg)
{
    struct flow_udp *u = arg;

    SK_STAT_INC(u->stats, ka_lost);
    u->cbs->on_fail(reason, u->arg);
}

static const struct stunka_cbs fu_stun_cbs = { stun_send, stun_pong, stun_fail };

/* ---- the socket's callbacks ---- */

static void d_connected(struct dgram *d, void *arg)
{
    struct flow_udp *u = arg;
    struct sockaddr_storage local;

    if (dgram_local_addr(d, &local) < 0) {
        u->cbs->on_fail("cannot read the socket's local address", u->arg);
        return;
    }
    u->cbs->on_connected(&local, u->arg);
}

/* Responses to our own requests stop their retransmissions; an answer to
 * an OPTIONS keep-alive goes no further.  Returns true when consumed. */
static bool own_response(struct flow_udp *u, const char *msg, size_t len)
{
    struct sipmsg *m;
    struct slice br;
    bool consumed = false;

    if (len < 8 || strncasecmp(msg, "SIP/2.0 ", 8) != 0)
        return false;
    m = malloc(sizeof(*m));
    if (!m || sipmsg_parse(m, msg, len, 0) < 0) {
        free(m);
        return false;
    }
    br = sipvia_top_branch(m);
    if (slice_present(br) && sipretx_matches(u->reg, br.p, br.n)) {
        sipretx_response(u->reg, m->status);
        if (m->status >= 200)
            slice_copy_cstr(br, u->reg_done, sizeof(u->reg_done));
    } else if (slice_present(br) && slice_eq(br, slice_cstr(u->reg_done))) {
        /* The proxy answers each retransmission of our REGISTER (RFC 3261
         * §17.2.2): the copies after the first final response are ours to
         * absorb, as a client transaction in Completed would. */
        consumed = true;
    } else if (slice_present(br) && sipretx_matches(u->opt, br.p, br.n)) {
        consumed = true;
        opt_answered(u, m->status); /* may free u: nothing after it */
    }
    free(m);
    return consumed;
}

static void d_message(struct dgram *d, const char *msg, size_t len, void *arg)
{
    struct flow_udp *u = arg;

    (void)d;
    if (own_response(u, msg, len))
        return;
    u->cbs->on_message(msg, len, u->arg);
}

static void d_stun(struct dgram *d, const uint8_t *buf, size_t len, void *arg)
{
    struct flow_udp *u = arg;

    (void)d;
    if (u->stun)
        stunka_input(u->stun, buf, len);
}

static void d_close(struct dgram *d, int err, const char *reason, void *arg)
{
    struct flow_udp *u = arg;

    (void)d;
    (void)err;
    u->cbs->on_fail(reason, u->arg);
}

static const struct dgram_cbs fu_dgram_cbs = {
    .on_connected = d_connected,
    .on_message = d_message,
    .on_stun = d_stun,
    .on_close = d_close,
};

/* ---- public API ---- */

int flow_udp_open(struct flow_udp **out, const struct flow_udp_params *p,
                  const struct sockaddr *dst, socklen_t len)
{
    struct flow_udp *u;
    int err;

    if (!out || !p || !p->loop || !p->proxy || !p->cbs || !dst)
        return -EINVAL;
    u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->loop = p->loop;
    snprintf(u->target, sizeof(u->target), "sip:%s%s%s:%u",
             p->proxy->host_family == AF_INET6 ? "[" : "", p->proxy->host,
             p->proxy->host_family == AF_INET6 ? "]" : "", (unsigned)p->proxy->port);
    u->reg_id = p->reg_id;
    u->rng = p->rng;
    u->cbs = p->cbs;
    u->arg = p->arg;
    u->stats = p->stats;
    loop_timer_init(&u->t_opt, on_opt_timer);
    rand_hex(u->call_id, 25, 24);
    memcpy(u->call_id + 24, "@sipkeep", sizeof("@sipkeep"));
    rand_hex(u->tag, sizeof(u->tag), 16);
    err = sipretx_new(&u->reg, p->loop, &reg_rtx_cbs, u);
    if (!err)
        err = sipretx_new(&u->opt, p->loop, &opt_rtx_cbs, u);
    if (!err)
        err = dgram_open(&u->d, p->loop, dst, len, &fu_dgram_cbs, u);
    if (err < 0) {
        flow_udp_free(u);
        return err;
    }
    *out = u;
    return 0;
}

void flow_udp_free(struct flow_udp *u)
{
    if (!u)
        return;
    loop_timer_cancel(u->loop, &u->t_opt);
    stunka_free(u->stun);
    sipretx_free(u->reg);
    sipretx_free(u->opt);
    dgram_free(u->d);
    free(u);
}

int flow_udp_send(struct flow_udp *u, const void *buf, size_t len)
{
    return send_raw(u, buf, len);
}

int flow_udp_send_own(struct flow_udp *u, const char *buf, size_t len)
{
    struct sipmsg *m = malloc(sizeof(*m));
    struct slice br;
    char branch[FU_BRANCH_MAX];
    int err = m ? sipmsg_parse(m, buf, len, 0) : -ENOMEM;

    if (!err && (!m->is_request || !slice_present(br = sipvia_top_branch(m)) ||
                 slice_copy_cstr(br, branch, sizeof(branch)) < 0))
        err = -EBADMSG;
    free(m);
    if (err < 0)
        return err;
    err = send_raw(u, buf, len);
    /* A datagram the socket could not take is a lost one: Timer E resends. */
    if (err < 0 && err != -EAGAIN)
        return err;
    return sipretx_start(u->reg, buf, len, branch);
}

static int start_kind(struct flow_udp *u, bool stun)
{
    struct stunka_params sp = { u->loop, &fu_stun_cbs, u, u->rng };

    u->ka_kind = stun ? FU_KA_STUN : FU_KA_SIP;
    log_info("udp_keepalive", "reg_id=%u target=%s kind=%s", u->reg_id, u->target,
             stun ? "stun" : "options");
    if (stun)
        return stunka_new(&u->stun, &sp);
    /* The first OPTIONS at once, as the first STUN request. */
    return loop_timer_set(u->loop, &u->t_opt, 0);
}

int flow_udp_keepalive(struct flow_udp *u, bool stun, const struct cfg_keepalive *ka,
                       unsigned interval_s)
{
    uint64_t d;
    int err = 0;

    if (u->ka_kind == FU_KA_NONE)
        err = start_kind(u, stun);
    if (err < 0)
        return err;
    if (u->stun)
        return stunka_start(u->stun, ka, interval_s);
    u->ka = *ka;
    u->interval_s = interval_s;
    if (sipretx_active(u->opt) || !loop_timer_armed(&u->t_opt))
        return 0;
    /* A refresh brings the next OPTIONS forward, never postpones it. */
    d = stunka_interval_ms(ka, interval_s, rand_draw(&u->rng));
    if (u->t_opt.due_ms <= loop_now(u->loop) + d)
        return 0;
    return loop_timer_set(u->loop, &u->t_opt, d);
}

void flow_udp_ping_now(struct flow_udp *u)
{
    if (u->stun)
        stunka_ping_now(u->stun);
    else if (u->ka_kind == FU_KA_SIP && !sipretx_active(u->opt) &&
             loop_timer_set(u->loop, &u->t_opt, 0) < 0)
        log_error("flow_stuck", "reg_id=%u reason=\"no memory for a timer\"", u->reg_id);
}

int flow_udp_local_addr(const struct flow_udp *u, struct sockaddr_storage *out)
{
    return dgram_local_addr(u->d, out);
}

/* The first Path URI carries ";ob" (RFC 5626 §8: "A UAC MAY use the
 * presence of an "ob" URI parameter in the Path header in a registration
 * response as an indication that its first edge proxy supports the
 * keep-alives defined in this document"). */
static bool path_has_ob(const struct sipmsg *rsp)
{
    struct sipmsg_valit it;
    struct sipparam_addr a;
    struct sipuri uri;
    struct slice elem;

    sipmsg_valit_init(&it, rsp, SIPMSG_HDR_PATH);
    if (!sipmsg_valit_next(&it, &elem, NULL))
        return false;
    return sipparam_parse_addr(&a, elem) == 0 && sipuri_parse(&uri, a.uri) == 0 &&
           sipuri_param(&uri, "ob", NULL) == 0;
}

bool flow_udp_stun_indicated(const struct sipmsg *rsp, unsigned *keep_s)
{
    struct sipvia_top top;
    uint64_t keep = 0;
    /* RFC 6223 §4.2: the next hop that supports keep-alives answers the
     * "keep" of our Via with a value (seconds); a bare "keep" is ours. */
    bool has_keep = sipvia_top(rsp, &top) == 0 &&
                    sipparam_get_uint(top.via.params, "keep", 1, 86400, &keep) == 0;

    *keep_s = has_keep ? (unsigned)keep : 0;
    return has_keep || path_has_ob(rsp);
}
