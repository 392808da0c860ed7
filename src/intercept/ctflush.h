/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctflush.h - transparent mode's flush of the phones' stale conntrack
 * entries on a WAN change (issue 12 item 6).
 *
 * The router's conntrack entries of a phone's SIP toward the provider
 * (original destination: an intercepted address and port, see tmode.h)
 * carry the NAT to the WAN address they were made with.  After the address
 * or the route changes, a packet that matches such an entry (one the queue
 * passes, or any while sipkeep is stopped: --queue-bypass) still leaves
 * from the old address, so the provider's answers go nowhere until the
 * entry times out.  They are deleted on the change instead.
 *
 * How: the `conntrack` program (conntrack-tools), one `conntrack -D` per
 * protocol (UDP, TCP), destination and IPv4 ua.allow prefix, run one after
 * the other as helper processes the loop reaps (a poll timer with
 * waitpid(WNOHANG)): the loop never waits for them.  Chosen over sending
 * IPCTNL_MSG_CT_DELETE on a NETLINK_NETFILTER socket ourselves because
 * transparent mode already runs a netfilter helper the same way (iptables,
 * firewall_run.c) with the same capability (CAP_NET_ADMIN, passed to the
 * child as ambient after the drop to `user:`), conntrack-tools follows the
 * kernel's ctnetlink attributes and filtering across versions, and sipkeep
 * gets no second parser of kernel bytes; the cost is one more program on
 * the router (Debian/OpenWrt package `conntrack`).  Without it the flush
 * fails with status 127, logged, and nothing else changes.
 *
 * Only sources in ua.allow are matched: the router's own connections to the
 * same edge (sipkeep's flows) are not the phones' and must survive (with
 * nf_conntrack_tcp_loose=0 a deleted entry would make the flow's next
 * segment INVALID).  A ua.allow that covers the router's WAN address would
 * take them too. */
#ifndef SIPKEEP_INTERCEPT_CTFLUSH_H
#define SIPKEEP_INTERCEPT_CTFLUSH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "core/loop.h"

/* How a helper runs: the kernel's by default (ctflush_kernel), a test's
 * fake. */
struct ctflush_runner {
    /* Starts argv (NULL-terminated, argv[0] looked up in PATH) with stdin
     * and stdout on /dev/null and its stderr readable from *err_fd
     * (non-blocking; the caller closes it).  Returns 0 with *pid, or
     * -errno with nothing started. */
    int (*spawn)(char *const argv[], pid_t *pid, int *err_fd, void *arg);
    /* 0 while pid runs; 1 once it has ended and is reaped, with *status its
     * exit status (128 + signal when killed); -errno. */
    int (*reap)(pid_t pid, int *status, void *arg);
    /* Ends pid at once (SIGKILL); it is then reaped as usual. */
    void (*kill)(pid_t pid, void *arg);
    void *arg;
};
extern const struct ctflush_runner ctflush_kernel;

/* A helper is looked at every CTFLUSH_POLL_MS and killed after
 * CTFLUSH_TIMEOUT_MS (a table so large that deleting takes longer is
 * left to the entries' own timeouts). */
#define CTFLUSH_POLL_MS 10u
#define CTFLUSH_TIMEOUT_MS 10000u

/* Pure: whether a burst of WAN changes (what: NETWATCH_* bits) calls for a
 * flush, flows_changed being how many flows the same burst failed or
 * restarted (outbound/wanwatch.h).  An address gone (or lost messages) is
 * a WAN change by itself; a route or a new address is one when it moved a
 * flow: IPv6 router advertisements refresh addresses and routes all the
 * time and change nothing. */
bool ctflush_due(unsigned what, unsigned flows_changed);

/* Pure: the commands, one a line ('\n'-terminated, NUL-terminated, words
 * separated by single spaces, nothing a shell would read): for each IPv4
 * prefix of allow, each destination of dsts and each of udp, tcp,
 *   conntrack -D -f ipv4 -p udp -s 192.168.1.0/24 -d 198.51.100.10 --dport 5060
 * Returns the length (0: no IPv4 prefix or no destination), -EINVAL for a
 * destination that is not AF_INET with a port, -ENOSPC when buf is too
 * small (buf then unusable). */
int ctflush_text(const struct sockaddr_in *dsts, size_t n_dsts, const struct cfg_cidr *allow,
                 size_t n_allow, char *buf, size_t sz);
/* A size of buf that fits ctflush_text's result for these counts. */
size_t ctflush_text_size(size_t n_dsts, size_t n_allow);

struct ctflush;

/* Runs flushes on l with runner r (borrowed; NULL: ctflush_kernel).
 * Returns 0 and *out, or -ENOMEM. */
int ctflush_new(struct ctflush **out, struct loop *l, const struct ctflush_runner *r);

/* Runs the commands of text (ctflush_text's form, copied), one helper
 * after the other, and logs one line when the last has ended:
 * conntrack_flushed deleted=N commands=M, or conntrack_flush_failed with
 * the first failing command and its exit status.  `conntrack -D` ending 1
 * having deleted nothing is no failure.  While a flush runs, a new one
 * waits and starts after it (a later one replaces a waiting one).
 * Returns 0 (empty text: nothing to do), -E2BIG for a line of more than
 * 255 bytes or 32 words, -ENOMEM. */
int ctflush_start(struct ctflush *c, const char *text);

/* What the flushes did so far (for tests and the log). */
struct ctflush_counts {
    unsigned flushes;      /* flushes ended (one log line each) */
    unsigned long deleted; /* entries deleted, as conntrack counted them */
    unsigned failed;       /* commands that failed */
    int last_status;       /* exit status of the last command, -errno if
                              it could not start */
};
void ctflush_counts(const struct ctflush *c, struct ctflush_counts *out);

/* Stops polling; a helper still running is killed and reaped if it has
 * ended, else left to end on its own.  NULL is fine. */
void ctflush_free(struct ctflush *c);

#endif
