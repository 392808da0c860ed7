/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the edge certificate's expiry warning (flow.c,
 * tls_cert_expiring): once a day per edge address and server name, kept
 * in the shared pacer's entry of the edge (outbound/pacer.h), not once per
 * handshake per flow; the per-flow figure (flow_get_info's
 * peer_cert_expiry) stays.  Real TLS handshakes on the loopback against
 * two in-process edges showing the test PKI's leaf for edge.test, which
 * expires in a day (stream_fixture.h); the loop runs on the fake clock
 * (fake_clock.h), so a day passes at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "outbound/flow.h"
#include "outbound/pacer.h"
#include "stream_fixture.h"

#include "fake_clock.h"
#include "flow_owner.h"

#define NFLOWS 8
#define NEDGES 2
#define MAX_SRV (5 * NFLOWS)
#define HS_ITERS 3000
#define DAY_MS (86400u * 1000u)

/* The edges' side of each accepted connection. */
struct srv_conn {
    int fd;
    SSL *ssl;
    bool done;
};

struct cfx {
    uint64_t now;
    uint32_t r;
    struct loop *l;
    struct pki *pki;
    int lfd[NEDGES];
    char uri[NEDGES][64];
    struct cfg_proxy proxy[NEDGES];
    struct srv_conn c[MAX_SRV];
    int nc;
    struct pacer *pacer;
    struct sk_stats stats; /* the flows' counters (TLS handshakes) */
    struct owner o[NFLOWS + 2];
    int no;
    FILE *log;   /* stderr goes here while a test runs */
    int saved_stderr;
};

static int cfx_setup(void **state)
{
    struct cfx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->l = fake_loop_new(&t->now, 1000000);
    t->pki = pki_new();
    for (int e = 0; e < NEDGES; e++) {
        struct sockaddr_in a;

        t->lfd[e] = listen_tcp(&a);
        assert_int_equal(fcntl(t->lfd[e], F_SETFL, O_NONBLOCK), 0);
        snprintf(t->uri[e], sizeof(t->uri[e]), "sips:127.0.0.1:%u", ntohs(a.sin_port));
        t->proxy[e] = (struct cfg_proxy){ .uri = t->uri[e], .host = "127.0.0.1",
                                          .host_family = AF_INET, .port = ntohs(a.sin_port),
                                          .port_explicit = true, .sips = true,
                                          .transport = CFG_TRANSPORT_TLS,
                                          .tls_name = "edge.test" };
    }
    assert_int_equal(pacer_new(&t->pacer), 0);
    t->log = tmpfile();
    assert_non_null(t->log);
    fflush(stderr);
    t->saved_stderr = dup(2);
    assert_true(t->saved_stderr >= 0);
    assert_true(dup2(fileno(t->log), 2) >= 0);
    *state = t;
    return 0;
}

static int cfx_teardown(void **state)
{
    struct cfx *t = *state;

    fflush(stderr);
    dup2(t->saved_stderr, 2);
    close(t->saved_stderr);
    fclose(t->log);
    for (int i = 0; i < t->no; i++)
        flow_free(t->o[i].f);
    for (int i = 0; i < t->nc; i++) {
        SSL_free(t->c[i].ssl);
        close(t->c[i].fd);
    }
    for (int e = 0; e < NEDGES; e++)
        close(t->lfd[e]);
    pacer_free(t->pacer);
    pki_free(t->pki);
    loop_free(t->l);
    free(t);
    return 0;
}

/* How many tls_cert_expiring lines were logged so far. */
static int warnings(struct cfx *t)
{
    static char buf[1 << 16];
    size_t n;
    int count = 0;

    fflush(stderr);
    rewind(t->log);
    n = fread(buf, 1, sizeof(buf) - 1, t->log);
    buf[n] = '\0';
    for (const char *p = buf; (p = strstr(p, "event=tls_cert_expiring ")) != NULL; p++) {
        assert_non_null(strstr(p, "server_name=edge.test not_after="));
        count++;
    }
    fseek(t->log, 0, SEEK_END);
    return count;
}

/* The edges accept, and take their side of every handshake, while the
 * flows' loop turns, until the owners have seen want on_ready in all. */
static void handshakes(struct cfx *t, int want)
{
    int ready = 0;

    for (int it = 0; it < HS_ITERS && ready < want; it++) {
        for (int e = 0; e < NEDGES; e++) {
            int fd;

            while ((fd = accept4(t->lfd[e], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                assert_true(t->nc < MAX_SRV);
                t->c[t->nc].fd = fd;
                t->c[t->nc].ssl = SSL_new(t->pki->srv_ok);
                assert_non_null(t->c[t->nc].ssl);
                SSL_set_fd(t->c[t->nc].ssl, fd);
                t->c[t->nc++].done = false;
            }
        }
        for (int i = 0; i < t->nc; i++) {
            if (!t->c[i].done && SSL_accept(t->c[i].ssl) == 1)
                t->c[i].done = true;
            ERR_clear_error();
        }
        assert_int_equal(loop_run_once(t->l, 1), 0);
        ready = 0;
        for (int i = 0; i < t->no; i++)
            ready += t->o[i].ready;
    }
    assert_int_equal(ready, want);
}

/* A new TLS flow to edge e sharing the pacer, started. */
static void add_flow(struct cfx *t, int e)
{
    struct flow_params p = {
        .loop = t->l, .proxy = &t->proxy[e], .reg_id = 1, .tls = t->pki->cli,
        .keepalive = { .interval = CFG_KEEPALIVE_AUTO, .pong_timeout = 10 },
        .recovery = { FLOW_BACKOFF_BASE_ALL_FAILED, FLOW_BACKOFF_BASE_NOT_FAILED,
                      FLOW_BACKOFF_MAX },
        .pacing = { t->pacer, 0, 1 },
        .rng = { fake_rng, &t->r }, .cbs = &owner_cbs, .arg = &t->o[t->no],
        .stats = &t->stats,
    };

    assert_true(t->no < NFLOWS + 2);
    assert_int_equal(flow_new(&t->o[t->no].f, &p), 0);
    flow_start(t->o[t->no++].f);
}

static int total_ready(const struct cfx *t)
{
    int n = 0;

    for (int i = 0; i < t->no; i++)
        n += t->o[i].ready;
    return n;
}

/* Every flow registered (its 2xx checks the certificate again), then
 * failed and re-formed at once (§4.5 row 0): a new handshake each. */
static void register_all(struct cfx *t)
{
    for (int i = 0; i < t->no; i++) {
        struct flow_info fi;

        flow_registered(t->o[i].f, false, 0);
        flow_get_info(t->o[i].f, &fi);
        assert_true(fi.peer_cert_expiry > (int64_t)time(NULL)); /* the per-flow figure */
    }
}

static void reconnect_all(struct cfx *t)
{
    int want = total_ready(t) + t->no;

    for (int i = 0; i < t->no; i++)
        flow_fail(t->o[i].f, "edge restarted");
    handshakes(t, want);
}

/* NFLOWS flows to edge 0 handshake (and register): one warning.  They all
 * reconnect an hour later: none.  A day after the first: one more.  A
 * flow to edge 1 (same name, another address): its own, once. */
static void test_cert_warning_once_per_edge_and_day(void **state)
{
    struct cfx *t = *state;

    for (int i = 0; i < NFLOWS; i++)
        add_flow(t, 0);
    handshakes(t, NFLOWS);
    register_all(t);
    assert_int_equal(warnings(t), 1);
    /* Each flow's handshake counted once in the daemon's stats (the
     * fixture's client context keeps no sessions: none resumes). */
    assert_int_equal(t->stats.tls_handshakes, NFLOWS);
    assert_int_equal(t->stats.tls_resumed, 0);

    t->now += 3600u * 1000u;
    reconnect_all(t);
    register_all(t);
    assert_int_equal(warnings(t), 1);
    assert_int_equal(t->stats.tls_handshakes, 2 * NFLOWS);
    assert_int_equal(t->stats.tls_resumed, 0);

    t->now = 1000000 + DAY_MS - 1;
    reconnect_all(t);
    register_all(t);
    assert_int_equal(warnings(t), 1);
    t->now = 1000000 + DAY_MS;
    reconnect_all(t);
    register_all(t);
    assert_int_equal(warnings(t), 2);

    add_flow(t, 1);
    handshakes(t, total_ready(t) + 1);
    assert_int_equal(warnings(t), 3);
    add_flow(t, 1);
    handshakes(t, total_ready(t) + 1);
    register_all(t);
    assert_int_equal(warnings(t), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cert_warning_once_per_edge_and_day, cfx_setup,
                                        cfx_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("flow_cert", tests, NULL, NULL);
}
