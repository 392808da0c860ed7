/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for stream framing: messages split and glued, CRLF ping/pong
 * between and before messages in both roles, Content-Length forms and
 * errors, size limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/frame.h"
#include "sip/frame_int.h"

static const char msg1[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1\r\n"
    "Subject: l: 7\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";
#define MSG1_HDR (sizeof(msg1) - 1 - 5)

static const char msg2[] =
    "SIP/2.0 200 OK\r\n"
    "l:0\r\n"
    "\r\n";

/* frame_next_role() on a heap copy of exactly len bytes (ASan sees any
 * read past the end). */
static int frame_exact(const char *buf, size_t len, enum frame_role role,
                       struct frame_result *fr)
{
    char *copy = malloc(len ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    r = frame_next_role(copy, len, role, fr);
    free(copy);
    return r;
}

static int frame_str(const char *s, enum frame_role role, struct frame_result *fr)
{
    return frame_exact(s, strlen(s), role, fr);
}

static void test_whole_message(void **state)
{
    struct frame_result fr;

    (void)state;
    assert_int_equal(frame_next(msg1, sizeof(msg1) - 1, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
    assert_int_equal(fr.len, sizeof(msg1) - 1);
    assert_int_equal(fr.hdr_len, MSG1_HDR);
    assert_int_equal(fr.body_len, 5);
    assert_int_equal(frame_str(msg2, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
    assert_int_equal(fr.len, sizeof(msg2) - 1);
    assert_int_equal(fr.body_len, 0);
}

/* Every proper prefix of a message is incomplete, with the right "need". */
static void test_split_at_every_byte(void **state)
{
    struct frame_result fr;
    size_t total = sizeof(msg1) - 1;

    (void)state;
    for (size_t k = 0; k < total; k++) {
        assert_int_equal(frame_exact(msg1, k, FRAME_ROLE_CLIENT, &fr), 0);
        assert_int_equal(fr.kind, FRAME_NEED_MORE);
        assert_int_equal(fr.len, 0);
        assert_int_equal(fr.need, k < MSG1_HDR ? k + 1 : total);
        if (k >= MSG1_HDR)
            assert_int_equal(fr.body_len, 5);
    }
    assert_int_equal(frame_exact(msg1, total, FRAME_ROLE_SERVER, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
}

static void test_two_messages_glued(void **state)
{
    char buf[512];
    size_t n1 = sizeof(msg1) - 1, n2 = sizeof(msg2) - 1;
    struct frame_result fr;

    (void)state;
    memcpy(buf, msg1, n1);
    memcpy(buf + n1, msg2, n2);
    assert_int_equal(frame_exact(buf, n1 + n2, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
    assert_int_equal(fr.len, n1);
    assert_int_equal(frame_exact(buf + n1, n2, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
    assert_int_equal(fr.len, n2);
    /* and the second one cut short */
    assert_int_equal(frame_exact(buf + n1, n2 - 1, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_NEED_MORE);
}

/* Feeds stream in chunks of `chunk` bytes into a receive buffer, consuming
 * each unit as reported, and writes the kinds seen into out (as letters:
 * M message, I ping, O pong). */
static void run_stream(const char *stream, size_t len, size_t chunk, enum frame_role role,
                       char *out, size_t outsz)
{
    char buf[1024];
    size_t have = 0, fed = 0, o = 0;

    while (fed < len || have > 0) {
        struct frame_result fr;
        size_t k = len - fed < chunk ? len - fed : chunk;

        memcpy(buf + have, stream + fed, k);
        have += k;
        fed += k;
        for (;;) {
            assert_int_equal(frame_exact(buf, have, role, &fr), 0);
            if (fr.kind == FRAME_NEED_MORE)
                break;
            assert_true(fr.len > 0 && fr.len <= have);
            assert_true(o + 1 < outsz);
            out[o++] = fr.kind == FRAME_MESSAGE ? 'M' : fr.kind == FRAME_PING ? 'I' : 'O';
            memmove(buf, buf + fr.len, have - fr.len);
            have -= fr.len;
        }
        if (fed == len)
            break;
    }
    assert_int_equal(have, 0);
    out[o] = '\0';
}

static void test_keepalives_between_messages(void **state)
{
    char stream[1024], kinds[32];
    size_t n = 0;

    (void)state;
    /* pong, message, ping, pong glued to a message, ping, message */
    n += (size_t)snprintf(stream + n, sizeof(stream) - n, "\r\n%s\r\n\r\n\r\n%s\r\n\r\n%s",
                          msg1, msg2, msg1);
    run_stream(stream, n, n, FRAME_ROLE_CLIENT, kinds, sizeof(kinds));
    assert_string_equal(kinds, "OMIOMIM");
    run_stream(stream, n, n, FRAME_ROLE_SERVER, kinds, sizeof(kinds));
    assert_string_equal(kinds, "OMIOMIM");
    /* Byte by byte: the server waits after a lone CRLF, so it still sees
     * the pings; the client reports each CRLF at once (a ping it receives
     * split reads as two pongs, the documented trade-off). */
    run_stream(stream, n, 1, FRAME_ROLE_SERVER, kinds, sizeof(kinds));
    assert_string_equal(kinds, "OMIOMIM");
    run_stream(stream, n, 1, FRAME_ROLE_CLIENT, kinds, sizeof(kinds));
    assert_string_equal(kinds, "OMOOOMOOM");
    /* every chunk size gives whole messages, for every split position */
    for (size_t c = 2; c < n; c++) {
        run_stream(stream, n, c, FRAME_ROLE_SERVER, kinds, sizeof(kinds));
        assert_string_equal(kinds, "OMIOMIM");
    }
}

static void test_crlf_cases(void **state)
{
    static const struct {
        const char *in;
        enum frame_role role;
        int ret;
        enum frame_kind kind;
        size_t len, need;
    } cases[] = {
        { "\r", FRAME_ROLE_CLIENT, 0, FRAME_NEED_MORE, 0, 2 },
        { "\r\n", FRAME_ROLE_CLIENT, 0, FRAME_PONG, 2, 0 },
        { "\r\n", FRAME_ROLE_SERVER, 0, FRAME_NEED_MORE, 0, 3 },
        { "\r\n\r", FRAME_ROLE_CLIENT, 0, FRAME_NEED_MORE, 0, 4 },
        { "\r\n\r", FRAME_ROLE_SERVER, 0, FRAME_NEED_MORE, 0, 4 },
        { "\r\n\r\n", FRAME_ROLE_CLIENT, 0, FRAME_PING, 4, 0 },
        { "\r\n\r\n", FRAME_ROLE_SERVER, 0, FRAME_PING, 4, 0 },
        { "\r\n\r\n\r\n", FRAME_ROLE_SERVER, 0, FRAME_PING, 4, 0 },
        { "\r\nINVITE", FRAME_ROLE_SERVER, 0, FRAME_PONG, 2, 0 },
        { "\r\nS", FRAME_ROLE_CLIENT, 0, FRAME_PONG, 2, 0 },
        { "\r\n\rX", FRAME_ROLE_CLIENT, 0, FRAME_PONG, 2, 0 },
        { "\rX", FRAME_ROLE_CLIENT, -EBADMSG, FRAME_ERROR, 0, 0 },
        { "\r\r", FRAME_ROLE_SERVER, -EBADMSG, FRAME_ERROR, 0, 0 },
        { "\n", FRAME_ROLE_CLIENT, -EBADMSG, FRAME_ERROR, 0, 0 },
        { "\n\n", FRAME_ROLE_SERVER, -EBADMSG, FRAME_ERROR, 0, 0 },
        { "", FRAME_ROLE_CLIENT, 0, FRAME_NEED_MORE, 0, 1 },
    };
    struct frame_result fr;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(frame_str(cases[i].in, cases[i].role, &fr), cases[i].ret);
        assert_int_equal(fr.kind, cases[i].kind);
        assert_int_equal(fr.len, cases[i].len);
        assert_int_equal(fr.need, cases[i].need);
    }
}

/* A message with the given Content-Length header line(s) and body. */
static int frame_with(const char *clen_lines, const char *body, struct frame_result *fr)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "OPTIONS sip:h SIP/2.0\r\n%s\r\n%s", clen_lines, body);

    assert_true(n > 0 && (size_t)n < sizeof(buf));
    return frame_exact(buf, (size_t)n, FRAME_ROLE_CLIENT, fr);
}

static void test_content_length_forms(void **state)
{
    static const char *good[] = {
        "Content-Length: 3\r\n",
        "content-length:3\r\n",
        "CONTENT-LENGTH   :   3  \r\n",
        "l: 3\r\n",
        "L:3\r\n",
        "Content-Length:\r\n 3\r\n",
        "Content-Length: 3\r\n\t \r\n",
        "Content-Length: 003\r\n",
        "l: 3\r\nContent-Length: 3\r\n",
        "X-Foo: a\r\n b\r\nl: 3\r\nX-l: 9\r\nContent-Length-X: 7\r\nSubject: Content-Length: 8\r\n",
    };
    struct frame_result fr;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (frame_with(good[i], "abc", &fr) != 0 || fr.kind != FRAME_MESSAGE || fr.body_len != 3)
            fail_msg("case %zu: %s", i, good[i]);
    }
}

static void test_content_length_errors(void **state)
{
    static const struct { const char *lines; int ret; } bad[] = {
        { "", -EBADMSG },                                /* missing */
        { "X-Content-Length: 3\r\n", -EBADMSG },         /* missing */
        { "Content-Length: abc\r\n", -EBADMSG },
        { "Content-Length: -1\r\n", -EBADMSG },
        { "Content-Length: +3\r\n", -EBADMSG },
        { "Content-Length:\r\n", -EBADMSG },
        { "Content-Length: 1 2\r\n", -EBADMSG },
        { "Content-Length: 3\r\nl: 4\r\n", -EBADMSG },   /* conflicting */
        { "Content-Length: 0x3\r\n", -EBADMSG },
        { "Content-Length: 1048577\r\n", -EMSGSIZE },
        { "Content-Length: 99999999999999999999999999\r\n", -EMSGSIZE },
    };
    struct frame_result fr;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (frame_with(bad[i].lines, "abc", &fr) != bad[i].ret || fr.kind != FRAME_ERROR ||
            fr.len != 0)
            fail_msg("case %zu: %s", i, bad[i].lines);
    }
    /* the limit itself is fine: the body is just not there yet */
    assert_int_equal(frame_with("Content-Length: 1048576\r\n", "abc", &fr), 0);
    assert_int_equal(fr.kind, FRAME_NEED_MORE);
    assert_int_equal(fr.need, fr.hdr_len + FRAME_MAX_BODY);
    /* a start line alone has no Content-Length */
    assert_int_equal(frame_str("OPTIONS sip:h SIP/2.0\r\n\r\n", FRAME_ROLE_CLIENT, &fr), -EBADMSG);
}

static void test_header_section_limit(void **state)
{
    size_t n = FRAME_MAX_HDR;
    char *buf = malloc(n + 64);
    struct frame_result fr;

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', n + 64);
    memcpy(buf, "OPTIONS sip:h SIP/2.0\r\nX: ", 26);
    assert_int_equal(frame_exact(buf, n - 1, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_NEED_MORE);
    assert_int_equal(frame_exact(buf, n, FRAME_ROLE_CLIENT, &fr), -EMSGSIZE);
    assert_int_equal(fr.kind, FRAME_ERROR);
    assert_int_equal(frame_exact(buf, n + 64, FRAME_ROLE_CLIENT, &fr), -EMSGSIZE);
    /* a header section of exactly FRAME_MAX_HDR bytes is accepted */
    memcpy(buf + n - 9, "\r\nl:0\r\n\r\n", 9);
    assert_int_equal(frame_exact(buf, n, FRAME_ROLE_CLIENT, &fr), 0);
    assert_int_equal(fr.kind, FRAME_MESSAGE);
    assert_int_equal(fr.len, n);
    free(buf);
}

static void test_garbage_and_arguments(void **state)
{
    struct frame_result fr;

    (void)state;
    assert_int_equal(frame_exact("\x16\x03\x01\x02\x00", 5, FRAME_ROLE_CLIENT, &fr), -EBADMSG);
    assert_int_equal(fr.kind, FRAME_ERROR);
    assert_int_equal(frame_exact("\0INVITE", 7, FRAME_ROLE_CLIENT, &fr), -EBADMSG);
    assert_int_equal(frame_exact(" INVITE", 7, FRAME_ROLE_CLIENT, &fr), -EBADMSG);
    assert_int_equal(frame_next(NULL, 3, &fr), -EINVAL);
    assert_int_equal(fr.kind, FRAME_ERROR);
    assert_int_equal(frame_next("x", 1, NULL), -EINVAL);
    assert_int_equal(frame_next(NULL, 0, &fr), 0);
    assert_int_equal(fr.kind, FRAME_NEED_MORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_message),
        cmocka_unit_test(test_split_at_every_byte),
        cmocka_unit_test(test_two_messages_glued),
        cmocka_unit_test(test_keepalives_between_messages),
        cmocka_unit_test(test_crlf_cases),
        cmocka_unit_test(test_content_length_forms),
        cmocka_unit_test(test_content_length_errors),
        cmocka_unit_test(test_header_section_limit),
        cmocka_unit_test(test_garbage_and_arguments),
    };

    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
