/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for a binding with several flows (RFC 5626 §4.2, reg-ids
 * 1..n): the REGISTER on each, the best answer for the phone (a 2xx over a
 * challenge, a bounded wait for the others), Digest credentials per flow,
 * 503s while flows back off or are down, and refresh errors that keep a
 * flow.  Same fake edge as test_regagent.c (regagent_fixture.h). */
#include "regagent_fixture.h"

static int fx_setup2(void **state)
{
    return fx_setup_n(state, 2);
}

static int fx_setup4(void **state)
{
    return fx_setup_n(state, 4);
}

/* ---- several flows ---- */

static void test_two_flows(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2], *ok;
    char c0[2048], c1[2048], id0[16], id1[16], i0[64], i1[64], cid0[256], cid1[256];
    int ci[2];

    ua_send_register(f, reg);
    up[0] = edge_wait_msg(&f->edge, &ci[0]);
    up[1] = edge_wait_msg(&f->edge, &ci[1]);
    assert_int_equal(f->edge.nconns, 2);
    assert_int_not_equal(f->edge.conns[ci[0]].listener, f->edge.conns[ci[1]].listener);
    if (f->edge.conns[ci[0]].listener == 1) { /* order by reg-id */
        char *t = up[0];
        int tc = ci[0];
        up[0] = up[1], up[1] = t, ci[0] = ci[1], ci[1] = tc;
    }
    hdr_must(up[0], "Contact", c0, sizeof(c0));
    hdr_must(up[1], "Contact", c1, sizeof(c1));
    assert_true(param_of(c0, "reg-id", id0, sizeof(id0)));
    assert_true(param_of(c1, "reg-id", id1, sizeof(id1)));
    assert_string_equal(id0, "1");
    assert_string_equal(id1, "2");
    instance_of(c0, i0, sizeof(i0));
    instance_of(c1, i1, sizeof(i1));
    assert_string_equal(i0, i1);
    hdr_must(up[0], "Call-ID", cid0, sizeof(cid0));
    hdr_must(up[1], "Call-ID", cid1, sizeof(cid1));
    assert_string_not_equal(cid0, cid1);

    /* the UA gets one answer, not two */
    ok = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], ok);
    free(ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    ok = ok_for(up[0], 3600);
    edge_send(&f->edge, ci[0], ok);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    free(ok);
    free(up[0]);
    free(up[1]);
    free(reg);
}

/* §4.2.1 with four proxies: one flow each (reg-id = position), each
 * REGISTER with its own Call-ID, one instance-id; a request arriving on
 * any flow is handed on with that flow's index. */
static void test_four_flows(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[4] = { NULL }, *ok, invite[1024];
    char c[2048], id[16], inst[4][64], cid[4][256];
    int ci[4], one = 1;
    struct binding *b;
    unsigned idx = 99;

    ua_send_register(f, reg);
    for (int i = 0; i < 4; i++) {
        int k, conn;
        char *m = edge_wait_msg(&f->edge, &conn);

        k = f->edge.conns[conn].listener;
        assert_null(up[k]); /* one REGISTER per proxy */
        up[k] = m;
        ci[k] = conn;
        hdr_must(m, "Contact", c, sizeof(c));
        assert_true(param_of(c, "reg-id", id, sizeof(id)));
        assert_int_equal(atoi(id), k + 1);
        instance_of(c, inst[k], sizeof(inst[k]));
        hdr_must(m, "Call-ID", cid[k], sizeof(cid[k]));
    }
    assert_int_equal(f->edge.nconns, 4);
    for (int i = 1; i < 4; i++) {
        assert_string_equal(inst[i], inst[0]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(cid[i], cid[j]);
    }
    for (int i = 0; i < 4; i++) {
        ok = ok_for(up[i], 3600);
        edge_send(&f->edge, ci[i], ok);
        free(ok);
        free(up[i]);
    }
    ua_wait(&f->edge, &f->to_ua, 1);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);

    snprintf(invite, sizeof(invite),
             "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge4\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-4@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[3]);
    edge_send(&f->edge, ci[3], invite);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &one));
    assert_true(f->flow_is_req);
    assert_int_equal(f->flow_idx, 3);

    /* §4.3: the UA's requests go on a working flow, else on any that is up */
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 0); /* none works yet (no pong): the first up */
    edge_drop(&f->edge, ci[0]);
    edge_drop(&f->edge, ci[1]);
    edge_settle(&f->edge); /* flows 1 and 2 back off (30-60 s) */
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_BACKOFF);
    assert_int_equal(flow_state(binding_flow(b, 1)), FLOW_BACKOFF);
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 2);
    edge_send(&f->edge, ci[3], "\r\n"); /* a pong: flow 4 works */
    for (int i = 0; i < 50 && !flow_working(binding_flow(b, 3)); i++)
        edge_settle(&f->edge);
    assert_true(flow_working(binding_flow(b, 3)));
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 3);
    free(reg);
}

/* ---- issue 11 items 5 and 6: back-off, several flows, refresh errors ---- */

/* The UA's REGISTER on each of two flows, indexed by reg-id - 1. */
static void wait_two(struct fx *f, char *up[2], int ci[2])
{
    for (int i = 0; i < 2; i++) {
        int c;
        char *m = edge_wait_msg(&f->edge, &c);
        int k = f->edge.conns[c].listener;

        assert_null(up[k]);
        up[k] = m;
        ci[k] = c;
    }
}

static void start_line_is(const char *msg, const char *want)
{
    char sl[256];

    start_line(msg, sl, sizeof(sl));
    assert_string_equal(sl, want);
}

/* Item 5: a REGISTER while the only flow backs off is answered 503 at once
 * with Retry-After = the remaining back-off (rounded up). */
static void test_503_during_backoff(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *reg9 = mk_register(9, UA_CONTACT, NULL), *up, *rsp, v[64];
    const char *ua;
    struct binding *b;
    struct flow_info fi;
    int ci;
    unsigned want;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = mk_response(up, "403 Forbidden", NULL);
    edge_send(&f->edge, ci, rsp);
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_true(edge_wait_closed(&f->edge, ci));
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    flow_get_info(binding_flow(b, 0), &fi);
    assert_int_equal(fi.state, FLOW_BACKOFF);
    assert_true(fi.retry_in_ms >= 30000 && fi.retry_in_ms <= 60000);

    f->now += 10500;
    edge_settle(&f->edge);
    flow_get_info(binding_flow(b, 0), &fi);
    want = (unsigned)((fi.retry_in_ms + 999) / 1000);
    ua_send_register(f, reg8);
    ua = ua_wait(&f->edge, &f->to_ua, 2);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), want);
    assert_true(want >= 19 && want <= 50);
    hdr_must(ua, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    assert_int_equal(f->edge.nconns, 1); /* nothing tried upstream */

    /* a second later: one second less */
    f->now += 1000;
    edge_settle(&f->edge);
    ua_send_register(f, reg9);
    ua = ua_wait(&f->edge, &f->to_ua, 3);
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), want - 1);
    assert_int_equal(binding_retry_after_s(b), want - 1);
    free(rsp);
    free(up);
    free(reg9);
    free(reg8);
    free(reg7);
}

/* Item 6: flow 1 challenges, flow 2 accepts: the phone gets the 200, not
 * the challenge, and flow 1 is not torn down. */
static void test_two_flows_2xx_beats_challenge(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2] = { NULL }, *rsp, *ok;
    int ci[2];

    ua_send_register(f, reg);
    wait_two(f, up, ci);
    rsp = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci[0], rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0); /* waits for flow 2 */
    ok = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], ok);
    start_line_is(ua_wait(&f->edge, &f->to_ua, 1), "SIP/2.0 200 OK");
    f->now += 60000; /* past Timer F: the challenged flow is held, not failed */
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    assert_false(f->edge.conns[ci[0]].closed);
    assert_int_equal(f->edge.nconns, 2);
    free(ok);
    free(rsp);
    free(up[0]);
    free(up[1]);
    free(reg);
}

#define CHAL_N1 "Digest realm=\"example.net\", nonce=\"n1\", algorithm=MD5, qop=\"auth\""
#define CHAL_N2 "Digest realm=\"example.net\", nonce=\"n2\", algorithm=MD5, qop=\"auth\""
#define CRED_N1 "Digest username=\"alice\", realm=\"example.net\", nonce=\"n1\", " \
                "uri=\"sip:example.net\", response=\"0123456789abcdef0123456789abcdef\", " \
                "algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""

/* Item 6, digest over two flows without configured credentials: both
 * challenge; the phone gets one challenge (flow 1's, once both answered);
 * its answer goes to flow 1 only, flow 2 gets the REGISTER without it; flow
 * 2's new challenge is no failure (its connection stays) and the phone gets
 * flow 1's 200. */
static void test_digest_two_flows(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL);
    char *reg8 = mk_register(8, UA_CONTACT, "Authorization: " CRED_N1 "\r\n");
    char *up[2] = { NULL }, *up2[2] = { NULL }, *r0, *r1, *r2, *ok, v[512];
    const char *ua;
    int ci[2], ci2[2];

    ua_send_register(f, reg7);
    wait_two(f, up, ci);
    r0 = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHAL_N1 "\r\n");
    r1 = mk_response(up[1], "401 Unauthorized", "WWW-Authenticate: " CHAL_N2 "\r\n");
    edge_send(&f->edge, ci[0], r0);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0);
    edge_send(&f->edge, ci[1], r1);
    ua = ua_wait(&f->edge, &f->to_ua, 1);
    start_line_is(ua, "SIP/2.0 401 Unauthorized");
    hdr_must(ua, "WWW-Authenticate", v, sizeof(v));
    assert_string_equal(v, CHAL_N1);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);

    ua_send_register(f, reg8);
    wait_two(f, up2, ci2);
    assert_int_equal(ci2[0], ci[0]); /* the same connections */
    assert_int_equal(ci2[1], ci[1]);
    hdr_must(up2[0], "Authorization", v, sizeof(v));
    assert_string_equal(v, CRED_N1);
    assert_int_equal(hdr_count(up2[1], "Authorization"), 0);
    assert_null(strstr(up2[1], "n1"));
    r2 = mk_response(up2[1], "401 Unauthorized", "WWW-Authenticate: " CHAL_N2 "\r\n");
    edge_send(&f->edge, ci2[1], r2);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    ok = ok_for(up2[0], 3600);
    edge_send(&f->edge, ci2[0], ok);
    start_line_is(ua_wait(&f->edge, &f->to_ua, 2), "SIP/2.0 200 OK");
    f->now += 60000;
    edge_settle(&f->edge);
    assert_false(f->edge.conns[ci[1]].closed); /* flow 2's challenge failed nothing */
    assert_int_equal(f->edge.nconns, 2);
    assert_int_equal(f->to_ua.n, 2);
    free(ok);
    free(r2);
    free(r1);
    free(r0);
    for (int i = 0; i < 2; i++) {
        free(up[i]);
        free(up2[i]);
    }
    free(reg8);
    free(reg7);
}

/* A registrar answering without outbound (no pongs expected, so the clock
 * may jump): the plain 200 for our REGISTER req. */
static char *plain_ok_for(const char *req)
{
    char contact[2048], extra[2200];

    hdr_must(req, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    snprintf(extra, sizeof(extra), "Contact: %s;expires=300\r\n", contact);
    return mk_response(req, "200 OK", extra);
}

/* Item 6, RFC 5626 §4.2.2: a refresh answered 503 (Retry-After 20), then
 * 500 (no Retry-After): the flow and its connection stay, the REGISTER goes
 * again on it after 20 s, then after the §4.5 wait (60-120 s, the second
 * error in a row); a 2xx ends
 * it.  The phone got the 503 itself (its Retry-After kept). */
static void test_refresh_error_keeps_flow(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *up, *rsp, v[128];
    const char *ua;
    struct binding *b;
    int ci, ci2;
    uint64_t t0;
    bool again = false;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = plain_ok_for(up);
    edge_send(&f->edge, ci, rsp);
    ua_wait(&f->edge, &f->to_ua, 1);
    free(rsp);
    free(up);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_true(flow_working(binding_flow(b, 0)));

    ua_send_register(f, reg8);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    rsp = mk_response(up, "503 Service Unavailable", "Retry-After: 20\r\n");
    edge_send(&f->edge, ci, rsp);
    ua = ua_wait(&f->edge, &f->to_ua, 2);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_string_equal(v, "20");
    free(rsp);
    free(up);
    t0 = f->now;
    f->now = t0 + 19999;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_false(f->edge.conns[ci].closed);
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_ACTIVE);
    assert_true(flow_working(binding_flow(b, 0)));
    f->now = t0 + 20000;
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci); /* on the same connection */
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "3 REGISTER");
    rsp = mk_response(up, "500 Server Internal Error", NULL);
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    edge_settle(&f->edge);
    t0 = f->now; /* the second error in a row: §4.5 row 2, 60-120 s */
    f->now = t0 + 59999;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    for (int i = 0; i < 61 && !again; i++) {
        f->now += 1000;
        edge_settle(&f->edge);
        again = edge_has_msg(&f->edge);
    }
    assert_true(again);
    assert_true(f->now - t0 <= 120000);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "4 REGISTER");
    rsp = plain_ok_for(up);
    edge_send(&f->edge, ci, rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 2); /* the UA had its answer */
    assert_int_equal(f->edge.nconns, 1);
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_ACTIVE);
    free(rsp);
    free(up);
    free(reg8);
    free(reg7);
}

/* Item 5: the only flow dies while the UA waits: the UA gets sipkeep's 503
 * at once, with Retry-After = the back-off before the next attempt. */
static void test_503_flow_down_retry_after(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, v[64];
    const char *ua;
    struct flow_info fi;
    struct binding *b;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    edge_drop(&f->edge, ci);
    ua = ua_wait(&f->edge, &f->to_ua, 1);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    flow_get_info(binding_flow(b, 0), &fi);
    assert_int_equal(fi.state, FLOW_BACKOFF);
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), (unsigned)((fi.retry_in_ms + 999) / 1000));
    assert_true(atoi(v) >= 30 && atoi(v) <= 60);
    free(up);
    free(reg);
}

/* Item 6, bounded: flow 1 challenges, flow 2 (connected, its registrar
 * silent) never answers: the UA gets the challenge after RA_BEST_WAIT_MS,
 * not after flow 2's 32 s Timer F, by which time the UA itself gives up. */
static void test_best_answer_bounded_wait(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2] = { NULL }, *rsp;
    int ci[2];
    uint64_t t0;

    ua_send_register(f, reg);
    wait_two(f, up, ci);
    rsp = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci[0], rsp);
    edge_settle(&f->edge);
    t0 = f->now;
    f->now = t0 + RA_BEST_WAIT_MS - 1;
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0);
    f->now = t0 + RA_BEST_WAIT_MS;
    start_line_is(ua_wait(&f->edge, &f->to_ua, 1), "SIP/2.0 401 Unauthorized");
    /* flow 2's late 200 answers nobody (the UA has its answer) */
    free(rsp);
    rsp = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    free(rsp);
    free(up[0]);
    free(up[1]);
    free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        cmocka_unit_test_setup_teardown(test_two_flows, fx_setup2, fx_teardown),
        cmocka_unit_test_setup_teardown(test_four_flows, fx_setup4, fx_teardown),
        T(test_503_during_backoff),
        T(test_503_flow_down_retry_after),
        cmocka_unit_test_setup_teardown(test_two_flows_2xx_beats_challenge, fx_setup2,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_two_flows, fx_setup2, fx_teardown),
        cmocka_unit_test_setup_teardown(test_best_answer_bounded_wait, fx_setup2, fx_teardown),
        T(test_refresh_error_keeps_flow),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent_flows", tests, NULL, NULL);
}
