/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_calc.c - the stateless parts of flow.h: the RFC 5626 §4.5
 * back-off, the §4.4 keep-alive interval and state names.  Kept apart
 * from the state machine in flow.c so that each file stays readable.
 * Where a flow goes is outbound/resolve.c's. */
#include "outbound/flow.h"

#include "core/rand.h"

uint64_t flow_backoff_ms(const struct flow_recovery *rc, unsigned failures,
                         bool others_working, uint32_t r)
{
    unsigned base = others_working ? rc->base_not_failed : rc->base_all_failed;
    uint64_t w;

    /* Appendix A: "0 [failures]: 0 s". */
    if (failures == 0)
        return 0;
    /* §4.5: "W = min (max-time, (base-time * (2 ^ consecutive-failures)))"
     * (the shift is done only when it cannot pass max-time or overflow). */
    if (failures >= 32 || base > (rc->max_time >> failures))
        w = rc->max_time;
    else
        w = (uint64_t)base << failures;
    /* §4.5: "a uniform random time between 50 and 100% of the upper-bound
     * wait time". */
    w *= 1000u;
    return rand_uniform(w / 2, w, r);
}

uint64_t flow_keepalive_ms(const struct cfg_keepalive *ka, unsigned flow_timer_s,
                           uint32_t r)
{
    uint64_t upper;

    /* §4.4: with Flow-Timer, each interval "randomly distributed between 80%
     * and 100% of the server-provided time". */
    if (flow_timer_s > 0)
        upper = (uint64_t)flow_timer_s * 1000u;
    /* A configured interval is an upper bound chosen by the operator; it is
     * jittered the same way so that many flows do not ping in lock-step
     * (§4.4.1 asks for a random lower bound 20 % below the upper one). */
    else if (ka->interval != CFG_KEEPALIVE_AUTO)
        upper = (uint64_t)ka->interval * 1000u;
    /* §4.4.1 default for TCP/TLS: 95-120 s. */
    else
        return rand_uniform(FLOW_KA_DEFAULT_MIN_MS, FLOW_KA_DEFAULT_MAX_MS, r);
    return rand_uniform(upper * 4 / 5, upper, r);
}

const char *flow_state_name(enum flow_state s)
{
    switch (s) {
    case FLOW_IDLE:
        return "idle";
    case FLOW_CONNECTING:
        return "connecting";
    case FLOW_REGISTERING:
        return "registering";
    case FLOW_ACTIVE:
        return "active";
    case FLOW_BACKOFF:
        return "backoff";
    }
    return "?";
}
