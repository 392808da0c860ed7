/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent_restore.c - the registration agent's stored state: what it
 * records of each binding (regstate.h) and how a restarted sipkeep
 * registers the bindings again from it, before the UAs' first refresh
 * (issue 4 item 6); see regagent.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "outbound/regagent_int.h"
#include "sip/uri.h"

#define RESTORE_MSG_MAX (REGSTATE_REG_MAX + 512)

/* ---- hooks: keeping the store up to date ---- */

void regagent_state_sent(const struct reg_flow *rf)
{
    const struct binding *b = rf->b;
    struct regstate *st = b->ra->env.state;
    const struct regstate_rec *old;
    struct regstate_rec r;
    int err;

    if (!st)
        return;
    old = regstate_get(st, b->aor, b->contact_uri);
    r = (struct regstate_rec){ .service = b->svc->name, .ua_src = b->ua.src,
                               .ua_local = b->ua.local,
                               .expires_at = old ? old->expires_at : 0,
                               .instance = b->instance, .aor = b->aor,
                               .contact_uri = b->contact_uri, .contact = b->contact,
                               .reg_buf = b->tmpl };
    /* The phone's REGISTER, not the upstream one made from it: a restore
     * rebuilds the rest, and the record shares b->tmpl rather than keep a
     * copy.  regstate_put copies it without Authorization /
     * Proxy-Authorization when it has them: the store never holds
     * credentials. */
    err = regstate_put(st, &r, b->ra->env.cfg->ua.register_expires);
    if (err < 0)
        log_warn("regstate_not_stored", "binding=%" PRIu32 " aor=%s err=\"%s\"", b->id,
                 b->aor, strerror(-err));
}

void regagent_state_registered(const struct binding *b, uint32_t ua_granted)
{
    struct regstate *st = b->ra->env.state;

    if (st)
        regstate_set_expiry(st, b->aor, b->contact_uri, (int64_t)time(NULL) + ua_granted,
                            ua_granted);
}

void regagent_state_gone(struct binding *b)
{
    struct regagent *ra = b->ra;

    if (b->retired)
        ra->n_retired--;
    /* A changed service's binding is gone (reload): its record brings it
     * back under the new settings now, not at the UA's next REGISTER. */
    if (b->retired && b->keep_state && !ra->closing && ra->ingress_for &&
        loop_timer_set(ra->env.loop, &ra->rerestore, 0) < 0)
        log_warn("rerestore_failed", "reason=\"no memory for a timer; waiting for the UA\"");
    if (!ra->env.state || b->keep_state || (ra->closing && !b->removing))
        return; /* at exit the records stay for the next start */
    regstate_del(ra->env.state, b->aor, b->contact_uri);
}

/* ---- restart ---- */

/* user@host equality of two URIs (To and From: third-party or not). */
static bool same_user_host(struct slice a, struct slice b)
{
    struct sipuri ua, ub;

    if (sipuri_parse(&ua, a) < 0 || sipuri_parse(&ub, b) < 0)
        return slice_eq(a, b);
    return slice_eq(ua.user, ub.user) && slice_eq_ci(ua.host, ub.host);
}

static bool aor_in_domain(const char *aor, const char *domain)
{
    struct sipuri u;

    return sipuri_parse(&u, slice_cstr(aor)) == 0 && slice_eq_ci_str(u.host, domain);
}

/* The stored REGISTER (the phone's; a version-1 file's: the upstream one)
 * made into a template: a REGISTER request whose To is the record's AOR,
 * without credentials or Supported (reg_msg_build_upstream adds ours).
 * Via, Contact and Route are rebuilt on each send anyway. */
static int make_template(const struct regstate_rec *r, struct sipmsg *m, struct rcbuf **out,
                         bool *third_party)
{
    struct sipmsg_edits ed;
    struct slice to, from;
    char *buf;
    size_t len;
    int err = sipmsg_parse(m, r->reg, r->reg_len, 0);

    if (err < 0)
        return err;
    if (!m->is_request || !slice_eq_ci_str(m->method, "REGISTER"))
        return -EBADMSG;
    to = reg_msg_addr_uri(sipmsg_hdr_find(m, SIPMSG_HDR_TO)->value);
    from = reg_msg_addr_uri(sipmsg_hdr_find(m, SIPMSG_HDR_FROM)->value);
    if (!slice_present(to) || !slice_present(from) || !slice_eq(to, slice_cstr(r->aor)))
        return -EBADMSG;
    *third_party = !same_user_host(to, from);
    sipmsg_edits_init(&ed, m, 0);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_AUTHORIZATION);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_PROXY_AUTHORIZATION);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_SUPPORTED);
    buf = malloc(RESTORE_MSG_MAX);
    if (!buf)
        return -ENOMEM;
    err = sipmsg_serialize(m, &ed, buf, RESTORE_MSG_MAX, &len);
    *out = err < 0 ? NULL : rcbuf_new(buf, len);
    free(buf);
    return err < 0 ? err : *out ? 0 : -ENOMEM;
}

/* The binding's own state from the record; b->tmpl takes tmpl. */
static int fill_binding(struct binding *b, const struct regstate_rec *r, struct rcbuf *tmpl,
                        void *ingress, int64_t now_s)
{
    struct sipmsg *m = malloc(sizeof(*m));
    char *contact = strdup(r->contact);
    int err = m && contact ? sipmsg_parse(m, tmpl->p, tmpl->len, 0) : -ENOMEM;

    if (err < 0) {
        free(m);
        free(contact);
        rcbuf_unref(tmpl);
        return err;
    }
    b->tmpl = tmpl;
    b->contact = contact;
    b->ua = (struct ua_addr){ .src = r->ua_src, .local = r->ua_local, .ingress = ingress };
    b->expires_up = reg_msg_requested_expiry(m, slice_cstr(contact));
    b->ua_waiting = false;
    free(m);
    /* The binding lapses when the UA's own registration would have. */
    loop_timer_set(b->ra->env.loop, &b->expiry, (uint64_t)(r->expires_at - now_s) * 1000u);
    return 0;
}

/* Any binding of the phone (aor, host of curi: its key), a retired one
 * too: a binding still being de-registered must be gone before its record
 * registers again, or the registrar could see our REGISTER before the old
 * Expires: 0 for the same instance-id and reg-id.  *same: that binding has
 * this very Contact URI (else the record is of a Contact the phone has
 * left, e.g. one of several stored under the key before issue 11). */
static bool bound(const struct regagent *ra, const char *aor, const char *curi, bool *same)
{
    char key[BINDING_KEY_MAX];

    *same = true;
    if (binding_key(slice_cstr(aor), slice_cstr(curi), key) < 0)
        return false;
    for (const struct binding *b = ra->all; b; b = b->next_all) {
        if (strcmp(b->key, key) == 0) {
            *same = strcmp(b->contact_uri, curi) == 0;
            return true;
        }
    }
    return false;
}

/* Restores one record.  Returns 0, or -errno with *why set. */
static int restore_one(struct regagent *ra, const struct regstate_rec *r, int64_t now_s,
                       void *ingress, const char **why)
{
    const struct cfg_service *svc = cfg_service_named(ra->env.cfg, r->service);
    struct sipmsg *m;
    struct binding *b;
    struct rcbuf *tmpl = NULL;
    bool third_party = false;
    int err;

    bool same;

    *why = bound(ra, r->aor, r->contact_uri, &same)
               ? (same ? "already bound" : "superseded by the phone's newer Contact")
           : !svc ? "service no longer configured"
           : !aor_in_domain(r->aor, svc->domain) ? "service domain changed"
           : r->expires_at <= now_s ? "the UA's registration has expired"
           : !ingress ? "no listener for the UA's address"
           : !slice_eq(reg_msg_addr_uri(slice_cstr(r->contact)), slice_cstr(r->contact_uri))
               ? "contact does not match its URI" : NULL;
    if (*why)
        return -ENOENT;
    *why = "stored REGISTER unusable";
    m = malloc(sizeof(*m));
    err = m ? make_template(r, m, &tmpl, &third_party) : -ENOMEM;
    free(m);
    if (err < 0)
        return err;
    *why = "cannot create the binding";
    err = binding_new(ra, svc, slice_cstr(r->aor), slice_cstr(r->contact_uri), third_party,
                      &b);
    if (err < 0) {
        rcbuf_unref(tmpl);
        return err;
    }
    /* The registrar knows the UA by this instance-id (§4.1): a different
     * one would leave the old registration behind as a stale flow. */
    if (strcmp(b->instance, r->instance) != 0) {
        *why = "instance-id differs from instance-ids";
        rcbuf_unref(tmpl);
        b->keep_state = true; /* the walk is still on the record */
        binding_free(b);
        return -ESTALE;
    }
    err = fill_binding(b, r, tmpl, ingress, now_s);
    if (err < 0) {
        b->keep_state = true;
        binding_free(b);
        return err;
    }
    log_info("registration_restored", "binding=%" PRIu32 " aor=%s instance=%s flows=%zu "
             "expires_in_s=%" PRId64, b->id, b->aor, b->instance, b->nflows,
             r->expires_at - now_s);
    /* Every flow is IDLE: connecting sends the REGISTER (on_ready), with a
     * new Call-ID per flow and CSeq 1.  Until one succeeds, the UA's own
     * REGISTER restarts a flow waiting in back-off at once (await_ua, as
     * for a challenge we could not answer), so that the UA is served as
     * if nothing had been restored: it gets a 503 at once when every flow
     * fails, rather than waiting out a back-off begun before it asked. */
    for (unsigned i = 0; i < b->nflows; i++) {
        b->flows[i].await_ua = true;
        flow_start(b->flows[i].flow);
    }
    return 0;
}

struct dropped {
    char *aor, *curi;
};

size_t regagent_restore(struct regagent *ra, int64_t now_s,
                        void *(*ingress_for)(const struct sockaddr_storage *local, void *arg),
                        void *arg)
{
    struct regstate *st = ra->env.state;
    size_t n = st ? regstate_count(st) : 0, ndrop = 0, restored = 0;
    struct dropped *drop = n ? calloc(n, sizeof(*drop)) : NULL;

    ra->ingress_for = ingress_for;
    ra->ingress_arg = arg;
    if (n && !drop)
        return 0;
    for (const struct regstate_rec *r = n ? regstate_next(st, NULL) : NULL; r;
         r = regstate_next(st, r)) {
        const char *why = NULL;
        struct sockaddr_storage local;
        int err;

        addr_ip_storage(&local, &r->ua_local);
        err = restore_one(ra, r, now_s, ingress_for(&local, arg), &why);

        if (err == 0) {
            restored++;
            continue;
        }
        if (strcmp(why, "already bound") == 0)
            continue; /* a re-restore after a reload: nothing to say */
        log_info("registration_not_restored", "aor=%s contact=%s service=%s reason=\"%s\"",
                 r->aor, r->contact_uri, r->service, why);
        drop[ndrop].aor = strdup(r->aor);
        drop[ndrop].curi = strdup(r->contact_uri);
        ndrop++;
    }
    /* The store must not change during the walk: drop afterwards. */
    for (size_t i = 0; i < ndrop; i++) {
        if (drop[i].aor && drop[i].curi)
            regstate_del(st, drop[i].aor, drop[i].curi);
        free(drop[i].aor);
        free(drop[i].curi);
    }
    free(drop);
    if (n)
        log_info("registrations_restored", "restored=%zu dropped=%zu", restored, ndrop);
    return restored;
}

void regagent_on_rerestore(struct loop_timer *t)
{
    struct regagent *ra = container_of(t, struct regagent, rerestore);

    /* Records with a live binding are skipped ("already bound"). */
    regagent_restore(ra, (int64_t)time(NULL), ra->ingress_for, ra->ingress_arg);
}
