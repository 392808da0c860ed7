/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reg_msg.c - the REGISTER rewriting of the registration agent: the UA's
 * REGISTER made into an RFC 5626 one (§4.2.1), and the upstream response
 * made back into what the legacy UA expects. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/addr.h"
#include "outbound/regagent_int.h"
#include "sip/param.h"
#include "sip/via.h"

/* RFC 3261 §10.2.1: a REGISTER without any expiry asks for the default,
 * which is the registrar's choice; 3600 s is the value RFC 3261 suggests. */
#define REG_DEFAULT_EXPIRES 3600u

struct slice reg_msg_addr_uri(struct slice value)
{
    struct sipparam_addr a;

    if (sipparam_parse_addr(&a, value) < 0)
        return SLICE_NULL;
    return a.uri;
}

uint32_t reg_msg_requested_expiry(const struct sipmsg *m, struct slice elem)
{
    struct sipparam_addr a;
    const struct sipmsg_hdr *h;
    uint32_t v;
    uint64_t hv;

    if (sipparam_parse_addr(&a, elem) == 0 && slice_present(a.params) &&
        sipparam_expires(a.params, &v) == 0)
        return v;
    h = sipmsg_hdr_find(m, SIPMSG_HDR_EXPIRES);
    if (h && slice_to_u64(slice_trim(h->value), &hv) == 0)
        return hv > UINT32_MAX ? UINT32_MAX : (uint32_t)hv;
    return REG_DEFAULT_EXPIRES;
}

/* Our Contact: the UA's element with +sip.instance and reg-id (§4.2.1),
 * and expires set when overridden.  Third-party registrations and
 * de-registration overrides of those carry neither id (§4.2.3). */
static int build_contact(const struct reg_flow *rf, uint32_t expires_override,
                         char *out, size_t outsz, size_t *outlen)
{
    const struct binding *b = rf->b;
    char a[1024], c[1024], inst[96], regid[16], exp[16];
    size_t na, nc;
    struct slice cur = slice_cstr(b->contact);
    int err;

    /* A flow whose first hop answered 439 registers as plain RFC 3261. */
    if (!b->third_party && !rf->no_regid) {
        snprintf(inst, sizeof(inst), "\"<%s>\"", b->instance);
        snprintf(regid, sizeof(regid), "%u", rf->idx + 1);
        err = sipparam_set(cur, SIPPARAM_ADDR, "+sip.instance", slice_cstr(inst), a,
                           sizeof(a), &na);
        if (err < 0)
            return err;
        err = sipparam_set((struct slice){ a, na }, SIPPARAM_ADDR, "reg-id",
                           slice_cstr(regid), c, sizeof(c), &nc);
        if (err < 0)
            return err;
        cur = (struct slice){ c, nc };
    }
    if (expires_override == UINT32_MAX) {
        if (cur.n > outsz)
            return -ENOSPC;
        memcpy(out, cur.p, cur.n);
        *outlen = cur.n;
        return 0;
    }
    snprintf(exp, sizeof(exp), "%" PRIu32, expires_override);
    return sipparam_set(cur, SIPPARAM_ADDR, "expires", slice_cstr(exp), out, outsz, outlen);
}

static int build_via(const struct reg_flow *rf, char *out, size_t outsz)
{
    struct sockaddr_storage local;
    char host[ADDR_STR_MAX];
    const char *tp;
    int err = binding_flow_via(rf->b, rf->idx, &local, &tp);

    if (err < 0)
        return err;
    addr_format((struct sockaddr *)&local, true, host, sizeof(host));
    /* rport (RFC 3581): on UDP the response must come back to the NAT's
     * mapping of our socket; on a stream it changes nothing but is
     * harmless, and edge proxies log the connection's address with it.
     * On UDP also "keep" (RFC 6223 §4.1): we will send keep-alives, and a
     * next hop that supports STUN ones says so with a value in the 2xx. */
    snprintf(out, outsz, "SIP/2.0/%s %s;rport;branch=%s%s", tp, host, rf->branch,
             strcmp(tp, "UDP") == 0 ? ";keep" : "");
    return 0;
}

int reg_msg_build_upstream(struct reg_flow *rf, uint32_t expires_override,
                           char *out, size_t outsz, size_t *outlen)
{
    struct sipmsg *m = &(struct sipmsg){ .nhdrs = 0 };
    struct sipmsg_edits ed;
    char via[160], contact[1200], cseq[32], branch[RA_BRANCH_MAX], expires[16];
    size_t ncontact;
    const struct sipmsg_hdr *h;
    int err = sipmsg_parse(m, rf->b->tmpl->p, rf->b->tmpl->len, 0);

    if (err < 0)
        return err;
    sipvia_branch_random(branch, sizeof(branch), "", 24);
    memcpy(rf->branch, branch, sizeof(branch));
    /* The upstream registration asks for what the UA is granted (clamped
     * to ua.register_expires): sipkeep refreshes it only when the UA
     * refreshes, so a longer one would outlive a phone that is gone.
     * After a 423 the registrar's minimum holds for every later REGISTER. */
    if (expires_override == UINT32_MAX) {
        uint32_t cap = rf->b->ra->env.cfg->ua.register_expires;

        expires_override = rf->b->expires_up < cap ? rf->b->expires_up : cap;
        if (rf->b->min_expires > expires_override)
            expires_override = rf->b->min_expires;
    }
    err = build_via(rf, via, sizeof(via));
    if (!err)
        err = build_contact(rf, expires_override, contact, sizeof(contact), &ncontact);
    if (err < 0)
        return err;
    snprintf(cseq, sizeof(cseq), "%" PRIu32 " REGISTER", rf->cseq + 1);
    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    /* §5.1: the edge is the first hop only for a single-Via REGISTER. */
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_ROUTE);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_CONTACT);
    /* The Contact's expires parameter says it all (RFC 3261 §10.2.1.1); an
     * Expires header is made to agree with it. */
    snprintf(expires, sizeof(expires), "%" PRIu32, expires_override);
    h = sipmsg_hdr_find(m, SIPMSG_HDR_EXPIRES);
    err = h ? sipmsg_edit_replace(&ed, (unsigned)(h - m->hdrs), slice_cstr(expires)) : 0;
    if (!err)
        err = sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), slice_cstr(via));
    h = sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID);
    if (!err)
        err = sipmsg_edit_replace(&ed, (unsigned)(h - m->hdrs), slice_cstr(rf->call_id));
    h = sipmsg_hdr_find(m, SIPMSG_HDR_CSEQ);
    if (!err)
        err = sipmsg_edit_replace(&ed, (unsigned)(h - m->hdrs), slice_cstr(cseq));
    if (!err)
        err = sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Contact"),
                              (struct slice){ contact, ncontact });
    /* After a 439, registration "without using the outbound mechanism"
     * (RFC 5626 §4.2.1): no outbound option tag, which some registrars
     * (Kamailio) would answer with Require: outbound all the same. */
    if (!err)
        err = sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"),
                              rf->no_regid ? SLICE_LIT("path") : SLICE_LIT("outbound, path"));
    /* The UA's credentials go only to the flow whose challenge they answer
     * (reg_retry_route_credentials): replayed to another registrar they are
     * a stale nonce at best, a replay at worst. */
    if (!err && !rf->auth && !rf->ua_creds) {
        sipmsg_edit_remove_all(&ed, SIPMSG_HDR_AUTHORIZATION);
        sipmsg_edit_remove_all(&ed, SIPMSG_HDR_PROXY_AUTHORIZATION);
    }
    /* sipkeep's own answer to a challenge replaces the UA's credentials. */
    if (!err && rf->auth) {
        sipmsg_edit_remove_all(&ed, SIPMSG_HDR_AUTHORIZATION);
        sipmsg_edit_remove_all(&ed, SIPMSG_HDR_PROXY_AUTHORIZATION);
        err = sipmsg_edit_add(&ed, SIPMSG_POS_END, 0,
                              rf->auth_proxy ? SLICE_LIT("Proxy-Authorization")
                                             : SLICE_LIT("Authorization"),
                              slice_cstr(rf->auth));
    }
    if (!err)
        err = sipmsg_serialize(m, &ed, out, outsz, outlen);
    if (err < 0) {
        rf->branch[0] = '\0';
        return err;
    }
    rf->cseq++;
    return 0;
}

/* The URN of a +sip.instance value "\"<urn:...>\"" (RFC 5626 §4.1): the
 * quotes and angle brackets off, each when present. */
static struct slice instance_urn(struct slice v)
{
    if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"')
        v = (struct slice){ v.p + 1, v.n - 2 };
    if (v.n >= 2 && v.p[0] == '<' && v.p[v.n - 1] == '>')
        v = (struct slice){ v.p + 1, v.n - 2 };
    return v;
}

/* How Contact element elem of a 2xx matches our binding on flow rf
 * (RFC 3261 §10.2.4: a 2xx lists every binding of the AOR, other
 * devices' included): 2 by +sip.instance and reg-id (RFC 5626 §4.2.1,
 * the registrar's own key), 1 by Contact URI (a registrar that does not
 * echo the instance, a 439 flow, a third-party registration), 0 not ours.
 * An element with another device's +sip.instance is never ours, even with
 * our URI (two homes, same private address, same account). */
static int contact_match(const struct reg_flow *rf, struct slice elem)
{
    struct sipparam_addr a;
    struct slice inst;
    uint32_t regid;
    bool ids = !rf->b->third_party && !rf->no_regid;
    bool has_regid;

    if (sipparam_parse_addr(&a, elem) < 0)
        return 0;
    has_regid = slice_present(a.params) && sipparam_reg_id(a.params, &regid) == 0;
    if (ids && has_regid && regid != rf->idx + 1)
        return 0;
    if (ids && slice_present(a.params) &&
        sipparam_find(a.params, "+sip.instance", &inst) == 0 && slice_present(inst))
        return slice_eq_ci(instance_urn(inst), slice_cstr(rf->b->instance)) ? 2 : 0;
    return slice_eq(a.uri, slice_cstr(rf->b->contact_uri)) ? 1 : 0;
}

uint32_t reg_msg_granted_expiry(const struct binding *b, const struct reg_flow *rf,
                                const struct sipmsg *rsp, uint32_t fallback)
{
    struct sipmsg_valit it;
    struct sipparam_addr a;
    struct slice v, ours = SLICE_NULL;
    uint32_t exp;
    const struct sipmsg_hdr *h;
    uint64_t hv;
    int best = 0;

    (void)b;
    sipmsg_valit_init(&it, rsp, SIPMSG_HDR_CONTACT);
    while (best < 2 && sipmsg_valit_next(&it, &v, NULL)) {
        int m = contact_match(rf, v);

        if (m > best) {
            best = m;
            ours = v;
        }
    }
    /* Our element's own expires wins over the Expires header, which is
     * only the default for elements without one (RFC 3261 §10.3 step 8). */
    if (best && sipparam_parse_addr(&a, ours) == 0 && slice_present(a.params) &&
        sipparam_expires(a.params, &exp) == 0)
        return exp;
    h = sipmsg_hdr_find(rsp, SIPMSG_HDR_EXPIRES);
    if (h && slice_to_u64(slice_trim(h->value), &hv) == 0)
        return hv > UINT32_MAX ? UINT32_MAX : (uint32_t)hv;
    return fallback;
}

/* Restores the UA's Via values (from its request) above everything else. */
static int restore_vias(struct sipmsg_edits *ed, const struct sipmsg *req)
{
    int err = 0;

    sipmsg_edit_remove_all(ed, SIPMSG_HDR_VIA);
    for (int i = sipmsg_hdr_next(req, SIPMSG_HDR_VIA, -1); i >= 0 && !err;
         i = sipmsg_hdr_next(req, SIPMSG_HDR_VIA, i))
        err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), req->hdrs[i].value);
    return err;
}

static int replace_first(struct sipmsg_edits *ed, const struct sipmsg *m,
                         enum sipmsg_hdr_id id, struct slice value)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, id);

    if (!h)
        return sipmsg_edit_add(ed, SIPMSG_POS_END, 0, slice_cstr(id == SIPMSG_HDR_CALL_ID ?
                                   "Call-ID" : "CSeq"), value);
    return sipmsg_edit_replace(ed, (unsigned)(h - m->hdrs), value);
}

/* Contact and Expires for the UA: its own Contact with the expiry granted
 * to it (already clamped by the caller). */
static int ua_contact_and_expires(struct sipmsg_edits *ed, const struct sipmsg *rsp,
                                  const struct binding *b, uint32_t granted,
                                  char *cbuf, size_t cbufsz, char *ebuf, size_t ebufsz)
{
    size_t n;
    int err;
    const struct sipmsg_hdr *h = sipmsg_hdr_find(rsp, SIPMSG_HDR_EXPIRES);

    snprintf(ebuf, ebufsz, "%" PRIu32, granted);
    sipmsg_edit_remove_all(ed, SIPMSG_HDR_CONTACT);
    err = sipparam_set(slice_cstr(b->contact), SIPPARAM_ADDR, "expires", slice_cstr(ebuf),
                       cbuf, cbufsz, &n);
    if (!err)
        err = sipmsg_edit_add(ed, SIPMSG_POS_END, 0, SLICE_LIT("Contact"),
                              (struct slice){ cbuf, n });
    if (!err && h)
        err = sipmsg_edit_replace(ed, (unsigned)(h - rsp->hdrs), slice_cstr(ebuf));
    return err;
}

int reg_msg_build_ua_response(const struct binding *b, const struct sipmsg *rsp,
                              uint32_t granted, char *out, size_t outsz, size_t *outlen)
{
    struct sipmsg *req = &(struct sipmsg){ .nhdrs = 0 };
    struct sipmsg_edits ed;
    char cbuf[1200], ebuf[16];
    const struct sipmsg_hdr *cid, *cseq;
    int err = sipmsg_parse(req, b->tmpl->p, b->tmpl->len, 0);

    if (err < 0)
        return err;
    cid = sipmsg_hdr_find(req, SIPMSG_HDR_CALL_ID);
    cseq = sipmsg_hdr_find(req, SIPMSG_HDR_CSEQ);
    sipmsg_edits_init(&ed, rsp, 0);
    err = restore_vias(&ed, req);
    if (!err)
        err = replace_first(&ed, rsp, SIPMSG_HDR_CALL_ID, cid->value);
    if (!err)
        err = replace_first(&ed, rsp, SIPMSG_HDR_CSEQ, cseq->value);
    /* Outbound is sipkeep's business with the service; a legacy UA that
     * saw Require: outbound might reject the response. */
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_PATH);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_REQUIRE);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_FLOW_TIMER);
    if (!err && rsp->status >= 200 && rsp->status < 300)
        err = ua_contact_and_expires(&ed, rsp, b, granted, cbuf, sizeof(cbuf), ebuf,
                                     sizeof(ebuf));
    else if (!err)
        sipmsg_edit_remove_all(&ed, SIPMSG_HDR_CONTACT);
    if (!err)
        err = sipmsg_serialize(rsp, &ed, out, outsz, outlen);
    return err;
}
