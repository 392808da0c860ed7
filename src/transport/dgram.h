/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dgram.h - one connected UDP socket: the transport of one RFC 5626 flow
 * over UDP towards an edge proxy.
 *
 * The socket is connect()ed to the proxy, so the kernel keeps one 5-tuple
 * for the flow and drops datagrams from anyone else.  SIP and STUN share
 * that 5-tuple (RFC 5626 §8): each datagram received is handed to
 * on_stun when it looks like STUN (stun_is_stun(): first two bits zero,
 * magic cookie, consistent length), to on_message when it looks like SIP
 * (it starts with a letter, as every request and "SIP/2.0" do), and is
 * dropped otherwise (a bare CRLF, for instance: RFC 5626 §4.4.1 keep-alives
 * do not exist on UDP).  Nothing is ever sent but what the owner gives.
 *
 * Mirrors stream.h: callbacks run from the event loop only, never from
 * inside a dgram_*() call made by the owner; every callback may call
 * dgram_free() on its own object, which is then never touched again; the
 * object delivers nothing after on_close.  An idle dgram owns no buffer:
 * a 64 KiB receive buffer is allocated per wakeup and freed before it ends.
 */
#ifndef SIPKEEP_TRANSPORT_DGRAM_H
#define SIPKEEP_TRANSPORT_DGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"

/* The largest datagram read (the UDP maximum). */
#define DGRAM_MAX 65535u

struct dgram;

/* The owner's callbacks, referenced (not copied): the struct must outlive
 * the dgram.  Any member except on_close may be NULL. */
struct dgram_cbs {
    /* The socket is ready (always right after dgram_open(), from the loop:
     * UDP has no handshake).  The local address is known from now on. */
    void (*on_connected)(struct dgram *d, void *arg);
    /* One datagram that looks like SIP; msg is valid during the call only
     * (even if the callback calls dgram_free()). */
    void (*on_message)(struct dgram *d, const char *msg, size_t len, void *arg);
    /* One datagram that looks like STUN (RFC 5389 §6); same lifetime. */
    void (*on_stun)(struct dgram *d, const uint8_t *buf, size_t len, void *arg);
    /* The socket failed: err is a negative errno (-ECONNREFUSED when the
     * proxy's host answered with ICMP port unreachable, RFC 3261 §18.4 asks
     * to treat it as a transport failure; or what recv/send reported).
     * reason is one line of text, valid during the call.  Called at most
     * once; the descriptor is already closed; the owner must still call
     * dgram_free(), here or later. */
    void (*on_close)(struct dgram *d, int err, const char *reason, void *arg);
};

/* Creates a UDP socket of dst's family, connects it to dst (IPv4 or
 * IPv6), and reports on_connected from the loop.  Returns 0 and *out, or
 * -EINVAL (bad arguments), -ENOMEM, or -errno from socket()/connect();
 * nothing is left behind on failure. */
int dgram_open(struct dgram **out, struct loop *l, const struct sockaddr *dst,
               socklen_t len, const struct dgram_cbs *cbs, void *arg);

/* Closes the socket (without on_close) and frees.  NULL is fine; safe from
 * any callback, including the dgram's own. */
void dgram_free(struct dgram *d);

/* Sends one datagram of len bytes (1..DGRAM_MAX).  Returns 0, -EINVAL,
 * -ENOTCONN once closed, -EAGAIN when the socket buffer is full (the
 * datagram is lost, as UDP may lose any), or another -errno: that one is a
 * transport failure, also reported by on_close from the loop. */
int dgram_send(struct dgram *d, const void *buf, size_t len);

/* The socket's local address (Via sent-by).  Returns 0, -ENOTCONN once
 * closed, or -errno from getsockname(). */
int dgram_local_addr(const struct dgram *d, struct sockaddr_storage *out);

#endif
