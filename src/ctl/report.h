/* report.h - the text of `sipkeep status` (a table, or JSON) and of
 * `sipkeep metrics` (Prometheus text exposition format), built from plain
 * snapshots so that it can be tested without a running daemon.
 *
 * Output goes into a growable buffer with a sticky error: builders never
 * fail one by one; check rpt_buf.err once at the end.  Strings in the
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
#define RPT_MAX_BYTES (64u * 1024u * 1024u)
/* Flow states are enum flow_state values 0..RPT_NSTATES-1. */
#define RPT_NSTATES ((size_t)FLOW_BACKOFF + 1)

struct rpt_buf {
    char *p;      /* NUL-terminated when len > 0; owned, free with rpt_buf_free */
    size_t len;
    size_t cap;
    int err;      /* 0, or the first -ENOMEM / -EFBIG; later writes are dropped */
};

void rpt_buf_init(struct rpt_buf *b);
void rpt_buf_free(struct rpt_buf *b);
/* Appends formatted text. */
void rpt_printf(struct rpt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n bytes. */
void rpt_put(struct rpt_buf *b, const char *s, size_t n);
/* Appends s as a JSON string literal with its quotes; NULL gives null. */
void rpt_json_str(struct rpt_buf *b, const char *s);

enum rpt_format { RPT_TEXT, RPT_JSON };

/* One flow of a binding, as status shows it. */
struct rpt_flow {
    unsigned reg_id;
    const char *proxy;       /* the configured URI */
    const char *transport;   /* "tcp" or "tls" */
    enum flow_state state;
    uint64_t since_s;        /* seconds in this state */
    int64_t rtt_ms;          /* last keep-alive round trip, -1: none */
    unsigned flow_timer_s;   /* 0: no Flow-Timer */
    unsigned failures;       /* consecutive failures */
    int64_t retry_in_s;      /* seconds to the next attempt in backoff, else -1 */
};

/* One legacy UA binding. */
struct rpt_binding {
    const char *ua;          /* "ADDR:PORT" the phone sends from */
    const char *service;
    const char *aor;
    const char *instance;    /* NULL: none (third-party registration) */
    const char *contact;
    int64_t expires_in_s;    /* -1: being removed */
    size_t nflows;
    const struct rpt_flow *flows;
};

struct rpt_totals {
    size_t bindings;
    size_t flows[RPT_NSTATES]; /* by enum flow_state */
};

/* Header facts. */
struct rpt_info {
    const char *version;
    uint64_t uptime_s;
};

/* A status report is begin, each binding (first = true for the first one),
 * then end.  rpt_totals_add() counts a binding into totals as it goes. */
void rpt_status_begin(struct rpt_buf *b, enum rpt_format f, const struct rpt_info *info);
void rpt_status_binding(struct rpt_buf *b, enum rpt_format f, const struct rpt_binding *rb,
                        bool first);
void rpt_status_end(struct rpt_buf *b, enum rpt_format f, const struct rpt_totals *t);
void rpt_totals_add(struct rpt_totals *t, const struct rpt_binding *rb);

/* The whole metrics page. */
void rpt_metrics(struct rpt_buf *b, const struct sk_stats *st, const struct rpt_totals *t);

#endif
