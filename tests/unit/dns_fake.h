/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dns_fake.h - a tiny DNS server on loopback UDP, driven by the test's
 * event loop, answering from records the test lists (wire format built
 * here): A, AAAA, SRV, NAPTR with their TTLs; a name or type not listed
 * gets NOERROR with no answer (the name exists) or NXDOMAIN (it does not);
 * `mode` forces SERVFAIL, NXDOMAIN or no answer at all (dropped) for every
 * query.  For outbound/resolve.c's tests (c-ares pointed at it through
 * resolver_params.dns_port and a resolv.conf naming 127.0.0.1).
 *
 * static inline: compiled into each test that includes it. */
#ifndef SIPKEEP_TESTS_DNS_FAKE_H
#define SIPKEEP_TESTS_DNS_FAKE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"

enum { DNS_A = 1, DNS_AAAA = 28, DNS_SRV = 33, DNS_NAPTR = 35 };
enum dns_fake_mode { DNS_FAKE_ANSWER, DNS_FAKE_SERVFAIL, DNS_FAKE_NXDOMAIN, DNS_FAKE_DROP };

struct dns_rr {
    const char *name;
    unsigned type;
    uint32_t ttl;
    const char *addr;                       /* A, AAAA */
    unsigned prio, weight, port;            /* SRV */
    const char *target;                     /* SRV target, NAPTR replacement */
    unsigned order, pref;                   /* NAPTR */
    const char *flags, *service;            /* NAPTR */
};

#define DNS_FAKE_MAX_RR 32

struct dns_fake {
    struct loop_fd h;
    struct loop *loop;
    uint16_t port;
    enum dns_fake_mode mode;
    struct dns_rr rr[DNS_FAKE_MAX_RR];
    size_t nrr;
    int queries;                            /* received */
    char last_name[256];
    unsigned last_type;
};

static inline size_t dns_put_name(unsigned char *p, const char *name)
{
    size_t o = 0;

    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);

        p[o++] = (unsigned char)n;
        memcpy(p + o, name, n);
        o += n;
        name += n;
        if (*name == '.')
            name++;
    }
    p[o++] = 0;
    return o;
}

static inline size_t dns_put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return 2;
}

static inline size_t dns_put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s);

    p[0] = (unsigned char)n;
    memcpy(p + 1, s, n);
    return n + 1;
}

/* One answer record for rr into p. */
static inline size_t dns_put_rr(unsigned char *p, const struct dns_rr *rr)
{
    size_t o = dns_put_name(p, rr->name), rd;

    o += dns_put16(p + o, rr->type);
    o += dns_put16(p + o, 1);
    o += dns_put16(p + o, rr->ttl >> 16);
    o += dns_put16(p + o, rr->ttl & 0xffff);
    rd = o;
    o += 2;
    switch (rr->type) {
    case DNS_A:
        inet_pton(AF_INET, rr->addr, p + o);
        o += 4;
        break;
    case DNS_AAAA:
        inet_pton(AF_INET6, rr->addr, p + o);
        o += 16;
        break;
    case DNS_SRV:
        o += dns_put16(p + o, rr->prio);
        o += dns_put16(p + o, rr->weight);
        o += dns_put16(p + o, rr->port);
        o += dns_put_name(p + o, rr->target);
        break;
    case DNS_NAPTR:
        o += dns_put16(p + o, rr->order);
        o += dns_put16(p + o, rr->pref);
        o += dns_put_str(p + o, rr->flags);
        o += dns_put_str(p + o, rr->service);
        o += dns_put_str(p + o, "");
        o += dns_put_name(p + o, rr->target);
        break;
    default:
        break;
    }
    dns_put16(p + rd, (unsigned)(o - rd - 2));
    return o;
}

static inline void dns_fake_on_read(struct loop_fd *h, unsigned ev)
{
    struct dns_fake *d = container_of(h, struct dns_fake, h);
    unsigned char q[512], a[4096];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n;
    size_t o = 12, qend, ao;
    char name[256];
    size_t nl = 0;
    unsigned qtype, an = 0, rcode = 0;
    bool exists = false;

    (void)ev;
    n = recvfrom(h->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
    if (n < 17)
        return;
    while (o < (size_t)n && q[o] != 0 && nl < sizeof(name) - 64) {
        size_t l = q[o++];

        if (nl)
            name[nl++] = '.';
        memcpy(name + nl, q + o, l);
        nl += l;
        o += l;
    }
    name[nl] = '\0';
    o++;
    qtype = (unsigned)q[o] << 8 | q[o + 1];
    qend = o + 4;
    d->queries++;
    snprintf(d->last_name, sizeof(d->last_name), "%s", name);
    d->last_type = qtype;
    if (d->mode == DNS_FAKE_DROP)
        return;
    memcpy(a, q, qend);
    ao = qend;
    for (size_t i = 0; i < d->nrr; i++) {
        if (strcasecmp(d->rr[i].name, name) != 0)
            continue;
        exists = true;
        if (d->rr[i].type == qtype) {
            ao += dns_put_rr(a + ao, &d->rr[i]);
            an++;
        }
    }
    /* a name with SRV records under it exists too */
    for (size_t i = 0; i < d->nrr && !exists; i++) {
        size_t rl = strlen(d->rr[i].name), ql = strlen(name);

        exists = rl > ql && strcasecmp(d->rr[i].name + rl - ql, name) == 0 &&
                 d->rr[i].name[rl - ql - 1] == '.';
    }
    if (d->mode == DNS_FAKE_SERVFAIL)
        rcode = 2, an = 0, ao = qend;
    else if (d->mode == DNS_FAKE_NXDOMAIN || !exists)
        rcode = 3, an = 0, ao = qend;
    a[2] = 0x81; /* QR, RD */
    a[3] = (unsigned char)(0x80 | rcode); /* RA */
    dns_put16(a + 4, 1);
    dns_put16(a + 6, an);
    dns_put16(a + 8, 0);
    dns_put16(a + 10, 0);
    sendto(h->fd, a, ao, 0, (struct sockaddr *)&from, fl);
}

/* Opens the server on 127.0.0.1 (a kernel-chosen port) on loop l. */
static inline void dns_fake_open(struct dns_fake *d, struct loop *l)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    memset(d, 0, sizeof(*d));
    d->loop = l;
    assert_true(fd >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    d->port = ntohs(sin.sin_port);
    loop_fd_init(&d->h, dns_fake_on_read);
    assert_int_equal(loop_fd_add(l, &d->h, fd, LOOP_READ), 0);
}

static inline void dns_fake_close(struct dns_fake *d)
{
    int fd = d->h.fd;

    loop_fd_del(d->loop, &d->h);
    close(fd);
}

static inline void dns_fake_add(struct dns_fake *d, struct dns_rr rr)
{
    assert_true(d->nrr < DNS_FAKE_MAX_RR);
    d->rr[d->nrr++] = rr;
}

#endif
