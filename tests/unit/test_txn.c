/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the transaction table alone (proxy/txn.h): the exact
 * CANCEL, ACK and 408 sipkeep makes on Timer C (RFC 3261 §9.1,
 * §17.1.1.3, §16.8) from the INVITE as sent (every Route line, in order),
 * which responses restart Timer C (101-199, not 100, §16.7 step 2), the
 * lifetimes (non-INVITE 64*T1 FIFO, INVITE final + 64*T1), the memory an
 * INVITE entry costs, and freeing a table with every kind of timer armed
 * (ASan).  Fake clock, captured sends. */
#include "fake_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "proxy/txn.h"
#include "proxy/txn_int.h"
#include "sip/msg.h"

#define MAXCAP 64
#define BR "z9hG4bKutest1"

struct fx {
    uint64_t now;
    struct loop *l;
    struct txn_table *t;
    struct ua_addr ua;
    char *to_flow[MAXCAP];
    unsigned flow_of[MAXCAP];
    int nflow;
    char *to_ua[MAXCAP];
    int nua;
};

/* The INVITE as sipkeep sent it on flow 1 (reg-id 2): our Via only, Route
 * lines not next to each other. */
static const char invite_sent[] =
    "INVITE sip:bob@example.net SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.1:40000;rport;branch=" BR "\r\n"
    "Max-Forwards: 69\r\n"
    "Route: <sip:edge1.example.net;lr>\r\n"
    "From: \"Alice\" <sip:alice@example.net>;tag=ph1\r\n"
    "To: <sip:bob@example.net>\r\n"
    "Route: <sip:edge2.example.net;lr;transport=tcp>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 42 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.10;ob>\r\n"
    "Content-Length: 0\r\n\r\n";

static const char cancel_want[] =
    "CANCEL sip:bob@example.net SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.1:40000;rport;branch=" BR "\r\n"
    "From: \"Alice\" <sip:alice@example.net>;tag=ph1\r\n"
    "To: <sip:bob@example.net>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 42 CANCEL\r\n"
    "Route: <sip:edge1.example.net;lr>\r\n"
    "Route: <sip:edge2.example.net;lr;transport=tcp>\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n";

static const char ack_want[] =
    "ACK sip:bob@example.net SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.1:40000;rport;branch=" BR "\r\n"
    "From: \"Alice\" <sip:alice@example.net>;tag=ph1\r\n"
    "To: <sip:bob@example.net>;tag=far1\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 42 ACK\r\n"
    "Route: <sip:edge1.example.net;lr>\r\n"
    "Route: <sip:edge2.example.net;lr;transport=tcp>\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n";

/* The UA's Via stack, as the router collected it. */
static const struct slice ua_vias[2] = {
    SLICE_LIT("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKph1;rport=5060"),
    SLICE_LIT("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKinner"),
};

static int cap_flow(uint32_t id, unsigned flow, const char *buf, size_t len, void *arg)
{
    struct fx *f = arg;

    assert_int_equal(id, 7);
    assert_true(f->nflow < MAXCAP);
    f->flow_of[f->nflow] = flow;
    f->to_flow[f->nflow++] = strndup(buf, len);
    return 0;
}

static void cap_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct fx *f = arg;

    assert_memory_equal(ua, &f->ua, sizeof(*ua));
    assert_true(f->nua < MAXCAP);
    f->to_ua[f->nua++] = strndup(buf, len);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->l = fake_loop_new(&f->now, 5000000);
    assert_int_equal(txn_table_new(&f->t, f->l), 0);
    txn_set_senders(f->t, &(struct txn_senders){ cap_flow, cap_ua, f });
    f->ua.src.sa.sa_family = AF_INET;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    txn_table_free(f->t); /* with whatever timers the test left armed */
    assert_int_equal(loop_next_timeout(f->l), -1); /* none left behind */
    loop_free(f->l);
    for (int i = 0; i < f->nflow; i++)
        free(f->to_flow[i]);
    for (int i = 0; i < f->nua; i++)
        free(f->to_ua[i]);
    free(f);
    return 0;
}

static void at(struct fx *f, uint64_t t0, uint64_t ms)
{
    assert_true(t0 + ms >= f->now);
    f->now = t0 + ms;
    loop_run_timers(f->l);
}

/* An INVITE entry for BR, sent on flow 1; returns the start instant. */
static uint64_t put_invite(struct fx *f, const char *branch)
{
    assert_int_equal(txn_put(f->t, branch, true, &f->ua, 7, ua_vias, 2), 0);
    if (strcmp(branch, BR) == 0)
        assert_int_equal(txn_invite_sent(f->t, 1, invite_sent, sizeof(invite_sent) - 1), 0);
    return f->now;
}

/* A response from upstream to BR's transaction; whether it goes on. */
static bool rsp_in(struct fx *f, const char *branch, const char *status, const char *method)
{
    char buf[1024];
    struct sipmsg *m = malloc(sizeof(*m));
    int n = snprintf(buf, sizeof(buf),
                     "SIP/2.0 %s\r\n"
                     "Via: SIP/2.0/TCP 192.0.2.1:40000;rport;branch=%s\r\n"
                     "From: \"Alice\" <sip:alice@example.net>;tag=ph1\r\n"
                     "To: <sip:bob@example.net>%s\r\n"
                     "Call-ID: c1@192.0.2.10\r\n"
                     "CSeq: 42 %s\r\n"
                     "Content-Length: 0\r\n\r\n",
                     status, branch, strncmp(status, "100", 3) ? ";tag=far1" : "", method);
    bool fwd;

    assert_non_null(m);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    assert_int_equal(sipmsg_parse(m, buf, (size_t)n, 0), 0);
    assert_non_null(txn_get(f->t, slice_cstr(branch)));
    fwd = txn_response_in(f->t, slice_cstr(branch), m);
    free(m);
    return fwd;
}

/* ---- lifetimes ---- */

static void test_non_invite_fifo(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = f->now;

    assert_int_equal(txn_put(f->t, "z9hG4bKureg", false, &f->ua, 7, ua_vias, 1), 0);
    at(f, t0, 32000 - 1);
    assert_non_null(txn_get(f->t, SLICE_LIT("z9hG4bKureg")));
    at(f, t0, 32000);
    assert_null(txn_get(f->t, SLICE_LIT("z9hG4bKureg")));
    assert_int_equal(txn_count(f->t), 0);
    assert_int_equal(txn_bytes(f->t), 0);
}

/* A 2xx ends Timer C; the entry stays 64*T1 for its retransmissions. */
static void test_invite_final_linger(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = put_invite(f, BR);

    at(f, t0, 100000);
    assert_true(rsp_in(f, BR, "200 OK", "INVITE"));
    at(f, t0, 100000 + 32000 - 1);
    assert_true(rsp_in(f, BR, "200 OK", "INVITE"));
    at(f, t0, 100000 + 32000);
    assert_null(txn_get(f->t, SLICE_LIT(BR)));
    assert_int_equal(txn_count(f->t), 0);
    assert_int_equal(txn_bytes(f->t), 0);
    at(f, t0, 400000);
    assert_int_equal(f->nflow + f->nua, 0);
}

/* ---- Timer C ---- */

/* 180 at 10 s: Timer C fires at 190 s exactly, with the CANCEL (byte for
 * byte) on the INVITE's flow and the 408 to the UA; the 200 to the CANCEL
 * and the 487 are absorbed, the 487 ACKed. */
static void test_timer_c_cancel_ack_408(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = put_invite(f, BR);
    char want408[1024];
    const char *tag;

    at(f, t0, 10000);
    assert_true(rsp_in(f, BR, "180 Ringing", "INVITE"));
    at(f, t0, 190000 - 1);
    assert_int_equal(f->nflow + f->nua, 0);
    at(f, t0, 190000);
    assert_int_equal(f->nflow, 1);
    assert_int_equal(f->flow_of[0], 1);
    assert_string_equal(f->to_flow[0], cancel_want);
    assert_int_equal(f->nua, 1);
    /* the UA's Vias in order, its To with a tag of ours */
    tag = strstr(f->to_ua[0], "To: <sip:bob@example.net>;tag=");
    assert_non_null(tag);
    snprintf(want408, sizeof(want408),
             "SIP/2.0 408 Request Timeout\r\n"
             "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKph1;rport=5060\r\n"
             "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKinner\r\n"
             "From: \"Alice\" <sip:alice@example.net>;tag=ph1\r\n"
             "%.*s\r\n"
             "Call-ID: c1@192.0.2.10\r\n"
             "CSeq: 42 INVITE\r\n"
             "Content-Length: 0\r\n\r\n",
             (int)strcspn(tag, "\r"), tag);
    assert_string_equal(f->to_ua[0], want408);
    assert_false(rsp_in(f, BR, "200 OK", "CANCEL"));
    assert_false(rsp_in(f, BR, "487 Request Terminated", "INVITE"));
    assert_int_equal(f->nflow, 2);
    assert_string_equal(f->to_flow[1], ack_want);
    /* a retransmitted 487 is ACKed again (§17.1.1.2) */
    assert_false(rsp_in(f, BR, "487 Request Terminated", "INVITE"));
    assert_int_equal(f->nflow, 3);
    assert_string_equal(f->to_flow[2], ack_want);
    /* the UA's ACK of our 408 is ours */
    assert_true(txn_ua_ack(f->t, SLICE_LIT(BR)));
    assert_int_equal(f->nua, 1);
}

/* 100 Trying is hop by hop: it allows the CANCEL but does not restart
 * Timer C (only 101-199 do, §16.7 step 2). */
static void test_100_does_not_restart(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = put_invite(f, BR);

    at(f, t0, 10000);
    assert_true(rsp_in(f, BR, "100 Trying", "INVITE"));
    at(f, t0, 180000 - 1);
    assert_int_equal(f->nflow + f->nua, 0);
    at(f, t0, 180000);
    assert_int_equal(f->nflow, 1);
    assert_string_equal(f->to_flow[0], cancel_want);
    assert_int_equal(f->nua, 1);
    /* no final: the entry goes 64*T1 after Timer C */
    at(f, t0, 180000 + 32000 - 1);
    assert_non_null(txn_get(f->t, SLICE_LIT(BR)));
    at(f, t0, 180000 + 32000);
    assert_null(txn_get(f->t, SLICE_LIT(BR)));
}

/* Every 18x restarts Timer C: five rings 170 s apart keep a call alive for
 * 15 minutes, and the 200 then goes on. */
static void test_rings_for_minutes(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = put_invite(f, BR);

    for (int i = 1; i <= 5; i++) {
        at(f, t0, (uint64_t)i * 170000);
        assert_true(rsp_in(f, BR, i % 2 ? "180 Ringing" : "183 Session Progress", "INVITE"));
    }
    at(f, t0, 5 * 170000 + 179999);
    assert_int_equal(f->nflow + f->nua, 0);
    assert_true(rsp_in(f, BR, "200 OK", "INVITE"));
    at(f, t0, 5 * 170000 + 400000);
    assert_int_equal(f->nflow + f->nua, 0);
    assert_int_equal(txn_count(f->t), 0);
}


/* Over a UDP flow sipkeep's CANCEL is retransmitted (Timer E: 0.5, 1, 2,
 * 4 s ...) until its 200; the UA's ACK of the 408 does not stop it. */
static void test_cancel_retx_udp_flow(void **state)
{
    struct fx *f = *state;
    char sent[sizeof(invite_sent) + 8], want[sizeof(cancel_want) + 8], *p;
    uint64_t t0, tc;
    static const uint64_t sched[] = { 500, 1500, 3500, 7500 };

    /* the same INVITE, over UDP */
    memcpy(sent, invite_sent, sizeof(invite_sent));
    memcpy(want, cancel_want, sizeof(cancel_want));
    p = strstr(sent, "SIP/2.0/TCP");
    memcpy(p, "SIP/2.0/UDP", 11);
    p = strstr(want, "SIP/2.0/TCP");
    memcpy(p, "SIP/2.0/UDP", 11);
    assert_int_equal(txn_put(f->t, BR, true, &f->ua, 7, ua_vias, 2), 0);
    assert_int_equal(txn_invite_sent(f->t, 0, sent, strlen(sent)), 0);
    t0 = f->now;
    at(f, t0, 1000);
    assert_true(rsp_in(f, BR, "180 Ringing", "INVITE"));
    at(f, t0, 181000);
    tc = f->now;
    assert_int_equal(f->nflow, 1);
    assert_int_equal(f->flow_of[0], 0);
    assert_string_equal(f->to_flow[0], want);
    assert_true(txn_ua_ack(f->t, SLICE_LIT(BR)));
    for (size_t i = 0; i < sizeof(sched) / sizeof(sched[0]); i++) {
        at(f, tc, sched[i] - 1);
        assert_int_equal(f->nflow, 1 + (int)i);
        at(f, tc, sched[i]);
        assert_int_equal(f->nflow, 2 + (int)i);
        assert_string_equal(f->to_flow[1 + i], want);
    }
    assert_int_equal(txn_timer_g_active(f->t), 1);
    assert_false(rsp_in(f, BR, "200 OK", "CANCEL"));
    assert_int_equal(txn_timer_g_active(f->t), 0);
    at(f, tc, 30000);
    assert_int_equal(f->nflow, 5);
}

/* Over TCP the CANCEL goes once. */
static void test_cancel_once_tcp_flow(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = put_invite(f, BR);

    assert_true(rsp_in(f, BR, "180 Ringing", "INVITE"));
    at(f, t0, 180000);
    assert_int_equal(f->nflow, 1);
    assert_int_equal(txn_timer_g_active(f->t), 0);
    at(f, t0, 180000 + 31000);
    assert_int_equal(f->nflow, 1);
}

/* ---- memory ---- */

/* What an INVITE costs while it rings: the entry (with the UA's two Vias)
 * and what is kept for a CANCEL/408; printed for the bench notes. */
static void test_bytes_per_invite(void **state)
{
    struct fx *f = *state;
    size_t entry, with_req, non_invite;

    assert_int_equal(txn_put(f->t, BR, true, &f->ua, 7, ua_vias, 2), 0);
    entry = txn_bytes(f->t);
    assert_int_equal(txn_invite_sent(f->t, 1, invite_sent, sizeof(invite_sent) - 1), 0);
    with_req = txn_bytes(f->t);
    assert_int_equal(txn_put(f->t, "z9hG4bKubye", false, &f->ua, 7, ua_vias, 2), 0);
    non_invite = txn_bytes(f->t) - with_req;
    printf("txn memory: INVITE entry %zu B (+%zu B kept for CANCEL/408) = %zu B; "
           "non-INVITE entry %zu B (2 Vias, %zu B of Via text)\n",
           entry, with_req - entry, with_req, non_invite, ua_vias[0].n + ua_vias[1].n);
    assert_true(with_req > entry);
    assert_true(with_req < 1024);
    assert_true(non_invite < entry);
    /* a retransmitted INVITE keeps nothing more */
    assert_int_equal(txn_invite_sent(f->t, 1, invite_sent, sizeof(invite_sent) - 1), 0);
    assert_int_equal(txn_bytes(f->t), with_req + non_invite);
}

/* Freed with Timer C, a linger and Timer G armed (teardown checks that no
 * timer is left in the loop; ASan that nothing leaks). */
static void test_free_busy_table(void **state)
{
    struct fx *f = *state;
    static const char r486[] = "SIP/2.0 486 Busy Here\r\n\r\n";

    put_invite(f, BR);
    put_invite(f, "z9hG4bKucalling");
    assert_true(rsp_in(f, BR, "486 Busy Here", "INVITE"));
    txn_response_relayed(f->t, SLICE_LIT(BR), r486, sizeof(r486) - 1); /* TCP: Timer G */
    assert_int_equal(txn_timer_g_active(f->t), 1);
    at(f, f->now, 500);
    assert_int_equal(f->nua, 1);
    assert_string_equal(f->to_ua[0], r486);
    assert_int_equal(txn_put(f->t, "z9hG4bKuopt", false, &f->ua, 7, ua_vias, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_non_invite_fifo),
        T(test_invite_final_linger),
        T(test_timer_c_cancel_ack_408),
        T(test_100_does_not_restart),
        T(test_rings_for_minutes),
        T(test_cancel_retx_udp_flow),
        T(test_cancel_once_tcp_flow),
        T(test_bytes_per_invite),
        T(test_free_busy_table),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
