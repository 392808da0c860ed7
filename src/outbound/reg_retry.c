/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reg_retry.c - the error responses to its REGISTERs that the registration
 * agent answers itself instead of passing them on (RFC 3261 §10.2.8 423,
 * RFC 5626 §11.6 439, and challenges to the re-registrations sipkeep makes
 * without the UA, e.g. after a flow recovered); see regagent_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "core/rand.h"
#include "outbound/regagent_int.h"
#include "sip/digest.h"
#include "sip/uri.h"

/* Challenges answered in a row without a 2xx before sipkeep gives up (a
 * wrong password, or a registrar that never accepts): the first, one with
 * a fresh or the same nonce (nc 2), and one after a stale nonce. */
#define REG_AUTH_MAX_TRIES 3u
#define REG_PASSWORD_MAX 256
#define REG_AUTH_MAX 2048

/* 423 Interval Too Brief: again with the registrar's Min-Expires, which
 * then holds for every later REGISTER of the binding (reg_msg_build_upstream).
 * Only when it asks for more than was sent, so a confused registrar
 * cannot make us loop. */
static bool retry_min_expires(struct reg_flow *rf, const struct sipmsg *m)
{
    struct binding *b = rf->b;
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_MIN_EXPIRES);
    uint32_t asked = b->min_expires > b->expires_up ? b->min_expires : b->expires_up;
    uint64_t v;

    if (b->removing || !h || slice_to_u64(slice_trim(h->value), &v) < 0 || v <= asked ||
        v >= UINT32_MAX)
        return false;
    b->min_expires = (uint32_t)v;
    log_info("register_min_expires", "binding=%" PRIu32 " reg_id=%u asked=%" PRIu32
             " min_expires=%" PRIu32, b->id, rf->idx + 1, asked, b->min_expires);
    regagent_send_register(rf, UINT32_MAX);
    return true;
}

/* Another flow of rf's binding that is up and registers with outbound:
 * the UA's Contact is (being) registered through it with reg-id. */
static const struct reg_flow *other_outbound_flow(const struct reg_flow *rf)
{
    const struct binding *b = rf->b;

    for (size_t i = 0; i < b->nflows; i++) {
        const struct reg_flow *o = &b->flows[i];
        enum flow_state s = flow_state(o->flow);

        if (o != rf && !o->no_regid && (s == FLOW_REGISTERING || s == FLOW_ACTIVE))
            return o;
    }
    return NULL;
}

/* 439 First Hop Lacks Outbound Support: "MAY re-attempt registration
 * without using the outbound mechanism ... If the client has one or more
 * alternate outbound proxies available, it MAY re-attempt registration
 * through such outbound proxies" (RFC 5626 §4.2.1).  This flow registers
 * as a plain RFC 3261 binding (no instance-id or reg-id); its keep-alives
 * go on, but a missing pong is not a failure unless the proxy answers
 * pings (see flow_registered).  Not while another flow registers the same
 * Contact with outbound: a registrar matches a plain binding by its URI
 * (RFC 3261 §10.3 step 7), the outbound one's too, so the plain REGISTER
 * would overwrite it.  Then, and under local policy outbound_fallback:
 * false, the 439 fails the flow as any failure: its back-off paces the
 * attempts with outbound, and one made when no other flow is up falls
 * back. */
static bool retry_no_outbound(struct reg_flow *rf)
{
    struct binding *b = rf->b;
    const struct reg_flow *other;

    if (rf->no_regid || b->third_party || !b->svc->outbound_fallback)
        return false;
    other = other_outbound_flow(rf);
    if (other) {
        log_warn("outbound_unsupported_first_hop", "binding=%" PRIu32 " reg_id=%u proxy=%s "
                 "action=\"not registering this Contact without reg-id while reg-id %u "
                 "registers it with outbound (RFC 3261 §10.3); retrying after the back-off\"",
                 b->id, rf->idx + 1, flow_proxy(rf->flow)->uri, other->idx + 1);
        return false;
    }
    rf->no_regid = true;
    log_warn("outbound_unsupported_first_hop", "binding=%" PRIu32 " reg_id=%u proxy=%s "
             "action=\"registering this flow without reg-id (RFC 5626 §11.6)\"",
             b->id, rf->idx + 1, flow_proxy(rf->flow)->uri);
    regagent_send_register(rf, b->removing ? 0 : UINT32_MAX);
    return true;
}

/* The configured credentials for b's AOR (user@host compared), or NULL. */
static const struct cfg_credential *find_credential(const struct binding *b)
{
    struct sipuri want, have;

    if (sipuri_parse(&want, slice_cstr(b->aor)) < 0)
        return NULL;
    for (size_t i = 0; i < b->svc->n_credentials; i++) {
        const struct cfg_credential *c = &b->svc->credentials[i];

        if (sipuri_parse(&have, slice_cstr(c->aor)) == 0 && slice_eq(have.user, want.user) &&
            slice_eq_ci(have.host, want.host))
            return c;
    }
    return NULL;
}

/* The first line of path into pw (NUL-terminated, line end stripped).
 * Returns 0, -ENODATA (empty), -ENAMETOOLONG or -errno of open/read. */
static int read_password(const char *path, char *pw, size_t pwsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, pw, pwsz - 1);
    close(fd);
    if (n < 0)
        return -errno;
    pw[n] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    if (pw[0] == '\0')
        return -ENODATA;
    return strlen(pw) == (size_t)n && (size_t)n == pwsz - 1 ? -ENAMETOOLONG : 0;
}

/* The first challenge of m that we can answer for cred's realm. */
static int pick_challenge(const struct sipmsg *m, const struct cfg_credential *cred,
                          struct digest_challenge *c)
{
    enum sipmsg_hdr_id id = m->status == 407 ? SIPMSG_HDR_PROXY_AUTHENTICATE
                                             : SIPMSG_HDR_WWW_AUTHENTICATE;

    for (int i = sipmsg_hdr_next(m, id, -1); i >= 0; i = sipmsg_hdr_next(m, id, i)) {
        if (digest_parse_challenge(c, m->hdrs[i].value) == 0 &&
            (!cred->realm || strcmp(cred->realm, c->realm) == 0))
            return 0;
    }
    return -ENOENT;
}

/* The nonce-count for c's nonce: 1 for a new nonce, else the next one. */
static uint32_t next_nc(struct reg_flow *rf, const struct digest_challenge *c)
{
    char *copy;

    if (rf->auth_nonce && strcmp(rf->auth_nonce, c->nonce) == 0)
        return ++rf->auth_nc;
    copy = strdup(c->nonce);
    if (!copy)
        return 0;
    free(rf->auth_nonce);
    rf->auth_nonce = copy;
    rf->auth_nc = 1;
    return 1;
}

/* Builds rf->auth for challenge c.  Returns 0 or -errno (logged by the
 * caller, without the secret). */
static int build_auth(struct reg_flow *rf, const struct cfg_credential *cred,
                      const struct digest_challenge *c, uint32_t nc)
{
    struct sipmsg *tm = malloc(sizeof(*tm));
    char pw[REG_PASSWORD_MAX], uri[1024], cnonce[17], *out = malloc(REG_AUTH_MAX);
    size_t n;
    int err = !tm || !out ? -ENOMEM : read_password(cred->password_file, pw, sizeof(pw));

    if (!err)
        err = sipmsg_parse(tm, rf->b->tmpl->p, rf->b->tmpl->len, 0);
    if (!err)
        err = slice_copy_cstr(tm->ruri, uri, sizeof(uri)) < 0 ? -ENAMETOOLONG : 0;
    rand_hex(cnonce, sizeof(cnonce), 16);
    if (!err)
        err = digest_authorize(c, cred->username, pw, "REGISTER", uri, nc, cnonce, out,
                               REG_AUTH_MAX, &n);
    OPENSSL_cleanse(pw, sizeof(pw));
    free(tm);
    if (err < 0) {
        free(out);
        return err;
    }
    free(rf->auth);
    rf->auth = out;
    return 0;
}

/* Nobody here can answer: the flow waits for the UA's next REGISTER, whose
 * fresh credentials go out on it at once (binding_register).  A challenge
 * is no flow failure (issue 11 item 6): the connection stays; a REGISTERING
 * flow stops its registration timeout (flow_register_hold), an ACTIVE one
 * keeps its registration until that expires.  No loop: nothing is sent
 * again before the UA asks. */
static bool wait_for_ua(struct reg_flow *rf, const char *why)
{
    rf->await_ua = true;
    log_warn("reregister_challenged", "binding=%" PRIu32 " reg_id=%u aor=%s reason=\"%s\" "
             "action=\"waiting for the UA's next REGISTER\"", rf->b->id, rf->idx + 1,
             rf->b->aor, why);
    flow_register_hold(rf->flow);
    return true;
}

static bool answer_challenge(struct reg_flow *rf, const struct sipmsg *m)
{
    struct binding *b = rf->b;
    const struct cfg_credential *cred;
    struct digest_challenge *c;
    uint32_t nc;
    int err;

    cred = find_credential(b);
    if (!cred)
        return wait_for_ua(rf, "no credentials configured for this AOR");
    if (++rf->auth_tries > REG_AUTH_MAX_TRIES)
        return wait_for_ua(rf, "credentials rejected");
    c = malloc(sizeof(*c));
    err = !c ? -ENOMEM : pick_challenge(m, cred, c);
    if (!err)
        err = (nc = next_nc(rf, c)) ? build_auth(rf, cred, c, nc) : -ENOMEM;
    if (err < 0) {
        free(c);
        return wait_for_ua(rf, err == -ENOENT ? "no usable Digest challenge"
                                              : "cannot answer the challenge");
    }
    log_info("reregister_authenticating", "binding=%" PRIu32 " reg_id=%u aor=%s username=%s "
             "algorithm=%s nc=%08" PRIx32, b->id, rf->idx + 1, b->aor, cred->username,
             c->alg == DIGEST_SHA256 ? "SHA-256" : "MD5", nc);
    rf->auth_proxy = m->status == 407;
    free(c);
    regagent_send_register(rf, b->removing ? 0 : UINT32_MAX);
    free(rf->auth);
    rf->auth = NULL;
    return true;
}

bool reg_retry(struct reg_flow *rf, const struct sipmsg *m)
{
    switch (m->status) {
    case 423:
        return retry_min_expires(rf, m);
    case 439:
        return retry_no_outbound(rf);
    case 401:
    case 407:
        return answer_challenge(rf, m);
    default:
        return false;
    }
}

void reg_retry_note_challenge(struct reg_flow *rf, const struct sipmsg *m)
{
    enum sipmsg_hdr_id id = m->status == 407 ? SIPMSG_HDR_PROXY_AUTHENTICATE
                                             : SIPMSG_HDR_WWW_AUTHENTICATE;
    struct digest_challenge *c = malloc(sizeof(*c));
    char *nonce = NULL;

    for (int i = sipmsg_hdr_next(m, id, -1); c && i >= 0 && !nonce;
         i = sipmsg_hdr_next(m, id, i)) {
        if (digest_parse_challenge(c, m->hdrs[i].value) == 0)
            nonce = strdup(c->nonce);
    }
    free(c);
    free(rf->chal_nonce);
    rf->chal_nonce = nonce;
}

/* Marks the flows whose last challenge's nonce is the one answered by the
 * credentials value v.  Credentials share the challenge's auth-param
 * syntax (RFC 2617 §3.2.2; realm and nonce are in both), so the challenge
 * parser reads them. */
static bool mark_nonce(struct binding *b, struct slice v, struct digest_challenge *c)
{
    bool any = false;

    if (digest_parse_challenge(c, v) < 0)
        return false;
    for (unsigned i = 0; i < b->nflows; i++) {
        struct reg_flow *rf = &b->flows[i];

        if (rf->chal_nonce && strcmp(rf->chal_nonce, c->nonce) == 0) {
            rf->ua_creds = true;
            any = true;
        }
    }
    return any;
}

void reg_retry_route_credentials(struct binding *b, const struct sipmsg *m)
{
    static const enum sipmsg_hdr_id ids[] = { SIPMSG_HDR_AUTHORIZATION,
                                              SIPMSG_HDR_PROXY_AUTHORIZATION };
    struct digest_challenge *c = malloc(sizeof(*c));
    bool has = false, any = false;

    for (unsigned i = 0; i < b->nflows; i++)
        b->flows[i].ua_creds = false;
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        for (int i = sipmsg_hdr_next(m, ids[k], -1); i >= 0; i = sipmsg_hdr_next(m, ids[k], i)) {
            has = true;
            if (c && mark_nonce(b, m->hdrs[i].value, c))
                any = true;
        }
    }
    free(c);
    if (has && !any && b->chal_flow >= 0 && (size_t)b->chal_flow < b->nflows) {
        b->flows[b->chal_flow].ua_creds = true;
        any = true;
    }
    if (!any) { /* none, or answering nothing we saw: as they come */
        for (unsigned i = 0; i < b->nflows; i++)
            b->flows[i].ua_creds = true;
        return;
    }
    for (unsigned i = 0; i < b->nflows; i++) {
        if (!b->flows[i].ua_creds)
            log_debug("credentials_withheld", "binding=%" PRIu32 " reg_id=%u reason=\"the UA's "
                      "credentials answer another flow's challenge\"", b->id, i + 1);
    }
}

void reg_retry_success(struct reg_flow *rf)
{
    rf->auth_tries = 0;
    rf->await_ua = false;
}

void reg_retry_free(struct reg_flow *rf)
{
    free(rf->auth);
    free(rf->auth_nonce);
    free(rf->chal_nonce);
    rf->auth = rf->auth_nonce = rf->chal_nonce = NULL;
}
