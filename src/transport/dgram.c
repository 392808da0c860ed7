/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dgram.c - connected UDP socket with SIP/STUN demultiplexing; see dgram.h. */
#include "transport/dgram.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/stun.h"

/* Datagrams read per wakeup, so that one busy peer cannot starve the other
 * flows; epoll is level-triggered and comes back for the rest. */
#define DGRAM_READS_PER_WAKEUP 8
#define DGRAM_WHY_MAX 160

struct dgram {
    struct loop *loop;
    const struct dgram_cbs *cbs;
    void *arg;
    struct loop_fd lfd;       /* lfd.fd: the socket (owned), -1 once closed */
    struct loop_timer timer;  /* on_connected, or a deferred failure */
    int pending_err;          /* failure seen inside an owner's call */
    bool connected_told;
    bool in_cb;               /* an owner callback is running */
    bool free_pending;        /* dgram_free() was called from it */
};

static void on_io(struct loop_fd *h, unsigned events);
static void on_timer(struct loop_timer *t);

static void close_fd(struct dgram *d)
{
    int fd = d->lfd.fd;

    loop_timer_cancel(d->loop, &d->timer);
    loop_fd_del(d->loop, &d->lfd);
    if (fd >= 0)
        close(fd);
    d->lfd.fd = -1;
}

/* Owner callbacks run between begin/end, so that dgram_free() inside one
 * only marks the object; end() frees it and tells the caller to stop. */
static bool cb_end(struct dgram *d)
{
    d->in_cb = false;
    if (!d->free_pending)
        return false;
    free(d);
    return true;
}

/* Closes the socket and tells the owner.  True: the owner freed d. */
static bool fail(struct dgram *d, int err, const char *what)
{
    char why[DGRAM_WHY_MAX];

    snprintf(why, sizeof(why), "%s: %s", what, strerror(-err));
    log_info("dgram_closed", "err=%d reason=\"%s\"", err, why);
    close_fd(d);
    d->in_cb = true;
    d->cbs->on_close(d, err, why, d->arg);
    return cb_end(d);
}

/* Only whitespace (a CRLF "keep-alive" some peers send anyway). */
static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t' && p[i] != '\0')
            return false;
    }
    return true;
}

/* Hands one datagram to the owner.  True: the owner freed d. */
static bool deliver(struct dgram *d, const char *buf, size_t n)
{
    const uint8_t *u = (const uint8_t *)buf;

    if (n == 0 || blank(buf, n))
        return false;
    d->in_cb = true;
    /* RFC 5626 §8: "the first octet of a STUN Binding method has a value of
     * 0 or 1, while the first octet of a SIP message is never a 0 or 1". */
    if (stun_is_stun(u, n)) {
        if (d->cbs->on_stun)
            d->cbs->on_stun(d, u, n, d->arg);
    } else if (isalpha((unsigned char)buf[0])) {
        if (d->cbs->on_message)
            d->cbs->on_message(d, buf, n, d->arg);
    } else {
        log_debug("dgram_dropped", "len=%zu reason=\"neither SIP nor STUN\"", n);
    }
    return cb_end(d);
}

static void on_io(struct loop_fd *h, unsigned events)
{
    struct dgram *d = container_of(h, struct dgram, lfd);
    char *buf = malloc(DGRAM_MAX);
    bool gone = false;

    (void)events;
    if (!buf)
        return; /* level-triggered: tried again at the next turn */
    for (int i = 0; i < DGRAM_READS_PER_WAKEUP && !gone && d->lfd.fd >= 0; i++) {
        ssize_t n = recv(d->lfd.fd, buf, DGRAM_MAX, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (n < 0)
            gone = fail(d, -errno, "receive failed");
        else
            gone = deliver(d, buf, (size_t)n);
    }
    free(buf);
}

static void on_timer(struct loop_timer *t)
{
    struct dgram *d = container_of(t, struct dgram, timer);

    if (d->pending_err) {
        fail(d, d->pending_err, "send failed");
        return;
    }
    if (d->connected_told || !d->cbs->on_connected)
        return;
    d->connected_told = true;
    d->in_cb = true;
    d->cbs->on_connected(d, d->arg);
    cb_end(d);
}

int dgram_open(struct dgram **out, struct loop *l, const struct sockaddr *dst,
               socklen_t len, const struct dgram_cbs *cbs, void *arg)
{
    struct dgram *d;
    int fd, err;

    if (!out || !l || !dst || !cbs || !cbs->on_close ||
        (dst->sa_family != AF_INET && dst->sa_family != AF_INET6))
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    fd = socket(dst->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        free(d);
        return err;
    }
    d->loop = l;
    d->cbs = cbs;
    d->arg = arg;
    loop_fd_init(&d->lfd, on_io);
    loop_timer_init(&d->timer, on_timer);
    err = connect(fd, dst, len) < 0 ? -errno : 0;
    if (!err)
        err = loop_fd_add(l, &d->lfd, fd, LOOP_READ);
    if (!err)
        err = loop_timer_set(l, &d->timer, 0);
    if (err < 0) {
        loop_fd_del(l, &d->lfd);
        close(fd);
        free(d);
        return err;
    }
    *out = d;
    return 0;
}

void dgram_free(struct dgram *d)
{
    if (!d || d->free_pending)
        return;
    close_fd(d);
    if (d->in_cb) {
        d->free_pending = true;
        return;
    }
    free(d);
}

int dgram_send(struct dgram *d, const void *buf, size_t len)
{
    ssize_t w;
    int err;

    if (!buf || len == 0 || len > DGRAM_MAX)
        return -EINVAL;
    if (d->lfd.fd < 0 || d->free_pending)
        return -ENOTCONN;
    if (d->pending_err)
        return d->pending_err;
    w = send(d->lfd.fd, buf, len, MSG_NOSIGNAL);
    if (w >= 0)
        return 0;
    err = -errno;
    if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS || err == -EINTR)
        return -EAGAIN;
    /* Reported from the loop: the owner may be inside one of our callbacks. */
    d->pending_err = err;
    if (loop_timer_set(d->loop, &d->timer, 0) < 0)
        log_error("dgram_stuck", "reason=\"no memory for a timer\"");
    return err;
}

int dgram_local_addr(const struct dgram *d, struct sockaddr_storage *out)
{
    socklen_t len = sizeof(*out);

    if (d->lfd.fd < 0)
        return -ENOTCONN;
    memset(out, 0, sizeof(*out));
    if (getsockname(d->lfd.fd, (struct sockaddr *)out, &len) < 0)
        return -errno;
    return 0;
}
