/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_tlsmem.c - the heap an idle flow's stream costs (issue 14 item 4),
 * at 1,000 flows to a local server: plain TCP, TLS after a full handshake,
 * TLS after resuming the edge's cached session (issue 14 item 3), and of
 * the TLS figure what the SSL object costs before its handshake.  The
 * server is a child process (its heap is not counted) with a self-signed
 * P-256 certificate for edge.test; it completes TLS 1.3 handshakes one
 * after the other, sends each connection a pong after its session tickets
 * and keeps it open.  Heap in use is glibc's mallinfo2() (malloc overhead
 * included); the daemon's other per-flow state (flow, binding) is not
 * here, see tests/bench/scale.sh for that.  Prints figures, asserts
 * nothing.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/loop.h"
#include "transport/stream.h"

#define FLOWS 1000
#define DEADLINE_ROUNDS 20000 /* loop iterations of 10 ms at most per phase */

static int g_opened, g_ponged, g_closed;

static void on_connected(struct stream *s, void *arg) { (void)s; (void)arg; g_opened++; }
static void on_pong(struct stream *s, void *arg) { (void)s; (void)arg; g_ponged++; }
static void on_close(struct stream *s, int err, const char *why, void *arg)
{
    (void)s; (void)arg;
    fprintf(stderr, "bench_tlsmem: a stream closed: %d %s\n", err, why);
    g_closed++;
}
static const struct stream_cbs cbs = {
    .on_connected = on_connected, .on_pong = on_pong, .on_close = on_close,
};

static size_t heap(void) { return mallinfo2().uordblks; }

static void die(const char *what)
{
    fprintf(stderr, "bench_tlsmem: %s failed\n", what);
    exit(1);
}

/* A self-signed certificate for edge.test (its own trust anchor). */
static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_EXTENSION *e;
    X509V3_CTX c;

    if (!x)
        die("X509_new");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"edge.test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509V3_set_ctx(&c, x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &c, NID_subject_alt_name, "DNS:edge.test");
    if (!e || X509_add_ext(x, e, -1) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
        die("certificate");
    X509_EXTENSION_free(e);
    return x;
}

/* The server: n connections handshaken in turn, a pong on each, kept open
 * until quit_fd closes. */
static void server_child(int lfd, SSL_CTX *ctx, int n, int quit_fd)
{
    char ch;

    for (int i = 0; i < n; i++) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int fd = poll(&p, 1, 30000) == 1 ? accept(lfd, NULL, NULL) : -1;
        SSL *ssl = fd >= 0 && ctx ? SSL_new(ctx) : NULL;
        int one = 1;

        /* The pong must not wait for the ACK of the tickets (Nagle). */
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        if (ctx && (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1 ||
                    SSL_write(ssl, "\r\n", 2) != 2))
            _exit(3);
        if (!ctx && (fd < 0 || write(fd, "\r\n", 2) != 2))
            _exit(3);
    }
    while (read(quit_fd, &ch, 1) > 0)
        ;
    _exit(0);
}

struct phase {
    struct loop *l;
    struct sockaddr_in addr;
    SSL_CTX *cli;
    struct stream **s;
    int n;
};

static void run_until_ponged(struct phase *p, int want)
{
    for (int i = 0; g_ponged < want && g_closed == 0 && i < DEADLINE_ROUNDS; i++)
        if (loop_run_once(p->l, 10) < 0)
            die("loop_run_once");
    if (g_ponged < want)
        die("waiting for the flows");
}

static void open_one(struct phase *p, int i)
{
    if (stream_open(&p->s[i], p->l, (struct sockaddr *)&p->addr, sizeof(p->addr), p->cli,
                    p->cli ? "edge.test" : NULL, &cbs, NULL) != 0)
        die("stream_open");
}

/* Opens p->n streams, all at once or each after the previous one's pong
 * (so that each offers the newest session), and returns the heap growth
 * per idle stream. */
static size_t measure(struct phase *p, bool one_by_one)
{
    size_t before = heap();

    g_opened = g_ponged = g_closed = 0;
    for (int i = 0; i < p->n; i++) {
        open_one(p, i);
        if (one_by_one)
            run_until_ponged(p, i + 1);
    }
    run_until_ponged(p, p->n);
    return (heap() - before) / (size_t)p->n;
}

static void close_all(struct phase *p)
{
    for (int i = 0; i < p->n; i++)
        stream_free(p->s[i]);
}

/* One phase against a fresh server child: warm-up flow(s) first (OpenSSL's
 * one-time state, and a cached session when warm_cache), then the flows. */
static size_t phase_run(struct phase *p, SSL_CTX *srv, SSL_CTX *warm, bool one_by_one,
                        uint64_t *resumed)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), quit[2], status;
    socklen_t sl = sizeof(p->addr);
    struct stream *w = NULL;
    size_t per;
    pid_t pid;

    memset(&p->addr, 0, sizeof(p->addr));
    p->addr.sin_family = AF_INET;
    p->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&p->addr, sizeof(p->addr)) < 0 ||
        listen(lfd, 4096) < 0 || getsockname(lfd, (struct sockaddr *)&p->addr, &sl) < 0 ||
        pipe(quit) < 0)
        die("listen");
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(quit[1]);
        server_child(lfd, srv, p->n + 1, quit[0]);
    }
    close(quit[0]);
    close(lfd);
    {
        struct phase wp = *p;

        wp.cli = warm;
        wp.s = &w;
        wp.n = 1;
        measure(&wp, false);
    }
    per = measure(p, one_by_one);
    if (resumed) {
        *resumed = 0;
        for (int i = 0; i < p->n; i++)
            *resumed += stream_tls_resumed(p->s[i]);
    }
    close_all(p);
    stream_free(w);
    close(quit[1]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("server");
    return per;
}

/* Heap of one stream right after stream_open(), before any byte moved. */
static size_t open_cost(struct phase *p)
{
    struct stream *s = NULL;
    size_t before = heap(), after;

    p->addr.sin_family = AF_INET;
    p->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->addr.sin_port = htons(9); /* never connected: freed at once */
    if (stream_open(&s, p->l, (struct sockaddr *)&p->addr, sizeof(p->addr), p->cli,
                    p->cli ? "edge.test" : NULL, &cbs, NULL) != 0)
        die("stream_open");
    after = heap();
    stream_free(s);
    return after - before;
}

int main(void)
{
    struct rlimit rl;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_cert(key) : NULL;
    char ca[] = "/tmp/bench_tlsmem_XXXXXX", err[256] = "";
    SSL_CTX *srv = SSL_CTX_new(TLS_server_method()), *cli = NULL, *cli_full = NULL;
    struct phase p = { .n = FLOWS };
    size_t tcp, full, res, ssl_new, tcp_new;
    uint64_t nres_seq = 0, nres_par = 0, nres_full = 0;
    int fd = mkstemp(ca);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (!cert || !srv || !fp || PEM_write_X509(fp, cert) != 1)
        die("set-up");
    fclose(fp);
    if (SSL_CTX_use_certificate(srv, cert) != 1 || SSL_CTX_use_PrivateKey(srv, key) != 1)
        die("server context");
    /* Two client flows per stream (ours and the server's) plus slack. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * FLOWS + 64) {
        rl.rlim_cur = rl.rlim_max < 2 * FLOWS + 64 ? rl.rlim_max : 2 * FLOWS + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (stream_tls_ctx_new(&(struct stream_tls_opts){ .ca_file = ca, .verify = true }, &cli, NULL,
                           err, sizeof(err)) != 0 ||
        stream_tls_ctx_new(&(struct stream_tls_opts){ .ca_file = ca, .verify = true }, &cli_full,
                           NULL, err, sizeof(err)) != 0)
        die(err);
    if (loop_new(&p.l, NULL) < 0)
        die("loop_new");
    p.s = calloc(FLOWS, sizeof(*p.s));
    if (!p.s)
        die("calloc");
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "bench_tlsmem"); /* no line per stream */

    p.cli = NULL;
    tcp_new = open_cost(&p);
    tcp = phase_run(&p, NULL, NULL, false, NULL);
    p.cli = cli;
    ssl_new = open_cost(&p);
    /* All at once from a context whose cache is empty: full handshakes
     * (the warm-up uses the other context). */
    full = phase_run(&p, srv, cli_full, false, &nres_full);
    /* One after the other: each offers the newest ticket the edge gave. */
    res = phase_run(&p, srv, cli, true, &nres_seq);
    /* All at once on the two tickets the warm-up left.  OpenSSL spends a
     * TLS 1.3 session once a handshake resumed it: a handshake that starts
     * after the first ones finished and before their new tickets were read
     * is a full one (1 of 1,000 resumed here before the cache kept two
     * sessions per edge). */
    phase_run(&p, srv, cli, false, &nres_par);

    printf("idle stream heap at %d flows (OpenSSL %s, TLS 1.3, P-256, mallinfo2):\n", FLOWS,
           OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("  TCP                      %6zu bytes/flow (stream_open alone: %zu)\n", tcp, tcp_new);
    printf("  TLS, full handshake      %6zu bytes/flow (%d resumed; stream_open with its SSL "
           "object, before the handshake: %zu)\n", full, (int)nres_full, ssl_new);
    printf("  TLS, resumed             %6zu bytes/flow (%d of %d resumed, opened one by one)\n",
           res, (int)nres_seq, FLOWS);
    printf("  TLS, opened at once on the two cached tickets: %d of %d resumed\n", (int)nres_par,
           FLOWS);
    free(p.s);
    loop_free(p.l);
    stream_tls_ctx_free(cli);
    stream_tls_ctx_free(cli_full);
    SSL_CTX_free(srv);
    X509_free(cert);
    EVP_PKEY_free(key);
    unlink(ca);
    return 0;
}
