/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream_tls.c - the TLS half of a stream: client contexts, SNI and
 * hostname verification, the handshake driven by the loop, and SSL reads
 * and writes mapped to errno-style results.  See stream.h. */
#include "transport/stream_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* Every stream sets these itself, whoever made its SSL_CTX:
 * RELEASE_BUFFERS frees the record buffers of idle connections (the
 * memory budget, see stream.h); PARTIAL_WRITE + ACCEPT_MOVING_WRITE_BUFFER
 * let the write queue retry from wherever its bytes now are. */
#define STREAM_SSL_MODES (SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | \
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (!err || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static const char *ossl_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_last_error());

    return r ? r : "unknown error";
}

static int ctx_load_cas(SSL_CTX *ctx, const char *ca_file, char *err, size_t errsz)
{
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);

    if (ok == 1)
        return 0;
    set_err(err, errsz, "ca_file %s: cannot load CA certificates: %s",
            ca_file ? ca_file : "(the system store)", ossl_reason());
    return -EINVAL;
}

/* fopen with the errno in the message: OpenSSL's own file errors say
 * "system lib" rather than "No such file or directory". */
static FILE *open_pem(const char *what, const char *path, char *err, size_t errsz)
{
    FILE *fp = fopen(path, "re");

    if (!fp)
        set_err(err, errsz, "%s %s: cannot read: %s", what, path, strerror(errno));
    return fp;
}

/* An encrypted key is refused rather than prompted for on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static int ctx_load_key(SSL_CTX *ctx, const struct stream_tls_opts *o, char *err, size_t errsz)
{
    FILE *fp = open_pem("key_file", o->key_file, err, errsz);
    EVP_PKEY *key;
    int ok;

    if (!fp)
        return -EINVAL;
    key = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL);
    fclose(fp);
    if (!key) {
        set_err(err, errsz, "key_file %s: no usable private key (PEM, not encrypted): %s",
                o->key_file, ossl_reason());
        return -EINVAL;
    }
    ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key); /* the context keeps its own reference */
    if (!ok) {
        set_err(err, errsz, "key_file %s is not the private key of cert_file %s",
                o->key_file, o->cert_file);
        return -EINVAL;
    }
    return 0;
}

/* The client certificate a server may ask for (RFC 5246 §7.4.6). */
static int ctx_load_client_cert(SSL_CTX *ctx, const struct stream_tls_opts *o,
                                enum stream_tls_bad *bad, char *err, size_t errsz)
{
    FILE *fp;

    if (!o->cert_file && !o->key_file)
        return 0;
    *bad = o->cert_file ? STREAM_TLS_BAD_CERT : STREAM_TLS_BAD_KEY; /* the one given */
    if (!o->cert_file || !o->key_file) {
        set_err(err, errsz, "%s is given without %s: a client certificate needs both",
                o->cert_file ? "cert_file" : "key_file", o->cert_file ? "key_file" : "cert_file");
        return -EINVAL;
    }
    *bad = STREAM_TLS_BAD_CERT;
    fp = open_pem("cert_file", o->cert_file, err, errsz);
    if (!fp)
        return -EINVAL;
    fclose(fp);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
        set_err(err, errsz, "cert_file %s: no usable certificate (PEM): %s", o->cert_file,
                ossl_reason());
        return -EINVAL;
    }
    *bad = STREAM_TLS_BAD_KEY;
    return ctx_load_key(ctx, o, err, errsz);
}

/* ---- session resumption: the edge's newest sessions, per edge ----
 *
 * Keyed by (client context, verified name, edge address): the context
 * carries the CAs and client certificate the session was made with, the
 * name is what the session was verified for (a session is never offered
 * for another name, RFC 8446 §4.6.1 / RFC 5077 §3.4), and the address
 * because each edge of an SRV set is its own server whose tickets the
 * others may not take; one entry per edge instead of one per proxy stops
 * failover between edges from evicting each other's session.  The entry
 * holds the newest session the edge gave (TLS 1.3 tickets arrive after
 * the handshake and on every connection, TLS 1.2 tickets or ids at its
 * end) and the one before it: OpenSSL spends a TLS 1.3 session once a
 * handshake resumed it (RFC 8446 §C.4), and that handshake's own tickets
 * come a round trip later, so without the second one every flow starting
 * in between would get a full handshake (OpenSSL servers send two
 * tickets per connection).  Flows share them by reference, so a flow
 * keeps no session of its own beyond OpenSSL's current one. */
#define SESS_CACHE_MAX 32u /* edges per context; beyond, the least recent goes */

union sess_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct sess_entry {
    SSL_SESSION *sess;      /* the newest; NULL: free slot */
    SSL_SESSION *prev;      /* the one before it, or NULL */
    uint64_t used;          /* last stored or offered, for eviction */
    union sess_addr edge;
    char name[256];         /* the verified name (DNS name or IP literal) */
};

struct sess_cache {
    uint64_t clock;
    struct sess_entry e[SESS_CACHE_MAX];
};

static int g_cache_idx = -1;

static void sess_cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
    struct sess_cache *c = ptr;

    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    if (!c)
        return;
    for (size_t i = 0; i < SESS_CACHE_MAX; i++) {
        SSL_SESSION_free(c->e[i].sess);
        SSL_SESSION_free(c->e[i].prev);
    }
    free(c);
}

static struct sess_cache *sess_cache_of(SSL_CTX *ctx)
{
    return g_cache_idx < 0 ? NULL : SSL_CTX_get_ex_data(ctx, g_cache_idx);
}

static bool same_edge(const struct sess_entry *e, const union sess_addr *a)
{
    if (e->edge.sa.sa_family != a->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET)
        return e->edge.in.sin_port == a->in.sin_port &&
               e->edge.in.sin_addr.s_addr == a->in.sin_addr.s_addr;
    return e->edge.in6.sin6_port == a->in6.sin6_port &&
           e->edge.in6.sin6_scope_id == a->in6.sin6_scope_id &&
           memcmp(&e->edge.in6.sin6_addr, &a->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

static void stream_edge(const struct stream *s, union sess_addr *a)
{
    _Static_assert(sizeof(*a) == sizeof(s->peer), "the same union");
    memcpy(a, &s->peer, sizeof(*a));
}

/* The edge's address in OpenSSL's callback: the connected socket's peer,
 * the stream's, read from the socket so that the SSL needs no pointer
 * back to the stream (ex_data would cost each flow a heap block). */
static bool edge_addr(SSL *ssl, union sess_addr *a)
{
    socklen_t len = sizeof(*a);

    memset(a, 0, sizeof(*a));
    return getpeername(SSL_get_fd(ssl), &a->sa, &len) == 0 &&
           (a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6);
}

/* The entry for this stream's edge and name, or NULL. */
static struct sess_entry *sess_find(struct sess_cache *c, const union sess_addr *a,
                                    const char *name)
{
    for (size_t i = 0; i < SESS_CACHE_MAX; i++) {
        struct sess_entry *e = &c->e[i];

        if (e->sess && same_edge(e, a) && strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

/* The name the stream verifies: set_peer_name() put it in the SSL's
 * verification parameters (a DNS name, or an IP literal); copied to buf. */
static bool verified_name(SSL *ssl, char *buf, size_t sz)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    const char *host = X509_VERIFY_PARAM_get0_host(vp, 0);
    char *ip = host ? NULL : X509_VERIFY_PARAM_get1_ip_asc(vp);
    int n = snprintf(buf, sz, "%s", host ? host : ip ? ip : "");

    OPENSSL_free(ip);
    return n > 0 && (size_t)n < sz;
}

static void sess_clear(struct sess_entry *e)
{
    SSL_SESSION_free(e->sess);
    SSL_SESSION_free(e->prev);
    e->sess = e->prev = NULL;
}

/* A free slot, else the least recently used one. */
static struct sess_entry *sess_slot(struct sess_cache *c)
{
    struct sess_entry *lru = &c->e[0];

    for (size_t i = 0; i < SESS_CACHE_MAX; i++) {
        if (!c->e[i].sess)
            return &c->e[i];
        if (c->e[i].used < lru->used)
            lru = &c->e[i];
    }
    return lru;
}

/* OpenSSL's new-session callback (SSL_SESS_CACHE_CLIENT): the edge gave a
 * session; it replaces the edge's entry.  Returns 1 when the cache took
 * the reference OpenSSL hands over, 0 when it did not (OpenSSL keeps it). */
static int sess_new_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct sess_cache *c = sess_cache_of(SSL_get_SSL_CTX(ssl));
    struct sess_entry *e, *old;
    char name[sizeof(old->name)];
    union sess_addr a;

    if (!c || !SSL_SESSION_is_resumable(sess) || !verified_name(ssl, name, sizeof(name)) ||
        !edge_addr(ssl, &a))
        return 0;
    /* Only sessions of a verified peer (verify none: nothing to check). */
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    e = sess_find(c, &a, name);
    if (!e) {
        e = sess_slot(c);
        sess_clear(e);
    }
    SSL_SESSION_free(e->prev);
    e->prev = e->sess;
    e->sess = sess;
    e->used = ++c->clock;
    e->edge = a;
    memcpy(e->name, name, sizeof(e->name));
    return 1;
}

/* Drops the edge's entry: it failed a handshake, the next one is full. */
static void sess_forget(struct stream *s)
{
    struct sess_cache *c = sess_cache_of(SSL_get_SSL_CTX(s->ssl));
    char name[sizeof(((struct sess_entry *)0)->name)];
    struct sess_entry *e;
    union sess_addr a;

    if (!c || !verified_name(s->ssl, name, sizeof(name)))
        return;
    stream_edge(s, &a);
    e = sess_find(c, &a, name);
    if (e)
        sess_clear(e);
}

/* Offers the edge's cached session, if any, to the handshake about to
 * start (not at stream_open: a ticket that came in while connecting is
 * newer).  Failing to offer is harmless: a full handshake follows. */
static void sess_offer(struct stream *s)
{
    struct sess_cache *c = sess_cache_of(SSL_get_SSL_CTX(s->ssl));
    char name[sizeof(((struct sess_entry *)0)->name)];
    struct sess_entry *e;
    SSL_SESSION *sess;
    union sess_addr a;

    if (!c || !verified_name(s->ssl, name, sizeof(name)))
        return;
    stream_edge(s, &a);
    e = sess_find(c, &a, name);
    if (!e)
        return;
    /* A session a finished handshake resumed is spent (see above). */
    sess = SSL_SESSION_is_resumable(e->sess) ? e->sess
           : e->prev && SSL_SESSION_is_resumable(e->prev) ? e->prev : NULL;
    if (sess && SSL_set_session(s->ssl, sess) == 1)
        e->used = ++c->clock;
    ERR_clear_error();
}

static int sess_cache_attach(SSL_CTX *ctx)
{
    struct sess_cache *c;

    if (g_cache_idx < 0)
        g_cache_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sess_cache_free);
    if (g_cache_idx < 0)
        return -ENOMEM;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (SSL_CTX_set_ex_data(ctx, g_cache_idx, c) != 1) {
        free(c);
        return -ENOMEM;
    }
    /* Client side only; OpenSSL's own store would keep every session. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, sess_new_cb);
    return 0;
}

bool stream_tls_resumed(const struct stream *s)
{
    return s->ssl && SSL_session_reused(s->ssl) == 1;
}

static int ctx_setup(SSL_CTX *ctx, const struct stream_tls_opts *o, enum stream_tls_bad *bad,
                     char *err, size_t errsz)
{
    int minv = o->min_version ? o->min_version : TLS1_2_VERSION;
    int rc;

    *bad = STREAM_TLS_BAD_VERSION;
    if (minv != TLS1_2_VERSION && minv != TLS1_3_VERSION) {
        set_err(err, errsz, "min_version: must be TLS 1.2 or 1.3");
        return -EINVAL;
    }
    SSL_CTX_set_min_proto_version(ctx, minv);
    SSL_CTX_set_mode(ctx, STREAM_SSL_MODES);
    rc = sess_cache_attach(ctx);
    if (rc < 0) {
        set_err(err, errsz, "session cache: %s", strerror(-rc));
        return rc;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    *bad = STREAM_TLS_BAD_CA;
    rc = o->verify ? ctx_load_cas(ctx, o->ca_file, err, errsz) : 0;
    if (rc == 0)
        rc = ctx_load_client_cert(ctx, o, bad, err, errsz);
    if (rc == 0)
        *bad = STREAM_TLS_BAD_NONE;
    return rc;
}

int stream_tls_ctx_new(const struct stream_tls_opts *o, SSL_CTX **out,
                       enum stream_tls_bad *bad, char *err, size_t errsz)
{
    enum stream_tls_bad dummy;
    SSL_CTX *ctx;
    int rc;

    if (!bad)
        bad = &dummy;
    *bad = STREAM_TLS_BAD_NONE;
    if (!o || !out)
        return -EINVAL;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        set_err(err, errsz, "%s: %s", "SSL_CTX_new", ossl_reason());
        return -ENOMEM;
    }
    rc = ctx_setup(ctx, o, bad, err, errsz);
    ERR_clear_error();
    if (rc < 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void stream_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

/* DNS names go in SNI and are matched against the certificate without
 * partial wildcards (RFC 6125 §6.4.3); IP literals must not be sent as SNI
 * (RFC 6066 §3) and are matched against iPAddress entries. */
static int set_peer_name(SSL *ssl, const char *host)
{
    unsigned char ip[sizeof(struct in6_addr)];
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

    if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1 ? 0 : -EINVAL;
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
        return -EINVAL;
    return 0;
}

int stream_tls_setup(struct stream *s, SSL_CTX *ctx, const char *host)
{
    SSL *ssl;
    int err;

    ERR_clear_error();
    ssl = SSL_new(ctx);
    if (!ssl)
        return -ENOMEM;
    SSL_set_mode(ssl, STREAM_SSL_MODES);
    /* Never below 1.2, whoever made the context; never below its own floor. */
    if (SSL_CTX_get_min_proto_version(ctx) < TLS1_2_VERSION)
        SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_set_connect_state(ssl);
    err = SSL_set_fd(ssl, s->lfd.fd) == 1 ? set_peer_name(ssl, host) : -ENOMEM;
    if (err < 0) {
        SSL_free(ssl);
        ERR_clear_error();
        return err;
    }
    s->ssl = ssl;
    return 0;
}

/* "certificate verify failed: Hostname mismatch (expected edge.test)" */
static int verify_reason(struct stream *s, long v, char *why)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
    const char *host = X509_VERIFY_PARAM_get0_host(vp, 0);
    char *ip = host ? NULL : X509_VERIFY_PARAM_get1_ip_asc(vp);

    snprintf(why, STREAM_WHY_MAX, "certificate verify failed: %s (expected %s)",
             X509_verify_cert_error_string(v), host ? host : ip ? ip : "?");
    OPENSSL_free(ip);
    return -EPROTO;
}

static bool is_unexpected_eof(unsigned long e)
{
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* The peer refused us for want of a certificate we do not have (a TLS 1.3
 * server's certificate_required alert). */
static bool no_client_cert(struct stream *s, unsigned long e)
{
    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           ERR_GET_REASON(e) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED &&
           !SSL_get_certificate(s->ssl);
}

/* Maps a failed SSL call (ssl_err from SSL_get_error, en the errno right
 * after it) to -errno and a reason.  Returns 0 for an end of stream. */
static int tls_error(struct stream *s, int ssl_err, int en, const char *what, char *why)
{
    unsigned long e = ERR_peek_last_error();
    long v = SSL_get_verify_result(s->ssl);
    int err = -EPROTO;

    if (ssl_err == SSL_ERROR_ZERO_RETURN || (ssl_err == SSL_ERROR_SYSCALL && !e && !en) ||
        is_unexpected_eof(e)) {
        snprintf(why, STREAM_WHY_MAX, "%s: peer closed the connection", what);
        err = 0;
    } else if (ssl_err == SSL_ERROR_SSL && v != X509_V_OK) {
        err = verify_reason(s, v, why);
    } else if (ssl_err == SSL_ERROR_SYSCALL && !e) {
        snprintf(why, STREAM_WHY_MAX, "%s: %s", what, strerror(en));
        err = -en;
    } else {
        snprintf(why, STREAM_WHY_MAX, "%s failed: %s%s", what,
                 e ? ERR_reason_error_string(e) : "unknown error",
                 no_client_cert(s, e) ? " (the edge wants a client certificate and none is "
                                        "configured: tls.cert_file, tls.key_file)" : "");
    }
    ERR_clear_error();
    return err;
}

void stream_tls_handshake(struct stream *s)
{
    char why[STREAM_WHY_MAX];
    int r, en, e, err;

    if (SSL_in_before(s->ssl))
        sess_offer(s); /* the newest session, taken as late as possible */
    ERR_clear_error();
    errno = 0; /* tls_error() reads it: no stale value */
    r = SSL_do_handshake(s->ssl);
    en = errno;
    if (r == 1) {
        stream_opened(s);
        return;
    }
    e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        stream_want(s, e == SSL_ERROR_WANT_READ ? LOOP_READ : LOOP_WRITE);
        return;
    }
    err = tls_error(s, e, en, "TLS handshake", why);
    sess_forget(s);
    /* A peer that hangs up mid-handshake did not close "in order". */
    stream_fail(s, err ? err : -ECONNRESET, why);
}

ssize_t stream_tls_read(struct stream *s, void *buf, size_t n, char *why)
{
    size_t got = 0;
    int r, en, e;

    ERR_clear_error();
    errno = 0; /* tls_error() reads it: no stale value */
    r = SSL_read_ex(s->ssl, buf, n, &got);
    en = errno;
    if (r == 1)
        return (ssize_t)got;
    e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return -EAGAIN;
    if (e == SSL_ERROR_WANT_WRITE) {
        s->rd_wants_wr = true; /* on_io reads again once writable */
        return -EAGAIN;
    }
    /* A close without close_notify counts as a close: SIP framing already
     * drops a truncated message, so truncation cannot forge one. */
    return tls_error(s, e, en, "TLS read", why);
}

ssize_t stream_tls_write(struct stream *s, const void *buf, size_t n, char *why)
{
    size_t put = 0;
    int r, en, e, err;

    ERR_clear_error();
    errno = 0; /* tls_error() reads it: no stale value */
    r = SSL_write_ex(s->ssl, buf, n, &put);
    en = errno;
    if (r == 1)
        return (ssize_t)put;
    e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return -EAGAIN;
    err = tls_error(s, e, en, "TLS write", why);
    return err ? err : -EPIPE;
}

/* RELEASE_BUFFERS frees a record buffer only after it was used for
 * application data; a post-handshake message (the TLS 1.3 session tickets
 * every OpenSSL server sends after the handshake) makes OpenSSL set up
 * both buffers and the write one (~16.5 KiB) then stays until the next
 * SSL_write, i.e. until the next keep-alive.  Measured here: 36 KiB per
 * idle flow instead of 19.5.  SSL_free_buffers() refuses (returns 0) while
 * a buffer holds data; OpenSSL >= 3.0.14 (CVE-2024-4741 fixed). */
void stream_tls_release(struct stream *s)
{
    if (s->wlen > 0 || SSL_has_pending(s->ssl))
        return;
    if (SSL_free_buffers(s->ssl) != 1)
        return; /* a buffer holds a partial record: a later call frees it */
}

void stream_tls_shutdown(struct stream *s)
{
    ERR_clear_error();
    SSL_shutdown(s->ssl);
    ERR_clear_error();
}

int stream_peer_cert_expiry(const struct stream *s, int64_t *out)
{
    ASN1_TIME *epoch;
    X509 *peer;
    int days = 0, secs = 0, ok;

    if (!s || !out)
        return -EINVAL;
    if (!s->is_tls)
        return -EINVAL;
    if (s->state != STREAM_OPEN || !s->ssl)
        return -ENOTCONN;
    peer = SSL_get0_peer_certificate(s->ssl);
    if (!peer)
        return -ENOENT;
    /* ASN1_TIME_diff from the epoch: no timegm(), which is not C11.  The
     * epoch from a string, not ASN1_TIME_set(NULL, 0): no time_t crosses
     * into libcrypto, whose time_t may be 32 bits where sipkeep's is 64
     * (Debian 12 armhf; see LFS64 in the Makefile). */
    epoch = ASN1_TIME_new();
    if (!epoch)
        return -ENOMEM;
    if (ASN1_TIME_set_string(epoch, "19700101000000Z") != 1) {
        ASN1_TIME_free(epoch);
        ERR_clear_error();
        return -ENOMEM;
    }
    ok = ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(peer));
    ASN1_TIME_free(epoch);
    ERR_clear_error();
    if (ok != 1)
        return -EINVAL;
    *out = (int64_t)days * 86400 + secs;
    return 0;
}
