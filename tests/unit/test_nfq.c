/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for transparent mode's pure packet logic (intercept/pkt.h):
 * IPv4/UDP header checks on crafted datagrams, fragments and oversize
 * passed, SIP sniffing, policy verdicts, and checksums of built packets
 * (checked against an independent byte-by-byte reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intercept/pkt.h"
#include "intercept/pkt_int.h"

static const char reg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
    "Content-Length: 0\r\n\r\n";

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

/* Builds UA 192.168.1.10:5060 -> provider 203.0.113.5:5060 with payload. */
static int build(uint8_t *buf, size_t cap, const void *pl, size_t len)
{
    struct sockaddr_in s = sin4("192.168.1.10", 5060), d = sin4("203.0.113.5", 5060);

    return pkt_build_udp4(buf, cap, &s, &d, pl, len);
}

/* Reference one's-complement sum, written independently of pkt.c. */
static uint16_t ref_sum(const uint8_t *b, size_t len, uint32_t s)
{
    for (size_t i = 0; i < len; i++)
        s += (i % 2) ? b[i] : (uint32_t)b[i] << 8;
    while (s > 0xffff)
        s = (s >> 16) + (s & 0xffff);
    return (uint16_t)s;
}

static void test_parse_valid(void **state)
{
    uint8_t buf[512];
    struct pkt_udp4 pk;
    int n = build(buf, sizeof(buf), reg, sizeof(reg) - 1);
    char a[INET_ADDRSTRLEN];

    (void)state;
    assert_int_equal(n, 28 + (int)sizeof(reg) - 1);
    assert_int_equal(pkt_parse_udp4(buf, (size_t)n, &pk), PKT_OK);
    assert_string_equal(inet_ntop(AF_INET, &pk.src.sin_addr, a, sizeof(a)), "192.168.1.10");
    assert_string_equal(inet_ntop(AF_INET, &pk.dst.sin_addr, a, sizeof(a)), "203.0.113.5");
    assert_int_equal(ntohs(pk.src.sin_port), 5060);
    assert_int_equal(ntohs(pk.dst.sin_port), 5060);
    assert_int_equal(pk.len, sizeof(reg) - 1);
    assert_memory_equal(pk.payload, reg, pk.len);
    /* link-layer padding after the IPv4 total length is ignored */
    memset(buf + n, 0, 6);
    assert_int_equal(pkt_parse_udp4(buf, (size_t)n + 6, &pk), PKT_OK);
    assert_int_equal(pk.len, sizeof(reg) - 1);
}

static void test_parse_options_header(void **state)
{
    uint8_t buf[512], opt[512];
    struct pkt_udp4 pk;
    int n = build(buf, sizeof(buf), reg, sizeof(reg) - 1);

    (void)state;
    /* IHL 6: 4 bytes of IPv4 options (NOPs) before UDP */
    memcpy(opt, buf, 20);
    memset(opt + 20, 1, 4);
    memcpy(opt + 24, buf + 20, (size_t)n - 20);
    opt[0] = 0x46;
    opt[2] = (uint8_t)((n + 4) >> 8);
    opt[3] = (uint8_t)(n + 4);
    assert_int_equal(pkt_parse_udp4(opt, (size_t)n + 4, &pk), PKT_OK);
    assert_memory_equal(pk.payload, reg, sizeof(reg) - 1);
}

static void test_parse_rejects(void **state)
{
    uint8_t buf[512], bad[512];
    struct pkt_udp4 pk;
    int n = build(buf, sizeof(buf), reg, sizeof(reg) - 1);

    (void)state;
    for (size_t cut = 0; cut < (size_t)n; cut++) {
        /* every truncation: exact-size heap copy so ASan sees overreads */
        uint8_t *c = malloc(cut ? cut : 1);
        assert_non_null(c);
        memcpy(c, buf, cut);
        assert_int_not_equal(pkt_parse_udp4(c, cut, &pk), PKT_OK);
        free(c);
    }
    memcpy(bad, buf, (size_t)n);
    bad[0] = 0x65;
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_NOT_IPV4);
    memcpy(bad, buf, (size_t)n);
    bad[0] = 0x44;
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_BAD_HDR);
    memcpy(bad, buf, (size_t)n);
    bad[9] = 6; /* TCP */
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_NOT_UDP);
    memcpy(bad, buf, (size_t)n);
    bad[24] = 0xff; /* UDP length beyond the IPv4 datagram */
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_BAD_HDR);
    memcpy(bad, buf, (size_t)n);
    bad[24] = 0;
    bad[25] = 4; /* UDP length below its own header */
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_BAD_HDR);
    memcpy(bad, buf, (size_t)n);
    bad[2] = 0;
    bad[3] = 10; /* total length below the header length */
    assert_int_equal(pkt_parse_udp4(bad, (size_t)n, &pk), PKT_BAD_HDR);
}

static void test_fragments_pass(void **state)
{
    uint8_t buf[512];
    struct pkt_udp4 pk;
    enum pkt_reason why;
    int n = build(buf, sizeof(buf), reg, sizeof(reg) - 1);

    (void)state;
    buf[6] |= 0x20; /* MF: first fragment */
    assert_int_equal(pkt_decide(buf, (size_t)n, NULL, NULL, &pk, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_FRAGMENT);
    buf[6] = 0;
    buf[7] = 3; /* later fragment, offset 24 */
    assert_int_equal(pkt_decide(buf, (size_t)n, NULL, NULL, &pk, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_FRAGMENT);
    assert_string_equal(pkt_reason_str(why), "fragment");
}

static void test_oversize_pass(void **state)
{
    size_t pl = PKT_MAX_PAYLOAD + 1, cap = pl + 28;
    uint8_t *buf = malloc(cap), *payload = malloc(pl);
    struct pkt_udp4 pk;
    enum pkt_reason why;
    int n;

    (void)state;
    assert_non_null(buf);
    assert_non_null(payload);
    memset(payload, 'x', pl);
    memcpy(payload, reg, sizeof(reg) - 1);
    n = build(buf, cap, payload, pl);
    assert_int_equal(n, (int)cap);
    assert_int_equal(pkt_decide(buf, (size_t)n, NULL, NULL, &pk, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_OVERSIZE);
    /* exactly the limit is taken */
    n = build(buf, cap, payload, PKT_MAX_PAYLOAD);
    assert_int_equal(pkt_decide(buf, (size_t)n, NULL, NULL, &pk, &why), PKT_TAKE);
    assert_int_equal(build(buf, cap - 1, payload, pl), -EMSGSIZE);
    free(buf);
    free(payload);
}

static void test_looks_sip(void **state)
{
#define LS(s) pkt_looks_sip((const uint8_t *)(s), sizeof(s) - 1)
    (void)state;
    assert_true(LS("SIP/2.0 200 OK\r\n"));
    assert_true(LS("INVITE sip:bob@example.com SIP/2.0\r\n"));
    assert_true(LS("OPTIONS SIPS:example.com SIP/2.0\r\n"));
    assert_true(LS("MESSAGE tel:+123 SIP/2.0"));
    assert_false(LS("\r\n\r\n"));           /* CRLF keep-alive */
    assert_false(LS("\x00\x01\x00\x00\x21\x12\xa4\x42")); /* STUN */
    assert_false(LS("GET / HTTP/1.1\r\n"));
    assert_false(LS("INVITE sip:bob@example.com HTTP/1.1\r\n"));
    assert_false(LS("INVITE  sip:x SIP/2.0\r\n"));
    assert_false(LS("INVITE sip:"));
    assert_false(LS("SIP/2.0"));
    assert_false(LS(""));
    assert_false(LS("INV\x01TE sip:x SIP/2.0\r\n"));
#undef LS
}

/* Policy: only the UA 192.168.1.10 towards 203.0.113.5:5060. */
static bool wanted(const struct sockaddr_in *src, const struct sockaddr_in *dst, void *arg)
{
    struct sockaddr_in ua = sin4("192.168.1.10", 0), svc = sin4("203.0.113.5", 5060);

    ++*(int *)arg;
    return src->sin_addr.s_addr == ua.sin_addr.s_addr &&
           dst->sin_addr.s_addr == svc.sin_addr.s_addr && dst->sin_port == svc.sin_port;
}

static void test_decide_policy(void **state)
{
    uint8_t buf[512];
    struct pkt_udp4 pk;
    enum pkt_reason why;
    int calls = 0, n;
    struct sockaddr_in other = sin4("192.168.1.99", 5060), d = sin4("203.0.113.5", 5060);

    (void)state;
    n = build(buf, sizeof(buf), reg, sizeof(reg) - 1);
    assert_int_equal(pkt_decide(buf, (size_t)n, wanted, &calls, &pk, &why), PKT_TAKE);
    assert_int_equal(why, PKT_OK);
    assert_int_equal(calls, 1);
    /* SIP from a host outside the policy passes */
    n = pkt_build_udp4(buf, sizeof(buf), &other, &d, reg, sizeof(reg) - 1);
    assert_int_equal(pkt_decide(buf, (size_t)n, wanted, &calls, &pk, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_UNWANTED);
    /* non-SIP to the service passes without asking the policy */
    n = build(buf, sizeof(buf), "hello", 5);
    calls = 0;
    assert_int_equal(pkt_decide(buf, (size_t)n, wanted, &calls, &pk, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_NOT_SIP);
    assert_int_equal(calls, 0);
    assert_int_equal(pkt_decide(buf, 3, wanted, &calls, &pk, NULL), PKT_ACCEPT);
}

static void test_build_checksums(void **state)
{
    uint8_t buf[512];
    int n;

    (void)state;
    for (size_t len = 0; len < 40; len++) { /* odd and even payloads */
        n = build(buf, sizeof(buf), reg, len);
        assert_int_equal(n, 28 + (int)len);
        assert_true(pkt_csum_ok(buf, (size_t)n));
        /* independent check: IPv4 header and UDP+pseudo-header sum to ~0 */
        assert_int_equal(ref_sum(buf, 20, 0), 0xffff);
        uint32_t ph = ((uint32_t)buf[12] << 8 | buf[13]) + ((uint32_t)buf[14] << 8 | buf[15]) +
                      ((uint32_t)buf[16] << 8 | buf[17]) + ((uint32_t)buf[18] << 8 | buf[19]) +
                      17 + 8 + (uint32_t)len;
        assert_int_equal(ref_sum(buf + 20, 8 + len, ph), 0xffff);
        assert_int_equal(buf[0], 0x45);
        assert_int_equal(buf[8], 64);
    }
    buf[30] ^= 1;
    assert_false(pkt_csum_ok(buf, (size_t)n));
    buf[30] ^= 1;
    buf[8] = 63; /* header checksum now wrong */
    assert_false(pkt_csum_ok(buf, (size_t)n));
    buf[8] = 64;
    buf[26] = buf[27] = 0; /* UDP checksum 0: "none", accepted */
    assert_true(pkt_csum_ok(buf, (size_t)n));
    /* RFC 1071 example bytes: sum 0xddf2 -> checksum ~0xddf2 */
    static const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(pkt_csum(ex, sizeof(ex), 0), (uint16_t)~0xddf2);
}

static void test_build_rejects(void **state)
{
    uint8_t buf[64];
    struct sockaddr_in s = sin4("192.168.1.10", 5060), d = sin4("203.0.113.5", 5060);

    (void)state;
    d.sin_family = AF_INET6;
    assert_int_equal(pkt_build_udp4(buf, sizeof(buf), &s, &d, "x", 1), -EINVAL);
    d.sin_family = AF_INET;
    assert_int_equal(pkt_build_udp4(buf, 28, &s, &d, "x", 1), -EMSGSIZE);
    assert_int_equal(pkt_build_udp4(buf, 29, &s, &d, "x", 1), 29);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_options_header),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_fragments_pass),
        cmocka_unit_test(test_oversize_pass),
        cmocka_unit_test(test_looks_sip),
        cmocka_unit_test(test_decide_policy),
        cmocka_unit_test(test_build_checksums),
        cmocka_unit_test(test_build_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
