/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream.h - one outgoing TCP or TLS connection: the transport of one
 * RFC 5626 flow towards an edge proxy.
 *
 * A stream connects without blocking, optionally runs a TLS handshake with
 * SNI and hostname verification, then splits what it receives into SIP
 * messages, pongs and pings (RFC 3261 §18.3 framing, RFC 5626 §4.4.1
 * keep-alives) and hands them to the owner's callbacks.  Sends are written
 * at once; what the kernel does not take waits in a bounded queue.
 *
 * Memory (10,000 flows per daemon): an idle stream owns no buffer.  The
 * read buffer is allocated when bytes arrive, grows only while a message is
 * incomplete and is freed as soon as every received byte has been consumed;
 * the write queue exists only while a write would block.  Every TLS stream
 * runs with SSL_MODE_RELEASE_BUFFERS (OpenSSL drops its 16 KiB record
 * buffers between records) and calls SSL_free_buffers() once a read leaves
 * nothing pending, because the TLS 1.3 session tickets a server sends after
 * the handshake otherwise pin a write buffer until the next send.
 * Measured (tests/bench/bench_tlsmem.c, 1,000 flows, OpenSSL 3.0, x86-64,
 * P-256 certificate, TLS 1.3, tickets received): about 190 heap bytes per
 * idle TCP stream; per idle TLS stream about 19 KiB after a full handshake
 * and 15 KiB after resuming the edge's cached session (the peer's
 * certificate is then shared with the cached session instead of parsed
 * per connection), of which 8.6 KiB are the SSL object before any byte
 * moved and 160 bytes the stream object itself.
 *
 * Callbacks run from the event loop only, never from inside a stream_*()
 * call made by the owner.  Every callback may call stream_free() on its own
 * stream (or on any other); the stream is then never touched again.  A
 * stream delivers nothing after on_close.
 *
 * OpenSSL writes to the socket with write(2): the process must ignore
 * SIGPIPE (plain TCP sends use MSG_NOSIGNAL and do not need it).
 */
#ifndef SIPKEEP_TRANSPORT_STREAM_H
#define SIPKEEP_TRANSPORT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "core/loop.h"

/* Connect + TLS handshake must finish within this, unless changed with
 * stream_set_connect_timeout(). */
#define STREAM_CONNECT_TIMEOUT_MS 10000u
/* Bytes stream_send() may leave waiting for the kernel; beyond: -ENOBUFS. */
#define STREAM_WQ_MAX (256u * 1024u)
/* The read buffer starts at this size and doubles while a message is
 * incomplete, up to the largest message the framer accepts. */
#define STREAM_RBUF_MIN 2048u

struct stream;

enum stream_state {
    STREAM_CONNECTING,    /* TCP connect in progress */
    STREAM_HANDSHAKING,   /* TLS handshake in progress */
    STREAM_OPEN,          /* on_connected has been called */
    STREAM_CLOSED,        /* on_close has been called (or is pending) */
};

/* The owner's callbacks.  The struct is referenced, not copied: it must
 * outlive the stream (a static const table is the usual choice).  Any
 * member except on_close may be NULL.  Each may call stream_send(),
 * stream_send_ping() and stream_free() on the stream it is given. */
struct stream_cbs {
    /* TCP connected (plain) or TLS handshake and verification done. */
    void (*on_connected)(struct stream *s, void *arg);
    /* One complete SIP message (start line, headers, body of exactly
     * Content-Length bytes).  msg points into the read buffer and is valid
     * until the callback returns (even if it calls stream_free()): copy
     * what must be kept. */
    void (*on_message)(struct stream *s, const char *msg, size_t len, void *arg);
    /* A single CRLF between messages: the pong that answers our ping
     * (RFC 5626 §4.4.1). */
    void (*on_pong)(struct stream *s, void *arg);
    /* A double CRLF (a ping) from the peer.  The stream has already queued
     * the CRLF pong that RFC 5626 §3.5.1 / §5.4 ask of the receiver; this
     * is a notification. */
    void (*on_ping)(struct stream *s, void *arg);
    /* The stream is dead: connect failed or timed out, TLS failed, the peer
     * closed or reset, a read/write failed, or the peer sent bytes that are
     * not SIP framing.  err is 0 when the peer closed the connection in an
     * orderly way, else a negative errno: -ECONNREFUSED, -ETIMEDOUT,
     * -ECONNRESET, -EPROTO (TLS failure, including certificate
     * verification), -EBADMSG (framing), -EMSGSIZE (message too large) or
     * what the kernel reported.  reason is a one-line human text, e.g.
     * "certificate verify failed: Hostname mismatch (expected edge.test)",
     * valid during the call only.  Called at most once.  The descriptor and
     * TLS state are already released; the owner must still call
     * stream_free(), here or later. */
    void (*on_close)(struct stream *s, int err, const char *reason, void *arg);
};

/* The TLS settings of one configured service (config's tls: keys). */
struct stream_tls_opts {
    const char *ca_file;   /* PEM bundle of trusted CAs; NULL: the system store */
    bool verify;           /* false accepts any certificate (test set-ups only) */
    const char *cert_file; /* client certificate chain, PEM, leaf first; NULL: none */
    const char *key_file;  /* its private key, PEM, unencrypted; given iff cert_file */
    int min_version;       /* TLS1_2_VERSION or TLS1_3_VERSION; 0 means 1.2 */
};

/* Which setting stream_tls_ctx_new() could not use, so that the caller can
 * point at the configuration key. */
enum stream_tls_bad {
    STREAM_TLS_BAD_NONE,
    STREAM_TLS_BAD_CA,      /* ca_file */
    STREAM_TLS_BAD_CERT,    /* cert_file (or it is given without key_file) */
    STREAM_TLS_BAD_KEY,     /* key_file (or it is given without cert_file, or it
                               is not the certificate's key) */
    STREAM_TLS_BAD_VERSION, /* min_version */
};

/* Creates a TLS client context for one configured service: TLS >=
 * o->min_version (never below 1.2), SSL_MODE_RELEASE_BUFFERS (idle
 * connections keep no record buffers), and a session cache of one session
 * per edge (verified name + address) that stream_open() offers for
 * resumption (RFC 8446 §2.2, RFC 5077), never for another name.  verify true: the
 * peer must present a chain to a trusted CA; stream_open() adds the
 * hostname check.  With cert_file/key_file the context presents that
 * client certificate when a server asks for one: both files are read here
 * and only here (call it before dropping privileges; the key stays in
 * memory, its bytes are never logged), an encrypted key is refused (no
 * passphrase prompt), and a key that is not the certificate's is an error.
 * Returns 0 and *out (free it with stream_tls_ctx_free() after the last
 * stream using it), or -EINVAL (a file missing, unreadable or invalid, a
 * bad version) with *bad (may be NULL) naming the setting, or -ENOMEM; a
 * message in err (errsz > 0) names the file and the reason, never the
 * key's contents. */
int stream_tls_ctx_new(const struct stream_tls_opts *o, SSL_CTX **out,
                       enum stream_tls_bad *bad, char *err, size_t errsz);
/* Whether s's TLS handshake resumed a cached session (RFC 8446 §2.2);
 * false for plain TCP and before the handshake is done.  The owner counts
 * handshakes when it hears stream_connected (flow.c: the daemon's stats). */
bool stream_tls_resumed(const struct stream *s);

/* Releases a context (NULL is fine).  Streams hold their own reference, so
 * freeing it while streams exist is safe. */
void stream_tls_ctx_free(SSL_CTX *ctx);

/* Starts connecting to dst (IPv4 or IPv6) and returns the stream in *out.
 * tls NULL means plain TCP; otherwise sni_host (required) is sent as SNI
 * and the certificate must match it (DNS name; an IP literal is checked
 * against the certificate's IP addresses and not sent as SNI, RFC 6066 §3).
 * sni_host is independent of dst: for SIP it is the host of the configured
 * URI (RFC 5922 §4), never the name or address a DNS lookup led to.
 * cbs/arg as described above; cbs->on_close is required.  Failures to
 * reach the peer (even an immediate ECONNREFUSED) are reported later by
 * on_close, never by the return value.  Returns 0, or -EINVAL (bad
 * arguments), -ENOMEM, or -errno from socket(); nothing is left behind on
 * failure. */
int stream_open(struct stream **out, struct loop *l, const struct sockaddr *dst,
                socklen_t len, SSL_CTX *tls, const char *sni_host,
                const struct stream_cbs *cbs, void *arg);

/* Closes the connection (without on_close) and frees the stream.  NULL is
 * fine.  Safe from any callback, including the stream's own: the stream is
 * not touched after the callback returns. */
void stream_free(struct stream *s);

/* Sends len bytes (copied; the caller keeps buf).  Before the stream is
 * open the bytes wait in the queue and go out right after on_connected.
 * All or nothing: returns 0 when everything was written or queued,
 * -ENOBUFS when the queue would exceed STREAM_WQ_MAX (nothing queued: the
 * peer is not reading and a flow manager should treat the flow as failed;
 * a single send larger than STREAM_WQ_MAX always gets it), -ENOTCONN once
 * closed, -EINVAL for a NULL buf.  A socket error while writing returns
 * its -errno, and -ENOMEM after part of the bytes went out leaves the
 * byte stream torn: both also lead to on_close, from the loop. */
int stream_send(struct stream *s, const void *buf, size_t len);
/* Sends a double-CRLF keep-alive ping (RFC 5626 §4.4.1).  Same returns. */
int stream_send_ping(struct stream *s);

/* The local address of the connection (for Via sent-by, RFC 3261 §18.1.1)
 * Known once connect() has been issued.  Returns 0, or -ENOTCONN once
 * closed, or -errno from getsockname(). */
int stream_local_addr(const struct stream *s, struct sockaddr_storage *out);

/* The notAfter of the certificate the TLS peer presented, as seconds since
 * the epoch (UTC), in *out.  Returns 0, -ENOTCONN before the handshake is
 * done or once closed, -EINVAL for a plain TCP stream, -ENOENT when the
 * peer sent no certificate, -ENOMEM. */
int stream_peer_cert_expiry(const struct stream *s, int64_t *out);

#endif
