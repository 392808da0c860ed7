/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_fixture.h - the set-up shared by test_flow.c and
 * test_flow_recovery.c: a flow against a real listening TCP socket on the
 * loopback (the "edge proxy"), the fake loop clock and a fixed "random"
 * source, an owner whose callbacks record what the flow did, and the
 * helpers that drive both sides.  Included by one test file each (static
 * functions); needs cmocka.h included first. */
#ifndef SIPKEEP_TESTS_FLOW_FIXTURE_H
#define SIPKEEP_TESTS_FLOW_FIXTURE_H

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
#include "outbound/flow_int.h"
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

static inline void own_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct owner *o = arg;

    assert_ptr_equal(f, o->f);
    /* ACTIVE: a REGISTER retry after a refresh error (flow_register_retry_after) */
    assert_true(flow_state(f) == FLOW_REGISTERING || flow_state(f) == FLOW_ACTIVE);
    o->ready++;
    o->local = *local;
    assert_int_equal(flow_send(f, reg_text, sizeof(reg_text) - 1), 0);
}

static inline void own_message(struct flow *f, const char *msg, size_t len, void *arg)
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

static inline void own_down(struct flow *f, const char *reason, void *arg)
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

static inline bool own_others(const struct flow *f, void *arg)
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
static inline int listen_on(int family, uint16_t *port)
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

static inline void proxy_set(struct fx *t, const char *host, int family, uint16_t port,
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

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

static inline bool pump_until(struct fx *t, const int *counter, int want)
{
    return fake_loop_pump_until(t->l, counter, want, PUMP_ITER);
}

/* Moves the fake clock to `at` and lets the loop fire what is due. */
static inline void clock_to(struct fx *t, uint64_t at)
{
    assert_true(at >= t->now);
    t->now = at;
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(t->l, 0), 0);
}

/* Accepts the flow's next connection, pumping the loop while waiting.
 * Returns false when none came within wait_iter loop turns. */
static inline bool srv_accept(struct fx *t, int wait_iter)
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

static inline int srv_fd(const struct fx *t)
{
    assert_true(t->nconns > 0);
    return t->conns[t->nconns - 1];
}

/* Reads what the flow sent on the newest connection: > 0 bytes, 0 at EOF,
 * -1 when nothing came within wait_ms. */
static inline ssize_t srv_recv(struct fx *t, char *buf, size_t cap, int wait_ms)
{
    struct pollfd pfd = { .fd = srv_fd(t), .events = POLLIN };

    if (poll(&pfd, 1, wait_ms) <= 0)
        return -1;
    return recv(pfd.fd, buf, cap, 0);
}

static inline void srv_send(struct fx *t, const char *s, size_t n)
{
    assert_int_equal(send(srv_fd(t), s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static inline void expect_register(struct fx *t)
{
    char buf[512];
    ssize_t n = srv_recv(t, buf, sizeof(buf), 1000);

    assert_int_equal(n, (ssize_t)sizeof(reg_text) - 1);
    assert_memory_equal(buf, reg_text, (size_t)n);
}

static inline void expect_ping(struct fx *t)
{
    char buf[16];

    assert_int_equal(srv_recv(t, buf, sizeof(buf), 1000), 4);
    assert_memory_equal(buf, "\r\n\r\n", 4);
}

static inline void expect_quiet(struct fx *t)
{
    char buf[16];

    assert_int_equal(srv_recv(t, buf, sizeof(buf), 2), -1);
}

/* New flow, started, connected, REGISTER received by the server. */
static inline void start_connected(struct fx *t)
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
static inline void expect_reconnect(struct fx *t)
{
    assert_true(srv_accept(t, PUMP_ITER));
    assert_true(pump_until(t, &t->o.ready, ++t->readies));
    assert_int_equal(t->o.ready, t->readies);
    expect_register(t);
}

/* Steps the clock by 1 s from `from`, checking that no ping arrives
 * before from + lo; returns the time at which one arrived (<= from + hi). */
static inline uint64_t await_ping(struct fx *t, uint64_t from, uint64_t lo, uint64_t hi)
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

static inline void pong_until_working(struct fx *t)
{
    srv_send(t, "\r\n", 2);
    for (int i = 0; i < PUMP_ITER && !flow_working(t->o.f); i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(flow_working(t->o.f));
}

static inline int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#endif
