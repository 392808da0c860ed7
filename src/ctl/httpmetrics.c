/* SPDX-License-Identifier: GPL-2.0-or-later */
/* httpmetrics.c - the metrics page over HTTP; see httpmetrics.h. */
#include "ctl/httpmetrics.h"
#include "ctl/ctl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/sipchar.h"

struct httpmetrics {
    struct ctl_server *srv;
    ctl_handler handler;
    void *arg;
};

/* ---- the request head (RFC 9112 §2-§5) ---- */

/* RFC 9110 §5.6.2 tchar: SIP's token characters and five more. */
static bool is_tchar(unsigned char ch)
{
    return sipchar_is_token(ch) || (ch && strchr("#$&^|", ch));
}

static bool is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return false;
    }
    return n > 0;
}

/* The line at p (up to end) without its LF and an optional CR before it;
 * NULL when no LF is in yet. */
static const char *line_end(const char *p, const char *end, size_t *n)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));

    if (!lf)
        return NULL;
    *n = (size_t)(lf - p) - (lf > p && lf[-1] == '\r');
    return lf + 1;
}

static bool has_ctl(const char *s, size_t n, bool tab_ok)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (sipchar_is_ctl(ch) && !(tab_ok && ch == '\t'))
            return true;
    }
    return false;
}

/* "METHOD SP TARGET SP HTTP/D.D": the status it decides (0: fine, a GET or
 * HEAD of /metrics). */
static unsigned request_line(const char *s, size_t n, bool *head)
{
    const char *sp1 = memchr(s, ' ', n), *sp2, *v;
    size_t mlen, tlen, vlen;

    if (!sp1 || has_ctl(s, n, false))
        return 400;
    mlen = (size_t)(sp1 - s);
    sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
    if (!sp2)
        return 400;
    tlen = (size_t)(sp2 - sp1 - 1);
    v = sp2 + 1;
    vlen = n - (size_t)(v - s);
    if (!is_token(s, mlen) || tlen == 0 || vlen != 8 || memcmp(v, "HTTP/", 5) != 0 ||
        v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505; /* HTTP/1.x of any minor version is HTTP/1.1 to us */
    *head = mlen == 4 && memcmp(s, "HEAD", 4) == 0;
    if (!*head && !(mlen == 3 && memcmp(s, "GET", 3) == 0))
        return 405;
    if (tlen < 8 || memcmp(sp1 + 1, "/metrics", 8) != 0 || (tlen > 8 && sp1[9] != '?'))
        return 404;
    return 0;
}

/* "name: value", no folding (RFC 9112 §5.2 lets a server refuse it). */
static bool header_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);

    return colon && is_token(s, (size_t)(colon - s)) &&
           !has_ctl(colon + 1, n - (size_t)(colon - s) - 1, true);
}

/* Whole-head refusals: 431 when it cannot end within the limit, 400 when
 * the client stopped sending before its end. */
static int incomplete(size_t len, bool eof, struct httpmetrics_req *out)
{
    if (len >= HTTPMETRICS_HEAD_MAX) {
        out->status = 431;
        return 1;
    }
    if (eof) {
        out->status = 400;
        return 1;
    }
    return 0;
}

int httpmetrics_parse(const char *buf, size_t len, bool eof, struct httpmetrics_req *out)
{
    const char *p = buf, *end = buf + len, *next;
    size_t n;
    unsigned status;

    *out = (struct httpmetrics_req){ 0 };
    /* RFC 9112 §2.2: empty lines before the request line are ignored. */
    while ((next = line_end(p, end, &n)) != NULL && n == 0)
        p = next;
    if (!next) {
        /* A bare CR, a NUL or other controls cannot start a request. */
        if (has_ctl(p, (size_t)(end - p) - (end > p && end[-1] == '\r'), false)) {
            out->status = 400;
            return 1;
        }
        return incomplete(len, eof, out);
    }
    status = request_line(p, n, &out->head);
    if (status) {
        out->status = status;
        return 1;
    }
    for (p = next; (next = line_end(p, end, &n)) != NULL; p = next) {
        if (n == 0) {
            out->status = 200;
            return 1;
        }
        if (!header_ok(p, n)) {
            out->status = 400;
            return 1;
        }
    }
    return incomplete(len, eof, out);
}

/* ---- the answer ---- */

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

void httpmetrics_answer(const struct httpmetrics_req *r, struct report_buf *out, ctl_handler h,
                        void *arg)
{
    unsigned status = r->status;
    struct report_buf body;

    report_buf_init(&body);
    if (status == 200) {
        int err = h(CTL_REQ_METRICS, &body, arg);

        if (err < 0 || body.err < 0) {
            log_warn("metrics_http_failed", "err=\"%s\"",
                     strerror(err < 0 ? -err : -body.err));
            report_buf_free(&body);
            status = 500;
        }
    }
    if (status != 200)
        report_printf(&body, "%u %s\n", status, reason_phrase(status));
    report_printf(out, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n%s\r\n", status, reason_phrase(status),
                  status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                             : "text/plain; charset=utf-8",
                  body.len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!r->head)
        report_put(out, body.p, body.len);
    report_buf_free(&body);
    log_debug("metrics_http_request", "status=%u head=%s bytes=%zu", status,
              r->head ? "yes" : "no", out->len);
}

/* ---- the server ---- */

static int http_bytes(const char *req, size_t len, bool eof, struct report_buf *out, void *arg)
{
    struct httpmetrics *m = arg;
    struct httpmetrics_req r;

    if (!httpmetrics_parse(req, len, eof, &r))
        return 0;
    httpmetrics_answer(&r, out, m->handler, m->arg);
    return out->err < 0 ? -1 : 1;
}

static const struct ctl_proto http_proto = {
    .req_max = HTTPMETRICS_HEAD_MAX,
    .on_bytes = http_bytes,
    .busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n",
    .name = "metrics",
};

int httpmetrics_open(struct httpmetrics **out, struct loop *l, const struct sockaddr *sa,
                     socklen_t len, const struct ctl_limits *limits, ctl_handler h, void *arg)
{
    struct httpmetrics *m;
    int err;

    if (!out || !h)
        return -EINVAL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->handler = h;
    m->arg = arg;
    err = ctl_server_open_tcp(&m->srv, l, sa, len, limits, &http_proto, m);
    if (err < 0) {
        free(m);
        return err;
    }
    *out = m;
    return 0;
}

void httpmetrics_free(struct httpmetrics *m)
{
    if (!m)
        return;
    ctl_server_free(m->srv);
    free(m);
}

unsigned httpmetrics_clients(const struct httpmetrics *m)
{
    return ctl_server_clients(m->srv);
}

int httpmetrics_local_addr(const struct httpmetrics *m, struct sockaddr_storage *out)
{
    return ctl_server_local_addr(m->srv, out);
}
