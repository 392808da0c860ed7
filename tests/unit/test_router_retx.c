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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
