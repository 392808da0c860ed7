/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_validate.c - the schema (one table per YAML mapping) and the value
 * parsers that turn one scalar into one field.
 *
 * To add a key: add a line to the table of its mapping (and the field to
 * struct cfg...), with its default as YAML text in .def, or CFG_K_REQUIRED;
 * then document it in config/sipkeep.yaml and the README.
 */
#include "config/config_internal.h"
#include "sip/sipchar.h"
#include "sip/uri.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QSZ 256 /* room for a quoted value */

/* Enum fields are written as int by val_enum(). */
_Static_assert(sizeof(enum cfg_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_udp_keepalive) == sizeof(int), "enum size");

__attribute__((format(printf, 3, 4)))
static int why_fmt(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

const char *cfg_quote(struct slice v, char *buf, size_t sz)
{
    const size_t max_chars = 60;
    size_t o = 0;

    for (size_t i = 0; i < v.n; i++) {
        unsigned char ch = (unsigned char)v.p[i];

        if (i == max_chars || o + 9 > sz) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f)
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, sz - o, "\\x%02x", ch);
    }
    buf[o] = '\0';
    return buf;
}

/* Copies v (no NUL in it) into *dst as a new string. */
static int dup_slice(struct slice v, char **dst)
{
    char *s = slice_strdup(v);

    if (!s)
        return -ENOMEM;
    *dst = s;
    return 0;
}

static bool has_prefix_ci(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.n >= n && slice_eq_ci_str((struct slice){ s.p, n }, prefix);
}

/* ---- simple kinds ------------------------------------------------------ */

/* "a, b or c" from a NULL-terminated list. */
static void word_list(const char *const *words, char *buf, size_t sz)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; words[i] && o < sz; i++) {
        const char *sep = i == 0 ? "" : words[i + 1] ? ", " : " or ";
        int n = snprintf(buf + o, sz - o, "%s%s", sep, words[i]);

        o += n > 0 ? (size_t)n : 0;
    }
}

static int val_enum(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    char list[128], q[QSZ];

    for (size_t i = 0; k->words[i]; i++) {
        if (slice_eq(v, slice_cstr(k->words[i]))) {
            *(int *)dst = (int)i;
            return 0;
        }
    }
    word_list(k->words, list, sizeof(list));
    return why_fmt(why, whysz, "must be %s (got '%s')", list,
                   cfg_quote(v, q, sizeof(q)));
}

static bool uint_in_range(const struct cfg_key *k, struct slice v, unsigned *out)
{
    uint64_t n;

    if (slice_to_u64(v, &n) != 0 || n < k->min || n > k->max)
        return false;
    *out = (unsigned)n;
    return true;
}

static int val_uint(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    char q[QSZ];

    if (uint_in_range(k, v, dst))
        return 0;
    return why_fmt(why, whysz, "must be an integer between %u and %u (got '%s')",
                   k->min, k->max, cfg_quote(v, q, sizeof(q)));
}

/* "auto" (CFG_KEEPALIVE_AUTO) or seconds in range. */
static int val_interval(const struct cfg_key *k, struct slice v, void *dst,
                        char *why, size_t whysz)
{
    char q[QSZ];

    if (slice_eq(v, SLICE_LIT("auto"))) {
        *(unsigned *)dst = CFG_KEEPALIVE_AUTO;
        return 0;
    }
    if (uint_in_range(k, v, dst))
        return 0;
    return why_fmt(why, whysz,
                   "must be auto or an integer between %u and %u (got '%s')",
                   k->min, k->max, cfg_quote(v, q, sizeof(q)));
}

/* The YAML 1.2 core schema spellings. */
static int val_bool(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    static const char *const yes[] = { "true", "True", "TRUE" };
    static const char *const no[] = { "false", "False", "FALSE" };
    char q[QSZ];

    (void)k;
    for (size_t i = 0; i < 3; i++) {
        if (slice_eq(v, slice_cstr(yes[i])) || slice_eq(v, slice_cstr(no[i]))) {
            *(bool *)dst = slice_eq(v, slice_cstr(yes[i]));
            return 0;
        }
    }
    return why_fmt(why, whysz, "must be true or false (got '%s')",
                   cfg_quote(v, q, sizeof(q)));
}

/* Absolute, because the daemon's working directory is not the admin's. */
static int val_abspath(const struct cfg_key *k, struct slice v, void *dst,
                       char *why, size_t whysz)
{
    char q[QSZ];

    (void)k;
    if (v.n == 0 || v.n >= 4096 || v.p[0] != '/')
        return why_fmt(why, whysz, "must be an absolute path (got '%s')",
                       cfg_quote(v, q, sizeof(q)));
    return dup_slice(v, dst);
}

/* An absolute path that fits a UNIX socket address (sun_path: 108 bytes
 * with its NUL). */
static int val_sockpath(const struct cfg_key *k, struct slice v, void *dst,
                        char *why, size_t whysz)
{
    char q[QSZ];

    if (v.n >= 108)
        return why_fmt(why, whysz, "must be shorter than 108 bytes, a UNIX socket "
                       "path limit (got '%s')", cfg_quote(v, q, sizeof(q)));
    return val_abspath(k, v, dst, why, whysz);
}

/* A user name as useradd accepts it (portable subset), so that a typo
 * shows up here rather than as a failed lookup at start. */
static int val_user(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    char q[QSZ];
    bool ok = v.n >= 1 && v.n <= CFG_USER_MAX && v.p[0] != '-';

    (void)k;
    for (size_t i = 0; ok && i < v.n; i++) {
        char ch = v.p[i];
        ok = sipchar_is_alnum(ch) || ch == '_' || ch == '-' || ch == '.';
    }
    if (!ok)
        return why_fmt(why, whysz, "must be a user name: 1-%d of A-Z a-z 0-9 . _ -, "
                       "not starting with - (got '%s')", CFG_USER_MAX,
                       cfg_quote(v, q, sizeof(q)));
    return dup_slice(v, dst);
}

static int val_name(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    char q[QSZ];
    bool ok = v.n >= 1 && v.n <= CFG_SERVICE_NAME_MAX;

    (void)k;
    for (size_t i = 0; ok && i < v.n; i++) {
        char ch = v.p[i];
        ok = sipchar_is_alnum(ch) || ch == '_' || ch == '-';
    }
    if (ok)
        return dup_slice(v, dst);
    return why_fmt(why, whysz,
                   "must be 1 to %d letters, digits, '_' or '-' (got '%s')",
                   CFG_SERVICE_NAME_MAX, cfg_quote(v, q, sizeof(q)));
}

/* ---- hosts, ports, addresses ------------------------------------------- */

/* inet_pton() on a slice. */
static bool addr_parse(struct slice s, int family, void *out)
{
    char buf[64];

    if (s.n >= sizeof(buf))
        return false;
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    return inet_pton(family, buf, out) == 1;
}

/* RFC 1123 host name: dot-separated labels of 1..63 letters, digits and
 * inner hyphens, 253 characters at most. */
static bool host_name_ok(struct slice s)
{
    size_t label = 0;

    if (s.n == 0 || s.n > 253)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];

        if (ch == '.') {
            if (label == 0 || s.p[i - 1] == '-')
                return false;
            label = 0;
        } else if (sipchar_is_alnum(ch) || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s.p[s.n - 1] != '-';
}

static bool all_digits_and_dots(struct slice s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '.' && !sipchar_is_digit(s.p[i]))
            return false;
    }
    return true;
}

/* A host name, an IPv4 address, or (bracketed) an IPv6 address.  Returns
 * NULL and sets *family (0 for a name), or the reason it is not valid. */
static const char *host_check(struct slice host, bool bracketed, int *family)
{
    unsigned char bin[16];

    if (bracketed) {
        *family = AF_INET6;
        return addr_parse(host, AF_INET6, bin) ? NULL : "bad IPv6 address";
    }
    if (host.n == 0)
        return "the host is missing";
    if (all_digits_and_dots(host)) {
        *family = AF_INET;
        return addr_parse(host, AF_INET, bin) ? NULL : "bad IPv4 address";
    }
    *family = 0;
    return host_name_ok(host) ? NULL : "bad host name";
}

/* Splits "host", "host:port", "[v6]" or "[v6]:port"; port is SLICE_NULL
 * when absent. */
static const char *hostport_split(struct slice s, struct slice *host,
                                  struct slice *port, bool *bracketed)
{
    const char *sep;

    *port = SLICE_NULL;
    *bracketed = s.n > 0 && s.p[0] == '[';
    if (*bracketed) {
        const char *end = memchr(s.p, ']', s.n);

        if (!end)
            return "missing ']' after the IPv6 address";
        *host = (struct slice){ s.p + 1, (size_t)(end - s.p) - 1 };
        sep = end + 1;
        if (sep == s.p + s.n)
            return NULL;
        if (*sep != ':')
            return "unexpected text after ']'";
    } else {
        sep = memchr(s.p, ':', s.n);
        *host = (struct slice){ s.p, sep ? (size_t)(sep - s.p) : s.n };
        if (!sep)
            return NULL;
        if (memchr(sep + 1, ':', s.n - host->n - 1))
            return "an IPv6 address must be in brackets, e.g. [2001:db8::1]";
    }
    *port = (struct slice){ sep + 1, s.n - (size_t)(sep + 1 - s.p) };
    return NULL;
}

static const char *port_parse(struct slice s, uint16_t *out)
{
    uint64_t n;

    if (s.n > 5 || slice_to_u64(s, &n) != 0 || n < 1 || n > 65535)
        return "the port must be an integer between 1 and 65535";
    *out = (uint16_t)n;
    return NULL;
}

/* ---- listen: "udp:ADDR:PORT" -------------------------------------------- */

static bool all_letters(struct slice s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (!sipchar_is_alpha(s.p[i]))
            return false;
    }
    return s.n > 0;
}

/* Fills l->addr/addrlen from a numeric host and port. */
static const char *listen_addr(struct slice host, bool bracketed, uint16_t port,
                               struct cfg_listen *l)
{
    if (bracketed) {
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

        if (!addr_parse(host, AF_INET6, &sin6.sin6_addr))
            return "bad IPv6 address";
        memcpy(&l->addr, &sin6, sizeof(sin6));
        l->addrlen = sizeof(sin6);
    } else {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

        if (!addr_parse(host, AF_INET, &sin.sin_addr))
            return "ADDR must be an IPv4 address or a bracketed IPv6 address";
        memcpy(&l->addr, &sin, sizeof(sin));
        l->addrlen = sizeof(sin);
    }
    return NULL;
}

/* 0.0.0.0, ::, or :: mapping 0.0.0.0. */
static bool addr_unspecified(const struct sockaddr_storage *ss)
{
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    static const uint8_t mapped_any[16] = { [10] = 0xff, [11] = 0xff };

    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(a6) || memcmp(a6, mapped_any, 16) == 0;
}

/* "ADDR:PORT" (IPv6 in brackets) into l->addr/addrlen; no_port is the
 * reason given when the port is missing. */
static const char *addr_port_parse(struct slice v, const char *no_port, struct cfg_listen *l)
{
    struct slice host, port;
    bool bracketed;
    uint16_t portnum;
    const char *why = hostport_split(v, &host, &port, &bracketed);

    if (why)
        return why;
    if (!port.p)
        return no_port;
    if ((why = port_parse(port, &portnum)) != NULL)
        return why;
    return listen_addr(host, bracketed, portnum, l);
}

static const char *listen_parse(struct slice v, struct cfg_listen *l)
{
    if (!has_prefix_ci(v, "udp:")) {
        const char *colon = memchr(v.p, ':', v.n);
        struct slice proto = { v.p, colon ? (size_t)(colon - v.p) : 0 };

        return all_letters(proto) ? "only udp is supported for now"
                                  : "expected udp:ADDR:PORT";
    }
    l->transport = CFG_TRANSPORT_UDP;
    return addr_port_parse((struct slice){ v.p + 4, v.n - 4 },
                           "the port is missing (expected udp:ADDR:PORT)", l);
}

static int val_listen(const struct cfg_key *k, struct slice v, void *dst,
                      char *why, size_t whysz)
{
    struct cfg_listen *l = dst;
    const char *reason = listen_parse(v, l);
    char q[QSZ];

    (void)k;
    if (reason)
        return why_fmt(why, whysz, "is not a valid listen address: %s (got '%s')",
                       reason, cfg_quote(v, q, sizeof(q)));
    return dup_slice(v, &l->text);
}

/* metrics.listen: "ADDR:PORT" (TCP), a literal address that is not the
 * unspecified one: the page must never be open to every network. */
static int val_metrics_listen(const struct cfg_key *k, struct slice v, void *dst,
                              char *why, size_t whysz)
{
    struct cfg_listen *l = dst;
    const char *reason = addr_port_parse(
        v, "the port is missing (expected ADDR:PORT, e.g. 127.0.0.1:9580)", l);
    char q[QSZ];

    (void)k;
    if (!reason && addr_unspecified(&l->addr))
        reason = "0.0.0.0 and :: would open the metrics to every network; give a loopback "
                 "or LAN address";
    if (reason)
        return why_fmt(why, whysz, "is not a valid metrics address: %s (got '%s')", reason,
                       cfg_quote(v, q, sizeof(q)));
    l->transport = CFG_TRANSPORT_TCP;
    return dup_slice(v, &l->text);
}

/* ---- transparent mode: "A.B.C.D:PORT", interface names ----------------- */

static int val_ip4port(const struct cfg_key *k, struct slice v, void *dst,
                       char *why, size_t whysz)
{
    struct sockaddr_in *sin = dst;
    struct slice host, port;
    bool bracketed;
    uint16_t portnum = 0;
    const char *reason = hostport_split(v, &host, &port, &bracketed);
    char q[QSZ];

    (void)k;
    if (!reason && (bracketed || !port.p))
        reason = "expected IPV4ADDR:PORT";
    if (!reason)
        reason = port_parse(port, &portnum);
    if (!reason && !addr_parse(host, AF_INET, &sin->sin_addr))
        reason = "bad IPv4 address";
    if (reason)
        return why_fmt(why, whysz, "is not a valid address: %s (got '%s')", reason,
                       cfg_quote(v, q, sizeof(q)));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(portnum);
    return 0;
}

/* Also what iptables' -i accepts; nothing a shell could read as syntax. */
static int val_iface(const struct cfg_key *k, struct slice v, void *dst,
                     char *why, size_t whysz)
{
    char q[QSZ];
    bool ok = v.n >= 1 && v.n <= CFG_IFACE_MAX;

    (void)k;
    for (size_t i = 0; ok && i < v.n; i++) {
        char ch = v.p[i];
        ok = sipchar_is_alnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '@' ||
             (ch == '+' && i == v.n - 1); /* iptables' wildcard, e.g. "eth+" */
    }
    if (ok && v.p[0] != '-')
        return dup_slice(v, dst);
    return why_fmt(why, whysz,
                   "must be 1 to %d letters, digits, '_', '-', '.' or '@', optionally "
                   "ending in '+', not starting with '-' (got '%s')",
                   CFG_IFACE_MAX, cfg_quote(v, q, sizeof(q)));
}

/* ---- ua.allow: "ADDR[/PREFIX]" ------------------------------------------ */

static void cidr_mask(uint8_t *addr, unsigned prefix, unsigned bits)
{
    for (unsigned i = 0; i < bits / 8; i++) {
        unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
        addr[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
    }
}

static const char *cidr_parse(struct slice v, struct cfg_cidr *c)
{
    const char *slash = memchr(v.p, '/', v.n);
    struct slice a = { v.p, slash ? (size_t)(slash - v.p) : v.n };
    unsigned bits;
    uint64_t prefix;

    c->family = memchr(a.p, ':', a.n) ? AF_INET6 : AF_INET;
    bits = c->family == AF_INET ? 32 : 128;
    if (!addr_parse(a, c->family, c->addr))
        return c->family == AF_INET ? "bad IPv4 address" : "bad IPv6 address";
    prefix = bits;
    if (slash) {
        struct slice p = { slash + 1, v.n - a.n - 1 };
        if (p.n > 3 || slice_to_u64(p, &prefix) != 0 || prefix > bits)
            return bits == 32 ? "the prefix length must be 0..32"
                              : "the prefix length must be 0..128";
    }
    c->prefix = (unsigned)prefix;
    return NULL;
}

static int val_cidr(const struct cfg_key *k, struct slice v, void *dst,
                    char *why, size_t whysz)
{
    struct cfg_cidr *c = dst;
    const char *reason = cidr_parse(v, c);
    uint8_t net[16];
    char q[QSZ], text[64];

    (void)k;
    if (reason)
        return why_fmt(why, whysz, "is not a valid network: %s (got '%s')",
                       reason, cfg_quote(v, q, sizeof(q)));
    memcpy(net, c->addr, sizeof(net));
    cidr_mask(net, c->prefix, c->family == AF_INET ? 32 : 128);
    if (memcmp(net, c->addr, c->family == AF_INET ? 4 : 16) != 0) {
        inet_ntop(c->family, net, text, sizeof(text));
        return why_fmt(why, whysz,
                       "is not a valid network: host bits are set, did you mean %s/%u? (got '%s')",
                       text, c->prefix, cfg_quote(v, q, sizeof(q)));
    }
    return 0;
}

/* ---- outbound proxy URIs ------------------------------------------------ */

/* RFC 3261 §25.1 paramchar, without escapes' validation. */
static bool param_text_ok(struct slice s)
{
    for (size_t i = 0; i < s.n; i++) {
        /* strchr would match a NUL with the set's terminator (scalars with
         * NUL are refused before this, but the check stands on its own) */
        if (!sipchar_is_unreserved(s.p[i]) && (s.p[i] == '\0' || !strchr("[]/:&+$%", s.p[i])))
            return false;
    }
    return true;
}

/* ";name[=value]" list: checks every one, picks out transport=. */
static const char *params_parse(struct slice s, int *transport)
{
    static const char *const names[] = { "udp", "tcp", "tls" };

    while (s.n > 0) {
        const char *end = memchr(s.p + 1, ';', s.n - 1);
        struct slice p = { s.p + 1, end ? (size_t)(end - s.p) - 1 : s.n - 1 };
        const char *eq = memchr(p.p, '=', p.n);
        struct slice name = { p.p, eq ? (size_t)(eq - p.p) : p.n };
        struct slice val = eq ? (struct slice){ eq + 1, p.n - name.n - 1 } : SLICE_NULL;

        if (name.n == 0 || !param_text_ok(name) || (eq && !param_text_ok(val)))
            return "bad URI parameter";
        if (slice_eq_ci_str(name, "transport")) {
            if (*transport >= 0)
                return "transport= is given twice";
            for (int t = 0; t < 3; t++) {
                if (slice_eq_ci_str(val, names[t]))
                    *transport = t;
            }
            if (*transport < 0)
                return "transport must be udp, tcp or tls";
        }
        s.n -= p.n + 1;
        s.p += p.n + 1;
    }
    return NULL;
}

static const char *proxy_parse(struct slice v, struct cfg_proxy *p, struct slice *host)
{
    struct slice rest, hp, port;
    const char *semi, *why;
    bool bracketed;
    int transport = -1;

    p->sips = has_prefix_ci(v, "sips:");
    if (!p->sips && !has_prefix_ci(v, "sip:"))
        return "the scheme must be sip: or sips:";
    rest = (struct slice){ v.p + (p->sips ? 5 : 4), v.n - (p->sips ? 5 : 4) };
    if (memchr(rest.p, '?', rest.n))
        return "URI headers (?...) are not allowed";
    semi = memchr(rest.p, ';', rest.n);
    hp = (struct slice){ rest.p, semi ? (size_t)(semi - rest.p) : rest.n };
    if (memchr(hp.p, '@', hp.n))
        return "a user part (user@) is not allowed";
    if ((why = hostport_split(hp, host, &port, &bracketed)) != NULL ||
        (why = host_check(*host, bracketed, &p->host_family)) != NULL)
        return why;
    p->port_explicit = port.p != NULL;
    if (port.p && (why = port_parse(port, &p->port)) != NULL)
        return why;
    if ((why = params_parse((struct slice){ hp.p + hp.n, rest.n - hp.n }, &transport)) != NULL)
        return why;
    if (p->sips && transport == CFG_TRANSPORT_UDP)
        return "sips: requires TLS, it cannot use transport=udp";
    /* sips => TLS (RFC 3261 §26.2.2); plain sip: defaults to UDP. */
    p->transport = p->sips ? CFG_TRANSPORT_TLS
                   : transport < 0 ? CFG_TRANSPORT_UDP
                                   : (enum cfg_transport)transport;
    if (!p->port_explicit)
        p->port = p->transport == CFG_TRANSPORT_TLS ? 5061 : 5060;
    return NULL;
}

static int val_proxy(const struct cfg_key *k, struct slice v, void *dst,
                     char *why, size_t whysz)
{
    struct cfg_proxy *p = dst;
    struct slice host;
    const char *reason = proxy_parse(v, p, &host);
    char q[QSZ];

    (void)k;
    if (reason)
        return why_fmt(why, whysz, "is not a valid SIP URI: %s (got '%s')",
                       reason, cfg_quote(v, q, sizeof(q)));
    if (dup_slice(host, &p->host) || dup_slice(v, &p->uri))
        return -ENOMEM;
    return 0;
}

/* A service's domain: the host part of request URIs it serves. */
static int val_domain(const struct cfg_key *k, struct slice v, void *dst,
                      char *why, size_t whysz)
{
    int family;
    char q[QSZ];

    (void)k;
    if (host_check(v, false, &family) == NULL)
        return dup_slice(v, dst);
    return why_fmt(why, whysz,
                   "must be a domain name such as sip.example.net (got '%s')",
                   cfg_quote(v, q, sizeof(q)));
}

/* A credentials entry's AOR: a sip:/sips: URI with a user part, as the
 * phones write it in To (compared by user@host at run time). */
static int val_aor(const struct cfg_key *k, struct slice v, void *dst,
                   char *why, size_t whysz)
{
    struct sipuri u;
    char q[QSZ];

    (void)k;
    if (v.n < 512 && sipuri_parse(&u, v) == 0 && u.user.n > 0)
        return dup_slice(v, dst);
    return why_fmt(why, whysz, "must be a SIP URI with a user, e.g. sip:alice@example.net "
                   "(got '%s')", cfg_quote(v, q, sizeof(q)));
}

/* A digest username or realm: printable, no '"' or '\\', so that it
 * quotes into an Authorization header as is. */
static int val_digest_text(const struct cfg_key *k, struct slice v, void *dst,
                           char *why, size_t whysz)
{
    char q[QSZ];
    bool ok = v.n >= 1 && v.n <= 255;

    (void)k;
    for (size_t i = 0; ok && i < v.n; i++)
        ok = !sipchar_is_ctl((unsigned char)v.p[i]) && v.p[i] != '"' && v.p[i] != '\\';
    if (ok)
        return dup_slice(v, dst);
    return why_fmt(why, whysz, "must be 1 to 255 printable characters without '\"' or "
                   "'\\' (got '%s')", cfg_quote(v, q, sizeof(q)));
}

/* ---- the schema --------------------------------------------------------- */

#define SCALAR(T, f, fn, ...)                                                  \
    { .name = #f, .type = CFG_T_SCALAR, .off = offsetof(T, f), .parse = fn,    \
      __VA_ARGS__ }
#define MAP(T, f, schema, ...)                                                 \
    { .name = #f, .type = CFG_T_MAP, .off = offsetof(T, f), .map = &schema,    \
      __VA_ARGS__ }
/* A sequence stored as `E *f; size_t n_f;`; its entries parsed by .parse
 * (scalars) or .map (mappings); .min/.max bound the number of entries. */
#define SEQ(T, f, E, ...)                                                      \
    { .name = #f, .type = CFG_T_SEQ, .off = offsetof(T, f),                    \
      .off_n = offsetof(T, n_##f), .elem_size = sizeof(E), __VA_ARGS__ }
#define SCHEMA(name, keys)                                                     \
    _Static_assert(sizeof(keys) / sizeof(keys[0]) <= CFG_MAX_KEYS, #keys);     \
    static const struct cfg_schema name = { keys, sizeof(keys) / sizeof(keys[0]) }

static const char *const mode_words[] = { "proxy", "transparent", NULL };
/* Same order as enum log_target (the levels are the log module's). */
static const char *const target_words[] = { "stderr", "syslog", NULL };
/* Same order as enum cfg_udp_keepalive. */
static const char *const udp_ka_words[] = { "auto", "stun", "sip", NULL };

static const struct cfg_key log_keys[] = {
    SCALAR(struct cfg_log, level, val_enum, .words = log_level_names, .def = "info"),
    SCALAR(struct cfg_log, target, val_enum, .words = target_words, .def = "stderr"),
};
SCHEMA(log_schema, log_keys);

static const struct cfg_key ua_keys[] = {
    SEQ(struct cfg_ua, allow, struct cfg_cidr, .parse = val_cidr,
        .flags = CFG_K_REQUIRED, .min = 1, .max = CFG_MAX_ALLOW,
        .hint = "list the networks whose phones may use sipkeep, e.g. "
                "[\"192.168.0.0/16\"]: sipkeep is never an open relay"),
    SCALAR(struct cfg_ua, register_expires, val_uint, .min = 60, .max = 86400,
           .def = "300"),
};
SCHEMA(ua_schema, ua_keys);

/* Same order as enum cfg_tls_version. */
static const char *const tls_version_words[] = { "1.2", "1.3", NULL };

static const struct cfg_key tls_keys[] = {
    SCALAR(struct cfg_tls, ca_file, val_abspath,
           .def = "/etc/ssl/certs/ca-certificates.crt"),
    SCALAR(struct cfg_tls, verify, val_bool, .def = "true"),
    SCALAR(struct cfg_tls, server_name, val_domain), /* no default: the URI's host */
    SCALAR(struct cfg_tls, cert_file, val_abspath, .flags = CFG_K_AT,
           .off_at = offsetof(struct cfg_tls, cert_file_at)),
    SCALAR(struct cfg_tls, key_file, val_abspath, .flags = CFG_K_AT,
           .off_at = offsetof(struct cfg_tls, key_file_at)),
    SCALAR(struct cfg_tls, min_version, val_enum, .words = tls_version_words, .def = "1.2"),
};
SCHEMA(tls_schema, tls_keys);

static const struct cfg_key keepalive_keys[] = {
    SCALAR(struct cfg_keepalive, interval, val_interval, .min = 5, .max = 3600,
           .def = "auto"),
    SCALAR(struct cfg_keepalive, pong_timeout, val_uint, .min = 1, .max = 60,
           .def = "10"),
    SCALAR(struct cfg_keepalive, udp, val_enum, .words = udp_ka_words, .def = "auto"),
};
SCHEMA(keepalive_schema, keepalive_keys);

static const struct cfg_key recovery_keys[] = {
    SCALAR(struct cfg_recovery, base_time_all_failed, val_uint, .min = 1, .max = 86400,
           .def = "30"),
    SCALAR(struct cfg_recovery, base_time_not_failed, val_uint, .min = 1, .max = 86400,
           .def = "90"),
    SCALAR(struct cfg_recovery, max_time, val_uint, .min = 1, .max = 86400, .def = "1800"),
    SCALAR(struct cfg_recovery, watch_wan, val_bool, .def = "true"),
    SCALAR(struct cfg_recovery, connect_rate, val_uint, .min = 0, .max = 100000, .def = "200"),
    SCALAR(struct cfg_recovery, connect_burst, val_uint, .min = 1, .max = 100000, .def = "20"),
};
SCHEMA(recovery_schema, recovery_keys);

static const struct cfg_key credential_keys[] = {
    SCALAR(struct cfg_credential, aor, val_aor, .flags = CFG_K_REQUIRED | CFG_K_UNIQUE),
    SCALAR(struct cfg_credential, username, val_digest_text, .flags = CFG_K_REQUIRED),
    SCALAR(struct cfg_credential, password_file, val_abspath, .flags = CFG_K_REQUIRED),
    SCALAR(struct cfg_credential, realm, val_digest_text),
};
SCHEMA(credential_schema, credential_keys);

static const struct cfg_key service_keys[] = {
    SCALAR(struct cfg_service, name, val_name,
           .flags = CFG_K_REQUIRED | CFG_K_UNIQUE),
    SCALAR(struct cfg_service, domain, val_domain,
           .flags = CFG_K_REQUIRED | CFG_K_UNIQUE),
    SEQ(struct cfg_service, outbound_proxies, struct cfg_proxy,
        .parse = val_proxy, .flags = CFG_K_REQUIRED, .min = 1,
        .max = CFG_MAX_OUTBOUND_PROXIES,
        .hint = "list the service's edge proxies, e.g. [\"sip:edge.example.net;transport=tcp\"]"),
    /* no default: one flow per outbound_proxies entry (cfg_service_nflows);
     * RFC 5626 reg-ids 1..N, N bounded as the proxies are */
    SCALAR(struct cfg_service, flows, val_uint, .min = 1, .max = CFG_MAX_OUTBOUND_PROXIES),
    MAP(struct cfg_service, tls, tls_schema),
    MAP(struct cfg_service, keepalive, keepalive_schema),
    MAP(struct cfg_service, recovery, recovery_schema),
    SEQ(struct cfg_service, credentials, struct cfg_credential, .map = &credential_schema,
        .max = CFG_MAX_CREDENTIALS),
    SCALAR(struct cfg_service, outbound_fallback, val_bool, .def = "true"),
    SEQ(struct cfg_service, intercept, struct sockaddr_in, .parse = val_ip4port,
        .max = CFG_MAX_OUTBOUND_PROXIES),
};
SCHEMA(service_schema, service_keys);

static const struct cfg_key transparent_keys[] = {
    SCALAR(struct cfg_transparent, queue, val_uint, .min = 0, .max = 65535, .def = "0"),
    SEQ(struct cfg_transparent, interfaces, char *, .parse = val_iface, .max = 16),
    SCALAR(struct cfg_transparent, manage_firewall, val_bool, .def = "true"),
    SCALAR(struct cfg_transparent, output, val_bool, .def = "false"),
    /* 21321 = 0x5349 ("SI"); any value no other firewall rule uses. */
    SCALAR(struct cfg_transparent, mark, val_uint, .min = 1, .max = 0xffffffffu,
           .def = "21321"),
};
SCHEMA(transparent_schema, transparent_keys);

static const struct cfg_key metrics_keys[] = {
    SCALAR(struct cfg_metrics, listen, val_metrics_listen), /* no default: off */
};
SCHEMA(metrics_schema, metrics_keys);

static const struct cfg_key root_keys[] = {
    SCALAR(struct cfg, mode, val_enum, .words = mode_words, .def = "proxy"),
    SEQ(struct cfg, listen, struct cfg_listen, .parse = val_listen, .min = 1,
        .max = CFG_MAX_LISTEN, .def = "udp:0.0.0.0:5060",
        .hint = "leave the key out for the default udp:0.0.0.0:5060"),
    SCALAR(struct cfg, state_dir, val_abspath, .def = "/var/lib/sipkeep"),
    MAP(struct cfg, log, log_schema),
    MAP(struct cfg, ua, ua_schema, .flags = CFG_K_REQUIRED),
    SEQ(struct cfg, services, struct cfg_service, .map = &service_schema,
        .flags = CFG_K_REQUIRED, .min = 1, .max = CFG_MAX_SERVICES,
        .hint = "configure at least one SIP service"),
    SCALAR(struct cfg, control_socket, val_sockpath, .def = CFG_DEFAULT_CONTROL_SOCKET),
    SCALAR(struct cfg, user, val_user, .def = "sipkeep"),
    MAP(struct cfg, transparent, transparent_schema),
    MAP(struct cfg, metrics, metrics_schema),
};
_Static_assert(sizeof(root_keys) / sizeof(root_keys[0]) <= CFG_MAX_KEYS, "root");
const struct cfg_schema cfg_schema_root = {
    root_keys, sizeof(root_keys) / sizeof(root_keys[0])
};

void cfg_derive(struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_services; i++) {
        struct cfg_service *s = &cfg->services[i];

        /* RFC 5922 §4: the configured host, never what DNS led to. */
        for (size_t j = 0; j < s->n_outbound_proxies; j++)
            s->outbound_proxies[j].tls_name =
                s->tls.server_name ? s->tls.server_name : s->outbound_proxies[j].host;
    }
}
