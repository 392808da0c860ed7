/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router.c - see router.h.  The router's life cycle, the dispatch of the
 * phone's datagrams and of flow messages, and the helpers both directions
 * share (router_int.h); phone -> service in router_ua.c, service -> phone
 * in router_flow.c. */
#include "proxy/router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/rand.h"
#include "outbound/regagent.h"
#include "proxy/router_int.h"
#include "proxy/rroute.h"
#include "proxy/txn.h"
#include "sip/msg.h"
#include "sip/param.h"
#include "transport/stream.h"

/* ---- helpers of both directions (router_int.h) ---- */

uint64_t router_hash64(uint64_t seed, struct slice a, const void *b, size_t bn)
{
    return hash_fnv64(hash_fnv64(HASH_FNV64_INIT ^ seed, a.p, a.n), b, bn);
}

/* Max-Forwards (RFC 3261 §16.3 item 2, §16.6 item 3).  Returns 0 with the
 * edit made, or -ELOOP when it reached 0. */
int router_decrement_max_forwards(struct sipmsg_edits *ed, const struct sipmsg *m, char *buf,
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
int router_retx_key(struct slice branch, struct slice method, char *out, size_t outsz)
{
    bool cancel = slice_eq(method, SLICE_LIT("CANCEL"));
    int n = snprintf(out, outsz, "%.*s%s", (int)branch.n, branch.p, cancel ? ";CANCEL" : "");

    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int router_send_edited(const struct sipmsg *m, const struct sipmsg_edits *ed,
                       router_send_fn sendfn, void *ctx)
{
    char *buf = malloc(ROUTER_MSG_MAX);
    size_t n;
    int err = buf ? sipmsg_serialize(m, ed, buf, ROUTER_MSG_MAX, &n) : -ENOMEM;

    if (!err)
        err = sendfn(ctx, buf, n);
    free(buf);
    return err;
}

int router_send_on_flow(void *ctx, const char *buf, size_t len)
{
    struct router_flow_dst *d = ctx;

    return binding_flow_send(d->b, d->idx, buf, len);
}


int router_send_to_ua(void *ctx, const char *buf, size_t len)
{
    struct router_ua_dst *d = ctx;

    d->r->env.send_ua(d->ua, buf, len, d->r->env.arg);
    return 0;
}

/* Answers request m with status through sendfn (never an ACK, §17.1.1.3). */
void router_respond(const struct sipmsg *m, unsigned status, const struct sipmsg_nv *extra,
                    size_t nextra, router_send_fn sendfn, void *ctx)
{
    char buf[4096], tag[20];
    size_t n;

    if (slice_eq(m->method, SLICE_LIT("ACK")))
        return;
    rand_hex(tag, sizeof(tag), 16);
    if (sipmsg_build_response(m, status, SLICE_NULL, slice_cstr(tag), extra, nextra, buf,
                              sizeof(buf), &n) == 0)
        sendfn(ctx, buf, n);
}

void router_reply_with(const struct sipmsg *m, unsigned status, const char *why,
                       router_send_fn sendfn, void *ctx)
{
    log_info("request_refused", "method=%.*s status=%u reason=\"%s\"", (int)m->method.n,
             m->method.p, status, why);
    router_respond(m, status, NULL, 0, sendfn, ctx);
}

void router_reply(struct router *r, const struct sipmsg *m, const struct ua_addr *ua,
                  unsigned status, const char *why)
{
    struct router_ua_dst d = { r, ua };

    router_reply_with(m, status, why, router_send_to_ua, &d);
}

/* The phone's REGISTER (rroute.h: is it behind another NAT?). */
struct slice router_ua_register(const struct binding *b)
{
    size_t n;
    const char *p = binding_ua_register(b, &n);

    return p ? (struct slice){ p, n } : SLICE_NULL;
}

/* Our Record-Route on a dialog-forming request on flow idx of b, as the
 * top one (RFC 3261 §16.6 item 4): adds at POS_TOP come out in the order
 * made, so call it after the Via is added.  rr holds the value. */
int router_add_record_route(struct sipmsg_edits *ed, const struct sipmsg *m, struct binding *b,
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

/* ---- dispatch ---- */

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
    if (log_enabled(LOG_LVL_DEBUG)) /* the address is formatted only for a trace */
        log_sip(LOG_LVL_DEBUG, "sip_from_ua",
                addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)), buf, len);
    m = malloc(sizeof(*m));
    if (!m)
        return;
    if (sipmsg_parse(m, buf, len, 0) < 0) {
        SK_STAT_INC(r->env.stats, parse_errors);
        log_info("ua_msg_dropped", "src=%s reason=\"%s\" offset=%zu len=%zu",
                 addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)),
                 sipmsg_strerror(m->err), m->err_off, len);
    } else if (!m->is_request) {
        router_ua_response(r, m, ua);
    } else if (slice_eq(m->method, SLICE_LIT("REGISTER"))) {
        if (sipuri_parse(&u, m->ruri) < 0) {
            router_reply(r, m, ua, 416, "Request-URI is not a sip/sips URI");
        } else if (!(svc = cfg_service_for_domain(r->env.cfg, u.host))) {
            SK_STAT_INC(r->env.stats, policy_drops);
            router_reply(r, m, ua, 404, "no service for this domain");
        } else {
            regagent_register(r->ra, svc, m, ua);
        }
    } else if (!slice_eq(m->method, SLICE_LIT("ACK")) || !router_ua_ack_absorbed(r, m, ua)) {
        router_ua_request(r, m, ua);
    }
    free(m);
}

static void on_flow_msg(struct binding *b, unsigned idx, const struct sipmsg *m, void *arg)
{
    struct router *r = arg;
    const struct cfg_service *svc = binding_service(b);

    log_sip(LOG_LVL_DEBUG, "sip_from_flow",
            svc->n_outbound_proxies /* flow idx: proxy idx mod n (services[].flows) */
                ? svc->outbound_proxies[idx % svc->n_outbound_proxies].uri : NULL,
            m->buf.p, m->buf.n);
    if (m->is_request) {
        router_flow_request(r, b, idx, m);
        return;
    }
    /* §11.5: 430 is for proxies; a legacy UA gets it unchanged, and sipkeep
     * only checks its own flow at once rather than tearing it down. */
    if (m->status == 430)
        binding_flow_check(b, idx);
    router_flow_response(r, m);
}

/* ---- life cycle ---- */

/* regagent_env.send_ua and txn_senders.to_ua: to the phone at ua. */
static void send_ua_cb(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;

    r->env.send_ua(ua, buf, len, r->env.arg);
}

/* The TLS context of a service with TLS proxies.  Its files (CAs, client
 * certificate and key) are read here: at start before the privilege drop,
 * at a reload as the account sipkeep runs as.  An error names the
 * configuration key's place: "FILE:LINE:COL: services[N].tls.key_file ...". */
static int check_service(const struct cfg_service *s, size_t idx, SSL_CTX **tls,
                         enum stream_tls_bad *bad, char *err, size_t errsz)
{
    static const int versions[] = { [CFG_TLS_1_2] = TLS1_2_VERSION,
                                    [CFG_TLS_1_3] = TLS1_3_VERSION };
    struct stream_tls_opts o = { s->tls.ca_file, s->tls.verify, s->tls.cert_file,
                                 s->tls.key_file, versions[s->tls.min_version] };
    const char *at;
    char why[400] = "";
    bool need_tls = false;
    int rc;

    /* UDP proxies need nothing here: their flows open a socket each. */
    for (size_t i = 0; i < s->n_outbound_proxies; i++)
        need_tls |= s->outbound_proxies[i].transport == CFG_TRANSPORT_TLS;
    if (!need_tls)
        return 0;
    rc = stream_tls_ctx_new(&o, tls, bad, why, sizeof(why));
    if (rc == 0 || rc == -ENOMEM) {
        snprintf(err, errsz, "%s", why);
        return rc;
    }
    at = *bad == STREAM_TLS_BAD_CERT ? s->tls.cert_file_at
         : *bad == STREAM_TLS_BAD_KEY ? (s->tls.key_file_at ? s->tls.key_file_at
                                                            : s->tls.cert_file_at)
                                       : NULL;
    snprintf(err, errsz, "%s%sservices[%zu].tls.%s", at ? at : "", at ? ": " : "", idx, why);
    return rc;
}

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A reload that cannot read a client certificate or key whose settings did
 * not change (a root-only key: sipkeep has dropped privileges since the
 * start) keeps the context that read them.  Returns a new reference to it,
 * or NULL (no such service, or its TLS settings changed). */
static SSL_CTX *kept_tls(const struct router *r, const struct cfg_service *ns)
{
    const struct cfg *old = r->env.cfg;

    for (size_t j = 0; j < old->n_services; j++) {
        const struct cfg_tls *a = &old->services[j].tls, *b = &ns->tls;

        if (r->tls[j] && strcmp(old->services[j].name, ns->name) == 0 &&
            str_same(a->ca_file, b->ca_file) && a->verify == b->verify &&
            str_same(a->cert_file, b->cert_file) && str_same(a->key_file, b->key_file) &&
            a->min_version == b->min_version)
            return SSL_CTX_up_ref(r->tls[j]) == 1 ? r->tls[j] : NULL;
    }
    return NULL;
}

int router_new(struct router **out, const struct router_env *env, char *err, size_t errsz)
{
    struct router *r = calloc(1, sizeof(*r));
    struct regagent_env ra_env;
    int rc = r ? 0 : -ENOMEM;

    for (size_t i = 0; !rc && i < env->cfg->n_services; i++) {
        enum stream_tls_bad bad;

        rc = check_service(&env->cfg->services[i], i, &r->tls[i], &bad, err, errsz);
    }
    if (!rc) {
        r->env = *env;
        r->secret = rand_u64();
        ra_env = (struct regagent_env){ env->loop, env->cfg, env->ids, r->tls, send_ua_cb,
                                        on_flow_msg, r, env->stats, env->state, NULL,
                                        { NULL, NULL } };
        rc = txn_table_new(&r->txns, env->loop);
    }
    if (!rc) {
        txn_set_retx_sender(r->txns, router_retx_send_ua, r);
        txn_set_senders(r->txns, &(struct txn_senders){ router_txn_send_flow, send_ua_cb, r });
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

    for (size_t i = 0; !rc && i < ncfg->n_services; i++) {
        enum stream_tls_bad bad = STREAM_TLS_BAD_NONE;

        rc = check_service(&ncfg->services[i], i, &ntls[i], &bad, err, errsz);
        if (rc == -EINVAL && (bad == STREAM_TLS_BAD_CERT || bad == STREAM_TLS_BAD_KEY) &&
            (ntls[i] = kept_tls(r, &ncfg->services[i])) != NULL) {
            log_warn("tls_client_cert_kept", "service=%s err=\"%s\" action=\"kept the client "
                     "certificate and key read before\"", ncfg->services[i].name, err);
            if (errsz)
                err[0] = '\0';
            rc = 0;
        }
    }
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
    return binding_count(r->ra);
}

const struct regagent *router_agent(const struct router *r)
{
    return r->ra;
}

struct regagent *router_agent_rw(struct router *r)
{
    return r->ra;
}
