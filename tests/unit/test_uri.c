/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the SIP URI parser: fields, validation of every part,
 * parameter lookup, default transport and port, never reading past the
 * input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/uri.h"
#include "sip/uri_int.h"

#define S(lit) SLICE_LIT(lit)

static void assert_slice(struct slice s, const char *want)
{
    assert_non_null(s.p);
    assert_int_equal(s.n, strlen(want));
    assert_memory_equal(s.p, want, s.n);
}

/* Parses a heap copy of exactly strlen(s) bytes, so that ASan catches any
 * read past the end; returns the parser's result. */
static int parse_exact(const char *s)
{
    size_t n = strlen(s);
    char *buf = malloc(n ? n : 1);
    struct sipuri u;
    int r;

    assert_non_null(buf);
    memcpy(buf, s, n);
    r = sipuri_parse(&u, (struct slice){ buf, n });
    free(buf);
    return r;
}

static void test_full_uri(void **state)
{
    struct sipuri u;
    const char *s = "sip:alice:secret@example.com:5070;transport=tcp;lr?subject=x&priority=urgent";

    (void)state;
    assert_int_equal(sipuri_parse(&u, slice_cstr(s)), 0);
    assert_int_equal(u.scheme, SIPURI_SIP);
    assert_slice(u.user, "alice");
    assert_slice(u.password, "secret");
    assert_slice(u.host, "example.com");
    assert_int_equal(u.host_type, SIPURI_HOST_NAME);
    assert_int_equal(u.port, 5070);
    assert_slice(u.params, ";transport=tcp;lr");
    assert_slice(u.headers, "subject=x&priority=urgent");
}

static void test_minimal_uri(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("SIPS:edge2.example.net")), 0);
    assert_int_equal(u.scheme, SIPURI_SIPS);
    assert_null(u.user.p);
    assert_null(u.password.p);
    assert_slice(u.host, "edge2.example.net");
    assert_int_equal(u.port, 0);
    assert_null(u.params.p);
    assert_null(u.headers.p);
}

static void test_user_forms(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("sip:%61lice@h.example")), 0);
    assert_slice(u.user, "%61lice");
    /* user-unreserved includes ';' and '?': a telephone-subscriber user */
    assert_int_equal(sipuri_parse(&u, S("sip:+1-212-555-1212;phone-context=x@gw.example;user=phone")), 0);
    assert_slice(u.user, "+1-212-555-1212;phone-context=x");
    assert_slice(u.host, "gw.example");
    assert_slice(u.params, ";user=phone");
    /* empty password is allowed by the grammar */
    assert_int_equal(sipuri_parse(&u, S("sip:bob:@h.example")), 0);
    assert_non_null(u.password.p);
    assert_int_equal(u.password.n, 0);
    assert_int_equal(sipuri_parse(&u, S("sip:*97@10.0.0.1")), 0);
    assert_slice(u.user, "*97");

    assert_int_equal(parse_exact("sip:@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a%4@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a%zz@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a%"), -EBADMSG);
    assert_int_equal(parse_exact("sip:*21#@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a b@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a:p;w@h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a@b@h.example"), -EBADMSG);
}

static void test_ipv4_hosts(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("sip:alice@10.0.0.5:5060")), 0);
    assert_int_equal(u.host_type, SIPURI_HOST_IPV4);
    assert_slice(u.host, "10.0.0.5");
    assert_int_equal(u.port, 5060);
    assert_int_equal(parse_exact("sip:255.255.255.255"), 0);
    assert_int_equal(parse_exact("sip:256.1.1.1"), -EBADMSG);
    assert_int_equal(parse_exact("sip:1.2.3"), -EBADMSG);
    assert_int_equal(parse_exact("sip:1.2.3.4.5"), -EBADMSG);
    assert_int_equal(parse_exact("sip:1..3.4"), -EBADMSG);
    assert_int_equal(parse_exact("sip:1.2.3.4."), -EBADMSG);
    assert_int_equal(parse_exact("sip:0001.2.3.4"), -EBADMSG);
}

static void test_ipv6_hosts(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("sip:[2001:db8::1]:5060;transport=tcp")), 0);
    assert_int_equal(u.host_type, SIPURI_HOST_IPV6);
    assert_slice(u.host, "[2001:db8::1]");
    assert_int_equal(u.port, 5060);
    assert_int_equal(parse_exact("sip:bob@[::ffff:192.0.2.1]"), 0);
    assert_int_equal(parse_exact("sip:[::1]"), 0);
    assert_int_equal(parse_exact("sip:[2001:db8::1"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[::g]"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[1:2:3:4:5:6:7:8:9]"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[::1%25eth0]"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[]"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[::1]x"), -EBADMSG);
    assert_int_equal(parse_exact("sip:[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa]"),
                     -EBADMSG);
    /* an embedded NUL must not end the address early */
    assert_int_equal(sipuri_parse(&u, (struct slice){ "sip:[::1\0zz]", 12 }), -EBADMSG);
}

/* "sip:" followed by an n-byte (n odd) hostname "a.a.a...a". */
static const char *dotted(char *buf, size_t n)
{
    memcpy(buf, "sip:", 4);
    for (size_t i = 0; i < n; i++)
        buf[4 + i] = (i % 2) ? '.' : 'a';
    buf[4 + n] = '\0';
    return buf;
}

static void test_hostnames(void **state)
{
    char big[300], label[70];

    (void)state;
    assert_int_equal(parse_exact("sip:example.com."), 0);
    assert_int_equal(parse_exact("sip:1.example.com"), 0);
    assert_int_equal(parse_exact("sip:a-b.c-d.example"), 0);
    assert_int_equal(parse_exact("sip:-a.com"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a-.com"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a..com"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a.123"), -EBADMSG);
    assert_int_equal(parse_exact("sip:a_b.com"), -EBADMSG);
    assert_int_equal(parse_exact("sip:."), -EBADMSG);
    assert_int_equal(parse_exact("sip:"), -EBADMSG);
    assert_int_equal(parse_exact("sip:alice@"), -EBADMSG);

    /* labels up to 63 bytes (RFC 1035) */
    memset(label, 'a', sizeof(label));
    label[63] = '\0';
    snprintf(big, sizeof(big), "sip:%s.com", label);
    assert_int_equal(parse_exact(big), 0);
    label[63] = 'a';
    label[64] = '\0';
    snprintf(big, sizeof(big), "sip:%s.com", label);
    assert_int_equal(parse_exact(big), -EBADMSG);
    /* names up to SIPURI_MAX_HOST bytes: "a.a.a...a" */
    assert_int_equal(parse_exact(dotted(big, 255)), 0);
    assert_int_equal(parse_exact(dotted(big, 257)), -EBADMSG);
}

static void test_ports(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("sip:h.example:65535")), 0);
    assert_int_equal(u.port, 65535);
    assert_int_equal(sipuri_parse(&u, S("sip:h.example:1")), 0);
    assert_int_equal(u.port, 1);
    assert_int_equal(parse_exact("sip:h.example:0"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example:65536"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example:123456"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example:"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example:5o60"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example:-1"), -EBADMSG);
}

static void test_schemes(void **state)
{
    struct sipuri u;

    (void)state;
    assert_int_equal(parse_exact("tel:+12125551212"), -EPROTONOSUPPORT);
    assert_int_equal(parse_exact("http://example.com/"), -EPROTONOSUPPORT);
    assert_int_equal(parse_exact("sipx:h.example"), -EPROTONOSUPPORT);
    assert_int_equal(parse_exact("1sip:h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip"), -EBADMSG);
    assert_int_equal(parse_exact(":h"), -EBADMSG);
    assert_int_equal(parse_exact(""), -EBADMSG);
    assert_int_equal(parse_exact(" sip:h.example"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example "), -EBADMSG);
    assert_int_equal(sipuri_parse(NULL, S("sip:h")), -EINVAL);
    assert_int_equal(sipuri_parse(&u, SLICE_NULL), -EINVAL);
}

static void test_params_and_headers_syntax(void **state)
{
    (void)state;
    assert_int_equal(parse_exact("sip:h.example;maddr=[2001:db8::1];x=%41"), 0);
    assert_int_equal(parse_exact("sip:h.example;;lr"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;=x"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;a="), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;a=b=c"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;a=%4"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example;a b"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example?a=&b=c"), 0);
    assert_int_equal(parse_exact("sip:h.example;lr?Route=%3Csip:x%40y%3E"), 0);
    assert_int_equal(parse_exact("sip:h.example?"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example?a"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example?=b"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example?a=b&"), -EBADMSG);
    assert_int_equal(parse_exact("sip:h.example?a=b;c"), -EBADMSG);
}

static void test_param_lookup(void **state)
{
    struct sipuri u;
    struct slice v, it, n;
    const char *names[] = { "Transport", "LR", "ob", "maddr" };
    unsigned i = 0;

    (void)state;
    assert_int_equal(sipuri_parse(&u, S("sip:h.example;Transport=TCP;LR;ob;maddr=10.0.0.1;ob=x")), 0);
    assert_int_equal(sipuri_param(&u, "transport", &v), 0);
    assert_slice(v, "TCP");
    v = S("junk");
    assert_int_equal(sipuri_param(&u, "lr", &v), 0);
    assert_null(v.p); /* a flag */
    assert_int_equal(sipuri_param(&u, "ob", &v), 0);
    assert_null(v.p); /* the first occurrence wins */
    assert_int_equal(sipuri_param(&u, "maddr", NULL), 0);
    assert_int_equal(sipuri_param(&u, "user", &v), -ENOENT);
    assert_int_equal(sipuri_param(&u, "transpor", &v), -ENOENT);
    assert_int_equal(sipuri_param(NULL, "lr", &v), -EINVAL);

    it = u.params;
    while (i < 4 && sipuri_param_next(&it, &n, &v))
        assert_true(slice_eq_ci_str(n, names[i++]));
    assert_int_equal(i, 4);
    assert_true(sipuri_param_next(&it, &n, &v));
    assert_slice(v, "x");
    assert_false(sipuri_param_next(&it, &n, &v));

    assert_int_equal(sipuri_parse(&u, S("sip:h.example")), 0);
    assert_int_equal(sipuri_param(&u, "lr", &v), -ENOENT);
}

static void test_param_valid(void **state)
{
    (void)state;
    assert_true(sipuri_param_valid(S("ob"), SLICE_NULL));
    assert_true(sipuri_param_valid(S("transport"), S("tcp")));
    assert_true(sipuri_param_valid(S("maddr"), S("[::1]")));
    assert_false(sipuri_param_valid(S(""), SLICE_NULL));
    assert_false(sipuri_param_valid(S("a;b"), SLICE_NULL));
    assert_false(sipuri_param_valid(S("a"), S("")));
    assert_false(sipuri_param_valid(S("a"), S("x y")));
    assert_false(sipuri_param_valid(S("a="), SLICE_NULL));
    assert_false(sipuri_param_valid(SLICE_NULL, SLICE_NULL));
}

struct target_case {
    const char *uri;
    int ret;
    enum sipuri_transport tp;
    uint16_t port;
};

static void test_target(void **state)
{
    static const struct target_case cases[] = {
        { "sip:edge1.example.net:5060;transport=tcp", 0, SIPURI_TP_TCP, 5060 },
        { "sips:edge2.example.net:5061", 0, SIPURI_TP_TLS, 5061 },
        { "sip:edge.example.net", 0, SIPURI_TP_UDP, 5060 },
        { "sips:edge.example.net", 0, SIPURI_TP_TLS, 5061 },
        { "sip:edge.example.net;transport=TLS", 0, SIPURI_TP_TLS, 5061 },
        { "sip:edge.example.net;transport=tcp", 0, SIPURI_TP_TCP, 5060 },
        { "sip:edge.example.net:5080;transport=UDP", 0, SIPURI_TP_UDP, 5080 },
        { "sips:edge.example.net;transport=tcp", 0, SIPURI_TP_TLS, 5061 },
        { "sips:edge.example.net:443;lr;transport=tls", 0, SIPURI_TP_TLS, 443 },
        { "sips:edge.example.net;transport=udp", -EPROTONOSUPPORT, 0, 0 },
        { "sip:edge.example.net;transport=sctp", -EPROTONOSUPPORT, 0, 0 },
        { "sip:edge.example.net;transport=ws", -EPROTONOSUPPORT, 0, 0 },
        { "sip:edge.example.net;transport", -EPROTONOSUPPORT, 0, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sipuri u;
        enum sipuri_transport tp = 0;
        uint16_t port = 0;

        assert_int_equal(sipuri_parse(&u, slice_cstr(cases[i].uri)), 0);
        assert_int_equal(sipuri_target(&u, &tp, &port), cases[i].ret);
        if (cases[i].ret == 0) {
            assert_int_equal(tp, cases[i].tp);
            assert_int_equal(port, cases[i].port);
        }
    }
    assert_int_equal(sipuri_target(NULL, NULL, NULL), -EINVAL);
}

static void test_hostport(void **state)
{
    struct slice h;
    enum sipuri_host_type t;
    uint16_t port = 99;

    (void)state;
    assert_int_equal(sipuri_parse_hostport(S("pc33.atlanta.com"), &h, &t, &port), 0);
    assert_slice(h, "pc33.atlanta.com");
    assert_int_equal(t, SIPURI_HOST_NAME);
    assert_int_equal(port, 0);
    assert_int_equal(sipuri_parse_hostport(S("[2001:db8::9]:5061"), &h, &t, &port), 0);
    assert_slice(h, "[2001:db8::9]");
    assert_int_equal(t, SIPURI_HOST_IPV6);
    assert_int_equal(port, 5061);
    assert_int_equal(sipuri_parse_hostport(S("192.0.2.4:5060"), NULL, &t, NULL), 0);
    assert_int_equal(t, SIPURI_HOST_IPV4);
    port = 7;
    assert_int_equal(sipuri_parse_hostport(S("h.example:0"), &h, &t, &port), -EBADMSG);
    assert_int_equal(port, 7); /* untouched on failure */
    assert_int_equal(sipuri_parse_hostport(S("h.example;x"), NULL, NULL, NULL), -EBADMSG);
    assert_int_equal(sipuri_parse_hostport(SLICE_NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_unescape(void **state)
{
    char out[16];
    size_t n = 0;

    (void)state;
    assert_int_equal(sipuri_unescape(S("%61lice%20b%2c"), out, sizeof(out), &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "alice b,", 8);
    assert_int_equal(sipuri_unescape(S("%00"), out, sizeof(out), &n), -EINVAL);
    assert_int_equal(sipuri_unescape(S("%4"), out, sizeof(out), &n), -EINVAL);
    assert_int_equal(sipuri_unescape(S("%xx"), out, sizeof(out), &n), -EINVAL);
    assert_int_equal(sipuri_unescape(S("abcd"), out, 3, &n), -ENOSPC);
    assert_int_equal(sipuri_unescape(S("abc"), out, 3, &n), 0);
    assert_int_equal(n, 3);
}

static void test_bounds_and_no_partial_state(void **state)
{
    static const char text[] = "sip:a@b.example:50601";
    struct sipuri u, saved;

    (void)state;
    /* the slice ends before the last digit: it must not be seen */
    assert_int_equal(sipuri_parse(&u, (struct slice){ text, sizeof(text) - 2 }), 0);
    assert_int_equal(u.port, 5060);
    memset(&u, 0xA5, sizeof(u));
    saved = u;
    assert_int_equal(sipuri_parse(&u, S("sip:a@b.example:0")), -EBADMSG);
    assert_memory_equal(&u, &saved, sizeof(u));
    assert_int_equal(sipuri_parse(&u, S("tel:+1")), -EPROTONOSUPPORT);
    assert_memory_equal(&u, &saved, sizeof(u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_uri),
        cmocka_unit_test(test_minimal_uri),
        cmocka_unit_test(test_user_forms),
        cmocka_unit_test(test_ipv4_hosts),
        cmocka_unit_test(test_ipv6_hosts),
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_params_and_headers_syntax),
        cmocka_unit_test(test_param_lookup),
        cmocka_unit_test(test_param_valid),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_bounds_and_no_partial_state),
    };

    return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
