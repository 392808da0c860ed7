/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream_impl.h - private to stream.c and stream_tls.c: the stream object
 * and the calls between the TCP core and its TLS half.  Not public API. */
#ifndef SIPKEEP_TRANSPORT_STREAM_IMPL_H
#define SIPKEEP_TRANSPORT_STREAM_IMPL_H

#include <netinet/in.h>
#include <sys/types.h>

#include "transport/stream.h"

/* Kept small on purpose (10,000 of them): pointers first, 32-bit sizes,
 * the peer in a sockaddr_in6-sized union instead of a sockaddr_storage. */
struct stream {
    struct loop *loop;
    const struct stream_cbs *cbs;
    void *arg;
    SSL *ssl;               /* NULL for plain TCP */
    char *rbuf;             /* NULL while nothing unconsumed was received */
    char *wbuf;             /* NULL while nothing waits to be written */
    struct loop_fd lfd;     /* lfd.fd is the socket (owned); -1 once closed */
    struct loop_timer timer; /* connect/handshake deadline, deferred close */
    uint32_t rlen, rcap;
    uint32_t rneed;         /* frame again once rlen reaches this */
    uint32_t woff, wlen, wcap;
    int pending_err;        /* failure seen outside the loop, reported by timer */
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } peer;
    uint8_t state;          /* enum stream_state */
    bool in_cb;             /* an owner callback is running */
    bool free_pending;      /* stream_free() was called from that callback */
    bool rd_wants_wr;       /* TLS: SSL_read needs the socket writable */
    bool is_tls;
};

/* Room for a reason given to on_close. */
#define STREAM_WHY_MAX 200

/* ---- stream.c, for stream_tls.c ---- */

/* Releases the socket, TLS state and buffers, then calls on_close.  Returns
 * true when the owner freed the stream inside on_close. */
bool stream_fail(struct stream *s, int err, const char *why);
/* Moves to STREAM_OPEN: disarms the deadline, calls on_connected, flushes
 * what was queued.  Returns true when the stream is gone (freed or failed). */
bool stream_opened(struct stream *s);
/* Sets the loop interest of the socket; failures close the stream.
 * Returns true when the stream is gone. */
bool stream_want(struct stream *s, unsigned events);

/* ---- stream_tls.c ---- */

/* Creates s->ssl on ctx for the socket with SNI and hostname (or IP address)
 * verification for host.  Returns 0 or -EINVAL / -ENOMEM (s->ssl NULL). */
int stream_tls_setup(struct stream *s, SSL_CTX *ctx, const char *host);
/* Advances the handshake; on success calls stream_opened(). */
void stream_tls_handshake(struct stream *s);
/* SSL_read/SSL_write with errno-style results: bytes (> 0), 0 for an
 * orderly close (read only), -EAGAIN, or a negative errno with a reason in
 * why (size STREAM_WHY_MAX). */
ssize_t stream_tls_read(struct stream *s, void *buf, size_t n, char *why);
ssize_t stream_tls_write(struct stream *s, const void *buf, size_t n, char *why);
/* Frees OpenSSL's record buffers when they hold nothing (idle flows). */
void stream_tls_release(struct stream *s);
/* Best-effort close_notify on an open stream, never blocks. */
void stream_tls_shutdown(struct stream *s);

/* ---- used by tests only ---- */
/* Re-arms the connect + handshake deadline to ms from now.  Returns 0, or
 * -EINVAL once the stream is open or closed. */
int stream_set_connect_timeout(struct stream *s, uint32_t ms);
/* The address given to stream_open().  Always succeeds. */
void stream_peer_addr(const struct stream *s, struct sockaddr_storage *out);
bool stream_is_tls(const struct stream *s);
enum stream_state stream_state(const struct stream *s);
/* Bytes waiting in the write queue (0 when it is not allocated). */
size_t stream_queued(const struct stream *s);
/* Bytes received but not yet delivered (an incomplete message). */
size_t stream_buffered(const struct stream *s);
/* Heap bytes the stream itself holds: the object plus its read buffer
 * and write queue, OpenSSL's per-connection state not included.  For
 * memory checks. */
size_t stream_mem(const struct stream *s);

#endif
