/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_udp.h - the UDP half of an RFC 5626 flow (flow.c uses it for
 * transport=udp proxies): one connected UDP socket (transport/dgram.h) per
 * connection, SIP and STUN on the same 5-tuple (§8), and the keep-alives
 * UDP allows: never CRLF (§4.4.1 is for connection-oriented transports
 * only), but STUN Binding requests (§4.4.2, outbound/stunka.h) when the
 * first hop is known to support them, else a SIP OPTIONS to the outbound
 * proxy at the same interval, which keeps the NAT binding open with SIP
 * itself.
 *
 * sipkeep's own requests (its REGISTERs, given to flow_udp_send_own(),
 * and the OPTIONS keep-alives) are retransmitted as RFC 3261 §17.1.2.2
 * asks (outbound/sipretx.h); Timer F (32 s without a final response) is a
 * failure of the flow.  Responses are matched by their top Via branch; a
 * response to an OPTIONS keep-alive is consumed here, every other SIP
 * datagram goes to on_message.  Requests relayed for a UA
 * (flow_udp_send()) are sent once: the UA retransmits them itself.
 *
 * One flow_udp per connection: flow.c frees it when the flow fails and
 * opens a new one for the next attempt (new socket, new NAT mapping, new
 * first STUN address).  Callbacks run from the loop and may free it.
 */
#ifndef SIPKEEP_OUTBOUND_FLOW_UDP_H
#define SIPKEEP_OUTBOUND_FLOW_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/rand.h"
#include "core/stats.h"
#include "sip/msg.h"

struct flow_udp;

struct flow_udp_cbs {
    /* The socket is ready (from the loop): send the REGISTER. */
    void (*on_connected)(const struct sockaddr_storage *local, void *arg);
    /* One SIP datagram (not an answer to an OPTIONS keep-alive); valid
     * during the call only. */
    void (*on_message)(const char *msg, size_t len, void *arg);
    /* A keep-alive was answered (STUN success with the flow's address, or
     * a final response to the OPTIONS); rtt from its first send. */
    void (*on_pong)(int64_t rtt_ms, void *arg);
    /* The flow failed: socket error, keep-alive failure (see stunka.h),
     * mapped address change, or Timer F of one of sipkeep's requests. */
    void (*on_fail)(const char *reason, void *arg);
};

struct flow_udp_params {
    struct loop *loop;
    const struct cfg_proxy *proxy;      /* host and port are copied (OPTIONS
                                           Request-URI, logs) */
    unsigned reg_id;                    /* for logs */
    struct rand_src rng;                /* interval jitter; next == NULL:
                                           the kernel's */
    const struct flow_udp_cbs *cbs;     /* referenced */
    void *arg;
    struct sk_stats *stats;             /* keep-alives sent/lost; may be NULL */
};

/* Opens the socket towards dst; on_connected follows from the loop.
 * Returns 0, -EINVAL, -ENOMEM or the socket's -errno (nothing left). */
int flow_udp_open(struct flow_udp **out, const struct flow_udp_params *p,
                  const struct sockaddr *dst, socklen_t len);
/* Closes the socket, stops every timer and frees.  NULL is fine. */
void flow_udp_free(struct flow_udp *u);

/* Sends one datagram as is (a request or response relayed for a UA).
 * Returns 0 or -errno (see dgram_send(); a broken socket also fails the
 * flow from the loop). */
int flow_udp_send(struct flow_udp *u, const void *buf, size_t len);
/* Sends a request sipkeep originates (a REGISTER) and retransmits it until
 * a final response with its top Via branch arrives; Timer F fails the
 * flow.  A new call replaces the transaction in progress.  Returns 0,
 * -EBADMSG (not a request with a Via branch), -ENOMEM or a send error. */
int flow_udp_send_own(struct flow_udp *u, const char *buf, size_t len);

/* Starts or re-times the keep-alives after a REGISTER 2xx: STUN when stun
 * is true (the caller checked the §4.4/§8 indication), else OPTIONS; each
 * interval is stunka_interval_ms(ka, interval_s, ...).  The first call
 * sends a keep-alive at once; later calls never postpone the next one.
 * The kind chosen first stays for this connection.  Returns 0 or -ENOMEM. */
int flow_udp_keepalive(struct flow_udp *u, bool stun, const struct cfg_keepalive *ka,
                       unsigned interval_s);
/* A keep-alive now, unless one is outstanding or none has started. */
void flow_udp_ping_now(struct flow_udp *u);

/* The socket's local address.  Returns 0 or -errno. */
int flow_udp_local_addr(const struct flow_udp *u, struct sockaddr_storage *out);

/* Whether a REGISTER 2xx explicitly says that the first hop supports STUN
 * keep-alives, besides Require: outbound: ";ob" on the first Path URI
 * (RFC 5626 §8), or an RFC 6223 "keep" parameter with a value in the top
 * Via (§4.4; *keep_s gets the value, else 0). */
bool flow_udp_stun_indicated(const struct sipmsg *rsp, unsigned *keep_s);

#endif
