/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dummy_nfqi.c - intercept/nfqi.h without the kernel (see
 * dummy_intercept.h): the queue is a struct, packets come from
 * dummy_nfqi_packet. */
#include <errno.h>
#include <stdlib.h>

#include "dummy_intercept.h"

struct nfqi {
    pkt_wanted_fn wanted;
    nfqi_take_fn take;
    void *arg;
    struct nfqi_counts counts;
};

struct dummy_nfqi dummy_nfqi;

int nfqi_open(struct nfqi **out, struct loop *l, uint16_t queue, pkt_wanted_fn wanted,
              nfqi_take_fn take, void *arg)
{
    struct nfqi *q;

    (void)l;
    if (dummy_nfqi.open_rc)
        return dummy_nfqi.open_rc;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    *q = (struct nfqi){ .wanted = wanted, .take = take, .arg = arg };
    dummy_nfqi.q = q;
    dummy_nfqi.queue = queue;
    dummy_nfqi.opens++;
    *out = q;
    return 0;
}

void nfqi_free(struct nfqi *q)
{
    if (!q)
        return;
    if (dummy_nfqi.q == q)
        dummy_nfqi.q = NULL;
    dummy_nfqi.frees++;
    free(q);
}

void nfqi_counts(const struct nfqi *q, struct nfqi_counts *out)
{
    *out = q->counts;
}

enum pkt_verdict dummy_nfqi_packet(const uint8_t *p, size_t n, enum pkt_reason *why)
{
    struct nfqi *q = dummy_nfqi.q;
    struct pkt_udp4 pk;
    enum pkt_reason r = PKT_TRUNCATED;
    enum pkt_verdict v;

    if (!q)
        abort(); /* the test fed a packet to a queue it never opened */
    v = pkt_decide(p, n, q->wanted, q->arg, &pk, &r);
    if (why)
        *why = r;
    if (v == PKT_TAKE) {
        q->counts.taken++;
        q->take(&pk, q->arg);
    } else {
        q->counts.accepted++;
    }
    return v;
}
