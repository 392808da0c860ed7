/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netwatch.h - the kernel's address and route changes (rtnetlink:
 * RTM_NEWADDR/DELADDR, RTM_NEWROUTE/DELROUTE), read on the event loop and
 * told once per burst: a PPPoE reconnect or a DHCP renewal sends several
 * messages for one change, and the owner should act on the change once.
 *
 * Knows nothing of flows: what a change means for them is decided by the
 * owner (outbound/wanwatch.h). */
#ifndef SIPKEEP_CORE_NETWATCH_H
#define SIPKEEP_CORE_NETWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

/* What changed, as a bit mask. */
#define NETWATCH_ADDR_GONE 0x1u  /* an address was removed */
#define NETWATCH_ADDR_NEW 0x2u   /* an address was added (or changed) */
#define NETWATCH_ROUTE_GONE 0x4u /* a route was removed */
#define NETWATCH_ROUTE_NEW 0x8u  /* a route was added (or changed) */
/* Messages were lost (the socket's buffer overran): anything may have
 * changed; always given with all four bits above. */
#define NETWATCH_LOST 0x10u
#define NETWATCH_ALL 0x1fu

/* A burst is told NETWATCH_SETTLE_MS after its first message (later ones
 * in that time join it): well within a second, long enough for the
 * messages of one change to arrive together. */
#define NETWATCH_SETTLE_MS 100u

struct netwatch;

/* Called from the loop with the mask of what changed in the burst.  May
 * not free the netwatch. */
typedef void (*netwatch_cb)(unsigned what, void *arg);

/* Opens a NETLINK_ROUTE socket subscribed to IPv4/IPv6 address and route
 * changes, on loop.  Returns 0 and *out, or -errno (socket, bind,
 * loop_fd_add; -ENOMEM) with nothing left open. */
int netwatch_open(struct netwatch **out, struct loop *loop, netwatch_cb cb, void *arg);
/* Closes the socket and cancels a pending burst.  NULL is fine. */
void netwatch_free(struct netwatch *nw);

/* Classifies the rtnetlink messages in buf[0..len) (one datagram as the
 * kernel sends it): *what gets the NETWATCH_* bits of the address and
 * route messages in it.  Local-table and cloned (cache) routes are not
 * changes of the path and are ignored; other message types are skipped.
 * Every length is checked against len.  Returns 0, or -EBADMSG for a
 * malformed datagram (*what then holds what was read before it). */
int netwatch_parse(const void *buf, size_t len, unsigned *what);

#endif
