/* SPDX-License-Identifier: GPL-2.0-or-later */
/* digest.c - Digest challenge parsing and credentials; see digest.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sip/digest.h"
#include "sip/digest_int.h"
#include "sip/sipchar.h"

/* ---- challenge parsing ---- */

static void skip_lws(struct slice *s)
{
    while (s->n && sipchar_is_lws(*s->p)) {
        s->p++;
        s->n--;
    }
}

static struct slice take_token(struct slice *s)
{
    struct slice t = { s->p, 0 };

    while (s->n && sipchar_is_token(*s->p)) {
        s->p++;
        s->n--;
        t.n++;
    }
    return t;
}

/* A quoted-string's content, unescaped into out (NUL-terminated). */
static int take_quoted(struct slice *s, char *out, size_t outsz)
{
    size_t k = 0;

    s->p++;
    s->n--;
    while (s->n && *s->p != '"') {
        if (*s->p == '\\') {
            if (s->n < 2)
                return -EBADMSG;
            s->p++;
            s->n--;
        }
        if (*s->p == '\0' || k + 1 >= outsz)
            return *s->p == '\0' ? -EBADMSG : -ENAMETOOLONG;
        out[k++] = *s->p;
        s->p++;
        s->n--;
    }
    if (!s->n)
        return -EBADMSG;
    s->p++;
    s->n--;
    out[k] = '\0';
    return 0;
}

/* One "name = (token | quoted-string)"; the value is copied into val. */
static int take_param(struct slice *s, struct slice *name, char *val, size_t valsz)
{
    struct slice v;

    *name = take_token(s);
    skip_lws(s);
    if (!name->n || !s->n || *s->p != '=')
        return -EBADMSG;
    s->p++;
    s->n--;
    skip_lws(s);
    if (s->n && *s->p == '"')
        return take_quoted(s, val, valsz);
    v = take_token(s);
    if (!v.n)
        return -EBADMSG;
    return slice_copy_cstr(v, val, valsz) < 0 ? -ENAMETOOLONG : 0;
}

static int set_algorithm(struct digest_challenge *c, const char *v)
{
    static const struct { const char *name; enum digest_alg alg; bool sess; } algs[] = {
        { "MD5", DIGEST_MD5, false }, { "MD5-sess", DIGEST_MD5, true },
        { "SHA-256", DIGEST_SHA256, false }, { "SHA-256-sess", DIGEST_SHA256, true },
    };

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (slice_eq_ci_str(slice_cstr(v), algs[i].name)) {
            c->alg = algs[i].alg;
            c->sess = algs[i].sess;
            return 0;
        }
    }
    return -ENOTSUP;
}

/* qop is a quoted comma list ("auth,auth-int"); only auth is used. */
static bool qop_has_auth(const char *v)
{
    struct slice s = slice_cstr(v);

    while (s.n) {
        struct slice t;

        skip_lws(&s);
        t = take_token(&s);
        skip_lws(&s);
        if (slice_eq_ci_str(t, "auth"))
            return true;
        if (!s.n || *s.p != ',')
            return false;
        s.p++;
        s.n--;
    }
    return false;
}

static int apply_param(struct digest_challenge *c, struct slice name, const char *v,
                       bool *seen_qop)
{
    if (slice_eq_ci_str(name, "realm"))
        return slice_copy_cstr(slice_cstr(v), c->realm, sizeof(c->realm)) < 0 ? -ENAMETOOLONG : 0;
    if (slice_eq_ci_str(name, "nonce"))
        return slice_copy_cstr(slice_cstr(v), c->nonce, sizeof(c->nonce)) < 0 ? -ENAMETOOLONG : 0;
    if (slice_eq_ci_str(name, "opaque")) {
        c->has_opaque = true;
        return slice_copy_cstr(slice_cstr(v), c->opaque, sizeof(c->opaque)) < 0 ? -ENAMETOOLONG
                                                                                   : 0;
    }
    if (slice_eq_ci_str(name, "algorithm"))
        return set_algorithm(c, v);
    if (slice_eq_ci_str(name, "qop")) {
        *seen_qop = true;
        c->qop_auth = qop_has_auth(v);
    } else if (slice_eq_ci_str(name, "stale")) {
        c->stale = slice_eq_ci_str(slice_cstr(v), "true");
    }
    return 0; /* domain, charset, userhash and extensions are ignored */
}

int digest_parse_challenge(struct digest_challenge *c, struct slice value)
{
    struct slice s = value, scheme;
    bool seen_qop = false, seen_realm = false, seen_nonce = false;
    char v[DIGEST_NONCE_MAX > DIGEST_OPAQUE_MAX ? DIGEST_NONCE_MAX : DIGEST_OPAQUE_MAX];

    memset(c, 0, sizeof(*c));
    skip_lws(&s);
    scheme = take_token(&s);
    if (!slice_eq_ci_str(scheme, "Digest"))
        return -EPROTONOSUPPORT;
    for (;;) {
        struct slice name;
        int err;

        while (s.n && (sipchar_is_lws(*s.p) || *s.p == ','))
            s = (struct slice){ s.p + 1, s.n - 1 };
        if (!s.n)
            break;
        err = take_param(&s, &name, v, sizeof(v));
        if (!err)
            err = apply_param(c, name, v, &seen_qop);
        if (err < 0)
            return err;
        seen_realm |= slice_eq_ci_str(name, "realm");
        seen_nonce |= slice_eq_ci_str(name, "nonce");
        skip_lws(&s);
        if (s.n && *s.p != ',')
            return -EBADMSG;
    }
    if (!seen_realm || !seen_nonce)
        return -EBADMSG;
    /* qop offered without "auth" (auth-int only): we cannot answer it. */
    return seen_qop && !c->qop_auth ? -ENOTSUP : 0;
}

/* ---- computing the response ---- */

static int hash_hex(enum digest_alg alg, const char *in, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const EVP_MD *type = alg == DIGEST_SHA256 ? EVP_sha256() : EVP_md5();

    if (!type || EVP_Digest(in, strlen(in), md, &mdlen, type, NULL) != 1 || mdlen > 32)
        return -EIO;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[2 * mdlen] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

/* hash_hex of a formatted string; the buffer is wiped (it may hold the
 * password). */
#define DIGEST_LINE_MAX 2048
static int hash_fmt(enum digest_alg alg, char out[65], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int hash_fmt(enum digest_alg alg, char out[65], const char *fmt, ...)
{
    char line[DIGEST_LINE_MAX];
    va_list ap;
    int n, err;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    err = n < 0 || (size_t)n >= sizeof(line) ? -ENOSPC : hash_hex(alg, line, out);
    OPENSSL_cleanse(line, sizeof(line));
    return err;
}

int digest_response_hex(enum digest_alg alg, bool sess, const char *user, const char *realm,
                        const char *password, const char *method, const char *uri,
                        const char *nonce, uint32_t nc, const char *cnonce, const char *qop,
                        char out[65])
{
    char ha1[65], ha2[65];
    int err = hash_fmt(alg, ha1, "%s:%s:%s", user, realm, password);

    if (!err && sess)
        err = hash_fmt(alg, ha1, "%s:%s:%s", ha1, nonce, cnonce ? cnonce : "");
    if (!err)
        err = hash_fmt(alg, ha2, "%s:%s", method, uri);
    if (!err && qop)
        err = hash_fmt(alg, out, "%s:%s:%08" PRIx32 ":%s:%s:%s", ha1, nonce, nc,
                       cnonce ? cnonce : "", qop, ha2);
    else if (!err)
        err = hash_fmt(alg, out, "%s:%s:%s", ha1, nonce, ha2);
    OPENSSL_cleanse(ha1, sizeof(ha1));
    return err;
}

/* ---- building the credentials ---- */

struct outbuf {
    char *p;
    size_t sz, n;
    int err;
};

static void put(struct outbuf *o, const char *s)
{
    size_t len = strlen(s);

    if (o->err)
        return;
    if (o->n + len >= o->sz) {
        o->err = -ENOSPC;
        return;
    }
    memcpy(o->p + o->n, s, len + 1);
    o->n += len;
}

/* name="value" with '"' and '\' escaped (RFC 3261 quoted-pair). */
static void put_quoted(struct outbuf *o, const char *name, const char *v)
{
    put(o, name);
    put(o, "=\"");
    for (; *v && !o->err; v++) {
        char ch[3] = { '\\', *v, '\0' };

        put(o, (*v == '"' || *v == '\\') ? ch : ch + 1);
    }
    put(o, "\"");
}

static bool quotable(const char *s)
{
    for (; *s; s++) {
        if (sipchar_is_ctl((unsigned char)*s))
            return false;
    }
    return true;
}

int digest_authorize(const struct digest_challenge *c, const char *user,
                     const char *password, const char *method, const char *uri,
                     uint32_t nc, const char *cnonce, char *out, size_t outsz,
                     size_t *outlen)
{
    struct outbuf o = { out, outsz, 0, 0 };
    char resp[65], ncs[16];
    const char *cn = c->qop_auth ? cnonce : NULL;
    int err;

    /* Values echoed from the challenge too: a CR or LF in them would
     * otherwise split our REGISTER's header. */
    if (!quotable(user) || !quotable(uri) || !quotable(c->realm) || !quotable(c->nonce) ||
        (c->has_opaque && !quotable(c->opaque)) || (c->qop_auth && (!cnonce || !quotable(cnonce))) || outsz == 0)
        return -EINVAL;
    err = digest_response_hex(c->alg, c->sess, user, c->realm, password, method, uri,
                              c->nonce, nc, cn, c->qop_auth ? "auth" : NULL, resp);
    if (err < 0)
        return err;
    put(&o, "Digest ");
    put_quoted(&o, "username", user);
    put_quoted(&o, ", realm", c->realm);
    put_quoted(&o, ", nonce", c->nonce);
    put_quoted(&o, ", uri", uri);
    put_quoted(&o, ", response", resp);
    put(&o, c->alg == DIGEST_SHA256 ? ", algorithm=SHA-256" : ", algorithm=MD5");
    put(&o, c->sess ? "-sess" : "");
    if (c->qop_auth) {
        snprintf(ncs, sizeof(ncs), "%08" PRIx32, nc);
        put_quoted(&o, ", cnonce", cnonce);
        put(&o, ", qop=auth, nc=");
        put(&o, ncs);
    }
    if (c->has_opaque)
        put_quoted(&o, ", opaque", c->opaque);
    if (o.err)
        return o.err;
    *outlen = o.n;
    return 0;
}
