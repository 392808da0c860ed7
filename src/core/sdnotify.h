/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.h - systemd's readiness and watchdog protocol without libsystemd
 * (OpenWrt has none): one datagram per state change to $NOTIFY_SOCKET, as
 * sd_notify(3) documents it ("READY=1", "RELOADING=1", "STOPPING=1",
 * "STATUS=...", "WATCHDOG=1", newline-separated KEY=VALUE lines).
 *
 * NOTIFY_SOCKET is a path ("/run/systemd/notify") or an abstract name
 * ("@name"); the socket is AF_UNIX SOCK_DGRAM, non-blocking: a receiver that
 * does not read loses the message, the loop never waits for it.  Without
 * NOTIFY_SOCKET every call does nothing and the daemon behaves as before.
 *
 * The watchdog: WATCHDOG_USEC (and WATCHDOG_PID, which must name this
 * process when set) as sd_watchdog_enabled(3) reads them.  The keep-alive
 * "WATCHDOG=1" is sent from a timer of the event loop every half of that
 * time, so a loop that stops turning stops the keep-alives and systemd
 * restarts the daemon.
 *
 * One struct sdnotify per process, owned by main.c; not thread-safe (the
 * daemon has one thread).
 */
#ifndef SIPKEEP_CORE_SDNOTIFY_H
#define SIPKEEP_CORE_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "core/loop.h"

struct sdnotify {
    int fd;                     /* -1: no NOTIFY_SOCKET, every call does nothing */
    struct sockaddr_un addr;    /* where the datagrams go */
    socklen_t addr_len;
    uint64_t watchdog_ms;       /* keep-alive period (WATCHDOG_USEC / 2); 0: none */
    struct loop *loop;          /* set by sdnotify_watchdog_start */
    struct loop_timer wd_timer;
};

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment,
 * then unsets the three (programs the daemon runs, iptables, must not speak
 * in its name).  Always leaves *n usable: on an error it is disabled
 * (fd -1).  Returns 0 (also when NOTIFY_SOCKET is absent: nothing changes,
 * the environment included), -EINVAL for a NOTIFY_SOCKET that is neither a
 * path nor an '@' name or does not fit a sun_path, -EAFNOSUPPORT for other
 * kinds (vsock:), -errno from socket().  A bad WATCHDOG_USEC/WATCHDOG_PID
 * only disables the watchdog (watchdog_ms 0), as in sd_watchdog_enabled. */
int sdnotify_open(struct sdnotify *n);

/* The same from explicit values (NULL = unset), self being this process's
 * pid; the environment is neither read nor changed. */
int sdnotify_open_with(struct sdnotify *n, const char *socket_name, const char *wd_usec,
                       const char *wd_pid, pid_t self);

/* WATCHDOG_USEC/WATCHDOG_PID as sd_watchdog_enabled(3): 0 and *usec = 0
 * when unset or when wd_pid names another process; 0 and *usec > 0 when
 * enabled; -EINVAL (and *usec = 0) for a value that is not a decimal
 * number > 0 that fits, or a bad pid. */
int sdnotify_watchdog_usec(const char *wd_usec, const char *wd_pid, pid_t self,
                           uint64_t *usec);

/* Whether NOTIFY_SOCKET was given (and a socket made for it). */
bool sdnotify_enabled(const struct sdnotify *n);

/* Sends text (e.g. "READY=1\nSTATUS=..."), one datagram, without waiting.
 * Returns 0 (also when disabled) or -errno: -EAGAIN when the receiver's
 * queue is full (the message is dropped), -ECONNREFUSED/-ENOENT when
 * nobody listens. */
int sdnotify_send(struct sdnotify *n, const char *text);

/* "RELOADING=1" with MONOTONIC_USEC (systemd >= 253 wants it with
 * RELOADING=1); then "READY=1" when the reload is over. */
int sdnotify_reloading(struct sdnotify *n);

/* Starts the keep-alive timer on loop when the watchdog is enabled (first
 * "WATCHDOG=1" after watchdog_ms).  Returns 0 or -ENOMEM (timer heap). */
int sdnotify_watchdog_start(struct sdnotify *n, struct loop *loop);

/* Stops the timer and closes the socket; *n is disabled afterwards. */
void sdnotify_close(struct sdnotify *n);

#endif
