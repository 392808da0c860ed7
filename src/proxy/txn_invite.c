/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn_invite.c - the INVITE transactions of the transaction table (see
 * txn.h, txn_int.h): what sipkeep keeps of an INVITE as sent, Timer C
 * (§16.6 item 11) with its CANCEL and 408, the linger, and Timer G/H of a
 * non-2xx relayed from a reliable flow to a UDP phone. */
#include "proxy/txn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"
#include "outbound/sipretx.h"
#include "proxy/txn_int.h"
#include "sip/msg.h"
#include "sip/via.h"

void txn_set_senders(struct txn_table *t, const struct txn_senders *s)
{
    t->snd = *s;
}

static struct slice piece(const struct inv_req *q, int i)
{
    size_t off = 0;

    for (int k = 0; k < i; k++)
        off += q->n[k];
    return (struct slice){ q->text + off, q->n[i] };
}

static size_t req_size(const struct inv_req *q)
{
    size_t n = 0;

    for (int i = 0; i < P_N; i++)
        n += q->n[i];
    return n;
}

int txn_invite_sent(struct txn_table *t, unsigned flow, const char *buf, size_t len)
{
    struct sipmsg *m = malloc(sizeof(*m));
    struct slice p[P_N] = { SLICE_NULL };
    struct sipvia_top top;
    const struct sipmsg_hdr *via;
    struct txn_entry *e;
    struct inv_req *q;
    size_t total = 0, off = 0, routes_at = 0;
    int err = -EBADMSG;

    if (!m)
        return -ENOMEM;
    if (sipmsg_parse(m, buf, len, 0) < 0 || !m->is_request ||
        !(via = sipmsg_hdr_find(m, SIPMSG_HDR_VIA)) || sipvia_top(m, &top) < 0 ||
        !slice_present(top.branch))
        goto out;
    err = -ENOENT;
    e = txn_find_invite(t, top.branch);
    if (!e)
        goto out;
    err = 0;
    if (e->inv->req)
        goto out; /* the UA's retransmission: the first copy counts */
    p[P_RURI] = m->ruri;
    p[P_VIA] = via->raw;
    p[P_FROM] = sipmsg_hdr_find(m, SIPMSG_HDR_FROM)->raw;
    p[P_TO] = sipmsg_hdr_find(m, SIPMSG_HDR_TO)->raw;
    p[P_CALLID] = sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID)->raw;
    for (int i = sipmsg_hdr_next(m, SIPMSG_HDR_ROUTE, -1); i >= 0;
         i = sipmsg_hdr_next(m, SIPMSG_HDR_ROUTE, i))
        p[P_ROUTES].n += m->hdrs[i].raw.n;
    err = -E2BIG;
    for (int i = 0; i < P_N; i++) {
        if (p[i].n > UINT16_MAX)
            goto out;
        total += p[i].n;
    }
    err = -ENOMEM;
    q = malloc(sizeof(*q) + total);
    if (!q)
        goto out;
    q->cseq = m->cseq_num;
    for (int i = 0; i < P_N; i++) {
        q->n[i] = (uint16_t)p[i].n;
        if (i == P_ROUTES)
            routes_at = off;
        else
            memcpy(q->text + off, p[i].p, p[i].n);
        off += p[i].n;
    }
    for (int i = sipmsg_hdr_next(m, SIPMSG_HDR_ROUTE, -1); i >= 0;
         i = sipmsg_hdr_next(m, SIPMSG_HDR_ROUTE, i)) {
        memcpy(q->text + routes_at, m->hdrs[i].raw.p, m->hdrs[i].raw.n);
        routes_at += m->hdrs[i].raw.n;
    }
    e->inv->req = q;
    t->bytes += sizeof(*q) + total;
    e->inv->reliable = !slice_eq_ci_str(top.via.transport, "UDP");
    e->t.flow_idx = flow;
    err = 0;
out:
    free(m);
    return err;
}

/* Writes the request `method` sipkeep makes from what it kept of the
 * INVITE (§9.1 CANCEL, §17.1.1.3 ACK), with to_line (a whole To line) in
 * place of the INVITE's when present.  Returns the length, or -ENOSPC. */
static int compose(const struct inv_req *q, const char *method, struct slice to_line,
                   char *out, size_t outsz)
{
    struct slice ruri = piece(q, P_RURI), via = piece(q, P_VIA), from = piece(q, P_FROM),
                 to = slice_present(to_line) ? to_line : piece(q, P_TO),
                 cid = piece(q, P_CALLID), routes = piece(q, P_ROUTES);
    int n = snprintf(out, outsz,
                     "%s %.*s SIP/2.0\r\n%.*s%.*s%.*s%.*sCSeq: %" PRIu32 " %s\r\n%.*s"
                     "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                     method, (int)ruri.n, ruri.p, (int)via.n, via.p, (int)from.n, from.p,
                     (int)to.n, to.p, (int)cid.n, cid.p, q->cseq, method, (int)routes.n,
                     routes.p);

    return n < 0 || (size_t)n >= outsz ? -ENOSPC : n;
}

static int own_send(const char *buf, size_t len, void *arg)
{
    struct txn_entry *e = arg;
    struct txn_table *t = e->table;

    return t->snd.to_flow ? t->snd.to_flow(e->t.binding_id, e->t.flow_idx, buf, len,
                                           t->snd.arg)
                          : -ENOTCONN;
}

/* Timer F of our CANCEL: the edge never answered it; the linger ends the
 * entry anyway. */
static void own_timeout(void *arg)
{
    struct txn_entry *e = arg;

    log_info("invite_cancel_unanswered", "branch=%s binding=%" PRIu32, e->t.branch,
             e->t.binding_id);
}

static const struct sipretx_cbs own_cbs = { own_send, own_timeout };

/* Sends sipkeep's own CANCEL or ACK for e on the INVITE's flow; a CANCEL
 * over UDP is a client transaction of its own and is retransmitted
 * (§17.1.2.2, with e->inv->g); an ACK is re-sent per final instead. */
static void send_own(struct txn_entry *e, const char *method, struct slice to_line)
{
    struct txn_inv *inv = e->inv;
    size_t sz = req_size(inv->req) + to_line.n + 200;
    char *buf = malloc(sz);
    int n = buf ? compose(inv->req, method, to_line, buf, sz) : -ENOMEM;
    int err = n;

    if (n >= 0)
        err = own_send(buf, (size_t)n, e);
    if (n >= 0 && !inv->reliable && strcmp(method, "CANCEL") == 0 && !inv->g) {
        int rc = sipretx_new(&inv->g, e->table->loop, &own_cbs, e);
        if (!rc)
            rc = sipretx_start(inv->g, buf, (size_t)n, e->t.branch);
        if (rc < 0) {
            sipretx_free(inv->g);
            inv->g = NULL;
        }
    }
    free(buf);
    log_info("invite_own_request", "method=%s branch=%s binding=%" PRIu32 " reg_id=%u err=%d",
             method, e->t.branch, e->t.binding_id, e->t.flow_idx + 1, err < 0 ? err : 0);
}

static void send_cancel(struct txn_entry *e)
{
    e->inv->cancelled = true;
    send_own(e, "CANCEL", SLICE_NULL);
}

/* §16.8: "behave as if the transaction received a 408": the UA gets a 408
 * with its own Via stack, built like any response of ours
 * (sipmsg_build_response) from a request made of the kept pieces. */
static void send_408(struct txn_entry *e)
{
    struct txn_table *t = e->table;
    const struct inv_req *q = e->inv->req;
    struct slice ruri = piece(q, P_RURI), from = piece(q, P_FROM), to = piece(q, P_TO),
                 cid = piece(q, P_CALLID);
    size_t sz = req_size(q) + 200, rsz, n = 0, rn;
    char *req, *rsp = NULL, tag[20];
    struct sipmsg *m = malloc(sizeof(*m));
    int w;

    for (unsigned i = 0; i < e->t.nvias; i++)
        sz += e->t.vias[i].n + 8;
    rsz = sz + 200;
    req = malloc(sz);
    rsp = malloc(rsz);
    if (!m || !req || !rsp)
        goto out;
    w = snprintf(req, sz, "INVITE %.*s SIP/2.0\r\n", (int)ruri.n, ruri.p);
    n = (size_t)w;
    for (unsigned i = 0; i < e->t.nvias && n < sz; i++) {
        w = snprintf(req + n, sz - n, "Via: %.*s\r\n", (int)e->t.vias[i].n, e->t.vias[i].p);
        n += (size_t)w;
    }
    if (n < sz) {
        w = snprintf(req + n, sz - n, "%.*s%.*s%.*sCSeq: %" PRIu32 " INVITE\r\n\r\n",
                     (int)from.n, from.p, (int)to.n, to.p, (int)cid.n, cid.p, q->cseq);
        n += (size_t)w;
    }
    if (n >= sz || sipmsg_parse(m, req, n, 0) < 0)
        goto out;
    rand_hex(tag, sizeof(tag), 16);
    if (sipmsg_build_response(m, 408, SLICE_NULL, slice_cstr(tag), NULL, 0, rsp, rsz, &rn) ==
            0 && t->snd.to_ua)
        t->snd.to_ua(&e->t.ua, rsp, rn, t->snd.arg);
out:
    free(m);
    free(req);
    free(rsp);
}

static void arm_linger(struct txn_entry *e)
{
    if (loop_timer_set(e->table->loop, &e->inv->timer, TXN_INVITE_LINGER_MS) < 0)
        loop_timer_cancel(e->table->loop, &e->inv->timer); /* see on_inv_timer */
}

/* §16.8: Timer C fired before a final response. */
static void timer_c(struct txn_entry *e)
{
    struct txn_inv *inv = e->inv;

    log_info("invite_timer_c", "branch=%s binding=%" PRIu32 " provisional=%d", e->t.branch,
             e->t.binding_id, inv->provisional);
    inv->state = INV_TIMED_OUT;
    if (inv->req) {
        if (inv->provisional)
            send_cancel(e);
        send_408(e);
    }
    arm_linger(e);
}

static void on_inv_timer(struct loop_timer *tm)
{
    struct txn_inv *inv = container_of(tm, struct txn_inv, timer);
    struct txn_entry *e = (struct txn_entry *)(void *)((char *)inv - offsetof(struct txn_entry, data));

    if (inv->state == INV_CALLING || inv->state == INV_PROCEEDING)
        timer_c(e);
    /* The linger is over (or could not be armed): the entry goes. */
    if (!loop_timer_armed(&inv->timer))
        txn_entry_remove(e->table, e);
}

int txn_invite_start(struct txn_entry *e)
{
    e->inv->state = INV_CALLING;
    loop_timer_init(&e->inv->timer, on_inv_timer);
    return loop_timer_set(e->table->loop, &e->inv->timer, TXN_TIMER_C_MS) < 0 ? -ENOMEM : 0;
}

void txn_invite_free(struct txn_entry *e)
{
    loop_timer_cancel(e->table->loop, &e->inv->timer);
    sipretx_free(e->inv->g);
    if (e->inv->req)
        e->table->bytes -= sizeof(struct inv_req) + req_size(e->inv->req);
    free(e->inv->req);
}

bool txn_response_in(struct txn_table *t, struct slice branch, const struct sipmsg *rsp)
{
    struct txn_entry *e = txn_find_invite(t, branch);
    struct txn_inv *inv;

    if (!e)
        return true;
    inv = e->inv;
    if (!slice_eq(rsp->cseq_method, SLICE_LIT("INVITE"))) {
        /* The 200 (or 481) to our own CANCEL is ours (it ends its
         * retransmissions); the UA's CANCEL shares the branch and gets
         * its answers. */
        if (!inv->cancelled || !slice_eq(rsp->cseq_method, SLICE_LIT("CANCEL")))
            return true;
        if (inv->g)
            sipretx_response(inv->g, rsp->status);
        return false;
    }
    switch (inv->state) {
    case INV_CALLING:
    case INV_PROCEEDING:
        if (rsp->status < 200) {
            inv->provisional = true;
            inv->state = INV_PROCEEDING;
            /* §16.7 step 2: 101-199 restart Timer C; 100 is hop by hop. */
            if (rsp->status > 100 &&
                loop_timer_set(t->loop, &inv->timer, TXN_TIMER_C_MS) < 0)
                log_warn("invite_timer_c_restart_failed", "branch=%s", e->t.branch);
            return true;
        }
        inv->state = INV_COMPLETED;
        inv->final_seen = true;
        inv->g_wanted = rsp->status >= 300 && inv->reliable;
        arm_linger(e);
        return true;
    case INV_COMPLETED:
        return true; /* 2xx from forks, a UDP edge's retransmissions */
    default:
        break;
    }
    /* INV_TIMED_OUT: the UA's transaction ended with our 408. */
    if (rsp->status < 200) {
        if (!inv->cancelled && inv->req) {
            inv->provisional = true;
            send_cancel(e); /* §9.1: a CANCEL waits for a provisional */
        }
        return false;
    }
    if (!inv->final_seen) {
        inv->final_seen = true;
        arm_linger(e);
    }
    if (rsp->status < 300)
        return true; /* §16.7 step 5: a 2xx always goes on */
    if (inv->req) /* every copy is ACKed (§17.1.1.2) */
        send_own(e, "ACK", sipmsg_hdr_find(rsp, SIPMSG_HDR_TO)->raw);
    return false;
}

static int g_send(const char *buf, size_t len, void *arg)
{
    struct txn_entry *e = arg;
    struct txn_table *t = e->table;

    if (t->snd.to_ua)
        t->snd.to_ua(&e->t.ua, buf, len, t->snd.arg);
    return 0;
}

/* Timer H: no ACK in 64*T1 (§17.2.1); the entry's linger ends with it. */
static void g_timeout(void *arg)
{
    struct txn_entry *e = arg;

    log_info("invite_final_unacked", "branch=%s binding=%" PRIu32 " sends=%u", e->t.branch,
             e->t.binding_id, sipretx_sends(e->inv->g));
}

static const struct sipretx_cbs g_cbs = { g_send, g_timeout };

void txn_response_relayed(struct txn_table *t, struct slice branch, const char *buf,
                          size_t len)
{
    struct txn_entry *e = txn_find_invite(t, branch);
    int err;

    if (!e || !e->inv->g_wanted)
        return;
    e->inv->g_wanted = false;
    /* Timer G doubles from T1 to T2 and Timer H is 64*T1: the schedule and
     * timeout of sipretx's non-INVITE client transaction (§17.2.1). */
    err = sipretx_new(&e->inv->g, t->loop, &g_cbs, e);
    if (!err)
        err = sipretx_start(e->inv->g, buf, len, e->t.branch);
    if (err < 0) {
        sipretx_free(e->inv->g);
        e->inv->g = NULL;
        log_warn("invite_timer_g_failed", "branch=%s err=%d", e->t.branch, err);
    }
}

bool txn_ua_ack(struct txn_table *t, struct slice branch)
{
    struct txn_entry *e = txn_find_invite(t, branch);

    if (!e)
        return false;
    if (e->inv->state == INV_TIMED_OUT)
        return true; /* the ACK of our 408 (g: our CANCEL goes on) */
    sipretx_free(e->inv->g); /* §17.2.1: the ACK ends Timer G */
    e->inv->g = NULL;
    return false;
}

size_t txn_timer_g_active(const struct txn_table *t)
{
    size_t n = 0;

    for (size_t i = 0; i < TXN_BUCKETS; i++)
        for (const struct txn_entry *e = t->bucket[i]; e; e = e->next_hash)
            n += e->inv && e->inv->g && sipretx_active(e->inv->g);
    return n;
}

