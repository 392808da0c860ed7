/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv6 below the router (issue 12 item 5), against real sockets on [::1]
 * with a fake loop clock:
 * - a UDP flow to sip:[::1]:PORT;transport=udp: REGISTER, then STUN
 *   keep-alives answered with an IPv6 XOR-MAPPED-ADDRESS (the flow works),
 *   a changed IPv6 mapping fails it ("NAT rebound") and a new socket
 *   registers; without an indication the OPTIONS keep-alive names the
 *   flow's IPv6 address in brackets (Via, From) and the proxy (To, R-URI);
 * - a TCP flow to [::1]: connected from an IPv6 local address, CRLF ping
 *   and pong make it working;
 * - a TLS flow to sips:[::1]: the edge's certificate is checked against
 *   the address (an "IP:::1" subjectAltName verifies, "IP:::2" fails the
 *   flow) and no SNI is sent (RFC 6066 §3: no literals);
 * - a proxy-mode listener on [::] (IPV6_V6ONLY): a datagram sent to [::1]
 *   is given with that local address (IPV6_PKTINFO) and its IPv6 source,
 *   and listen_send answers it there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "intercept/listen.h"
#include "outbound/flow.h"
#include "sip/stun.h"
#include "transport/stream.h"

#include "fake_clock.h"

#define PUMP_ITER 2000

struct fx {
    uint64_t now;
    uint32_t r;
    struct loop *l;
    int srv;                      /* the edge: UDP socket or TCP listener */
    int conn;                     /* the accepted TCP connection, -1 none */
    struct sockaddr_storage peer; /* where the flow's last datagram came from */
    struct cfg_proxy proxy;
    char uri[96];
    struct flow_params p;
    struct flow *f;
    int ready, downs, msgs;
    char reason[256];
};

static const char reg_text[] = "REGISTER sip:example.net SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP [::1]:5060;rport;branch=z9hG4bKreg1\r\n"
                               "From: <sip:a@example.net>;tag=1\r\n"
                               "To: <sip:a@example.net>\r\n"
                               "Call-ID: r@x\r\n"
                               "CSeq: 1 REGISTER\r\n"
                               "Content-Length: 0\r\n\r\n";

static void own_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    struct fx *t = arg;

    assert_ptr_equal(f, t->f);
    assert_int_equal(local->ss_family, AF_INET6);
    t->ready++;
    assert_int_equal(flow_send_own(f, reg_text, sizeof(reg_text) - 1), 0);
}

static void own_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    (void)f;
    (void)msg;
    (void)len;
    ((struct fx *)arg)->msgs++;
}

static void own_down(struct flow *f, const char *reason, void *arg)
{
    struct fx *t = arg;

    (void)f;
    t->downs++;
    snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static const struct flow_cbs owner_cbs = { own_ready, own_message, own_down, NULL };

static void set_in6(struct sockaddr_storage *ss, const struct in6_addr *a, unsigned port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sin6->sin6_addr = *a;
}

/* The edge on [::1] (UDP or a TCP listener) and a flow's parameters for it. */
static void setup_for(struct fx *t, enum cfg_transport tp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(struct sockaddr_in6);
    unsigned port;

    t->l = fake_loop_new(&t->now, 2000000);
    t->conn = -1;
    t->srv = socket(AF_INET6, (tp == CFG_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM) |
                    SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(t->srv >= 0);
    set_in6(&ss, &in6addr_loopback, 0);
    assert_int_equal(bind(t->srv, (struct sockaddr *)&ss, len), 0);
    if (tp != CFG_TRANSPORT_UDP)
        assert_int_equal(listen(t->srv, 4), 0);
    assert_int_equal(getsockname(t->srv, (struct sockaddr *)&ss, &len), 0);
    port = addr_port((struct sockaddr *)&ss);
    snprintf(t->uri, sizeof(t->uri), "sip:[::1]:%u;transport=%s", port, cfg_transport_name(tp));
    t->proxy = (struct cfg_proxy){ .uri = t->uri, .host = "::1", .host_family = AF_INET6,
                                   .port = (uint16_t)port, .port_explicit = true,
                                   .transport = tp };
    t->p = (struct flow_params){
        .loop = t->l, .proxy = &t->proxy, .reg_id = 1,
        .keepalive = { CFG_KEEPALIVE_AUTO, 10, CFG_UDP_KA_AUTO },
        .recovery = { 30, 90, 1800 }, .rng = { fake_rng, &t->r }, .cbs = &owner_cbs, .arg = t,
    };
}

static int setup_udp(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    setup_for(t, CFG_TRANSPORT_UDP);
    *state = t;
    return 0;
}

static int setup_tcp(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    setup_for(t, CFG_TRANSPORT_TCP);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct fx *t = *state;

    flow_free(t->f);
    if (t->conn >= 0)
        close(t->conn);
    if (t->srv >= 0)
        close(t->srv);
    loop_free(t->l);
    free(t);
    return 0;
}

static void pump(struct fx *t, int turns)
{
    for (int i = 0; i < turns; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
}

static bool pump_until(struct fx *t, const int *counter, int want)
{
    return fake_loop_pump_until(t->l, counter, want, PUMP_ITER);
}

static void pump_working(struct fx *t)
{
    for (int i = 0; i < PUMP_ITER && !flow_working(t->f); i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_true(flow_working(t->f));
}

/* ---- UDP ---- */

/* The next datagram from the flow, running the loop meanwhile (bounded). */
static ssize_t udp_wait(struct fx *t, char *buf, size_t cap)
{
    for (int i = 0; i < PUMP_ITER; i++) {
        socklen_t len = sizeof(t->peer);
        ssize_t n = recvfrom(t->srv, buf, cap, 0, (struct sockaddr *)&t->peer, &len);

        if (n > 0) {
            assert_int_equal(t->peer.ss_family, AF_INET6);
            return n;
        }
        assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    fail_msg("nothing from the flow");
    return -1;
}

static void udp_send(struct fx *t, const void *buf, size_t n)
{
    assert_int_equal(sendto(t->srv, buf, n, 0, (struct sockaddr *)&t->peer,
                            sizeof(struct sockaddr_in6)), (ssize_t)n);
}

/* Answers the REGISTER (reg_text) 200. */
static void answer_register(struct fx *t)
{
    static const char ok[] = "SIP/2.0 200 OK\r\n"
                             "Via: SIP/2.0/UDP [::1]:5060;rport;branch=z9hG4bKreg1\r\n"
                             "From: <sip:a@example.net>;tag=1\r\n"
                             "To: <sip:a@example.net>;tag=2\r\n"
                             "Call-ID: r@x\r\n"
                             "CSeq: 1 REGISTER\r\n"
                             "Content-Length: 0\r\n\r\n";
    char buf[1024];
    ssize_t n = udp_wait(t, buf, sizeof(buf) - 1);

    buf[n] = '\0';
    assert_memory_equal(buf, "REGISTER ", 9);
    udp_send(t, ok, sizeof(ok) - 1);
    assert_true(pump_until(t, &t->msgs, t->msgs + 1));
}

/* Expects a STUN Binding request and answers it with XOR-MAPPED-ADDRESS
 * [mapped]:port (RFC 5389 §15.2: IPv6, the address XORed with the cookie
 * and the transaction id). */
static void stun_exchange6(struct fx *t, const char *mapped, uint16_t port)
{
    uint8_t req[64], rsp[20 + 4 + 20] = { 0x01, 0x01, 0x00, 24 };
    uint8_t ip[16];
    ssize_t n = udp_wait(t, (char *)req, sizeof(req));

    assert_int_equal(n, STUN_BINDING_REQ_MAX);
    assert_int_equal(req[0] << 8 | req[1], STUN_BINDING_REQUEST);
    assert_int_equal(inet_pton(AF_INET6, mapped, ip), 1);
    memcpy(rsp + 4, req + 4, 16);
    rsp[21] = 0x20; /* XOR-MAPPED-ADDRESS, 20 bytes */
    rsp[23] = 20;
    rsp[25] = 2;    /* IPv6 */
    rsp[26] = (uint8_t)((port ^ 0x2112) >> 8);
    rsp[27] = (uint8_t)(port ^ 0x2112);
    for (int i = 0; i < 16; i++)
        rsp[28 + i] = (uint8_t)(ip[i] ^ req[4 + i]);
    udp_send(t, rsp, sizeof(rsp));
}

static void test_udp_stun_v6(void **state)
{
    struct fx *t = *state;
    char buf[1024];

    t->r = 0; /* intervals at 80 % */
    assert_int_equal(flow_new(&t->f, &t->p), 0);
    flow_start(t->f);
    assert_true(pump_until(t, &t->ready, 1));
    answer_register(t);
    flow_set_stun_hint(t->f, false, 0);
    flow_registered(t->f, true, 20);
    pump(t, 5);
    stun_exchange6(t, "2001:db8::77", 40000);
    pump_working(t);
    t->now += 16000;
    stun_exchange6(t, "2001:db8::77", 40000); /* the same mapping: still working */
    pump(t, 50);
    assert_int_equal(t->downs, 0);
    assert_true(flow_working(t->f));
    t->now += 16000;
    stun_exchange6(t, "2001:db8::78", 40000); /* the mapping moved */
    assert_true(pump_until(t, &t->downs, 1));
    if (!strstr(t->reason, "NAT rebound") || !strstr(t->reason, "[2001:db8::77]:40000") ||
        !strstr(t->reason, "[2001:db8::78]:40000"))
        fail_msg("reason: %s", t->reason);
    assert_true(pump_until(t, &t->ready, 2)); /* immediate retry, new socket */
    assert_int_equal(udp_wait(t, buf, sizeof(buf)), (ssize_t)sizeof(reg_text) - 1);
}

static void test_udp_options_v6(void **state)
{
    struct fx *t = *state;
    char buf[1024], via[128], want[128];
    struct sockaddr_storage local;

    assert_int_equal(flow_new(&t->f, &t->p), 0);
    flow_start(t->f);
    assert_true(pump_until(t, &t->ready, 1));
    answer_register(t);
    flow_registered(t->f, false, 0); /* no indication: OPTIONS */
    buf[udp_wait(t, buf, sizeof(buf) - 1)] = '\0';
    assert_int_equal(flow_local_addr(t->f, &local), 0);
    assert_int_equal(local.ss_family, AF_INET6);
    snprintf(want, sizeof(want), "OPTIONS sip:[::1]:%u SIP/2.0\r\n", t->proxy.port);
    assert_memory_equal(buf, want, strlen(want));
    snprintf(via, sizeof(via), "\r\nVia: SIP/2.0/UDP [::1]:%u;rport;branch=z9hG4bK",
             addr_port((struct sockaddr *)&local));
    if (!strstr(buf, via))
        fail_msg("no '%s' in:\n%s", via + 2, buf);
    snprintf(want, sizeof(want), "\r\nTo: <sip:[::1]:%u>\r\n", t->proxy.port);
    assert_non_null(strstr(buf, want));
    snprintf(want, sizeof(want), "\r\nFrom: <sip:sipkeep@[::1]:%u>;tag=",
             addr_port((struct sockaddr *)&local));
    assert_non_null(strstr(buf, want));
}

/* ---- TCP ---- */

static void test_tcp_v6(void **state)
{
    struct fx *t = *state;
    struct sockaddr_storage local, peer;
    socklen_t len = sizeof(peer);
    char buf[1024];
    ssize_t n = -1;

    assert_int_equal(flow_new(&t->f, &t->p), 0);
    flow_start(t->f);
    for (int i = 0; i < PUMP_ITER && t->conn < 0; i++) {
        t->conn = accept4(t->srv, NULL, NULL, SOCK_CLOEXEC);
        if (t->conn < 0)
            assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    assert_true(t->conn >= 0);
    assert_true(pump_until(t, &t->ready, 1));
    assert_int_equal(getpeername(t->conn, (struct sockaddr *)&peer, &len), 0);
    assert_int_equal(flow_local_addr(t->f, &local), 0);
    assert_int_equal(local.ss_family, AF_INET6);
    assert_true(addr_equal((struct sockaddr *)&local, (struct sockaddr *)&peer));
    for (int i = 0; i < PUMP_ITER && n < (ssize_t)sizeof(reg_text) - 1; i++)
        n = recv(t->conn, buf, sizeof(buf), MSG_DONTWAIT);
    assert_int_equal(n, (ssize_t)sizeof(reg_text) - 1);
    flow_registered(t->f, true, 20);
    t->now += 20000; /* the ping is due within Flow-Timer */
    pump(t, 5);
    assert_int_equal(recv(t->conn, buf, sizeof(buf), MSG_DONTWAIT), 4);
    assert_memory_equal(buf, "\r\n\r\n", 4);
    assert_int_equal(send(t->conn, "\r\n", 2, 0), 2);
    pump_working(t);
    assert_int_equal(t->downs, 0);
}

/* ---- TLS to an IPv6 literal ---- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX c;
    X509_EXTENSION *e;

    X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &c, nid, val);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* san NULL: a self-signed CA; else a server leaf with that subjectAltName. */
static X509 *make_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *san)
{
    X509 *x = X509_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), san ? 2 : 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)(san ? "edge" : "test CA"), -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x));
    add_ext(x, ca ? ca : x, NID_basic_constraints, san ? "critical,CA:FALSE" : "critical,CA:TRUE");
    if (san)
        add_ext(x, ca, NID_subject_alt_name, san);
    else
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    assert_true(X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0);
    return x;
}

/* A TLS flow to sips:[::1]:PORT whose edge shows a leaf with subjectAltName
 * san; returns the edge's SSL (the handshake done or failed) for checks. */
static SSL *tls_v6_flow(struct fx *t, const char *san, char *ca_path, size_t ca_sz)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, NULL, NULL, NULL), *leaf = make_cert(key, ca, ca_key, san);
    SSL_CTX *srv = SSL_CTX_new(TLS_server_method()), *cli = NULL;
    char err[256] = "";
    SSL *ssl;
    FILE *fp;
    int fd;

    assert_non_null(srv);
    assert_int_equal(SSL_CTX_use_certificate(srv, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(srv, key), 1);
    snprintf(ca_path, ca_sz, "/tmp/test_ipv6_ca_XXXXXX");
    fd = mkstemp(ca_path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, ca), 1);
    fclose(fp);
    assert_int_equal(stream_tls_ctx_new(&(struct stream_tls_opts){ .ca_file = ca_path,
                                                                   .verify = true },
                                        &cli, NULL, err, sizeof(err)), 0);
    snprintf(t->uri, sizeof(t->uri), "sips:[::1]:%u", t->proxy.port);
    t->proxy.transport = CFG_TRANSPORT_TLS;
    t->proxy.sips = true;
    t->p.tls = cli;
    assert_int_equal(flow_new(&t->f, &t->p), 0);
    stream_tls_ctx_free(cli); /* the flow keeps its own reference */
    flow_start(t->f);
    for (int i = 0; i < PUMP_ITER && t->conn < 0; i++) {
        t->conn = accept4(t->srv, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (t->conn < 0)
            assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    assert_true(t->conn >= 0);
    ssl = SSL_new(srv);
    assert_non_null(ssl);
    SSL_set_fd(ssl, t->conn);
    /* the edge's side of the handshake, the flow's loop turning meanwhile */
    for (int i = 0; i < PUMP_ITER && t->ready == 0 && t->downs == 0; i++) {
        (void)SSL_accept(ssl);
        ERR_clear_error();
        assert_int_equal(loop_run_once(t->l, 1), 0);
    }
    SSL_CTX_free(srv);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return ssl;
}

static void test_tls_v6_literal(void **state)
{
    struct fx *t = *state;
    char ca[64];
    SSL *ssl = tls_v6_flow(t, "IP:::1", ca, sizeof(ca));

    assert_int_equal(t->ready, 1);
    assert_int_equal(t->downs, 0);
    assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    SSL_free(ssl);
    unlink(ca);
}

static void test_tls_v6_literal_wrong_address(void **state)
{
    struct fx *t = *state;
    char ca[64];
    SSL *ssl = tls_v6_flow(t, "IP:::2", ca, sizeof(ca));

    assert_int_equal(t->ready, 0);
    assert_int_equal(t->downs, 1);
    /* OpenSSL names the expected address in its long form */
    if (!strstr(t->reason, "IP address mismatch") || !strstr(t->reason, "0:0:0:0:0:0:0:1"))
        fail_msg("reason: %s", t->reason);
    SSL_free(ssl);
    unlink(ca);
}

/* ---- the proxy-mode listener ---- */

struct got {
    int n;
    struct sockaddr_storage src, local;
    char text[64];
};

static void on_dgram(struct listener *ln, const struct listen_dgram *d, void *arg)
{
    struct got *g = arg;

    g->n++;
    g->src = d->src;
    g->local = d->local;
    snprintf(g->text, sizeof(g->text), "%.*s", (int)d->len, d->buf);
    assert_int_equal(listen_send(ln, "pong", 4, (const struct sockaddr *)&d->src, d->srclen), 0);
}

static void test_listen_v6(void **state)
{
    struct fx *t = *state;
    struct cfg_listen lc = { .transport = CFG_TRANSPORT_UDP, .addrlen = sizeof(struct sockaddr_in6),
                             .text = "udp:[::]:PORT" };
    struct sockaddr_storage to, me;
    socklen_t len = sizeof(struct sockaddr_in6);
    struct listener *ln = NULL;
    struct got g = { 0 };
    char buf[16], want[64], fmt[ADDR_STR_MAX];
    int ua = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unsigned port;

    /* a free port: the UA's socket's, which the listener then shares with
     * nobody (the UA moves to another one) */
    assert_true(ua >= 0);
    set_in6(&me, &in6addr_loopback, 0);
    assert_int_equal(bind(ua, (struct sockaddr *)&me, len), 0);
    assert_int_equal(getsockname(ua, (struct sockaddr *)&me, &len), 0);
    port = addr_port((struct sockaddr *)&me);
    close(ua);
    set_in6(&lc.addr, &in6addr_any, port);
    assert_int_equal(listen_open(&ln, t->l, &lc, on_dgram, &g, NULL), 0);

    ua = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(ua >= 0);
    set_in6(&me, &in6addr_loopback, 0);
    len = sizeof(struct sockaddr_in6);
    assert_int_equal(bind(ua, (struct sockaddr *)&me, len), 0);
    assert_int_equal(getsockname(ua, (struct sockaddr *)&me, &len), 0);
    set_in6(&to, &in6addr_loopback, port);
    assert_int_equal(sendto(ua, "OPTIONS", 7, 0, (struct sockaddr *)&to, len), 7);
    assert_true(pump_until(t, &g.n, 1));
    assert_string_equal(g.text, "OPTIONS");
    assert_true(addr_equal((struct sockaddr *)&g.src, (struct sockaddr *)&me));
    /* the address the UA sent to, not the wildcard: what Record-Route and
     * our Via towards the phone name */
    snprintf(want, sizeof(want), "[::1]:%u", port);
    assert_string_equal(addr_format((struct sockaddr *)&g.local, true, fmt, sizeof(fmt)), want);
    assert_int_equal(recv(ua, buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "pong", 4);
    close(ua);
    listen_free(ln);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udp_stun_v6, setup_udp, teardown),
        cmocka_unit_test_setup_teardown(test_udp_options_v6, setup_udp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_v6, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tls_v6_literal, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tls_v6_literal_wrong_address, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_listen_v6, setup_udp, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
