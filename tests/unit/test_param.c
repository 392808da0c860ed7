/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for header parameters: splitting lists, address and Via
 * elements, parameter lookup and numbers, and byte-preserving edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/param.h"
#include "sip/param_int.h"

#define S(lit) SLICE_LIT(lit)

static void assert_slice(struct slice s, const char *want)
{
    assert_non_null(s.p);
    assert_int_equal(s.n, strlen(want));
    assert_memory_equal(s.p, want, s.n);
}

/* Parses a heap copy of exactly strlen(s) bytes so that ASan catches reads
 * past the end. */
static int addr_exact(const char *s)
{
    size_t n = strlen(s);
    char *buf = malloc(n ? n : 1);
    struct sipparam_addr a;
    int r;

    assert_non_null(buf);
    memcpy(buf, s, n);
    r = sipparam_parse_addr(&a, (struct slice){ buf, n });
    free(buf);
    return r;
}

static int via_exact(const char *s)
{
    size_t n = strlen(s);
    char *buf = malloc(n ? n : 1);
    struct sipparam_via v;
    int r;

    assert_non_null(buf);
    memcpy(buf, s, n);
    r = sipparam_parse_via(&v, (struct slice){ buf, n });
    free(buf);
    return r;
}

/* ---- splitting ---- */

static void test_split(void **state)
{
    struct slice rest = S("\"A, B\" <sip:a@b.example>;q=0.5 , <sip:c,d@e.example>,"
                          " , \"x\\\",y\" <sip:f@g.example>,sip:h@i.example");
    struct slice e;

    (void)state;
    assert_int_equal(sipparam_split_next(&rest, &e), 1);
    assert_slice(e, "\"A, B\" <sip:a@b.example>;q=0.5");
    assert_int_equal(sipparam_split_next(&rest, &e), 1);
    assert_slice(e, "<sip:c,d@e.example>");
    assert_int_equal(sipparam_split_next(&rest, &e), 1);
    assert_slice(e, "\"x\\\",y\" <sip:f@g.example>");
    assert_int_equal(sipparam_split_next(&rest, &e), 1);
    assert_slice(e, "sip:h@i.example");
    assert_int_equal(sipparam_split_next(&rest, &e), 0);
    assert_int_equal(sipparam_split_next(&rest, &e), 0);
}

static void test_split_errors(void **state)
{
    struct slice rest, e, saved;

    (void)state;
    rest = S("<sip:a@b>, \"unterminated <sip:c@d>");
    assert_int_equal(sipparam_split_next(&rest, &e), 1);
    saved = rest;
    assert_int_equal(sipparam_split_next(&rest, &e), -EBADMSG);
    assert_true(rest.p == saved.p && rest.n == saved.n);
    rest = S("<sip:a@b, x");
    assert_int_equal(sipparam_split_next(&rest, &e), -EBADMSG);
    rest = S(" , ,, ");
    assert_int_equal(sipparam_split_next(&rest, &e), 0);
    rest = SLICE_NULL;
    assert_int_equal(sipparam_split_next(&rest, &e), 0);
    assert_int_equal(sipparam_split_next(NULL, &e), -EINVAL);
}

/* ---- address elements ---- */

static void test_addr_contact_outbound(void **state)
{
    struct sipparam_addr a;
    struct slice v, inner;
    uint32_t u32;
    unsigned q;

    (void)state;
    assert_int_equal(sipparam_parse_addr(&a, S(
        " \"Alice \\\"A\\\"\" <sip:alice@192.0.2.5:5060;transport=tcp>;expires=3600;"
        "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1;q=0.7 ")), 0);
    assert_false(a.star);
    assert_true(a.bracketed);
    assert_slice(a.display, "\"Alice \\\"A\\\"\"");
    assert_slice(a.uri, "sip:alice@192.0.2.5:5060;transport=tcp");
    assert_slice(a.params, ";expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-"
                           "8000-000A95A0E128>\";reg-id=1;q=0.7");
    assert_int_equal(sipparam_expires(a.params, &u32), 0);
    assert_int_equal(u32, 3600);
    assert_int_equal(sipparam_reg_id(a.params, &u32), 0);
    assert_int_equal(u32, 1);
    assert_int_equal(sipparam_q(a.params, &q), 0);
    assert_int_equal(q, 700);
    assert_int_equal(sipparam_find(a.params, "+SIP.INSTANCE", &v), 0);
    assert_int_equal(sipparam_unquote(v, &inner), 0);
    assert_slice(inner, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
}

static void test_addr_forms(void **state)
{
    struct sipparam_addr a;

    (void)state;
    assert_int_equal(sipparam_parse_addr(&a, S("Alice  Smith <sip:a@b.example>")), 0);
    assert_slice(a.display, "Alice  Smith");
    assert_null(a.params.p);
    assert_int_equal(sipparam_parse_addr(&a, S("J\xc3\xb6rg <sip:j@b.example>")), 0);
    assert_slice(a.display, "J\xc3\xb6rg");
    assert_int_equal(sipparam_parse_addr(&a, S("<sip:a@b.example>")), 0);
    assert_null(a.display.p);
    assert_slice(a.uri, "sip:a@b.example");
    assert_int_equal(sipparam_parse_addr(&a, S("\"\"<tel:+123>;tag=x")), 0);
    assert_slice(a.display, "\"\"");
    assert_slice(a.uri, "tel:+123");
    assert_slice(a.params, ";tag=x");

    /* bare addr-spec: what follows the first ';' are header parameters */
    assert_int_equal(sipparam_parse_addr(&a, S("sip:alice@10.0.0.5:5060;expires=60")), 0);
    assert_false(a.bracketed);
    assert_null(a.display.p);
    assert_slice(a.uri, "sip:alice@10.0.0.5:5060");
    assert_slice(a.params, ";expires=60");
    assert_int_equal(sipparam_parse_addr(&a, S("sip:alice@10.0.0.5 ;tag=1")), 0);
    assert_slice(a.uri, "sip:alice@10.0.0.5");
    assert_slice(a.params, ";tag=1");

    assert_int_equal(sipparam_parse_addr(&a, S(" * ")), 0);
    assert_true(a.star);
    assert_null(a.uri.p);

    /* LWS around ';' and '=', folded lines included */
    assert_int_equal(sipparam_parse_addr(&a, S("<sip:a@b> ; expires = 60 ;\r\n lr")), 0);
    assert_slice(a.params, "; expires = 60 ;\r\n lr");
}

static void test_addr_errors(void **state)
{
    static const char *bad[] = {
        "<sip:a@b.example",
        "sip:a@b.example?x=y",
        "sip:a@b,c",
        "\"Alice <sip:a@b.example>",
        "<sip:a@b.example> junk",
        "<sip:a@b.example> <sip:c@d>",
        "<>",
        "<sip a@b>",
        "< sip:a@b>",
        "<sip:a@b>;",
        "<sip:a@b>;=1",
        "<sip:a@b>;a=",
        "<sip:a@b>;a=\"x",
        "<sip:a@b>;a=b\"c\"",
        "<sip:a@b>;a b",
        "<sip:a@b>;a=<x>",
        "Bob \"x\" <sip:a@b>",
        "Bob@home <sip:a@b>",
        "nocolon",
        "",
        "   ",
        "**",
        "\"a\\",
    };
    struct sipparam_addr a, saved;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (addr_exact(bad[i]) != -EBADMSG)
            fail_msg("accepted: %s", bad[i]);
    }
    memset(&a, 0x5A, sizeof(a));
    saved = a;
    assert_int_equal(sipparam_parse_addr(&a, S("<sip:a@b")), -EBADMSG);
    assert_memory_equal(&a, &saved, sizeof(a));
    assert_int_equal(sipparam_parse_addr(NULL, S("<sip:a@b>")), -EINVAL);
    assert_int_equal(sipparam_parse_addr(&a, SLICE_NULL), -EINVAL);
}

/* ---- Via ---- */

static void test_via(void **state)
{
    struct sipparam_via v;
    struct slice val;

    (void)state;
    assert_int_equal(sipparam_parse_via(&v, S(
        "SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK776asdhds;rport;received=10.0.0.1")), 0);
    assert_slice(v.proto, "SIP");
    assert_slice(v.version, "2.0");
    assert_slice(v.transport, "UDP");
    assert_slice(v.host, "192.168.1.5");
    assert_int_equal(v.host_type, SIPURI_HOST_IPV4);
    assert_int_equal(v.port, 5060);
    assert_int_equal(sipparam_find(v.params, "rport", &val), 0);
    assert_null(val.p);
    assert_int_equal(sipparam_find(v.params, "branch", &val), 0);
    assert_slice(val, "z9hG4bK776asdhds");

    assert_int_equal(sipparam_parse_via(&v, S(
        "SIP / 2.0 / TCP [2001:db8::1]:5061 ;received=2001:db8::2;keep=30")), 0);
    assert_slice(v.transport, "TCP");
    assert_slice(v.host, "[2001:db8::1]");
    assert_int_equal(v.host_type, SIPURI_HOST_IPV6);
    assert_int_equal(v.port, 5061);
    assert_int_equal(sipparam_find(v.params, "received", &val), 0);
    assert_slice(val, "2001:db8::2");
    assert_int_equal(sipparam_find(v.params, "KEEP", &val), 0);
    assert_slice(val, "30");

    assert_int_equal(sipparam_parse_via(&v, S("SIP/2.0/TLS edge.example.net : 5061")), 0);
    assert_int_equal(v.port, 5061);
    assert_null(v.params.p);
    assert_int_equal(sipparam_parse_via(&v, S("SIP/2.0/UDP pc33.atlanta.com;keep")), 0);
    assert_int_equal(v.port, 0);
    assert_int_equal(v.host_type, SIPURI_HOST_NAME);
    assert_slice(v.params, ";keep");
}

static void test_via_errors(void **state)
{
    static const char *bad[] = {
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0 UDP host.example",
        "SIP/2.0/UDPhost.example",
        "SIP/2.0/UDP host.example:0",
        "SIP/2.0/UDP host.example:65536",
        "SIP/2.0/UDP host.example:",
        "SIP/2.0/UDP host.example:50a",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP 300.1.1.1",
        "SIP/2.0/UDP host.example junk",
        "SIP/2.0/UDP host.example;branch=",
        "SIP//2.0/UDP host.example",
        "/2.0/UDP host.example",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (via_exact(bad[i]) != -EBADMSG)
            fail_msg("accepted: %s", bad[i]);
    }
    assert_int_equal(via_exact("SIP/2.0/UDP h.example:5060;rport;branch=z9hG4bK1"), 0);
}

/* ---- lookup and numbers ---- */

static void test_param_iteration(void **state)
{
    struct slice it = S(" ;a=1 ; B ;c=\"x;y\";d=[::1]");
    struct sipparam p;

    (void)state;
    assert_int_equal(sipparam_next(&it, &p), 1);
    assert_slice(p.name, "a");
    assert_slice(p.value, "1");
    assert_int_equal(sipparam_next(&it, &p), 1);
    assert_slice(p.name, "B");
    assert_null(p.value.p);
    assert_int_equal(sipparam_next(&it, &p), 1);
    assert_slice(p.value, "\"x;y\"");
    assert_int_equal(sipparam_next(&it, &p), 1);
    assert_slice(p.value, "[::1]");
    assert_int_equal(sipparam_next(&it, &p), 0);

    it = S(";a=1;;b");
    assert_int_equal(sipparam_next(&it, &p), 1);
    assert_int_equal(sipparam_next(&it, &p), -EBADMSG);
    assert_int_equal(sipparam_find(S(";a=1;;b"), "b", NULL), -EBADMSG);
    assert_int_equal(sipparam_find(S(";a=1;;b"), "a", NULL), 0);
    assert_int_equal(sipparam_find(S(";a=1"), "b", NULL), -ENOENT);
    assert_int_equal(sipparam_find(SLICE_NULL, "b", NULL), -ENOENT);
    assert_int_equal(sipparam_next(NULL, &p), -EINVAL);
}

static void test_numbers(void **state)
{
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    unsigned q = 0;

    (void)state;
    assert_int_equal(sipparam_expires(S(";expires=0"), &u32), 0);
    assert_int_equal(u32, 0);
    assert_int_equal(sipparam_expires(S(";expires=4294967295"), &u32), 0);
    assert_int_equal(u32, UINT32_MAX);
    u32 = 0;
    assert_int_equal(sipparam_expires(S(";expires=4294967296"), &u32), 0);
    assert_int_equal(u32, UINT32_MAX);
    u32 = 0;
    assert_int_equal(sipparam_expires(S(";expires=99999999999999999999999"), &u32), 0);
    assert_int_equal(u32, UINT32_MAX);
    assert_int_equal(sipparam_expires(S(";expires=abc"), &u32), -EBADMSG);
    assert_int_equal(sipparam_expires(S(";expires=-1"), &u32), -EBADMSG);
    assert_int_equal(sipparam_expires(S(";expires"), &u32), -EBADMSG);
    assert_int_equal(sipparam_expires(S(";expires=\"60\""), &u32), -EBADMSG);
    assert_int_equal(sipparam_expires(S(";q=1"), &u32), -ENOENT);

    assert_int_equal(sipparam_reg_id(S(";reg-id=0"), &u32), -ERANGE);
    assert_int_equal(sipparam_reg_id(S(";reg-id=2147483647"), &u32), 0);
    assert_int_equal(u32, 2147483647u);
    assert_int_equal(sipparam_reg_id(S(";reg-id=2147483648"), &u32), -ERANGE);
    assert_int_equal(sipparam_reg_id(S(";reg-id=1x"), &u32), -EBADMSG);

    assert_int_equal(sipparam_get_uint(S(";rport=5060"), "rport", 1, 65535, &u64), 0);
    assert_int_equal(u64, 5060);
    assert_int_equal(sipparam_get_uint(S(";rport=65536"), "rport", 1, 65535, &u64), -ERANGE);
    assert_int_equal(sipparam_get_uint(S(";rport"), "rport", 1, 65535, &u64), -EBADMSG);
    assert_int_equal(sipparam_get_uint(S(";x=1"), "rport", 1, 65535, &u64), -ENOENT);

    static const struct { const char *in; int ret; unsigned q; } qs[] = {
        { ";q=0", 0, 0 },       { ";q=0.5", 0, 500 },  { ";q=0.123", 0, 123 },
        { ";q=1", 0, 1000 },    { ";q=1.000", 0, 1000 }, { ";q=0.", 0, 0 },
        { ";q=0.05", 0, 50 },   { ";q=1.5", -EBADMSG, 0 }, { ";q=0.1234", -EBADMSG, 0 },
        { ";q=2", -EBADMSG, 0 }, { ";q=.5", -EBADMSG, 0 }, { ";q=0.5.1", -EBADMSG, 0 },
        { ";q=0.5x", -EBADMSG, 0 }, { ";q", -EBADMSG, 0 },
    };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        q = 9999;
        assert_int_equal(sipparam_q(slice_cstr(qs[i].in), &q), qs[i].ret);
        if (qs[i].ret == 0)
            assert_int_equal(q, qs[i].q);
    }
}

static void test_unquote(void **state)
{
    struct slice in;

    (void)state;
    assert_int_equal(sipparam_unquote(S("\"<urn:uuid:1>\""), &in), 0);
    assert_slice(in, "<urn:uuid:1>");
    assert_int_equal(sipparam_unquote(S("\"\""), &in), 0);
    assert_int_equal(in.n, 0);
    assert_int_equal(sipparam_unquote(S("token"), &in), -EBADMSG);
    assert_int_equal(sipparam_unquote(S("\"a\"b"), &in), -EBADMSG);
    assert_int_equal(sipparam_unquote(S("\""), &in), -EBADMSG);
    assert_int_equal(sipparam_unquote(SLICE_NULL, &in), -EINVAL);
}

/* ---- edits ---- */

/* Runs an edit into a buffer and compares with the expected text. */
#define EDIT_EQ(call, want)                                  \
    do {                                                     \
        char out_[512];                                      \
        size_t n_ = 0;                                       \
        const char *w_ = (want);                             \
        int r_ = (call);                                     \
        assert_int_equal(r_, 0);                             \
        assert_int_equal(n_, strlen(w_));                    \
        assert_memory_equal(out_, w_, n_);                   \
    } while (0)
#define OUT out_, sizeof(out_), &n_

static void test_set_header_param(void **state)
{
    (void)state;
    EDIT_EQ(sipparam_set(S("<sip:alice@10.0.0.5:5060>"), SIPPARAM_ADDR, "expires", S("60"), OUT),
            "<sip:alice@10.0.0.5:5060>;expires=60");
    EDIT_EQ(sipparam_set(S("<sip:a@b>;expires=3600;q=0.5"), SIPPARAM_ADDR, "expires", S("60"), OUT),
            "<sip:a@b>;expires=60;q=0.5");
    /* the name keeps its case as received, LWS is kept */
    EDIT_EQ(sipparam_set(S(" <sip:a@b> ; Expires = 3600 ;q=1 "), SIPPARAM_ADDR, "expires",
                         S("0"), OUT),
            " <sip:a@b> ; Expires=0 ;q=1 ");
    /* duplicates after the first are dropped */
    EDIT_EQ(sipparam_set(S("<sip:a@b>;reg-id=1;x;reg-id=2"), SIPPARAM_ADDR, "reg-id", S("3"), OUT),
            "<sip:a@b>;reg-id=3;x");
    /* flag; then a quoted value appended after the last parameter */
    EDIT_EQ(sipparam_set(S("\"A\" <sip:a@b>;expires=1"), SIPPARAM_ADDR, "ob", SLICE_NULL, OUT),
            "\"A\" <sip:a@b>;expires=1;ob");
    EDIT_EQ(sipparam_set(S("sip:alice@10.0.0.5;expires=60  "), SIPPARAM_ADDR, "+sip.instance",
                         S("\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\""), OUT),
            "sip:alice@10.0.0.5;expires=60;+sip.instance="
            "\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"  ");
    /* a value replaced by a flag and vice versa */
    EDIT_EQ(sipparam_set(S("<sip:a@b>;lr=on"), SIPPARAM_ADDR, "lr", SLICE_NULL, OUT), "<sip:a@b>;lr");
    EDIT_EQ(sipparam_set(S("<sip:a@b>;lr"), SIPPARAM_ADDR, "lr", S("on"), OUT), "<sip:a@b>;lr=on");
}

static void test_set_via_param(void **state)
{
    (void)state;
    EDIT_EQ(sipparam_set(S("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport"), SIPPARAM_VIA,
                         "rport", S("40000"), OUT),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000");
    EDIT_EQ(sipparam_set(S("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1"), SIPPARAM_VIA,
                         "received", S("2001:db8::7"), OUT),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=2001:db8::7");
    EDIT_EQ(sipparam_set(S("SIP/2.0/TCP h.example"), SIPPARAM_VIA, "keep", SLICE_NULL, OUT),
            "SIP/2.0/TCP h.example;keep");
    EDIT_EQ(sipparam_remove(S("SIP/2.0/TCP h.example;keep;branch=z9hG4bKx"), SIPPARAM_VIA,
                            "keep", OUT),
            "SIP/2.0/TCP h.example;branch=z9hG4bKx");
}

static void test_remove_header_param(void **state)
{
    (void)state;
    EDIT_EQ(sipparam_remove(S("<sip:a@b> ;expires=1 ;q=1"), SIPPARAM_ADDR, "expires", OUT),
            "<sip:a@b> ;q=1");
    EDIT_EQ(sipparam_remove(S("<sip:a@b>;X=1;y;x=2"), SIPPARAM_ADDR, "x", OUT), "<sip:a@b>;y");
    EDIT_EQ(sipparam_remove(S(" <sip:a@b>;y "), SIPPARAM_ADDR, "x", OUT), " <sip:a@b>;y ");
    EDIT_EQ(sipparam_remove(S("<sip:a@b;x=1>"), SIPPARAM_ADDR, "x", OUT), "<sip:a@b;x=1>");
}

static void test_edit_errors(void **state)
{
    char out[64];
    size_t n = 77;

    (void)state;
    memset(out, 'Z', sizeof(out));
    /* exact fit works, one byte less fails and writes nothing */
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "ob", SLICE_NULL, out, 12, &n), 0);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "<sip:a@b>;ob", 12);
    memset(out, 'Z', sizeof(out));
    n = 77;
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "ob", SLICE_NULL, out, 11, &n),
                     -ENOSPC);
    assert_int_equal(n, 77);
    assert_int_equal(out[0], 'Z');
    assert_int_equal(sipparam_set_uri(S("<sip:a@b>"), "ob", SLICE_NULL, out, 11, &n), -ENOSPC);
    assert_int_equal(out[0], 'Z');

    assert_int_equal(sipparam_set(S("*"), SIPPARAM_ADDR, "expires", S("0"), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "a b", S("1"), out, 64, &n),
                     -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "", S("1"), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "a", S("x y"), out, 64, &n),
                     -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "a", S("\"x"), out, 64, &n),
                     -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "a", S(""), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), 0, "a", S("1"), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b"), SIPPARAM_ADDR, "a", S("1"), out, 64, &n), -EBADMSG);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_VIA, "a", S("1"), out, 64, &n), -EBADMSG);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, NULL, S("1"), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set(S("<sip:a@b>"), SIPPARAM_ADDR, "a", S("1"), NULL, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set_uri(S("<tel:+1234>"), "ob", SLICE_NULL, out, 64, &n),
                     -EPROTONOSUPPORT);
    assert_int_equal(sipparam_set_uri(S("<sip:a@b>"), "o;b", SLICE_NULL, out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set_uri(S("<sip:a@b>"), "o", S("\"x\""), out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set_uri(S("*"), "ob", SLICE_NULL, out, 64, &n), -EINVAL);
    assert_int_equal(sipparam_set_uri(S("<sip:a@b:0>"), "ob", SLICE_NULL, out, 64, &n), -EBADMSG);
}

static void test_set_uri_param(void **state)
{
    (void)state;
    /* RFC 5626 §4.3: ";ob" on the Contact URI, header params untouched */
    EDIT_EQ(sipparam_set_uri(S("<sip:alice@10.0.0.5:5060;transport=tcp>;expires=3600"), "ob",
                             SLICE_NULL, OUT),
            "<sip:alice@10.0.0.5:5060;transport=tcp;ob>;expires=3600");
    /* a bare addr-spec is wrapped, its ';expires' stays a header param */
    EDIT_EQ(sipparam_set_uri(S(" sip:alice@10.0.0.5;expires=60 "), "ob", SLICE_NULL, OUT),
            " <sip:alice@10.0.0.5;ob>;expires=60 ");
    EDIT_EQ(sipparam_set_uri(S("\"Bob\" <sips:bob@h.example?Subject=x>"), "ob", SLICE_NULL, OUT),
            "\"Bob\" <sips:bob@h.example;ob?Subject=x>");
    EDIT_EQ(sipparam_set_uri(S("<sip:h.example;lr;Transport=udp;x>"), "transport", S("tcp"), OUT),
            "<sip:h.example;lr;Transport=tcp;x>");
    EDIT_EQ(sipparam_set_uri(S("<sip:[2001:db8::1]:5060>"), "maddr", S("[2001:db8::2]"), OUT),
            "<sip:[2001:db8::1]:5060;maddr=[2001:db8::2]>");
    /* already present as a flag: unchanged */
    EDIT_EQ(sipparam_set_uri(S("<sip:a@h.example;ob>"), "ob", SLICE_NULL, OUT),
            "<sip:a@h.example;ob>");
    EDIT_EQ(sipparam_remove_uri(S("<sip:a@h.example;ob;lr;OB=1>;ob"), "ob", OUT),
            "<sip:a@h.example;lr>;ob");
    EDIT_EQ(sipparam_remove_uri(S("sip:a@h.example;ob"), "ob", OUT), "sip:a@h.example;ob");
}

/* An edited element parses again and carries the new parameter. */
static void test_edit_round_trip(void **state)
{
    char out[256];
    size_t n;
    struct sipparam_addr a;
    struct sipuri u;
    uint32_t reg;

    (void)state;
    assert_int_equal(sipparam_set(S("sip:alice@10.0.0.5:5060;expires=60"), SIPPARAM_ADDR,
                                  "reg-id", S("2"), out, sizeof(out), &n), 0);
    assert_int_equal(sipparam_parse_addr(&a, (struct slice){ out, n }), 0);
    assert_int_equal(sipparam_reg_id(a.params, &reg), 0);
    assert_int_equal(reg, 2);
    assert_int_equal(sipparam_set_uri((struct slice){ out, n }, "ob", SLICE_NULL, out + 128, 128,
                                      &n), 0);
    assert_int_equal(sipparam_parse_addr(&a, (struct slice){ out + 128, n }), 0);
    assert_true(a.bracketed);
    assert_int_equal(sipuri_parse(&u, a.uri), 0);
    assert_int_equal(sipuri_param(&u, "ob", NULL), 0);
    assert_int_equal(sipparam_reg_id(a.params, &reg), 0);
    assert_int_equal(reg, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_addr_contact_outbound),
        cmocka_unit_test(test_addr_forms),
        cmocka_unit_test(test_addr_errors),
        cmocka_unit_test(test_via),
        cmocka_unit_test(test_via_errors),
        cmocka_unit_test(test_param_iteration),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_unquote),
        cmocka_unit_test(test_set_header_param),
        cmocka_unit_test(test_set_via_param),
        cmocka_unit_test(test_remove_header_param),
        cmocka_unit_test(test_edit_errors),
        cmocka_unit_test(test_set_uri_param),
        cmocka_unit_test(test_edit_round_trip),
    };

    return cmocka_run_group_tests_name("param", tests, NULL, NULL);
}
