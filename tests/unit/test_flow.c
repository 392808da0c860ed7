/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the RFC 5626 flow: the pure §4.4/§4.5 timing functions,
 * and the state machine driven against a real listening TCP socket on the
 * loopback, with a fake loop clock and a fixed "random" source so that
 * every keep-alive and back-off time is known to the millisecond: connect,
 * keep-alives and pongs, refreshes, the connection lost or refused, the
 * owner freeing the flow from a callback, TLS.  Failures, back-off and
 * REGISTER retries are in test_flow_recovery.c (set-up: flow_fixture.h).
 * The loop is pumped with bounded waits; no test sleeps on the fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow_fixture.h"

/* ---- pure functions ---- */

/* Appendix A, both columns, in seconds: W/2 at r = 0 and W at r = max. */
static void test_backoff_appendix_a(void **state)
{
    static const struct {
        unsigned n, all_lo, all_hi, oth_lo, oth_hi;
    } rows[] = {
        { 0, 0, 0, 0, 0 },
        { 1, 30, 60, 90, 180 },
        { 2, 60, 120, 180, 360 },
        { 3, 120, 240, 360, 720 },
        { 4, 240, 480, 720, 1440 },
        { 5, 480, 960, 900, 1800 },
        { 6, 900, 1800, 900, 1800 },
        { 7, 900, 1800, 900, 1800 },
        { 31, 900, 1800, 900, 1800 },
        { 32, 900, 1800, 900, 1800 },
        { 1000, 900, 1800, 900, 1800 },
        { UINT32_MAX, 900, 1800, 900, 1800 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(flow_backoff_ms(&defaults, rows[i].n, false, 0), rows[i].all_lo * 1000ull);
        assert_int_equal(flow_backoff_ms(&defaults, rows[i].n, false, UINT32_MAX),
                         rows[i].all_hi * 1000ull);
        assert_int_equal(flow_backoff_ms(&defaults, rows[i].n, true, 0), rows[i].oth_lo * 1000ull);
        assert_int_equal(flow_backoff_ms(&defaults, rows[i].n, true, UINT32_MAX),
                         rows[i].oth_hi * 1000ull);
    }
}

/* Random draws stay in 50-100 % of W; other recovery values are honoured. */
static void test_backoff_range_and_config(void **state)
{
    const struct flow_recovery rc = { 10, 20, 100 };
    uint32_t x = 12345;

    (void)state;
    for (int i = 0; i < 10000; i++) {
        x = x * 1664525u + 1013904223u;
        uint64_t w = flow_backoff_ms(&defaults, 3, false, x);
        assert_true(w >= 120000 && w <= 240000);
        w = flow_backoff_ms(&defaults, 9, true, x);
        assert_true(w >= 900000 && w <= 1800000);
    }
    assert_int_equal(flow_backoff_ms(&defaults, 1, false, 0x80000000u), 45000);
    assert_int_equal(flow_backoff_ms(&rc, 1, false, UINT32_MAX), 20000);
    assert_int_equal(flow_backoff_ms(&rc, 2, true, UINT32_MAX), 80000);
    assert_int_equal(flow_backoff_ms(&rc, 3, true, 0), 50000); /* min(100, 160) / 2 */
    assert_int_equal(flow_backoff_ms(&(struct flow_recovery){ 30, 90, UINT32_MAX }, 40, false,
                                     UINT32_MAX), (uint64_t)UINT32_MAX * 1000u);
}

/* §4.5's jitter exists so that 1,000 UAs failing together do not come
 * back together: with the daemon's own random source, 1,000 first waits
 * (row 1, W = 60 s) cover 50-100 % of W, and no 1 % of W (600 ms; 50
 * buckets, 20 waits each on average) holds more than 5 % of them. */
static void test_backoff_spread_1000(void **state)
{
    unsigned bucket[50] = { 0 };
    uint64_t lo = UINT64_MAX, hi = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        uint64_t w = flow_backoff_ms(&defaults, 1, false, (uint32_t)rand_u64());
        assert_true(w >= 30000 && w <= 60000);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
        bucket[w == 60000 ? 49 : (w - 30000) / 600]++;
    }
    assert_true(lo < 31800 && hi > 58200); /* both ends reached (3 % of W) */
    for (int b = 0; b < 50; b++)
        assert_true(bucket[b] <= 50);
}

static void test_keepalive_bounds(void **state)
{
    const struct cfg_keepalive autok = { CFG_KEEPALIVE_AUTO, 10, CFG_UDP_KA_AUTO };
    const struct cfg_keepalive fixed = { 30, 10, CFG_UDP_KA_AUTO };
    uint32_t x = 777;

    (void)state;
    /* §4.4: Flow-Timer F gives 80-100 % of F, whatever the config says. */
    assert_int_equal(flow_keepalive_ms(&autok, 20, 0), 16000);
    assert_int_equal(flow_keepalive_ms(&autok, 20, UINT32_MAX), 20000);
    assert_int_equal(flow_keepalive_ms(&fixed, 120, 0), 96000);
    assert_int_equal(flow_keepalive_ms(&fixed, 120, UINT32_MAX), 120000);
    /* Configured interval: jittered 80-100 % the same way. */
    assert_int_equal(flow_keepalive_ms(&fixed, 0, 0), 24000);
    assert_int_equal(flow_keepalive_ms(&fixed, 0, UINT32_MAX), 30000);
    /* §4.4.1 default: 95-120 s. */
    assert_int_equal(flow_keepalive_ms(&autok, 0, 0), FLOW_KA_DEFAULT_MIN_MS);
    assert_int_equal(flow_keepalive_ms(&autok, 0, UINT32_MAX), FLOW_KA_DEFAULT_MAX_MS);
    for (int i = 0; i < 10000; i++) {
        x = x * 1664525u + 1013904223u;
        uint64_t k = flow_keepalive_ms(&autok, 0, x);
        assert_true(k >= 95000 && k <= 120000);
        k = flow_keepalive_ms(&autok, 20, x);
        assert_true(k >= 16000 && k <= 20000);
        k = flow_keepalive_ms(&fixed, 0, x);
        assert_true(k >= 24000 && k <= 30000);
    }
}

static void test_new_rejects(void **state)
{
    struct fx *t = *state;
    struct flow_params p = t->p;
    struct flow_cbs no_down = owner_cbs;
    struct flow *f = NULL;

    proxy_set(t, "127.0.0.1", AF_INET, 5060, CFG_TRANSPORT_UDP);
    assert_int_equal(flow_new(&f, &p), 0); /* UDP flows: flow_udp.h */
    flow_free(f);
    f = NULL;
    proxy_set(t, "127.0.0.1", AF_INET, 5061, CFG_TRANSPORT_TLS);
    assert_int_equal(flow_new(&f, &p), -EINVAL); /* TLS without a context */
    proxy_set(t, "127.0.0.1", AF_INET, 5060, CFG_TRANSPORT_TCP);
    no_down.on_down = NULL;
    p.cbs = &no_down;
    assert_int_equal(flow_new(&f, &p), -EINVAL);
    assert_null(f);
    p.cbs = &owner_cbs;
    assert_int_equal(flow_new(&f, &p), 0);
    assert_int_equal(flow_state(f), FLOW_IDLE);
    assert_string_equal(flow_state_name(flow_state(f)), "idle");
    assert_int_equal(flow_reg_id(f), 1);
    assert_ptr_equal(flow_proxy(f), &t->proxy);
    assert_int_equal(flow_send(f, "x", 1), -ENOTCONN);
    assert_int_equal(flow_local_addr(f, &(struct sockaddr_storage){ 0 }), -ENOTCONN);
    assert_false(flow_working(f));
    flow_fail(f, "nothing to fail"); /* IDLE: no-op, no on_down */
    assert_int_equal(flow_state(f), FLOW_IDLE);
    assert_int_equal(flow_consecutive_failures(f), 0);
    flow_free(f);
    flow_free(NULL);
    assert_string_equal(flow_state_name(FLOW_BACKOFF), "backoff");
}

/* ---- the state machine on a real connection ---- */

static void test_connect_ready_local_addr(void **state)
{
    struct fx *t = *state;
    struct sockaddr_storage peer, local;
    socklen_t len = sizeof(peer);

    start_connected(t);
    assert_int_equal(flow_state(t->o.f), FLOW_REGISTERING);
    assert_int_equal(getpeername(srv_fd(t), (struct sockaddr *)&peer, &len), 0);
    assert_true(addr_equal((struct sockaddr *)&t->o.local, (struct sockaddr *)&peer));
    assert_int_equal(flow_local_addr(t->o.f, &local), 0);
    assert_true(addr_equal((struct sockaddr *)&local, (struct sockaddr *)&peer));
    assert_false(flow_working(t->o.f));
    flow_start(t->o.f); /* not IDLE/BACKOFF: no-op */
    assert_int_equal(flow_state(t->o.f), FLOW_REGISTERING);
    assert_int_equal(t->nconns, 1);
}

/* §4.4 Flow-Timer 20 s: first ping in 16-20 s; a pong makes the flow
 * working; an unanswered ping fails it exactly after the pong timeout
 * (plus the 1 ms read-once grace); a working flow's failure is retried at
 * once (Appendix A row 0). */
static void test_outbound_ping_pong_and_failure(void **state)
{
    struct fx *t = *state;
    uint64_t p1, p2;
    char buf[16];

    t->r = 0x9e3779b9u; /* some fixed draw: 16 s + 2.47 s */
    start_connected(t);
    flow_registered(t->o.f, true, 20);
    assert_int_equal(flow_state(t->o.f), FLOW_ACTIVE);
    assert_false(flow_working(t->o.f)); /* outbound: waits for a pong */
    p1 = await_ping(t, t->now, 16000, 20000);
    pong_until_working(t);
    assert_int_equal(flow_consecutive_failures(t->o.f), 0);
    assert_int_equal(t->o.downs, 0);

    /* Next round: same draw, so the next ping is due at p1 + k. */
    p2 = await_ping(t, p1, 16000, 20000);
    clock_to(t, p2 + 9999);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, p2 + 10000); /* deadline: the grace lets the loop read once */
    assert_int_equal(t->o.downs, 0);
    assert_int_equal(flow_state(t->o.f), FLOW_ACTIVE);
    clock_to(t, p2 + 10001);
    assert_int_equal(t->o.downs, 1);
    assert_non_null(strstr(t->o.reason, "no pong within 10 s"));
    assert_int_equal(t->o.state_at_down, FLOW_BACKOFF);
    assert_int_equal(t->o.failures_at_down, 1);
    assert_false(flow_working(t->o.f));
    assert_int_equal(srv_recv(t, buf, sizeof(buf), 1000), 0); /* old connection closed */

    /* Row 0: the retry starts without the clock moving. */
    expect_reconnect(t);
    assert_int_equal(t->nconns, 2);
    assert_int_equal(t->now, p2 + 10001);
    assert_int_equal(flow_state(t->o.f), FLOW_REGISTERING);
}

/* §4.4.1 "(or immediately after processing any incoming message being
 * received when that 10 seconds expires)": a pong that is in the socket
 * when the deadline fires still counts. */
static void test_pong_at_deadline_counts(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    t->r = 0; /* keep-alive exactly 16 s */
    start_connected(t);
    t0 = t->now;
    flow_registered(t->o.f, true, 20);
    clock_to(t, t0 + 16000);
    expect_ping(t);
    pong_until_working(t);
    clock_to(t, t0 + 32000);
    expect_ping(t);
    t->now = t0 + 42000;
    assert_int_equal(loop_run_timers(t->l), 1); /* the deadline, without reading */
    srv_send(t, "\r\n", 2);                     /* the pong is now waiting */
    t->now = t0 + 42001;
    assert_int_equal(loop_run_once(t->l, 100), 0);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 47999);
    assert_int_equal(t->o.downs, 0);
    assert_int_equal(flow_state(t->o.f), FLOW_ACTIVE);
    assert_true(flow_working(t->o.f));
}

/* A refresh (flow_registered on an ACTIVE flow) never postpones the next
 * ping but brings it forward for a shorter Flow-Timer; with pings closer
 * than the pong timeout, the oldest unanswered ping's deadline counts. */
static void test_refresh_and_short_flow_timer(void **state)
{
    struct fx *t = *state;
    uint64_t t0, p;

    t->r = UINT32_MAX; /* intervals at 100 % */
    start_connected(t);
    t0 = t->now;
    flow_registered(t->o.f, true, 20);
    clock_to(t, t0 + 5000);
    flow_registered(t->o.f, true, 20); /* would be t0 + 25 s: kept at t0 + 20 s */
    clock_to(t, t0 + 19999);
    expect_quiet(t);
    clock_to(t, t0 + 20000);
    expect_ping(t);
    pong_until_working(t);
    clock_to(t, t0 + 21000);
    flow_registered(t->o.f, true, 5); /* next ping t0 + 40 s -> t0 + 26 s */
    assert_true(flow_working(t->o.f));
    clock_to(t, t0 + 25999);
    expect_quiet(t);
    p = t0 + 26000;
    clock_to(t, p);
    expect_ping(t);
    clock_to(t, p + 5000);
    expect_ping(t);
    clock_to(t, p + 10000);
    assert_int_equal(t->o.downs, 0);
    clock_to(t, p + 10001);
    assert_int_equal(t->o.downs, 1);
    assert_int_equal(t->o.failures_at_down, 1);
}

/* flow_send_own() on TCP is a plain send: a stream is reliable, so
 * sipkeep's own REGISTER is never retransmitted (RFC 3261 §17.1.2.2:
 * Timer E runs on unreliable transports only); Timer F still fails it. */
static void test_tcp_register_not_retransmitted(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    start_connected(t);
    t0 = t->now;
    assert_int_equal(flow_send_own(t->o.f, reg_text, sizeof(reg_text) - 1), 0);
    expect_register(t);
    for (uint64_t at = t0 + 500; at < t0 + 32000; at += 500) {
        clock_to(t, at);
        expect_quiet(t);
    }
    assert_int_equal(t->o.downs, 0);
    clock_to(t, t0 + 32000);
    assert_int_equal(t->o.downs, 1);
}

/* stream.h: -ENOBUFS means the proxy does not read; the flow fails, but
 * on_down comes from the loop, not from inside flow_send(). */
static void test_send_overflow_fails_from_loop(void **state)
{
    struct fx *t = *state;
    size_t big = STREAM_WQ_MAX + 1;
    char *buf = calloc(1, big);

    assert_non_null(buf);
    start_connected(t);
    assert_int_equal(flow_send(t->o.f, buf, big), -ENOBUFS);
    free(buf);
    assert_int_equal(t->o.downs, 0);
    assert_true(pump_until(t, &t->o.downs, 1));
    assert_non_null(strstr(t->o.reason, "send queue full"));
    assert_int_equal(t->o.state_at_down, FLOW_BACKOFF);
}

static void test_server_closes(void **state)
{
    struct fx *t = *state;

    start_connected(t);
    flow_registered(t->o.f, true, 0);
    close(t->conns[--t->nconns]);
    assert_true(pump_until(t, &t->o.downs, 1));
    assert_non_null(strstr(t->o.reason, "closed"));
    assert_int_equal(t->o.state_at_down, FLOW_BACKOFF);
    /* Registered but never ponged: not working, so row 1 (30 s at r = 0). */
    clock_to(t, t->now + 29999);
    assert_false(srv_accept(t, 5));
    clock_to(t, t->now + 1);
    expect_reconnect(t);
}

static void test_connect_refused(void **state)
{
    struct fx *t = *state;
    uint16_t port;
    int fd = listen_on(AF_INET, &port);

    close(fd); /* nobody listens there now */
    proxy_set(t, "127.0.0.1", AF_INET, port, CFG_TRANSPORT_TCP);
    assert_int_equal(flow_new(&t->o.f, &t->p), 0);
    flow_start(t->o.f);
    assert_true(pump_until(t, &t->o.downs, 1));
    assert_non_null(strstr(t->o.reason, "refused"));
    assert_int_equal(t->o.ready, 0);
    assert_int_equal(flow_state(t->o.f), FLOW_BACKOFF);
    assert_int_equal(flow_consecutive_failures(t->o.f), 1);
}

static void test_free_in_message(void **state)
{
    struct fx *t = *state;
    char buf[16];

    start_connected(t);
    t->o.free_in_message = true;
    char two[2 * sizeof(sip_opt)];

    memcpy(two, sip_opt, sizeof(sip_opt) - 1); /* the second is never delivered */
    memcpy(two + sizeof(sip_opt) - 1, sip_opt, sizeof(sip_opt) - 1);
    srv_send(t, two, 2 * (sizeof(sip_opt) - 1));
    assert_true(pump_until(t, &t->o.msgs, 1));
    assert_null(t->o.f);
    for (int i = 0; i < 10; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(t->o.msgs, 1);
    assert_int_equal(t->o.downs, 0);
    assert_int_equal(srv_recv(t, buf, sizeof(buf), 1000), 0); /* closed */
}

static void test_free_in_down(void **state)
{
    struct fx *t = *state;

    start_connected(t);
    t->o.free_in_down = true;
    close(t->conns[--t->nconns]);
    assert_true(pump_until(t, &t->o.downs, 1));
    assert_null(t->o.f);
    clock_to(t, t->now + 3600000); /* no timer of the freed flow left */
    assert_false(srv_accept(t, 5));
}

/* A name is resolved (outbound/resolve.h: c-ares, /etc/hosts here); TLS
 * sends the proxy host as SNI, and a TLS failure is reported with the
 * stream's reason. */
static void test_tls_name_and_failure(void **state)
{
    struct fx *t = *state;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    struct resolver_params rp = { .loop = t->l };
    struct resolver *r = NULL;
    SSL_CTX *ctx = NULL;
    char err[128], hello[4096];
    uint16_t port;
    ssize_t n = -1;

    assert_int_equal(getaddrinfo("localhost", NULL, &hints, &res), 0);
    close(t->lfd);
    t->lfd = listen_on(res->ai_family, &port); /* where the flow will go */
    freeaddrinfo(res);
    proxy_set(t, "localhost", 0, port, CFG_TRANSPORT_TLS);
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .verify = true }, &ctx, NULL,
                                        err, sizeof(err)), 0);
    t->p.tls = ctx;
    assert_int_equal(resolver_new(&r, &rp), 0);
    t->p.resolver = r;
    assert_int_equal(flow_new(&t->o.f, &t->p), 0);
    stream_tls_ctx_free(ctx); /* the flow keeps its own reference */
    flow_start(t->o.f);
    assert_true(srv_accept(t, PUMP_ITER));
    for (int i = 0; i < PUMP_ITER && (n = srv_recv(t, hello, sizeof(hello), 1)) < 0; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(n > 5);
    assert_int_equal((unsigned char)hello[0], 0x16); /* a TLS handshake record */
    assert_non_null(memmem(hello, (size_t)n, "localhost", 9));
    srv_send(t, "SIP/2.0 400 Bad Request\r\n\r\n", 27);
    assert_true(pump_until(t, &t->o.downs, 1));
    assert_int_equal(t->o.ready, 0);
    assert_true(strlen(t->o.reason) > 0);
    assert_int_equal(flow_state(t->o.f), FLOW_BACKOFF);
    flow_free(t->o.f); /* before its resolver */
    t->o.f = NULL;
    resolver_free(r);
}

/* The flow connects to the address it was given (here a literal) and
 * verifies and sends as SNI the configured name (cfg_proxy.tls_name: the
 * URI's host or tls.server_name), never the address (RFC 5922 §4). */
static void test_tls_name_is_not_the_address(void **state)
{
    struct fx *t = *state;
    SSL_CTX *ctx = NULL;
    char err[128], hello[4096];
    uint16_t port;
    ssize_t n = -1;

    close(t->lfd);
    t->lfd = listen_on(AF_INET, &port);
    proxy_set(t, "127.0.0.1", AF_INET, port, CFG_TRANSPORT_TLS);
    t->proxy.tls_name = "sip.example.net";
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .verify = true }, &ctx, NULL,
                                        err, sizeof(err)), 0);
    t->p.tls = ctx;
    assert_int_equal(flow_new(&t->o.f, &t->p), 0);
    stream_tls_ctx_free(ctx);
    flow_start(t->o.f);
    assert_true(srv_accept(t, PUMP_ITER));
    for (int i = 0; i < PUMP_ITER && (n = srv_recv(t, hello, sizeof(hello), 1)) < 0; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(n > 5);
    assert_int_equal((unsigned char)hello[0], 0x16);
    assert_non_null(memmem(hello, (size_t)n, "sip.example.net", 15));
    assert_null(memmem(hello, (size_t)n, "127.0.0.1", 9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_appendix_a),
        cmocka_unit_test(test_backoff_range_and_config),
        cmocka_unit_test(test_backoff_spread_1000),
        cmocka_unit_test(test_keepalive_bounds),
        cmocka_unit_test_setup_teardown(test_new_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_ready_local_addr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbound_ping_pong_and_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pong_at_deadline_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_and_short_flow_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_register_not_retransmitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_overflow_fails_from_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_name_and_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_name_is_not_the_address, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_flow");
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
