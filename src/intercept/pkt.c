/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt.c - pure IPv4/UDP parsing, SIP sniffing and verdicts (see pkt.h). */
#include "intercept/pkt.h"
#include "intercept/pkt_int.h"

#include <errno.h>
#include <string.h>

#include "sip/sipchar.h"

#define IP4_MIN_HDR 20u
#define UDP_HDR 8u
#define IP4_MF 0x2000u
#define IP4_OFFMASK 0x1fffu
#define IP4_DF 0x4000u

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void fill_sin(struct sockaddr_in *sa, const uint8_t *addr, const uint8_t *port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    memcpy(&sa->sin_addr.s_addr, addr, 4); /* both in network order */
    memcpy(&sa->sin_port, port, 2);
}

/* IPv4 header checks; *hl and *tot get header and total length. */
static enum pkt_reason parse_ip4(const uint8_t *p, size_t n, size_t *hl, size_t *tot)
{
    if (n < IP4_MIN_HDR)
        return PKT_TRUNCATED;
    if ((p[0] >> 4) != 4)
        return PKT_NOT_IPV4;
    *hl = (size_t)(p[0] & 0x0f) * 4;
    *tot = rd16(p + 2);
    if (*hl < IP4_MIN_HDR || *tot < *hl)
        return PKT_BAD_HDR;
    if (n < *hl || n < *tot)
        return PKT_TRUNCATED;
    if (p[9] != IPPROTO_UDP)
        return PKT_NOT_UDP;
    /* A fragment's payload is incomplete SIP; the kernel reassembles
     * before NFQUEUE when conntrack is loaded, so one reaching us is
     * passed, never half-parsed. */
    if (rd16(p + 6) & (IP4_MF | IP4_OFFMASK))
        return PKT_FRAGMENT;
    return PKT_OK;
}

enum pkt_reason pkt_parse_udp4(const uint8_t *p, size_t n, struct pkt_udp4 *out)
{
    size_t hl = 0, tot = 0, ulen;
    enum pkt_reason r = parse_ip4(p, n, &hl, &tot);

    if (r != PKT_OK)
        return r;
    if (tot - hl < UDP_HDR)
        return PKT_TRUNCATED;
    ulen = rd16(p + hl + 4);
    if (ulen < UDP_HDR || ulen > tot - hl)
        return PKT_BAD_HDR;
    if (ulen - UDP_HDR > PKT_MAX_PAYLOAD)
        return PKT_OVERSIZE;
    fill_sin(&out->src, p + 12, p + hl);
    fill_sin(&out->dst, p + 16, p + hl + 2);
    out->payload = p + hl + UDP_HDR;
    out->len = ulen - UDP_HDR;
    return PKT_OK;
}

static bool has_prefix(const uint8_t *p, size_t len, const char *s)
{
    size_t sl = strlen(s);

    return len >= sl && memcmp(p, s, sl) == 0;
}

static bool has_prefix_ci(const uint8_t *p, size_t len, const char *s)
{
    size_t sl = strlen(s);

    if (len < sl)
        return false;
    for (size_t i = 0; i < sl; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)s[i])
            return false;
    }
    return true;
}

bool pkt_looks_sip(const uint8_t *payload, size_t len)
{
    size_t i = 0, eol;

    if (has_prefix(payload, len, "SIP/2.0 "))
        return true;
    while (i < len && sipchar_is_token(payload[i]))
        i++;
    if (i == 0 || i >= len || payload[i] != ' ')
        return false;
    i++;
    if (!has_prefix_ci(payload + i, len - i, "sip:") &&
        !has_prefix_ci(payload + i, len - i, "sips:") &&
        !has_prefix_ci(payload + i, len - i, "tel:"))
        return false;
    for (eol = i; eol < len && payload[eol] != '\r' && payload[eol] != '\n'; eol++)
        ;
    /* request line ends in " SIP/2.0" */
    return eol - i >= 9 && memcmp(payload + eol - 8, " SIP/2.0", 8) == 0;
}

enum pkt_verdict pkt_decide(const uint8_t *p, size_t n, pkt_wanted_fn wanted,
                            void *arg, struct pkt_udp4 *out, enum pkt_reason *why)
{
    enum pkt_reason r = pkt_parse_udp4(p, n, out);

    if (r == PKT_OK && !pkt_looks_sip(out->payload, out->len))
        r = PKT_NOT_SIP;
    if (r == PKT_OK && wanted && !wanted(&out->src, &out->dst, arg))
        r = PKT_UNWANTED;
    if (why)
        *why = r;
    return r == PKT_OK ? PKT_TAKE : PKT_ACCEPT;
}

const char *pkt_reason_str(enum pkt_reason r)
{
    switch (r) {
    case PKT_OK: return "ok";
    case PKT_TRUNCATED: return "truncated";
    case PKT_NOT_IPV4: return "not-ipv4";
    case PKT_BAD_HDR: return "bad-header";
    case PKT_NOT_UDP: return "not-udp";
    case PKT_FRAGMENT: return "fragment";
    case PKT_OVERSIZE: return "oversize";
    case PKT_NOT_SIP: return "not-sip";
    case PKT_UNWANTED: return "unwanted";
    }
    return "?";
}

static uint32_t csum_add(const uint8_t *b, size_t len, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += rd16(b + i);
    if (len & 1)
        sum += (uint32_t)b[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t pkt_csum(const void *buf, size_t len, uint32_t init)
{
    return csum_fold(csum_add(buf, len, init));
}

/* Partial sum of the UDP pseudo-header (RFC 768). */
static uint32_t pseudo_sum(const uint8_t *ip, size_t ulen)
{
    uint32_t sum = csum_add(ip + 12, 8, 0);

    return sum + IPPROTO_UDP + (uint32_t)ulen;
}

int pkt_build_udp4(uint8_t *buf, size_t cap, const struct sockaddr_in *src,
                   const struct sockaddr_in *dst, const void *payload, size_t len)
{
    size_t tot = IP4_MIN_HDR + UDP_HDR + len;
    uint8_t *u = buf + IP4_MIN_HDR;
    uint16_t c;

    if (src->sin_family != AF_INET || dst->sin_family != AF_INET)
        return -EINVAL;
    if (tot > 65535u || tot > cap)
        return -EMSGSIZE;
    memset(buf, 0, IP4_MIN_HDR + UDP_HDR);
    buf[0] = 0x45;
    wr16(buf + 2, (uint16_t)tot);
    wr16(buf + 6, IP4_DF);
    buf[8] = 64;
    buf[9] = IPPROTO_UDP;
    memcpy(buf + 12, &src->sin_addr.s_addr, 4);
    memcpy(buf + 16, &dst->sin_addr.s_addr, 4);
    wr16(buf + 10, pkt_csum(buf, IP4_MIN_HDR, 0));
    memcpy(u, &src->sin_port, 2);
    memcpy(u + 2, &dst->sin_port, 2);
    wr16(u + 4, (uint16_t)(UDP_HDR + len));
    if (len)
        memcpy(u + UDP_HDR, payload, len);
    c = pkt_csum(u, UDP_HDR + len, pseudo_sum(buf, UDP_HDR + len));
    wr16(u + 6, c ? c : 0xffff); /* 0 means "no checksum" in UDP */
    return (int)tot;
}

bool pkt_csum_ok(const uint8_t *p, size_t n)
{
    struct pkt_udp4 pk;
    size_t hl, ulen;

    if (pkt_parse_udp4(p, n, &pk) != PKT_OK)
        return false;
    hl = (size_t)(p[0] & 0x0f) * 4;
    if (pkt_csum(p, hl, 0) != 0)
        return false;
    if (rd16(p + hl + 6) == 0)
        return true;
    ulen = rd16(p + hl + 4);
    return pkt_csum(p + hl, ulen, pseudo_sum(p, ulen)) == 0;
}
