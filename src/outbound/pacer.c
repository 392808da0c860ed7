/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pacer.c - a connection rate per edge address for flow recovery.  See
 * pacer.h.  The bucket is kept as GCRA's theoretical arrival time (tat):
 * a request at t may go at max(t, tat - (burst - 1) * T), T = 1/rate, and
 * pushes tat by T; that is a token bucket of `burst` tokens refilled at
 * `rate`, with the wait computed at once instead of polled. */
#include "outbound/pacer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/rand.h"

/* One thing said about an edge (pacer_note_once), e.g. a TLS server name
 * whose certificate there expires soon. */
struct pacer_note {
    struct pacer_note *next;
    uint64_t until_ms;  /* said again from this time on */
    char what[];
};

struct pacer_edge {
    struct sockaddr_storage addr;
    uint64_t tat_us;  /* theoretical arrival time of the next connection */
    uint64_t hold_ms; /* no slot before this (Retry-After), 0: none */
    uint64_t hold_len_ms; /* the Retry-After that set or last extended it */
    struct pacer_note *notes; /* usually none; one per TLS name at most */
};

struct pacer {
    struct pacer_edge *e;
    size_t n, cap;
};

int pacer_new(struct pacer **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static void notes_free(struct pacer_note *n)
{
    while (n) {
        struct pacer_note *next = n->next;

        free(n);
        n = next;
    }
}

void pacer_free(struct pacer *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        notes_free(p->e[i].notes);
    free(p->e);
    free(p);
}

static struct pacer_edge *find(const struct pacer *p, const struct sockaddr *addr)
{
    for (size_t i = 0; i < p->n; i++)
        if (addr_equal((const struct sockaddr *)&p->e[i].addr, addr))
            return &p->e[i];
    return NULL;
}

/* Drops e's notes whose time is over. */
static void notes_prune(struct pacer_edge *e, uint64_t now_ms)
{
    struct pacer_note **pp = &e->notes;

    while (*pp) {
        struct pacer_note *n = *pp;

        if (n->until_ms <= now_ms) {
            *pp = n->next;
            free(n);
        } else {
            pp = &n->next;
        }
    }
}

/* An entry whose schedule, hold and notes are all past holds nothing a
 * fresh one would not: it may be given to another edge. */
static bool stale(struct pacer_edge *e, uint64_t now_ms)
{
    notes_prune(e, now_ms);
    return e->tat_us <= now_ms * 1000u && e->hold_ms <= now_ms && !e->notes;
}

/* addr's entry, made (a stale one reused) when missing; NULL: no memory or
 * an address of another family than IPv4/IPv6. */
static struct pacer_edge *get(struct pacer *p, const struct sockaddr *addr, uint64_t now_ms)
{
    struct pacer_edge *e = find(p, addr);
    socklen_t len = addr_len(addr);

    if (e)
        return e;
    if (len == 0 || len > sizeof(e->addr))
        return NULL;
    for (size_t i = 0; i < p->n && !e; i++)
        if (stale(&p->e[i], now_ms))
            e = &p->e[i];
    if (!e) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 8;
            struct pacer_edge *ne = realloc(p->e, cap * sizeof(*ne));

            if (!ne)
                return NULL;
            p->e = ne;
            p->cap = cap;
        }
        e = &p->e[p->n++];
    }
    memset(e, 0, sizeof(*e));
    memcpy(&e->addr, addr, len);
    return e;
}

uint64_t pacer_reserve(struct pacer *p, const struct sockaddr *addr, unsigned rate,
                       unsigned burst, uint64_t now_ms, uint32_t r)
{
    struct pacer_edge *e;
    uint64_t t_us, tau, now_us, start, tat, slot, at;

    if (!p || rate == 0)
        return 0;
    e = get(p, addr, now_ms);
    if (!e)
        return 0;
    t_us = 1000000u / rate ? 1000000u / rate : 1;
    tau = (uint64_t)(burst ? burst - 1 : 0) * t_us;
    now_us = now_ms * 1000u;
    start = e->hold_ms > now_ms ? e->hold_ms * 1000u : now_us;
    tat = e->tat_us > start ? e->tat_us : start;
    slot = tat > start + tau ? tat - tau : start;
    e->tat_us = tat + t_us;
    if (slot == now_us)
        return 0;
    /* Jitter inside the slot: spread, yet never before it nor into the
     * next one's start. */
    at = slot + rand_uniform(0, t_us - 1, r);
    return (at - now_us + 999u) / 1000u;
}

void pacer_hold(struct pacer *p, const struct sockaddr *addr, uint64_t now_ms,
                uint64_t until_ms)
{
    struct pacer_edge *e;

    if (!p || until_ms <= now_ms)
        return;
    e = get(p, addr, now_ms);
    if (e && until_ms > e->hold_ms) {
        e->hold_ms = until_ms;
        e->hold_len_ms = until_ms - now_ms;
    }
}

uint64_t pacer_held_until(const struct pacer *p, const struct sockaddr *addr,
                          uint64_t now_ms)
{
    const struct pacer_edge *e = p ? find(p, addr) : NULL;

    return e && e->hold_ms > now_ms ? e->hold_ms : 0;
}

uint64_t pacer_hold_len(const struct pacer *p, const struct sockaddr *addr)
{
    const struct pacer_edge *e = p ? find(p, addr) : NULL;

    return e ? e->hold_len_ms : 0;
}

bool pacer_note_once(struct pacer *p, const struct sockaddr *addr, const char *what,
                     uint64_t now_ms, uint64_t period_ms)
{
    struct pacer_edge *e = p ? get(p, addr, now_ms) : NULL;
    struct pacer_note *n;
    size_t len = strlen(what);

    if (!e)
        return true;
    notes_prune(e, now_ms);
    for (n = e->notes; n; n = n->next) {
        if (strcmp(n->what, what) == 0)
            return false; /* pruned otherwise: its period is not over */
    }
    n = malloc(sizeof(*n) + len + 1);
    if (!n)
        return true;
    memcpy(n->what, what, len + 1);
    n->until_ms = now_ms + period_ms;
    n->next = e->notes;
    e->notes = n;
    return true;
}
