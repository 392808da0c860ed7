/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for transparent mode's iptables rule text: install lines
 * (mark bypass first, NFQUEUE with --queue-bypass, jumps per interface,
 * OUTPUT), validation, buffer limits, and recognising our jump rules in
 * `iptables -S` output for cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intercept/firewall.h"
#include "intercept/firewall_int.h"

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

static void test_install(void **state)
{
    const char *ifs[] = {"lan0", "br-lan"};
    struct sockaddr_in d[] = {sin4("203.0.113.5", 5060), sin4("198.51.100.7", 5080)};
    struct firewall_spec s = {.queue = 7, .mark = 0x5e9, .ifaces = ifs, .n_ifaces = 2,
                        .dsts = d, .n_dsts = 2, .local = true};
    char buf[2048];
    static const char want[] =
        "iptables -w -t mangle -N SIPKEEP\n"
        "iptables -w -t mangle -A SIPKEEP -m mark --mark 0x5e9 -j RETURN\n"
        "iptables -w -t mangle -A SIPKEEP -p udp -d 203.0.113.5/32 --dport 5060 -j NFQUEUE "
        "--queue-num 7 --queue-bypass\n"
        "iptables -w -t mangle -A SIPKEEP -p udp -d 198.51.100.7/32 --dport 5080 -j NFQUEUE "
        "--queue-num 7 --queue-bypass\n"
        "iptables -w -t mangle -I PREROUTING -i lan0 -p udp -j SIPKEEP\n"
        "iptables -w -t mangle -I PREROUTING -i br-lan -p udp -j SIPKEEP\n"
        "iptables -w -t mangle -I OUTPUT -p udp -j SIPKEEP\n"
        "iptables -w -t raw -N SIPKEEP\n"
        "iptables -w -t raw -A SIPKEEP -m mark --mark 0x5e9 -j CT --notrack\n"
        "iptables -w -t raw -I OUTPUT -p udp -j SIPKEEP\n";
    int n;

    (void)state;
    n = firewall_install_text(&s, buf, sizeof(buf));
    assert_int_equal(n, (int)sizeof(want) - 1);
    assert_string_equal(buf, want);
    /* exact fit and one byte short */
    assert_int_equal(firewall_install_text(&s, buf, sizeof(want)), n);
    assert_int_equal(firewall_install_text(&s, buf, sizeof(want) - 1), -ENOSPC);
    assert_int_equal(firewall_install_text(&s, buf, 0), -ENOSPC);
    s.local = false;
    s.n_ifaces = 0;
    n = firewall_install_text(&s, buf, sizeof(buf));
    assert_true(n > 0);
    assert_null(strstr(buf, "mangle -I OUTPUT"));
    assert_null(strstr(buf, "PREROUTING"));
    /* sipkeep's own packets are untracked whatever the interfaces */
    assert_non_null(strstr(buf, "raw -A SIPKEEP -m mark --mark 0x5e9 -j CT --notrack\n"));
}

static void test_install_invalid(void **state)
{
    const char *bad_if[] = {"lan0; rm -rf /"};
    struct sockaddr_in d = sin4("203.0.113.5", 5060);
    struct firewall_spec s = {.queue = 1, .mark = 1, .dsts = &d, .n_dsts = 1};
    char buf[1024];

    (void)state;
    assert_true(firewall_install_text(&s, buf, sizeof(buf)) > 0);
    s.mark = 0;
    assert_int_equal(firewall_install_text(&s, buf, sizeof(buf)), -EINVAL);
    s.mark = 1;
    s.n_dsts = 0;
    assert_int_equal(firewall_install_text(&s, buf, sizeof(buf)), -EINVAL);
    s.n_dsts = 1;
    s.ifaces = bad_if;
    s.n_ifaces = 1;
    assert_int_equal(firewall_install_text(&s, buf, sizeof(buf)), -EINVAL);
    s.n_ifaces = 0;
    d.sin_port = 0;
    assert_int_equal(firewall_install_text(&s, buf, sizeof(buf)), -EINVAL);
}

static void test_iface_ok(void **state)
{
    (void)state;
    assert_true(firewall_iface_ok("eth0"));
    assert_true(firewall_iface_ok("veth-lan.10"));
    assert_true(firewall_iface_ok("123456789012345"));
    assert_false(firewall_iface_ok("1234567890123456"));
    assert_false(firewall_iface_ok(""));
    assert_false(firewall_iface_ok(NULL));
    assert_false(firewall_iface_ok("-j"));
    assert_false(firewall_iface_ok("a b"));
    assert_true(firewall_iface_ok("eth+"));  /* iptables wildcard, last only */
    assert_true(firewall_iface_ok("+"));
    assert_false(firewall_iface_ok("e+th"));
    assert_false(firewall_iface_ok("++"));
    assert_false(firewall_iface_ok("eth0\n"));
}

static void test_cleanup(void **state)
{
    char buf[256];

    (void)state;
    int n = firewall_chain_cleanup_text(buf, sizeof(buf));

    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "iptables -w -t mangle -F SIPKEEP\n"
                             "iptables -w -t mangle -X SIPKEEP\n");
    assert_int_equal(firewall_chain_cleanup_text(buf, 10), -ENOSPC);
}

static void test_jump_delete(void **state)
{
    char buf[256];
    int n;

    (void)state;
    n = firewall_jump_delete("-A PREROUTING -i lan0 -p udp -j SIPKEEP\n", buf, sizeof(buf));

    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "iptables -w -t mangle -D PREROUTING -i lan0 -p udp -j SIPKEEP\n");
    assert_true(firewall_jump_delete("-A OUTPUT -p udp -j SIPKEEP", buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "iptables -w -t mangle -D OUTPUT -p udp -j SIPKEEP\n");
    /* not ours */
    assert_int_equal(firewall_jump_delete("-P PREROUTING ACCEPT", buf, sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("-N SIPKEEP", buf, sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("-A SIPKEEP -m mark --mark 0x5e9 -j RETURN", buf,
                                          sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("-A PREROUTING -j SIPKEEP2", buf, sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("-A PREROUTING -j XSIPKEEP", buf, sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("", buf, sizeof(buf)), 0);
    assert_int_equal(firewall_jump_delete("-A OUTPUT -p udp -j SIPKEEP", buf, 20), -ENOSPC);
}

/* Whole `iptables -t mangle -S` output; counts occurrences of needle. */
static int count_rules(const char *needle)
{
    char buf[8192];
    FILE *f = popen("iptables -w -t mangle -S 2>/dev/null", "r");
    size_t n;
    int c = 0;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    pclose(f);
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

/* Runs iptables in a private network namespace of this test process
 * (skipped without root or iptables): install, re-install over stale
 * rules, cleanup removes exactly ours, including a stale jump of another
 * configuration; a foreign rule survives. */
static void test_run(void **state)
{
    const char *ifs[] = {"lo"};
    struct sockaddr_in d = sin4("203.0.113.5", 5060);
    struct firewall_spec s = {.queue = 7, .mark = 0x5e9, .ifaces = ifs, .n_ifaces = 1,
                        .dsts = &d, .n_dsts = 1, .local = true};

    (void)state;
    if (access("/usr/sbin/iptables", X_OK) != 0 || unshare(CLONE_NEWNET) < 0 ||
        system("iptables -w -t mangle -A OUTPUT -p tcp -j ACCEPT 2>/dev/null") != 0)
        skip();
    assert_int_equal(firewall_install(&s), 0);
    assert_int_equal(count_rules("-N SIPKEEP"), 1);
    assert_int_equal(count_rules("-A OUTPUT -p udp -j SIPKEEP"), 1);
    assert_int_equal(count_rules("-A PREROUTING -i lo -p udp -j SIPKEEP"), 1);
    assert_int_equal(count_rules("--queue-num 7 --queue-bypass"), 1);
    assert_int_equal(count_rules("--mark 0x5e9 -j RETURN"), 1);
    assert_int_equal(system("iptables -w -t raw -S | grep -q -- '-A OUTPUT -p udp -j SIPKEEP'"),
                     0);
    /* a crashed run with another interface left its jump behind */
    assert_int_equal(system("iptables -w -t mangle -A PREROUTING -i eth9 -p udp -j SIPKEEP"), 0);
    assert_int_equal(firewall_install(&s), 0);
    assert_int_equal(count_rules("-j SIPKEEP"), 2);
    assert_int_equal(count_rules("-N SIPKEEP"), 1);
    assert_int_equal(firewall_cleanup(), 0);
    assert_int_equal(count_rules("SIPKEEP"), 0);
    assert_int_equal(count_rules("-A OUTPUT -p tcp -j ACCEPT"), 1);
    assert_int_not_equal(system("iptables -w -t raw -S | grep -q SIPKEEP"), 0);
    assert_int_equal(firewall_cleanup(), 0); /* nothing left: still success */
    s.mark = 0;
    assert_int_equal(firewall_install(&s), -EINVAL);
    assert_int_equal(count_rules("SIPKEEP"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install),
        cmocka_unit_test(test_install_invalid),
        cmocka_unit_test(test_iface_ok),
        cmocka_unit_test(test_cleanup),
        cmocka_unit_test(test_jump_delete),
        cmocka_unit_test(test_run), /* last: moves the process to a new netns */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
