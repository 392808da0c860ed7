/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/hash: the published FNV-1a vectors (Fowler/Noll/Vo
 * test suite), continuation over pieces, and the case-folding variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/hash.h"

static uint32_t fnv32(const char *s)
{
    return hash_fnv32(HASH_FNV32_INIT, s, strlen(s));
}

static uint64_t fnv64(const char *s)
{
    return hash_fnv64(HASH_FNV64_INIT, s, strlen(s));
}

static void test_fnv32_vectors(void **state)
{
    (void)state;
    assert_int_equal(fnv32(""), 0x811c9dc5u);
    assert_int_equal(fnv32("a"), 0xe40c292cu);
    assert_int_equal(fnv32("foobar"), 0xbf9cf968u);
    assert_int_equal(hash_fnv32(HASH_FNV32_INIT, NULL, 0), 0x811c9dc5u);
}

static void test_fnv64_vectors(void **state)
{
    (void)state;
    assert_true(fnv64("") == 0xcbf29ce484222325u);
    assert_true(fnv64("a") == 0xaf63dc4c8601ec8cu);
    assert_true(fnv64("foobar") == 0x85944171f73967e8u);
}

/* Hashing "foo" then "bar" is hashing "foobar": callers hash a key made of
 * parts (a seed, a branch, an address) without building it. */
static void test_continuation(void **state)
{
    (void)state;
    assert_int_equal(hash_fnv32(hash_fnv32(HASH_FNV32_INIT, "foo", 3), "bar", 3),
                     0xbf9cf968u);
    assert_true(hash_fnv64(hash_fnv64(HASH_FNV64_INIT, "foo", 3), "bar", 3) ==
                0x85944171f73967e8u);
}

/* Bytes above 0x7f are hashed as unsigned: a sign-extended char would give
 * another value. */
static void test_high_bytes(void **state)
{
    const unsigned char b[] = { 0xff };

    (void)state;
    assert_int_equal(hash_fnv32(HASH_FNV32_INIT, b, 1), (0x811c9dc5u ^ 0xffu) * 16777619u);
    assert_true(hash_fnv64(HASH_FNV64_INIT, b, 1) ==
                (0xcbf29ce484222325u ^ 0xffu) * 1099511628211u);
}

static void test_fnv64_ci(void **state)
{
    (void)state;
    assert_true(hash_fnv64_ci(HASH_FNV64_INIT, "FooBAR", 6) == 0x85944171f73967e8u);
    assert_true(hash_fnv64_ci(HASH_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8u);
    /* Only ASCII letters fold: '@' (just below 'A') and '[' (just above
     * 'Z') are not '`' and '{'. */
    assert_true(hash_fnv64_ci(HASH_FNV64_INIT, "@[", 2) == fnv64("@["));
    assert_true(hash_fnv64_ci(HASH_FNV64_INIT, "@[", 2) != fnv64("`{"));
    /* The plain variant does not fold. */
    assert_true(fnv64("FooBAR") != 0x85944171f73967e8u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv32_vectors),
        cmocka_unit_test(test_fnv64_vectors),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_high_bytes),
        cmocka_unit_test(test_fnv64_ci),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
