/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/agelog.h (fake clock): an entry is found while
 * younger than keep_ms and not from then on; segments go back as a whole
 * once their newest entry is that old (by the timer, or by a put that
 * needs the room); an entry never straddles two segments; the byte cap
 * refuses a put and keeps nothing of it; stale and zero ids find nothing. */
#include "fake_clock.h"

#include <stdlib.h>
#include <string.h>

#include "core/agelog.h"

#define KEEP 32000u

struct fx {
    uint64_t now;
    struct loop *loop;
    struct agelog *l;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->loop = fake_loop_new(&f->now, 1000);
    assert_int_equal(agelog_new(&f->l, f->loop, KEEP, 4 * AGELOG_SEG_SIZE), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    agelog_free(f->l);
    loop_free(f->loop);
    free(f);
    return 0;
}

static void advance(struct fx *f, uint64_t ms)
{
    f->now += ms;
    loop_run_timers(f->loop);
}

static void expect(const struct fx *f, uint64_t id, const char *want)
{
    size_t n = 0;
    const char *p = agelog_get(f->l, id, &n);

    assert_non_null(p);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void test_kept_for_keep_ms(void **state)
{
    struct fx *f = *state;
    uint64_t a, b;
    size_t n;

    assert_null(agelog_get(f->l, 0, &n));
    assert_int_equal(agelog_bytes(f->l), 0);
    assert_int_equal(agelog_put(f->l, "SIP/2.0 200 OK\r\n\r\n", 18, &a), 0);
    assert_int_not_equal(a, 0);
    advance(f, 10000);
    assert_int_equal(agelog_put(f->l, "second", 6, &b), 0);
    assert_true(b > a);
    assert_int_equal(agelog_bytes(f->l), AGELOG_SEG_SIZE);
    advance(f, KEEP - 10000 - 1);
    expect(f, a, "SIP/2.0 200 OK\r\n\r\n");
    advance(f, 1);
    assert_null(agelog_get(f->l, a, &n)); /* keep_ms old: gone */
    expect(f, b, "second");
    /* The segment waits for its newest entry. */
    assert_int_equal(agelog_bytes(f->l), AGELOG_SEG_SIZE);
    advance(f, 10000 - 1);
    expect(f, b, "second");
    advance(f, 1);
    assert_null(agelog_get(f->l, b, &n));
    assert_int_equal(agelog_bytes(f->l), 0);
    /* Ids are never reused. */
    assert_int_equal(agelog_put(f->l, "third", 5, &a), 0);
    assert_true(a > b);
    expect(f, a, "third");
    assert_null(agelog_get(f->l, b, &n));
}

static void test_segments_and_cap(void **state)
{
    struct fx *f = *state;
    static char big[AGELOG_SEG_SIZE / 3];
    uint64_t id[16], extra;
    size_t n;
    int i;

    memset(big, 'x', sizeof(big));
    big[0] = 'a';
    /* Two of these fit a segment, the third starts the next one. */
    for (i = 0; i < 8; i++) {
        big[1] = (char)('0' + i);
        assert_int_equal(agelog_put(f->l, big, sizeof(big), &id[i]), 0);
        advance(f, 1000);
    }
    assert_int_equal(agelog_bytes(f->l), 4 * AGELOG_SEG_SIZE);
    for (i = 0; i < 8; i++) {
        const char *p = agelog_get(f->l, id[i], &n);

        assert_non_null(p);
        assert_int_equal(n, sizeof(big));
        assert_int_equal(p[1], '0' + i);
        assert_int_equal(p[n - 1], 'x');
    }
    /* Full (4 segments): refused, nothing kept, the others intact. */
    assert_int_equal(agelog_put(f->l, big, sizeof(big), &extra), -ENOSPC);
    assert_int_equal(agelog_bytes(f->l), 4 * AGELOG_SEG_SIZE);
    assert_non_null(agelog_get(f->l, id[7], &n));
    assert_int_equal(agelog_put(f->l, big, AGELOG_SEG_SIZE, &extra), -EMSGSIZE);
    /* The first segment's newest entry (id[1], put at +1 s) ages out:
     * the put that needs room finds it, even before the timer runs. */
    f->now += KEEP - 7000 - 1;
    assert_int_equal(agelog_put(f->l, big, sizeof(big), &extra), -ENOSPC);
    f->now += 1;
    assert_int_equal(agelog_put(f->l, big, sizeof(big), &extra), 0);
    assert_null(agelog_get(f->l, id[0], &n));
    assert_null(agelog_get(f->l, id[1], &n));
    assert_non_null(agelog_get(f->l, id[2], &n));
    assert_int_equal(agelog_bytes(f->l), 4 * AGELOG_SEG_SIZE);
    /* Everything ages out: every segment goes back. */
    advance(f, KEEP);
    assert_int_equal(agelog_bytes(f->l), 0);
    assert_null(agelog_get(f->l, extra, &n));
}

static void test_bad_params(void **state)
{
    uint64_t now;
    struct loop *loop = fake_loop_new(&now, 0);
    struct agelog *l;

    (void)state;
    assert_int_equal(agelog_new(&l, loop, 0, AGELOG_SEG_SIZE), -EINVAL);
    assert_int_equal(agelog_new(&l, loop, 1, AGELOG_SEG_SIZE - 1), -EINVAL);
    agelog_free(NULL);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_for_keep_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_and_cap, setup, teardown),
        cmocka_unit_test(test_bad_params),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
