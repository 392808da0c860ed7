/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netwatch.c - rtnetlink address and route changes; see netwatch.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/netwatch.h"
#include "core/netwatch_int.h"

struct netwatch {
    struct loop *loop;
    struct loop_fd h;
    struct loop_timer settle;
    netwatch_cb cb;
    void *arg;
    unsigned what; /* of the burst under way */
};

/* One route message: a change of the path unless it is a local-table
 * route (the kernel's own for each address: the address messages tell)
 * or a cloned cache entry. */
static bool route_counts(const struct rtmsg *rt, size_t attrlen, const unsigned char *attrs)
{
    uint32_t table = rt->rtm_table;
    size_t off = 0;

    if (rt->rtm_flags & RTM_F_CLONED)
        return false;
    /* RTA_TABLE carries tables above 255 (rtm_table is then RT_TABLE_COMPAT). */
    while (attrlen - off >= sizeof(struct rtattr)) {
        struct rtattr ra;

        memcpy(&ra, attrs + off, sizeof(ra));
        if (ra.rta_len < sizeof(ra) || ra.rta_len > attrlen - off)
            break;
        if (ra.rta_type == RTA_TABLE && ra.rta_len >= sizeof(ra) + sizeof(uint32_t))
            memcpy(&table, attrs + off + sizeof(ra), sizeof(table));
        off += RTA_ALIGN(ra.rta_len);
        if (off > attrlen)
            break;
    }
    return table != RT_TABLE_LOCAL;
}

int netwatch_parse(const void *buf, size_t len, unsigned *what)
{
    const unsigned char *p = buf;
    size_t off = 0;

    *what = 0;
    while (len - off >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr nh;
        const unsigned char *body;
        size_t blen;

        memcpy(&nh, p + off, sizeof(nh)); /* the buffer may be unaligned (tests, fuzzing) */
        if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len - off)
            return -EBADMSG;
        body = p + off + NLMSG_HDRLEN;
        blen = nh.nlmsg_len - NLMSG_HDRLEN;
        switch (nh.nlmsg_type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
            if (blen < sizeof(struct ifaddrmsg))
                return -EBADMSG;
            *what |= nh.nlmsg_type == RTM_DELADDR ? NETWATCH_ADDR_GONE : NETWATCH_ADDR_NEW;
            break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
            struct rtmsg rt;
            size_t hl = NLMSG_ALIGN(sizeof(rt));

            if (blen < sizeof(rt))
                return -EBADMSG;
            memcpy(&rt, body, sizeof(rt));
            if (route_counts(&rt, blen > hl ? blen - hl : 0, body + (blen > hl ? hl : blen)))
                *what |= nh.nlmsg_type == RTM_DELROUTE ? NETWATCH_ROUTE_GONE
                                                       : NETWATCH_ROUTE_NEW;
            break;
        }
        case NLMSG_OVERRUN:
            *what |= NETWATCH_ALL;
            break;
        default: /* NLMSG_NOOP, NLMSG_DONE, NLMSG_ERROR, links, ...: no change */
            break;
        }
        if (NLMSG_ALIGN(nh.nlmsg_len) >= len - off)
            break;
        off += NLMSG_ALIGN(nh.nlmsg_len);
    }
    return 0;
}

static void on_settle(struct loop_timer *t)
{
    struct netwatch *nw = container_of(t, struct netwatch, settle);
    unsigned what = nw->what;

    nw->what = 0;
    log_debug("net_changed", "addr_gone=%d addr_new=%d route_gone=%d route_new=%d lost=%d",
             !!(what & NETWATCH_ADDR_GONE), !!(what & NETWATCH_ADDR_NEW),
             !!(what & NETWATCH_ROUTE_GONE), !!(what & NETWATCH_ROUTE_NEW),
             !!(what & NETWATCH_LOST));
    nw->cb(what, nw->arg);
}

/* Adds what to the burst; its first change starts the settle time (not
 * extended by later ones: the owner hears within NETWATCH_SETTLE_MS). */
static void burst_add(struct netwatch *nw, unsigned what)
{
    if (!what)
        return;
    nw->what |= what;
    if (loop_timer_armed(&nw->settle))
        return;
    if (loop_timer_set(nw->loop, &nw->settle, NETWATCH_SETTLE_MS) < 0)
        on_settle(&nw->settle); /* no memory for the timer: at once */
}

void netwatch_feed(struct netwatch *nw, const void *buf, size_t len)
{
    unsigned what;

    if (netwatch_parse(buf, len, &what) < 0) {
        log_warn("netlink_malformed", "len=%zu action=\"treated as any change\"", len);
        what = NETWATCH_ALL;
    }
    burst_add(nw, what);
}

static void on_readable(struct loop_fd *h, unsigned events)
{
    struct netwatch *nw = container_of(h, struct netwatch, h);
    /* 8 KiB: the kernel's datagrams are at most a page (NLMSG_GOODSIZE). */
    static unsigned char buf[8192];

    (void)events;
    for (int i = 0; i < 64; i++) { /* bounded: the loop serves others too */
        struct sockaddr_nl from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(h->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &fl);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n < 0) {
            /* ENOBUFS: the kernel dropped messages for us (a storm). */
            burst_add(nw, NETWATCH_ALL);
            if (errno != ENOBUFS)
                return;
            continue;
        }
        if (fl != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
            continue; /* only the kernel's messages */
        if ((size_t)n > sizeof(buf)) {
            burst_add(nw, NETWATCH_ALL); /* truncated: something changed */
            continue;
        }
        netwatch_feed(nw, buf, (size_t)n);
    }
}

int netwatch_new_unbound(struct netwatch **out, struct loop *loop, netwatch_cb cb, void *arg)
{
    struct netwatch *nw = calloc(1, sizeof(*nw));

    if (!nw)
        return -ENOMEM;
    nw->loop = loop;
    nw->cb = cb;
    nw->arg = arg;
    loop_fd_init(&nw->h, on_readable);
    loop_timer_init(&nw->settle, on_settle);
    *out = nw;
    return 0;
}

int netwatch_open(struct netwatch **out, struct loop *loop, netwatch_cb cb, void *arg)
{
    struct sockaddr_nl sa = {
        .nl_family = AF_NETLINK,
        .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                     RTMGRP_IPV6_ROUTE,
    };
    struct netwatch *nw;
    int fd, err = netwatch_new_unbound(&nw, loop, cb, arg);

    if (err < 0)
        return err;
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        err = -errno;
    if (!err)
        err = loop_fd_add(loop, &nw->h, fd, LOOP_READ);
    if (err < 0) {
        if (fd >= 0)
            close(fd);
        free(nw);
        return err;
    }
    *out = nw;
    return 0;
}

void netwatch_free(struct netwatch *nw)
{
    int fd;

    if (!nw)
        return;
    fd = nw->h.fd;
    loop_fd_del(nw->loop, &nw->h);
    if (fd >= 0)
        close(fd);
    loop_timer_cancel(nw->loop, &nw->settle);
    free(nw);
}
