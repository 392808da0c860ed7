/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for registrar answers as they come in the field (issue 12
 * item 7): a 2xx that lists other devices' bindings (RFC 3261 §10.2.4),
 * where sipkeep finds its own by +sip.instance and reg-id (RFC 5626
 * §4.2.1) and takes its expiry from that one; a grant shorter than the
 * binding lives, refreshed by sipkeep itself before it lapses.
 *
 * The registrar is the fake edge (fake_edge.h) on a fake clock.  Its 2xx
 * carry no Require: outbound, so no pongs are expected and jumping the
 * clock fails no flow. */
#include <ctype.h>
#include <stdint.h>

#define UA_SINK_MAX 32
#include "edge_fixture.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/binding.h"
#include "outbound/regagent.h"
#include "sip/msg.h"
#include "state/instid.h"

#define UA_CONTACT FX_UA_CONTACT
/* Another device of the same account: same private address in another
 * home (so the same Contact URI), its own instance and reg-id 1. */
#define OTHER_INST "<urn:uuid:00000000-0000-4000-8000-000000000001>"

static int fx_setup_n(void **state, int nlisten)
{
    struct fx *f = fx_new("test_reg_granted", nlisten, "192.168.1.10", "192.168.1.1");

    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    fx_agent_start(f, fx_flow_msg_ignore, NULL);
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_n(state, 1);
}

static int fx_setup2(void **state)
{
    return fx_setup_n(state, 2);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    fx_agent_stop(f);
    fx_free(f);
    return 0;
}

/* Our upstream Contact as the registrar echoes it: without its expires
 * (the registrar states its own) into out. */
static void our_contact(const char *req, char *out, size_t outsz)
{
    char *p;

    hdr_must(req, "Contact", out, outsz);
    p = strstr(out, ";expires=");
    assert_non_null(p);
    *p = '\0';
}

/* The expiry the UA was told in the 2xx rsp. */
static unsigned ua_expires(const char *rsp)
{
    char v[2048], e[32];

    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_true(param_of(v, "expires", e, sizeof(e)));
    return (unsigned)strtoul(e, NULL, 10);
}

/* The phone's REGISTER (CSeq 7) sent; the upstream one as the edge got it
 * (malloc'd) and its connection. */
static char *register_upstream(struct fx *f, int *ci)
{
    char *reg = fx_ua_register_text(7, NULL), *up;

    fx_ua_send(f, reg);
    up = edge_wait_msg(&f->edge, ci);
    free(reg);
    return up;
}

/* The registrar answers up (freed) on ci with 200 and the header lines
 * extra; returns the expiry the phone was told. */
static unsigned answer_200(struct fx *f, char *up, int ci, const char *extra)
{
    char *ok = mk_response(up, "200 OK", extra);
    unsigned e;

    edge_send(&f->edge, ci, ok);
    e = ua_expires(ua_wait(&f->edge, &f->to_ua, 1));
    free(ok);
    free(up);
    return e;
}

/* The 200 has the header lines pre, then "Contact: <ours><ours_params>",
 * then post; returns the expiry the phone was told. */
static unsigned grant_with(struct fx *f, const char *pre, const char *ours_params,
                           const char *post)
{
    char contact[2048], extra[4096];
    int ci;
    char *up = register_upstream(f, &ci);

    our_contact(up, contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "%sContact: %s%s\r\n%s", pre, contact, ours_params, post);
    return answer_200(f, up, ci, extra);
}

/* Another device's binding comes first, with our Contact URI and reg-id
 * but its own instance; ours comes later: ours counts, not the first nor
 * the Expires header. */
static void test_own_binding_among_others(void **state)
{
    struct fx *f = *state;

    assert_int_equal(grant_with(f, "Expires: 250\r\n"
                                   "Contact: " UA_CONTACT ";+sip.instance=\"" OTHER_INST
                                   "\";reg-id=1;expires=280\r\n"
                                   "Contact: <sip:bob@203.0.113.9>;expires=270\r\n",
                                ";expires=120", ""),
                     120);
}

/* The same with all bindings in one Contact header (a comma list), ours
 * with its parameters reordered and the instance in capitals (URN
 * equality), listed after a binding of our own instance under another
 * reg-id. */
static void test_own_binding_in_list(void **state)
{
    struct fx *f = *state;
    char contact[2048], inst[128], *p, extra[4096];
    int ci;
    char *up = register_upstream(f, &ci);

    our_contact(up, contact, sizeof(contact));
    p = strstr(contact, "+sip.instance=\"<");
    assert_non_null(p);
    snprintf(inst, sizeof(inst), "%.45s", p + strlen("+sip.instance=\"<"));
    for (p = inst; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    snprintf(extra, sizeof(extra),
             "Contact: " UA_CONTACT ";+sip.instance=\"" OTHER_INST "\";reg-id=1;expires=280, "
             UA_CONTACT ";+sip.instance=\"<%s>\";reg-id=2;expires=200, "
             UA_CONTACT ";reg-id=1;+sip.instance=\"<%s>\";expires=90\r\n", inst, inst);
    assert_int_equal(answer_200(f, up, ci, extra), 90);
}

/* Our binding without an expires of its own: the Expires header, not
 * another device's expires. */
static void test_own_binding_expires_header(void **state)
{
    struct fx *f = *state;

    assert_int_equal(grant_with(f, "Contact: " UA_CONTACT ";+sip.instance=\"" OTHER_INST
                                   "\";reg-id=1;expires=280\r\n",
                                "", "Expires: 150\r\n"),
                     150);
}

/* A registrar that does not echo +sip.instance: our Contact URI. */
static void test_no_instance_echoed(void **state)
{
    struct fx *f = *state;
    int ci;
    char *up = register_upstream(f, &ci);

    assert_int_equal(answer_200(f, up, ci, "Contact: <sip:bob@203.0.113.9>;expires=270\r\n"
                                           "Contact: " UA_CONTACT ";expires=110\r\n"),
                     110);
}

/* The registrar answers the REGISTER up (freed) on connection ci with a
 * 200 granting our Contact expires s. */
static void answer_grant(struct fx *f, char *up, int ci, unsigned expires)
{
    char contact[2048], extra[2200], *ok;

    our_contact(up, contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Contact: %s;expires=%u\r\n", contact, expires);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    free(ok);
    free(up);
}

/* Two flows: the phone's REGISTER goes out on both; flow 1 (reg-id 1) is
 * granted g1 first (the phone is told g1), then flow 2 g2.  ci: their
 * connections, by reg-id. */
static void two_flows_granted(struct fx *f, unsigned g1, unsigned g2, int ci[2])
{
    char *reg = fx_ua_register_text(7, NULL), *up[2];

    fx_ua_send(f, reg);
    free(reg);
    up[0] = edge_wait_msg(&f->edge, &ci[0]);
    up[1] = edge_wait_msg(&f->edge, &ci[1]);
    if (f->edge.conns[ci[0]].listener == 1) { /* order by reg-id */
        char *t = up[0];
        int tc = ci[0];
        up[0] = up[1], up[1] = t, ci[0] = ci[1], ci[1] = tc;
    }
    answer_grant(f, up[0], ci[0], g1);
    assert_int_equal(ua_expires(ua_wait(&f->edge, &f->to_ua, 1)), g1);
    answer_grant(f, up[1], ci[1], g2);
    edge_settle(&f->edge);
}

/* Flow 2 is granted less (100 s) than the UA was told from flow 1
 * (300 s): sipkeep refreshes flow 2 by itself at 50 s (half of a short
 * grant), again 50 s after that 2xx, while flow 1 sends nothing; the
 * binding does not lapse at 100 s and the UA hears nothing more. */
static void test_short_grant_refreshed(void **state)
{
    struct fx *f = *state;
    char *up, contact[2048];
    int ci[2], c;

    two_flows_granted(f, 300, 100, ci);
    for (int round = 0; round < 3; round++) {
        f->now += 49000;
        edge_settle(&f->edge);
        assert_false(edge_has_msg(&f->edge));
        f->now += 1000;
        up = edge_wait_msg(&f->edge, &c);
        assert_int_equal(c, ci[1]);
        assert_memory_equal(up, "REGISTER ", 9);
        hdr_must(up, "Contact", contact, sizeof(contact));
        assert_non_null(strstr(contact, ";reg-id=2"));
        assert_non_null(strstr(contact, ";expires=300")); /* asks for the UA's again */
        answer_grant(f, up, ci[1], 100);
        edge_settle(&f->edge);
    }
    /* 150 s: both flows up, the binding lives, the UA heard one answer */
    assert_int_equal(binding_count(f->ra), 1);
    assert_false(f->edge.conns[ci[0]].closed);
    assert_false(f->edge.conns[ci[1]].closed);
    assert_int_equal(f->to_ua.n, 1);
}

/* The UA is told the grant (one flow, 120 s < ua.register_expires): its
 * own refresh comes in time, so sipkeep sends nothing by itself, and the
 * binding lapses with the UA's expiry (de-registration at 120 s). */
static void test_grant_told_to_ua_no_refresh(void **state)
{
    struct fx *f = *state;
    char *up, v[2048];
    int ci;

    assert_int_equal(grant_with(f, "", ";expires=120", ""), 120);
    f->now += 119000;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    f->now += 1000;
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";expires=0"));
    free(up);
}

/* A later 2xx on another flow (here flow 2's, after the UA was answered
 * from flow 1) neither cuts the binding's life short to its own shorter
 * grant nor extends it. */
static void test_other_flow_grant_keeps_binding_expiry(void **state)
{
    struct fx *f = *state;
    const struct binding *b;
    int ci[2];
    int64_t left;

    two_flows_granted(f, 200, 60, ci);
    assert_true(binding_count(f->ra) == 1);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    left = binding_expires_in_ms(b);
    assert_true(left > 199000 && left <= 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
#define T2(fn) cmocka_unit_test_setup_teardown(fn, fx_setup2, fx_teardown)
        T(test_own_binding_among_others),
        T(test_own_binding_in_list),
        T(test_own_binding_expires_header),
        T(test_no_instance_echoed),
        T(test_grant_told_to_ua_no_refresh),
        T2(test_short_grant_refreshed),
        T2(test_other_flow_grant_keeps_binding_expiry),
    };

#undef T
#undef T2
    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("reg_granted", tests, NULL, NULL);
}
