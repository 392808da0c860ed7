/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for recovery pacing (issue 14 item 2): the per-edge
 * connection rate alone (outbound/pacer.h: slots, burst, jitter, holds,
 * one bucket per edge address) and wired into flows (outbound/flow.h: a
 * storm of row-0 retries spread at the rate, a lone failure immediate, a
 * Retry-After from the edge holding every flow waiting on it).  Fake clock
 * and "random" source (fake_clock.h); the flows' edge is a real listening
 * socket on the loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/loop.h"
#include "outbound/flow.h"
#include "outbound/pacer.h"

#include "fake_clock.h"
#include "flow_owner.h"

static struct sockaddr_in edge(uint32_t ip, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(ip) };
    return a;
}

#define SA(a) ((const struct sockaddr *)&(a))
#define EDGE_A 0xc6336410u /* 198.51.100.16 */
#define EDGE_B 0xc6336411u

/* A spread of "random" values over the whole 32-bit range. */
static uint32_t spread_r(unsigned i)
{
    return (uint32_t)(i * 2654435761u);
}

/* ---- the pacer alone ---- */

/* 1,000 failures at once, 200/s with a burst of 20: the first 20 go at
 * once, then one slot every 5 ms, each connection inside its own slot
 * (never before it), the last at 4.9 s; no second of it sees more than
 * rate + burst connections. */
static void test_spreads_at_rate(void **state)
{
    struct pacer *p;
    struct sockaddr_in a = edge(EDGE_A, 5061);
    uint64_t now = 50000, at[1000];
    unsigned per_s[8] = { 0 };

    (void)state;
    assert_int_equal(pacer_new(&p), 0);
    for (unsigned k = 0; k < 1000; k++) {
        uint64_t d = pacer_reserve(p, SA(a), 200, 20, now, spread_r(k));

        if (k < 20) {
            assert_int_equal(d, 0);
        } else {
            uint64_t slot = (uint64_t)(k - 19) * 5u;

            assert_true(d >= slot);    /* never before its slot */
            assert_true(d <= slot + 5); /* nor past the next one's start */
        }
        at[k] = d;
        per_s[d / 1000]++;
    }
    assert_true(at[999] >= 4900 && at[999] <= 4905);
    for (unsigned s = 0; s < 8; s++)
        assert_true(per_s[s] <= 200 + 20);
    /* jittered: not every connection at the start of its slot */
    {
        unsigned off = 0;

        for (unsigned k = 20; k < 1000; k++)
            off += at[k] != (uint64_t)(k - 19) * 5u;
        assert_true(off > 100);
    }
    pacer_free(p);
}

/* A lone failure reconnects at once, and so does the next one once the
 * bucket has refilled; the burst is the bucket's size. */
static void test_single_is_immediate(void **state)
{
    struct pacer *p;
    struct sockaddr_in a = edge(EDGE_A, 5060);

    (void)state;
    assert_int_equal(pacer_new(&p), 0);
    assert_int_equal(pacer_reserve(p, SA(a), 200, 20, 1000, UINT32_MAX), 0);
    assert_int_equal(pacer_reserve(p, SA(a), 200, 20, 1001, UINT32_MAX), 0);
    /* a burst of 1: the second at once is paced, the third 5 ms later not */
    assert_int_equal(pacer_reserve(p, SA(a), 10, 1, 90000, 0), 0);
    assert_int_equal(pacer_reserve(p, SA(a), 10, 1, 90000, 0), 100);
    assert_int_equal(pacer_reserve(p, SA(a), 10, 1, 90300, 0), 0);
    /* rate 0: no pacing */
    for (int i = 0; i < 100; i++)
        assert_int_equal(pacer_reserve(p, SA(a), 0, 1, 90300, 0), 0);
    assert_int_equal(pacer_reserve(NULL, SA(a), 200, 20, 1000, 0), 0);
    pacer_free(p);
    pacer_free(NULL);
}

/* A Retry-After holds every slot at that edge until it has passed; after
 * it the waiting connections come at the rate, not all at once. */
static void test_hold(void **state)
{
    struct pacer *p;
    struct sockaddr_in a = edge(EDGE_A, 5060), edge_b = edge(EDGE_B, 5060);
    uint64_t now = 10000;

    (void)state;
    assert_int_equal(pacer_new(&p), 0);
    assert_int_equal(pacer_held_until(p, SA(a), now), 0);
    pacer_hold(p, SA(a), now, now + 30000);
    pacer_hold(p, SA(a), now, now + 20000); /* an earlier end changes nothing */
    assert_int_equal(pacer_held_until(p, SA(a), now), now + 30000);
    for (unsigned k = 0; k < 100; k++) {
        uint64_t d = pacer_reserve(p, SA(a), 200, 20, now, spread_r(k));
        uint64_t slot = 30000 + (k < 20 ? 0 : (uint64_t)(k - 19) * 5u);

        assert_true(d >= slot && d <= slot + 5);
    }
    assert_int_equal(pacer_held_until(p, SA(a), now + 29999), now + 30000);
    assert_int_equal(pacer_held_until(p, SA(a), now + 30000), 0);
    /* its length as asked (the span the agent spreads held REGISTERs
     * over): 30 s, then 40 s once a later Retry-After extends it */
    assert_int_equal(pacer_hold_len(p, SA(a)), 30000);
    pacer_hold(p, SA(a), now + 5000, now + 45000);
    assert_int_equal(pacer_hold_len(p, SA(a)), 40000);
    assert_int_equal(pacer_held_until(p, SA(a), now + 30000), now + 45000);
    pacer_hold(p, SA(a), now + 6000, now + 6000); /* Retry-After 0: none */
    assert_int_equal(pacer_hold_len(p, SA(a)), 40000);
    assert_int_equal(pacer_hold_len(p, SA(edge_b)), 0);
    /* long after: a lone failure goes at once again */
    assert_int_equal(pacer_reserve(p, SA(a), 200, 20, now + 60000, 0), 0);
    pacer_free(p);
}

/* Each edge address has its own bucket and its own hold: another
 * address, or the same address on another port, is not slowed by a storm
 * or a hold at the first. */
static void test_per_edge(void **state)
{
    struct pacer *p;
    struct sockaddr_in a = edge(EDGE_A, 5060), b = edge(EDGE_B, 5060);
    struct sockaddr_in a2 = edge(EDGE_A, 5061);
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(5060),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };

    (void)state;
    assert_int_equal(pacer_new(&p), 0);
    for (int i = 0; i < 500; i++)
        pacer_reserve(p, SA(a), 200, 20, 1000, 0);
    pacer_hold(p, SA(a), 1000, 60000);
    assert_true(pacer_reserve(p, SA(a), 200, 20, 1000, 0) >= 59000);
    assert_int_equal(pacer_reserve(p, SA(b), 200, 20, 1000, 0), 0);
    assert_int_equal(pacer_reserve(p, SA(a2), 200, 20, 1000, 0), 0);
    assert_int_equal(pacer_reserve(p, SA(v6), 200, 20, 1000, 0), 0);
    assert_int_equal(pacer_held_until(p, SA(b), 1000), 0);
    assert_int_equal(pacer_held_until(p, SA(a2), 1000), 0);
    /* many edges over time: entries whose schedule is past are reused,
     * never one whose hold is still in force */
    for (uint32_t i = 0; i < 5000; i++) {
        struct sockaddr_in e = edge(0x0a000000u + i, 5060);

        assert_int_equal(pacer_reserve(p, SA(e), 200, 20, 2000 + i * 10, 0), 0);
    }
    assert_int_equal(pacer_held_until(p, SA(a), 52000), 60000);
    assert_true(pacer_reserve(p, SA(a), 200, 20, 52000, 0) >= 8000);
    pacer_free(p);
}

/* Something said about an edge (its certificate expiring) is due once
 * per edge address and key per period: many flows asking get one yes, the
 * next yes comes when the period is over; another address or another key
 * (server name) at the same address has its own.  An entry with a live
 * note is not handed to another edge. */
static void test_note_once(void **state)
{
    struct pacer *p;
    struct sockaddr_in a = edge(EDGE_A, 5061), b = edge(EDGE_B, 5061);
    const uint64_t day = 86400000u;
    uint64_t now = 1000;
    unsigned yes = 0;

    (void)state;
    assert_int_equal(pacer_new(&p), 0);
    for (int i = 0; i < 10000; i++)
        yes += pacer_note_once(p, SA(a), "edge.test", now + (uint64_t)i, day);
    assert_int_equal(yes, 1);
    assert_true(pacer_note_once(p, SA(b), "edge.test", now, day));
    assert_true(pacer_note_once(p, SA(a), "other.test", now, day));
    assert_false(pacer_note_once(p, SA(a), "other.test", now + 1, day));
    assert_false(pacer_note_once(p, SA(a), "edge.test", now + day - 1, day));
    /* the pacing of many other edges meanwhile does not take a's entry */
    for (uint32_t i = 0; i < 3000; i++) {
        struct sockaddr_in e = edge(0x0a000000u + i, 5060);

        assert_int_equal(pacer_reserve(p, SA(e), 200, 20, now + 2000 + i * 10, 0), 0);
    }
    assert_false(pacer_note_once(p, SA(a), "edge.test", now + day - 1, day));
    assert_true(pacer_note_once(p, SA(a), "edge.test", now + day, day));
    assert_false(pacer_note_once(p, SA(a), "edge.test", now + 2 * day - 1, day));
    assert_true(pacer_note_once(NULL, SA(a), "edge.test", now, day));
    pacer_free(p);
}

/* ---- wired into flows ---- */

#define NFLOWS 12

struct fx {
    uint64_t now;
    uint32_t r;
    struct loop *l;
    int lfd;
    int conns[4 * NFLOWS];
    int nconns;
    struct cfg_proxy proxy;
    char uri[64];
    struct pacer *pacer;
    struct owner o[NFLOWS];
};

static int setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));
    struct sockaddr_in a = edge(INADDR_LOOPBACK, 0);
    socklen_t len = sizeof(a);

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 1000000);
    t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(t->lfd >= 0);
    assert_int_equal(bind(t->lfd, SA(a), sizeof(a)), 0);
    assert_int_equal(listen(t->lfd, 4 * NFLOWS), 0);
    assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&a, &len), 0);
    snprintf(t->uri, sizeof(t->uri), "sip:127.0.0.1:%u;transport=tcp", ntohs(a.sin_port));
    t->proxy = (struct cfg_proxy){ .uri = t->uri, .host = "127.0.0.1",
                                   .host_family = AF_INET, .port = ntohs(a.sin_port),
                                   .port_explicit = true, .transport = CFG_TRANSPORT_TCP };
    assert_int_equal(pacer_new(&t->pacer), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    for (int i = 0; i < NFLOWS; i++)
        flow_free(t->o[i].f);
    for (int i = 0; i < t->nconns; i++)
        close(t->conns[i]);
    close(t->lfd);
    pacer_free(t->pacer);
    loop_free(t->l);
    free(t);
    return 0;
}

/* Accepts whatever connections the flows opened, turning the loop (1 ms
 * real waits, the fake clock standing still) `turns` times; the total. */
static int accept_for(struct fx *t, int turns)
{
    for (int i = 0; i < turns; i++) {
        int fd;

        while ((fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
            assert_true(t->nconns < 4 * NFLOWS);
            t->conns[t->nconns++] = fd;
        }
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    return t->nconns;
}

static void clock_to(struct fx *t, uint64_t at)
{
    assert_true(at >= t->now);
    t->now = at;
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(t->l, 0), 0);
}

/* At `at` on the fake clock the edge has accepted `want` connections in all. */
static void conns_at(struct fx *t, uint64_t at, int want)
{
    clock_to(t, at);
    assert_int_equal(accept_for(t, 20), want);
}

/* n flows at rate/burst, connected, registered and working (no pongs
 * expected without outbound). */
static void flows_working(struct fx *t, int n, unsigned rate, unsigned burst)
{
    struct flow_params p = {
        .loop = t->l, .proxy = &t->proxy, .reg_id = 1,
        .keepalive = { .interval = CFG_KEEPALIVE_AUTO, .pong_timeout = 10 },
        .recovery = { FLOW_BACKOFF_BASE_ALL_FAILED, FLOW_BACKOFF_BASE_NOT_FAILED,
                      FLOW_BACKOFF_MAX },
        .pacing = { t->pacer, rate, burst },
        .rng = { fake_rng, &t->r }, .cbs = &owner_cbs,
    };
    int ready = 0;

    for (int i = 0; i < n; i++) {
        p.arg = &t->o[i];
        assert_int_equal(flow_new(&t->o[i].f, &p), 0);
        flow_start(t->o[i].f);
    }
    for (int turn = 0; turn < 2000 && (accept_for(t, 1) < n || ready < n); turn++) {
        ready = 0;
        for (int i = 0; i < n; i++)
            ready += t->o[i].ready;
    }
    assert_int_equal(t->nconns, n);
    assert_int_equal(ready, n);
    for (int i = 0; i < n; i++) {
        flow_registered(t->o[i].f, false, 0);
        assert_true(flow_working(t->o[i].f));
    }
}

/* The edge drops all 12 flows at once (each a working flow: §4.5 row 0,
 * an immediate retry): 3 (the burst) reconnect at once, the others one
 * per 100 ms slot (10/s), none before its slot. */
static void test_flows_storm_spread(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    flows_working(t, NFLOWS, 10, 3);
    t0 = t->now;
    for (int i = 0; i < NFLOWS; i++)
        flow_fail(t->o[i].f, "edge restarted");
    assert_int_equal(accept_for(t, 50), NFLOWS + 3);
    {
        unsigned slots = 0; /* bit k: some flow waits k x 100 ms */

        for (int i = 0; i < NFLOWS; i++) {
            struct flow_info fi;

            flow_get_info(t->o[i].f, &fi);
            if (fi.retry_in_ms < 0)
                continue; /* one of the burst, connected */
            assert_int_equal(fi.state, FLOW_CONNECTING);
            assert_int_equal(fi.retry_in_ms % 100, 0);
            slots |= 1u << (fi.retry_in_ms / 100);
        }
        assert_int_equal(slots, ((1u << (NFLOWS - 3)) - 1) << 1);
    }
    for (int k = 1; k <= NFLOWS - 3; k++) {
        conns_at(t, t0 + 100u * (unsigned)k - 1, NFLOWS + 3 + k - 1);
        conns_at(t, t0 + 100u * (unsigned)k, NFLOWS + 3 + k);
    }
}

/* One flow failing alone reconnects at once with the default pacing. */
static void test_flow_single_immediate(void **state)
{
    struct fx *t = *state;

    flows_working(t, 1, 200, 20);
    flow_fail(t->o[0].f, "430 Flow Failed");
    assert_int_equal(accept_for(t, 50), 2);
    for (int i = 0; i < 2000 && t->o[0].ready < 2; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(t->o[0].ready, 2);
}

/* A 503 with Retry-After: 30 on one flow's REGISTER holds the other
 * flows' retries to that edge: flows dropped right after wait the 30 s
 * too, then come at the rate (10/s, a burst of 1), the 503's own flow
 * after them. */
static void test_flows_retry_after_holds_edge(void **state)
{
    struct fx *t = *state;
    struct flow_info fi;
    uint64_t t0;

    flows_working(t, 3, 10, 1);
    t0 = t->now;
    flow_register_failed_after(t->o[0].f, "REGISTER answered 503", 30);
    flow_fail(t->o[1].f, "edge restarted");
    flow_fail(t->o[2].f, "edge restarted");
    assert_int_equal(accept_for(t, 50), 3);
    flow_get_info(t->o[1].f, &fi);
    assert_int_equal(fi.state, FLOW_CONNECTING);
    assert_int_equal(fi.retry_in_ms, 30000);
    conns_at(t, t0 + 29999, 3);
    conns_at(t, t0 + 30000, 4);
    conns_at(t, t0 + 30099, 4);
    conns_at(t, t0 + 30100, 5);
    conns_at(t, t0 + 30200, 6);
}

/* A hold that arrives while flows already wait for their slots (a refresh
 * answered 503 Retry-After: 5 on a flow that stays up) moves those slots
 * past it: nothing connects before the 5 s, then one per slot. */
static void test_flows_hold_after_slots(void **state)
{
    struct fx *t = *state;
    uint64_t t0;

    flows_working(t, 4, 10, 1);
    t0 = t->now;
    for (int i = 1; i < 4; i++)
        flow_fail(t->o[i].f, "edge restarted");
    assert_int_equal(accept_for(t, 50), 5); /* the burst of 1 */
    flow_register_retry_after(t->o[0].f, "REGISTER answered 503", 5);
    assert_int_equal(flow_state(t->o[0].f), FLOW_ACTIVE);
    clock_to(t, t0 + 100); /* the second flow's slot: held */
    clock_to(t, t0 + 200);
    conns_at(t, t0 + 4999, 5);
    conns_at(t, t0 + 5000, 6);
    conns_at(t, t0 + 5100, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spreads_at_rate),
        cmocka_unit_test(test_single_is_immediate),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_per_edge),
        cmocka_unit_test(test_note_once),
        cmocka_unit_test_setup_teardown(test_flows_storm_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flow_single_immediate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flows_retry_after_holds_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flows_hold_after_slots, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
