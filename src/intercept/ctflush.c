/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctflush.c - the phones' conntrack entries flushed on a WAN change; see
 * ctflush.h. */
#include "intercept/ctflush.h"
#include "intercept/ctflush_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netwatch.h"
#include "core/privdrop.h"

#define CT_LINE_MAX 256
#define CT_ARGS_MAX 32
#define CT_ERR_MAX 256
/* the longest line ctflush_text writes, with room to spare */
#define CT_LINE_SIZE 112
#define CT_STATUS_NO_CAPS 126 /* the child could not get CAP_NET_ADMIN */

bool ctflush_due(unsigned what, unsigned flows_changed)
{
    if (what & (NETWATCH_ADDR_GONE | NETWATCH_LOST))
        return true;
    return flows_changed > 0 && (what & (NETWATCH_ADDR_NEW | NETWATCH_ROUTE_NEW |
                                         NETWATCH_ROUTE_GONE));
}

size_t ctflush_text_size(size_t n_dsts, size_t n_allow)
{
    return n_dsts * n_allow * 2 * CT_LINE_SIZE + 1;
}

int ctflush_text(const struct sockaddr_in *dsts, size_t n_dsts, const struct cfg_cidr *allow,
                 size_t n_allow, char *buf, size_t sz)
{
    static const char *const protos[] = { "udp", "tcp" };
    size_t len = 0;

    if (sz == 0)
        return -ENOSPC;
    buf[0] = '\0';
    for (size_t i = 0; i < n_dsts; i++)
        if (dsts[i].sin_family != AF_INET || dsts[i].sin_port == 0)
            return -EINVAL;
    for (size_t a = 0; a < n_allow; a++) {
        char net[INET_ADDRSTRLEN];

        if (allow[a].family != AF_INET)
            continue; /* transparent mode intercepts IPv4 only */
        inet_ntop(AF_INET, allow[a].addr, net, sizeof(net));
        for (size_t i = 0; i < n_dsts; i++) {
            char dst[INET_ADDRSTRLEN];

            inet_ntop(AF_INET, &dsts[i].sin_addr, dst, sizeof(dst));
            for (size_t p = 0; p < 2; p++) {
                int n = snprintf(buf + len, sz - len,
                                 "conntrack -D -f ipv4 -p %s -s %s/%u -d %s --dport %u\n",
                                 protos[p], net, allow[a].prefix, dst,
                                 (unsigned)ntohs(dsts[i].sin_port));

                if (n < 0 || (size_t)n >= sz - len)
                    return -ENOSPC;
                len += (size_t)n;
            }
        }
    }
    return (int)len;
}

/* ---- the kernel's runner ---- */

static int kernel_spawn(char *const argv[], pid_t *pid, int *err_fd, void *arg)
{
    int p[2];
    pid_t child;

    (void)arg;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    child = fork();
    if (child < 0) {
        int err = -errno;

        close(p[0]);
        close(p[1]);
        return err;
    }
    if (child == 0) {
        int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
        sigset_t none;

        /* the daemon's blocked signals (signalfd) are not the helper's */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(dn, 0);
        dup2(dn, 1);
        dup2(p[1], 2);
        /* after the drop to `user:` conntrack needs the daemon's
         * CAP_NET_ADMIN as ambient to talk ctnetlink (privdrop.h) */
        if (privdrop_pass_caps(PRIVDROP_CAP_NET_ADMIN) < 0)
            _exit(CT_STATUS_NO_CAPS);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        int err = -errno;

        close(p[0]);
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
        }
        return err;
    }
    *pid = child;
    *err_fd = p[0];
    return 0;
}

static int kernel_reap(pid_t pid, int *status, void *arg)
{
    int st;
    pid_t r;

    (void)arg;
    while ((r = waitpid(pid, &st, WNOHANG)) < 0)
        if (errno != EINTR)
            return -errno;
    if (r == 0)
        return 0;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 1;
}

static void kernel_kill(pid_t pid, void *arg)
{
    (void)arg;
    kill(pid, SIGKILL);
}

const struct ctflush_runner ctflush_kernel = { kernel_spawn, kernel_reap, kernel_kill, NULL };

/* ---- running a flush ---- */

struct ctflush {
    struct loop *loop;
    const struct ctflush_runner *r;
    struct loop_timer poll;
    char *text;          /* the running flush's commands */
    size_t pos;          /* start of the next command in text */
    char *waiting;       /* the next flush's, NULL when none */
    pid_t pid;           /* the running command, 0 when none */
    int err_fd;          /* its stderr */
    char err[CT_ERR_MAX];
    size_t err_len;
    uint64_t started_ms;
    char line[CT_LINE_MAX]; /* the running command, for the log */
    /* this flush so far */
    unsigned commands, failed;
    unsigned long deleted;
    int first_status;
    char first_failed[CT_LINE_MAX];
    struct ctflush_counts total;
};

/* The count of "conntrack v1.4.7 (conntrack-tools): 3 flow entries have
 * been deleted." in the helper's stderr, or -1 when there is none. */
static long deleted_count(const char *err)
{
    static const char tail[] = " flow entries have been deleted";
    const char *t = strstr(err, tail), *d = t;

    if (!t)
        return -1;
    while (d > err && d[-1] >= '0' && d[-1] <= '9')
        d--;
    if (d == t || t - d > 9)
        return -1;
    return strtol(d, NULL, 10);
}

static void drain_err(struct ctflush *c)
{
    char scrap[512];
    ssize_t n;

    /* the helper would block on a full pipe: read it all, keep the start */
    while (c->err_fd >= 0 && (n = read(c->err_fd, scrap, sizeof(scrap))) > 0) {
        size_t keep = sizeof(c->err) - 1 - c->err_len;

        if ((size_t)n < keep)
            keep = (size_t)n;
        memcpy(c->err + c->err_len, scrap, keep);
        c->err_len += keep;
        c->err[c->err_len] = '\0';
    }
}

static void end_command(struct ctflush *c, int status)
{
    long n = deleted_count(c->err);
    bool ok = (status == 0 && n >= 0) || (status == 1 && n == 0);

    c->commands++;
    c->total.last_status = status;
    if (n > 0)
        c->deleted += (unsigned long)n;
    if (!ok) {
        if (c->failed++ == 0) {
            c->first_status = status;
            snprintf(c->first_failed, sizeof(c->first_failed), "%s", c->line);
        }
        c->total.failed++;
    }
    if (c->err_fd >= 0)
        close(c->err_fd);
    c->err_fd = -1;
    c->pid = 0;
}

static const char *status_hint(int status)
{
    if (status == 127)
        return "the conntrack program (package conntrack) is not installed or not in PATH";
    if (status == CT_STATUS_NO_CAPS)
        return "the helper could not get CAP_NET_ADMIN";
    if (status == 128 + SIGKILL)
        return "killed after the timeout";
    return "see conntrack(8)";
}

static void end_flush(struct ctflush *c)
{
    c->total.flushes++;
    c->total.deleted += c->deleted;
    if (c->failed == 0)
        log_info("conntrack_flushed", "deleted=%lu commands=%u", c->deleted, c->commands);
    else
        log_warn("conntrack_flush_failed", "deleted=%lu commands=%u failed=%u status=%d "
                 "cmd=\"%s\" hint=\"%s\"", c->deleted, c->commands, c->failed,
                 c->first_status, c->first_failed, status_hint(c->first_status));
    free(c->text);
    c->text = NULL;
}

/* Splits line (a copy) into argv; the words point into line. */
static int split(char *line, char *argv[CT_ARGS_MAX + 1])
{
    size_t argc = 0;
    char *save = NULL;

    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (argc == CT_ARGS_MAX)
            return -E2BIG;
        argv[argc++] = t;
    }
    argv[argc] = NULL;
    return (int)argc;
}

/* Starts the command at c->pos (moving pos past it).  false when none is
 * left. */
static bool start_one(struct ctflush *c)
{
    while (c->text[c->pos]) {
        size_t n = strcspn(c->text + c->pos, "\n");
        char copy[CT_LINE_MAX], *argv[CT_ARGS_MAX + 1];
        int rc;

        memcpy(c->line, c->text + c->pos, n); /* n < CT_LINE_MAX: ctflush_start */
        c->line[n] = '\0';
        c->pos += n + (c->text[c->pos + n] == '\n');
        memcpy(copy, c->line, n + 1);
        if (split(copy, argv) <= 0)
            continue;
        c->err_len = 0;
        c->err[0] = '\0';
        rc = c->r->spawn(argv, &c->pid, &c->err_fd, c->r->arg);
        if (rc < 0) {
            c->err_fd = -1;
            end_command(c, rc);
            continue;
        }
        c->started_ms = loop_now(c->loop);
        if (loop_timer_set(c->loop, &c->poll, CTFLUSH_POLL_MS) < 0) {
            /* cannot watch it: let it run unwatched, count it failed */
            c->r->kill(c->pid, c->r->arg);
            end_command(c, -ENOMEM);
            continue;
        }
        return true;
    }
    return false;
}

static void next(struct ctflush *c)
{
    for (;;) {
        if (c->text && start_one(c))
            return;
        if (c->text)
            end_flush(c);
        if (!c->waiting)
            return;
        c->text = c->waiting;
        c->waiting = NULL;
        c->pos = 0;
        c->commands = c->failed = 0;
        c->deleted = 0;
        c->first_status = 0;
        c->first_failed[0] = '\0';
    }
}

static void on_poll(struct loop_timer *t)
{
    struct ctflush *c = container_of(t, struct ctflush, poll);
    int status = 0, rc;

    drain_err(c);
    rc = c->r->reap(c->pid, &status, c->r->arg);
    if (rc == 0) {
        if (loop_now(c->loop) - c->started_ms >= CTFLUSH_TIMEOUT_MS)
            c->r->kill(c->pid, c->r->arg);
        if (loop_timer_set(c->loop, &c->poll, CTFLUSH_POLL_MS) == 0)
            return;
        rc = -ENOMEM;
    }
    drain_err(c);
    end_command(c, rc < 0 ? rc : status);
    next(c);
}

static int check_text(const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n"), words = 1;

        if (n >= CT_LINE_MAX)
            return -E2BIG;
        for (size_t i = 0; i < n; i++)
            words += p[i] == ' ';
        if (words > CT_ARGS_MAX)
            return -E2BIG;
        p += n + (p[n] == '\n');
    }
    return 0;
}

int ctflush_start(struct ctflush *c, const char *text)
{
    char *copy;
    int rc = check_text(text);

    if (rc < 0)
        return rc;
    if (!text[0])
        return 0;
    copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    free(c->waiting);
    c->waiting = copy;
    if (!c->text)
        next(c);
    return 0;
}

int ctflush_new(struct ctflush **out, struct loop *l, const struct ctflush_runner *r)
{
    struct ctflush *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->loop = l;
    c->r = r ? r : &ctflush_kernel;
    c->err_fd = -1;
    loop_timer_init(&c->poll, on_poll);
    *out = c;
    return 0;
}

void ctflush_counts(const struct ctflush *c, struct ctflush_counts *out)
{
    *out = c->total;
}

bool ctflush_busy(const struct ctflush *c)
{
    return c->text != NULL;
}

void ctflush_free(struct ctflush *c)
{
    int status;

    if (!c)
        return;
    loop_timer_cancel(c->loop, &c->poll);
    if (c->pid > 0) {
        c->r->kill(c->pid, c->r->arg);
        (void)c->r->reap(c->pid, &status, c->r->arg);
    }
    if (c->err_fd >= 0)
        close(c->err_fd);
    free(c->text);
    free(c->waiting);
    free(c);
}
