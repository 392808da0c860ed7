/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the sd_notify(3) datagrams: a path and an abstract
 * NOTIFY_SOCKET reach a socket the test owns, malformed names are refused
 * without a socket left behind, WATCHDOG_USEC/WATCHDOG_PID are read as
 * sd_watchdog_enabled(3) reads them, the keep-alive timer runs on the loop's
 * (fake) clock at half the watchdog time, a full receiver never blocks the
 * sender, and without NOTIFY_SOCKET nothing is sent and the environment
 * stays as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/sdnotify.h"
#include "fake_clock.h"

struct rx {
    int fd;
    char dir[64];
    char name[128]; /* what NOTIFY_SOCKET would say */
};

/* A bound datagram socket in a fresh directory (or an abstract one). */
static void rx_open(struct rx *r, bool abstract)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    socklen_t len;

    r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(r->fd >= 0);
    r->dir[0] = '\0';
    if (abstract) {
        snprintf(r->name, sizeof(r->name), "@sipkeep-test-sdnotify-%ld", (long)getpid());
        memcpy(a.sun_path + 1, r->name + 1, strlen(r->name) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->name));
    } else {
        snprintf(r->dir, sizeof(r->dir), "/tmp/test_sdnotify.XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        snprintf(r->name, sizeof(r->name), "%s/notify", r->dir);
        memcpy(a.sun_path, r->name, strlen(r->name) + 1);
        len = (socklen_t)sizeof(a);
    }
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, len), 0);
}

static void rx_close(struct rx *r)
{
    close(r->fd);
    if (r->dir[0]) {
        unlink(r->name);
        rmdir(r->dir);
    }
}

/* The next datagram, or "" when none is queued. */
static const char *rx_next(struct rx *r)
{
    static char buf[512];
    ssize_t n = recv(r->fd, buf, sizeof(buf) - 1, 0);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* A receiver and a notifier pointed at it, with these watchdog variables
 * for a process whose pid is 77. */
static void rx_with_notifier(struct rx *r, struct sdnotify *n, const char *wd_usec,
                             const char *wd_pid)
{
    rx_open(r, false);
    assert_int_equal(sdnotify_open_with(n, r->name, wd_usec, wd_pid, 77), 0);
    assert_true(sdnotify_enabled(n));
}

static void test_path_socket(void **state)
{
    struct sdnotify n;
    struct rx r;

    (void)state;
    rx_open(&r, false);
    assert_int_equal(sdnotify_open_with(&n, r.name, NULL, NULL, getpid()), 0);
    assert_true(sdnotify_enabled(&n));
    assert_int_equal(n.watchdog_ms, 0);
    assert_int_equal(sdnotify_send(&n, "READY=1\nSTATUS=flows up 0/0"), 0);
    assert_string_equal(rx_next(&r), "READY=1\nSTATUS=flows up 0/0");
    assert_int_equal(sdnotify_reloading(&n), 0);
    const char *m = rx_next(&r);
    assert_true(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    assert_true(strtoull(m + 27, NULL, 10) > 0);
    assert_string_equal(rx_next(&r), "");
    sdnotify_close(&n);
    assert_false(sdnotify_enabled(&n));
    assert_int_equal(sdnotify_send(&n, "STOPPING=1"), 0); /* closed: nothing */
    assert_string_equal(rx_next(&r), "");
    rx_close(&r);
}

static void test_abstract_socket(void **state)
{
    struct sdnotify n;
    struct rx r;

    (void)state;
    rx_open(&r, true);
    assert_int_equal(sdnotify_open_with(&n, r.name, NULL, NULL, getpid()), 0);
    assert_int_equal(sdnotify_send(&n, "STOPPING=1"), 0);
    assert_string_equal(rx_next(&r), "STOPPING=1");
    sdnotify_close(&n);
    rx_close(&r);
}

static void test_bad_names_refused(void **state)
{
    char longname[200];
    struct sdnotify n;

    (void)state;
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(sdnotify_open_with(&n, "relative/notify", NULL, NULL, 1), -EINVAL);
    assert_false(sdnotify_enabled(&n));
    assert_int_equal(sdnotify_open_with(&n, "", NULL, NULL, 1), -EINVAL);
    assert_int_equal(sdnotify_open_with(&n, "@", NULL, NULL, 1), -EINVAL);
    assert_int_equal(sdnotify_open_with(&n, longname, NULL, NULL, 1), -EINVAL);
    longname[0] = '@';
    assert_int_equal(sdnotify_open_with(&n, longname, NULL, NULL, 1), -EINVAL);
    assert_int_equal(sdnotify_open_with(&n, "vsock:2:1234", NULL, NULL, 1), -EAFNOSUPPORT);
    assert_false(sdnotify_enabled(&n));
    assert_int_equal(sdnotify_send(&n, "READY=1"), 0);
}

static void test_watchdog_values(void **state)
{
    uint64_t us = 99;

    (void)state;
    assert_int_equal(sdnotify_watchdog_usec(NULL, NULL, 42, &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(sdnotify_watchdog_usec("2000000", NULL, 42, &us), 0);
    assert_int_equal(us, 2000000);
    assert_int_equal(sdnotify_watchdog_usec("2000000", "42", 42, &us), 0);
    assert_int_equal(us, 2000000);
    /* Another process's watchdog (systemd set it for a parent). */
    assert_int_equal(sdnotify_watchdog_usec("2000000", "43", 42, &us), 0);
    assert_int_equal(us, 0);
    static const char *bad_usec[] = { "", "0", "-5", "+5", " 5", "5 ", "12x", "0x10",
                                      "18446744073709551615", "99999999999999999999" };
    for (size_t i = 0; i < sizeof(bad_usec) / sizeof(bad_usec[0]); i++) {
        us = 99;
        assert_int_equal(sdnotify_watchdog_usec(bad_usec[i], NULL, 42, &us), -EINVAL);
        assert_int_equal(us, 0);
    }
    static const char *bad_pid[] = { "", "0", "-42", "42x", "4294967338" };
    for (size_t i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++)
        assert_int_equal(sdnotify_watchdog_usec("2000000", bad_pid[i], 42, &us), -EINVAL);
}

/* WATCHDOG=1 every half of WATCHDOG_USEC, from the loop's timers only. */
static void test_watchdog_timer(void **state)
{
    uint64_t now;
    struct loop *l = fake_loop_new(&now, 5000);
    struct sdnotify n;
    struct rx r;

    (void)state;
    rx_with_notifier(&r, &n, "2000000", "77");
    assert_int_equal(n.watchdog_ms, 1000);
    assert_int_equal(sdnotify_watchdog_start(&n, l), 0);
    now += 999;
    loop_run_timers(l);
    assert_string_equal(rx_next(&r), "");
    for (int i = 0; i < 3; i++) {
        now += 1;
        loop_run_timers(l);
        assert_string_equal(rx_next(&r), "WATCHDOG=1");
        assert_string_equal(rx_next(&r), "");
        now += 999;
        loop_run_timers(l);
        assert_string_equal(rx_next(&r), "");
    }
    /* Closing stops the keep-alives. */
    sdnotify_close(&n);
    now += 5000;
    loop_run_timers(l);
    assert_string_equal(rx_next(&r), "");
    loop_free(l);
    rx_close(&r);
}

/* No watchdog when it is meant for another pid, or without WATCHDOG_USEC;
 * a tiny WATCHDOG_USEC still gives a period > 0. */
static void test_watchdog_off(void **state)
{
    uint64_t now;
    struct loop *l = fake_loop_new(&now, 0);
    struct sdnotify n;
    struct rx r;

    (void)state;
    rx_with_notifier(&r, &n, "2000000", "78");
    assert_int_equal(n.watchdog_ms, 0);
    assert_int_equal(sdnotify_watchdog_start(&n, l), 0);
    assert_int_equal(loop_next_timeout(l), -1);
    sdnotify_close(&n);
    assert_int_equal(sdnotify_open_with(&n, r.name, "garbage", NULL, 77), 0);
    assert_true(sdnotify_enabled(&n));
    assert_int_equal(n.watchdog_ms, 0);
    sdnotify_close(&n);
    assert_int_equal(sdnotify_open_with(&n, r.name, "1", NULL, 77), 0);
    assert_int_equal(n.watchdog_ms, 1);
    sdnotify_close(&n);
    /* Without NOTIFY_SOCKET no watchdog either: nowhere to send. */
    assert_int_equal(sdnotify_open_with(&n, NULL, "2000000", NULL, 77), 0);
    assert_int_equal(sdnotify_watchdog_start(&n, l), 0);
    assert_int_equal(loop_next_timeout(l), -1);
    loop_free(l);
    rx_close(&r);
}

/* A receiver that does not read: the sender gets -EAGAIN at once, never
 * waits (a blocking send would hang this test). A receiver that is gone:
 * an error, not a crash or a signal. */
static void test_full_or_gone_receiver(void **state)
{
    struct sdnotify n;
    struct rx r;
    int rc = 0, sent = 0;

    (void)state;
    rx_open(&r, false);
    assert_int_equal(sdnotify_open_with(&n, r.name, NULL, NULL, getpid()), 0);
    while (sent < 100000 && (rc = sdnotify_send(&n, "WATCHDOG=1")) == 0)
        sent++;
    assert_int_equal(rc, -EAGAIN);
    assert_true(sent > 0);
    rx_close(&r); /* unlinks the path */
    rc = sdnotify_send(&n, "STOPPING=1");
    assert_true(rc == -ENOENT || rc == -ECONNREFUSED);
    sdnotify_close(&n);
}

/* sdnotify_open: the variables are read, then unset (iptables, which the
 * daemon may run, must not notify in its name); absent, nothing changes. */
static void test_environment(void **state)
{
    struct sdnotify n;
    struct rx r;

    (void)state;
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "4000000", 1);
    assert_int_equal(sdnotify_open(&n), 0);
    assert_false(sdnotify_enabled(&n));
    assert_string_equal(getenv("WATCHDOG_USEC"), "4000000");

    rx_open(&r, false);
    setenv("NOTIFY_SOCKET", r.name, 1);
    setenv("WATCHDOG_PID", "1", 1); /* not us: no watchdog */
    assert_int_equal(sdnotify_open(&n), 0);
    assert_true(sdnotify_enabled(&n));
    assert_int_equal(n.watchdog_ms, 0);
    assert_null(getenv("NOTIFY_SOCKET"));
    assert_null(getenv("WATCHDOG_USEC"));
    assert_null(getenv("WATCHDOG_PID"));
    assert_int_equal(sdnotify_send(&n, "READY=1"), 0);
    assert_string_equal(rx_next(&r), "READY=1");
    sdnotify_close(&n);

    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("NOTIFY_SOCKET", r.name, 1);
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(sdnotify_open(&n), 0);
    assert_int_equal(n.watchdog_ms, 15000);
    sdnotify_close(&n);
    rx_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_bad_names_refused),
        cmocka_unit_test(test_watchdog_values),
        cmocka_unit_test(test_watchdog_timer),
        cmocka_unit_test(test_watchdog_off),
        cmocka_unit_test(test_full_or_gone_receiver),
        cmocka_unit_test(test_environment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
