/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dummy_tproxy.c - intercept/tproxy.h without IP_TRANSPARENT (see
 * dummy_intercept.h): a "socket" is a descriptor on /dev/null remembered
 * with its bound address and mark; what is sent is recorded with the
 * address it would have left from. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dummy_intercept.h"

struct dummy_tproxy dummy_tproxy;

int tproxy_open(const struct sockaddr_in *src, uint32_t mark)
{
    struct dummy_tproxy_sock *s;
    int fd;

    if (src->sin_family != AF_INET)
        return -EINVAL;
    if (dummy_tproxy.open_rc)
        return dummy_tproxy.open_rc;
    if (dummy_tproxy.n_socks == DUMMY_TPROXY_MAX)
        return -EMFILE;
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    s = &dummy_tproxy.socks[dummy_tproxy.n_socks++];
    *s = (struct dummy_tproxy_sock){ .fd = fd, .src = *src, .mark = mark };
    return fd;
}

int tproxy_send(int fd, const void *buf, size_t len, const struct sockaddr_in *dst)
{
    struct dummy_tproxy_sent *m;
    int i;

    for (i = dummy_tproxy.n_socks - 1; i >= 0; i--) /* newest: fds are reused */
        if (dummy_tproxy.socks[i].fd == fd)
            break;
    if (i < 0)
        return -EBADF;
    if (dummy_tproxy.send_rc)
        return dummy_tproxy.send_rc;
    if (dummy_tproxy.n_sent == DUMMY_TPROXY_MAX || len > DUMMY_TPROXY_BUF)
        return -EMSGSIZE;
    m = &dummy_tproxy.sent[dummy_tproxy.n_sent++];
    m->src = dummy_tproxy.socks[i].src;
    m->dst = *dst;
    m->len = len;
    memcpy(m->buf, buf, len);
    return 0;
}
