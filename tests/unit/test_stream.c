/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the stream transport over plain TCP, with real sockets
 * on 127.0.0.1: framing of what arrives (split, glued, large, too large,
 * bad), CRLF keep-alives both ways, sending before the connection, the
 * bounded output queue, the peer closing or resetting, freeing the stream
 * from inside its callbacks, bad arguments.  TLS and the memory budget are
 * in test_stream_tls.c (set-up: stream_fixture.h).  The loop is driven by
 * loop_run_once() with a bounded wait and an overall deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stream_fixture.h"

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
    };

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2); see stream.h */
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_stream");
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
