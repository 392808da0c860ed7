/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream_fixture.h - the set-up shared by test_stream.c and
 * test_stream_tls.c: a loop, a listening TCP socket on 127.0.0.1, a
 * recorder of the stream's callbacks, the drivers (run the loop until a
 * condition or the deadline, the server side's accept/read/write), and the
 * test PKI (a CA, a leaf for edge.test and one for wrong.test, made at test
 * time; more leaves, server or client, and PEM files of them on demand).  Included by one test file each (static functions); needs cmocka.h
 * included first. */
#ifndef SIPKEEP_TESTS_STREAM_FIXTURE_H
#define SIPKEEP_TESTS_STREAM_FIXTURE_H

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

static inline void drop(struct rec *r)
{
    stream_free(r->s);
    r->s = NULL;
}

static inline void rec_connected(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    assert_int_equal(stream_state(s), STREAM_OPEN);
    r->connected++;
    if (r->free_in_connected)
        drop(r);
}

static inline void rec_message(struct stream *s, const char *msg, size_t len, void *arg)
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

static inline void rec_pong(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    r->pongs++;
}

static inline void rec_ping(struct stream *s, void *arg)
{
    struct rec *r = arg;

    assert_ptr_equal(s, r->s);
    r->pings++;
    if (r->free_in_ping)
        drop(r);
}

static inline void rec_close(struct stream *s, int err, const char *reason, void *arg)
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

static inline uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline int listen_tcp(struct sockaddr_in *addr)
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

static inline int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(loop_new(&f->l, NULL), 0);
    f->lfd = listen_tcp(&f->addr);
    f->sfd = -1;
    *state = f;
    return 0;
}

static inline void pki_free(struct pki *p);

static inline int teardown(void **state)
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

static inline void open_stream(struct fx *f, SSL_CTX *tls, const char *host)
{
    assert_int_equal(stream_open(&f->r.s, f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                 tls, host, &rec_cbs, &f->r), 0);
}

/* Runs the loop until done(f) or the deadline; pump (may be NULL) drives
 * the test's own TLS server between iterations. */
static inline bool run_until(struct fx *f, bool (*done)(struct fx *), void (*pump)(struct fx *))
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

static inline bool is_connected(struct fx *f) { return f->r.connected > 0; }
static inline bool is_closed(struct fx *f) { return f->r.closes > 0; }
static inline bool has_msg1(struct fx *f) { return f->r.nmsg >= 1; }
static inline bool has_msg2(struct fx *f) { return f->r.nmsg >= 2; }
static inline bool has_pong(struct fx *f) { return f->r.pongs > 0; }
static inline bool has_ping(struct fx *f) { return f->r.pings > 0; }

static inline int srv_accept(struct fx *f)
{
    struct pollfd p = { .fd = f->lfd, .events = POLLIN };

    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    f->sfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(f->sfd >= 0);
    return f->sfd;
}

static inline void srv_write(struct fx *f, const char *p, size_t n)
{
    assert_int_equal(write(f->sfd, p, n), (ssize_t)n);
}

static inline void srv_read_exact(struct fx *f, char *buf, size_t n)
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

static inline void connect_tcp(struct fx *f)
{
    open_stream(f, NULL, NULL);
    assert_int_equal(stream_state(f->r.s), STREAM_CONNECTING);
    assert_true(run_until(f, is_connected, NULL));
    srv_accept(f);
}

static inline void assert_msg(const struct rec *r, int i, const char *want)
{
    assert_int_equal(r->len[i], strlen(want));
    assert_memory_equal(r->msg[i], want, strlen(want));
}

/* ---- TLS: a CA, a leaf for edge.test and one for wrong.test ---- */

static inline void add_ext(X509 *x, X509 *issuer, int nid, const char *val)
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
static inline X509 *make_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *dns,
                                   long serial)
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

static inline SSL_CTX *server_ctx(X509 *leaf, EVP_PKEY *key)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());

    assert_non_null(c);
    assert_int_equal(SSL_CTX_use_certificate(c, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(c, key), 1);
    return c;
}

static inline struct pki *pki_new(void)
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
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .ca_file = p->ca_path,
                                                                   .verify = true },
                                        &p->cli, NULL, err, sizeof(err)), 0);
    p->srv_ok = server_ctx(p->leaf_ok, p->leaf_key);
    p->srv_wrong = server_ctx(p->leaf_wrong, p->leaf_key);
    return p;
}

/* A leaf signed by the test CA: for a server (serverAuth, DNS:dns) or a
 * client (clientAuth), valid until not_after ("YYYYMMDDHHMMSSZ"; NULL: a
 * day from now). */
static inline X509 *make_leaf(struct pki *p, EVP_PKEY *key, const char *dns, bool client,
                       const char *not_after)
{
    X509 *x = X509_new();
    X509_NAME *n;
    char san[64];

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 100 + (long)client);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    if (not_after)
        assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x), not_after), 1);
    else
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)dns, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(p->ca));
    add_ext(x, p->ca, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, p->ca, NID_ext_key_usage, client ? "clientAuth" : "serverAuth");
    snprintf(san, sizeof(san), "DNS:%s", dns);
    add_ext(x, p->ca, NID_subject_alt_name, san);
    assert_true(X509_sign(x, p->ca_key, EVP_sha256()) > 0);
    return x;
}

/* Writes x and/or k (encrypted with pass when not NULL) as PEM to a new
 * file from mkstemp; its name in path (size sz >= 28).  Unlink it after. */
static inline void tmp_pem(char *path, size_t sz, X509 *x, EVP_PKEY *k, const char *pass)
{
    FILE *fp;
    int fd;

    snprintf(path, sz, "/tmp/sipkeep_test_pem_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    if (x)
        assert_int_equal(PEM_write_X509(fp, x), 1);
    if (k && !pass)
        assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    if (k && pass)
        assert_int_equal(PEM_write_PrivateKey(fp, k, EVP_aes_128_cbc(), NULL, 0, NULL,
                                              (void *)pass), 1);
    fclose(fp);
}

static inline void pki_free(struct pki *p)
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

#endif
