/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tmode.c - transparent mode's rules from a configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "intercept/tmode.h"

static struct cfg *load(const char *yaml)
{
    struct cfg *cfg = NULL;
    char err[256] = "";

    if (cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    return cfg;
}

#define HEAD "mode: transparent\nua: {allow: [\"192.168.1.0/24\"]}\n"

/* IPv4 outbound proxies at their port plus intercept entries, each once;
 * no interfaces: every interface ("+"). */
static void test_rules_from_config(void **state)
{
    struct cfg *cfg = load(HEAD "transparent: {queue: 3, mark: 77}\nservices:\n"
                                "  - {name: a, domain: a.example, outbound_proxies: "
                                "[\"sip:203.0.113.5;transport=tcp\", \"sip:edge.example\"], "
                                "intercept: [\"198.51.100.7:5080\", \"203.0.113.5:5060\"]}\n");
    char buf[2048], err[128] = "";
    int n = tmode_fw_text(cfg, buf, sizeof(buf), err, sizeof(err));

    (void)state;
    assert_true(n > 0);
    assert_non_null(strstr(buf, "-A SIPKEEP -p udp -d 203.0.113.5/32 --dport 5060 -j NFQUEUE "
                                "--queue-num 3 --queue-bypass\n"));
    assert_non_null(strstr(buf, "-d 198.51.100.7/32 --dport 5080 "));
    assert_null(strstr(strstr(buf, "203.0.113.5/32") + 1, "203.0.113.5/32")); /* once */
    assert_non_null(strstr(buf, "-I PREROUTING -i + -p udp -j SIPKEEP\n"));
    assert_non_null(strstr(buf, "--mark 0x4d -j RETURN\n"));
    assert_null(strstr(buf, "mangle -I OUTPUT"));
    cfg_free(cfg);
}

static void test_interfaces_and_output(void **state)
{
    struct cfg *cfg = load(HEAD "transparent: {interfaces: [lan0, \"wg+\"], output: true}\n"
                                "services:\n  - {name: a, domain: a.example, "
                                "outbound_proxies: [\"sip:203.0.113.5:5070\"]}\n");
    char buf[2048], err[128] = "";

    (void)state;
    assert_true(tmode_fw_text(cfg, buf, sizeof(buf), err, sizeof(err)) > 0);
    assert_non_null(strstr(buf, "-I PREROUTING -i lan0 -p udp -j SIPKEEP\n"));
    assert_non_null(strstr(buf, "-I PREROUTING -i wg+ -p udp -j SIPKEEP\n"));
    assert_null(strstr(buf, "-i + "));
    assert_non_null(strstr(buf, "mangle -I OUTPUT -p udp -j SIPKEEP\n"));
    assert_non_null(strstr(buf, "--dport 5070 "));
    assert_int_equal(tmode_fw_text(cfg, buf, 16, err, sizeof(err)), -ENOSPC);
    cfg_free(cfg);
}

/* Only host names: nothing to intercept, said so. */
static void test_nothing_to_intercept(void **state)
{
    struct cfg *cfg = load(HEAD "services:\n  - {name: a, domain: a.example, "
                                "outbound_proxies: [\"sip:edge.example\"]}\n");
    char buf[2048], err[160] = "";

    (void)state;
    assert_int_equal(tmode_fw_text(cfg, buf, sizeof(buf), err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "nothing to intercept"));
    cfg_free(cfg);
}

/* The conntrack flush of a WAN change (intercept/ctflush.h) covers what
 * the rules intercept, UDP and TCP, from each IPv4 ua.allow prefix. */
static void test_conntrack_from_config(void **state)
{
    struct cfg *cfg = load("mode: transparent\n"
                           "ua: {allow: [\"192.168.1.0/24\", \"fd00::/64\", \"10.1.0.0/16\"]}\n"
                           "services:\n"
                           "  - {name: a, domain: a.example, outbound_proxies: "
                           "[\"sip:203.0.113.5;transport=tcp\", \"sip:edge.example\"], "
                           "intercept: [\"203.0.113.5:5060\", \"198.51.100.7:5080\"]}\n");
    char *text = NULL;
    int n = tmode_ct_text(cfg, &text);

    (void)state;
    assert_non_null(text);
    assert_string_equal(text,
        "conntrack -D -f ipv4 -p udp -s 192.168.1.0/24 -d 203.0.113.5 --dport 5060\n"
        "conntrack -D -f ipv4 -p tcp -s 192.168.1.0/24 -d 203.0.113.5 --dport 5060\n"
        "conntrack -D -f ipv4 -p udp -s 192.168.1.0/24 -d 198.51.100.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p tcp -s 192.168.1.0/24 -d 198.51.100.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p udp -s 10.1.0.0/16 -d 203.0.113.5 --dport 5060\n"
        "conntrack -D -f ipv4 -p tcp -s 10.1.0.0/16 -d 203.0.113.5 --dport 5060\n"
        "conntrack -D -f ipv4 -p udp -s 10.1.0.0/16 -d 198.51.100.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p tcp -s 10.1.0.0/16 -d 198.51.100.7 --dport 5080\n");
    assert_int_equal(n, (int)strlen(text));
    free(text);
    cfg_free(cfg);
    /* nothing to intercept: nothing to flush */
    cfg = load(HEAD "services:\n  - {name: a, domain: a.example, "
                    "outbound_proxies: [\"sip:edge.example\"]}\n");
    text = NULL;
    assert_int_equal(tmode_ct_text(cfg, &text), -EINVAL);
    assert_null(text);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_from_config),
        cmocka_unit_test(test_interfaces_and_output),
        cmocka_unit_test(test_nothing_to_intercept),
        cmocka_unit_test(test_conntrack_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
