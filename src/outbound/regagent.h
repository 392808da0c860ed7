/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent.h - the registration agent: for each legacy UA binding (AOR +
 * the host of its Contact) sipkeep registers upstream as an RFC 5626 user
 * agent would.
 *
 * One binding per phone: AOR and Contact host (lowercase, no port or URI
 * parameters; instid_ua_key), so a phone that comes back from a new port
 * or with a new rinstance finds its binding, and its new Contact goes
 * upstream under the same instance-id and reg-ids (the registrar replaces
 * the old one, RFC 5626 §6).  Each binding has an instance-id (§4.1,
 * persisted), one flow per configured outbound proxy with reg-id =
 * position (§4.2.1), its own
 * Call-ID and CSeq space per flow (RFC 3261 §10.2.4: a UA keeps one Call-ID
 * per registrar; our own re-registrations after a flow recovery then never
 * collide with the CSeq the UA uses).  The UA's REGISTER is rewritten:
 * single Via (ours), Contact with +sip.instance and reg-id, Supported:
 * outbound, path.  The response goes back with the UA's own Via stack,
 * Call-ID, CSeq and Contact, its expiry clamped to ua.register_expires
 * (which the upstream REGISTER asks for too).  With several flows the UA
 * gets the best answer (a 2xx from any flow, else a challenge, else another
 * failure, else a 503 with Retry-After) once every flow has answered; its
 * credentials go only to the flow whose challenge they answer.
 *
 * Messages arriving on a flow that are not responses to the agent's own
 * REGISTERs go to env->flow_msg (the router maps them to the UA).
 */
#ifndef SIPKEEP_OUTBOUND_REGAGENT_H
#define SIPKEEP_OUTBOUND_REGAGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "core/rand.h"
#include "core/stats.h"
#include "outbound/binding.h"
#include "outbound/flow.h"
#include "sip/msg.h"
#include "state/instid.h"
#include "state/regstate.h"

struct regagent;
struct binding;

struct regagent_env {
    struct loop *loop;
    const struct cfg *cfg;
    struct instid_store *ids;
    /* TLS client context per service (index as in cfg->services); NULL for
     * services without TLS proxies. */
    SSL_CTX *const *tls;
    /* Sends a SIP message to a UA (over the ingress it used). */
    void (*send_ua)(const struct ua_addr *ua, const char *buf, size_t len, void *arg);
    /* A message on flow flow_idx of b that is not a response to one of the
     * agent's REGISTERs.  m and its buffer are valid during the call. */
    void (*flow_msg)(struct binding *b, unsigned flow_idx, const struct sipmsg *m,
                     void *arg);
    void *arg;
    /* Counters (registrations, parse errors; handed on to the flows); may
     * be NULL. */
    struct sk_stats *stats;
    /* Stored registrations (restart re-registration), or NULL: none kept. */
    struct regstate *state;
    /* Where the flows' proxy names lead (outbound/resolve.h), or NULL: the
     * agent makes its own from /etc/resolv.conf (and frees it). */
    struct resolver *resolver;
    /* Jitter (core/rand.h) of the flows and of the REGISTERs an edge's
     * Retry-After holds; next == NULL (zeroed): the kernel's.  Tests fix it. */
    struct rand_src rng;
};

/* Creates an agent; env is copied.  Returns 0, -ENOMEM, or the -errno of
 * watching env->ids' commit descriptor.  A new phone's instance-id is
 * synced to disk together with the other new phones of the same loop
 * iteration (one batch: one fdatasync, on the instid worker thread
 * unless the disk is fast, instid_commit_start), or of the next batch when
 * one is on the disk already, before its REGISTER goes upstream (its
 * flows connect meanwhile and carry nothing until then); with
 * SIPKEEP_BENCH_INSTID_SYNC_EACH set in the environment each is synced on
 * its own, on the loop thread (the storm benchmark's baseline,
 * tests/bench/storm.sh). */
int regagent_new(struct regagent **out, const struct regagent_env *env);
/* Frees every binding (closing its flows) and the agent. */
void regagent_free(struct regagent *ra);

/* Handles a REGISTER from a legacy UA (m parsed from its datagram, svc the
 * service its Request-URI domain selects).  The UA is always answered,
 * through env->send_ua: the mapped upstream response, or sipkeep's own
 * 4xx/5xx when the request cannot be served (reason logged). */
void regagent_register(struct regagent *ra, const struct cfg_service *svc,
                       const struct sipmsg *m, const struct ua_addr *ua);
/* An edge's Retry-After (a 503 to one flow's REGISTER) holds the REGISTERs
 * of every working flow to that edge address, not only retries that
 * reconnect (outbound/pacer.h; only with recovery.connect_rate > 0, as
 * the pacing): a refresh, a phone's REGISTER or sipkeep's own, that falls
 * due during the hold is sent after it, at a random point of a span as
 * long as the hold (so they leave about as fast as they fell due), but
 * never later than RA_HOLD_MARGIN_MS before the flow's registration
 * lapses: a hold never lets a registration expire.  A phone waiting for
 * such a REGISTER's answer is answered 503 with Retry-After (the edge's
 * word, passed on) unless another flow gives a 2xx.  De-registrations are
 * not held. */
#define RA_HOLD_MARGIN_MS 5000u

/* With several flows, how long the UA's answer waits for the other flows
 * once one has answered it without a 2xx (a 2xx goes at once): long enough
 * for a registrar's round trip, well inside the UA's own Timer F (32 s)
 * even when another flow is still connecting or never answers. */
#define RA_BEST_WAIT_MS 4000u
/* How long the answer to the phone's REGISTER is kept for its
 * retransmissions: 64*T1, Timer J of the server transaction (RFC 3261
 * §17.2.2).  The phone's Timer F (64*T1 from its first send, §17.1.2.2)
 * has ended by then, so no retransmission can still need it, and 10,000
 * idle bindings do not each hold a ~400-byte response. */
#define RA_RESP_KEEP_MS 32000u
/* At most this much of them (one answer per phone REGISTER: 160,000 of
 * ~400 bytes, the scale bench's 200 OK); beyond, an answer is sent but
 * not kept. */
#define RA_ANSWERS_MAX (64u * 1024u * 1024u)

/* Restart (regagent_restore.c): re-registers upstream, at once, every
 * binding stored in env->state whose UA registration has not lapsed
 * (wall clock now_s, Unix seconds) and whose service still exists with the
 * AOR's domain, on new flows (same instance-id and reg-ids, new Call-IDs,
 * fresh CSeq).  ingress_for maps the UA's stored local address to the
 * ingress handle of struct ua_addr (NULL: the entry is unusable).  A UA's
 * next REGISTER finds its restored binding and refreshes it.  Entries not
 * restored are logged and removed from the store.  Returns the number of
 * bindings restored. */
size_t regagent_restore(struct regagent *ra, int64_t now_s,
                        void *(*ingress_for)(const struct sockaddr_storage *local, void *arg),
                        void *arg);

/* Reload (regagent_reload.c): switches the agent to ncfg, which must stay
 * alive as long as the agent uses it; env->tls must already be indexed as
 * ncfg->services.  A binding whose service has an equal one in ncfg
 * (cfg_service_equal, same name) is moved to it untouched, flows and
 * connections included.  Any other binding (service removed or changed) is
 * retired: de-registered upstream (Expires: 0 on each flow that is up) and
 * freed on the first answer or after RA_RELOAD_DEREG_MS at most; until
 * then it still points into the old cfg, which the caller keeps alive while
 * regagent_retired() is non-zero.  The stored record of a binding whose
 * service was removed goes; a changed service's stays, and once the old
 * binding is gone the record registers it again under the new settings (as
 * regagent_restore() does; only once regagent_restore() has been called,
 * which gives the ingress mapper).  Never fails. */
#define RA_RELOAD_DEREG_MS 4000u
void regagent_reload(struct regagent *ra, const struct cfg *ncfg);
/* Bindings retired by a reload that still exist (they reference an old
 * cfg). */
size_t regagent_retired(const struct regagent *ra);

#endif
