/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.c - sd_notify(3) datagrams and the watchdog timer; see sdnotify.h. */
#include "core/sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void disabled(struct sdnotify *n)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    loop_timer_init(&n->wd_timer, NULL);
}

/* A decimal number > 0 without sign or spaces, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

int sdnotify_watchdog_usec(const char *wd_usec, const char *wd_pid, pid_t self, uint64_t *usec)
{
    uint64_t v, pid;

    *usec = 0;
    if (!wd_usec)
        return 0;
    if (parse_u64(wd_usec, UINT64_MAX - 1, &v) < 0) /* UINT64_MAX is "infinity" */
        return -EINVAL;
    if (wd_pid) {
        if (parse_u64(wd_pid, INT32_MAX, &pid) < 0)
            return -EINVAL;
        if ((pid_t)pid != self)
            return 0; /* meant for another process (a wrapper's parent) */
    }
    *usec = v;
    return 0;
}

/* "/path" or "@abstract" into n->addr. */
static int set_addr(struct sdnotify *n, const char *name)
{
    size_t len = strlen(name);

    if (len < 2 || (name[0] != '/' && name[0] != '@'))
        return strchr(name, ':') && name[0] != '/' ? -EAFNOSUPPORT : -EINVAL;
    n->addr.sun_family = AF_UNIX;
    if (name[0] == '/') {
        if (len >= sizeof(n->addr.sun_path))
            return -EINVAL;
        memcpy(n->addr.sun_path, name, len + 1);
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    } else {
        if (len > sizeof(n->addr.sun_path))
            return -EINVAL;
        n->addr.sun_path[0] = '\0';
        memcpy(n->addr.sun_path + 1, name + 1, len - 1);
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return 0;
}

int sdnotify_open_with(struct sdnotify *n, const char *socket_name, const char *wd_usec,
                       const char *wd_pid, pid_t self)
{
    uint64_t usec;
    int rc;

    disabled(n);
    if (!socket_name)
        return 0;
    rc = set_addr(n, socket_name);
    if (rc == 0) {
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (n->fd < 0)
            rc = -errno;
    }
    if (rc < 0) {
        disabled(n);
        return rc;
    }
    if (sdnotify_watchdog_usec(wd_usec, wd_pid, self, &usec) == 0 && usec > 0)
        n->watchdog_ms = usec / 2000 > 0 ? usec / 2000 : 1;
    return 0;
}

int sdnotify_open(struct sdnotify *n)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    int rc;

    if (!sock) {
        disabled(n);
        return 0;
    }
    rc = sdnotify_open_with(n, sock, getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
                            getpid());
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return rc;
}

bool sdnotify_enabled(const struct sdnotify *n)
{
    return n->fd >= 0;
}

int sdnotify_send(struct sdnotify *n, const char *text)
{
    if (n->fd < 0)
        return 0;
    if (sendto(n->fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&n->addr, n->addr_len) < 0)
        return -errno;
    return 0;
}

int sdnotify_reloading(struct sdnotify *n)
{
    struct timespec ts;
    char msg[64];

    if (n->fd < 0)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
             (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    return sdnotify_send(n, msg);
}

/* Runs only while the loop turns: a stuck loop stops the keep-alives. */
static void on_watchdog(struct loop_timer *t)
{
    struct sdnotify *n = container_of(t, struct sdnotify, wd_timer);

    (void)sdnotify_send(n, "WATCHDOG=1"); /* a lost one: the next comes in time */
    (void)loop_timer_set(n->loop, &n->wd_timer, n->watchdog_ms);
}

int sdnotify_watchdog_start(struct sdnotify *n, struct loop *loop)
{
    if (n->fd < 0 || n->watchdog_ms == 0)
        return 0;
    n->loop = loop;
    loop_timer_init(&n->wd_timer, on_watchdog);
    return loop_timer_set(loop, &n->wd_timer, n->watchdog_ms);
}

void sdnotify_close(struct sdnotify *n)
{
    if (n->loop)
        loop_timer_cancel(n->loop, &n->wd_timer);
    if (n->fd >= 0)
        close(n->fd);
    disabled(n);
}
