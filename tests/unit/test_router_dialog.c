/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the router and a dialog's path (issue 11): Route values
 * naming sipkeep removed (RFC 3261 §16.4) and OPTIONS to sipkeep answered,
 * Record-Route with the flow token both ways, a dialog's requests and a
 * CANCEL on the dialog's / INVITE's flow (fallback when it is down), bad
 * tokens refused, requests to the registered Contact, and responses from
 * either address of the phone.  Same fake edge as test_router.c
 * (router_fixture.h). */
#include "router_fixture.h"

/* Two outbound proxies: reg-id 1 and 2, one edge listener each. */
static int fx_setup2(void **state)
{
    return fx_setup_n(state, 2);
}

/* ---- 14. Route, Record-Route and the flow of a dialog (issue 11) ---- */

/* A REGISTER of user at ip:5060 with Contact contact. */
static char *mk_register_as(const char *user, const char *ip, const char *contact)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bKreg-%s;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@example.net>;tag=uatag1\r\n"
                     "To: <sip:%s@example.net>\r\n"
                     "Call-ID: ua-call-%s\r\n"
                     "CSeq: 1 REGISTER\r\n"
                     "Contact: %s\r\n"
                     "Expires: 3600\r\n"
                     "Content-Length: 0\r\n\r\n",
                     ip, user, user, user, user, contact);

    assert_true(n > 0 && n < 4096);
    return out;
}

/* Registers the phone at ua (user, contact) on every flow of the service;
 * ci[i] gets the connection of reg-id i + 1. */
static void register_as(struct fx *f, const struct ua_addr *ua, const char *user,
                        const char *contact, int nflows, int *ci)
{
    char *reg = mk_register_as(user, "127.0.0.10", contact);
    int nua = f->to_ua.n;

    ua_send_from(f, reg, ua);
    for (int i = 0; i < nflows; i++) {
        char c[2048], extra[4096], *up, *ok;
        int k;
        up = edge_wait_msg(&f->edge, &k);
        ci[f->edge.conns[k].listener] = k;
        hdr_must(up, "Contact", c, sizeof(c));
        snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 20\r\n"
                 "Path: <sip:tok@127.0.0.1;lr;ob>\r\nContact: %s;expires=3600\r\n", c);
        ok = mk_response(up, "200 OK", extra);
        edge_send(&f->edge, k, ok);
        free(ok);
        free(up);
    }
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    edge_settle(&f->edge);
    assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    free(reg);
}

/* The value of the Route lines of msg joined by "|", "" when none. */
static void routes_of(const char *msg, char *out, size_t outsz)
{
    char v[2048];
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; hdr_get(msg, "Route", i, v, sizeof(v)); i++) {
        int k = snprintf(out + n, outsz - n, "%s%s", i ? "|" : "", v);
        assert_true(k > 0 && (size_t)k < outsz - n);
        n += (size_t)k;
    }
}

static void test_route_preloaded_removed(void **state)
{
    struct fx *f = *state;
    int ci[1], k;
    char routes[2048], br[32], *req, *up;
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* the phone's outbound-proxy Route naming sipkeep (it sent to
         * 127.0.0.1:5060), in every form */
        { "Route: <sip:127.0.0.1;lr>\r\n", "" },
        { "Route: <sip:127.0.0.1:5060;lr>\r\n", "" },
        { "Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n", "" },
        { "Route: <sip:127.0.0.1>\r\n", "" },
        { "Route: <sip:127.0.0.1;lr>, <sip:edge.example.net;lr>\r\n", "<sip:edge.example.net;lr>" },
        /* foreign Routes are kept */
        { "Route: <sip:edge.example.net;lr>\r\n", "<sip:edge.example.net;lr>" },
        { "Route: <sip:127.0.0.1:5070;lr>\r\n", "<sip:127.0.0.1:5070;lr>" },
        { "Route: <sip:edge.example.net;lr>\r\nRoute: <sip:127.0.0.1;lr>\r\n",
          "<sip:edge.example.net;lr>|<sip:127.0.0.1;lr>" },
    };

    register_as(f, &f->ua, "alice", UA_CONTACT, 1, ci);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(br, sizeof(br), "z9hG4bKmsg%zu", i);
        req = mk_ua_req("MESSAGE", "sip:bob@example.net", cases[i].in, NULL, (unsigned)i + 1,
                        br);
        up = ua_relay(f, req, &k);
        assert_int_equal(k, ci[0]);
        routes_of(up, routes, sizeof(routes));
        if (strcmp(routes, cases[i].out) != 0)
            fail_msg("case %zu: Route '%s', expected '%s'", i, routes, cases[i].out);
        assert_int_equal(hdr_count(up, "Record-Route"), 0); /* not dialog-forming */
        free(up);
        free(req);
    }
}

/* OPTIONS to sipkeep itself: 200 from sipkeep, even before the phone
 * registers; anything else addressed to sipkeep 404; nothing upstream. */
static void test_options_to_sipkeep(void **state)
{
    struct fx *f = *state;
    char *opt = mk_ua_req("OPTIONS", "sip:127.0.0.1:5060", "", NULL, 1, "z9hG4bKo1");
    char *opt2 = mk_ua_req("OPTIONS", "sip:127.0.0.1", "Route: <sip:127.0.0.1;lr>\r\n", NULL, 2,
                           "z9hG4bKo2");
    char *info = mk_ua_req("INFO", "sip:127.0.0.1", "", NULL, 3, "z9hG4bKo3");
    char *fwd = mk_ua_req("OPTIONS", "sip:bob@example.net", "Route: <sip:127.0.0.1;lr>\r\n",
                          NULL, 4, "z9hG4bKo4");
    char sl[256], v[1024];

    ua_send(f, opt);
    ua_wait(&f->edge, &f->to_ua, 1);
    start_line(f->to_ua.msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(f->to_ua.msg[0], "Allow", v, sizeof(v));
    assert_non_null(strstr(v, "INVITE"));
    hdr_must(f->to_ua.msg[0], "Supported", v, sizeof(v));
    assert_non_null(strstr(v, "outbound"));
    hdr_must(f->to_ua.msg[0], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 OPTIONS");
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[0], (struct sockaddr *)&f->ua.src));
    ua_send(f, opt2);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    ua_send(f, info);
    ua_wait(&f->edge, &f->to_ua, 3);
    start_line(f->to_ua.msg[2], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 404 Not Found");
    /* an OPTIONS for someone else is not sipkeep's: the unregistered
     * phone gets the usual 403 */
    ua_send(f, fwd);
    ua_wait(&f->edge, &f->to_ua, 4);
    start_line(f->to_ua.msg[3], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    free(fwd);
    free(info);
    free(opt2);
    free(opt);
}

/* Our Record-Route: "<sip:127.0.0.1:5060;lr;skf=R.HEX>" with reg-id R. */
static void assert_our_rr(const char *rr, unsigned reg_id)
{
    char want[64];

    snprintf(want, sizeof(want), "<sip:127.0.0.1:5060;lr;skf=%u.", reg_id);
    if (strncmp(rr, want, strlen(want)) != 0 || strlen(rr) != strlen(want) + 16 + 1 ||
        rr[strlen(rr) - 1] != '>')
        fail_msg("Record-Route '%s', expected %s<16 hex>>", rr, want);
}

static void test_record_route_both_ways(void **state)
{
    struct fx *f = *state;
    int ci[1], k;
    char *inv = mk_ua_req("INVITE", "sip:bob@example.net", "Route: <sip:127.0.0.1;lr>\r\n", NULL,
                          1, "z9hG4bKrr1");
    char *bye = mk_ua_req("BYE", "sip:bob@203.0.113.9", "", "b2", 2, "z9hG4bKrr2");
    char *up, rr[512], rr2[512], routes[1024], sl[256], ext[1024];
    const char *m;

    register_as(f, &f->ua, "alice", UA_CONTACT, 1, ci);
    /* from the phone: our RR, the preloaded Route gone */
    up = ua_relay(f, inv, &k);
    assert_int_equal(hdr_count(up, "Record-Route"), 1);
    hdr_must(up, "Record-Route", rr, sizeof(rr));
    assert_our_rr(rr, 1);
    assert_int_equal(hdr_count(up, "Route"), 0);
    free(up);
    /* an in-dialog request gets none */
    up = ua_relay(f, bye, &k);
    assert_int_equal(hdr_count(up, "Record-Route"), 0);
    free(up);

    /* from the service: ours on top of the edge's */
    edge_req(f, ci[0], "INVITE", "sip:alice@127.0.0.10:5060;ob",
             "Record-Route: <sip:tok@127.0.0.1;lr;ob>\r\n", NULL, "z9hG4bKe1");
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0");
    assert_int_equal(hdr_count(m, "Record-Route"), 2);
    assert_true(hdr_get(m, "Record-Route", 0, rr2, sizeof(rr2)));
    assert_our_rr(rr2, 1);
    assert_string_equal(rr, rr2); /* the same phone and flow: the same token */
    assert_true(hdr_get(m, "Record-Route", 1, rr2, sizeof(rr2)));
    assert_string_equal(rr2, "<sip:tok@127.0.0.1;lr;ob>");
    /* the far side's BYE carries our RR as its last Route: popped, and no
     * Record-Route on a BYE */
    snprintf(ext, sizeof(ext), "Route: %s\r\n", rr);
    edge_req(f, ci[0], "BYE", "sip:alice@127.0.0.10:5060", ext, "a9", "z9hG4bKe2");
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "BYE sip:alice@127.0.0.10:5060 SIP/2.0");
    routes_of(m, routes, sizeof(routes));
    assert_string_equal(routes, "");
    assert_int_equal(hdr_count(m, "Record-Route"), 0);
    free(bye);
    free(inv);
}

/* The token of reg-id reg_id that the phone gets in an INVITE from flow
 * ci, as "Route: ...\r\n". */
static void token_route(struct fx *f, int ci, unsigned reg_id, const char *branch, char *route,
                        size_t routesz)
{
    const char *m;
    char rr[512];

    edge_req(f, ci, "INVITE", "sip:alice@127.0.0.10:5060;ob", "", NULL, branch);
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    hdr_must(m, "Record-Route", rr, sizeof(rr));
    assert_our_rr(rr, reg_id);
    snprintf(route, routesz, "Route: %s\r\n", rr);
}

/* Two flows, both up: a dialog made on reg-id 2 keeps using reg-id 2 (RFC
 * 5626 §5.3), a request without token takes the first working flow, a
 * CANCEL without Route follows its INVITE; with reg-id 2 down, the next
 * in-dialog request takes reg-id 1 and that is logged. */
static void test_dialog_flow_token(void **state)
{
    struct fx *f = *state;
    int ci[2], k;
    char route[600], *req, *up, sl[256], *log;
    struct logcap cap;

    register_as(f, &f->ua, "alice", UA_CONTACT, 2, ci);
    assert_int_not_equal(ci[0], ci[1]);
    token_route(f, ci[1], 2, "z9hG4bKt2", route, sizeof(route));

    req = mk_ua_req("BYE", "sip:bob@203.0.113.9", route, "b1", 2, "z9hG4bKd1");
    up = ua_relay(f, req, &k);
    assert_int_equal(k, ci[1]);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "BYE sip:bob@203.0.113.9 SIP/2.0");
    assert_int_equal(hdr_count(up, "Route"), 0);
    free(up);
    free(req);
    /* the same BYE without our Route (a dialog from before): reg-id 1 */
    req = mk_ua_req("BYE", "sip:bob@203.0.113.9", "", "b1", 3, "z9hG4bKd2");
    up = ua_relay(f, req, &k);
    assert_int_equal(k, ci[0]);
    free(up);
    free(req);
    /* re-INVITE on reg-id 2, its CANCEL (a phone that leaves out the
     * Route) on the same flow */
    req = mk_ua_req("INVITE", "sip:bob@203.0.113.9", route, "b1", 4, "z9hG4bKd3");
    up = ua_relay(f, req, &k);
    assert_int_equal(k, ci[1]);
    assert_int_equal(hdr_count(up, "Record-Route"), 0); /* in-dialog */
    free(up);
    free(req);
    req = mk_ua_req("CANCEL", "sip:bob@203.0.113.9", "", "b1", 4, "z9hG4bKd3");
    up = ua_relay(f, req, &k);
    assert_int_equal(k, ci[1]);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "CANCEL sip:bob@203.0.113.9 SIP/2.0");
    free(up);
    free(req);

    /* reg-id 2 goes down */
    edge_drop(&f->edge, ci[1]);
    edge_settle(&f->edge);
    req = mk_ua_req("BYE", "sip:bob@203.0.113.9", route, "b1", 5, "z9hG4bKd4");
    logcap_start(&cap);
    ua_send(f, req);
    log = logcap_end(&cap);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci[0]);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "BYE sip:bob@203.0.113.9 SIP/2.0");
    assert_int_equal(hdr_count(up, "Route"), 0);
    if (!strstr(log, "dialog_flow_fallback") || !strstr(log, "reg_id=2 used_reg_id=1"))
        fail_msg("fallback not logged:\n%s", log);
    free(log);
    free(up);
    free(req);
}

/* A token the phone made up, and another phone's: 403, nothing upstream;
 * the other phone's own token works for it. */
static void test_token_refused(void **state)
{
    struct fx *f = *state;
    int ci[1], ci2[1], k, n;
    char route[600], forged[600], *req, *req2, *bob_inv, sl[256], bob_rr[512], *up;

    struct ua_addr bob = f->ua;
    const char *m;

    set_in(&bob.src, "127.0.0.11", 5060);
    register_as(f, &f->ua, "alice", UA_CONTACT, 1, ci);
    register_as(f, &bob, "bob", "<sip:bob@127.0.0.11:5060>", 1, ci2);
    assert_int_not_equal(ci[0], ci2[0]);
    token_route(f, ci[0], 1, "z9hG4bKt1", route, sizeof(route));

    /* forged: right form, wrong MAC */
    snprintf(forged, sizeof(forged), "Route: <sip:127.0.0.1:5060;lr;skf=1.0123456789abcdef>\r\n");
    req = mk_ua_req("BYE", "sip:bob@203.0.113.9", forged, "b1", 2, "z9hG4bKf1");
    n = f->to_ua.n;
    ua_send(f, req);
    m = ua_wait(&f->edge, &f->to_ua, n + 1);
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    free(req);

    /* bob's token, valid for bob */
    edge_req(f, ci2[0], "INVITE", "sip:bob@127.0.0.11:5060;ob", "", NULL, "z9hG4bKtb");
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[f->to_ua.n - 1],
                           (struct sockaddr *)&bob.src));
    hdr_must(m, "Record-Route", bob_rr, sizeof(bob_rr));
    assert_our_rr(bob_rr, 1);
    assert_string_not_equal(bob_rr, route + 7);
    snprintf(forged, sizeof(forged), "Route: %s\r\n", bob_rr);
    /* alice presenting it: 403 */
    req = mk_ua_req("BYE", "sip:bob@203.0.113.9", forged, "b1", 3, "z9hG4bKf2");
    n = f->to_ua.n;
    ua_send(f, req);
    m = ua_wait(&f->edge, &f->to_ua, n + 1);
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    /* bob presenting it: relayed on bob's flow */
    bob_inv = mk_ua_req_as("bob", "127.0.0.11", "BYE", "sip:carol@203.0.113.9", forged, "c1", 2,
                           "z9hG4bKf3");
    ua_send_from(f, bob_inv, &bob);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci2[0]);
    /* and alice's own token still works for her */
    req2 = mk_ua_req("BYE", "sip:bob@203.0.113.9", route, "b1", 4, "z9hG4bKf4");
    free(up);
    up = ua_relay(f, req2, &k);
    assert_int_equal(k, ci[0]);
    free(up);
    free(req2);
    free(bob_inv);
    free(req);
}

/* A phone with two lines (two bindings from one address): a dialog of the
 * first line whose From is no line's AOR (a call to another number of the
 * line) finds its binding by the token, not the "any binding" the From
 * gives (the newest line). */
static void test_token_picks_line(void **state)
{
    struct fx *f = *state;
    int ci_a[1], ci_b[1], k;
    char route[600], *req, *up;

    register_as(f, &f->ua, "alice", "<sip:alice@127.0.0.10:5060>", 1, ci_a);
    register_as(f, &f->ua, "bob", "<sip:bob@127.0.0.10:5060>", 1, ci_b);
    assert_int_not_equal(ci_a[0], ci_b[0]);
    token_route(f, ci_a[0], 1, "z9hG4bKl1", route, sizeof(route));
    req = mk_ua_req_as("4930123", "127.0.0.10", "BYE", "sip:carol@203.0.113.9", route, "c1", 2,
                       "z9hG4bKl2");
    up = ua_relay(f, req, &k);
    assert_int_equal(k, ci_a[0]);
    free(up);
    free(req);
}

/* A phone that sends from 5060 and listens on 5080 (its Contact) gets its
 * requests there, and may answer from there. */
static void test_request_to_contact(void **state)
{
    struct fx *f = *state;
    int ci[1], k;
    struct ua_addr from_contact = f->ua;
    struct sockaddr_storage want;
    const char *m;
    char *r200, *up, sl[256];

    register_as(f, &f->ua, "alice", "<sip:alice@127.0.0.10:5080>", 1, ci);
    edge_req(f, ci[0], "INVITE", "sip:alice@127.0.0.10:5080;ob", "", NULL, "z9hG4bKc1");
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    set_in(&want, "127.0.0.10", 5080);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[f->to_ua.n - 1],
                           (struct sockaddr *)&want));
    r200 = mk_response(m, "200 OK", "Contact: <sip:alice@127.0.0.10:5080>\r\n");
    set_in(&from_contact.src, "127.0.0.10", 5080);
    ua_send_from(f, r200, &from_contact);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci[0]);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    free(up);
    free(r200);
}

/* A Contact outside ua.allow: requests go to the source address. */
static void test_contact_outside_allow(void **state)
{
    struct fx *f = *state;
    int ci[1];

    register_as(f, &f->ua, "alice", "<sip:alice@192.0.2.7:5080>", 1, ci);
    edge_req(f, ci[0], "INVITE", "sip:alice@192.0.2.7:5080;ob", "", NULL, "z9hG4bKc2");
    ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[f->to_ua.n - 1],
                           (struct sockaddr *)&f->ua.src));
}

/* A phone behind another NAT: its REGISTER's Via (10.0.0.5) is not where
 * it came from, so its Contact on another address, though inside
 * ua.allow, is out of reach: requests go to the source address. */
static void test_contact_behind_nat(void **state)
{
    struct fx *f = *state;
    int ci[1];
    char *reg = mk_register_as("alice", "10.0.0.5", "<sip:alice@127.0.0.20:5070>"), *up, *ok,
         c[2048], extra[4096];

    ua_send(f, reg);
    up = edge_wait_msg(&f->edge, &ci[0]);
    hdr_must(up, "Contact", c, sizeof(c));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nContact: %s;expires=3600\r\n", c);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci[0], ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    edge_req(f, ci[0], "INVITE", "sip:alice@127.0.0.20:5070", "", NULL, "z9hG4bKn1");
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    free(ok);
    free(up);
    free(reg);
}

/* A Contact on another host inside ua.allow: requests go there, responses
 * from exactly there are taken, from another host or port not. */
static void test_response_from_contact_host(void **state)
{
    struct fx *f = *state;
    int ci[1], k;
    struct ua_addr from = f->ua;
    struct sockaddr_storage want;
    const char *m;
    char *r180, *up, sl[256];

    register_as(f, &f->ua, "alice", "<sip:alice@127.0.0.20:5070>", 1, ci);
    edge_req(f, ci[0], "INVITE", "sip:alice@127.0.0.20:5070", "", NULL, "z9hG4bKc3");
    m = ua_wait(&f->edge, &f->to_ua, f->to_ua.n + 1);
    set_in(&want, "127.0.0.20", 5070);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[f->to_ua.n - 1],
                           (struct sockaddr *)&want));
    r180 = mk_response(m, "180 Ringing", NULL);
    set_in(&from.src, "127.0.0.99", 5070);
    ua_send_from(f, r180, &from);
    set_in(&from.src, "127.0.0.20", 5071);
    ua_send_from(f, r180, &from);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    set_in(&from.src, "127.0.0.20", 5070);
    ua_send_from(f, r180, &from);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci[0]);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 180 Ringing");
    free(up);
    free(r180);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_route_preloaded_removed),
        T(test_options_to_sipkeep),
        T(test_record_route_both_ways),
        cmocka_unit_test_setup_teardown(test_dialog_flow_token, fx_setup2, fx_teardown),
        T(test_token_refused),
        T(test_token_picks_line),
        T(test_request_to_contact),
        T(test_contact_outside_allow),
        T(test_response_from_contact_host),
        T(test_contact_behind_nat),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("router_dialog", tests, NULL, NULL);
}
