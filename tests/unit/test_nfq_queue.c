/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NFQUEUE glue test in a private network namespace (the test process
 * unshares one; skipped without root or iptables): an OUTPUT rule queues
 * UDP to 127.0.0.1:<port>; a SIP datagram is taken (handed to the take
 * callback with its original destination, never delivered), non-SIP is
 * accepted and delivered unchanged; packets with sipkeep's mark bypass
 * the queue; after nfqi_free, --queue-bypass lets SIP through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"
#include "intercept/nfqi.h"

struct seen {
    int taken;
    struct sockaddr_in dst;
    char payload[128];
};

static void on_take(const struct pkt_udp4 *pk, void *arg)
{
    struct seen *s = arg;

    s->taken++;
    s->dst = pk->dst;
    snprintf(s->payload, sizeof(s->payload), "%.*s", (int)pk->len, (const char *)pk->payload);
}

static bool private_netns(void)
{
    struct ifreq ifr;
    int fd;

    if (unshare(CLONE_NEWNET) < 0)
        return false;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
    return true;
}

/* Receives one datagram on fd within 2 s into buf; returns its length or -1. */
static int recv_one(int fd, char *buf, size_t sz)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (poll(&p, 1, 2000) != 1)
        return -1;
    return (int)recv(fd, buf, sz - 1, 0);
}

/* Runs the loop until the take counter moves or 2 s pass (bounded). */
static void pump(struct loop *l, struct seen *s, int want)
{
    for (int i = 0; i < 40 && s->taken < want; i++)
        loop_run_once(l, 50);
}

static void test_queue(void **state)
{
    static const char sip[] = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(5060)};
    struct seen seen = {0};
    struct loop *l = NULL;
    struct nfqi *q = NULL;
    char buf[256];
    int rx, tx, n, mark = 0x5e9;

    (void)state;
    if (access("/usr/sbin/iptables", X_OK) != 0 || !private_netns())
        skip();
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (system("iptables -w -t mangle -A OUTPUT -o lo -p udp --dport 5060 "
               "-m mark ! --mark 0x5e9 -j NFQUEUE --queue-num 3 --queue-bypass") != 0)
        skip(); /* no netfilter support in this kernel/container */
    assert_int_equal(loop_new(&l, NULL), 0);
    assert_int_equal(nfqi_open(&q, l, 3, NULL, on_take, &seen), 0);
    rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(rx, (struct sockaddr *)&dst, sizeof(dst)), 0);

    /* SIP: taken with its original destination, not delivered */
    assert_int_equal(sendto(tx, sip, sizeof(sip) - 1, 0, (struct sockaddr *)&dst,
                            sizeof(dst)), (ssize_t)sizeof(sip) - 1);
    pump(l, &seen, 1);
    assert_int_equal(seen.taken, 1);
    assert_string_equal(seen.payload, sip);
    assert_int_equal(seen.dst.sin_port, htons(5060));
    assert_int_equal(seen.dst.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

    /* non-SIP: accepted, delivered unchanged (the loop gives the verdict) */
    assert_int_equal(sendto(tx, "hello", 5, 0, (struct sockaddr *)&dst, sizeof(dst)), 5);
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 50);
    n = recv_one(rx, buf, sizeof(buf));
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(seen.taken, 1);

    /* marked (sipkeep's own) SIP bypasses the queue */
    assert_int_equal(setsockopt(tx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0);
    assert_int_equal(sendto(tx, sip, sizeof(sip) - 1, 0, (struct sockaddr *)&dst,
                            sizeof(dst)), (ssize_t)sizeof(sip) - 1);
    n = recv_one(rx, buf, sizeof(buf));
    assert_int_equal(n, (int)sizeof(sip) - 1);

    struct nfqi_counts c;
    nfqi_counts(q, &c);
    assert_int_equal(c.taken, 1);
    assert_int_equal(c.accepted, 1);

    /* reader gone: --queue-bypass, SIP flows directly (fail-open) */
    nfqi_free(q);
    mark = 0;
    assert_int_equal(setsockopt(tx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0);
    assert_int_equal(sendto(tx, sip, sizeof(sip) - 1, 0, (struct sockaddr *)&dst,
                            sizeof(dst)), (ssize_t)sizeof(sip) - 1);
    n = recv_one(rx, buf, sizeof(buf));
    assert_int_equal(n, (int)sizeof(sip) - 1);
    close(rx);
    close(tx);
    loop_free(l);
    /* the namespace (and its rule) dies with this process */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
