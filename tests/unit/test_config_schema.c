/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the configuration schema: every class of error with its
 * exact FILE:LINE:COL and message, and the value parsers (listen
 * addresses, networks, outbound proxy URIs, credentials, strings). */
#include "config_fixture.h"

/* check_err() on before + value + after. */
static void check_err3(const char *msg, const char *before, const char *value,
                       const char *after)
{
    char yaml[1024];

    snprintf(yaml, sizeof(yaml), "%s%s%s", before, value, after);
    check_err(yaml, msg);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        cmocka_unit_test(test_too_many_proxies),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_transparent),
    };

    return cmocka_run_group_tests_name("config_schema", tests, NULL, NULL);
}
