/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_happy_eyeballs.c - a TCP flow to a name with both AAAA and A
 * records (issue 12 item 5, RFC 8305 style, outbound/flow.c with
 * outbound/resolve.c): the fake DNS server (dns_fake.h) answers he.test
 * with ::1 and 127.0.0.1, edges listen on the same port of both, the
 * fake clock times the Connection Attempt Delay.
 * - IPv6 blackholed (its listener's accept queue full: SYNs dropped): the
 *   flow tries [::1] first, nothing goes to 127.0.0.1 until 250 ms, then
 *   the IPv4 attempt connects and the flow is ready over it;
 * - IPv6 answering: the flow is ready over [::1] and IPv4 is never tried;
 * - IPv6 refused: IPv4 is tried at once, without waiting the 250 ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_fake.h"
#include "fake_clock.h"
#include "flow_owner.h"
#include "tmpfiles.h"
#include "core/addr.h"
#include "outbound/flow.h"
#include "outbound/resolve.h"

struct env {
    uint64_t now;
    uint32_t rnd;
    struct loop *l;
    struct dns_fake dns;
    struct resolver *r;
    char conf[64];
    int l4, l6, c4, c6, filler; /* listeners, accepted, the v6 queue filler */
    uint16_t port;
    char uri[64];
    struct cfg_proxy proxy;
    struct owner o; /* the flow, and what it told its owner */
};

/* A listening socket on loopback of family fam at port (0: any). */
static int listen_lo(int fam, uint16_t port, int backlog)
{
    struct sockaddr_storage ss = { .ss_family = (sa_family_t)fam };
    socklen_t sl = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -1;
    }
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

static uint16_t port_of_fd(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    return (uint16_t)addr_port((struct sockaddr *)&ss);
}

/* v6: 0 none (refused), 1 answering, 2 blackholed. */
static struct env *env_new(int v6)
{
    struct env *e = calloc(1, sizeof(*e));
    struct resolver_params rp;
    struct flow_params fp;

    assert_non_null(e);
    e->c4 = e->c6 = e->l6 = e->filler = -1;
    e->l = fake_loop_new(&e->now, 1000000);
    dns_fake_open(&e->dns, e->l);
    snprintf(e->conf, sizeof(e->conf), "/tmp/test_he.%d.conf", (int)getpid());
    spit(e->conf, "nameserver 127.0.0.1\n", strlen("nameserver 127.0.0.1\n"));
    rp = (struct resolver_params){ .loop = e->l, .resolv_conf = e->conf,
                                   .dns_port = e->dns.port, .timeout_ms = 40, .tries = 1 };
    assert_int_equal(resolver_new(&e->r, &rp), 0);
    /* one port free on both loopback addresses */
    for (int i = 0; i < 20; i++) {
        e->l4 = listen_lo(AF_INET, 0, 4);
        e->port = port_of_fd(e->l4);
        e->l6 = listen_lo(AF_INET6, e->port, v6 == 2 ? 0 : 4);
        if (e->l6 >= 0)
            break;
        close(e->l4);
    }
    assert_true(e->l6 >= 0);
    if (v6 == 0) {
        close(e->l6);
        e->l6 = -1;
    } else if (v6 == 2) {
        /* backlog 0 holds one connection not accepted; further SYNs are
         * dropped, as by a blackhole */
        struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(e->port),
                                   .sin6_addr = in6addr_loopback };

        e->filler = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(e->filler, (struct sockaddr *)&to, sizeof(to)), 0);
    }
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "he.test", .type = DNS_AAAA, .ttl = 300,
                                           .addr = "::1" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "he.test", .type = DNS_A, .ttl = 300,
                                           .addr = "127.0.0.1" });
    snprintf(e->uri, sizeof(e->uri), "sip:he.test:%u;transport=tcp", e->port);
    e->proxy = (struct cfg_proxy){ .uri = e->uri, .host = "he.test", .port = e->port,
                                   .port_explicit = true, .transport = CFG_TRANSPORT_TCP };
    fp = (struct flow_params){
        .loop = e->l, .proxy = &e->proxy, .reg_id = 1,
        .recovery = { FLOW_BACKOFF_BASE_ALL_FAILED, FLOW_BACKOFF_BASE_NOT_FAILED,
                      FLOW_BACKOFF_MAX },
        .rng = { fake_rng, &e->rnd }, .cbs = &owner_cbs, .arg = &e->o, .resolver = e->r,
    };
    assert_int_equal(flow_new(&e->o.f, &fp), 0);
    return e;
}

static int teardown(void **state)
{
    struct env *e = *state;
    int fds[] = { e->l4, e->l6, e->c4, e->c6, e->filler };

    flow_free(e->o.f);
    resolver_free(e->r);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    dns_fake_close(&e->dns);
    loop_free(e->l);
    unlink(e->conf);
    free(e);
    return 0;
}

static int setup_blackholed(void **state)
{
    *state = env_new(2);
    return 0;
}

static int setup_answering(void **state)
{
    *state = env_new(1);
    return 0;
}

static int setup_refused(void **state)
{
    *state = env_new(0);
    return 0;
}

/* Loop turns with 1 ms real waits, the fake clock standing still,
 * accepting on both edges; until the flow is ready (or `turns` ran). */
static void pump(struct env *e, int turns)
{
    for (int i = 0; i < turns && e->o.ready == 0 && e->o.downs == 0; i++) {
        int c;

        assert_int_equal(loop_run_once(e->l, 1), 0);
        if (e->c4 < 0 && (c = accept4(e->l4, NULL, NULL, SOCK_NONBLOCK)) >= 0)
            e->c4 = c;
        if (e->l6 >= 0 && e->c6 < 0 && !(e->filler >= 0) &&
            (c = accept4(e->l6, NULL, NULL, SOCK_NONBLOCK)) >= 0)
            e->c6 = c;
    }
}

static int target_family(const struct env *e)
{
    const struct resolve_target *t = flow_target(e->o.f);

    return t ? t->addr.sa.sa_family : AF_UNSPEC;
}

/* Starts the flow and waits (clock still) until its first attempt runs. */
static uint64_t start(struct env *e)
{
    flow_start(e->o.f);
    for (int i = 0; i < 3000 && !flow_target(e->o.f); i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    assert_non_null(flow_target(e->o.f));
    assert_int_equal(flow_state(e->o.f), FLOW_CONNECTING);
    assert_int_equal(target_family(e), AF_INET6); /* IPv6 first */
    return e->now;
}

static void test_v6_blackholed(void **state)
{
    struct env *e = *state;
    uint64_t t0 = start(e);

    e->now = t0 + 249;
    pump(e, 100);
    assert_int_equal(e->o.ready, 0);
    assert_int_equal(e->c4, -1); /* IPv4 not tried before the delay */
    assert_int_equal(flow_state(e->o.f), FLOW_CONNECTING);
    e->now = t0 + 250;
    pump(e, 1000);
    assert_int_equal(e->o.ready, 1);
    assert_int_equal(e->o.downs, 0);
    assert_true(e->c4 >= 0);
    assert_int_equal(flow_state(e->o.f), FLOW_REGISTERING);
    assert_int_equal(target_family(e), AF_INET); /* status shows the winner */
}

static void test_v6_answering(void **state)
{
    struct env *e = *state;
    uint64_t t0 = start(e);

    pump(e, 1000);
    assert_int_equal(e->o.ready, 1);
    assert_true(e->c6 >= 0);
    assert_int_equal(target_family(e), AF_INET6);
    e->now = t0 + 1000; /* past the delay: nothing starts any more */
    for (int i = 0; i < 50; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    assert_int_equal(accept4(e->l4, NULL, NULL, SOCK_NONBLOCK), -1);
    assert_int_equal(e->o.downs, 0);
}

static void test_v6_refused(void **state)
{
    struct env *e = *state;
    uint64_t t0;

    flow_start(e->o.f);
    for (int i = 0; i < 3000 && !flow_target(e->o.f); i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    t0 = e->now;
    pump(e, 1000);
    assert_int_equal(e->o.ready, 1);
    assert_int_equal(e->o.downs, 0);
    assert_true(e->c4 >= 0);
    assert_int_equal(target_family(e), AF_INET);
    assert_int_equal(e->now, t0); /* at once, not after 250 ms */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v6_blackholed, setup_blackholed, teardown),
        cmocka_unit_test_setup_teardown(test_v6_answering, setup_answering, teardown),
        cmocka_unit_test_setup_teardown(test_v6_refused, setup_refused, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
