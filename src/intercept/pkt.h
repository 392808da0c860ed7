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

/* Parses the IPv4 datagram p[0..n).  Checksums are not verified: packets
 * queued from OUTPUT may carry partial (offloaded) checksums, and the
 * kernel already dropped corrupt forwarded ones.  Trailing bytes beyond
 * the IPv4 total length (link padding) are ignored.  Returns PKT_OK and
 * fills *out, or the reason the packet cannot be taken (out unspecified). */
enum pkt_reason pkt_parse_udp4(const uint8_t *p, size_t n, struct pkt_udp4 *out);

/* True if payload starts like a SIP message: "SIP/2.0 " status line or a
 * request line "METHOD SP URI SP SIP/2.0" (token method, sip:/sips:/tel:
 * URI).  CRLF keep-alives and STUN are not SIP (they pass untouched). */
bool pkt_looks_sip(const uint8_t *payload, size_t len);

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

/* The Internet checksum (RFC 1071) of buf[0..len), folded, complemented,
 * continuing from a partial sum `init` (0 to start). */
uint16_t pkt_csum(const void *buf, size_t len, uint32_t init);

/* Builds an IPv4/UDP datagram from src to dst with payload into
 * buf[0..cap) with correct IPv4 header and UDP checksums (for a raw-socket
 * egress and for tests).  ttl 64, DF set, id 0.  Returns the datagram
 * length, or -EMSGSIZE if cap (or the 65535 IPv4 limit) is too small,
 * -EINVAL for non-IPv4 addresses. */
int pkt_build_udp4(uint8_t *buf, size_t cap, const struct sockaddr_in *src,
                   const struct sockaddr_in *dst, const void *payload, size_t len);

/* True if the IPv4 header checksum and the UDP checksum (when non-zero) of
 * datagram p[0..n) are correct; false if either is wrong or p is not a
 * parseable IPv4/UDP datagram. */
bool pkt_csum_ok(const uint8_t *p, size_t n);

#endif
