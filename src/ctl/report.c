/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.c - status and metrics text; see report.h. */
#include "ctl/report.h"
#include "ctl/ctl_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Appends a string literal. */
#define PUT(b, lit) report_put((b), "" lit, sizeof(lit) - 1)

/* ---- the buffer ---- */

void report_buf_init(struct report_buf *b)
{
    *b = (struct report_buf){ 0 };
}

void report_buf_free(struct report_buf *b)
{
    free(b->p);
    report_buf_init(b);
}

/* Makes room for n more bytes and the NUL; sets the sticky error if not. */
static bool reserve(struct report_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 4096;
    char *p;

    if (b->err)
        return false;
    if (n > REPORT_MAX_BYTES - b->len) {
        b->err = -EFBIG;
        return false;
    }
    if (b->len + n + 1 <= b->cap)
        return true;
    while (cap < b->len + n + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->err = -ENOMEM;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void report_put(struct report_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void report_printf(struct report_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = b->err ? b->err : -EINVAL;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- escaping ---- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
               (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* The short JSON escape of a control byte, or NULL. */
static const char *json_short_escape(unsigned char c)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return NULL;
    }
}

void report_json_str(struct report_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s) {
        PUT(b, "null");
        return;
    }
    PUT(b, "\"");
    while (*p) {
        const char *esc = json_short_escape(*p);
        size_t n = esc ? 1 : utf8_len(p);

        if (esc)
            report_put(b, esc, strlen(esc));
        else if (*p < 0x20 || *p == 0x7f)
            report_printf(b, "\\u%04x", *p);
        else if (n > 0)
            report_put(b, (const char *)p, n);
        else
            PUT(b, "\\ufffd"); /* one invalid byte: never emit bad UTF-8 */
        p += n ? n : 1;
    }
    PUT(b, "\"");
}

/* Printable ASCII as is, anything else as \xNN: a hostile AOR must not
 * reach the admin's terminal as escape sequences (C1 controls included). */
static void text_str(struct report_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "-");
    const unsigned char *run = p;

    for (; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            continue;
        report_put(b, (const char *)run, (size_t)(p - run));
        report_printf(b, "\\x%02x", *p);
        run = p + 1;
    }
    report_put(b, (const char *)run, (size_t)(p - run));
}

/* ---- status: table ---- */

static void text_secs(struct report_buf *b, const char *prefix, int64_t v, const char *unit)
{
    char num[32];

    if (v < 0)
        snprintf(num, sizeof(num), "-");
    else
        snprintf(num, sizeof(num), "%" PRId64 "%s", v, unit);
    report_printf(b, "%s%-11s", prefix, num);
}

static void text_flow(struct report_buf *b, const struct report_flow *fl)
{
    report_printf(b, "    %-6u %-12s", fl->reg_id, flow_state_name(fl->state));
    text_secs(b, "", (int64_t)fl->since_s, "s");
    text_secs(b, "", fl->rtt_ms, "ms");
    text_secs(b, "", fl->flow_timer_s ? (int64_t)fl->flow_timer_s : -1, "s");
    report_printf(b, "%-9u", fl->failures);
    text_secs(b, "", fl->retry_in_s, "s");
    report_printf(b, "%-4s ", fl->transport ? fl->transport : "-");
    text_str(b, fl->proxy);
    if (fl->peer_cert_expiry > 0) {
        time_t na = (time_t)fl->peer_cert_expiry;
        struct tm tm;
        char when[32];

        if (gmtime_r(&na, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
            report_printf(b, "  certificate until %s", when);
    }
    if (fl->target) {
        PUT(b, "\n           -> ");
        text_str(b, fl->target);
        PUT(b, " (");
        text_str(b, fl->target_why);
        PUT(b, ")");
    }
    PUT(b, "\n");
}

static void text_binding(struct report_buf *b, const struct report_binding *rb)
{
    PUT(b, "\n");
    text_str(b, rb->aor);
    PUT(b, "  from ");
    text_str(b, rb->ua);
    PUT(b, "  service ");
    text_str(b, rb->service);
    if (rb->expires_in_s >= 0)
        report_printf(b, "  expires in %" PRId64 " s\n", rb->expires_in_s);
    else
        report_printf(b, "  being removed\n");
    PUT(b, "  instance ");
    text_str(b, rb->instance);
    PUT(b, "\n  contact  ");
    text_str(b, rb->contact);
    report_printf(b, "\n    %-6s %-12s%-11s%-11s%-11s%-9s%-11s%-4s %s\n", "REG-ID", "STATE",
                  "SINCE", "RTT", "FLOW-TIMER", "FAILURES", "RETRY-IN", "TP", "PROXY");
    for (size_t i = 0; i < rb->nflows; i++)
        text_flow(b, &rb->flows[i]);
}

/* ---- status: JSON ---- */

static void json_opt(struct report_buf *b, const char *key, int64_t v)
{
    if (v < 0)
        report_printf(b, ",\"%s\":null", key);
    else
        report_printf(b, ",\"%s\":%" PRId64, key, v);
}

static void json_flow(struct report_buf *b, const struct report_flow *fl, bool first)
{
    report_printf(b, "%s{\"reg_id\":%u,\"proxy\":", first ? "" : ",", fl->reg_id);
    report_json_str(b, fl->proxy);
    PUT(b, ",\"transport\":");
    report_json_str(b, fl->transport);
    report_printf(b, ",\"state\":\"%s\",\"since_s\":%" PRIu64, flow_state_name(fl->state),
                  fl->since_s);
    json_opt(b, "rtt_ms", fl->rtt_ms);
    json_opt(b, "flow_timer_s", fl->flow_timer_s ? (int64_t)fl->flow_timer_s : -1);
    report_printf(b, ",\"failures\":%u", fl->failures);
    json_opt(b, "retry_in_s", fl->retry_in_s);
    json_opt(b, "peer_cert_expiry", fl->peer_cert_expiry > 0 ? fl->peer_cert_expiry : -1);
    PUT(b, ",\"target\":");
    report_json_str(b, fl->target);
    PUT(b, ",\"target_why\":");
    report_json_str(b, fl->target_why);
    PUT(b, "}");
}

static void json_binding(struct report_buf *b, const struct report_binding *rb, bool first)
{
    static const char *const keys[] = { "ua", "service", "aor", "instance", "contact" };
    const char *vals[] = { rb->ua, rb->service, rb->aor, rb->instance, rb->contact };

    if (!first)
        PUT(b, ",");
    PUT(b, "{");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        report_printf(b, "%s\"%s\":", i ? "," : "", keys[i]);
        report_json_str(b, vals[i]);
    }
    json_opt(b, "expires_in_s", rb->expires_in_s);
    PUT(b, ",\"flows\":[");
    for (size_t i = 0; i < rb->nflows; i++)
        json_flow(b, &rb->flows[i], i == 0);
    PUT(b, "]}");
}

/* ---- status ---- */

void report_status_begin(struct report_buf *b, enum report_format f, const struct report_info *info)
{
    if (f == REPORT_JSON) {
        PUT(b, "{\"version\":");
        report_json_str(b, info->version);
        report_printf(b, ",\"uptime_s\":%" PRIu64 ",\"bindings\":[", info->uptime_s);
        return;
    }
    PUT(b, "sipkeep ");
    text_str(b, info->version);
    report_printf(b, ", up %" PRIu64 " s\n", info->uptime_s);
}

void report_status_binding(struct report_buf *b, enum report_format f,
                           const struct report_binding *rb, bool first)
{
    if (f == REPORT_JSON)
        json_binding(b, rb, first);
    else
        text_binding(b, rb);
}

void report_status_end(struct report_buf *b, enum report_format f, const struct report_totals *t)
{
    size_t nflows = 0;

    for (size_t i = 0; i < REPORT_NSTATES; i++)
        nflows += t->flows[i];
    if (f == REPORT_JSON) {
        report_printf(b, "],\"totals\":{\"bindings\":%zu,\"flows\":%zu,\"flows_by_state\":{",
                      t->bindings, nflows);
        for (size_t i = 0; i < REPORT_NSTATES; i++)
            report_printf(b, "%s\"%s\":%zu", i ? "," : "", flow_state_name((enum flow_state)i),
                          t->flows[i]);
        PUT(b, "}}}\n");
        return;
    }
    report_printf(b, "%s\ntotal: %zu binding%s, %zu flow%s (", t->bindings ? "" : "\nno bindings\n",
                  t->bindings, t->bindings == 1 ? "" : "s", nflows, nflows == 1 ? "" : "s");
    for (size_t i = 0; i < REPORT_NSTATES; i++)
        report_printf(b, "%s%zu %s", i ? ", " : "", t->flows[i],
                      flow_state_name((enum flow_state)i));
    PUT(b, ")\n");
}

/* The entry of service name, added when there is room; NULL if not.
 * Names of one config are one pointer: compared first. */
static struct report_service *service_of(struct report_totals *t, const char *name)
{
    for (size_t i = 0; i < t->nservices; i++) {
        if (t->services[i].name == name || strcmp(t->services[i].name, name) == 0)
            return &t->services[i];
    }
    if (t->nservices == CFG_MAX_SERVICES)
        return NULL;
    t->services[t->nservices] = (struct report_service){ .name = name };
    return &t->services[t->nservices++];
}

static struct report_group *group_of(struct report_totals *t, const char *service,
                                     unsigned reg_id)
{
    for (size_t i = 0; i < t->ngroups; i++) {
        struct report_group *g = &t->groups[i];
        if (g->reg_id == reg_id && (g->service == service || strcmp(g->service, service) == 0))
            return g;
    }
    if (t->ngroups == REPORT_MAX_GROUPS)
        return NULL;
    t->groups[t->ngroups] = (struct report_group){ service, reg_id, { 0 }, -1, 0 };
    return &t->groups[t->ngroups++];
}

/* The per-service counts of rb; false when the limits leave no room. */
static bool add_per_service(struct report_totals *t, const struct report_binding *rb)
{
    struct report_service *sv = rb->service ? service_of(t, rb->service) : NULL;
    enum report_ua_state st = rb->expires_in_s < 0 ? REPORT_UA_REMOVING : REPORT_UA_REGISTERING;

    if (!sv)
        return false;
    for (size_t i = 0; i < rb->nflows; i++) {
        const struct report_flow *fl = &rb->flows[i];
        struct report_group *g = group_of(t, sv->name, fl->reg_id);

        if (fl->state == FLOW_ACTIVE && st == REPORT_UA_REGISTERING)
            st = REPORT_UA_REGISTERED;
        if (!g || (size_t)fl->state >= REPORT_NSTATES)
            continue;
        g->flows[fl->state]++;
        if (fl->state == FLOW_ACTIVE && fl->pong_age_ms > g->pong_age_max_ms)
            g->pong_age_max_ms = fl->pong_age_ms;
        if (fl->peer_cert_expiry > 0 && (g->peer_cert_expiry_min == 0 ||
                                         fl->peer_cert_expiry < g->peer_cert_expiry_min))
            g->peer_cert_expiry_min = fl->peer_cert_expiry;
    }
    sv->bindings[st]++;
    return true;
}

void report_totals_add(struct report_totals *t, const struct report_binding *rb)
{
    t->bindings++;
    for (size_t i = 0; i < rb->nflows; i++) {
        if ((size_t)rb->flows[i].state < REPORT_NSTATES)
            t->flows[rb->flows[i].state]++;
    }
    if (!add_per_service(t, rb))
        t->unlisted++;
}

/* ---- metrics ---- */

static void metric_head(struct report_buf *b, const char *name, const char *type,
                        const char *help)
{
    report_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_counter(struct report_buf *b, const char *name, const char *help, uint64_t v)
{
    metric_head(b, name, "counter", help);
    report_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* Service names are [A-Za-z0-9_-] (config validation): label values as
 * they are.  One series per state for every service and reg-id with flows,
 * so that "active == 0" can be alerted on. */
static void metrics_per_service(struct report_buf *b, const struct report_totals *t)
{
    static const char *const ua_states[] = { "registering", "registered", "removing" };

    metric_head(b, "sipkeep_service_bindings", "gauge",
                "Legacy UA bindings by service and state (registered: a flow holds the "
                "registration; removing: being de-registered).");
    for (size_t i = 0; i < t->nservices; i++) {
        for (size_t s = 0; s < REPORT_UA_NSTATES; s++)
            report_printf(b, "sipkeep_service_bindings{service=\"%s\",state=\"%s\"} %zu\n",
                          t->services[i].name, ua_states[s], t->services[i].bindings[s]);
    }
    metric_head(b, "sipkeep_service_flows", "gauge",
                "RFC 5626 flows by service, reg-id (outbound proxy) and state.");
    for (size_t i = 0; i < t->ngroups; i++) {
        const struct report_group *g = &t->groups[i];
        for (size_t s = 0; s < REPORT_NSTATES; s++)
            report_printf(b, "sipkeep_service_flows{service=\"%s\",reg_id=\"%u\",state=\"%s\"} "
                          "%zu\n", g->service, g->reg_id, flow_state_name((enum flow_state)s),
                          g->flows[s]);
    }
    metric_head(b, "sipkeep_service_pong_age_max_seconds", "gauge",
                "Seconds since the last keep-alive pong, the oldest among the active flows "
                "of a service and reg-id that had one on their connection.");
    for (size_t i = 0; i < t->ngroups; i++) {
        const struct report_group *g = &t->groups[i];
        if (g->pong_age_max_ms >= 0)
            report_printf(b, "sipkeep_service_pong_age_max_seconds{service=\"%s\",reg_id=\"%u\"} "
                          "%" PRId64 ".%03" PRId64 "\n", g->service, g->reg_id,
                          g->pong_age_max_ms / 1000, g->pong_age_max_ms % 1000);
    }
    metric_head(b, "sipkeep_service_peer_cert_expiry_timestamp_seconds", "gauge",
                "The earliest notAfter (Unix time) of the edge certificates on the TLS "
                "connections of a service and reg-id.");
    for (size_t i = 0; i < t->ngroups; i++) {
        const struct report_group *g = &t->groups[i];
        if (g->peer_cert_expiry_min > 0)
            report_printf(b, "sipkeep_service_peer_cert_expiry_timestamp_seconds{service=\"%s\","
                          "reg_id=\"%u\"} %" PRId64 "\n", g->service, g->reg_id,
                          g->peer_cert_expiry_min);
    }
}

static void metrics_recoveries(struct report_buf *b, const struct sk_stats *st)
{
    static const char *const causes[SK_DOWN_NCAUSES] = { "connection", "keepalive",
                                                         "register", "other" };

    metric_head(b, "sipkeep_flow_recoveries_by_cause_total", "counter",
                "Flows that failed and work again, by what failed them first.");
    for (size_t i = 0; i < SK_DOWN_NCAUSES; i++)
        report_printf(b, "sipkeep_flow_recoveries_by_cause_total{cause=\"%s\"} %" PRIu64 "\n",
                      causes[i], st->flow_recoveries_by_cause[i]);
}

void report_metrics(struct report_buf *b, const struct sk_stats *st, const struct report_totals *t)
{
    metric_head(b, "sipkeep_bindings", "gauge", "Legacy UA bindings registered through sipkeep.");
    report_printf(b, "sipkeep_bindings %zu\n", t->bindings);
    metric_head(b, "sipkeep_flows", "gauge", "RFC 5626 flows by state.");
    for (size_t i = 0; i < REPORT_NSTATES; i++)
        report_printf(b, "sipkeep_flows{state=\"%s\"} %zu\n", flow_state_name((enum flow_state)i),
                      t->flows[i]);
    metric_head(b, "sipkeep_registrations_total", "counter",
                "Upstream REGISTER transactions by result (challenges not counted).");
    report_printf(b, "sipkeep_registrations_total{result=\"ok\"} %" PRIu64 "\n"
                  "sipkeep_registrations_total{result=\"failed\"} %" PRIu64 "\n",
                  st->reg_ok, st->reg_failed);
    metric_counter(b, "sipkeep_keepalives_sent_total", "CRLF keep-alive pings sent on flows.",
                   st->ka_sent);
    metric_counter(b, "sipkeep_keepalives_lost_total",
                   "Keep-alive pings without a pong in time (each fails its flow).", st->ka_lost);
    metric_counter(b, "sipkeep_flow_recoveries_total",
                   "Flows that failed and work again.", st->flow_recoveries);
    metric_head(b, "sipkeep_messages_total", "counter",
                "SIP messages by direction and side (ua: phones, flow: edge proxies).");
    report_printf(b, "sipkeep_messages_total{direction=\"in\",side=\"ua\"} %" PRIu64 "\n"
                  "sipkeep_messages_total{direction=\"out\",side=\"ua\"} %" PRIu64 "\n"
                  "sipkeep_messages_total{direction=\"in\",side=\"flow\"} %" PRIu64 "\n"
                  "sipkeep_messages_total{direction=\"out\",side=\"flow\"} %" PRIu64 "\n",
                  st->msg_ua_in, st->msg_ua_out, st->msg_flow_in, st->msg_flow_out);
    metric_counter(b, "sipkeep_parse_errors_total", "Messages dropped as malformed.",
                   st->parse_errors);
    metric_counter(b, "sipkeep_policy_drops_total",
                   "Messages refused by policy (ua.allow, unknown domain, unregistered UA).",
                   st->policy_drops);
    metric_head(b, "sipkeep_tls_handshakes_total", "counter",
                "TLS handshakes completed on flows, by whether a cached session resumed.");
    report_printf(b, "sipkeep_tls_handshakes_total{resumed=\"false\"} %" PRIu64 "\n"
                  "sipkeep_tls_handshakes_total{resumed=\"true\"} %" PRIu64 "\n",
                  st->tls_handshakes - st->tls_resumed, st->tls_resumed);
    metrics_per_service(b, t);
    metrics_recoveries(b, st);
}
