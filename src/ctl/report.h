/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.h - the text of `sipkeep status` (a table, or JSON) and of
 * `sipkeep metrics` (Prometheus text exposition format), built from plain
 * snapshots so that it can be tested without a running daemon.
 *
 * Output goes into a growable buffer with a sticky error: builders never
 * fail one by one; check report_buf.err once at the end.  Strings in the
 * snapshots (AORs, Contacts) come from phones and are untrusted: JSON
 * escapes them per RFC 8259 (and any byte that is not valid UTF-8 becomes
 * U+FFFD), the table shows control bytes as \xNN, so that neither the JSON
 * nor the admin's terminal can be subverted.  The JSON schema and the metric
 * names are documented in README.md ("Status and metrics").
 */
#ifndef SIPKEEP_CTL_REPORT_H
#define SIPKEEP_CTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stats.h"
#include "outbound/flow.h"

/* Larger answers fail with -EFBIG (10,000 bindings take a few MB). */
#define REPORT_MAX_BYTES (64u * 1024u * 1024u)
/* Flow states are enum flow_state values 0..REPORT_NSTATES-1. */
#define REPORT_NSTATES ((size_t)FLOW_BACKOFF + 1)

struct report_buf {
    char *p;      /* NUL-terminated when len > 0; owned, free with report_buf_free */
    size_t len;
    size_t cap;
    int err;      /* 0, or the first -ENOMEM / -EFBIG; later writes are dropped */
};

void report_buf_init(struct report_buf *b);
void report_buf_free(struct report_buf *b);
/* Appends formatted text. */
void report_printf(struct report_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n bytes. */
void report_put(struct report_buf *b, const char *s, size_t n);

enum report_format { REPORT_TEXT, REPORT_JSON };

/* One flow of a binding, as status shows it. */
struct report_flow {
    unsigned reg_id;
    const char *proxy;       /* the configured URI */
    const char *transport;   /* "tcp" or "tls" */
    enum flow_state state;
    uint64_t since_s;        /* seconds in this state */
    int64_t rtt_ms;          /* last keep-alive round trip, -1: none */
    unsigned flow_timer_s;   /* 0: no Flow-Timer */
    unsigned failures;       /* consecutive failures */
    int64_t retry_in_s;      /* seconds to the next attempt in backoff, else -1 */
    int64_t pong_age_ms;     /* since the last pong on this connection, -1: none */
    int64_t peer_cert_expiry; /* TLS: the edge certificate's notAfter, seconds
                                 since the epoch (UTC); 0: none */
    const char *target;      /* "ADDR:PORT" the current attempt goes to,
                                NULL: none (resolving, between attempts) */
    const char *target_why;  /* why that target (RFC 3263: "literal",
                                "srv prio 10 ...", ...), NULL with target */
};

/* One legacy UA binding. */
struct report_binding {
    const char *ua;          /* "ADDR:PORT" the phone sends from */
    const char *service;
    const char *aor;
    const char *instance;    /* NULL: none (third-party registration) */
    const char *contact;
    int64_t expires_in_s;    /* -1: being removed */
    size_t nflows;
    const struct report_flow *flows;
};

/* A binding's state as the per-service metrics count it: registered once
 * a flow is ACTIVE, removing while it is de-registered. */
enum report_ua_state { REPORT_UA_REGISTERING, REPORT_UA_REGISTERED, REPORT_UA_REMOVING };
#define REPORT_UA_NSTATES ((size_t)REPORT_UA_REMOVING + 1)

/* The bindings of one service, and the flows of one service and reg-id:
 * the labels of the per-service metrics, so that their number follows
 * the configuration, never the number of phones. */
struct report_service {
    const char *name;
    size_t bindings[REPORT_UA_NSTATES];
};
struct report_group {
    const char *service;
    unsigned reg_id;
    size_t flows[REPORT_NSTATES];
    int64_t pong_age_max_ms; /* the oldest last pong among its ACTIVE flows, -1: none */
    int64_t peer_cert_expiry_min; /* the earliest edge certificate notAfter among
                                     its flows with a TLS connection, 0: none */
};
#define REPORT_MAX_GROUPS (CFG_MAX_SERVICES * CFG_MAX_OUTBOUND_PROXIES)

/* Zero-initialise.  Services and groups in the order first seen; bindings
 * of services beyond the limits (a reload's retired ones can add names
 * for a while) count in bindings/flows and in `unlisted` only. */
struct report_totals {
    size_t bindings;
    size_t flows[REPORT_NSTATES]; /* by enum flow_state */
    struct report_service services[CFG_MAX_SERVICES];
    size_t nservices;
    struct report_group groups[REPORT_MAX_GROUPS];
    size_t ngroups;
    size_t unlisted;
};

/* Header facts. */
struct report_info {
    const char *version;
    uint64_t uptime_s;
};

/* A status report is begin, each binding (first = true for the first one),
 * then end.  report_totals_add() counts a binding into totals as it goes. */
void report_status_begin(struct report_buf *b, enum report_format f,
                         const struct report_info *info);
void report_status_binding(struct report_buf *b, enum report_format f,
                           const struct report_binding *rb, bool first);
void report_status_end(struct report_buf *b, enum report_format f, const struct report_totals *t);
void report_totals_add(struct report_totals *t, const struct report_binding *rb);

/* The whole metrics page. */
void report_metrics(struct report_buf *b, const struct sk_stats *st, const struct report_totals *t);

#endif
