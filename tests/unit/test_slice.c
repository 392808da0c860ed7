/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/slice: slice_strdup (the one copy of a slice into a
 * new string, for config values and binding fields) and slice_copy_cstr,
 * which it rests on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/slice.h"

static void test_strdup_copies_n_bytes(void **state)
{
    const char *buf = "alice@example.net;tag=1";
    char *s;

    (void)state;
    /* A slice into a longer buffer: only its n bytes, then a NUL. */
    s = slice_strdup((struct slice){ buf, 17 });
    assert_non_null(s);
    assert_string_equal(s, "alice@example.net");
    assert_ptr_not_equal(s, buf);
    free(s);
    s = slice_strdup(SLICE_LIT(""));
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    /* Absent: an empty string, not NULL (NULL means no memory). */
    s = slice_strdup(SLICE_NULL);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_copy_cstr_bounds(void **state)
{
    char dst[6];

    (void)state;
    assert_int_equal(slice_copy_cstr(SLICE_LIT("hello"), dst, sizeof(dst)), 0);
    assert_string_equal(dst, "hello");
    assert_int_equal(slice_copy_cstr(SLICE_LIT("hello!"), dst, sizeof(dst)), -ENOSPC);
    assert_string_equal(dst, "");
    assert_int_equal(slice_copy_cstr(SLICE_LIT("x"), dst, 0), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strdup_copies_n_bytes),
        cmocka_unit_test(test_copy_cstr_bounds),
    };
    return cmocka_run_group_tests_name("slice", tests, NULL, NULL);
}
