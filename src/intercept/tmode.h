/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tmode.h - transparent mode assembled: firewall rules, the NFQUEUE
 * ingress and the spoofed-source egress to the UAs, for main.c.
 *
 * What is intercepted: UDP from ua.allow to each service's outbound proxy
 * whose host is an IPv4 literal (at its configured port) and to each
 * services[].intercept address:port.  A taken packet is handed to the take
 * callback; answers go back to the UA through tmode_send() from the
 * address it originally sent to (tproxy.h), one socket per such
 * address, opened at first use (CAP_NET_ADMIN, kept by privdrop in this
 * mode).
 */
#ifndef SIPKEEP_INTERCEPT_TMODE_H
#define SIPKEEP_INTERCEPT_TMODE_H

#include <netinet/in.h>
#include <stddef.h>

#include "config/config.h"
#include "core/loop.h"
#include "intercept/pkt.h"

struct tmode;

/* A packet sipkeep took over (DROPped in the queue); valid during the call. */
typedef void (*tmode_take_fn)(struct tmode *t, const struct pkt_udp4 *pk, void *arg);

/* Pure: the iptables commands transparent mode installs for cfg, into
 * buf[0..sz) (see firewall_install_text).  Returns the length, -EINVAL with a
 * reason in err when cfg gives nothing to intercept, -ENOSPC, -ENOMEM. */
int tmode_fw_text(const struct cfg *cfg, char *buf, size_t sz, char *err, size_t errsz);

/* Fails with -EPERM and "missing capability CAP_..." in msg unless the
 * process has what transparent mode needs (tcaps.h); -errno if capget
 * fails. */
int tmode_check_caps(char *msg, size_t sz);

/* With transparent.manage_firewall, removes stale rules and installs
 * ours; then binds transparent.queue on l.  cfg is borrowed for the life
 * of the tmode.  Returns 0 and *out, or -errno with a message in err and
 * nothing left installed or open. */
int tmode_open(struct tmode **out, struct loop *l, const struct cfg *cfg, tmode_take_fn take,
               void *arg, char *err, size_t errsz);

/* Sends buf to the UA at to, from the address from (an intercepted
 * destination).  Returns 0 or -errno (-ENOENT: from is not one of ours). */
int tmode_send(struct tmode *t, const struct sockaddr_in *from, const struct sockaddr_in *to,
               const void *buf, size_t len);

/* Once the daemon runs as its `user:` (core/privdrop.h): with
 * manage_firewall, checks that the rules can still be removed at exit
 * (firewall_probe) and logs a warning naming the way out if not, rather than
 * leaving the rules behind silently at the stop.  NULL is fine. */
void tmode_after_drop(struct tmode *t);

/* Pure: the conntrack commands of a flush for cfg (ctflush_text: UDP and
 * TCP toward each destination the rules above intercept, from each IPv4
 * ua.allow prefix).  Returns the length and *out (caller frees), -EINVAL
 * when cfg gives nothing to intercept, -ENOSPC, -ENOMEM. */
int tmode_ct_text(const struct cfg *cfg, char **out);

/* A burst of WAN changes (what: core/netwatch.h bits; flows_changed: the
 * flows outbound/wanwatch.h failed or restarted for it): when it is a
 * change of the WAN (ctflush_due), deletes the conntrack entries of the
 * phones' SIP toward the intercepted destinations, UDP and TCP, which pin
 * the old WAN address (intercept/ctflush.h).  Returns at once: the helpers
 * run on the loop and log the result. */
void tmode_wan_changed(struct tmode *t, unsigned what, unsigned flows_changed);

/* Logs the queue's counters (event=intercept_counts: taken, passed,
 * verdict_errors), closes the queue and the sockets, and with
 * manage_firewall removes the rules (failure is logged: the next start
 * cleans up).  NULL is fine. */
void tmode_free(struct tmode *t);

#endif
