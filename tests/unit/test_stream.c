/* Unit tests for the stream transport, with real sockets on 127.0.0.1: a
 * listening TCP socket and an OpenSSL server whose CA and certificates are
 * generated at test time.  The loop is driven by loop_run_once() with a
 * bounded wait and an overall deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/loop.h"
#include "transport/stream.h"
#include "transport/stream_impl.h"

#define DEADLINE_MS 5000
#define MAX_MSGS 8

static const char sip_ok[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    "Call-ID: a@b\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

static const char sip_opt[] =
    "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK2\r\n"
    "Call-ID: c@d\r\n"
    "CSeq: 2 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* ---- what the callbacks saw ---- */

struct rec {
    struct stream *s;
    int connected, pongs, pings, closes, nmsg;
    int close_err, state_at_close, local_at_close;
    char reason[256];
    char *msg[MAX_MSGS];
    size_t len[MAX_MSGS];
    bool free_in_connected, free_in_message, free_in_close, free_in_ping;
};

static void drop(struct rec *r)
{
    stream_free(r->s);
    r->s = NULL;
}

static void rec_connected(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    assert_int_equal(stream_state(s), STREAM_OPEN);
    r->connected++;
    if (r->free_in_connected)
        drop(r);
}

static void rec_message(struct stream *s, const char *msg, size_t len, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    assert_true(r->nmsg < MAX_MSGS);
    if (r->free_in_message)
        drop(r); /* msg stays valid until we return (ASan checks the copy) */
    r->msg[r->nmsg] = malloc(len);
    assert_non_null(r->msg[r->nmsg]);
    memcpy(r->msg[r->nmsg], msg, len);
    r->len[r->nmsg++] = len;
}

static void rec_pong(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    r->pongs++;
}

static void rec_ping(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    r->pings++;
    if (r->free_in_ping)
        drop(r);
}

static void rec_close(struct stream *s, int err, const char *reason, void *arg)
{
    struct rec *r = arg;
    struct sockaddr_storage ss;

    assert_ptr_equal(s, r->s);
    r->closes++;
    r->close_err = err;
    r->state_at_close = stream_state(s);
    r->local_at_close = stream_local_addr(s, &ss);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    if (r->free_in_close)
        drop(r);
}

static const struct stream_cbs rec_cbs = {
    .on_connected = rec_connected,
    .on_message = rec_message,
    .on_pong = rec_pong,
    .on_ping = rec_ping,
    .on_close = rec_close,
};

/* ---- fixture: a loop, a listener, a recorder, maybe a TLS server ---- */

struct pki {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf_ok, *leaf_wrong;
    char ca_path[64];
    SSL_CTX *cli, *srv_ok, *srv_wrong;
};

struct fx {
    struct loop *l;
    int lfd, sfd;              /* listener, accepted server side */
    struct sockaddr_in addr;   /* where the listener is */
    struct rec r;
    struct pki *pki;
    SSL *srv;                  /* TLS server side of sfd */
    int srv_hs;                /* 0 running, 1 done, -1 failed */
    char got[8192];            /* what the TLS server read */
    size_t ngot;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int listen_tcp(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t sl = sizeof(*addr);
    int one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    assert_int_equal(listen(fd, 512), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &sl), 0);
    return fd;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(loop_new(&f->l, NULL), 0);
    f->lfd = listen_tcp(&f->addr);
    f->sfd = -1;
    *state = f;
    return 0;
}

static void pki_free(struct pki *p);

static int teardown(void **state)
{
    struct fx *f = *state;

    stream_free(f->r.s);
    for (int i = 0; i < f->r.nmsg; i++)
        free(f->r.msg[i]);
    SSL_free(f->srv);
    if (f->sfd >= 0)
        close(f->sfd);
    close(f->lfd);
    pki_free(f->pki);
    loop_free(f->l);
    free(f);
    return 0;
}

static void open_stream(struct fx *f, SSL_CTX *tls, const char *host)
{
    assert_int_equal(stream_open(&f->r.s, f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                 tls, host, &rec_cbs, &f->r), 0);
}

/* Runs the loop until done(f) or the deadline; pump (may be NULL) drives
 * the test's own TLS server between iterations. */
static bool run_until(struct fx *f, bool (*done)(struct fx *), void (*pump)(struct fx *))
{
    uint64_t end = now_ms() + DEADLINE_MS;

    while (!done(f)) {
        if (now_ms() > end)
            return false;
        if (pump)
            pump(f);
        assert_int_equal(loop_run_once(f->l, pump ? 5 : 50), 0);
    }
    return true;
}

static bool is_connected(struct fx *f) { return f->r.connected > 0; }
static bool is_closed(struct fx *f) { return f->r.closes > 0; }
static bool has_msg1(struct fx *f) { return f->r.nmsg >= 1; }
static bool has_msg2(struct fx *f) { return f->r.nmsg >= 2; }
static bool has_pong(struct fx *f) { return f->r.pongs > 0; }
static bool has_ping(struct fx *f) { return f->r.pings > 0; }

static int srv_accept(struct fx *f)
{
    struct pollfd p = { .fd = f->lfd, .events = POLLIN };

    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    f->sfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(f->sfd >= 0);
    return f->sfd;
}

static void srv_write(struct fx *f, const char *p, size_t n)
{
    assert_int_equal(write(f->sfd, p, n), (ssize_t)n);
}

static void srv_read_exact(struct fx *f, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { .fd = f->sfd, .events = POLLIN };
        ssize_t r;

        assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
        r = read(f->sfd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void connect_tcp(struct fx *f)
{
    open_stream(f, NULL, NULL);
    assert_int_equal(stream_state(f->r.s), STREAM_CONNECTING);
    assert_true(run_until(f, is_connected, NULL));
    srv_accept(f);
}

static void assert_msg(const struct rec *r, int i, const char *want)
{
    assert_int_equal(r->len[i], strlen(want));
    assert_memory_equal(r->msg[i], want, strlen(want));
}

/* ---- plain TCP ---- */

static size_t g_want_buffered;
static bool buffered_reached(struct fx *f) { return stream_buffered(f->r.s) >= g_want_buffered; }

static void test_tcp_send_and_split_message(void **state)
{
    struct fx *f = *state;
    char buf[sizeof(sip_opt)];
    size_t idle, n = sizeof(sip_ok) - 1, cuts[] = { 7, 60, n };
    size_t from = 0;

    connect_tcp(f);
    idle = stream_mem(f->r.s);
    assert_int_equal(stream_send(f->r.s, sip_opt, sizeof(sip_opt) - 1), 0);
    srv_read_exact(f, buf, sizeof(sip_opt) - 1);
    assert_memory_equal(buf, sip_opt, sizeof(sip_opt) - 1);
    for (size_t i = 0; i < 3; i++) {
        srv_write(f, sip_ok + from, cuts[i] - from);
        from = cuts[i];
        if (i < 2) { /* wait until the stream holds the piece: no message yet */
            g_want_buffered = from;
            assert_true(run_until(f, buffered_reached, NULL));
            assert_int_equal(f->r.nmsg, 0);
            assert_true(stream_mem(f->r.s) > idle);
        }
    }
    assert_true(run_until(f, has_msg1, NULL));
    assert_msg(&f->r, 0, sip_ok);
    assert_int_equal(stream_buffered(f->r.s), 0);
    assert_int_equal(stream_mem(f->r.s), idle); /* read buffer freed when empty */
    assert_int_equal(f->r.closes, 0);
}

static void test_tcp_two_glued_messages(void **state)
{
    struct fx *f = *state;
    char both[sizeof(sip_ok) + sizeof(sip_opt)];

    connect_tcp(f);
    snprintf(both, sizeof(both), "%s%s", sip_ok, sip_opt);
    srv_write(f, both, strlen(both));
    assert_true(run_until(f, has_msg2, NULL));
    assert_msg(&f->r, 0, sip_ok);
    assert_msg(&f->r, 1, sip_opt);
    assert_int_equal(f->r.pongs + f->r.pings, 0);
}

static void test_tcp_large_message_grows_buffer(void **state)
{
    struct fx *f = *state;
    size_t body = 40000, hl;
    char *m = malloc(body + 256);
    size_t idle;

    assert_non_null(m);
    connect_tcp(f);
    idle = stream_mem(f->r.s);
    hl = (size_t)snprintf(m, 256, "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: %zu\r\n\r\n", body);
    memset(m + hl, 'x', body);
    srv_write(f, m, hl + body);
    assert_true(run_until(f, has_msg1, NULL));
    assert_int_equal(f->r.len[0], hl + body);
    assert_memory_equal(f->r.msg[0], m, hl + body);
    assert_int_equal(stream_mem(f->r.s), idle);
    free(m);
}

static void test_tcp_pong(void **state)
{
    struct fx *f = *state;

    connect_tcp(f);
    assert_int_equal(stream_send_ping(f->r.s), 0);
    {
        char ping[4];
        srv_read_exact(f, ping, 4);
        assert_memory_equal(ping, "\r\n\r\n", 4); /* RFC 5626 §4.4.1 ping */
    }
    srv_write(f, "\r\n", 2);
    assert_true(run_until(f, has_pong, NULL));
    assert_int_equal(f->r.pongs, 1);
    assert_int_equal(f->r.pings + f->r.nmsg, 0);
}

static void test_tcp_ping_is_answered(void **state)
{
    struct fx *f = *state;
    char pong[2];

    connect_tcp(f);
    srv_write(f, "\r\n\r\n", 4);
    assert_true(run_until(f, has_ping, NULL));
    srv_read_exact(f, pong, 2);
    assert_memory_equal(pong, "\r\n", 2);
    assert_int_equal(f->r.pings, 1);
    assert_int_equal(f->r.pongs + f->r.nmsg, 0);
}

static void test_tcp_send_before_connected_is_queued(void **state)
{
    struct fx *f = *state;
    char buf[sizeof(sip_opt)];

    open_stream(f, NULL, NULL);
    assert_int_equal(stream_send(f->r.s, sip_opt, sizeof(sip_opt) - 1), 0);
    assert_int_equal(stream_queued(f->r.s), sizeof(sip_opt) - 1);
    assert_true(run_until(f, is_connected, NULL));
    srv_accept(f);
    srv_read_exact(f, buf, sizeof(sip_opt) - 1);
    assert_memory_equal(buf, sip_opt, sizeof(sip_opt) - 1);
    assert_int_equal(stream_queued(f->r.s), 0);
}

static void test_tcp_connect_refused(void **state)
{
    struct fx *f = *state;

    close(f->lfd); /* nothing listens on that port any more */
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    open_stream(f, NULL, NULL);
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, -ECONNREFUSED);
    assert_int_equal(f->r.connected, 0);
    assert_int_equal(f->r.state_at_close, STREAM_CLOSED);
    assert_int_equal(f->r.local_at_close, -ENOTCONN);
    assert_int_equal(stream_send(f->r.s, "x", 1), -ENOTCONN);
}

static void test_tcp_peer_close(void **state)
{
    struct fx *f = *state;

    connect_tcp(f);
    close(f->sfd);
    f->sfd = -1;
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, 0);
    assert_non_null(strstr(f->r.reason, "closed"));
    assert_int_equal(f->r.closes, 1);
}

static void test_tcp_peer_reset(void **state)
{
    struct fx *f = *state;
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    connect_tcp(f);
    setsockopt(f->sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(f->sfd); /* linger 0: RST */
    f->sfd = -1;
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, -ECONNRESET);
}

static void test_tcp_framing_error(void **state)
{
    struct fx *f = *state;
    static const char junk[] = "\x16\x03\x01\x02\x00garbage that is not SIP\r\n\r\n";

    connect_tcp(f);
    srv_write(f, junk, sizeof(junk) - 1);
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, -EBADMSG);
    assert_int_equal(f->r.nmsg, 0);
}

static void test_tcp_message_too_large(void **state)
{
    struct fx *f = *state;
    static const char big[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2000000\r\n\r\n";

    connect_tcp(f);
    srv_write(f, big, sizeof(big) - 1);
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, -EMSGSIZE);
    assert_int_equal(f->r.nmsg, 0);
}

static void test_tcp_local_and_peer_addr(void **state)
{
    struct fx *f = *state;
    struct sockaddr_storage loc, peer;
    struct sockaddr_in srv_peer;
    socklen_t sl = sizeof(srv_peer);

    connect_tcp(f);
    assert_false(stream_is_tls(f->r.s));
    assert_int_equal(stream_local_addr(f->r.s, &loc), 0);
    assert_int_equal(getpeername(f->sfd, (struct sockaddr *)&srv_peer, &sl), 0);
    assert_int_equal(loc.ss_family, AF_INET);
    assert_int_equal(((struct sockaddr_in *)&loc)->sin_port, srv_peer.sin_port);
    assert_int_equal(((struct sockaddr_in *)&loc)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    stream_peer_addr(f->r.s, &peer);
    assert_memory_equal(&peer, &f->addr, sizeof(f->addr));
}

/* The server does not read: sends fill the kernel, then the queue, then
 * -ENOBUFS with nothing queued; once it reads, every accepted byte arrives
 * in order. */
static size_t g_sent, g_recv;
static bool drained(struct fx *f) { return g_recv >= g_sent && stream_queued(f->r.s) == 0; }

static void pump_drain(struct fx *f)
{
    static char buf[65536];
    ssize_t r;

    while ((r = recv(f->sfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < r; i++)
            assert_int_equal((unsigned char)buf[i], (g_recv + (size_t)i) % 251);
        g_recv += (size_t)r;
    }
}

static void test_tcp_output_queue_bound(void **state)
{
    struct fx *f = *state;
    static char chunk[65536];
    int err = 0;

    connect_tcp(f);
    g_sent = g_recv = 0;
    while (g_sent < (64u << 20)) {
        size_t before;

        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (char)((g_sent + i) % 251);
        before = stream_queued(f->r.s);
        err = stream_send(f->r.s, chunk, sizeof(chunk));
        if (err < 0) {
            assert_int_equal(stream_queued(f->r.s), before); /* all or nothing */
            break;
        }
        g_sent += sizeof(chunk);
    }
    assert_int_equal(err, -ENOBUFS);
    assert_true(stream_queued(f->r.s) <= STREAM_WQ_MAX);
    assert_true(stream_queued(f->r.s) > STREAM_WQ_MAX - sizeof(chunk));
    assert_true(run_until(f, drained, pump_drain));
    assert_int_equal(g_recv, g_sent);
    assert_int_equal(f->r.closes, 0);
}

/* ---- freeing from inside callbacks (ASan checks the aftermath) ---- */

static void test_free_in_on_message(void **state)
{
    struct fx *f = *state;
    char three[3 * sizeof(sip_ok)];

    connect_tcp(f);
    f->r.free_in_message = true;
    snprintf(three, sizeof(three), "%s%s\r\n", sip_ok, sip_ok);
    srv_write(f, three, strlen(three));
    assert_true(run_until(f, has_msg1, NULL));
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(f->l, 10), 0);
    assert_null(f->r.s);
    assert_int_equal(f->r.nmsg, 1); /* nothing after the free */
    assert_int_equal(f->r.pongs + f->r.closes, 0);
}

static void test_free_in_on_close(void **state)
{
    struct fx *f = *state;

    connect_tcp(f);
    f->r.free_in_close = true;
    close(f->sfd);
    f->sfd = -1;
    assert_true(run_until(f, is_closed, NULL));
    assert_null(f->r.s);
    assert_int_equal(loop_run_once(f->l, 10), 0);
    assert_int_equal(f->r.closes, 1);
}

static void test_free_in_on_connected_and_on_ping(void **state)
{
    struct fx *f = *state;

    f->r.free_in_connected = true;
    open_stream(f, NULL, NULL);
    assert_int_equal(stream_send(f->r.s, sip_opt, sizeof(sip_opt) - 1), 0);
    assert_true(run_until(f, is_connected, NULL));
    assert_null(f->r.s);
    srv_accept(f);
    close(f->sfd);
    f->r = (struct rec){ .free_in_ping = true };
    f->sfd = -1;
    connect_tcp(f);
    srv_write(f, "\r\n\r\n\r\n", 6); /* a ping, then a pong never seen */
    assert_true(run_until(f, has_ping, NULL));
    assert_int_equal(loop_run_once(f->l, 10), 0);
    assert_null(f->r.s);
    assert_int_equal(f->r.pongs + f->r.closes, 0);
}

static void test_open_rejects_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct stream *s = NULL;
    struct stream_cbs no_close = { .on_message = rec_message };
    SSL_CTX *ctx = (SSL_CTX *)1; /* never dereferenced: no host given */

    assert_int_equal(stream_open(&s, f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                 NULL, NULL, &no_close, NULL), -EINVAL);
    assert_int_equal(stream_open(&s, f->l, (struct sockaddr *)&f->addr, 4, NULL, NULL,
                                 &rec_cbs, NULL), -EINVAL);
    assert_int_equal(stream_open(&s, f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                 ctx, NULL, &rec_cbs, NULL), -EINVAL);
    assert_null(s);
}

/* ---- TLS: a CA, a leaf for edge.test and one for wrong.test ---- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX c;
    X509_EXTENSION *e;

    X509V3_set_ctx_nodb(&c);
    X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &c, nid, val);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* dns NULL: a self-signed CA; else a server leaf for dns signed by ca. */
static X509 *make_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *dns, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n;
    char san[64];

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               (const unsigned char *)(dns ? dns : "sipkeep test CA"), -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
    if (!dns) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(x, x, NID_subject_key_identifier, "hash");
    } else {
        snprintf(san, sizeof(san), "DNS:%s", dns);
        add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, ca, NID_ext_key_usage, "serverAuth");
        add_ext(x, ca, NID_subject_alt_name, san);
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always");
    }
    assert_true(X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0);
    return x;
}

static SSL_CTX *server_ctx(X509 *leaf, EVP_PKEY *key)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());

    assert_non_null(c);
    assert_int_equal(SSL_CTX_use_certificate(c, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(c, key), 1);
    return c;
}

static struct pki *pki_new(void)
{
    struct pki *p = calloc(1, sizeof(*p));
    char err[256] = "";
    FILE *fp;
    int fd;

    assert_non_null(p);
    p->ca_key = EVP_EC_gen("P-256");
    p->leaf_key = EVP_EC_gen("P-256");
    assert_non_null(p->ca_key);
    assert_non_null(p->leaf_key);
    p->ca = make_cert(p->ca_key, NULL, NULL, NULL, 1);
    p->leaf_ok = make_cert(p->leaf_key, p->ca, p->ca_key, "edge.test", 2);
    p->leaf_wrong = make_cert(p->leaf_key, p->ca, p->ca_key, "wrong.test", 3);
    snprintf(p->ca_path, sizeof(p->ca_path), "/tmp/test_stream_ca_XXXXXX");
    fd = mkstemp(p->ca_path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, p->ca), 1);
    fclose(fp);
    assert_int_equal(stream_tls_ctx_new(p->ca_path, true, &p->cli, err, sizeof(err)), 0);
    p->srv_ok = server_ctx(p->leaf_ok, p->leaf_key);
    p->srv_wrong = server_ctx(p->leaf_wrong, p->leaf_key);
    return p;
}

static void pki_free(struct pki *p)
{
    if (!p)
        return;
    unlink(p->ca_path);
    stream_tls_ctx_free(p->cli);
    SSL_CTX_free(p->srv_ok);
    SSL_CTX_free(p->srv_wrong);
    X509_free(p->ca);
    X509_free(p->leaf_ok);
    X509_free(p->leaf_wrong);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->leaf_key);
    free(p);
}

static int setup_tls(void **state)
{
    setup(state);
    ((struct fx *)*state)->pki = pki_new();
    return 0;
}

/* The test's TLS server: accepts once, then handshakes and reads without
 * blocking, one step per loop iteration. */
static void pump_tls(struct fx *f)
{
    struct pollfd p = { .fd = f->lfd, .events = POLLIN };
    size_t n = 0;
    int r;

    if (f->sfd < 0 && poll(&p, 1, 0) == 1) {
        f->sfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        assert_true(f->sfd >= 0);
        assert_int_equal(SSL_set_fd(f->srv, f->sfd), 1);
    }
    if (f->sfd < 0 || f->srv_hs < 0)
        return;
    if (f->srv_hs == 0) {
        r = SSL_accept(f->srv);
        if (r == 1)
            f->srv_hs = 1;
        else if (SSL_get_error(f->srv, r) != SSL_ERROR_WANT_READ)
            f->srv_hs = -1;
        ERR_clear_error();
        return;
    }
    if (SSL_read_ex(f->srv, f->got + f->ngot, sizeof(f->got) - f->ngot, &n) == 1)
        f->ngot += n;
    ERR_clear_error();
}

static void start_tls(struct fx *f, SSL_CTX *srv_ctx, const char *host)
{
    f->srv = SSL_new(srv_ctx);
    assert_non_null(f->srv);
    open_stream(f, f->pki->cli, host);
    assert_true(stream_is_tls(f->r.s));
}

static bool both_sides_done(struct fx *f) { return f->r.connected > 0 && f->srv_hs == 1; }
static size_t g_want_got;
static bool srv_got_enough(struct fx *f) { return f->ngot >= g_want_got; }

static void test_tls_handshake_and_data(void **state)
{
    struct fx *f = *state;
    size_t idle;

    start_tls(f, f->pki->srv_ok, "edge.test");
    assert_int_equal(stream_send(f->r.s, sip_opt, sizeof(sip_opt) - 1), 0); /* queued */
    assert_true(run_until(f, is_connected, pump_tls));
    g_want_got = sizeof(sip_opt) - 1;
    assert_true(run_until(f, srv_got_enough, pump_tls));
    assert_int_equal(f->ngot, sizeof(sip_opt) - 1);
    assert_memory_equal(f->got, sip_opt, f->ngot);
    assert_int_equal(SSL_write(f->srv, sip_ok, sizeof(sip_ok) - 1), (int)sizeof(sip_ok) - 1);
    assert_true(run_until(f, has_msg1, pump_tls));
    assert_msg(&f->r, 0, sip_ok);
    idle = stream_mem(f->r.s);
    assert_int_equal(SSL_write(f->srv, "\r\n\r\n", 4), 4); /* ping over TLS */
    assert_true(run_until(f, has_ping, pump_tls));
    g_want_got += 2;
    assert_true(run_until(f, srv_got_enough, pump_tls));
    assert_memory_equal(f->got + sizeof(sip_opt) - 1, "\r\n", 2);
    assert_int_equal(stream_mem(f->r.s), idle);
    assert_int_equal(f->r.closes, 0);
}

static void test_tls_peer_close(void **state)
{
    struct fx *f = *state;

    start_tls(f, f->pki->srv_ok, "edge.test");
    assert_true(run_until(f, both_sides_done, pump_tls));
    SSL_shutdown(f->srv);
    close(f->sfd);
    f->sfd = -1;
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, 0);
}

static void test_tls_free_in_on_message(void **state)
{
    struct fx *f = *state;
    char two[2 * sizeof(sip_ok)];

    start_tls(f, f->pki->srv_ok, "edge.test");
    assert_true(run_until(f, both_sides_done, pump_tls));
    f->r.free_in_message = true;
    snprintf(two, sizeof(two), "%s%s", sip_ok, sip_ok);
    assert_int_equal(SSL_write(f->srv, two, (int)strlen(two)), (int)strlen(two));
    assert_true(run_until(f, has_msg1, pump_tls));
    assert_msg(&f->r, 0, sip_ok);
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(f->l, 10), 0);
    assert_null(f->r.s);
    assert_int_equal(f->r.nmsg, 1);
    assert_int_equal(f->r.closes, 0);
}

static void test_tls_wrong_hostname(void **state)
{
    struct fx *f = *state;

    start_tls(f, f->pki->srv_wrong, "edge.test");
    assert_true(run_until(f, is_closed, pump_tls));
    assert_int_equal(f->r.close_err, -EPROTO);
    assert_int_equal(f->r.connected, 0);
    assert_int_equal(f->r.nmsg + f->r.pongs + f->r.pings, 0);
    print_message("wrong host reason: %s\n", f->r.reason);
    assert_non_null(strstr(f->r.reason, "certificate verify failed: "));
    assert_non_null(strcasestr(f->r.reason, "hostname mismatch"));
    assert_non_null(strstr(f->r.reason, "(expected edge.test)"));
}

static void test_tls_untrusted_ca(void **state)
{
    struct fx *f = *state;
    char err[256];

    stream_tls_ctx_free(f->pki->cli);
    f->pki->cli = NULL;
    assert_int_equal(stream_tls_ctx_new("/nonexistent/ca.pem", true, &f->pki->cli, err,
                                        sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    assert_int_equal(stream_tls_ctx_new(NULL, true, &f->pki->cli, err, sizeof(err)), 0);
    start_tls(f, f->pki->srv_ok, "edge.test");
    assert_true(run_until(f, is_closed, pump_tls));
    assert_int_equal(f->r.close_err, -EPROTO);
    assert_int_equal(f->r.connected, 0);
    assert_non_null(strstr(f->r.reason, "certificate verify failed: "));
}

static void test_tls_handshake_timeout(void **state)
{
    struct fx *f = *state;

    /* The listener accepts in the kernel but never speaks TLS. */
    open_stream(f, f->pki->cli, "edge.test");
    assert_int_equal(stream_set_connect_timeout(f->r.s, 100), 0);
    assert_true(run_until(f, is_closed, NULL));
    assert_int_equal(f->r.close_err, -ETIMEDOUT);
    assert_int_equal(f->r.connected, 0);
}

/* ---- memory budget: heap growth per idle stream ---- */

#ifdef __SANITIZE_ADDRESS__
/* ASan replaces malloc and mallinfo2() would see nothing: ask ASan. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_used(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_used(void) { return mallinfo2().uordblks; }
#endif

#define MEM_TCP_N 200
#define MEM_TLS_N 50

static int g_nconn, g_npong;
static void cnt_connected(struct stream *s, void *arg) { (void)s; (void)arg; g_nconn++; }
static void cnt_pong(struct stream *s, void *arg) { (void)s; (void)arg; g_npong++; }
static void cnt_close(struct stream *s, int err, const char *why, void *arg)
{
    (void)s; (void)arg;
    fail_msg("unexpected close %d %s", err, why);
}
static const struct stream_cbs cnt_cbs = {
    .on_connected = cnt_connected, .on_pong = cnt_pong, .on_close = cnt_close,
};
static int g_target;
static bool all_connected(struct fx *f) { (void)f; return g_nconn >= g_target; }
static bool all_ponged(struct fx *f) { (void)f; return g_npong >= g_target; }

static void test_mem_idle_tcp(void **state)
{
    struct fx *f = *state;
    struct stream **s = calloc(MEM_TCP_N, sizeof(*s));
    int *fds = calloc(MEM_TCP_N, sizeof(*fds));
    size_t before, per;

    assert_non_null(s);
    assert_non_null(fds);
    g_nconn = 0;
    g_target = MEM_TCP_N;
    before = heap_used();
    for (int i = 0; i < MEM_TCP_N; i++)
        assert_int_equal(stream_open(&s[i], f->l, (struct sockaddr *)&f->addr,
                                     sizeof(f->addr), NULL, NULL, &cnt_cbs, NULL), 0);
    assert_true(run_until(f, all_connected, NULL));
    for (int i = 0; i < MEM_TCP_N; i++)
        fds[i] = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    per = (heap_used() - before) / MEM_TCP_N;
    for (int i = 0; i < MEM_TCP_N; i++)
        assert_true(stream_mem(s[i]) < STREAM_RBUF_MIN); /* owns no buffer */
    print_message("idle TCP stream: %zu heap bytes each (stream_mem %zu)\n", per,
                  stream_mem(s[0]));
    assert_true(per >= stream_mem(s[0])); /* the measure sees the streams */
    assert_true(per < 8192);
    for (int i = 0; i < MEM_TCP_N; i++) {
        stream_free(s[i]);
        close(fds[i]);
    }
    free(s);
    free(fds);
}

/* The TLS server runs in a child process so that its heap is not counted:
 * it handshakes each connection in turn, sends a pong on it (so that the
 * client has also consumed the session tickets sent before), then waits. */
static void tls_server_child(struct fx *f, int n, int quit_fd)
{
    SSL **ssl = calloc((size_t)n, sizeof(*ssl));
    char c;

    for (int i = 0; ssl && i < n; i++) {
        struct pollfd p = { .fd = f->lfd, .events = POLLIN };
        int fd = poll(&p, 1, 20000) == 1 ? accept4(f->lfd, NULL, NULL, 0) : -1;

        ssl[i] = fd >= 0 ? SSL_new(f->pki->srv_ok) : NULL;
        if (!ssl[i] || SSL_set_fd(ssl[i], fd) != 1 || SSL_accept(ssl[i]) != 1 ||
            SSL_write(ssl[i], "\r\n", 2) != 2)
            _exit(3);
    }
    while (read(quit_fd, &c, 1) > 0)
        ;
    _exit(0);
}

static void open_tls_batch(struct fx *f, struct stream **s, int n)
{
    g_npong = 0;
    g_target = n;
    for (int i = 0; i < n; i++)
        assert_int_equal(stream_open(&s[i], f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                     f->pki->cli, "edge.test", &cnt_cbs, NULL), 0);
    assert_true(run_until(f, all_ponged, NULL));
}

static void test_mem_idle_tls(void **state)
{
    struct fx *f = *state;
    struct stream **s = calloc(MEM_TLS_N + 1, sizeof(*s));
    int quit[2], status;
    size_t before, per, mem0;
    pid_t pid;

    assert_non_null(s);
    assert_int_equal(pipe(quit), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(quit[1]);
        tls_server_child(f, MEM_TLS_N + 1, quit[0]);
    }
    close(quit[0]);
    open_tls_batch(f, &s[MEM_TLS_N], 1); /* warm-up: OpenSSL's one-time state */
    before = heap_used();
    open_tls_batch(f, s, MEM_TLS_N);
    per = (heap_used() - before) / MEM_TLS_N;
    for (int i = 0; i < MEM_TLS_N; i++)
        assert_true(stream_mem(s[i]) < STREAM_RBUF_MIN); /* read the pong, kept nothing */
    mem0 = stream_mem(s[0]);
    print_message("idle TLS stream: %zu heap bytes each (stream_mem %zu)\n", per, mem0);
    for (int i = 0; i <= MEM_TLS_N; i++)
        stream_free(s[i]);
    close(quit[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(s);
    assert_true(per > mem0 + 1024); /* the measure sees OpenSSL's state too */
    assert_true(per < 32768);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_send_and_split_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_two_glued_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_large_message_grows_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_pong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_ping_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_send_before_connected_is_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_peer_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_peer_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_framing_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_message_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_local_and_peer_addr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_output_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_on_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_on_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_on_connected_and_on_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rejects_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake_and_data, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_peer_close, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_free_in_on_message, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_wrong_hostname, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_untrusted_ca, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake_timeout, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_mem_idle_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_idle_tls, setup_tls, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_stream");
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
