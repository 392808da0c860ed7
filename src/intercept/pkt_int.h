/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt_int.h - pkt.c's building blocks (checksums, the IPv4/UDP parser, the
 * SIP sniff, a datagram builder) that only tests call; the daemon uses
 * pkt_decide().
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_INTERCEPT_PKT_INT_H
#define SIPKEEP_INTERCEPT_PKT_INT_H

#include "intercept/pkt.h"

/* The Internet checksum (RFC 1071) of buf[0..len), folded, complemented,
 * continuing from a partial sum `init` (0 to start). */
uint16_t pkt_csum(const void *buf, size_t len, uint32_t init);
/* True if the IPv4 header checksum and the UDP checksum (when non-zero) of
 * datagram p[0..n) are correct; false if either is wrong or p is not a
 * parseable IPv4/UDP datagram. */
bool pkt_csum_ok(const uint8_t *p, size_t n);
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
/* Builds an IPv4/UDP datagram from src to dst with payload into
 * buf[0..cap) with correct IPv4 header and UDP checksums (for a raw-socket
 * egress and for tests).  ttl 64, DF set, id 0.  Returns the datagram
 * length, or -EMSGSIZE if cap (or the 65535 IPv4 limit) is too small,
 * -EINVAL for non-IPv4 addresses. */
int pkt_build_udp4(uint8_t *buf, size_t cap, const struct sockaddr_in *src,
                   const struct sockaddr_in *dst, const void *payload, size_t len);

#endif
