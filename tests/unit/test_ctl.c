/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the control module: the report builders (JSON escaping of
 * hostile strings, the status table, the JSON shape, the metrics page), the
 * control socket server on a temporary path with the real event loop
 * (request -> answer -> close, oversized and unknown requests, the client
 * limit, the timeout, stale and live sockets), the CLI client against it,
 * and the flow's status snapshot (state age, keep-alive RTT, counters)
 * against a loopback TCP "edge" with a fake clock.  The loop is pumped with
 * bounded waits; nothing sleeps and hopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/stats.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/ctl_int.h"
#include "ctl/report.h"
#include "ctl/status.h"
#include "outbound/flow.h"
#include "fake_clock.h"

#define PUMP_ITER 3000 /* x at most 1 ms of real time */

/* ---- report builders ---- */

static char *json_of(const char *s)
{
    static char out[1024];
    struct report_buf b;

    report_buf_init(&b);
    report_json_str(&b, s);
    assert_int_equal(b.err, 0);
    snprintf(out, sizeof(out), "%s", b.p);
    report_buf_free(&b);
    return out;
}

static void test_json_escaping(void **state)
{
    (void)state;
    assert_string_equal(json_of(NULL), "null");
    assert_string_equal(json_of(""), "\"\"");
    assert_string_equal(json_of("sip:1001@sip.test"), "\"sip:1001@sip.test\"");
    /* Quotes, backslashes and every control byte, DEL included. */
    assert_string_equal(json_of("a\"b\\c\n\r\t\b\f"), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"");
    assert_string_equal(json_of("\x01\x1b[31m\x1f\x7f"), "\"\\u0001\\u001b[31m\\u001f\\u007f\"");
    /* Valid UTF-8 passes (2, 3 and 4 bytes). */
    assert_string_equal(json_of("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* Invalid bytes, overlong forms, surrogates, > U+10FFFF, truncated
     * sequences: one U+FFFD per bad byte, never invalid UTF-8 out. */
    assert_string_equal(json_of("\xff"), "\"\\ufffd\"");
    assert_string_equal(json_of("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
    assert_string_equal(json_of("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(json_of("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(json_of("x\xe2\x82"), "\"x\\ufffd\\ufffd\"");
    assert_string_equal(json_of("\xe2\x82\""), "\"\\ufffd\\ufffd\\\"\"");
}

static const char hostile[] = "sip:\"},\"x\":1\x1b]0;pwn\x07\\\xc2\x9b" "2J\xff@evil";

/* Two bindings: one hostile, one third-party (no instance) in backoff. */
static void sample_status(struct report_buf *b, enum report_format f, struct report_totals *t)
{
    static const struct report_flow fl1[] = {
        { 1, "sip:edge1.test;transport=tcp", "tcp", FLOW_ACTIVE, 42, 3, 20, 0, -1, 1500, 0,
          "192.0.2.1:5062", "srv prio 10 weight 0 _sip._tcp.edge1.test -> a.edge1.test:5062" },
        { 2, "sips:edge2.test", "tls", FLOW_ACTIVE, 7, -1, 0, 2, 55, -1, 1927857906, NULL, NULL },
    };
    static const struct report_flow fl2[] = {
        { 1, "sip:edge1.test;transport=tcp", "tcp", FLOW_CONNECTING, 0, 12, 0, 1, -1, -1, 0,
          NULL, NULL },
    };
    const struct report_binding b1 = { "192.168.1.10:5060", "lab", hostile,
                                    "urn:uuid:00000000-0000-4000-8000-000000000001",
                                    "sip:1001@192.168.1.10", 290, 2, fl1 };
    const struct report_binding b2 = { "[fd00::2]:5062", "lab", "sip:1002@sip.test", NULL,
                                    "sip:1002@[fd00::2]:5062", -1, 1, fl2 };
    const struct report_info info = { "9.9.9", 3600 };

    *t = (struct report_totals){ 0 };
    report_status_begin(b, f, &info);
    report_status_binding(b, f, &b1, true);
    report_totals_add(t, &b1);
    report_status_binding(b, f, &b2, false);
    report_totals_add(t, &b2);
    report_status_end(b, f, t);
}

static void test_status_json(void **state)
{
    struct report_buf b;
    struct report_totals t;

    (void)state;
    report_buf_init(&b);
    sample_status(&b, REPORT_JSON, &t);
    assert_int_equal(b.err, 0);
    assert_int_equal(t.bindings, 2);
    assert_int_equal(t.flows[FLOW_ACTIVE], 2);
    assert_int_equal(t.flows[FLOW_BACKOFF], 0);
    assert_int_equal(t.flows[FLOW_CONNECTING], 1);
    assert_string_equal(b.p,
        "{\"version\":\"9.9.9\",\"uptime_s\":3600,\"bindings\":["
        "{\"ua\":\"192.168.1.10:5060\",\"service\":\"lab\","
        "\"aor\":\"sip:\\\"},\\\"x\\\":1\\u001b]0;pwn\\u0007\\\\\xc2\x9b" "2J\\ufffd@evil\","
        "\"instance\":\"urn:uuid:00000000-0000-4000-8000-000000000001\","
        "\"contact\":\"sip:1001@192.168.1.10\",\"expires_in_s\":290,\"flows\":["
        "{\"reg_id\":1,\"proxy\":\"sip:edge1.test;transport=tcp\",\"transport\":\"tcp\","
        "\"state\":\"active\",\"since_s\":42,\"rtt_ms\":3,\"flow_timer_s\":20,\"failures\":0,"
        "\"retry_in_s\":null,\"peer_cert_expiry\":null,\"target\":\"192.0.2.1:5062\","
        "\"target_why\":\"srv prio 10 weight 0 _sip._tcp.edge1.test -> a.edge1.test:5062\"},"
        "{\"reg_id\":2,\"proxy\":\"sips:edge2.test\",\"transport\":\"tls\","
        "\"state\":\"active\",\"since_s\":7,\"rtt_ms\":null,\"flow_timer_s\":null,"
        "\"failures\":2,\"retry_in_s\":55,\"peer_cert_expiry\":1927857906,"
        "\"target\":null,\"target_why\":null}]},"
        "{\"ua\":\"[fd00::2]:5062\",\"service\":\"lab\",\"aor\":\"sip:1002@sip.test\","
        "\"instance\":null,\"contact\":\"sip:1002@[fd00::2]:5062\",\"expires_in_s\":null,"
        "\"flows\":[{\"reg_id\":1,\"proxy\":\"sip:edge1.test;transport=tcp\","
        "\"transport\":\"tcp\",\"state\":\"connecting\",\"since_s\":0,\"rtt_ms\":12,"
        "\"flow_timer_s\":null,\"failures\":1,\"retry_in_s\":null,\"peer_cert_expiry\":null,"
        "\"target\":null,\"target_why\":null}]}],"
        "\"totals\":{\"bindings\":2,\"flows\":3,\"flows_by_state\":{\"idle\":0,"
        "\"connecting\":1,\"registering\":0,\"active\":2,\"backoff\":0}}}\n");
    report_buf_free(&b);
}

static void test_status_json_empty(void **state)
{
    struct report_buf b;
    struct report_totals t = { 0 };
    const struct report_info info = { "1.0", 0 };

    (void)state;
    report_buf_init(&b);
    report_status_begin(&b, REPORT_JSON, &info);
    report_status_end(&b, REPORT_JSON, &t);
    assert_string_equal(b.p, "{\"version\":\"1.0\",\"uptime_s\":0,\"bindings\":[],"
                             "\"totals\":{\"bindings\":0,\"flows\":0,\"flows_by_state\":{"
                             "\"idle\":0,\"connecting\":0,\"registering\":0,\"active\":0,"
                             "\"backoff\":0}}}\n");
    report_buf_free(&b);
}

static void test_status_table(void **state)
{
    struct report_buf b;
    struct report_totals t;

    (void)state;
    report_buf_init(&b);
    sample_status(&b, REPORT_TEXT, &t);
    assert_int_equal(b.err, 0);
    /* Nothing but printable ASCII and line feeds reaches the terminal. */
    for (size_t i = 0; i < b.len; i++)
        assert_true(b.p[i] == '\n' || (b.p[i] >= 0x20 && b.p[i] < 0x7f));
    assert_non_null(strstr(b.p, "sipkeep 9.9.9, up 3600 s\n"));
    assert_non_null(strstr(b.p, "\nsip:\"},\"x\":1\\x1b]0;pwn\\x07\\x5c\\xc2\\x9b2J\\xff@evil"
                                "  from 192.168.1.10:5060  service lab  expires in 290 s\n"));
    assert_non_null(strstr(b.p, "  instance urn:uuid:00000000-0000-4000-8000-000000000001\n"
                                "  contact  sip:1001@192.168.1.10\n"));
    assert_non_null(strstr(b.p, "    REG-ID STATE       SINCE      RTT        FLOW-TIMER "
                                "FAILURES RETRY-IN   TP   PROXY\n"));
    assert_non_null(strstr(b.p, "    1      active      42s        3ms        20s        "
                                "0        -          tcp  sip:edge1.test;transport=tcp\n"
                                "           -> 192.0.2.1:5062 (srv prio 10 weight 0 "
                                "_sip._tcp.edge1.test -> a.edge1.test:5062)\n"));
    assert_non_null(strstr(b.p, "    2      active      7s         -          -          "
                                "2        55s        tls  sips:edge2.test  certificate until "
                                "2031-02-03T04:05:06Z\n"));
    assert_non_null(strstr(b.p, "sip:1002@sip.test  from [fd00::2]:5062  service lab  "
                                "being removed\n  instance -\n"));
    assert_non_null(strstr(b.p, "\ntotal: 2 bindings, 3 flows (0 idle, 1 connecting, "
                                "0 registering, 2 active, 0 backoff)\n"));
    report_buf_free(&b);
}

/* Four bindings of two services (the per-service families): lab has one
 * registered with reg-id 1 active (pong 2.5 s ago) and 2 in backoff, one
 * being removed (connecting), one registered with both active (pong
 * 7.001 s ago on 1, none yet on 2); pbx one registering. */
static void sample_totals(struct report_totals *t)
{
    static const struct report_flow a[] = {
        { 1, "sip:e1", "tls", FLOW_ACTIVE, 1, 3, 0, 0, -1, 2500, 2000000000, NULL, NULL },
        { 2, "sip:e2", "tcp", FLOW_BACKOFF, 1, -1, 0, 1, 30, -1, 0, NULL, NULL },
    };
    static const struct report_flow bb[] = {
        { 1, "sip:e1", "tcp", FLOW_CONNECTING, 1, -1, 0, 1, -1, -1, 0, NULL, NULL }
    };
    static const struct report_flow c[] = {
        { 1, "sip:p1", "tcp", FLOW_REGISTERING, 1, -1, 0, 0, -1, -1, 0, NULL, NULL }
    };
    static const struct report_flow d[] = {
        { 1, "sip:e1", "tls", FLOW_ACTIVE, 1, 3, 0, 0, -1, 7001, 1927857906, NULL, NULL },
        { 2, "sip:e2", "tcp", FLOW_ACTIVE, 1, 3, 0, 0, -1, -1, 0, NULL, NULL },
    };
    /* Another copy of "lab" (as a retired binding's old config has it). */
    static const char lab2[] = "lab";
    const struct report_binding bs[] = {
        { "10.0.0.1:5060", "lab", "sip:a@x", NULL, "sip:a@10.0.0.1", 290, 2, a },
        { "10.0.0.2:5060", lab2, "sip:b@x", NULL, "sip:b@10.0.0.2", -1, 1, bb },
        { "10.0.0.3:5060", "pbx", "sip:c@y", NULL, "sip:c@10.0.0.3", 100, 1, c },
        { "10.0.0.4:5060", "lab", "sip:d@x", NULL, "sip:d@10.0.0.4", 50, 2, d },
    };

    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++)
        report_totals_add(t, &bs[i]);
}

static void test_metrics(void **state)
{
    const struct sk_stats st = {
        .reg_ok = 5, .reg_failed = 2, .ka_sent = 100, .ka_lost = 1, .flow_recoveries = 3,
        .flow_recoveries_by_cause = { 1, 2, 0, 0 },
        .msg_ua_in = 11, .msg_ua_out = 12, .msg_flow_in = 13, .msg_flow_out = 14,
        .parse_errors = 7, .policy_drops = 8, .tls_handshakes = 9, .tls_resumed = 6,
    };
    static struct report_totals t;
    static const char *const samples[] = {
        "sipkeep_bindings 4",
        "sipkeep_flows{state=\"idle\"} 0",
        "sipkeep_flows{state=\"connecting\"} 1",
        "sipkeep_flows{state=\"registering\"} 1",
        "sipkeep_flows{state=\"active\"} 3",
        "sipkeep_flows{state=\"backoff\"} 1",
        "sipkeep_registrations_total{result=\"ok\"} 5",
        "sipkeep_registrations_total{result=\"failed\"} 2",
        "sipkeep_keepalives_sent_total 100",
        "sipkeep_keepalives_lost_total 1",
        "sipkeep_flow_recoveries_total 3",
        "sipkeep_messages_total{direction=\"in\",side=\"ua\"} 11",
        "sipkeep_messages_total{direction=\"out\",side=\"ua\"} 12",
        "sipkeep_messages_total{direction=\"in\",side=\"flow\"} 13",
        "sipkeep_messages_total{direction=\"out\",side=\"flow\"} 14",
        "sipkeep_parse_errors_total 7",
        "sipkeep_policy_drops_total 8",
        "sipkeep_tls_handshakes_total{resumed=\"false\"} 3",
        "sipkeep_tls_handshakes_total{resumed=\"true\"} 6",
        "sipkeep_service_bindings{service=\"lab\",state=\"registering\"} 0",
        "sipkeep_service_bindings{service=\"lab\",state=\"registered\"} 2",
        "sipkeep_service_bindings{service=\"lab\",state=\"removing\"} 1",
        "sipkeep_service_bindings{service=\"pbx\",state=\"registering\"} 1",
        "sipkeep_service_bindings{service=\"pbx\",state=\"registered\"} 0",
        "sipkeep_service_bindings{service=\"pbx\",state=\"removing\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"1\",state=\"idle\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"1\",state=\"connecting\"} 1",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"1\",state=\"registering\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"1\",state=\"active\"} 2",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"1\",state=\"backoff\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"2\",state=\"idle\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"2\",state=\"connecting\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"2\",state=\"registering\"} 0",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"2\",state=\"active\"} 1",
        "sipkeep_service_flows{service=\"lab\",reg_id=\"2\",state=\"backoff\"} 1",
        "sipkeep_service_flows{service=\"pbx\",reg_id=\"1\",state=\"idle\"} 0",
        "sipkeep_service_flows{service=\"pbx\",reg_id=\"1\",state=\"connecting\"} 0",
        "sipkeep_service_flows{service=\"pbx\",reg_id=\"1\",state=\"registering\"} 1",
        "sipkeep_service_flows{service=\"pbx\",reg_id=\"1\",state=\"active\"} 0",
        "sipkeep_service_flows{service=\"pbx\",reg_id=\"1\",state=\"backoff\"} 0",
        /* lab/2's active flow has had no pong yet: no sample. */
        "sipkeep_service_pong_age_max_seconds{service=\"lab\",reg_id=\"1\"} 7.001",
        /* The earlier of lab/1's two certificates; no TLS elsewhere: no sample. */
        "sipkeep_service_peer_cert_expiry_timestamp_seconds{service=\"lab\",reg_id=\"1\"} "
        "1927857906",
        "sipkeep_flow_recoveries_by_cause_total{cause=\"connection\"} 1",
        "sipkeep_flow_recoveries_by_cause_total{cause=\"keepalive\"} 2",
        "sipkeep_flow_recoveries_by_cause_total{cause=\"register\"} 0",
        "sipkeep_flow_recoveries_by_cause_total{cause=\"other\"} 0",
    };
    struct report_buf b;
    char *save = NULL, *line;
    char family[64] = "";
    size_t next = 0;

    (void)state;
    sample_totals(&t);
    assert_int_equal(t.nservices, 2);
    assert_int_equal(t.ngroups, 3);
    assert_int_equal(t.unlisted, 0);
    report_buf_init(&b);
    report_metrics(&b, &st, &t);
    assert_int_equal(b.err, 0);
    assert_true(b.len > 0 && b.p[b.len - 1] == '\n');
    /* Exposition format: each family's HELP then TYPE precede its samples,
     * in order; counters are named *_total. */
    for (line = strtok_r(b.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64], type[16];
        if (sscanf(line, "# TYPE %63s %15s", name, type) == 2) {
            assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
            if (strcmp(type, "counter") == 0)
                assert_non_null(strstr(name, "_total"));
            assert_string_equal(family, name); /* HELP came first */
        } else if (sscanf(line, "# HELP %63s", family) == 1) {
            continue;
        } else {
            assert_true(next < sizeof(samples) / sizeof(samples[0]));
            assert_string_equal(line, samples[next]);
            assert_int_equal(strncmp(line, family, strlen(family)), 0);
            next++;
        }
    }
    assert_int_equal(next, sizeof(samples) / sizeof(samples[0]));
    report_buf_free(&b);
}

/* Service names beyond CFG_MAX_SERVICES (old configs' retired bindings)
 * count in the totals, not as new series. */
static void test_metrics_service_limit(void **state)
{
    static struct report_totals t;
    static char names[CFG_MAX_SERVICES + 1][8];
    const struct report_flow fl = { 1, "sip:e", "tcp", FLOW_ACTIVE, 1, 1, 0, 0, -1, 10, 0,
                                    NULL, NULL };

    (void)state;
    for (size_t i = 0; i <= CFG_MAX_SERVICES; i++) {
        const struct report_binding rb = { "10.0.0.1:5060", names[i], "sip:a@x", NULL,
                                           "sip:a@10.0.0.1", 60, 1, &fl };
        snprintf(names[i], sizeof(names[i]), "s%zu", i);
        report_totals_add(&t, &rb);
    }
    assert_int_equal(t.bindings, CFG_MAX_SERVICES + 1);
    assert_int_equal(t.flows[FLOW_ACTIVE], CFG_MAX_SERVICES + 1);
    assert_int_equal(t.nservices, CFG_MAX_SERVICES);
    assert_int_equal(t.ngroups, CFG_MAX_SERVICES);
    assert_int_equal(t.unlisted, 1);
}

static void test_parse_request(void **state)
{
    enum ctl_request r;

    (void)state;
    assert_int_equal(ctl_parse_request("status", &r), 0);
    assert_int_equal(r, CTL_REQ_STATUS);
    assert_int_equal(ctl_parse_request("status json", &r), 0);
    assert_int_equal(r, CTL_REQ_STATUS_JSON);
    assert_int_equal(ctl_parse_request("metrics", &r), 0);
    assert_int_equal(r, CTL_REQ_METRICS);
    assert_int_equal(ctl_parse_request("STATUS", &r), -EINVAL);
    assert_int_equal(ctl_parse_request("status  json", &r), -EINVAL);
    assert_int_equal(ctl_parse_request("", &r), -EINVAL);
}

/* ---- the server ---- */

struct srv_fx {
    char dir[64];
    char path[128];
    struct loop *l;
    struct ctl_server *s;
    int calls;
    int fail;                 /* handler returns this when non-zero */
};

static int fake_handler(enum ctl_request req, struct report_buf *out, void *arg)
{
    struct srv_fx *t = arg;

    t->calls++;
    if (t->fail)
        return t->fail;
    report_printf(out, "answer to %d\n", (int)req);
    return 0;
}

static int srv_setup(void **state)
{
    struct srv_fx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/sk-test-ctl.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    /* A subdirectory that does not exist yet: the server creates it. */
    snprintf(t->path, sizeof(t->path), "%s/run/ctl.sock", t->dir);
    assert_int_equal(loop_new(&t->l, NULL), 0);
    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    *state = t;
    return 0;
}

static int srv_teardown(void **state)
{
    struct srv_fx *t = *state;
    char sub[160];

    ctl_server_free(t->s);
    loop_free(t->l);
    unlink(t->path);
    snprintf(sub, sizeof(sub), "%s/run", t->dir);
    rmdir(sub);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void srv_open(struct srv_fx *t, unsigned max_clients, uint64_t timeout_ms)
{
    struct ctl_limits lim = { max_clients, timeout_ms };

    assert_int_equal(ctl_server_open(&t->s, t->l, t->path, &lim, fake_handler, t), 0);
}

static void set_sun(struct sockaddr_un *sa, const char *path)
{
    assert_true(strlen(path) < sizeof(sa->sun_path));
    memcpy(sa->sun_path, path, strlen(path) + 1);
}

static int cli_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    set_sun(&sa, path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static ssize_t pump_read_all(struct srv_fx *t, int fd, char *buf, size_t cap)
{
    return fake_loop_read_all(t->l, fd, buf, cap, PUMP_ITER);
}

static void pump_until_clients(struct srv_fx *t, unsigned want)
{
    for (int i = 0; i < PUMP_ITER && ctl_server_clients(t->s) != want; i++)
        assert_int_equal(loop_run_once(t->l, 1), 0);
    assert_int_equal(ctl_server_clients(t->s), want);
}

static void test_server_request_answer_close(void **state)
{
    struct srv_fx *t = *state;
    static const char *const reqs[] = { "status\n", "status json\r\n", "metrics" };
    struct stat st;
    char buf[256];

    srv_open(t, 0, 0);
    assert_int_equal(lstat(t->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    for (int i = 0; i < 3; i++) {
        int fd = cli_connect(t->path);
        assert_int_equal(send(fd, reqs[i], strlen(reqs[i]), 0), (ssize_t)strlen(reqs[i]));
        if (i == 2)
            shutdown(fd, SHUT_WR); /* no terminator: end of input ends it */
        assert_true(pump_read_all(t, fd, buf, sizeof(buf)) > 0);
        snprintf(buf + 64, 32, "answer to %d\n", i);
        assert_string_equal(buf, buf + 64);
        close(fd);
    }
    assert_int_equal(t->calls, 3);
    pump_until_clients(t, 0);
    /* Removed at exit. */
    ctl_server_free(t->s);
    t->s = NULL;
    assert_int_equal(lstat(t->path, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void expect_error(struct srv_fx *t, const char *req, size_t len, const char *want)
{
    int fd = cli_connect(t->path);
    char buf[256];

    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    assert_true(pump_read_all(t, fd, buf, sizeof(buf)) >= 0);
    assert_string_equal(buf, want);
    close(fd);
}

static void test_server_bad_requests(void **state)
{
    struct srv_fx *t = *state;
    char big[200];

    srv_open(t, 0, 0);
    memset(big, 'x', sizeof(big));
    expect_error(t, big, sizeof(big), "error: request too long\n");
    expect_error(t, "statusjson\n", 11, "error: unknown request (status, status json or "
                 "metrics)\n");
    expect_error(t, "status\0json\n", 12, "error: unknown request (status, status json or "
                 "metrics)\n");
    t->fail = -ENOMEM;
    expect_error(t, "status\n", 7, "error: Cannot allocate memory\n");
    assert_int_equal(t->calls, 1);
    pump_until_clients(t, 0);
}

static void test_server_client_limit(void **state)
{
    struct srv_fx *t = *state;
    int a, b, c;
    char buf[256];

    srv_open(t, 2, 0);
    a = cli_connect(t->path);
    b = cli_connect(t->path);
    pump_until_clients(t, 2);
    c = cli_connect(t->path);
    assert_true(pump_read_all(t, c, buf, sizeof(buf)) >= 0);
    assert_string_equal(buf, "error: too many control clients\n");
    assert_int_equal(ctl_server_clients(t->s), 2);
    /* The two held slots still work. */
    assert_int_equal(send(a, "metrics\n", 8, 0), 8);
    assert_true(pump_read_all(t, a, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "answer to 2\n");
    close(a);
    close(b);
    close(c);
    pump_until_clients(t, 0);
}

static void test_server_timeout(void **state)
{
    struct srv_fx *t = *state;
    int fd;
    char buf[64];

    srv_open(t, 1, 20);
    fd = cli_connect(t->path);
    assert_int_equal(send(fd, "sta", 3, 0), 3); /* and never the rest */
    assert_int_equal(pump_read_all(t, fd, buf, sizeof(buf)), 0);
    assert_int_equal(ctl_server_clients(t->s), 0);
    assert_int_equal(t->calls, 0);
    close(fd);
    /* The slot is free again. */
    fd = cli_connect(t->path);
    assert_int_equal(send(fd, "status\n", 7, 0), 7);
    assert_true(pump_read_all(t, fd, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "answer to 0\n");
    close(fd);
}

static void test_server_socket_file(void **state)
{
    struct srv_fx *t = *state;
    struct ctl_server *other = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char longpath[200];
    int fd;

    /* A stale socket (bound, nobody listening) is replaced. */
    assert_int_equal(ctl_server_open(&t->s, t->l, t->path, NULL, fake_handler, t), 0);
    ctl_server_free(t->s);
    t->s = NULL;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    set_sun(&sa, t->path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    srv_open(t, 0, 0);
    /* A live one is not touched. */
    assert_int_equal(ctl_server_open(&other, t->l, t->path, NULL, fake_handler, t),
                     -EADDRINUSE);
    assert_null(other);
    expect_error(t, "nope\n", 5, "error: unknown request (status, status json or metrics)\n");
    ctl_server_free(t->s);
    t->s = NULL;
    /* Neither is a file that is not a socket. */
    fd = open(t->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ctl_server_open(&other, t->l, t->path, NULL, fake_handler, t), -EEXIST);
    unlink(t->path);
    memset(longpath, 'a', sizeof(longpath));
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(ctl_server_open(&other, t->l, longpath, NULL, fake_handler, t),
                     -ENAMETOOLONG);
}

/* The CLI side is blocking: the loop runs in a thread of its own. */
struct loop_thread {
    struct srv_fx *t;
    atomic_bool stop;
};

static void *run_loop(void *arg)
{
    struct loop_thread *lt = arg;

    while (!atomic_load(&lt->stop))
        loop_run_once(lt->t->l, 5);
    return NULL;
}

static void test_client_request(void **state)
{
    struct srv_fx *t = *state;
    struct loop_thread lt = { .t = t };
    struct report_buf ans;
    pthread_t th;
    char missing[160];

    srv_open(t, 0, 0);
    assert_int_equal(pthread_create(&th, NULL, run_loop, &lt), 0);
    report_buf_init(&ans);
    assert_int_equal(ctl_client_request(t->path, "status json", 5000, &ans), 0);
    assert_string_equal(ans.p, "answer to 1\n");
    report_buf_free(&ans);
    assert_int_equal(ctl_client_request(t->path, "bogus", 5000, &ans), 0);
    assert_string_equal(ans.p, "error: unknown request (status, status json or metrics)\n");
    report_buf_free(&ans);
    atomic_store(&lt.stop, true);
    pthread_join(th, NULL);
    snprintf(missing, sizeof(missing), "%s/none.sock", t->dir);
    assert_int_equal(ctl_client_request(missing, "status", 5000, &ans), -ENOENT);
    report_buf_free(&ans);
}

/* The daemon's handler without a router: an empty status, and the counters. */
static void test_status_answer_without_router(void **state)
{
    struct srv_fx *t = *state;
    const struct sk_stats st = { .reg_ok = 9 };
    const struct ctl_source src = { NULL, &st, t->l, loop_now(t->l), "1.2.3" };
    struct report_buf b;

    report_buf_init(&b);
    assert_int_equal(ctl_status_answer(CTL_REQ_STATUS_JSON, &b, (void *)&src), 0);
    assert_non_null(strstr(b.p, "\"bindings\":[],"));
    report_buf_free(&b);
    assert_int_equal(ctl_status_answer(CTL_REQ_METRICS, &b, (void *)&src), 0);
    assert_non_null(strstr(b.p, "\nsipkeep_registrations_total{result=\"ok\"} 9\n"));
    assert_non_null(strstr(b.p, "\nsipkeep_bindings 0\n"));
    report_buf_free(&b);
}

/* ---- the flow's snapshot ---- */

struct flow_fx {
    uint64_t now;
    struct loop *l;
    int lfd, cfd;
    struct cfg_proxy proxy;
    char uri[96];
    struct flow *f;
    struct sk_stats st;
    int ready, downs;
    struct flow_info at_down;  /* the snapshot on_down saw */
};

static uint64_t ff_now(void *ctx)
{
    return ((struct flow_fx *)ctx)->now;
}

static uint32_t fixed_rng(void *ctx)
{
    (void)ctx;
    return UINT32_MAX; /* keep-alive at 100 % of Flow-Timer */
}

static void ff_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    (void)f;
    (void)local;
    ((struct flow_fx *)arg)->ready++;
}

static void ff_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    (void)f, (void)msg, (void)len, (void)arg;
}

static void ff_down(struct flow *f, const char *reason, void *arg)
{
    struct flow_fx *x = arg;

    (void)reason;
    x->downs++;
    flow_get_info(f, &x->at_down);
}

static const struct flow_cbs ff_cbs = { ff_ready, ff_message, ff_down, NULL };

static void ff_turns(struct flow_fx *x, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(loop_run_once(x->l, 1), 0);
}

static void ff_connect(struct flow_fx *x)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    struct loop_clock clk = { ff_now, x };
    struct flow_params p;

    x->now = 500000;
    assert_int_equal(loop_new(&x->l, &clk), 0);
    x->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(x->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(x->lfd, 4), 0);
    assert_int_equal(getsockname(x->lfd, (struct sockaddr *)&sin, &len), 0);
    snprintf(x->uri, sizeof(x->uri), "sip:127.0.0.1:%u;transport=tcp", ntohs(sin.sin_port));
    x->proxy = (struct cfg_proxy){ .uri = x->uri, .host = (char *)"127.0.0.1",
                                   .host_family = AF_INET, .port = ntohs(sin.sin_port),
                                   .port_explicit = true, .transport = CFG_TRANSPORT_TCP };
    p = (struct flow_params){ .loop = x->l, .proxy = &x->proxy, .reg_id = 1,
                              .keepalive = { CFG_KEEPALIVE_AUTO, 10 },
                              .recovery = { 30, 90, 1800 }, .rng = { fixed_rng, x },
                              .cbs = &ff_cbs, .arg = x, .stats = &x->st };
    assert_int_equal(flow_new(&x->f, &p), 0);
    flow_start(x->f);
    x->cfd = accept(x->lfd, NULL, NULL);
    assert_true(x->cfd >= 0);
    for (int i = 0; i < PUMP_ITER && !x->ready; i++)
        ff_turns(x, 1);
    assert_int_equal(x->ready, 1);
}

static void test_flow_info(void **state)
{
    struct flow_fx x = { 0 };
    struct flow_info fi;
    char buf[16];
    struct pollfd pfd;

    (void)state;
    ff_connect(&x);
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.state, FLOW_REGISTERING);
    assert_int_equal(fi.since_ms, 0);
    assert_int_equal(fi.rtt_ms, -1);
    assert_int_equal(fi.retry_in_ms, -1);
    x.now += 1500;
    assert_int_equal(flow_send(x.f, "REGISTER\r\n\r\n", 12), 0);
    assert_int_equal(x.st.msg_flow_out, 1);
    flow_registered(x.f, true, 20);
    x.now += 2500;
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.state, FLOW_ACTIVE);
    assert_int_equal(fi.since_ms, 2500);
    assert_int_equal(fi.flow_timer, 20);
    /* The ping goes out at 20 s; the pong comes back 37 ms later. */
    x.now += 20000 - 2500;
    ff_turns(&x, 2);
    assert_int_equal(x.st.ka_sent, 1);
    pfd = (struct pollfd){ .fd = x.cfd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_true(recv(x.cfd, buf, sizeof(buf), 0) > 0);
    x.now += 37;
    assert_int_equal(send(x.cfd, "\r\n", 2, 0), 2);
    for (int i = 0; i < PUMP_ITER && !flow_working(x.f); i++)
        ff_turns(&x, 1);
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.rtt_ms, 37);
    assert_int_equal(x.st.flow_recoveries, 0); /* first success is no recovery */
    /* The edge goes away: back-off, with the retry time known.  §4.5: a
     * working flow's death retries at once (so the state is seen in
     * on_down: the loop reconnects in the same pass). */
    close(x.cfd);
    for (int i = 0; i < PUMP_ITER && !x.downs; i++)
        ff_turns(&x, 1);
    assert_int_equal(x.at_down.state, FLOW_BACKOFF);
    assert_int_equal(x.at_down.failures, 1);
    assert_int_equal(x.at_down.rtt_ms, 37);
    assert_int_equal(x.at_down.retry_in_ms, 0);
    /* The retry fails too (nobody accepts any more): 30-60 s, here 60 s. */
    close(x.lfd);
    for (int i = 0; i < PUMP_ITER && x.downs < 2; i++)
        ff_turns(&x, 1);
    assert_int_equal(x.downs, 2);
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.state, FLOW_BACKOFF);
    assert_int_equal(fi.failures, 2);
    assert_int_equal(fi.retry_in_ms, 60000);
    x.now += 1000;
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.since_ms, 1000);
    assert_int_equal(fi.retry_in_ms, 59000);
    flow_free(x.f);
    loop_free(x.l);
}

/* The keep-alive due Flow-Timer (20 s) after the last one goes out; the
 * edge answers it with a pong, or not (answer false). */
static void ff_ping(struct flow_fx *x, bool answer)
{
    struct pollfd pfd = { .fd = x->cfd, .events = POLLIN };
    char buf[16];

    x->now += 20000;
    ff_turns(x, 2);
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_true(recv(x->cfd, buf, sizeof(buf), 0) > 0);
    if (!answer)
        return;
    assert_int_equal(send(x->cfd, "\r\n", 2, 0), 2);
    for (int i = 0; i < PUMP_ITER && !flow_working(x->f); i++)
        ff_turns(x, 1);
    assert_true(flow_working(x->f));
}

/* After a failure of a working flow: its immediate retry is accepted and
 * registered. */
static void ff_reconnect(struct flow_fx *x)
{
    int ready = x->ready;

    for (int i = 0; i < PUMP_ITER && flow_state(x->f) == FLOW_BACKOFF; i++)
        ff_turns(x, 1);
    x->cfd = accept(x->lfd, NULL, NULL);
    assert_true(x->cfd >= 0);
    for (int i = 0; i < PUMP_ITER && x->ready == ready; i++)
        ff_turns(x, 1);
    assert_int_equal(x->ready, ready + 1);
    flow_registered(x->f, true, 20);
}

/* The age of the last pong, and each recovery counted by what failed the
 * flow: first a lost connection, then a missing pong. */
static void test_flow_pong_age_and_recovery_cause(void **state)
{
    struct flow_fx x = { 0 };
    struct flow_info fi;

    (void)state;
    ff_connect(&x);
    flow_registered(x.f, true, 20);
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.pong_age_ms, -1);
    ff_ping(&x, true);
    x.now += 1500;
    flow_get_info(x.f, &fi);
    assert_int_equal(fi.pong_age_ms, 1500);
    close(x.cfd);
    for (int i = 0; i < PUMP_ITER && !x.downs; i++)
        ff_turns(&x, 1);
    assert_int_equal(x.at_down.pong_age_ms, -1); /* a new connection has none */
    ff_reconnect(&x);
    ff_ping(&x, true);
    assert_int_equal(x.st.flow_recoveries, 1);
    assert_int_equal(x.st.flow_recoveries_by_cause[SK_DOWN_CONNECTION], 1);
    /* A ping without a pong: failed after pong_timeout (10 s) and the 1 ms
     * grace; it recovers the same way. */
    ff_ping(&x, false);
    x.now += 10000;
    ff_turns(&x, 2);
    x.now += 1;
    for (int i = 0; i < PUMP_ITER && x.downs < 2; i++)
        ff_turns(&x, 1);
    assert_int_equal(x.downs, 2);
    assert_int_equal(x.st.ka_lost, 1);
    close(x.cfd);
    ff_reconnect(&x);
    ff_ping(&x, true);
    assert_int_equal(x.st.flow_recoveries, 2);
    assert_int_equal(x.st.flow_recoveries_by_cause[SK_DOWN_CONNECTION], 1);
    assert_int_equal(x.st.flow_recoveries_by_cause[SK_DOWN_KEEPALIVE], 1);
    assert_int_equal(x.st.flow_recoveries_by_cause[SK_DOWN_REGISTER], 0);
    assert_int_equal(x.st.flow_recoveries_by_cause[SK_DOWN_OTHER], 0);
    close(x.cfd);
    close(x.lfd);
    flow_free(x.f);
    loop_free(x.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_status_json_empty),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_service_limit),
        cmocka_unit_test(test_parse_request),
        cmocka_unit_test_setup_teardown(test_server_request_answer_close, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_bad_requests, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_client_limit, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_timeout, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_server_socket_file, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_client_request, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_status_answer_without_router, srv_setup,
                                        srv_teardown),
        cmocka_unit_test(test_flow_info),
        cmocka_unit_test(test_flow_pong_age_and_recovery_cause),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
