/* Unit tests for the stream transport over TLS, against an OpenSSL server
 * whose CA and certificates are made at test time (stream_fixture.h): the
 * handshake and data both ways, the peer closing, freeing from a callback,
 * a wrong host name, an untrusted CA, a handshake that never ends; and the
 * memory budget, the heap growth per idle TCP and TLS stream. */
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
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_stream_tls");
    return cmocka_run_group_tests_name("stream_tls", tests, NULL, NULL);
}
