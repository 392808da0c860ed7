/* stream_tls.c - the TLS half of a stream: client contexts, SNI and
 * hostname verification, the handshake driven by the loop, and SSL reads
 * and writes mapped to errno-style results.  See stream.h. */
#include "transport/stream_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
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
    set_err(err, errsz, "cannot load CA certificates from %s: %s",
            ca_file ? ca_file : "the system store", ossl_reason());
    return -EINVAL;
}

int stream_tls_ctx_new(const char *ca_file, bool verify, SSL_CTX **out,
                       char *err, size_t errsz)
{
    SSL_CTX *ctx;
    int rc;

    if (!out)
        return -EINVAL;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        set_err(err, errsz, "%s: %s", "SSL_CTX_new", ossl_reason());
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, STREAM_SSL_MODES);
    /* One long-lived connection per flow: resumption buys little, and a
     * cache would cost memory per flow. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    rc = verify ? ctx_load_cas(ctx, ca_file, err, errsz) : 0;
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
        snprintf(why, STREAM_WHY_MAX, "%s failed: %s", what,
                 e ? ERR_reason_error_string(e) : "unknown error");
    }
    ERR_clear_error();
    return err;
}

void stream_tls_handshake(struct stream *s)
{
    char why[STREAM_WHY_MAX];
    int r, en, e, err;

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
