/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn_int.h - internals shared by txn.c (the table, entries, relayed
 * retransmissions) and txn_invite.c (INVITE transactions: Timer C, G/H).
 * Not a public API: see txn.h. */
#ifndef SIPKEEP_PROXY_TXN_INT_H
#define SIPKEEP_PROXY_TXN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "outbound/sipretx.h"
#include "proxy/txn.h"

#define TXN_BUCKETS 4096u

enum txn_kind { KIND_REQ, KIND_INVITE, KIND_RETX };

enum inv_state {
    INV_CALLING,    /* Timer C running, no provisional response yet */
    INV_PROCEEDING, /* Timer C running, a provisional response came */
    INV_COMPLETED,  /* a final response came: 64*T1 linger */
    INV_TIMED_OUT,  /* Timer C fired, the UA had our 408: linger */
};

/* What sipkeep keeps of an INVITE as sent, to make its own CANCEL, ACK
 * (§9.1, §17.1.1.3: same Request-URI, top Via, From, Call-ID, CSeq
 * number and Route set) and the UA's 408: the pieces back to back in
 * text[], whole header lines (CRLF included) but the Request-URI. */
enum { P_RURI, P_VIA, P_FROM, P_TO, P_CALLID, P_ROUTES, P_N };
struct inv_req {
    uint32_t cseq;
    uint16_t n[P_N];
    char text[];
};

struct txn_inv {
    struct loop_timer timer; /* Timer C, then the linger */
    /* Completed: Timer G/H of a relayed non-2xx.  Timed out: Timer E/F of
     * our CANCEL over a UDP flow (§17.1.2.2).  Else NULL. */
    struct sipretx *g;
    struct inv_req *req;     /* NULL until txn_invite_sent() */
    uint8_t state;
    bool provisional;        /* any 1xx came (a CANCEL may be sent, §9.1) */
    bool reliable;           /* the flow is TCP/TLS */
    bool cancelled;          /* sipkeep sent a CANCEL of its own */
    bool final_seen;
    bool g_wanted;           /* the final just let through needs Timer G */
};

struct txn_entry {
    struct txn t;
    uint8_t kind;
    uint32_t bytes;            /* allocated for it (txn_bytes) */
    uint64_t expires_ms;       /* FIFO kinds only */
    struct txn_table *table;
    struct txn_entry *next_hash, *next_fifo;
    struct sipretx *retx;      /* KIND_RETX: relayed to a UA over UDP */
    struct txn_inv *inv;       /* KIND_INVITE: in data[] */
    /* Aligned for txn_inv: on armhf the pointers above leave data[] at 4
     * mod 8, and txn_inv holds 64-bit fields (the assert below caught it). */
    _Alignas(struct txn_inv) char data[]; /* [struct txn_inv] vias[] via bytes */
};

_Static_assert(offsetof(struct txn_entry, data) % _Alignof(struct txn_inv) == 0,
               "txn_inv is placed at the start of data[]");
_Static_assert(sizeof(struct txn_inv) % _Alignof(struct slice) == 0,
               "the Via slices follow txn_inv");

/* One FIFO per fixed lifetime (non-INVITE, retransmitted), so each is
 * ordered by expiry.  INVITE entries have their own timer instead. */
enum { FIFO_NON_INVITE, FIFO_RETX, FIFO_N };
struct txn_fifo {
    struct txn_entry *head, *tail;
};

struct txn_table {
    struct loop *loop;
    struct loop_timer sweep;
    size_t count;
    struct txn_fifo fifo[FIFO_N];
    struct txn_entry *bucket[TXN_BUCKETS];
    txn_retx_send_fn retx_send;
    void *retx_arg;
    struct txn_senders snd;
    size_t bytes;              /* entries and their INVITE copies */
};

/* The INVITE entry of branch, or NULL (txn.c). */
struct txn_entry *txn_find_invite(struct txn_table *t, struct slice branch);
/* Unlinks e from the hash and frees it; e is in no FIFO (txn.c). */
void txn_entry_remove(struct txn_table *t, struct txn_entry *e);

/* A new INVITE entry e starts CALLING under Timer C (txn_invite.c).
 * Returns 0 or -ENOMEM (no timer: the caller frees e). */
int txn_invite_start(struct txn_entry *e);
/* Frees what e's INVITE part holds: its timer, Timer G or our CANCEL's
 * retransmission, the kept request (txn_invite.c; e itself stays). */
void txn_invite_free(struct txn_entry *e);

/* ---- used by tests (and bench_dialog) only ---- */
size_t txn_count(const struct txn_table *t);
/* Bytes allocated for the live entries and the INVITE copies they keep
 * (malloc overhead and Timer G's copy of a response not counted). */
size_t txn_bytes(const struct txn_table *t);
/* Timer G retransmissions to UAs, and sipkeep's CANCELs retransmitted over
 * UDP flows, in progress. */
size_t txn_timer_g_active(const struct txn_table *t);

#endif
