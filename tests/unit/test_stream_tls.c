/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the stream transport over TLS, against an OpenSSL server
 * whose CA and certificates are made at test time (stream_fixture.h): the
 * handshake and data both ways, the peer closing, freeing from a callback,
 * a wrong host name, an untrusted CA, a handshake that never ends; the
 * profile providers require (the verified name is not the connect address
 * and is the SNI the server sees, client certificates presented, required
 * and misconfigured, the minimum version, the peer certificate's expiry);
 * and the memory budget, the heap growth per idle TCP and TLS stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stream_fixture.h"

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
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .ca_file = "/nonexistent/ca.pem", .verify = true },
                                        &f->pki->cli, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .verify = true }, &f->pki->cli,
                                        NULL, err, sizeof(err)), 0);
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

/* ---- the TLS profile providers require (issue 12 item 4) ---- */

/* Files of the client certificate test: removed by files_free(). */
struct files {
    char cert[64], key[64], other_key[64], enc_key[64];
};

static void files_free(struct files *fl)
{
    unlink(fl->cert);
    unlink(fl->key);
    unlink(fl->other_key);
    unlink(fl->enc_key);
}

/* A server context that requires a client certificate from the test CA. */
static SSL_CTX *server_ctx_require_client(struct pki *p)
{
    SSL_CTX *c = server_ctx(p->leaf_ok, p->leaf_key);

    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(c), p->ca), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return c;
}

static SSL_CTX *client_ctx(struct pki *p, const char *cert, const char *key, int minv)
{
    struct stream_tls_opts o = { p->ca_path, true, cert, key, minv };
    enum stream_tls_bad bad = STREAM_TLS_BAD_VERSION;
    SSL_CTX *c = NULL;
    char err[256] = "";

    assert_int_equal(stream_tls_ctx_new(&o, &c, &bad, err, sizeof(err)), 0);
    assert_int_equal(bad, STREAM_TLS_BAD_NONE);
    return c;
}

static void use_client_ctx(struct fx *f, SSL_CTX *c)
{
    stream_tls_ctx_free(f->pki->cli);
    f->pki->cli = c;
}

/* The connect address (127.0.0.1) is not the verified name: the name given
 * to stream_open is checked and sent as SNI, which the server sees. */
static void test_tls_sni_is_the_name_not_the_address(void **state)
{
    struct fx *f = *state;
    const char *sni;

    start_tls(f, f->pki->srv_ok, "edge.test");
    assert_true(run_until(f, both_sides_done, pump_tls));
    sni = SSL_get_servername(f->srv, TLSEXT_NAMETYPE_host_name);
    assert_non_null(sni);
    assert_string_equal(sni, "edge.test");
    assert_int_equal(f->r.closes, 0);
}

/* An address literal as the name: checked against the certificate's IP
 * addresses (the leaf has none) and never sent as SNI (RFC 6066 §3). */
static void test_tls_ip_literal_name_no_sni(void **state)
{
    struct fx *f = *state;

    start_tls(f, f->pki->srv_ok, "127.0.0.1");
    assert_true(run_until(f, is_closed, pump_tls));
    assert_null(SSL_get_servername(f->srv, TLSEXT_NAMETYPE_host_name));
    assert_int_equal(f->r.close_err, -EPROTO);
    assert_non_null(strstr(f->r.reason, "(expected 127.0.0.1)"));
}

static void test_tls_client_cert_presented(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *ck = EVP_EC_gen("P-256");
    X509 *cc = make_leaf(f->pki, ck, "sipkeep.client.test", true, NULL);
    SSL_CTX *srv = server_ctx_require_client(f->pki);
    struct files fl = { "", "", "", "" };
    X509 *seen;
    char cn[64] = "";

    tmp_pem(fl.cert, sizeof(fl.cert), cc, NULL, NULL);
    tmp_pem(fl.key, sizeof(fl.key), NULL, ck, NULL);
    use_client_ctx(f, client_ctx(f->pki, fl.cert, fl.key, 0));
    files_free(&fl); /* read once, at context creation */
    start_tls(f, srv, "edge.test");
    assert_true(run_until(f, both_sides_done, pump_tls));
    seen = SSL_get0_peer_certificate(f->srv);
    assert_non_null(seen);
    X509_NAME_get_text_by_NID(X509_get_subject_name(seen), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "sipkeep.client.test");
    assert_int_equal(SSL_get_verify_result(f->srv), X509_V_OK);
    SSL_CTX_free(srv);
    X509_free(cc);
    EVP_PKEY_free(ck);
}

/* Without a client certificate the edge refuses, and the reason says what
 * to configure. */
static void test_tls_client_cert_refused_without(void **state)
{
    struct fx *f = *state;
    SSL_CTX *srv = server_ctx_require_client(f->pki);

    start_tls(f, srv, "edge.test");
    assert_true(run_until(f, is_closed, pump_tls));
    print_message("no client certificate: %s\n", f->r.reason);
    assert_int_equal(f->r.close_err, -EPROTO);
    assert_true(f->srv_hs < 0);
    assert_non_null(strstr(f->r.reason, "certificate required"));
    assert_non_null(strstr(f->r.reason, "tls.cert_file"));
    SSL_CTX_free(srv);
}

static void assert_ctx_error(struct pki *p, const char *cert, const char *key,
                             enum stream_tls_bad want, const char *want_text)
{
    struct stream_tls_opts o = { p->ca_path, true, cert, key, 0 };
    enum stream_tls_bad bad = STREAM_TLS_BAD_NONE;
    SSL_CTX *c = NULL;
    char err[256] = "";

    assert_int_equal(stream_tls_ctx_new(&o, &c, &bad, err, sizeof(err)), -EINVAL);
    print_message("%s\n", err);
    assert_null(c);
    assert_int_equal(bad, want);
    assert_non_null(strstr(err, want_text));
}

/* Missing, mismatched, half-given and encrypted files are errors at
 * context creation, naming the file and never printing the key. */
static void test_tls_client_cert_errors(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *ck = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    X509 *cc = make_leaf(f->pki, ck, "sipkeep.client.test", true, NULL);
    struct files fl = { "", "", "", "" };
    struct stream_tls_opts o = { f->pki->ca_path, true, NULL, NULL, 0x0301 };
    enum stream_tls_bad bad;
    SSL_CTX *c = NULL;
    char err[256] = "";

    tmp_pem(fl.cert, sizeof(fl.cert), cc, NULL, NULL);
    tmp_pem(fl.key, sizeof(fl.key), NULL, ck, NULL);
    tmp_pem(fl.other_key, sizeof(fl.other_key), NULL, other, NULL);
    tmp_pem(fl.enc_key, sizeof(fl.enc_key), NULL, ck, "secret");
    assert_ctx_error(f->pki, "/nonexistent/c.pem", fl.key, STREAM_TLS_BAD_CERT,
                     "cert_file /nonexistent/c.pem: cannot read: No such file or directory");
    assert_ctx_error(f->pki, fl.cert, "/nonexistent/k.pem", STREAM_TLS_BAD_KEY,
                     "key_file /nonexistent/k.pem: cannot read: No such file or directory");
    assert_ctx_error(f->pki, fl.cert, fl.other_key, STREAM_TLS_BAD_KEY,
                     "is not the private key of cert_file");
    assert_ctx_error(f->pki, fl.cert, NULL, STREAM_TLS_BAD_CERT,
                     "cert_file is given without key_file");
    assert_ctx_error(f->pki, NULL, fl.key, STREAM_TLS_BAD_KEY,
                     "key_file is given without cert_file");
    assert_ctx_error(f->pki, fl.key, fl.key, STREAM_TLS_BAD_CERT, "no usable certificate");
    assert_ctx_error(f->pki, fl.cert, fl.enc_key, STREAM_TLS_BAD_KEY,
                     "no usable private key (PEM, not encrypted)");
    assert_ctx_error(f->pki, fl.cert, fl.cert, STREAM_TLS_BAD_KEY, "no usable private key");
    assert_int_equal(stream_tls_ctx_new(&o, &c, &bad, err, sizeof(err)), -EINVAL); /* 1.0 */
    assert_int_equal(bad, STREAM_TLS_BAD_VERSION);
    assert_null(c);
    files_free(&fl);
    X509_free(cc);
    EVP_PKEY_free(ck);
    EVP_PKEY_free(other);
}

/* A server that stops at max: refused below the client's minimum. */
static SSL_CTX *server_ctx_max(struct pki *p, int max)
{
    SSL_CTX *c = server_ctx(p->leaf_ok, p->leaf_key);

    /* TLS 1.0/1.1 need security level 0 in OpenSSL 3 (and Debian's
     * MinProtocol lifted): the server must be able to offer them. */
    SSL_CTX_set_security_level(c, 0);
    assert_int_equal(SSL_CTX_set_min_proto_version(c, TLS1_VERSION), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(c, max), 1);
    return c;
}

static void run_version(struct fx *f, int srv_max, int cli_min, bool want_ok)
{
    SSL_CTX *srv = server_ctx_max(f->pki, srv_max);

    use_client_ctx(f, client_ctx(f->pki, NULL, NULL, cli_min));
    start_tls(f, srv, "edge.test");
    if (want_ok) {
        assert_true(run_until(f, both_sides_done, pump_tls));
        assert_int_equal(SSL_version(f->srv), srv_max);
    } else {
        assert_true(run_until(f, is_closed, pump_tls));
        print_message("server max 0x%x, client min 0x%x: %s\n", srv_max, cli_min, f->r.reason);
        assert_int_equal(f->r.close_err, -EPROTO);
        assert_int_equal(f->r.connected, 0);
        assert_true(f->srv_hs < 0);
    }
    SSL_CTX_free(srv);
}

static void test_tls_min_version_default_refuses_1_1(void **state)
{
    run_version(*state, TLS1_1_VERSION, 0, false);
}

static void test_tls_min_version_default_takes_1_2(void **state)
{
    run_version(*state, TLS1_2_VERSION, 0, true);
}

static void test_tls_min_version_1_3_refuses_1_2(void **state)
{
    run_version(*state, TLS1_2_VERSION, TLS1_3_VERSION, false);
}

static void test_tls_min_version_1_3_takes_1_3(void **state)
{
    run_version(*state, TLS1_3_VERSION, TLS1_3_VERSION, true);
}

/* The peer certificate's notAfter, to the second; nothing before the
 * handshake or on plain TCP. */
static void test_tls_peer_cert_expiry(void **state)
{
    struct fx *f = *state;
    X509 *leaf = make_leaf(f->pki, f->pki->leaf_key, "edge.test", false, "20310203040506Z");
    SSL_CTX *srv = server_ctx(leaf, f->pki->leaf_key);
    struct stream *plain = NULL;
    int64_t t = -1;

    start_tls(f, srv, "edge.test");
    assert_int_equal(stream_peer_cert_expiry(f->r.s, &t), -ENOTCONN);
    assert_true(run_until(f, both_sides_done, pump_tls));
    assert_int_equal(stream_peer_cert_expiry(f->r.s, &t), 0);
    assert_int_equal(t, 1927857906); /* 2031-02-03T04:05:06Z */
    assert_int_equal(stream_open(&plain, f->l, (struct sockaddr *)&f->addr, sizeof(f->addr),
                                 NULL, NULL, &rec_cbs, NULL), 0);
    assert_int_equal(stream_peer_cert_expiry(plain, &t), -EINVAL);
    stream_free(plain);
    SSL_CTX_free(srv);
    X509_free(leaf);
}

/* ---- session resumption: one cached session per edge and name ---- */

static bool hello_sent(struct fx *f) { return stream_state(f->r.s) == STREAM_HANDSHAKING; }

/* Runs the client until its ClientHello is out (the server not pumped
 * yet) and says whether it offered a cached session: one with a ticket. */
static bool offered_session(struct fx *f)
{
    assert_true(run_until(f, hello_sent, NULL));
    return SSL_SESSION_has_ticket(SSL_get0_session(f->r.s->ssl)) == 1;
}

/* One connection to srv_ctx verifying host: handshake, a pong from the
 * server (so the client has read the TLS 1.3 tickets sent before it), then
 * both sides closed.  *offered: the stream offered a cached session.
 * Returns whether the handshake resumed, as both sides saw it. */
/* Both sides of the round's connection closed, ready for the next. */
static void end_round(struct fx *f)
{
    drop(&f->r);
    memset(&f->r, 0, sizeof(f->r));
    SSL_free(f->srv);
    f->srv = NULL;
    close(f->sfd);
    f->sfd = -1;
}

static int g_srv_tickets = -1; /* >= 0: the server sends that many tickets */

static bool resume_round(struct fx *f, SSL_CTX *srv_ctx, const char *host, bool *offered)
{
    bool reused;

    f->srv_hs = 0;
    start_tls(f, srv_ctx, host);
    if (g_srv_tickets >= 0)
        assert_int_equal(SSL_set_num_tickets(f->srv, (size_t)g_srv_tickets), 1);
    *offered = offered_session(f);
    assert_true(run_until(f, both_sides_done, pump_tls));
    assert_int_equal(SSL_write(f->srv, "\r\n", 2), 2);
    assert_true(run_until(f, has_pong, pump_tls));
    reused = stream_tls_resumed(f->r.s);
    assert_int_equal(SSL_session_reused(f->srv) == 1, reused);
    end_round(f);
    return reused;
}

/* A second connection to the same edge resumes; one for another name is
 * not even offered the session (even though the name's server would take
 * it: same ticket keys); a server that cannot resume (other ticket keys)
 * still gets a full handshake; the counters follow. */
static void run_resumption(struct fx *f, int srv_max)
{
    static const unsigned char keys[80] = "sipkeep test ticket keys, shared by both test servers";
    SSL_CTX *ok = server_ctx_max(f->pki, srv_max), *wrong = server_ctx_max(f->pki, srv_max);
    SSL_CTX *other_keys = server_ctx_max(f->pki, srv_max);
    bool offered;

    assert_int_equal(SSL_CTX_use_certificate(wrong, f->pki->leaf_wrong), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(wrong, f->pki->leaf_key), 1);
    assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(ok, (void *)keys, sizeof(keys)), 1);
    assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(wrong, (void *)keys, sizeof(keys)), 1);
    assert_false(resume_round(f, ok, "edge.test", &offered));
    assert_false(offered);
    assert_true(resume_round(f, ok, "edge.test", &offered));
    assert_true(offered);
    assert_true(resume_round(f, ok, "edge.test", &offered)); /* the newest ticket works */
    assert_false(resume_round(f, wrong, "wrong.test", &offered));
    assert_false(offered);
    assert_false(resume_round(f, other_keys, "edge.test", &offered));
    assert_true(offered);
    assert_true(resume_round(f, other_keys, "edge.test", &offered)); /* its own ticket now */
    SSL_CTX_free(ok);
    SSL_CTX_free(wrong);
    SSL_CTX_free(other_keys);
}

static void test_tls_resumption_1_3(void **state)
{
    run_resumption(*state, TLS1_3_VERSION);
}

static void test_tls_resumption_1_2(void **state)
{
    run_resumption(*state, TLS1_2_VERSION);
}

/* A handshake that resumed spends its session (OpenSSL, RFC 8446 §C.4);
 * until its own tickets come, the edge's previous session is offered
 * (here they never come: the server sends none that time). */
static void test_tls_resumption_spent_uses_previous(void **state)
{
    struct fx *f = *state;
    bool offered;

    assert_false(resume_round(f, f->pki->srv_ok, "edge.test", &offered)); /* 2 tickets */
    g_srv_tickets = 0;
    assert_true(resume_round(f, f->pki->srv_ok, "edge.test", &offered)); /* spends one */
    g_srv_tickets = -1;
    assert_true(resume_round(f, f->pki->srv_ok, "edge.test", &offered));
    assert_true(offered);
}

/* A resumed handshake failing (the edge now presents a certificate for
 * another name) is a verification failure like any other, and forgets the
 * session: the next connection does not offer it. */
static void test_tls_resumption_failed_forgets(void **state)
{
    struct fx *f = *state;
    bool offered;

    assert_false(resume_round(f, f->pki->srv_ok, "edge.test", &offered));
    f->srv_hs = 0;
    start_tls(f, f->pki->srv_wrong, "edge.test");
    assert_true(offered_session(f));
    assert_true(run_until(f, is_closed, pump_tls));
    assert_int_equal(f->r.close_err, -EPROTO);
    print_message("resumption offered to a server with another certificate: %s\n",
                  f->r.reason);
    end_round(f);
    assert_false(resume_round(f, f->pki->srv_ok, "edge.test", &offered));
    assert_false(offered);
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
    int resumed = 0;
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
        resumed += stream_tls_resumed(s[i]);
    print_message("resumed %d of %d\n", resumed, MEM_TLS_N);
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
    assert_true(per < 20480); /* 15 KiB resumed, 19 KiB after full handshakes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_handshake_and_data, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_peer_close, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_free_in_on_message, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_wrong_hostname, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_untrusted_ca, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake_timeout, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_sni_is_the_name_not_the_address, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_ip_literal_name_no_sni, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_cert_presented, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_cert_refused_without, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_cert_errors, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_min_version_default_refuses_1_1, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_min_version_default_takes_1_2, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_min_version_1_3_refuses_1_2, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_min_version_1_3_takes_1_3, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_peer_cert_expiry, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_resumption_1_3, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_resumption_1_2, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_resumption_failed_forgets, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_resumption_spent_uses_previous, setup_tls,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mem_idle_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_idle_tls, setup_tls, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_stream_tls");
    return cmocka_run_group_tests_name("stream_tls", tests, NULL, NULL);
}
