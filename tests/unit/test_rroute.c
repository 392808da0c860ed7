/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for proxy/rroute.c: the Record-Route flow token (round trip,
 * forged, another phone's key, another IP, malformed), which requests are
 * Record-Routed, which Route values name sipkeep and are popped (RFC 3261
 * §16.4), and where a request to the phone goes (RFC 3261 §16.5-16.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/addr.h"
#include "proxy/rroute.h"
#include "sip/msg.h"

#define KEY_A "urn:uuid:6f1d8f0e-0000-4000-8000-00000000000a"
#define KEY_B "urn:uuid:6f1d8f0e-0000-4000-8000-00000000000b"

/* ss: a sockaddr_storage or a union sockaddr_ip (its first 28 bytes are
 * set: the room of a sockaddr_in6). */
static void set4(void *ss, const char *ip, unsigned port)
{
    struct sockaddr_in *sin = ss;

    memset(ss, 0, sizeof(union sockaddr_ip));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void set6(void *ss, const char *ip, unsigned port)
{
    struct sockaddr_in6 *sin6 = ss;

    memset(ss, 0, sizeof(union sockaddr_ip));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
}

#define SA(ss) ((const struct sockaddr *)(ss))

static struct cfg *load_cfg(void)
{
    static const char yaml[] =
        "listen:\n  - \"udp:192.168.1.1:5060\"\n  - \"udp:[fd00::1]:5070\"\n"
        "state_dir: /tmp/test_rroute\n"
        "ua:\n  allow:\n    - \"192.168.1.0/24\"\n    - \"fd00::/64\"\n"
        "services:\n  - name: svc\n    domain: example.net\n"
        "    outbound_proxies:\n      - \"sip:127.0.0.1:5060;transport=tcp\"\n";
    struct cfg *cfg = NULL;
    char err[256];

    if (cfg_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    return cfg;
}

/* ---- the token ---- */

static void test_token_round_trip(void **state)
{
    struct sockaddr_storage phone, phone6, other, port2;
    char tok[RROUTE_TOKEN_MAX], tok6[RROUTE_TOKEN_MAX];
    unsigned reg_id = 0;

    (void)state;
    set4(&phone, "192.168.1.20", 5060);
    set4(&port2, "192.168.1.20", 40000);
    set4(&other, "192.168.1.21", 5060);
    set6(&phone6, "fd00::20", 5060);
    assert_int_equal(rroute_token(KEY_A, 2, SA(&phone), tok, sizeof(tok)), 0);
    assert_int_equal(strlen(tok), 2 + 16);
    assert_memory_equal(tok, "2.", 2);
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(tok), SA(&phone), &reg_id), 0);
    assert_int_equal(reg_id, 2);
    /* the port does not count: the phone may send from another one */
    reg_id = 0;
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(tok), SA(&port2), &reg_id), 0);
    assert_int_equal(reg_id, 2);
    /* deterministic: survives a restart (same instance-id) */
    assert_int_equal(rroute_token(KEY_A, 2, SA(&phone), tok6, sizeof(tok6)), 0);
    assert_string_equal(tok, tok6);
    /* another phone's key, another IP: refused */
    assert_int_equal(rroute_verify(KEY_B, slice_cstr(tok), SA(&phone), &reg_id), -EACCES);
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(tok), SA(&other), &reg_id), -EACCES);
    /* IPv6 */
    assert_int_equal(rroute_token(KEY_A, 1, SA(&phone6), tok6, sizeof(tok6)), 0);
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(tok6), SA(&phone6), &reg_id), 0);
    assert_int_equal(reg_id, 1);
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(tok6), SA(&phone), &reg_id), -EACCES);
    /* bad arguments */
    assert_int_equal(rroute_token(KEY_A, 0, SA(&phone), tok, sizeof(tok)), -EINVAL);
    assert_int_equal(rroute_token(KEY_A, CFG_MAX_OUTBOUND_PROXIES + 1, SA(&phone), tok,
                                  sizeof(tok)), -EINVAL);
    assert_int_equal(rroute_token("", 1, SA(&phone), tok, sizeof(tok)), -EINVAL);
    assert_int_equal(rroute_token(KEY_A, 1, SA(&phone), tok, 10), -ENOSPC);
}

static void test_token_forged(void **state)
{
    struct sockaddr_storage phone;
    char tok[RROUTE_TOKEN_MAX], bad[RROUTE_TOKEN_MAX + 8];
    unsigned reg_id = 77;

    (void)state;
    set4(&phone, "192.168.1.20", 5060);
    assert_int_equal(rroute_token(KEY_A, 1, SA(&phone), tok, sizeof(tok)), 0);
    /* the same MAC with another reg-id: the reg-id is covered */
    snprintf(bad, sizeof(bad), "2%s", tok + 1);
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(bad), SA(&phone), &reg_id), -EACCES);
    /* one hex digit changed */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[5] = bad[5] == '0' ? '1' : '0';
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(bad), SA(&phone), &reg_id), -EACCES);
    /* the last one: every digit is compared */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    assert_int_equal(rroute_verify(KEY_A, slice_cstr(bad), SA(&phone), &reg_id), -EACCES);
    assert_int_equal(rroute_verify(KEY_A, SLICE_LIT("1.0000000000000000"), SA(&phone), &reg_id),
                     -EACCES);
    /* malformed */
    static const char *const mal[] = {
        "", "1", "1.", ".0123456789abcdef", "0.0123456789abcdef", "01.0123456789abcdef",
        "9.0123456789abcdef", "123.0123456789abcdef", "1.0123456789ABCDEF",
        "1.0123456789abcde", "1.0123456789abcdef0", "1-0123456789abcdef", "1.0123456789abcdeg",
        "1.%30123456789abcde",
    };
    for (size_t i = 0; i < sizeof(mal) / sizeof(mal[0]); i++)
        assert_int_equal(rroute_verify(KEY_A, slice_cstr(mal[i]), SA(&phone), &reg_id),
                         -EBADMSG);
    assert_int_equal(reg_id, 77); /* never written on failure */
}

static void test_rr_value(void **state)
{
    struct sockaddr_storage l4, l6;
    char out[RROUTE_RR_MAX];

    (void)state;
    set4(&l4, "192.168.1.1", 5060);
    set6(&l6, "fd00::1", 5070);
    assert_int_equal(rroute_rr_value(SA(&l4), "1.0123456789abcdef", out, sizeof(out)), 0);
    assert_string_equal(out, "<sip:192.168.1.1:5060;lr;skf=1.0123456789abcdef>");
    assert_int_equal(rroute_rr_value(SA(&l6), "2.0123456789abcdef", out, sizeof(out)), 0);
    assert_string_equal(out, "<sip:[fd00::1]:5070;lr;skf=2.0123456789abcdef>");
    assert_int_equal(rroute_rr_value(SA(&l4), "1.0123456789abcdef", out, 20), -ENOSPC);
}

/* ---- which requests are Record-Routed ---- */

static struct sipmsg *parse(const char *text)
{
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    if (sipmsg_parse(m, text, strlen(text), 0) != 0)
        fail_msg("parse: %s\n%s", sipmsg_strerror(m->err), text);
    return m;
}

static char *mk_req(const char *method, const char *ruri, const char *to_tag,
                    const char *routes)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKx1\r\n"
                     "%s"
                     "From: <sip:alice@example.net>;tag=a1\r\n"
                     "To: <sip:bob@example.net>%s%s\r\n"
                     "Call-ID: c1\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
                     method, ruri, routes ? routes : "", to_tag ? ";tag=" : "",
                     to_tag ? to_tag : "", method);

    assert_true(n > 0 && n < 4096);
    return out;
}

static bool wants(const char *method, const char *to_tag)
{
    char *t = mk_req(method, "sip:bob@example.net", to_tag, NULL);
    struct sipmsg *m = parse(t);
    bool w = rroute_wants_rr(m);

    free(m);
    free(t);
    return w;
}

static void test_wants_rr(void **state)
{
    (void)state;
    assert_true(wants("INVITE", NULL));
    assert_true(wants("SUBSCRIBE", NULL));
    assert_true(wants("REFER", NULL));
    assert_true(wants("NOTIFY", NULL));
    assert_true(wants("NOTIFY", "b2")); /* the first NOTIFY may create the dialog */
    assert_false(wants("INVITE", "b2")); /* re-INVITE */
    assert_false(wants("SUBSCRIBE", "b2"));
    assert_false(wants("BYE", "b2"));
    assert_false(wants("BYE", NULL));
    assert_false(wants("MESSAGE", NULL));
    assert_false(wants("OPTIONS", NULL));
    assert_false(wants("INFO", "b2"));
}

/* ---- Route ---- */

static void test_names_us(void **state)
{
    struct cfg *cfg = load_cfg();
    struct sockaddr_storage local;

    (void)state;
    set4(&local, "10.9.9.9", 5062); /* e.g. the intercepted destination */
    /* listen addresses, with or without port */
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:192.168.1.1")));
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:192.168.1.1:5060")));
    assert_true(rroute_uri_names_us(cfg, SA(&local), false,
                                    SLICE_LIT("sip:192.168.1.1;lr;transport=udp")));
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:[fd00::1]:5070")));
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sips:[fd00:0::1]")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:192.168.1.1:5061")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:[fd00::1]:5060")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:192.168.1.2")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:sipkeep.lan")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("tel:+123")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("garbage")));
    /* the local address only when asked */
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:10.9.9.9")));
    assert_true(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:u@10.9.9.9:5062")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), true, SLICE_LIT("sip:10.9.9.9:5060")));
    assert_false(rroute_uri_names_us(cfg, SA(&local), false, SLICE_LIT("sip:10.9.9.9")));
    cfg_free(cfg);
}

/* Pops the Route values of a request with routes (header lines, CRLF
 * terminated) as sipkeep would, then returns the request as serialised. */
static char *popped(const struct cfg *cfg, const char *routes, struct rroute_popped *p)
{
    char *t = mk_req("INVITE", "sip:bob@example.net", NULL, routes), *out = malloc(8192);
    struct sipmsg *m = parse(t);
    struct sipmsg_edits ed;
    struct sockaddr_storage local;
    size_t n;

    set4(&local, "10.9.9.9", 5062);
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(rroute_pop(&ed, m, cfg, SA(&local), p), 0);
    if (slice_present(p->token)) {
        /* the token points into m: copy it before m goes */
        static char tok[64];
        assert_int_equal(slice_copy_cstr(p->token, tok, sizeof(tok)), 0);
        p->token = slice_cstr(tok);
    }
    assert_int_equal(sipmsg_serialize(m, &ed, out, 8191, &n), 0);
    out[n] = '\0';
    free(m);
    free(t);
    return out;
}

static void route_lines(const char *msg, char *out, size_t outsz)
{
    const char *p = msg;
    size_t n = 0;

    out[0] = '\0';
    while ((p = strstr(p, "\r\nRoute: ")) != NULL) {
        const char *v = p + 9, *eol = strstr(v, "\r\n");
        int k = snprintf(out + n, outsz - n, "%s%.*s", n ? "|" : "", (int)(eol - v), v);
        assert_true(k > 0 && (size_t)k < outsz - n);
        n += (size_t)k;
        p = eol;
    }
}

static void test_pop(void **state)
{
    struct cfg *cfg = load_cfg();
    struct rroute_popped p;
    char routes[1024], *out;
    static const struct {
        const char *in, *left;
        unsigned removed;
        const char *token;
    } cases[] = {
        /* a preloaded Route to sipkeep, in every form */
        { "Route: <sip:192.168.1.1;lr>\r\n", "", 1, NULL },
        { "Route: <sip:192.168.1.1:5060;lr>\r\n", "", 1, NULL },
        { "Route: <sip:192.168.1.1:5060;transport=udp;lr>\r\n", "", 1, NULL },
        { "Route: <sip:192.168.1.1>\r\n", "", 1, NULL },
        { "Route: sip:192.168.1.1;lr\r\n", "", 1, NULL },
        { "Route: <sip:10.9.9.9;lr>\r\n", "", 1, NULL },
        /* foreign Routes stay, and everything after one */
        { "Route: <sip:edge.example.net;lr>\r\n", "<sip:edge.example.net;lr>", 0, NULL },
        { "Route: <sip:192.168.1.1:5061;lr>\r\n", "<sip:192.168.1.1:5061;lr>", 0, NULL },
        { "Route: <sip:edge.example.net;lr>, <sip:192.168.1.1;lr>\r\n",
          "<sip:edge.example.net;lr>, <sip:192.168.1.1;lr>", 0, NULL },
        /* ours then foreign, on one line and on two */
        { "Route: <sip:192.168.1.1;lr>, <sip:edge.example.net;lr>\r\n",
          "<sip:edge.example.net;lr>", 1, NULL },
        { "Route: <sip:192.168.1.1;lr>\r\nRoute: <sip:edge.example.net;lr>\r\n",
          "<sip:edge.example.net;lr>", 1, NULL },
        /* our Record-Route coming back, with a preloaded one before it;
         * nothing after it is ours, even at our own address */
        { "Route: <sip:192.168.1.1;lr>, <sip:10.9.9.9:5062;lr;skf=2.0123456789abcdef>\r\n"
          "Route: <sip:10.9.9.9;transport=tcp;lr>\r\n",
          "<sip:10.9.9.9;transport=tcp;lr>", 2, "2.0123456789abcdef" },
        { "Route: <sip:tok@edge.example.net;lr;skf=1.0123456789abcdef>\r\n", "", 1,
          "1.0123456789abcdef" },
        { "Route: <sip:192.168.1.1;lr;skf>\r\n", "", 1, "" },
        /* not a Route we could name */
        { "Route: <tel:+1234>\r\n", "<tel:+1234>", 0, NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = popped(cfg, cases[i].in, &p);
        route_lines(out, routes, sizeof(routes));
        if (strcmp(routes, cases[i].left) != 0 || p.removed != cases[i].removed)
            fail_msg("case %zu: left '%s' removed %u\n%s", i, routes, p.removed, out);
        assert_int_equal(p.left, cases[i].left[0] != '\0');
        if (cases[i].token) {
            assert_true(slice_present(p.token));
            assert_true(slice_eq(p.token, slice_cstr(cases[i].token)));
        } else {
            assert_false(slice_present(p.token));
        }
        free(out);
    }
    /* no Route at all */
    out = popped(cfg, NULL, &p);
    assert_int_equal(p.removed, 0);
    assert_false(p.left);
    free(out);
    cfg_free(cfg);
}

/* ---- where the phone is ---- */

static void test_ua_target(void **state)
{
    struct cfg *cfg = load_cfg();
    union sockaddr_ip src, dst, want;

    (void)state;
    set4(&src, "192.168.1.20", 40000);
    /* the phone's own IP, another port */
    assert_true(rroute_ua_target(cfg, &src, SLICE_LIT("sip:alice@192.168.1.20:5080;ob"), SLICE_NULL,
                                 &dst));
    set4(&want, "192.168.1.20", 5080);
    assert_true(addr_equal(SA(&dst), SA(&want)));
    /* no port: 5060 */
    assert_true(rroute_ua_target(cfg, &src, SLICE_LIT("sip:alice@192.168.1.20"), SLICE_NULL, &dst));
    set4(&want, "192.168.1.20", 5060);
    assert_true(addr_equal(SA(&dst), SA(&want)));
    /* another host inside ua.allow */
    assert_true(rroute_ua_target(cfg, &src, SLICE_LIT("sip:alice@192.168.1.30:5070"),
                                 SLICE_NULL, &dst));
    set4(&want, "192.168.1.30", 5070);
    assert_true(addr_equal(SA(&dst), SA(&want)));
    /* unusable: the source address */
    static const char *const bad[] = {
        "sip:alice@203.0.113.7:5060",            /* outside ua.allow */
        "sip:alice@phone.lan:5060",              /* a name */
        "sip:alice@192.168.1.20:5080;transport=tcp", /* not UDP */
        "sips:alice@192.168.1.20",
        "sip:alice@[fd00::20]",                   /* another family than src */
        "tel:+123", "sip:", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rroute_ua_target(cfg, &src, slice_cstr(bad[i]), SLICE_NULL, &dst));
        assert_true(addr_equal(SA(&dst), SA(&src)));
    }
    /* another host inside ua.allow, but the phone is behind another NAT
     * (its REGISTER's Via is not where it came from): the source address */
    {
        static const char natted[] =
            "REGISTER sip:example.net SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.168.1.30:5060;branch=z9hG4bKr1;rport\r\n"
            "From: <sip:alice@example.net>;tag=1\r\nTo: <sip:alice@example.net>\r\n"
            "Call-ID: r1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
        static const char direct[] =
            "REGISTER sip:example.net SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.168.1.20:40000;branch=z9hG4bKr1;rport\r\n"
            "From: <sip:alice@example.net>;tag=1\r\nTo: <sip:alice@example.net>\r\n"
            "Call-ID: r1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
        struct slice ruri = SLICE_LIT("sip:alice@192.168.1.30:5070");

        assert_false(rroute_ua_target(cfg, &src, ruri, SLICE_LIT(natted), &dst));
        assert_true(addr_equal(SA(&dst), SA(&src)));
        assert_false(rroute_ua_target(cfg, &src, ruri, SLICE_LIT("garbage"), &dst));
        assert_true(rroute_ua_target(cfg, &src, ruri, SLICE_LIT(direct), &dst));
        set4(&want, "192.168.1.30", 5070);
        assert_true(addr_equal(SA(&dst), SA(&want)));
        /* its own IP needs no such proof */
        assert_true(rroute_ua_target(cfg, &src, SLICE_LIT("sip:alice@192.168.1.20:5080"),
                                     SLICE_LIT(natted), &dst));
    }
    /* a dual-stack socket's view of an IPv4 phone */
    set6(&src, "::ffff:192.168.1.20", 40000);
    assert_true(rroute_ua_target(cfg, &src, SLICE_LIT("sip:alice@192.168.1.20:5080"),
                                 SLICE_NULL, &dst));
    set6(&want, "::ffff:192.168.1.20", 5080);
    assert_true(addr_equal(SA(&dst), SA(&want)));
    cfg_free(cfg);
}

static void test_from_phone(void **state)
{
    struct cfg *cfg = load_cfg();
    union sockaddr_ip src;
    struct sockaddr_storage from;

    (void)state;
    set4(&src, "192.168.1.20", 40000);
    set4(&from, "192.168.1.20", 5080); /* same IP, any port */
    assert_true(rroute_from_phone(cfg, &src, NULL, SLICE_NULL, SA(&from)));
    set4(&from, "192.168.1.30", 5070); /* its Contact */
    assert_true(rroute_from_phone(cfg, &src, "sip:alice@192.168.1.30:5070", SLICE_NULL, SA(&from)));
    assert_false(rroute_from_phone(cfg, &src, NULL, SLICE_NULL, SA(&from)));
    set4(&from, "192.168.1.30", 5071); /* the Contact's host, another port */
    assert_false(rroute_from_phone(cfg, &src, "sip:alice@192.168.1.30:5070",
                                   SLICE_NULL, SA(&from)));
    set4(&from, "192.168.1.99", 5070); /* another host */
    assert_false(rroute_from_phone(cfg, &src, "sip:alice@192.168.1.30:5070",
                                   SLICE_NULL, SA(&from)));
    /* a Contact outside ua.allow never speaks for the phone */
    set4(&from, "203.0.113.7", 5060);
    assert_false(rroute_from_phone(cfg, &src, "sip:alice@203.0.113.7:5060", SLICE_NULL, SA(&from)));
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_forged),
        cmocka_unit_test(test_rr_value),
        cmocka_unit_test(test_wants_rr),
        cmocka_unit_test(test_names_us),
        cmocka_unit_test(test_pop),
        cmocka_unit_test(test_ua_target),
        cmocka_unit_test(test_from_phone),
    };

    return cmocka_run_group_tests_name("rroute", tests, NULL, NULL);
}
