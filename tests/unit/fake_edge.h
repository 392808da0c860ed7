/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_edge.h - the world around sipkeep as test_regagent.c and
 * test_router.c play it: the edge proxy (listening TCP sockets on
 * 127.0.0.1 whose connections are read without blocking between
 * iterations of the event loop), what the code under test sends to the
 * legacy UA, a fake clock and a throw-away state directory.  Every wait is
 * bounded by an iteration count, so a missing message fails the test
 * instead of hanging it.
 *
 * Functions are static inline: each test_*.c is compiled alone and uses
 * only part of this header, and inline keeps -Wunused-function quiet. */
#ifndef SIPKEEP_TESTS_FAKE_EDGE_H
#define SIPKEEP_TESTS_FAKE_EDGE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "fake_clock.h"

#define EDGE_MAX_LISTEN 4
#define EDGE_MAX_CONNS 8
#define EDGE_CONN_BUF 65536
#define PUMP_MAX 400      /* loop iterations before a wait gives up */
#define PUMP_WAIT_MS 5    /* bounded epoll wait per iteration */
#define SETTLE_ITERS 10   /* iterations to show that nothing happens */

/* A test file may lower this before including, to keep its own bound on
 * how many messages one test may send the UA. */
#ifndef UA_SINK_MAX
#define UA_SINK_MAX 64
#endif

/* ---- addresses, state directory (the fake clock is fake_clock.h's) ---- */

/* ss: a sockaddr_storage or a union sockaddr_ip (a sockaddr_in is written). */
static inline void set_in(void *ss, const char *ip, unsigned port)
{
    struct sockaddr_in *sin = ss;

    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

/* A fresh directory under /tmp per test; state_dir is a subdirectory not
 * yet made, so the code under test has to create it itself. */
struct test_dir {
    char root[64];
    char state[128];
};

static inline void test_dir_make(struct test_dir *d, const char *name)
{
    snprintf(d->root, sizeof(d->root), "/tmp/%s-XXXXXX", name);
    assert_non_null(mkdtemp(d->root));
    snprintf(d->state, sizeof(d->state), "%s/state", d->root);
}

static inline int test_dir_rm_one(const char *path, const struct stat *st, int flag,
                                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void test_dir_remove(const struct test_dir *d)
{
    nftw(d->root, test_dir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- what the code under test sends to the legacy UA (env.send_ua) ---- */

struct ua_sink {
    int n;
    char *msg[UA_SINK_MAX];                 /* NUL-terminated copies */
    union sockaddr_ip dst[UA_SINK_MAX];
};

static inline void ua_sink_add(struct ua_sink *s, const struct ua_addr *ua, const char *buf,
                               size_t len)
{
    char *copy = malloc(len + 1);

    assert_non_null(copy);
    assert_true(s->n < UA_SINK_MAX);
    memcpy(copy, buf, len);
    copy[len] = '\0';
    assert_int_equal(strlen(copy), len); /* no NUL inside a SIP message we send */
    s->dst[s->n] = ua->src;
    s->msg[s->n++] = copy;
}

static inline void ua_sink_free(struct ua_sink *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->msg[i]);
}

/* ---- the edge proxy ---- */

struct edge_conn {
    int fd;               /* -1 once the edge dropped it (edge_drop) */
    int listener;         /* which listening socket accepted it */
    bool closed;          /* the peer (sipkeep) closed the connection */
    size_t n;
    char buf[EDGE_CONN_BUF];
};

struct fake_edge {
    struct loop *loop;    /* the fixture's; pumped while the edge waits */
    int nlisten;
    int lfd[EDGE_MAX_LISTEN];
    unsigned port[EDGE_MAX_LISTEN];
    int nconns;           /* accepted so far; never shrinks, so indexes stay */
    struct edge_conn conns[EDGE_MAX_CONNS];
};

static inline int edge_listen_tcp(unsigned *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* nlisten listening sockets on ephemeral ports of 127.0.0.1. */
static inline void edge_open(struct fake_edge *e, struct loop *loop, int nlisten)
{
    assert_true(nlisten >= 1 && nlisten <= EDGE_MAX_LISTEN);
    e->loop = loop;
    e->nlisten = nlisten;
    for (int i = 0; i < nlisten; i++)
        e->lfd[i] = edge_listen_tcp(&e->port[i]);
}

/* Closes every socket the edge still holds, each once: a connection the
 * test dropped already (fd -1) is skipped. */
static inline void edge_close(struct fake_edge *e)
{
    for (int i = 0; i < e->nconns; i++) {
        if (e->conns[i].fd >= 0)
            close(e->conns[i].fd);
        e->conns[i].fd = -1;
    }
    for (int i = 0; i < e->nlisten; i++)
        close(e->lfd[i]);
    e->nlisten = 0;
}

/* A configuration with one service, example.net, whose outbound proxies
 * are the edge's listeners over TCP, in listener order; svc_extra (YAML
 * lines indented for the service's mapping, may be "") is appended to it. */
static inline void edge_load_cfg_extra(const struct fake_edge *e, const char *state_dir,
                                       const char *svc_extra, struct cfg **cfg)
{
    char yaml[4096], err[256];
    int n = snprintf(yaml, sizeof(yaml),
                     "state_dir: %s\n"
                     "log:\n  level: error\n"
                     "ua:\n  allow:\n    - \"127.0.0.0/8\"\n  register_expires: 300\n"
                     "services:\n"
                     "  - name: svc\n"
                     "    domain: example.net\n"
                     "    outbound_proxies:\n",
                     state_dir);

    for (int i = 0; i < e->nlisten; i++)
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
                      "      - \"sip:127.0.0.1:%u;transport=tcp\"\n", e->port[i]);
    n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "%s", svc_extra);
    assert_true((size_t)n < sizeof(yaml));
    if (cfg_load_buffer("t.yaml", yaml, (size_t)n, cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
}

static inline void edge_load_cfg(const struct fake_edge *e, const char *state_dir,
                                 struct cfg **cfg)
{
    edge_load_cfg_extra(e, state_dir, "", cfg);
}

/* Accepts what sipkeep connected and reads what it sent, without blocking. */
static inline void edge_poll(struct fake_edge *e)
{
    for (int l = 0; l < e->nlisten; l++) {
        for (;;) {
            int fd = accept4(e->lfd[l], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            assert_true(e->nconns < EDGE_MAX_CONNS);
            e->conns[e->nconns].fd = fd;
            e->conns[e->nconns].listener = l;
            e->conns[e->nconns].closed = false;
            e->conns[e->nconns].n = 0;
            e->nconns++;
        }
    }
    for (int i = 0; i < e->nconns; i++) {
        struct edge_conn *c = &e->conns[i];
        while (!c->closed && c->n < EDGE_CONN_BUF - 1) {
            ssize_t r = recv(c->fd, c->buf + c->n, EDGE_CONN_BUF - 1 - c->n, 0);
            if (r > 0)
                c->n += (size_t)r;
            else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                c->closed = true;
            else
                break;
        }
        c->buf[c->n] = '\0';
    }
}

/* Runs the loop until cond(ctx, arg) holds (true) or PUMP_MAX iterations
 * (false).  ctx is whatever cond looks at: the fixture, the edge, a sink. */
static inline bool edge_pump(struct fake_edge *e, bool (*cond)(void *ctx, const void *arg),
                             void *ctx, const void *arg)
{
    for (int i = 0; i < PUMP_MAX; i++) {
        edge_poll(e);
        if (cond(ctx, arg))
            return true;
        assert_int_equal(loop_run_once(e->loop, PUMP_WAIT_MS), 0);
    }
    edge_poll(e);
    return cond(ctx, arg);
}

/* A few iterations in which nothing is expected to happen. */
static inline void edge_settle(struct fake_edge *e)
{
    for (int i = 0; i < SETTLE_ITERS; i++) {
        assert_int_equal(loop_run_once(e->loop, 1), 0);
        edge_poll(e);
    }
}

/* The header value of the first Content-Length in hdrs[0..n), or -1. */
static inline long edge_clen_of(const char *hdrs, size_t n)
{
    const char *p = hdrs, *end = hdrs + n;

    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        size_t ln = eol ? (size_t)(eol - p) : (size_t)(end - p);
        const char *colon = memchr(p, ':', ln);
        if (colon) {
            size_t nl = (size_t)(colon - p);
            while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
                nl--;
            if ((nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
                (nl == 1 && (p[0] == 'l' || p[0] == 'L')))
                return strtol(colon + 1, NULL, 10);
        }
        if (!eol)
            break;
        p = eol + 2;
    }
    return -1;
}

/* Length of the first complete framed message of c (leading CRLFs, i.e.
 * keep-alives, are skipped into *skip), 0 while incomplete. */
static inline size_t edge_frame(const struct edge_conn *c, size_t *skip)
{
    size_t s = 0;
    const char *hend;
    long cl;

    while (s < c->n && (c->buf[s] == '\r' || c->buf[s] == '\n'))
        s++;
    *skip = s;
    hend = memmem(c->buf + s, c->n - s, "\r\n\r\n", 4);
    if (!hend)
        return 0;
    cl = edge_clen_of(c->buf + s, (size_t)(hend - (c->buf + s)) + 2);
    if (cl < 0)
        fail_msg("message on the flow without Content-Length: %s", c->buf + s);
    if ((size_t)(hend + 4 - c->buf) + (size_t)cl > c->n)
        return 0;
    return (size_t)(hend + 4 - (c->buf + s)) + (size_t)cl;
}

/* Whether a complete message waits on any connection (read so far). */
static inline bool edge_has_msg(const struct fake_edge *e)
{
    size_t skip;

    for (int i = 0; i < e->nconns; i++) {
        if (edge_frame(&e->conns[i], &skip))
            return true;
    }
    return false;
}

static inline bool edge_cond_msg(void *ctx, const void *arg)
{
    (void)arg;
    return edge_has_msg(ctx);
}

/* Waits for the next complete message on any connection; returns it
 * (malloc'd, NUL-terminated) and its connection index. */
static inline char *edge_wait_msg(struct fake_edge *e, int *ci)
{
    *ci = -1; /* on every path: gcc cannot tell that fail_msg does not return */
    if (!edge_pump(e, edge_cond_msg, e, NULL))
        fail_msg("the edge proxy received no message");
    for (int i = 0; i < e->nconns; i++) {
        struct edge_conn *c = &e->conns[i];
        size_t skip, n = edge_frame(c, &skip);
        char *msg;
        if (!n)
            continue;
        msg = malloc(n + 1);
        assert_non_null(msg);
        memcpy(msg, c->buf + skip, n);
        msg[n] = '\0';
        memmove(c->buf, c->buf + skip + n, c->n - skip - n);
        c->n -= skip + n;
        c->buf[c->n] = '\0';
        *ci = i;
        return msg;
    }
    fail_msg("unreachable");
    return NULL;
}

static inline void edge_send(struct fake_edge *e, int ci, const char *msg)
{
    size_t len = strlen(msg), off = 0;

    while (off < len) {
        ssize_t r = send(e->conns[ci].fd, msg + off, len - off, MSG_NOSIGNAL);
        assert_true(r > 0);
        off += (size_t)r;
    }
}

/* The edge proxy drops connection ci. */
static inline void edge_drop(struct fake_edge *e, int ci)
{
    close(e->conns[ci].fd);
    e->conns[ci].fd = -1;
    e->conns[ci].closed = true;
}

static inline bool edge_cond_closed(void *ctx, const void *arg)
{
    const struct fake_edge *e = ctx;

    return e->conns[*(const int *)arg].closed;
}

/* Pumps until sipkeep has closed connection ci; false if it never does. */
static inline bool edge_wait_closed(struct fake_edge *e, int ci)
{
    return edge_pump(e, edge_cond_closed, e, &ci);
}

static inline bool edge_cond_nconns(void *ctx, const void *arg)
{
    const struct fake_edge *e = ctx;

    return e->nconns >= *(const int *)arg;
}

/* Pumps until sipkeep has opened n connections in all; false if it never
 * does. */
static inline bool edge_wait_conns(struct fake_edge *e, int n)
{
    return edge_pump(e, edge_cond_nconns, e, &n);
}

static inline bool ua_sink_cond(void *ctx, const void *arg)
{
    const struct ua_sink *s = ctx;

    return s->n >= *(const int *)arg;
}

/* Waits until the UA has received n messages in all; returns the n-th. */
static inline const char *ua_wait(struct fake_edge *e, struct ua_sink *s, int n)
{
    if (!edge_pump(e, ua_sink_cond, s, &n))
        fail_msg("the UA received %d messages, expected %d", s->n, n);
    assert_int_equal(s->n, n);
    return s->msg[n - 1];
}

/* ---- reading and answering messages (NUL-terminated text) ---- */

/* Value of the nth (0-based) header line called name (case-insensitive),
 * trimmed; false when there is none.  Only the header section is read. */
static inline bool hdr_get(const char *msg, const char *name, int nth, char *out, size_t outsz)
{
    const char *p = strstr(msg, "\r\n"), *end = strstr(msg, "\r\n\r\n");
    size_t nl = strlen(name);

    if (!p || !end)
        return false;
    for (p += 2; p <= end; ) {
        const char *eol = strstr(p, "\r\n");
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && (size_t)(colon - p) == nl && strncasecmp(p, name, nl) == 0 && nth-- == 0) {
            const char *v = colon + 1;
            size_t vn;
            while (*v == ' ' || *v == '\t')
                v++;
            vn = (size_t)(eol - v);
            while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                vn--;
            if (vn >= outsz)
                fail_msg("header %s too long", name);
            memcpy(out, v, vn);
            out[vn] = '\0';
            return true;
        }
        p = eol + 2;
    }
    return false;
}

static inline int hdr_count(const char *msg, const char *name)
{
    char tmp[2048];
    int n = 0;

    while (hdr_get(msg, name, n, tmp, sizeof(tmp)))
        n++;
    return n;
}

static inline void hdr_must(const char *msg, const char *name, char *out, size_t outsz)
{
    if (!hdr_get(msg, name, 0, out, outsz))
        fail_msg("no %s header in:\n%s", name, msg);
}

/* Every Via element (comma-separated values of every Via line), in order. */
static inline int via_list(const char *msg, char vias[][256], int max)
{
    char line[2048];
    int n = 0;

    for (int i = 0; hdr_get(msg, "Via", i, line, sizeof(line)); i++) {
        char *save = NULL;
        for (char *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            size_t len;
            while (*tok == ' ')
                tok++;
            len = strlen(tok);
            while (len && tok[len - 1] == ' ')
                tok[--len] = '\0';
            assert_true(n < max);
            assert_true(len < 256);
            memcpy(vias[n++], tok, len + 1);
        }
    }
    return n;
}

static inline void start_line(const char *msg, char *out, size_t outsz)
{
    const char *eol = strstr(msg, "\r\n");

    assert_non_null(eol);
    assert_true((size_t)(eol - msg) < outsz);
    memcpy(out, msg, (size_t)(eol - msg));
    out[eol - msg] = '\0';
}

/* The value of parameter name ("branch") in s, copied; false if absent. */
static inline bool param_of(const char *s, const char *name, char *out, size_t outsz)
{
    char key[64];
    const char *p;
    size_t n;

    snprintf(key, sizeof(key), ";%s=", name);
    p = strstr(s, key);
    if (!p)
        return false;
    p += strlen(key);
    n = strcspn(p, ";, >");
    assert_true(n < outsz);
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The response a registrar or proxy would build for req: its Vias, From,
 * To (tagged), Call-ID and CSeq, then extra (CRLF-terminated lines). */
static inline char *mk_response(const char *req, const char *status, const char *extra)
{
    char *out = malloc(8192), v[2048];
    int n = snprintf(out, 8192, "SIP/2.0 %s\r\n", status);

    assert_non_null(out);
    for (int i = 0; hdr_get(req, "Via", i, v, sizeof(v)); i++)
        n += snprintf(out + n, 8192 - (size_t)n, "Via: %s\r\n", v);
    hdr_must(req, "From", v, sizeof(v));
    n += snprintf(out + n, 8192 - (size_t)n, "From: %s\r\n", v);
    hdr_must(req, "To", v, sizeof(v));
    n += snprintf(out + n, 8192 - (size_t)n, "To: %s%s\r\n", v,
                  strstr(v, ";tag=") ? "" : ";tag=srvtag1");
    hdr_must(req, "Call-ID", v, sizeof(v));
    n += snprintf(out + n, 8192 - (size_t)n, "Call-ID: %s\r\n", v);
    hdr_must(req, "CSeq", v, sizeof(v));
    n += snprintf(out + n, 8192 - (size_t)n, "CSeq: %s\r\n%sContent-Length: 0\r\n\r\n", v,
                  extra ? extra : "");
    assert_true(n < 8192);
    return out;
}

#endif
