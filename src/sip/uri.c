/* SPDX-License-Identifier: GPL-2.0-or-later */
/* uri.c - SIP/SIPS URI parsing (RFC 3261 §19.1, §25.1); see uri.h. */
#include "sip/uri.h"
#include "sip/uri_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sip/sipchar.h"

typedef bool (*char_class)(char c);

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static bool user_char(char c)
{
    return sipchar_is_unreserved(c) || in_set(c, "&=+$,;?/");
}

static bool password_char(char c)
{
    return sipchar_is_unreserved(c) || in_set(c, "&=+$,");
}

static bool param_char(char c)
{
    return sipchar_is_unreserved(c) || in_set(c, "[]/:&+$");
}

static bool hnv_char(char c)
{
    return sipchar_is_unreserved(c) || in_set(c, "[]/?:+$");
}

/* Whether every byte of s is in cls or part of a %XX escape. */
static bool all_in(struct slice s, char_class cls)
{
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '%') {
            if (!cls(s.p[i]))
                return false;
            continue;
        }
        if (s.n - i < 3 || sipchar_hex_val(s.p[i + 1]) < 0 || sipchar_hex_val(s.p[i + 2]) < 0)
            return false;
        i += 2;
    }
    return true;
}

/* Bytes of s before the first byte that is in set (s.n when none). */
static size_t span_until(struct slice s, const char *set)
{
    size_t i = 0;

    while (i < s.n && !in_set(s.p[i], set))
        i++;
    return i;
}

static struct slice advance(struct slice s, size_t k)
{
    return (struct slice){ s.p + k, s.n - k };
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3261 §25.1) */
static int parse_scheme(struct slice s, enum sipuri_scheme *scheme, size_t *off)
{
    size_t i = sipchar_scheme_len(s);
    struct slice name = { s.p, i };

    if (i == 0)
        return -EBADMSG;
    if (slice_eq_ci_str(name, "sip"))
        *scheme = SIPURI_SIP;
    else if (slice_eq_ci_str(name, "sips"))
        *scheme = SIPURI_SIPS;
    else
        return -EPROTONOSUPPORT;
    *off = i + 1;
    return 0;
}

/* IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each <= 255 */
static bool valid_ipv4(struct slice s)
{
    unsigned dots = 0, digits = 0, val = 0;

    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];

        if (sipchar_is_digit(c)) {
            val = val * 10 + (unsigned)(c - '0');
            if (++digits > 3 || val > 255)
                return false;
        } else if (c == '.' && digits > 0 && dots < 3) {
            dots++;
            digits = 0;
            val = 0;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

/* "[" IPv6address "]": the characters are checked here (so that an embedded
 * NUL cannot cut the copy short), the structure by inet_pton(). */
static bool valid_ipv6_ref(struct slice s)
{
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr a;

    if (s.n < 4 || s.p[0] != '[' || s.p[s.n - 1] != ']' || s.n - 2 >= sizeof(buf))
        return false;
    for (size_t i = 1; i + 1 < s.n; i++) {
        if (sipchar_hex_val(s.p[i]) < 0 && s.p[i] != ':' && s.p[i] != '.')
            return false;
    }
    memcpy(buf, s.p + 1, s.n - 2);
    buf[s.n - 2] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]; labels are alphanum with
 * inner '-', at most 63 bytes (RFC 1035); the toplabel starts with ALPHA. */
static bool valid_hostname(struct slice s)
{
    size_t label = 0, top = 0;
    char prev = '.';

    if (s.n > 1 && s.p[s.n - 1] == '.')
        s.n--;
    if (s.n == 0 || s.n > SIPURI_MAX_HOST)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];

        if (c == '.') {
            if (label == 0 || prev == '-')
                return false;
            label = 0;
            top = i + 1;
        } else if (sipchar_is_alnum(c) || (c == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-' && sipchar_is_alpha(s.p[top]);
}

static int classify_host(struct slice h, enum sipuri_host_type *type)
{
    size_t digits_dots = 0;

    if (h.n == 0)
        return -EBADMSG;
    if (h.p[0] == '[') {
        *type = SIPURI_HOST_IPV6;
        return valid_ipv6_ref(h) ? 0 : -EBADMSG;
    }
    while (digits_dots < h.n && (sipchar_is_digit(h.p[digits_dots]) || h.p[digits_dots] == '.'))
        digits_dots++;
    if (digits_dots == h.n) {
        *type = SIPURI_HOST_IPV4;
        return valid_ipv4(h) ? 0 : -EBADMSG;
    }
    *type = SIPURI_HOST_NAME;
    return valid_hostname(h) ? 0 : -EBADMSG;
}

/* port = 1*DIGIT; we take 1..5 digits, 1..65535. */
static int parse_port(struct slice s, uint16_t *port)
{
    unsigned v = 0;

    if (s.n == 0 || s.n > 5)
        return -EBADMSG;
    for (size_t i = 0; i < s.n; i++) {
        if (!sipchar_is_digit(s.p[i]))
            return -EBADMSG;
        v = v * 10 + (unsigned)(s.p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EBADMSG;
    *port = (uint16_t)v;
    return 0;
}

int sipuri_parse_hostport(struct slice s, struct slice *host,
                          enum sipuri_host_type *type, uint16_t *port)
{
    enum sipuri_host_type t;
    uint16_t pt = 0;
    size_t hn = s.n;

    if (!s.p)
        return -EINVAL;
    if (s.n > 0 && s.p[0] == '[') {
        const char *rb = memchr(s.p, ']', s.n);

        if (!rb)
            return -EBADMSG;
        hn = (size_t)(rb - s.p) + 1;
    } else {
        hn = span_until(s, ":");
    }
    if (classify_host((struct slice){ s.p, hn }, &t) < 0)
        return -EBADMSG;
    if (hn < s.n && (s.p[hn] != ':' || parse_port(advance(s, hn + 1), &pt) < 0))
        return -EBADMSG;
    if (host)
        *host = (struct slice){ s.p, hn };
    if (type)
        *type = t;
    if (port)
        *port = pt;
    return 0;
}

/* userinfo = user [ ":" password ] "@" -- consumed from *rest when present.
 * No '@' may appear unescaped after the userinfo, so the first one ends it. */
static int parse_userinfo(struct slice *rest, struct sipuri *u)
{
    const char *at = memchr(rest->p, '@', rest->n);
    struct slice ui;
    size_t un;

    if (!at)
        return 0;
    ui = (struct slice){ rest->p, (size_t)(at - rest->p) };
    un = span_until(ui, ":");
    u->user = (struct slice){ ui.p, un };
    if (un == 0 || !all_in(u->user, user_char))
        return -EBADMSG;
    if (un < ui.n) {
        u->password = advance(ui, un + 1);
        if (!all_in(u->password, password_char))
            return -EBADMSG;
    }
    *rest = advance(*rest, ui.n + 1);
    return 0;
}

/* uri-parameters = *( ";" pname [ "=" pvalue ] ), both 1*paramchar. */
static bool valid_params(struct slice s)
{
    while (s.n > 0) {
        size_t seg, nn;
        struct slice p;

        if (s.p[0] != ';')
            return false;
        s = advance(s, 1);
        seg = span_until(s, ";");
        p = (struct slice){ s.p, seg };
        nn = span_until(p, "=");
        if (nn == 0 || !all_in((struct slice){ p.p, nn }, param_char))
            return false;
        if (nn < seg && (seg - nn < 2 || !all_in(advance(p, nn + 1), param_char)))
            return false;
        s = advance(s, seg);
    }
    return true;
}

/* headers = header *( "&" header ); header = hname "=" hvalue */
static bool valid_headers(struct slice s)
{
    for (;;) {
        size_t seg = span_until(s, "&");
        struct slice h = { s.p, seg };
        size_t nn = span_until(h, "=");

        if (nn == 0 || nn == seg || !all_in((struct slice){ h.p, nn }, hnv_char) ||
            !all_in(advance(h, nn + 1), hnv_char))
            return false;
        if (seg == s.n)
            return true;
        s = advance(s, seg + 1);
    }
}

int sipuri_parse(struct sipuri *u, struct slice s)
{
    struct sipuri r = { 0 };
    struct slice rest;
    size_t off, n;
    int err;

    if (!u || !s.p)
        return -EINVAL;
    err = parse_scheme(s, &r.scheme, &off);
    if (err < 0)
        return err;
    rest = advance(s, off);
    if (parse_userinfo(&rest, &r) < 0)
        return -EBADMSG;
    n = span_until(rest, ";?");
    if (sipuri_parse_hostport((struct slice){ rest.p, n }, &r.host, &r.host_type,
                              &r.port) < 0)
        return -EBADMSG;
    rest = advance(rest, n);
    n = span_until(rest, "?");
    if (n > 0) {
        r.params = (struct slice){ rest.p, n };
        if (!valid_params(r.params))
            return -EBADMSG;
        rest = advance(rest, n);
    }
    if (rest.n > 0) {
        r.headers = advance(rest, 1);
        if (!valid_headers(r.headers))
            return -EBADMSG;
    }
    *u = r;
    return 0;
}

bool sipuri_param_next(struct slice *it, struct slice *name, struct slice *value)
{
    struct slice s, seg;
    size_t nn;

    if (!it || !it->p || it->n == 0 || it->p[0] != ';')
        return false;
    s = advance(*it, 1);
    seg = (struct slice){ s.p, span_until(s, ";") };
    nn = span_until(seg, "=");
    if (name)
        *name = (struct slice){ seg.p, nn };
    if (value)
        *value = nn < seg.n ? advance(seg, nn + 1) : SLICE_NULL;
    *it = advance(s, seg.n);
    return true;
}

bool sipuri_param_valid(struct slice name, struct slice value)
{
    if (!name.p || name.n == 0 || !all_in(name, param_char))
        return false;
    return !value.p || (value.n > 0 && all_in(value, param_char));
}

int sipuri_param(const struct sipuri *u, const char *name, struct slice *value)
{
    struct slice it, pn, pv;

    if (!u || !name)
        return -EINVAL;
    it = u->params;
    while (sipuri_param_next(&it, &pn, &pv)) {
        if (slice_eq_ci_str(pn, name)) {
            if (value)
                *value = pv;
            return 0;
        }
    }
    return -ENOENT;
}

int sipuri_target(const struct sipuri *u, enum sipuri_transport *tp,
                  uint16_t *port)
{
    enum sipuri_transport t = u && u->scheme == SIPURI_SIPS ? SIPURI_TP_TLS : SIPURI_TP_UDP;
    struct slice v;

    if (!u)
        return -EINVAL;
    if (sipuri_param(u, "transport", &v) == 0) {
        if (slice_eq_ci_str(v, "tls"))
            t = SIPURI_TP_TLS;
        else if (slice_eq_ci_str(v, "tcp"))
            t = u->scheme == SIPURI_SIPS ? SIPURI_TP_TLS : SIPURI_TP_TCP;
        else if (!slice_eq_ci_str(v, "udp") || u->scheme == SIPURI_SIPS)
            return -EPROTONOSUPPORT;
    }
    if (tp)
        *tp = t;
    if (port)
        *port = u->port ? u->port : (t == SIPURI_TP_TLS ? 5061 : 5060);
    return 0;
}

int sipuri_unescape(struct slice s, char *out, size_t outsz, size_t *outlen)
{
    size_t o = 0;

    if (!out || !outlen || (!s.p && s.n))
        return -EINVAL;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];

        if (c == '%') {
            int hi = s.n - i >= 3 ? sipchar_hex_val(s.p[i + 1]) : -1;
            int lo = hi >= 0 ? sipchar_hex_val(s.p[i + 2]) : -1;

            if (lo < 0 || (hi | lo) == 0)
                return -EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o == outsz)
            return -ENOSPC;
        out[o++] = c;
    }
    *outlen = o;
    return 0;
}
