/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the IP_TRANSPARENT egress: inside a private network
 * namespace (the test process unshares one; skipped without root), a
 * socket bound to a non-local provider address sends to a receiver on
 * loopback, which sees the provider's address and port as the source;
 * the socket carries the configured SO_MARK.  The daemon opens these
 * sockets at first use, after the drop to its `user:`: that works with
 * the capabilities transparent mode keeps, and fails without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "core/privdrop.h"
#include "intercept/tproxy.h"

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

/* Own netns with lo up; false if not permitted (not root). */
static bool private_netns(void)
{
    struct ifreq ifr;
    int fd;

    if (unshare(CLONE_NEWNET) < 0)
        return false;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
    return true;
}

static void test_spoofed_source(void **state)
{
    struct sockaddr_in prov = sin4("203.0.113.5", 5060), rx = sin4("127.0.0.1", 0), from;
    socklen_t sl = sizeof(rx);
    struct pollfd pfd;
    char buf[64];
    int r, t, mark = 0;
    ssize_t n;

    (void)state;
    if (!private_netns())
        skip();
    r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(r >= 0);
    assert_int_equal(bind(r, (struct sockaddr *)&rx, sizeof(rx)), 0);
    assert_int_equal(getsockname(r, (struct sockaddr *)&rx, &sl), 0);
    t = tproxy_open(&prov, 0x5e9);
    assert_true(t >= 0);
    sl = sizeof(mark);
    assert_int_equal(getsockopt(t, SOL_SOCKET, SO_MARK, &mark, &sl), 0);
    assert_int_equal(mark, 0x5e9);
    assert_int_equal(tproxy_send(t, "SIP/2.0 200 OK\r\n", 16, &rx), 0);
    pfd = (struct pollfd){.fd = r, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    sl = sizeof(from);
    n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &sl);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(from.sin_addr.s_addr, prov.sin_addr.s_addr);
    assert_int_equal(from.sin_port, prov.sin_port);
    /* a second socket for the same provider address can coexist */
    int t2 = tproxy_open(&prov, 0x5e9);
    assert_true(t2 >= 0);
    close(t2);
    close(t);
    close(r);
}

static void test_invalid(void **state)
{
    struct sockaddr_in s = sin4("203.0.113.5", 5060);

    (void)state;
    s.sin_family = AF_INET6;
    assert_int_equal(tproxy_open(&s, 1), -EINVAL);
}

/* Child side, in the test's private netns: drop to nobody keeping the
 * capabilities of mode, then open, mark and send as the daemon does at its
 * first answer.  0 on success, else the number of the failed step. */
static int child_send_after_drop(enum privdrop_mode mode, int rx_fd, const struct sockaddr_in *rx)
{
    struct sockaddr_in prov = { .sin_family = AF_INET, .sin_port = htons(5060),
                                .sin_addr.s_addr = htonl(0xcb007105) }, from;
    struct privdrop_plan p;
    socklen_t sl = sizeof(from);
    char err[256], buf[32];
    int t, mark = 0;

    if (privdrop_plan(&p, 0, "nobody", privdrop_caps_for_mode(mode), err, sizeof(err)) != 0 ||
        privdrop_apply(&p, NULL) != 0)
        return 1;
    t = tproxy_open(&prov, 0x5e9);
    if (mode == PRIVDROP_MODE_PROXY)
        return t == -EPERM ? 0 : 2; /* without the capabilities: refused */
    if (t < 0)
        return 3;
    if (getsockopt(t, SOL_SOCKET, SO_MARK, &mark, &(socklen_t){sizeof(mark)}) != 0 ||
        mark != 0x5e9)
        return 4;
    if (tproxy_send(t, "OPTIONS", 7, rx) != 0)
        return 5;
    if (poll(&(struct pollfd){ .fd = rx_fd, .events = POLLIN }, 1, 5000) != 1 ||
        recvfrom(rx_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &sl) != 7)
        return 6;
    return from.sin_addr.s_addr == prov.sin_addr.s_addr && from.sin_port == prov.sin_port
               ? 0 : 7;
}

static int after_drop(enum privdrop_mode mode)
{
    struct sockaddr_in rx = sin4("127.0.0.1", 0);
    socklen_t sl = sizeof(rx);
    int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), st = -1;
    pid_t pid;

    assert_true(r >= 0);
    assert_int_equal(bind(r, (struct sockaddr *)&rx, sizeof(rx)), 0);
    assert_int_equal(getsockname(r, (struct sockaddr *)&rx, &sl), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_send_after_drop(mode, r, &rx));
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(r);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_send_after_privilege_drop(void **state)
{
    (void)state;
    if (!getpwnam("nobody") || prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 ||
        !private_netns())
        skip(); /* needs root, as the daemon when started by root */
    assert_int_equal(after_drop(PRIVDROP_MODE_TRANSPARENT), 0);
    assert_int_equal(after_drop(PRIVDROP_MODE_PROXY), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_spoofed_source),
        cmocka_unit_test(test_send_after_privilege_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
