/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for STUN Binding: request encoding, FINGERPRINT, response
 * parsing (XOR-MAPPED-ADDRESS v4/v6, MAPPED-ADDRESS fallback, errors),
 * the RFC 5769 sample responses, and STUN vs SIP discrimination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/stun.h"
#include "sip/stun_int.h"

static const uint8_t tid1[STUN_TID_LEN] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };
static const uint8_t tid2[STUN_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* RFC 5769 §2.2: sample IPv4 response (SOFTWARE "test vector",
 * XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY, FINGERPRINT). */
static const uint8_t rfc5769_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3: sample IPv6 response, mapped [2001:db8:1234:5678:11:2233:
 * 4455:6677]:32853. */
static const uint8_t rfc5769_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

struct attr {
    uint16_t type;
    const uint8_t *val;
    size_t len;
};

static void be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xffff);
}

/* Builds a STUN message with the given attributes (zero padding) and, when
 * fp, a FINGERPRINT.  Returns its length. */
static size_t build(uint8_t *out, uint16_t type, const uint8_t *tid, const struct attr *a,
                    size_t na, int fp)
{
    size_t off = 20;

    memset(out, 0, 512);
    be16(out, type);
    be32(out + 4, STUN_MAGIC_COOKIE);
    memcpy(out + 8, tid, STUN_TID_LEN);
    for (size_t i = 0; i < na; i++) {
        be16(out + off, a[i].type);
        be16(out + off + 2, (unsigned)a[i].len);
        memcpy(out + off + 4, a[i].val, a[i].len);
        off += 4 + ((a[i].len + 3) & ~(size_t)3);
    }
    if (fp) {
        be16(out + 2, (unsigned)(off + 8 - 20));
        be16(out + off, 0x8028);
        be16(out + off + 2, 4);
        be32(out + off + 4, stun_crc32(out, off) ^ 0x5354554eu);
        off += 8;
    }
    be16(out + 2, (unsigned)(off - 20));
    return off;
}

/* XOR-MAPPED-ADDRESS value for an IPv4 address/port (host order). */
static void xor_v4(uint8_t v[8], uint32_t addr, uint16_t port)
{
    v[0] = 0;
    v[1] = 1;
    be16(v + 2, port ^ 0x2112u);
    be32(v + 4, addr ^ STUN_MAGIC_COOKIE);
}

static void check_v4(const struct stun_response *r, const char *addr, uint16_t port)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)&r->mapped;
    char s[INET_ADDRSTRLEN];

    assert_int_equal(r->type, STUN_BINDING_SUCCESS);
    assert_int_equal(in->sin_family, AF_INET);
    assert_int_equal(r->mapped_len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(in->sin_port), port);
    assert_non_null(inet_ntop(AF_INET, &in->sin_addr, s, sizeof(s)));
    assert_string_equal(s, addr);
}

static void check_v6(const struct stun_response *r, const char *addr, uint16_t port)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&r->mapped;
    char s[INET6_ADDRSTRLEN];

    assert_int_equal(r->type, STUN_BINDING_SUCCESS);
    assert_int_equal(in6->sin6_family, AF_INET6);
    assert_int_equal(r->mapped_len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(in6->sin6_port), port);
    assert_non_null(inet_ntop(AF_INET6, &in6->sin6_addr, s, sizeof(s)));
    assert_string_equal(s, addr);
}

/* Parses a heap copy of exactly len bytes (ASan guards the end). */
static int parse_exact(const uint8_t *buf, size_t len, const uint8_t *tid,
                       struct stun_response *r)
{
    uint8_t *copy = malloc(len ? len : 1);
    int ret;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    ret = stun_parse_response(copy, len, tid, r);
    if (ret == 0 && r->reason) /* keep the reason readable after free */
        r->reason = r->reason_len ? "<moved>" : "";
    free(copy);
    return ret;
}

static void test_crc32(void **state)
{
    (void)state;
    /* the CRC-32 check value */
    assert_int_equal(stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(stun_crc32((const uint8_t *)"", 0), 0);
}

static void test_build_request(void **state)
{
    uint8_t out[64];
    size_t n = 0;
    struct stun_response r;
    static const uint8_t hdr[8] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };

    (void)state;
    assert_int_equal(stun_build_binding_request(tid2, false, out, sizeof(out), &n), 0);
    assert_int_equal(n, 20);
    assert_memory_equal(out, hdr, 8);
    assert_memory_equal(out + 8, tid2, 12);
    assert_true(stun_is_stun(out, n));

    assert_int_equal(stun_build_binding_request(tid2, true, out, sizeof(out), &n), 0);
    assert_int_equal(n, 28);
    assert_int_equal(out[3], 8);
    assert_int_equal(out[20], 0x80);
    assert_int_equal(out[21], 0x28);
    assert_int_equal(out[23], 4);
    assert_int_equal((uint32_t)out[24] << 24 | (uint32_t)out[25] << 16 | out[26] << 8 | out[27],
                     stun_crc32(out, 20) ^ 0x5354554eu);
    assert_true(stun_is_stun(out, n));
    /* well-formed with a valid FINGERPRINT, but a request: not a response */
    assert_int_equal(stun_parse_response(out, n, tid2, &r), -ENOMSG);
    out[10] ^= 1;
    assert_int_equal(stun_parse_response(out, n, tid2, &r), -EBADMSG);

    memset(out, 0xEE, sizeof(out));
    n = 99;
    assert_int_equal(stun_build_binding_request(tid2, true, out, 27, &n), -ENOSPC);
    assert_int_equal(n, 99);
    assert_int_equal(out[0], 0xEE);
    assert_int_equal(stun_build_binding_request(tid2, false, out, 20, &n), 0);
    assert_int_equal(stun_build_binding_request(NULL, false, out, 20, &n), -EINVAL);
    assert_int_equal(stun_build_binding_request(tid2, false, NULL, 20, &n), -EINVAL);
}

static void test_is_stun(void **state)
{
    static const char sip[] = "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n";
    uint8_t m[64];
    size_t n;

    (void)state;
    assert_false(stun_is_stun((const uint8_t *)sip, sizeof(sip) - 1));
    assert_false(stun_is_stun((const uint8_t *)"\r\n\r\n", 4));
    assert_true(stun_is_stun(rfc5769_v4, sizeof(rfc5769_v4)));
    assert_false(stun_is_stun(rfc5769_v4, sizeof(rfc5769_v4) - 4)); /* length mismatch */
    assert_int_equal(stun_build_binding_request(tid2, false, m, sizeof(m), &n), 0);
    assert_false(stun_is_stun(m, 19));
    m[0] = 0x40;
    assert_false(stun_is_stun(m, n)); /* top bits must be zero */
    m[0] = 0x00;
    m[7] ^= 1;
    assert_false(stun_is_stun(m, n)); /* magic cookie */
    m[7] ^= 1;
    m[3] = 2;
    assert_false(stun_is_stun(m, 22)); /* length not a multiple of 4 */
    m[3] = 4;
    assert_true(stun_is_stun(m, 24));
    assert_false(stun_is_stun(NULL, 20));
}

static void test_rfc5769_ipv4(void **state)
{
    struct stun_response r;
    uint8_t copy[sizeof(rfc5769_v4)];

    (void)state;
    assert_int_equal(parse_exact(rfc5769_v4, sizeof(rfc5769_v4), tid1, &r), 0);
    check_v4(&r, "192.0.2.1", 32853);
    assert_true(r.xor_mapped);
    assert_true(r.fingerprint);
    assert_int_equal(parse_exact(rfc5769_v4, sizeof(rfc5769_v4), tid2, &r), -ESRCH);
    /* one bit changed in SOFTWARE: FINGERPRINT no longer matches */
    memcpy(copy, rfc5769_v4, sizeof(copy));
    copy[25] ^= 0x20;
    assert_int_equal(parse_exact(copy, sizeof(copy), tid1, &r), -EBADMSG);
    /* the FINGERPRINT itself damaged */
    memcpy(copy, rfc5769_v4, sizeof(copy));
    copy[sizeof(copy) - 1] ^= 1;
    assert_int_equal(parse_exact(copy, sizeof(copy), tid1, &r), -EBADMSG);
}

static void test_rfc5769_ipv6(void **state)
{
    struct stun_response r;

    (void)state;
    assert_int_equal(parse_exact(rfc5769_v6, sizeof(rfc5769_v6), tid1, &r), 0);
    check_v6(&r, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
    assert_true(r.xor_mapped);
    assert_true(r.fingerprint);
}

static void test_built_ipv4_with_and_without_fingerprint(void **state)
{
    uint8_t m[512], v[8];
    struct attr a = { 0x0020, v, 8 };
    struct stun_response r;
    size_t n;

    (void)state;
    xor_v4(v, 0xCB007107u /* 203.0.113.7 */, 40000);
    n = build(m, STUN_BINDING_SUCCESS, tid2, &a, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v4(&r, "203.0.113.7", 40000);
    assert_false(r.fingerprint);
    n = build(m, STUN_BINDING_SUCCESS, tid2, &a, 1, 1);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v4(&r, "203.0.113.7", 40000);
    assert_true(r.fingerprint);
    assert_int_equal(parse_exact(m, n, tid1, &r), -ESRCH);
}

static void test_built_ipv6(void **state)
{
    uint8_t m[512], v[20], key[16];
    struct in6_addr want;
    struct attr a = { 0x0020, v, 20 };
    struct stun_response r;
    size_t n;

    (void)state;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::42", &want), 1);
    be32(key, STUN_MAGIC_COOKIE);
    memcpy(key + 4, tid2, 12);
    v[0] = 0;
    v[1] = 2;
    be16(v + 2, 5060 ^ 0x2112);
    for (int i = 0; i < 16; i++)
        v[4 + i] = want.s6_addr[i] ^ key[i];
    n = build(m, STUN_BINDING_SUCCESS, tid2, &a, 1, 1);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v6(&r, "2001:db8::42", 5060);
}

static void test_mapped_address_fallback(void **state)
{
    static const uint8_t mapped[8] = { 0, 1, 0x13, 0xc4, 198, 51, 100, 9 }; /* :5060 */
    uint8_t m[512], x[8];
    struct attr only[1] = { { 0x0001, mapped, 8 } };
    struct attr both[2] = { { 0x0001, mapped, 8 }, { 0x0020, x, 8 } };
    struct stun_response r;
    size_t n;

    (void)state;
    n = build(m, STUN_BINDING_SUCCESS, tid2, only, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v4(&r, "198.51.100.9", 5060);
    assert_false(r.xor_mapped);
    /* XOR-MAPPED-ADDRESS wins even when it comes second */
    xor_v4(x, 0xC0000201u, 32853);
    n = build(m, STUN_BINDING_SUCCESS, tid2, both, 2, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v4(&r, "192.0.2.1", 32853);
    assert_true(r.xor_mapped);
}

static void test_error_response(void **state)
{
    static const uint8_t ec420[] = { 0, 0, 4, 20, 'U', 'n', 'k', 'n', 'o', 'w', 'n', ' ',
                                     'A', 't', 't', 'r', 'i', 'b', 'u', 't', 'e' };
    static const uint8_t ec_bad_class[] = { 0, 0, 7, 0 };
    static const uint8_t ec_bad_num[] = { 0, 0, 4, 100 };
    static const uint8_t ec_short[] = { 0, 0, 4 };
    static const uint8_t software[] = { 'x' };
    uint8_t m[512];
    struct attr a = { 0x0009, ec420, sizeof(ec420) };
    struct attr sw = { 0x8022, software, 1 };
    struct stun_response r;
    size_t n;

    (void)state;
    n = build(m, STUN_BINDING_ERROR, tid2, &a, 1, 1);
    assert_int_equal(stun_parse_response(m, n, tid2, &r), 0);
    assert_int_equal(r.type, STUN_BINDING_ERROR);
    assert_int_equal(r.error_code, 420);
    assert_int_equal(r.reason_len, 17);
    assert_memory_equal(r.reason, "Unknown Attribute", 17);
    assert_true(r.fingerprint);

    n = build(m, STUN_BINDING_ERROR, tid2, &sw, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EPROTO);
    a = (struct attr){ 0x0009, ec_bad_class, 4 };
    n = build(m, STUN_BINDING_ERROR, tid2, &a, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    a = (struct attr){ 0x0009, ec_bad_num, 4 };
    n = build(m, STUN_BINDING_ERROR, tid2, &a, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    a = (struct attr){ 0x0009, ec_short, 3 };
    n = build(m, STUN_BINDING_ERROR, tid2, &a, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
}

static void test_unknown_attributes(void **state)
{
    static const uint8_t five[5] = { 1, 2, 3, 4, 5 };
    uint8_t m[512], x[8];
    struct attr opt[2] = { { 0x8055, five, 5 }, { 0x0020, x, 8 } };
    struct attr req[2] = { { 0x0033, five, 5 }, { 0x0020, x, 8 } };
    struct stun_response r;
    size_t n;

    (void)state;
    xor_v4(x, 0x0A000001u, 1);
    /* comprehension-optional: ignored, and its padding skipped */
    n = build(m, STUN_BINDING_SUCCESS, tid2, opt, 2, 1);
    assert_int_equal(parse_exact(m, n, tid2, &r), 0);
    check_v4(&r, "10.0.0.1", 1);
    /* comprehension-required: the transaction failed (§7.3.3) */
    n = build(m, STUN_BINDING_SUCCESS, tid2, req, 2, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EPROTO);
    /* no address at all */
    n = build(m, STUN_BINDING_SUCCESS, tid2, opt, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EPROTO);
}

static void test_malformed(void **state)
{
    static const uint8_t mi[20] = { 0 };
    uint8_t m[512], x[8], x6[20] = { 0, 2 }, fam[8] = { 0, 3 };
    struct attr after_mi[2] = { { 0x0008, mi, 20 }, { 0x0020, x, 8 } };
    struct attr v4_as_v6 = { 0x0020, x6, 8 };
    struct attr v6_short = { 0x0020, x6, 8 };
    struct attr bad_family = { 0x0020, fam, 8 };
    struct attr xa = { 0x0020, x, 8 };
    struct stun_response r, saved;
    size_t n;

    (void)state;
    xor_v4(x, 0x0A000001u, 1);
    x6[1] = 1;
    v4_as_v6 = (struct attr){ 0x0020, x6, 20 }; /* IPv4 family, 20 bytes */
    n = build(m, STUN_BINDING_SUCCESS, tid2, &v4_as_v6, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    x6[1] = 2; /* IPv6 family, 8 bytes */
    n = build(m, STUN_BINDING_SUCCESS, tid2, &v6_short, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    n = build(m, STUN_BINDING_SUCCESS, tid2, &bad_family, 1, 0);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);

    /* what follows MESSAGE-INTEGRITY is ignored (§15.4) */
    n = build(m, STUN_BINDING_SUCCESS, tid2, after_mi, 2, 1);
    assert_int_equal(parse_exact(m, n, tid2, &r), -EPROTO);

    /* attribute length running past the message */
    n = build(m, STUN_BINDING_SUCCESS, tid2, &xa, 1, 0);
    m[23] = 12;
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    m[23] = 9; /* 9 pads to 12 */
    assert_int_equal(parse_exact(m, n, tid2, &r), -EBADMSG);
    /* datagram cut short */
    m[23] = 8;
    assert_int_equal(parse_exact(m, n - 4, tid2, &r), -EBADMSG);

    /* anything after FINGERPRINT */
    n = build(m, STUN_BINDING_SUCCESS, tid2, &xa, 1, 1);
    memcpy(m + n, "\x80\x22\x00\x00", 4);
    m[3] += 4;
    assert_int_equal(parse_exact(m, n + 4, tid2, &r), -EBADMSG);

    /* not a Binding response */
    n = build(m, 0x0011, tid2, &xa, 1, 0); /* Binding indication */
    assert_int_equal(parse_exact(m, n, tid2, &r), -ENOMSG);
    n = build(m, 0x0103, tid2, &xa, 1, 0); /* Allocate success */
    assert_int_equal(parse_exact(m, n, tid2, &r), -ENOMSG);

    /* the result is untouched on failure */
    memset(&r, 0x5A, sizeof(r));
    saved = r;
    assert_int_equal(stun_parse_response(rfc5769_v4, sizeof(rfc5769_v4), tid2, &r), -ESRCH);
    assert_memory_equal(&r, &saved, sizeof(r));
    assert_int_equal(stun_parse_response(NULL, 0, tid2, &r), -EINVAL);
    assert_int_equal(stun_parse_response(m, n, NULL, &r), -EINVAL);
    assert_int_equal(stun_parse_response((const uint8_t *)"SIP/2.0 200 OK\r\n\r\n\r\n", 20,
                                         tid2, &r), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_build_request),
        cmocka_unit_test(test_is_stun),
        cmocka_unit_test(test_rfc5769_ipv4),
        cmocka_unit_test(test_rfc5769_ipv6),
        cmocka_unit_test(test_built_ipv4_with_and_without_fingerprint),
        cmocka_unit_test(test_built_ipv6),
        cmocka_unit_test(test_mapped_address_fallback),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_unknown_attributes),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests_name("stun", tests, NULL, NULL);
}
