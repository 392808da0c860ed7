/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the STUN keep-alive client (RFC 5626 §4.4.2, RFC 5389
 * §7.2.1) on a fake loop clock: the exact retransmission schedule and the
 * 39.5 s failure, each failure cause (error response, no response, a
 * changed XOR-MAPPED-ADDRESS), the interval rules, and that transactions
 * never overlap.  The "network" is a capture of what stunka sends and
 * responses built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "outbound/stunka.h"
#include "outbound/flow_int.h"
#include "sip/stun.h"

#include "fake_clock.h"

#define MAX_SENT 64

struct fx {
    uint64_t now;
    uint32_t r;
    struct loop *l;
    struct stunka *k;
    uint8_t sent[MAX_SENT][STUN_BINDING_REQ_MAX];
    uint64_t sent_at[MAX_SENT];
    int nsent;
    int pongs, fails;
    int64_t rtt;
    char reason[256];
    bool free_in_fail;
};

static const struct cfg_keepalive ka_auto = { CFG_KEEPALIVE_AUTO, 10, CFG_UDP_KA_AUTO };

static int cap_send(const uint8_t *buf, size_t len, void *arg)
{
    struct fx *t = arg;

    assert_true(len == STUN_BINDING_REQ_MAX);
    assert_true(t->nsent < MAX_SENT);
    memcpy(t->sent[t->nsent], buf, len);
    t->sent_at[t->nsent++] = t->now;
    return 0;
}

static void cap_pong(int64_t rtt_ms, const struct sockaddr_storage *mapped, void *arg)
{
    struct fx *t = arg;

    assert_non_null(mapped);
    t->pongs++;
    t->rtt = rtt_ms;
}

static void cap_fail(const char *reason, void *arg)
{
    struct fx *t = arg;

    t->fails++;
    snprintf(t->reason, sizeof(t->reason), "%s", reason);
    if (t->free_in_fail) {
        stunka_free(t->k);
        t->k = NULL;
    }
}

static const struct stunka_cbs cbs = { cap_send, cap_pong, cap_fail };

static int setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));
    struct stunka_params p;

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 5000000);
    p = (struct stunka_params){ t->l, &cbs, t, { fake_rng, &t->r } };
    assert_int_equal(stunka_new(&t->k, &p), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    stunka_free(t->k);
    loop_free(t->l);
    free(t);
    return 0;
}

/* Fires what is due at `at` (the clock only moves forward). */
static void clock_to(struct fx *t, uint64_t at)
{
    assert_true(at >= t->now);
    t->now = at;
    loop_run_timers(t->l);
}

/* A Binding success with XOR-MAPPED-ADDRESS ip:port for request `req`. */
static size_t success_for(const uint8_t *req, const char *ip, uint16_t port, uint8_t *out)
{
    struct in_addr a;
    uint32_t x;

    assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
    memset(out, 0, 32);
    out[0] = 0x01;
    out[1] = 0x01;
    out[3] = 12;
    memcpy(out + 4, req + 4, 16); /* cookie and transaction ID */
    out[20] = 0x00;
    out[21] = 0x20; /* XOR-MAPPED-ADDRESS */
    out[23] = 8;
    out[25] = 0x01;
    out[26] = (uint8_t)((port ^ 0x2112) >> 8);
    out[27] = (uint8_t)(port ^ 0x2112);
    x = ntohl(a.s_addr) ^ STUN_MAGIC_COOKIE;
    out[28] = (uint8_t)(x >> 24);
    out[29] = (uint8_t)(x >> 16);
    out[30] = (uint8_t)(x >> 8);
    out[31] = (uint8_t)x;
    return 32;
}

/* A Binding error response 400 "Bad" for request `req`. */
static size_t error_for(const uint8_t *req, uint8_t *out)
{
    memset(out, 0, 28);
    out[0] = 0x01;
    out[1] = 0x11;
    out[3] = 8;
    memcpy(out + 4, req + 4, 16);
    out[21] = 0x09; /* ERROR-CODE */
    out[23] = 4;
    out[26] = 4;  /* class 4 */
    out[27] = 0;  /* number 0: 400 */
    return 24 + 4;
}

static void answer(struct fx *t, const char *ip, uint16_t port)
{
    uint8_t rsp[32];
    size_t n = success_for(t->sent[t->nsent - 1], ip, port, rsp);

    stunka_input(t->k, rsp, n);
}

static bool same_tid(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a + 8, b + 8, STUN_TID_LEN) == 0;
}

/* ---- tests ---- */

/* RFC 5389 §7.2.1 with RTO 500 ms, Rc 7, Rm 16: requests at 0, 0.5, 1.5,
 * 3.5, 7.5, 15.5 and 31.5 s, all with one transaction ID, and failure at
 * exactly 39.5 s (RFC 5626 §4.4.2), not a millisecond before. */
static void test_retransmission_schedule(void **state)
{
    static const uint64_t at[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
    struct fx *t = *state;
    uint64_t t0 = t->now;

    assert_int_equal(stunka_start(t->k, &ka_auto, 0), 0);
    clock_to(t, t0);
    assert_int_equal(t->nsent, 1);
    assert_true(stunka_outstanding(t->k));
    assert_true(stun_is_stun(t->sent[0], STUN_BINDING_REQ_MAX));
    for (uint64_t ms = t0; ms <= t0 + 39499; ms += 1)
        clock_to(t, ms);
    assert_int_equal(t->nsent, 7);
    assert_int_equal(stunka_sends(t->k), STUNKA_RC);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(t->sent_at[i] - t0, at[i]);
        assert_true(same_tid(t->sent[i], t->sent[0]));
    }
    assert_int_equal(t->fails, 0);
    clock_to(t, t0 + 39500);
    assert_int_equal(t->fails, 1);
    assert_non_null(strstr(t->reason, "no STUN Binding response within 39500 ms"));
    assert_false(stunka_outstanding(t->k));
    clock_to(t, t0 + 3600000); /* stopped: nothing more is sent */
    assert_int_equal(t->nsent, 7);
    assert_int_equal(t->pongs, 0);
}

/* A Binding error response fails the flow at once (§4.4.2); the callback
 * may free the client. */
static void test_error_response_fails(void **state)
{
    struct fx *t = *state;
    uint8_t rsp[32];
    size_t n;

    t->free_in_fail = true;
    stunka_start(t->k, &ka_auto, 0);
    clock_to(t, t->now);
    clock_to(t, t->now + 500); /* one retransmission, same ID */
    assert_int_equal(t->nsent, 2);
    n = error_for(t->sent[1], rsp);
    stunka_input(t->k, rsp, n);
    assert_int_equal(t->fails, 1);
    assert_null(t->k);
    assert_non_null(strstr(t->reason, "error response 400"));
    clock_to(t, t->now + 60000);
    assert_int_equal(t->nsent, 2);
}

/* The first success sets the flow's address; the same address again is a
 * pong; another one (the NAT rebound) fails the flow.  A response with a
 * stale transaction ID is ignored. */
static void test_mapped_address_change_fails(void **state)
{
    struct fx *t = *state;
    uint8_t rsp[32], stale[STUN_BINDING_REQ_MAX];
    size_t n;

    t->r = 0;                           /* intervals at their low end: 24 s */
    stunka_start(t->k, &ka_auto, 0);
    clock_to(t, t->now);
    clock_to(t, t->now + 120);
    answer(t, "198.51.100.1", 40000);
    assert_int_equal(t->pongs, 1);
    assert_int_equal(t->rtt, 120);
    assert_false(stunka_outstanding(t->k));
    memcpy(stale, t->sent[0], sizeof(stale));
    clock_to(t, t->now + 24000);
    assert_int_equal(t->nsent, 2);
    n = success_for(stale, "198.51.100.1", 41111, rsp);
    stunka_input(t->k, rsp, n);         /* old ID: ignored */
    assert_int_equal(t->fails, 0);
    assert_true(stunka_outstanding(t->k));
    answer(t, "198.51.100.1", 40000);
    assert_int_equal(t->pongs, 2);
    clock_to(t, t->now + 24000);
    assert_int_equal(t->nsent, 3);
    answer(t, "198.51.100.1", 40001);   /* same IP, new port */
    assert_int_equal(t->fails, 1);
    assert_int_equal(t->pongs, 2);
    assert_non_null(strstr(t->reason, "198.51.100.1:40000 to 198.51.100.1:40001"));
    clock_to(t, t->now + 60000);
    assert_int_equal(t->nsent, 3);
}

/* Intervals: Flow-Timer F gives 80-100 % of F (§4.4), a configured
 * interval 80-100 % of it, otherwise 24-29 s (§4.4.2). */
static void test_interval_rules(void **state)
{
    const struct cfg_keepalive fixed = { 15, 10, CFG_UDP_KA_AUTO };
    uint32_t x = 4242;

    (void)state;
    assert_int_equal(stunka_interval_ms(&ka_auto, 0, 0), 24000);
    assert_int_equal(stunka_interval_ms(&ka_auto, 0, UINT32_MAX), 29000);
    assert_int_equal(stunka_interval_ms(&ka_auto, 20, 0), 16000);
    assert_int_equal(stunka_interval_ms(&ka_auto, 20, UINT32_MAX), 20000);
    assert_int_equal(stunka_interval_ms(&fixed, 20, 0), 16000); /* Flow-Timer wins */
    assert_int_equal(stunka_interval_ms(&fixed, 0, 0), 12000);
    assert_int_equal(stunka_interval_ms(&fixed, 0, UINT32_MAX), 15000);
    for (int i = 0; i < 10000; i++) {
        x = x * 1664525u + 1013904223u;
        uint64_t v = stunka_interval_ms(&ka_auto, 0, x);
        assert_true(v >= 24000 && v <= 29000);
        v = stunka_interval_ms(&ka_auto, 8, x);
        assert_true(v >= 6400 && v <= 8000);
    }
}

/* On the clock: the next request goes out exactly one interval after the
 * previous transaction's success (Flow-Timer 8 s, r mid-range: ~7.2 s);
 * a refresh with a shorter Flow-Timer brings it forward, a longer one does
 * not postpone it. */
static void test_interval_on_clock(void **state)
{
    struct fx *t = *state;
    uint64_t t1, iv, iv4;

    t->r = UINT32_MAX / 2;
    iv = stunka_interval_ms(&ka_auto, 8, t->r);
    iv4 = stunka_interval_ms(&ka_auto, 4, t->r);
    assert_true(iv >= 7199 && iv <= 7200);
    stunka_start(t->k, &ka_auto, 8);
    clock_to(t, t->now);
    answer(t, "192.0.2.1", 1000);
    t1 = t->now;
    clock_to(t, t1 + iv - 1);
    assert_int_equal(t->nsent, 1);
    clock_to(t, t1 + iv);
    assert_int_equal(t->nsent, 2);
    answer(t, "192.0.2.1", 1000);
    t1 = t->now;
    stunka_start(t->k, &ka_auto, 60); /* longer: the next stays at t1 + 7.2 s */
    stunka_start(t->k, &ka_auto, 4);  /* shorter: at t1 + 3.6 s */
    clock_to(t, t1 + iv4 - 1);
    assert_int_equal(t->nsent, 2);
    clock_to(t, t1 + iv4);
    assert_int_equal(t->nsent, 3);
}

/* Never two transactions at once: while one is outstanding (here through
 * all its retransmissions, far past the 6.4-8 s interval), neither the
 * interval, a refresh nor stunka_ping_now() starts another; every request
 * sent carries the same ID.  After it ends in success, ping_now starts the
 * next one at once, with a new ID. */
static void test_no_overlap(void **state)
{
    struct fx *t = *state;
    uint64_t t0 = t->now;

    stunka_ping_now(t->k); /* not started: nothing */
    clock_to(t, t0);
    assert_int_equal(t->nsent, 0);
    stunka_start(t->k, &ka_auto, 8);
    clock_to(t, t0);
    for (uint64_t ms = t0; ms <= t0 + 39000; ms += 250) {
        clock_to(t, ms);
        stunka_ping_now(t->k);
        stunka_start(t->k, &ka_auto, 8);
    }
    assert_int_equal(t->nsent, 7);
    for (int i = 1; i < t->nsent; i++)
        assert_true(same_tid(t->sent[i], t->sent[0]));
    answer(t, "192.0.2.7", 5060);
    assert_int_equal(t->pongs, 1);
    assert_int_equal(t->fails, 0);
    stunka_ping_now(t->k);
    clock_to(t, t->now);
    assert_int_equal(t->nsent, 8);
    assert_false(same_tid(t->sent[7], t->sent[0]));
}

/* What is not an answer to the outstanding transaction changes nothing:
 * garbage, a request, a success without an address fails it (§7.3.3). */
static void test_input_robustness(void **state)
{
    struct fx *t = *state;
    uint8_t junk[40] = { 0 }, rsp[32];
    size_t n;

    stunka_input(t->k, junk, sizeof(junk)); /* idle: ignored */
    stunka_start(t->k, &ka_auto, 0);
    clock_to(t, t->now);
    stunka_input(t->k, junk, sizeof(junk));
    stunka_input(t->k, t->sent[0], STUN_BINDING_REQ_MAX); /* our own request echoed */
    assert_int_equal(t->fails + t->pongs, 0);
    n = success_for(t->sent[0], "192.0.2.9", 9, rsp);
    rsp[3] = 0;       /* no attributes: a success without a mapped address */
    stunka_input(t->k, rsp, 20);
    (void)n;
    assert_int_equal(t->fails, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retransmission_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_response_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapped_address_change_fails, setup, teardown),
        cmocka_unit_test(test_interval_rules),
        cmocka_unit_test_setup_teardown(test_interval_on_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_robustness, setup, teardown),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_stunka");
    return cmocka_run_group_tests_name("stunka", tests, NULL, NULL);
}
