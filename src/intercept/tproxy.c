/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tproxy.c - IP_TRANSPARENT UDP egress (see tproxy.h). */
#include "intercept/tproxy.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static int setopt(int fd, int level, int name, int val)
{
    return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

int tproxy_open(const struct sockaddr_in *src, uint32_t mark)
{
    int fd, rc;

    if (src->sin_family != AF_INET)
        return -EINVAL;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = setopt(fd, SOL_IP, IP_TRANSPARENT, 1);
    if (rc == 0)
        rc = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && mark)
        rc = setopt(fd, SOL_SOCKET, SO_MARK, (int)mark);
    if (rc == 0 && bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int tproxy_send(int fd, const void *buf, size_t len, const struct sockaddr_in *dst)
{
    ssize_t n = sendto(fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)dst,
                       sizeof(*dst));

    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EMSGSIZE;
}
