/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regstate_parse.c - the parser of the registrations file (see regstate.h).
 * The file sits on disk where anything may have happened to it: every
 * length is bounded, every field checked, and the first problem rejects the
 * whole file with its line number. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/slice.h"
#include "state/regstate.h"
#include "state/regstate_int.h"

struct cursor {
    const char *p, *end;
    unsigned line;
    char *err;
    size_t errsz;
};

static int fail(struct cursor *c, const char *why)
{
    if (c->errsz > 0)
        snprintf(c->err, c->errsz, "line %u: %s", c->line, why);
    return -EBADMSG;
}

/* The next '\n'-terminated line (without it), at most max bytes. */
static int next_line(struct cursor *c, const char **line, size_t *n, size_t max)
{
    size_t avail = (size_t)(c->end - c->p);
    const char *nl = memchr(c->p, '\n', avail < max + 1 ? avail : max + 1);

    c->line++;
    if (!nl)
        return fail(c, avail > max ? "line too long" : "truncated (no newline)");
    *line = c->p;
    *n = (size_t)(nl - c->p);
    c->p = nl + 1;
    return 0;
}

/* Visible text: no control characters (CR, LF, NUL ...) and not empty. */
static bool field_ok(const char *v, size_t n)
{
    if (n == 0 || n > REGSTATE_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

/* "NAME VALUE" into a NUL-terminated copy in out (REGSTATE_FIELD_MAX + 1). */
static int field(struct cursor *c, const char *name, char *out)
{
    size_t nl = strlen(name), n;
    const char *line;
    int err = next_line(c, &line, &n, REGSTATE_FIELD_MAX + 16);
    char why[64];

    if (err < 0)
        return err;
    if (n <= nl + 1 || memcmp(line, name, nl) != 0 || line[nl] != ' ') {
        snprintf(why, sizeof(why), "expected '%s VALUE'", name);
        return fail(c, why);
    }
    if (!field_ok(line + nl + 1, n - nl - 1)) {
        snprintf(why, sizeof(why), "bad %s value", name);
        return fail(c, why);
    }
    memcpy(out, line + nl + 1, n - nl - 1);
    out[n - nl - 1] = '\0';
    return 0;
}

/* A decimal number of at most 18 digits (no sign). */
static int to_i64(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;

    for (; s[i] >= '0' && s[i] <= '9' && i < 18; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0 || s[i] != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

int regstate_addr_parse(const char *s, size_t n, union sockaddr_ip *out)
{
    char host[64];
    const char *colon;
    int64_t port;
    char pbuf[8];
    size_t hn;

    if (n < 3 || n >= sizeof(host))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb || rb + 1 >= s + n || rb[1] != ':')
            return -EINVAL;
        hn = (size_t)(rb - s - 1);
        colon = rb + 1;
    } else {
        colon = memrchr(s, ':', n);
        if (!colon)
            return -EINVAL;
        hn = (size_t)(colon - s);
    }
    if ((size_t)(s + n - colon - 1) >= sizeof(pbuf))
        return -EINVAL;
    memcpy(pbuf, colon + 1, (size_t)(s + n - colon - 1));
    pbuf[s + n - colon - 1] = '\0';
    if (to_i64(pbuf, &port) < 0 || port < 1 || port > 65535)
        return -EINVAL;
    memcpy(host, s[0] == '[' ? s + 1 : s, hn);
    host[hn] = '\0';
    if (s[0] != '[') {
        struct sockaddr_in *a = (struct sockaddr_in *)out;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
}

/* Every one-line field of a record, as parsed. */
struct rec_fields {
    char svc[REGSTATE_FIELD_MAX + 1], src[REGSTATE_FIELD_MAX + 1],
        local[REGSTATE_FIELD_MAX + 1], exp[REGSTATE_FIELD_MAX + 1],
        inst[REGSTATE_FIELD_MAX + 1], aor[REGSTATE_FIELD_MAX + 1],
        curi[REGSTATE_FIELD_MAX + 1], contact[REGSTATE_FIELD_MAX + 1],
        reglen[REGSTATE_FIELD_MAX + 1];
};

static int parse_fields(struct cursor *c, struct rec_fields *f, struct regstate_rec *r)
{
    int err;

    memset(r, 0, sizeof(*r));
    err = field(c, "svc", f->svc);
    if (!err && !(err = field(c, "src", f->src)) &&
        regstate_addr_parse(f->src, strlen(f->src), &r->ua_src) < 0)
        err = fail(c, "bad address");
    if (!err && !(err = field(c, "local", f->local)) &&
        regstate_addr_parse(f->local, strlen(f->local), &r->ua_local) < 0)
        err = fail(c, "bad address");
    if (!err && !(err = field(c, "exp", f->exp)) && to_i64(f->exp, &r->expires_at) < 0)
        err = fail(c, "bad expiry");
    if (!err)
        err = field(c, "inst", f->inst);
    if (!err)
        err = field(c, "aor", f->aor);
    if (!err)
        err = field(c, "curi", f->curi);
    if (!err)
        err = field(c, "contact", f->contact);
    if (err < 0)
        return err;
    r->service = f->svc;
    r->instance = f->inst;
    r->aor = f->aor;
    r->contact_uri = f->curi;
    r->contact = f->contact;
    return 0;
}

/* "reg N", N bytes, "\n", "end". */
static int parse_reg(struct cursor *c, struct rec_fields *f, struct regstate_rec *r)
{
    int64_t n;
    const char *line;
    size_t ln;
    int err = field(c, "reg", f->reglen);

    if (err < 0)
        return err;
    if (to_i64(f->reglen, &n) < 0 || n < 1 || n > REGSTATE_REG_MAX)
        return fail(c, "bad REGISTER length");
    if ((size_t)(c->end - c->p) < (size_t)n + 1 || c->p[n] != '\n')
        return fail(c, "REGISTER truncated");
    r->reg = c->p;
    r->reg_len = (size_t)n;
    for (const char *q = c->p; q < c->p + n; q++)
        c->line += *q == '\n';
    c->p += n + 1;
    c->line++;
    err = next_line(c, &line, &ln, 8);
    if (!err && (ln != 3 || memcmp(line, "end", 3) != 0))
        err = fail(c, "expected 'end'");
    return err;
}

static int parse_records(struct cursor *c, int (*cb)(const struct regstate_rec *, void *),
                         void *arg, struct rec_fields *f)
{
    unsigned count = 0;

    while (c->p < c->end) {
        struct regstate_rec r;
        const char *line;
        size_t n;
        int err = next_line(c, &line, &n, 8);

        if (!err && (n != 3 || memcmp(line, "rec", 3) != 0))
            err = fail(c, "expected 'rec'");
        if (!err && ++count > REGSTATE_MAX_RECORDS)
            err = fail(c, "too many records");
        if (!err)
            err = parse_fields(c, f, &r);
        if (!err)
            err = parse_reg(c, f, &r);
        if (!err)
            err = cb(&r, arg);
        if (err)
            return err;
    }
    return 0;
}

int regstate_parse(const char *buf, size_t len,
                   int (*cb)(const struct regstate_rec *r, void *arg), void *arg,
                   char *err, size_t errsz)
{
    struct cursor c = { buf, buf + len, 0, err, errsz };
    struct rec_fields *f;
    const char *line;
    size_t n;
    int rc;

    if (len > (size_t)REGSTATE_FILE_MAX) {
        if (errsz > 0)
            snprintf(err, errsz, "file larger than %ld bytes", REGSTATE_FILE_MAX);
        return -EFBIG;
    }
    rc = next_line(&c, &line, &n, 64);
    if (rc < 0)
        return rc;
    if (!slice_eq((struct slice){ line, n }, SLICE_LIT(REGSTATE_MAGIC)) &&
        !slice_eq((struct slice){ line, n }, SLICE_LIT(REGSTATE_MAGIC_V1)))
        return fail(&c, "not a sipkeep registrations file (version 1 or 2)");
    f = malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    rc = parse_records(&c, cb, arg, f);
    free(f);
    return rc;
}
