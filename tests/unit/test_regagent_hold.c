/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for an edge's Retry-After holding the REGISTERs of working
 * flows (issue 14 item 2, regagent.h RA_HOLD_MARGIN_MS): a 503 with
 * Retry-After to one flow's refresh defers every other flow's REGISTER to
 * that edge address until the hold's end plus jitter (the agent's
 * injectable random source), yet never lets a registration lapse; flows to
 * another edge go on; Retry-After: 0 or none holds nothing.  Several phones
 * (user0, user1, ... at the same UA address), the fake edge and clock of
 * regagent_fixture.h; registrars without outbound, so no pongs are due and
 * the clock may jump. */
#include "regagent_fixture.h"

#define PHONES_MAX 4

/* The agent's "random" value (env.rng): jitter of the held REGISTERs and
 * of the flows' keep-alives.  Half the range: half of the hold's length. */
static uint32_t rng_val = UINT32_MAX / 2;

/* As regagent_fixture.h's agent_start, with env.rng fixed. */
static void hold_agent_start(struct fx *f)
{
    struct regagent_env env = {
        .loop = f->loop, .cfg = f->cfg, .tls = f->tls, .send_ua = fx_send_ua,
        .flow_msg = cap_flow_msg, .arg = f, .rng = { fake_rng, &rng_val },
    };

    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    env.ids = f->ids;
    assert_int_equal(regagent_new(&f->ra, &env), 0);
}

static int setup_n(void **state, int nlisten, const char *svc_extra)
{
    struct fx *f = fx_new("test_regagent_hold", nlisten, "192.168.1.10", "192.168.1.1");

    edge_load_cfg_extra(&f->edge, f->dir.state, svc_extra, &f->cfg);
    rng_val = UINT32_MAX / 2;
    hold_agent_start(f);
    *state = f;
    return 0;
}

static int setup1(void **state)
{
    return setup_n(state, 1, "");
}

static int setup2(void **state)
{
    return setup_n(state, 2, "");
}

/* recovery.connect_rate: 0, pacing (and so the hold) off. */
static int setup1_unpaced(void **state)
{
    return setup_n(state, 1, "    recovery:\n      connect_rate: 0\n");
}

/* Phone i's REGISTER (CSeq cseq, Expires 3600), malloc'd. */
static char *phone_register(int i, unsigned cseq)
{
    char *out = malloc(2048);
    int n = snprintf(out, 2048,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKp%d.%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:user%d@example.net>;tag=t%d\r\n"
                     "To: <sip:user%d@example.net>\r\n"
                     "Call-ID: phone-%d\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: <sip:user%d@192.168.1.10:5060>\r\n"
                     "Expires: 3600\r\n"
                     "\r\n",
                     i, cseq, i, i, i, i, cseq, i);

    assert_non_null(out);
    assert_true(n < 2048);
    return out;
}

static void phone_send(struct fx *f, int i, unsigned cseq)
{
    char *reg = phone_register(i, cseq);

    ua_send_register(f, reg);
    free(reg);
}

/* The phone a message (upstream REGISTER or UA response) is about, by its
 * To user. */
static int phone_of(const char *msg)
{
    char to[512];
    const char *p;

    hdr_must(msg, "To", to, sizeof(to));
    p = strstr(to, "sip:user");
    assert_non_null(p);
    return atoi(p + strlen("sip:user"));
}

/* A registrar's 200 without outbound granting our Contact expires s. */
static char *ok_expires(const char *req, unsigned expires)
{
    char contact[2048], extra[2200];

    hdr_must(req, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    snprintf(extra, sizeof(extra), "Contact: %s;expires=%u\r\n", contact, expires);
    return mk_response(req, "200 OK", extra);
}

/* The next upstream REGISTER: its phone, connection and listener (edge). */
struct up {
    char *msg;
    int phone, ci, edge;
};

static struct up next_up(struct fx *f)
{
    struct up u;

    u.msg = edge_wait_msg(&f->edge, &u.ci);
    u.phone = phone_of(u.msg);
    u.edge = f->edge.conns[u.ci].listener;
    assert_memory_equal(u.msg, "REGISTER ", 9);
    return u;
}

static void answer(struct fx *f, struct up *u, const char *status, const char *extra)
{
    char *rsp = mk_response(u->msg, status, extra);

    edge_send(&f->edge, u->ci, rsp);
    free(rsp);
    free(u->msg);
    u->msg = NULL;
}

static void answer_ok(struct fx *f, struct up *u, unsigned expires)
{
    char *rsp = ok_expires(u->msg, expires);

    edge_send(&f->edge, u->ci, rsp);
    free(rsp);
    free(u->msg);
    u->msg = NULL;
}

/* Phones 0..n-1 registered through every edge (nedges listeners: one
 * flow each), granted 300 s; ci[phone][edge] their connections. */
static void register_phones(struct fx *f, int n, int nedges, int ci[][2])
{
    for (int i = 0; i < n; i++) {
        int nua = f->to_ua.n;

        phone_send(f, i, 1);
        for (int k = 0; k < nedges; k++) {
            struct up u = next_up(f);

            assert_int_equal(u.phone, i);
            ci[i][u.edge] = u.ci;
            answer_ok(f, &u, 300);
        }
        assert_int_equal(phone_of(ua_wait(&f->edge, &f->to_ua, nua + 1)), i);
        assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    }
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
}

/* The clock to at, the loop turned: nothing reaches the edge. */
static void quiet_until(struct fx *f, uint64_t at)
{
    f->now = at;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
}

static unsigned retry_after_of(const char *msg)
{
    char v[64];

    hdr_must(msg, "Retry-After", v, sizeof(v));
    return (unsigned)atoi(v);
}

/* (a) Four phones through one edge.  Phone 0's refresh is answered 503
 * Retry-After: 30; the other three refresh during those 30 s: nothing
 * reaches the edge, each phone hears 503 with Retry-After until its
 * REGISTER goes, and the REGISTERs go after the hold, at its end plus the
 * jitter (half of the hold's 30 s with this source: 45 s), on their own
 * connections; phone 0's own retry comes at the 30 s. */
static void test_hold_defers_other_refreshes(void **state)
{
    struct fx *f = *state;
    int ci[PHONES_MAX][2];
    struct up u;
    uint64_t t0;
    const uint64_t at = 30000 + rand_uniform(0, 30000, rng_val);
    bool seen[PHONES_MAX] = { false };

    register_phones(f, 4, 1, ci);
    t0 = f->now;
    phone_send(f, 0, 2);
    u = next_up(f);
    assert_int_equal(u.ci, ci[0][0]);
    answer(f, &u, "503 Service Unavailable", "Retry-After: 30\r\n");
    ua_wait(&f->edge, &f->to_ua, 5);
    assert_memory_equal(f->to_ua.msg[4], "SIP/2.0 503 ", 12);
    assert_int_equal(retry_after_of(f->to_ua.msg[4]), 30);

    f->now = t0 + 1000;
    for (int i = 1; i < 4; i++) {
        const char *ua;

        phone_send(f, i, 2);
        ua = ua_wait(&f->edge, &f->to_ua, 5 + i);
        assert_int_equal(phone_of(ua), i);
        assert_memory_equal(ua, "SIP/2.0 503 ", 12);
        /* the REGISTER goes at t0 + at: (at - 1000) ms from now */
        assert_int_equal(retry_after_of(ua), (unsigned)((at - 1000 + 999) / 1000));
    }
    quiet_until(f, t0 + 29999);

    /* the hold is over: phone 0's own retry (its Retry-After), alone */
    f->now = t0 + 30000;
    u = next_up(f);
    assert_int_equal(u.phone, 0);
    assert_int_equal(u.ci, ci[0][0]);
    answer_ok(f, &u, 300);
    quiet_until(f, t0 + at - 1);

    /* then the held ones, each on its flow's connection */
    f->now = t0 + at;
    for (int k = 0; k < 3; k++) {
        u = next_up(f);
        assert_true(u.phone >= 1 && u.phone <= 3);
        assert_false(seen[u.phone]);
        seen[u.phone] = true;
        assert_int_equal(u.ci, ci[u.phone][0]);
        answer_ok(f, &u, 300);
    }
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, 8); /* every phone had its answer already */
    assert_int_equal(f->edge.nconns, 4);
}

/* (b) and (c) with two edges (each phone has a flow to each).  Phone 0's
 * refresh is answered 503 Retry-After: 120 by edge 1 and 200 by edge 0.
 * Phone 1's flow to edge 1 was granted only 60 s (phone 1 lives 300 s):
 * its own refresh, due at 30 s, falls in the hold, and so would the lapse
 * of its registration at 60 s; it goes at 55 s (RA_HOLD_MARGIN_MS before
 * the lapse), inside the hold.  Phone 1's refresh at 40 s goes to edge 0
 * at once and the phone gets its 200 (edge 0 holds nothing). */
static void test_hold_never_lets_registration_lapse(void **state)
{
    struct fx *f = *state;
    int ci[PHONES_MAX][2];
    struct up u;
    uint64_t t0;
    int nua;

    register_phones(f, 1, 2, ci);
    /* phone 1: edge 0 grants 300 s, edge 1 only 60 */
    nua = f->to_ua.n;
    phone_send(f, 1, 1);
    {
        struct up up2[2];

        for (int k = 0; k < 2; k++) {
            u = next_up(f);
            assert_int_equal(u.phone, 1);
            ci[1][u.edge] = u.ci;
            up2[u.edge] = u;
        }
        /* edge 0 first: its 300 s are what the phone is told */
        answer_ok(f, &up2[0], 300);
        edge_settle(&f->edge);
        answer_ok(f, &up2[1], 60);
        edge_settle(&f->edge);
    }
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    t0 = f->now;

    phone_send(f, 0, 2);
    for (int k = 0; k < 2; k++) {
        u = next_up(f);
        assert_int_equal(u.phone, 0);
        if (u.edge == 1)
            answer(f, &u, "503 Service Unavailable", "Retry-After: 120\r\n");
        else
            answer_ok(f, &u, 300);
        edge_settle(&f->edge);
    }
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, nua + 2), "SIP/2.0 200 OK\r\n", 16);

    /* phone 1's own refresh on edge 1 (due at 30 s) waits */
    quiet_until(f, t0 + 30000);
    quiet_until(f, t0 + 39999);
    /* (c) phone 1 refreshes: edge 0 gets it now, edge 1 does not */
    f->now = t0 + 40000;
    phone_send(f, 1, 2);
    u = next_up(f);
    assert_int_equal(u.phone, 1);
    assert_int_equal(u.edge, 0);
    assert_int_equal(u.ci, ci[1][0]);
    answer_ok(f, &u, 300);
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, nua + 3), "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(phone_of(f->to_ua.msg[nua + 2]), 1);
    quiet_until(f, t0 + 60000 - RA_HOLD_MARGIN_MS - 1);

    /* (b) 5 s before the 60 s grant lapses, inside the 120 s hold */
    f->now = t0 + 60000 - RA_HOLD_MARGIN_MS;
    u = next_up(f);
    assert_int_equal(u.phone, 1);
    assert_int_equal(u.edge, 1);
    assert_int_equal(u.ci, ci[1][1]);
    answer_ok(f, &u, 300); /* no refresh of its own any more */
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, nua + 3);

    /* phone 0's own retry on edge 1 at 120 s, and nothing before it */
    quiet_until(f, t0 + 119999);
    f->now = t0 + 120000;
    u = next_up(f);
    assert_int_equal(u.phone, 0);
    assert_int_equal(u.edge, 1);
    answer_ok(f, &u, 300);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 4);
}

/* (c) Phone 0's refresh is answered 503 Retry-After: 30 by edge 0 (200 by
 * edge 1): phone 1's refresh goes to edge 1 at once and the phone gets its
 * 200 without waiting; its REGISTER to edge 0 follows the hold. */
static void test_hold_other_edge_unaffected(void **state)
{
    struct fx *f = *state;
    int ci[PHONES_MAX][2];
    struct up u;
    uint64_t t0;
    const uint64_t at = 30000 + rand_uniform(0, 30000, rng_val);

    register_phones(f, 2, 2, ci);
    t0 = f->now;
    phone_send(f, 0, 2);
    for (int k = 0; k < 2; k++) {
        u = next_up(f);
        assert_int_equal(u.phone, 0);
        if (u.edge == 0)
            answer(f, &u, "503 Service Unavailable", "Retry-After: 30\r\n");
        else
            answer_ok(f, &u, 300);
        edge_settle(&f->edge);
    }
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, 3), "SIP/2.0 200 OK\r\n", 16);

    f->now = t0 + 1000;
    phone_send(f, 1, 2);
    u = next_up(f);
    assert_int_equal(u.phone, 1);
    assert_int_equal(u.edge, 1);
    assert_int_equal(u.ci, ci[1][1]);
    answer_ok(f, &u, 300);
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, 4), "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(phone_of(f->to_ua.msg[3]), 1);
    quiet_until(f, t0 + 29999);
    f->now = t0 + 30000; /* phone 0's own retry to edge 0 */
    u = next_up(f);
    assert_int_equal(u.phone, 0);
    assert_int_equal(u.edge, 0);
    answer_ok(f, &u, 300);
    quiet_until(f, t0 + at - 1);
    f->now = t0 + at; /* phone 1's held REGISTER to edge 0 */
    u = next_up(f);
    assert_int_equal(u.phone, 1);
    assert_int_equal(u.edge, 0);
    assert_int_equal(u.ci, ci[1][0]);
    answer_ok(f, &u, 300);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, 4);
}

/* Phone 0's refresh answered 503 with retry_after (a header line or
 * NULL), then phone 1 refreshes: its REGISTER reaches the edge at once. */
static void no_hold_after(struct fx *f, const char *retry_after)
{
    int ci[PHONES_MAX][2];
    struct up u;
    bool got1 = false;

    register_phones(f, 2, 1, ci);
    phone_send(f, 0, 2);
    u = next_up(f);
    assert_int_equal(u.phone, 0);
    answer(f, &u, "503 Service Unavailable", retry_after);
    ua_wait(&f->edge, &f->to_ua, 3);
    edge_settle(&f->edge);
    f->now += 1000;
    phone_send(f, 1, 2);
    /* "Retry-After: 0" re-sends phone 0's REGISTER at once too */
    for (int k = 0; k < 2 && !got1; k++) {
        u = next_up(f);
        got1 = u.phone == 1;
        if (got1)
            assert_int_equal(u.ci, ci[1][0]);
        answer_ok(f, &u, 300);
    }
    assert_true(got1);
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, 4), "SIP/2.0 200 OK\r\n", 16);
}

/* (d) Retry-After: 0 holds nothing. */
static void test_retry_after_0_no_hold(void **state)
{
    no_hold_after(*state, "Retry-After: 0\r\n");
}

/* (d) A 503 without Retry-After holds nothing. */
static void test_no_retry_after_no_hold(void **state)
{
    no_hold_after(*state, NULL);
}

/* Pacing off (recovery.connect_rate: 0, the behaviour before issue 14):
 * a Retry-After holds no other flow's REGISTER. */
static void test_unpaced_no_hold(void **state)
{
    no_hold_after(*state, "Retry-After: 30\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hold_defers_other_refreshes, setup1, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hold_never_lets_registration_lapse, setup2,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_hold_other_edge_unaffected, setup2, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_0_no_hold, setup1, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_after_no_hold, setup1, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unpaced_no_hold, setup1_unpaced, fx_teardown),
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent_hold", tests, NULL, NULL);
}
