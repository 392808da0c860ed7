/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the RFC 5626 flow when things fail: the registration
 * timeout and the §4.5 back-off rows, REGISTER resends, a working flow's
 * failure, Retry-After, a refresh error that keeps the flow, a challenge
 * only the UA can answer, and a proxy without outbound support.  Same
 * set-up as test_flow.c (flow_fixture.h): a real TCP socket on the loopback,
 * a fake loop clock and a fixed "random" source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow_fixture.h"

/* Registration timeout (Timer F, 32 s) at boot: row 1 (30 s at r = 0);
 * then failed attempts walk down the table, and others_working picks the
 * 90 s base. */
static void test_reg_timeout_and_backoff_rows(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    t0 = t->now;
    clock_to(t, t0 + 31999);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 32000);
    assert_int_equal(t->o.downs, 1);
    assert_non_null(strstr(t->o.reason, "registration timed out"));
    assert_int_equal(t->o.failures_at_down, 1);
    assert_int_equal(flow_state(t->o.f), FLOW_BACKOFF);

    t0 = t->now; /* row 1, all failed: 30-60 s, 30 s at r = 0 */
    clock_to(t, t0 + 29999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 30000);
    expect_reconnect(t);

    flow_register_failed(t->o.f, "REGISTER answered 503"); /* on_down before return */
    assert_int_equal(t->o.downs, 2);
    assert_string_equal(t->o.reason, "REGISTER answered 503");
    t0 = t->now; /* row 2: 1-2 min */
    clock_to(t, t0 + 59999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 60000);
    expect_reconnect(t);

    t->o.others = true; /* another flow works: 90 s base, row 3: 6-12 min */
    flow_register_failed(t->o.f, "REGISTER answered 500");
    assert_int_equal(flow_consecutive_failures(t->o.f), 3);
    t0 = t->now;
    clock_to(t, t0 + 359999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 360000);
    expect_reconnect(t);
}

/* RFC 3261 Timer F runs per REGISTER: a REGISTER resent while
 * REGISTERING (after a 401) gets its own 32 s. */
static void test_register_resend_restarts_timeout(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    t0 = t->now;
    clock_to(t, t0 + 20000);
    assert_int_equal(flow_send(t->o.f, reg_text, sizeof(reg_text) - 1), 0);
    expect_register(t);
    clock_to(t, t0 + 51999);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 52000);
    assert_int_equal(t->o.downs, 1);
    assert_non_null(strstr(t->o.reason, "registration timed out"));
}

/* A flow that works (here: registered without outbound, so the
 * registration alone is the success) resets the count; its failure is
 * retried at once, and a failure of that retry waits 30-60 s. */
static void test_working_failure_then_backoff(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    flow_register_failed(t->o.f, "REGISTER answered 503");
    clock_to(t, t->now + 30000);
    expect_reconnect(t);
    assert_int_equal(flow_consecutive_failures(t->o.f), 1);
    flow_registered(t->o.f, false, 0);
    assert_true(flow_working(t->o.f));
    assert_int_equal(flow_consecutive_failures(t->o.f), 0);

    flow_fail(t->o.f, "430 Flow Failed");
    assert_int_equal(t->o.downs, 2);
    assert_int_equal(t->o.failures_at_down, 1);
    assert_int_equal(flow_send(t->o.f, "x", 1), -ENOTCONN);
    expect_reconnect(t); /* row 0: immediate */

    flow_register_failed(t->o.f, "REGISTER answered 503");
    assert_int_equal(flow_consecutive_failures(t->o.f), 2);
    t0 = t->now; /* row 1 */
    clock_to(t, t0 + 29999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 30000);
    expect_reconnect(t);
}

/* Retry-After (a 503's): 0 retries at once, once in a row; a longer one
 * lengthens the back-off, also beyond max_time (issue 11: the server's
 * word is honoured), up to a day; a shorter one does not shorten it. */
static void test_register_failed_retry_after(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    flow_register_failed_after(t->o.f, "REGISTER answered 503", 0);
    assert_int_equal(t->o.downs, 1);
    expect_reconnect(t); /* at once, without the clock moving */

    flow_register_failed_after(t->o.f, "REGISTER answered 503", 0);
    t0 = t->now; /* the second 0 in a row: row 2 back-off, 60 s at r = 0 */
    clock_to(t, t0 + 59999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 60000);
    expect_reconnect(t);

    flow_register_failed_after(t->o.f, "REGISTER answered 503", 300);
    t0 = t->now; /* row 3 is 120 s: Retry-After lengthens it */
    clock_to(t, t0 + 299999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 300000);
    expect_reconnect(t);

    flow_register_failed_after(t->o.f, "REGISTER answered 503", 5);
    t0 = t->now; /* row 4 is 240 s: a shorter Retry-After changes nothing */
    clock_to(t, t0 + 239999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 240000);
    expect_reconnect(t);

    flow_register_failed_after(t->o.f, "REGISTER answered 503", 3600);
    t0 = t->now; /* longer than max_time (1800 s): honoured */
    clock_to(t, t0 + 3599999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 3600000);
    expect_reconnect(t);

    flow_register_failed_after(t->o.f, "REGISTER answered 503", 100000000);
    t0 = t->now; /* a bogus 3-year wait: one day at most */
    clock_to(t, t0 + 86399999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 86400000);
    expect_reconnect(t);

    flow_register_failed_after(t->o.f, "REGISTER answered 503", -1); /* none */
    t0 = t->now; /* row 7: max_time 1800 s, 900 s at r = 0 */
    clock_to(t, t0 + 899999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t0 + 900000);
    expect_reconnect(t);
}

/* A REGISTER, after any keep-alive pings the clock jump caused. */
static void expect_register_after_pings(struct fx *t)
{
    char buf[512];
    ssize_t n = srv_recv(t, buf, sizeof(buf), 1000);
    size_t skip = 0;

    assert_true(n > 0);
    while (skip + 1 < (size_t)n && buf[skip] == '\r' && buf[skip + 1] == '\n')
        skip += 2;
    if (skip == (size_t)n) /* only pings so far */
        return expect_register(t);
    assert_int_equal((size_t)n - skip, sizeof(reg_text) - 1);
    assert_memory_equal(buf + skip, reg_text, sizeof(reg_text) - 1);
}

/* Issue 11 / RFC 5626 §4.2.2: a refresh answered 503/500/480/408 on a flow
 * that works keeps the connection; the REGISTER goes again on it after
 * Retry-After or the §4.5 wait (30-60 s, then 1-2 min); a 2xx resets the
 * count; the flow stays working throughout. */
static void test_register_retry_keeps_flow(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    flow_registered(t->o.f, false, 0); /* no outbound: works at once */
    assert_true(flow_working(t->o.f));
    flow_register_retry_after(t->o.f, "REGISTER answered 503", 120);
    assert_int_equal(t->o.downs, 0);
    assert_int_equal(flow_state(t->o.f), FLOW_ACTIVE);
    assert_true(flow_working(t->o.f));
    t0 = t->now;
    clock_to(t, t0 + 119999);
    assert_int_equal(t->o.ready, 1);
    clock_to(t, t0 + 120000);
    assert_int_equal(t->o.ready, 2); /* on_ready again: the owner re-sends */
    expect_register_after_pings(t);
    assert_false(srv_accept(t, 5)); /* on the same connection */

    flow_register_retry_after(t->o.f, "REGISTER answered 500", -1);
    t0 = t->now; /* first error in a row after a retry: row 2, 60 s at r = 0 */
    clock_to(t, t0 + 59999);
    assert_int_equal(t->o.ready, 2);
    clock_to(t, t0 + 60000);
    assert_int_equal(t->o.ready, 3);
    expect_register_after_pings(t);

    flow_registered(t->o.f, false, 0); /* a 2xx: the count starts again */
    flow_register_retry_after(t->o.f, "REGISTER answered 480", -1);
    t0 = t->now; /* row 1: 30 s */
    clock_to(t, t0 + 30000);
    assert_int_equal(t->o.ready, 4);
    expect_register_after_pings(t);
    /* a 2xx before the retry cancels it */
    flow_register_retry_after(t->o.f, "REGISTER answered 408", 10);
    flow_registered(t->o.f, false, 0);
    clock_to(t, t->now + 200000);
    assert_int_equal(t->o.ready, 4);
    assert_int_equal(t->o.downs, 0);
    assert_false(srv_accept(t, 5));

    /* not ACTIVE (the first REGISTER): a failure as before */
    flow_fail(t->o.f, "x");
    t->readies = t->o.ready;
    expect_reconnect(t);
    flow_register_retry_after(t->o.f, "REGISTER answered 503", -1);
    assert_int_equal(t->o.downs, 2);
    assert_int_equal(flow_state(t->o.f), FLOW_BACKOFF);
}

/* A challenge only the UA can answer: the REGISTERING flow waits, its
 * registration timeout stopped, the connection kept; the owner's next
 * REGISTER re-arms the timeout. */
static void test_register_hold(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    flow_register_hold(t->o.f);
    clock_to(t, t->now + 600000);
    assert_int_equal(t->o.downs, 0);
    assert_int_equal(flow_state(t->o.f), FLOW_REGISTERING);
    assert_int_equal(flow_send(t->o.f, reg_text, sizeof(reg_text) - 1), 0);
    expect_register(t);
    t0 = t->now;
    clock_to(t, t0 + 32000);
    assert_int_equal(t->o.downs, 1);
}

/* Captures stderr (the log) into a temporary file. */
static void capture_begin(struct fx *t)
{
    t->cap = tmpfile();
    assert_non_null(t->cap);
    fflush(stderr);
    t->saved_err = dup(STDERR_FILENO);
    assert_true(t->saved_err >= 0);
    assert_true(dup2(fileno(t->cap), STDERR_FILENO) >= 0);
}

/* Ends the capture; returns the text (static storage). */
static const char *capture_end(struct fx *t)
{
    static char text[16384];
    size_t n;

    fflush(stderr);
    assert_true(dup2(t->saved_err, STDERR_FILENO) >= 0);
    close(t->saved_err);
    t->saved_err = -1;
    rewind(t->cap);
    n = fread(text, 1, sizeof(text) - 1, t->cap);
    text[n] = '\0';
    fclose(t->cap);
    t->cap = NULL;
    return text;
}

/* Sends a pong and lets the loop read it (flow_working() may not change). */
static void pong_and_pump(struct fx *t)
{
    srv_send(t, "\r\n", 2);
    assert_int_equal(loop_run_once(t->l, 100), 0);
    assert_int_equal(loop_run_once(t->l, 0), 0);
}

/* Without Require: outbound: pings still go out, a missing pong is no
 * failure until the proxy has ponged once; then it is (across the
 * reconnect).  The warning is logged once per flow. */
static void test_no_outbound(void **state)
{
    struct fx *t = *state;
    uint64_t t0;
    const char *log;

    capture_begin(t);
    t->p.keepalive.interval = 30; /* r = 0: every 24 s */
    start_connected(t);
    t0 = t->now;
    flow_registered(t->o.f, false, 0);
    assert_true(flow_working(t->o.f));
    clock_to(t, t0 + 23999);
    expect_quiet(t);
    clock_to(t, t0 + 24000);
    expect_ping(t);
    clock_to(t, t0 + 47999); /* no pong: no failure */
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 48000);
    expect_ping(t);
    pong_and_pump(t); /* the proxy pongs: from now on pongs are expected */
    clock_to(t, t0 + 72000);
    expect_ping(t);
    clock_to(t, t0 + 82000);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 82001);
    assert_int_equal(t->o.downs, 1);
    assert_int_equal(t->o.failures_at_down, 1);

    expect_reconnect(t); /* it worked: immediate retry */
    flow_registered(t->o.f, false, 0);
    assert_false(flow_working(t->o.f)); /* a pong is expected now */
    log = capture_end(t);
    assert_int_equal(count(log, "event=outbound_unsupported"), 1);
    assert_non_null(strstr(log, "level=warn event=outbound_unsupported reg_id=1"));
    assert_non_null(strstr(log, "level=warn event=flow_down reg_id=1 proxy=sip:127.0.0.1:"));
    assert_non_null(strstr(log, "reason=\"no pong within 10 s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reg_timeout_and_backoff_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_resend_restarts_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_working_failure_then_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_failed_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_retry_keeps_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_outbound, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_flow_recovery");
    return cmocka_run_group_tests_name("flow_recovery", tests, NULL, NULL);
}
