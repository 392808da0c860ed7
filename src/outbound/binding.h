/* SPDX-License-Identifier: GPL-2.0-or-later */
/* binding.h - one phone's registration as the rest of sipkeep sees it
 * (src/DESIGN.md, "Binding"): looked up by id, by the phone's address and
 * AOR, or walked; its identity, its phone and its flows.  The object, its
 * constructor (binding_new) and destructor (binding_free) are the
 * registration agent's (binding.c, declared in regagent_int.h): bindings
 * are made and freed only by the agent.  Pointers returned here are valid
 * until control returns to the event loop.
 */
#ifndef SIPKEEP_OUTBOUND_BINDING_H
#define SIPKEEP_OUTBOUND_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/slice.h"

struct binding;
struct flow;
struct regagent;

/* The binding of the UA at src whose AOR's user@host equals that of
 * from_uri (SLICE_NULL: any binding of that UA), or NULL. */
struct binding *binding_find_ua(struct regagent *ra, const struct sockaddr *src,
                                struct slice from_uri);
/* The binding with this id, or NULL (it may have gone away). */
struct binding *binding_by_id(struct regagent *ra, uint32_t id);
/* Number of bindings (for status and benchmarks). */
size_t binding_count(const struct regagent *ra);

/* Iterates over the bindings, newest first: prev NULL gives the first,
 * NULL means no more.  Read-only; nothing may change between calls (one
 * walk within one event-loop callback). */
const struct binding *binding_next(const struct regagent *ra, const struct binding *prev);

uint32_t binding_id(const struct binding *b);
const struct ua_addr *binding_ua(const struct binding *b);

/* Read-only views for status output; strings belong to the binding. */
const char *binding_aor(const struct binding *b);          /* To URI as the UA wrote it */
const char *binding_contact(const struct binding *b);      /* the UA's Contact URI */
/* "urn:uuid:..." sent upstream as +sip.instance, or NULL for a third-party
 * registration (From != To, §4.2.3: no instance-id is sent). */
const char *binding_instance(const struct binding *b);
/* The key of b's Record-Route flow token (proxy/rroute.h): its persisted
 * instance-id, also for a third-party binding; never shown to the phone. */
const char *binding_token_key(const struct binding *b);
/* The phone's last REGISTER as it sent it (raw, *len bytes), or NULL: the
 * router reads its Via to tell a phone behind another NAT. */
const char *binding_ua_register(const struct binding *b, size_t *len);
const struct cfg_service *binding_service(const struct binding *b);
/* Milliseconds until the binding lapses without a UA refresh, -1 if its
 * removal is under way. */
int64_t binding_expires_in_ms(const struct binding *b);
size_t binding_nflows(const struct binding *b);
/* Flow idx (reg-id idx + 1), idx < binding_nflows(b). */
const struct flow *binding_flow(const struct binding *b, unsigned idx);
/* Picks the flow to send a UA request on (§4.3: any working flow, lowest
 * reg-id first; else any flow whose transport is up).  Returns 0 and *idx,
 * or -ENOTCONN when no flow is up or b's instance-id is not on disk yet
 * (its flows may be connected: nothing goes upstream before). */
int binding_pick_flow(const struct binding *b, unsigned *idx);
/* The local address and transport ("TCP"/"TLS") of flow idx, for Via. */
int binding_flow_via(const struct binding *b, unsigned idx, struct sockaddr_storage *local,
                     const char **transport);
/* Sends bytes on flow idx.  Returns 0 or -errno (-ENOTCONN when down). */
int binding_flow_send(struct binding *b, unsigned idx, const char *buf, size_t len);
/* Seconds a UA should wait before its request can leave on a flow of b
 * (RFC 3261 §20.33 Retry-After for the 503s sipkeep makes): the shortest
 * remaining back-off of b's flows, or time until a REGISTER that an edge's
 * Retry-After holds goes (regagent.h), rounded up, at least 1; when no
 * flow is in either (they are connecting), BINDING_RETRY_AFTER_DEFAULT_S. */
#define BINDING_RETRY_AFTER_DEFAULT_S 5u
unsigned binding_retry_after_s(const struct binding *b);
/* Checks flow idx with an immediate keep-alive (flow_ping_now); for a 430
 * Flow Failed answering a request sent on it.  Out-of-range idx: no-op. */
void binding_flow_check(struct binding *b, unsigned idx);

#endif
