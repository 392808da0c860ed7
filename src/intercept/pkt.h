/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt.h - pure IPv4/UDP packet handling for transparent mode.
 *
 * The NFQUEUE glue (nfqi.c) hands each queued packet (a whole IPv4
 * datagram, network header first) to pkt_parse_udp4() and asks
 * pkt_decide() whether sipkeep takes it over (verdict DROP, payload to the
 * router) or lets it pass (verdict ACCEPT).  Nothing here touches the
 * kernel, so the logic is unit-tested with crafted packets and no root.
 *
 * Fail-open is the rule: anything sipkeep cannot or will not handle
 * (not IPv4/UDP, a fragment, a malformed or oversized datagram, not SIP,
 * a source or destination sipkeep is not configured for) is ACCEPTed
 * unchanged, never dropped silently; the reason is returned so the caller
 * can log and count it.
 */
#ifndef SIPKEEP_INTERCEPT_PKT_H
#define SIPKEEP_INTERCEPT_PKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest UDP payload sipkeep takes over; larger SIP datagrams pass
 * (same bound as proxy mode's listener, see listen.h). */
#define PKT_MAX_PAYLOAD 16384u

/* Why a packet was passed (or PKT_OK when parsing succeeded). */
enum pkt_reason {
    PKT_OK = 0,
    PKT_TRUNCATED,  /* shorter than its headers or its IPv4 total length */
    PKT_NOT_IPV4,   /* version field is not 4 */
    PKT_BAD_HDR,    /* IHL < 5, or UDP length inconsistent with IPv4 */
    PKT_NOT_UDP,    /* protocol is not UDP */
    PKT_FRAGMENT,   /* MF set or fragment offset non-zero: never reassembled */
    PKT_OVERSIZE,   /* UDP payload larger than PKT_MAX_PAYLOAD */
    PKT_NOT_SIP,    /* payload does not start like a SIP request or response */
    PKT_UNWANTED,   /* the caller's policy (ua.allow, services) said no */
};

/* A parsed IPv4/UDP datagram; payload points into the caller's buffer. */
struct pkt_udp4 {
    struct sockaddr_in src; /* sender (the UA) */
    struct sockaddr_in dst; /* original destination (the provider) */
    const uint8_t *payload;
    size_t len;
};

enum pkt_verdict { PKT_ACCEPT = 0, PKT_TAKE };

/* Policy callback: does sipkeep handle traffic from src to dst? */
typedef bool (*pkt_wanted_fn)(const struct sockaddr_in *src,
                              const struct sockaddr_in *dst, void *arg);

/* Full decision for one queued packet: parse, size, SIP check, policy.
 * Returns PKT_TAKE (with *out filled) or PKT_ACCEPT; *why (may be NULL)
 * gets the reason (PKT_OK for a take). */
enum pkt_verdict pkt_decide(const uint8_t *p, size_t n, pkt_wanted_fn wanted,
                            void *arg, struct pkt_udp4 *out, enum pkt_reason *why);

/* Short stable name of a reason, for logs. */
const char *pkt_reason_str(enum pkt_reason r);

#endif
