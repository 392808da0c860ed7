/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stun.c - STUN Binding request/response (RFC 5389); see stun.h. */
#include "sip/stun.h"
#include "sip/stun_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* Attribute types (RFC 5389 §18.2). */
#define ATTR_MAPPED_ADDRESS 0x0001u
#define ATTR_USERNAME 0x0006u
#define ATTR_MESSAGE_INTEGRITY 0x0008u
#define ATTR_ERROR_CODE 0x0009u
#define ATTR_UNKNOWN_ATTRIBUTES 0x000Au
#define ATTR_REALM 0x0014u
#define ATTR_NONCE 0x0015u
#define ATTR_XOR_MAPPED_ADDRESS 0x0020u
#define ATTR_FINGERPRINT 0x8028u
#define FINGERPRINT_XOR 0x5354554eu

#define FAMILY_IPV4 0x01u
#define FAMILY_IPV6 0x02u

/* An address attribute as decoded. */
struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool present;
};

/* What the attribute walk collected. */
struct walk {
    struct addr xor_mapped;
    struct addr mapped;
    bool have_error;
    bool integrity_seen;  /* MESSAGE-INTEGRITY: ignore what follows (§15.4) */
    bool unknown_required;
    bool fingerprint;
    unsigned error_code;
    const uint8_t *reason;
    size_t reason_len;
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Bitwise, reflected polynomial 0xEDB88320: STUN messages are tiny, so a
 * table buys nothing. */
uint32_t stun_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

int stun_build_binding_request(const uint8_t tid[STUN_TID_LEN], bool fingerprint,
                               uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t n = fingerprint ? STUN_HDR_LEN + 8 : STUN_HDR_LEN;

    if (!tid || !out || !outlen)
        return -EINVAL;
    if (outsz < n)
        return -ENOSPC;
    put16(out, STUN_BINDING_REQUEST);
    put16(out + 2, (uint16_t)(n - STUN_HDR_LEN));
    put32(out + 4, STUN_MAGIC_COOKIE);
    memcpy(out + 8, tid, STUN_TID_LEN);
    if (fingerprint) {
        /* The CRC covers the header whose length already counts the
         * FINGERPRINT attribute (§15.5). */
        put16(out + 20, ATTR_FINGERPRINT);
        put16(out + 22, 4);
        put32(out + 24, stun_crc32(out, STUN_HDR_LEN) ^ FINGERPRINT_XOR);
    }
    *outlen = n;
    return 0;
}

bool stun_is_stun(const uint8_t *buf, size_t len)
{
    if (!buf || len < STUN_HDR_LEN || (buf[0] & 0xC0) != 0)
        return false;
    if (get32(buf + 4) != STUN_MAGIC_COOKIE)
        return false;
    return (get16(buf + 2) & 3) == 0 && get16(buf + 2) == len - STUN_HDR_LEN;
}

/* MAPPED-ADDRESS / XOR-MAPPED-ADDRESS (§15.1, §15.2): reserved, family,
 * port, address.  The XOR key is the cookie followed by the transaction ID,
 * i.e. header bytes 4..19; the port uses its first two bytes. */
static int decode_addr(const uint8_t *v, size_t alen, const uint8_t *hdr,
                       bool xored, struct addr *a)
{
    uint8_t ip[16];
    size_t iplen;
    uint16_t port;

    if (alen < 4)
        return -EBADMSG;
    if (!(v[1] == FAMILY_IPV4 && alen == 8) && !(v[1] == FAMILY_IPV6 && alen == 20))
        return -EBADMSG;
    iplen = alen - 4;
    port = (uint16_t)(get16(v + 2) ^ (xored ? get16(hdr + 4) : 0));
    for (size_t i = 0; i < iplen; i++)
        ip[i] = (uint8_t)(v[4 + i] ^ (xored ? hdr[4 + i] : 0));
    memset(&a->ss, 0, sizeof(a->ss));
    if (v[1] == FAMILY_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, ip, 4);
        a->len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, ip, 16);
        a->len = sizeof(*in6);
    }
    a->present = true;
    return 0;
}

/* ERROR-CODE (§15.6): 21 reserved bits, class 3..6, number 0..99, reason. */
static int decode_error(const uint8_t *v, size_t alen, struct walk *w)
{
    unsigned cls, num;

    if (alen < 4)
        return -EBADMSG;
    cls = v[2] & 7u;
    num = v[3];
    if (cls < 3 || cls > 6 || num > 99)
        return -EBADMSG;
    w->error_code = cls * 100 + num;
    w->reason = v + 4;
    w->reason_len = alen - 4;
    w->have_error = true;
    return 0;
}

/* One attribute before any MESSAGE-INTEGRITY.  Only the first occurrence of
 * a type counts (§15). */
static int attr(struct walk *w, uint16_t type, const uint8_t *v, size_t alen,
                const uint8_t *hdr)
{
    switch (type) {
    case ATTR_XOR_MAPPED_ADDRESS:
        return w->xor_mapped.present ? 0 : decode_addr(v, alen, hdr, true, &w->xor_mapped);
    case ATTR_MAPPED_ADDRESS:
        return w->mapped.present ? 0 : decode_addr(v, alen, hdr, false, &w->mapped);
    case ATTR_ERROR_CODE:
        return w->have_error ? 0 : decode_error(v, alen, w);
    case ATTR_MESSAGE_INTEGRITY:
        w->integrity_seen = true;
        return 0;
    case ATTR_USERNAME:
    case ATTR_UNKNOWN_ATTRIBUTES:
    case ATTR_REALM:
    case ATTR_NONCE:
        return 0; /* known, not needed */
    default:
        if (type < 0x8000u)
            w->unknown_required = true;
        return 0;
    }
}

/* Walks the attributes of a message that passed stun_is_stun(). */
static int walk_attrs(const uint8_t *buf, size_t len, struct walk *w)
{
    size_t off = STUN_HDR_LEN;

    while (off < len) {
        uint16_t type, alen;
        size_t padded;

        if (len - off < 4)
            return -EBADMSG;
        type = get16(buf + off);
        alen = get16(buf + off + 2);
        padded = ((size_t)alen + 3) & ~(size_t)3;
        if (len - off - 4 < padded)
            return -EBADMSG;
        if (type == ATTR_FINGERPRINT) {
            /* Last attribute, CRC of everything before it (§15.5). */
            if (alen != 4 || off + 8 != len ||
                get32(buf + off + 4) != (stun_crc32(buf, off) ^ FINGERPRINT_XOR))
                return -EBADMSG;
            w->fingerprint = true;
        } else if (!w->integrity_seen && attr(w, type, buf + off + 4, alen, buf) < 0) {
            return -EBADMSG;
        }
        off += 4 + padded;
    }
    return 0;
}

static int fill(struct stun_response *r, uint16_t type, const struct walk *w)
{
    const struct addr *a = w->xor_mapped.present ? &w->xor_mapped : &w->mapped;

    if (w->unknown_required)
        return -EPROTO;
    if (type == STUN_BINDING_ERROR && !w->have_error)
        return -EPROTO;
    if (type == STUN_BINDING_SUCCESS && !a->present)
        return -EPROTO;
    memset(r, 0, sizeof(*r));
    r->type = type;
    r->fingerprint = w->fingerprint;
    if (type == STUN_BINDING_SUCCESS) {
        r->mapped = a->ss;
        r->mapped_len = a->len;
        r->xor_mapped = w->xor_mapped.present;
    } else {
        r->error_code = w->error_code;
        r->reason = (const char *)w->reason;
        r->reason_len = w->reason_len;
    }
    return 0;
}

int stun_parse_response(const uint8_t *buf, size_t len,
                        const uint8_t tid[STUN_TID_LEN], struct stun_response *r)
{
    struct walk w;
    uint16_t type;
    int err;

    if (!buf || !tid || !r)
        return -EINVAL;
    if (!stun_is_stun(buf, len))
        return -EBADMSG;
    memset(&w, 0, sizeof(w));
    err = walk_attrs(buf, len, &w);
    if (err < 0)
        return err;
    type = get16(buf);
    if (type != STUN_BINDING_SUCCESS && type != STUN_BINDING_ERROR)
        return -ENOMSG;
    if (memcmp(buf + 8, tid, STUN_TID_LEN) != 0)
        return -ESRCH;
    return fill(r, type, &w);
}
