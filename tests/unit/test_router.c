/* Unit tests for the router (proxy mode): the ua.allow policy, service
 * selection, UA requests relayed on the UA's flow with a single Via (ours),
 * `Supported: outbound` and `;ob` (RFC 5626 §4.3, §5.1), responses mapped
 * back to the UA's Via stack, CANCEL on the INVITE's branch, requests from
 * the service relayed to the UA and its responses back on the flow,
 * Max-Forwards, and malformed datagrams.
 *
 * The edge proxy is played by the test: a listening TCP socket on
 * 127.0.0.1 read without blocking between iterations of the event loop
 * (fake clock; every wait is bounded by an iteration count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
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
#include "core/log.h"
#include "core/loop.h"
#include "proxy/router.h"
#include "state/instid.h"

#define MAX_LISTEN 1
#define MAX_CONNS 8
#define MAX_CAP 64
#define CONN_BUF 65536
#define PUMP_MAX 400      /* loop iterations before a wait gives up */
#define PUMP_WAIT_MS 5    /* bounded epoll wait per iteration */
#define SETTLE_ITERS 10   /* iterations to show that nothing happens */

/* ---- fixture ---- */

struct conn {
    int fd;
    int listener;         /* which listening socket accepted it */
    bool closed;          /* the peer (sipkeep) closed the connection */
    size_t n;
    char buf[CONN_BUF];
};

struct fx {
    struct loop *loop;
    uint64_t now;
    char root[64];
    char dir[128];
    struct cfg *cfg;
    struct instid_store *ids;
    struct router *r;
    struct ua_addr ua;       /* the legacy UA, inside ua.allow */
    int nlisten;
    int lfd[MAX_LISTEN];
    unsigned port[MAX_LISTEN];
    int nconns;
    struct conn conns[MAX_CONNS];
    /* what env.send_ua was given */
    int nua;
    char *ua_msg[MAX_CAP];
    struct sockaddr_storage ua_dst[MAX_CAP];
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fx *)ctx)->now;
}

static void cap_send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct fx *f = arg;
    char *copy = malloc(len + 1);

    assert_non_null(copy);
    assert_true(f->nua < MAX_CAP);
    memcpy(copy, buf, len);
    copy[len] = '\0';
    assert_int_equal(strlen(copy), len);
    f->ua_dst[f->nua] = ua->src;
    f->ua_msg[f->nua++] = copy;
}

static int listen_tcp(unsigned *port)
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

static void load_cfg(struct fx *f)
{
    char yaml[2048], err[256];
    int n = snprintf(yaml, sizeof(yaml),
                     "state_dir: %s\n"
                     "log:\n  level: error\n"
                     "ua:\n  allow:\n    - \"127.0.0.0/8\"\n  register_expires: 300\n"
                     "services:\n"
                     "  - name: svc\n"
                     "    domain: example.net\n"
                     "    outbound_proxies:\n"
                     "      - \"sip:127.0.0.1:%u;transport=tcp\"\n",
                     f->dir, f->port[0]);

    assert_true((size_t)n < sizeof(yaml));
    if (cfg_load_buffer("t.yaml", yaml, (size_t)n, &f->cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
}

static void set_in(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct loop_clock clk = { fake_now, f };
    struct router_env env;
    char err[256] = "";

    assert_non_null(f);
    f->now = 1000000;
    snprintf(f->root, sizeof(f->root), "/tmp/test_router-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->dir, sizeof(f->dir), "%s/state", f->root);
    f->nlisten = 1;
    f->lfd[0] = listen_tcp(&f->port[0]);
    load_cfg(f);
    assert_int_equal(loop_new(&f->loop, &clk), 0);
    set_in(&f->ua.src, "127.0.0.10", 5060);
    set_in(&f->ua.local, "127.0.0.1", 5060);
    assert_int_equal(instid_store_open(&f->ids, f->dir), 0);
    env = (struct router_env){ .loop = f->loop, .cfg = f->cfg, .ids = f->ids,
                               .send_ua = cap_send_ua, .arg = f };
    if (router_new(&f->r, &env, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
    *state = f;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    router_free(f->r);
    instid_store_free(f->ids);
    for (int i = 0; i < f->nconns; i++)
        if (f->conns[i].fd >= 0)
            close(f->conns[i].fd);
    for (int i = 0; i < f->nlisten; i++)
        close(f->lfd[i]);
    for (int i = 0; i < f->nua; i++)
        free(f->ua_msg[i]);
    loop_free(f->loop);
    cfg_free(f->cfg);
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- the test's edge proxy ---- */

static void srv_poll(struct fx *f)
{
    for (int l = 0; l < f->nlisten; l++) {
        for (;;) {
            int fd = accept4(f->lfd[l], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            assert_true(f->nconns < MAX_CONNS);
            f->conns[f->nconns].fd = fd;
            f->conns[f->nconns].listener = l;
            f->conns[f->nconns].closed = false;
            f->conns[f->nconns].n = 0;
            f->nconns++;
        }
    }
    for (int i = 0; i < f->nconns; i++) {
        struct conn *c = &f->conns[i];
        while (!c->closed && c->n < CONN_BUF - 1) {
            ssize_t r = recv(c->fd, c->buf + c->n, CONN_BUF - 1 - c->n, 0);
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

/* Runs the loop until cond holds (true) or PUMP_MAX iterations (false). */
static bool pump(struct fx *f, bool (*cond)(struct fx *, const void *), const void *arg)
{
    for (int i = 0; i < PUMP_MAX; i++) {
        srv_poll(f);
        if (cond(f, arg))
            return true;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
    }
    srv_poll(f);
    return cond(f, arg);
}

/* A few iterations in which nothing is expected to happen. */
static void settle(struct fx *f)
{
    for (int i = 0; i < SETTLE_ITERS; i++) {
        assert_int_equal(loop_run_once(f->loop, 1), 0);
        srv_poll(f);
    }
}

/* The header value of the first Content-Length in hdrs[0..n), or -1. */
static long clen_of(const char *hdrs, size_t n)
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
static size_t frame(const struct conn *c, size_t *skip)
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
    cl = clen_of(c->buf + s, (size_t)(hend - (c->buf + s)) + 2);
    if (cl < 0)
        fail_msg("message on the flow without Content-Length: %s", c->buf + s);
    if ((size_t)(hend + 4 - c->buf) + (size_t)cl > c->n)
        return 0;
    return (size_t)(hend + 4 - (c->buf + s)) + (size_t)cl;
}

static bool cond_srv_msg(struct fx *f, const void *arg)
{
    size_t skip;

    (void)arg;
    for (int i = 0; i < f->nconns; i++) {
        if (frame(&f->conns[i], &skip))
            return true;
    }
    return false;
}

/* Waits for the next complete message on any connection; returns it
 * (malloc'd, NUL-terminated) and its connection index. */
static char *srv_wait(struct fx *f, int *ci)
{
    if (!pump(f, cond_srv_msg, NULL))
        fail_msg("the edge proxy received no message");
    for (int i = 0; i < f->nconns; i++) {
        struct conn *c = &f->conns[i];
        size_t skip, n = frame(c, &skip);
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

static void srv_send(struct fx *f, int ci, const char *msg)
{
    size_t len = strlen(msg), off = 0;

    while (off < len) {
        ssize_t r = send(f->conns[ci].fd, msg + off, len - off, MSG_NOSIGNAL);
        assert_true(r > 0);
        off += (size_t)r;
    }
}

static bool cond_nua(struct fx *f, const void *arg)
{
    return f->nua >= *(const int *)arg;
}

/* Waits until the UA has received n messages in all; returns the n-th. */
static const char *ua_wait(struct fx *f, int n)
{
    if (!pump(f, cond_nua, &n))
        fail_msg("the UA received %d messages, expected %d", f->nua, n);
    assert_int_equal(f->nua, n);
    return f->ua_msg[n - 1];
}

/* ---- reading messages (NUL-terminated text) ---- */

/* Value of the nth (0-based) header line called name (case-insensitive),
 * trimmed; false when there is none.  Only the header section is read. */
static bool hdr_get(const char *msg, const char *name, int nth, char *out, size_t outsz)
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

static int hdr_count(const char *msg, const char *name)
{
    char tmp[2048];
    int n = 0;

    while (hdr_get(msg, name, n, tmp, sizeof(tmp)))
        n++;
    return n;
}

static void hdr_must(const char *msg, const char *name, char *out, size_t outsz)
{
    if (!hdr_get(msg, name, 0, out, outsz))
        fail_msg("no %s header in:\n%s", name, msg);
}

/* Every Via element (comma-separated values of every Via line), in order. */
static int via_list(const char *msg, char vias[][256], int max)
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

static void start_line(const char *msg, char *out, size_t outsz)
{
    const char *eol = strstr(msg, "\r\n");

    assert_non_null(eol);
    assert_true((size_t)(eol - msg) < outsz);
    memcpy(out, msg, (size_t)(eol - msg));
    out[eol - msg] = '\0';
}

/* The value of parameter name ("branch") in s, copied; false if absent. */
static bool param_of(const char *s, const char *name, char *out, size_t outsz)
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
static char *mk_response(const char *req, const char *status, const char *extra)
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

/* ---- the legacy UA ---- */

#define UA_CONTACT "<sip:alice@127.0.0.10:5060>"
#define UA_VIA "SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKuainv1;rport"
#define UA_VIA2 "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKinner1"
#define UA_VIA3 "SIP/2.0/UDP 10.0.0.6;received=10.0.0.66;branch=z9hG4bKinner2"

static void ua_send_from(struct fx *f, const char *text, const struct ua_addr *ua)
{
    router_from_ua(f->r, text, strlen(text), ua);
}

static void ua_send(struct fx *f, const char *text)
{
    ua_send_from(f, text, &f->ua);
}

static char *mk_register(const char *domain, unsigned cseq)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@%s>;tag=uatag1\r\n"
                     "To: <sip:alice@%s>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: " UA_CONTACT "\r\n"
                     "Expires: 3600\r\n"
                     "Content-Length: 0\r\n"
                     "\r\n",
                     domain, cseq, domain, domain, cseq);

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

/* Registers the UA through the router; returns the flow's connection. */
static int register_ok(struct fx *f)
{
    char *reg = mk_register("example.net", 1), *up, *ok, contact[2048], extra[4096];
    int ci, nua = f->nua;

    ua_send(f, reg);
    up = srv_wait(f, &ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 20\r\n"
             "Path: <sip:tok@127.0.0.1;lr;ob>\r\nContact: %s;expires=3600\r\n", contact);
    ok = mk_response(up, "200 OK", extra);
    srv_send(f, ci, ok);
    ua_wait(f, nua + 1);
    assert_memory_equal(f->ua_msg[nua], "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(router_bindings(f->r), 1);
    free(ok);
    free(up);
    free(reg);
    return ci;
}

#define SDP "v=0\r\no=- 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\n" \
            "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

/* An INVITE from the UA (a PBX: three Via elements on two lines). */
static char *mk_invite(const char *method, unsigned cseq, const char *maxfwd)
{
    char *out = malloc(4096);
    bool invite = strcmp(method, "INVITE") == 0;
    int n = snprintf(out, 4096,
                     "%s sip:bob@example.net SIP/2.0\r\n"
                     "Via: " UA_VIA "\r\n"
                     "Via: " UA_VIA2 ", " UA_VIA3 "\r\n"
                     "%s%s%s"
                     "From: \"Alice\" <sip:alice@example.net>;tag=a1\r\n"
                     "To: <sip:bob@example.net>\r\n"
                     "Call-ID: call-1@127.0.0.10\r\n"
                     "CSeq: %u %s\r\n"
                     "%s"
                     "Content-Length: %zu\r\n"
                     "\r\n%s",
                     method, maxfwd ? "Max-Forwards: " : "", maxfwd ? maxfwd : "",
                     maxfwd ? "\r\n" : "", cseq, method,
                     invite ? "Contact: <sip:alice@127.0.0.10:5060>\r\n"
                              "Content-Type: application/sdp\r\n" : "",
                     invite ? strlen(SDP) : (size_t)0, invite ? SDP : "");

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

static bool cond_conn_any(struct fx *f, const void *arg)
{
    (void)arg;
    return f->nconns > 0;
}

/* ---- 8. ua.allow ---- */

static void test_ua_not_allowed(void **state)
{
    struct fx *f = *state;
    struct ua_addr out = f->ua;
    char *reg = mk_register("example.net", 1), *inv = mk_invite("INVITE", 1, "70");

    set_in(&out.src, "192.168.1.10", 5060);
    ua_send_from(f, reg, &out);
    ua_send_from(f, inv, &out);
    ua_send_from(f, "OPTIONS", &out);
    settle(f);
    assert_int_equal(f->nconns, 0); /* no flow was opened */
    assert_int_equal(f->nua, 0);
    assert_int_equal(router_bindings(f->r), 0);

    /* the same REGISTER from inside ua.allow does open a flow */
    ua_send(f, reg);
    assert_true(pump(f, cond_conn_any, NULL));
    assert_int_equal(router_bindings(f->r), 1);
    free(inv);
    free(reg);
}

/* ---- 9. service selection ---- */

static void test_register_unknown_domain(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register("other.example.org", 1), *tel = mk_register("example.net", 2);
    char sl[256], v[2048], vias[4][256];
    char *ruri = strstr(tel, "sip:example.net");

    ua_send(f, reg);
    ua_wait(f, 1);
    start_line(f->ua_msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 404 Not Found");
    assert_true(addr_equal((struct sockaddr *)&f->ua_dst[0], (struct sockaddr *)&f->ua.src));
    hdr_must(f->ua_msg[0], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 REGISTER");
    hdr_must(f->ua_msg[0], "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    assert_int_equal(via_list(f->ua_msg[0], vias, 4), 1);
    assert_string_equal(vias[0], "SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg1;rport");
    hdr_must(f->ua_msg[0], "To", v, sizeof(v));
    assert_memory_equal(v, "<sip:alice@other.example.org>;tag=", 34);

    /* not a SIP URI at all */
    memcpy(ruri, "tel:+1234567890", 15);
    ua_send(f, tel);
    ua_wait(f, 2);
    start_line(f->ua_msg[1], sl, sizeof(sl));
    assert_memory_equal(sl, "SIP/2.0 416 ", 12);
    settle(f);
    assert_int_equal(f->nconns, 0);
    assert_int_equal(router_bindings(f->r), 0);
    free(tel);
    free(reg);
}

/* A request from an allowed UA that has not registered: 403. */
static void test_unregistered_ua(void **state)
{
    struct fx *f = *state;
    char *inv = mk_invite("INVITE", 1, "70"), sl[256], v[256];

    ua_send(f, inv);
    ua_wait(f, 1);
    start_line(f->ua_msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    hdr_must(f->ua_msg[0], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    settle(f);
    assert_int_equal(f->nconns, 0);
    free(inv);
}

/* ---- 10. INVITE from the UA ---- */

static void assert_ua_vias(const char *msg)
{
    char vias[8][256];

    assert_int_equal(via_list(msg, vias, 8), 3);
    assert_string_equal(vias[0], UA_VIA);
    assert_string_equal(vias[1], UA_VIA2);
    assert_string_equal(vias[2], UA_VIA3);
}

static void test_invite_from_ua(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    char *inv = mk_invite("INVITE", 1, "70"), *cancel = mk_invite("CANCEL", 1, "70");
    char *up, *upc, *r180, *r200, *rc200;
    char v[2048], vias[4][256], expect[128], branch[128], cbranch[128], sl[256];
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    struct ua_addr ua2 = f->ua;
    const char *body;

    ua_send(f, inv);
    up = srv_wait(f, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(f->nua, 1); /* nothing to the UA yet */
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:bob@example.net SIP/2.0");
    /* one Via, ours, from the flow's local address (§5.1) */
    assert_int_equal(via_list(up, vias, 4), 1);
    assert_int_equal(getpeername(f->conns[ci].fd, (struct sockaddr *)&peer, &pl), 0);
    snprintf(expect, sizeof(expect), "SIP/2.0/TCP 127.0.0.1:%u;", ntohs(peer.sin_port));
    assert_memory_equal(vias[0], expect, strlen(expect));
    assert_true(param_of(vias[0], "branch", branch, sizeof(branch)));
    assert_memory_equal(branch, "z9hG4bK", 7);
    assert_null(strstr(up, "z9hG4bKuainv1"));
    assert_null(strstr(up, "z9hG4bKinner"));
    hdr_must(up, "Supported", v, sizeof(v));
    assert_string_equal(v, "outbound");
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@127.0.0.10:5060;ob>");
    hdr_must(up, "Max-Forwards", v, sizeof(v));
    assert_string_equal(v, "69");
    assert_int_equal(hdr_count(up, "Max-Forwards"), 1);
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_int_equal(strtoul(v, NULL, 10), strlen(SDP));
    body = strstr(up, "\r\n\r\n") + 4;
    assert_string_equal(body, SDP);

    /* 180 and 200 come back with the UA's whole Via stack, in order */
    r180 = mk_response(up, "180 Ringing", "Contact: <sip:bob@203.0.113.9>\r\n");
    r200 = mk_response(up, "200 OK", "Contact: <sip:bob@203.0.113.9>\r\n");
    srv_send(f, ci, r180);
    ua_wait(f, 2);
    start_line(f->ua_msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 180 Ringing");
    assert_ua_vias(f->ua_msg[1]);
    assert_true(addr_equal((struct sockaddr *)&f->ua_dst[1], (struct sockaddr *)&f->ua.src));
    hdr_must(f->ua_msg[1], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_null(strstr(f->ua_msg[1], branch));

    /* CANCEL: the same upstream branch as the INVITE (RFC 3261 §9.1,
     * §16.10), even if the UA's address struct carries other padding
     * bytes (the ingress copies a whole sockaddr_storage) */
    memset((char *)&ua2.src + sizeof(struct sockaddr_in), 0x5a,
           sizeof(ua2.src) - sizeof(struct sockaddr_in));
    ua_send_from(f, cancel, &ua2);
    upc = srv_wait(f, &ci2);
    assert_int_equal(ci2, ci);
    start_line(upc, sl, sizeof(sl));
    assert_string_equal(sl, "CANCEL sip:bob@example.net SIP/2.0");
    assert_int_equal(via_list(upc, vias, 4), 1);
    assert_true(param_of(vias[0], "branch", cbranch, sizeof(cbranch)));
    assert_string_equal(cbranch, branch);
    rc200 = mk_response(upc, "200 OK", NULL);
    srv_send(f, ci, rc200);
    ua_wait(f, 3);
    start_line(f->ua_msg[2], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(f->ua_msg[2], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 CANCEL");
    assert_ua_vias(f->ua_msg[2]);

    srv_send(f, ci, r200);
    ua_wait(f, 4);
    start_line(f->ua_msg[3], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(f->ua_msg[3], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_ua_vias(f->ua_msg[3]);
    hdr_must(f->ua_msg[3], "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:bob@203.0.113.9>");
    free(rc200);
    free(upc);
    free(r200);
    free(r180);
    free(up);
    free(cancel);
    free(inv);
}

/* A request inside a dialog (To tag) gets no ob and, when its Supported
 * (compact form) already lists outbound, no second Supported. */
static void test_in_dialog_request(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    static const char bye[] =
        "BYE sip:bob@203.0.113.9 SIP/2.0\r\n"
        "Via: " UA_VIA "\r\n"
        "From: \"Alice\" <sip:alice@example.net>;tag=a1\r\n"
        "To: <sip:bob@example.net>;tag=b2\r\n"
        "Call-ID: call-1@127.0.0.10\r\n"
        "CSeq: 2 BYE\r\n"
        "k: outbound,path\r\n"
        "Contact: <sip:alice@127.0.0.10:5060>\r\n"
        "\r\n";
    char *up, v[2048];

    ua_send(f, bye);
    up = srv_wait(f, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(hdr_count(up, "Supported"), 0);
    assert_int_equal(hdr_count(up, "k"), 1);
    assert_int_equal(hdr_count(up, "Via"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@127.0.0.10:5060>");
    hdr_must(up, "Max-Forwards", v, sizeof(v)); /* added when absent */
    assert_string_equal(v, "70");
    hdr_must(up, "Content-Length", v, sizeof(v)); /* added for the stream */
    assert_string_equal(v, "0");
    free(up);
}

/* ---- 11. requests from the service ---- */

static void test_flow_invite_to_ua(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f), ci2;
    char inv[2048], *r180, *r200, *up, sl[256], v[2048], vias[8][256], br[128];
    const char *m;
    int n;

    snprintf(inv, sizeof(inv),
             "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1\r\n"
             "Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060\r\n"
             "Max-Forwards: 68\r\n"
             "Record-Route: <sip:tok@127.0.0.1;lr>\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-1@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@203.0.113.9>\r\n"
             "Content-Type: application/sdp\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             f->port[0], strlen(SDP), SDP);
    srv_send(f, ci, inv);
    m = ua_wait(f, 2);
    assert_true(addr_equal((struct sockaddr *)&f->ua_dst[1], (struct sockaddr *)&f->ua.src));
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0");
    n = via_list(m, vias, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(vias[0], "SIP/2.0/UDP 127.0.0.1:5060;", 27);
    assert_true(param_of(vias[0], "branch", br, sizeof(br)));
    assert_memory_equal(br, "z9hG4bKsk", 9);
    snprintf(v, sizeof(v), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1", f->port[0]);
    assert_string_equal(vias[1], v);
    assert_string_equal(vias[2], "SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060");
    hdr_must(m, "Max-Forwards", v, sizeof(v));
    assert_string_equal(v, "67");
    assert_string_equal(strstr(m, "\r\n\r\n") + 4, SDP);

    /* the UA answers: back on the flow without our Via */
    r180 = mk_response(m, "180 Ringing", NULL);
    r200 = mk_response(m, "200 OK", "Contact: <sip:alice@127.0.0.10:5060>\r\n");
    ua_send(f, r180);
    up = srv_wait(f, &ci2);
    assert_int_equal(ci2, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 180 Ringing");
    n = via_list(up, vias, 8);
    assert_int_equal(n, 2);
    snprintf(v, sizeof(v), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1", f->port[0]);
    assert_string_equal(vias[0], v);
    assert_string_equal(vias[1], "SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKorig1;rport=5060");
    assert_null(strstr(up, "z9hG4bKsk"));
    free(up);
    ua_send(f, r200);
    up = srv_wait(f, &ci2);
    assert_int_equal(ci2, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    assert_int_equal(via_list(up, vias, 8), 2);
    assert_null(strstr(up, "z9hG4bKsk"));
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_string_equal(v, "0");
    free(up);
    free(r200);
    free(r180);
}

/* Another LAN host replaying our branch gets nothing onto the flow. */
static void test_ua_response_from_other_host(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f);
    char inv[2048], *r200;
    struct ua_addr other = f->ua;
    const char *m;

    snprintf(inv, sizeof(inv),
             "OPTIONS sip:alice@127.0.0.10:5060 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge2\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: opt-1@example.net\r\n"
             "CSeq: 1 OPTIONS\r\n"
             "Content-Length: 0\r\n\r\n",
             f->port[0]);
    srv_send(f, ci, inv);
    m = ua_wait(f, 2);
    r200 = mk_response(m, "200 OK", NULL);
    set_in(&other.src, "127.0.0.99", 5060);
    ua_send_from(f, r200, &other);
    settle(f);
    assert_false(cond_srv_msg(f, NULL));
    /* from the UA itself it goes through */
    ua_send(f, r200);
    free(srv_wait(f, &ci));
    free(r200);
}

/* The UA's flow is down (the edge closed it; the §4.5 retry waits): 503. */
static void test_no_flow_503(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f);
    char *inv = mk_invite("INVITE", 1, "70"), sl[256];

    close(f->conns[ci].fd);
    f->conns[ci].fd = -1;
    f->conns[ci].closed = true;
    settle(f);
    ua_send(f, inv);
    ua_wait(f, 2);
    start_line(f->ua_msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 503 Service Unavailable");
    assert_ua_vias(f->ua_msg[1]);
    assert_int_equal(f->nconns, 1);
    free(inv);
}

/* ---- 12. Max-Forwards ---- */

static void test_max_forwards_zero(void **state)
{
    struct fx *f = *state;
    char *inv, *opt, sl[256], v[256], vias[4][256];

    register_ok(f);
    inv = mk_invite("INVITE", 1, "0");
    opt = mk_invite("OPTIONS", 2, " 0 ");
    ua_send(f, inv);
    ua_wait(f, 2);
    start_line(f->ua_msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 483 Too Many Hops");
    hdr_must(f->ua_msg[1], "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 INVITE");
    assert_int_equal(via_list(f->ua_msg[1], vias, 4), 3);
    ua_send(f, opt);
    ua_wait(f, 3);
    start_line(f->ua_msg[2], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 483 Too Many Hops");
    settle(f);
    assert_false(cond_srv_msg(f, NULL));
    free(opt);
    free(inv);
}

/* ---- 13. malformed datagrams ---- */

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    char *inv = mk_invite("INVITE", 1, "70"), buf[4096], junk[512];
    size_t ilen = strlen(inv);
    uint32_t seed = 0x12345678u;
    static const char *const bad[] = {
        "hello world",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "INVITE",
        "INVITE sip:bob@example.net SIP/2.0",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 500\r\n\r\nv=0\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\nContent-Length: 4\r\n\r\nabcd",
        "INVITE sip:bob@example.net SIP/2.0\r\nFrom: <sip:alice@example.net>;tag=a\r\n"
        "To: <sip:bob@example.net>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n"
        "From: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n"
        "Call-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKx\r\n\r\n",
        "SIP/2.0 999 Nope\r\n\r\n",
        "REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10\r\n\r\n",
    };
    /* parseable, but not to be relayed or answered */
    static const char *const stray[] = {
        /* responses whose top Via is not ours / names a binding or flow
         * that does not exist */
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnot-ours\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s1\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk4000000.0.00\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s2\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk1.7.00\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s3\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s4\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk99999999999999999999999.1.\r\n"
        "From: <sip:a@example.net>;tag=1\r\nTo: <sip:b@example.net>;tag=2\r\n"
        "Call-ID: s5\r\nCSeq: 1 INVITE\r\n\r\n",
        /* an ACK is never answered, even when refused */
        "ACK sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKack\r\n"
        "Max-Forwards: 0\r\nFrom: <sip:alice@example.net>;tag=a\r\n"
        "To: <sip:bob@example.net>;tag=b\r\n"
        "Call-ID: s6\r\nCSeq: 1 ACK\r\n\r\n",
        /* keep-alives */
        "\r\n\r\n", "\r\n",
    };

    register_ok(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ua_send(f, bad[i]);
    for (size_t i = 0; i < sizeof(stray) / sizeof(stray[0]); i++)
        ua_send(f, stray[i]);
    router_from_ua(f->r, "\0\0\0\0", 4, &f->ua);
    router_from_ua(f->r, "", 0, &f->ua);
    /* truncations of a good INVITE at every length */
    for (size_t n = 0; n < ilen - strlen(SDP) - 2; n++)
        router_from_ua(f->r, inv, n, &f->ua);
    /* bytes no SIP message has */
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)xorshift(&seed);
    for (size_t n = 1; n <= sizeof(junk); n *= 2)
        router_from_ua(f->r, junk, n, &f->ua);
    settle(f);
    assert_int_equal(f->nua, 1);
    assert_false(cond_srv_msg(f, NULL));
    assert_false(f->conns[0].closed);

    /* mutations of a good INVITE: no crash, no leak (ASan); whatever is
     * relayed or answered must still be well-formed enough to frame */
    for (int k = 0; k < 3000; k++) {
        memcpy(buf, inv, ilen);
        for (int j = 0; j < 1 + (int)(xorshift(&seed) % 4); j++)
            buf[xorshift(&seed) % ilen] = "\r\n:;,<>\" =@\0\x7fZ0"[xorshift(&seed) % 16];
        router_from_ua(f->r, buf, ilen - xorshift(&seed) % 8, &f->ua);
        if (k % 100 == 0) {
            int ci;
            srv_poll(f);
            while (cond_srv_msg(f, NULL))
                free(srv_wait(f, &ci));
        }
    }
    settle(f);
    assert_false(f->conns[0].closed);
    /* and the router still works */
    {
        int before = f->nua;
        char *opt = mk_invite("OPTIONS", 9, "70"), *up, *rsp;
        int ci;
        while (cond_srv_msg(f, NULL))
            free(srv_wait(f, &ci));
        char v[256];
        memcpy(strstr(opt, "z9hG4bKuainv1"), "z9hG4bKuaopt9", 13); /* a fresh branch */
        ua_send(f, opt);
        up = srv_wait(f, &ci);
        rsp = mk_response(up, "200 OK", NULL);
        srv_send(f, ci, rsp);
        ua_wait(f, before + 1);
        hdr_must(f->ua_msg[before], "CSeq", v, sizeof(v));
        assert_string_equal(v, "9 OPTIONS");
        assert_non_null(strstr(f->ua_msg[before], "branch=z9hG4bKuaopt9"));
        free(rsp);
        free(up);
        free(opt);
    }
    free(inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_ua_not_allowed),
        T(test_register_unknown_domain),
        T(test_unregistered_ua),
        T(test_invite_from_ua),
        T(test_in_dialog_request),
        T(test_flow_invite_to_ua),
        T(test_ua_response_from_other_host),
        T(test_no_flow_503),
        T(test_max_forwards_zero),
        T(test_malformed),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
