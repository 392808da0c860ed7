/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the retransmission of sipkeep's own requests over UDP
 * (RFC 3261 §17.1.2.2): Timer E from T1 = 500 ms doubling to T2 = 4 s,
 * T2 spacing after a provisional response, Timer F at 32 s, and nothing
 * after a final response; INVITE Timer A/B.  Fake loop clock, captured sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "outbound/sipretx.h"

#include "fake_clock.h"

#define MAX_SENT 64

struct fx {
    uint64_t now;
    struct loop *l;
    struct sipretx *x;
    uint64_t sent_at[MAX_SENT];
    int nsent, timeouts;
};

static const char req[] = "REGISTER sip:example.net SIP/2.0\r\n\r\n";

static int cap_send(const char *buf, size_t len, void *arg)
{
    struct fx *t = arg;

    assert_int_equal(len, sizeof(req) - 1);
    assert_memory_equal(buf, req, len);
    assert_true(t->nsent < MAX_SENT);
    t->sent_at[t->nsent++] = t->now;
    return 0;
}

static void cap_timeout(void *arg)
{
    ((struct fx *)arg)->timeouts++;
}

static const struct sipretx_cbs cbs = { cap_send, cap_timeout };

static int setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 7000000);
    assert_int_equal(sipretx_new(&t->x, t->l, &cbs, t), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    sipretx_free(t->x);
    loop_free(t->l);
    free(t);
    return 0;
}

static void run_to(struct fx *t, uint64_t until)
{
    for (uint64_t ms = t->now; ms <= until; ms++) {
        t->now = ms;
        loop_run_timers(t->l);
    }
}

/* Without an answer: resends at 0.5, 1.5, 3.5, 7.5 s, then every 4 s up to
 * 31.5 s; Timer F at exactly 32 s; nothing after. */
static void test_timer_e_and_f(void **state)
{
    static const uint64_t at[] = { 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500,
                                   27500, 31500 };
    struct fx *t = *state;
    uint64_t t0 = t->now;

    assert_int_equal(sipretx_start(t->x, req, sizeof(req) - 1, "z9hG4bKabc"), 0);
    assert_true(sipretx_active(t->x));
    assert_true(sipretx_matches(t->x, "z9hG4bKabc", 10));
    assert_false(sipretx_matches(t->x, "z9hG4bKab", 9));
    run_to(t, t0 + 31999);
    assert_int_equal(t->nsent, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(t->sent_at[i] - t0, at[i]);
    assert_int_equal(sipretx_sends(t->x), 11); /* the caller's first send too */
    assert_int_equal(t->timeouts, 0);
    run_to(t, t0 + 32000);
    assert_int_equal(t->timeouts, 1);
    assert_false(sipretx_active(t->x));
    run_to(t, t0 + 40000);
    assert_int_equal(t->nsent, 10);
}

/* A provisional response: Proceeding, every T2 = 4 s; a final one ends it. */
static void test_provisional_then_final(void **state)
{
    struct fx *t = *state;
    uint64_t t0 = t->now;

    sipretx_start(t->x, req, sizeof(req) - 1, "z9hG4bKp");
    run_to(t, t0 + 600);
    assert_int_equal(t->nsent, 1); /* at 0.5 s */
    sipretx_response(t->x, 100);
    run_to(t, t0 + 4599);
    assert_int_equal(t->nsent, 1);
    run_to(t, t0 + 4600);
    assert_int_equal(t->nsent, 2);
    run_to(t, t0 + 8600);
    assert_int_equal(t->nsent, 3);
    sipretx_response(t->x, 200);
    assert_false(sipretx_active(t->x));
    assert_false(sipretx_matches(t->x, "z9hG4bKp", 8));
    run_to(t, t0 + 60000);
    assert_int_equal(t->nsent, 3);
    assert_int_equal(t->timeouts, 0);
}

/* INVITE (§17.1.1.2): Timer A doubles with no T2 cap (0.5, 1.5, 3.5, 7.5,
 * 15.5, 31.5 s), Timer B at 32 s; with another INVITE, a 100 Trying ends
 * the retransmissions at once. */
static void test_invite_timer_a_and_b(void **state)
{
    static const uint64_t at[] = { 500, 1500, 3500, 7500, 15500, 31500 };
    struct fx *t = *state;
    uint64_t t0 = t->now;

    assert_int_equal(sipretx_start_invite(t->x, req, sizeof(req) - 1, "z9hG4bKi"), 0);
    run_to(t, t0 + 31999);
    assert_int_equal(t->nsent, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(t->sent_at[i] - t0, at[i]);
    assert_int_equal(t->timeouts, 0);
    run_to(t, t0 + 32000);
    assert_int_equal(t->timeouts, 1);
    assert_false(sipretx_active(t->x));

    t0 = t->now;
    assert_int_equal(sipretx_start_invite(t->x, req, sizeof(req) - 1, "z9hG4bKj"), 0);
    run_to(t, t0 + 1000);
    assert_int_equal(t->nsent, 7);
    sipretx_response(t->x, 100);
    assert_false(sipretx_active(t->x));
    run_to(t, t0 + 60000);
    assert_int_equal(t->nsent, 7);
    assert_int_equal(t->timeouts, 1);
}

/* A new request replaces the transaction: its own Timer E and F. */
static void test_restart_and_cancel(void **state)
{
    struct fx *t = *state;
    uint64_t t0 = t->now;

    assert_int_equal(sipretx_start(t->x, req, 0, "b"), -EINVAL);
    sipretx_start(t->x, req, sizeof(req) - 1, "z9hG4bK1");
    run_to(t, t0 + 20000);
    sipretx_start(t->x, req, sizeof(req) - 1, "z9hG4bK2");
    assert_false(sipretx_matches(t->x, "z9hG4bK1", 8));
    t->nsent = 0;
    run_to(t, t0 + 20000 + 31999);
    assert_int_equal(t->timeouts, 0);
    assert_int_equal(t->sent_at[0], t0 + 20500);
    run_to(t, t0 + 52000);
    assert_int_equal(t->timeouts, 1);
    sipretx_start(t->x, req, sizeof(req) - 1, "z9hG4bK3");
    sipretx_cancel(t->x);
    t->nsent = 0;
    run_to(t, t0 + 120000);
    assert_int_equal(t->nsent, 0);
    assert_int_equal(t->timeouts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_e_and_f, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provisional_then_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invite_timer_a_and_b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_cancel, setup, teardown),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_sipretx");
    return cmocka_run_group_tests_name("sipretx", tests, NULL, NULL);
}
