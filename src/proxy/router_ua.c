/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router_ua.c - the phone -> service direction of the router (see
 * router.h, router_int.h): the phone's requests relayed on a flow of its
 * binding or answered by sipkeep, its responses to requests that came
 * from a flow. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"
#include "outbound/regagent.h"
#include "proxy/router_int.h"
#include "proxy/rroute.h"
#include "proxy/txn.h"
#include "sip/msg.h"
#include "sip/param.h"
#include "sip/sipchar.h"

/* Removes the top Via element: the whole header line, or the first value
 * of a line that carries several (§7.3.1). */
static int pop_top_via(struct sipmsg_edits *ed, const struct sipmsg *m)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_VIA);
    struct slice rest = h->value, elem;

    if (sipparam_split_next(&rest, &elem) != 1)
        return -EBADMSG;
    while (rest.n && (rest.p[0] == ',' || sipchar_is_lws(rest.p[0]))) {
        rest.p++;
        rest.n--;
    }
    if (rest.n == 0)
        return sipmsg_edit_remove(ed, (unsigned)(h - m->hdrs));
    return sipmsg_edit_replace(ed, (unsigned)(h - m->hdrs), rest);
}

/* ua_request's sender: an INVITE as sent is also kept for what Timer C
 * may send of its own (CANCEL, 408; txn.h). */
struct req_dst {
    struct router_flow_dst f;
    struct txn_table *txns;
};

static int send_req_on_flow(void *ctx, const char *buf, size_t len)
{
    struct req_dst *d = ctx;
    int err = router_send_on_flow(&d->f, buf, len);

    if (!err && len > 7 && memcmp(buf, "INVITE ", 7) == 0)
        (void)txn_invite_sent(d->txns, d->f.idx, buf, len);
    return err;
}
/* A 503 says when to come back (RFC 3261 §21.5.4, §20.33; issue 11: every
 * 503 sipkeep makes carries Retry-After): b's remaining back-off. */
static void reply_503(struct router *r, const struct sipmsg *m, const struct ua_addr *ua,
                      const struct binding *b, const char *why)
{
    struct router_ua_dst d = { r, ua };
    char v[16];
    struct sipmsg_nv nv = { SLICE_LIT("Retry-After"), SLICE_NULL };

    log_info("request_refused", "method=%.*s status=503 reason=\"%s\"", (int)m->method.n,
             m->method.p, why);
    snprintf(v, sizeof(v), "%u", binding_retry_after_s(b));
    nv.value = slice_cstr(v);
    router_respond(m, 503, &nv, 1, router_send_to_ua, &d);
}

/* §4.3: a dialog-forming request's Contact gets "ob" so that in-dialog
 * requests come back over the flow. */
static int add_ob(struct sipmsg_edits *ed, const struct sipmsg *m, char *buf, size_t bufsz)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_CONTACT);
    size_t n;
    int err;

    if (!h)
        return 0;
    err = sipparam_set_uri(h->value, "ob", SLICE_NULL, buf, bufsz, &n);
    if (err < 0)
        return err == -EPROTONOSUPPORT ? 0 : err;
    return sipmsg_edit_replace(ed, (unsigned)(h - m->hdrs), (struct slice){ buf, n });
}

/* Copies the UA's Via values (all elements of all Via lines, in order). */
static unsigned collect_vias(const struct sipmsg *m, struct slice *vias, unsigned max)
{
    struct sipmsg_valit it;
    struct slice v;
    unsigned n = 0;

    sipmsg_valit_init(&it, m, SIPMSG_HDR_VIA);
    while (n < max + 1 && sipmsg_valit_next(&it, &v, NULL))
        if (n < max)
            vias[n++] = v;
        else
            n++;
    return n;
}

static void make_upstream_branch(struct router *r, const struct sipmsg *m,
                                 const struct ua_addr *ua, char *out, size_t outsz)
{
    struct slice branch = sipvia_top_branch(m);

    if (!slice_present(branch)) {
        /* RFC 2543 peer without a branch: unique per request. */
        sipvia_branch(out, outsz, "r", rand_u64());
        return;
    }
    /* Only the concrete sockaddr: the rest of the storage is whatever the
     * ingress left there, and a CANCEL must hash like its INVITE. */
    sipvia_branch(out, outsz, "u",
                  router_hash64(r->secret, branch, &ua->src,
                                addr_len((const struct sockaddr *)&ua->src)));
}

static int build_our_via(struct binding *b, unsigned idx, const char *branch, char *out,
                         size_t outsz)
{
    struct sockaddr_storage local;
    const char *tp;
    char host[ADDR_STR_MAX];
    int err = binding_flow_via(b, idx, &local, &tp);

    if (err < 0)
        return err;
    snprintf(out, outsz, "SIP/2.0/%s %s;rport;branch=%s", tp,
             addr_format((struct sockaddr *)&local, true, host, sizeof(host)), branch);
    return 0;
}

static int upstream_edits(struct sipmsg_edits *ed, const struct sipmsg *m, const char *via,
                          char *mf, size_t mfsz, char *contact, size_t csz)
{
    int err = router_decrement_max_forwards(ed, m, mf, mfsz);

    if (err < 0)
        return err;
    sipmsg_edit_remove_all(ed, SIPMSG_HDR_VIA);
    err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), slice_cstr(via));
    if (!err && !sipmsg_hdr_has_token(m, SIPMSG_HDR_SUPPORTED, "outbound") && !slice_eq(m->method, SLICE_LIT("ACK")) &&
        !slice_eq(m->method, SLICE_LIT("CANCEL")))
        err = sipmsg_edit_add(ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"),
                              SLICE_LIT("outbound"));
    if (!err && rroute_dialog_forming(m))
        err = add_ob(ed, m, contact, csz);
    return err;
}

/* A request from the phone for sipkeep itself (its Request-URI names
 * sipkeep and no Route is left, RFC 3261 §16.4): an OPTIONS "ping" to the
 * outbound proxy is answered here; anything else has nowhere to go. */
static void answer_own(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    static const struct sipmsg_nv extra[] = {
        { SLICE_LIT("Allow"), SLICE_LIT("INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, "
                                        "UPDATE, INFO, SUBSCRIBE, NOTIFY, REFER, MESSAGE") },
        { SLICE_LIT("Supported"), SLICE_LIT("outbound") },
    };
    struct router_ua_dst d = { r, ua };

    if (!slice_eq(m->method, SLICE_LIT("OPTIONS"))) {
        router_reply(r, m, ua, 404, "Request-URI names sipkeep");
        return;
    }
    router_respond(m, 200, extra, sizeof(extra) / sizeof(extra[0]), router_send_to_ua, &d);
    log_debug("ua_options_answered", "status=200");
}

/* A flow that can carry a dialog's request: registered (and not failed). */
static bool flow_usable(const struct binding *b, unsigned idx)
{
    const struct flow *fl = binding_flow(b, idx);

    return fl && (flow_working(fl) || flow_state(fl) == FLOW_ACTIVE);
}

/* The binding whose key verifies token for the phone at ua: *bp (the one
 * its From names) first, then the phone's other live bindings (a phone
 * with several lines, in a dialog whose From is not the line's AOR, e.g. a
 * call to another number of that line, is found as "any binding" of its
 * address).  Returns 0 with *bp and *reg_id set, or rroute_verify()'s
 * error for *bp. */
static int token_binding(struct router *r, struct binding **bp, const struct ua_addr *ua,
                         struct slice token, unsigned *reg_id)
{
    const struct sockaddr *src = (const struct sockaddr *)&ua->src;
    int err = rroute_verify(binding_token_key(*bp), token, src, reg_id);

    if (err != -EACCES)
        return err;
    for (const struct binding *o = binding_next(r->ra, NULL); o; o = binding_next(r->ra, o)) {
        if (o == *bp || binding_expires_in_ms(o) < 0 ||
            !addr_equal((const struct sockaddr *)&binding_ua(o)->src, src) ||
            rroute_verify(binding_token_key(o), token, src, reg_id) < 0)
            continue;
        *bp = binding_by_id(r->ra, binding_id(o));
        return *bp ? 0 : -EACCES;
    }
    return err;
}

/* The flow of *bp for request m from the phone (RFC 5626 §4.3, §5.3): the
 * flow of its transaction (want_txn, a CANCEL, the ACK of a non-2xx, a
 * retransmission), else the flow the dialog's Record-Route token names
 * (which may also pick another binding of the phone, token_binding()),
 * else, or when that one is down (logged), any working flow.  Returns 0
 * and *idx, -EACCES (a token that does not verify: forged or another
 * phone's; logged) or -ENOTCONN (no flow up). */
static int choose_flow(struct router *r, struct binding **bp, const struct ua_addr *ua,
                       struct slice token, int want_txn, unsigned *idx)
{
    struct binding *b = *bp;
    unsigned reg_id = 0;
    int want = want_txn, err;
    char who[ADDR_STR_MAX];

    if (want < 0 && slice_present(token)) {
        err = token_binding(r, bp, ua, token, &reg_id);
        b = *bp;
        if (err < 0) {
            log_warn("rr_token_refused", "binding=%" PRIu32 " src=%s err=\"%s\"", binding_id(b),
                     addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)),
                     strerror(-err));
            return -EACCES;
        }
        want = (int)reg_id - 1;
    }
    if (want >= 0 && flow_usable(b, (unsigned)want)) {
        *idx = (unsigned)want;
        return 0;
    }
    if (binding_pick_flow(b, idx) < 0)
        return -ENOTCONN;
    if (want >= 0)
        log_info("dialog_flow_fallback", "binding=%" PRIu32 " reg_id=%d used_reg_id=%u "
                 "reason=\"%s flow is down\"", binding_id(b), want + 1, *idx + 1,
                 want_txn >= 0 ? "transaction" : "dialog");
    return 0;
}

void router_ua_request(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    struct slice from = SLICE_NULL, vias[TXN_MAX_VIAS];
    struct sipparam_addr fa;
    struct binding *b;
    struct sipmsg_edits ed;
    struct rroute_popped pop;
    const struct txn *t;
    char branch[TXN_BRANCH_MAX], via[200], mf[8], contact[1200], rr[RROUTE_RR_MAX];
    unsigned idx, nvias;
    int want_txn = -1;
    struct req_dst dst;
    int err;

    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    /* §16.4: our own Route values go (a preloaded outbound-proxy Route,
     * our Record-Route coming back); in transparent mode the address the
     * phone sent to is the service's, so it names sipkeep in a Route but
     * not as a Request-URI */
    if (rroute_pop(&ed, m, r->env.cfg, (const struct sockaddr *)&ua->local, &pop) < 0) {
        router_reply(r, m, ua, 500, "too many edits");
        return;
    }
    if (!pop.left && rroute_uri_names_us(r->env.cfg, (const struct sockaddr *)&ua->local,
                                         r->env.cfg->mode == CFG_MODE_PROXY, m->ruri)) {
        answer_own(r, m, ua);
        return;
    }
    if (sipparam_parse_addr(&fa, sipmsg_hdr_find(m, SIPMSG_HDR_FROM)->value) == 0)
        from = fa.uri;
    b = binding_find_ua(r->ra, (const struct sockaddr *)&ua->src, from);
    if (!b) {
        SK_STAT_INC(r->env.stats, policy_drops);
        router_reply(r, m, ua, 403, "UA has no registration through sipkeep");
        return;
    }
    nvias = collect_vias(m, vias, TXN_MAX_VIAS);
    if (nvias > TXN_MAX_VIAS) {
        router_reply(r, m, ua, 400, "too many Via headers");
        return;
    }
    make_upstream_branch(r, m, ua, branch, sizeof(branch));
    /* a CANCEL, the ACK of a non-2xx, a retransmission: the transaction's
     * binding and flow, if it is this phone's */
    t = txn_get(r->txns, slice_cstr(branch));
    if (t && t->binding_id != binding_id(b)) {
        struct binding *tb = binding_by_id(r->ra, t->binding_id);
        if (tb && addr_equal((const struct sockaddr *)&binding_ua(tb)->src,
                             (const struct sockaddr *)&ua->src))
            b = tb;
    }
    if (t && t->binding_id == binding_id(b))
        want_txn = (int)t->flow_idx;
    err = choose_flow(r, &b, ua, pop.token, want_txn, &idx);
    if (err == -EACCES) {
        SK_STAT_INC(r->env.stats, policy_drops);
        router_reply(r, m, ua, 403, "Record-Route token does not verify");
        return;
    }
    if (err < 0) {
        reply_503(r, m, ua, b, "no flow is up");
        return;
    }
    err = build_our_via(b, idx, branch, via, sizeof(via));
    if (!err)
        err = upstream_edits(&ed, m, via, mf, sizeof(mf), contact, sizeof(contact));
    if (err == -ELOOP) {
        router_reply(r, m, ua, 483, "Max-Forwards reached 0");
        return;
    }
    if (!err)
        err = router_add_record_route(&ed, m, b, idx, rr, sizeof(rr));
    if (!err && !slice_eq(m->method, SLICE_LIT("ACK"))) {
        err = txn_put(r->txns, branch, slice_eq(m->method, SLICE_LIT("INVITE")) ||
                      slice_eq(m->method, SLICE_LIT("CANCEL")), ua, binding_id(b), vias, nvias);
        /* a new entry remembers its flow; the table owns the (non-const)
         * entry, txn_get only hands it out read-only */
        if (!err && want_txn < 0 && (t = txn_get(r->txns, slice_cstr(branch))) != NULL)
            ((struct txn *)t)->flow_idx = idx;
    }
    dst = (struct req_dst){ { b, idx }, r->txns };
    if (!err)
        err = router_send_edited(m, &ed, send_req_on_flow, &dst);
    if (err < 0) {
        router_reply(r, m, ua, 500, strerror(-err));
        return;
    }
    log_debug("ua_request_relayed", "method=%.*s binding=%" PRIu32 " reg_id=%u",
              (int)m->method.n, m->method.p, binding_id(b), idx + 1);
}

/* A response from the UA to a request we relayed to it from a flow. */
void router_ua_response(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    struct slice branch = sipvia_top_branch(m);
    unsigned long id, idx;
    char tail[TXN_BRANCH_MAX];
    struct binding *b;
    struct sipmsg_edits ed;
    struct router_flow_dst dst;
    int err;

    if (branch.n <= sizeof(INBOUND_PREFIX) - 1 ||
        memcmp(branch.p, INBOUND_PREFIX, sizeof(INBOUND_PREFIX) - 1) != 0 ||
        slice_copy_cstr((struct slice){ branch.p + sizeof(INBOUND_PREFIX) - 1,
                                        branch.n - (sizeof(INBOUND_PREFIX) - 1) },
                        tail, sizeof(tail)) < 0 ||
        sscanf(tail, "%lu.%lu.", &id, &idx) != 2) {
        log_info("ua_response_dropped", "reason=\"top Via is not ours\" status=%u", m->status);
        return;
    }
    b = binding_by_id(r->ra, (uint32_t)id);
    if (!b) {
        log_info("ua_response_dropped", "reason=\"binding gone\" status=%u", m->status);
        return;
    }
    /* Only the UA we relayed the request to may answer on its flow: from
     * its source IP or its registered Contact (where the request went). */
    if (!rroute_from_phone(r->env.cfg, &binding_ua(b)->src, binding_contact(b), router_ua_register(b),
                           (const struct sockaddr *)&ua->src)) {
        log_info("ua_response_dropped", "reason=\"not from the binding's UA\" status=%u",
                 m->status);
        return;
    }
    /* Ends or slows our retransmissions of the request (§17.1.1.2,
     * §17.1.2.2), whether or not the flow takes the response. */
    if (router_retx_key(branch, m->cseq_method, tail, sizeof(tail)) == 0)
        txn_retx_response(r->txns, slice_cstr(tail), m->status);
    /* §16.7 step 3: with no Via left under ours the response was meant
     * for us; relayed, it would make the edge drop the flow (a phone
     * answering a CANCEL's Vias instead of its INVITE's) */
    if (collect_vias(m, (struct slice[2]){ SLICE_NULL, SLICE_NULL }, 2) < 2) {
        log_info("ua_response_dropped", "binding=%lu reg_id=%lu status=%u "
                 "reason=\"no Via under ours\"", id, idx + 1, m->status);
        return;
    }
    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    err = pop_top_via(&ed, m);
    dst = (struct router_flow_dst){ b, (unsigned)idx };
    if (!err)
        err = router_send_edited(m, &ed, router_send_on_flow, &dst);
    if (err < 0)
        log_info("ua_response_dropped", "binding=%lu reg_id=%lu status=%u err=\"%s\"", id,
                 idx + 1, m->status, strerror(-err));
}

/* An ACK from the UA: its branch is its INVITE's (§17.1.1.3), so it maps
 * to the INVITE's entry.  It ends Timer G of a relayed non-2xx; when it
 * acknowledges the 408 sipkeep made on Timer C it goes no further. */
bool router_ua_ack_absorbed(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    char branch[TXN_BRANCH_MAX];

    make_upstream_branch(r, m, ua, branch, sizeof(branch));
    return txn_ua_ack(r->txns, slice_cstr(branch));
}
