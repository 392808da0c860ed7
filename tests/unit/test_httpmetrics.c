/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the metrics over HTTP (ctl/httpmetrics.c): the request
 * head parser (methods, paths, versions, garbage, the size bound, a head
 * cut short), the answers (200 with the handler's page and Content-Length,
 * HEAD without body, 404/405/400/500), and the server on a loopback TCP
 * port with a fake clock: a scrape, an oversized head, the client limit
 * and a slow client closed at its deadline (the clock moved by hand, so the
 * test fails if the deadline is not kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/ctl.h"
#include "ctl/ctl_int.h"
#include "ctl/httpmetrics.h"
#include "ctl/report.h"
#include "fake_clock.h"

#define PUMP_ITER 3000 /* x at most 1 ms of real time */

/* ---- the config key metrics.listen ---- */

#define CFG_BASE                                                               \
    "ua:\n  allow: [\"10.0.0.0/8\"]\n"                                          \
    "services:\n  - name: p\n    domain: sip.example.net\n"                     \
    "    outbound_proxies: [\"sip:edge.example.net;transport=tcp\"]\n"

/* Loads CFG_BASE plus "metrics: {listen: VALUE}" (value NULL: no metrics
 * key); the load's result, the error text in err. */
static int load_metrics(const char *value, struct cfg **out, char *err, size_t errsz)
{
    char yaml[512];

    snprintf(yaml, sizeof(yaml), "%s%s%s%s", CFG_BASE, value ? "metrics:\n  listen: \"" : "",
             value ? value : "", value ? "\"\n" : "");
    return cfg_load_buffer("t.yaml", yaml, strlen(yaml), out, err, errsz);
}

static void test_config_metrics_listen(void **state)
{
    static const struct { const char *v; int family; uint16_t port; } ok[] = {
        { "127.0.0.1:9580", AF_INET, 9580 },
        { "192.168.1.1:80", AF_INET, 80 },
        { "[::1]:9580", AF_INET6, 9580 },
        { "[fe80::1]:1", AF_INET6, 1 },
    };
    static const struct { const char *v; const char *why; } bad[] = {
        { "0.0.0.0:9580", "0.0.0.0 and :: would open" },
        { "[::]:9580", "0.0.0.0 and :: would open" },
        { "[::ffff:0.0.0.0]:9580", "0.0.0.0 and :: would open" },
        { "127.0.0.1", "the port is missing" },
        { "127.0.0.1:0", "the port must be" },
        { "localhost:9580", "ADDR must be an IPv4 address" },
        { "::1:9580", "must be in brackets" },
        { "", "the port is missing" },
    };
    struct cfg *cfg = NULL;
    char err[512];

    (void)state;
    assert_int_equal(load_metrics(NULL, &cfg, err, sizeof(err)), 0);
    assert_null(cfg->metrics.listen.text); /* off by default */
    cfg_free(cfg);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cfg = NULL;
        if (load_metrics(ok[i].v, &cfg, err, sizeof(err)) != 0)
            fail_msg("'%s': %s", ok[i].v, err);
        assert_string_equal(cfg->metrics.listen.text, ok[i].v);
        assert_int_equal(cfg->metrics.listen.addr.ss_family, ok[i].family);
        assert_int_equal(ntohs(((struct sockaddr_in *)&cfg->metrics.listen.addr)->sin_port),
                         ok[i].port);
        cfg_free(cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load_metrics(bad[i].v, &cfg, err, sizeof(err)), -EINVAL);
        /* FILE:LINE:COL: pointing at the value (line 8, column 11). */
        if (strncmp(err, "t.yaml:8:11: metrics.listen is not a valid metrics address: ", 60) != 0 ||
            !strstr(err, bad[i].why))
            fail_msg("'%s': %s", bad[i].v, err);
    }
}

/* ---- the parser ---- */

/* The status text asks for when complete (eof false), or 0 when the
 * parser wants more bytes. */
static unsigned status_of(const char *text, bool *head)
{
    struct httpmetrics_req r;

    if (!httpmetrics_parse(text, strlen(text), false, &r))
        return 0;
    if (head)
        *head = r.head;
    return r.status;
}

static void test_parse_statuses(void **state)
{
    static const struct { const char *req; unsigned status; } cases[] = {
        { "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
        { "GET /metrics HTTP/1.0\r\n\r\n", 200 },
        { "GET /metrics?name[]=up HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
        { "GET /metrics HTTP/1.1\nHost: x\n\n", 200 },          /* bare LF lines */
        { "\r\nGET /metrics HTTP/1.1\r\n\r\n", 200 },            /* a leading CRLF */
        { "GET /metrics HTTP/1.1\r\nUser-Agent: Prometheus/2.45\r\nAccept: "
          "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
          "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n", 200 },
        { "GET / HTTP/1.1\r\n\r\n", 404 },
        { "GET /metricsx HTTP/1.1\r\n\r\n", 404 },
        { "GET /metric HTTP/1.1\r\n\r\n", 404 },
        { "GET http://h/metrics HTTP/1.1\r\n\r\n", 404 },
        { "POST /metrics HTTP/1.1\r\n\r\n", 405 },
        { "get /metrics HTTP/1.1\r\n\r\n", 405 },               /* methods are case-sensitive */
        { "DELETE / HTTP/1.1\r\n", 405 },                       /* decided on the first line */
        { "GET /metrics HTTP/2.0\r\n\r\n", 505 },
        { "GET /metrics HTTP/1.1 \r\n\r\n", 400 },
        { "GET  /metrics HTTP/1.1\r\n\r\n", 400 },
        { "GET /metrics\r\n\r\n", 400 },                        /* HTTP/0.9 */
        { "GET /metrics HTTP/1.1\rX\r\n\r\n", 400 },            /* bare CR */
        { "G\001T /metrics HTTP/1.1\r\n\r\n", 400 },
        { "\x16\x03\x01\x02\x00\x01", 400 },                    /* a TLS ClientHello */
        { "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nX: a\001b\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nX: a\tb\r\n\r\n", 200 },
    };
    bool head = true;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = status_of(cases[i].req, NULL);
        if (got != cases[i].status)
            fail_msg("case %zu: got %u, want %u", i, got, cases[i].status);
    }
    assert_int_equal(status_of("HEAD /metrics HTTP/1.1\r\n\r\n", &head), 200);
    assert_true(head);
    assert_int_equal(status_of("GET /metrics HTTP/1.1\r\n\r\n", &head), 200);
    assert_false(head);
}

static void test_parse_incomplete_and_bounds(void **state)
{
    static const char *const partial[] = {
        "", "G", "GET /met", "GET /metrics HTTP/1.1", "GET /metrics HTTP/1.1\r",
        "GET /metrics HTTP/1.1\r\n", "GET /metrics HTTP/1.1\r\nHost: x\r\n",
    };
    struct httpmetrics_req r;
    char *big = malloc(HTTPMETRICS_HEAD_MAX);

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        assert_int_equal(httpmetrics_parse(partial[i], strlen(partial[i]), false, &r), 0);
        /* The client ended its input there: a request cut short. */
        assert_int_equal(httpmetrics_parse(partial[i], strlen(partial[i]), true, &r), 1);
        assert_int_equal(r.status, 400);
    }
    /* A request line as long as the limit, never ended. */
    memset(big, 'a', HTTPMETRICS_HEAD_MAX);
    assert_int_equal(httpmetrics_parse(big, HTTPMETRICS_HEAD_MAX - 1, false, &r), 0);
    assert_int_equal(httpmetrics_parse(big, HTTPMETRICS_HEAD_MAX, false, &r), 1);
    assert_int_equal(r.status, 431);
    /* Headers that never end. */
    memcpy(big, "GET /metrics HTTP/1.1\r\n", 23);
    for (size_t i = 23; i + 6 <= HTTPMETRICS_HEAD_MAX; i += 6)
        memcpy(big + i, "A: b\r\n", 6);
    assert_int_equal(httpmetrics_parse(big, HTTPMETRICS_HEAD_MAX - 4, false, &r), 0);
    assert_int_equal(httpmetrics_parse(big, HTTPMETRICS_HEAD_MAX, false, &r), 1);
    assert_int_equal(r.status, 431);
    free(big);
}

/* ---- the answers ---- */

struct fx {
    uint64_t now;
    struct loop *l;
    struct httpmetrics *m;
    int calls;
    int fail;
};

static int fake_handler(enum ctl_request req, struct report_buf *out, void *arg)
{
    struct fx *t = arg;

    assert_int_equal(req, CTL_REQ_METRICS);
    t->calls++;
    if (t->fail)
        return t->fail;
    report_printf(out, "# TYPE sipkeep_up gauge\nsipkeep_up 1\n");
    return 0;
}

static char *answer_of(struct fx *t, unsigned status, bool head)
{
    static char text[1024];
    struct httpmetrics_req r = { status, head };
    struct report_buf b;

    report_buf_init(&b);
    httpmetrics_answer(&r, &b, fake_handler, t);
    assert_int_equal(b.err, 0);
    assert_true(b.len < sizeof(text));
    memcpy(text, b.p, b.len);
    text[b.len] = '\0';
    report_buf_free(&b);
    return text;
}

static void test_answers(void **state)
{
    struct fx t = { 0 };

    (void)state;
    assert_string_equal(answer_of(&t, 200, false),
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        "Content-Length: 37\r\nConnection: close\r\n\r\n"
                        "# TYPE sipkeep_up gauge\nsipkeep_up 1\n");
    assert_string_equal(answer_of(&t, 200, true),
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        "Content-Length: 37\r\nConnection: close\r\n\r\n");
    assert_int_equal(t.calls, 2);
    assert_string_equal(answer_of(&t, 404, false),
                        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: 14\r\nConnection: close\r\n\r\n404 Not Found\n");
    assert_non_null(strstr(answer_of(&t, 405, false), "\r\nAllow: GET, HEAD\r\n"));
    assert_non_null(strstr(answer_of(&t, 404, true), "Content-Length: 14\r\n"));
    assert_int_equal(strstr(answer_of(&t, 404, true), "\r\n\r\n")[4], '\0');
    assert_int_equal(strncmp(answer_of(&t, 431, false), "HTTP/1.1 431 ", 13), 0);
    assert_int_equal(t.calls, 2); /* only a 200 asks for the page */
    t.fail = -ENOMEM;
    assert_int_equal(strncmp(answer_of(&t, 200, false), "HTTP/1.1 500 Internal Server Error\r\n",
                             36), 0);
}

/* ---- the server on loopback, fake clock ---- */

static int srv_setup(void **state)
{
    struct fx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 1000);
    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    *state = t;
    return 0;
}

static int srv_teardown(void **state)
{
    struct fx *t = *state;

    httpmetrics_free(t->m);
    loop_free(t->l);
    free(t);
    return 0;
}

static void srv_open(struct fx *t, unsigned max_clients, uint64_t timeout_ms)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    struct ctl_limits lim = { max_clients, timeout_ms };

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(httpmetrics_open(&t->m, t->l, (struct sockaddr *)&sin, sizeof(sin), &lim,
                                      fake_handler, t), 0);
}

static int cli_connect(struct fx *t)
{
    struct sockaddr_storage ss;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(httpmetrics_local_addr(t->m, &ss), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
    return fd;
}

static ssize_t pump_read_all(struct fx *t, int fd, char *buf, size_t cap)
{
    return fake_loop_read_all(t->l, fd, buf, cap, PUMP_ITER);
}

static void pump_until_clients(struct fx *t, unsigned want)
{
    for (int i = 0; i < PUMP_ITER && httpmetrics_clients(t->m) != want; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(httpmetrics_clients(t->m), want);
}

static void test_server_scrape(void **state)
{
    struct fx *t = *state;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[1024];
    int fd;

    srv_open(t, 0, 0);
    fd = cli_connect(t);
    /* In two pieces: the head is put together across reads. */
    assert_int_equal(send(fd, req, 10, 0), 10);
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(t->calls, 0);
    assert_int_equal(send(fd, req + 10, sizeof(req) - 11, 0), (ssize_t)sizeof(req) - 11);
    assert_true(pump_read_all(t, fd, buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_non_null(strstr(buf, "\r\n\r\n# TYPE sipkeep_up gauge\nsipkeep_up 1\n"));
    assert_int_equal(t->calls, 1);
    close(fd);
    pump_until_clients(t, 0);
}

/* Sends start, then 'x' up to three times the head limit, on a new
 * connection: the answer is a 431. */
static void expect_431(struct fx *t, const char *start)
{
    size_t n = HTTPMETRICS_HEAD_MAX * 3, len = strlen(start);
    char *big = malloc(n), buf[512];
    int fd = cli_connect(t);

    assert_non_null(big);
    memcpy(big, start, len);
    memset(big + len, 'x', n - len);
    assert_int_equal(send(fd, big, n, MSG_NOSIGNAL), (ssize_t)n);
    assert_true(pump_read_all(t, fd, buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 431 ", 13), 0);
    close(fd);
    free(big);
}

static void test_server_oversized(void **state)
{
    struct fx *t = *state;

    srv_open(t, 0, 0);
    expect_431(t, "GET /");                             /* a request line */
    expect_431(t, "GET /metrics HTTP/1.1\r\nX: ");       /* one header */
    assert_int_equal(t->calls, 0);
    pump_until_clients(t, 0);
}

static void test_server_client_limit(void **state)
{
    struct fx *t = *state;
    char buf[512];
    int a, b, c;

    srv_open(t, 2, 0);
    a = cli_connect(t);
    b = cli_connect(t);
    pump_until_clients(t, 2);
    c = cli_connect(t);
    assert_true(pump_read_all(t, c, buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 503 Service Unavailable\r\n", 34), 0);
    assert_int_equal(httpmetrics_clients(t->m), 2);
    assert_int_equal(send(a, "GET /metrics HTTP/1.0\r\n\r\n", 25, 0), 25);
    assert_true(pump_read_all(t, a, buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    close(a);
    close(b);
    close(c);
    pump_until_clients(t, 0);
}

/* A client that sends part of a request and then nothing: its slot is
 * held until the deadline, not a millisecond less, and freed at it. */
static void test_server_slow_client_deadline(void **state)
{
    struct fx *t = *state;
    char buf[256];
    int fd;

    srv_open(t, 1, 5000);
    fd = cli_connect(t);
    assert_int_equal(send(fd, "GET /metr", 9, 0), 9);
    pump_until_clients(t, 1);
    t->now += 4999;
    for (int i = 0; i < 20; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(httpmetrics_clients(t->m), 1);
    t->now += 1;
    assert_int_equal(pump_read_all(t, fd, buf, sizeof(buf)), 0); /* closed, nothing sent */
    assert_int_equal(httpmetrics_clients(t->m), 0);
    assert_int_equal(t->calls, 0);
    close(fd);
    /* The slot serves the next scrape. */
    fd = cli_connect(t);
    assert_int_equal(send(fd, "HEAD /metrics HTTP/1.1\r\n\r\n", 26, 0), 26);
    assert_true(pump_read_all(t, fd, buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_int_equal(strstr(buf, "\r\n\r\n")[4], '\0');
    close(fd);
}

static void test_open_errors(void **state)
{
    struct fx *t = *state;
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sockaddr_storage ss;
    struct httpmetrics *other = NULL;

    srv_open(t, 0, 0);
    assert_int_equal(httpmetrics_local_addr(t->m, &ss), 0);
    assert_int_equal(httpmetrics_open(&other, t->l, (struct sockaddr *)&ss, sizeof(sin), NULL,
                                      fake_handler, t), -EADDRINUSE);
    assert_null(other);
    sin.sin_family = AF_UNIX;
    assert_int_equal(httpmetrics_open(&other, t->l, (struct sockaddr *)&sin, sizeof(sin), NULL,
                                      fake_handler, t), -EINVAL);
    httpmetrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_metrics_listen),
        cmocka_unit_test(test_parse_statuses),
        cmocka_unit_test(test_parse_incomplete_and_bounds),
        cmocka_unit_test(test_answers),
        cmocka_unit_test_setup_teardown(test_server_scrape, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_oversized, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_client_limit, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_slow_client_deadline, srv_setup,
                                        srv_teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, srv_setup, srv_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
