/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listen.c - UDP listeners for proxy mode; see listen.h. */
#include "intercept/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

struct listener {
    struct loop *loop;
    struct loop_fd h;
    const struct cfg_listen *cfg;
    listen_cb cb;
    void *arg;
    struct sk_stats *stats;         /* may be NULL */
    char buf[LISTEN_MAX_DGRAM + 1]; /* +1 to see oversize without MSG_TRUNC games */
};

static int enable_pktinfo(int fd, int family)
{
    int on = 1;

    if (family == AF_INET)
        return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
    return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
}

/* The kernel's queue of the phones' datagrams while the loop is busy
 * elsewhere.  The default (net.core.rmem_default, 208 KiB: 100-170
 * REGISTERs, 30-40 ms of a 4,000/s first-REGISTER storm) overflowed in
 * tests/bench/compare.sh when the loop lost the CPU for a moment: 16
 * REGISTERs dropped (Udp RcvbufErrors in the router's namespace), each
 * answered only after the phone's retransmission 500 ms later.  A full
 * queue costs memory only while it is full.  Best effort: the kernel caps
 * it at net.core.rmem_max. */
#define LISTEN_RCVBUF (1024 * 1024)

static int open_socket(const struct cfg_listen *lc)
{
    int fam = lc->addr.ss_family;
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1, rcvbuf = LISTEN_RCVBUF;

    if (fd < 0)
        return -errno;
    if (fam == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (enable_pktinfo(fd, fam) < 0 ||
        bind(fd, (const struct sockaddr *)&lc->addr, lc->addrlen) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Fills d->local from the IP_PKTINFO / IPV6_PKTINFO control message. */
static void local_from_cmsg(struct msghdr *mh, const struct cfg_listen *lc,
                            struct listen_dgram *d)
{
    memcpy(&d->local, &lc->addr, sizeof(d->local));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            ((struct sockaddr_in *)&d->local)->sin_addr = pi.ipi_addr;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            ((struct sockaddr_in6 *)&d->local)->sin6_addr = pi.ipi6_addr;
        }
    }
}

/* Reads one datagram; returns its length, 0 when none is left, or < 0. */
static ssize_t read_one(struct listener *ln, struct listen_dgram *d)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { ln->buf, sizeof(ln->buf) };
    struct msghdr mh = {
        .msg_name = &d->src, .msg_namelen = sizeof(d->src),
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
    };
    ssize_t n = recvmsg(ln->h.fd, &mh, MSG_TRUNC);

    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    d->srclen = mh.msg_namelen;
    local_from_cmsg(&mh, ln->cfg, d);
    return n;
}

/* Bounded per wake-up so that one flooding UA cannot starve the flows. */
#define LISTEN_BATCH 64

static void on_readable(struct loop_fd *h, unsigned events)
{
    struct listener *ln = container_of(h, struct listener, h);

    (void)events;
    for (int i = 0; i < LISTEN_BATCH; i++) {
        struct listen_dgram d;
        ssize_t n = read_one(ln, &d);
        if (n == 0)
            return;
        if (n < 0) {
            log_warn("udp_recv_failed", "listen=%s err=\"%s\"", ln->cfg->text, strerror((int)-n));
            return;
        }
        SK_STAT_INC(ln->stats, msg_ua_in);
        if ((size_t)n > LISTEN_MAX_DGRAM) {
            SK_STAT_INC(ln->stats, parse_errors);
            log_info("ua_datagram_dropped", "listen=%s reason=oversized len=%zd", ln->cfg->text, n);
            continue;
        }
        d.buf = ln->buf;
        d.len = (size_t)n;
        ln->cb(ln, &d, ln->arg);
    }
}

int listen_open(struct listener **out, struct loop *l, const struct cfg_listen *lc,
                listen_cb cb, void *arg, struct sk_stats *stats)
{
    struct listener *ln = calloc(1, sizeof(*ln));
    int fd, err;

    if (!ln)
        return -ENOMEM;
    fd = open_socket(lc);
    if (fd < 0) {
        free(ln);
        return fd;
    }
    ln->loop = l;
    ln->cfg = lc;
    ln->cb = cb;
    ln->arg = arg;
    ln->stats = stats;
    loop_fd_init(&ln->h, on_readable);
    err = loop_fd_add(l, &ln->h, fd, LOOP_READ);
    if (err < 0) {
        close(fd);
        free(ln);
        return err;
    }
    *out = ln;
    return 0;
}

void listen_free(struct listener *ln)
{
    int fd;

    if (!ln)
        return;
    fd = ln->h.fd;
    loop_fd_del(ln->loop, &ln->h);
    if (fd >= 0)
        close(fd);
    free(ln);
}

int listen_send(struct listener *ln, const void *buf, size_t len,
                const struct sockaddr *dst, socklen_t dstlen)
{
    ssize_t n = sendto(ln->h.fd, buf, len, MSG_NOSIGNAL, dst, dstlen);

    if (n < 0)
        return -errno;
    SK_STAT_INC(ln->stats, msg_ua_out);
    return (size_t)n == len ? 0 : -EMSGSIZE;
}
