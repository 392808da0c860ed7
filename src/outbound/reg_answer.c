/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reg_answer.c - the answer to the phone's REGISTER (see regagent_int.h):
 * over several flows the best one (a 2xx over a challenge over any other
 * failure, issue 11 item 6), sent once every flow answered or after
 * RA_BEST_WAIT_MS; the answers sipkeep makes itself (503 with
 * Retry-After, 400, 200). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"
#include "outbound/regagent_int.h"

static void reply_with(struct regagent *ra, const struct sipmsg *m, const struct ua_addr *ua,
                       unsigned status, const char *why, const struct sipmsg_nv *extra,
                       size_t nextra)
{
    char buf[4096], tag[20];
    size_t n;

    rand_hex(tag, sizeof(tag), 16);
    log_info("register_answered_locally", "status=%u reason=\"%s\"", status, why);
    if (sipmsg_build_response(m, status, SLICE_NULL, slice_cstr(tag), extra, nextra, buf,
                              sizeof(buf), &n) == 0)
        ra->env.send_ua(ua, buf, n, ra->env.arg);
}

void reg_answer_local(struct regagent *ra, const struct sipmsg *m, const struct ua_addr *ua,
                      unsigned status, const char *why)
{
    reply_with(ra, m, ua, status, why, NULL, 0);
}

/* Every 503 sipkeep makes says when to come back (RFC 3261 §21.5.4,
 * §20.33): the phone retries then instead of at once or never. */
static void reply_503(struct regagent *ra, const struct sipmsg *m, const struct ua_addr *ua,
                      const char *why, unsigned retry_after_s)
{
    char v[16];
    struct sipmsg_nv ra_hdr = { SLICE_LIT("Retry-After"), SLICE_NULL };

    snprintf(v, sizeof(v), "%u", retry_after_s ? retry_after_s : 1);
    ra_hdr.value = slice_cstr(v);
    reply_with(ra, m, ua, 503, why, &ra_hdr, 1);
}

static void best_clear(struct binding *b)
{
    loop_timer_cancel(b->ra->env.loop, &b->best_wait);
    free(b->best);
    b->best = NULL;
    b->best_len = 0;
    b->best_rank = 0;
}

void reg_answer_start(struct binding *b)
{
    b->ua_fails = 0;
    best_clear(b);
    for (unsigned i = 0; i < b->nflows; i++)
        b->flows[i].answered_ua = false;
}

/* Sends buf to b's phone and keeps it for the phone's retransmissions,
 * RA_RESP_KEEP_MS (ra->answers; one that cannot be kept is only sent). */
static void send_ua(struct binding *b, const char *buf, size_t len)
{
    b->ra->env.send_ua(&b->ua, buf, len, b->ra->env.arg);
    if (agelog_put(b->ra->answers, buf, len, &b->last_resp) < 0)
        b->last_resp = 0;
}

void reg_answer_ua(struct binding *b, const struct sipmsg *rsp, uint32_t granted)
{
    char *buf = malloc(RA_MSG_MAX);
    size_t n;
    int err = buf ? reg_msg_build_ua_response(b, rsp, granted, buf, RA_MSG_MAX, &n) : -ENOMEM;

    if (err < 0)
        log_warn("ua_response_failed", "binding=%" PRIu32 " status=%u err=\"%s\"", b->id,
                 rsp->status, strerror(-err));
    else
        send_ua(b, buf, n);
    free(buf);
    b->ua_waiting = false;
    best_clear(b);
}

/* Every flow has answered the UA's REGISTER without a 2xx (or cannot
 * carry it): the UA gets the best answer, a challenge over any other
 * failure, else a 503 with the remaining back-off as Retry-After. */
static void ua_maybe_finish(struct binding *b)
{
    struct sipmsg *m;

    if (!b->ua_waiting || b->ua_fails < b->nflows)
        return;
    b->ua_waiting = false;
    if (b->best) {
        send_ua(b, b->best, b->best_len);
        best_clear(b);
        return;
    }
    m = malloc(sizeof(*m));
    if (m && sipmsg_parse(m, b->tmpl->p, b->tmpl->len, 0) == 0)
        reply_503(b->ra, m, &b->ua, "no flow can carry the REGISTER", binding_retry_after_s(b));
    free(m);
}

/* rf answered the UA's pending REGISTER with rsp, a failure (NULL: the flow
 * failed or cannot carry it): counted once per flow and per UA request;
 * kept when it is the best failure so far (a challenge, RFC 3261 §22.2:
 * the UA can act on it, beats any other; else the first), sent when every
 * flow has answered.  A 2xx from another flow meanwhile wins (reg_success). */
void reg_answer_count(struct reg_flow *rf, const struct sipmsg *rsp)
{
    struct binding *b = rf->b;
    unsigned rank = !rsp ? 0 : (rsp->status == 401 || rsp->status == 407) ? 2 : 1;

    if (!b->ua_waiting || rf->answered_ua)
        return;
    rf->answered_ua = true;
    b->ua_fails++;
    if (rank > b->best_rank) {
        char *buf = malloc(RA_MSG_MAX);
        size_t n;
        int err = buf ? reg_msg_build_ua_response(b, rsp, 0, buf, RA_MSG_MAX, &n) : -ENOMEM;

        if (err < 0) {
            log_warn("ua_response_failed", "binding=%" PRIu32 " status=%u err=\"%s\"", b->id,
                     rsp->status, strerror(-err));
            free(buf);
        } else {
            free(b->best);
            b->best = buf;
            b->best_len = n;
            b->best_rank = rank;
            if (rank == 2)
                b->chal_flow = (int)rf->idx;
        }
    }
    /* The others get RA_BEST_WAIT_MS more to do better, not longer: a flow
     * that is still connecting must not make the UA time out. */
    if (b->best && b->ua_waiting && !loop_timer_armed(&b->best_wait) &&
        loop_timer_set(b->ra->env.loop, &b->best_wait, RA_BEST_WAIT_MS) < 0)
        b->ua_fails = (unsigned)b->nflows; /* no timer: answer now */
    ua_maybe_finish(b);
}

void reg_answer_on_best_wait(struct loop_timer *t)
{
    struct binding *b = container_of(t, struct binding, best_wait);

    if (!b->ua_waiting || !b->best)
        return;
    log_info("register_answered_best", "binding=%" PRIu32 " answered=%u flows=%zu "
             "reason=\"the other flows did not answer within %u ms\"", b->id, b->ua_fails,
             b->nflows, RA_BEST_WAIT_MS);
    b->ua_waiting = false;
    send_ua(b, b->best, b->best_len);
    best_clear(b);
}
