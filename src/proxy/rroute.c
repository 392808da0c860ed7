/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rroute.c - see rroute.h. */
#include "proxy/rroute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sip/param.h"
#include "sip/uri.h"
#include "sip/via.h"

/* Bytes of HMAC-SHA256 kept: 64 bits, written as 16 hex digits.  Enough
 * against a LAN phone guessing online (each guess costs a request and a
 * logged 403), short enough for a Route header. */
#define MAC_BYTES 8
#define MAC_HEX (2 * MAC_BYTES)

/* ---- addresses ---- */

/* An IP address without port, IPv4-mapped IPv6 folded to IPv4, so that
 * a dual-stack socket's view compares equal to an IPv4 literal. */
struct ip {
    int family; /* AF_INET, AF_INET6, 0 = none */
    uint8_t b[16];
};

static struct ip ip_of_sa(const struct sockaddr *sa)
{
    struct ip ip = { 0 };

    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        ip.family = AF_INET;
        memcpy(ip.b, &sin.sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            ip.family = AF_INET;
            memcpy(ip.b, sin6.sin6_addr.s6_addr + 12, 4);
        } else {
            ip.family = AF_INET6;
            memcpy(ip.b, &sin6.sin6_addr, 16);
        }
    }
    return ip;
}

static bool ip_eq(const struct ip *a, const struct ip *b)
{
    return a->family && a->family == b->family &&
           memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

/* The IP of a URI host literal ("192.0.2.1", "[2001:db8::1]"); family 0
 * for a name or anything else. */
static struct ip ip_of_host(struct slice host, enum sipuri_host_type type)
{
    struct ip ip = { 0 };
    char txt[INET6_ADDRSTRLEN + 2];

    if (type == SIPURI_HOST_IPV6 && host.n > 2) {
        host.p++;
        host.n -= 2;
    } else if (type != SIPURI_HOST_IPV4) {
        return ip;
    }
    if (slice_copy_cstr(host, txt, sizeof(txt)) < 0)
        return ip;
    if (inet_pton(type == SIPURI_HOST_IPV4 ? AF_INET : AF_INET6, txt, ip.b) != 1)
        return ip;
    ip.family = type == SIPURI_HOST_IPV4 ? AF_INET : AF_INET6;
    if (ip.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)ip.b)) {
        memmove(ip.b, ip.b + 12, 4);
        ip.family = AF_INET;
    }
    return ip;
}

/* ---- the token ---- */

static int mac_hex(const char *key, unsigned reg_id, const struct sockaddr *phone,
                   char out[MAC_HEX + 1])
{
    struct ip ip = ip_of_sa(phone);
    unsigned char data[4 + 1 + 16], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n;

    if (!key || !*key || !ip.family || reg_id == 0 || reg_id > CFG_MAX_OUTBOUND_PROXIES)
        return -EINVAL;
    /* reg-id (big endian), family, address: fixed layout, no ambiguity */
    data[0] = (unsigned char)(reg_id >> 24);
    data[1] = (unsigned char)(reg_id >> 16);
    data[2] = (unsigned char)(reg_id >> 8);
    data[3] = (unsigned char)reg_id;
    data[4] = ip.family == AF_INET ? 4 : 6;
    n = ip.family == AF_INET ? 4 : 16;
    memcpy(data + 5, ip.b, n);
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), data, 5 + n, md, &mdlen) ||
        mdlen < MAC_BYTES)
        return -EIO;
    for (unsigned i = 0; i < MAC_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

int rroute_token(const char *key, unsigned reg_id, const struct sockaddr *phone, char *out,
                 size_t outsz)
{
    char mac[MAC_HEX + 1];
    int err, n;

    if (!out || !phone)
        return -EINVAL;
    err = mac_hex(key, reg_id, phone, mac);
    if (err < 0)
        return err;
    n = snprintf(out, outsz, "%u.%s", reg_id, mac);
    return n < 0 || (size_t)n >= outsz ? -ENOSPC : 0;
}

int rroute_verify(const char *key, struct slice token, const struct sockaddr *phone,
                  unsigned *reg_id)
{
    char mac[MAC_HEX + 1];
    unsigned id = 0;
    size_t i = 0;
    int err;

    if (!phone || !reg_id || !token.p)
        return -EINVAL;
    /* 1*DIGIT "." 16HEXLC, bounded: at most two digits for reg-id 1..8 */
    while (i < token.n && i < 3 && token.p[i] >= '0' && token.p[i] <= '9')
        id = id * 10 + (unsigned)(token.p[i++] - '0');
    if (i == 0 || i > 2 || token.p[0] == '0' || id > CFG_MAX_OUTBOUND_PROXIES ||
        token.n != i + 1 + MAC_HEX || token.p[i] != '.')
        return -EBADMSG;
    for (size_t j = i + 1; j < token.n; j++) {
        char c = token.p[j];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -EBADMSG;
    }
    err = mac_hex(key, id, phone, mac);
    if (err < 0)
        return err;
    /* constant time: a phone learns nothing from how fast it is refused */
    if (CRYPTO_memcmp(mac, token.p + i + 1, MAC_HEX) != 0)
        return -EACCES;
    *reg_id = id;
    return 0;
}

int rroute_rr_value(const struct sockaddr *local, const char *token, char *out, size_t outsz)
{
    char host[ADDR_STR_MAX];
    int n;

    if (!local || !token || !out || (local->sa_family != AF_INET && local->sa_family != AF_INET6))
        return -EINVAL;
    n = snprintf(out, outsz, "<sip:%s;lr;" RROUTE_PARAM "=%s>",
                 addr_format(local, true, host, sizeof(host)), token);
    return n < 0 || (size_t)n >= outsz ? -ENOSPC : 0;
}

/* ---- which requests ---- */

static bool has_to_tag(const struct sipmsg *m)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_TO);
    struct sipparam_addr to;
    struct slice tag;

    return h && sipparam_parse_addr(&to, h->value) == 0 && slice_present(to.params) &&
           sipparam_find(to.params, "tag", &tag) == 0;
}

bool rroute_dialog_forming(const struct sipmsg *m)
{
    if (!m->is_request || has_to_tag(m))
        return false;
    return slice_eq(m->method, SLICE_LIT("INVITE")) ||
           slice_eq(m->method, SLICE_LIT("SUBSCRIBE")) ||
           slice_eq(m->method, SLICE_LIT("REFER"));
}

bool rroute_wants_rr(const struct sipmsg *m)
{
    return (m->is_request && slice_eq(m->method, SLICE_LIT("NOTIFY"))) ||
           rroute_dialog_forming(m);
}

/* ---- Route ---- */

static bool names_addr(const struct ip *host, unsigned port, const struct sockaddr *sa)
{
    struct ip a = ip_of_sa(sa);

    return ip_eq(host, &a) && (port == 0 || port == addr_port(sa));
}

static bool parsed_names_us(const struct cfg *cfg, const struct sockaddr *ua_local,
                            bool with_local, const struct sipuri *u)
{
    struct ip host = ip_of_host(u->host, u->host_type);

    if (!host.family)
        return false;
    if (with_local && ua_local && names_addr(&host, u->port, ua_local))
        return true;
    for (size_t i = 0; cfg && i < cfg->n_listen; i++)
        if (names_addr(&host, u->port, (const struct sockaddr *)&cfg->listen[i].addr))
            return true;
    return false;
}

bool rroute_uri_names_us(const struct cfg *cfg, const struct sockaddr *ua_local,
                         bool with_local, struct slice uri)
{
    struct sipuri u;

    return sipuri_parse(&u, uri) == 0 && parsed_names_us(cfg, ua_local, with_local, &u);
}

/* Whether Route element elem is ours; *skf gets our parameter if any. */
static bool route_is_ours(const struct cfg *cfg, const struct sockaddr *ua_local,
                          struct slice elem, struct slice *skf)
{
    struct sipparam_addr a;
    struct sipuri u;

    *skf = SLICE_NULL;
    if (sipparam_parse_addr(&a, elem) < 0 || a.star || sipuri_parse(&u, a.uri) < 0)
        return false;
    if (sipuri_param(&u, RROUTE_PARAM, skf) == 0) {
        if (!slice_present(*skf))
            *skf = SLICE_LIT(""); /* a bare flag: ours, with a token that fails */
        return true;
    }
    return parsed_names_us(cfg, ua_local, true, &u);
}

int rroute_pop(struct sipmsg_edits *ed, const struct sipmsg *m, const struct cfg *cfg,
               const struct sockaddr *ua_local, struct rroute_popped *out)
{
    struct sipmsg_valit it;
    struct slice v, skf;
    unsigned hi, cur = 0;
    bool have_cur = false, after_skf = false;
    int err = 0;

    if (!ed || !m || !out)
        return -EINVAL;
    *out = (struct rroute_popped){ 0, false, SLICE_NULL };
    sipmsg_valit_init(&it, m, SIPMSG_HDR_ROUTE);
    while (!err && sipmsg_valit_next(&it, &v, &hi)) {
        if (have_cur && hi != cur) {
            err = sipmsg_edit_remove(ed, cur); /* every value of that line went */
            have_cur = false;
        }
        if (err)
            break;
        if (after_skf || !route_is_ours(cfg, ua_local, v, &skf)) {
            out->left = true;
            if (have_cur) {
                /* the line keeps this value and those after it */
                const struct slice *hv = &m->hdrs[cur].value;
                err = sipmsg_edit_replace(ed, cur,
                                          (struct slice){ v.p, (size_t)(hv->p + hv->n - v.p) });
                have_cur = false;
            }
            break;
        }
        out->removed++;
        cur = hi;
        have_cur = true;
        if (slice_present(skf)) {
            if (!slice_present(out->token))
                out->token = skf;
            after_skf = true; /* one Record-Route of ours per dialog */
        }
    }
    if (!err && have_cur)
        err = sipmsg_edit_remove(ed, cur);
    return err;
}

/* ---- where the phone is ---- */

/* Whether the phone's REGISTER reg (raw, as it sent it) came through
 * another NAT: its top Via's sent-by is not the IP it came from (a name
 * counts: nothing shows it is that address).  Unparseable: true. */
static bool behind_nat(struct slice reg, const struct ip *from)
{
    struct sipmsg *m = malloc(sizeof(*m));
    struct sipvia_top top;
    struct ip sent_by = { 0 };

    if (!m)
        return true;
    if (sipmsg_parse(m, reg.p, reg.n, 0) == 0 && sipvia_top(m, &top) == 0)
        sent_by = ip_of_host(top.via.host, top.via.host_type);
    free(m);
    return !ip_eq(&sent_by, from);
}

bool rroute_ua_target(const struct cfg *cfg, const union sockaddr_ip *src, struct slice ruri,
                      struct slice reg, union sockaddr_ip *dst)
{
    struct sipuri u;
    enum sipuri_transport tp;
    uint16_t port;
    struct ip host, from = ip_of_sa(&src->sa);
    union sockaddr_ip cand;

    *dst = *src;
    if (sipuri_parse(&u, ruri) < 0 || sipuri_target(&u, &tp, &port) < 0 || tp != SIPURI_TP_UDP)
        return false;
    host = ip_of_host(u.host, u.host_type);
    if (!host.family)
        return false; /* a name: sipkeep resolves nothing for the LAN */
    memset(&cand, 0, sizeof(cand));
    if (src->sa.sa_family == AF_INET && host.family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&cand;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, host.b, 4);
    } else if (src->sa.sa_family == AF_INET6) {
        /* a dual-stack socket reaches an IPv4 phone as ::ffff:a.b.c.d */
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cand;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (host.family == AF_INET) {
            sin6->sin6_addr.s6_addr[10] = 0xff;
            sin6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(sin6->sin6_addr.s6_addr + 12, host.b, 4);
        } else {
            memcpy(&sin6->sin6_addr, host.b, 16);
        }
    } else {
        return false;
    }
    if (!ip_eq(&host, &from) &&
        (!cfg_ua_allowed(cfg, (const struct sockaddr *)&cand) ||
         (slice_present(reg) && behind_nat(reg, &from))))
        return false;
    *dst = cand;
    return true;
}

bool rroute_from_phone(const struct cfg *cfg, const union sockaddr_ip *src,
                       const char *contact, struct slice reg, const struct sockaddr *from)
{
    struct ip a = ip_of_sa(&src->sa), b = ip_of_sa(from);
    union sockaddr_ip dst;

    if (ip_eq(&a, &b))
        return true;
    return contact && rroute_ua_target(cfg, src, slice_cstr(contact), reg, &dst) &&
           addr_equal((const struct sockaddr *)&dst, from);
}
