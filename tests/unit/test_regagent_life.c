/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for a binding's life in the registration agent: it lapses
 * when the phone stops refreshing (answered or not upstream), the phone
 * comes back from a new port, a flow recovers and registers again, and
 * the Retry-After of sipkeep's 503s.  Same fake edge as test_regagent.c
 * (regagent_fixture.h). */
#include "regagent_fixture.h"

/* A phone that stops refreshing is dropped when the expiry it was granted
 * (clamped to ua.register_expires) runs out, not the registrar's. */
static void test_binding_lapses(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *up, *ok, v[2048], contact[2048], extra[2200];
    int ci, ci2;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    /* no outbound: keep-alives without pongs, so jumping the clock is safe */
    snprintf(extra, sizeof(extra), "Contact: %s;expires=3600\r\n", contact);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    hdr_must(f->to_ua.msg[0], "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300");
    free(ok);
    free(up);

    f->now += 200000;
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    ua_send_register(f, reg8); /* refresh at 200 s */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 2);
    f->now += 200000; /* 400 s: past the first grant, within the refreshed one */
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    assert_false(f->edge.conns[ci].closed);
    free(ok);
    free(up);
    f->now += 100001; /* 500 s + 1 ms: the refresh's 300 s are over */
    /* issue 11: the lapsed binding is de-registered upstream (same
     * instance-id and reg-id, expires=0), then freed on the answer */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_non_null(strstr(v, ";+sip.instance="));
    hdr_must(up, "Expires", v, sizeof(v));
    assert_string_equal(v, "0");
    assert_null(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(f->to_ua.n, 2); /* the UA hears nothing of it */
    free(ok);
    free(up);
    free(reg8);
    free(reg7);
}

/* A lapse with no answer to the de-registration: freed after
 * RA_RELOAD_DEREG_MS all the same; with no flow up, at once. */
static void test_lapse_unanswered(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *up;
    int ci;

    register_ok(f, &st);
    f->now += 300001;
    up = edge_wait_msg(&f->edge, &ci);
    assert_non_null(strstr(up, ";expires=0"));
    free(up);
    assert_int_equal(binding_count(f->ra), 1);
    f->now += RA_RELOAD_DEREG_MS - 2;
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    f->now += 2;
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
}

/* Issue 11 item 4: the phone reboots onto a new port with a new rinstance.
 * Same AOR and host: the same binding, instance-id, reg-id, Call-ID and
 * flow; the new Contact goes upstream (the registrar replaces the old one,
 * RFC 5626 §6) and the UA's responses go to its new address. */
static void test_reregister_new_port(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg, *up, *ok, v[2048], inst[64];
    const char *rsp;
    struct binding *b;
    int ci;

    register_ok(f, &st);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    set_in(&f->ua.src, "192.168.1.10", 5072);
    reg = mk_register(1, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>", NULL);
    memcpy(strstr(reg, "ua-call-1"), "ua-call-2", 9); /* a new Call-ID after the reboot */
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);                /* the same flow */
    assert_int_equal(f->edge.nconns, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);         /* the flow's Call-ID, */
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");       /* its next CSeq */
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>;",
                        strlen("<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>;"));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_non_null(strstr(v, ";expires=300"));
    ok = ok_for(up, 300);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>"
                           ";expires=300");
    assert_int_equal(binding_count(f->ra), 1);
    assert_ptr_equal(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL), b);
    assert_string_equal(binding_contact(b),
                        "sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp");
    assert_string_equal(binding_instance(b), st.instance);
    /* one line in instance-ids: the phone is one instance */
    assert_int_equal(instid_count(f->ids), 1);
    /* a late de-registration of the old Contact leaves the binding alone */
    free(reg);
    reg = mk_register(9, UA_CONTACT ";expires=0", NULL);
    ua_send_register(f, reg);
    rsp = ua_wait(&f->edge, &f->to_ua, 3);
    start_line(rsp, v, sizeof(v));
    assert_string_equal(v, "SIP/2.0 200 OK");
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
    free(reg);
}

/* §4.5: a dead flow is formed again and sipkeep registers over it with the
 * same Call-ID, the next CSeq, instance-id and reg-id; the UA is not
 * bothered. */
static void test_flow_recovery(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *up, *ok, v[2048], inst[64], branch[128];
    int ci;
    bool again = false;
    uint64_t t0;

    register_ok(f, &st);
    t0 = f->now;
    edge_drop(&f->edge, st.ci);
    edge_settle(&f->edge);
    /* jump the clock to each next timer: the §4.5 wait (30-60 s here) */
    for (int i = 0; i < 50 && !again; i++) {
        int64_t t = loop_next_timeout(f->loop);
        if (t > 0)
            f->now += (uint64_t)t;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
        again = f->edge.nconns >= 2;
    }
    assert_true(f->now - t0 <= 60000);
    assert_true(again);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up, "Contact", v, sizeof(v));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_int_equal(hdr_count(up, "Via"), 1);
    hdr_must(up, "Via", v, sizeof(v));
    assert_true(param_of(v, "branch", branch, sizeof(branch)));
    assert_string_not_equal(branch, st.branch);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
}

/* RFC 3261 §21.5.4: a 503's Retry-After: 0 retries at once (same Call-ID,
 * next CSeq); a longer one holds the next attempt back that long. */
static void test_retry_after(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *rsp, v[256];
    int ci, ci2;
    uint64_t t0;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = mk_response(up, "503 Service Unavailable", "Retry-After: 0\r\n");
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_true(edge_wait_conns(&f->edge, 2)); /* the clock has not moved */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, 1);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");

    rsp = mk_response(up, "503 Service Unavailable",
                      "Retry-After: 240 (maintenance);duration=60\r\n");
    edge_send(&f->edge, ci2, rsp);
    free(rsp);
    free(up);
    assert_true(edge_wait_closed(&f->edge, ci2));
    t0 = f->now; /* the back-off alone would be 60-120 s (row 2) */
    f->now = t0 + 239999;
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 2);
    f->now = t0 + 240000;
    assert_true(edge_wait_conns(&f->edge, 3));
    free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_binding_lapses),
        T(test_lapse_unanswered),
        T(test_reregister_new_port),
        T(test_flow_recovery),
        T(test_retry_after),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent_life", tests, NULL, NULL);
}
