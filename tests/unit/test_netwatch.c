/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/netwatch: the rtnetlink parser on crafted kernel
 * datagrams (address and route messages, the routes that are no change of
 * path, several messages in one datagram, every malformed length), and the
 * burst debounce on the fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/netwatch.h"
#include "core/netwatch_int.h"
#include "fake_clock.h"

/* ---- crafting datagrams ---- */

struct dgram {
    unsigned char b[4096];
    size_t n;
};

/* Appends an rtattr of type with len bytes of data to d (inside the last
 * message, whose nlmsg_len grows). */
static void put_attr(struct dgram *d, size_t msg_at, unsigned short type, const void *data,
                     size_t len)
{
    struct rtattr ra = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };
    struct nlmsghdr nh;

    memcpy(d->b + d->n, &ra, sizeof(ra));
    memcpy(d->b + d->n + sizeof(ra), data, len);
    d->n += RTA_SPACE(len);
    memcpy(&nh, d->b + msg_at, sizeof(nh));
    nh.nlmsg_len = (uint32_t)(d->n - msg_at);
    memcpy(d->b + msg_at, &nh, sizeof(nh));
}

/* Appends a message of type with body (blen bytes); returns its offset. */
static size_t put_msg(struct dgram *d, unsigned short type, const void *body, size_t blen)
{
    struct nlmsghdr nh = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(blen), .nlmsg_type = type };
    size_t at = d->n;

    memcpy(d->b + d->n, &nh, sizeof(nh));
    memcpy(d->b + d->n + NLMSG_HDRLEN, body, blen);
    d->n += NLMSG_SPACE(blen);
    return at;
}

static void put_addr(struct dgram *d, unsigned short type, const char *ip4)
{
    struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 3 };
    struct in_addr a;
    size_t at = put_msg(d, type, &ifa, sizeof(ifa));

    assert_int_equal(inet_pton(AF_INET, ip4, &a), 1);
    put_attr(d, at, IFA_LOCAL, &a, sizeof(a));
    put_attr(d, at, IFA_ADDRESS, &a, sizeof(a));
}

static void put_route(struct dgram *d, unsigned short type, unsigned char table,
                      unsigned flags, int rta_table)
{
    struct rtmsg rt = { .rtm_family = AF_INET, .rtm_dst_len = 0, .rtm_table = table,
                        .rtm_protocol = RTPROT_BOOT, .rtm_type = RTN_UNICAST,
                        .rtm_flags = flags };
    struct in_addr gw;
    size_t at = put_msg(d, type, &rt, sizeof(rt));

    inet_pton(AF_INET, "198.51.100.254", &gw);
    put_attr(d, at, RTA_GATEWAY, &gw, sizeof(gw));
    if (rta_table >= 0) {
        uint32_t t = (uint32_t)rta_table;
        put_attr(d, at, RTA_TABLE, &t, sizeof(t));
    }
}

static unsigned parse_ok(const struct dgram *d)
{
    unsigned what = 0xdead;

    assert_int_equal(netwatch_parse(d->b, d->n, &what), 0);
    return what;
}

/* ---- the parser ---- */

static void test_parse_addr(void **state)
{
    struct dgram d = { .n = 0 };

    (void)state;
    put_addr(&d, RTM_DELADDR, "198.51.100.1");
    assert_int_equal(parse_ok(&d), NETWATCH_ADDR_GONE);
    d.n = 0;
    put_addr(&d, RTM_NEWADDR, "198.51.100.2");
    assert_int_equal(parse_ok(&d), NETWATCH_ADDR_NEW);
}

static void test_parse_routes(void **state)
{
    struct dgram d = { .n = 0 };

    (void)state;
    put_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, 0, -1);
    assert_int_equal(parse_ok(&d), NETWATCH_ROUTE_NEW);
    d.n = 0;
    put_route(&d, RTM_DELROUTE, RT_TABLE_MAIN, 0, RT_TABLE_MAIN);
    assert_int_equal(parse_ok(&d), NETWATCH_ROUTE_GONE);
    /* a policy-routing table above 255: told by RTA_TABLE, counts */
    d.n = 0;
    put_route(&d, RTM_NEWROUTE, RT_TABLE_COMPAT, 0, 1000);
    assert_int_equal(parse_ok(&d), NETWATCH_ROUTE_NEW);
    /* the kernel's local-table routes of an address and cache clones: no
     * change of path */
    d.n = 0;
    put_route(&d, RTM_NEWROUTE, RT_TABLE_LOCAL, 0, -1);
    put_route(&d, RTM_DELROUTE, RT_TABLE_COMPAT, 0, RT_TABLE_LOCAL);
    put_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, RTM_F_CLONED, -1);
    assert_int_equal(parse_ok(&d), 0);
}

/* A PPPoE-like change in one datagram: old address and route gone, new
 * ones added, with messages that are no change around them. */
static void test_parse_burst_in_one_datagram(void **state)
{
    struct dgram d = { .n = 0 };
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 3 };

    (void)state;
    put_msg(&d, RTM_NEWLINK, &ifi, sizeof(ifi));
    put_addr(&d, RTM_DELADDR, "198.51.100.1");
    put_route(&d, RTM_DELROUTE, RT_TABLE_MAIN, 0, -1);
    put_msg(&d, NLMSG_NOOP, "", 0);
    put_addr(&d, RTM_NEWADDR, "198.51.100.2");
    put_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, 0, -1);
    put_msg(&d, NLMSG_DONE, "\0\0\0\0", 4);
    assert_int_equal(parse_ok(&d), NETWATCH_ADDR_GONE | NETWATCH_ADDR_NEW |
                                       NETWATCH_ROUTE_GONE | NETWATCH_ROUTE_NEW);
    /* nothing but links and control messages: nothing */
    d.n = 0;
    put_msg(&d, RTM_NEWLINK, &ifi, sizeof(ifi));
    put_msg(&d, NLMSG_ERROR, "\0\0\0\0", 4);
    assert_int_equal(parse_ok(&d), 0);
    assert_int_equal(netwatch_parse(d.b, 0, &(unsigned){ 1 }), 0);
}

static void test_parse_malformed(void **state)
{
    struct dgram d = { .n = 0 };
    struct nlmsghdr nh;
    unsigned what;
    struct ifaddrmsg ifa = { .ifa_family = AF_INET };
    struct rtmsg rt = { .rtm_table = RT_TABLE_MAIN };

    (void)state;
    /* nlmsg_len past the datagram */
    put_addr(&d, RTM_DELADDR, "198.51.100.1");
    assert_int_equal(netwatch_parse(d.b, d.n - 1, &what), -EBADMSG);
    /* nlmsg_len below the header */
    memcpy(&nh, d.b, sizeof(nh));
    nh.nlmsg_len = 8;
    memcpy(d.b, &nh, sizeof(nh));
    assert_int_equal(netwatch_parse(d.b, d.n, &what), -EBADMSG);
    /* a body too short for its type */
    d.n = 0;
    put_msg(&d, RTM_NEWADDR, &ifa, sizeof(ifa) - 1);
    assert_int_equal(netwatch_parse(d.b, d.n, &what), -EBADMSG);
    d.n = 0;
    put_msg(&d, RTM_NEWROUTE, &rt, sizeof(rt) - 1);
    assert_int_equal(netwatch_parse(d.b, d.n, &what), -EBADMSG);
    /* a good message then a broken one: what holds the first */
    d.n = 0;
    put_addr(&d, RTM_NEWADDR, "198.51.100.2");
    memset(&nh, 0, sizeof(nh));
    nh.nlmsg_len = 4000;
    nh.nlmsg_type = RTM_DELADDR;
    memcpy(d.b + d.n, &nh, sizeof(nh));
    d.n += sizeof(nh);
    assert_int_equal(netwatch_parse(d.b, d.n, &what), -EBADMSG);
    assert_int_equal(what, NETWATCH_ADDR_NEW);
    /* route attributes with bad lengths end the attribute walk, not the
     * datagram (the route still counts, from rtm_table) */
    d.n = 0;
    {
        size_t at = put_msg(&d, RTM_NEWROUTE, &rt, sizeof(rt));
        struct rtattr ra = { .rta_len = 200, .rta_type = RTA_TABLE };

        memcpy(d.b + d.n, &ra, sizeof(ra));
        d.n += sizeof(ra);
        memcpy(&nh, d.b + at, sizeof(nh));
        nh.nlmsg_len = (uint32_t)(d.n - at);
        memcpy(d.b + at, &nh, sizeof(nh));
    }
    assert_int_equal(parse_ok(&d), NETWATCH_ROUTE_NEW);
    /* a trailing fragment shorter than a header is ignored */
    d.n = 0;
    put_addr(&d, RTM_DELADDR, "198.51.100.1");
    d.n += 7;
    assert_int_equal(parse_ok(&d), NETWATCH_ADDR_GONE);
}

/* ---- the burst ---- */

struct seen {
    int n;
    unsigned what[8];
};

static void on_change(unsigned what, void *arg)
{
    struct seen *s = arg;

    if (s->n < 8)
        s->what[s->n] = what;
    s->n++;
}

static void test_debounce(void **state)
{
    uint64_t now;
    struct loop *l = fake_loop_new(&now, 5000);
    struct netwatch *nw;
    struct seen s = { 0 };
    struct dgram del = { .n = 0 }, add = { .n = 0 }, link = { .n = 0 };
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

    (void)state;
    put_addr(&del, RTM_DELADDR, "198.51.100.1");
    put_addr(&add, RTM_NEWADDR, "198.51.100.2");
    put_msg(&link, RTM_NEWLINK, &ifi, sizeof(ifi));
    assert_int_equal(netwatch_new_unbound(&nw, l, on_change, &s), 0);

    /* no change, no burst */
    netwatch_feed(nw, link.b, link.n);
    assert_int_equal(loop_next_timeout(l), -1);

    /* three messages over 80 ms: one call at 100 ms after the first */
    netwatch_feed(nw, del.b, del.n);
    now += 40;
    netwatch_feed(nw, add.b, add.n);
    now += 40;
    netwatch_feed(nw, del.b, del.n);
    now += NETWATCH_SETTLE_MS - 80 - 1;
    loop_run_timers(l);
    assert_int_equal(s.n, 0);
    now += 1;
    loop_run_timers(l);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.what[0], NETWATCH_ADDR_GONE | NETWATCH_ADDR_NEW);

    /* later: a new burst of its own, with only what it brought */
    now += 5000;
    netwatch_feed(nw, add.b, add.n);
    now += NETWATCH_SETTLE_MS;
    loop_run_timers(l);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.what[1], NETWATCH_ADDR_NEW);

    /* a malformed datagram: anything may have changed */
    netwatch_feed(nw, del.b, del.n - 1);
    now += NETWATCH_SETTLE_MS;
    loop_run_timers(l);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.what[2], NETWATCH_ALL);

    /* freed with a burst pending: nothing fires */
    netwatch_feed(nw, del.b, del.n);
    netwatch_free(nw);
    now += NETWATCH_SETTLE_MS;
    assert_int_equal(loop_run_timers(l), 0);
    assert_int_equal(s.n, 3);
    loop_free(l);
}

/* The real socket opens without privileges and closes cleanly. */
static void test_open_socket(void **state)
{
    uint64_t now;
    struct loop *l = fake_loop_new(&now, 5000);
    struct netwatch *nw = NULL;
    struct seen s = { 0 };

    (void)state;
    assert_int_equal(netwatch_open(&nw, l, on_change, &s), 0);
    assert_non_null(nw);
    netwatch_free(nw);
    netwatch_free(NULL);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_routes),
        cmocka_unit_test(test_parse_burst_in_one_datagram),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_debounce),
        cmocka_unit_test(test_open_socket),
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("netwatch", tests, NULL, NULL);
}
