/* SPDX-License-Identifier: GPL-2.0-or-later */
/* firewall.h - the iptables rules of transparent mode, as text.
 *
 * All of sipkeep's rules live in one dedicated chain (FIREWALL_CHAIN, table
 * mangle) plus jump rules into it from PREROUTING (forwarded traffic and
 * traffic to the router itself, per LAN interface) and optionally OUTPUT
 * (a PBX on the same host).  Cleanup is therefore "delete every jump to
 * FIREWALL_CHAIN, flush and delete FIREWALL_CHAIN", which also removes the stale rules
 * of a crashed run whose configuration differed.
 *
 * The chain first RETURNs packets carrying sipkeep's own SO_MARK (so its
 * egress is never queued again), then sends UDP to each service address
 * and port to NFQUEUE with --queue-bypass: with no reader on the queue
 * (sipkeep stopped or killed) the kernel ACCEPTs, i.e. fail-open.
 *
 * This module only builds text (one iptables command per line, arguments
 * separated by single spaces, no shell quoting needed: interface names and
 * addresses are validated); running them is the caller's business.  Pure,
 * so unit-tested without root.
 */
#ifndef SIPKEEP_INTERCEPT_FIREWALL_H
#define SIPKEEP_INTERCEPT_FIREWALL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIREWALL_CHAIN "SIPKEEP"
#define FIREWALL_TABLE "mangle"
/* sipkeep's own packets (SO_MARK) are not tracked: their conntrack entry
 * (provider -> UA) would otherwise outlive sipkeep and take the UA's later
 * packets to the provider for its replies, past the router's NAT, so the
 * UA could not talk to the provider directly (fail-open) until it expired.
 * Chain FIREWALL_CHAIN in this table, jumped to from OUTPUT, does that. */
#define FIREWALL_TABLE_RAW "raw"

/* What to intercept.  Arrays are borrowed for the call only. */
struct firewall_spec {
    uint16_t queue;                 /* NFQUEUE number */
    uint32_t mark;                  /* sipkeep's SO_MARK, non-zero */
    const char *const *ifaces;      /* LAN interfaces; none: no PREROUTING jump */
    size_t n_ifaces;
    const struct sockaddr_in *dsts; /* service address and port, IPv4 */
    size_t n_dsts;                  /* >= 1 */
    bool local;                     /* also intercept OUTPUT (same-host UA) */
};

/* Writes the install commands, '\n'-terminated lines, NUL-terminated, into
 * buf[0..sz).  Returns the length, -EINVAL for an invalid spec (mark 0, no
 * destination, a bad interface name, a non-IPv4 destination), -ENOSPC if
 * buf is too small (buf then holds an incomplete, unusable text). */
int firewall_install_text(const struct firewall_spec *s, char *buf, size_t sz);

/* The same for FIREWALL_CHAIN in table (FIREWALL_TABLE or FIREWALL_TABLE_RAW). */
int firewall_chain_cleanup_text_in(const char *table, char *buf, size_t sz);

/* The same for a line of `iptables -t TABLE -S` (FIREWALL_TABLE or FIREWALL_TABLE_RAW). */
int firewall_jump_delete_in(const char *table, const char *line, char *buf, size_t sz);

/* ---- running the rules (needs CAP_NET_ADMIN and the iptables binary) ---- */

/* Removes every jump to FIREWALL_CHAIN in PREROUTING and OUTPUT of
 * FIREWALL_TABLE and OUTPUT of FIREWALL_TABLE_RAW (whatever rule text it
 * has: a crashed run may have used another configuration) and flushes and
 * deletes both FIREWALL_CHAINs.  Nothing to remove is success.  Returns 0,
 * or -errno if iptables could not be run or a delete failed. */
int firewall_cleanup(void);

/* Cleans up stale rules (firewall_cleanup), then installs s.  On failure removes
 * what it installed.  Returns 0, -EINVAL (see firewall_install_text), or -EIO if
 * an iptables command failed (logged with the command). */
int firewall_install(const struct firewall_spec *s);

/* iptables runs as the process's user; after a drop to a non-root user it
 * gets the process's CAP_NET_ADMIN and CAP_NET_RAW as ambient capabilities
 * (privdrop_pass_caps), so firewall_cleanup still works at exit.  firewall_probe checks
 * that now: lists FIREWALL_CHAIN (installed) as firewall_cleanup would.  Returns 0, or
 * -EIO (iptables failed: e.g. iptables-legacy, whose lock file
 * /run/xtables.lock only root may open), -errno if it could not be run. */
int firewall_probe(void);

#endif
