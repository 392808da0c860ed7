/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream.c - outgoing TCP stream: connect, framing, bounded write queue;
 * the TLS half is in stream_tls.c.  See stream.h. */
#include "transport/stream_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/frame.h"

/* The largest message the framer accepts bounds the read buffer. */
#define STREAM_RBUF_MAX ((uint32_t)FRAME_MAX_MSG)
/* Reads per wakeup on plain TCP, so that one busy peer cannot starve the
 * other flows; epoll is level-triggered and comes back for the rest. */
#define STREAM_READS_PER_WAKEUP 8

static void on_io(struct loop_fd *h, unsigned events);
static void on_timer(struct loop_timer *t);

/* ---- small helpers ---- */

static const char *peer_str(const struct stream *s, char *buf, size_t sz)
{
    const void *a = s->peer.sa.sa_family == AF_INET6 ? (const void *)&s->peer.in6.sin6_addr
                                                     : (const void *)&s->peer.in.sin_addr;
    char host[INET6_ADDRSTRLEN] = "?";

    inet_ntop(s->peer.sa.sa_family, a, host, sizeof(host));
    snprintf(buf, sz, s->peer.sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
             (unsigned)ntohs(s->peer.sa.sa_family == AF_INET6 ? s->peer.in6.sin6_port
                                                               : s->peer.in.sin_port));
    return buf;
}

static void rbuf_release(struct stream *s)
{
    free(s->rbuf);
    s->rbuf = NULL;
    s->rlen = s->rcap = s->rneed = 0;
}

/* Everything but the read buffer, which may hold the message an
 * on_message callback is looking at while it frees the stream. */
static void teardown_io(struct stream *s)
{
    int fd = s->lfd.fd;

    loop_timer_cancel(s->loop, &s->timer);
    loop_fd_del(s->loop, &s->lfd);
    SSL_free(s->ssl);
    s->ssl = NULL;
    if (fd >= 0)
        close(fd);
    free(s->wbuf);
    s->wbuf = NULL;
    s->woff = s->wlen = s->wcap = 0;
    s->state = STREAM_CLOSED;
}

static void teardown(struct stream *s)
{
    teardown_io(s);
    rbuf_release(s);
}

/* Owner callbacks go through begin/end so that stream_free() inside one
 * only marks the stream; end() frees it and tells the caller to stop. */
static void cb_begin(struct stream *s)
{
    s->in_cb = true;
}

static bool cb_end(struct stream *s)
{
    s->in_cb = false;
    if (!s->free_pending)
        return false;
    rbuf_release(s);
    free(s);
    return true;
}

bool stream_fail(struct stream *s, int err, const char *why)
{
    char peer[INET6_ADDRSTRLEN + 8];

    log_info("stream_closed", "peer=%s tls=%d err=%d reason=\"%s\"",
             peer_str(s, peer, sizeof(peer)), s->is_tls, err, why);
    teardown(s);
    cb_begin(s);
    s->cbs->on_close(s, err, why, s->arg);
    return cb_end(s);
}

static bool fail_errno(struct stream *s, int err, const char *what)
{
    char why[STREAM_WHY_MAX];

    snprintf(why, sizeof(why), "%s: %s", what, strerror(-err));
    return stream_fail(s, err, why);
}

/* For failures noticed inside an owner's call (stream_send): the owner may
 * be in one of our callbacks, so the close is reported from the loop. */
static void defer_fail(struct stream *s, int err)
{
    if (s->pending_err)
        return;
    s->pending_err = err;
    if (loop_timer_set(s->loop, &s->timer, 0) < 0)
        loop_fd_mod(s->loop, &s->lfd, LOOP_READ | LOOP_WRITE); /* on_io reports it */
}

bool stream_want(struct stream *s, unsigned events)
{
    int err = loop_fd_mod(s->loop, &s->lfd, events);

    if (err < 0) {
        fail_errno(s, err, "epoll");
        return true;
    }
    return false;
}

/* The interest of an open stream: always readable (messages, pongs, EOF),
 * writable while bytes wait or TLS reading needs to write. */
static bool want_open(struct stream *s)
{
    bool wr = s->wlen > 0 || s->rd_wants_wr;

    return stream_want(s, LOOP_READ | (wr ? LOOP_WRITE : 0u));
}

/* ---- write side ---- */

/* -EAGAIN for "try later", else -en with a reason. */
static ssize_t io_errno(int en, const char *what, char *why)
{
    if (en == EAGAIN || en == EWOULDBLOCK || en == EINTR)
        return -EAGAIN;
    snprintf(why, STREAM_WHY_MAX, "%s: %s", what, strerror(en));
    return -en;
}

static ssize_t io_write(struct stream *s, const void *p, size_t n, char *why)
{
    ssize_t w;

    if (s->ssl)
        return stream_tls_write(s, p, n, why);
    w = send(s->lfd.fd, p, n, MSG_NOSIGNAL);
    if (w >= 0)
        return w;
    return io_errno(errno, "write failed", why);
}

/* Appends to the queue, compacting or growing it (up to STREAM_WQ_MAX,
 * checked by the caller).  Moving queued bytes is allowed for TLS too:
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER is set on every stream. */
static int wq_append(struct stream *s, const char *p, size_t n)
{
    uint32_t need = s->wlen + (uint32_t)n;

    if (s->woff + need > s->wcap && need <= s->wcap) {
        memmove(s->wbuf, s->wbuf + s->woff, s->wlen);
        s->woff = 0;
    }
    if (s->woff + need > s->wcap) {
        uint32_t cap = s->wcap ? s->wcap : 1024u;
        char *nb;

        while (cap < s->woff + need)
            cap *= 2;
        nb = realloc(s->wbuf, cap);
        if (!nb)
            return -ENOMEM;
        s->wbuf = nb;
        s->wcap = cap;
    }
    memcpy(s->wbuf + s->woff + s->wlen, p, n);
    s->wlen = need;
    return 0;
}

static void wq_release(struct stream *s)
{
    free(s->wbuf);
    s->wbuf = NULL;
    s->woff = s->wlen = s->wcap = 0;
}

/* Writes what is queued.  Returns 0 (done or would block), or a negative
 * errno with why filled. */
static int flush(struct stream *s, char *why)
{
    while (s->wlen > 0) {
        ssize_t w = io_write(s, s->wbuf + s->woff, s->wlen, why);

        if (w == -EAGAIN)
            return 0;
        if (w < 0)
            return (int)w;
        s->woff += (uint32_t)w;
        s->wlen -= (uint32_t)w;
    }
    wq_release(s);
    return 0;
}

/* Flush from the loop, then adjust the interest.  True: stream gone. */
static bool flush_and_want(struct stream *s)
{
    char why[STREAM_WHY_MAX];
    int err = flush(s, why);

    if (err < 0) {
        stream_fail(s, err, why);
        return true;
    }
    return want_open(s);
}

int stream_send(struct stream *s, const void *buf, size_t len)
{
    char why[STREAM_WHY_MAX];
    ssize_t w = 0;
    int err;

    if (!buf && len > 0)
        return -EINVAL;
    if (s->state == STREAM_CLOSED || s->free_pending)
        return -ENOTCONN;
    if (s->pending_err)
        return s->pending_err;
    if (len > STREAM_WQ_MAX - s->wlen)
        return -ENOBUFS;
    if (len == 0)
        return 0;
    if (s->state == STREAM_OPEN && s->wlen == 0) {
        w = io_write(s, buf, len, why);
        if (w == -EAGAIN)
            w = 0;
        if (w < 0 || (size_t)w == len) {
            if (w < 0)
                defer_fail(s, (int)w);
            return w < 0 ? (int)w : 0;
        }
    }
    err = wq_append(s, (const char *)buf + w, len - (size_t)w);
    if (err < 0 && w > 0)
        defer_fail(s, err); /* part of it went out: the byte stream is torn */
    if (err < 0 || s->state != STREAM_OPEN)
        return err;
    err = loop_fd_mod(s->loop, &s->lfd, LOOP_READ | LOOP_WRITE);
    if (err < 0)
        defer_fail(s, err);
    return err;
}

int stream_send_ping(struct stream *s)
{
    return stream_send(s, "\r\n\r\n", 4);
}

size_t stream_queued(const struct stream *s)
{
    return s->wlen;
}

size_t stream_buffered(const struct stream *s)
{
    return s->rlen;
}

size_t stream_mem(const struct stream *s)
{
    return sizeof(*s) + s->rcap + s->wcap;
}

/* ---- read side ---- */

/* Makes room for the next read: allocates the buffer on demand, and while
 * a message is incomplete grows it to what the framer says it needs (a
 * known body size) or else doubles it; -EMSGSIZE past the bound. */
static int rbuf_reserve(struct stream *s)
{
    uint32_t want = s->rneed > s->rlen ? s->rneed : s->rlen + 1;
    uint32_t cap;
    char *nb;

    if (want <= s->rcap)
        return 0;
    if (want > STREAM_RBUF_MAX)
        return -EMSGSIZE;
    cap = s->rcap ? s->rcap * 2 : STREAM_RBUF_MIN;
    if (cap < want)
        cap = want;
    if (cap > STREAM_RBUF_MAX)
        cap = STREAM_RBUF_MAX;
    nb = realloc(s->rbuf, cap);
    if (!nb)
        return -ENOMEM;
    s->rbuf = nb;
    s->rcap = cap;
    return 0;
}

/* Drops used bytes from the front; frees the buffer once empty. */
static void rbuf_consume(struct stream *s, size_t used)
{
    s->rlen -= (uint32_t)used;
    s->rneed = 0;
    if (s->rlen > 0) {
        if (used > 0)
            memmove(s->rbuf, s->rbuf + used, s->rlen);
        return;
    }
    rbuf_release(s); /* idle flows own no read buffer (stream.h) */
}

static ssize_t io_read(struct stream *s, char *why)
{
    char *p = s->rbuf + s->rlen;
    size_t n = s->rcap - s->rlen;
    ssize_t r;

    if (s->ssl)
        return stream_tls_read(s, p, n, why);
    r = recv(s->lfd.fd, p, n, 0);
    if (r >= 0)
        return r;
    return io_errno(errno, "read failed", why);
}

/* A ping from the peer is answered with a pong (RFC 5626 §3.5.1, §5.4),
 * then the owner is told. */
static bool deliver_ping(struct stream *s)
{
    stream_send(s, "\r\n", 2);
    if (!s->cbs->on_ping)
        return false;
    cb_begin(s);
    s->cbs->on_ping(s, s->arg);
    return cb_end(s);
}

/* Hands one framed unit at rbuf + off to the owner.  True: the stream is
 * gone or must not deliver more (a close is pending). */
static bool deliver(struct stream *s, size_t off, const struct frame_result *fr)
{
    bool gone = false;

    if (fr->kind == FRAME_PING) {
        gone = deliver_ping(s);
    } else if (fr->kind == FRAME_PONG && s->cbs->on_pong) {
        cb_begin(s);
        s->cbs->on_pong(s, s->arg);
        gone = cb_end(s);
    } else if (fr->kind == FRAME_MESSAGE && s->cbs->on_message) {
        cb_begin(s);
        s->cbs->on_message(s, s->rbuf + off, fr->len, s->arg);
        gone = cb_end(s);
    }
    return gone || s->pending_err != 0;
}

/* After a framing error the byte stream cannot be resynchronised
 * (RFC 3261 §18.3): the connection is closed. */
static void fail_framing(struct stream *s, int err)
{
    if (err == -EMSGSIZE)
        fail_errno(s, err, "framing error, message too large");
    else
        fail_errno(s, -EBADMSG, "framing error");
}

/* Delivers every complete unit in rbuf (RFC 3261 §18.3 framing by
 * frame_next(), client role), then drops them from the buffer in one move.
 * True: the stream is gone or closing. */
static bool deliver_all(struct stream *s)
{
    size_t off = 0;

    while (off < s->rlen && s->rlen >= s->rneed) {
        struct frame_result fr;
        int err = frame_next(s->rbuf + off, s->rlen - off, &fr);

        if (err < 0 || fr.kind == FRAME_ERROR) {
            fail_framing(s, err);
            return true;
        }
        if (fr.kind == FRAME_NEED_MORE) {
            /* Skip framing until that much is buffered (large bodies). */
            rbuf_consume(s, off);
            s->rneed = (uint32_t)(fr.need < STREAM_RBUF_MAX ? fr.need : STREAM_RBUF_MAX);
            return false;
        }
        if (deliver(s, off, &fr))
            return true; /* freed, or closing: the buffer no longer matters */
        off += fr.len;
    }
    rbuf_consume(s, off);
    return false;
}

/* Reads until the socket (or TLS) has nothing more, delivering as it goes.
 * True: the stream is gone or closing. */
static bool read_all(struct stream *s)
{
    char why[STREAM_WHY_MAX];

    for (int i = 0; i < STREAM_READS_PER_WAKEUP || (s->ssl && SSL_has_pending(s->ssl)); i++) {
        int err = rbuf_reserve(s);
        ssize_t r = err < 0 ? err : io_read(s, why);

        if (r == -EAGAIN)
            break;
        if (r <= 0) {
            if (err < 0)
                fail_errno(s, err, "read buffer");
            else
                stream_fail(s, (int)r, r == 0 ? "peer closed the connection" : why);
            return true;
        }
        s->rlen += (uint32_t)r;
        if (deliver_all(s))
            return true;
    }
    if (s->rlen == 0)
        rbuf_consume(s, 0); /* the buffer reserved for the last read */
    if (s->ssl)
        stream_tls_release(s);
    return false;
}

/* ---- connecting ---- */

bool stream_opened(struct stream *s)
{
    char peer[INET6_ADDRSTRLEN + 8];

    loop_timer_cancel(s->loop, &s->timer);
    s->state = STREAM_OPEN;
    log_info("stream_connected", "peer=%s tls=%d resumed=%d", peer_str(s, peer, sizeof(peer)),
             s->is_tls, stream_tls_resumed(s));
    if (s->cbs->on_connected) {
        cb_begin(s);
        s->cbs->on_connected(s, s->arg);
        if (cb_end(s))
            return true;
    }
    if (s->pending_err)
        return false; /* the timer reports it */
    return flush_and_want(s);
}

static void connect_done(struct stream *s)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(s->lfd.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        fail_errno(s, -soerr, "connect failed");
        return;
    }
    if (!s->ssl) {
        stream_opened(s);
        return;
    }
    s->state = STREAM_HANDSHAKING;
    stream_tls_handshake(s);
}

/* pending_err comes from connect() in stream_open() or from a send. */
static const char *pending_what(const struct stream *s)
{
    return s->state == STREAM_CONNECTING ? "connect failed" : "write failed";
}

static void on_io(struct loop_fd *h, unsigned events)
{
    struct stream *s = container_of(h, struct stream, lfd);

    (void)events; /* each state asks the socket or OpenSSL what it can do */
    if (s->pending_err) {
        fail_errno(s, s->pending_err, pending_what(s));
        return;
    }
    switch (s->state) {
    case STREAM_CONNECTING:
        connect_done(s);
        return;
    case STREAM_HANDSHAKING:
        stream_tls_handshake(s);
        return;
    case STREAM_OPEN:
        /* Flush first (a TLS write may have waited for readability), then
         * read (a TLS read may have waited for writability: rd_wants_wr). */
        s->rd_wants_wr = false;
        if (s->wlen > 0 && flush_and_want(s))
            return;
        if (!read_all(s))
            want_open(s);
        return;
    default:
        return;
    }
}

static void on_timer(struct loop_timer *t)
{
    struct stream *s = container_of(t, struct stream, timer);

    if (s->pending_err)
        fail_errno(s, s->pending_err, pending_what(s));
    else if (s->state == STREAM_CONNECTING)
        fail_errno(s, -ETIMEDOUT, "connect");
    else
        fail_errno(s, -ETIMEDOUT, "TLS handshake");
}

/* Socket, TCP_NODELAY (SIP messages and keep-alives must not wait for
 * Nagle), non-blocking connect.  An immediate failure becomes pending_err
 * so that it is reported like a late one, by on_close. */
static int open_socket(struct stream *s, const struct sockaddr *dst, socklen_t len)
{
    int one = 1, err;
    int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

    if (fd < 0)
        return -errno;
    /* Registered at once: from here on lfd.fd owns the descriptor. */
    err = loop_fd_add(s->loop, &s->lfd, fd, LOOP_WRITE);
    if (err < 0) {
        close(fd);
        return err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, dst, len) < 0 && errno != EINPROGRESS)
        s->pending_err = -errno;
    return 0;
}

static int check_open_args(struct stream **out, struct loop *l, const struct sockaddr *dst,
                           socklen_t len, SSL_CTX *tls, const char *sni_host,
                           const struct stream_cbs *cbs)
{
    if (!out || !l || !dst || !cbs || !cbs->on_close || (tls && !sni_host))
        return -EINVAL;
    if (dst->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        return 0;
    if (dst->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        return 0;
    return -EINVAL;
}

static struct stream *stream_new(struct loop *l, const struct sockaddr *dst,
                                 const struct stream_cbs *cbs, void *arg)
{
    struct stream *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->loop = l;
    s->cbs = cbs;
    s->arg = arg;
    s->state = STREAM_CONNECTING;
    memcpy(&s->peer, dst, dst->sa_family == AF_INET6 ? sizeof(s->peer.in6)
                                                      : sizeof(s->peer.in));
    loop_fd_init(&s->lfd, on_io);
    loop_timer_init(&s->timer, on_timer);
    return s;
}

int stream_open(struct stream **out, struct loop *l, const struct sockaddr *dst,
                socklen_t len, SSL_CTX *tls, const char *sni_host,
                const struct stream_cbs *cbs, void *arg)
{
    struct stream *s;
    int err = check_open_args(out, l, dst, len, tls, sni_host, cbs);

    if (err < 0)
        return err;
    s = stream_new(l, dst, cbs, arg);
    if (!s)
        return -ENOMEM;
    s->is_tls = tls != NULL;
    err = open_socket(s, dst, len);
    if (err == 0 && tls)
        err = stream_tls_setup(s, tls, sni_host);
    if (err == 0)
        err = loop_timer_set(l, &s->timer, s->pending_err ? 0 : STREAM_CONNECT_TIMEOUT_MS);
    if (err < 0) {
        teardown(s);
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

void stream_free(struct stream *s)
{
    if (!s || s->free_pending)
        return;
    if (s->state == STREAM_OPEN && s->ssl)
        stream_tls_shutdown(s);
    if (s->in_cb) {
        teardown_io(s);
        s->free_pending = true; /* cb_end() frees the rest */
        return;
    }
    teardown(s);
    free(s);
}

int stream_set_connect_timeout(struct stream *s, uint32_t ms)
{
    if (s->state == STREAM_OPEN || s->state == STREAM_CLOSED || s->pending_err)
        return -EINVAL;
    return loop_timer_set(s->loop, &s->timer, ms);
}

/* ---- accessors ---- */

int stream_local_addr(const struct stream *s, struct sockaddr_storage *out)
{
    socklen_t sl = sizeof(*out);

    if (s->lfd.fd < 0)
        return -ENOTCONN;
    memset(out, 0, sizeof(*out));
    return getsockname(s->lfd.fd, (struct sockaddr *)out, &sl) < 0 ? -errno : 0;
}

void stream_peer_addr(const struct stream *s, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out, &s->peer, s->peer.sa.sa_family == AF_INET6 ? sizeof(s->peer.in6)
                                                          : sizeof(s->peer.in));
}

bool stream_is_tls(const struct stream *s)
{
    return s->is_tls;
}

enum stream_state stream_state(const struct stream *s)
{
    return (enum stream_state)s->state;
}
