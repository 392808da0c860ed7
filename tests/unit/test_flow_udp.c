/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for UDP flows (flow.h with a transport=udp proxy, flow_udp.c,
 * dgram.c): against a real UDP socket on the loopback playing the edge
 * proxy, with a fake loop clock and a fixed "random" source.  Covered:
 * REGISTER retransmission (Timer E) and Timer F over UDP, STUN keep-alives
 * only with an indication (RFC 5626 §4.4, §8), OPTIONS otherwise, the
 * rebinding failure and immediate recovery, and that no CRLF keep-alive (or
 * any other non-SIP, non-STUN datagram) ever goes out (§4.4.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/flow.h"
#include "outbound/flow_udp.h"
#include "sip/msg.h"
#include "sip/stun.h"

#include "fake_clock.h"

#define PUMP_ITER 2000

static const char reg_fmt[] = "REGISTER sip:example.net SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKreg%d\r\n"
                              "From: <sip:a@example.net>;tag=1\r\n"
                              "To: <sip:a@example.net>\r\n"
                              "Call-ID: r@x\r\n"
                              "CSeq: %d REGISTER\r\n"
                              "Content-Length: 0\r\n\r\n";

struct fx {
    uint64_t now;
    uint32_t r;
    struct loop *l;
    int srv;                      /* the edge's UDP socket */
    struct sockaddr_storage peer; /* where the flow's last datagram came from */
    struct cfg_proxy proxy;
    char uri[96];
    struct flow_params p;
    struct flow *f;
    int ready, downs, msgs, reg_n;
    char reason[256];
    char last_msg[512];
};

static void send_register(struct fx *t)
{
    char buf[512];
    int n;

    t->reg_n++;
    n = snprintf(buf, sizeof(buf), reg_fmt, t->reg_n, t->reg_n);
    assert_int_equal(flow_send_own(t->f, buf, (size_t)n), 0);
}

static void own_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct fx *t = arg;

    (void)local;
    assert_ptr_equal(f, t->f);
    t->ready++;
    send_register(t);
}

static void own_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    struct fx *t = arg;

    (void)f;
    t->msgs++;
    snprintf(t->last_msg, sizeof(t->last_msg), "%.*s", (int)len, msg);
}

static void own_down(struct flow *f, const char *reason, void *arg)
{
    struct fx *t = arg;

    (void)f;
    t->downs++;
    snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static const struct flow_cbs owner_cbs = { own_ready, own_message, own_down, NULL };

static int setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 2000000);
    t->srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(t->srv >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(t->srv, (struct sockaddr *)&sin, len), 0);
    assert_int_equal(getsockname(t->srv, (struct sockaddr *)&sin, &len), 0);
    snprintf(t->uri, sizeof(t->uri), "sip:127.0.0.1:%u;transport=udp", ntohs(sin.sin_port));
    t->proxy = (struct cfg_proxy){ .uri = t->uri, .host = "127.0.0.1", .host_family = AF_INET,
                                   .port = ntohs(sin.sin_port), .port_explicit = true,
                                   .transport = CFG_TRANSPORT_UDP };
    t->p = (struct flow_params){
        .loop = t->l, .proxy = &t->proxy, .reg_id = 1,
        .keepalive = { CFG_KEEPALIVE_AUTO, 10, CFG_UDP_KA_AUTO },
        .recovery = { 30, 90, 1800 }, .rng = { fake_rng, &t->r }, .cbs = &owner_cbs, .arg = t,
    };
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    flow_free(t->f);
    close(t->srv);
    loop_free(t->l);
    free(t);
    return 0;
}

/* Runs the loop (1 ms real waits) until *counter reaches want. */
static bool pump_until(struct fx *t, const int *counter, int want)
{
    return fake_loop_pump_until(t->l, counter, want, PUMP_ITER);
}

/* A few loop turns (1 ms real waits), e.g. for a send armed at "now". */
static void pump(struct fx *t, int turns)
{
    for (int i = 0; i < turns; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
}

static void clock_to(struct fx *t, uint64_t at)
{
    assert_true(at >= t->now);
    t->now = at;
    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_run_once(t->l, 0), 0);
}

/* The next datagram the flow sent (waiting up to wait_ms), or -1.  Every
 * datagram must be STUN or SIP: never a CRLF keep-alive (§4.4.1). */
static ssize_t srv_recv(struct fx *t, char *buf, size_t cap, int wait_ms)
{
    struct pollfd pfd = { .fd = t->srv, .events = POLLIN };
    socklen_t len = sizeof(t->peer);
    ssize_t n;

    if (poll(&pfd, 1, wait_ms) <= 0)
        return -1;
    n = recvfrom(t->srv, buf, cap, 0, (struct sockaddr *)&t->peer, &len);
    assert_true(n > 0);
    assert_true(stun_is_stun((const uint8_t *)buf, (size_t)n) || isalpha((unsigned char)buf[0]));
    return n;
}

/* srv_recv(), running the loop while nothing has come (bounded). */
static ssize_t srv_wait(struct fx *t, char *buf, size_t cap)
{
    for (int i = 0; i < PUMP_ITER; i++) {
        ssize_t n = srv_recv(t, buf, cap, 0);

        if (n > 0)
            return n;
        assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    return -1;
}

static void srv_send(struct fx *t, const void *buf, size_t n)
{
    assert_int_equal(sendto(t->srv, buf, n, 0, (struct sockaddr *)&t->peer,
                            addr_len((struct sockaddr *)&t->peer)), (ssize_t)n);
}

static void expect_quiet(struct fx *t)
{
    char buf[2048];

    assert_int_equal(srv_recv(t, buf, sizeof(buf), 2), -1);
}

/* Expects a SIP request starting with `method`; returns its length. */
static size_t expect_sip(struct fx *t, const char *method, char *buf, size_t cap)
{
    ssize_t n = srv_wait(t, buf, cap - 1);

    assert_true(n > 0);
    buf[n] = '\0';
    assert_memory_equal(buf, method, strlen(method));
    return (size_t)n;
}

/* Answers request req with `status`, echoing its Via, Call-ID, CSeq. */
static void answer_sip(struct fx *t, const char *req, unsigned status, const char *extra)
{
    struct sipmsg *m = malloc(sizeof(*m));
    char out[1024];
    int n;

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, req, strlen(req), 0), 0);
    n = snprintf(out, sizeof(out), "SIP/2.0 %u X\r\nVia: %.*s\r\nCall-ID: %.*s\r\n"
                 "CSeq: %.*s\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n%s"
                 "Content-Length: 0\r\n\r\n", status,
                 (int)sipmsg_hdr_find(m, SIPMSG_HDR_VIA)->value.n,
                 sipmsg_hdr_find(m, SIPMSG_HDR_VIA)->value.p,
                 (int)sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID)->value.n,
                 sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID)->value.p,
                 (int)sipmsg_hdr_find(m, SIPMSG_HDR_CSEQ)->value.n,
                 sipmsg_hdr_find(m, SIPMSG_HDR_CSEQ)->value.p, extra ? extra : "");
    free(m);
    srv_send(t, out, (size_t)n);
}

/* Expects a STUN Binding request; answers it with 127.0.0.1:port mapped. */
static void stun_exchange(struct fx *t, uint16_t port)
{
    uint8_t req[64], rsp[32] = { 0x01, 0x01, 0x00, 0x0c };
    ssize_t n = srv_wait(t, (char *)req, sizeof(req));
    uint32_t x = INADDR_LOOPBACK ^ STUN_MAGIC_COOKIE;

    assert_int_equal(n, STUN_BINDING_REQ_MAX);
    assert_int_equal(req[0] << 8 | req[1], STUN_BINDING_REQUEST);
    memcpy(rsp + 4, req + 4, 16);
    rsp[21] = 0x20;
    rsp[23] = 8;
    rsp[25] = 1;
    rsp[26] = (uint8_t)((port ^ 0x2112) >> 8);
    rsp[27] = (uint8_t)(port ^ 0x2112);
    rsp[28] = (uint8_t)(x >> 24);
    rsp[29] = (uint8_t)(x >> 16);
    rsp[30] = (uint8_t)(x >> 8);
    rsp[31] = (uint8_t)x;
    srv_send(t, rsp, sizeof(rsp));
}

/* New flow, started, REGISTER received. */
static void start_registering(struct fx *t, char *reg, size_t cap)
{
    assert_int_equal(flow_new(&t->f, &t->p), 0);
    flow_start(t->f);
    assert_true(pump_until(t, &t->ready, 1));
    assert_int_equal(flow_state(t->f), FLOW_REGISTERING);
    expect_sip(t, "REGISTER ", reg, cap);
}

static void pump_working(struct fx *t)
{
    for (int i = 0; i < PUMP_ITER && !flow_working(t->f); i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(flow_working(t->f));
}

/* ---- tests ---- */

/* RFC 3261 §17.1.2.2 over UDP: the REGISTER is resent at 0.5, 1.5, 3.5 s
 * (Timer E doubling), the response reaches the owner and stops it, copies
 * of it are absorbed; a relayed request (flow_send) is sent once. */
static void test_register_retransmitted(void **state)
{
    struct fx *t = *state;
    char reg[1024], again[1024];
    uint64_t t0;

    start_registering(t, reg, sizeof(reg));
    t0 = t->now;
    clock_to(t, t0 + 499);
    expect_quiet(t);
    clock_to(t, t0 + 500);
    expect_sip(t, "REGISTER ", again, sizeof(again));
    assert_string_equal(again, reg);
    clock_to(t, t0 + 1499);
    expect_quiet(t);
    clock_to(t, t0 + 1500);
    expect_sip(t, "REGISTER ", again, sizeof(again));
    clock_to(t, t0 + 3500);
    expect_sip(t, "REGISTER ", again, sizeof(again));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    assert_memory_equal(t->last_msg, "SIP/2.0 200", 11);
    answer_sip(t, reg, 200, NULL); /* the answer to a retransmission: absorbed */
    pump(t, 20);
    assert_int_equal(t->msgs, 1);
    for (uint64_t at = t0 + 4000; at <= t0 + 25000; at += 500) {
        clock_to(t, at);
        expect_quiet(t);
    }
    assert_int_equal(flow_send(t->f, "INFO sip:x SIP/2.0\r\n\r\n", 22), 0);
    expect_sip(t, "INFO ", again, sizeof(again));
    for (uint64_t at = t->now + 500; at <= t0 + 31500; at += 500) {
        clock_to(t, at);
        expect_quiet(t);
    }
    assert_int_equal(t->downs, 0);
}

/* No final response to a REGISTER on an ACTIVE UDP flow: Timer F (32 s)
 * fails the flow; the retry of a working flow is immediate (new socket). */
static void test_register_timer_f_active(void **state)
{
    struct fx *t = *state;
    char reg[1024], buf[1024];
    uint64_t t0;

    start_registering(t, reg, sizeof(reg));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    flow_registered(t->f, false, 0);
    expect_sip(t, "OPTIONS ", buf, sizeof(buf)); /* no indication: OPTIONS */
    answer_sip(t, buf, 200, NULL);
    pump_working(t);
    send_register(t); /* a refresh nobody answers */
    t0 = t->now;
    expect_sip(t, "REGISTER ", buf, sizeof(buf));
    clock_to(t, t0 + 31999);
    assert_int_equal(t->downs, 0);
    clock_to(t, t0 + 32000);
    assert_int_equal(t->downs, 1);
    assert_non_null(strstr(t->reason, "Timer F"));
    assert_true(pump_until(t, &t->ready, 2)); /* row 0: at once */
    while (srv_recv(t, buf, sizeof(buf), 50) > 0) /* stale resends, then the new one */
        ;
}

/* Outbound in force: STUN keep-alives (never CRLF), the first at once; a
 * success makes the flow work and the OPTIONS/CRLF never appear; the next
 * goes out 80-100 % of Flow-Timer later; a changed mapped address (the NAT
 * rebound) fails the flow and a new socket registers at once. */
static void test_stun_keepalive_and_rebinding(void **state)
{
    struct fx *t = *state;
    char reg[1024], buf[1024];
    uint64_t t1;

    t->r = 0; /* intervals at 80 % */
    start_registering(t, reg, sizeof(reg));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    flow_set_stun_hint(t->f, false, 0);
    flow_registered(t->f, true, 20);
    assert_false(flow_working(t->f));
    pump(t, 5); /* the first request goes from the loop */
    stun_exchange(t, 40000);
    pump_working(t);
    t1 = t->now;
    clock_to(t, t1 + 15999);
    expect_quiet(t);
    clock_to(t, t1 + 16000);
    stun_exchange(t, 40000);
    pump(t, 50);
    assert_int_equal(t->downs, 0);
    t1 = t->now;
    clock_to(t, t1 + 16000);
    stun_exchange(t, 40001); /* the NAT rebound */
    assert_true(pump_until(t, &t->downs, 1));
    assert_non_null(strstr(t->reason, "NAT rebound"));
    assert_true(pump_until(t, &t->ready, 2)); /* immediate retry */
    expect_sip(t, "REGISTER ", buf, sizeof(buf));
}

/* keepalive.udp: auto without any indication: OPTIONS (Max-Forwards: 0,
 * Via UDP with rport) to the proxy; its response is consumed (not given
 * to the owner) and counts as the keep-alive response; the next OPTIONS
 * after 24-29 s; a ;ob Path or keepalive.udp: stun selects STUN instead. */
static void test_options_without_indication(void **state)
{
    struct fx *t = *state;
    char reg[1024], buf[1024];
    uint64_t t1;

    t->r = UINT32_MAX; /* intervals at the top: 29 s */
    start_registering(t, reg, sizeof(reg));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    flow_registered(t->f, false, 0);
    expect_sip(t, "OPTIONS ", buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\nMax-Forwards: 0\r\n"));
    assert_non_null(strstr(buf, "Via: SIP/2.0/UDP 127.0.0.1:"));
    assert_non_null(strstr(buf, ";rport;branch=z9hG4bK"));
    answer_sip(t, buf, 483, NULL);
    pump_working(t);
    assert_int_equal(t->msgs, 1); /* the OPTIONS answer stayed inside */
    t1 = t->now;
    clock_to(t, t1 + 28999);
    expect_quiet(t);
    clock_to(t, t1 + 29000);
    expect_sip(t, "OPTIONS ", buf, sizeof(buf));
    clock_to(t, t->now + 500); /* unanswered: Timer E */
    expect_sip(t, "OPTIONS ", buf, sizeof(buf));
    answer_sip(t, buf, 200, NULL);
    pump(t, 50);
    assert_int_equal(t->downs, 0);
    assert_int_equal(t->msgs, 1);
}

/* The other indications: ";ob" on the Path (§8) and the keepalive.udp
 * setting; and keepalive.udp: sip overrides even outbound. */
static void test_indications(void **state)
{
    struct fx *t = *state;
    char reg[1024], buf[1024];
    struct sipmsg *m = malloc(sizeof(*m));
    unsigned keep = 99;
    static const char ok_ob[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1;keep=25\r\n"
                                "Path: <sip:tok@edge;lr;ob>, <sip:reg;lr>\r\nFrom: <sip:a@b>\r\n"
                                "To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n";
    static const char ok_no[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1;keep\r\n"
                                "Path: <sip:reg;lr>, <sip:tok@edge;lr;ob>\r\nFrom: <sip:a@b>\r\n"
                                "To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n";

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, ok_ob, sizeof(ok_ob) - 1, 0), 0);
    assert_true(flow_udp_stun_indicated(m, &keep));
    assert_int_equal(keep, 25);
    assert_int_equal(sipmsg_parse(m, ok_no, sizeof(ok_no) - 1, 0), 0);
    assert_false(flow_udp_stun_indicated(m, &keep)); /* ob not first; bare keep */
    assert_int_equal(keep, 0);
    free(m);

    /* Path ;ob without Require: outbound: STUN. */
    start_registering(t, reg, sizeof(reg));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    flow_set_stun_hint(t->f, true, 0);
    flow_registered(t->f, false, 0);
    pump(t, 5);
    stun_exchange(t, 1234);
    pump_working(t);
    flow_free(t->f);
    t->f = NULL;

    /* keepalive.udp: sip, outbound in force: OPTIONS all the same. */
    t->p.keepalive.udp = CFG_UDP_KA_SIP;
    t->ready = 0;
    start_registering(t, reg, sizeof(reg));
    flow_registered(t->f, true, 20);
    expect_sip(t, "OPTIONS ", buf, sizeof(buf));
    flow_free(t->f);
    t->f = NULL;

    /* keepalive.udp: stun, no indication at all: STUN. */
    t->p.keepalive.udp = CFG_UDP_KA_STUN;
    t->ready = 0;
    start_registering(t, reg, sizeof(reg));
    flow_set_stun_hint(t->f, false, 0);
    flow_registered(t->f, false, 0);
    pump(t, 5);
    stun_exchange(t, 1234);
    pump_working(t);
}

/* flow_ping_now on UDP sends a STUN request (never a CRLF); one already
 * outstanding is not doubled. */
static void test_ping_now_is_stun(void **state)
{
    struct fx *t = *state;
    char reg[1024];
    uint8_t req[64];

    start_registering(t, reg, sizeof(reg));
    answer_sip(t, reg, 200, NULL);
    assert_true(pump_until(t, &t->msgs, 1));
    flow_registered(t->f, true, 20);
    pump(t, 5);
    stun_exchange(t, 5555);
    pump_working(t);
    flow_ping_now(t->f);
    clock_to(t, t->now);
    assert_int_equal(srv_recv(t, (char *)req, sizeof(req), 1000), STUN_BINDING_REQ_MAX);
    flow_ping_now(t->f); /* outstanding: nothing new */
    clock_to(t, t->now);
    expect_quiet(t);
}

/* keepalive.udp: auto by default, stun and sip accepted, anything else
 * refused with its position. */
static void test_config_key(void **state)
{
    static const char head[] = "ua: { allow: [\"10.0.0.0/8\"] }\n"
                               "services:\n"
                               "  - name: s\n"
                               "    domain: example.net\n"
                               "    outbound_proxies: [\"sip:192.0.2.1;transport=udp\"]\n";
    static const struct { const char *ka; int rc; enum cfg_udp_keepalive want; } cases[] = {
        { "", 0, CFG_UDP_KA_AUTO },
        { "    keepalive: { udp: stun }\n", 0, CFG_UDP_KA_STUN },
        { "    keepalive: { udp: sip }\n", 0, CFG_UDP_KA_SIP },
        { "    keepalive: { udp: auto }\n", 0, CFG_UDP_KA_AUTO },
        { "    keepalive: { udp: crlf }\n", -EINVAL, CFG_UDP_KA_AUTO },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[1024], err[256] = "";
        struct cfg *cfg = NULL;
        int n = snprintf(yaml, sizeof(yaml), "%s%s", head, cases[i].ka);

        assert_int_equal(cfg_load_buffer("t", yaml, (size_t)n, &cfg, err, sizeof(err)),
                         cases[i].rc);
        if (cases[i].rc < 0) {
            assert_non_null(strstr(err, "t:6:"));
            assert_non_null(strstr(err, "must be auto, stun or sip (got 'crlf')"));
            continue;
        }
        assert_int_equal(cfg->services[0].keepalive.udp, cases[i].want);
        assert_int_equal(cfg->services[0].outbound_proxies[0].transport, CFG_TRANSPORT_UDP);
        cfg_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_retransmitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_timer_f_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stun_keepalive_and_rebinding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_without_indication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_now_is_stun, setup, teardown),
        cmocka_unit_test(test_config_key),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_flow_udp");
    return cmocka_run_group_tests_name("flow_udp", tests, NULL, NULL);
}
