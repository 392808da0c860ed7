/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resolve.c - RFC 3263 over c-ares on the event loop.  See resolve.h. */
#include "outbound/resolve.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/slice.h"
#include "sip/uri.h"

#define RESOLVE_T_SRV 33u
#define RESOLVE_T_NAPTR 35u
#define RESOLVE_C_IN 1u
#define RESOLVE_MAX_SOCKS 16
#define RESOLVE_MAX_CANDS 8
#define RESOLVE_NAME_MAX 256
#define RESOLVE_TICK_MAX_MS 100u

/* One SRV name to ask, with the transport it stands for. */
struct cand {
    char name[RESOLVE_NAME_MAX];
    enum cfg_transport tr;
    const char *from;              /* "naptr" or "srv" (why) */
};

struct srv_item {
    char host[RESOLVE_NAME_MAX];
    uint16_t port, prio, weight;
};

struct resolve_entry {
    struct resolve_entry *next;
    struct resolver *r;
    char *host;
    uint16_t port;
    bool port_explicit, sips, literal;
    enum cfg_transport tr;         /* the configured (default) transport */
    bool tr_explicit;              /* transport= or sips: */
    unsigned mask;

    struct resolve_target *t;      /* the last good answer */
    size_t n;
    uint64_t failed_until[RESOLVE_MAX_TARGETS]; /* loop ms, per t[i] */
    uint64_t expires;              /* loop ms */
    bool busy;                     /* a resolution runs */
    bool doomed;                   /* pruned while busy: freed when done */
    struct resolve_req *waiters;

    /* the running resolution */
    struct cand cand[RESOLVE_MAX_CANDS];
    size_t ncand, icand;
    struct srv_item srv[RESOLVE_MAX_TARGETS];
    size_t nsrv, isrv;
    struct resolve_target nt[RESOLVE_MAX_TARGETS];
    size_t nn;
    uint32_t ttl;
    char fail[RESOLVE_WHY_MAX];
    bool fail_hard;                /* fail is a real failure of DNS */
};

struct sock_slot {
    struct loop_fd h;
    struct resolver *r;
};

struct resolver {
    struct loop *loop;
    struct rand_src rng;
    struct resolver_params p;
    char *conf_path;
    struct stat conf_st;           /* as last read (st_ino 0: absent) */
    ares_channel ch;
    bool have_ch;
    unsigned inflight;             /* c-ares queries not yet called back */
    bool dying;
    struct loop_timer t;
    struct sock_slot socks[RESOLVE_MAX_SOCKS];
    struct resolve_entry *entries;
};

static void next_step(struct resolve_entry *e);

/* ---- c-ares on the loop ---- */

/* c-ares' timeouts are driven by a fixed tick while queries are pending,
 * not by ares_timeout(): that exchanges a struct timeval, whose layout
 * follows the time_t width the library was built with (32 bits on Debian
 * 12 armhf, 64 in sipkeep's -D_TIME_BITS=64 build), so the answer read
 * back would be garbage there.  ares_process_fd() takes only sockets and
 * checks the timeouts against c-ares' own clock; a query thus times out at
 * most one tick late (tick = timeout/4, at most RESOLVE_TICK_MAX_MS: 100
 * ms on 2 s), and the tick only runs while a query is in flight. */
static uint64_t tick_ms(const struct resolver *r)
{
    unsigned t = (r->p.timeout_ms ? r->p.timeout_ms : 2000u) / 4u;

    return t < 1u ? 1u : t > RESOLVE_TICK_MAX_MS ? RESOLVE_TICK_MAX_MS : t;
}

static void arm_timer(struct resolver *r)
{
    if (!r->have_ch || r->inflight == 0) {
        loop_timer_cancel(r->loop, &r->t);
        return;
    }
    if (loop_timer_armed(&r->t))
        return; /* a socket event must not push the next tick back */
    if (loop_timer_set(r->loop, &r->t, tick_ms(r)) < 0)
        log_error("dns_stuck", "reason=\"no memory for the resolver's timer\"");
}

static void on_timer(struct loop_timer *t)
{
    struct resolver *r = container_of(t, struct resolver, t);

    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    arm_timer(r);
}

static void on_sock(struct loop_fd *h, unsigned ev)
{
    struct sock_slot *s = container_of(h, struct sock_slot, h);
    struct resolver *r = s->r;
    int fd = h->fd;

    ares_process_fd(r->ch, (ev & (LOOP_READ | LOOP_ERROR)) ? fd : ARES_SOCKET_BAD,
                    (ev & LOOP_WRITE) ? fd : ARES_SOCKET_BAD);
    arm_timer(r);
}

/* c-ares says which of its sockets to watch (ARES_OPT_SOCK_STATE_CB). */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    unsigned ev = (readable ? LOOP_READ : 0u) | (writable ? LOOP_WRITE : 0u);
    struct sock_slot *free_slot = NULL;

    for (size_t i = 0; i < RESOLVE_MAX_SOCKS; i++) {
        struct sock_slot *s = &r->socks[i];

        if (s->h.fd == fd) {
            if (!ev)
                loop_fd_del(r->loop, &s->h);
            else if (loop_fd_mod(r->loop, &s->h, ev) < 0)
                log_error("dns_socket", "fd=%d reason=\"cannot watch\"", fd);
            return;
        }
        if (s->h.fd < 0 && !free_slot)
            free_slot = s;
    }
    if (!ev)
        return;
    /* c-ares opens a socket per server and protocol: 16 is plenty; a query
     * on a socket not watched times out (c-ares' own timer) */
    if (!free_slot || loop_fd_add(r->loop, &free_slot->h, fd, ev) < 0)
        log_error("dns_socket", "fd=%d reason=\"cannot watch\"", fd);
}

static int channel_open(struct resolver *r)
{
    struct ares_options o = { 0 };
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
               ARES_OPT_RESOLVCONF;
    int st;

    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = r;
    o.timeout = (int)(r->p.timeout_ms ? r->p.timeout_ms : 2000u);
    o.tries = (int)(r->p.tries ? r->p.tries : 2u);
    o.resolvconf_path = r->conf_path;
    if (r->p.dns_port) {
        o.udp_port = r->p.dns_port;
        o.tcp_port = r->p.dns_port;
        mask |= ARES_OPT_UDP_PORT | ARES_OPT_TCP_PORT;
    }
    if (stat(r->conf_path, &r->conf_st) < 0)
        memset(&r->conf_st, 0, sizeof(r->conf_st));
    st = ares_init_options(&r->ch, &o, mask);
    if (st != ARES_SUCCESS) {
        log_error("dns_init", "resolv_conf=%s reason=\"%s\"", r->conf_path, ares_strerror(st));
        return st == ARES_ENOMEM ? -ENOMEM : -EIO;
    }
    r->have_ch = true;
    return 0;
}

/* resolv.conf followed (a router's uplink changes it): re-made between
 * queries when the file changed.  c-ares 1.18 has no ares_reinit. */
static void follow_conf(struct resolver *r)
{
    struct stat st;

    if (stat(r->conf_path, &st) < 0)
        memset(&st, 0, sizeof(st));
    if (st.st_ino == r->conf_st.st_ino && st.st_size == r->conf_st.st_size &&
        st.st_mtim.tv_sec == r->conf_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == r->conf_st.st_mtim.tv_nsec)
        return;
    if (r->inflight > 0)
        return; /* next time: destroying the channel would cancel them */
    ares_destroy(r->ch);
    r->have_ch = false;
    loop_timer_cancel(r->loop, &r->t);
    if (channel_open(r) == 0)
        log_info("dns_reload", "resolv_conf=%s", r->conf_path);
}

int resolver_new(struct resolver **out, const struct resolver_params *p)
{
    struct resolver *r;
    int err;

    if (!out || !p || !p->loop)
        return -EINVAL;
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
        return -EIO;
    r = calloc(1, sizeof(*r));
    if (!r) {
        ares_library_cleanup();
        return -ENOMEM;
    }
    r->loop = p->loop;
    r->p = *p;
    r->rng = p->rng;
    r->conf_path = strdup(p->resolv_conf ? p->resolv_conf : "/etc/resolv.conf");
    r->p.resolv_conf = NULL;
    loop_timer_init(&r->t, on_timer);
    for (size_t i = 0; i < RESOLVE_MAX_SOCKS; i++) {
        loop_fd_init(&r->socks[i].h, on_sock);
        r->socks[i].r = r;
    }
    err = r->conf_path ? channel_open(r) : -ENOMEM;
    if (err < 0) {
        free(r->conf_path);
        free(r);
        ares_library_cleanup();
        return err;
    }
    *out = r;
    return 0;
}

void resolver_free(struct resolver *r)
{
    struct resolve_entry *e, *next;

    if (!r)
        return;
    r->dying = true;
    for (e = r->entries; e; e = e->next)
        while (e->waiters)
            resolve_cancel(e->waiters);
    if (r->have_ch)
        ares_destroy(r->ch); /* callbacks see ARES_EDESTRUCTION and r->dying */
    loop_timer_cancel(r->loop, &r->t);
    for (size_t i = 0; i < RESOLVE_MAX_SOCKS; i++)
        loop_fd_del(r->loop, &r->socks[i].h);
    for (e = r->entries; e; e = next) {
        next = e->next;
        free(e->host);
        free(e->t);
        free(e);
    }
    free(r->conf_path);
    free(r);
    ares_library_cleanup();
}

/* ---- bounded reading of TTLs (c-ares' SRV/NAPTR parsers drop them) ---- */

static int skip_name(const unsigned char *abuf, size_t alen, size_t *off)
{
    char *name = NULL;
    long enclen = 0;

    if (*off >= alen ||
        ares_expand_name(abuf + *off, abuf, (int)alen, &name, &enclen) != ARES_SUCCESS)
        return -EBADMSG;
    ares_free_string(name);
    if (enclen <= 0 || (size_t)enclen > alen - *off)
        return -EBADMSG;
    *off += (size_t)enclen;
    return 0;
}

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

int resolve_min_ttl(const unsigned char *abuf, size_t alen, unsigned type, uint32_t *ttl)
{
    size_t off = 12, qd, an;
    bool found = false;
    uint32_t min = UINT32_MAX;

    if (!abuf || alen < 12 || alen > 65535)
        return -EBADMSG;
    qd = rd16(abuf + 4);
    an = rd16(abuf + 6);
    for (size_t i = 0; i < qd; i++) {
        if (skip_name(abuf, alen, &off) < 0 || alen - off < 4)
            return -EBADMSG;
        off += 4;
    }
    for (size_t i = 0; i < an; i++) {
        uint32_t v;
        size_t rdlen;

        if (skip_name(abuf, alen, &off) < 0 || alen - off < 10)
            return -EBADMSG;
        v = (uint32_t)abuf[off + 4] << 24 | (uint32_t)abuf[off + 5] << 16 |
            (uint32_t)abuf[off + 6] << 8 | abuf[off + 7];
        rdlen = rd16(abuf + off + 8);
        if (rd16(abuf + off) == type) {
            found = true;
            /* RFC 2181 §8: a TTL with the top bit set is read as 0 */
            if (v & 0x80000000u)
                v = 0;
            if (v < min)
                min = v;
        }
        off += 10;
        if (rdlen > alen - off)
            return -EBADMSG;
        off += rdlen;
    }
    if (!found)
        return -ENOENT;
    *ttl = min;
    return 0;
}

/* ---- RFC 2782 ordering ---- */

void resolve_srv_order(const uint16_t *prio, const uint16_t *weight, size_t n,
                       const struct rand_src *rng, size_t *idx)
{
    bool used[RESOLVE_MAX_TARGETS] = { false };
    size_t k = 0;

    if (n > RESOLVE_MAX_TARGETS)
        n = RESOLVE_MAX_TARGETS;
    while (k < n) {
        unsigned lowest = UINT16_MAX + 1u;
        uint64_t sum = 0, pick, run = 0;
        size_t chosen = n;

        for (size_t i = 0; i < n; i++)
            if (!used[i] && prio[i] < lowest)
                lowest = prio[i];
        for (size_t i = 0; i < n; i++)
            if (!used[i] && prio[i] == lowest)
                sum += weight[i];
        /* "a random number between 0 and the sum ... (inclusive)"; the
         * running sum walks weight-0 records first (§ "Usage rules") */
        pick = rand_uniform(0, sum, rand_draw(rng));
        for (int pass = 0; pass < 2 && chosen == n; pass++)
            for (size_t i = 0; i < n; i++) {
                if (used[i] || prio[i] != lowest || (pass == 0) != (weight[i] == 0))
                    continue;
                run += weight[i];
                if (run >= pick) {
                    chosen = i;
                    break;
                }
            }
        if (chosen == n) /* cannot happen: the last record reaches sum */
            for (size_t i = 0; i < n && chosen == n; i++)
                if (!used[i] && prio[i] == lowest)
                    chosen = i;
        used[chosen] = true;
        idx[k++] = chosen;
    }
}

/* ---- one resolution ---- */

static unsigned tr_bit(enum cfg_transport tr)
{
    return tr == CFG_TRANSPORT_UDP ? RESOLVE_UDP
           : tr == CFG_TRANSPORT_TCP ? RESOLVE_TCP : RESOLVE_TLS;
}

static void entry_free(struct resolver *r, struct resolve_entry *e)
{
    struct resolve_entry **pp;

    for (pp = &r->entries; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    free(e->host);
    free(e->t);
    free(e);
}

static void finish(struct resolve_entry *e)
{
    struct resolver *r = e->r;
    uint64_t now = loop_now(r->loop);
    char why[RESOLVE_WHY_MAX + RESOLVE_NAME_MAX + 32];
    int err = 0;

    bool fresh = false;

    e->busy = false;
    if (e->nn > 0) {
        struct resolve_target *t = malloc(e->nn * sizeof(*t));
        uint32_t ttl = e->ttl;

        if (ttl < RESOLVE_TTL_MIN_S)
            ttl = RESOLVE_TTL_MIN_S;
        if (ttl > RESOLVE_TTL_MAX_S)
            ttl = RESOLVE_TTL_MAX_S;
        if (t) {
            uint64_t fu[RESOLVE_MAX_TARGETS] = { 0 };

            /* a failed address stays so in the new answer */
            for (size_t i = 0; i < e->nn; i++)
                for (size_t k = 0; k < e->n; k++)
                    if (e->t[k].len == e->nt[i].len &&
                        memcmp(&e->t[k].addr, &e->nt[i].addr, e->nt[i].len) == 0)
                        fu[i] = e->failed_until[k];
            memcpy(e->failed_until, fu, sizeof(fu));
            memcpy(t, e->nt, e->nn * sizeof(*t));
            free(e->t);
            e->t = t;
            e->n = e->nn;
            e->expires = now + (uint64_t)ttl * 1000u;
            fresh = true;
            log_info("dns_resolved", "name=%s targets=%zu ttl_s=%u first=\"%s\"", e->host,
                     e->n, (unsigned)ttl, e->t[0].why);
        } else
            snprintf(e->fail, sizeof(e->fail), "no memory for the answer");
    }
    if (!fresh && e->n > 0) {
        /* the last good answer stays (RFC 3263 asks for none of this, but a
         * router whose DNS is down must keep reaching its provider) */
        log_warn("dns_stale", "name=%s reason=\"%s\" targets=%zu retry_s=%u", e->host,
                 e->fail, e->n, RESOLVE_RETRY_S);
        e->expires = now + RESOLVE_RETRY_S * 1000u;
    } else if (!fresh) {
        snprintf(why, sizeof(why), "cannot resolve %s: %s", e->host, e->fail);
        log_warn("dns_failed", "name=%s reason=\"%s\"", e->host, e->fail);
        err = -EHOSTUNREACH;
    }
    while (e->waiters) {
        struct resolve_req *q = e->waiters;

        e->waiters = q->next;
        q->next = NULL;
        q->e = NULL;
        q->cb(q, err, err ? why : "");
    }
    /* pruned while it ran, and nobody asked for it since (resolve_get
     * clears doomed) */
    if (e->doomed && !e->busy && !e->waiters)
        entry_free(r, e);
}

/* The reason kept for logs: the first real failure (SERVFAIL, timeout),
 * else the last "no such name/record". */
static void note_fail(struct resolve_entry *e, const char *what, const char *name, int status)
{
    bool soft = status == ARES_ENODATA || status == ARES_ENOTFOUND;

    if (e->fail_hard)
        return;
    snprintf(e->fail, sizeof(e->fail), "%s %s: %s", what, name, ares_strerror(status));
    e->fail_hard = !soft;
}

static void add_addrs(struct resolve_entry *e, const struct ares_addrinfo *res,
                      enum cfg_transport tr, const char *why, uint32_t rank)
{
    for (const struct ares_addrinfo_node *a = res->nodes; a && e->nn < RESOLVE_MAX_TARGETS;
         a = a->ai_next) {
        struct resolve_target *t = &e->nt[e->nn];

        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
            a->ai_addrlen > sizeof(t->addr))
            continue;
        memset(t, 0, sizeof(*t));
        memcpy(&t->addr, a->ai_addr, a->ai_addrlen);
        t->len = a->ai_addrlen;
        t->transport = tr;
        t->rank = rank;
        snprintf(t->why, sizeof(t->why), "%s", why);
        if (a->ai_ttl >= 0 && (uint32_t)a->ai_ttl < e->ttl)
            e->ttl = (uint32_t)a->ai_ttl;
        e->nn++;
    }
}

static void on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct resolve_entry *e = arg;
    enum cfg_transport tr;
    char why[RESOLVE_WHY_MAX];
    const char *name;
    uint32_t rank = 0;

    (void)timeouts;
    e->r->inflight--;
    if (e->r->dying || status == ARES_EDESTRUCTION) {
        ares_freeaddrinfo(res);
        return;
    }
    if (e->nsrv > 0) {
        const struct srv_item *s = &e->srv[e->isrv];
        const struct cand *c = &e->cand[e->icand];

        name = s->host;
        tr = c->tr;
        rank = s->prio;
        snprintf(why, sizeof(why), "%s%s prio %u weight %u %s -> %s:%u",
                 strcmp(c->from, "naptr") == 0 ? "naptr+" : "", "srv", (unsigned)s->prio,
                 (unsigned)s->weight, c->name, s->host, (unsigned)s->port);
        e->isrv++;
    } else {
        name = e->host;
        tr = e->tr;
        snprintf(why, sizeof(why), "a/aaaa %s:%u%s", e->host, (unsigned)e->port,
                 e->port_explicit ? "" : " (no srv)");
        e->ncand = e->icand = 0; /* the last step */
    }
    if (status == ARES_SUCCESS && res)
        add_addrs(e, res, tr, why, rank);
    else
        note_fail(e, "A/AAAA", name, status);
    ares_freeaddrinfo(res);
    next_step(e);
}

static void ask_addr(struct resolve_entry *e, const char *host, uint16_t port)
{
    struct ares_addrinfo_hints h = { .ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NUMERICSERV };
    char ps[8];

    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    e->r->inflight++;
    ares_getaddrinfo(e->r->ch, host, ps, &h, on_addr, e);
    arm_timer(e->r);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct resolve_entry *e = arg;
    struct cand *c;
    struct ares_srv_reply *srv = NULL;
    uint16_t prio[RESOLVE_MAX_TARGETS], weight[RESOLVE_MAX_TARGETS];
    struct srv_item tmp[RESOLVE_MAX_TARGETS];
    size_t idx[RESOLVE_MAX_TARGETS], n = 0;
    uint32_t ttl;

    (void)timeouts;
    e->r->inflight--;
    if (e->r->dying || status == ARES_EDESTRUCTION)
        return;
    c = &e->cand[e->icand];
    if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
        for (const struct ares_srv_reply *s = srv; s && n < RESOLVE_MAX_TARGETS; s = s->next) {
            /* RFC 2782: a target of "." means "decidedly not available" */
            if (!s->host || !s->host[0] || strcmp(s->host, ".") == 0 ||
                strlen(s->host) >= RESOLVE_NAME_MAX)
                continue;
            snprintf(tmp[n].host, sizeof(tmp[n].host), "%s", s->host);
            tmp[n].port = s->port;
            prio[n] = tmp[n].prio = s->priority;
            weight[n] = tmp[n].weight = s->weight;
            n++;
        }
        ares_free_data(srv);
        if (resolve_min_ttl(abuf, (size_t)alen, RESOLVE_T_SRV, &ttl) == 0 && ttl < e->ttl)
            e->ttl = ttl;
    } else
        note_fail(e, "SRV", c->name, status);
    if (n == 0) {
        e->icand++;
        next_step(e);
        return;
    }
    resolve_srv_order(prio, weight, n, &e->r->rng, idx);
    for (size_t k = 0; k < n; k++)
        e->srv[k] = tmp[idx[k]];
    e->nsrv = n;
    e->isrv = 0;
    next_step(e);
}

static void ask_srv(struct resolve_entry *e)
{
    e->r->inflight++;
    ares_query(e->r->ch, e->cand[e->icand].name, RESOLVE_C_IN, RESOLVE_T_SRV, on_srv, e);
    arm_timer(e->r);
}

static void add_cand(struct resolve_entry *e, const char *name, enum cfg_transport tr,
                     const char *from)
{
    struct cand *c;

    if (e->ncand >= RESOLVE_MAX_CANDS || !(e->mask & tr_bit(tr)) ||
        strlen(name) >= RESOLVE_NAME_MAX)
        return;
    c = &e->cand[e->ncand++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->tr = tr;
    c->from = from;
}

/* RFC 3263 §4.1 without NAPTR: SRV per transport (or the one given). */
static void add_srv_cands(struct resolve_entry *e)
{
    char name[RESOLVE_NAME_MAX];

    if (e->sips || (e->tr_explicit && e->tr == CFG_TRANSPORT_TLS)) {
        snprintf(name, sizeof(name), "_sips._tcp.%s", e->host);
        add_cand(e, name, CFG_TRANSPORT_TLS, "srv");
        return;
    }
    if (!e->tr_explicit || e->tr == CFG_TRANSPORT_TCP) {
        snprintf(name, sizeof(name), "_sip._tcp.%s", e->host);
        add_cand(e, name, CFG_TRANSPORT_TCP, "srv");
    }
    if (!e->tr_explicit || e->tr == CFG_TRANSPORT_UDP) {
        snprintf(name, sizeof(name), "_sip._udp.%s", e->host);
        add_cand(e, name, CFG_TRANSPORT_UDP, "srv");
    }
}

static int naptr_cmp(const void *a, const void *b)
{
    const struct ares_naptr_reply *x = *(const struct ares_naptr_reply *const *)a;
    const struct ares_naptr_reply *y = *(const struct ares_naptr_reply *const *)b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    if (x->preference != y->preference)
        return x->preference < y->preference ? -1 : 1;
    return 0;
}

static void on_naptr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct resolve_entry *e = arg;
    struct ares_naptr_reply *naptr = NULL;
    const struct ares_naptr_reply *v[RESOLVE_MAX_CANDS];
    size_t n = 0;
    uint32_t ttl;

    (void)timeouts;
    e->r->inflight--;
    if (e->r->dying || status == ARES_EDESTRUCTION)
        return;
    if (status == ARES_SUCCESS && ares_parse_naptr_reply(abuf, alen, &naptr) == ARES_SUCCESS) {
        for (const struct ares_naptr_reply *a = naptr; a && n < RESOLVE_MAX_CANDS; a = a->next) {
            const char *svc = (const char *)a->service, *fl = (const char *)a->flags;

            /* RFC 3263 §4.1: flag "s" (an SRV lookup follows) and a SIP
             * service sipkeep speaks */
            if (!svc || !fl || strcasecmp(fl, "s") != 0 || !a->replacement ||
                !a->replacement[0])
                continue;
            if (strcasecmp(svc, "SIP+D2U") == 0 || strcasecmp(svc, "SIP+D2T") == 0 ||
                strcasecmp(svc, "SIPS+D2T") == 0)
                v[n++] = a;
        }
        qsort(v, n, sizeof(v[0]), naptr_cmp);
        for (size_t i = 0; i < n; i++) {
            const char *svc = (const char *)v[i]->service;
            enum cfg_transport tr = strcasecmp(svc, "SIP+D2U") == 0   ? CFG_TRANSPORT_UDP
                                    : strcasecmp(svc, "SIP+D2T") == 0 ? CFG_TRANSPORT_TCP
                                                                      : CFG_TRANSPORT_TLS;

            /* sips: only over TLS (§4.1) */
            if (e->sips && tr != CFG_TRANSPORT_TLS)
                continue;
            add_cand(e, v[i]->replacement, tr, "naptr");
        }
        if (e->ncand > 0 && resolve_min_ttl(abuf, (size_t)alen, RESOLVE_T_NAPTR, &ttl) == 0 &&
            ttl < e->ttl)
            e->ttl = ttl;
        ares_free_data(naptr);
    } else
        note_fail(e, "NAPTR", e->host, status);
    /* §4.1: no (usable) NAPTR: SRV per transport */
    if (e->ncand == 0)
        add_srv_cands(e);
    next_step(e);
}

/* Walks the resolution: SRV candidates until one has records, each SRV
 * target's addresses, else the name's own addresses, then finish. */
static void next_step(struct resolve_entry *e)
{
    if (e->nsrv > 0) {
        if (e->isrv < e->nsrv) {
            ask_addr(e, e->srv[e->isrv].host, e->srv[e->isrv].port);
            return;
        }
        finish(e);
        return;
    }
    if (e->icand < e->ncand) {
        ask_srv(e);
        return;
    }
    if (e->nn == 0 && e->ncand > 0) {
        /* no SRV anywhere: the name itself, on the default port (§4.2) */
        e->ncand = e->icand = 0;
        e->tr = e->tr_explicit ? e->tr : e->sips ? CFG_TRANSPORT_TLS : CFG_TRANSPORT_UDP;
        if (!(e->mask & tr_bit(e->tr))) {
            if (!e->fail[0])
                snprintf(e->fail, sizeof(e->fail), "no usable record");
            finish(e);
            return;
        }
        ask_addr(e, e->host, e->tr == CFG_TRANSPORT_TLS ? 5061 : 5060);
        return;
    }
    if (e->nn == 0 && !e->fail[0])
        snprintf(e->fail, sizeof(e->fail), "no usable record");
    finish(e);
}

/* Starts a resolution of e.  -EIO when there is no c-ares channel (the
 * re-made one failed): nothing started.  May finish at once (an answer
 * from /etc/hosts, a bad name): then e->busy is false again. */
static int start(struct resolve_entry *e)
{
    follow_conf(e->r);
    if (!e->r->have_ch && channel_open(e->r) < 0)
        return -EIO;
    e->busy = true;
    e->ncand = e->icand = e->nsrv = e->isrv = e->nn = 0;
    e->ttl = RESOLVE_TTL_MAX_S;
    e->fail[0] = '\0';
    e->fail_hard = false;
    if (e->port_explicit)
        ask_addr(e, e->host, e->port);
    else if (!e->tr_explicit) {
        e->r->inflight++;
        ares_query(e->r->ch, e->host, RESOLVE_C_IN, RESOLVE_T_NAPTR, on_naptr, e);
        arm_timer(e->r);
    } else {
        add_srv_cands(e);
        next_step(e);
    }
    return 0;
}

/* ---- the cache ---- */

/* transport= written in the URI (struct cfg_proxy has the value, with UDP
 * as its default, not whether it was given); sips: implies TLS. */
static bool transport_given(const struct cfg_proxy *p)
{
    struct sipuri u;
    struct slice v;

    return p->sips || (sipuri_parse(&u, slice_cstr(p->uri)) == 0 &&
                       sipuri_param(&u, "transport", &v) == 0);
}

/* e answers for p (any mask). */
static bool entry_is(const struct resolve_entry *e, const struct cfg_proxy *p, bool tr_explicit)
{
    return e->port == p->port && e->port_explicit == p->port_explicit && e->sips == p->sips &&
           e->tr_explicit == tr_explicit && (!tr_explicit || e->tr == p->transport) &&
           p->host_family == 0 && strcasecmp(e->host, p->host) == 0;
}

static struct resolve_entry *entry_find(struct resolver *r, const struct cfg_proxy *p,
                                        unsigned mask)
{
    bool tr_explicit = transport_given(p);

    for (struct resolve_entry *e = r->entries; e; e = e->next)
        if (e->mask == mask && entry_is(e, p, tr_explicit))
            return e;
    return NULL;
}

size_t resolve_prune(struct resolver *r, const struct cfg *cfg)
{
    struct resolve_entry *e, *next;
    size_t freed = 0;

    if (!r)
        return 0;
    for (e = r->entries; e; e = next) {
        bool used = false;

        next = e->next;
        for (size_t i = 0; cfg && i < cfg->n_services && !used; i++) {
            const struct cfg_service *svc = &cfg->services[i];

            for (size_t k = 0; k < svc->n_outbound_proxies && !used; k++)
                used = entry_is(e, &svc->outbound_proxies[k],
                                transport_given(&svc->outbound_proxies[k]));
        }
        if (used || e->waiters)
            continue;
        log_debug("dns_pruned", "name=%s busy=%s", e->host, e->busy ? "yes" : "no");
        if (e->busy) {
            e->doomed = true; /* c-ares' callbacks still point at it */
            continue;
        }
        entry_free(r, e);
        freed++;
    }
    return freed;
}

static struct resolve_entry *entry_new(struct resolver *r, const struct cfg_proxy *p,
                                       unsigned mask)
{
    struct resolve_entry *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->host = strdup(p->host);
    if (!e->host) {
        free(e);
        return NULL;
    }
    e->r = r;
    e->port = p->port;
    e->port_explicit = p->port_explicit;
    e->sips = p->sips;
    e->tr = p->transport;
    e->tr_explicit = transport_given(p);
    e->mask = mask;
    e->next = r->entries;
    r->entries = e;
    return e;
}

static int literal(const struct cfg_proxy *p, struct resolve_target *t)
{
    struct sockaddr_in *in = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;

    memset(t, 0, sizeof(*t));
    t->transport = p->transport;
    snprintf(t->why, sizeof(t->why), "literal");
    if (p->host_family == AF_INET && inet_pton(AF_INET, p->host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(p->port);
        t->len = sizeof(*in);
        return 0;
    }
    if (p->host_family == AF_INET6 && inet_pton(AF_INET6, p->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(p->port);
        t->len = sizeof(*in6);
        return 0;
    }
    return -EINVAL;
}

static void wait_on(struct resolve_entry *e, struct resolve_req *q, resolve_cb cb)
{
    if (q->e)
        resolve_cancel(q);
    q->cb = cb;
    q->e = e;
    q->next = e->waiters;
    e->waiters = q;
}

int resolve_get(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned *n,
                struct resolve_target *t, struct resolve_req *q, resolve_cb cb, char *why,
                size_t whysz)
{
    struct resolve_entry *e;

    if (p->host_family != 0) {
        if (!(mask & tr_bit(p->transport))) {
            snprintf(why, whysz, "transport %s not usable", cfg_transport_name(p->transport));
            return -EINVAL;
        }
        *n = 0;
        if (literal(p, t) == 0)
            return 0;
        snprintf(why, whysz, "bad address literal %s", p->host);
        return -EINVAL;
    }
    if (!r) {
        snprintf(why, whysz, "cannot resolve %s: no resolver", p->host);
        return -EINVAL;
    }
    e = entry_find(r, p, mask);
    if (e)
        e->doomed = false; /* in use again */
    if (!e && !(e = entry_new(r, p, mask))) {
        snprintf(why, whysz, "cannot resolve %s: no memory", p->host);
        return -ENOMEM;
    }
    if (e->n > 0 && *n < e->n) {
        uint64_t now = loop_now(r->loop);
        unsigned k = *n;

        /* skip targets another flow just failed on, while one is left */
        while (k < e->n && e->failed_until[k] > now)
            k++;
        if (k < e->n && k != *n) {
            log_debug("dns_target_skipped", "name=%s from=%u to=%u", e->host, *n, k);
            *n = k;
        }
        *t = e->t[*n];
        /* expired: served while a background query refreshes it */
        if (!e->busy && loop_now(r->loop) >= e->expires)
            (void)start(e); /* no channel: the next use tries again */
        return 0;
    }
    /* nothing yet, or the list is used up: resolve (again) and start over */
    *n = 0;
    if (!e->busy) {
        if (start(e) < 0) {
            snprintf(why, whysz, "cannot resolve %s: no DNS channel", p->host);
            return -EHOSTUNREACH;
        }
        if (!e->busy) { /* answered at once */
            if (e->n > 0) {
                *t = e->t[0];
                return 0;
            }
            snprintf(why, whysz, "cannot resolve %s: %s", p->host, e->fail);
            return -EHOSTUNREACH;
        }
    }
    wait_on(e, q, cb);
    return -EINPROGRESS;
}

void resolve_mark_failed(struct resolver *r, const struct cfg_proxy *p, unsigned mask,
                         const struct resolve_target *t)
{
    struct resolve_entry *e;

    if (!r || !t || p->host_family != 0 || !(e = entry_find(r, p, mask)))
        return;
    for (size_t i = 0; i < e->n; i++)
        if (e->t[i].len == t->len && memcmp(&e->t[i].addr, &t->addr, t->len) == 0)
            e->failed_until[i] = loop_now(r->loop) + RESOLVE_FAILED_S * 1000u;
}

int resolve_peek(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned n,
                 struct resolve_target *t)
{
    struct resolve_entry *e;

    if (!r || p->host_family != 0 || !(e = entry_find(r, p, mask)) || n >= e->n)
        return -ENOENT;
    *t = e->t[n];
    return 0;
}

/* The first index of the (k mod D)-th of the D distinct targets of e (an
 * SRV record's, or the name's, addresses are adjacent and share `why`);
 * *end: one past its last address. */
static bool group_begins(const struct resolve_entry *e, size_t i)
{
    return i == 0 || strcmp(e->t[i].why, e->t[i - 1].why) != 0;
}

static size_t group_start(const struct resolve_entry *e, unsigned k, size_t *end)
{
    size_t d = 0, g, i, start = 0, cur = 0;

    for (i = 0; i < e->n; i++)
        d += group_begins(e, i);
    g = d ? k % d : 0;
    for (i = 0; i < e->n; i++) {
        if (!group_begins(e, i))
            continue;
        if (i > 0 && ++cur > g)
            break;
        if (cur == g)
            start = i;
    }
    *end = i;
    return start;
}

int resolve_home(struct resolver *r, const struct cfg_proxy *p, unsigned mask, unsigned k,
                 unsigned *n)
{
    struct resolve_entry *e;
    size_t end;

    if (!r || p->host_family != 0 || !(e = entry_find(r, p, mask)) || e->n == 0)
        return -ENOENT;
    *n = (unsigned)group_start(e, k, &end);
    return 0;
}

int resolve_better(struct resolver *r, const struct cfg_proxy *p, unsigned mask,
                   const struct resolve_target *cur, unsigned spread, unsigned *n,
                   struct resolve_target *t)
{
    struct resolve_entry *e;
    uint64_t now;
    size_t i = 0, end;

    if (!r || !cur || p->host_family != 0 || !(e = entry_find(r, p, mask)))
        return -ENOENT;
    now = loop_now(r->loop);
    end = e->n;
    if (spread > 0 && e->n > 0)
        i = group_start(e, spread, &end);
    for (; i < end && e->t[i].rank < cur->rank; i++) {
        if (e->failed_until[i] > now)
            continue;
        *n = (unsigned)i;
        *t = e->t[i];
        return 0;
    }
    return -ENOENT;
}

void resolve_cancel(struct resolve_req *q)
{
    struct resolve_req **pp;

    if (!q || !q->e)
        return;
    for (pp = &q->e->waiters; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    q->next = NULL;
    q->e = NULL;
}
