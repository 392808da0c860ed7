/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dummy_intercept.h - link-time stand-ins for transparent mode's kernel
 * backends (netifd's system-dummy.c habit): dummy_nfqi.c implements
 * intercept/nfqi.h without an NFQUEUE, dummy_tproxy.c intercept/tproxy.h
 * without IP_TRANSPARENT sockets.  A test linked against them instead of
 * nfqi.o and tproxy.o (Makefile: test_tmode_flow) runs tmode.c's logic
 * without root: it feeds packets in as the kernel would queue them, and
 * reads back the verdicts and what was sent from which address.  Errors
 * can be injected (open_rc, send_rc). */
#ifndef SIPKEEP_TESTS_DUMMY_INTERCEPT_H
#define SIPKEEP_TESTS_DUMMY_INTERCEPT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "intercept/nfqi.h"
#include "intercept/pkt.h"
#include "intercept/tproxy.h"

/* ---- the queue (dummy_nfqi.c) ---- */

struct dummy_nfqi {
    int open_rc;         /* nfqi_open returns this when non-zero */
    struct nfqi *q;      /* the open queue, NULL when none */
    uint16_t queue;      /* the queue number it was bound to */
    int opens, frees;
};
extern struct dummy_nfqi dummy_nfqi;

/* The kernel queues the IPv4 datagram p[0..n) on the open queue: decided
 * as nfqi.c does (pkt_decide with the owner's policy), the verdict given
 * first, then a taken packet handed to the take callback.  Returns the
 * verdict; *why (may be NULL) gets the reason. */
enum pkt_verdict dummy_nfqi_packet(const uint8_t *p, size_t n, enum pkt_reason *why);

/* ---- the reply sockets (dummy_tproxy.c) ---- */

#define DUMMY_TPROXY_MAX 16
#define DUMMY_TPROXY_BUF 4096

struct dummy_tproxy_sock {
    int fd;                  /* a descriptor on /dev/null: the owner closes it */
    struct sockaddr_in src;  /* the address it is bound to (non-locally) */
    uint32_t mark;
};

struct dummy_tproxy_sent {
    struct sockaddr_in src, dst;
    size_t len;
    char buf[DUMMY_TPROXY_BUF];
};

struct dummy_tproxy {
    int open_rc;             /* tproxy_open returns this when non-zero */
    int send_rc;             /* tproxy_send returns this when non-zero */
    int n_socks;
    struct dummy_tproxy_sock socks[DUMMY_TPROXY_MAX];
    int n_sent;
    struct dummy_tproxy_sent sent[DUMMY_TPROXY_MAX];
};
extern struct dummy_tproxy dummy_tproxy;

#endif
