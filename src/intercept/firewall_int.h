/* SPDX-License-Identifier: GPL-2.0-or-later */
/* firewall_int.h - the rule-text helpers of firewall.c that only its
 * tests call (the daemon uses their _in variants through firewall_run.c).
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_INTERCEPT_FIREWALL_INT_H
#define SIPKEEP_INTERCEPT_FIREWALL_INT_H

#include "intercept/firewall.h"

/* True if name is a usable interface name (1..15 of [A-Za-z0-9._@-],
 * optionally ending in iptables' wildcard '+', "+" alone meaning any
 * interface: nothing that iptables or a shell could read as syntax). */
bool firewall_iface_ok(const char *name);
/* Writes the commands that flush and delete FIREWALL_CHAIN (after the
 * jumps to it are gone: see firewall_jump_delete).  Same return convention. */
int firewall_chain_cleanup_text(char *buf, size_t sz);
/* Given one line of `iptables -t mangle -S` output, if it is a jump to
 * FIREWALL_CHAIN ("-A <chain> ... -j SIPKEEP"), writes the matching delete
 * command ("iptables -w -t mangle -D <chain> ...") into buf and returns its
 * length; returns 0 if the line is not ours, -ENOSPC if buf is too small. */
int firewall_jump_delete(const char *line, char *buf, size_t sz);

#endif
