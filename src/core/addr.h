/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr.h - socket address helpers shared by every module. */
#ifndef SIPKEEP_CORE_ADDR_H
#define SIPKEEP_CORE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest text addr_format() writes: "[v6%scope]:65535" and a NUL. */
#define ADDR_STR_MAX 64

/* Writes "1.2.3.4:5060" or "[2001:db8::1]:5060" into buf (NUL-terminated,
 * truncated to bufsz).  with_port false omits ":port" (and the brackets
 * stay for IPv6, as a SIP host needs them).  Returns buf. */
const char *addr_format(const struct sockaddr *sa, bool with_port, char *buf, size_t bufsz);

/* The port of an AF_INET/AF_INET6 address in host order (0 otherwise). */
unsigned addr_port(const struct sockaddr *sa);

/* Same family, address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address, whatever the ports. */
bool addr_same_host(const struct sockaddr *a, const struct sockaddr *b);

/* sizeof the concrete sockaddr for sa's family (0 for others). */
socklen_t addr_len(const struct sockaddr *sa);

/* An AF_INET or AF_INET6 address in the room of the larger (28 bytes, not
 * a sockaddr_storage's 128): kept per phone, 10,000 of them. */
union sockaddr_ip {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* Copies sa (AF_INET or AF_INET6) into *out, zero-padded.  Any other
 * family leaves *out zeroed (AF_UNSPEC).  Always succeeds. */
void addr_ip_set(union sockaddr_ip *out, const struct sockaddr *sa);

/* The reverse: *ip in a zero-padded sockaddr_storage *out, for the
 * callbacks that take one.  Always succeeds. */
void addr_ip_storage(struct sockaddr_storage *out, const union sockaddr_ip *ip);

#endif

#ifndef SIPKEEP_CORE_ADDR_PEER
#define SIPKEEP_CORE_ADDR_PEER
/* A legacy UA as seen by the ingress that received its SIP: where it is,
 * which of our addresses it sent to, and an opaque handle of the ingress
 * (a proxy-mode listener, or the transparent-mode interceptor) that the
 * send callback uses to answer it the same way. */
struct ua_addr {
    union sockaddr_ip src;
    union sockaddr_ip local;
    void *ingress;
};
#endif
