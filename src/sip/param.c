/* SPDX-License-Identifier: GPL-2.0-or-later */
/* param.c - address and Via elements and header parameters (RFC 3261
 * §7.3.1, §20.10, §20.42, §25.1); see param.h.  Edits are in param_edit.c. */
#include "sip/param.h"
#include "sip/param_int.h"
#include "sip/sipchar.h"

#include <errno.h>
#include <string.h>

static struct slice advance(struct slice s, size_t k)
{
    return (struct slice){ s.p + k, s.n - k };
}

static size_t skip_ws(struct slice s, size_t i)
{
    while (i < s.n && sipchar_is_lws(s.p[i]))
        i++;
    return i;
}

/* Unquoted gen-value: token or host; ':' and brackets admit IPv6, which Via
 * "received" carries without brackets (§20.42). */
static bool is_value_char(char c)
{
    return sipchar_is_token(c) || c == ':' || c == '[' || c == ']';
}

static size_t token_end(struct slice s, size_t i)
{
    while (i < s.n && sipchar_is_token(s.p[i]))
        i++;
    return i;
}

/* s.p[i] is '"': index one past the closing quote, or 0 when the string is
 * unterminated or holds a control character (§25.1 qdtext, quoted-pair:
 * CR and LF cannot be escaped). */
static size_t quoted_end(struct slice s, size_t i)
{
    for (i++; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];

        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 == s.n || s.p[i + 1] == '\r' || s.p[i + 1] == '\n')
                return 0;
            i++;
        } else if (sipchar_is_ctl(c) && !sipchar_is_lws(c)) {
            return 0;
        }
    }
    return 0;
}

bool sipparam_int_valid_value(struct slice v)
{
    size_t i = 0;

    if (v.n > 0 && v.p[0] == '"')
        return quoted_end(v, 0) == v.n;
    while (i < v.n && is_value_char(v.p[i]))
        i++;
    return v.n > 0 && i == v.n;
}

int sipparam_int_next(struct slice s, size_t *pos, struct sipparam_span *ps)
{
    size_t i = skip_ws(s, *pos), j, k;

    if (i == s.n)
        return 0;
    if (s.p[i] != ';')
        return -EBADMSG;
    i = skip_ws(s, i + 1);
    j = token_end(s, i);
    if (j == i)
        return -EBADMSG;
    ps->p.name = (struct slice){ s.p + i, j - i };
    ps->p.value = SLICE_NULL;
    k = skip_ws(s, j);
    if (k < s.n && s.p[k] == '=') {
        k = skip_ws(s, k + 1);
        if (k < s.n && s.p[k] == '"') {
            j = quoted_end(s, k);
        } else {
            for (j = k; j < s.n && is_value_char(s.p[j]); j++)
                ;
        }
        if (j <= k)
            return -EBADMSG;
        ps->p.value = (struct slice){ s.p + k, j - k };
    }
    ps->start = *pos;
    ps->end = j;
    *pos = j;
    return 1;
}

/* Checks the parameters from offset from to the end of s and returns their
 * extent (SLICE_NULL when there are none). */
static int params_region(struct slice s, size_t from, struct slice *params)
{
    struct sipparam_span ps;
    size_t pos = from, first = 0;
    int r, count = 0;

    while ((r = sipparam_int_next(s, &pos, &ps)) == 1) {
        if (count++ == 0)
            first = skip_ws(s, ps.start);
    }
    if (r < 0)
        return r;
    *params = count ? (struct slice){ s.p + first, pos - first } : SLICE_NULL;
    return 0;
}

int sipparam_split_next(struct slice *rest, struct slice *elem)
{
    struct slice s;

    if (!rest || !elem)
        return -EINVAL;
    s = *rest;
    while (s.p && s.n > 0) {
        bool angle = false;
        size_t i;
        struct slice e;

        for (i = 0; i < s.n && (angle || s.p[i] != ','); i++) {
            if (s.p[i] == '"' && !angle) {
                size_t j = quoted_end(s, i);

                if (j == 0)
                    return -EBADMSG;
                i = j - 1;
            } else if (s.p[i] == '<' || s.p[i] == '>') {
                angle = s.p[i] == '<';
            }
        }
        if (angle)
            return -EBADMSG;
        e = slice_trim((struct slice){ s.p, i });
        s = advance(s, i < s.n ? i + 1 : i);
        if (e.n > 0) {
            *elem = e;
            *rest = s;
            return 1;
        }
    }
    *rest = s;
    return 0;
}

/* "scheme:..." with no LWS, quotes, angle brackets or control bytes. */
static bool valid_uri_text(struct slice u)
{
    if (sipchar_scheme_len(u) == 0)
        return false;
    for (size_t i = 0; i < u.n; i++) {
        unsigned char c = (unsigned char)u.p[i];

        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
            return false;
    }
    return true;
}

/* display-name = *(token LWS) / quoted-string (§20.10); raw UTF-8 is
 * tolerated in the unquoted form because phones send it. */
static bool valid_display(struct slice d)
{
    if (d.p[0] == '"')
        return quoted_end(d, 0) == d.n;
    for (size_t i = 0; i < d.n; i++) {
        unsigned char c = (unsigned char)d.p[i];

        if (!sipchar_is_token(c) && !sipchar_is_lws(c) && c < 0x80)
            return false;
    }
    return true;
}

/* Index of the first '<' outside quoted strings in s[b..e), e when none,
 * or (size_t)-1 for an unterminated quoted string. */
static size_t find_laquot(struct slice s, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        if (s.p[i] == '<')
            return i;
        if (s.p[i] == '"') {
            size_t j = quoted_end((struct slice){ s.p, e }, i);

            if (j == 0)
                return (size_t)-1;
            i = j - 1;
        }
    }
    return e;
}

/* name-addr: [display-name] "<" URI ">" */
static int addr_bracketed(struct slice s, size_t b, size_t lt, size_t e,
                          struct sipparam_addr *r, size_t *after)
{
    struct slice d = slice_trim((struct slice){ s.p + b, lt - b });
    const char *gt = memchr(s.p + lt + 1, '>', e - lt - 1);

    if (!gt)
        return -EBADMSG;
    if (d.n > 0 && !valid_display(d))
        return -EBADMSG;
    r->display = d.n > 0 ? d : SLICE_NULL;
    r->uri = (struct slice){ s.p + lt + 1, (size_t)(gt - s.p) - lt - 1 };
    r->bracketed = true;
    *after = (size_t)(gt - s.p) + 1;
    return valid_uri_text(r->uri) ? 0 : -EBADMSG;
}

/* addr-spec without brackets: it ends at the first ';' (§20.10), and may
 * not contain ',' or '?' (they would need the brackets). */
static int addr_bare(struct slice s, size_t b, size_t e, struct sipparam_addr *r,
                     size_t *after)
{
    size_t k = b;

    while (k < e && s.p[k] != ';' && !sipchar_is_lws(s.p[k])) {
        if (s.p[k] == ',' || s.p[k] == '?')
            return -EBADMSG;
        k++;
    }
    r->uri = (struct slice){ s.p + b, k - b };
    *after = k;
    return valid_uri_text(r->uri) ? 0 : -EBADMSG;
}

int sipparam_int_addr(struct slice s, struct sipparam_addr *r, size_t *after)
{
    size_t b = skip_ws(s, 0), e = s.n, lt;
    int err;

    while (e > b && sipchar_is_lws(s.p[e - 1]))
        e--;
    memset(r, 0, sizeof(*r));
    if (e - b == 1 && s.p[b] == '*') {
        r->star = true;
        *after = e;
        return 0;
    }
    lt = find_laquot(s, b, e);
    if (lt == (size_t)-1)
        return -EBADMSG;
    if (lt < e)
        err = addr_bracketed(s, b, lt, e, r, after);
    else
        err = addr_bare(s, b, e, r, after);
    if (err < 0)
        return err;
    return params_region(s, *after, &r->params);
}

int sipparam_parse_addr(struct sipparam_addr *a, struct slice elem)
{
    struct sipparam_addr r;
    size_t after;
    int err;

    if (!a || !elem.p)
        return -EINVAL;
    err = sipparam_int_addr(elem, &r, &after);
    if (err < 0)
        return err;
    *a = r;
    return 0;
}

/* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
static int via_proto(struct slice s, size_t *i, struct sipparam_via *r)
{
    struct slice *parts[3] = { &r->proto, &r->version, &r->transport };
    size_t k = *i;

    for (int n = 0; n < 3; n++) {
        size_t j;

        if (n > 0) {
            k = skip_ws(s, k);
            if (k == s.n || s.p[k] != '/')
                return -EBADMSG;
            k = skip_ws(s, k + 1);
        }
        j = token_end(s, k);
        if (j == k)
            return -EBADMSG;
        *parts[n] = (struct slice){ s.p + k, j - k };
        k = j;
    }
    *i = k;
    return 0;
}

/* port after COLON (SWS ":" SWS): 1..5 digits, 1..65535. */
static int via_port(struct slice s, size_t *i, uint16_t *port)
{
    size_t k = skip_ws(s, *i), j;
    uint64_t v;

    for (j = k; j < s.n && sipchar_is_digit(s.p[j]); j++)
        ;
    if (j - k > 5 || slice_to_u64((struct slice){ s.p + k, j - k }, &v) < 0 ||
        v == 0 || v > 65535)
        return -EBADMSG;
    *port = (uint16_t)v;
    *i = j;
    return 0;
}

/* LWS sent-by, sent-by = host [ COLON port ] */
static int via_sent_by(struct slice s, size_t *i, struct sipparam_via *r)
{
    size_t h = skip_ws(s, *i), j = h, k;

    if (h == *i)
        return -EBADMSG;
    if (h < s.n && s.p[h] == '[') {
        const char *rb = memchr(s.p + h, ']', s.n - h);

        if (!rb)
            return -EBADMSG;
        j = (size_t)(rb - s.p) + 1;
    } else {
        while (j < s.n && !sipchar_is_lws(s.p[j]) && s.p[j] != ':' && s.p[j] != ';')
            j++;
    }
    if (sipuri_parse_hostport((struct slice){ s.p + h, j - h }, &r->host,
                              &r->host_type, NULL) < 0)
        return -EBADMSG;
    k = skip_ws(s, j);
    if (k < s.n && s.p[k] == ':') {
        j = k + 1;
        if (via_port(s, &j, &r->port) < 0)
            return -EBADMSG;
    }
    *i = j;
    return 0;
}

int sipparam_int_via(struct slice s, struct sipparam_via *r, size_t *after)
{
    size_t i = skip_ws(s, 0);

    memset(r, 0, sizeof(*r));
    if (via_proto(s, &i, r) < 0 || via_sent_by(s, &i, r) < 0)
        return -EBADMSG;
    *after = i;
    return params_region(s, i, &r->params);
}

int sipparam_parse_via(struct sipparam_via *v, struct slice elem)
{
    struct sipparam_via r;
    size_t after;
    int err;

    if (!v || !elem.p)
        return -EINVAL;
    err = sipparam_int_via(elem, &r, &after);
    if (err < 0)
        return err;
    *v = r;
    return 0;
}

int sipparam_next(struct slice *it, struct sipparam *p)
{
    struct sipparam_span ps;
    size_t pos = 0;
    int r;

    if (!it || !p)
        return -EINVAL;
    if (!it->p)
        return 0;
    r = sipparam_int_next(*it, &pos, &ps);
    if (r <= 0)
        return r;
    *p = ps.p;
    *it = advance(*it, pos);
    return 1;
}

int sipparam_find(struct slice params, const char *name, struct slice *value)
{
    struct sipparam p;
    int r;

    if (!name)
        return -EINVAL;
    while ((r = sipparam_next(&params, &p)) == 1) {
        if (slice_eq_ci_str(p.name, name)) {
            if (value)
                *value = p.value;
            return 0;
        }
    }
    return r < 0 ? r : -ENOENT;
}

/* 1*DIGIT, saturating at UINT64_MAX. */
static int parse_digits(struct slice v, uint64_t *out)
{
    uint64_t x = 0;

    if (!v.p || v.n == 0)
        return -EBADMSG;
    for (size_t i = 0; i < v.n; i++) {
        unsigned d = (unsigned)(v.p[i] - '0');

        if (!sipchar_is_digit(v.p[i]))
            return -EBADMSG;
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    *out = x;
    return 0;
}

int sipparam_get_uint(struct slice params, const char *name, uint64_t min,
                      uint64_t max, uint64_t *out)
{
    struct slice v;
    uint64_t x;
    int err;

    if (!name || !out)
        return -EINVAL;
    err = sipparam_find(params, name, &v);
    if (err < 0)
        return err;
    if (parse_digits(v, &x) < 0)
        return -EBADMSG;
    if (x < min || x > max)
        return -ERANGE;
    *out = x;
    return 0;
}

int sipparam_expires(struct slice params, uint32_t *out)
{
    uint64_t x;
    int err = sipparam_get_uint(params, "expires", 0, UINT64_MAX, &x);

    if (err < 0)
        return err;
    *out = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
    return 0;
}

int sipparam_reg_id(struct slice params, uint32_t *out)
{
    uint64_t x;
    int err = sipparam_get_uint(params, "reg-id", 1, INT32_MAX, &x);

    if (err < 0)
        return err;
    *out = (uint32_t)x;
    return 0;
}

static int parse_qvalue(struct slice v, unsigned *out)
{
    unsigned ip, frac = 0, scale = 100;

    if (!v.p || v.n == 0 || v.n > 5 || (v.p[0] != '0' && v.p[0] != '1'))
        return -EBADMSG;
    ip = (unsigned)(v.p[0] - '0');
    if (v.n > 1 && v.p[1] != '.')
        return -EBADMSG;
    for (size_t i = 2; i < v.n; i++, scale /= 10) {
        if (!sipchar_is_digit(v.p[i]))
            return -EBADMSG;
        frac += (unsigned)(v.p[i] - '0') * scale;
    }
    if (ip == 1 && frac > 0)
        return -EBADMSG;
    *out = ip * 1000 + frac;
    return 0;
}

int sipparam_q(struct slice params, unsigned *thousandths)
{
    struct slice v;
    int err;

    if (!thousandths)
        return -EINVAL;
    err = sipparam_find(params, "q", &v);
    if (err < 0)
        return err;
    return parse_qvalue(v, thousandths);
}

int sipparam_unquote(struct slice value, struct slice *inner)
{
    if (!inner || !value.p)
        return -EINVAL;
    if (value.n < 2 || value.p[0] != '"' || quoted_end(value, 0) != value.n)
        return -EBADMSG;
    *inner = (struct slice){ value.p + 1, value.n - 2 };
    return 0;
}
