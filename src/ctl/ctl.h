/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl.h - the control socket: a UNIX stream socket (config control_socket)
 * that `sipkeep status` and `sipkeep metrics` talk to.
 *
 * Protocol: the client connects and writes one request line ("status",
 * "status json" or "metrics", LF or CRLF terminated; end of input also ends
 * it); sipkeep writes the whole answer and closes.  An unknown or oversized
 * request, or a connection over the client limit, gets one line
 * "error: <reason>\n" and is closed.
 *
 * Bounded: at most CTL_REQ_MAX request bytes are read, at most
 * max_clients connections are served at once, and each connection is
 * closed after timeout_ms whatever it is doing, so a stuck client cannot
 * hold a slot.  Everything runs from the event loop, non-blocking.
 *
 * The same server, with another struct ctl_proto, listens on TCP for the
 * metrics over HTTP (ctl/httpmetrics.h): one request per connection,
 * answered whole, then closed, under the same bounds.
 */
#ifndef SIPKEEP_CTL_CTL_H
#define SIPKEEP_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "ctl/report.h"

#define CTL_REQ_MAX 64               /* longest request line, terminator included */
#define CTL_DEFAULT_MAX_CLIENTS 16u
#define CTL_DEFAULT_TIMEOUT_MS 5000u

enum ctl_request { CTL_REQ_STATUS, CTL_REQ_STATUS_JSON, CTL_REQ_METRICS };

/* Writes the answer to req into out (its err is checked afterwards).
 * Returns 0, or -errno: the client then gets "error: <strerror>". */
typedef int (*ctl_handler)(enum ctl_request req, struct report_buf *out, void *arg);

struct ctl_limits {
    unsigned max_clients;  /* 0: CTL_DEFAULT_MAX_CLIENTS */
    uint64_t timeout_ms;   /* 0: CTL_DEFAULT_TIMEOUT_MS */
};

struct ctl_server;

/* Creates the socket at path and registers it with the loop: the parent
 * directory is created (0755) when missing, a stale socket file (nobody
 * accepts on it) is removed, the socket gets mode 0660.  limits NULL means
 * the defaults.  Returns 0 and *out, or -errno with nothing left behind:
 * -ENAMETOOLONG (path does not fit a sockaddr_un), -EADDRINUSE (a live
 * daemon answers on path), -EEXIST (path is not a socket), or the error of
 * mkdir/socket/bind/listen. */
int ctl_server_open(struct ctl_server **out, struct loop *l, const char *path,
                    const struct ctl_limits *limits, ctl_handler h, void *arg);
/* Closes every connection and the socket, removes the socket file, frees.
 * NULL is fine. */
void ctl_server_free(struct ctl_server *s);

/* Connections being served (tests). */
unsigned ctl_server_clients(const struct ctl_server *s);

/* What a connection's bytes mean: the control socket's request line, or
 * HTTP (ctl/httpmetrics.c). */
struct ctl_proto {
    size_t req_max;   /* request bytes read at most */
    /* Called after each read with the request so far (req[len] is NUL;
     * eof: the client ended its input).  Returns 0 for more bytes, 1 once
     * the whole answer is in out (sent, then the connection is closed), -1
     * to close without an answer.  The connection is also closed when 0
     * comes back at eof or with req_max bytes read. */
    int (*on_bytes)(const char *req, size_t len, bool eof, struct report_buf *out, void *arg);
    const char *busy; /* sent to a client over max_clients before closing it */
    const char *name; /* server=NAME in log lines */
};

/* A TCP server on sa (AF_INET or AF_INET6; SO_REUSEADDR, IPv6 only for an
 * IPv6 address) speaking p (referenced: it must outlive the server) with
 * arg for its on_bytes, bounded by limits (NULL: the defaults).  Free with
 * ctl_server_free().  Returns 0 and *out, or -errno with nothing left
 * behind: -EINVAL (bad arguments), or the error of socket/bind/listen
 * (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES...). */
int ctl_server_open_tcp(struct ctl_server **out, struct loop *l, const struct sockaddr *sa,
                        socklen_t len, const struct ctl_limits *limits,
                        const struct ctl_proto *p, void *arg);

/* The address the server listens on (a port 0 was bound to one). */
int ctl_server_local_addr(const struct ctl_server *s, struct sockaddr_storage *out);

#endif
