/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the router's retransmission of requests it relays from a
 * reliable flow to a UA over UDP (RFC 3261 §16.6 item 10): the INVITE
 * client transaction's Timer A/B (§17.1.1.2: T1 doubling with no cap, any
 * response stops it, 64*T1), the non-INVITE one's Timer E/F (§17.1.2.2:
 * doubling to T2, T2 after a 1xx, a final response stops it, 64*T1), a
 * CANCEL as a transaction of its own, no retransmission of an ACK nor of
 * a request that came on a UDP flow (the edge retransmits it), and the
 * timers freed with the router (ASan).
 *
 * The edge proxy is played by the test (fake_edge.h); the clock is fake
 * and only moved by the test, so every instant below is exact. */
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define FX_EXTRA_MEMBERS struct router *r; int usock; unsigned uport;
#include "edge_fixture.h"

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "proxy/router.h"
#include "proxy/router_int.h"
#include "state/instid.h"

#define T1 500u
#define T2 4000u

/* ---- fixture ---- */

static void start_router(struct fx *f)
{
    struct router_env env;
    char err[256] = "";

    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    env = (struct router_env){ .loop = f->loop, .cfg = f->cfg, .ids = f->ids,
                               .send_ua = fx_send_ua, .arg = f };
    if (router_new(&f->r, &env, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
}

static int fx_setup(void **state)
{
    struct fx *f = fx_new("test_router_retx", 1, "127.0.0.10", "127.0.0.1");

    f->usock = -1;
    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    start_router(f);
    *state = f;
    return 0;
}

/* The same with the service's outbound proxy a UDP socket of the test. */
static int fx_setup_udp(void **state)
{
    struct fx *f = fx_new("test_router_retx_udp", 1, "127.0.0.10", "127.0.0.1");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    char yaml[1024], err[256];
    int n;

    f->usock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(f->usock >= 0);
    assert_int_equal(bind(f->usock, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(f->usock, (struct sockaddr *)&a, &alen), 0);
    f->uport = ntohs(a.sin_port);
    n = snprintf(yaml, sizeof(yaml),
                 "state_dir: %s\nlog:\n  level: error\n"
                 "ua:\n  allow:\n    - \"127.0.0.0/8\"\n  register_expires: 300\n"
                 "services:\n  - name: svc\n    domain: example.net\n"
                 "    outbound_proxies:\n      - \"sip:127.0.0.1:%u;transport=udp\"\n",
                 f->dir.state, f->uport);
    assert_true((size_t)n < sizeof(yaml));
    if (cfg_load_buffer("t.yaml", yaml, (size_t)n, &f->cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    start_router(f);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    router_free(f->r); /* with transactions still retransmitting: ASan */
    if (f->usock >= 0)
        close(f->usock);
    fx_free(f);
    return 0;
}

/* ---- the clock ---- */

/* Moves the clock to t0 + ms and fires what is due. */
static void at(struct fx *f, uint64_t t0, uint64_t ms)
{
    assert_true(t0 + ms >= f->now);
    f->now = t0 + ms;
    loop_run_timers(f->loop);
}

/* The UA has received n messages in all, the last ones copies of first. */
static void ua_got(struct fx *f, int n, const char *first)
{
    assert_int_equal(f->to_ua.n, n);
    assert_string_equal(f->to_ua.msg[n - 1], first);
}

/* Expects the next send exactly at t0 + ms (none 1 ms before). */
static void next_send_at(struct fx *f, uint64_t t0, uint64_t ms, const char *req)
{
    int n = f->to_ua.n;

    at(f, t0, ms - 1);
    assert_int_equal(f->to_ua.n, n);
    at(f, t0, ms);
    ua_got(f, n + 1, req);
}

/* Nothing more until t0 + ms. */
static void quiet_until(struct fx *f, uint64_t t0, uint64_t ms)
{
    int n = f->to_ua.n;

    for (uint64_t t = f->now - t0 + 250; t <= ms; t += 250)
        at(f, t0, t);
    if (f->to_ua.n != n)
        fail_msg("unexpected to the UA at %llu: %s", (unsigned long long)(f->now - t0),
                 f->to_ua.msg[n]);
}

/* ---- the UA's registration ---- */

#define REGISTER \
    "REGISTER sip:example.net SIP/2.0\r\n" \
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg1;rport\r\n" \
    "Max-Forwards: 70\r\n" \
    "From: <sip:alice@example.net>;tag=uatag1\r\n" \
    "To: <sip:alice@example.net>\r\n" \
    "Call-ID: ua-call-1\r\n" \
    "CSeq: 1 REGISTER\r\n" \
    "Contact: <sip:alice@127.0.0.10:5060>\r\n" \
    "Expires: 3600\r\n" \
    "Content-Length: 0\r\n\r\n"

static char *ok_for(const char *reg)
{
    char contact[2048], extra[4096];

    hdr_must(reg, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 600\r\n"
             "Path: <sip:tok@127.0.0.1;lr;ob>\r\nContact: %s;expires=3600\r\n", contact);
    return mk_response(reg, "200 OK", extra);
}

/* Registers the UA over the TCP edge; returns the flow's connection. */
static int register_tcp(struct fx *f)
{
    char *up, *ok;
    int ci;

    router_from_ua(f->r, REGISTER, strlen(REGISTER), &f->ua);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(f->to_ua.msg[0], "SIP/2.0 200 OK\r\n", 16);
    free(ok);
    free(up);
    return ci;
}

/* ---- requests from the edge ---- */

/* A request from the edge over transport tp ("TCP"/"UDP") from port. */
static void mk_req(char *out, size_t outsz, const char *method, const char *tp, unsigned port,
                   const char *branch, unsigned cseq)
{
    int n = snprintf(out, outsz,
                     "%s sip:alice@127.0.0.10:5060;ob SIP/2.0\r\n"
                     "Via: SIP/2.0/%s 127.0.0.1:%u;branch=%s\r\n"
                     "Max-Forwards: 68\r\n"
                     "From: <sip:bob@example.net>;tag=b1\r\n"
                     "To: <sip:alice@example.net>%s\r\n"
                     "Call-ID: retx-1@example.net\r\n"
                     "CSeq: %u %s\r\n"
                     "%s"
                     "Content-Length: 0\r\n\r\n",
                     method, tp, port, branch,
                     strcmp(method, "INVITE") == 0 || strcmp(method, "CANCEL") == 0 ||
                     strcmp(method, "ACK") == 0 ? "" : ";tag=a1",
                     cseq, method,
                     strcmp(method, "INVITE") == 0 ? "Contact: <sip:bob@203.0.113.9>\r\n" : "");

    assert_true(n > 0 && (size_t)n < outsz);
}

/* The edge sends a request on the TCP flow; returns its copy to the UA
 * (valid until teardown) and the instant it arrived. */
static const char *edge_req(struct fx *f, int ci, const char *method, const char *branch,
                            unsigned cseq, uint64_t *t0)
{
    char req[2048];
    int n = f->to_ua.n;

    mk_req(req, sizeof(req), method, "TCP", f->edge.port[0], branch, cseq);
    edge_send(&f->edge, ci, req);
    *t0 = f->now;
    return ua_wait(&f->edge, &f->to_ua, n + 1);
}

/* The UA answers req with status; the answer goes up the flow. */
static void ua_answer(struct fx *f, const char *req, const char *status)
{
    char *rsp = mk_response(req, status, NULL), *up;
    int ci;

    router_from_ua(f->r, rsp, strlen(rsp), &f->ua);
    up = edge_wait_msg(&f->edge, &ci);
    assert_memory_equal(up, "SIP/2.0 ", 8);
    assert_memory_equal(up + 8, status, 3);
    free(up);
    free(rsp);
}

/* ---- INVITE: Timer A and B (§17.1.1.2) ---- */

static void test_invite_schedule_stops_on_100(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0;
    const char *inv = edge_req(f, ci, "INVITE", "z9hG4bKinv1", 1, &t0);

    next_send_at(f, t0, T1, inv);               /* A = T1 */
    next_send_at(f, t0, T1 + 2 * T1, inv);      /* A = 2*T1 */
    next_send_at(f, t0, 3 * T1 + 4 * T1, inv);  /* A = 4*T1 */
    at(f, t0, 7 * T1 + 100);
    ua_answer(f, inv, "100 Trying");
    quiet_until(f, t0, 70000);
    ua_got(f, 1 + 4, inv);
}

static void test_invite_timer_b(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0, t = 0;
    const char *inv = edge_req(f, ci, "INVITE", "z9hG4bKinv2", 1, &t0);

    /* A doubles with no T2 cap: 500, 1000, 2000, 4000, 8000, 16000 */
    for (uint64_t a = T1; t + a < 64 * T1; a *= 2) {
        t += a;
        next_send_at(f, t0, t, inv);
    }
    assert_int_equal(t, 31500);
    ua_got(f, 1 + 1 + 6, inv);
    /* Timer B at 64*T1: no more, and no 408 anywhere */
    quiet_until(f, t0, 90000);
    edge_settle(&f->edge);
    assert_null(strstr(f->edge.conns[ci].buf, "SIP/2.0 408"));
    /* a late response still goes up and changes nothing */
    ua_answer(f, inv, "180 Ringing");
    quiet_until(f, t0, 95000);
}

/* ---- non-INVITE: Timer E and F (§17.1.2.2) ---- */

static void test_non_invite_schedule_t2_and_1xx(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0;
    const char *req = edge_req(f, ci, "INFO", "z9hG4bKinfo1", 2, &t0);

    next_send_at(f, t0, 500, req);
    next_send_at(f, t0, 1500, req);
    next_send_at(f, t0, 3500, req);
    next_send_at(f, t0, 7500, req);   /* 4000 = T2 */
    next_send_at(f, t0, 11500, req);  /* capped at T2 */
    at(f, t0, 12000);
    ua_answer(f, req, "100 Trying");  /* Proceeding: every T2 from now */
    next_send_at(f, t0, 12000 + T2, req);
    next_send_at(f, t0, 12000 + 2 * T2, req);
    at(f, t0, 21000);
    ua_answer(f, req, "200 OK");      /* final: done */
    quiet_until(f, t0, 70000);
    ua_got(f, 1 + 1 + 7, req);
}

static void test_non_invite_timer_f(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0, t = 0;
    const char *req = edge_req(f, ci, "OPTIONS", "z9hG4bKopt1", 3, &t0);

    for (uint64_t e = T1; t + e < 64 * T1; e = e * 2 > T2 ? T2 : e * 2) {
        t += e;
        next_send_at(f, t0, t, req);
    }
    assert_int_equal(t, 31500);
    ua_got(f, 1 + 1 + 10, req);
    quiet_until(f, t0, 90000);
    edge_settle(&f->edge);
    assert_null(strstr(f->edge.conns[ci].buf, "SIP/2.0 408"));
}

/* A final response at once: never retransmitted. */
static void test_final_stops(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0;
    const char *req = edge_req(f, ci, "BYE", "z9hG4bKbye1", 4, &t0);

    ua_answer(f, req, "200 OK");
    quiet_until(f, t0, 40000);
    ua_got(f, 2, req);
}

/* CANCEL shares the INVITE's branch but is its own transaction: its 200
 * ends only its own retransmissions; the INVITE's 100 ends the INVITE's. */
static void test_cancel_own_transaction(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0, t1;
    const char *inv = edge_req(f, ci, "INVITE", "z9hG4bKinv3", 1, &t0), *cancel;

    ua_answer(f, inv, "100 Trying");
    at(f, t0, 2000);
    assert_int_equal(f->to_ua.n, 2);
    cancel = edge_req(f, ci, "CANCEL", "z9hG4bKinv3", 1, &t1);
    assert_non_null(strstr(cancel, "CANCEL sip:"));
    next_send_at(f, t1, 500, cancel);
    next_send_at(f, t1, 1500, cancel);
    at(f, t1, 1600);
    ua_answer(f, cancel, "200 OK");
    quiet_until(f, t1, 40000);
    ua_got(f, 5, cancel);
}

/* No response comes to an ACK: relayed once, never repeated. */
static void test_ack_not_retransmitted(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0;
    const char *ack = edge_req(f, ci, "ACK", "z9hG4bKack1", 1, &t0);

    assert_non_null(strstr(ack, "ACK sip:"));
    quiet_until(f, t0, 40000);
    ua_got(f, 2, ack);
}

/* Freeing the router with transactions in flight cancels and frees their
 * timers (ASan/LSan would see a leak or a use after free). */
static void test_free_with_retx_in_flight(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f);
    uint64_t t0;
    const char *inv = edge_req(f, ci, "INVITE", "z9hG4bKinv4", 1, &t0);

    edge_req(f, ci, "MESSAGE", "z9hG4bKmsg1", 5, &t0);
    at(f, t0, 500);
    assert_int_equal(f->to_ua.n, 5);
    (void)inv;
    /* teardown frees the router now */
}

/* The UA de-registers while an INVITE to it is being retransmitted: the
 * binding goes, and with it the retransmissions (no send to a UA, or
 * through an ingress, that is no longer there). */
static void test_binding_removal_stops(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    uint64_t t0;
    const char *inv = edge_req(f, ci, "INVITE", "z9hG4bKinv5", 1, &t0);
    char dereg[sizeof(REGISTER) + 8], *p, *up, *ok;

    memcpy(dereg, REGISTER, sizeof(REGISTER));
    p = strstr(dereg, "CSeq: 1");
    p[6] = '2';
    p = strstr(dereg, "Expires: 3600");
    memcpy(p, "Expires: 0\r\n", 12);
    memmove(p + 12, p + 15, strlen(p + 15) + 1);
    router_from_ua(f->r, dereg, strlen(dereg), &f->ua);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_non_null(strstr(up, "CSeq: 2 REGISTER"));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci2, ok);
    ua_wait(&f->edge, &f->to_ua, 3);
    assert_int_equal(router_bindings(f->r), 0);
    quiet_until(f, t0, 40000);
    assert_string_equal(f->to_ua.msg[1], inv);
    free(ok);
    free(up);
}

/* ---- a UDP flow: the edge retransmits, sipkeep does not ---- */

/* Receives one datagram on the test's UDP proxy socket (bounded wait). */
static char *udp_wait(struct fx *f, struct sockaddr_storage *from)
{
    char *buf = malloc(8192);
    socklen_t alen = sizeof(*from);

    assert_non_null(buf);
    for (int i = 0; i < PUMP_MAX; i++) {
        ssize_t n = recvfrom(f->usock, buf, 8191, 0, (struct sockaddr *)from, &alen);
        if (n > 0 && buf[0] != '\r' && buf[0] != '\n' && (unsigned char)buf[0] >= 0x20) {
            buf[n] = '\0';
            return buf;
        }
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
    }
    fail_msg("no datagram at the UDP proxy");
    return NULL;
}

static void test_udp_flow_not_retransmitted(void **state)
{
    struct fx *f = *state;
    struct sockaddr_storage flow;
    char *up, *ok, req[2048];
    uint64_t t0;
    int n;

    router_from_ua(f->r, REGISTER, strlen(REGISTER), &f->ua);
    up = udp_wait(f, &flow);
    assert_memory_equal(up, "REGISTER ", 9);
    ok = ok_for(up);
    assert_true(sendto(f->usock, ok, strlen(ok), 0, (struct sockaddr *)&flow,
                       addr_len((struct sockaddr *)&flow)) > 0);
    ua_wait(&f->edge, &f->to_ua, 1);
    free(ok);
    free(up);
    /* an INVITE and a MESSAGE; both get past Timer B/F before the flow's
     * unanswered STUN keep-alives (39.5 s) take it down */
    t0 = f->now;
    for (int i = 0; i < 2; i++) {
        n = f->to_ua.n;
        mk_req(req, sizeof(req), i ? "MESSAGE" : "INVITE", "UDP", f->uport,
               i ? "z9hG4bKudpmsg" : "z9hG4bKudpinv", 1);
        assert_true(sendto(f->usock, req, strlen(req), 0, (struct sockaddr *)&flow,
                           addr_len((struct sockaddr *)&flow)) > 0);
        ua_wait(&f->edge, &f->to_ua, n + 1);
    }
    quiet_until(f, t0, 34000);
    assert_int_equal(f->to_ua.n, 3);
}


/* ---- INVITE from the UA: Timer C (§16.6 item 11, §16.7, §16.8) ---- */

#define TC 180000u /* Timer C */

#define UA_INVITE \
    "INVITE sip:bob@example.net SIP/2.0\r\n" \
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKphinv1;rport\r\n" \
    "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKinner1\r\n" \
    "Max-Forwards: 70\r\n" \
    "Route: <sip:edge.example.net;lr>\r\n" \
    "From: <sip:alice@example.net>;tag=ph1\r\n" \
    "To: <sip:bob@example.net>\r\n" \
    "Call-ID: phcall-1@127.0.0.10\r\n" \
    "CSeq: 7 INVITE\r\n" \
    "Contact: <sip:alice@127.0.0.10:5060>\r\n" \
    "Content-Length: 0\r\n\r\n"

/* The UA's ACK of a non-2xx final (§17.1.1.3): the INVITE's top Via, the
 * To of the response. */
static void ua_ack(struct fx *f, const char *final)
{
    char to[512], ack[2048];
    int n;

    hdr_must(final, "To", to, sizeof(to));
    n = snprintf(ack, sizeof(ack),
                 "ACK sip:bob@example.net SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKphinv1;rport\r\n"
                 "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKinner1\r\n"
                 "Max-Forwards: 70\r\n"
                 "Route: <sip:edge.example.net;lr>\r\n"
                 "From: <sip:alice@example.net>;tag=ph1\r\n"
                 "To: %s\r\n"
                 "Call-ID: phcall-1@127.0.0.10\r\n"
                 "CSeq: 7 ACK\r\n"
                 "Content-Length: 0\r\n\r\n", to);
    assert_true(n > 0 && (size_t)n < sizeof(ack));
    router_from_ua(f->r, ack, (size_t)n, &f->ua);
}

/* The next request the edge receives other than a REGISTER refresh (which
 * it answers): must start with start ("CANCEL "). */
static char *edge_wait_req(struct fx *f, const char *start, int *ci)
{
    for (;;) {
        char *m = edge_wait_msg(&f->edge, ci), *ok;
        if (strncmp(m, "REGISTER ", 9) != 0) {
            if (strncmp(m, start, strlen(start)) != 0)
                fail_msg("expected %s at the edge, got:\n%s", start, m);
            return m;
        }
        ok = ok_for(m);
        edge_send(&f->edge, *ci, ok);
        free(ok);
        free(m);
    }
}

/* The edge receives no request (REGISTER refreshes aside). */
static void edge_quiet(struct fx *f)
{
    edge_settle(&f->edge);
    for (int i = 0; i < f->edge.nconns; i++) {
        const char *b = f->edge.conns[i].buf;
        for (const char *p = b; (p = strstr(p, " SIP/2.0\r\n")); p++) {
            const char *sol = p;
            while (sol > b && sol[-1] != '\n')
                sol--;
            if (strncmp(sol, "REGISTER ", 9) != 0)
                fail_msg("unexpected at the edge: %.40s", sol);
        }
    }
}

/* The UA sends UA_INVITE; returns it as the edge got it (and *ci). */
static char *ua_invite(struct fx *f, int *ci)
{
    router_from_ua(f->r, UA_INVITE, strlen(UA_INVITE), &f->ua);
    return edge_wait_req(f, "INVITE ", ci);
}

/* The edge answers up with status (extra lines may be NULL); the UA gets
 * it as its n-th message when n > 0, nothing when n == 0. */
static void edge_answer(struct fx *f, int ci, const char *up, const char *status, int n)
{
    char *rsp = mk_response(up, status, NULL);
    int before = f->to_ua.n;

    edge_send(&f->edge, ci, rsp);
    if (n > 0) {
        char sl[128], want[128];
        ua_wait(&f->edge, &f->to_ua, n);
        start_line(f->to_ua.msg[n - 1], sl, sizeof(sl));
        snprintf(want, sizeof(want), "SIP/2.0 %s", status);
        assert_string_equal(sl, want);
    } else {
        edge_settle(&f->edge);
        assert_int_equal(f->to_ua.n, before);
    }
    free(rsp);
}

/* The UA's n-th message is a response to UA_INVITE with its whole Via
 * stack, in order. */
static void assert_ua_rsp(struct fx *f, int n, const char *status_line)
{
    const char *m = f->to_ua.msg[n - 1];
    char sl[128], vias[4][256], v[512];

    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, status_line);
    assert_int_equal(via_list(m, vias, 4), 2);
    assert_string_equal(vias[0], "SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKphinv1;rport");
    assert_string_equal(vias[1], "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKinner1");
    hdr_must(m, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 INVITE");
    hdr_must(m, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "phcall-1@127.0.0.10");
    hdr_must(m, "From", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>;tag=ph1");
    hdr_must(m, "To", v, sizeof(v));
    assert_memory_equal(v, "<sip:bob@example.net>;tag=", 26);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[n - 1],
                           (struct sockaddr *)&f->ua.src));
}

/* Header name of req equals that of up (both absent counts). */
static void same_hdr(const char *req, const char *up, const char *name)
{
    char a[1024], b[1024];
    bool ha = hdr_get(req, name, 0, a, sizeof(a)), hb = hdr_get(up, name, 0, b, sizeof(b));

    assert_int_equal(ha, hb);
    if (ha)
        assert_string_equal(a, b);
}

/* sipkeep's own CANCEL or ACK (§9.1, §17.1.1.3) of the INVITE up. */
static void assert_own_req(const char *req, const char *up, const char *method)
{
    char sl[256], want[256], v[512];

    start_line(req, sl, sizeof(sl));
    snprintf(want, sizeof(want), "%s sip:bob@example.net SIP/2.0", method);
    assert_string_equal(sl, want);
    assert_int_equal(hdr_count(req, "Via"), 1);
    same_hdr(req, up, "Via");       /* our Via, the INVITE's branch */
    same_hdr(req, up, "From");
    same_hdr(req, up, "Call-ID");
    same_hdr(req, up, "Route");
    assert_int_equal(hdr_count(req, "Route"), hdr_count(up, "Route"));
    hdr_must(req, "CSeq", v, sizeof(v));
    snprintf(want, sizeof(want), "7 %s", method);
    assert_string_equal(v, want);
    hdr_must(req, "Max-Forwards", v, sizeof(v));
    assert_string_equal(v, "70");
    hdr_must(req, "Content-Length", v, sizeof(v));
    assert_string_equal(v, "0");
}

/* A call that rings for 200 s still connects: every 180 restarts Timer C.
 * The entry lives 64*T1 after the 200 for its retransmissions, no more. */
static void test_timer_c_restarted_by_180(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2);
    uint64_t t0 = f->now;
    char *ok = mk_response(up, "200 OK", NULL);

    assert_int_equal(ci2, ci);
    edge_answer(f, ci, up, "100 Trying", 2);
    at(f, t0, 1000);
    edge_answer(f, ci, up, "180 Ringing", 3);
    at(f, t0, 170000);
    edge_answer(f, ci, up, "180 Ringing", 4);
    /* without the restart Timer C would fire at 181 s */
    at(f, t0, 200000);
    assert_int_equal(f->to_ua.n, 4);
    edge_quiet(f);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 5);
    assert_ua_rsp(f, 5, "SIP/2.0 200 OK");
    /* no Timer C left: not at 350 s (170 + 180), nothing sent */
    at(f, t0, 200000 + 32000 - 1);
    edge_send(&f->edge, ci, ok); /* a retransmitted 2xx still finds it */
    ua_wait(&f->edge, &f->to_ua, 6);
    at(f, t0, 200000 + 32000);
    edge_send(&f->edge, ci, ok); /* 64*T1 after the final: gone */
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 6);
    at(f, t0, 400000);
    assert_int_equal(f->to_ua.n, 6);
    edge_quiet(f);
    free(ok);
    free(up);
}

/* Timer C fires after a provisional response: a CANCEL upstream on the
 * INVITE's flow, a 408 to the UA; the 200 to that CANCEL and the 487 are
 * sipkeep's (the 487 ACKed by sipkeep), and so is the UA's ACK of the 408. */
static void test_timer_c_cancel_and_408(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2), *cancel, *c200, *ack;
    uint64_t t0 = f->now;
    char v[512];

    edge_answer(f, ci, up, "180 Ringing", 2);
    at(f, t0, TC - 1);
    edge_quiet(f);
    assert_int_equal(f->to_ua.n, 2);
    at(f, t0, TC);
    cancel = edge_wait_req(f, "CANCEL ", &ci2);
    assert_int_equal(ci2, ci);
    assert_own_req(cancel, up, "CANCEL");
    same_hdr(cancel, up, "To"); /* no tag: the INVITE's To (§9.1) */
    ua_wait(&f->edge, &f->to_ua, 3);
    assert_ua_rsp(f, 3, "SIP/2.0 408 Request Timeout");
    /* the answers to our CANCEL and the 487 stay here */
    c200 = mk_response(cancel, "200 OK", NULL);
    edge_send(&f->edge, ci, c200);
    edge_answer(f, ci, up, "487 Request Terminated", 0);
    ack = edge_wait_req(f, "ACK ", &ci2);
    assert_int_equal(ci2, ci);
    assert_own_req(ack, up, "ACK");
    hdr_must(ack, "To", v, sizeof(v));
    assert_string_equal(v, "<sip:bob@example.net>;tag=srvtag1"); /* the 487's */
    /* the UA ACKs our 408: not forwarded */
    ua_ack(f, f->to_ua.msg[2]);
    edge_quiet(f);
    assert_int_equal(f->to_ua.n, 3);
    free(ack);
    free(c200);
    free(cancel);
    free(up);
}

/* Timer C with no provisional response: 408 only (§9.1: no CANCEL yet);
 * a provisional response coming later gets the CANCEL then. */
static void test_timer_c_no_provisional(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2), *cancel;
    uint64_t t0 = f->now;

    at(f, t0, TC - 1);
    assert_int_equal(f->to_ua.n, 1);
    at(f, t0, TC);
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_ua_rsp(f, 2, "SIP/2.0 408 Request Timeout");
    edge_quiet(f);
    at(f, t0, TC + 5000);
    edge_quiet(f);
    edge_answer(f, ci, up, "180 Ringing", 0); /* not relayed */
    cancel = edge_wait_req(f, "CANCEL ", &ci2);
    assert_own_req(cancel, up, "CANCEL");
    free(cancel);
    free(up);
}

/* A 2xx after Timer C still goes to the UA (§16.7 step 5). */
static void test_timer_c_late_2xx_relayed(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2);
    uint64_t t0 = f->now;

    at(f, t0, TC);
    ua_wait(&f->edge, &f->to_ua, 2);
    at(f, t0, TC + 1000);
    edge_answer(f, ci, up, "200 OK", 3);
    assert_ua_rsp(f, 3, "SIP/2.0 200 OK");
    free(up);
}

/* ---- a non-2xx final from a TCP flow: Timer G and H (§17.2.1) ---- */

static void test_timer_g_until_ack(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2), *ack;
    uint64_t t0;
    const char *busy;

    edge_answer(f, ci, up, "100 Trying", 2);
    edge_answer(f, ci, up, "486 Busy Here", 3);
    t0 = f->now;
    busy = f->to_ua.msg[2];
    assert_ua_rsp(f, 3, "SIP/2.0 486 Busy Here");
    next_send_at(f, t0, 500, busy);    /* G = T1 */
    next_send_at(f, t0, 1500, busy);   /* 2*T1 */
    next_send_at(f, t0, 3500, busy);   /* 4*T1 */
    next_send_at(f, t0, 7500, busy);   /* T2 */
    next_send_at(f, t0, 11500, busy);  /* T2 */
    at(f, t0, 12000);
    ua_ack(f, busy);
    /* the ACK goes on upstream (the edge's server transaction) */
    ack = edge_wait_req(f, "ACK ", &ci2);
    assert_int_equal(ci2, ci);
    quiet_until(f, t0, 40000);
    ua_got(f, 3 + 5, busy);
    free(ack);
    free(up);
}

static void test_timer_h(void **state)
{
    struct fx *f = *state;
    int ci = register_tcp(f), ci2;
    char *up = ua_invite(f, &ci2);
    uint64_t t0, t = 0;
    const char *busy;

    edge_answer(f, ci, up, "486 Busy Here", 2);
    t0 = f->now;
    busy = f->to_ua.msg[1];
    for (uint64_t g = T1; t + g < 64 * T1; g = g * 2 > T2 ? T2 : g * 2) {
        t += g;
        next_send_at(f, t0, t, busy);
    }
    assert_int_equal(t, 31500);
    ua_got(f, 2 + 10, busy);
    /* Timer H at 64*T1: no more, and the entry is gone with it */
    quiet_until(f, t0, 60000);
    edge_answer(f, ci, up, "486 Busy Here", 0);
    free(up);
}

/* Over a UDP flow the edge retransmits the 486 itself: each copy is
 * relayed, sipkeep adds none. */
static void test_no_timer_g_udp_flow(void **state)
{
    struct fx *f = *state;
    struct sockaddr_storage flow;
    char *up, *ok, *busy;
    uint64_t t0;

    router_from_ua(f->r, REGISTER, strlen(REGISTER), &f->ua);
    up = udp_wait(f, &flow);
    ok = ok_for(up);
    assert_true(sendto(f->usock, ok, strlen(ok), 0, (struct sockaddr *)&flow,
                       addr_len((struct sockaddr *)&flow)) > 0);
    ua_wait(&f->edge, &f->to_ua, 1);
    free(ok);
    free(up);
    up = NULL;
    router_from_ua(f->r, UA_INVITE, strlen(UA_INVITE), &f->ua);
    do {
        free(up);
        up = udp_wait(f, &flow);
    } while (strncmp(up, "INVITE ", 7) != 0);
    busy = mk_response(up, "486 Busy Here", NULL);
    assert_true(sendto(f->usock, busy, strlen(busy), 0, (struct sockaddr *)&flow,
                       addr_len((struct sockaddr *)&flow)) > 0);
    ua_wait(&f->edge, &f->to_ua, 2);
    t0 = f->now;
    assert_ua_rsp(f, 2, "SIP/2.0 486 Busy Here");
    quiet_until(f, t0, 8000);
    assert_int_equal(f->to_ua.n, 2);
    assert_true(sendto(f->usock, busy, strlen(busy), 0, (struct sockaddr *)&flow,
                       addr_len((struct sockaddr *)&flow)) > 0);
    ua_wait(&f->edge, &f->to_ua, 3);
    assert_string_equal(f->to_ua.msg[2], f->to_ua.msg[1]);
    free(busy);
    free(up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invite_schedule_stops_on_100, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_invite_timer_b, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_non_invite_schedule_t2_and_1xx, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_non_invite_timer_f, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_final_stops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_own_transaction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ack_not_retransmitted, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_free_with_retx_in_flight, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_binding_removal_stops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_udp_flow_not_retransmitted, fx_setup_udp,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_c_restarted_by_180, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_c_cancel_and_408, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_c_no_provisional, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_c_late_2xx_relayed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_g_until_ack, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timer_h, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_timer_g_udp_flow, fx_setup_udp, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
