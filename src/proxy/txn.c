/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.c - see txn.h.  The table (hash by branch, FIFO expiry), its
 * entries, and relayed requests retransmitted to a UA over UDP; the
 * INVITE transactions (Timer C, G/H, sipkeep's own CANCEL/ACK/408) are in
 * txn_invite.c (txn_int.h). */
#include "proxy/txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "outbound/sipretx.h"
#include "proxy/txn_int.h"

static uint32_t hash_branch(struct slice b)
{
    return hash_fnv32(HASH_FNV32_INIT, b.p, b.n);
}

static void unlink_hash(struct txn_table *t, struct txn_entry *e)
{
    struct txn_entry **pp = &t->bucket[hash_branch(slice_cstr(e->t.branch)) % TXN_BUCKETS];

    while (*pp && *pp != e)
        pp = &(*pp)->next_hash;
    if (*pp)
        *pp = e->next_hash;
}

static void entry_free(struct txn_entry *e)
{
    e->table->bytes -= e->bytes;
    sipretx_free(e->retx); /* cancels its timers */
    if (e->inv)
        txn_invite_free(e);
    free(e);
}

/* Unlinks e from the hash and frees it (it is in no FIFO). */
void txn_entry_remove(struct txn_table *t, struct txn_entry *e)
{
    unlink_hash(t, e);
    t->count--;
    entry_free(e);
}

static void expire(struct txn_table *t)
{
    uint64_t now = loop_now(t->loop);

    for (int i = 0; i < FIFO_N; i++) {
        struct txn_fifo *f = &t->fifo[i];
        while (f->head && f->head->expires_ms <= now) {
            struct txn_entry *e = f->head;
            f->head = e->next_fifo;
            if (!f->head)
                f->tail = NULL;
            txn_entry_remove(t, e);
        }
    }
}

static bool fifos_empty(const struct txn_table *t)
{
    for (int i = 0; i < FIFO_N; i++)
        if (t->fifo[i].head)
            return false;
    return true;
}

static void on_sweep(struct loop_timer *tm)
{
    struct txn_table *t = container_of(tm, struct txn_table, sweep);

    expire(t);
    if (!fifos_empty(t))
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
    /* Every entry is hashed, whatever its kind. */
    for (size_t i = 0; i < TXN_BUCKETS; i++) {
        struct txn_entry *e = t->bucket[i], *next;
        for (; e; e = next) {
            next = e->next_hash;
            entry_free(e);
        }
    }
    free(t);
}

/* The entry for branch of the kind asked: a UA's request (retx false) or a
 * relayed one, so a response from upstream never finds the latter. */
static struct txn_entry *find(struct txn_table *t, struct slice branch, bool retx)
{
    struct txn_entry *e = t->bucket[hash_branch(branch) % TXN_BUCKETS];

    while (e && ((e->kind == KIND_RETX) != retx || !slice_eq(slice_cstr(e->t.branch), branch)))
        e = e->next_hash;
    return e;
}

struct txn_entry *txn_find_invite(struct txn_table *t, struct slice branch)
{
    struct txn_entry *e = find(t, branch, false);

    return e && e->kind == KIND_INVITE ? e : NULL;
}

const struct txn *txn_get(struct txn_table *t, struct slice branch)
{
    struct txn_entry *e;

    expire(t);
    e = find(t, branch, false);
    return e ? &e->t : NULL;
}

static struct txn_entry *entry_new(struct txn_table *t, const char *branch, enum txn_kind kind,
                                   const struct slice *vias, unsigned nvias)
{
    size_t head = kind == KIND_INVITE ? sizeof(struct txn_inv) : 0;
    size_t total = 0, off, size;
    struct txn_entry *e;
    struct slice *sv;

    for (unsigned i = 0; i < nvias; i++)
        total += vias[i].n;
    size = sizeof(*e) + head + nvias * sizeof(struct slice) + total + 1;
    e = calloc(1, size);
    if (!e)
        return NULL;
    if (slice_copy_cstr(slice_cstr(branch), e->t.branch, sizeof(e->t.branch)) < 0) {
        free(e);
        return NULL;
    }
    e->kind = (uint8_t)kind;
    e->table = t;
    e->bytes = (uint32_t)size; /* Vias are bounded by the message size */
    t->bytes += size;
    if (kind == KIND_INVITE)
        e->inv = (struct txn_inv *)(void *)e->data;
    sv = (struct slice *)(void *)(e->data + head);
    off = head + nvias * sizeof(struct slice);
    for (unsigned i = 0; i < nvias; i++) {
        memcpy(e->data + off, vias[i].p, vias[i].n);
        sv[i] = (struct slice){ e->data + off, vias[i].n };
        off += vias[i].n;
    }
    e->t.vias = sv;
    e->t.nvias = nvias;
    return e;
}

static void link_hash(struct txn_table *t, struct txn_entry *e)
{
    uint32_t h = hash_branch(slice_cstr(e->t.branch)) % TXN_BUCKETS;

    e->next_hash = t->bucket[h];
    t->bucket[h] = e;
    t->count++;
}

static void link_fifo(struct txn_table *t, struct txn_entry *e, int fifo, uint64_t ttl)
{
    struct txn_fifo *f = &t->fifo[fifo];

    e->expires_ms = loop_now(t->loop) + ttl;
    link_hash(t, e);
    if (f->tail)
        f->tail->next_fifo = e;
    else
        f->head = e;
    f->tail = e;
    if (!loop_timer_armed(&t->sweep))
        loop_timer_set(t->loop, &t->sweep, 1000);
}

int txn_put(struct txn_table *t, const char *branch, bool invite, const struct ua_addr *ua,
            uint32_t binding_id, const struct slice *vias, unsigned nvias)
{
    struct txn_entry *e;

    if (nvias > TXN_MAX_VIAS)
        return -E2BIG;
    expire(t);
    if (find(t, slice_cstr(branch), false))
        return 0; /* a retransmission, or the CANCEL/ACK of a transaction */
    e = entry_new(t, branch, invite ? KIND_INVITE : KIND_REQ, vias, nvias);
    if (!e)
        return -ENOMEM;
    e->t.ua = *ua;
    e->t.binding_id = binding_id;
    if (!invite) {
        link_fifo(t, e, FIFO_NON_INVITE, TXN_TTL_NON_INVITE_MS);
        return 0;
    }
    if (txn_invite_start(e) < 0) {
        entry_free(e);
        return -ENOMEM;
    }
    link_hash(t, e);
    return 0;
}

size_t txn_count(const struct txn_table *t)
{
    return t->count;
}

size_t txn_bytes(const struct txn_table *t)
{
    return t->bytes;
}

/* ---- relayed requests retransmitted to a UA over UDP ---- */

static int retx_send(const char *buf, size_t len, void *arg)
{
    struct txn_entry *e = arg;
    int err = e->table->retx_send(e->t.binding_id, buf, len, e->table->retx_arg);

    if (err == -ESRCH)
        sipretx_cancel(e->retx); /* nothing outlives the binding */
    return err;
}

/* Timer B/F: the upstream side owns the timeout (it sees no answer and
 * acts), so this only ends the retransmissions; the entry expires later. */
static void retx_timeout(void *arg)
{
    struct txn_entry *e = arg;

    log_info("relay_retx_timeout", "branch=%s binding=%u sends=%u", e->t.branch,
             (unsigned)e->t.binding_id, sipretx_sends(e->retx));
}

static const struct sipretx_cbs retx_cbs = { retx_send, retx_timeout };

void txn_set_retx_sender(struct txn_table *t, txn_retx_send_fn send, void *arg)
{
    t->retx_send = send;
    t->retx_arg = arg;
}

int txn_put_retx(struct txn_table *t, const char *key, bool invite, uint32_t binding_id,
                 const char *buf, size_t len)
{
    struct txn_entry *e;
    int err;

    if (!t->retx_send || strlen(key) >= TXN_BRANCH_MAX)
        return -EINVAL;
    expire(t);
    if (find(t, slice_cstr(key), true))
        return 0;
    e = entry_new(t, key, KIND_RETX, NULL, 0);
    if (!e)
        return -ENOMEM;
    e->t.binding_id = binding_id;
    err = sipretx_new(&e->retx, t->loop, &retx_cbs, e);
    if (!err)
        err = invite ? sipretx_start_invite(e->retx, buf, len, key)
                     : sipretx_start(e->retx, buf, len, key);
    if (err < 0) {
        entry_free(e);
        return err;
    }
    link_fifo(t, e, FIFO_RETX, TXN_TTL_RETX_MS);
    return 0;
}

void txn_retx_response(struct txn_table *t, struct slice key, unsigned status)
{
    struct txn_entry *e = find(t, key, true);

    if (e)
        sipretx_response(e->retx, status);
}

