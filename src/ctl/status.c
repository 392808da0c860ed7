/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c - control answers from the live daemon; see status.h. */
#include "ctl/status.h"

#include "core/addr.h"
#include "outbound/flow.h"
#include "outbound/regagent.h"
#include "transport/stream.h"

/* Milliseconds to whole seconds, keeping -1 ("none") as is. */
static int64_t ms_to_s(int64_t ms)
{
    return ms < 0 ? -1 : ms / 1000;
}

/* tgt: the caller's buffer (ADDR_STR_MAX) for the target's address. */
static void snap_flow(const struct flow *f, struct report_flow *out, char *tgt)
{
    const struct cfg_proxy *p = flow_proxy(f);
    const struct resolve_target *t = flow_target(f);
    struct flow_info fi;

    flow_get_info(f, &fi);
    *out = (struct report_flow){
        .reg_id = flow_reg_id(f),
        .proxy = p->uri,
        /* the target's: a name's NAPTR may have picked another */
        .transport = cfg_transport_name(flow_transport(f)),
        .state = fi.state,
        .since_s = fi.since_ms / 1000,
        .rtt_ms = fi.rtt_ms,
        .flow_timer_s = fi.flow_timer,
        .failures = fi.failures,
        /* Rounded up: "retry in 0 s" would read as "now". */
        .retry_in_s = fi.retry_in_ms < 0 ? -1 : (fi.retry_in_ms + 999) / 1000,
        .pong_age_ms = fi.pong_age_ms,
        .peer_cert_expiry = fi.peer_cert_expiry,
        .target = t ? addr_format((const struct sockaddr *)&t->addr, true, tgt, ADDR_STR_MAX)
                    : NULL,
        .target_why = t ? t->why : NULL,
    };
}

/* Snapshot of b; ua is the caller's buffer for the address text, tgt
 * CFG_MAX_OUTBOUND_PROXIES of ADDR_STR_MAX for the flows' targets. */
static void snap_binding(const struct binding *b, struct report_binding *rb,
                         struct report_flow *flows, char *ua, size_t uasz,
                         char (*tgt)[ADDR_STR_MAX])
{
    size_t n = binding_nflows(b);

    for (size_t i = 0; i < n && i < CFG_MAX_OUTBOUND_PROXIES; i++)
        snap_flow(binding_flow(b, (unsigned)i), &flows[i], tgt[i]);
    *rb = (struct report_binding){
        .ua = addr_format((const struct sockaddr *)&binding_ua(b)->src, true, ua, uasz),
        .service = binding_service(b)->name,
        .aor = binding_aor(b),
        .instance = binding_instance(b),
        .contact = binding_contact(b),
        .expires_in_s = ms_to_s(binding_expires_in_ms(b)),
        .nflows = n < CFG_MAX_OUTBOUND_PROXIES ? n : CFG_MAX_OUTBOUND_PROXIES,
        .flows = flows,
    };
}

/* Walks every binding: into out when f is a status format, else (out
 * NULL) only into the totals. */
static void walk(const struct ctl_source *src, struct report_buf *out, enum report_format f,
                 struct report_totals *t)
{
    const struct regagent *ra = src->router ? router_agent(src->router) : NULL;
    const struct binding *b = NULL;

    while (ra && (b = binding_next(ra, b)) != NULL) {
        struct report_flow flows[CFG_MAX_OUTBOUND_PROXIES];
        struct report_binding rb;
        char ua[ADDR_STR_MAX], tgt[CFG_MAX_OUTBOUND_PROXIES][ADDR_STR_MAX];

        snap_binding(b, &rb, flows, ua, sizeof(ua), tgt);
        if (out)
            report_status_binding(out, f, &rb, t->bindings == 0);
        report_totals_add(t, &rb);
    }
}

int ctl_status_answer(enum ctl_request req, struct report_buf *out, void *arg)
{
    const struct ctl_source *src = arg;
    static const struct sk_stats zero;
    struct report_totals t = { 0 };
    enum report_format f = req == CTL_REQ_STATUS_JSON ? REPORT_JSON : REPORT_TEXT;
    struct report_info info = {
        .version = src->version,
        .uptime_s = (loop_now(src->loop) - src->started_ms) / 1000,
    };

    if (req == CTL_REQ_METRICS) {
        struct sk_stats st = src->stats ? *src->stats : zero;

        walk(src, NULL, f, &t);
        report_metrics(out, &st, &t);
        return 0;
    }
    report_status_begin(out, f, &info);
    walk(src, out, f, &t);
    report_status_end(out, f, &t);
    return 0;
}
