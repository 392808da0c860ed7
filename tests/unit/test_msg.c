/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_msg.c - SIP message parser, header access and value iterator
 * (editing and responses: test_msg_edit.c). */
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

/* ---- corpus ------------------------------------------------------------- */

#define CHECK(c, cond) \
    do { if (!(cond)) fail_msg("%s: %s", (c)->name, #cond); } while (0)

/* The slices tile the message: start line, header lines, empty line, body. */
static void check_tiling(const struct corpus_msg *c, const struct sipmsg *m,
                         const char *buf)
{
    const char *p = buf;

    CHECK(c, m->buf.p == buf && m->buf.n == m->len);
    CHECK(c, m->start_line.p == p);
    p += m->start_line.n;
    for (unsigned i = 0; i < m->nhdrs; i++) {
        const struct sipmsg_hdr *h = &m->hdrs[i];
        CHECK(c, h->raw.p == p && h->name.p == p);
        CHECK(c, h->value.p >= h->name.p + h->name.n);
        CHECK(c, h->value.p + h->value.n + 2 <= h->raw.p + h->raw.n);
        CHECK(c, h->raw.n >= 2 && memcmp(h->raw.p + h->raw.n - 2, "\r\n", 2) == 0);
        p += h->raw.n;
    }
    CHECK(c, m->hdr_end.p == p && m->hdr_end.n == 2);
    p += 2;
    CHECK(c, m->body.p == p);
    CHECK(c, (size_t)(p - buf) + m->body.n == m->len);
}

static void check_expected_hdrs(const struct corpus_msg *c, const struct sipmsg *m)
{
    for (size_t k = 0; k < 8 && c->hdrs[k].value; k++) {
        const struct corpus_hdr *e = &c->hdrs[k];
        int i = -1;
        for (unsigned n = 0; n <= e->nth; n++) {
            i = e->name ? sipmsg_hdr_next_name(m, slice_cstr(e->name), i)
                        : sipmsg_hdr_next(m, e->id, i);
            CHECK(c, i >= 0);
        }
        CHECK(c, m->hdrs[i].id == e->id);
        if (!slice_is(m->hdrs[i].value, e->value, e->value_len))
            fail_msg("%s: header %zu value '%.*s'", c->name, k,
                     (int)m->hdrs[i].value.n, m->hdrs[i].value.p);
    }
}

static void check_valid(const struct corpus_msg *c, const struct sipmsg *m,
                        const char *buf)
{
    size_t msg_len = c->msg_len ? c->msg_len : c->len;
    size_t outlen;
    char *out;

    CHECK(c, m->err == SIPMSG_OK);
    CHECK(c, m->len == msg_len);
    CHECK(c, m->is_request == (c->method != NULL));
    if (c->method) {
        CHECK(c, slice_is(m->method, c->method, strlen(c->method)));
        CHECK(c, slice_is(m->ruri, c->ruri, strlen(c->ruri)));
        CHECK(c, slice_eq(m->cseq_method, m->method));
    } else {
        CHECK(c, m->status == c->status);
        CHECK(c, slice_is(m->reason, c->reason, strlen(c->reason)));
    }
    if (m->nhdrs != c->nhdrs)
        fail_msg("%s: %u headers, expected %u", c->name, m->nhdrs, c->nhdrs);
    CHECK(c, m->body.n == c->body_len);
    check_tiling(c, m, buf);
    check_expected_hdrs(c, m);
    /* Unedited output is byte-identical to the parsed bytes. */
    out = serialize_alloc(m, NULL, &outlen);
    CHECK(c, outlen == msg_len && memcmp(out, buf, msg_len) == 0);
    free(out);
}

static void test_corpus(void **state)
{
    struct sipmsg *m = new_msg();
    unsigned nvalid = 0, ninvalid = 0;

    (void)state;
    for (size_t i = 0; i < CORPUS_N; i++) {
        const struct corpus_msg *c = &corpus_msgs[i];
        char *buf;
        int rc = parse_str(m, c->text, c->len, c->flags, &buf);
        if (rc != c->rc || m->err != c->err)
            fail_msg("%s: rc %d err %d (%s), expected rc %d err %d", c->name, rc,
                     m->err, sipmsg_strerror(m->err), c->rc, c->err);
        if (rc == 0) {
            check_valid(c, m, buf);
            nvalid++;
        } else {
            CHECK(c, m->buf.p == NULL);
            ninvalid++;
        }
        free(buf);
    }
    assert_true(nvalid >= 30);
    assert_true(ninvalid >= 12);
    free(m);
}

/* Every prefix of every corpus message, in an exact-size buffer (ASan). */
static void test_all_prefixes(void **state)
{
    struct sipmsg *m = new_msg();

    (void)state;
    for (size_t i = 0; i < CORPUS_N; i++) {
        const struct corpus_msg *c = &corpus_msgs[i];
        for (size_t k = 0; k < c->len; k++) {
            char *buf;
            int rc = parse_str(m, c->text, k, c->flags, &buf);
            if (rc == 0) {
                size_t outlen;
                char *out = serialize_alloc(m, NULL, &outlen);
                CHECK(c, m->len <= k && outlen == m->len && memcmp(out, buf, outlen) == 0);
                free(out);
            }
            free(buf);
        }
    }
    free(m);
}

/* On a stream every proper prefix of a valid message asks for more bytes;
 * as a datagram it is refused as truncated (or, without Content-Length,
 * accepted with a shorter body). */
static void test_prefix_semantics(void **state)
{
    static const char *const names[] = { "register", "invite_sdp", "torture_ws",
                                         "resp_200_register", "multi_contact",
                                         "multipart_body", "ipv6_invite" };
    struct sipmsg *m = new_msg();

    (void)state;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        const struct corpus_msg *c = corpus_get(names[n]);
        for (size_t k = 0; k < c->len; k++) {
            char *buf;
            int rc = parse_str(m, c->text, k, SIPMSG_F_STREAM, &buf);
            CHECK(c, rc == -EAGAIN && m->err == SIPMSG_E_INCOMPLETE);
            free(buf);
            rc = parse_str(m, c->text, k, 0, &buf);
            CHECK(c, rc == -EBADMSG);
            CHECK(c, m->err == SIPMSG_E_UNTERMINATED || m->err == SIPMSG_E_CLEN_EXCEEDS ||
                     (k == 0 && m->err == SIPMSG_E_EMPTY));
            free(buf);
        }
    }
    free(m);
}

static void test_prefix_no_clen(void **state)
{
    const struct corpus_msg *c = corpus_get("no_clen_datagram");
    size_t hdr_len = c->len - c->body_len;
    struct sipmsg *m = new_msg();

    (void)state;
    for (size_t k = 0; k < c->len; k++) {
        char *buf;
        int rc = parse_str(m, c->text, k, 0, &buf);
        if (k < hdr_len) {
            assert_int_equal(rc, -EBADMSG);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(m->body.n, k - hdr_len);
        }
        free(buf);
    }
    free(m);
}

static void test_parse_details(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf;

    (void)state;
    buf = parse_corpus(m, "torture_ws");
    assert_int_equal(m->cseq_num, 9);
    ASSERT_SLICE(m->cseq_method, "INVITE");
    ASSERT_SLICE(m->version, "SIP/2.0");
    assert_true(m->has_clen);
    assert_int_equal(m->hdrs[0].id, SIPMSG_HDR_TO);
    ASSERT_SLICE(m->hdrs[0].name, "TO");
    ASSERT_SLICE(m->hdrs[0].raw, "TO :\r\n sip:kim@lab.example.org ;   tag    = 77123abcN\r\n");
    free(buf);

    buf = parse_corpus(m, "no_clen_datagram");
    assert_false(m->has_clen);
    ASSERT_SLICE(m->body, "Watson, come here.\r\nI want to see you.");
    free(buf);

    /* err_off points at the offending line. */
    const struct corpus_msg *c = corpus_get("no_colon");
    assert_int_equal(parse_str(m, c->text, c->len, 0, &buf), -EBADMSG);
    assert_int_equal(m->err, SIPMSG_E_HDR_NO_COLON);
    assert_memory_equal(buf + m->err_off, "This line has no colon\r\n", 24);
    free(buf);

    /* Version is case-insensitive (§7.1). */
    assert_int_equal(PARSE_LIT(m, "sip/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n"
                                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 4294967295 BYE\r\n\r\n",
                               0, &buf), 0);
    assert_int_equal(m->status, 200);
    assert_int_equal(m->cseq_num, 4294967295u);
    free(buf);
    assert_int_equal(PARSE_LIT(m, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n"
                                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 4294967296 BYE\r\n\r\n",
                               0, &buf), -EBADMSG);
    assert_int_equal(m->err, SIPMSG_E_CSEQ_BAD);
    free(buf);
    free(m);
}

static void test_parse_args(void **state)
{
    struct sipmsg *m = new_msg();

    (void)state;
    assert_int_equal(sipmsg_parse(NULL, "x", 1, 0), -EINVAL);
    assert_int_equal(sipmsg_parse(m, NULL, 1, 0), -EINVAL);
    assert_int_equal(sipmsg_parse(m, NULL, 0, 0), -EBADMSG);
    assert_int_equal(m->err, SIPMSG_E_EMPTY);
    assert_int_equal(sipmsg_parse(m, NULL, 0, SIPMSG_F_STREAM), -EAGAIN);
    assert_int_equal(m->err, SIPMSG_E_INCOMPLETE);
    free(m);
}

/* A request with n header lines: the five mandatory ones, Content-Length,
 * and X- fillers. */
static char *many_headers(unsigned n, size_t *len)
{
    size_t cap = 64 + (size_t)n * 32, o = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    o += (size_t)snprintf(s + o, cap - o,
                          "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                          "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
                          "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n");
    for (unsigned i = 6; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "X-%u: %u\r\n", i, i);
    o += (size_t)snprintf(s + o, cap - o, "\r\n");
    assert_true(o < cap);
    *len = o;
    return s;
}

static void test_too_many_headers(void **state)
{
    struct sipmsg *m = new_msg();
    size_t len;
    char *s = many_headers(SIPMSG_MAX_HDRS, &len), *buf;

    (void)state;
    assert_int_equal(parse_str(m, s, len, 0, &buf), 0);
    assert_int_equal(m->nhdrs, SIPMSG_MAX_HDRS);
    free(buf);
    free(s);
    s = many_headers(SIPMSG_MAX_HDRS + 1, &len);
    assert_int_equal(parse_str(m, s, len, 0, &buf), -E2BIG);
    assert_int_equal(m->err, SIPMSG_E_TOO_MANY_HDRS);
    free(buf);
    free(s);
    free(m);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = 0; e < SIPMSG_E__COUNT; e++)
        assert_string_not_equal(sipmsg_strerror((enum sipmsg_err)e), "unknown error");
    assert_string_equal(sipmsg_strerror(SIPMSG_E__COUNT), "unknown error");
    assert_string_equal(sipmsg_strerror(SIPMSG_E_MISSING_CALL_ID), "missing Call-ID");
    assert_string_equal(sipmsg_strerror(SIPMSG_E_CSEQ_MISMATCH), "CSeq method mismatch");
    assert_string_equal(sipmsg_strerror(SIPMSG_E_CLEN_EXCEEDS), "Content-Length exceeds datagram");
}

/* Header names are RFC 3261 §25.1 tokens, no more, no less. */
static void test_hdr_name_chars(void **state)
{
    static const char token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789-.!%*_+`'~";
    struct sipmsg *m = new_msg();
    char msg[256];

    (void)state;
    for (int c = 0; c < 256; c++) {
        int n = snprintf(msg, sizeof(msg), "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                                           "From: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                                           "CSeq: 1 OPTIONS\r\nX%cY: v\r\n\r\n", c ? c : '#');
        if (c == 0)
            msg[n - 9] = '\0';   /* the byte after "X" */
        assert_int_equal(msg[n - 10], 'X');
        bool ok = (c != 0 && strchr(token, c)) || c == ':';
        int rc = sipmsg_parse(m, msg, (size_t)n, 0);
        if ((rc == 0) != ok)
            fail_msg("byte 0x%02x: rc %d (%s)", c, rc, sipmsg_strerror(m->err));
        if (ok && c != ':')
            assert_int_equal(m->hdrs[5].name.n, 3);
    }
    free(m);
}

/* Every byte value at every offset within 8-byte chunks of a header value:
 * only CTLs other than HTAB are refused (and CR/LF as bare line ends). */
static void test_value_bytes(void **state)
{
    static const char head[] = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                               "From: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                               "CSeq: 1 OPTIONS\r\nX: ";
    struct sipmsg *m = new_msg();
    char msg[256];

    (void)state;
    for (int c = 0; c < 256; c++) {
        for (size_t off = 0; off < 20; off++) {
            size_t n = sizeof(head) - 1;
            memcpy(msg, head, n);
            memset(msg + n, 'a', 20);
            msg[n + off] = (char)c;
            memcpy(msg + n + 20, "z\r\n\r\n", 5);
            n += 25;
            bool ok = !((c < 0x20 && c != '\t') || c == 0x7f);
            int rc = sipmsg_parse(m, msg, n, 0);
            if ((rc == 0) != ok)
                fail_msg("byte 0x%02x at %zu: rc %d (%s)", c, off, rc, sipmsg_strerror(m->err));
            if (!ok) {
                enum sipmsg_err want = c == '\r' ? SIPMSG_E_BARE_CR
                                     : c == '\n' ? SIPMSG_E_BARE_LF : SIPMSG_E_CTL;
                assert_int_equal(m->err, want);
                assert_int_equal(m->err_off, sizeof(head) - 1 + off);
            } else {
                assert_int_equal(m->hdrs[5].value.n, off == 0 && (c == ' ' || c == '\t') ? 20 : 21);
            }
        }
    }
    free(m);
}

/* ---- header access ------------------------------------------------------ */

static void test_hdr_lookup(void **state)
{
    static const struct { const char *name; enum sipmsg_hdr_id id; } tab[] = {
        { "Via", SIPMSG_HDR_VIA }, { "v", SIPMSG_HDR_VIA }, { "V", SIPMSG_HDR_VIA },
        { "vIA", SIPMSG_HDR_VIA }, { "f", SIPMSG_HDR_FROM }, { "t", SIPMSG_HDR_TO },
        { "i", SIPMSG_HDR_CALL_ID }, { "CALL-ID", SIPMSG_HDR_CALL_ID },
        { "m", SIPMSG_HDR_CONTACT }, { "e", SIPMSG_HDR_CONTENT_ENCODING },
        { "l", SIPMSG_HDR_CONTENT_LENGTH }, { "c", SIPMSG_HDR_CONTENT_TYPE },
        { "s", SIPMSG_HDR_SUBJECT }, { "k", SIPMSG_HDR_SUPPORTED },
        { "o", SIPMSG_HDR_EVENT }, { "r", SIPMSG_HDR_REFER_TO },
        { "u", SIPMSG_HDR_ALLOW_EVENTS }, { "x", SIPMSG_HDR_SESSION_EXPIRES },
        { "b", SIPMSG_HDR_REFERRED_BY }, { "a", SIPMSG_HDR_OTHER },
        { "CSeq", SIPMSG_HDR_CSEQ }, { "Max-Forwards", SIPMSG_HDR_MAX_FORWARDS },
        { "Route", SIPMSG_HDR_ROUTE }, { "Record-Route", SIPMSG_HDR_RECORD_ROUTE },
        { "Path", SIPMSG_HDR_PATH }, { "Service-Route", SIPMSG_HDR_SERVICE_ROUTE },
        { "Require", SIPMSG_HDR_REQUIRE }, { "Proxy-Require", SIPMSG_HDR_PROXY_REQUIRE },
        { "Unsupported", SIPMSG_HDR_UNSUPPORTED }, { "Expires", SIPMSG_HDR_EXPIRES },
        { "Min-Expires", SIPMSG_HDR_MIN_EXPIRES }, { "Flow-Timer", SIPMSG_HDR_FLOW_TIMER },
        { "Authorization", SIPMSG_HDR_AUTHORIZATION },
        { "Proxy-Authorization", SIPMSG_HDR_PROXY_AUTHORIZATION },
        { "WWW-Authenticate", SIPMSG_HDR_WWW_AUTHENTICATE },
        { "Proxy-Authenticate", SIPMSG_HDR_PROXY_AUTHENTICATE },
        { "Authentication-Info", SIPMSG_HDR_AUTHENTICATION_INFO },
        { "Retry-After", SIPMSG_HDR_RETRY_AFTER }, { "User-Agent", SIPMSG_HDR_USER_AGENT },
        { "Server", SIPMSG_HDR_SERVER }, { "Allow", SIPMSG_HDR_ALLOW },
        { "Allow-Events", SIPMSG_HDR_ALLOW_EVENTS }, { "Event", SIPMSG_HDR_EVENT },
        { "Subscription-State", SIPMSG_HDR_SUBSCRIPTION_STATE },
        { "Refer-To", SIPMSG_HDR_REFER_TO }, { "Referred-By", SIPMSG_HDR_REFERRED_BY },
        { "Session-Expires", SIPMSG_HDR_SESSION_EXPIRES }, { "Accept", SIPMSG_HDR_ACCEPT },
        { "Date", SIPMSG_HDR_DATE }, { "Timestamp", SIPMSG_HDR_TIMESTAMP },
        { "Warning", SIPMSG_HDR_WARNING }, { "content-type", SIPMSG_HDR_CONTENT_TYPE },
        { "Content-Encoding", SIPMSG_HDR_CONTENT_ENCODING }, { "Supported", SIPMSG_HDR_SUPPORTED },
        { "Contact", SIPMSG_HDR_CONTACT }, { "Subject", SIPMSG_HDR_SUBJECT },
        { "To", SIPMSG_HDR_TO }, { "From", SIPMSG_HDR_FROM },
        { "Vias", SIPMSG_HDR_OTHER }, { "Call_ID", SIPMSG_HDR_OTHER },
        { "X-Foo", SIPMSG_HDR_OTHER }, { "Tox", SIPMSG_HDR_OTHER },
        { "Call\rID", SIPMSG_HDR_OTHER }, { "", SIPMSG_HDR_OTHER },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (sipmsg_hdr_lookup(slice_cstr(tab[i].name)) != tab[i].id)
            fail_msg("lookup %s", tab[i].name);
    }
    assert_int_equal(sipmsg_hdr_lookup(SLICE_NULL), SIPMSG_HDR_OTHER);
}

static void test_hdr_find_next(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf = parse_corpus(m, "via_transports");
    int i, n = 0;

    (void)state;
    assert_ptr_equal(sipmsg_hdr_find(m, SIPMSG_HDR_VIA), &m->hdrs[6]);
    assert_null(sipmsg_hdr_find(m, SIPMSG_HDR_CONTACT));
    for (i = sipmsg_hdr_next(m, SIPMSG_HDR_VIA, -1); i >= 0; i = sipmsg_hdr_next(m, SIPMSG_HDR_VIA, i))
        n++;
    assert_int_equal(n, 5);
    assert_int_equal(sipmsg_hdr_next(m, SIPMSG_HDR_CONTACT, -1), -ENOENT);
    assert_int_equal(sipmsg_hdr_next(m, SIPMSG_HDR__COUNT, -1), -ENOENT);
    /* By name: compact and full forms are the same header. */
    assert_int_equal(sipmsg_hdr_next_name(m, SLICE_LIT("v"), -1), 6);
    assert_int_equal(sipmsg_hdr_next_name(m, SLICE_LIT("content-length"), -1), 11);
    free(buf);

    buf = parse_corpus(m, "long_values");
    i = sipmsg_hdr_next_name(m, SLICE_LIT("X-LONG"), -1);
    assert_int_equal(i, 10);
    assert_int_equal(sipmsg_hdr_next_name(m, SLICE_LIT("x-long"), i), -ENOENT);
    assert_int_equal(sipmsg_hdr_next(m, SIPMSG_HDR_OTHER, -1), 4);
    assert_int_equal(sipmsg_hdr_next(m, SIPMSG_HDR_OTHER, 4), 10);
    assert_int_equal(sipmsg_hdr_next_name(m, SLICE_LIT("X-Absent"), -1), -ENOENT);
    free(buf);
    free(m);
}

/* ---- value iterator ----------------------------------------------------- */

static unsigned collect(struct sipmsg_valit *it, struct slice *vals, unsigned *idx,
                        unsigned max)
{
    unsigned n = 0;
    struct slice v;
    unsigned hi;

    while (sipmsg_valit_next(it, &v, &hi)) {
        assert_true(n < max);
        vals[n] = v;
        idx[n++] = hi;
    }
    assert_false(sipmsg_valit_next(it, &v, NULL));   /* stays exhausted */
    return n;
}

static void test_valit_contacts(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf = parse_corpus(m, "multi_contact");
    struct sipmsg_valit it;
    struct slice v[8];
    unsigned idx[8];

    (void)state;
    sipmsg_valit_init(&it, m, SIPMSG_HDR_CONTACT);
    assert_int_equal(collect(&it, v, idx, 8), 5);
    ASSERT_SLICE(v[0], "\"a,b\" <sip:x@y;a=1,2>");
    ASSERT_SLICE(v[1], "<sip:z@w>");
    ASSERT_SLICE(v[2], "sip:q@r;expires=30");
    ASSERT_SLICE(v[3], "\"Esc \\\"q,\\\\\" <sip:e@f> ;q=0.5");
    ASSERT_SLICE(v[4], "*");
    assert_int_equal(idx[0], 5);
    assert_int_equal(idx[1], 5);
    assert_int_equal(idx[2], 6);
    assert_int_equal(idx[3], 6);
    assert_int_equal(idx[4], 7);

    /* One header line only. */
    sipmsg_valit_init_hdr(&it, m, 6);
    assert_int_equal(collect(&it, v, idx, 8), 2);
    ASSERT_SLICE(v[1], "\"Esc \\\"q,\\\\\" <sip:e@f> ;q=0.5");
    sipmsg_valit_init_hdr(&it, m, 99);
    assert_int_equal(collect(&it, v, idx, 8), 0);
    sipmsg_valit_init(&it, m, SIPMSG_HDR_ROUTE);
    assert_int_equal(collect(&it, v, idx, 8), 0);
    free(buf);
    free(m);
}

static void test_valit_folded_and_empty(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf = parse_corpus(m, "torture_ws");
    struct sipmsg_valit it;
    struct slice v[8];
    unsigned idx[8];
    int i;

    (void)state;
    sipmsg_valit_init(&it, m, SIPMSG_HDR_VIA);
    assert_int_equal(collect(&it, v, idx, 8), 3);
    ASSERT_SLICE(v[0], "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=z9hG4bKws0001");
    ASSERT_SLICE(v[1], "SIP  / 2.0  / TCP     spindle.example.org   ;\r\n  branch  =   z9hG4bKws0002");
    ASSERT_SLICE(v[2], "SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bKws0003");

    /* Empty elements are skipped. */
    i = sipmsg_hdr_next_name(m, SLICE_LIT("UnknownHeaderWithUnusualValue"), -1);
    assert_true(i >= 0);
    sipmsg_valit_init_hdr(&it, m, (unsigned)i);
    assert_int_equal(collect(&it, v, idx, 8), 3);
    ASSERT_SLICE(v[0], ";;");
    ASSERT_SLICE(v[1], ";;");
    ASSERT_SLICE(v[2], ";");

    /* Empty value: no elements. */
    sipmsg_valit_init(&it, m, SIPMSG_HDR_SUBJECT);
    assert_int_equal(collect(&it, v, idx, 8), 0);

    /* Contact with a quoted string holding escaped quotes. */
    sipmsg_valit_init(&it, m, SIPMSG_HDR_CONTACT);
    assert_int_equal(collect(&it, v, idx, 8), 1);
    free(buf);

    buf = parse_corpus(m, "resp_302");
    sipmsg_valit_init(&it, m, SIPMSG_HDR_CONTACT);
    assert_int_equal(collect(&it, v, idx, 8), 3);
    ASSERT_SLICE(v[2], "<sip:b@192.0.2.32>");
    free(buf);

    buf = parse_corpus(m, "semicolon_user");
    sipmsg_valit_init(&it, m, SIPMSG_HDR_ACCEPT);
    assert_int_equal(collect(&it, v, idx, 8), 6);
    ASSERT_SLICE(v[1], "application/pkcs7-mime");
    ASSERT_SLICE(v[2], "multipart/mixed");
    ASSERT_SLICE(v[5], "message/sipfrag");
    free(buf);
    free(m);
}

static void test_valit_not_split(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf = parse_corpus(m, "resp_401");
    struct sipmsg_valit it;
    struct slice v[8];
    unsigned idx[8];

    (void)state;
    assert_false(sipmsg_hdr_is_list(SIPMSG_HDR_WWW_AUTHENTICATE));
    assert_true(sipmsg_hdr_is_list(SIPMSG_HDR_VIA));
    assert_true(sipmsg_hdr_is_list(SIPMSG_HDR_OTHER));
    sipmsg_valit_init(&it, m, SIPMSG_HDR_WWW_AUTHENTICATE);
    assert_int_equal(collect(&it, v, idx, 8), 2);
    ASSERT_SLICE(v[0], "Digest algorithm=MD5, realm=\"asterisk\", nonce=\"1a2b3c4d\", qop=\"auth,auth-int\"");
    ASSERT_SLICE(v[1], "Digest algorithm=SHA-256, realm=\"asterisk\", nonce=\"5e6f\"");
    free(buf);

    buf = parse_corpus(m, "resp_200_register");
    sipmsg_valit_init(&it, m, SIPMSG_HDR_DATE);
    assert_int_equal(collect(&it, v, idx, 8), 1);
    ASSERT_SLICE(v[0], "Sat, 13 Nov 2010 23:29:00 GMT");
    sipmsg_valit_init(&it, m, SIPMSG_HDR_SUPPORTED);
    assert_int_equal(collect(&it, v, idx, 8), 3);
    ASSERT_SLICE(v[0], "outbound");
    ASSERT_SLICE(v[1], "path");
    ASSERT_SLICE(v[2], "gruu");
    sipmsg_valit_init(&it, m, SIPMSG_HDR_CONTACT);
    assert_int_equal(collect(&it, v, idx, 8), 2);
    ASSERT_SLICE(v[1], "<sip:2001@10.9.9.9>;expires=12");
    free(buf);
    free(m);
}

static void test_valit_unterminated(void **state)
{
    struct sipmsg *m = new_msg();
    char *buf;
    struct sipmsg_valit it;
    struct slice v[8];
    unsigned idx[8];

    (void)state;
    assert_int_equal(PARSE_LIT(m, "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                                  "From: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                                  "CSeq: 1 OPTIONS\r\nX-Q: \"abc, def\\\r\n"
                                  "X-A: <sip:a,b , c\r\n\r\n", 0, &buf), 0);
    sipmsg_valit_init_hdr(&it, m, 5);
    assert_int_equal(collect(&it, v, idx, 8), 1);
    ASSERT_SLICE(v[0], "\"abc, def\\");
    sipmsg_valit_init_hdr(&it, m, 6);
    assert_int_equal(collect(&it, v, idx, 8), 1);
    ASSERT_SLICE(v[0], "<sip:a,b , c");
    free(buf);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_all_prefixes),
        cmocka_unit_test(test_prefix_semantics),
        cmocka_unit_test(test_prefix_no_clen),
        cmocka_unit_test(test_parse_details),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_hdr_name_chars),
        cmocka_unit_test(test_value_bytes),
        cmocka_unit_test(test_hdr_lookup),
        cmocka_unit_test(test_hdr_find_next),
        cmocka_unit_test(test_valit_contacts),
        cmocka_unit_test(test_valit_folded_and_empty),
        cmocka_unit_test(test_valit_not_split),
        cmocka_unit_test(test_valit_unterminated),
    };

    return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
