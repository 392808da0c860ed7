/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ctflush.c - transparent mode's conntrack flush on a WAN change
 * (intercept/ctflush.h): when it is due, the commands it builds, and how
 * they run one after the other on the loop, through a fake runner (the
 * seam of struct ctflush_runner) on the fake clock, and through the
 * kernel's runner with harmless programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netwatch.h"
#include "fake_clock.h"
#include "intercept/ctflush.h"
#include "intercept/ctflush_int.h"

/* ---- the decision ---- */

static void test_due(void **state)
{
    (void)state;
    /* an address gone is a WAN change even when no flow used it */
    assert_true(ctflush_due(NETWATCH_ADDR_GONE, 0));
    assert_true(ctflush_due(NETWATCH_ADDR_GONE | NETWATCH_ADDR_NEW, 0));
    assert_true(ctflush_due(NETWATCH_ALL, 0)); /* lost messages: anything changed */
    /* a route or address that moved a flow */
    assert_true(ctflush_due(NETWATCH_ROUTE_NEW, 1));
    assert_true(ctflush_due(NETWATCH_ROUTE_GONE, 2));
    assert_true(ctflush_due(NETWATCH_ADDR_NEW, 1));
    /* router advertisements refreshing what is there: no */
    assert_false(ctflush_due(NETWATCH_ADDR_NEW, 0));
    assert_false(ctflush_due(NETWATCH_ROUTE_NEW, 0));
    assert_false(ctflush_due(NETWATCH_ADDR_NEW | NETWATCH_ROUTE_NEW | NETWATCH_ROUTE_GONE, 0));
    assert_false(ctflush_due(0, 3));
}

/* ---- the commands ---- */

static struct sockaddr_in sin4(const char *a, uint16_t port)
{
    struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

    assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
    return s;
}

static struct cfg_cidr cidr(int family, const char *a, unsigned prefix)
{
    struct cfg_cidr c = { .family = family, .prefix = prefix };

    assert_int_equal(inet_pton(family, a, c.addr), 1);
    return c;
}

static void test_text(void **state)
{
    struct sockaddr_in dsts[2] = { sin4("198.51.100.10", 5060), sin4("203.0.113.7", 5080) };
    struct cfg_cidr allow[3] = { cidr(AF_INET, "192.168.1.0", 24),
                                 cidr(AF_INET6, "fd00::", 64),
                                 cidr(AF_INET, "10.0.0.5", 32) };
    size_t sz = ctflush_text_size(2, 3);
    char *buf = malloc(sz);
    int n;

    (void)state;
    assert_non_null(buf);
    n = ctflush_text(dsts, 2, allow, 3, buf, sz);
    assert_string_equal(buf,
        "conntrack -D -f ipv4 -p udp -s 192.168.1.0/24 -d 198.51.100.10 --dport 5060\n"
        "conntrack -D -f ipv4 -p tcp -s 192.168.1.0/24 -d 198.51.100.10 --dport 5060\n"
        "conntrack -D -f ipv4 -p udp -s 192.168.1.0/24 -d 203.0.113.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p tcp -s 192.168.1.0/24 -d 203.0.113.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p udp -s 10.0.0.5/32 -d 198.51.100.10 --dport 5060\n"
        "conntrack -D -f ipv4 -p tcp -s 10.0.0.5/32 -d 198.51.100.10 --dport 5060\n"
        "conntrack -D -f ipv4 -p udp -s 10.0.0.5/32 -d 203.0.113.7 --dport 5080\n"
        "conntrack -D -f ipv4 -p tcp -s 10.0.0.5/32 -d 203.0.113.7 --dport 5080\n");
    assert_int_equal(n, (int)strlen(buf));
    /* the size bound holds for the longest addresses */
    {
        struct sockaddr_in big = sin4("255.255.255.255", 65535);
        struct cfg_cidr wide = cidr(AF_INET, "255.255.255.0", 24);

        assert_true(ctflush_text(&big, 1, &wide, 1, buf, ctflush_text_size(1, 1)) > 0);
    }
    /* too small: -ENOSPC */
    assert_int_equal(ctflush_text(dsts, 2, allow, 3, buf, 100), -ENOSPC);
    /* no IPv4 prefix: nothing to run */
    assert_int_equal(ctflush_text(dsts, 2, &allow[1], 1, buf, sz), 0);
    assert_string_equal(buf, "");
    /* a destination without a port or not IPv4 */
    dsts[1].sin_port = 0;
    assert_int_equal(ctflush_text(dsts, 2, allow, 3, buf, sz), -EINVAL);
    dsts[1] = sin4("203.0.113.7", 5080);
    dsts[1].sin_family = AF_INET6;
    assert_int_equal(ctflush_text(dsts, 2, allow, 3, buf, sz), -EINVAL);
    free(buf);
}

/* ---- running them: a fake runner ---- */

#define FAKE_MAX 8

struct fake_cmd {
    char argv[256];    /* the words joined by single spaces */
    const char *err;   /* what it writes to stderr */
    int status;        /* its exit status */
    int spawn_rc;      /* spawn fails with this when < 0 */
    bool hangs;        /* never ends until killed */
};

struct fake_runner {
    struct fake_cmd cmd[FAKE_MAX]; /* the script, in spawn order */
    int spawned, reaped, killed, running;
    pid_t running_pid;
};

static int fake_spawn(char *const argv[], pid_t *pid, int *err_fd, void *arg)
{
    struct fake_runner *f = arg;
    struct fake_cmd *c;
    int p[2];
    size_t len = 0;

    assert_true(f->spawned < FAKE_MAX);
    assert_int_equal(f->running, 0); /* one after the other */
    c = &f->cmd[f->spawned++];
    for (size_t i = 0; argv[i]; i++)
        len += (size_t)snprintf(c->argv + len, sizeof(c->argv) - len, "%s%s", i ? " " : "",
                                argv[i]);
    if (c->spawn_rc < 0)
        return c->spawn_rc;
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    if (c->err)
        assert_int_equal(write(p[1], c->err, strlen(c->err)), (ssize_t)strlen(c->err));
    close(p[1]);
    f->running = 1;
    f->running_pid = 1000 + f->spawned;
    *pid = f->running_pid;
    *err_fd = p[0];
    return 0;
}

static int fake_reap(pid_t pid, int *status, void *arg)
{
    struct fake_runner *f = arg;
    struct fake_cmd *c = &f->cmd[f->spawned - 1];

    assert_int_equal(pid, f->running_pid);
    if (c->hangs)
        return 0;
    f->running = 0;
    f->reaped++;
    *status = c->status;
    return 1;
}

static void fake_kill(pid_t pid, void *arg)
{
    struct fake_runner *f = arg;

    assert_int_equal(pid, f->running_pid);
    f->killed++;
    f->cmd[f->spawned - 1].hangs = false;
    f->cmd[f->spawned - 1].status = 128 + 9;
}

struct fx {
    uint64_t now;
    struct loop *l;
    struct fake_runner f;
    struct ctflush_runner r;
    struct ctflush *c;
    FILE *log;
    int saved_stderr;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));

    assert_non_null(x);
    x->l = fake_loop_new(&x->now, 1000);
    x->r = (struct ctflush_runner){ fake_spawn, fake_reap, fake_kill, &x->f };
    assert_int_equal(ctflush_new(&x->c, x->l, &x->r), 0);
    /* the log lines go to a file the test reads */
    fflush(stderr);
    x->saved_stderr = dup(2);
    x->log = tmpfile();
    assert_non_null(x->log);
    dup2(fileno(x->log), 2);
    log_setup(LOG_LVL_INFO, LOG_TARGET_STDERR, "test");
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    ctflush_free(x->c);
    loop_free(x->l);
    fflush(stderr);
    dup2(x->saved_stderr, 2);
    close(x->saved_stderr);
    fclose(x->log);
    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    free(x);
    return 0;
}

/* Moves the clock by ms and fires what is due. */
static void advance(struct fx *x, uint64_t ms)
{
    x->now += ms;
    loop_run_timers(x->l);
}

/* The log so far (static buffer). */
static const char *log_text(struct fx *x)
{
    static char buf[4096];
    size_t n;

    fflush(stderr);
    rewind(x->log);
    n = fread(buf, 1, sizeof(buf) - 1, x->log);
    buf[n] = '\0';
    fseek(x->log, 0, SEEK_END);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

#define TWO_LINES \
    "conntrack -D -f ipv4 -p udp -s 10.0.0.0/24 -d 198.51.100.10 --dport 5060\n" \
    "conntrack -D -f ipv4 -p tcp -s 10.0.0.0/24 -d 198.51.100.10 --dport 5060\n"
#define DELETED(n) "conntrack v1.4.7 (conntrack-tools): " #n " flow entries have been deleted.\n"

static void test_one_after_the_other(void **state)
{
    struct fx *x = *state;
    struct ctflush_counts c;

    x->f.cmd[0] = (struct fake_cmd){ .err = DELETED(2), .status = 0 };
    /* nothing matched: conntrack ends 1, no failure */
    x->f.cmd[1] = (struct fake_cmd){ .err = DELETED(0), .status = 1 };
    assert_int_equal(ctflush_start(x->c, TWO_LINES), 0);
    /* the first runs at once, the second waits for it */
    assert_int_equal(x->f.spawned, 1);
    assert_string_equal(x->f.cmd[0].argv,
                        "conntrack -D -f ipv4 -p udp -s 10.0.0.0/24 -d 198.51.100.10 --dport 5060");
    assert_true(ctflush_busy(x->c));
    advance(x, CTFLUSH_POLL_MS - 1);
    assert_int_equal(x->f.reaped, 0);
    advance(x, 1);
    assert_int_equal(x->f.reaped, 1);
    assert_int_equal(x->f.spawned, 2);
    assert_string_equal(x->f.cmd[1].argv,
                        "conntrack -D -f ipv4 -p tcp -s 10.0.0.0/24 -d 198.51.100.10 --dport 5060");
    assert_int_equal(count(log_text(x), "event=conntrack_"), 0); /* one line at the end */
    advance(x, CTFLUSH_POLL_MS);
    assert_false(ctflush_busy(x->c));
    ctflush_counts(x->c, &c);
    assert_int_equal(c.flushes, 1);
    assert_int_equal(c.deleted, 2);
    assert_int_equal(c.failed, 0);
    assert_int_equal(count(log_text(x), "event=conntrack_flushed deleted=2 commands=2"), 1);
    assert_int_equal(count(log_text(x), "event=conntrack_"), 1);
    /* nothing left armed */
    assert_int_equal(loop_next_timeout(x->l), -1);
}

static void test_failure_logged(void **state)
{
    struct fx *x = *state;
    struct ctflush_counts c;

    /* not installed (execvp failed), then a failed start, then one that ran */
    x->f.cmd[0] = (struct fake_cmd){ .status = 127 };
    x->f.cmd[1] = (struct fake_cmd){ .spawn_rc = -EAGAIN };
    x->f.cmd[2] = (struct fake_cmd){ .err = DELETED(1), .status = 0 };
    /* status 0 without conntrack's count is not trusted either */
    x->f.cmd[3] = (struct fake_cmd){ .err = "garbage\n", .status = 0 };
    assert_int_equal(ctflush_start(x->c, TWO_LINES TWO_LINES), 0);
    for (int i = 0; i < 10 && ctflush_busy(x->c); i++)
        advance(x, CTFLUSH_POLL_MS);
    assert_false(ctflush_busy(x->c));
    assert_int_equal(x->f.spawned, 4);
    ctflush_counts(x->c, &c);
    assert_int_equal(c.flushes, 1);
    assert_int_equal(c.deleted, 1);
    assert_int_equal(c.failed, 3);
    assert_non_null(strstr(log_text(x), "event=conntrack_flush_failed deleted=1 commands=4 "
                                        "failed=3 status=127 cmd=\"conntrack -D -f ipv4 -p udp "
                                        "-s 10.0.0.0/24 -d 198.51.100.10 --dport 5060\" "
                                        "hint=\"the conntrack program"));
    assert_int_equal(count(log_text(x), "event=conntrack_"), 1);
}

static void test_queued_and_replaced(void **state)
{
    struct fx *x = *state;
    struct ctflush_counts c;

    for (int i = 0; i < 4; i++)
        x->f.cmd[i] = (struct fake_cmd){ .err = DELETED(1), .status = 0 };
    assert_int_equal(ctflush_start(x->c, TWO_LINES), 0);
    /* two more changes while it runs: the last one waits, the other is
     * replaced by it */
    assert_int_equal(ctflush_start(x->c, "conntrack -D -p udp\n"), 0);
    assert_int_equal(ctflush_start(x->c, "conntrack -D -p tcp\nconntrack -D -p udp\n"), 0);
    assert_int_equal(x->f.spawned, 1);
    for (int i = 0; i < 10 && ctflush_busy(x->c); i++)
        advance(x, CTFLUSH_POLL_MS);
    assert_int_equal(x->f.spawned, 4);
    assert_string_equal(x->f.cmd[2].argv, "conntrack -D -p tcp");
    assert_string_equal(x->f.cmd[3].argv, "conntrack -D -p udp");
    ctflush_counts(x->c, &c);
    assert_int_equal(c.flushes, 2);
    assert_int_equal(c.deleted, 4);
    assert_int_equal(count(log_text(x), "event=conntrack_flushed deleted=2 commands=2"), 2);
    /* empty text: nothing runs, nothing logged */
    assert_int_equal(ctflush_start(x->c, ""), 0);
    assert_false(ctflush_busy(x->c));
    assert_int_equal(x->f.spawned, 4);
}

static void test_timeout_kills(void **state)
{
    struct fx *x = *state;
    struct ctflush_counts c;

    x->f.cmd[0] = (struct fake_cmd){ .hangs = true };
    x->f.cmd[1] = (struct fake_cmd){ .err = DELETED(3), .status = 0 };
    assert_int_equal(ctflush_start(x->c, TWO_LINES), 0);
    advance(x, CTFLUSH_TIMEOUT_MS - CTFLUSH_POLL_MS);
    assert_int_equal(x->f.killed, 0);
    for (int i = 0; i < 3 && x->f.spawned < 2; i++)
        advance(x, CTFLUSH_POLL_MS);
    assert_int_equal(x->f.killed, 1);
    assert_int_equal(x->f.spawned, 2); /* the next one still runs */
    advance(x, CTFLUSH_POLL_MS);
    ctflush_counts(x->c, &c);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.deleted, 3);
    assert_non_null(strstr(log_text(x), "status=137 cmd=\"conntrack -D -f ipv4 -p udp"));
    assert_non_null(strstr(log_text(x), "hint=\"killed after the timeout\""));
}

static void test_bad_text(void **state)
{
    struct fx *x = *state;
    char line[300];

    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    assert_int_equal(ctflush_start(x->c, line), -E2BIG);
    assert_int_equal(ctflush_start(x->c, "a b c d e f g h i j k l m n o p q r s t u v w x y z "
                                         "1 2 3 4 5 6 7\n"), -E2BIG);
    assert_false(ctflush_busy(x->c));
    assert_int_equal(x->f.spawned, 0);
}

/* ---- the kernel's runner, with programs that touch nothing ---- */

static void test_kernel_runner(void **state)
{
    struct loop *l;
    struct ctflush *c;
    struct ctflush_counts n;
    FILE *lf = tmpfile();
    int saved = dup(2);
    char buf[2048] = "";

    (void)state;
    assert_non_null(lf);
    assert_int_equal(loop_new(&l, NULL), 0);
    assert_int_equal(ctflush_new(&c, l, NULL), 0);
    fflush(stderr);
    dup2(fileno(lf), 2);
    log_setup(LOG_LVL_INFO, LOG_TARGET_STDERR, "test");
    /* ls of a missing file: writes to stderr and ends 2; a program that is
     * not there: 127 */
    assert_int_equal(ctflush_start(c, "ls /nonexistent-ctflush-test\n"
                                      "sipkeep-no-such-program-q6 -D\n"), 0);
    for (int i = 0; i < 5000 && ctflush_busy(c); i++)
        assert_int_equal(loop_run_once(l, 1), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    assert_false(ctflush_busy(c));
    ctflush_counts(c, &n);
    assert_int_equal(n.failed, 2);
    assert_int_equal(n.last_status, 127);
    rewind(lf);
    assert_true(fread(buf, 1, sizeof(buf) - 1, lf) > 0);
    assert_non_null(strstr(buf, "event=conntrack_flush_failed deleted=0 commands=2 failed=2 "
                                "status=2 cmd=\"ls /nonexistent-ctflush-test\""));
    fclose(lf);
    ctflush_free(c);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_text),
        cmocka_unit_test_setup_teardown(test_one_after_the_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_and_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_text, setup, teardown),
        cmocka_unit_test(test_kernel_runner),
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
