/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stunka.c - STUN keep-alive client of one UDP flow; see stunka.h. */
#include "outbound/stunka.h"
#include "outbound/flow_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/rand.h"
#include "outbound/flow.h"
#include "sip/stun.h"

#define STUNKA_WHY_MAX 200

struct stunka {
    struct loop *loop;
    const struct stunka_cbs *cbs;
    void *arg;
    struct rand_src rng;
    struct cfg_keepalive ka;
    unsigned interval_s;          /* Flow-Timer (or keep), 0: none */
    bool started;
    bool outstanding;             /* a transaction awaits its response */
    unsigned sends;               /* requests sent in this transaction */
    uint64_t first_sent;          /* loop time of its first request */
    uint8_t tid[STUN_TID_LEN];
    uint8_t req[STUN_BINDING_REQ_MAX];
    size_t req_len;
    struct loop_timer t_next;     /* the next keep-alive (idle) */
    struct loop_timer t_rtx;      /* retransmission / transaction timeout */
    bool have_mapped;             /* first success seen on this socket */
    struct sockaddr_storage mapped;
};

static void on_next(struct loop_timer *t);
static void on_rtx(struct loop_timer *t);

uint64_t stunka_interval_ms(const struct cfg_keepalive *ka, unsigned interval_s, uint32_t r)
{
    /* Flow-Timer and a configured interval: 80-100 % of it, the same rule
     * as for CRLF keep-alives (RFC 5626 §4.4). */
    if (interval_s > 0 || ka->interval != CFG_KEEPALIVE_AUTO)
        return flow_keepalive_ms(ka, interval_s, r);
    return rand_uniform(STUNKA_DEFAULT_MIN_MS, STUNKA_DEFAULT_MAX_MS, r);
}

static uint64_t next_interval(const struct stunka *k)
{
    return stunka_interval_ms(&k->ka, k->interval_s, rand_draw(&k->rng));
}

/* RFC 5389 §7.2.1: request i (1-based) is followed by a wait of
 * RTO * 2^(i-1), except the last (the Rc-th), followed by Rm * RTO. */
static uint64_t wait_after(unsigned sends)
{
    if (sends >= STUNKA_RC)
        return (uint64_t)STUNKA_RM * STUNKA_RTO_MS;
    return (uint64_t)STUNKA_RTO_MS << (sends - 1);
}

static void stop_all(struct stunka *k)
{
    k->outstanding = false;
    loop_timer_cancel(k->loop, &k->t_next);
    loop_timer_cancel(k->loop, &k->t_rtx);
}

static void failed(struct stunka *k, const char *why)
{
    stop_all(k);
    k->cbs->on_fail(why, k->arg); /* last: it may free k */
}

static void send_req(struct stunka *k)
{
    k->sends++;
    (void)k->cbs->send(k->req, k->req_len, k->arg);
    if (loop_timer_set(k->loop, &k->t_rtx, wait_after(k->sends)) < 0)
        failed(k, "no memory for the STUN retransmission timer");
}

/* A new transaction: a fresh random ID (RFC 5389 §6: "uniformly and
 * randomly chosen"), the same ID for its retransmissions (§7.2.1). */
static void begin(struct stunka *k)
{
    uint64_t a = rand_u64(), b = rand_u64();

    memcpy(k->tid, &a, 8);
    memcpy(k->tid + 8, &b, 4);
    /* FINGERPRINT (§15.5) helps a server tell STUN from SIP on port 5060. */
    if (stun_build_binding_request(k->tid, true, k->req, sizeof(k->req), &k->req_len) < 0) {
        failed(k, "cannot build a STUN Binding request");
        return;
    }
    loop_timer_cancel(k->loop, &k->t_next);
    k->outstanding = true;
    k->sends = 0;
    k->first_sent = loop_now(k->loop);
    send_req(k);
}

static void on_next(struct loop_timer *t)
{
    begin(container_of(t, struct stunka, t_next));
}

static void on_rtx(struct loop_timer *t)
{
    struct stunka *k = container_of(t, struct stunka, t_rtx);
    char why[STUNKA_WHY_MAX];

    if (k->sends < STUNKA_RC) {
        send_req(k);
        return;
    }
    snprintf(why, sizeof(why), "no STUN Binding response within %" PRIu64 " ms (%u requests, "
             "RFC 5389 §7.2.1; RFC 5626 §4.4.2)", loop_now(k->loop) - k->first_sent, k->sends);
    failed(k, why);
}

int stunka_new(struct stunka **out, const struct stunka_params *p)
{
    struct stunka *k;

    if (!out || !p || !p->loop || !p->cbs || !p->cbs->send || !p->cbs->on_pong ||
        !p->cbs->on_fail)
        return -EINVAL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->loop = p->loop;
    k->cbs = p->cbs;
    k->arg = p->arg;
    k->rng = p->rng;
    loop_timer_init(&k->t_next, on_next);
    loop_timer_init(&k->t_rtx, on_rtx);
    *out = k;
    return 0;
}

void stunka_free(struct stunka *k)
{
    if (!k)
        return;
    stop_all(k);
    free(k);
}

int stunka_start(struct stunka *k, const struct cfg_keepalive *ka, unsigned interval_s)
{
    uint64_t d;

    k->ka = *ka;
    k->interval_s = interval_s;
    if (!k->started) {
        k->started = true;
        return loop_timer_set(k->loop, &k->t_next, 0);
    }
    /* Outstanding: the next interval is drawn when it ends. */
    if (k->outstanding)
        return 0;
    d = next_interval(k);
    if (loop_timer_armed(&k->t_next) && k->t_next.due_ms <= loop_now(k->loop) + d)
        return 0;
    return loop_timer_set(k->loop, &k->t_next, d);
}

void stunka_ping_now(struct stunka *k)
{
    if (!k->started || k->outstanding)
        return;
    if (loop_timer_set(k->loop, &k->t_next, 0) < 0)
        failed(k, "no memory for the keep-alive timer");
}

static void success(struct stunka *k, const struct stun_response *r)
{
    char was[ADDR_STR_MAX], now[ADDR_STR_MAX], why[STUNKA_WHY_MAX];
    int64_t rtt = (int64_t)(loop_now(k->loop) - k->first_sent);

    if (k->have_mapped && !addr_equal((const struct sockaddr *)&k->mapped,
                                      (const struct sockaddr *)&r->mapped)) {
        addr_format((const struct sockaddr *)&k->mapped, true, was, sizeof(was));
        addr_format((const struct sockaddr *)&r->mapped, true, now, sizeof(now));
        log_warn("stun_mapped_changed", "was=%s now=%s", was, now);
        snprintf(why, sizeof(why), "the NAT rebound: STUN mapped address changed from %s "
                 "to %s (RFC 5626 §4.4.2)", was, now);
        failed(k, why);
        return;
    }
    if (!k->have_mapped) {
        k->have_mapped = true;
        k->mapped = r->mapped;
        log_info("stun_mapped", "addr=%s rtt_ms=%" PRId64,
                 addr_format((const struct sockaddr *)&r->mapped, true, now, sizeof(now)), rtt);
    }
    k->outstanding = false;
    loop_timer_cancel(k->loop, &k->t_rtx);
    if (loop_timer_set(k->loop, &k->t_next, next_interval(k)) < 0) {
        failed(k, "no memory for the keep-alive timer");
        return;
    }
    k->cbs->on_pong(rtt, &r->mapped, k->arg); /* last: it may free k */
}

void stunka_input(struct stunka *k, const uint8_t *buf, size_t len)
{
    struct stun_response r;
    char why[STUNKA_WHY_MAX], phrase[96] = "";
    int err;

    if (!k->outstanding)
        return;
    err = stun_parse_response(buf, len, k->tid, &r);
    if (err == -EBADMSG || err == -ENOMSG || err == -ESRCH || err == -EINVAL)
        return; /* not an answer to this transaction: ignored (§7.3) */
    if (err == -EPROTO) {
        failed(k, "STUN Binding response unusable (RFC 5389 §7.3.3/§7.3.4)");
        return;
    }
    if (r.type == STUN_BINDING_SUCCESS) {
        success(k, &r);
        return;
    }
    /* The reason phrase is the server's text: printable ASCII only. */
    for (size_t i = 0; i < r.reason_len && i + 1 < sizeof(phrase) && i < 80; i++)
        phrase[i] = r.reason[i] >= 0x20 && r.reason[i] < 0x7f && r.reason[i] != '"'
                        ? r.reason[i] : '?';
    snprintf(why, sizeof(why), "STUN Binding error response %u %s (RFC 5626 §4.4.2)",
             r.error_code, phrase);
    failed(k, why);
}

bool stunka_outstanding(const struct stunka *k)
{
    return k->outstanding;
}

unsigned stunka_sends(const struct stunka *k)
{
    return k->sends;
}
