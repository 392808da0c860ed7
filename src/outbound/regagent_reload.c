/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent_reload.c - a new configuration for a running registration agent
 * (SIGHUP); see regagent_reload() in regagent.h.
 *
 * Ownership: bindings point at their cfg_service and flows at their
 * cfg_proxy.  A binding of an unchanged service is re-pointed, with its
 * flows, to the equal service of the new cfg, so nothing of it refers to
 * the old cfg afterwards.  A retired binding keeps pointing into the old
 * cfg until it is freed; regagent_retired() tells the caller when the old
 * cfg can go. */
#include <inttypes.h>
#include <string.h>

#include "core/log.h"
#include "outbound/regagent_int.h"

/* Same service, new cfg: nothing on the wire changes. */
static void repoint(struct binding *b, const struct cfg_service *nsvc)
{
    b->svc = nsvc;
    for (unsigned i = 0; i < b->nflows; i++)
        flow_set_proxy(b->flows[i].flow,
                       &nsvc->outbound_proxies[i % nsvc->n_outbound_proxies]);
}

/* De-registers b on every flow that is up (Expires: 0 with its instance-id
 * and reg-id, RFC 5626 §4.2.1 / RFC 3261 §10.2.2) and frees it on the first
 * 2xx (reg_success) or after RA_RELOAD_DEREG_MS: best effort, bounded. */
static void retire(struct regagent *ra, struct binding *b, bool changed)
{
    bool sent = false;

    b->retired = true;
    ra->n_retired++;
    b->keep_state = changed;
    b->removing = true;
    b->ua_waiting = false;
    log_info("binding_retired", "binding=%" PRIu32 " aor=%s service=%s reason=\"service %s\"",
             b->id, b->aor, b->svc->name, changed ? "changed" : "removed");
    for (unsigned i = 0; i < b->nflows; i++) {
        if (regagent_flow_up(&b->flows[i])) {
            regagent_send_register(&b->flows[i], 0);
            sent = true;
        }
    }
    if (!sent || loop_timer_set(ra->env.loop, &b->reap, RA_RELOAD_DEREG_MS) < 0)
        binding_free(b);
}

void regagent_reload(struct regagent *ra, const struct cfg *ncfg)
{
    size_t kept = 0, retired = 0;
    struct binding *next;

    for (struct binding *b = ra->all; b; b = next) {
        const struct cfg_service *nsvc;

        next = b->next_all;
        if (b->retired)
            continue;
        nsvc = cfg_service_named(ncfg, b->svc->name);
        if (nsvc && cfg_service_equal(b->svc, nsvc)) {
            repoint(b, nsvc);
            kept++;
        } else {
            retire(ra, b, nsvc != NULL);
            retired++;
        }
    }
    ra->env.cfg = ncfg;
    /* the DNS cache follows the proxies the new cfg lists */
    log_info("bindings_reloaded", "kept=%zu retired=%zu dns_entries_pruned=%zu", kept, retired,
             resolve_prune(ra->env.resolver, ncfg));
}

size_t regagent_retired(const struct regagent *ra)
{
    return ra->n_retired;
}
