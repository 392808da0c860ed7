/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router.h - proxy logic between legacy UAs and their flows.
 *
 * From the UA (router_from_ua): policy (ua.allow, known service), then
 * REGISTER to the registration agent, other requests out on the UA's flow
 * with a single Via (ours; the UA's Via stack waits in a transaction table
 * and comes back on the response), `Supported: outbound` and, for
 * dialog-forming requests, `ob` in the Contact (RFC 5626 §4.3).  Responses
 * from the UA to requests that came in on a flow go back on that flow.
 *
 * From a flow: requests (INVITE, MESSAGE, NOTIFY, OPTIONS, BYE, CANCEL ...)
 * go to the UA that owns the flow with our Via pushed; responses to the
 * UA's requests get the UA's Vias back.  Media and dialogs are untouched.
 * A request that came on a reliable (TCP/TLS) flow is retransmitted to the
 * UA over UDP until it answers (RFC 3261 §16.6 item 10, §17.1.1.2,
 * §17.1.2.2; proxy/txn.h); one from a UDP flow is not: the edge
 * retransmits it, and each copy is relayed.
 */
#ifndef SIPKEEP_PROXY_ROUTER_H
#define SIPKEEP_PROXY_ROUTER_H

#include <stddef.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "core/stats.h"
#include "state/instid.h"
#include "state/regstate.h"

struct router;

struct router_env {
    struct loop *loop;
    const struct cfg *cfg;
    struct instid_store *ids;
    /* Sends a SIP message to a UA through the ingress it used. */
    void (*send_ua)(const struct ua_addr *ua, const char *buf, size_t len, void *arg);
    void *arg;
    /* Counters (policy drops, parse errors; handed on to the registration
     * agent and the flows); may be NULL. */
    struct sk_stats *stats;
    /* Stored registrations for restarts (regstate.h), or NULL. */
    struct regstate *state;
};

/* Creates the router with its registration agent and the TLS contexts of
 * the configured services.  Returns 0, or -errno with a message in err
 * (e.g. an unreadable tls.ca_file). */
int router_new(struct router **out, const struct router_env *env, char *err, size_t errsz);
/* Closes every flow and frees everything. */
void router_free(struct router *r);

/* A datagram from a legacy UA.  Never fails: bad input is logged and
 * dropped, or answered (400/403/404/483/503) where SIP says so. */
void router_from_ua(struct router *r, const char *buf, size_t len, const struct ua_addr *ua);

/* SIGHUP: switches to ncfg (see regagent_reload(); ncfg must outlive its
 * use, and the previous cfg must stay alive while router_retired() is
 * non-zero).  Returns 0, or -errno with a message in err when a service's
 * TLS context cannot be made: then nothing changed. */
int router_reload(struct router *r, const struct cfg *ncfg, char *err, size_t errsz);
/* Bindings retired by a reload that still reference an old cfg. */
size_t router_retired(const struct router *r);
/* Restart: re-registers the stored bindings (see regagent_restore()).
 * Returns how many. */
size_t router_restore(struct router *r, int64_t now_s,
                      void *(*ingress_for)(const struct sockaddr_storage *local, void *arg),
                      void *arg);

struct regagent;
/* The registration agent, read-only, to walk the bindings for status
 * (see binding_next()). */
const struct regagent *router_agent(const struct router *r);
/* The same, to act on its flows (outbound/wanwatch.h: a WAN change). */
struct regagent *router_agent_rw(struct router *r);

#endif
