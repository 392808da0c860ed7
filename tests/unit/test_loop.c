/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the event loop: timer ordering with a fake clock, re-arm
 * and cancel from callbacks, descriptor dispatch, and sleeping until the
 * next timer instead of polling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/loop.h"

struct fake_clock {
    uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

struct rec_timer {
    struct loop_timer t;
    int id;
    int *log;
    size_t *nlog;
    struct loop *l;
    uint64_t rearm_ms; /* re-arm itself once with this delay when non-zero */
    struct loop_timer *cancel_other;
};

static void rec_fire(struct loop_timer *t)
{
    struct rec_timer *r = container_of(t, struct rec_timer, t);

    r->log[(*r->nlog)++] = r->id;
    if (r->cancel_other)
        loop_timer_cancel(r->l, r->cancel_other);
    if (r->rearm_ms) {
        uint64_t d = r->rearm_ms;
        r->rearm_ms = 0;
        assert_int_equal(loop_timer_set(r->l, t, d), 0);
    }
}

struct fixture {
    struct fake_clock clk;
    struct loop *l;
    int log[64];
    size_t nlog;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct loop_clock c;

    if (!f)
        return -1;
    c = (struct loop_clock){ fake_now, &f->clk };
    f->clk.now = 1000;
    if (loop_new(&f->l, &c) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    loop_free(f->l);
    free(f);
    return 0;
}

static void rec_init(struct fixture *f, struct rec_timer *r, int id)
{
    memset(r, 0, sizeof(*r));
    loop_timer_init(&r->t, rec_fire);
    r->id = id;
    r->log = f->log;
    r->nlog = &f->nlog;
    r->l = f->l;
}

static void test_timers_fire_in_due_order(void **state)
{
    struct fixture *f = *state;
    struct rec_timer r[6];
    const uint64_t delays[6] = { 50, 10, 30, 10, 70, 20 };

    for (int i = 0; i < 6; i++) {
        rec_init(f, &r[i], i);
        assert_int_equal(loop_timer_set(f->l, &r[i].t, delays[i]), 0);
    }
    assert_int_equal(loop_next_timeout(f->l), 10);
    assert_int_equal(loop_run_timers(f->l), 0);
    f->clk.now += 10;
    assert_int_equal(loop_run_timers(f->l), 2);
    f->clk.now += 100;
    assert_int_equal(loop_run_timers(f->l), 4);
    /* equal due times fire in arming order: 1 before 3 */
    const int want[6] = { 1, 3, 5, 2, 0, 4 };
    assert_int_equal(f->nlog, 6);
    assert_memory_equal(f->log, want, sizeof(want));
    assert_int_equal(loop_next_timeout(f->l), -1);
}

static void test_cancel_and_rearm(void **state)
{
    struct fixture *f = *state;
    struct rec_timer a, b, c;

    rec_init(f, &a, 1);
    rec_init(f, &b, 2);
    rec_init(f, &c, 3);
    assert_int_equal(loop_timer_set(f->l, &a.t, 5), 0);
    assert_int_equal(loop_timer_set(f->l, &b.t, 10), 0);
    assert_int_equal(loop_timer_set(f->l, &c.t, 15), 0);
    loop_timer_cancel(f->l, &b.t);
    assert_false(loop_timer_armed(&b.t));
    loop_timer_cancel(f->l, &b.t); /* twice is harmless */
    /* re-arming moves a timer rather than duplicating it */
    assert_int_equal(loop_timer_set(f->l, &a.t, 20), 0);
    f->clk.now += 100;
    assert_int_equal(loop_run_timers(f->l), 2);
    assert_int_equal(f->log[0], 3);
    assert_int_equal(f->log[1], 1);
}

static void test_callback_rearms_and_cancels(void **state)
{
    struct fixture *f = *state;
    struct rec_timer a, b;

    rec_init(f, &a, 1);
    rec_init(f, &b, 2);
    a.rearm_ms = 30;
    a.cancel_other = &b.t;
    assert_int_equal(loop_timer_set(f->l, &a.t, 10), 0);
    assert_int_equal(loop_timer_set(f->l, &b.t, 20), 0);
    f->clk.now += 10;
    assert_int_equal(loop_run_timers(f->l), 1);
    assert_true(loop_timer_armed(&a.t));
    assert_false(loop_timer_armed(&b.t));
    assert_int_equal(loop_next_timeout(f->l), 30);
    f->clk.now += 30;
    assert_int_equal(loop_run_timers(f->l), 1);
    assert_int_equal(f->nlog, 2);
}

static void test_many_timers_heap_order(void **state)
{
    struct fixture *f = *state;
    enum { N = 500 };
    struct rec_timer *r = calloc(N, sizeof(*r));
    int order[N];
    size_t n = 0;

    assert_non_null(r);
    for (int i = 0; i < N; i++) {
        rec_init(f, &r[i], i);
        r[i].log = order;
        r[i].nlog = &n;
        /* a scrambled but deterministic set of delays */
        assert_int_equal(loop_timer_set(f->l, &r[i].t, (uint64_t)((i * 7919) % 1000)), 0);
    }
    for (int i = 0; i < N; i += 3)
        loop_timer_cancel(f->l, &r[i].t);
    f->clk.now += 1000;
    loop_run_timers(f->l);
    assert_int_equal(n, N - (N + 2) / 3);
    for (size_t i = 1; i < n; i++)
        assert_true(r[order[i - 1]].t.due_ms <= r[order[i]].t.due_ms);
    free(r);
}

struct pipe_reader {
    struct loop_fd h;
    int reads;
    unsigned last_events;
};

static void pipe_cb(struct loop_fd *h, unsigned events)
{
    struct pipe_reader *p = container_of(h, struct pipe_reader, h);
    char buf[16];

    p->last_events = events;
    if (events & LOOP_READ) {
        assert_true(read(h->fd, buf, sizeof(buf)) > 0);
        p->reads++;
    }
}

static void test_fd_dispatch_and_del(void **state)
{
    struct fixture *f = *state;
    struct pipe_reader p = { .reads = 0 };
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    loop_fd_init(&p.h, pipe_cb);
    assert_int_equal(loop_fd_add(f->l, &p.h, fds[0], LOOP_READ), 0);
    assert_int_equal(loop_fd_add(f->l, &p.h, fds[0], LOOP_READ), -EINVAL);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(loop_run_once(f->l, 0), 0);
    assert_int_equal(p.reads, 1);
    assert_true(p.last_events & LOOP_READ);
    /* nothing ready and no timers: a zero wait returns without dispatch */
    assert_int_equal(loop_run_once(f->l, 0), 0);
    assert_int_equal(p.reads, 1);
    loop_fd_del(f->l, &p.h);
    assert_int_equal(p.h.fd, -1);
    assert_int_equal(write(fds[1], "y", 1), 1);
    assert_int_equal(loop_run_once(f->l, 0), 0);
    assert_int_equal(p.reads, 1);
    close(fds[0]);
    close(fds[1]);
}

static void test_wait_bounded_by_next_timer(void **state)
{
    struct fixture *f = *state;
    struct rec_timer a;

    /* With the fake clock frozen, the loop must compute a wait equal to
     * the time left, never a busy zero and never "forever". */
    rec_init(f, &a, 1);
    assert_int_equal(loop_next_timeout(f->l), -1);
    assert_int_equal(loop_timer_set(f->l, &a.t, 250), 0);
    assert_int_equal(loop_next_timeout(f->l), 250);
    f->clk.now += 200;
    assert_int_equal(loop_next_timeout(f->l), 50);
    f->clk.now += 60;
    assert_int_equal(loop_next_timeout(f->l), 0);
    assert_int_equal(loop_run_once(f->l, 0), 0);
    assert_int_equal(f->nlog, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timers_fire_in_due_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_rearm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_rearms_and_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_timers_heap_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fd_dispatch_and_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_bounded_by_next_timer, setup, teardown),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
