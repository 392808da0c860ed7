/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router_fixture.h - what the router's tests share (test_router.c,
 * test_router_dialog.c): the fixture on edge_fixture.h with a router, the
 * legacy UA's REGISTER and requests, and the edge's side.  Functions are
 * static inline: each test file uses only part of them. */
#ifndef SIPKEEP_TESTS_ROUTER_FIXTURE_H
#define SIPKEEP_TESTS_ROUTER_FIXTURE_H

#include <fcntl.h>
#include <stdint.h>

#define FX_EXTRA_MEMBERS struct router *r;
#include "edge_fixture.h"

#include "config/config.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "proxy/router.h"
#include "proxy/router_int.h"
#include "state/instid.h"

/* ---- fixture (the rest is in edge_fixture.h; the UA is inside ua.allow) ---- */

static inline int fx_setup_n(void **state, int nflows)
{
    struct fx *f = fx_new("test_router", nflows, "127.0.0.10", "127.0.0.1");
    struct router_env env;
    char err[256] = "";

    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    env = (struct router_env){ .loop = f->loop, .cfg = f->cfg, .ids = f->ids,
                               .send_ua = fx_send_ua, .arg = f };
    if (router_new(&f->r, &env, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
    *state = f;
    return 0;
}

static inline int fx_setup(void **state)
{
    return fx_setup_n(state, 1);
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;

    router_free(f->r);
    fx_free(f);
    return 0;
}

/* ---- the legacy UA ---- */

#define UA_CONTACT "<sip:alice@127.0.0.10:5060>"
static inline void ua_send_from(struct fx *f, const char *text, const struct ua_addr *ua)
{
    router_from_ua(f->r, text, strlen(text), ua);
}

static inline void ua_send(struct fx *f, const char *text)
{
    ua_send_from(f, text, &f->ua);
}

/* A request from user's phone at ip:5060: ruri, Route lines routes (""
 * none), a To tag or none, the phone's branch. */
static inline char *mk_ua_req_as(const char *user, const char *ip, const char *method,
                                 const char *ruri, const char *routes, const char *to_tag,
                                 unsigned cseq, const char *branch)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:5060;branch=%s;rport\r\n"
                     "%s"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@example.net>;tag=a1\r\n"
                     "To: <sip:carol@example.net>%s%s\r\n"
                     "Call-ID: dlg-1@%s\r\n"
                     "CSeq: %u %s\r\n"
                     "Contact: <sip:%s@%s:5060>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, ip, branch, routes, user, to_tag ? ";tag=" : "",
                     to_tag ? to_tag : "", ip, cseq, method, user, ip);

    assert_true(n > 0 && n < 4096);
    return out;
}

static inline char *mk_ua_req(const char *method, const char *ruri, const char *routes,
                              const char *to_tag, unsigned cseq, const char *branch)
{
    return mk_ua_req_as("alice", "127.0.0.10", method, ruri, routes, to_tag, cseq, branch);
}

/* A request from the edge on connection ci (listener port lport). */
static inline void edge_req(struct fx *f, int ci, const char *method, const char *ruri,
                            const char *extra, const char *to_tag, const char *branch)
{
    char msg[4096];
    int n = snprintf(msg, sizeof(msg),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=%s\r\n"
                     "Max-Forwards: 69\r\n"
                     "%s"
                     "From: <sip:bob@example.net>;tag=b1\r\n"
                     "To: <sip:alice@example.net>%s%s\r\n"
                     "Call-ID: in-%s@example.net\r\n"
                     "CSeq: 1 %s\r\n"
                     "Contact: <sip:bob@203.0.113.9>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, f->edge.port[f->edge.conns[ci].listener], branch, extra,
                     to_tag ? ";tag=" : "", to_tag ? to_tag : "", branch, method);

    assert_true(n > 0 && (size_t)n < sizeof(msg));
    edge_send(&f->edge, ci, msg);
}

/* Sends a request from the phone and returns what reached the edge (and
 * on which connection). */
static inline char *ua_relay(struct fx *f, const char *req, int *ci)
{
    ua_send(f, req);
    return edge_wait_msg(&f->edge, ci);
}

/* Captures what the daemon logs (stderr) between start and end. */
struct logcap {
    int saved;
    char path[64];
};

static inline void logcap_start(struct logcap *c)
{
    int fd;

    snprintf(c->path, sizeof(c->path), "/tmp/test_router_log-XXXXXX");
    fd = mkstemp(c->path);
    assert_true(fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    log_setup(LOG_LVL_INFO, LOG_TARGET_STDERR, "test");
}

static inline char *logcap_end(struct logcap *c)
{
    char *buf = calloc(1, 65536);
    FILE *fp;

    assert_non_null(buf);
    fflush(stderr);
    assert_int_equal(dup2(c->saved, 2), 2);
    close(c->saved);
    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    fp = fopen(c->path, "r");
    assert_non_null(fp);
    (void)!fread(buf, 1, 65535, fp);
    fclose(fp);
    unlink(c->path);
    return buf;
}

#endif
