/* SPDX-License-Identifier: GPL-2.0-or-later */
/* httpmetrics.h - the metrics page over HTTP, the way Prometheus scrapes:
 * config `metrics.listen: "ADDR:PORT"` (off by default).
 *
 * One request per connection: `GET /metrics` (a query string is ignored)
 * over HTTP/1.0 or HTTP/1.1 is answered 200 with
 * `Content-Type: text/plain; version=0.0.4` and the same page as `sipkeep
 * metrics` (the ctl_handler's CTL_REQ_METRICS answer); HEAD likewise
 * without the body.  Another path gets 404, another method 405 (with
 * Allow), anything that is not an HTTP/1.x request 400, another HTTP
 * version 505, a head over HTTPMETRICS_HEAD_MAX bytes 431; a failing
 * handler 500.  Every answer carries Content-Length and Connection: close,
 * and the connection is closed once it is sent.
 *
 * Bounded like the control socket (ctl.h, whose server it uses): at most
 * HTTPMETRICS_HEAD_MAX bytes of request head are read, at most
 * max_clients connections are served at once (the next ones get a 503 and
 * are closed), and each connection is closed after timeout_ms whatever it
 * is doing.  Everything runs from the event loop, non-blocking.
 */
#ifndef SIPKEEP_CTL_HTTPMETRICS_H
#define SIPKEEP_CTL_HTTPMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "ctl/ctl.h"
#include "ctl/report.h"

#define HTTPMETRICS_HEAD_MAX 4096u /* request line and headers, bytes */

/* What a request head asks for; status is the HTTP status it gets. */
struct httpmetrics_req {
    unsigned status; /* 200, 400, 404, 405, 431 or 505 */
    bool head;       /* HEAD: the answer has no body */
};

/* Reads the request so far (buf[0..len), eof: the client ended its input).
 * Returns 0 while more bytes are needed, 1 with *out decided.  Refuses as
 * early as it can: a bad request line is 400 before the headers are in. */
int httpmetrics_parse(const char *buf, size_t len, bool eof, struct httpmetrics_req *out);

/* Writes the whole HTTP answer to r into out: for 200, h(CTL_REQ_METRICS,
 * ..., arg) makes the body (a failure of h or of memory gives 500). */
void httpmetrics_answer(const struct httpmetrics_req *r, struct report_buf *out, ctl_handler h,
                        void *arg);

struct httpmetrics;

/* Listens on sa (AF_INET or AF_INET6, port set) and answers with h and
 * arg (borrowed: they must outlive the server); limits NULL means the
 * control socket's defaults.  Returns 0 and *out, or -errno with nothing
 * left behind (see ctl_server_open_tcp). */
int httpmetrics_open(struct httpmetrics **out, struct loop *l, const struct sockaddr *sa,
                     socklen_t len, const struct ctl_limits *limits, ctl_handler h, void *arg);
/* Closes every connection and the socket, frees.  NULL is fine. */
void httpmetrics_free(struct httpmetrics *m);

#endif
