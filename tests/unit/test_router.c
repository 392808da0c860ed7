/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the router (proxy mode): the ua.allow policy, service
 * selection, UA requests relayed on the UA's flow with a single Via (ours),
 * `Supported: outbound` and `;ob` (RFC 5626 §4.3, §5.1), responses mapped
 * back to the UA's Via stack, CANCEL on the INVITE's branch, requests from
 * the service relayed to the UA and its responses back on the flow,
 * Max-Forwards, malformed datagrams, 430 and the debug traces.  Route,
 * Record-Route and the flow of a dialog are in test_router_dialog.c.
 *
 * The edge proxy is played by the test (fake_edge.h): a listening TCP
 * socket on 127.0.0.1 read without blocking between iterations of the
 * event loop (fake clock; every wait is bounded by an iteration count). */
#include "router_fixture.h"

#define UA_VIA "SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKuainv1;rport"
#define UA_VIA2 "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKinner1"
#define UA_VIA3 "SIP/2.0/UDP 10.0.0.6;received=10.0.0.66;branch=z9hG4bKinner2"

static char *mk_register(const char *domain, unsigned cseq)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@%s>;tag=uatag1\r\n"
                     "To: <sip:alice@%s>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: " UA_CONTACT "\r\n"
                     "Expires: 3600\r\n"
                     "Content-Length: 0\r\n"
                     "\r\n",
                     domain, cseq, domain, domain, cseq);

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

/* Registers the UA through the router; returns the flow's connection. */
static int register_ok(struct fx *f)
{
    char *reg = mk_register("example.net", 1), *up, *ok, contact[2048], extra[4096];
    int ci, nua = f->to_ua.n;

    ua_send(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 20\r\n"
             "Path: <sip:tok@127.0.0.1;lr;ob>\r\nContact: %s;expires=3600\r\n", contact);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(router_bindings(f->r), 1);
    free(ok);
    free(up);
    free(reg);
    return ci;
}

#define SDP "v=0\r\no=- 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\n" \
            "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

/* An INVITE from the UA (a PBX: three Via elements on two lines). */
static char *mk_invite(const char *method, unsigned cseq, const char *maxfwd)
{
    char *out = malloc(4096);
    bool invite = strcmp(method, "INVITE") == 0;
    int n = snprintf(out, 4096,
                     "%s sip:bob@example.net SIP/2.0\r\n"
                     "Via: " UA_VIA "\r\n"
                     "Via: " UA_VIA2 ", " UA_VIA3 "\r\n"
                     "%s%s%s"
                     "From: \"Alice\" <sip:alice@example.net>;tag=a1\r\n"
                     "To: <sip:bob@example.net>\r\n"
                     "Call-ID: call-1@127.0.0.10\r\n"
                     "CSeq: %u %s\r\n"
                     "%s"
                     "Content-Length: %zu\r\n"
                     "\r\n%s",
                     method, maxfwd ? "Max-Forwards: " : "", maxfwd ? maxfwd : "",
                     maxfwd ? "\r\n" : "", cseq, method,
                     invite ? "Contact: <sip:alice@127.0.0.10:5060>\r\n"
                              "Content-Type: application/sdp\r\n" : "",
                     invite ? strlen(SDP) : (size_t)0, invite ? SDP : "");

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

/* ---- 8. ua.allow ---- */

static void test_ua_not_allowed(void **state)
{
    struct fx *f = *state;
    struct ua_addr out = f->ua;
    char *reg = mk_register("example.net", 1), *inv = mk_invite("INVITE", 1, "70");

    set_in(&out.src, "192.168.1.10", 5060);
    ua_send_from(f, reg, &out);
    ua_send_from(f, inv, &out);
    ua_send_from(f, "OPTIONS", &out);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0); /* no flow was opened */
    assert_int_equal(f->to_ua.n, 0);
    assert_int_equal(router_bindings(f->r), 0);

    /* the same REGISTER from inside ua.allow does open a flow */
    ua_send(f, reg);
    assert_true(edge_wait_conns(&f->edge, 1));
    assert_int_equal(router_bindings(f->r), 1);
    free(inv);
    free(reg);
}

/* ---- 9. service selection ---- */

static void test_register_unknown_domain(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register("other.example.org", 1), *tel = mk_register("example.net", 2);
    char sl[256], v[2048], vias[4][256];
    char *ruri = strstr(tel, "sip:example.net");

    ua_send(f, reg);
    ua_wait(&f->edge, &f->to_ua, 1);
    start_line(f->to_ua.msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 404 Not Found");
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[0], (struct sockaddr *)&f->ua.src));
    hdr_must(f->to_ua.msg[0], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 REGISTER");
    hdr_must(f->to_ua.msg[0], "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    assert_int_equal(via_list(f->to_ua.msg[0], vias, 4), 1);
    assert_string_equal(vias[0], "SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg1;rport");
    hdr_must(f->to_ua.msg[0], "To", v, sizeof(v));
    assert_memory_equal(v, "<sip:alice@other.example.org>;tag=", 34);

    /* not a SIP URI at all */
    memcpy(ruri, "tel:+1234567890", 15);
    ua_send(f, tel);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_memory_equal(sl, "SIP/2.0 416 ", 12);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    assert_int_equal(router_bindings(f->r), 0);
    free(tel);
    free(reg);
}

/* A request from an allowed UA that has not registered: 403. */
static void test_unregistered_ua(void **state)
{
    struct fx *f = *state;
    char *inv = mk_invite("INVITE", 1, "70"), sl[256], v[256];

    ua_send(f, inv);
    ua_wait(&f->edge, &f->to_ua, 1);
    start_line(f->to_ua.msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    hdr_must(f->to_ua.msg[0], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    free(inv);
}

/* ---- 10. INVITE from the UA ---- */

static void assert_ua_vias(const char *msg)
{
    char vias[8][256];

    assert_int_equal(via_list(msg, vias, 8), 3);
    assert_string_equal(vias[0], UA_VIA);
    assert_string_equal(vias[1], UA_VIA2);
    assert_string_equal(vias[2], UA_VIA3);
}

static void test_invite_from_ua(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    char *inv = mk_invite("INVITE", 1, "70"), *cancel = mk_invite("CANCEL", 1, "70");
    char *up, *upc, *r180, *r200, *rc200;
    char v[2048], vias[4][256], expect[128], branch[128], cbranch[128], sl[256];
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    struct ua_addr ua2 = f->ua;
    const char *body;

    ua_send(f, inv);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(f->to_ua.n, 1); /* nothing to the UA yet */
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:bob@example.net SIP/2.0");
    /* one Via, ours, from the flow's local address (§5.1) */
    assert_int_equal(via_list(up, vias, 4), 1);
    assert_int_equal(getpeername(f->edge.conns[ci].fd, (struct sockaddr *)&peer, &pl), 0);
    snprintf(expect, sizeof(expect), "SIP/2.0/TCP 127.0.0.1:%u;", ntohs(peer.sin_port));
    assert_memory_equal(vias[0], expect, strlen(expect));
    assert_true(param_of(vias[0], "branch", branch, sizeof(branch)));
    assert_memory_equal(branch, "z9hG4bK", 7);
    assert_null(strstr(up, "z9hG4bKuainv1"));
    assert_null(strstr(up, "z9hG4bKinner"));
    hdr_must(up, "Supported", v, sizeof(v));
    assert_string_equal(v, "outbound");
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@127.0.0.10:5060;ob>");
    hdr_must(up, "Max-Forwards", v, sizeof(v));
    assert_string_equal(v, "69");
    assert_int_equal(hdr_count(up, "Max-Forwards"), 1);
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_int_equal(strtoul(v, NULL, 10), strlen(SDP));
    body = strstr(up, "\r\n\r\n") + 4;
    assert_string_equal(body, SDP);

    /* 180 and 200 come back with the UA's whole Via stack, in order */
    r180 = mk_response(up, "180 Ringing", "Contact: <sip:bob@203.0.113.9>\r\n");
    r200 = mk_response(up, "200 OK", "Contact: <sip:bob@203.0.113.9>\r\n");
    edge_send(&f->edge, ci, r180);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 180 Ringing");
    assert_ua_vias(f->to_ua.msg[1]);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    hdr_must(f->to_ua.msg[1], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_null(strstr(f->to_ua.msg[1], branch));

    /* CANCEL: the same upstream branch as the INVITE (RFC 3261 §9.1,
     * §16.10), even if the UA's address struct carries other padding
     * bytes (the ingress copies a whole sockaddr_storage) */
    memset((char *)&ua2.src + sizeof(struct sockaddr_in), 0x5a,
           sizeof(ua2.src) - sizeof(struct sockaddr_in));
    ua_send_from(f, cancel, &ua2);
    upc = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    start_line(upc, sl, sizeof(sl));
    assert_string_equal(sl, "CANCEL sip:bob@example.net SIP/2.0");
    assert_int_equal(via_list(upc, vias, 4), 1);
    assert_true(param_of(vias[0], "branch", cbranch, sizeof(cbranch)));
    assert_string_equal(cbranch, branch);
    rc200 = mk_response(upc, "200 OK", NULL);
    edge_send(&f->edge, ci, rc200);
    ua_wait(&f->edge, &f->to_ua, 3);
    start_line(f->to_ua.msg[2], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(f->to_ua.msg[2], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 CANCEL");
    assert_ua_vias(f->to_ua.msg[2]);

    edge_send(&f->edge, ci, r200);
    ua_wait(&f->edge, &f->to_ua, 4);
    start_line(f->to_ua.msg[3], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(f->to_ua.msg[3], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_ua_vias(f->to_ua.msg[3]);
    hdr_must(f->to_ua.msg[3], "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:bob@203.0.113.9>");
    free(rc200);
    free(upc);
    free(r200);
    free(r180);
    free(up);
    free(cancel);
    free(inv);
}

/* A request inside a dialog (To tag) gets no ob and, when its Supported
 * (compact form) already lists outbound, no second Supported. */
static void test_in_dialog_request(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    static const char bye[] =
        "BYE sip:bob@203.0.113.9 SIP/2.0\r\n"
        "Via: " UA_VIA "\r\n"
        "From: \"Alice\" <sip:alice@example.net>;tag=a1\r\n"
        "To: <sip:bob@example.net>;tag=b2\r\n"
        "Call-ID: call-1@127.0.0.10\r\n"
        "CSeq: 2 BYE\r\n"
        "k: outbound,path\r\n"
        "Contact: <sip:alice@127.0.0.10:5060>\r\n"
        "\r\n";
    char *up, v[2048];

    ua_send(f, bye);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(hdr_count(up, "Supported"), 0);
    assert_int_equal(hdr_count(up, "k"), 1);
    assert_int_equal(hdr_count(up, "Via"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@127.0.0.10:5060>");
    hdr_must(up, "Max-Forwards", v, sizeof(v)); /* added when absent */
    assert_string_equal(v, "70");
    hdr_must(up, "Content-Length", v, sizeof(v)); /* added for the stream */
    assert_string_equal(v, "0");
    free(up);
}

/* ---- 11. requests from the service ---- */

static void test_flow_invite_to_ua(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    char inv[2048], *r180, *r200, *up, sl[256], v[2048], vias[8][256], br[128];
    const char *m;
    int n;

    snprintf(inv, sizeof(inv),
             "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1\r\n"
             "Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060\r\n"
             "Max-Forwards: 68\r\n"
             "Record-Route: <sip:tok@127.0.0.1;lr>\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-1@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@203.0.113.9>\r\n"
             "Content-Type: application/sdp\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             f->edge.port[0], strlen(SDP), SDP);
    edge_send(&f->edge, ci, inv);
    m = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0");
    n = via_list(m, vias, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(vias[0], "SIP/2.0/UDP 127.0.0.1:5060;", 27);
    assert_true(param_of(vias[0], "branch", br, sizeof(br)));
    assert_memory_equal(br, "z9hG4bKsk", 9);
    snprintf(v, sizeof(v), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1", f->edge.port[0]);
    assert_string_equal(vias[1], v);
    assert_string_equal(vias[2], "SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060");
    hdr_must(m, "Max-Forwards", v, sizeof(v));
    assert_string_equal(v, "67");
    assert_string_equal(strstr(m, "\r\n\r\n") + 4, SDP);

    /* the UA answers: back on the flow without our Via */
    r180 = mk_response(m, "180 Ringing", NULL);
    r200 = mk_response(m, "200 OK", "Contact: <sip:alice@127.0.0.10:5060>\r\n");
    ua_send(f, r180);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 180 Ringing");
    n = via_list(up, vias, 8);
    assert_int_equal(n, 2);
    snprintf(v, sizeof(v), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1", f->edge.port[0]);
    assert_string_equal(vias[0], v);
    assert_string_equal(vias[1], "SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060");
    assert_null(strstr(up, "z9hG4bKsk"));
    free(up);
    ua_send(f, r200);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    assert_int_equal(via_list(up, vias, 8), 2);
    assert_null(strstr(up, "z9hG4bKsk"));
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_string_equal(v, "0");
    free(up);
    free(r200);
    free(r180);
}

/* Another LAN host replaying our branch gets nothing onto the flow. */
static void test_ua_response_from_other_host(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f);
    char inv[2048], *r200;
    struct ua_addr other = f->ua;
    const char *m;

    snprintf(inv, sizeof(inv),
             "OPTIONS sip:alice@127.0.0.10:5060 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge2\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: opt-1@example.net\r\n"
             "CSeq: 1 OPTIONS\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[0]);
    edge_send(&f->edge, ci, inv);
    m = ua_wait(&f->edge, &f->to_ua, 2);
    r200 = mk_response(m, "200 OK", NULL);
    set_in(&other.src, "127.0.0.99", 5060);
    ua_send_from(f, r200, &other);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    /* from the UA itself it goes through */
    ua_send(f, r200);
    free(edge_wait_msg(&f->edge, &ci));
    free(r200);
}

/* A response from the phone whose only Via is ours (e.g. a 487 built on
 * the CANCEL's Vias) was meant for sipkeep (RFC 3261 §16.7 step 3): never
 * relayed Via-less onto the flow, which an edge drops. */
static void test_ua_response_only_our_via(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), k;
    char inv[2048], ours[512], rsp[2048], *up;
    const char *m;

    snprintf(inv, sizeof(inv),
             "OPTIONS sip:alice@127.0.0.10:5060 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge3\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: opt-3@example.net\r\n"
             "CSeq: 1 OPTIONS\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[0]);
    edge_send(&f->edge, ci, inv);
    m = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(hdr_get(m, "Via", 0, ours, sizeof(ours)));
    snprintf(rsp, sizeof(rsp),
             "SIP/2.0 200 OK\r\nVia: %s\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\nTo: <sip:alice@example.net>;tag=a9\r\n"
             "Call-ID: opt-3@example.net\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
             ours);
    ua_send(f, rsp);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_false(f->edge.conns[ci].closed);
    /* the proper answer goes through */
    up = mk_response(m, "200 OK", NULL);
    ua_send(f, up);
    free(up);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci);
    assert_int_equal(hdr_count(up, "Via"), 1);
    free(up);
}

/* The UA's flow is down (the edge closed it; the §4.5 retry waits): 503. */
static void test_no_flow_503(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f);
    char *inv = mk_invite("INVITE", 1, "70"), sl[256], ra[32];

    edge_drop(&f->edge, ci);
    edge_settle(&f->edge);
    ua_send(f, inv);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 503 Service Unavailable");
    assert_ua_vias(f->to_ua.msg[1]);
    /* Every 503 of sipkeep's says when to come back (issue 11). */
    hdr_must(f->to_ua.msg[1], "Retry-After", ra, sizeof(ra));
    assert_true(strspn(ra, "0123456789") == strlen(ra) && atoi(ra) >= 1);
    assert_int_equal(f->edge.nconns, 1);
    free(inv);
}

/* ---- 12. Max-Forwards ---- */

static void test_max_forwards_zero(void **state)
{
    struct fx *f = *state;
    char *inv, *opt, sl[256], v[256], vias[4][256];

    register_ok(f);
    inv = mk_invite("INVITE", 1, "0");
    opt = mk_invite("OPTIONS", 2, " 0 ");
    ua_send(f, inv);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 483 Too Many Hops");
    hdr_must(f->to_ua.msg[1], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_int_equal(via_list(f->to_ua.msg[1], vias, 4), 3);
    ua_send(f, opt);
    ua_wait(&f->edge, &f->to_ua, 3);
    start_line(f->to_ua.msg[2], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 483 Too Many Hops");
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    free(opt);
    free(inv);
}

/* ---- 13. malformed datagrams ---- */

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    char *inv = mk_invite("INVITE", 1, "70"), buf[4096], junk[512];
    size_t ilen = strlen(inv);
    uint32_t seed = 0x12345678u;
    static const char *const bad[] = {
        "hello world",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "INVITE",
        "INVITE sip:bob@example.net SIP/2.0",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 500\r\n\r\nv=0\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\nContent-Length: 4\r\n\r\nabcd",
        "INVITE sip:bob@example.net SIP/2.0\r\nFrom: <sip:alice@example.net>;tag=a\r\n"
        "To: <sip:bob@example.net>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n\r\n",
        "SIP/2.0 999 Nope\r\n\r\n",
        "REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10\r\n\r\n",
    };
    /* parseable, but not to be relayed or answered */
    static const char *const stray[] = {
        /* responses whose top Via is not ours / names a binding or flow
         * that does not exist */
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnot-ours\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s1\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk4000000.0.00\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s2\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk1.7.00\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s3\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s4\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk99999999999999999999999.1.\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s5\r\nCSeq: 1 INVITE\r\n\r\n",
        /* an ACK is never answered, even when refused */
        "ACK sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKack\r\n"
        "Max-Forwards: 0\r\nFrom: <sip:alice@example.net>;tag=a\r\n"
        "To: <sip:bob@example.net>;tag=b\r\n"
        "Call-ID: s6\r\nCSeq: 1 ACK\r\n\r\n",
        /* keep-alives */
        "\r\n\r\n", "\r\n",
    };

    register_ok(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ua_send(f, bad[i]);
    for (size_t i = 0; i < sizeof(stray) / sizeof(stray[0]); i++)
        ua_send(f, stray[i]);
    router_from_ua(f->r, "\0\0\0\0", 4, &f->ua);
    router_from_ua(f->r, "", 0, &f->ua);
    /* truncations of a good INVITE at every length */
    for (size_t n = 0; n < ilen - strlen(SDP) - 2; n++)
        router_from_ua(f->r, inv, n, &f->ua);
    /* bytes no SIP message has */
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)xorshift(&seed);
    for (size_t n = 1; n <= sizeof(junk); n *= 2)
        router_from_ua(f->r, junk, n, &f->ua);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    assert_false(edge_has_msg(&f->edge));
    assert_false(f->edge.conns[0].closed);

    /* mutations of a good INVITE: no crash, no leak (ASan); whatever is
     * relayed or answered must still be well-formed enough to frame */
    for (int k = 0; k < 3000; k++) {
        memcpy(buf, inv, ilen);
        for (int j = 0; j < 1 + (int)(xorshift(&seed) % 4); j++)
            buf[xorshift(&seed) % ilen] = "\r\n:;,<>\" =@\0\x7fZ0"[xorshift(&seed) % 16];
        router_from_ua(f->r, buf, ilen - xorshift(&seed) % 8, &f->ua);
        if (k % 100 == 0) {
            int ci;
            edge_poll(&f->edge);
            while (edge_has_msg(&f->edge))
                free(edge_wait_msg(&f->edge, &ci));
        }
    }
    edge_settle(&f->edge);
    assert_false(f->edge.conns[0].closed);
    /* and the router still works */
    {
        int before = f->to_ua.n;
        char *opt = mk_invite("OPTIONS", 9, "70"), *up, *rsp;
        int ci;
        while (edge_has_msg(&f->edge))
            free(edge_wait_msg(&f->edge, &ci));
        char v[256];
        memcpy(strstr(opt, "z9hG4bKuainv1"), "z9hG4bKuaopt9", 13); /* a fresh branch */
        ua_send(f, opt);
        up = edge_wait_msg(&f->edge, &ci);
        rsp = mk_response(up, "200 OK", NULL);
        edge_send(&f->edge, ci, rsp);
        ua_wait(&f->edge, &f->to_ua, before + 1);
        hdr_must(f->to_ua.msg[before], "CSeq", v, sizeof(v));
        assert_string_equal(v, "9 OPTIONS");
        assert_non_null(strstr(f->to_ua.msg[before], "branch=z9hG4bKuaopt9"));
        free(rsp);
        free(up);
        free(opt);
    }
    free(inv);
}

/* §11.5: 430 Flow Failed is meant for proxies, not endpoints: the UA gets
 * it unchanged, and sipkeep checks its own flow with an immediate ping
 * (whose missing pong then fails the flow), without dropping it at once. */
static bool cond_ping(void *ctx, const void *arg)
{
    const struct fake_edge *e = ctx;

    return strstr(e->conns[*(const int *)arg].buf, "\r\n\r\n") != NULL;
}

static void test_flow_failed_430(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    char *inv = mk_invite("INVITE", 1, "70"), *up, *r430, v[256], sl[256];
    uint64_t t0;

    ua_send(f, inv);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    assert_null(strstr(f->edge.conns[ci].buf, "\r\n\r\n")); /* no ping due yet */
    r430 = mk_response(up, "430 Flow Failed", NULL);
    edge_send(&f->edge, ci, r430);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 430 Flow Failed");
    assert_ua_vias(f->to_ua.msg[1]);
    hdr_must(f->to_ua.msg[1], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    /* the ping goes out without the clock moving */
    assert_true(edge_pump(&f->edge, cond_ping, &f->edge, &ci));
    assert_false(f->edge.conns[ci].closed);
    /* no pong: the flow fails after the pong timeout (10 s, plus the
     * flow's short grace), not at the next regular keep-alive */
    t0 = f->now;
    for (int i = 0; i < 20 && !f->edge.conns[ci].closed; i++) {
        int64_t t = loop_next_timeout(f->loop);
        if (t > 0)
            f->now += (uint64_t)t;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
    }
    assert_true(f->edge.conns[ci].closed);
    assert_true(f->now - t0 < 16000);
    free(r430);
    free(up);
    free(inv);
}

/* At debug level the router traces what it takes in from both sides
 * (sip_from_ua, sip_from_flow), one line each, credentials redacted; at
 * info level it writes no trace. */
static void test_sip_trace_redacted(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), k, nua;
    char *req, *up, *log;
    struct logcap cap;
    static const char auth[] = "Proxy-Authorization: Digest username=\"alice\", "
                               "realm=\"example.net\", response=\"s3cr3tdigest\"\r\n";
    static const char wauth[] = "Authorization: Digest username=\"bob\", "
                                "response=\"t0ps3cr3t\"\r\n";

    req = mk_ua_req("MESSAGE", "sip:bob@203.0.113.9", auth, NULL, 7, "z9hG4bKtr1");
    logcap_start(&cap);
    log_setup(LOG_LVL_DEBUG, LOG_TARGET_STDERR, "test");
    up = ua_relay(f, req, &k);
    nua = f->to_ua.n;
    edge_req(f, ci, "MESSAGE", "sip:alice@127.0.0.10:5060", wauth, NULL, "z9hG4bKtr2");
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    log = logcap_end(&cap);
    assert_int_equal(k, ci);
    assert_non_null(strstr(up, "s3cr3tdigest")); /* relayed as it came */
    if (!strstr(log, "event=sip_from_ua peer=127.0.0.10:5060 len=") ||
        !strstr(log, "event=sip_from_flow peer=") ||
        !strstr(log, "sip=MESSAGE sip:bob@203.0.113.9 SIP/2.0\\r\\n") ||
        !strstr(log, "Proxy-Authorization: <redacted>\\r\\n") ||
        !strstr(log, "Authorization: <redacted>\\r\\n") || strstr(log, "s3cr3t") ||
        strstr(log, "t0ps3cr3t"))
        fail_msg("trace missing or not redacted:\n%s", log);
    free(log);
    free(up);
    free(req);

    /* info level: no trace */
    req = mk_ua_req("MESSAGE", "sip:bob@203.0.113.9", auth, NULL, 8, "z9hG4bKtr3");
    logcap_start(&cap);
    up = ua_relay(f, req, &k);
    log = logcap_end(&cap);
    if (strstr(log, "sip_from_ua"))
        fail_msg("traced at info level:\n%s", log);
    free(log);
    free(up);
    free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_ua_not_allowed),
        T(test_register_unknown_domain),
        T(test_unregistered_ua),
        T(test_invite_from_ua),
        T(test_in_dialog_request),
        T(test_sip_trace_redacted),
        T(test_flow_invite_to_ua),
        T(test_ua_response_from_other_host),
        T(test_ua_response_only_our_via),
        T(test_no_flow_503),
        T(test_max_forwards_zero),
        T(test_malformed),
        T(test_flow_failed_430),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
