/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcaps.h - transparent mode's capability check at start.
 *
 * NFQUEUE and the firewall rules need CAP_NET_ADMIN; the IP_TRANSPARENT
 * egress sockets and SO_MARK need CAP_NET_ADMIN (and CAP_NET_RAW for raw
 * egress).  Checking up front turns a confusing later EPERM into one clear
 * message naming the missing capability.
 */
#ifndef SIPKEEP_INTERCEPT_TCAPS_H
#define SIPKEEP_INTERCEPT_TCAPS_H

#include <stddef.h>
#include <stdint.h>

/* Capabilities transparent mode needs (PRIVDROP_CAP_* bits). */
uint64_t tcaps_needed(void);

/* Pure: if have lacks any bit of need, writes "missing capability
 * CAP_NET_ADMIN[,CAP_NET_RAW]" (only the missing ones, known names) into
 * msg and returns -EPERM; otherwise returns 0 and leaves msg untouched. */
int tcaps_check(uint64_t have, uint64_t need, char *msg, size_t sz);

/* The calling thread's effective capability set via capget(2).  Returns 0
 * or -errno. */
int tcaps_effective(uint64_t *out);

#endif
