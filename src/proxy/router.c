/* router.c - see router.h. */
#include "proxy/router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"
#include "outbound/regagent.h"
#include "proxy/rroute.h"
#include "proxy/txn.h"
#include "sip/msg.h"
#include "sip/param.h"
#include "transport/stream.h"

#define ROUTER_MSG_MAX 20000u
/* Our branch for requests we relay to a UA: magic cookie (RFC 3261
 * §8.1.1.7), "sk", the binding and flow that carried it, and a hash of the
 * upstream branch, so a CANCEL or ACK maps to the same branch statelessly
 * (§16.11) and the UA's response finds its flow. */
#define INBOUND_PREFIX "z9hG4bKsk"

struct router {
    struct router_env env;
    struct regagent *ra;
    struct txn_table *txns;
    SSL_CTX *tls[CFG_MAX_SERVICES];
    uint64_t secret;     /* keys branch hashes so they cannot be forged */
};

/* ---- small helpers ---- */

static uint64_t hash64(uint64_t seed, struct slice a, const void *b, size_t bn)
{
    uint64_t h = 1469598103934665603ULL ^ seed;

    for (size_t i = 0; i < a.n; i++)
        h = (h ^ (uint8_t)a.p[i]) * 1099511628211ULL;
    for (size_t i = 0; i < bn; i++)
        h = (h ^ ((const uint8_t *)b)[i]) * 1099511628211ULL;
    return h;
}

/* The first Via element of m and its branch. */
static int top_via(const struct sipmsg *m, struct slice *elem, struct slice *branch)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_VIA);
    struct slice rest;
    struct sipparam_via v;

    if (!h)
        return -EBADMSG;
    rest = h->value;
    if (sipparam_split_next(&rest, elem) != 1 || sipparam_parse_via(&v, *elem) < 0)
        return -EBADMSG;
    if (sipparam_find(v.params, "branch", branch) < 0 || !slice_present(*branch))
        *branch = SLICE_NULL;
    return 0;
}

/* Removes the top Via element: the whole header line, or the first value
 * of a line that carries several (§7.3.1). */
static int pop_top_via(struct sipmsg_edits *ed, const struct sipmsg *m)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_VIA);
    struct slice rest = h->value, elem;

    if (sipparam_split_next(&rest, &elem) != 1)
        return -EBADMSG;
    while (rest.n && (rest.p[0] == ',' || rest.p[0] == ' ' || rest.p[0] == '\t' ||
                      rest.p[0] == '\r' || rest.p[0] == '\n')) {
        rest.p++;
        rest.n--;
    }
    if (rest.n == 0)
        return sipmsg_edit_remove(ed, (unsigned)(h - m->hdrs));
    return sipmsg_edit_replace(ed, (unsigned)(h - m->hdrs), rest);
}

/* Max-Forwards (RFC 3261 §16.3 item 2, §16.6 item 3).  Returns 0 with the
 * edit made, or -ELOOP when it reached 0. */
static int decrement_max_forwards(struct sipmsg_edits *ed, const struct sipmsg *m, char *buf,
                                  size_t bufsz)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_MAX_FORWARDS);
    uint64_t v;

    if (!h)
        return sipmsg_edit_add(ed, SIPMSG_POS_END, 0, SLICE_LIT("Max-Forwards"),
                               SLICE_LIT("70"));
    if (slice_to_u64(slice_trim(h->value), &v) < 0)
        v = 70;
    if (v == 0)
        return -ELOOP;
    snprintf(buf, bufsz, "%" PRIu64, (v > 255 ? 255 : v) - 1);
    return sipmsg_edit_replace(ed, (unsigned)(h - m->hdrs), slice_cstr(buf));
}


/* The key of the client transaction of a request we relay to a UA: our
 * branch, plus the method for a CANCEL, which shares its INVITE's branch
 * (§9.1) but is a transaction of its own.  Returns 0 or -ENAMETOOLONG. */
static int retx_key(struct slice branch, struct slice method, char *out, size_t outsz)
{
    bool cancel = slice_eq(method, SLICE_LIT("CANCEL"));
    int n = snprintf(out, outsz, "%.*s%s", (int)branch.n, branch.p, cancel ? ";CANCEL" : "");

    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static int send_edited(const struct sipmsg *m, const struct sipmsg_edits *ed,
                       int (*sendfn)(void *ctx, const char *buf, size_t len), void *ctx)
{
    char *buf = malloc(ROUTER_MSG_MAX);
    size_t n;
    int err = buf ? sipmsg_serialize(m, ed, buf, ROUTER_MSG_MAX, &n) : -ENOMEM;

    if (!err)
        err = sendfn(ctx, buf, n);
    free(buf);
    return err;
}

struct flow_dst {
    struct binding *b;
    unsigned idx;
};

static int send_on_flow(void *ctx, const char *buf, size_t len)
{
    struct flow_dst *d = ctx;

    return binding_flow_send(d->b, d->idx, buf, len);
}

/* ua_request's sender: an INVITE as sent is also kept for what Timer C
 * may send of its own (CANCEL, 408; txn.h). */
struct req_dst {
    struct flow_dst f;
    struct txn_table *txns;
};

static int send_req_on_flow(void *ctx, const char *buf, size_t len)
{
    struct req_dst *d = ctx;
    int err = send_on_flow(&d->f, buf, len);

    if (!err && len > 7 && memcmp(buf, "INVITE ", 7) == 0)
        (void)txn_invite_sent(d->txns, d->f.idx, buf, len);
    return err;
}

struct ua_dst {
    struct router *r;
    const struct ua_addr *ua;
};

static int send_to_ua(void *ctx, const char *buf, size_t len)
{
    struct ua_dst *d = ctx;

    d->r->env.send_ua(d->ua, buf, len, d->r->env.arg);
    return 0;
}

typedef int (*send_fn)(void *ctx, const char *buf, size_t len);

/* Answers request m with status through sendfn (never an ACK, §17.1.1.3). */
static void reply_with(const struct sipmsg *m, unsigned status, const char *why,
                       send_fn sendfn, void *ctx)
{
    char buf[4096], tag[20];
    size_t n;

    log_info("request_refused", "method=%.*s status=%u reason=\"%s\"", (int)m->method.n,
             m->method.p, status, why);
    if (slice_eq(m->method, SLICE_LIT("ACK")))
        return;
    rand_hex(tag, sizeof(tag), 16);
    if (sipmsg_build_response(m, status, SLICE_NULL, slice_cstr(tag), NULL, 0, buf,
                              sizeof(buf), &n) == 0)
        sendfn(ctx, buf, n);
}

static void reply(struct router *r, const struct sipmsg *m, const struct ua_addr *ua,
                  unsigned status, const char *why)
{
    struct ua_dst d = { r, ua };

    reply_with(m, status, why, send_to_ua, &d);
}

/* A 503 says when to come back (RFC 3261 §21.5.4, §20.33; issue 11: every
 * 503 sipkeep makes carries Retry-After): b's remaining back-off. */
static void reply_503(struct router *r, const struct sipmsg *m, const struct ua_addr *ua,
                      const struct binding *b, const char *why)
{
    struct ua_dst d = { r, ua };
    struct sipmsg_nv nv = { SLICE_LIT("Retry-After"), SLICE_NULL };
    char buf[4096], tag[20], v[16];
    size_t n;

    log_info("request_refused", "method=%.*s status=503 reason=\"%s\"", (int)m->method.n,
             m->method.p, why);
    if (slice_eq(m->method, SLICE_LIT("ACK")))
        return;
    snprintf(v, sizeof(v), "%u", binding_retry_after_s(b));
    nv.value = slice_cstr(v);
    rand_hex(tag, sizeof(tag), 16);
    if (sipmsg_build_response(m, 503, SLICE_NULL, slice_cstr(tag), &nv, 1, buf, sizeof(buf),
                              &n) == 0)
        send_to_ua(&d, buf, n);
}

/* ---- UA -> service ---- */

static bool is_dialog_forming(const struct sipmsg *m)
{
    struct sipparam_addr to;
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_TO);
    struct slice tag;

    if (sipparam_parse_addr(&to, h->value) == 0 && slice_present(to.params) &&
        sipparam_find(to.params, "tag", &tag) == 0)
        return false;
    return slice_eq(m->method, SLICE_LIT("INVITE")) ||
           slice_eq(m->method, SLICE_LIT("SUBSCRIBE")) ||
           slice_eq(m->method, SLICE_LIT("REFER"));
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
    struct slice elem, branch;

    if (top_via(m, &elem, &branch) < 0 || !slice_present(branch))
        branch = SLICE_NULL;
    if (!slice_present(branch)) {
        /* RFC 2543 peer without a branch: unique per request. */
        snprintf(out, outsz, "z9hG4bKr%016" PRIx64, rand_u64());
        return;
    }
    /* Only the concrete sockaddr: the rest of the storage is whatever the
     * ingress left there, and a CANCEL must hash like its INVITE. */
    snprintf(out, outsz, "z9hG4bKu%016" PRIx64,
             hash64(r->secret, branch, &ua->src, addr_len((const struct sockaddr *)&ua->src)));
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
    int err = decrement_max_forwards(ed, m, mf, mfsz);

    if (err < 0)
        return err;
    sipmsg_edit_remove_all(ed, SIPMSG_HDR_VIA);
    err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), slice_cstr(via));
    if (!err && !sipmsg_hdr_has_token(m, SIPMSG_HDR_SUPPORTED, "outbound") && !slice_eq(m->method, SLICE_LIT("ACK")) &&
        !slice_eq(m->method, SLICE_LIT("CANCEL")))
        err = sipmsg_edit_add(ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"),
                              SLICE_LIT("outbound"));
    if (!err && is_dialog_forming(m))
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
    char buf[4096], tag[20];
    size_t n;

    if (!slice_eq(m->method, SLICE_LIT("OPTIONS"))) {
        reply(r, m, ua, 404, "Request-URI names sipkeep");
        return;
    }
    rand_hex(tag, sizeof(tag), 16);
    if (sipmsg_build_response(m, 200, SLICE_NULL, slice_cstr(tag), extra,
                              sizeof(extra) / sizeof(extra[0]), buf, sizeof(buf), &n) == 0)
        r->env.send_ua(ua, buf, n, r->env.arg);
    log_debug("ua_options_answered", "status=200");
}

/* The phone's REGISTER (rroute.h: is it behind another NAT?). */
static struct slice ua_register(const struct binding *b)
{
    size_t n;
    const char *p = binding_ua_register(b, &n);

    return p ? (struct slice){ p, n } : SLICE_NULL;
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
    for (const struct binding *o = regagent_next(r->ra, NULL); o; o = regagent_next(r->ra, o)) {
        if (o == *bp || binding_expires_in_ms(o) < 0 ||
            !addr_equal((const struct sockaddr *)&binding_ua(o)->src, src) ||
            rroute_verify(binding_token_key(o), token, src, reg_id) < 0)
            continue;
        *bp = regagent_binding(r->ra, binding_id(o));
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

/* Our Record-Route on a dialog-forming request on flow idx of b, as the
 * top one (RFC 3261 §16.6 item 4): adds at POS_TOP come out in the order
 * made, so call it after the Via is added.  rr holds the value. */
static int add_record_route(struct sipmsg_edits *ed, const struct sipmsg *m, struct binding *b,
                            unsigned idx, char *rr, size_t rrsz)
{
    const struct ua_addr *ua = binding_ua(b);
    char token[RROUTE_TOKEN_MAX];
    int err;

    if (!rroute_wants_rr(m))
        return 0;
    err = rroute_token(binding_token_key(b), idx + 1, (const struct sockaddr *)&ua->src, token,
                       sizeof(token));
    if (!err)
        err = rroute_rr_value((const struct sockaddr *)&ua->local, token, rr, rrsz);
    if (!err)
        err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Record-Route"), slice_cstr(rr));
    return err;
}

static void ua_request(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
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
        reply(r, m, ua, 500, "too many edits");
        return;
    }
    if (!pop.left && rroute_uri_names_us(r->env.cfg, (const struct sockaddr *)&ua->local,
                                         r->env.cfg->mode == CFG_MODE_PROXY, m->ruri)) {
        answer_own(r, m, ua);
        return;
    }
    if (sipparam_parse_addr(&fa, sipmsg_hdr_find(m, SIPMSG_HDR_FROM)->value) == 0)
        from = fa.uri;
    b = regagent_find_ua(r->ra, (const struct sockaddr *)&ua->src, from);
    if (!b) {
        SK_STAT_INC(r->env.stats, policy_drops);
        reply(r, m, ua, 403, "UA has no registration through sipkeep");
        return;
    }
    nvias = collect_vias(m, vias, TXN_MAX_VIAS);
    if (nvias > TXN_MAX_VIAS) {
        reply(r, m, ua, 400, "too many Via headers");
        return;
    }
    make_upstream_branch(r, m, ua, branch, sizeof(branch));
    /* a CANCEL, the ACK of a non-2xx, a retransmission: the transaction's
     * binding and flow, if it is this phone's */
    t = txn_get(r->txns, slice_cstr(branch));
    if (t && t->binding_id != binding_id(b)) {
        struct binding *tb = regagent_binding(r->ra, t->binding_id);
        if (tb && addr_equal((const struct sockaddr *)&binding_ua(tb)->src,
                             (const struct sockaddr *)&ua->src))
            b = tb;
    }
    if (t && t->binding_id == binding_id(b))
        want_txn = (int)t->flow_idx;
    err = choose_flow(r, &b, ua, pop.token, want_txn, &idx);
    if (err == -EACCES) {
        SK_STAT_INC(r->env.stats, policy_drops);
        reply(r, m, ua, 403, "Record-Route token does not verify");
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
        reply(r, m, ua, 483, "Max-Forwards reached 0");
        return;
    }
    if (!err)
        err = add_record_route(&ed, m, b, idx, rr, sizeof(rr));
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
        err = send_edited(m, &ed, send_req_on_flow, &dst);
    if (err < 0) {
        reply(r, m, ua, 500, strerror(-err));
        return;
    }
    log_debug("ua_request_relayed", "method=%.*s binding=%" PRIu32 " reg_id=%u",
              (int)m->method.n, m->method.p, binding_id(b), idx + 1);
}

/* A response from the UA to a request we relayed to it from a flow. */
static void ua_response(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    struct slice elem, branch;
    unsigned long id, idx;
    char tail[TXN_BRANCH_MAX];
    struct binding *b;
    struct sipmsg_edits ed;
    struct flow_dst dst;
    int err;

    if (top_via(m, &elem, &branch) < 0 || branch.n <= sizeof(INBOUND_PREFIX) - 1 ||
        memcmp(branch.p, INBOUND_PREFIX, sizeof(INBOUND_PREFIX) - 1) != 0 ||
        slice_copy_cstr((struct slice){ branch.p + sizeof(INBOUND_PREFIX) - 1,
                                        branch.n - (sizeof(INBOUND_PREFIX) - 1) },
                        tail, sizeof(tail)) < 0 ||
        sscanf(tail, "%lu.%lu.", &id, &idx) != 2) {
        log_info("ua_response_dropped", "reason=\"top Via is not ours\" status=%u", m->status);
        return;
    }
    b = regagent_binding(r->ra, (uint32_t)id);
    if (!b) {
        log_info("ua_response_dropped", "reason=\"binding gone\" status=%u", m->status);
        return;
    }
    /* Only the UA we relayed the request to may answer on its flow: from
     * its source IP or its registered Contact (where the request went). */
    if (!rroute_from_phone(r->env.cfg, &binding_ua(b)->src, binding_contact(b), ua_register(b),
                           (const struct sockaddr *)&ua->src)) {
        log_info("ua_response_dropped", "reason=\"not from the binding's UA\" status=%u",
                 m->status);
        return;
    }
    /* Ends or slows our retransmissions of the request (§17.1.1.2,
     * §17.1.2.2), whether or not the flow takes the response. */
    if (retx_key(branch, m->cseq_method, tail, sizeof(tail)) == 0)
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
    dst = (struct flow_dst){ b, (unsigned)idx };
    if (!err)
        err = send_edited(m, &ed, send_on_flow, &dst);
    if (err < 0)
        log_info("ua_response_dropped", "binding=%lu reg_id=%lu status=%u err=\"%s\"", id,
                 idx + 1, m->status, strerror(-err));
}

/* An ACK from the UA: its branch is its INVITE's (§17.1.1.3), so it maps
 * to the INVITE's entry.  It ends Timer G of a relayed non-2xx; when it
 * acknowledges the 408 sipkeep made on Timer C it goes no further. */
static bool ua_ack_absorbed(struct router *r, const struct sipmsg *m, const struct ua_addr *ua)
{
    char branch[TXN_BRANCH_MAX];

    make_upstream_branch(r, m, ua, branch, sizeof(branch));
    return txn_ua_ack(r->txns, slice_cstr(branch));
}

void router_from_ua(struct router *r, const char *buf, size_t len, const struct ua_addr *ua)
{
    struct sipmsg *m;
    char who[ADDR_STR_MAX];
    struct sipuri u;
    const struct cfg_service *svc;

    if (!cfg_ua_allowed(r->env.cfg, (const struct sockaddr *)&ua->src)) {
        SK_STAT_INC(r->env.stats, policy_drops);
        log_info("ua_denied", "src=%s reason=\"not in ua.allow\"",
                 addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)));
        return;
    }
    if (len <= 4 && (len == 0 || buf[0] == '\r' || buf[0] == '\n' || buf[0] == '\0'))
        return; /* a UA's own NAT keep-alive (CRLF or NUL): nothing to do */
    m = malloc(sizeof(*m));
    if (!m)
        return;
    if (sipmsg_parse(m, buf, len, 0) < 0) {
        SK_STAT_INC(r->env.stats, parse_errors);
        log_info("ua_msg_dropped", "src=%s reason=\"%s\" offset=%zu len=%zu",
                 addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)),
                 sipmsg_strerror(m->err), m->err_off, len);
    } else if (!m->is_request) {
        ua_response(r, m, ua);
    } else if (slice_eq(m->method, SLICE_LIT("REGISTER"))) {
        if (sipuri_parse(&u, m->ruri) < 0) {
            reply(r, m, ua, 416, "Request-URI is not a sip/sips URI");
        } else if (!(svc = cfg_service_for_domain(r->env.cfg, u.host))) {
            SK_STAT_INC(r->env.stats, policy_drops);
            reply(r, m, ua, 404, "no service for this domain");
        } else {
            regagent_register(r->ra, svc, m, ua);
        }
    } else if (!slice_eq(m->method, SLICE_LIT("ACK")) || !ua_ack_absorbed(r, m, ua)) {
        ua_request(r, m, ua);
    }
    free(m);
}

/* ---- service -> UA ---- */

/* §16.6 item 10, §17.1.1.2, §17.1.2.2: a stateful proxy forwarding over
 * UDP retransmits.  Only for requests that came on a reliable flow: on a
 * UDP flow the edge retransmits itself, and each copy is relayed as is.
 * No ACK: nothing answers it. */
static void start_retx(struct router *r, struct binding *b, unsigned idx,
                       const struct sipmsg *m, const char *branch, const char *buf, size_t len)
{
    struct sockaddr_storage local;
    const char *tp;
    char key[TXN_BRANCH_MAX];
    int err;

    if (slice_eq(m->method, SLICE_LIT("ACK")) || binding_flow_via(b, idx, &local, &tp) < 0 ||
        strcmp(tp, "UDP") == 0)
        return;
    err = retx_key(slice_cstr(branch), m->method, key, sizeof(key));
    if (!err)
        err = txn_put_retx(r->txns, key, slice_eq(m->method, SLICE_LIT("INVITE")),
                           binding_id(b), buf, len);
    if (err < 0)
        log_warn("relay_retx_failed", "binding=%" PRIu32 " err=\"%s\"", binding_id(b),
                 strerror(-err));
}

/* txn_retx_send_fn: a retransmission to the UA of binding id, if it is
 * still there (its ingress may be gone with it). */
static int retx_send_ua(uint32_t id, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;
    struct binding *b = regagent_binding(r->ra, id);
    const char *sp1, *sp2;
    struct ua_addr to;

    if (!b)
        return -ESRCH;
    /* the same target as the first copy: the Request-URI of buf's start
     * line ("METHOD SP Request-URI SP SIP/2.0", which we serialised) */
    to = *binding_ua(b);
    sp1 = memchr(buf, ' ', len);
    sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - buf)) : NULL;
    if (sp2)
        rroute_ua_target(r->env.cfg, &binding_ua(b)->src,
                         (struct slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) }, ua_register(b),
                         &to.src);
    r->env.send_ua(&to, buf, len, r->env.arg);
    return 0;
}

static int flow_request_edits(struct sipmsg_edits *ed, const struct sipmsg *m, const char *via,
                              char *mf, size_t mfsz)
{
    int err = decrement_max_forwards(ed, m, mf, mfsz);

    if (!err)
        err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), slice_cstr(via));
    return err;
}

static void flow_request(struct router *r, struct binding *b, unsigned idx,
                         const struct sipmsg *m)
{
    const struct ua_addr *ua = binding_ua(b);
    struct slice elem, branch;
    struct sipmsg_edits ed;
    struct rroute_popped pop;
    struct ua_addr to = *ua;
    char via[200], mf[8], host[ADDR_STR_MAX], ours[TXN_BRANCH_MAX], rr[RROUTE_RR_MAX], *buf;
    size_t n;
    int err;

    if (top_via(m, &elem, &branch) < 0)
        return;
    snprintf(ours, sizeof(ours), INBOUND_PREFIX "%" PRIu32 ".%u.%016" PRIx64, binding_id(b),
             idx, hash64(r->secret, slice_present(branch) ? branch : elem, NULL, 0));
    snprintf(via, sizeof(via), "SIP/2.0/UDP %s;rport;branch=%s",
             addr_format((const struct sockaddr *)&ua->local, true, host, sizeof(host)), ours);
    sipmsg_edits_init(&ed, m, 0);
    /* §16.4: our Record-Route comes back as the last Route of the far
     * side's route set */
    err = rroute_pop(&ed, m, r->env.cfg, (const struct sockaddr *)&ua->local, &pop);
    if (!err)
        err = flow_request_edits(&ed, m, via, mf, sizeof(mf));
    if (err == -ELOOP) {
        struct flow_dst fd = { b, idx };
        reply_with(m, 483, "Max-Forwards reached 0", send_on_flow, &fd);
        return;
    }
    if (!err)
        err = add_record_route(&ed, m, b, idx, rr, sizeof(rr));
    /* §16.5-16.6: to the Request-URI (the registered Contact) when that
     * is the phone, else where its REGISTER came from */
    rroute_ua_target(r->env.cfg, &ua->src, m->ruri, ua_register(b), &to.src);
    buf = err ? NULL : malloc(ROUTER_MSG_MAX);
    if (!err)
        err = buf ? sipmsg_serialize(m, &ed, buf, ROUTER_MSG_MAX, &n) : -ENOMEM;
    if (!err) {
        r->env.send_ua(&to, buf, n, r->env.arg);
        start_retx(r, b, idx, m, ours, buf, n);
    }
    free(buf);
    if (err < 0)
        log_warn("flow_request_dropped", "binding=%" PRIu32 " err=\"%s\"", binding_id(b),
                 strerror(-err));
    else
        log_debug("flow_request_relayed", "method=%.*s binding=%" PRIu32, (int)m->method.n,
                  m->method.p, binding_id(b));
}

/* txn_senders.to_flow: sipkeep's own CANCEL or ACK of an INVITE. */
static int txn_send_flow(uint32_t id, unsigned idx, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;
    struct binding *b = regagent_binding(r->ra, id);

    return b ? binding_flow_send(b, idx, buf, len) : -ESRCH;
}

static void txn_send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;

    r->env.send_ua(ua, buf, len, r->env.arg);
}

/* flow_response's sender: the copy sent to the UA is also the one Timer G
 * retransmits (txn_response_relayed). */
struct rsp_dst {
    struct ua_dst ua;
    struct slice branch;
};

static int send_rsp_to_ua(void *ctx, const char *buf, size_t len)
{
    struct rsp_dst *d = ctx;

    send_to_ua(&d->ua, buf, len);
    txn_response_relayed(d->ua.r->txns, d->branch, buf, len);
    return 0;
}

static void flow_response(struct router *r, const struct sipmsg *m)
{
    struct slice elem, branch;
    const struct txn *t;
    struct sipmsg_edits ed;
    struct rsp_dst dst;
    int err = 0;

    if (top_via(m, &elem, &branch) < 0 || !(t = txn_get(r->txns, branch))) {
        log_info("flow_response_dropped", "status=%u reason=\"no transaction\"", m->status);
        return;
    }
    /* Timer C, and what sipkeep answers or ACKs itself (txn.h) */
    if (!txn_response_in(r->txns, branch, m)) {
        log_debug("flow_response_absorbed", "status=%u", m->status);
        return;
    }
    dst = (struct rsp_dst){ { r, &t->ua }, branch };
    sipmsg_edits_init(&ed, m, 0);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA);
    /* Adds at the same place come out in the order made: first Via first. */
    for (unsigned i = 0; i < t->nvias && !err; i++)
        err = sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), t->vias[i]);
    if (!err)
        err = send_edited(m, &ed, send_rsp_to_ua, &dst);
    if (err < 0)
        log_warn("flow_response_dropped", "status=%u err=\"%s\"", m->status, strerror(-err));
}

static void on_flow_msg(struct binding *b, unsigned idx, const struct sipmsg *m, void *arg)
{
    struct router *r = arg;

    if (m->is_request) {
        flow_request(r, b, idx, m);
        return;
    }
    /* §11.5: 430 is for proxies; a legacy UA gets it unchanged, and sipkeep
     * only checks its own flow at once rather than tearing it down. */
    if (m->status == 430)
        binding_flow_check(b, idx);
    flow_response(r, m);
}

/* ---- life cycle ---- */

static void send_ua_cb(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;

    r->env.send_ua(ua, buf, len, r->env.arg);
}

static int check_service(const struct cfg_service *s, SSL_CTX **tls, char *err, size_t errsz)
{
    bool need_tls = false;

    /* UDP proxies need nothing here: their flows open a socket each. */
    for (size_t i = 0; i < s->n_outbound_proxies; i++)
        need_tls |= s->outbound_proxies[i].transport == CFG_TRANSPORT_TLS;
    if (!need_tls)
        return 0;
    return stream_tls_ctx_new(s->tls.ca_file, s->tls.verify, tls, err, errsz);
}

int router_new(struct router **out, const struct router_env *env, char *err, size_t errsz)
{
    struct router *r = calloc(1, sizeof(*r));
    struct regagent_env ra_env;
    int rc = r ? 0 : -ENOMEM;

    for (size_t i = 0; !rc && i < env->cfg->n_services; i++)
        rc = check_service(&env->cfg->services[i], &r->tls[i], err, errsz);
    if (!rc) {
        r->env = *env;
        r->secret = rand_u64();
        ra_env = (struct regagent_env){ env->loop, env->cfg, env->ids, r->tls, send_ua_cb,
                                        on_flow_msg, r, env->stats, env->state };
        rc = txn_table_new(&r->txns, env->loop);
    }
    if (!rc) {
        txn_set_retx_sender(r->txns, retx_send_ua, r);
        txn_set_senders(r->txns, &(struct txn_senders){ txn_send_flow, txn_send_ua, r });
    }
    if (!rc)
        rc = regagent_new(&r->ra, &ra_env);
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errsz, "out of memory");
        router_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void router_free(struct router *r)
{
    if (!r)
        return;
    regagent_free(r->ra);
    txn_table_free(r->txns);
    for (size_t i = 0; i < CFG_MAX_SERVICES; i++)
        stream_tls_ctx_free(r->tls[i]);
    free(r);
}

/* New TLS contexts for every service of ncfg (flows of kept bindings hold
 * their own reference to the old ones), then the agent's reload. */
int router_reload(struct router *r, const struct cfg *ncfg, char *err, size_t errsz)
{
    SSL_CTX *ntls[CFG_MAX_SERVICES] = { NULL };
    int rc = 0;

    for (size_t i = 0; !rc && i < ncfg->n_services; i++)
        rc = check_service(&ncfg->services[i], &ntls[i], err, errsz);
    for (size_t i = 0; i < CFG_MAX_SERVICES; i++) {
        stream_tls_ctx_free(rc < 0 ? ntls[i] : r->tls[i]);
        if (rc == 0)
            r->tls[i] = ntls[i];
    }
    if (rc < 0)
        return rc;
    regagent_reload(r->ra, ncfg);
    r->env.cfg = ncfg;
    return 0;
}

size_t router_retired(const struct router *r)
{
    return regagent_retired(r->ra);
}

size_t router_restore(struct router *r, int64_t now_s,
                      void *(*ingress_for)(const struct sockaddr_storage *local, void *arg),
                      void *arg)
{
    return regagent_restore(r->ra, now_s, ingress_for, arg);
}

size_t router_bindings(const struct router *r)
{
    return regagent_count(r->ra);
}

const struct regagent *router_agent(const struct router *r)
{
    return r->ra;
}
