/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netwatch_int.h - what of netwatch.c only tests call: a netwatch without
 * a socket, fed crafted datagrams on the test's (fake) clock. */
#ifndef SIPKEEP_CORE_NETWATCH_INT_H
#define SIPKEEP_CORE_NETWATCH_INT_H

#include "core/netwatch.h"

/* As netwatch_open, without the socket.  Returns 0 and *out or -ENOMEM. */
int netwatch_new_unbound(struct netwatch **out, struct loop *loop, netwatch_cb cb, void *arg);
/* One datagram as if read from the socket: parsed and added to the burst
 * (a malformed one counts as NETWATCH_ALL: something changed). */
void netwatch_feed(struct netwatch *nw, const void *buf, size_t len);

#endif
