/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/rand: rand_uniform's bounds and arithmetic (the
 * back-off and keep-alive jitter of flow_calc.c and stunka.c rest on it),
 * rand_draw with an injected source and with the kernel's, rand_hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/rand.h"

static void test_uniform_bounds(void **state)
{
    (void)state;
    assert_int_equal(rand_uniform(1000, 2000, 0), 1000);
    assert_int_equal(rand_uniform(1000, 2000, UINT32_MAX), 2000);
    assert_int_equal(rand_uniform(7, 7, 12345), 7);
    /* Half way, rounded down: 1000 * 2147483647 / 4294967295 = 499. */
    assert_int_equal(rand_uniform(1000, 2000, UINT32_MAX / 2), 1499);
}

static void test_uniform_wide_span_no_overflow(void **state)
{
    (void)state;
    /* span * r would overflow 64 bits; the split arithmetic does not. */
    assert_true(rand_uniform(0, UINT64_MAX, UINT32_MAX) == UINT64_MAX);
    assert_true(rand_uniform(0, UINT64_MAX, 0) == 0);
    /* span = 3 * UINT32_MAX + 5, r = 2: 6 + 10 / UINT32_MAX = 6. */
    assert_int_equal(rand_uniform(10, 10 + 3ULL * UINT32_MAX + 5, 2), 16);
}

static uint32_t counting(void *ctx)
{
    return (*(uint32_t *)ctx)++;
}

static void test_draw_injected(void **state)
{
    uint32_t next = 41;
    struct rand_src src = { counting, &next };

    (void)state;
    assert_int_equal(rand_draw(&src), 41);
    assert_int_equal(rand_draw(&src), 42);
    assert_int_equal(next, 43);
}

static void test_draw_kernel(void **state)
{
    struct rand_src none = { NULL, NULL };
    uint32_t seen = 0;

    (void)state;
    /* 8 draws all zero: 2^-256 by chance, so a broken source shows. */
    for (int i = 0; i < 4; i++)
        seen |= rand_draw(&none) | rand_draw(NULL);
    assert_int_not_equal(seen, 0);
}

static void test_hex(void **state)
{
    char a[33], b[33], small[4];

    (void)state;
    rand_hex(a, sizeof(a), 32);
    rand_hex(b, sizeof(b), 32);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    rand_hex(small, sizeof(small), 10); /* clipped to outsz - 1 */
    assert_int_equal(strlen(small), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_bounds),
        cmocka_unit_test(test_uniform_wide_span_no_overflow),
        cmocka_unit_test(test_draw_injected),
        cmocka_unit_test(test_draw_kernel),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests_name("rand", tests, NULL, NULL);
}
