/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for transparent mode's capability check: the message names
 * exactly the missing capabilities; capget works for this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/privdrop.h"
#include "intercept/tcaps.h"

static void test_check(void **state)
{
    char msg[128] = "untouched";
    uint64_t need = tcaps_needed();

    (void)state;
    assert_int_equal(need, PRIVDROP_CAP_NET_ADMIN | PRIVDROP_CAP_NET_RAW);
    assert_int_equal(tcaps_check(need | PRIVDROP_CAP(0), need, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "untouched");
    assert_int_equal(tcaps_check(0, need, msg, sizeof(msg)), -EPERM);
    assert_string_equal(msg, "missing capability CAP_NET_ADMIN,CAP_NET_RAW");
    assert_int_equal(tcaps_check(PRIVDROP_CAP_NET_ADMIN, need, msg, sizeof(msg)), -EPERM);
    assert_string_equal(msg, "missing capability CAP_NET_RAW");
    assert_int_equal(tcaps_check(PRIVDROP_CAP_NET_RAW, need, msg, sizeof(msg)), -EPERM);
    assert_string_equal(msg, "missing capability CAP_NET_ADMIN");
    assert_int_equal(tcaps_check(0, PRIVDROP_CAP(1), msg, sizeof(msg)), -EPERM);
    assert_string_equal(msg, "missing capability 0x2");
    /* truncation is safe */
    assert_int_equal(tcaps_check(0, need, msg, 10), -EPERM);
    assert_string_equal(msg, "missing c");
}

static void test_effective(void **state)
{
    uint64_t eff = UINT64_MAX;

    (void)state;
    assert_int_equal(tcaps_effective(&eff), 0);
    assert_int_not_equal(eff, UINT64_MAX); /* bits above the last cap are 0 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_effective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
