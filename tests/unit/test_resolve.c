/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_resolve.c - outbound/resolve.c: RFC 3263 over c-ares on the event
 * loop, against a fake DNS server on loopback (dns_fake.h) and the fake
 * clock: literals, A/AAAA, NAPTR filtering, SRV order and RFC 2782
 * weights with a fixed random source, TTL expiry with a background
 * refresh, the last good answer kept through SERVFAIL, NXDOMAIN and
 * silence, a first failure, resolv.conf reread, cancellation, pruning
 * after a reload, where the k-th flow of a proxy starts and fails back to
 * (services[].flows), and the bounded TTL reader. */
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
#include "tmpfiles.h"
#include "outbound/resolve.h"

struct env {
    uint64_t now;
    struct loop *l;
    struct dns_fake dns;
    struct resolver *r;
    char conf[64];
    uint32_t rnd[8];
    size_t nrnd, irnd;
    struct resolve_req q;
    int done, err;
    char why[256];
};

static uint32_t seq_rng(void *ctx)
{
    struct env *e = ctx;

    return e->nrnd ? e->rnd[e->irnd++ % e->nrnd] : 0;
}

static void write_conf(const char *path, const char *text)
{
    char tmp[80];

    /* renamed into place: a new inode, as editors and resolvconf do */
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    spit(tmp, text, strlen(text));
    assert_int_equal(rename(tmp, path), 0);
}

static void make_resolver(struct env *e)
{
    struct resolver_params p = {
        .loop = e->l, .rng = { seq_rng, e }, .resolv_conf = e->conf,
        .dns_port = e->dns.port, .timeout_ms = 40, .tries = 1,
    };

    assert_int_equal(resolver_new(&e->r, &p), 0);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    e->l = fake_loop_new(&e->now, 1000000);
    dns_fake_open(&e->dns, e->l);
    snprintf(e->conf, sizeof(e->conf), "/tmp/test_resolve.%d.conf", (int)getpid());
    write_conf(e->conf, "nameserver 127.0.0.1\n");
    make_resolver(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    resolver_free(e->r);
    dns_fake_close(&e->dns);
    loop_free(e->l);
    unlink(e->conf);
    free(e);
    return 0;
}

static void on_done(struct resolve_req *q, int err, const char *why)
{
    struct env *e = container_of(q, struct env, q);

    e->done++;
    e->err = err;
    snprintf(e->why, sizeof(e->why), "%s", why);
}

/* Loop turns with 1 ms real waits (c-ares times its own retries in real
 * time; 40 ms per try here) until the waiter was called. */
static void pump(struct env *e)
{
    int want = e->done + 1;

    for (int i = 0; i < 3000 && e->done < want; i++) {
        e->now += 1;
        assert_int_equal(loop_run_once(e->l, 1), 0);
    }
    assert_int_equal(e->done, want);
}

/* Turns the loop until the fake server has seen `n` queries and a little
 * after (a background refresh has no waiter to wait for). */
static void pump_queries(struct env *e, int n)
{
    for (int i = 0; i < 400 && e->dns.queries < n; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(loop_run_once(e->l, 1), 0);
}

static struct cfg_proxy proxy(const char *uri, const char *host, uint16_t port, bool port_explicit,
                              enum cfg_transport tr)
{
    struct cfg_proxy p = { .uri = (char *)uri, .host = (char *)host, .port = port,
                           .port_explicit = port_explicit, .transport = tr };

    p.sips = strncmp(uri, "sips:", 5) == 0;
    if (inet_pton(AF_INET, host, &(struct in_addr){ 0 }) == 1)
        p.host_family = AF_INET;
    return p;
}

static unsigned port_of(const struct resolve_target *t)
{
    return ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
}

static const char *addr_of(const struct resolve_target *t, char *buf)
{
    return inet_ntop(AF_INET, &((const struct sockaddr_in *)&t->addr)->sin_addr, buf, 64);
}

/* get target n: at once (0) or after the resolver answered. */
static int get(struct env *e, const struct cfg_proxy *p, unsigned mask, unsigned *n,
               struct resolve_target *t)
{
    int rc = resolve_get(e->r, p, mask, n, t, &e->q, on_done, e->why, sizeof(e->why));

    if (rc != -EINPROGRESS)
        return rc;
    pump(e); /* asserts one call: none came inside resolve_get */
    if (e->err < 0)
        return e->err;
    return resolve_get(e->r, p, mask, n, t, &e->q, on_done, e->why, sizeof(e->why));
}

static void add_provider(struct dns_fake *d, uint32_t ttl)
{
    dns_fake_add(d, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = ttl,
                                     .order = 10, .pref = 10, .flags = "s",
                                     .service = "SIP+D2T", .target = "_sip._tcp.example.test" });
    dns_fake_add(d, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = ttl,
                                     .order = 20, .pref = 10, .flags = "s",
                                     .service = "SIP+D2U", .target = "_sip._udp.example.test" });
    dns_fake_add(d, (struct dns_rr){ .name = "_sip._tcp.example.test", .type = DNS_SRV,
                                     .ttl = ttl, .prio = 20, .weight = 0, .port = 5060,
                                     .target = "edge2.example.test" });
    dns_fake_add(d, (struct dns_rr){ .name = "_sip._tcp.example.test", .type = DNS_SRV,
                                     .ttl = ttl, .prio = 10, .weight = 0, .port = 5062,
                                     .target = "edge1.example.test" });
    dns_fake_add(d, (struct dns_rr){ .name = "edge1.example.test", .type = DNS_A, .ttl = ttl,
                                     .addr = "192.0.2.1" });
    dns_fake_add(d, (struct dns_rr){ .name = "edge2.example.test", .type = DNS_A, .ttl = ttl,
                                     .addr = "192.0.2.2" });
}

#define MASK_PLAIN (RESOLVE_UDP | RESOLVE_TCP)

static void test_literal(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:192.0.2.7:5070;transport=tcp", "192.0.2.7", 5070, true,
                               CFG_TRANSPORT_TCP);
    struct resolve_target t;
    unsigned n = 3;
    char b[64];

    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.7");
    assert_int_equal(port_of(&t), 5070);
    assert_int_equal(t.transport, CFG_TRANSPORT_TCP);
    assert_string_equal(t.why, "literal");
    assert_int_equal(e->dns.queries, 0);
    /* a TLS proxy without a TLS context is refused, with a reason */
    p.transport = CFG_TRANSPORT_TLS;
    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINVAL);
    assert_non_null(strstr(e->why, "tls"));
}

static void test_name_with_port(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:edge1.example.test:5070;transport=tcp", "edge1.example.test",
                               5070, true, CFG_TRANSPORT_TCP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    add_provider(&e->dns, 300);
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1");
    assert_int_equal(port_of(&t), 5070);
    assert_int_equal(t.transport, CFG_TRANSPORT_TCP);
    assert_non_null(strstr(t.why, "a/aaaa"));
    /* no NAPTR or SRV asked for a name with a port */
    assert_true(e->dns.last_type == DNS_A || e->dns.last_type == DNS_AAAA);
}

/* NAPTR -> SRV (priority order) -> A; only SIP services sipkeep speaks. */
static void test_naptr_srv(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:example.test", "example.test", 5060, false,
                               CFG_TRANSPORT_UDP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    add_provider(&e->dns, 300);
    /* unusable: another service, no "s" flag, a transport not allowed */
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = 300,
                                           .order = 1, .pref = 1, .flags = "s",
                                           .service = "E2U+sip",
                                           .target = "_x._tcp.example.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = 300,
                                           .order = 2, .pref = 1, .flags = "a",
                                           .service = "SIP+D2T",
                                           .target = "_y._tcp.example.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = 300,
                                           .order = 3, .pref = 1, .flags = "s",
                                           .service = "SIPS+D2T",
                                           .target = "_sips._tcp.example.test" });
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(n, 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1");
    assert_int_equal(port_of(&t), 5062);
    assert_int_equal(t.transport, CFG_TRANSPORT_TCP);
    assert_non_null(strstr(t.why, "naptr+srv prio 10"));
    assert_non_null(strstr(t.why, "edge1.example.test"));
    n = 1;
    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.2");
    assert_int_equal(port_of(&t), 5060);
    assert_non_null(strstr(t.why, "prio 20"));
    /* past the end: resolved again, the list starts over */
    n = 2;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(n, 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1");
}

/* sips: takes only SIPS+D2T; the TLS mask is what a TLS flow passes. */
static void test_naptr_sips(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sips:example.test", "example.test", 5061, false,
                               CFG_TRANSPORT_TLS);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    add_provider(&e->dns, 300);
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "example.test", .type = DNS_NAPTR, .ttl = 300,
                                           .order = 30, .pref = 1, .flags = "S",
                                           .service = "SIPS+D2T",
                                           .target = "_sips._tcp.example.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sips._tcp.example.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 5, .port = 5061,
                                           .target = "tls.example.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "tls.example.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.5" });
    assert_int_equal(get(e, &p, RESOLVE_TLS, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.5");
    assert_int_equal(port_of(&t), 5061);
    assert_int_equal(t.transport, CFG_TRANSPORT_TLS);
}

/* No NAPTR: _sip._tcp, then _sip._udp; no SRV at all: the name's A. */
static void test_srv_without_naptr_and_a_fallback(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:plain.test", "plain.test", 5060, false, CFG_TRANSPORT_UDP);
    struct cfg_proxy q = proxy("sip:bare.test", "bare.test", 5060, false, CFG_TRANSPORT_UDP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._udp.plain.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 1, .port = 5080,
                                           .target = "u.plain.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "u.plain.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.8" });
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.8");
    assert_int_equal(port_of(&t), 5080);
    assert_int_equal(t.transport, CFG_TRANSPORT_UDP);
    assert_non_null(strstr(t.why, "srv prio 1"));

    dns_fake_add(&e->dns, (struct dns_rr){ .name = "bare.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.9" });
    n = 0;
    assert_int_equal(get(e, &q, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.9");
    assert_int_equal(port_of(&t), 5060);
    assert_int_equal(t.transport, CFG_TRANSPORT_UDP);
    assert_non_null(strstr(t.why, "no srv"));
}

/* RFC 2782: priorities ascending; within one, the running sum of weights
 * (weight 0 first) against a draw in 0..sum. */
static void test_srv_weights(void **state)
{
    struct env *e = *state;
    const uint16_t prio[] = { 10, 10, 10, 5, 20 };
    const uint16_t weight[] = { 0, 10, 30, 7, 1 };
    size_t idx[5];

    /* draw UINT32_MAX: pick = sum; the last record of the running sum */
    e->rnd[0] = UINT32_MAX;
    e->nrnd = 1;
    resolve_srv_order(prio, weight, 5, &(struct rand_src){ seq_rng, e }, idx);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 1);
    assert_int_equal(idx[3], 0);
    assert_int_equal(idx[4], 4);
    /* draw 0: pick 0, the weight-0 record comes first */
    e->rnd[0] = 0;
    e->irnd = 0;
    resolve_srv_order(prio, weight, 5, &(struct rand_src){ seq_rng, e }, idx);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 0);
    assert_int_equal(idx[2], 1);
    assert_int_equal(idx[3], 2);
    assert_int_equal(idx[4], 4);
    /* a middle draw: pick 40 * 0.3 = 12 of the priority-10 sum 40 > 10:
     * the weight-30 record first, then pick 10*0.3 = 3 -> the weight 10 */
    e->rnd[0] = (uint32_t)(UINT32_MAX * 0.3);
    e->irnd = 0;
    resolve_srv_order(prio, weight, 5, &(struct rand_src){ seq_rng, e }, idx);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 1);
    assert_int_equal(idx[3], 0);
}

/* The weighted order reaches the targets the resolver hands out. */
static void test_srv_weights_in_answer(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:w.test;transport=tcp", "w.test", 5060, false,
                               CFG_TRANSPORT_TCP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._tcp.w.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 1, .weight = 1, .port = 5060,
                                           .target = "a.w.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._tcp.w.test", .type = DNS_SRV,
                                           .ttl = 300, .prio = 1, .weight = 99, .port = 5060,
                                           .target = "b.w.test" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "a.w.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.10" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "b.w.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.11" });
    e->rnd[0] = UINT32_MAX;
    e->nrnd = 1;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.11");
    assert_non_null(strstr(t.why, "weight 99"));
    n = 1;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.10");
}

/* Cached for the TTL; once expired the old answer still serves while a
 * background query brings the new one. */
static void test_ttl_expiry(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:example.test", "example.test", 5060, false,
                               CFG_TRANSPORT_UDP);
    struct resolve_target t;
    unsigned n = 0;
    int q0;
    char b[64];

    add_provider(&e->dns, 60);
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    q0 = e->dns.queries;
    e->now += 59000;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    pump_queries(e, q0 + 1);
    assert_int_equal(e->dns.queries, q0); /* within the TTL: no query */
    e->dns.rr[4].addr = "192.0.2.44"; /* edge1 moves */
    e->now += 2000;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1"); /* the old one, at once */
    pump_queries(e, q0 + 4);
    assert_true(e->dns.queries > q0);
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.44");
    assert_int_equal(e->done, 1); /* the refresh had no waiter */
}

/* DNS failing after a good answer: the last good one is kept. */
static void check_last_good(struct env *e, enum dns_fake_mode mode)
{
    struct cfg_proxy p = proxy("sip:example.test", "example.test", 5060, false,
                               CFG_TRANSPORT_UDP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];
    int q0;

    add_provider(&e->dns, 60);
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    e->dns.mode = mode;
    q0 = e->dns.queries;
    /* the list used up: a fresh answer is asked for, DNS fails, the last
     * good answer comes back */
    n = 2;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(e->err, 0);
    assert_true(e->dns.queries > q0);
    assert_int_equal(n, 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1");
    /* expired, refreshed in the background, failing: still served */
    e->now += 61000;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.1");
    n = 1;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.2");
}

static void test_servfail_keeps_last_good(void **state)
{
    check_last_good(*state, DNS_FAKE_SERVFAIL);
}

static void test_nxdomain_keeps_last_good(void **state)
{
    check_last_good(*state, DNS_FAKE_NXDOMAIN);
}

static void test_timeout_keeps_last_good(void **state)
{
    check_last_good(*state, DNS_FAKE_DROP);
}

/* Nothing good ever: the waiter gets the failure and a reason. */
static void test_first_failure(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:example.test", "example.test", 5060, false,
                               CFG_TRANSPORT_UDP);
    struct resolve_target t;
    unsigned n = 0;

    e->dns.mode = DNS_FAKE_SERVFAIL;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), -EHOSTUNREACH);
    assert_non_null(strstr(e->why, "example.test"));
    e->dns.mode = DNS_FAKE_DROP;
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), -EHOSTUNREACH);
    e->dns.mode = DNS_FAKE_ANSWER; /* no records at all */
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), -EHOSTUNREACH);
    assert_non_null(strstr(e->why, "cannot resolve example.test"));
}

/* resolv.conf followed: a changed file is read before the next query. */
static void test_resolv_conf_reread(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:edge1.example.test:5060;transport=tcp",
                               "edge1.example.test", 5060, true, CFG_TRANSPORT_TCP);
    struct cfg_proxy p2 = proxy("sip:edge2.example.test:5060;transport=tcp",
                                "edge2.example.test", 5060, true, CFG_TRANSPORT_TCP);
    struct resolve_target t;
    unsigned n = 0;
    char b[64];

    add_provider(&e->dns, 300);
    write_conf(e->conf, "nameserver 127.0.0.2\n"); /* nobody answers there */
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), -EHOSTUNREACH);
    assert_int_equal(e->dns.queries, 0);
    write_conf(e->conf, "nameserver 127.0.0.1\n");
    assert_int_equal(get(e, &p2, MASK_PLAIN, &n, &t), 0);
    assert_string_equal(addr_of(&t, b), "192.0.2.2");
    assert_true(e->dns.queries > 0);
}

static int done2;

static void on_done2(struct resolve_req *q, int err, const char *why)
{
    (void)q;
    (void)why;
    assert_int_equal(err, 0);
    done2++;
}

/* A cancelled waiter is never called; freeing with waiters is clean. */
static void test_cancel(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:example.test", "example.test", 5060, false,
                               CFG_TRANSPORT_UDP);
    struct resolve_target t;
    struct resolve_req q2 = { 0 };
    unsigned n = 0, n2 = 0;

    add_provider(&e->dns, 300);
    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n2, &t, &q2, on_done2, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    resolve_cancel(&e->q);
    resolve_cancel(&e->q); /* twice: no-op */
    pump_queries(e, 4);
    assert_int_equal(e->done, 0);
    assert_int_equal(done2, 1); /* the other waiter was called */
    assert_null(q2.e);
    /* a query in flight when the resolver goes */
    e->dns.mode = DNS_FAKE_DROP;
    n = 5;
    assert_int_equal(resolve_get(e->r, &p, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    resolver_free(e->r);
    e->r = NULL;
    make_resolver(e);
    assert_int_equal(e->done, 0);
}

/* The bounded TTL reader over good, truncated and hostile messages. */
static void test_min_ttl(void **state)
{
    unsigned char m[512];
    size_t o, ob;
    uint32_t ttl = 0;
    struct dns_rr a = { .name = "x.test", .type = DNS_SRV, .ttl = 300, .prio = 1, .port = 5060,
                        .target = "y.test" };
    struct dns_rr b = a;

    (void)state;
    memset(m, 0, sizeof(m));
    dns_put16(m + 4, 1);
    dns_put16(m + 6, 2);
    o = 12 + dns_put_name(m + 12, "x.test");
    o += dns_put16(m + o, DNS_SRV);
    o += dns_put16(m + o, 1);
    b.ttl = 42;
    o += dns_put_rr(m + o, &a);
    ob = o;
    o += dns_put_rr(m + o, &b);
    assert_int_equal(resolve_min_ttl(m, o, DNS_SRV, &ttl), 0);
    assert_int_equal(ttl, 42);
    assert_int_equal(resolve_min_ttl(m, o, DNS_NAPTR, &ttl), -ENOENT);
    for (size_t cut = 0; cut < o; cut++)
        assert_int_equal(resolve_min_ttl(m, cut, DNS_SRV, &ttl), -EBADMSG);
    /* an rdlength past the end */
    dns_put16(m + ob + dns_put_name(m + 400, "x.test") + 8, 0xffff);
    assert_int_equal(resolve_min_ttl(m, o, DNS_SRV, &ttl), -EBADMSG);
    /* a compression pointer to itself */
    m[12] = 0xc0;
    m[13] = 12;
    assert_int_equal(resolve_min_ttl(m, o, DNS_SRV, &ttl), -EBADMSG);
    assert_int_equal(resolve_min_ttl(NULL, 0, DNS_SRV, &ttl), -EBADMSG);
}

/* services[].flows: the k-th flow's home is the answer's k-th distinct
 * target (the addresses of one SRV target count once), wrapping; a flow
 * fails back only to its home, and only when the home ranks before where
 * it is. */
static void test_spread_and_better(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p = proxy("sip:sp.test;transport=tcp", "sp.test", 5060, false,
                               CFG_TRANSPORT_TCP);
    struct resolve_target t, cur, b;
    unsigned n = 0;
    char buf[64];
    static const char *const host[] = { "a.sp.test", "b.sp.test", "c.sp.test" };

    for (unsigned i = 0; i < 3; i++)
        dns_fake_add(&e->dns, (struct dns_rr){ .name = "_sip._tcp.sp.test", .type = DNS_SRV,
                                               .ttl = 300, .prio = 10 * (i + 1),
                                               .port = 5060 + i, .target = host[i] });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "a.sp.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.1" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "a.sp.test", .type = DNS_AAAA, .ttl = 300,
                                           .addr = "2001:db8::1" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "b.sp.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.2" });
    dns_fake_add(&e->dns, (struct dns_rr){ .name = "c.sp.test", .type = DNS_A, .ttl = 300,
                                           .addr = "192.0.2.3" });
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 1, &n), -ENOENT); /* nothing yet */
    assert_int_equal(get(e, &p, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(t.rank, 10);
    /* a.sp.test's two addresses are 0 and 1 */
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 1, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 2, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 3, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(resolve_peek(e->r, &p, MASK_PLAIN, 3, &cur), 0);
    assert_string_equal(addr_of(&cur, buf), "192.0.2.3");
    assert_int_equal(cur.rank, 30);
    /* on c: flow 0 goes back to a, flow 1 to its home b */
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &cur, 0, &n, &t), 0);
    assert_int_equal(n, 0);
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &cur, 1, &n, &t), 0);
    assert_int_equal(n, 2);
    assert_string_equal(addr_of(&t, buf), "192.0.2.2");
    /* on a: flow 1 does not move to its (lower-priority) home */
    assert_int_equal(resolve_peek(e->r, &p, MASK_PLAIN, 0, &t), 0);
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &t, 1, &n, &b), -ENOENT);
    /* b failed lately: not a failback target */
    assert_int_equal(resolve_peek(e->r, &p, MASK_PLAIN, 2, &b), 0);
    resolve_mark_failed(e->r, &p, MASK_PLAIN, &b);
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &cur, 1, &n, &t), -ENOENT);
    e->now += RESOLVE_FAILED_S * 1000u + 1;
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &cur, 1, &n, &t), 0);
    assert_int_equal(n, 2);
    /* a literal has no list */
    p = proxy("sip:192.0.2.9;transport=tcp", "192.0.2.9", 5060, false, CFG_TRANSPORT_TCP);
    assert_int_equal(resolve_home(e->r, &p, MASK_PLAIN, 1, &n), -ENOENT);
    assert_int_equal(resolve_better(e->r, &p, MASK_PLAIN, &cur, 0, &n, &t), -ENOENT);
}

/* After a reload, the cache keeps only what the new cfg's proxies use:
 * a dropped proxy's entry is freed (its name asked again if it comes
 * back), a kept one answers from the cache; one still waited on is kept;
 * one whose query runs with nobody waiting goes when the query ends. */
static void test_prune(void **state)
{
    struct env *e = *state;
    struct cfg_proxy p1 = proxy("sip:example.test", "example.test", 5060, false,
                                CFG_TRANSPORT_UDP);
    struct cfg_proxy p2 = proxy("sip:edge2.example.test:5060;transport=tcp",
                                "edge2.example.test", 5060, true, CFG_TRANSPORT_TCP);
    struct cfg_proxy kept[1] = { p1 };
    struct cfg_service svc = { .outbound_proxies = kept, .n_outbound_proxies = 1 };
    struct cfg c = { .services = &svc, .n_services = 1 };
    struct resolve_target t;
    unsigned n = 0;
    int q;

    add_provider(&e->dns, 300);
    assert_int_equal(get(e, &p1, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(get(e, &p2, MASK_PLAIN, &n, &t), 0);
    assert_int_equal(resolve_prune(NULL, &c), 0);
    assert_int_equal(resolve_prune(e->r, &c), 1);
    assert_int_equal(resolve_prune(e->r, &c), 0);
    q = e->dns.queries;
    n = 0;
    assert_int_equal(get(e, &p1, MASK_PLAIN, &n, &t), 0); /* cached */
    assert_int_equal(e->dns.queries, q);
    assert_int_equal(resolve_peek(e->r, &p2, MASK_PLAIN, 0, &t), -ENOENT);
    assert_int_equal(resolve_get(e->r, &p2, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS); /* asked again */
    /* waited on: kept */
    assert_int_equal(resolve_prune(e->r, &c), 0);
    pump(e);
    assert_int_equal(e->err, 0);
    assert_int_equal(resolve_peek(e->r, &p2, MASK_PLAIN, 0, &t), 0);
    /* an empty cfg: p1 and p2 go */
    c.n_services = 0;
    assert_int_equal(resolve_prune(e->r, &c), 2);
    /* running, nobody waiting: freed when its answer comes (ASan: no
     * use after free in the callbacks, no leak) */
    assert_int_equal(resolve_get(e->r, &p2, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    resolve_cancel(&e->q);
    assert_int_equal(resolve_prune(e->r, &c), 0);
    q = e->dns.queries;
    pump_queries(e, q + 1);
    assert_int_equal(resolve_peek(e->r, &p2, MASK_PLAIN, 0, &t), -ENOENT);
    /* ... unless asked for meanwhile: kept */
    assert_int_equal(resolve_get(e->r, &p2, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    resolve_cancel(&e->q);
    assert_int_equal(resolve_prune(e->r, &c), 0);
    assert_int_equal(resolve_get(e->r, &p2, MASK_PLAIN, &n, &t, &e->q, on_done, e->why,
                                 sizeof(e->why)), -EINPROGRESS);
    pump(e);
    assert_int_equal(resolve_peek(e->r, &p2, MASK_PLAIN, 0, &t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_with_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_naptr_srv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_naptr_sips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srv_without_naptr_and_a_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srv_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srv_weights_in_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_servfail_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nxdomain_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolv_conf_reread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spread_and_better, setup, teardown),
        cmocka_unit_test(test_min_ttl),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
