/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sipretx.c - RFC 3261 §17.1.2.2 Timer E/F for sipkeep's own requests over
 * UDP; see sipretx.h. */
#include "outbound/sipretx.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIPRETX_BRANCH_MAX 64

struct sipretx {
    struct loop *loop;
    const struct sipretx_cbs *cbs;
    void *arg;
    char *buf;                 /* the request, NULL when idle */
    size_t len;
    char branch[SIPRETX_BRANCH_MAX];
    uint64_t interval;         /* the current Timer E interval */
    unsigned sends;
    bool proceeding;           /* a provisional response came */
    bool invite;               /* Timer A/B rules (§17.1.1.2) */
    struct loop_timer t_e;
    struct loop_timer t_f;
};

static void clear(struct sipretx *x)
{
    free(x->buf);
    x->buf = NULL;
    x->len = 0;
    x->branch[0] = '\0';
    loop_timer_cancel(x->loop, &x->t_e);
    loop_timer_cancel(x->loop, &x->t_f);
}

/* §17.1.2.2: "If Timer E fires while still in this state, the timer is
 * reset, but this time with a value of MIN(2*T1, T2)" - the interval
 * doubles up to T2; in Proceeding it is T2.  §17.1.1.2: Timer A doubles
 * with no cap (2*T1, 4*T1, ... until Timer B). */
static void on_timer_e(struct loop_timer *t)
{
    struct sipretx *x = container_of(t, struct sipretx, t_e);

    (void)x->cbs->send(x->buf, x->len, x->arg);
    if (!x->buf)
        return; /* send() cancelled the transaction */
    x->sends++;
    if (x->invite)
        x->interval *= 2;
    else
        x->interval = x->proceeding || x->interval * 2 > SIPRETX_T2_MS ? SIPRETX_T2_MS
                                                                       : x->interval * 2;
    if (loop_timer_set(x->loop, &x->t_e, x->interval) < 0)
        loop_timer_cancel(x->loop, &x->t_e); /* Timer F still ends it */
}

static void on_timer_f(struct loop_timer *t)
{
    struct sipretx *x = container_of(t, struct sipretx, t_f);

    clear(x);
    x->cbs->on_timeout(x->arg); /* last: it may free x */
}

int sipretx_new(struct sipretx **out, struct loop *l, const struct sipretx_cbs *cbs, void *arg)
{
    struct sipretx *x;

    if (!out || !l || !cbs || !cbs->send || !cbs->on_timeout)
        return -EINVAL;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->loop = l;
    x->cbs = cbs;
    x->arg = arg;
    loop_timer_init(&x->t_e, on_timer_e);
    loop_timer_init(&x->t_f, on_timer_f);
    *out = x;
    return 0;
}

void sipretx_free(struct sipretx *x)
{
    if (!x)
        return;
    clear(x);
    free(x);
}

static int start(struct sipretx *x, const char *buf, size_t len, const char *branch,
                 bool invite)
{
    char *copy;

    if (!buf || len == 0 || !branch || strlen(branch) >= sizeof(x->branch))
        return -EINVAL;
    copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, buf, len);
    clear(x);
    x->buf = copy;
    x->len = len;
    memcpy(x->branch, branch, strlen(branch) + 1);
    x->interval = SIPRETX_T1_MS;
    x->sends = 1;
    x->proceeding = false;
    x->invite = invite;
    if (loop_timer_set(x->loop, &x->t_e, SIPRETX_T1_MS) < 0 ||
        loop_timer_set(x->loop, &x->t_f, SIPRETX_TIMER_F_MS) < 0) {
        clear(x);
        return -ENOMEM;
    }
    return 0;
}

int sipretx_start(struct sipretx *x, const char *buf, size_t len, const char *branch)
{
    return start(x, buf, len, branch, false);
}

int sipretx_start_invite(struct sipretx *x, const char *buf, size_t len, const char *branch)
{
    return start(x, buf, len, branch, true);
}

bool sipretx_matches(const struct sipretx *x, const char *branch, size_t n)
{
    return x->buf && n > 0 && strlen(x->branch) == n && memcmp(x->branch, branch, n) == 0;
}

void sipretx_response(struct sipretx *x, unsigned status)
{
    if (!x->buf)
        return;
    /* §17.1.1.2: any response stops Timer A (the INVITE server transaction
     * downstream retransmits its final response itself). */
    if (status >= 200 || x->invite) {
        clear(x);
        return;
    }
    /* Proceeding: retransmit every T2 from now on (§17.1.2.2). */
    if (!x->proceeding) {
        x->proceeding = true;
        x->interval = SIPRETX_T2_MS;
        if (loop_timer_set(x->loop, &x->t_e, SIPRETX_T2_MS) < 0)
            loop_timer_cancel(x->loop, &x->t_e);
    }
}

void sipretx_cancel(struct sipretx *x)
{
    clear(x);
}

bool sipretx_active(const struct sipretx *x)
{
    return x->buf != NULL;
}

unsigned sipretx_sends(const struct sipretx *x)
{
    return x->sends;
}
