/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for outbound/wanwatch: which flows a WAN change fails, pings
 * or starts again (issue 12 item 6).  The edge is the fake edge on
 * 127.0.0.1 (fake_edge.h) on the fake clock; whether a local address is
 * gone is the test's answer (a fake probe), so no address of the host
 * changes. */
#include <stdint.h>

#define UA_SINK_MAX 32
#include "edge_fixture.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/netwatch.h"
#include "outbound/binding.h"
#include "outbound/flow.h"
#include "outbound/regagent.h"
#include "outbound/wanwatch.h"
#include "sip/msg.h"

struct probe_state {
    bool gone;   /* the answer */
    int asked;   /* how often */
    const char *route_src; /* the source toward the edge; NULL: route_err */
    int route_err;
    int routed;  /* route_source calls */
};

static bool fake_addr_gone(const struct sockaddr_storage *a, void *arg)
{
    struct probe_state *p = arg;

    assert_int_equal(a->ss_family, AF_INET); /* the flow's local 127.0.0.1 */
    p->asked++;
    return p->gone;
}

static int fake_route_source(const struct sockaddr_storage *peer, struct sockaddr_storage *src,
                             void *arg)
{
    struct probe_state *p = arg;

    assert_int_equal(peer->ss_family, AF_INET); /* the edge's 127.0.0.1 */
    p->routed++;
    if (!p->route_src)
        return p->route_err;
    set_in(src, p->route_src, 0);
    return 0;
}

static int setup_with(void **state, const char *svc_extra)
{
    struct fx *f = fx_new("test_wanwatch", 1, "192.168.1.10", "192.168.1.1");

    edge_load_cfg_extra(&f->edge, f->dir.state, svc_extra, &f->cfg);
    fx_agent_start(f, fx_flow_msg_ignore, NULL);
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return setup_with(state, "");
}

static int fx_setup_off(void **state)
{
    return setup_with(state, "    recovery:\n      watch_wan: false\n");
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    fx_agent_stop(f);
    fx_free(f);
    return 0;
}

static void ua_register(struct fx *f, unsigned cseq)
{
    char *text = fx_ua_register_text(cseq, NULL);

    fx_ua_send(f, text);
    free(text);
}

/* Answers the next REGISTER on the edge with status (a 2xx: outbound with
 * our Contact); returns its connection. */
static int answer_register(struct fx *f, const char *status)
{
    char *up, *rsp, contact[2048], extra[2300];
    int ci;

    up = edge_wait_msg(&f->edge, &ci);
    assert_memory_equal(up, "REGISTER ", 9);
    hdr_must(up, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nContact: %s\r\n", contact);
    rsp = mk_response(up, status, status[0] == '2' ? extra : NULL);
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    return ci;
}

static const struct flow *the_flow(struct fx *f)
{
    struct binding *b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);

    assert_non_null(b);
    return binding_flow(b, 0);
}

static bool cond_active(void *ctx, const void *arg)
{
    (void)arg;
    return flow_state(the_flow(ctx)) == FLOW_ACTIVE;
}

static bool cond_working(void *ctx, const void *arg)
{
    (void)arg;
    return flow_working(the_flow(ctx));
}

static bool cond_conn_bytes(void *ctx, const void *arg)
{
    const struct fake_edge *e = ctx;

    return e->conns[*(const int *)arg].n >= 4;
}

/* A phone registered over one ACTIVE TCP flow; its connection.  working:
 * the flow is pinged and the edge answers, so that it counts as working
 * (§4.5), as any flow does after its first keep-alive. */
static int registered(struct fx *f, bool working)
{
    int ci;

    ua_register(f, 7);
    ci = answer_register(f, "200 OK");
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
    if (working) {
        binding_flow_check(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL),
                           0);
        assert_true(edge_pump(&f->edge, cond_conn_bytes, &f->edge, &ci));
        assert_memory_equal(f->edge.conns[ci].buf, "\r\n\r\n", 4);
        f->edge.conns[ci].n = 0;
        edge_send(&f->edge, ci, "\r\n");
        assert_true(edge_pump(&f->edge, cond_working, f, NULL));
    }
    return ci;
}

/* The local address is gone: the flow fails at once, is formed again at
 * once (§4.5: a working flow's death retries without waiting) on a new
 * connection, and registers again. */
static void test_addr_gone_fails_and_reforms(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = true, .route_src = "127.0.0.1" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci = registered(f, true), ci2;

    wanwatch_check(f->ra, NETWATCH_ADDR_GONE | NETWATCH_ADDR_NEW, &probe, &res);
    assert_int_equal(ps.asked, 1);
    assert_int_equal(res.failed, 1);
    assert_int_equal(res.pinged, 0);
    assert_int_equal(res.restarted, 0); /* its retry is due at once anyway */
    assert_true(edge_wait_closed(&f->edge, ci));
    /* no clock moved: the retry is immediate */
    ci2 = answer_register(f, "200 OK");
    assert_int_not_equal(ci2, ci);
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
    assert_int_equal(f->to_ua.n, 1); /* the phone hears nothing of it */
}

/* A flow that had not worked yet (no pong) would back off after its
 * failure; the burst brought the new address too, so it tries at once.
 * With only the old address gone it backs off (nothing to go to yet). */
static void test_addr_gone_not_working(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = true, .route_src = "127.0.0.1" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci = registered(f, false), ci2;

    wanwatch_check(f->ra, NETWATCH_ADDR_GONE, &probe, &res);
    assert_int_equal(res.failed, 1);
    assert_int_equal(res.restarted, 0);
    assert_true(edge_wait_closed(&f->edge, ci));
    edge_settle(&f->edge);
    assert_int_equal(flow_state(the_flow(f)), FLOW_BACKOFF);
    assert_int_equal(f->edge.nconns, 1);
    /* then the new address: tried at once */
    wanwatch_check(f->ra, NETWATCH_ADDR_NEW, &probe, &res);
    assert_int_equal(res.restarted, 1);
    ci2 = answer_register(f, "200 OK");
    assert_int_not_equal(ci2, ci);
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
    /* both in one burst: failed and started again in the same check */
    wanwatch_check(f->ra, NETWATCH_ADDR_GONE | NETWATCH_ADDR_NEW, &probe, &res);
    assert_int_equal(res.failed, 1);
    assert_int_equal(res.restarted, 1);
    assert_true(edge_wait_closed(&f->edge, ci2));
    assert_int_not_equal(answer_register(f, "200 OK"), ci2);
    assert_int_equal(f->edge.nconns, 3);
}

/* The address is still there (a route changed, or another address
 * came or went): the ACTIVE flow is pinged at once, not failed. */
static void test_addr_kept_pings(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = false, .route_src = "127.0.0.1" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci = registered(f, false);

    edge_settle(&f->edge);
    assert_int_equal(f->edge.conns[ci].n, 0);
    wanwatch_check(f->ra, NETWATCH_ADDR_GONE, &probe, &res);
    assert_int_equal(res.failed, 0);
    assert_int_equal(res.pinged, 1);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.conns[ci].n, 4);
    assert_memory_equal(f->edge.conns[ci].buf, "\r\n\r\n", 4);
    assert_false(f->edge.conns[ci].closed);
    /* a route change alone does not ask about addresses */
    f->edge.conns[ci].n = 0;
    wanwatch_check(f->ra, NETWATCH_ROUTE_NEW, &probe, &res);
    assert_int_equal(ps.asked, 1);
    assert_int_equal(res.pinged, 1);
    edge_settle(&f->edge);
    assert_memory_equal(f->edge.conns[ci].buf, "\r\n\r\n", 4);
    assert_int_equal(flow_state(the_flow(f)), FLOW_ACTIVE);
}

/* The address is still there but the kernel would reach the edge from
 * another one now (another uplink took the route), or not at all: the
 * flow fails at once as well. */
static void test_route_moved_fails(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = false, .route_src = "127.0.0.2" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci = registered(f, true), ci2;

    wanwatch_check(f->ra, NETWATCH_ROUTE_NEW | NETWATCH_ROUTE_GONE, &probe, &res);
    assert_int_equal(ps.routed, 1);
    assert_int_equal(res.failed, 1);
    assert_int_equal(res.pinged, 0);
    assert_true(edge_wait_closed(&f->edge, ci));
    ci2 = answer_register(f, "200 OK");
    assert_int_not_equal(ci2, ci);
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
    /* no route at all */
    ps.route_src = NULL;
    ps.route_err = -ENETUNREACH;
    wanwatch_check(f->ra, NETWATCH_ROUTE_GONE, &probe, &res);
    assert_int_equal(res.failed, 1);
    assert_int_equal(res.restarted, 0);
    assert_true(edge_wait_closed(&f->edge, ci2));
    edge_settle(&f->edge);
    assert_int_equal(flow_state(the_flow(f)), FLOW_BACKOFF); /* had not worked yet */
    /* the route is back: the flow in back-off goes at once */
    ps.route_src = "127.0.0.1";
    wanwatch_check(f->ra, NETWATCH_ROUTE_NEW, &probe, &res);
    assert_int_equal(res.restarted, 1);
    answer_register(f, "200 OK");
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
    /* a probe that cannot tell: pinged only */
    ps.route_src = NULL;
    ps.route_err = -EMFILE;
    wanwatch_check(f->ra, NETWATCH_ROUTE_NEW, &probe, &res);
    assert_int_equal(res.failed, 0);
    assert_int_equal(res.pinged, 1);
}

/* A flow in back-off (its REGISTER refused at boot: 30-60 s) tries again
 * at once when an address or a route appears, not when one goes. */
static void test_backoff_restarted_on_new(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = true, .route_src = "127.0.0.1" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci;

    ua_register(f, 7);
    ci = answer_register(f, "403 Forbidden");
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(flow_state(the_flow(f)), FLOW_BACKOFF);
    wanwatch_check(f->ra, NETWATCH_ADDR_GONE | NETWATCH_ROUTE_GONE, &probe, &res);
    assert_int_equal(res.restarted, 0);
    assert_int_equal(ps.asked, 0);
    edge_settle(&f->edge);
    assert_int_equal(flow_state(the_flow(f)), FLOW_BACKOFF);
    wanwatch_check(f->ra, NETWATCH_ROUTE_NEW, &probe, &res);
    assert_int_equal(res.restarted, 1);
    assert_int_equal(answer_register(f, "200 OK") != ci, 1);
    assert_true(edge_pump(&f->edge, cond_active, f, NULL));
}

/* recovery.watch_wan: false: the change is left to the keep-alives. */
static void test_watch_off(void **state)
{
    struct fx *f = *state;
    struct probe_state ps = { .gone = true, .route_src = "127.0.0.1" };
    struct wanwatch_probe probe = { fake_addr_gone, fake_route_source, &ps };
    struct wanwatch_result res;
    int ci = registered(f, false);

    assert_false(f->cfg->services[0].recovery.watch_wan);
    wanwatch_check(f->ra, NETWATCH_ALL, &probe, &res);
    assert_int_equal(res.failed + res.pinged + res.restarted, 0);
    assert_int_equal(ps.asked, 0);
    edge_settle(&f->edge);
    assert_false(f->edge.conns[ci].closed);
    assert_int_equal(f->edge.conns[ci].n, 0);
}

/* The kernel's probe: 127.0.0.1 is ours, 192.0.2.1 (TEST-NET-1) is not;
 * the route toward 127.0.0.1 leaves from it. */
static void test_kernel_probe(void **state)
{
    struct sockaddr_storage a;

    (void)state;
    set_in(&a, "127.0.0.1", 5060);
    assert_false(wanwatch_kernel.addr_gone(&a, wanwatch_kernel.arg));
    set_in(&a, "192.0.2.1", 5060);
    assert_true(wanwatch_kernel.addr_gone(&a, wanwatch_kernel.arg));
    /* toward 127.0.0.1 the kernel picks 127.0.0.1 */
    {
        struct sockaddr_storage src;

        set_in(&a, "127.0.0.1", 5060);
        assert_int_equal(wanwatch_kernel.route_source(&a, &src, wanwatch_kernel.arg), 0);
        assert_int_equal(src.ss_family, AF_INET);
        assert_int_equal(((struct sockaddr_in *)&src)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_addr_gone_fails_and_reforms, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_addr_gone_not_working, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_addr_kept_pings, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_route_moved_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backoff_restarted_on_new, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_watch_off, fx_setup_off, fx_teardown),
        cmocka_unit_test(test_kernel_probe),
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("wanwatch", tests, NULL, NULL);
}
