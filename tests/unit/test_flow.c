/* Unit tests for the RFC 5626 flow: the pure §4.4/§4.5 timing functions,
 * and the state machine driven against a real listening TCP socket on the
 * loopback, with a fake loop clock and a fixed "random" source so that
 * every keep-alive and back-off time is known to the millisecond.  The
 * loop is pumped with bounded waits; no test sleeps on the fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/rand.h"
#include "outbound/flow.h"
#include "transport/stream.h"

#include "fake_clock.h"

#define MAX_CONNS 8
#define PUMP_ITER 2000 /* x 1 ms real time at most */

static const char reg_text[] = "REGISTER sip:example.net SIP/2.0\r\n"
                               "Content-Length: 0\r\n\r\n";
static const char sip_opt[] = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
                              "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK2\r\n"
                              "Call-ID: c@d\r\n"
                              "CSeq: 2 OPTIONS\r\n"
                              "Content-Length: 0\r\n"
                              "\r\n";

static const struct flow_recovery defaults = {
    FLOW_BACKOFF_BASE_ALL_FAILED, FLOW_BACKOFF_BASE_NOT_FAILED, FLOW_BACKOFF_MAX
};

/* ---- fixture ---- */

struct owner {
    struct flow *f;
    int ready, downs, msgs;
    struct sockaddr_storage local;
    char reason[256];
    enum flow_state state_at_down;
    unsigned failures_at_down;
    bool others, free_in_message, free_in_down;
};

struct fx {
    uint64_t now;             /* the fake clock */
    uint32_t r;               /* what the fake rng returns */
    struct loop *l;
    int lfd;                  /* the "edge proxy" listening socket */
    int conns[MAX_CONNS];     /* accepted connections, newest last */
    int nconns;
    struct cfg_proxy proxy;
    char uri[96], host[64];
    struct flow_params p;
    struct owner o;
    int readies;              /* on_ready calls the test has checked */
    FILE *cap;                /* stderr capture, see capture_begin() */
    int saved_err;
};

static void own_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct owner *o = arg;

    assert_ptr_equal(f, o->f);
    /* ACTIVE: a REGISTER retry after a refresh error (flow_register_retry_after) */
    assert_true(flow_state(f) == FLOW_REGISTERING || flow_state(f) == FLOW_ACTIVE);
    o->ready++;
    o->local = *local;
    assert_int_equal(flow_send(f, reg_text, sizeof(reg_text) - 1), 0);
}

static void own_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    struct owner *o = arg;

    assert_ptr_equal(f, o->f);
    assert_int_equal(len, sizeof(sip_opt) - 1);
    assert_memory_equal(msg, sip_opt, len);
    o->msgs++;
    if (o->free_in_message) {
        flow_free(f);
        o->f = NULL;
    }
}

static void own_down(struct flow *f, const char *reason, void *arg)
{
    struct owner *o = arg;

    assert_ptr_equal(f, o->f);
    o->downs++;
    snprintf(o->reason, sizeof(o->reason), "%s", reason);
    o->state_at_down = flow_state(f);
    o->failures_at_down = flow_consecutive_failures(f);
    assert_int_equal(flow_local_addr(f, &(struct sockaddr_storage){ 0 }), -ENOTCONN);
    if (o->free_in_down) {
        flow_free(f);
        o->f = NULL;
    }
}

static bool own_others(const struct flow *f, void *arg)
{
    (void)f;
    return ((struct owner *)arg)->others;
}

static const struct flow_cbs owner_cbs = {
    .on_ready = own_ready,
    .on_message = own_message,
    .on_down = own_down,
    .others_working = own_others,
};

/* A listening socket on the loopback address of the given family. */
static int listen_on(int family, uint16_t *port)
{
    struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
    socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
    else
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = (uint16_t)addr_port((struct sockaddr *)&ss);
    return fd;
}

static void proxy_set(struct fx *t, const char *host, int family, uint16_t port,
                      enum cfg_transport tp)
{
    snprintf(t->host, sizeof(t->host), "%s", host);
    snprintf(t->uri, sizeof(t->uri), "%s:%s:%u;transport=%s",
             tp == CFG_TRANSPORT_TLS ? "sips" : "sip", host, port, cfg_transport_name(tp));
    t->proxy = (struct cfg_proxy){
        .uri = t->uri, .sips = tp == CFG_TRANSPORT_TLS, .host = t->host,
        .host_family = family, .port = port, .port_explicit = true, .transport = tp,
    };
}

static int setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));
    uint16_t port;

    assert_non_null(t);
    t->saved_err = -1;
    t->l = fake_loop_new(&t->now, 1000000);
    t->lfd = listen_on(AF_INET, &port);
    proxy_set(t, "127.0.0.1", AF_INET, port, CFG_TRANSPORT_TCP);
    t->p = (struct flow_params){
        .loop = t->l, .proxy = &t->proxy, .reg_id = 1,
        .keepalive = { .interval = CFG_KEEPALIVE_AUTO, .pong_timeout = 10 },
        .recovery = defaults, .rng = { fake_rng, &t->r }, .cbs = &owner_cbs, .arg = &t->o,
    };
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    if (t->saved_err >= 0) { /* a test failed while capturing */
        dup2(t->saved_err, STDERR_FILENO);
        close(t->saved_err);
        fclose(t->cap);
    }
    flow_free(t->o.f);
    for (int i = 0; i < t->nconns; i++)
        close(t->conns[i]);
    close(t->lfd);
    loop_free(t->l);
    free(t);
    return 0;
}

/* ---- driving ---- */

static bool pump_until(struct fx *t, const int *counter, int want)
{
    return fake_loop_pump_until(t->l, counter, want, PUMP_ITER);
}

/* Moves the fake clock to `at` and lets the loop fire what is due. */
static void clock_to(struct fx *t, uint64_t at)
{
    assert_true(at >= t->now);
    t->now = at;
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(t->l, 0), 0);
}

/* Accepts the flow's next connection, pumping the loop while waiting.
 * Returns false when none came within wait_iter loop turns. */
static bool srv_accept(struct fx *t, int wait_iter)
{
    for (int i = 0; i <= wait_iter; i++) {
        int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            assert_true(t->nconns < MAX_CONNS);
            t->conns[t->nconns++] = fd;
            return true;
        }
        assert_int_equal(errno, EAGAIN);
        if (i < wait_iter)
            assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    return false;
}

static int srv_fd(const struct fx *t)
{
    assert_true(t->nconns > 0);
    return t->conns[t->nconns - 1];
}

/* Reads what the flow sent on the newest connection: > 0 bytes, 0 at EOF,
 * -1 when nothing came within wait_ms. */
static ssize_t srv_recv(struct fx *t, char *buf, size_t cap, int wait_ms)
{
    struct pollfd pfd = { .fd = srv_fd(t), .events = POLLIN };

    if (poll(&pfd, 1, wait_ms) <= 0)
        return -1;
    return recv(pfd.fd, buf, cap, 0);
}

static void srv_send(struct fx *t, const char *s, size_t n)
{
    assert_int_equal(send(srv_fd(t), s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void expect_register(struct fx *t)
{
    char buf[512];
    ssize_t n = srv_recv(t, buf, sizeof(buf), 1000);

    assert_int_equal(n, (ssize_t)sizeof(reg_text) - 1);
    assert_memory_equal(buf, reg_text, (size_t)n);
}

static void expect_ping(struct fx *t)
{
    char buf[16];

    assert_int_equal(srv_recv(t, buf, sizeof(buf), 1000), 4);
    assert_memory_equal(buf, "\r\n\r\n", 4);
}

static void expect_quiet(struct fx *t)
{
    char buf[16];

    assert_int_equal(srv_recv(t, buf, sizeof(buf), 2), -1);
}

/* New flow, started, connected, REGISTER received by the server. */
static void start_connected(struct fx *t)
{
    assert_int_equal(flow_new(&t->o.f, &t->p), 0);
    assert_int_equal(flow_state(t->o.f), FLOW_IDLE);
    flow_start(t->o.f);
    assert_int_equal(flow_state(t->o.f), FLOW_CONNECTING);
    assert_true(srv_accept(t, PUMP_ITER));
    assert_true(pump_until(t, &t->o.ready, 1));
    t->readies = 1;
    expect_register(t);
}

/* After a failure: the next attempt connects and sends its REGISTER. */
static void expect_reconnect(struct fx *t)
{
    assert_true(srv_accept(t, PUMP_ITER));
    assert_true(pump_until(t, &t->o.ready, ++t->readies));
    assert_int_equal(t->o.ready, t->readies);
    expect_register(t);
}

/* Steps the clock by 1 s from `from`, checking that no ping arrives
 * before from + lo; returns the time at which one arrived (<= from + hi). */
static uint64_t await_ping(struct fx *t, uint64_t from, uint64_t lo, uint64_t hi)
{
    char buf[16];

    for (uint64_t at = from + 1000; at <= from + hi; at += 1000) {
        clock_to(t, at);
        ssize_t n = srv_recv(t, buf, sizeof(buf), 2);
        if (n < 0)
            continue;
        assert_int_equal(n, 4);
        assert_memory_equal(buf, "\r\n\r\n", 4);
        assert_true(at >= from + lo);
        return at;
    }
    fail_msg("no ping by %llu ms", (unsigned long long)hi);
    return 0;
}

static void pong_until_working(struct fx *t)
{
    srv_send(t, "\r\n", 2);
    for (int i = 0; i < PUMP_ITER && !flow_working(t->o.f); i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(flow_working(t->o.f));
}

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

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
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

/* A name is resolved; TLS sends the proxy host as SNI, and a TLS failure
 * is reported with the stream's reason. */
static void test_tls_name_and_failure(void **state)
{
    struct fx *t = *state;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    SSL_CTX *ctx = NULL;
    char err[128], hello[4096];
    uint16_t port;
    ssize_t n = -1;

    assert_int_equal(getaddrinfo("localhost", NULL, &hints, &res), 0);
    close(t->lfd);
    t->lfd = listen_on(res->ai_family, &port); /* where the flow will go */
    freeaddrinfo(res);
    proxy_set(t, "localhost", 0, port, CFG_TRANSPORT_TLS);
    assert_int_equal(stream_tls_ctx_new(NULL, true, &ctx, err, sizeof(err)), 0);
    t->p.tls = ctx;
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
        cmocka_unit_test_setup_teardown(test_reg_timeout_and_backoff_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_resend_restarts_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_register_not_retransmitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_overflow_fails_from_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_working_failure_then_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_failed_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_retry_keeps_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_outbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_name_and_failure, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_flow");
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
