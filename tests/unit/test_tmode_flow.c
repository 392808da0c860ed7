/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tmode_flow.c - transparent mode's logic (tmode.c) without root:
 * linked against dummy_nfqi.c and dummy_tproxy.c instead of the kernel
 * backends (dummy_intercept.h; Makefile rule of its own).  A packet queued
 * from a phone in ua.allow to an intercepted destination is taken (DROP)
 * and its payload handed to the take callback (the router's place); one
 * from elsewhere, to elsewhere, not SIP or a fragment passes untouched
 * (ACCEPT); the reply goes out from the address the phone sent to, one
 * socket per such address opened at first use and kept; errors of the
 * queue and of the sockets come back to the caller with nothing left
 * open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "dummy_intercept.h"
#include "intercept/pkt_int.h"
#include "intercept/tmode.h"

static const char yaml[] =
    "mode: transparent\n"
    "ua: {allow: [\"192.168.1.0/24\"]}\n"
    "transparent: {queue: 7, mark: 77, manage_firewall: false}\n"
    "services:\n"
    "  - {name: a, domain: a.example, outbound_proxies: [\"sip:203.0.113.5;transport=tcp\"],"
    " intercept: [\"198.51.100.7:5080\"]}\n";

static const char reg[] =
    "REGISTER sip:a.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
    "Content-Length: 0\r\n\r\n";

static const char ok[] = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

struct tf {
    struct cfg *cfg;
    struct loop *loop;
    struct tmode *t;
    bool reply;          /* the take callback answers the phone */
    int reply_rc;        /* what tmode_send returned there */
    int taken;
    struct sockaddr_in src, dst;
    char payload[1024];
    size_t len;
};

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

static bool same(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* The router's place: remembers the packet and, when asked, answers the
 * phone from where it sent to. */
static void on_take(struct tmode *t, const struct pkt_udp4 *pk, void *arg)
{
    struct tf *f = arg;

    assert_ptr_equal(t, f->t);
    assert_true(pk->len < sizeof(f->payload));
    f->taken++;
    f->src = pk->src;
    f->dst = pk->dst;
    memcpy(f->payload, pk->payload, pk->len);
    f->len = pk->len;
    if (f->reply)
        f->reply_rc = tmode_send(t, &pk->dst, &pk->src, ok, sizeof(ok) - 1);
}

/* The kernel queues a datagram from ip:sport to dip:dport. */
static enum pkt_verdict queue_pkt(const char *ip, uint16_t sport, const char *dip,
                                  uint16_t dport, const void *pl, size_t len, bool fragment,
                                  enum pkt_reason *why)
{
    struct sockaddr_in s = sin4(ip, sport), d = sin4(dip, dport);
    uint8_t buf[2048];
    int n = pkt_build_udp4(buf, sizeof(buf), &s, &d, pl, len);

    assert_true(n > 0);
    if (fragment)
        buf[6] |= 0x20; /* more fragments */
    return dummy_nfqi_packet(buf, (size_t)n, why);
}

static int setup(void **state)
{
    struct tf *f = calloc(1, sizeof(*f));
    char err[256] = "";

    assert_non_null(f);
    memset(&dummy_nfqi, 0, sizeof(dummy_nfqi));
    memset(&dummy_tproxy, 0, sizeof(dummy_tproxy));
    if (cfg_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &f->cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    assert_int_equal(loop_new(&f->loop, NULL), 0);
    if (tmode_open(&f->t, f->loop, f->cfg, on_take, f, err, sizeof(err)) != 0)
        fail_msg("tmode_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct tf *f = *state;

    tmode_free(f->t);
    loop_free(f->loop);
    cfg_free(f->cfg);
    free(f);
    return 0;
}

/* The queue is transparent.queue; a REGISTER from the phone to the
 * outbound proxy is taken whole, and the answer leaves from the proxy's
 * address (with the mark) to the phone. */
static void test_take_and_reply(void **state)
{
    struct tf *f = *state;
    struct sockaddr_in proxy = sin4("203.0.113.5", 5060), phone = sin4("192.168.1.10", 5062);
    struct nfqi_counts c;
    enum pkt_reason why;

    assert_int_equal(dummy_nfqi.opens, 1);
    assert_int_equal(dummy_nfqi.queue, 7);
    assert_int_equal(dummy_tproxy.n_socks, 0); /* opened at first use */
    f->reply = true;
    assert_int_equal(queue_pkt("192.168.1.10", 5062, "203.0.113.5", 5060, reg, sizeof(reg) - 1,
                               false, &why), PKT_TAKE);
    assert_int_equal(why, PKT_OK);
    assert_int_equal(f->taken, 1);
    assert_true(same(&f->src, &phone));
    assert_true(same(&f->dst, &proxy));
    assert_int_equal(f->len, sizeof(reg) - 1);
    assert_memory_equal(f->payload, reg, f->len);
    assert_int_equal(f->reply_rc, 0);
    assert_int_equal(dummy_tproxy.n_socks, 1);
    assert_true(same(&dummy_tproxy.socks[0].src, &proxy));
    assert_int_equal(dummy_tproxy.socks[0].mark, 77);
    assert_int_equal(dummy_tproxy.n_sent, 1);
    assert_true(same(&dummy_tproxy.sent[0].src, &proxy));
    assert_true(same(&dummy_tproxy.sent[0].dst, &phone));
    assert_int_equal(dummy_tproxy.sent[0].len, sizeof(ok) - 1);
    assert_memory_equal(dummy_tproxy.sent[0].buf, ok, sizeof(ok) - 1);

    /* the same destination again: the socket is reused */
    assert_int_equal(queue_pkt("192.168.1.11", 5060, "203.0.113.5", 5060, reg, sizeof(reg) - 1,
                               false, NULL), PKT_TAKE);
    assert_int_equal(dummy_tproxy.n_socks, 1);
    assert_int_equal(dummy_tproxy.n_sent, 2);
    assert_true(same(&dummy_tproxy.sent[1].dst, &f->src));

    /* an intercept: entry has a socket of its own */
    assert_int_equal(queue_pkt("192.168.1.10", 5060, "198.51.100.7", 5080, reg, sizeof(reg) - 1,
                               false, NULL), PKT_TAKE);
    assert_int_equal(dummy_tproxy.n_socks, 2);
    assert_true(same(&dummy_tproxy.sent[2].src, &dummy_tproxy.socks[1].src));
    assert_true(same(&dummy_tproxy.socks[1].src, &f->dst));
    nfqi_counts(dummy_nfqi.q, &c);
    assert_int_equal(c.taken, 3);
    assert_int_equal(c.accepted, 0);
}

/* What sipkeep does not want passes, and the router never sees it. */
static void test_pass(void **state)
{
    struct tf *f = *state;
    static const char crlf[] = "\r\n\r\n";
    struct nfqi_counts c;
    enum pkt_reason why;

    /* from outside ua.allow */
    assert_int_equal(queue_pkt("10.0.0.1", 5060, "203.0.113.5", 5060, reg, sizeof(reg) - 1,
                               false, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_UNWANTED);
    /* to the proxy's host at another port, and to another host */
    assert_int_equal(queue_pkt("192.168.1.10", 5060, "203.0.113.5", 5070, reg, sizeof(reg) - 1,
                               false, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_UNWANTED);
    assert_int_equal(queue_pkt("192.168.1.10", 5060, "203.0.113.9", 5060, reg, sizeof(reg) - 1,
                               false, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_UNWANTED);
    /* a keep-alive, a fragment */
    assert_int_equal(queue_pkt("192.168.1.10", 5060, "203.0.113.5", 5060, crlf, 4, false,
                               &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_NOT_SIP);
    assert_int_equal(queue_pkt("192.168.1.10", 5060, "203.0.113.5", 5060, reg, sizeof(reg) - 1,
                               true, &why), PKT_ACCEPT);
    assert_int_equal(why, PKT_FRAGMENT);
    assert_int_equal(f->taken, 0);
    assert_int_equal(dummy_tproxy.n_socks, 0);
    nfqi_counts(dummy_nfqi.q, &c);
    assert_int_equal(c.taken, 0);
    assert_int_equal(c.accepted, 5);
}

/* Replies: only from our destinations; a socket that cannot be opened is
 * tried again at the next reply; a send error comes back. */
static void test_send_errors(void **state)
{
    struct tf *f = *state;
    struct sockaddr_in proxy = sin4("203.0.113.5", 5060), other = sin4("203.0.113.5", 5070);
    struct sockaddr_in phone = sin4("192.168.1.10", 5060);

    assert_int_equal(tmode_send(f->t, &other, &phone, ok, sizeof(ok) - 1), -ENOENT);
    assert_int_equal(dummy_tproxy.n_socks, 0);
    dummy_tproxy.open_rc = -EPERM;
    assert_int_equal(tmode_send(f->t, &proxy, &phone, ok, sizeof(ok) - 1), -EPERM);
    dummy_tproxy.open_rc = 0;
    assert_int_equal(tmode_send(f->t, &proxy, &phone, ok, sizeof(ok) - 1), 0);
    assert_int_equal(dummy_tproxy.n_socks, 1);
    dummy_tproxy.send_rc = -EAGAIN;
    assert_int_equal(tmode_send(f->t, &proxy, &phone, ok, sizeof(ok) - 1), -EAGAIN);
    dummy_tproxy.send_rc = 0;
    assert_int_equal(tmode_send(f->t, &proxy, &phone, ok, sizeof(ok) - 1), 0);
    assert_int_equal(dummy_tproxy.n_socks, 1);
    assert_int_equal(dummy_tproxy.n_sent, 2);
}

/* tmode_free closes the queue and every socket it opened. */
static void test_free_closes(void **state)
{
    struct tf *f = *state;
    struct sockaddr_in proxy = sin4("203.0.113.5", 5060), icpt = sin4("198.51.100.7", 5080);
    struct sockaddr_in phone = sin4("192.168.1.10", 5060);

    assert_int_equal(tmode_send(f->t, &proxy, &phone, ok, sizeof(ok) - 1), 0);
    assert_int_equal(tmode_send(f->t, &icpt, &phone, ok, sizeof(ok) - 1), 0);
    assert_int_equal(dummy_tproxy.n_socks, 2);
    tmode_free(f->t);
    f->t = NULL;
    assert_int_equal(dummy_nfqi.frees, 1);
    assert_null(dummy_nfqi.q);
    for (int i = 0; i < 2; i++)
        assert_int_equal(fcntl(dummy_tproxy.socks[i].fd, F_GETFD), -1);
}

/* The queue cannot be bound: the error comes back named, nothing open. */
static void test_open_busy(void **state)
{
    struct tf *f = *state;
    struct tmode *t = (struct tmode *)f;
    char err[256] = "";

    dummy_nfqi.open_rc = -EBUSY;
    assert_int_equal(tmode_open(&t, f->loop, f->cfg, on_take, f, err, sizeof(err)), -EBUSY);
    assert_ptr_equal(t, (struct tmode *)f);
    assert_non_null(strstr(err, "cannot bind NFQUEUE 7"));
    assert_non_null(strstr(err, "another process owns it"));
    assert_int_equal(dummy_nfqi.opens, 1); /* the fixture's only */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_and_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_busy, setup, teardown),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_tmode_flow");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
