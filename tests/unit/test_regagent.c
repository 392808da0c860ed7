/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the registration agent (RFC 5626 §4.1, §4.2): REGISTER
 * rewriting towards the edge proxy, mapping of the answers back to the
 * legacy UA, CSeq/Call-ID spaces, challenges, instance-id persistence,
 * de-registration, third-party registrations, Contact: * and queries, and
 * requests arriving on a flow.  A binding's life (lapses, a new port,
 * recovery) is in test_regagent_life.c, several flows in
 * test_regagent_flows.c.
 *
 * The edge proxy / registrar is played by the test (fake_edge.h): a
 * listening TCP socket on 127.0.0.1 whose connections are read without
 * blocking between iterations of the event loop (fake clock, so no timer
 * runs unless due at "now"; every wait is bounded by an iteration count). */
#include "regagent_fixture.h"

#define UA_VIA(cseq) "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua" #cseq ";rport"

/* ---- 1. upstream REGISTER (§4.2.1, §5.1) ---- */

static void test_upstream_register(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up;
    char sl[256], v[2048], vias[4][256], branch[128], expect[128], inst[64];
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    int ci;
    const char *hend;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(f->edge.nconns, 1);

    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "REGISTER sip:example.net SIP/2.0");
    /* exactly one Via, ours: TCP from the flow's own local address */
    assert_int_equal(via_list(up, vias, 4), 1);
    assert_int_equal(getpeername(f->edge.conns[ci].fd, (struct sockaddr *)&peer, &pl), 0);
    snprintf(expect, sizeof(expect), "SIP/2.0/TCP 127.0.0.1:%u;", ntohs(peer.sin_port));
    assert_memory_equal(vias[0], expect, strlen(expect));
    assert_true(param_of(vias[0], "branch", branch, sizeof(branch)));
    assert_memory_equal(branch, "z9hG4bK", 7);
    assert_true(strlen(branch) > 7);
    assert_null(strstr(up, "z9hG4bKua7"));
    assert_null(strstr(up, "192.168.1.10:5060;branch"));
    /* its own Call-ID and CSeq space */
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_not_equal(v, "ua-call-1");
    assert_true(strlen(v) > 8);
    assert_int_equal(hdr_count(up, "Call-ID"), 1);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 REGISTER");
    assert_int_equal(hdr_count(up, "CSeq"), 1);
    /* Contact: the UA's URI with the instance-id and reg-id */
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    instance_of(v, inst, sizeof(inst));
    assert_true(param_of(v, "reg-id", expect, sizeof(expect)));
    assert_string_equal(expect, "1");
    /* the UA asked for 3600 s; upstream asks for what the UA is granted
     * (ua.register_expires, 300 s): sipkeep refreshes no longer than that */
    assert_true(param_of(v, "expires", expect, sizeof(expect)));
    assert_string_equal(expect, "300");
    hdr_must(up, "Supported", v, sizeof(v));
    assert_string_equal(v, "outbound, path");
    /* the UA's Route towards sipkeep is not for the edge */
    assert_int_equal(hdr_count(up, "Route"), 0);
    /* everything else kept */
    hdr_must(up, "From", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>;tag=uatag1");
    hdr_must(up, "To", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>");
    hdr_must(up, "Expires", v, sizeof(v));
    assert_string_equal(v, "300");
    hdr_must(up, "User-Agent", v, sizeof(v));
    assert_string_equal(v, "LegacyPhone/1.0");
    /* a stream needs Content-Length (RFC 3261 §18.3); the UA sent none */
    assert_int_equal(hdr_count(up, "Content-Length"), 1);
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_string_equal(v, "0");
    hend = strstr(up, "\r\n\r\n");
    assert_int_equal((size_t)(hend + 4 - up), strlen(up));
    /* nothing answered yet */
    assert_int_equal(f->to_ua.n, 0);
    assert_int_equal(binding_count(f->ra), 1);
    free(up);
    free(reg);
}

/* ---- 2. the answer for the UA ---- */

static void test_response_mapping(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok;
    char sl[256], v[2048], vias[4][256];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[0], (struct sockaddr *)&f->ua.src));

    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(7));
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    /* only its own Contact, with the clamped expiry (ua.register_expires) */
    assert_int_equal(hdr_count(rsp, "Contact"), 1);
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300");
    assert_int_equal(hdr_count(rsp, "Require"), 0);
    assert_int_equal(hdr_count(rsp, "Flow-Timer"), 0);
    assert_int_equal(hdr_count(rsp, "Path"), 0);
    assert_null(strstr(rsp, "+sip.instance"));
    assert_null(strstr(rsp, "reg-id"));
    hdr_must(rsp, "To", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>;tag=srvtag1");
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
    free(reg);
}

/* The registrar grants less than ua.register_expires: the UA gets that. */
static void test_response_grant_below_clamp(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok;
    char v[2048];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 120);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=120");
    free(ok);
    free(up);
    free(reg);
}

/* ---- 3. CSeq mapping, retransmissions ---- */

static void test_cseq_mapping(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg8 = mk_register(8, UA_CONTACT, NULL), *up, *ok, v[2048], branch[128];
    const char *rsp;
    char *first;
    int ci;

    register_ok(f, &st);
    ua_send_register(f, reg8);
    /* a retransmission before the answer is absorbed */
    ua_send_register(f, reg8);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);
    assert_int_equal(f->edge.nconns, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up, "Via", v, sizeof(v));
    assert_true(param_of(v, "branch", branch, sizeof(branch)));
    assert_string_not_equal(branch, st.branch); /* a new transaction */
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, st.instance));
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge)); /* one REGISTER only */
    assert_int_equal(f->to_ua.n, 1);

    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    first = strdup(rsp);

    /* the UA did not get it and retransmits: the same answer, nothing upstream */
    ua_send_register(f, reg8);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, 3);
    assert_string_equal(f->to_ua.msg[2], first);
    free(first);
    free(ok);
    free(up);
    free(reg8);
}

/* The answer is kept for the phone's retransmissions for Timer J (64*T1,
 * RA_RESP_KEEP_MS) and then dropped: a retransmission just before gets it
 * again, one after (the phone's Timer F has ended) is absorbed, and the
 * next REGISTER is answered as usual. */
static void test_answer_kept_timer_j(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg8 = mk_register(8, UA_CONTACT, NULL), *reg9 = mk_register(9, UA_CONTACT, NULL);
    char *up, *ok, v[256];
    int ci;

    register_ok(f, &st);
    ua_send_register(f, reg8);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 2);
    free(ok);
    free(up);

    f->now += RA_RESP_KEEP_MS - 1;
    edge_settle(&f->edge);
    ua_send_register(f, reg8);
    assert_int_equal(f->to_ua.n, 3);
    assert_string_equal(f->to_ua.msg[2], f->to_ua.msg[1]);

    f->now += 1;
    edge_settle(&f->edge);
    ua_send_register(f, reg8);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge)); /* nothing upstream either */
    assert_int_equal(f->to_ua.n, 3);

    ua_send_register(f, reg9);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    hdr_must(ua_wait(&f->edge, &f->to_ua, 4), "CSeq", v, sizeof(v));
    assert_string_equal(v, "9 REGISTER");
    free(ok);
    free(up);
    free(reg9);
    free(reg8);
}

/* ---- 4. challenges ---- */

#define CREDENTIALS "Digest username=\"alice\", realm=\"example.net\", nonce=\"4b1f, 9a\", " \
                    "uri=\"sip:example.net\", response=\"0123456789abcdef0123456789abcdef\", " \
                    "algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""

static void test_challenge_passthrough(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL);
    char *reg8 = mk_register(8, UA_CONTACT, "Authorization: " CREDENTIALS "\r\n");
    char *up, *up2, *rsp401, *ok, v[2048], cid[256], vias[4][256], sl[256];
    const char *rsp;
    int ci, ci2;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Call-ID", cid, sizeof(cid));
    rsp401 = mk_response(up, "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci, rsp401);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 401 Unauthorized");
    hdr_must(rsp, "WWW-Authenticate", v, sizeof(v));
    assert_string_equal(v, CHALLENGE);
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(7));
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    assert_null(strstr(rsp, cid));

    /* the retry goes out on the same connection, next upstream CSeq */
    ua_send_register(f, reg8);
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(f->edge.nconns, 1);
    assert_false(f->edge.conns[ci].closed);
    hdr_must(up2, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up2, "Call-ID", v, sizeof(v));
    assert_string_equal(v, cid);
    hdr_must(up2, "Authorization", v, sizeof(v));
    assert_string_equal(v, CREDENTIALS);
    assert_int_equal(hdr_count(up2, "Via"), 1);

    ok = ok_for(up2, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(8));
    free(ok);
    free(up2);
    free(rsp401);
    free(up);
    free(reg8);
    free(reg7);
}

/* ---- 5. instance-ids (§4.1) ---- */

static void test_instance_persistence(void **state)
{
    struct fx *f = *state;
    struct reg_state st1, st2;
    char *reg, *up, contact[2048], inst_b[64];
    int ci;

    register_ok(f, &st1);
    /* restart: new store and agent on the same state_dir */
    agent_stop(f);
    assert_true(edge_wait_closed(&f->edge, st1.ci));
    agent_start(f);
    register_ok(f, &st2);
    assert_int_not_equal(st2.ci, st1.ci);
    assert_string_equal(st2.instance, st1.instance);
    /* a new Call-ID after the restart is fine; the instance must not change */

    /* another phone: another instance-id */
    reg = mk_register(3, "<sip:alice@192.168.1.11:5060>", NULL);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_not_equal(ci, st2.ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    assert_memory_equal(contact, "<sip:alice@192.168.1.11:5060>;", 30);
    instance_of(contact, inst_b, sizeof(inst_b));
    assert_string_not_equal(inst_b, st1.instance);
    assert_int_equal(binding_count(f->ra), 2);
    free(up);
    free(reg);
}

/* ---- 6. de-registration ---- */

static void deregister(struct fx *f, const char *contact, const char *extra)
{
    struct reg_state st;
    char *reg, *up, *ok, v[2048], inst[64], sl[256];
    const char *rsp;
    int ci;

    register_ok(f, &st);
    assert_int_equal(binding_count(f->ra), 1);
    reg = mk_register(8, contact, extra);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_null(strstr(v, ";expires=3600"));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    ok = mk_response(up, "200 OK", "Require: outbound\r\n");
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    /* the binding goes away and its flow with it */
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_null(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL));
    free(ok);
    free(up);
    free(reg);
}

static void test_deregister_param(void **state)
{
    deregister(*state, UA_CONTACT ";expires=0", NULL);
}

static void test_deregister_header(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg, *up, *ok, v[2048];
    int ci;

    register_ok(f, &st);
    /* Expires: 0 as a second Expires would be a bad message; build by hand */
    reg = mk_register(8, UA_CONTACT, NULL);
    memcpy(strstr(reg, "Expires: 3600"), "Expires:    0", 13);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, st.instance));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    free(ok);
    free(up);
    free(reg);
}

/* ---- 7. requests on the flow ---- */

static void test_flow_request(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char invite[2048], stray[1024];
    struct binding *b;
    int one = 1, two = 2;

    register_ok(f, &st);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, slice_cstr("sip:alice@example.net"));
    assert_non_null(b);
    assert_ptr_equal(binding_by_id(f->ra, binding_id(b)), b);
    snprintf(invite, sizeof(invite),
             "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-1@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@203.0.113.9>\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[0]);
    edge_send(&f->edge, st.ci, invite);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &one));
    assert_ptr_equal(f->flow_b, b);
    assert_int_equal(f->flow_idx, 0);
    assert_true(f->flow_is_req);
    assert_string_equal(f->flow_first, "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n");

    /* a response that answers none of our REGISTERs goes there too */
    snprintf(stray, sizeof(stray),
             "SIP/2.0 200 OK\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:1;branch=%s\r\n" /* the old REGISTER's */
             "From: <sip:alice@example.net>;tag=uatag1\r\n"
             "To: <sip:alice@example.net>;tag=x\r\n"
             "Call-ID: %s\r\n"
             "CSeq: 1 REGISTER\r\n"
             "Content-Length: 0\r\n\r\n",
             st.branch, st.call_id);
    edge_send(&f->edge, st.ci, stray);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &two));
    assert_false(f->flow_is_req);
    assert_ptr_equal(f->flow_b, b);
    /* neither reached the UA through the agent */
    assert_int_equal(f->to_ua.n, 1);
}

/* services[].flows: 3 flows through one proxy, reg-id 1..3, each its own
 * connection (the proxy is a literal: all three to the same edge). */
static void test_flows_key(void **state)
{
    struct fx *f = fx_new("test_regagent", 1, "192.168.1.10", "192.168.1.1");
    char *reg = mk_register(7, UA_CONTACT, NULL), *up;
    char c[2048], id[16];
    bool seen[4] = { false };
    int ci;

    (void)state;
    edge_load_cfg_extra(&f->edge, f->dir.state, "    flows: 3\n", &f->cfg);
    agent_start(f);
    ua_send_register(f, reg);
    for (int i = 0; i < 3; i++) {
        up = edge_wait_msg(&f->edge, &ci);
        hdr_must(up, "Contact", c, sizeof(c));
        assert_true(param_of(c, "reg-id", id, sizeof(id)));
        assert_true(id[0] >= '1' && id[0] <= '3' && id[1] == '\0');
        seen[id[0] - '0'] = true;
        free(up);
    }
    assert_true(seen[1] && seen[2] && seen[3]);
    assert_int_equal(f->edge.nconns, 3);
    free(reg);
    agent_stop(f);
    fx_free(f);
}

/* ---- more: third-party, Contact: *, queries, the Via stack, failures ---- */

static void test_third_party(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, v[2048];
    int ci;

    memcpy(strstr(reg, "From: <sip:alice@"), "From: <sip:carol@", 17);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300"); /* §4.2.3: neither id */
    free(up);
    free(reg);
}

static void test_contact_star(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg = mk_register(8, "*", NULL), *up, *ok, v[2048], sl[256];
    const char *rsp;
    int ci;

    register_ok(f, &st);
    memcpy(strstr(reg, "Expires: 3600"), "Expires:    0", 13);
    ua_send_register(f, reg);
    rsp = ua_wait(&f->edge, &f->to_ua, 2); /* answered at once */
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, st.instance));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(f->to_ua.n, 2);
    free(ok);
    free(up);
    free(reg);
}

static void test_deregister_unknown_and_query(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT ";expires=0", NULL), sl[256];
    char *query = mk_register(9, UA_CONTACT, NULL);
    char *c = strstr(query, "Contact: ");

    ua_send_register(f, reg);
    ua_wait(&f->edge, &f->to_ua, 1);
    start_line(f->to_ua.msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    /* a query (no Contact) is answered without a binding */
    memmove(c, strstr(c, "\r\n") + 2, strlen(strstr(c, "\r\n") + 2) + 1);
    ua_send_register(f, query);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    assert_int_equal(binding_count(f->ra), 0);
    free(query);
    free(reg);
}

/* A UA behind another hop (several Via lines and elements): the whole
 * stack comes back in order. */
static void test_response_via_stack(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok, vias[6][256];
    char *at = strstr(reg, "Route:");
    char *full = malloc(8192);
    const char *rsp;
    int ci;

    assert_non_null(full);
    snprintf(full, 8192, "%.*sVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKin1, "
             "SIP/2.0/TCP 10.0.0.6;branch=z9hG4bKin2\r\n"
             "Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKin3\r\n%s",
             (int)(at - reg), reg, at);
    ua_send_register(f, full);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(via_list(up, vias, 6), 1);
    assert_null(strstr(up, "z9hG4bKin"));
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_int_equal(via_list(rsp, vias, 6), 4);
    assert_string_equal(vias[0], UA_VIA(7));
    assert_string_equal(vias[1], "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKin1");
    assert_string_equal(vias[2], "SIP/2.0/TCP 10.0.0.6;branch=z9hG4bKin2");
    assert_string_equal(vias[3], "SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKin3");
    free(ok);
    free(up);
    free(full);
    free(reg);
}

/* Upstream failure (not a challenge) with one flow: passed to the UA. */
static void test_failure_passthrough(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *rsp403, sl[256], v[256];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    rsp403 = mk_response(up, "403 Forbidden", NULL);
    edge_send(&f->edge, ci, rsp403);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    /* a failed registration fails the flow (§4.5) */
    assert_true(edge_wait_closed(&f->edge, ci));
    free(rsp403);
    free(up);
    free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_upstream_register),
        T(test_response_mapping),
        T(test_response_grant_below_clamp),
        T(test_cseq_mapping),
        T(test_answer_kept_timer_j),
        T(test_challenge_passthrough),
        T(test_instance_persistence),
        T(test_deregister_param),
        T(test_deregister_header),
        T(test_flow_request),
        cmocka_unit_test(test_flows_key),
        T(test_third_party),
        T(test_contact_star),
        T(test_deregister_unknown_and_query),
        T(test_response_via_stack),
        T(test_failure_passthrough),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent", tests, NULL, NULL);
}
