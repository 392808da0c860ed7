/* txn.c - see txn.h. */
#include "proxy/txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TXN_BUCKETS 4096u

struct txn_entry {
    struct txn t;
    uint64_t expires_ms;
    struct txn_entry *next_hash, *next_fifo;
    char data[];
};

/* Two FIFOs, one per lifetime, so each is ordered by expiry. */
struct txn_fifo {
    struct txn_entry *head, *tail;
};

struct txn_table {
    struct loop *loop;
    struct loop_timer sweep;
    size_t count;
    struct txn_fifo fifo[2];
    struct txn_entry *bucket[TXN_BUCKETS];
};

static uint32_t hash_branch(struct slice b)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < b.n; i++)
        h = (h ^ (uint8_t)b.p[i]) * 16777619u;
    return h;
}

static void unlink_hash(struct txn_table *t, struct txn_entry *e)
{
    struct txn_entry **pp = &t->bucket[hash_branch(slice_cstr(e->t.branch)) % TXN_BUCKETS];

    while (*pp && *pp != e)
        pp = &(*pp)->next_hash;
    if (*pp)
        *pp = e->next_hash;
}

static void expire(struct txn_table *t)
{
    uint64_t now = loop_now(t->loop);

    for (int i = 0; i < 2; i++) {
        struct txn_fifo *f = &t->fifo[i];
        while (f->head && f->head->expires_ms <= now) {
            struct txn_entry *e = f->head;
            f->head = e->next_fifo;
            if (!f->head)
                f->tail = NULL;
            unlink_hash(t, e);
            t->count--;
            free(e);
        }
    }
}

static void on_sweep(struct loop_timer *tm)
{
    struct txn_table *t = container_of(tm, struct txn_table, sweep);

    expire(t);
    if (t->count)
        loop_timer_set(t->loop, &t->sweep, 1000);
}

int txn_table_new(struct txn_table **out, struct loop *l)
{
    struct txn_table *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->loop = l;
    loop_timer_init(&t->sweep, on_sweep);
    *out = t;
    return 0;
}

void txn_table_free(struct txn_table *t)
{
    if (!t)
        return;
    loop_timer_cancel(t->loop, &t->sweep);
    for (int i = 0; i < 2; i++) {
        struct txn_entry *e = t->fifo[i].head, *next;
        for (; e; e = next) {
            next = e->next_fifo;
            free(e);
        }
    }
    free(t);
}

static struct txn_entry *find(struct txn_table *t, struct slice branch)
{
    struct txn_entry *e = t->bucket[hash_branch(branch) % TXN_BUCKETS];

    while (e && !slice_eq(slice_cstr(e->t.branch), branch))
        e = e->next_hash;
    return e;
}

const struct txn *txn_get(struct txn_table *t, struct slice branch)
{
    struct txn_entry *e;

    expire(t);
    e = find(t, branch);
    return e ? &e->t : NULL;
}

static struct txn_entry *entry_new(const char *branch, const struct slice *vias, unsigned nvias)
{
    size_t total = 0, off = 0;
    struct txn_entry *e;

    for (unsigned i = 0; i < nvias; i++)
        total += vias[i].n;
    e = calloc(1, sizeof(*e) + total + 1);
    if (!e)
        return NULL;
    if (slice_copy_cstr(slice_cstr(branch), e->t.branch, sizeof(e->t.branch)) < 0) {
        free(e);
        return NULL;
    }
    for (unsigned i = 0; i < nvias; i++) {
        memcpy(e->data + off, vias[i].p, vias[i].n);
        e->t.vias[i] = (struct slice){ e->data + off, vias[i].n };
        off += vias[i].n;
    }
    e->t.nvias = nvias;
    return e;
}

int txn_put(struct txn_table *t, const char *branch, bool invite, const struct ua_addr *ua,
            uint32_t binding_id, const struct slice *vias, unsigned nvias)
{
    struct txn_fifo *f = &t->fifo[invite ? 1 : 0];
    struct txn_entry *e;
    uint32_t h = hash_branch(slice_cstr(branch)) % TXN_BUCKETS;

    if (nvias > TXN_MAX_VIAS)
        return -E2BIG;
    expire(t);
    if (find(t, slice_cstr(branch)))
        return 0; /* a retransmission, or the CANCEL/ACK of a transaction */
    e = entry_new(branch, vias, nvias);
    if (!e)
        return -ENOMEM;
    e->t.ua = *ua;
    e->t.binding_id = binding_id;
    e->expires_ms = loop_now(t->loop) + (invite ? TXN_TTL_INVITE_MS : TXN_TTL_NON_INVITE_MS);
    e->next_hash = t->bucket[h];
    t->bucket[h] = e;
    if (f->tail)
        f->tail->next_fifo = e;
    else
        f->head = e;
    f->tail = e;
    if (t->count++ == 0)
        loop_timer_set(t->loop, &t->sweep, 1000);
    return 0;
}

size_t txn_count(const struct txn_table *t)
{
    return t->count;
}
