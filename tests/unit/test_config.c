/* Unit tests for the configuration loader: the example file, defaults, every
 * class of error with its exact FILE:LINE:COL and message, the value parsers
 * (listen addresses, networks, outbound proxy URIs), and the run-time lookups
 * cfg_service_for_domain(), cfg_service_named() and cfg_ua_allowed(). */
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
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"

/* A minimal valid configuration, 6 lines; tests add lines before or after. */
#define UA "ua:\n  allow: [\"10.0.0.0/8\"]\n"
#define SVC                                                                    \
    "services:\n"                                                              \
    "  - name: p\n"                                                            \
    "    domain: sip.example.net\n"                                            \
    "    outbound_proxies: [\"sip:edge.example.net\"]\n"
#define MIN UA SVC

/* Loads yaml from an exact-size heap copy (no NUL after it, so ASan catches
 * any read past the end). */
static int load(const char *yaml, struct cfg **out, char *err, size_t errsz)
{
    size_t len = strlen(yaml);
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, yaml, len);
    rc = cfg_load_buffer("t.yaml", copy, len, out, err, errsz);
    free(copy);
    return rc;
}

static struct cfg *load_ok(const char *yaml)
{
    struct cfg *cfg = NULL;
    char err[512] = "";
    int rc = load(yaml, &cfg, err, sizeof(err));

    if (rc != 0)
        fail_msg("unexpected error %d: %s", rc, err);
    assert_non_null(cfg);
    return cfg;
}

/* Checks that loading fails with -EINVAL and exactly msg, leaving the
 * out-pointer untouched. */
static void check_err(const char *yaml, const char *msg)
{
    struct cfg untouched;
    struct cfg *cfg = &untouched;
    char err[512];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = load(yaml, &cfg, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    assert_ptr_equal(cfg, &untouched);
    assert_string_equal(err, msg);
}

/* check_err() on before + value + after. */
static void check_err3(const char *msg, const char *before, const char *value,
                       const char *after)
{
    char yaml[1024];

    snprintf(yaml, sizeof(yaml), "%s%s%s", before, value, after);
    check_err(yaml, msg);
}

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

/* ---- schema errors ------------------------------------------------------------ */

static void test_transparent(void **state)
{
    struct cfg *cfg;
    char ip[16];

    (void)state;
    cfg = load_ok(MIN);
    assert_int_equal(cfg->transparent.queue, 0);
    assert_int_equal(cfg->transparent.n_interfaces, 0);
    assert_true(cfg->transparent.manage_firewall);
    assert_false(cfg->transparent.output);
    assert_int_equal(cfg->transparent.mark, 0x5349);
    assert_int_equal(cfg->services[0].n_intercept, 0);
    cfg_free(cfg);
    cfg = load_ok("mode: transparent\ntransparent:\n  queue: 65535\n"
                  "  interfaces: [lan0, br-lan.10, \"wg+\"]\n  manage_firewall: false\n"
                  "  output: true\n  mark: 4294967295\n" MIN
                  "    intercept: [\"192.0.2.7:5060\", \"198.51.100.1:5080\"]\n");
    assert_int_equal(cfg->mode, CFG_MODE_TRANSPARENT);
    assert_int_equal(cfg->transparent.queue, 65535);
    assert_int_equal(cfg->transparent.n_interfaces, 3);
    assert_string_equal(cfg->transparent.interfaces[1], "br-lan.10");
    assert_false(cfg->transparent.manage_firewall);
    assert_true(cfg->transparent.output);
    assert_int_equal(cfg->transparent.mark, 0xffffffffu);
    assert_int_equal(cfg->services[0].n_intercept, 2);
    assert_int_equal(cfg->services[0].intercept[1].sin_family, AF_INET);
    assert_int_equal(ntohs(cfg->services[0].intercept[1].sin_port), 5080);
    inet_ntop(AF_INET, &cfg->services[0].intercept[1].sin_addr, ip, sizeof(ip));
    assert_string_equal(ip, "198.51.100.1");
    cfg_free(cfg);
    check_err("transparent:\n  queue: 65536\n" MIN,
              "t.yaml:2:10: transparent.queue must be an integer between 0 and 65535 "
              "(got '65536')");
    check_err("transparent:\n  mark: 0\n" MIN,
              "t.yaml:2:9: transparent.mark must be an integer between 1 and 4294967295 "
              "(got '0')");
    check_err("transparent:\n  interfaces: [\"eth0;x\"]\n" MIN,
              "t.yaml:2:16: transparent.interfaces[0] must be 1 to 15 letters, digits, "
              "'_', '-', '.' or '@', optionally ending in '+', not starting with '-' "
              "(got 'eth0;x')");
    check_err(MIN "    intercept: [\"edge.example.net:5060\"]\n",
              "t.yaml:7:17: services[0].intercept[0] is not a valid address: bad IPv4 "
              "address (got 'edge.example.net:5060')");
    check_err(MIN "    intercept: [\"192.0.2.7\"]\n",
              "t.yaml:7:17: services[0].intercept[0] is not a valid address: expected "
              "IPV4ADDR:PORT (got '192.0.2.7')");
}

static void test_unknown_key(void **state)
{
    (void)state;
    check_err(MIN "foo: 1\n",
              "t.yaml:7:1: unknown key 'foo' (allowed: mode, listen, state_dir, "
              "log, ua, services, control_socket, user, transparent, metrics)");
    check_err("log:\n  levle: info\n" MIN,
              "t.yaml:2:3: unknown key 'levle' in log (allowed: level, target)");
    check_err(UA "services:\n  - name: p\n    domian: x\n",
              "t.yaml:5:5: unknown key 'domian' in services[0] (allowed: name, "
              "domain, outbound_proxies, flows, tls, keepalive, recovery, credentials, "
              "outbound_fallback, intercept)");
    check_err(MIN "    tls: {ca: /x}\n",
              "t.yaml:7:11: unknown key 'ca' in services[0].tls (allowed: ca_file, verify, "
              "server_name, cert_file, key_file, min_version)");
    /* Keys are case-sensitive; odd bytes are escaped in the message. */
    check_err("Mode: proxy\n" MIN, "t.yaml:1:1: unknown key 'Mode' (allowed: mode, "
                                  "listen, state_dir, log, ua, services, control_socket, user, transparent, "
                                  "metrics)");
    check_err("\"a\\tb\": 1\n", "t.yaml:1:1: unknown key 'a\\x09b' (allowed: mode, "
                                "listen, state_dir, log, ua, services, control_socket, user, transparent, "
                                "metrics)");
}

static void test_wrong_type(void **state)
{
    (void)state;
    check_err("log: [info]\n" MIN, "t.yaml:1:6: log must be a mapping, not a sequence");
    check_err("mode: [proxy]\n" MIN, "t.yaml:1:7: mode must be a scalar, not a sequence");
    check_err("state_dir: {a: 1}\n" MIN,
              "t.yaml:1:12: state_dir must be a scalar, not a mapping");
    check_err(UA "services:\n  name: p\n",
              "t.yaml:4:3: services must be a sequence, not a mapping");
    check_err("ua:\n  allow:\n" SVC,
              "t.yaml:2:9: ua.allow must be a sequence, not an empty value");
    check_err("log: ~\n" MIN, "t.yaml:1:6: log must be a mapping, not an empty value");
    check_err(UA "services: [x]\n", "t.yaml:3:12: services[0] must be a mapping, not a scalar");
    check_err("listen: [[\"udp:0.0.0.0:5060\"]]\n" MIN,
              "t.yaml:1:10: listen[0] must be a scalar, not a sequence");
    check_err(MIN "    keepalive: 30\n",
              "t.yaml:7:16: services[0].keepalive must be a mapping, not a scalar");
}

static void test_bad_enum(void **state)
{
    (void)state;
    check_err("mode: proxi\n" MIN, "t.yaml:1:7: mode must be proxy or transparent (got 'proxi')");
    check_err("mode: Proxy\n" MIN, "t.yaml:1:7: mode must be proxy or transparent (got 'Proxy')");
    check_err("log: {level: verbose}\n" MIN,
              "t.yaml:1:14: log.level must be error, warn, info or debug (got 'verbose')");
    check_err("log: {target: file}\n" MIN,
              "t.yaml:1:15: log.target must be stderr or syslog (got 'file')");
    check_err(MIN "    tls: {verify: yes}\n",
              "t.yaml:7:19: services[0].tls.verify must be true or false (got 'yes')");
}

static void test_out_of_range(void **state)
{
    static const char *const bad_expires[] = { "59", "86401", "0", "-1", "5m", "",
                                               "99999999999999999999", "3e2" };
    char yaml[512], msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_expires) / sizeof(bad_expires[0]); i++) {
        snprintf(yaml, sizeof(yaml), "ua:\n  allow: [\"10.0.0.0/8\"]\n  register_expires: \"%s\"\n" SVC,
                 bad_expires[i]);
        snprintf(msg, sizeof(msg), "t.yaml:3:21: ua.register_expires must be an integer "
                 "between 60 and 86400 (got '%s')", bad_expires[i]);
        check_err(yaml, msg);
    }
    check_err(MIN "    keepalive: {interval: 4}\n",
              "t.yaml:7:27: services[0].keepalive.interval must be auto or an integer "
              "between 5 and 3600 (got '4')");
    check_err(MIN "    keepalive: {interval: 3601}\n",
              "t.yaml:7:27: services[0].keepalive.interval must be auto or an integer "
              "between 5 and 3600 (got '3601')");
    check_err(MIN "    keepalive: {pong_timeout: 0}\n",
              "t.yaml:7:31: services[0].keepalive.pong_timeout must be an integer "
              "between 1 and 60 (got '0')");
    check_err(MIN "    keepalive:\n      pong_timeout: 61\n",
              "t.yaml:8:21: services[0].keepalive.pong_timeout must be an integer "
              "between 1 and 60 (got '61')");
    check_err(MIN "    recovery: {max_time: 0}\n",
              "t.yaml:7:26: services[0].recovery.max_time must be an integer "
              "between 1 and 86400 (got '0')");
    check_err(MIN "    recovery: {base_time_all_failed: 86401}\n",
              "t.yaml:7:38: services[0].recovery.base_time_all_failed must be an integer "
              "between 1 and 86400 (got '86401')");
}

static void test_bad_listen(void **state)
{
    static const char *const cases[][2] = {
        { "tcp:0.0.0.0:5060", "only udp is supported for now" },
        { "sctp:1.2.3.4:5060", "only udp is supported for now" },
        { "0.0.0.0:5060", "expected udp:ADDR:PORT" },
        { "udp:0.0.0.0", "the port is missing (expected udp:ADDR:PORT)" },
        { "udp:0.0.0.0:0", "the port must be an integer between 1 and 65535" },
        { "udp:0.0.0.0:65536", "the port must be an integer between 1 and 65535" },
        { "udp:0.0.0.0:", "the port must be an integer between 1 and 65535" },
        { "udp:::5060", "an IPv6 address must be in brackets, e.g. [2001:db8::1]" },
        { "udp:[::1:5060", "missing ']' after the IPv6 address" },
        { "udp:[::1]x:5060", "unexpected text after ']'" },
        { "udp:[1.2.3.4]:5060", "bad IPv6 address" },
        { "udp:localhost:5060", "ADDR must be an IPv4 address or a bracketed IPv6 address" },
        { "udp:256.0.0.1:5060", "ADDR must be an IPv4 address or a bracketed IPv6 address" },
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(msg, sizeof(msg), "t.yaml:1:10: listen[0] is not a valid listen "
                 "address: %s (got '%s')", cases[i][1], cases[i][0]);
        check_err3(msg, "listen: [\"", cases[i][0], "\"]\n" MIN);
    }
    check_err("listen: [\"udp:1.2.3.4:5060\", \"udp:1.2.3.4\"]\n" MIN,
              "t.yaml:1:30: listen[1] is not a valid listen address: the port is "
              "missing (expected udp:ADDR:PORT) (got 'udp:1.2.3.4')");
}

static void test_bad_cidr(void **state)
{
    static const char *const cases[][2] = {
        { "10.0.0.0/33", "the prefix length must be 0..32" },
        { "10.0.0.0/", "the prefix length must be 0..32" },
        { "10.0.0.0/-1", "the prefix length must be 0..32" },
        { "10.0.0.0/0008", "the prefix length must be 0..32" },
        { "fd00::/129", "the prefix length must be 0..128" },
        { "10.0.0/8", "bad IPv4 address" },
        { "example.com", "bad IPv4 address" },
        { "fd00:::1/8", "bad IPv6 address" },
        { "[fd00::1]", "bad IPv6 address" },
        { "10.0.0.1/8", "host bits are set, did you mean 10.0.0.0/8?" },
        { "192.168.1.1/23", "host bits are set, did you mean 192.168.0.0/23?" },
        { "fd00::1/8", "host bits are set, did you mean fd00::/8?" },
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(msg, sizeof(msg), "t.yaml:2:11: ua.allow[0] is not a valid network: "
                 "%s (got '%s')", cases[i][1], cases[i][0]);
        check_err3(msg, "ua:\n  allow: [\"", cases[i][0], "\"]\n" SVC);
    }
}

static void test_bad_proxy_uri(void **state)
{
    static const char *const cases[][2] = {
        { "http://edge", "the scheme must be sip: or sips:" },
        { "edge.example.net", "the scheme must be sip: or sips:" },
        { "sip:", "the host is missing" },
        { "sip:;lr", "the host is missing" },
        { "sip:user@edge", "a user part (user@) is not allowed" },
        { "sip:edge?subject=x", "URI headers (?...) are not allowed" },
        { "sip:edge:0", "the port must be an integer between 1 and 65535" },
        { "sip:edge:", "the port must be an integer between 1 and 65535" },
        { "sip:edge:65536", "the port must be an integer between 1 and 65535" },
        { "sip:edge:50a", "the port must be an integer between 1 and 65535" },
        { "sip:edge:5060:1", "an IPv6 address must be in brackets, e.g. [2001:db8::1]" },
        { "sip:[::1", "missing ']' after the IPv6 address" },
        { "sip:[zz::1]", "bad IPv6 address" },
        { "sip:1.2.3", "bad IPv4 address" },
        { "sip:1.2.3.256", "bad IPv4 address" },
        { "sip:-edge.example", "bad host name" },
        { "sip:edge-.example", "bad host name" },
        { "sip:edge..example", "bad host name" },
        { "sip:edge.example.", "bad host name" },
        { "sip:ed ge", "bad host name" },
        { "sip:edge;transport=sctp", "transport must be udp, tcp or tls" },
        { "sip:edge;transport", "transport must be udp, tcp or tls" },
        { "sip:edge;;lr", "bad URI parameter" },
        { "sip:edge;lr;", "bad URI parameter" },
        { "sip:edge;a b", "bad URI parameter" },
        { "sip:edge;=x", "bad URI parameter" },
        { "sip:edge;transport=tcp;transport=udp", "transport= is given twice" },
        { "sips:edge;transport=udp", "sips: requires TLS, it cannot use transport=udp" },
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(msg, sizeof(msg), "t.yaml:6:24: services[0].outbound_proxies[0] is not "
                 "a valid SIP URI: %s (got '%s')", cases[i][1], cases[i][0]);
        check_err3(msg, UA "services:\n  - name: p\n    domain: d.example\n"
                           "    outbound_proxies: [\"", cases[i][0], "\"]\n");
    }
}

static void test_proxy_uri_fields(void **state)
{
    static const struct {
        const char *uri, *host;
        int family;
        uint16_t port;
        bool port_explicit, sips;
        enum cfg_transport transport;
    } want[] = {
        { "sip:edge.example.net", "edge.example.net", 0, 5060, false, false, CFG_TRANSPORT_UDP },
        { "sip:edge.example.net;transport=tcp", "edge.example.net", 0, 5060, false, false, CFG_TRANSPORT_TCP },
        { "sip:e-1.example.net;transport=TLS;lr", "e-1.example.net", 0, 5061, false, false, CFG_TRANSPORT_TLS },
        { "sips:edge.example.net", "edge.example.net", 0, 5061, false, true, CFG_TRANSPORT_TLS },
        { "sips:edge.example.net:443;transport=tcp", "edge.example.net", 0, 443, true, true, CFG_TRANSPORT_TLS },
        { "SIP:10.1.2.3:5070;lr", "10.1.2.3", AF_INET, 5070, true, false, CFG_TRANSPORT_UDP },
        { "sip:[2001:db8::1]:5080;transport=tcp;maddr=x", "2001:db8::1", AF_INET6, 5080, true, false, CFG_TRANSPORT_TCP },
        { "sips:[::1]", "::1", AF_INET6, 5061, false, true, CFG_TRANSPORT_TLS },
    };
    char yaml[2048];
    size_t o;
    struct cfg *cfg;
    const struct cfg_service *s;

    (void)state;
    /* All eight in one service: eight is the maximum and must be accepted. */
    o = (size_t)snprintf(yaml, sizeof(yaml), UA "services:\n  - name: p\n"
                         "    domain: d.example\n    outbound_proxies:\n");
    for (size_t i = 0; i < 8; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "      - \"%s\"\n", want[i].uri);
    cfg = load_ok(yaml);
    s = &cfg->services[0];
    assert_int_equal(s->n_outbound_proxies, CFG_MAX_OUTBOUND_PROXIES);
    for (size_t i = 0; i < 8; i++) {
        const struct cfg_proxy *p = &s->outbound_proxies[i];

        assert_string_equal(p->uri, want[i].uri);
        assert_string_equal(p->host, want[i].host);
        assert_int_equal(p->host_family, want[i].family);
        assert_int_equal(p->port, want[i].port);
        assert_int_equal(p->port_explicit, want[i].port_explicit);
        assert_int_equal(p->sips, want[i].sips);
        assert_int_equal(p->transport, want[i].transport);
    }
    cfg_free(cfg);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    check_err(MIN "mode: proxy\nmode: transparent\n",
              "t.yaml:8:1: duplicate key 'mode' (first at 7:1)");
    check_err("log:\n  level: info\n  level: debug\n" MIN,
              "t.yaml:3:3: duplicate key 'log.level' (first at 2:3)");
    check_err(MIN "    name: q\n", "t.yaml:7:5: duplicate key 'services[0].name' (first at 4:5)");
    check_err("ua: {allow: [\"10.0.0.0/8\"], allow: [\"10.0.0.0/8\"]}\n" SVC,
              "t.yaml:1:29: duplicate key 'ua.allow' (first at 1:6)");
}

static void test_missing_required(void **state)
{
    (void)state;
    check_err("mode: proxy\n" SVC, "t.yaml:1:1: missing required key 'ua'");
    check_err(UA, "t.yaml:1:1: missing required key 'services' (configure at least "
                  "one SIP service)");
    check_err("ua:\n  register_expires: 300\n" SVC,
              "t.yaml:2:3: missing required key 'ua.allow' (list the networks whose "
              "phones may use sipkeep, e.g. [\"192.168.0.0/16\"]: sipkeep is never "
              "an open relay)");
    check_err("ua: {}\n" SVC, "t.yaml:1:5: missing required key 'ua.allow' (list the "
              "networks whose phones may use sipkeep, e.g. [\"192.168.0.0/16\"]: "
              "sipkeep is never an open relay)");
    check_err(UA "services:\n  - name: p\n    outbound_proxies: [\"sip:e\"]\n",
              "t.yaml:4:5: missing required key 'services[0].domain'");
    check_err(UA "services:\n  - domain: d\n    outbound_proxies: [\"sip:e\"]\n",
              "t.yaml:4:5: missing required key 'services[0].name'");
    check_err(UA "services:\n  - name: p\n    domain: d\n",
              "t.yaml:4:5: missing required key 'services[0].outbound_proxies' (list "
              "the service's edge proxies, e.g. [\"sip:edge.example.net;transport=tcp\"])");
    check_err(MIN "  - {name: q, domain: e}\n",
              "t.yaml:7:5: missing required key 'services[1].outbound_proxies' (list "
              "the service's edge proxies, e.g. [\"sip:edge.example.net;transport=tcp\"])");
}

static void test_empty_lists(void **state)
{
    (void)state;
    check_err(UA "services: []\n",
              "t.yaml:3:11: services must not be empty (configure at least one SIP service)");
    check_err("ua:\n  allow: []\n" SVC,
              "t.yaml:2:10: ua.allow must not be empty (list the networks whose phones "
              "may use sipkeep, e.g. [\"192.168.0.0/16\"]: sipkeep is never an open relay)");
    check_err(UA "services:\n  - name: p\n    domain: d\n    outbound_proxies: []\n",
              "t.yaml:6:23: services[0].outbound_proxies must not be empty (list the "
              "service's edge proxies, e.g. [\"sip:edge.example.net;transport=tcp\"])");
    check_err("listen: []\n" MIN, "t.yaml:1:9: listen must not be empty (leave the key "
                                 "out for the default udp:0.0.0.0:5060)");
}

static void test_duplicate_service(void **state)
{
    (void)state;
    check_err(MIN "  - name: p\n    domain: other.example.net\n"
                  "    outbound_proxies: [\"sip:e\"]\n",
              "t.yaml:7:11: services[1].name 'p' is already used by services[0]");
    check_err(MIN "  - name: q\n    domain: other.example.net\n"
                  "    outbound_proxies: [\"sip:e\"]\n"
                  "  - name: r\n    domain: SIP.Example.NET\n"
                  "    outbound_proxies: [\"sip:e\"]\n",
              "t.yaml:11:13: services[2].domain 'SIP.Example.NET' is already used by services[0]");
}

/* credentials: per-AOR digest accounts; the password stays in its file. */
static void test_credentials(void **state)
{
    struct cfg *cfg;
    const struct cfg_service *s;

    (void)state;
    cfg = load_ok(MIN "    credentials:\n"
                      "      - aor: \"sip:alice@sip.example.net\"\n"
                      "        username: alice\n"
                      "        password_file: /etc/sipkeep/alice.pw\n"
                      "        realm: sip.example.net\n"
                      "      - {aor: \"sip:bob@sip.example.net\", username: b, "
                      "password_file: /b}\n");
    s = &cfg->services[0];
    assert_int_equal(s->n_credentials, 2);
    assert_string_equal(s->credentials[0].aor, "sip:alice@sip.example.net");
    assert_string_equal(s->credentials[0].username, "alice");
    assert_string_equal(s->credentials[0].password_file, "/etc/sipkeep/alice.pw");
    assert_string_equal(s->credentials[0].realm, "sip.example.net");
    assert_null(s->credentials[1].realm);
    cfg_free(cfg);
    cfg = load_ok(MIN);
    assert_int_equal(cfg->services[0].n_credentials, 0);
    assert_true(cfg->services[0].outbound_fallback);
    cfg_free(cfg);
    cfg = load_ok(MIN "    outbound_fallback: false\n");
    assert_false(cfg->services[0].outbound_fallback);
    cfg_free(cfg);
    check_err(MIN "    credentials:\n      - {aor: \"sip:example.net\", username: a, "
                  "password_file: /a}\n",
              "t.yaml:8:15: services[0].credentials[0].aor must be a SIP URI with a user, "
              "e.g. sip:alice@example.net (got 'sip:example.net')");
    check_err(MIN "    credentials:\n      - {aor: \"sip:a@x\", username: \"a\\\"b\", "
                  "password_file: /a}\n",
              "t.yaml:8:36: services[0].credentials[0].username must be 1 to 255 printable "
              "characters without '\"' or '\\' (got 'a\"b')");
    check_err(MIN "    credentials:\n      - {aor: \"sip:a@x\", username: a, "
                  "password_file: rel}\n",
              "t.yaml:8:54: services[0].credentials[0].password_file must be an absolute "
              "path (got 'rel')");
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

static void test_too_many_proxies(void **state)
{
    (void)state;
    check_err(UA "services:\n  - name: p\n    domain: d\n    outbound_proxies: "
                 "[\"sip:a\", \"sip:b\", \"sip:c\", \"sip:d\", \"sip:e\", \"sip:f\", "
                 "\"sip:g\", \"sip:h\", \"sip:i\"]\n",
              "t.yaml:6:96: services[0].outbound_proxies has too many entries (max 8)");
}

#define AAAA_10 "aaaaaaaaaa"
#define AAAA_59 AAAA_10 AAAA_10 AAAA_10 AAAA_10 AAAA_10 "aaaaaaaaa"
#define AAAA_60 AAAA_59 "a"
#define AAAA_110 AAAA_60 AAAA_10 AAAA_10 AAAA_10 AAAA_10 AAAA_10

static void test_bad_strings(void **state)
{
    (void)state;
    check_err(UA "services:\n  - name: \"a b\"\n",
              "t.yaml:4:11: services[0].name must be 1 to 32 letters, digits, '_' "
              "or '-' (got 'a b')");
    check_err(UA "services:\n  - name: abcdefghijabcdefghijabcdefghij123\n",
              "t.yaml:4:11: services[0].name must be 1 to 32 letters, digits, '_' or "
              "'-' (got 'abcdefghijabcdefghijabcdefghij123')");
    check_err(UA "services:\n  - name: p\n    domain: \"sip example\"\n",
              "t.yaml:5:13: services[0].domain must be a domain name such as "
              "sip.example.net (got 'sip example')");
    check_err("state_dir: var/lib/sipkeep\n" MIN,
              "t.yaml:1:12: state_dir must be an absolute path (got 'var/lib/sipkeep')");
    check_err("control_socket: run/sk.sock\n" MIN,
              "t.yaml:1:17: control_socket must be an absolute path (got 'run/sk.sock')");
    check_err("control_socket: /" AAAA_110 "\n" MIN,
              "t.yaml:1:17: control_socket must be shorter than 108 bytes, a UNIX socket "
              "path limit (got '/" AAAA_59 "...')");
    check_err("user: \"-x\"\n" MIN, "t.yaml:1:7: user must be a user name: 1-32 of "
              "A-Z a-z 0-9 . _ -, not starting with - (got '-x')");
    check_err("user: \"a b\"\n" MIN, "t.yaml:1:7: user must be a user name: 1-32 of "
              "A-Z a-z 0-9 . _ -, not starting with - (got 'a b')");
    check_err("user: abcdefghijabcdefghijabcdefghij123\n" MIN, "t.yaml:1:7: user must be a "
              "user name: 1-32 of A-Z a-z 0-9 . _ -, not starting with - "
              "(got 'abcdefghijabcdefghijabcdefghij123')");
    check_err(MIN "    tls: {ca_file: \"\"}\n",
              "t.yaml:7:20: services[0].tls.ca_file must be an absolute path (got '')");
    check_err("mode: \"pro\\0xy\"\n" MIN, "t.yaml:1:7: mode must not contain NUL bytes");
}

/* Nesting beyond the schema is refused where it starts, whatever its depth. */
static void test_deep_nesting(void **state)
{
    size_t depth = 100000;
    char *yaml = malloc(6 + 2 * depth + 2);
    char err[256];
    struct cfg *cfg = NULL;

    (void)state;
    assert_non_null(yaml);
    memcpy(yaml, "mode: ", 6);
    memset(yaml + 6, '[', depth);
    memset(yaml + 6 + depth, ']', depth);
    memcpy(yaml + 6 + 2 * depth, "\n", 2);
    assert_int_equal(load(yaml, &cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:1:7: mode must be a scalar, not a sequence");
    memcpy(yaml, "ua:   ", 6);
    memset(yaml + 6, '{', depth);
    memset(yaml + 6 + depth, '}', depth);
    assert_int_equal(load(yaml, &cfg, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:1:8: keys must be scalars, not a mapping");
    assert_null(cfg);
    free(yaml);
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
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_bad_cidr),
        cmocka_unit_test(test_bad_proxy_uri),
        cmocka_unit_test(test_proxy_uri_fields),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_empty_lists),
        cmocka_unit_test(test_duplicate_service),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_too_many_proxies),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_buffer_length_respected),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_service_for_domain),
        cmocka_unit_test(test_service_named),
        cmocka_unit_test(test_ua_allowed),
        cmocka_unit_test(test_ua_allowed_everyone_v4),
        cmocka_unit_test(test_transport_name),
        cmocka_unit_test(test_transparent),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
