/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nfqi.h - transparent mode's ingress: packets from an NFQUEUE.
 *
 * Reads the queue (libnetfilter_queue, copy-packet mode) from the event
 * loop; for each packet asks pkt_decide() (pkt.h) and gives the verdict:
 * DROP after handing a taken message to the take callback (the router),
 * ACCEPT for everything else, so traffic sipkeep does not want flows on
 * unchanged.  Packets it passes for a reason other than "not SIP" or
 * "unwanted" (fragments, oversize, malformed) are logged.  The queue is
 * bound with the kernel's fail-open flag: when it is full, packets are
 * accepted rather than dropped.  Message-shaped: payload in, verdict out.
 */
#ifndef SIPKEEP_INTERCEPT_NFQI_H
#define SIPKEEP_INTERCEPT_NFQI_H

#include <stdint.h>

#include "core/loop.h"
#include "intercept/pkt.h"

struct nfqi;

/* A taken packet: pk->payload is valid during the call only. */
typedef void (*nfqi_take_fn)(const struct pkt_udp4 *pk, void *arg);

/* Opens and binds queue number `queue` and registers it with l.  wanted
 * (may be NULL: all SIP wanted) and take get arg.  Needs CAP_NET_ADMIN.
 * Returns 0 and *out, or -errno (-EPERM, -EBUSY if another process owns
 * the queue) with nothing left open. */
int nfqi_open(struct nfqi **out, struct loop *l, uint16_t queue, pkt_wanted_fn wanted,
              nfqi_take_fn take, void *arg);

/* Unregisters, unbinds and frees (NULL is fine).  Packets still queued are
 * then accepted by the kernel (--queue-bypass). */
void nfqi_free(struct nfqi *q);

/* Counters since open. */
struct nfqi_counts {
    uint64_t taken, accepted, errors;
};
void nfqi_counts(const struct nfqi *q, struct nfqi_counts *out);

#endif
