/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_msg_edit.c - SIP message edits, serialisation and responses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_testutil.h"
#include "sip/msg_int.h"

/* ---- editing ------------------------------------------------------------ */

static const char small_msg[] =
    "OPTIONS sip:a@b SIP/2.0\r\n"
    "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
    "Via: SIP/2.0/UDP g;branch=z9hG4bK0\r\n"
    "f: <sip:x@y>;tag=1\r\n"
    "t: <sip:a@b>\r\n"
    "i: c1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "m: <sip:x@10.0.0.1>\r\n"
    "l: 4\r\n"
    "\r\n"
    "body";

/* Serialises with ed and compares with the expected text. */
static void expect_output(const struct sipmsg *m, const struct sipmsg_edits *ed,
                          const char *want)
{
    size_t outlen;
    char *out = serialize_alloc(m, ed, &outlen);

    if (outlen != strlen(want) || memcmp(out, want, outlen) != 0)
        fail_msg("output:\n%s\nwanted:\n%s", out, want);
    free(out);
}

static void test_edit_add_positions(void **state)
{
    struct sipmsg *m = new_msg();
    struct sipmsg_edits ed;
    char *buf;

    (void)state;
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    sipmsg_edits_init(&ed, m, 0);
    expect_output(m, &ed, small_msg);   /* empty edit set: identical */
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"),
                                     SLICE_LIT("SIP/2.0/TCP me;branch=z9hG4bKx")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"),
                                     SLICE_LIT("outbound")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_BEFORE, 3, SLICE_LIT("X-B"),
                                     SLICE_LIT("1")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_AFTER, 3, SLICE_LIT("X-A"),
                                     SLICE_LIT("2")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_AFTER, 3, SLICE_LIT("X-A2"),
                                     SLICE_LIT("")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Route"),
                                     SLICE_LIT("<sip:p;lr>")), 0);
    expect_output(m, &ed,
                  "OPTIONS sip:a@b SIP/2.0\r\n"
                  "Via: SIP/2.0/TCP me;branch=z9hG4bKx\r\n"
                  "Route: <sip:p;lr>\r\n"
                  "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                  "Via: SIP/2.0/UDP g;branch=z9hG4bK0\r\n"
                  "f: <sip:x@y>;tag=1\r\n"
                  "X-B: 1\r\n"
                  "t: <sip:a@b>\r\n"
                  "X-A: 2\r\n"
                  "X-A2: \r\n"
                  "i: c1\r\n"
                  "CSeq: 1 OPTIONS\r\n"
                  "m: <sip:x@10.0.0.1>\r\n"
                  "l: 4\r\n"
                  "Supported: outbound\r\n"
                  "\r\n"
                  "body");
    free(buf);
    free(m);
}

static void test_edit_remove_replace(void **state)
{
    struct sipmsg *m = new_msg();
    struct sipmsg_edits ed;
    char *buf;

    (void)state;
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA), 2);
    assert_int_equal(sipmsg_edit_remove_all(&ed, SIPMSG_HDR_ROUTE), 0);
    assert_int_equal(sipmsg_edit_replace(&ed, 6, SLICE_LIT("<sip:x@198.51.100.1:5060>;ob")), 0);
    assert_int_equal(sipmsg_edit_replace(&ed, 4, SLICE_LIT("first")), 0);
    assert_int_equal(sipmsg_edit_replace(&ed, 4, SLICE_LIT("c2")), 0);   /* last wins */
    assert_int_equal(sipmsg_edit_remove(&ed, 3), 0);
    assert_int_equal(sipmsg_edit_replace(&ed, 3, SLICE_LIT("x")), -EINVAL); /* removed */
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"),
                                     SLICE_LIT("SIP/2.0/TLS me;branch=z9hG4bKy")), 0);
    expect_output(m, &ed,
                  "OPTIONS sip:a@b SIP/2.0\r\n"
                  "Via: SIP/2.0/TLS me;branch=z9hG4bKy\r\n"
                  "f: <sip:x@y>;tag=1\r\n"
                  "i: c2\r\n"
                  "CSeq: 1 OPTIONS\r\n"
                  "m: <sip:x@198.51.100.1:5060>;ob\r\n"
                  "l: 4\r\n"
                  "\r\n"
                  "body");
    free(buf);
    free(m);
}

static void test_edit_ruri_body(void **state)
{
    struct sipmsg *m = new_msg();
    struct sipmsg_edits ed;
    char *buf;

    (void)state;
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("sip:a@[2001:db8::1]:5070;transport=tcp")), 0);
    assert_int_equal(sipmsg_edit_body(&ed, SLICE_LIT("a longer body\r\n")), 0);
    expect_output(m, &ed,
                  "OPTIONS sip:a@[2001:db8::1]:5070;transport=tcp SIP/2.0\r\n"
                  "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                  "Via: SIP/2.0/UDP g;branch=z9hG4bK0\r\n"
                  "f: <sip:x@y>;tag=1\r\n"
                  "t: <sip:a@b>\r\n"
                  "i: c1\r\n"
                  "CSeq: 1 OPTIONS\r\n"
                  "m: <sip:x@10.0.0.1>\r\n"
                  "l: 15\r\n"
                  "\r\n"
                  "a longer body\r\n");
    /* Empty body. */
    assert_int_equal(sipmsg_edit_body(&ed, (struct slice){ NULL, 0 }), 0);
    expect_output(m, &ed,
                  "OPTIONS sip:a@[2001:db8::1]:5070;transport=tcp SIP/2.0\r\n"
                  "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                  "Via: SIP/2.0/UDP g;branch=z9hG4bK0\r\n"
                  "f: <sip:x@y>;tag=1\r\n"
                  "t: <sip:a@b>\r\n"
                  "i: c1\r\n"
                  "CSeq: 1 OPTIONS\r\n"
                  "m: <sip:x@10.0.0.1>\r\n"
                  "l: 0\r\n"
                  "\r\n");
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("sip:a b")), -EINVAL);
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("<sip:ab>")), -EINVAL);
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("")), -EINVAL);
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("sip:a\r\nX: y")), -EINVAL);
    free(buf);

    /* Not on a response. */
    buf = parse_corpus(m, "resp_603_compact");
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_ruri(&ed, SLICE_LIT("sip:a@b")), -EINVAL);
    free(buf);
    free(m);
}

static void test_edit_clen_rules(void **state)
{
    struct sipmsg *m = new_msg();
    struct sipmsg_edits ed;
    size_t outlen;
    char *buf, *out;

    (void)state;
    /* Two equal Content-Length headers: both rewritten. */
    buf = parse_corpus(m, "dup_clen_equal");
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_body(&ed, SLICE_LIT("123456")), 0);
    out = serialize_alloc(m, &ed, &outlen);
    assert_non_null(strstr(out, "Content-Length: 6\r\nContent-Type: application/dtmf\r\n"
                                "Content-Length: 6\r\n\r\n123456"));
    free(out);
    free(buf);

    /* No Content-Length on a datagram: appended when the body changes... */
    buf = parse_corpus(m, "no_clen_datagram");
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_body(&ed, SLICE_LIT("hi")), 0);
    out = serialize_alloc(m, &ed, &outlen);
    assert_non_null(strstr(out, "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"));
    assert_int_equal(strlen(out), outlen);
    free(out);
    /* ...or when going to a stream (SIPMSG_SER_CLEN), with the old body. */
    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    out = serialize_alloc(m, &ed, &outlen);
    assert_int_equal(outlen, m->len + strlen("Content-Length: 38\r\n"));
    assert_non_null(strstr(out, "Content-Type: text/plain\r\nContent-Length: 38\r\n\r\nWatson"));
    {
        struct sipmsg *m2 = new_msg();
        assert_int_equal(sipmsg_parse(m2, out, outlen, SIPMSG_F_STREAM), 0);
        assert_int_equal(m2->body.n, 38);
        free(m2);
    }
    free(out);
    free(buf);

    /* SIPMSG_SER_CLEN on a message that has one: unchanged. */
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    expect_output(m, &ed, small_msg);
    /* Content-Length is managed: hand edits are refused. */
    assert_int_equal(sipmsg_edit_remove(&ed, 7), -EINVAL);
    assert_int_equal(sipmsg_edit_replace(&ed, 7, SLICE_LIT("3")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Content-Length"),
                                     SLICE_LIT("3")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("L"),
                                     SLICE_LIT("3")), -EINVAL);
    assert_int_equal(sipmsg_edit_remove_all(&ed, SIPMSG_HDR_CONTENT_LENGTH), -EINVAL);
    free(buf);
    free(m);
}

static void test_edit_invalid(void **state)
{
    struct sipmsg *m = new_msg(), *other = new_msg();
    struct sipmsg_edits ed;
    char *buf, *buf2, out[512];
    size_t outlen;

    (void)state;
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    assert_int_equal(PARSE_LIT(other, small_msg, 0, &buf2), 0);
    sipmsg_edits_init(&ed, m, 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Bad Name"),
                                     SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT(""),
                                     SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("X"),
                                     SLICE_LIT("a\r\nInjected: 1")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("X"),
                                     (struct slice){ "a\0b", 3 }), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_BEFORE, 8, SLICE_LIT("X"),
                                     SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipmsg_edit_add(&ed, (enum sipmsg_pos)7, 0, SLICE_LIT("X"),
                                     SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipmsg_edit_replace(&ed, 8, SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipmsg_edit_replace(&ed, 0, SLICE_LIT("x\ny")), -EINVAL);
    assert_int_equal(sipmsg_edit_remove(&ed, 8), -EINVAL);
    assert_int_equal(sipmsg_edit_body(&ed, (struct slice){ NULL, 3 }), -EINVAL);
    /* Nothing above was recorded. */
    assert_int_equal(ed.n, 0);
    assert_int_equal(sipmsg_serialize(m, &ed, out, sizeof(out), &outlen), 0);
    assert_int_equal(outlen, sizeof(small_msg) - 1);
    /* Edits made for another message. */
    assert_int_equal(sipmsg_serialize(other, &ed, out, sizeof(out), &outlen), -EINVAL);
    free(buf);
    free(buf2);
    free(m);
    free(other);
}

static void test_edit_limits(void **state)
{
    struct sipmsg *m = new_msg();
    struct sipmsg_edits ed;
    char *buf, out[1024];
    size_t outlen, need;

    (void)state;
    assert_int_equal(PARSE_LIT(m, small_msg, 0, &buf), 0);
    sipmsg_edits_init(&ed, m, 0);
    for (int i = 0; i < SIPMSG_MAX_EDITS; i++)
        assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("X-N"),
                                         SLICE_LIT("12345")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("X-N"),
                                     SLICE_LIT("1")), -ENOSPC);
    assert_int_equal(sipmsg_edit_replace(&ed, 0, SLICE_LIT("1")), -ENOSPC);
    /* Removals and the R-URI/body take no slot. */
    assert_int_equal(sipmsg_edit_remove(&ed, 0), 0);
    assert_int_equal(sipmsg_edit_body(&ed, SLICE_LIT("")), 0);
    need = sizeof(small_msg) - 1 + SIPMSG_MAX_EDITS * strlen("X-N: 12345\r\n") -
           strlen("v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n") - strlen("body");   /* "l: 4" -> "l: 0" */
    assert_int_equal(sipmsg_serialize(m, &ed, out, sizeof(out), &outlen), 0);
    assert_int_equal(outlen, need);
    /* One byte short: -ENOSPC and the buffer untouched. */
    memset(out, 0xAA, sizeof(out));
    assert_int_equal(sipmsg_serialize(m, &ed, out, need - 1, &outlen), -ENOSPC);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal((unsigned char)out[i], 0xAA);
    assert_int_equal(sipmsg_serialize(m, &ed, out, need, &outlen), 0);
    assert_int_equal(outlen, need);
    /* Unedited, too small. */
    assert_int_equal(sipmsg_serialize(m, NULL, out, 10, &outlen), -ENOSPC);
    assert_int_equal(sipmsg_serialize(m, NULL, NULL, 0, &outlen), -ENOSPC);
    free(buf);
    free(m);
}

/* What the registration agent will do with a phone's REGISTER. */
static void test_edit_register_flow(void **state)
{
    struct sipmsg *m = new_msg(), *m2 = new_msg();
    struct sipmsg_edits ed;
    char *buf = parse_corpus(m, "register"), *out;
    const struct sipmsg_hdr *h;
    struct sipmsg_valit it;
    struct slice v;
    size_t outlen;
    bool found = false;
    int n = 0;

    (void)state;
    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    assert_int_equal(sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA), 1);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"),
                                     SLICE_LIT("SIP/2.0/TLS 198.51.100.3:50412;branch=z9hG4bKsk-1;rport")), 0);
    h = sipmsg_hdr_find(m, SIPMSG_HDR_CONTACT);
    assert_int_equal(sipmsg_edit_replace(&ed, (unsigned)(h - m->hdrs),
                                         SLICE_LIT("<sip:2001@198.51.100.3:50412;transport=tls;ob>;"
                                                   "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1")), 0);
    assert_int_equal(sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"),
                                     SLICE_LIT("outbound")), 0);
    h = sipmsg_hdr_find(m, SIPMSG_HDR_EXPIRES);
    assert_int_equal(sipmsg_edit_replace(&ed, (unsigned)(h - m->hdrs), SLICE_LIT("600")), 0);
    out = serialize_alloc(m, &ed, &outlen);

    assert_int_equal(sipmsg_parse(m2, out, outlen, SIPMSG_F_STREAM), 0);
    assert_int_equal(m2->len, outlen);
    assert_int_equal(m2->nhdrs, m->nhdrs + 1);
    assert_int_equal(m2->hdrs[0].id, SIPMSG_HDR_VIA);
    assert_int_equal(sipmsg_hdr_next(m2, SIPMSG_HDR_VIA, 0), -ENOENT);
    ASSERT_SLICE(sipmsg_hdr_find(m2, SIPMSG_HDR_EXPIRES)->value, "600");
    ASSERT_SLICE(sipmsg_hdr_find(m2, SIPMSG_HDR_CALL_ID)->value,
                 "5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20");
    assert_true(slice_eq(sipmsg_hdr_find(m2, SIPMSG_HDR_CONTACT)->value, ed.e[1].value));
    sipmsg_valit_init(&it, m2, SIPMSG_HDR_SUPPORTED);
    while (sipmsg_valit_next(&it, &v, NULL)) {
        found |= slice_eq(v, SLICE_LIT("outbound"));
        n++;
    }
    assert_true(found);
    assert_int_equal(n, 4);
    assert_int_equal(m2->cseq_num, 42);
    free(out);
    free(buf);
    free(m);
    free(m2);
}

/* ---- responses ---------------------------------------------------------- */

static void test_response_basic(void **state)
{
    struct sipmsg *m = new_msg(), *r = new_msg();
    char *buf = parse_corpus(m, "register"), out[2048];
    size_t outlen;
    static const char want[] =
        "SIP/2.0 403 Forbidden\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>;tag=sk77\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Server: sipkeep\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    const struct sipmsg_nv extra[] = { { SLICE_LIT("Server"), SLICE_LIT("sipkeep") } };

    (void)state;
    assert_int_equal(sipmsg_build_response(m, 403, SLICE_NULL, SLICE_LIT("sk77"), extra, 1,
                                           out, sizeof(out), &outlen), 0);
    assert_int_equal(outlen, sizeof(want) - 1);
    assert_memory_equal(out, want, outlen);
    assert_int_equal(sipmsg_parse(r, out, outlen, SIPMSG_F_STREAM), 0);
    assert_int_equal(r->status, 403);

    /* Exactly fitting, and one short (untouched). */
    assert_int_equal(sipmsg_build_response(m, 403, SLICE_NULL, SLICE_LIT("sk77"), extra, 1,
                                           out, sizeof(want) - 1, &outlen), 0);
    memset(out, 0x55, sizeof(out));
    assert_int_equal(sipmsg_build_response(m, 403, SLICE_NULL, SLICE_LIT("sk77"), extra, 1,
                                           out, sizeof(want) - 2, &outlen), -ENOSPC);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal((unsigned char)out[i], 0x55);
    free(buf);
    free(m);
    free(r);
}

static void test_response_rules(void **state)
{
    struct sipmsg *m = new_msg(), *r = new_msg();
    char *buf, out[8192];
    size_t outlen;
    const struct sipmsg_nv bad[] = { { SLICE_LIT("Content-Length"), SLICE_LIT("1") } };
    const struct sipmsg_nv bad2[] = { { SLICE_LIT("X"), SLICE_LIT("a\r\nb") } };

    (void)state;
    /* To already tagged: untouched; all Vias copied in order; own reason. */
    buf = parse_corpus(m, "torture_ws");
    assert_int_equal(sipmsg_build_response(m, 483, SLICE_LIT("Too Many Hops Indeed"),
                                           SLICE_LIT("new"), NULL, 0, out, sizeof(out), &outlen), 0);
    assert_int_equal(sipmsg_parse(r, out, outlen, SIPMSG_F_STREAM), 0);
    assert_int_equal(r->status, 483);
    ASSERT_SLICE(r->reason, "Too Many Hops Indeed");
    assert_true(slice_eq(sipmsg_hdr_find(r, SIPMSG_HDR_TO)->raw,
                         sipmsg_hdr_find(m, SIPMSG_HDR_TO)->raw));
    assert_int_equal(sipmsg_hdr_next(r, SIPMSG_HDR_VIA, -1), 0);
    assert_int_equal(sipmsg_hdr_next(r, SIPMSG_HDR_VIA, 0), 1);
    assert_true(slice_eq(r->hdrs[0].raw, m->hdrs[6].raw));
    assert_true(slice_eq(r->hdrs[1].raw, m->hdrs[12].raw));
    assert_int_equal(r->cseq_num, 9);
    ASSERT_SLICE(r->cseq_method, "INVITE");
    free(buf);

    /* 100 Trying gets no tag (§8.2.6.1). */
    buf = parse_corpus(m, "invite_sdp");
    assert_int_equal(sipmsg_build_response(m, 100, SLICE_NULL, SLICE_LIT("t1"), NULL, 0,
                                           out, sizeof(out), &outlen), 0);
    assert_int_equal(sipmsg_parse(r, out, outlen, SIPMSG_F_STREAM), 0);
    ASSERT_SLICE(r->reason, "Trying");
    ASSERT_SLICE(sipmsg_hdr_find(r, SIPMSG_HDR_TO)->value, "Bob <sip:bob@biloxi.example.com>");
    assert_int_equal(r->body.n, 0);
    assert_int_equal(sipmsg_build_response(m, 503, SLICE_NULL, SLICE_LIT("t1"), NULL, 0,
                                           out, sizeof(out), &outlen), 0);
    assert_int_equal(sipmsg_parse(r, out, outlen, SIPMSG_F_STREAM), 0);
    ASSERT_SLICE(sipmsg_hdr_find(r, SIPMSG_HDR_TO)->value, "Bob <sip:bob@biloxi.example.com>;tag=t1");

    /* Refusals. */
    assert_int_equal(sipmsg_build_response(m, 99, SLICE_NULL, SLICE_NULL, NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 700, SLICE_NULL, SLICE_NULL, NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_LIT("a\r\n"), SLICE_NULL, NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_LIT("a b"), NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_NULL, bad, 1, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_NULL, bad2, 1, out, sizeof(out), &outlen), -EINVAL);
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_NULL, NULL, 1, out, sizeof(out), &outlen), -EINVAL);
    free(buf);
    buf = parse_corpus(m, "ack");
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_NULL, NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    free(buf);
    buf = parse_corpus(m, "resp_401");
    assert_int_equal(sipmsg_build_response(m, 400, SLICE_NULL, SLICE_NULL, NULL, 0, out, sizeof(out), &outlen), -EINVAL);
    free(buf);
    free(m);
    free(r);
}

static void test_response_tag_detection(void **state)
{
    static const struct { const char *to; bool tagged; } tab[] = {
        { "<sip:a@b>", false },
        { "<sip:a@b;tag=1>", false },            /* URI parameter, not header */
        { "\"x;tag=1\" <sip:a@b>", false },      /* inside the display name */
        { "<sip:a@b>;tagx=1", false },
        { "<sip:a@b>;TAG=1", true },
        { "<sip:a@b> ; tag = 1", true },
        { "sip:a@b;tag=1", true },               /* addr-spec: params are header's */
        { "<sip:a@b>;x=1;tag=2", true },
    };
    struct sipmsg *m = new_msg(), *r = new_msg();
    char in[512], out[1024];
    size_t outlen;

    (void)state;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        int n = snprintf(in, sizeof(in), "BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                                         "From: <sip:c@d>;tag=9\r\nTo: %s\r\nCall-ID: x\r\n"
                                         "CSeq: 2 BYE\r\n\r\n", tab[i].to);
        assert_int_equal(sipmsg_parse(m, in, (size_t)n, 0), 0);
        assert_int_equal(sipmsg_build_response(m, 481, SLICE_NULL, SLICE_LIT("zz"), NULL, 0,
                                               out, sizeof(out), &outlen), 0);
        assert_int_equal(sipmsg_parse(r, out, outlen, SIPMSG_F_STREAM), 0);
        const struct slice to = sipmsg_hdr_find(r, SIPMSG_HDR_TO)->value;
        bool added = to.n > 7 && memcmp(to.p + to.n - 7, ";tag=zz", 7) == 0;
        if (added == tab[i].tagged)
            fail_msg("To: %s", tab[i].to);
    }
    free(m);
    free(r);
}

static void test_reason_phrase(void **state)
{
    (void)state;
    assert_string_equal(sipmsg_reason_phrase(400), "Bad Request");
    assert_string_equal(sipmsg_reason_phrase(403), "Forbidden");
    assert_string_equal(sipmsg_reason_phrase(483), "Too Many Hops");
    assert_string_equal(sipmsg_reason_phrase(503), "Service Unavailable");
    assert_string_equal(sipmsg_reason_phrase(439), "First Hop Lacks Outbound Support");
    assert_string_equal(sipmsg_reason_phrase(299), "Success");
    assert_string_equal(sipmsg_reason_phrase(699), "Global Failure");
    assert_string_equal(sipmsg_reason_phrase(700), "Unknown");
    assert_string_equal(sipmsg_reason_phrase(0), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_add_positions),
        cmocka_unit_test(test_edit_remove_replace),
        cmocka_unit_test(test_edit_ruri_body),
        cmocka_unit_test(test_edit_clen_rules),
        cmocka_unit_test(test_edit_invalid),
        cmocka_unit_test(test_edit_limits),
        cmocka_unit_test(test_edit_register_flow),
        cmocka_unit_test(test_response_basic),
        cmocka_unit_test(test_response_rules),
        cmocka_unit_test(test_response_tag_detection),
        cmocka_unit_test(test_reason_phrase),
    };

    return cmocka_run_group_tests_name("msg_edit", tests, NULL, NULL);
}
