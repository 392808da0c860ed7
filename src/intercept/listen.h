/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listen.h - the LAN side of proxy mode: UDP sockets legacy UAs send SIP to
 * (config `listen:`).
 *
 * Each datagram is handed over with its source and the local address it
 * was sent to (IP_PKTINFO), so that a wildcard-bound socket still knows
 * which of its addresses a UA uses (for sipkeep's own Via and Contact
 * towards that UA).  Datagrams larger than LISTEN_MAX_DGRAM are dropped
 * and logged, never truncated and parsed.
 */
#ifndef SIPKEEP_INTERCEPT_LISTEN_H
#define SIPKEEP_INTERCEPT_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/stats.h"

/* The largest SIP datagram accepted from a UA (RFC 3261 §18.1.1 keeps UDP
 * messages well below this; anything larger is garbage or an attack). */
#define LISTEN_MAX_DGRAM 16384u

struct listener;

/* A received datagram: buf is valid during the callback only. */
struct listen_dgram {
    const char *buf;
    size_t len;
    struct sockaddr_storage src;   /* the UA */
    socklen_t srclen;
    struct sockaddr_storage local; /* address the UA sent to, port included */
};

/* Called for each datagram; may call listen_send, not listen_free. */
typedef void (*listen_cb)(struct listener *ln, const struct listen_dgram *d, void *arg);

/* Opens and binds a non-blocking UDP socket for lc and registers it with
 * the loop.  stats (may be NULL) counts datagrams in and out and oversized
 * ones.  Returns 0 and *out, or -errno (e.g. -EADDRINUSE, -EACCES) with
 * nothing left open. */
int listen_open(struct listener **out, struct loop *l, const struct cfg_listen *lc,
                listen_cb cb, void *arg, struct sk_stats *stats);
/* Unregisters, closes and frees (NULL is fine). */
void listen_free(struct listener *ln);

/* Sends one datagram to dst.  Returns 0 or -errno (-EAGAIN when the socket
 * buffer is full: UDP, so the message is lost and SIP retransmits). */
int listen_send(struct listener *ln, const void *buf, size_t len,
                const struct sockaddr *dst, socklen_t dstlen);

#endif
