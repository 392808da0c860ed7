/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the configuration loader: the example file, defaults,
 * YAML syntax errors, the API's edges and the run-time lookups
 * cfg_service_for_domain(), cfg_service_named() and cfg_ua_allowed().
 * Schema errors are in test_config_schema.c. */
#include "config_fixture.h"

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

/* ---- successful loads ------------------------------------------------------- */

static void test_example_file(void **state)
{
    struct cfg *cfg = NULL;
    char err[512] = "";
    const struct cfg_service *s;
    struct in_addr any = { 0 };

    (void)state;
    assert_int_equal(cfg_load_file("config/sipkeep.yaml", &cfg, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg->mode, CFG_MODE_PROXY);
    assert_int_equal(cfg->n_listen, 1);
    assert_string_equal(cfg->listen[0].text, "udp:0.0.0.0:5060");
    assert_int_equal(cfg->listen[0].addr.ss_family, AF_INET);
    assert_memory_equal(&((struct sockaddr_in *)(void *)&cfg->listen[0].addr)->sin_addr,
                        &any, sizeof(any));
    assert_int_equal(port_of(&cfg->listen[0].addr), 5060);
    assert_string_equal(cfg->state_dir, "/var/lib/sipkeep");
    assert_string_equal(cfg->control_socket, "/run/sipkeep/sipkeep.sock");
    assert_string_equal(cfg->user, "sipkeep");
    assert_int_equal(cfg->log.level, LOG_LVL_INFO);
    assert_int_equal(cfg->log.target, LOG_TARGET_STDERR);
    assert_int_equal(cfg->ua.n_allow, 2);
    assert_int_equal(cfg->ua.allow[0].family, AF_INET);
    assert_int_equal(cfg->ua.allow[0].prefix, 16);
    assert_int_equal(cfg->ua.allow[1].family, AF_INET6);
    assert_int_equal(cfg->ua.allow[1].prefix, 8);
    assert_int_equal(cfg->ua.register_expires, 300);
    assert_int_equal(cfg->n_services, 1);
    s = &cfg->services[0];
    assert_string_equal(s->name, "provider");
    assert_string_equal(s->domain, "sip.example.net");
    assert_int_equal(s->n_outbound_proxies, 2);
    assert_string_equal(s->outbound_proxies[0].host, "edge1.example.net");
    assert_int_equal(s->outbound_proxies[0].transport, CFG_TRANSPORT_TCP);
    assert_string_equal(s->outbound_proxies[1].uri, "sips:edge2.example.net:5061");
    assert_int_equal(s->outbound_proxies[1].transport, CFG_TRANSPORT_TLS);
    assert_string_equal(s->tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    assert_true(s->tls.verify);
    assert_int_equal(s->keepalive.interval, CFG_KEEPALIVE_AUTO);
    assert_int_equal(s->keepalive.pong_timeout, 10);
    /* RFC 5626 §4.5's values. */
    assert_int_equal(s->recovery.base_time_all_failed, 30);
    assert_int_equal(s->recovery.base_time_not_failed, 90);
    assert_int_equal(s->recovery.max_time, 1800);
    cfg_free(cfg);
}

static void test_defaults(void **state)
{
    struct cfg *cfg = load_ok(MIN);
    const struct cfg_service *s = &cfg->services[0];

    (void)state;
    assert_int_equal(cfg->mode, CFG_MODE_PROXY);
    assert_int_equal(cfg->n_listen, 1);
    assert_string_equal(cfg->listen[0].text, "udp:0.0.0.0:5060");
    assert_int_equal(cfg->listen[0].transport, CFG_TRANSPORT_UDP);
    assert_int_equal(cfg->listen[0].addr.ss_family, AF_INET);
    assert_int_equal(cfg->listen[0].addrlen, sizeof(struct sockaddr_in));
    assert_int_equal(port_of(&cfg->listen[0].addr), 5060);
    assert_string_equal(cfg->state_dir, "/var/lib/sipkeep");
    assert_string_equal(cfg->user, "sipkeep");
    assert_int_equal(cfg->log.level, LOG_LVL_INFO);
    assert_int_equal(cfg->log.target, LOG_TARGET_STDERR);
    assert_int_equal(cfg->ua.n_allow, 1);
    assert_int_equal(cfg->ua.register_expires, 300);
    assert_string_equal(s->tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    assert_true(s->tls.verify);
    assert_int_equal(s->keepalive.interval, CFG_KEEPALIVE_AUTO);
    assert_int_equal(s->keepalive.pong_timeout, 10);
    assert_int_equal(s->n_outbound_proxies, 1);
    assert_string_equal(s->outbound_proxies[0].uri, "sip:edge.example.net");
    cfg_free(cfg);
}

static void test_every_key_set_flow_style(void **state)
{
    struct cfg *cfg = load_ok(
        "{mode: transparent, listen: [\"udp:[::]:5062\", \"UDP:127.0.0.1:5070\"],\n"
        " state_dir: /tmp/sk, log: {level: debug, target: syslog},\n"
        " control_socket: /tmp/sk/ctl.sock, user: sip_keep.2-x,\n"
        " ua: {allow: [\"10.0.0.0/8\", \"fd00::/8\"], register_expires: 86400},\n"
        " services: [{name: a_1, domain: a.example, outbound_proxies: [\"sip:x.a.example\"],\n"
        "             tls: {ca_file: /etc/ca.pem, verify: false},\n"
        "             keepalive: {interval: 3600, pong_timeout: 60}},\n"
        "            {name: B-2, domain: b.example, outbound_proxies: [\"sip:y.b.example\"],\n"
        "             keepalive: {interval: 5, pong_timeout: 1}, tls: {verify: True}}]}\n");
    const struct sockaddr_in6 *sin6 = (const void *)&cfg->listen[0].addr;
    const struct sockaddr_in *sin = (const void *)&cfg->listen[1].addr;

    (void)state;
    assert_int_equal(cfg->mode, CFG_MODE_TRANSPARENT);
    assert_int_equal(cfg->n_listen, 2);
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
    assert_int_equal(ntohs(sin6->sin6_port), 5062);
    assert_int_equal(cfg->listen[0].addrlen, sizeof(struct sockaddr_in6));
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(ntohs(sin->sin_port), 5070);
    assert_string_equal(cfg->listen[1].text, "UDP:127.0.0.1:5070");
    assert_string_equal(cfg->state_dir, "/tmp/sk");
    assert_string_equal(cfg->control_socket, "/tmp/sk/ctl.sock");
    assert_string_equal(cfg->user, "sip_keep.2-x");
    assert_int_equal(cfg->log.level, LOG_LVL_DEBUG);
    assert_int_equal(cfg->log.target, LOG_TARGET_SYSLOG);
    assert_int_equal(cfg->ua.register_expires, 86400);
    assert_int_equal(cfg->n_services, 2);
    assert_string_equal(cfg->services[0].name, "a_1");
    assert_string_equal(cfg->services[0].tls.ca_file, "/etc/ca.pem");
    assert_false(cfg->services[0].tls.verify);
    assert_int_equal(cfg->services[0].keepalive.interval, 3600);
    assert_int_equal(cfg->services[0].keepalive.pong_timeout, 60);
    assert_string_equal(cfg->services[1].name, "B-2");
    assert_true(cfg->services[1].tls.verify);
    assert_string_equal(cfg->services[1].tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    assert_int_equal(cfg->services[1].keepalive.interval, 5);
    assert_int_equal(cfg->services[1].keepalive.pong_timeout, 1);
    cfg_free(cfg);
}

static void test_range_bounds_accepted(void **state)
{
    struct cfg *cfg = load_ok("ua:\n  allow: [\"10.0.0.0/8\"]\n  register_expires: 60\n" SVC
                              "    keepalive: {interval: auto, pong_timeout: 1}\n"
                              "    recovery: {base_time_all_failed: 1, base_time_not_failed: 86400,\n"
                              "               max_time: 1}\n"
                              "    tls: {verify: FALSE}\n");

    (void)state;
    assert_int_equal(cfg->ua.register_expires, 60);
    assert_int_equal(cfg->services[0].keepalive.interval, CFG_KEEPALIVE_AUTO);
    assert_int_equal(cfg->services[0].keepalive.pong_timeout, 1);
    assert_false(cfg->services[0].tls.verify);
    assert_int_equal(cfg->services[0].recovery.base_time_all_failed, 1);
    assert_int_equal(cfg->services[0].recovery.base_time_not_failed, 86400);
    assert_int_equal(cfg->services[0].recovery.max_time, 1);
    cfg_free(cfg);
}

/* ---- YAML syntax -------------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    check_err("log:\n  level: info: x\n",
              "t.yaml:2:14: syntax error: mapping values are not allowed in this context");
    check_err("mode: proxy\nlog:\n  level: info\n target: x\n",
              "t.yaml:4:2: syntax error: did not find expected key "
              "(while parsing a block mapping at 1:1)");
    check_err("mode: proxy\nua: \"abc\n",
              "t.yaml:3:1: syntax error: found unexpected end of stream "
              "(while scanning a quoted scalar at 2:5)");
    check_err("ua: {allow: [10.0.0.0/8]\nservices: x\n",
              "t.yaml:2:1: syntax error: did not find expected ',' or '}' "
              "(while parsing a flow mapping at 1:5)");
    check_err("mode:\tproxy\n\tfoo: 1\n",
              "t.yaml:2:1: syntax error: found a tab character that violates "
              "indentation (while scanning a plain scalar at 1:7)");
    /* Reader errors carry a byte offset, turned into line:col here. */
    check_err("mode: proxy\nlog: {level: in\xff}\n",
              "t.yaml:2:16: syntax error: invalid leading UTF-8 octet (byte 0xff)");
}

static void test_document_shape(void **state)
{
    (void)state;
    check_err("", "t.yaml:1:1: the configuration is empty");
    check_err("# only a comment\n", "t.yaml:1:1: the configuration is empty");
    check_err("---\n", "t.yaml:2:1: the configuration is empty");
    check_err("- a\n- b\n",
              "t.yaml:1:1: the configuration must be a mapping of keys, not a sequence");
    check_err("hello\n",
              "t.yaml:1:1: the configuration must be a mapping of keys, not a scalar");
    check_err(MIN "---\nmode: proxy\n", "t.yaml:7:1: only one YAML document is allowed");
    check_err("ua: &u {allow: [\"10.0.0.0/8\"]}\nservices: *u\n",
              "t.yaml:2:11: aliases (*name) are not supported");
    check_err("? [a]\n: b\n", "t.yaml:1:3: keys must be scalars, not a sequence");
}

/* services[].flows: N flows (reg-id 1..N), by default one per proxy;
 * 1..8 like the proxies; a change is a changed service (reload). */
static void test_flows(void **state)
{
    struct cfg *a, *b;

    (void)state;
    a = load_ok(MIN);
    assert_int_equal(a->services[0].flows, 0);
    assert_int_equal(cfg_service_nflows(&a->services[0]), 1);
    cfg_free(a);
    a = load_ok(UA "services:\n  - name: p\n    domain: d\n    outbound_proxies: "
                "[\"sip:a\", \"sip:b\"]\n");
    assert_int_equal(cfg_service_nflows(&a->services[0]), 2);
    b = load_ok(UA "services:\n  - name: p\n    domain: d\n    outbound_proxies: "
                "[\"sip:a\", \"sip:b\"]\n    flows: 8\n");
    assert_int_equal(cfg_service_nflows(&b->services[0]), 8);
    assert_false(cfg_service_equal(&a->services[0], &b->services[0]));
    cfg_free(a);
    a = load_ok(UA "services:\n  - name: p\n    domain: d\n    outbound_proxies: "
                "[\"sip:a\", \"sip:b\"]\n    flows: 8\n");
    assert_true(cfg_service_equal(&a->services[0], &b->services[0]));
    cfg_free(a);
    cfg_free(b);
    check_err(MIN "    flows: 0\n",
              "t.yaml:7:12: services[0].flows must be an integer between 1 and 8 (got '0')");
    check_err(MIN "    flows: 9\n",
              "t.yaml:7:12: services[0].flows must be an integer between 1 and 8 (got '9')");
}

/* ---- API edges ------------------------------------------------------------------ */

static void test_error_buffer(void **state)
{
    struct cfg *cfg = NULL;
    char small[10];

    (void)state;
    assert_int_equal(cfg_load_buffer("t.yaml", "mode: x", 7, &cfg, NULL, 0), -EINVAL);
    assert_int_equal(cfg_load_buffer("t.yaml", "mode: x", 7, &cfg, small, sizeof(small)),
                     -EINVAL);
    assert_string_equal(small, "t.yaml:1:");
    assert_int_equal(cfg_load_buffer(NULL, "mode: x", 7, &cfg, small, sizeof(small)),
                     -EINVAL);
    assert_string_equal(small, "<config>:");
    assert_null(cfg);
}

static void test_invalid_arguments(void **state)
{
    struct cfg *cfg = NULL;
    char err[128];

    (void)state;
    assert_int_equal(cfg_load_buffer("t.yaml", MIN, strlen(MIN), NULL, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "t.yaml:1:1: invalid argument");
    assert_int_equal(cfg_load_buffer("t.yaml", NULL, 3, &cfg, err, sizeof(err)), -EINVAL);
    assert_int_equal(cfg_load_buffer("t.yaml", NULL, 0, &cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:1:1: the configuration is empty");
    assert_int_equal(cfg_load_file(NULL, &cfg, err, sizeof(err)), -EINVAL);
    assert_null(cfg);
    cfg_free(NULL);
}

/* The buffer need not be NUL-terminated: only len bytes are read. */
static void test_buffer_length_respected(void **state)
{
    const char *text = MIN "mode: bogus\n";
    struct cfg *cfg = NULL;
    char err[128];

    (void)state;
    assert_int_equal(cfg_load_buffer("t.yaml", text, strlen(MIN), &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->mode, CFG_MODE_PROXY);
    cfg_free(cfg);
}

static void test_load_file_errors(void **state)
{
    struct cfg untouched, *cfg = &untouched;
    char err[256], path[] = "/tmp/sipkeep-test-config-XXXXXX";
    int fd;

    (void)state;
    assert_int_equal(cfg_load_file("/nonexistent/sipkeep.yaml", &cfg, err, sizeof(err)),
                     -ENOENT);
    assert_string_equal(err, "/nonexistent/sipkeep.yaml: cannot open: No such file or directory");
    assert_int_equal(cfg_load_file("config", &cfg, err, sizeof(err)), -EISDIR);
    assert_string_equal(err, "config: cannot open: Is a directory");

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "mode: proxi\n", 12), 12);
    assert_int_equal(cfg_load_file(path, &cfg, err, sizeof(err)), -EINVAL);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_string_equal(err + strlen(path), ":1:7: mode must be proxy or transparent (got 'proxi')");

    /* One byte over the limit, all comment: refused for its size. */
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    for (size_t n = 0; n <= CFG_MAX_FILE_SIZE; n += 1024) {
        char line[1024];
        size_t len = CFG_MAX_FILE_SIZE + 1 - n < sizeof(line) ? CFG_MAX_FILE_SIZE + 1 - n
                                                               : sizeof(line);
        memset(line, '#', len);
        line[len - 1] = '\n';
        assert_int_equal(write(fd, line, len), (ssize_t)len);
    }
    assert_int_equal(cfg_load_file(path, &cfg, err, sizeof(err)), -EINVAL);
    assert_true(strstr(err, ": file too large (max 1048576 bytes)") != NULL);
    assert_ptr_equal(cfg, &untouched);
    close(fd);
    unlink(path);
}

/* ---- lookups ---------------------------------------------------------------- */

static void test_service_for_domain(void **state)
{
    struct cfg *cfg = load_ok(MIN "  - name: q\n    domain: Pbx.Example.ORG\n"
                                  "    outbound_proxies: [\"sip:e\"]\n");
    const char *buf = "sip.example.net:5060";

    (void)state;
    assert_ptr_equal(cfg_service_for_domain(cfg, SLICE_LIT("sip.example.net")), &cfg->services[0]);
    assert_ptr_equal(cfg_service_for_domain(cfg, SLICE_LIT("SIP.EXAMPLE.NET")), &cfg->services[0]);
    assert_ptr_equal(cfg_service_for_domain(cfg, SLICE_LIT("pbx.example.org")), &cfg->services[1]);
    /* A slice into a longer buffer, not NUL-terminated. */
    assert_ptr_equal(cfg_service_for_domain(cfg, (struct slice){ buf, 15 }), &cfg->services[0]);
    assert_null(cfg_service_for_domain(cfg, (struct slice){ buf, 14 }));
    assert_null(cfg_service_for_domain(cfg, SLICE_LIT("example.net")));
    assert_null(cfg_service_for_domain(cfg, SLICE_LIT("")));
    assert_null(cfg_service_for_domain(cfg, SLICE_NULL));
    assert_null(cfg_service_for_domain(NULL, SLICE_LIT("sip.example.net")));
    cfg_free(cfg);
}

static void test_service_named(void **state)
{
    struct cfg *cfg = load_ok(MIN "  - name: q\n    domain: pbx.example.org\n"
                                  "    outbound_proxies: [\"sip:e\"]\n");

    (void)state;
    assert_ptr_equal(cfg_service_named(cfg, "p"), &cfg->services[0]);
    assert_ptr_equal(cfg_service_named(cfg, "q"), &cfg->services[1]);
    /* Names are exact: no case folding, no prefix. */
    assert_null(cfg_service_named(cfg, "Q"));
    assert_null(cfg_service_named(cfg, "pq"));
    assert_null(cfg_service_named(cfg, ""));
    assert_null(cfg_service_named(cfg, NULL));
    assert_null(cfg_service_named(NULL, "p"));
    cfg_free(cfg);
}

static bool allowed4(const struct cfg *cfg, const char *addr)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5060) };

    assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    return cfg_ua_allowed(cfg, (const struct sockaddr *)&sin);
}

static bool allowed6(const struct cfg *cfg, const char *addr)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(5060) };

    assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
    return cfg_ua_allowed(cfg, (const struct sockaddr *)&sin6);
}

static void test_ua_allowed(void **state)
{
    struct cfg *cfg = load_ok("ua:\n  allow: [\"192.168.0.0/16\", 10.1.2.3, \"172.16.0.0/12\", "
                              "\"2001:db8::/32\", \"fe80::1\", \"fd00:2::/31\"]\n" SVC);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    (void)state;
    assert_true(allowed4(cfg, "192.168.5.6"));
    assert_true(allowed4(cfg, "192.168.255.255"));
    assert_false(allowed4(cfg, "192.169.0.1"));
    assert_true(allowed4(cfg, "10.1.2.3"));      /* bare address = /32 */
    assert_false(allowed4(cfg, "10.1.2.4"));
    assert_true(allowed4(cfg, "172.31.255.255")); /* /12: odd prefix */
    assert_false(allowed4(cfg, "172.32.0.0"));
    assert_false(allowed4(cfg, "8.8.8.8"));
    /* IPv4-mapped IPv6 sources match IPv4 networks. */
    assert_true(allowed6(cfg, "::ffff:192.168.1.1"));
    assert_true(allowed6(cfg, "::ffff:10.1.2.3"));
    assert_false(allowed6(cfg, "::ffff:8.8.8.8"));
    assert_true(allowed6(cfg, "2001:db8:1::5"));
    assert_false(allowed6(cfg, "2001:db9::"));
    assert_true(allowed6(cfg, "fe80::1"));        /* bare address = /128 */
    assert_false(allowed6(cfg, "fe80::2"));
    assert_true(allowed6(cfg, "fd00:2::1"));     /* /31: odd prefix */
    assert_true(allowed6(cfg, "fd00:3:ffff::1"));
    assert_false(allowed6(cfg, "fd00:1::1"));
    assert_false(allowed6(cfg, "fd00:4::1"));
    /* The IPv4 address as IPv4-compatible (not mapped) IPv6 does not match. */
    assert_false(allowed6(cfg, "::192.168.1.1"));
    assert_false(allowed6(cfg, "::1"));
    assert_false(cfg_ua_allowed(cfg, (const struct sockaddr *)&sun));
    assert_false(cfg_ua_allowed(cfg, NULL));
    assert_false(cfg_ua_allowed(NULL, (const struct sockaddr *)&sun));
    cfg_free(cfg);
}

static void test_ua_allowed_everyone_v4(void **state)
{
    struct cfg *cfg = load_ok("ua:\n  allow: [\"0.0.0.0/0\"]\n" SVC);

    (void)state;
    assert_true(allowed4(cfg, "1.2.3.4"));
    assert_true(allowed4(cfg, "255.255.255.255"));
    assert_true(allowed6(cfg, "::ffff:1.2.3.4"));
    assert_false(allowed6(cfg, "2001:db8::1"));
    cfg_free(cfg);
}

static void test_transport_name(void **state)
{
    (void)state;
    assert_string_equal(cfg_transport_name(CFG_TRANSPORT_UDP), "udp");
    assert_string_equal(cfg_transport_name(CFG_TRANSPORT_TCP), "tcp");
    assert_string_equal(cfg_transport_name(CFG_TRANSPORT_TLS), "tls");
    assert_string_equal(cfg_transport_name((enum cfg_transport)7), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key_set_flow_style),
        cmocka_unit_test(test_range_bounds_accepted),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_buffer_length_respected),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_service_for_domain),
        cmocka_unit_test(test_service_named),
        cmocka_unit_test(test_ua_allowed),
        cmocka_unit_test(test_ua_allowed_everyone_v4),
        cmocka_unit_test(test_transport_name),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
