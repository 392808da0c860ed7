/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent.c - the REGISTER transactions of the registration agent; see
 * regagent.h.  The binding object (lookup, accessors, new/free) is in
 * binding.c, the answer to the phone over several flows in reg_answer.c,
 * message rewriting in reg_msg.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "outbound/flow_udp.h"
#include "outbound/pacer.h"
#include "outbound/regagent_int.h"
#include "sip/param.h"
#include "sip/via.h"

static uint32_t clamp_expiry(const struct regagent *ra, uint32_t e)
{
    return e < ra->env.cfg->ua.register_expires ? e : ra->env.cfg->ua.register_expires;
}

/* Issue 14 item 2 (regagent.h, RA_HOLD_MARGIN_MS): the edge of rf's
 * working flow asked for a pause (Retry-After, RFC 3261 §20.33, §21.5.4:
 * it is overloaded for that long; pacer.h keeps the hold per edge
 * address), so rf's REGISTER waits for the hold's end plus a random point
 * of a span as long as the hold, or goes RA_HOLD_MARGIN_MS before rf's
 * registration would lapse if that is sooner: a hold must never cost a
 * registration.  True when it waits (rf->refresh armed, rf->held); false:
 * send now (no hold, a de-registration, or no time left). */
static bool hold_register(struct reg_flow *rf)
{
    struct binding *b = rf->b;
    struct regagent *ra = b->ra;
    const struct resolve_target *t = flow_target(rf->flow);
    const struct sockaddr *a = t ? (const struct sockaddr *)&t->addr : NULL;
    uint64_t now = loop_now(ra->env.loop), end, at, latest;
    bool capped = false;
    char buf[ADDR_STR_MAX];

    /* Only with pacing on: connect_rate 0 is the behaviour before issue 14 */
    if (b->removing || !a || b->svc->recovery.connect_rate == 0 ||
        flow_state(rf->flow) != FLOW_ACTIVE)
        return false;
    end = pacer_held_until(ra->pacer, a, now);
    if (end == 0)
        return false;
    at = end + rand_uniform(0, pacer_hold_len(ra->pacer, a), rand_draw(&ra->env.rng));
    latest = rf->reg_until > RA_HOLD_MARGIN_MS ? rf->reg_until - RA_HOLD_MARGIN_MS : 0;
    if (at > latest) {
        at = latest;
        capped = true;
    }
    if (at <= now)
        return false;
    /* A REGISTER held already, or a refresh due after the hold anyway,
     * sends b->tmpl as it is then: it carries this one too. */
    if (rf->held && loop_timer_armed(&rf->refresh))
        goto answer_ua;
    if (loop_timer_armed(&rf->refresh) && rf->refresh.due_ms >= end &&
        rf->refresh.due_ms <= at) {
        at = rf->refresh.due_ms;
        capped = false;
    } else if (loop_timer_set(ra->env.loop, &rf->refresh, at - now) < 0) {
        return false; /* no timer: better now than never */
    }
    rf->held = true;
    log_info("register_deferred", "binding=%" PRIu32 " reg_id=%u addr=%s hold_left_ms=%" PRIu64
             " send_in_ms=%" PRIu64 " lapse_in_ms=%" PRIu64 " reason=\"%s\"", b->id, rf->idx + 1,
             addr_format(a, true, buf, sizeof(buf)), end - now, at - now,
             rf->reg_until > now ? rf->reg_until - now : 0,
             capped ? "the edge asked for a pause (Retry-After); sent before the "
                      "registration lapses, inside it"
                    : "the edge asked for a pause (Retry-After)");
answer_ua:
    /* A phone waiting on it hears the edge's word (503, Retry-After: until
     * this REGISTER goes) unless another flow gives a 2xx. */
    reg_answer_count(rf, NULL);
    return true;
}

/* Sends the REGISTER for b->tmpl on rf (expires_override as in
 * reg_msg_build_upstream), or defers it while rf's edge holds REGISTERs
 * (hold_register).  A failure is logged; the flow's registration timeout
 * then recovers it. */
static void send_register(struct reg_flow *rf, uint32_t expires_override)
{
    char *buf;
    size_t n;
    int err;
    bool built;

    if (expires_override != 0 && hold_register(rf))
        return;
    buf = malloc(RA_MSG_MAX);
    err = buf ? reg_msg_build_upstream(rf, expires_override, buf, RA_MSG_MAX, &n) : -ENOMEM;
    built = err == 0;
    if (built)
        err = flow_send_own(rf->flow, buf, n); /* retransmitted on UDP */
    if (err >= 0 && rf->held) { /* this one carries what was held */
        rf->held = false;
        loop_timer_cancel(rf->b->ra->env.loop, &rf->refresh);
    }
    if (err >= 0 && expires_override != 0 && !rf->b->removing)
        regagent_state_sent(rf);
    if (err < 0)
        log_warn("register_send_failed", "binding=%" PRIu32 " reg_id=%u err=\"%s\"",
                 rf->b->id, rf->idx + 1, strerror(-err));
    /* A transport error on send is a flow failure (issue 4). */
    if (err < 0 && built && err != -ENOTCONN && err != -ENOBUFS)
        flow_fail(rf->flow, "REGISTER could not be sent");
    else if (err >= 0)
        log_debug("register_sent", "binding=%" PRIu32 " reg_id=%u cseq=%" PRIu32,
                  rf->b->id, rf->idx + 1, rf->cseq);
    free(buf);
}

void regagent_send_register(struct reg_flow *rf, uint32_t expires_override)
{
    send_register(rf, expires_override);
}

bool regagent_flow_up(const struct reg_flow *rf)
{
    enum flow_state s = flow_state(rf->flow);

    return !rf->b->id_batch && (s == FLOW_REGISTERING || s == FLOW_ACTIVE);
}

static void on_flow_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct reg_flow *rf = arg;

    (void)f;
    (void)local;
    /* Connected before the id is on disk: binding_register sends the
     * REGISTER when its batch is (idwait_serve). */
    if (rf->b->id_batch)
        return;
    send_register(rf, rf->b->removing ? 0 : UINT32_MAX);
}

/* A flow that fails while the UA waits has answered it (with nothing):
 * when it was the last one, the UA gets the best answer the others gave,
 * else a 503 (RFC 3261 §21.5.4) instead of being left to time out. */
static void on_flow_down(struct flow *f, const char *reason, void *arg)
{
    struct reg_flow *rf = arg;

    (void)f;
    (void)reason;
    rf->branch[0] = '\0';
    reg_answer_count(rf, NULL);
}

static bool on_flow_others(const struct flow *f, void *arg)
{
    struct reg_flow *rf = arg;

    for (unsigned i = 0; i < rf->b->nflows; i++) {
        if (rf->b->flows[i].flow != f && flow_working(rf->b->flows[i].flow))
            return true;
    }
    return false;
}

static bool top_via_branch_is(const struct sipmsg *m, const char *branch)
{
    return branch[0] && slice_eq(sipvia_top_branch(m), slice_cstr(branch));
}

static void handle_reg_response(struct reg_flow *rf, const struct sipmsg *m);

static void on_flow_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    struct reg_flow *rf = arg;
    struct sipmsg *m = malloc(sizeof(*m));
    int err;

    (void)f;
    if (!m)
        return;
    err = sipmsg_parse(m, msg, len, flow_transport(f) == CFG_TRANSPORT_UDP
                                    ? 0 : SIPMSG_F_STREAM);
    if (err < 0) {
        SK_STAT_INC(rf->b->ra->env.stats, parse_errors);
        log_info("flow_msg_dropped", "binding=%" PRIu32 " reg_id=%u reason=\"%s\"",
                 rf->b->id, rf->idx + 1, sipmsg_strerror(m->err));
    } else if (!m->is_request && top_via_branch_is(m, rf->branch)) {
        handle_reg_response(rf, m);
    } else {
        rf->b->ra->env.flow_msg(rf->b, rf->idx, m, rf->b->ra->env.arg);
    }
    free(m);
}

const struct flow_cbs regagent_flow_cbs = {
    .on_ready = on_flow_ready,
    .on_message = on_flow_message,
    .on_down = on_flow_down,
    .others_working = on_flow_others,
};

/* ---- responses to our REGISTERs ---- */

static unsigned flow_timer_of(const struct sipmsg *m)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_FLOW_TIMER);
    uint64_t v;

    if (!h || slice_to_u64(slice_trim(h->value), &v) < 0 || v > 86400)
        return 0;
    return (unsigned)v;
}

/* RFC 3261 §20.33: "Retry-After: delta-seconds [comment] *(;param)";
 * the seconds, or -1 when absent or malformed. */
static int64_t retry_after_of(const struct sipmsg *m)
{
    int i = sipmsg_hdr_next_name(m, slice_cstr("Retry-After"), -1);
    struct slice v;
    int64_t secs = 0;
    size_t n = 0;

    if (i < 0)
        return -1;
    v = slice_trim(m->hdrs[i].value);
    for (; n < v.n && v.p[n] >= '0' && v.p[n] <= '9' && n < 9; n++)
        secs = secs * 10 + (v.p[n] - '0');
    return n ? secs : -1;
}

/* De-registers b upstream (Expires: 0 with its instance-id and reg-id on
 * each flow that is up, RFC 5626 §4.2.1 / RFC 3261 §10.2.2) and frees it on
 * the first 2xx (reg_success) or after RA_RELOAD_DEREG_MS at most; at once
 * when no flow is up.  So the registrar stops forking calls to a phone that
 * is gone instead of keeping its binding for the rest of its expiry. */
static void deregister_upstream(struct binding *b)
{
    bool sent = false;

    b->removing = true;
    b->ua_waiting = false;
    loop_timer_cancel(b->ra->env.loop, &b->expiry);
    for (unsigned i = 0; i < b->nflows; i++) {
        loop_timer_cancel(b->ra->env.loop, &b->flows[i].refresh);
        b->flows[i].held = false;
        if (regagent_flow_up(&b->flows[i])) {
            send_register(&b->flows[i], 0);
            sent = true;
        }
    }
    if (!sent || loop_timer_set(b->ra->env.loop, &b->reap, RA_RELOAD_DEREG_MS) < 0)
        binding_free(b);
}

void regagent_on_expiry(struct loop_timer *t)
{
    struct binding *b = container_of(t, struct binding, expiry);

    log_info("binding_expired", "binding=%" PRIu32 " aor=%s action=\"de-registering "
             "upstream\"", b->id, b->aor);
    deregister_upstream(b);
}

void regagent_on_reap(struct loop_timer *t)
{
    binding_free(container_of(t, struct binding, reap));
}

/* Seconds after a 2xx granting granted s that a flow refreshes itself:
 * half of a short grant, else 64 s (two Timer F) before it lapses, so
 * that a REGISTER lost on UDP is still retransmitted in time. */
static uint64_t refresh_after_s(uint32_t granted)
{
    uint32_t margin = granted / 2 < 64 ? granted / 2 : 64;

    return (uint64_t)granted - margin;
}

/* rf was granted granted s: when the binding outlives that (the registrar
 * granted this flow less than the UA was told, e.g. another flow's longer
 * grant answered it, or a restored binding), the flow is refreshed before
 * its registration lapses rather than at the UA's next REGISTER, which
 * would come too late (issue 12 item 7).  Otherwise the UA's own refresh
 * comes first and no timer runs. */
static void arm_refresh(struct reg_flow *rf, uint32_t granted)
{
    struct loop *l = rf->b->ra->env.loop;
    int64_t left = binding_expires_in_ms(rf->b);

    rf->held = false;
    rf->reg_until = loop_now(l) + (uint64_t)granted * 1000u;

    if (granted == 0 || left < 0 || (uint64_t)left <= (uint64_t)granted * 1000u ||
        loop_timer_set(l, &rf->refresh, refresh_after_s(granted) * 1000u) < 0)
        loop_timer_cancel(l, &rf->refresh);
}

void regagent_on_refresh(struct loop_timer *t)
{
    struct reg_flow *rf = container_of(t, struct reg_flow, refresh);
    bool held = rf->held;

    rf->held = false;
    /* A pending REGISTER's 2xx re-arms it; a flow that is down registers
     * when it is re-formed. */
    if (rf->b->removing || !regagent_flow_up(rf) || rf->branch[0])
        return;
    if (held)
        log_debug("register_held_sent", "binding=%" PRIu32 " reg_id=%u", rf->b->id,
                  rf->idx + 1);
    else
        log_info("register_refresh", "binding=%" PRIu32 " reg_id=%u aor=%s reason=\"the "
                 "registrar granted this flow less than the UA's registration lasts\"",
                 rf->b->id, rf->idx + 1, rf->b->aor);
    send_register(rf, UINT32_MAX); /* deferred again if the hold grew */
}

static void reg_success(struct reg_flow *rf, const struct sipmsg *m)
{
    struct binding *b = rf->b;
    /* After a 439 the flow registers "without using the outbound mechanism"
     * (RFC 5626 §4.2.1): no flow at the registrar, whatever its Require says. */
    bool outbound = !rf->no_regid && sipmsg_hdr_has_token(m, SIPMSG_HDR_REQUIRE, "outbound");
    uint32_t granted = reg_msg_granted_expiry(b, rf, m, b->expires_up);
    uint32_t ua_granted = clamp_expiry(b->ra, granted);
    unsigned keep_s;
    bool stun_hint;

    SK_STAT_INC(b->ra->env.stats, reg_ok);
    if (b->removing) {
        if (b->ua_waiting)
            reg_answer_ua(b, m, 0);
        loop_timer_set(b->ra->env.loop, &b->reap, 0);
        return;
    }
    /* UDP flows: may STUN keep-alives be sent (flow.h)? */
    stun_hint = flow_udp_stun_indicated(m, &keep_s);
    flow_set_stun_hint(rf->flow, stun_hint, keep_s);
    flow_registered(rf->flow, outbound, flow_timer_of(m));
    log_info("registered", "binding=%" PRIu32 " reg_id=%u aor=%s outbound=%s flow_timer=%u "
             "expires=%" PRIu32, b->id, rf->idx + 1, b->aor, outbound ? "yes" : "no",
             flow_timer_of(m), granted);
    /* The binding lapses with the UA's own (clamped) registration, so that
     * a phone that disappears is noticed within minutes: set by the first
     * 2xx to the UA's REGISTER, the one the UA hears.  Another flow's 2xx
     * (later, or after a recovery) neither cuts it short nor extends it. */
    if (b->expiry_unset) {
        b->expiry_unset = false;
        loop_timer_set(b->ra->env.loop, &b->expiry, (uint64_t)ua_granted * 1000u);
        regagent_state_registered(b, ua_granted);
    }
    arm_refresh(rf, granted);
    /* issue 12 item 3: back to a preferred target that came back, at a
     * re-registration and with the new connection made first */
    flow_failback(rf->flow);
    if (b->ua_waiting)
        reg_answer_ua(b, m, ua_granted);
}

/* A refresh error that says nothing about the flow (RFC 5626 §4.2.2: the
 * registrar is busy or broken, the connection is fine). */
static bool keeps_flow(unsigned status)
{
    return status == 408 || status == 480 || status == 500 || status == 503;
}

static void reg_failure(struct reg_flow *rf, const struct sipmsg *m)
{
    struct binding *b = rf->b;
    char reason[64];
    bool challenge = m->status == 401 || m->status == 407;
    bool ua_req = b->ua_waiting && !rf->answered_ua;

    if (challenge)
        reg_retry_note_challenge(rf, m);
    /* The first challenge to the UA's own REGISTER is the UA's to answer
     * (its credentials then go to this flow only, reg_msg_build_upstream); the
     * flow waits for that answer, which is no failure. */
    if (challenge && ua_req && b->best_rank < 2) {
        log_info("register_challenged", "binding=%" PRIu32 " reg_id=%u aor=%s status=%u "
                 "action=\"passed to the UA\"", b->id, rf->idx + 1, b->aor, m->status);
        rf->await_ua = true;
        flow_register_hold(rf->flow);
        reg_answer_count(rf, m);
        return;
    }
    /* 423, 439 and other challenges: sipkeep's own retry (still pending
     * for the UA), or, for a challenge nobody here can answer, a flow
     * that waits for the UA's next REGISTER (await_ua). */
    if (reg_retry(rf, m)) {
        if (rf->await_ua)
            reg_answer_count(rf, m);
        return;
    }
    snprintf(reason, sizeof(reason), "REGISTER answered %u", m->status);
    SK_STAT_INC(b->ra->env.stats, reg_failed);
    log_warn("register_failed", "binding=%" PRIu32 " reg_id=%u aor=%s status=%u%s", b->id,
             rf->idx + 1, b->aor, m->status,
             m->status == 439 ? " hint=\"first hop lacks outbound support (RFC 5626 §11.6)\"" : "");
    reg_answer_count(rf, m);
    if (keeps_flow(m->status))
        flow_register_retry_after(rf->flow, reason, retry_after_of(m));
    else
        flow_register_failed_after(rf->flow, reason, retry_after_of(m));
}

static void handle_reg_response(struct reg_flow *rf, const struct sipmsg *m)
{
    if (m->status < 200)
        return;
    rf->branch[0] = '\0';
    if (m->status < 300)
        reg_retry_success(rf);
    if (m->status < 300)
        reg_success(rf, m);
    else
        reg_failure(rf, m);
}

/* ---- REGISTER from the UA ---- */

static bool is_retransmission(const struct binding *b, const struct sipmsg *m)
{
    struct sipmsg *old = &(struct sipmsg){ .nhdrs = 0 };

    if (!b->tmpl || sipmsg_parse(old, b->tmpl->p, b->tmpl->len, 0) < 0)
        return false;
    return old->cseq_num == m->cseq_num &&
           slice_eq(sipmsg_hdr_find(old, SIPMSG_HDR_CALL_ID)->value,
                    sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID)->value);
}

/* The phone of b registers with another Contact URI (a new port, a new
 * rinstance after a reboot): same binding, instance-id and reg-ids, so the
 * registrar replaces its old Contact with the new one (RFC 5626 §6) rather
 * than keeping both and forking calls to the dead one.  The stored record
 * of the old URI goes; the next REGISTER sent stores the new one. */
static int binding_move(struct binding *b, struct slice uri)
{
    char *nu;

    if (slice_eq(slice_cstr(b->contact_uri), uri))
        return 0;
    nu = slice_strdup(uri);
    if (!nu)
        return -ENOMEM;
    log_info("binding_contact_changed", "binding=%" PRIu32 " aor=%s old=%s new=%s", b->id,
             b->aor, b->contact_uri, nu);
    /* A flow registering without reg-id (439 fallback) has a plain binding
     * the registrar matches by Contact URI (RFC 3261 §10.3 step 7): the new
     * Contact would not replace it, so the old one is removed first
     * (b->tmpl and b->contact are still the old ones here). */
    for (unsigned i = 0; i < b->nflows; i++) {
        if (b->flows[i].no_regid && regagent_flow_up(&b->flows[i]))
            send_register(&b->flows[i], 0);
    }
    if (b->ra->env.state)
        regstate_del(b->ra->env.state, b->aor, b->contact_uri);
    free(b->contact_uri);
    b->contact_uri = nu;
    return 0;
}

static int binding_take_request(struct binding *b, const struct sipmsg *m, struct slice contact,
                                const struct ua_addr *ua)
{
    struct rcbuf *tmpl = rcbuf_new(m->buf.p, m->len);
    char *c = slice_strdup(contact);

    if (!tmpl || !c) {
        rcbuf_unref(tmpl);
        free(c);
        return -ENOMEM;
    }
    /* The stored record may still hold the old one (shared): it lets go
     * when the next REGISTER sent stores this one. */
    rcbuf_unref(b->tmpl);
    free(b->contact);
    b->tmpl = tmpl;
    b->contact = c;
    b->ua = *ua;
    b->expires_up = reg_msg_requested_expiry(m, contact);
    b->ua_waiting = true;
    b->expiry_unset = true;
    /* Until a 2xx re-arms it, the binding lives as long as the UA would
     * have been granted, plus a transaction's time (64*T1) to be answered:
     * a UA that never completes its registration is not kept forever. */
    loop_timer_set(b->ra->env.loop, &b->expiry,
                   ((uint64_t)clamp_expiry(b->ra, b->expires_up) + 32u) * 1000u);
    reg_answer_start(b);
    reg_retry_route_credentials(b, m);
    return 0;
}

/* Sends b's REGISTER on every flow whose transport is up; the others send
 * it from on_ready when they connect. */
static void binding_register(struct binding *b)
{
    /* Not before its instance-id is on disk: on_iddone calls again once
     * it is (the phone's REGISTER is held, not lost).  Its new flows
     * connect meanwhile (TCP, TLS handshake): on a router's flash a sync
     * takes 10-50 ms and a WAN connect and handshake 50-200 ms, so one
     * hides behind the other; on_flow_ready sends nothing until then. */
    if (b->id_batch) {
        for (unsigned i = 0; i < b->nflows; i++) {
            if (flow_state(b->flows[i].flow) == FLOW_IDLE)
                flow_start(b->flows[i].flow);
        }
        return;
    }
    for (unsigned i = 0; i < b->nflows; i++) {
        struct reg_flow *rf = &b->flows[i];
        enum flow_state st = flow_state(rf->flow);

        if (regagent_flow_up(rf))
            send_register(rf, b->removing ? 0 : UINT32_MAX);
        else if (st == FLOW_IDLE || (rf->await_ua && st == FLOW_BACKOFF))
            flow_start(rf->flow); /* a flow waiting for fresh credentials: now */
        else if (st == FLOW_CONNECTING)
            flow_start(rf->flow); /* no-op unless stuck (flow.h) */
        rf->await_ua = false;
    }
    /* Flows in back-off cannot carry the UA's REGISTER (issue 11 item 5):
     * counted as answered now, so that with none left the UA gets a 503
     * with the remaining back-off instead of silence. */
    for (unsigned i = 0; i < b->nflows; i++) {
        if (b->ua_waiting && flow_state(b->flows[i].flow) == FLOW_BACKOFF)
            reg_answer_count(&b->flows[i], NULL);
    }
}

/* ---- group commit of new instance-ids (issue 14 item 1) ---- */

int regagent_id_get(struct binding *b)
{
    struct regagent *ra = b->ra;
    int err;

    b->id_batch = 0;
    if (ra->id_sync_each) /* the old way, for the storm benchmark's baseline */
        return instid_get(ra->env.ids, slice_cstr(b->key), &b->instance, NULL);
    err = instid_get_batched(ra->env.ids, slice_cstr(b->key), &b->instance, &b->id_batch);
    /* 0 ms: due at the end of this loop iteration, after every event it
     * read (loop_run_once runs timers last), so one iteration's new phones
     * share a batch; a lone phone waits no longer than its own sync.  A
     * fixed window of a few ms would add that delay to every lone phone
     * and gain nothing on a fast disk.  While a batch is on the disk the
     * timer starts nothing: the phones gather for the next one. */
    if (err == 0 && b->id_batch && !loop_timer_armed(&ra->idsync))
        err = loop_timer_set(ra->env.loop, &ra->idsync, 0);
    return err;
}

void regagent_id_wait(struct binding *b)
{
    struct regagent *ra = b->ra;

    b->next_idwait = NULL;
    *ra->idwait_tail = b;
    ra->idwait_tail = &b->next_idwait;
}

void regagent_id_unwait(struct binding *b)
{
    struct regagent *ra = b->ra;
    struct binding **pp = &ra->idwait;

    while (*pp && *pp != b)
        pp = &(*pp)->next_idwait;
    if (!*pp)
        return;
    *pp = b->next_idwait;
    if (ra->idwait_tail == &b->next_idwait)
        ra->idwait_tail = pp;
    b->id_batch = 0;
}

/* The batch failed: b's id is forgotten (instid_commit_collect), so b
 * goes, and its phone gets the 500 a failed instance-id write always
 * gave; a phone of another batch is not touched. */
static void id_failed(struct binding *b, int err)
{
    struct sipmsg *m = malloc(sizeof(*m));

    if (m && b->ua_waiting && !b->removing &&
        sipmsg_parse(m, b->tmpl->p, b->tmpl->len, 0) == 0)
        reg_answer_local(b->ra, m, &b->ua, 500, strerror(-err));
    free(m);
    binding_free(b);
}

/* The first binding waiting for batch, or NULL. */
static struct binding *idwait_find(const struct regagent *ra, uint64_t batch)
{
    struct binding *b = ra->idwait;

    while (b && b->id_batch != batch)
        b = b->next_idwait;
    return b;
}

/* Batch number batch is on disk (err 0) or failed: its phones register
 * (in the order they came) or get a 500.  Each is taken off the queue
 * before it is served, and the queue searched again: serving one may free
 * another queued binding (which unlinks itself). */
static void idwait_serve(struct regagent *ra, uint64_t batch, int err)
{
    struct binding *b;

    while ((b = idwait_find(ra, batch)) != NULL) {
        regagent_id_unwait(b);
        if (err == 0)
            binding_register(b);
        else
            id_failed(b, err);
    }
}

static void idsync_collect(struct regagent *ra);

/* Starts a batch of the pending ids, unless one is on the disk (then
 * idsync_collect starts it).  Only its bytes are built here; the write
 * and fdatasync run on the instid worker thread, so the loop goes on (on
 * a disk that syncs in under INSTID_INLINE_SYNC_US, here: see instid.h).
 * A batch synced here is collected at once: its phones' REGISTERs go now,
 * on the flows that connected meanwhile, not one loop iteration later
 * (the eventfd's wake-up: 64 events of a storm, 1-3 ms, in the queue
 * before it). */
static void idsync_start(struct regagent *ra)
{
    uint64_t batch;
    int err = instid_commit_start(ra->env.ids, &batch);

    if (err < 0)
        idwait_serve(ra, batch, err);
    else if (batch)
        idsync_collect(ra);
}

static void on_idsync(struct loop_timer *t)
{
    idsync_start(container_of(t, struct regagent, idsync));
}

/* A batch is back from the disk: its phones are served, then the next
 * batch (the phones that came while it was written) goes to the disk: a
 * pipeline of one batch syncing and one filling.  Served first because
 * the next batch may be synced right here (a fast disk, instid.h): its
 * phones must not wait for that.  Nothing back yet: nothing done. */
static void idsync_collect(struct regagent *ra)
{
    uint64_t batch;
    int err = instid_commit_collect(ra->env.ids, &batch);

    if (err == -EAGAIN)
        return;
    idwait_serve(ra, batch, err);
    idsync_start(ra);
}

static void on_iddone(struct loop_fd *h, unsigned events)
{
    (void)events;
    idsync_collect(container_of(h, struct regagent, iddone));
}

static bool any_flow_up(const struct binding *b)
{
    for (unsigned i = 0; i < b->nflows; i++) {
        if (regagent_flow_up(&b->flows[i]))
            return true;
    }
    return false;
}

static void register_contact(struct regagent *ra, const struct cfg_service *svc,
                             const struct sipmsg *m, const struct ua_addr *ua,
                             struct slice aor, struct slice elem, bool third_party,
                             bool answer)
{
    struct slice uri = reg_msg_addr_uri(elem);
    struct binding *b;
    char key[BINDING_KEY_MAX];
    int err;

    if (!slice_present(uri) || binding_key(aor, uri, key) < 0) {
        reg_answer_local(ra, m, ua, 400, "malformed Contact");
        return;
    }
    b = binding_find_key(ra, key);
    if (b && is_retransmission(b, m)) {
        size_t n;
        const char *last = agelog_get(ra->answers, b->last_resp, &n);
        bool resend = !b->ua_waiting && last;
        struct slice cid = sipmsg_hdr_find(m, SIPMSG_HDR_CALL_ID)->value;

        if (resend) /* the transaction's last response again (RFC 3261 §17.2.2) */
            ra->env.send_ua(&b->ua, last, n, ra->env.arg);
        /* Logged after the send: the e2e lab waits for it before another
         * program takes the phone's port. */
        log_debug("ua_register_retransmission", "binding=%" PRIu32 " answered=%s call_id=\"%.*s\"",
                  b->id, resend ? "yes" : "no", (int)(cid.n > 128 ? 128 : cid.n), cid.p);
        return;
    }
    if (b && !slice_eq(slice_cstr(b->contact_uri), uri) && reg_msg_requested_expiry(m, elem) == 0) {
        /* A de-registration of a Contact this phone no longer uses: the
         * binding (its current Contact) stays. */
        reg_answer_local(ra, m, ua, 200, "de-registration of a former Contact");
        return;
    }
    if (!b && reg_msg_requested_expiry(m, elem) == 0) {
        reg_answer_local(ra, m, ua, 200, "de-registration of an unknown binding");
        return;
    }
    err = b ? binding_move(b, uri) : binding_new(ra, svc, aor, uri, third_party, &b);
    if (!err)
        err = binding_take_request(b, m, elem, ua);
    if (err < 0) {
        reg_answer_local(ra, m, ua, 500, strerror(-err));
        return;
    }
    b->ua_waiting = answer;
    b->removing = b->expires_up == 0;
    /* A phone back while its lapsed binding was being de-registered. */
    if (!b->removing)
        loop_timer_cancel(ra->env.loop, &b->reap);
    if (b->removing && !any_flow_up(b)) {
        reg_answer_local(ra, m, ua, 200, "de-registered while no flow was up");
        binding_free(b);
        return;
    }
    binding_register(b);
}

static bool is_star(struct slice elem)
{
    struct sipparam_addr a;

    return sipparam_parse_addr(&a, elem) == 0 && a.star;
}

/* "Contact: *" (RFC 3261 §10.2.2) removes every binding of the AOR: each of
 * this UA's bindings for it is de-registered by its own instance-id and
 * reg-id, and the UA is answered at once (§4.2.3: a "*" carries no ids). */
static void deregister_all(struct regagent *ra, const struct sipmsg *m,
                           const struct ua_addr *ua, struct slice aor)
{
    struct binding *next;

    for (struct binding *b = ra->all; b; b = next) {
        next = b->next_all;
        if (!slice_eq(slice_cstr(b->aor), aor) ||
            !addr_equal((const struct sockaddr *)&b->ua.src, (const struct sockaddr *)&ua->src))
            continue;
        b->removing = true;
        b->ua_waiting = false;
        if (any_flow_up(b))
            binding_register(b);
        else
            binding_free(b);
    }
    reg_answer_local(ra, m, ua, 200, "Contact: * de-registration");
}

void regagent_register(struct regagent *ra, const struct cfg_service *svc,
                       const struct sipmsg *m, const struct ua_addr *ua)
{
    struct slice to = reg_msg_addr_uri(sipmsg_hdr_find(m, SIPMSG_HDR_TO)->value);
    struct slice from = reg_msg_addr_uri(sipmsg_hdr_find(m, SIPMSG_HDR_FROM)->value);
    struct sipmsg_valit it;
    struct slice elem;
    bool first = true;

    if (!slice_present(to)) {
        reg_answer_local(ra, m, ua, 400, "malformed To");
        return;
    }
    sipmsg_valit_init(&it, m, SIPMSG_HDR_CONTACT);
    while (sipmsg_valit_next(&it, &elem, NULL)) {
        /* §6: several Contacts each with a reg-id get 400 from a registrar,
         * so each Contact is its own binding and its own REGISTER.  Only
         * the first one's answer reaches the UA (one transaction). */
        if (!first)
            log_info("register_split", "aor=%.*s contact=%.*s", (int)to.n, to.p,
                     (int)elem.n, elem.p);
        if (is_star(elem)) {
            deregister_all(ra, m, ua, to);
            return;
        }
        register_contact(ra, svc, m, ua, to, elem, !binding_same_aor(to, from), first);
        first = false;
    }
    if (first)
        reg_answer_local(ra, m, ua, 200, "binding query answered locally");
}

int regagent_new(struct regagent **out, const struct regagent_env *env)
{
    struct regagent *ra = calloc(1, sizeof(*ra));
    int err;

    if (!ra)
        return -ENOMEM;
    ra->env = *env;
    if (!ra->env.resolver) {
        struct resolver_params rp = { .loop = env->loop };

        err = resolver_new(&ra->own_resolver, &rp);

        if (err < 0) {
            free(ra);
            return err;
        }
        ra->env.resolver = ra->own_resolver;
    }
    if (pacer_new(&ra->pacer) < 0 ||
        agelog_new(&ra->answers, env->loop, RA_RESP_KEEP_MS, RA_ANSWERS_MAX) < 0) {
        pacer_free(ra->pacer);
        resolver_free(ra->own_resolver);
        free(ra);
        return -ENOMEM;
    }
    loop_timer_init(&ra->rerestore, regagent_on_rerestore);
    loop_timer_init(&ra->idsync, on_idsync);
    loop_fd_init(&ra->iddone, on_iddone);
    ra->idwait_tail = &ra->idwait;
    ra->id_sync_each = getenv("SIPKEEP_BENCH_INSTID_SYNC_EACH") != NULL;
    err = env->ids ? loop_fd_add(env->loop, &ra->iddone, instid_commit_fd(env->ids), LOOP_READ)
                   : 0; /* a test's agent that registers no phone */
    if (err < 0) {
        agelog_free(ra->answers);
        pacer_free(ra->pacer);
        resolver_free(ra->own_resolver);
        free(ra);
        return err;
    }
    *out = ra;
    return 0;
}

void regagent_free(struct regagent *ra)
{
    if (!ra)
        return;
    ra->closing = true;
    loop_timer_cancel(ra->env.loop, &ra->rerestore);
    loop_timer_cancel(ra->env.loop, &ra->idsync);
    loop_fd_del(ra->env.loop, &ra->iddone);
    while (ra->all)
        binding_free(ra->all);
    resolver_free(ra->own_resolver);
    pacer_free(ra->pacer);
    agelog_free(ra->answers);
    free(ra);
}
