/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sip/via: the top Via's element and branch (present,
 * absent, a flag, a Via list over several lines, no Via, one that does not
 * parse) and the branch makers' exact formats, truncation and randomness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/via.h"

static const char *with_vias(const char *vias)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "SIP/2.0 200 OK\r\n%s"
             "From: <sip:a@example.net>;tag=1\r\n"
             "To: <sip:a@example.net>;tag=2\r\n"
             "Call-ID: c1\r\n"
             "CSeq: 1 REGISTER\r\n"
             "Content-Length: 0\r\n\r\n",
             vias);
    return buf;
}

static struct sipmsg *parse(const char *vias)
{
    struct sipmsg *m = malloc(sizeof(*m));
    const char *s = with_vias(vias);

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, s, strlen(s), 0), 0);
    return m;
}

static bool slice_is(struct slice s, const char *want)
{
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void test_top_branch(void **state)
{
    struct sipmsg *m = parse("Via: SIP/2.0/TCP 192.0.2.1:5060;rport;branch=z9hG4bKaa1, "
                             "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKbb2\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKcc3\r\n");
    struct sipvia_top top;

    (void)state;
    assert_int_equal(sipvia_top(m, &top), 0);
    assert_true(slice_is(top.elem, "SIP/2.0/TCP 192.0.2.1:5060;rport;branch=z9hG4bKaa1"));
    assert_true(slice_is(top.via.transport, "TCP"));
    assert_true(slice_is(top.via.host, "192.0.2.1"));
    assert_int_equal(top.via.port, 5060);
    assert_true(slice_is(top.branch, "z9hG4bKaa1"));
    assert_true(slice_is(sipvia_top_branch(m), "z9hG4bKaa1"));
    free(m);
}

/* The first element of the first Via header line, also when it is folded
 * over lines; a branch given as a flag or not at all reads as SLICE_NULL
 * while the Via itself is fine. */
static void test_no_branch(void **state)
{
    struct sipmsg *m = parse("Via: SIP/2.0/UDP 192.0.2.1;rport\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKbb2\r\n");
    struct sipvia_top top;

    (void)state;
    assert_int_equal(sipvia_top(m, &top), 0);
    assert_null(top.branch.p);
    assert_null(sipvia_top_branch(m).p);
    free(m);
    m = parse("Via: SIP/2.0/UDP 192.0.2.1;branch\r\n");
    assert_int_equal(sipvia_top(m, &top), 0);
    assert_null(top.branch.p);
    free(m);
    m = parse("Via: SIP/2.0/UDP 192.0.2.1\r\n  ;BRANCH=z9hG4bKx\r\n");
    assert_int_equal(sipvia_top(m, &top), 0);
    assert_true(slice_is(top.branch, "z9hG4bKx"));
    free(m);
}

static void test_no_via_or_bad_via(void **state)
{
    struct sipmsg none = { .nhdrs = 0 }, *m;
    struct sipvia_top top;

    (void)state;
    assert_int_equal(sipvia_top(&none, &top), -EBADMSG);
    assert_null(sipvia_top_branch(&none).p);
    m = parse("Via: garbage;branch=z9hG4bKaa1\r\n");
    assert_int_equal(sipvia_top(m, &top), -EBADMSG);
    assert_null(sipvia_top_branch(m).p);
    free(m);
}

/* The formats the callers had written out with snprintf, byte for byte. */
static void test_branch_formats(void **state)
{
    char b[64];

    (void)state;
    assert_int_equal(sipvia_branch(b, sizeof(b), "u", 0xdeadbeefu), 0);
    assert_string_equal(b, "z9hG4bKu00000000deadbeef");
    assert_int_equal(sipvia_branch(b, sizeof(b), "sk7.1.", UINT64_MAX), 0);
    assert_string_equal(b, "z9hG4bKsk7.1.ffffffffffffffff");
    assert_int_equal(sipvia_branch(b, sizeof(b), "", 1), 0);
    assert_string_equal(b, "z9hG4bK0000000000000001");
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strchr("0123456789abcdef", s[i]) || !s[i])
            return false;
    }
    return true;
}

static void test_branch_random(void **state)
{
    char a[48], b[48];

    (void)state;
    assert_int_equal(sipvia_branch_random(a, sizeof(a), "ka", 16), 0);
    assert_int_equal(strlen(a), 7 + 2 + 16);
    assert_memory_equal(a, "z9hG4bKka", 9);
    assert_true(all_hex(a + 9, 16));
    assert_int_equal(sipvia_branch_random(b, sizeof(b), "", 24), 0);
    assert_int_equal(strlen(b), 7 + 24);
    assert_memory_equal(b, "z9hG4bK", 7);
    assert_true(all_hex(b + 7, 24));
    /* 96 random bits: two draws that match mean no randomness. */
    assert_int_equal(sipvia_branch_random(a, sizeof(a), "", 24), 0);
    assert_string_not_equal(a, b);
}

/* Too small: -ENOSPC and an empty string, never a cut branch that could
 * match someone else's. */
static void test_branch_too_small(void **state)
{
    char b[25];

    (void)state;
    assert_int_equal(sipvia_branch(b, sizeof(b), "u", 1), 0); /* 24 + NUL fits */
    assert_int_equal(sipvia_branch(b, sizeof(b), "uu", 1), -ENOSPC);
    assert_string_equal(b, "");
    assert_int_equal(sipvia_branch_random(b, sizeof(b), "", 18), -ENOSPC);
    assert_string_equal(b, "");
    assert_int_equal(sipvia_branch_random(b, sizeof(b), "", 100), -ENOSPC);
    assert_string_equal(b, "");
    assert_int_equal(sipvia_branch(b, 0, "", 1), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_branch),
        cmocka_unit_test(test_no_branch),
        cmocka_unit_test(test_no_via_or_bad_via),
        cmocka_unit_test(test_branch_formats),
        cmocka_unit_test(test_branch_random),
        cmocka_unit_test(test_branch_too_small),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
