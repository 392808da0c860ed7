/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent_int.h - internals shared by the files of the registration
 * agent: regagent.c (REGISTER transactions, flow callbacks), binding.c
 * (the binding object), reg_answer.c (the answer to the phone), reg_msg.c
 * (building upstream REGISTERs and UA responses), reg_retry.c,
 * regagent_reload.c and regagent_restore.c.  Not a public API. */
#ifndef SIPKEEP_OUTBOUND_REGAGENT_INT_H
#define SIPKEEP_OUTBOUND_REGAGENT_INT_H

#include "core/agelog.h"
#include "core/rcbuf.h"
#include "outbound/flow.h"
#include "outbound/regagent.h"

#define RA_MSG_MAX 20000u
#define RA_BRANCH_MAX 48
#define RA_CALLID_MAX 48

struct reg_flow {
    struct binding *b;
    unsigned idx;                    /* reg-id - 1 */
    struct flow *flow;
    char call_id[RA_CALLID_MAX];     /* upstream Call-ID of this flow */
    uint32_t cseq;                   /* last upstream CSeq sent */
    char branch[RA_BRANCH_MAX];      /* pending REGISTER's branch, "" = none */
    bool answered_ua;                /* this flow's answer already counted */
    /* The UA's Authorization / Proxy-Authorization in b->tmpl go on this
     * flow (reg_retry_route_credentials): they answer its challenge. */
    bool ua_creds;
    char *chal_nonce;                /* nonce of the last challenge this flow got */
    /* Error-response handling (reg_retry.c). */
    bool no_regid;       /* 439: this flow registers without instance/reg-id */
    bool await_ua;       /* challenged without credentials: the UA's next
                            REGISTER restarts the flow */
    bool held;           /* refresh sends a REGISTER an edge's Retry-After
                            deferred (regagent.c, RA_HOLD_MARGIN_MS) */
    char *auth;          /* one-shot credentials for the next REGISTER, or NULL */
    bool auth_proxy;     /* ... as Proxy-Authorization (a 407's) */
    char *auth_nonce;    /* the nonce last answered, for the nonce-count */
    uint32_t auth_nc;    /* nonce-count used with auth_nonce */
    unsigned auth_tries; /* challenges answered since the last 2xx */
    /* The registrar granted this flow less than the binding lives: sipkeep
     * refreshes it itself before it lapses (regagent_on_refresh).  Also
     * the time of a REGISTER an edge's Retry-After held (held set). */
    struct loop_timer refresh;
    uint64_t reg_until;  /* loop time the registrar's last grant to this
                            flow lapses (its last 2xx), 0: none */
};

struct binding {
    struct regagent *ra;
    uint32_t id;
    const struct cfg_service *svc;
    char *aor;           /* To URI as the UA wrote it */
    char *contact;       /* the UA's Contact element as last sent */
    char *contact_uri;   /* the URI inside it (changes when the phone moves) */
    char *key;           /* instid_ua_key: "aor|host" (ra->by_key, instance-ids) */
    const char *instance;/* "urn:uuid:..." (owned by the instid store) */
    bool third_party;    /* From != To: no instance-id / reg-id (§4.2.3) */
    struct ua_addr ua;
    /* The UA's last REGISTER, raw; shared with its stored record when it
     * holds no credentials (regagent_state_sent). */
    struct rcbuf *tmpl;
    bool ua_waiting;     /* the UA awaits a final response to tmpl */
    unsigned ua_fails;   /* flows that answered tmpl with a failure (or
                            could not carry it) */
    char *best;          /* the best failure for the UA so far, built */
    size_t best_len;
    unsigned best_rank;  /* 0 none, 1 a failure, 2 a challenge */
    int chal_flow;       /* idx of the flow whose challenge the UA got, -1 */
    struct loop_timer best_wait; /* sends best once the others had their time */
    uint64_t last_resp;  /* the last response sent to the UA, kept for its
                            retransmissions in ra->answers (RA_RESP_KEEP_MS);
                            0: none */
    bool removing;       /* de-registration in progress */
    bool retired;        /* its service left the config (reload): being
                            de-registered, never found for a UA again */
    bool keep_state;     /* its stored record outlives it (regagent_reload.c) */
    uint32_t expires_up; /* expiry the UA asked for (upstream) */
    uint32_t min_expires;/* the registrar's Min-Expires (423), 0 = none */
    struct loop_timer expiry;   /* the binding lapses without UA refreshes */
    bool expiry_unset;   /* the UA's REGISTER awaits the 2xx that sets expiry */
    struct loop_timer reap;     /* deferred free after de-registration */
    struct binding *next_id, *next_all;
    struct binding *next_key; /* chain of ra->by_key (key) */
    /* Its instance-id is not on disk yet: the number of the instid batch
     * that puts it there (instid_get_batched), 0 once it is.  Nothing goes
     * upstream before; queued on ra->idwait meanwhile. */
    uint64_t id_batch;
    struct binding *next_idwait;
    size_t nflows;
    /* cfg_service_nflows(svc) of them, allocated with the binding (not
     * CFG_MAX_OUTBOUND_PROXIES inline: 10,000 one-flow phones would carry
     * 7 unused slots each).  A reload keeps a binding only for an equal
     * service (cfg_service_equal compares flows and proxies), so the
     * count never changes under it. */
    struct reg_flow flows[];
};

#define RA_BUCKETS 4096u

struct regagent {
    struct regagent_env env;
    uint32_t next_id;
    size_t count;
    size_t n_retired;    /* bindings with retired set (regagent_retired) */
    bool closing;        /* regagent_free: bindings go, their records stay */
    /* regagent_restore's ingress mapper, kept to register a changed
     * service's bindings again from their records once their old selves
     * are gone (regagent_reload.c); NULL until regagent_restore ran. */
    void *(*ingress_for)(const struct sockaddr_storage *local, void *arg);
    void *ingress_arg;
    struct loop_timer rerestore;
    /* The answers sent to phones, each kept RA_RESP_KEEP_MS for the
     * phone's retransmissions, outside the heap (core/agelog.h). */
    struct agelog *answers;
    struct resolver *own_resolver; /* made by regagent_new when env had none */
    struct pacer *pacer;           /* recovery pacing, shared by all flows */
    struct binding *all;
    struct binding *by_id[RA_BUCKETS];
    /* By key (AOR and Contact host), so that a REGISTER finds its binding without
     * walking all of them: with 10,000 phones that walk was half of
     * sipkeep's CPU for their first registrations (tests/bench/scale.sh). */
    struct binding *by_key[RA_BUCKETS];
    /* Group commit of new instance-ids (issue 14): the bindings whose ids
     * are not on disk yet, oldest first.  idsync (a 0 ms timer, so it runs
     * once the iteration's events are handled) starts a batch unless one
     * is being written; iddone (instid_commit_fd) collects it, starts the
     * next one (the phones that came meanwhile) and registers the phones
     * of the finished one. */
    struct loop_timer idsync;
    struct loop_fd iddone;
    struct binding *idwait, **idwait_tail;
    bool id_sync_each;   /* SIPKEEP_BENCH_INSTID_SYNC_EACH: one sync per phone */
};

/* The binding key of (aor, contact_uri) into out (BINDING_KEY_MAX bytes): the
 * instance-id key "aor|host" (instid_ua_key, RFC 5626 §4.1: one phone, one
 * instance, whatever port or rinstance it uses), else, for a Contact that
 * is no sip/sips URI, "aor|contact-uri".  Returns 0 or -ENAMETOOLONG. */
#define BINDING_KEY_MAX (INSTID_KEY_MAX + 1)
int binding_key(struct slice aor, struct slice contact_uri, char *out);
/* The live (not retired) binding with key, or NULL (binding.c). */
struct binding *binding_find_key(struct regagent *ra, const char *key);

/* Creates a binding of svc for (aor, contact_uri) with its instance-id and
 * its IDLE flows, linked into ra (binding.c).  Returns 0 and *out or
 * -errno with nothing created. */
int binding_new(struct regagent *ra, const struct cfg_service *svc, struct slice aor,
                struct slice contact_uri, bool third_party, struct binding **out);
/* b's instance-id into b->instance (regagent.c): known, or minted and
 * pending (b->id_batch; the commit timer armed).  Returns 0 or -errno as
 * instid_get_batched, -ENOMEM when the timer cannot be armed.  Once b is
 * linked, regagent_id_wait(b) queues a pending b for the commit;
 * binding_free calls regagent_id_unwait(b) for a queued one. */
int regagent_id_get(struct binding *b);
void regagent_id_wait(struct binding *b);
void regagent_id_unwait(struct binding *b);
/* Unlinks and frees b, closing its flows (binding.c). */
void binding_free(struct binding *b);

/* user@host of two sip/sips URIs equal (else the bytes): AORs compared
 * regardless of parameters (binding.c). */
bool binding_same_aor(struct slice a, struct slice b);

/* What a binding's flows and timers call (regagent.c): the flow callbacks
 * of the REGISTER agent, the expiry timer (the phone stopped refreshing:
 * de-register upstream) and the reap timer (free after de-registering). */
extern const struct flow_cbs regagent_flow_cbs;
void regagent_on_expiry(struct loop_timer *t);
void regagent_on_reap(struct loop_timer *t);
/* A reg_flow's refresh timer: its REGISTER again (the UA's expiry), when
 * the flow is up and has none pending. */
void regagent_on_refresh(struct loop_timer *t);

/* ---- the answer to the phone's REGISTER (reg_answer.c) ---- */

/* The phone's REGISTER b->tmpl was just taken: no flow has answered it. */
void reg_answer_start(struct binding *b);
/* A 2xx (or, while removing, any final) rsp for the phone: its response
 * built with expiry granted and sent (kept for retransmissions); the
 * phone no longer waits. */
void reg_answer_ua(struct binding *b, const struct sipmsg *rsp, uint32_t granted);
/* rf answered the phone's pending REGISTER with the failure rsp (NULL:
 * the flow failed or cannot carry it): counted once per flow, kept when it
 * is the best so far (a challenge over any other failure), sent once every
 * flow answered or RA_BEST_WAIT_MS after the first (a 503 with Retry-After
 * when none gave a response). */
void reg_answer_count(struct reg_flow *rf, const struct sipmsg *rsp);
/* b->best_wait: the best answer goes now. */
void reg_answer_on_best_wait(struct loop_timer *t);
/* sipkeep answers the phone's REGISTER m itself with status (logged with
 * why). */
void reg_answer_local(struct regagent *ra, const struct sipmsg *m, const struct ua_addr *ua,
                      unsigned status, const char *why);

/* Stored-state hooks (regagent_restore.c; no-ops without env.state):
 * rf sent an upstream REGISTER (not a de-registration) made from b->tmpl,
 * which the record then holds; b got a 2xx granting the UA ua_granted
 * seconds; b is being freed. */
void regagent_state_sent(const struct reg_flow *rf);
void regagent_state_registered(const struct binding *b, uint32_t ua_granted);
void regagent_state_gone(struct binding *b);
/* The rerestore timer (regagent_restore.c): restores what the store holds
 * without a binding. */
void regagent_on_rerestore(struct loop_timer *t);

/* Builds the upstream REGISTER for flow rf from b->tmpl into out.
 * expires_override: UINT32_MAX for the UA's expiry clamped to
 * ua.register_expires (raised to a 423's Min-Expires), else that value
 * (0 for a de-registration); the Contact's expires parameter and any
 * Expires header carry it.  Sets rf->branch and bumps rf->cseq.
 * Returns 0 and *outlen, or -errno. */
int reg_msg_build_upstream(struct reg_flow *rf, uint32_t expires_override,
                           char *out, size_t outsz, size_t *outlen);

/* Maps an upstream REGISTER response rsp into the response for the UA's
 * request b->tmpl: the UA's Via stack, Call-ID and CSeq back; for a 2xx,
 * the UA's own Contact with expires = granted (the caller clamps it);
 * Path, Require and Flow-Timer removed.  Returns 0 and *outlen or -errno. */
int reg_msg_build_ua_response(const struct binding *b, const struct sipmsg *rsp,
                              uint32_t granted, char *out, size_t outsz, size_t *outlen);

/* The expiry the registrar granted to our Contact in a 2xx: the expires of
 * the Contact with our +sip.instance and reg-id (other devices' bindings
 * are listed too), else of the one with our URI, else the Expires header,
 * else fallback. */
uint32_t reg_msg_granted_expiry(const struct binding *b, const struct reg_flow *rf,
                                const struct sipmsg *rsp, uint32_t fallback);

/* The expiry a REGISTER asks for its contact element elem (the contact's
 * expires parameter, else the Expires header, else 3600, RFC 3261 §10.2.1). */
uint32_t reg_msg_requested_expiry(const struct sipmsg *m, struct slice elem);

/* Sends the REGISTER for b->tmpl on rf (regagent.c; expires_override as
 * in reg_msg_build_upstream).  A send error fails the flow. */
void regagent_send_register(struct reg_flow *rf, uint32_t expires_override);

/* rf can carry SIP (regagent.c): its transport is up (REGISTERING or
 * ACTIVE) and its binding's instance-id is on disk.  A flow that connected
 * while the id's batch syncs (binding_register) is not: nothing of it has
 * gone upstream, so nothing is to be de-registered or sent on it yet. */
bool regagent_flow_up(const struct reg_flow *rf);

/* Handles a final failure response m to rf's own REGISTER when sipkeep can
 * answer it itself (reg_retry.c): 423 (again with Min-Expires, RFC 3261
 * §10.2.8), 439 (again without instance/reg-id, RFC 5626 §11.6) and
 * 401/407 to a REGISTER the UA is not waiting for (digest with configured
 * credentials; else the flow waits for the UA).  Returns true when m is
 * dealt with (the caller does nothing more), false to fail as usual. */
bool reg_retry(struct reg_flow *rf, const struct sipmsg *m);

/* Remembers the nonce of the challenge m (401/407) that rf got. */
void reg_retry_note_challenge(struct reg_flow *rf, const struct sipmsg *m);

/* Decides, for the UA's REGISTER m just taken into b->tmpl, which flows
 * get its Authorization / Proxy-Authorization (rf->ua_creds): the flow
 * whose challenge nonce they answer; else the flow whose challenge was
 * passed to the UA; else (credentials for no challenge sipkeep saw, e.g.
 * after a restart) every flow.  Without credentials: every flow (nothing
 * to route).  Credentials never go to another flow's registrar as a replay
 * (issue 11 item 6). */
void reg_retry_route_credentials(struct binding *b, const struct sipmsg *m);

/* A 2xx on rf: resets the challenge counter. */
void reg_retry_success(struct reg_flow *rf);

/* Frees rf's retry state (binding teardown). */
void reg_retry_free(struct reg_flow *rf);

/* The URI of a To/From header value (the name-addr's URI), or SLICE_NULL. */
struct slice reg_msg_addr_uri(struct slice value);

#endif
