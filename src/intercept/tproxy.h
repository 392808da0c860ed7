/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tproxy.h - transparent mode's egress to the UA: UDP sent from the
 * address the UA originally sent to (the provider's), not from the router.
 *
 * One socket per spoofed source address:port, bound non-locally with
 * IP_TRANSPARENT (needs CAP_NET_ADMIN at open time: open before dropping
 * privileges, or keep the capability) and carrying SO_MARK, so that the
 * firewall's "-m mark --mark X -j RETURN" keeps sipkeep's own packets out
 * of the NFQUEUE (no loop).  The kernel computes the checksums.
 */
#ifndef SIPKEEP_INTERCEPT_TPROXY_H
#define SIPKEEP_INTERCEPT_TPROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Opens a non-blocking, close-on-exec UDP socket bound to src (any
 * address, local or not) with IP_TRANSPARENT, SO_REUSEADDR (the real
 * owner of the address may be another host) and SO_MARK mark (0: none).
 * Returns the descriptor (the caller closes it) or -errno: -EPERM without
 * CAP_NET_ADMIN, -EINVAL for a non-IPv4 src, -EADDRINUSE. */
int tproxy_open(const struct sockaddr_in *src, uint32_t mark);

/* Sends one datagram on fd to dst.  Returns 0 or -errno (-EAGAIN: buffer
 * full, the datagram is lost and SIP retransmits; -EMSGSIZE). */
int tproxy_send(int fd, const void *buf, size_t len, const struct sockaddr_in *dst);

#endif
