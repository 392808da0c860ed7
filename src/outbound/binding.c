/* SPDX-License-Identifier: GPL-2.0-or-later */
/* binding.c - the binding object of the registration agent (see
 * binding.h, regagent_int.h): lookup by id, by key and by the phone's
 * address, accessors, its flows as the router uses them, new and free. */
#include "outbound/binding.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/rand.h"
#include "outbound/regagent_int.h"
#include "sip/uri.h"

/* ---- lookup ---- */

static struct binding **id_slot(struct regagent *ra, uint32_t id)
{
    struct binding **pp = &ra->by_id[id % RA_BUCKETS];

    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next_id;
    return pp;
}

struct binding *binding_by_id(struct regagent *ra, uint32_t id)
{
    return *id_slot(ra, id);
}

size_t binding_count(const struct regagent *ra)
{
    return ra->count;
}

uint32_t binding_id(const struct binding *b)
{
    return b->id;
}

const struct ua_addr *binding_ua(const struct binding *b)
{
    return &b->ua;
}

const struct binding *binding_next(const struct regagent *ra, const struct binding *prev)
{
    return prev ? prev->next_all : ra->all;
}

const char *binding_aor(const struct binding *b)
{
    return b->aor;
}

const char *binding_contact(const struct binding *b)
{
    return b->contact_uri;
}

const char *binding_instance(const struct binding *b)
{
    return b->third_party ? NULL : b->instance;
}

const char *binding_token_key(const struct binding *b)
{
    return b->instance;
}

const char *binding_ua_register(const struct binding *b, size_t *len)
{
    *len = b->tmpl ? b->tmpl->len : 0;
    return b->tmpl ? b->tmpl->p : NULL;
}

const struct cfg_service *binding_service(const struct binding *b)
{
    return b->svc;
}

int64_t binding_expires_in_ms(const struct binding *b)
{
    uint64_t now = loop_now(b->ra->env.loop);

    if (b->removing || !loop_timer_armed(&b->expiry))
        return -1;
    return b->expiry.due_ms > now ? (int64_t)(b->expiry.due_ms - now) : 0;
}

size_t binding_nflows(const struct binding *b)
{
    return b->nflows;
}

const struct flow *binding_flow(const struct binding *b, unsigned idx)
{
    return idx < b->nflows ? b->flows[idx].flow : NULL;
}

/* user@host of a sip/sips URI, for comparing AORs regardless of params. */
bool binding_same_aor(struct slice a, struct slice b)
{
    struct sipuri ua, ub;

    if (sipuri_parse(&ua, a) < 0 || sipuri_parse(&ub, b) < 0)
        return slice_eq(a, b);
    return slice_eq(ua.user, ub.user) && slice_eq_ci(ua.host, ub.host);
}

struct binding *binding_find_ua(struct regagent *ra, const struct sockaddr *src,
                                struct slice from_uri)
{
    struct binding *any = NULL;

    for (struct binding *b = ra->all; b; b = b->next_all) {
        if (b->removing || !addr_equal((const struct sockaddr *)&b->ua.src, src))
            continue;
        if (!slice_present(from_uri) || binding_same_aor(slice_cstr(b->aor), from_uri))
            return b;
        if (!any)
            any = b;
    }
    return any;
}

/* FNV-1a over the binding key: by_key's bucket. */
static struct binding **key_bucket(struct regagent *ra, const char *key)
{
    return &ra->by_key[hash_fnv32(HASH_FNV32_INIT, key, strlen(key)) % RA_BUCKETS];
}

struct binding *binding_find_key(struct regagent *ra, const char *key)
{
    for (struct binding *b = *key_bucket(ra, key); b; b = b->next_key) {
        if (!b->retired && strcmp(b->key, key) == 0)
            return b;
    }
    return NULL;
}

int binding_key(struct slice aor, struct slice contact_uri, char *out)
{
    size_t n;
    int err = instid_ua_key(aor, contact_uri, out, BINDING_KEY_MAX, &n);

    if (err != -EINVAL)
        return err;
    /* Not a sip/sips URI: the whole URI tells this phone apart. */
    if (aor.n + 1 + contact_uri.n >= BINDING_KEY_MAX)
        return -ENAMETOOLONG;
    snprintf(out, BINDING_KEY_MAX, "%.*s|%.*s", (int)aor.n, aor.p, (int)contact_uri.n,
             contact_uri.p);
    return 0;
}

/* ---- flows ---- */

int binding_pick_flow(const struct binding *b, unsigned *idx)
{
    int up = -1;

    /* Its flows may be connected, but nothing goes upstream before its
     * instance-id is on disk (regagent_flow_up). */
    if (b->id_batch)
        return -ENOTCONN;
    for (unsigned i = 0; i < b->nflows; i++) {
        if (flow_working(b->flows[i].flow)) {
            *idx = i;
            return 0;
        }
        if (up < 0 && (flow_state(b->flows[i].flow) == FLOW_ACTIVE ||
                       flow_state(b->flows[i].flow) == FLOW_REGISTERING))
            up = (int)i;
    }
    if (up < 0)
        return -ENOTCONN;
    *idx = (unsigned)up;
    return 0;
}

int binding_flow_via(const struct binding *b, unsigned idx, struct sockaddr_storage *local,
                     const char **transport)
{
    enum cfg_transport tr;

    if (idx >= b->nflows)
        return -EINVAL;
    /* the target's: a proxy's name may lead to another transport (NAPTR) */
    tr = flow_transport(b->flows[idx].flow);
    *transport = tr == CFG_TRANSPORT_TLS ? "TLS" : tr == CFG_TRANSPORT_UDP ? "UDP" : "TCP";
    return flow_local_addr(b->flows[idx].flow, local);
}

int binding_flow_send(struct binding *b, unsigned idx, const char *buf, size_t len)
{
    if (idx >= b->nflows)
        return -EINVAL;
    return flow_send(b->flows[idx].flow, buf, len);
}

void binding_flow_check(struct binding *b, unsigned idx)
{
    if (idx < b->nflows)
        flow_ping_now(b->flows[idx].flow);
}

/* The seconds until b's first flow in back-off tries again, or sends the
 * REGISTER an edge's Retry-After held (regagent.c), whichever comes first
 * (a 503's Retry-After), BINDING_RETRY_AFTER_DEFAULT_S when none does. */
unsigned binding_retry_after_s(const struct binding *b)
{
    uint64_t now = loop_now(b->ra->env.loop);
    int64_t min = -1;

    for (unsigned i = 0; i < b->nflows; i++) {
        const struct reg_flow *rf = &b->flows[i];
        struct flow_info fi;

        flow_get_info(rf->flow, &fi);
        if (rf->held && loop_timer_armed(&rf->refresh) && fi.state == FLOW_ACTIVE)
            fi.retry_in_ms = rf->refresh.due_ms > now ? (int64_t)(rf->refresh.due_ms - now) : 0;
        else if (fi.state != FLOW_BACKOFF)
            continue;
        if (fi.retry_in_ms >= 0 && (min < 0 || fi.retry_in_ms < min))
            min = fi.retry_in_ms;
    }
    if (min < 0)
        return BINDING_RETRY_AFTER_DEFAULT_S;
    return min <= 1000 ? 1u : (unsigned)((min + 999) / 1000);
}

/* ---- new and free ---- */

void binding_free(struct binding *b)
{
    struct regagent *ra = b->ra;
    struct binding **pp = id_slot(ra, b->id);

    *pp = b->next_id;
    for (pp = &ra->all; *pp != b; pp = &(*pp)->next_all)
        ;
    *pp = b->next_all;
    pp = key_bucket(ra, b->key);
    while (*pp != b)
        pp = &(*pp)->next_key;
    *pp = b->next_key;
    ra->count--;
    if (b->id_batch)
        regagent_id_unwait(b);
    regagent_state_gone(b);
    loop_timer_cancel(ra->env.loop, &b->expiry);
    loop_timer_cancel(ra->env.loop, &b->reap);
    loop_timer_cancel(ra->env.loop, &b->best_wait);
    for (unsigned i = 0; i < b->nflows; i++) {
        loop_timer_cancel(ra->env.loop, &b->flows[i].refresh);
        flow_free(b->flows[i].flow);
        reg_retry_free(&b->flows[i]);
    }
    free(b->aor);
    free(b->key);
    free(b->contact);
    free(b->contact_uri);
    rcbuf_unref(b->tmpl);
    free(b->best);
    free(b);
}

static int binding_flows_new(struct binding *b, SSL_CTX *tls)
{
    const struct cfg_service *svc = b->svc;
    size_t np = svc->n_outbound_proxies;

    /* services[].flows: flow i (reg-id i + 1) goes through proxy i mod n,
     * the proxy's (i / n)-th flow, spread over its distinct targets */
    for (size_t i = 0; i < cfg_service_nflows(svc); i++) {
        struct reg_flow *rf = &b->flows[i];
        struct flow_params p = {
            .loop = b->ra->env.loop, .proxy = &svc->outbound_proxies[i % np],
            .spread = (unsigned)(i / np),
            .reg_id = (unsigned)i + 1, .tls = tls, .keepalive = svc->keepalive,
            .recovery = { svc->recovery.base_time_all_failed,
                          svc->recovery.base_time_not_failed, svc->recovery.max_time },
            .pacing = { b->ra->pacer, svc->recovery.connect_rate,
                        svc->recovery.connect_burst },
            .cbs = &regagent_flow_cbs, .arg = rf, .stats = b->ra->env.stats,
            .resolver = b->ra->env.resolver, .rng = b->ra->env.rng,
        };
        int err;

        rf->b = b;
        rf->idx = (unsigned)i;
        loop_timer_init(&rf->refresh, regagent_on_refresh);
        /* §4.2.1: each flow's REGISTER has its own Call-ID. */
        rand_hex(rf->call_id, sizeof(rf->call_id), 24);
        memcpy(rf->call_id + 24, "@sipkeep", sizeof("@sipkeep"));
        err = flow_new(&rf->flow, &p);
        if (err < 0)
            return err;
        b->nflows++;
    }
    return 0;
}

int binding_new(struct regagent *ra, const struct cfg_service *svc, struct slice aor,
                       struct slice contact_uri, bool third_party, struct binding **out)
{
    struct binding *b = calloc(1, sizeof(*b) + cfg_service_nflows(svc) * sizeof(b->flows[0]));
    char key[BINDING_KEY_MAX];
    int err = binding_key(aor, contact_uri, key);

    if (err < 0 || !b) {
        free(b);
        return err < 0 ? err : -ENOMEM;
    }
    b->ra = ra;
    b->svc = svc;
    b->third_party = third_party;
    b->chal_flow = -1;
    b->aor = slice_strdup(aor);
    b->contact_uri = slice_strdup(contact_uri);
    b->key = strdup(key);
    loop_timer_init(&b->expiry, regagent_on_expiry);
    loop_timer_init(&b->reap, regagent_on_reap);
    loop_timer_init(&b->best_wait, reg_answer_on_best_wait);
    err = (!b->aor || !b->contact_uri || !b->key) ? -ENOMEM
          : regagent_id_get(b);
    if (!err)
        err = binding_flows_new(b, ra->env.tls[svc - ra->env.cfg->services]);
    if (err < 0) {
        for (unsigned i = 0; i < b->nflows; i++)
            flow_free(b->flows[i].flow);
        free(b->aor);
        free(b->contact_uri);
        free(b->key);
        free(b);
        return err;
    }
    b->id = ++ra->next_id;
    b->next_id = ra->by_id[b->id % RA_BUCKETS];
    ra->by_id[b->id % RA_BUCKETS] = b;
    b->next_all = ra->all;
    ra->all = b;
    struct binding **kb = key_bucket(ra, b->key);
    b->next_key = *kb;
    *kb = b;
    ra->count++;
    if (b->id_batch)
        regagent_id_wait(b);
    *out = b;
    return 0;
}

