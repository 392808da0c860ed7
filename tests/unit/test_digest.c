/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for Digest authentication: the published vectors of RFC 2617
 * §3.5 and RFC 7616 §3.9.1 (checked independently with Python hashlib),
 * challenge parsing (quoting, algorithms, qop lists, malformed input) and
 * the Authorization value built from a parsed challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/digest.h"
#include "sip/digest_int.h"

#define N7616 "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define C7616 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

/* Parses a heap copy of exactly strlen(s) bytes so ASan sees overreads. */
static int parse_exact(struct digest_challenge *c, const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n ? n : 1);
    int r;

    assert_non_null(p);
    memcpy(p, s, n);
    r = digest_parse_challenge(c, (struct slice){ p, n });
    free(p);
    return r;
}

static void test_rfc2617_vector(void **state)
{
    char out[65];

    (void)state;
    assert_int_equal(digest_response_hex(DIGEST_MD5, false, "Mufasa", "testrealm@host.com",
                                         "Circle Of Life", "GET", "/dir/index.html",
                                         "dcd98b7102dd2f0e8b11d0f600bfb0c093", 1, "0a4f113b",
                                         "auth", out), 0);
    assert_string_equal(out, "6629fae49393a05397450978507c4ef1");
}

static void test_rfc7616_vectors(void **state)
{
    char out[65];

    (void)state;
    assert_int_equal(digest_response_hex(DIGEST_MD5, false, "Mufasa", "http-auth@example.org",
                                         "Circle of Life", "GET", "/dir/index.html", N7616, 1,
                                         C7616, "auth", out), 0);
    assert_string_equal(out, "8ca523f5e9506fed4657c9700eebdbec");
    assert_int_equal(digest_response_hex(DIGEST_SHA256, false, "Mufasa",
                                         "http-auth@example.org", "Circle of Life", "GET",
                                         "/dir/index.html", N7616, 1, C7616, "auth", out), 0);
    assert_string_equal(out, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* Without qop (RFC 2069 form) and with nc > 1; vectors from hashlib. */
static void test_sip_vectors(void **state)
{
    char out[65];

    (void)state;
    assert_int_equal(digest_response_hex(DIGEST_MD5, false, "alice", "example.com", "secret",
                                         "REGISTER", "sip:example.com", "abc", 0, NULL, NULL,
                                         out), 0);
    assert_string_equal(out, "dbe98f00688a08a2dbda0b12e8c71319");
    assert_int_equal(digest_response_hex(DIGEST_MD5, false, "alice", "example.com", "secret",
                                         "REGISTER", "sip:example.com", "abc", 2, "deadbeef",
                                         "auth", out), 0);
    assert_string_equal(out, "9977fec5eed4b6dedc640df7741473b4");
}

static void test_parse_full(void **state)
{
    struct digest_challenge c;

    (void)state;
    assert_int_equal(parse_exact(&c, "Digest realm=\"http-auth@example.org\", qop=\"auth, "
                                     "auth-int\", algorithm=SHA-256, nonce=\"" N7616 "\", "
                                     "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""),
                     0);
    assert_string_equal(c.realm, "http-auth@example.org");
    assert_string_equal(c.nonce, N7616);
    assert_true(c.has_opaque);
    assert_string_equal(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
    assert_int_equal(c.alg, DIGEST_SHA256);
    assert_false(c.sess);
    assert_true(c.qop_auth);
    assert_false(c.stale);
}

static void test_parse_variants(void **state)
{
    struct digest_challenge c;

    (void)state;
    /* Defaults: MD5, no qop (RFC 2069), escapes unquoted, case-insensitive. */
    assert_int_equal(parse_exact(&c, "digest  REALM = \"a\\\"b\" ,nonce=tok123,,stale=TRUE"), 0);
    assert_string_equal(c.realm, "a\"b");
    assert_string_equal(c.nonce, "tok123");
    assert_int_equal(c.alg, DIGEST_MD5);
    assert_false(c.qop_auth);
    assert_false(c.has_opaque);
    assert_true(c.stale);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess, "
                                     "domain=\"sip:x\", qop=\"auth\""), 0);
    assert_true(c.sess);
    assert_true(c.qop_auth);
}

static void test_parse_rejects(void **state)
{
    struct digest_challenge c;
    char big[DIGEST_NONCE_MAX + 64];

    (void)state;
    assert_int_equal(parse_exact(&c, "Basic realm=\"r\""), -EPROTONOSUPPORT);
    assert_int_equal(parse_exact(&c, ""), -EPROTONOSUPPORT);
    assert_int_equal(parse_exact(&c, "Digest nonce=\"n\""), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\""), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r, nonce=\"n\""), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\\"), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\" nonce=\"n\""), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=, nonce=\"n\""), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest =x"), -EBADMSG);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"),
                     -ENOTSUP);
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
                     -ENOTSUP);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "Digest realm=\"r\", nonce=", 24);
    assert_int_equal(parse_exact(&c, big), -ENAMETOOLONG);
}

static void test_authorize(void **state)
{
    struct digest_challenge c;
    char out[1024];
    size_t n;

    (void)state;
    assert_int_equal(parse_exact(&c, "Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth\", "
                                     "opaque=\"o\\\"q\""), 0);
    assert_int_equal(digest_authorize(&c, "alice", "secret", "REGISTER", "sip:example.com", 2,
                                      "deadbeef", out, sizeof(out), &n), 0);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", "
                             "uri=\"sip:example.com\", "
                             "response=\"9977fec5eed4b6dedc640df7741473b4\", algorithm=MD5, "
                             "cnonce=\"deadbeef\", qop=auth, nc=00000002, opaque=\"o\\\"q\"");
    assert_null(strstr(out, "secret"));
    /* RFC 2069 form: no cnonce, qop or nc. */
    assert_int_equal(parse_exact(&c, "Digest realm=\"example.com\", nonce=\"abc\""), 0);
    assert_int_equal(digest_authorize(&c, "alice", "secret", "REGISTER", "sip:example.com", 1,
                                      "x", out, sizeof(out), &n), 0);
    assert_string_equal(out, "Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", "
                             "uri=\"sip:example.com\", "
                             "response=\"dbe98f00688a08a2dbda0b12e8c71319\", algorithm=MD5");
    assert_int_equal(digest_authorize(&c, "alice", "secret", "REGISTER", "sip:example.com", 1,
                                      "x", out, 40, &n), -ENOSPC);
    assert_int_equal(digest_authorize(&c, "al\r\nice", "secret", "REGISTER", "sip:example.com",
                                      1, "x", out, sizeof(out), &n), -EINVAL);
    /* a CR/LF in an echoed value (here opaque) cannot reach the header */
    assert_int_equal(parse_exact(&c, "Digest realm=\"r\", nonce=\"n\", opaque=\"a\r\nVia: x\""), 0);
    assert_int_equal(digest_authorize(&c, "alice", "secret", "REGISTER", "sip:example.com", 1,
                                      "x", out, sizeof(out), &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc2617_vector), cmocka_unit_test(test_rfc7616_vectors),
        cmocka_unit_test(test_sip_vectors),    cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_variants), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_authorize),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
