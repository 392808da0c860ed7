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
 */
#ifndef SIPKEEP_CTL_CTL_H
#define SIPKEEP_CTL_CTL_H

#include <stdint.h>

#include "core/loop.h"
#include "ctl/report.h"

#define CTL_REQ_MAX 64               /* longest request line, terminator included */
#define CTL_DEFAULT_MAX_CLIENTS 16u
#define CTL_DEFAULT_TIMEOUT_MS 5000u

enum ctl_request { CTL_REQ_STATUS, CTL_REQ_STATUS_JSON, CTL_REQ_METRICS };

/* Writes the answer to req into out (its err is checked afterwards).
 * Returns 0, or -errno: the client then gets "error: <strerror>". */
typedef int (*ctl_handler)(enum ctl_request req, struct rpt_buf *out, void *arg);

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

/* Parses a request line without its terminator.  Returns 0 and *out, or
 * -EINVAL. */
int ctl_parse_request(const char *line, enum ctl_request *out);

#endif
