/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sip/sipchar: every byte of the table against the classes
 * written out as RFC 3261 §25.1 and RFC 5234 spell them, and the scanners
 * built on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sip/sipchar.h"

#define ALPHA "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

static bool in(int c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

/* All 256 bytes, each class against its written-out definition. */
static void test_table_matches_rfc(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        unsigned char b = (unsigned char)c;

        assert_int_equal(sipchar_is_alpha(b), in(c, ALPHA));
        assert_int_equal(sipchar_is_digit(b), in(c, DIGIT));
        assert_int_equal(sipchar_is_alnum(b), in(c, ALPHA DIGIT));
        assert_int_equal(sipchar_is_hex(b), in(c, DIGIT "ABCDEFabcdef"));
        assert_int_equal(sipchar_is_token(b), in(c, ALPHA DIGIT "-.!%*_+`'~"));
        assert_int_equal(sipchar_is_unreserved(b), in(c, ALPHA DIGIT "-_.!~*'()"));
        assert_int_equal(sipchar_is_wsp(b), in(c, " \t"));
        assert_int_equal(sipchar_is_lws(b), in(c, " \t\r\n"));
        assert_int_equal(sipchar_is_ctl(b), c < 0x20 || c == 0x7f);
    }
}

/* A signed char above 0x7f (negative) is in no class. */
static void test_high_bytes_signed(void **state)
{
    const char s[] = "\xe4\x80\xff";

    (void)state;
    for (size_t i = 0; i < sizeof(s) - 1; i++) {
        assert_false(sipchar_is_token(s[i]));
        assert_false(sipchar_is_ctl(s[i]));
        assert_int_equal(sipchar_hex_val(s[i]), -1);
    }
}

static void test_hex_val(void **state)
{
    (void)state;
    assert_int_equal(sipchar_hex_val('0'), 0);
    assert_int_equal(sipchar_hex_val('9'), 9);
    assert_int_equal(sipchar_hex_val('a'), 10);
    assert_int_equal(sipchar_hex_val('F'), 15);
    assert_int_equal(sipchar_hex_val('g'), -1);
    assert_int_equal(sipchar_hex_val('G'), -1);
    assert_int_equal(sipchar_hex_val('/'), -1);
    assert_int_equal(sipchar_hex_val(':'), -1);
    assert_int_equal(sipchar_hex_val('@'), -1);
    assert_int_equal(sipchar_hex_val('`'), -1);
}

static void test_all_token(void **state)
{
    (void)state;
    assert_true(sipchar_all_token(SLICE_LIT("INVITE")));
    assert_true(sipchar_all_token(SLICE_LIT("a-b.c!d%e*f_g+h`i'j~")));
    assert_false(sipchar_all_token(SLICE_LIT("")));
    assert_false(sipchar_all_token(SLICE_NULL));
    assert_false(sipchar_all_token(SLICE_LIT("IN VITE")));
    assert_false(sipchar_all_token(SLICE_LIT("a:b")));
    assert_false(sipchar_all_token((struct slice){ "ab\0c", 4 }));
}

static void test_scheme_len(void **state)
{
    (void)state;
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("sip:a@b")), 3);
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("sips:")), 4);
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("x-a.b+1:z")), 7);
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("a:")), 1);
    assert_int_equal(sipchar_scheme_len(SLICE_LIT(":x")), 0);  /* empty scheme */
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("1sip:x")), 0); /* starts with a digit */
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("si p:x")), 0);
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("sip")), 0);    /* no ':' */
    assert_int_equal(sipchar_scheme_len(SLICE_LIT("")), 0);
    assert_int_equal(sipchar_scheme_len(SLICE_NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_rfc),
        cmocka_unit_test(test_high_bytes_signed),
        cmocka_unit_test(test_hex_val),
        cmocka_unit_test(test_all_token),
        cmocka_unit_test(test_scheme_len),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
