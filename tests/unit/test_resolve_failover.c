/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_resolve_failover.c - a flow along its proxy's RFC 3263 target list
 * (outbound/flow.c with outbound/resolve.c): the fake DNS server
 * (dns_fake.h) gives SRV prio 10 -> edge A, prio 20 -> edge B, both real
 * TCP listeners on 127.0.0.1; the fake clock drives the back-off.
 * The flow forms to A; A's death moves it to B at once (a working flow's
 * first retry is immediate, §4.5 row 0); B refusing sends it back to A
 * after the list starts over on a fresh answer; a flow on B goes back to A
 * when asked after a refresh (flow_failback), connecting first; a
 * proxy's second flow (services[].flows) starts on B; a name
 * that does not resolve is a flow failure with the back-off, and the
 * waiting flow is CONNECTING with the loop free meanwhile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_fake.h"
#include "fake_clock.h"
#include "tmpfiles.h"
#include "outbound/flow.h"
#include "outbound/flow_int.h"
#include "outbound/resolve.h"

struct edge {
    int lfd, conn;
    uint16_t port;
};

struct env {
    uint64_t now;
    uint32_t rnd;
    struct loop *l;
    struct dns_fake dns;
    struct resolver *r;
    char conf[64];
    struct edge a, b;
    struct cfg_proxy proxy;
    struct flow *f;
    int ready, downs;
    char reason[256];
};

static void edge_listen(struct edge *e, uint16_t port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    socklen_t sl = sizeof(sin);
    int one = 1;

    e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(e->lfd >= 0);
    setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(e->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(e->lfd, 4), 0);
    assert_int_equal(getsockname(e->lfd, (struct sockaddr *)&sin, &sl), 0);
    e->port = ntohs(sin.sin_port);
    e->conn = -1;
}

static void edge_close(struct edge *e)
{
    if (e->conn >= 0)
        close(e->conn);
    if (e->lfd >= 0)
        close(e->lfd);
    e->conn = e->lfd = -1;
}

static void on_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct env *e = arg;

    (void)f;
    (void)local;
    e->ready++;
}

static void on_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    (void)f;
    (void)msg;
    (void)len;
    (void)arg;
}

static void on_down(struct flow *f, const char *reason, void *arg)
{
    struct env *e = arg;

    (void)f;
    e->downs++;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static const struct flow_cbs cbs = { on_ready, on_message, on_down, NULL };

/* A flow of e's proxy: reg-id, its place among the proxy's flows
 * (flow_params.spread), the default back-off, e's resolver and rng. */
static struct flow_params flow_params_of(struct env *e, unsigned reg_id, unsigned spread)
{
    return (struct flow_params){
        .loop = e->l, .proxy = &e->proxy, .reg_id = reg_id,
        .recovery = { FLOW_BACKOFF_BASE_ALL_FAILED, FLOW_BACKOFF_BASE_NOT_FAILED,
                      FLOW_BACKOFF_MAX },
        .rng = { fake_rng, &e->rnd }, .cbs = &cbs, .arg = e, .resolver = e->r,
        .spread = spread,
    };
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct resolver_params rp = { 0 };
    struct flow_params fp = { 0 };
    char buf[16];

    assert_non_null(e);
    e->l = fake_loop_new(&e->now, 1000000);
    dns_fake_open(&e->dns, e->l);
    snprintf(e->conf, sizeof(e->conf), "/tmp/test_resolve_fo.%d.conf", (int)getpid());
    spit(e->conf, "nameserver 127.0.0.1\n", strlen("nameserver 127.0.0.1\n"));
    rp = (struct resolver_params){ .loop = e->l, .resolv_conf = e->conf,
                                   .dns_port = e->dns.port, .timeout_ms = 40, .tries = 1 };
    assert_int_equal(resolver_new(&e->r, &rp), 0);
    edge_listen(&e->a, 0);
    edge_listen(&e->b, 0);
    (void)buf;
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._tcp.fo.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 20, .port = e->b.port,
                                           .target = "b.fo.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._tcp.fo.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 10, .port = e->a.port,
                                           .target = "a.fo.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "a.fo.test", .type = DNS_A, .ttl = 300,
                                           .addr = "127.0.0.1" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "b.fo.test", .type = DNS_A, .ttl = 300,
                                           .addr = "127.0.0.1" });
    e->proxy = (struct cfg_proxy){ .uri = "sip:fo.test;transport=tcp", .host = "fo.test",
                                   .port = 5060, .transport = CFG_TRANSPORT_TCP };
    fp = flow_params_of(e, 1, 0);
    assert_int_equal(flow_new(&e->f, &fp), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    flow_free(e->f);
    resolver_free(e->r);
    edge_close(&e->a);
    edge_close(&e->b);
    dns_fake_close(&e->dns);
    loop_free(e->l);
    unlink(e->conf);
    free(e);
    return 0;
}

/* Turns the loop (1 ms real waits, the fake clock 1 ms on) until the flow
 * was ready or down `want` times in all, accepting on both edges. */
static void pump(struct env *e, int want)
{
    for (int i = 0; i < 3000 && e->ready + e->downs < want; i++) {
        struct edge *ed[2] = { &e->a, &e->b };

        assert_int_equal(loop_run_once(e->l, 1), 0);
        e->now += 1;
        for (int k = 0; k < 2; k++) {
            int c = ed[k]->lfd >= 0 ? accept4(ed[k]->lfd, NULL, NULL, SOCK_NONBLOCK) : -1;

            if (c >= 0) {
                if (ed[k]->conn >= 0)
                    close(ed[k]->conn);
                ed[k]->conn = c;
            }
        }
    }
    assert_int_equal(e->ready + e->downs, want);
}

static const char *target_why(const struct env *e)
{
    const struct resolve_target *t = flow_target(e->f);

    return t ? t->why : "";
}

static unsigned target_port(const struct env *e)
{
    const struct resolve_target *t = flow_target(e->f);

    return t ? ntohs(((const struct sockaddr_in *)&t->addr)->sin_port) : 0;
}

static void test_failover_order(void **state)
{
    struct env *e = *state;

    flow_start(e->f);
    /* resolving: CONNECTING, no target yet, nothing called inside */
    assert_int_equal(flow_state(e->f), FLOW_CONNECTING);
    assert_null(flow_target(e->f));
    assert_int_equal(e->ready + e->downs, 0);
    pump(e, 1);
    assert_int_equal(e->ready, 1);
    assert_int_equal(target_port(e), e->a.port);
    assert_non_null(strstr(target_why(e), "srv prio 10"));
    assert_int_equal(flow_transport(e->f), CFG_TRANSPORT_TCP);
    flow_registered(e->f, false, 0);
    assert_true(flow_working(e->f));

    /* edge A dies: the working flow's first retry is immediate, to B */
    edge_close(&e->a);
    pump(e, 2);
    assert_int_equal(e->downs, 1);
    /* row 0: the retry was due at once and already runs */
    assert_int_equal(flow_state(e->f), FLOW_CONNECTING);
    pump(e, 3);
    assert_int_equal(e->ready, 2);
    assert_int_equal(target_port(e), e->b.port);
    assert_non_null(strstr(target_why(e), "srv prio 20"));

    /* A is back, B dies and refuses: past the list's end the name is
     * resolved again and the list starts over at A (after the back-off) */
    edge_listen(&e->a, e->a.port);
    flow_registered(e->f, false, 0);
    edge_close(&e->b);
    pump(e, 4);
    assert_int_equal(e->downs, 2);
    e->now += (uint64_t)FLOW_BACKOFF_MAX * 1000u;
    pump(e, 5);
    assert_int_equal(e->ready, 3);
    assert_int_equal(target_port(e), e->a.port);
    assert_non_null(strstr(target_why(e), "prio 10"));
}

/* A flow of a new phone, made just after an edge died under another
 * flow, starts on the next target, not on the dead one; once the mark
 * lapses (RESOLVE_FAILED_S) a new flow tries the first again. */
static void test_new_flow_skips_failed_target(void **state)
{
    struct env *e = *state;
    struct flow_params fp = flow_params_of(e, 1, 0);
    struct flow *f2 = NULL, *f3 = NULL;

    flow_start(e->f);
    pump(e, 1);
    assert_int_equal(target_port(e), e->a.port);
    flow_registered(e->f, false, 0);
    edge_close(&e->a);
    pump(e, 3);
    assert_int_equal(target_port(e), e->b.port);

    assert_int_equal(flow_new(&f2, &fp), 0);
    flow_start(f2); /* answered from the cache: the target is known at once */
    assert_non_null(flow_target(f2));
    assert_int_equal(ntohs(((const struct sockaddr_in *)&flow_target(f2)->addr)->sin_port),
                     e->b.port);
    pump(e, 4);
    assert_int_equal(e->ready, 3);
    assert_int_equal(e->downs, 1);
    flow_free(f2);

    e->now += RESOLVE_FAILED_S * 1000u + 1;
    assert_int_equal(flow_new(&f3, &fp), 0);
    flow_start(f3);
    assert_non_null(flow_target(f3));
    assert_int_equal(ntohs(((const struct sockaddr_in *)&flow_target(f3)->addr)->sin_port),
                     e->a.port);
    flow_free(f3);
}

/* Failback (issue 12 item 3): the flow is on B (prio 20) after A died.
 * Within RESOLVE_FAILED_S of A's failure nothing is tried.  Later, with A
 * still dead, the attempt fails beside the working flow, which stays on B
 * untouched (no on_down) and A is marked failed again.  With A back, the
 * new connection is made first, then the flow moves to A and registers
 * there (on_ready), B's connection closed. */
static void test_failback(void **state)
{
    struct env *e = *state;
    char buf[8];

    flow_start(e->f);
    pump(e, 1);
    flow_registered(e->f, false, 0);
    edge_close(&e->a);
    pump(e, 3);
    assert_int_equal(target_port(e), e->b.port);
    flow_registered(e->f, false, 0);
    assert_int_equal(flow_state(e->f), FLOW_ACTIVE);
    assert_false(flow_failback(e->f)); /* A failed just now */

    /* A still dead: the attempt fails, the flow is not touched */
    e->now += RESOLVE_FAILED_S * 1000u + 1;
    assert_true(flow_failback(e->f));
    assert_false(flow_failback(e->f)); /* one at a time */
    for (int i = 0; i < 200; i++) {
        assert_int_equal(loop_run_once(e->l, 1), 0);
        e->now += 1;
    }
    assert_int_equal(e->ready + e->downs, 3);
    assert_int_equal(flow_state(e->f), FLOW_ACTIVE);
    assert_int_equal(target_port(e), e->b.port);
    assert_false(flow_failback(e->f)); /* marked failed again */
    /* B's connection still carries the flow */
    assert_int_equal(write(e->b.conn, "\r\n", 2), 2);
    assert_int_equal(flow_send(e->f, "x", 1), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    assert_int_equal(read(e->b.conn, buf, sizeof(buf)), 1);

    /* A is back: connect first, then move */
    edge_listen(&e->a, e->a.port);
    e->now += RESOLVE_FAILED_S * 1000u + 1;
    assert_true(flow_failback(e->f));
    assert_int_equal(flow_state(e->f), FLOW_ACTIVE); /* until A connects */
    pump(e, 4);
    assert_int_equal(e->ready, 3);
    assert_int_equal(e->downs, 1);
    assert_int_equal(flow_state(e->f), FLOW_REGISTERING);
    assert_int_equal(target_port(e), e->a.port);
    assert_non_null(strstr(target_why(e), "prio 10"));
    /* B's connection was closed by sipkeep */
    for (int i = 0; i < 50; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    assert_int_equal(read(e->b.conn, buf, sizeof(buf)), 0);
    flow_registered(e->f, false, 0);
    assert_int_equal(flow_state(e->f), FLOW_ACTIVE);
    assert_false(flow_failback(e->f)); /* on the best target */
    assert_int_equal(flow_consecutive_failures(e->f), 0);
}

/* services[].flows: the proxy's second flow starts on the second SRV
 * target, a third wraps to the first (two targets). */
static void test_spread(void **state)
{
    struct env *e = *state;
    struct flow_params fp = flow_params_of(e, 2, 1);
    struct flow *f2 = NULL, *f3 = NULL;
    unsigned p2, p3;

    assert_int_equal(flow_new(&f2, &fp), 0);
    fp = flow_params_of(e, 3, 2);
    assert_int_equal(flow_new(&f3, &fp), 0);
    flow_start(f2); /* resolves first: the home is taken once the answer is in */
    flow_start(e->f);
    flow_start(f3);
    pump(e, 3);
    assert_int_equal(e->ready, 3);
    assert_int_equal(target_port(e), e->a.port);
    p2 = ntohs(((const struct sockaddr_in *)&flow_target(f2)->addr)->sin_port);
    p3 = ntohs(((const struct sockaddr_in *)&flow_target(f3)->addr)->sin_port);
    assert_int_equal(p2, e->b.port);
    assert_int_equal(p3, e->a.port);
    assert_int_equal(flow_reg_id(f2), 2);
    /* on its home already: no failback, though A ranks before B */
    flow_registered(f2, false, 0);
    assert_false(flow_failback(f2));
    flow_free(f2);
    flow_free(f3);
}

/* A name that does not resolve: a flow failure with the back-off; then it
 * resolves and the flow forms. */
static void test_unresolvable(void **state)
{
    struct env *e = *state;

    e->dns.mode = DNS_FAKE_SERVFAIL;
    flow_start(e->f);
    pump(e, 1);
    assert_int_equal(e->downs, 1);
    assert_non_null(strstr(e->reason, "cannot resolve fo.test"));
    assert_int_equal(flow_state(e->f), FLOW_BACKOFF);
    assert_int_equal(flow_consecutive_failures(e->f), 1);
    e->dns.mode = DNS_FAKE_ANSWER;
    e->now += 60000; /* the boot row: 30-60 s (rng 0: 30 s) */
    pump(e, 2);
    assert_int_equal(e->ready, 1);
    assert_int_equal(target_port(e), e->a.port);
}

/* Freed while waiting for DNS: the resolver never calls it. */
static void test_free_while_resolving(void **state)
{
    struct env *e = *state;

    e->dns.mode = DNS_FAKE_DROP;
    flow_start(e->f);
    assert_int_equal(flow_state(e->f), FLOW_CONNECTING);
    flow_free(e->f);
    e->f = NULL;
    for (int i = 0; i < 200; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    assert_int_equal(e->ready + e->downs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_flow_skips_failed_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_resolving, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
