/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl.c - the control socket server; see ctl.h. */
#include "ctl/ctl.h"
#include "ctl/ctl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

/* A failed accept() (EMFILE...) leaves the socket readable: pause instead of
 * spinning on it. */
#define CTL_ACCEPT_PAUSE_MS 100u
/* Bytes of unread request drained before close, so that the client reads
 * our answer instead of a reset. */
#define CTL_DRAIN_MAX 65536u

struct ctl_conn {
    struct ctl_server *srv;
    struct loop_fd h;
    struct loop_timer deadline;
    size_t reqlen;
    struct report_buf out;     /* the answer, once the request is complete */
    size_t sent;
    bool answering;
    struct ctl_conn *next;
    char req[];             /* proto->req_max + 1 bytes */
};

struct ctl_server {
    struct loop *loop;
    struct loop_fd h;
    struct loop_timer resume;
    char *path;             /* the UNIX socket file; NULL for TCP */
    const struct ctl_proto *proto;
    void *proto_arg;
    ctl_handler handler;    /* the line protocol's (ctl_server_open) */
    void *arg;
    struct ctl_limits lim;
    struct ctl_conn *conns;
    unsigned nconns;
};

int ctl_parse_request(const char *line, enum ctl_request *out)
{
    static const struct { const char *text; enum ctl_request req; } reqs[] = {
        { "status", CTL_REQ_STATUS },
        { "status json", CTL_REQ_STATUS_JSON },
        { "metrics", CTL_REQ_METRICS },
    };

    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        if (strcmp(line, reqs[i].text) == 0) {
            *out = reqs[i].req;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- connections ---- */

static void conn_close(struct ctl_conn *c)
{
    struct ctl_server *s = c->srv;
    struct ctl_conn **pp = &s->conns;
    int fd = c->h.fd;
    char junk[4096];

    for (size_t n = 0; n < CTL_DRAIN_MAX; n += sizeof(junk)) {
        if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
            break;
    }
    loop_fd_del(s->loop, &c->h);
    loop_timer_cancel(s->loop, &c->deadline);
    close(fd);
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    s->nconns--;
    report_buf_free(&c->out);
    free(c);
}

/* Writes what the socket takes; closes the connection when all is sent or
 * the client has gone. */
static void conn_flush(struct ctl_conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->h.fd, c->out.p + c->sent, c->out.len - c->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* LOOP_WRITE brings us back */
        if (n <= 0)
            break;
        c->sent += (size_t)n;
    }
    conn_close(c);
}

/* Switches c from reading to writing text (a whole answer or an error). */
static void conn_answer_text(struct ctl_conn *c)
{
    c->answering = true;
    if (loop_fd_mod(c->srv->loop, &c->h, LOOP_WRITE) < 0) {
        conn_close(c);
        return;
    }
    conn_flush(c);
}

/* The line protocol's refusal: one line, logged. */
static int line_error(struct report_buf *out, const char *why)
{
    report_buf_free(out);
    report_printf(out, "error: %s\n", why);
    log_info("ctl_request_refused", "reason=\"%s\"", why);
    return 1;
}

/* ctl_proto.on_bytes of the control socket: one request line, ended by a
 * line feed or the end of input. */
static int line_bytes(const char *req, size_t len, bool eof, struct report_buf *out, void *arg)
{
    struct ctl_server *s = arg;
    const char *lf = memchr(req, '\n', len);
    size_t n = lf ? (size_t)(lf - req) : len;
    char line[CTL_REQ_MAX + 1];
    enum ctl_request r;
    int err;

    if (!lf && !eof)
        return len >= CTL_REQ_MAX ? line_error(out, "request too long") : 0;
    if (n > 0 && req[n - 1] == '\r')
        n--;
    memcpy(line, req, n);
    line[n] = '\0';
    /* A NUL inside the line would hide the rest from strcmp(). */
    if (memchr(line, '\0', n) || ctl_parse_request(line, &r) < 0)
        return line_error(out, "unknown request (status, status json or metrics)");
    err = s->handler(r, out, s->arg);
    if (!err)
        err = out->err;
    if (err < 0)
        return line_error(out, strerror(-err));
    log_debug("ctl_request", "request=\"%s\" bytes=%zu", line, out->len);
    return 1;
}

static const struct ctl_proto line_proto = {
    .req_max = CTL_REQ_MAX,
    .on_bytes = line_bytes,
    .busy = "error: too many control clients\n",
    .name = "control",
};

/* Reads request bytes and hands them to the protocol, which answers once
 * it has seen enough. */
static void conn_read(struct ctl_conn *c)
{
    const struct ctl_proto *p = c->srv->proto;

    for (;;) {
        ssize_t n = recv(c->h.fd, c->req + c->reqlen, p->req_max - c->reqlen, MSG_DONTWAIT);
        int rc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 || (n == 0 && c->reqlen == 0)) {
            conn_close(c); /* an error, or connected and left without asking */
            return;
        }
        c->reqlen += (size_t)n;
        c->req[c->reqlen] = '\0';
        rc = p->on_bytes(c->req, c->reqlen, n == 0, &c->out, c->srv->proto_arg);
        if (rc > 0) {
            conn_answer_text(c);
            return;
        }
        if (rc < 0 || n == 0 || c->reqlen >= p->req_max) {
            conn_close(c); /* the protocol wants no answer sent */
            return;
        }
    }
}

static void on_conn(struct loop_fd *h, unsigned events)
{
    struct ctl_conn *c = container_of(h, struct ctl_conn, h);

    if (c->answering)
        conn_flush(c);
    else if (events & (LOOP_READ | LOOP_ERROR))
        conn_read(c);
}

static void on_deadline(struct loop_timer *t)
{
    struct ctl_conn *c = container_of(t, struct ctl_conn, deadline);

    log_info("ctl_client_timeout", "server=%s timeout_ms=%llu answering=%s",
             c->srv->proto->name, (unsigned long long)c->srv->lim.timeout_ms,
             c->answering ? "yes" : "no");
    conn_close(c);
}

/* ---- accepting ---- */

/* Over the limit: a best-effort refusal, then close. */
static void refuse(const struct ctl_server *s, int fd)
{
    const char *busy = s->proto->busy;

    if (send(fd, busy, strlen(busy), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* nothing more to do: the client sees the close */
    }
    close(fd);
}

static int conn_new(struct ctl_server *s, int fd)
{
    struct ctl_conn *c = calloc(1, sizeof(*c) + s->proto->req_max + 1);
    int err;

    if (!c)
        return -ENOMEM;
    c->srv = s;
    loop_fd_init(&c->h, on_conn);
    loop_timer_init(&c->deadline, on_deadline);
    err = loop_timer_set(s->loop, &c->deadline, s->lim.timeout_ms);
    if (!err)
        err = loop_fd_add(s->loop, &c->h, fd, LOOP_READ);
    if (err < 0) {
        loop_timer_cancel(s->loop, &c->deadline);
        free(c);
        return err;
    }
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    return 0;
}

static void pause_accepting(struct ctl_server *s, int err)
{
    log_warn("ctl_accept_failed", "server=%s err=\"%s\" pause_ms=%u", s->proto->name,
             strerror(err), CTL_ACCEPT_PAUSE_MS);
    if (loop_fd_mod(s->loop, &s->h, 0) == 0 &&
        loop_timer_set(s->loop, &s->resume, CTL_ACCEPT_PAUSE_MS) < 0)
        loop_fd_mod(s->loop, &s->h, LOOP_READ);
}

static void on_resume(struct loop_timer *t)
{
    struct ctl_server *s = container_of(t, struct ctl_server, resume);

    if (loop_fd_mod(s->loop, &s->h, LOOP_READ) < 0)
        loop_timer_set(s->loop, &s->resume, CTL_ACCEPT_PAUSE_MS);
}

static void on_accept(struct loop_fd *h, unsigned events)
{
    struct ctl_server *s = container_of(h, struct ctl_server, h);

    (void)events;
    for (unsigned i = 0; i < 2 * s->lim.max_clients; i++) {
        int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno != EINTR && errno != ECONNABORTED) {
                pause_accepting(s, errno);
                return;
            }
            continue;
        }
        if (s->nconns >= s->lim.max_clients) {
            log_info("ctl_client_refused", "server=%s reason=\"too many clients\" max=%u",
                     s->proto->name, s->lim.max_clients);
            refuse(s, fd);
        } else if (conn_new(s, fd) < 0) {
            close(fd);
        }
    }
}

/* ---- the socket file ---- */

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Creates the parent directory of path when it is missing (one level). */
static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0755) == 0)
        return chmod(dir, 0755) < 0 ? -errno : 0; /* whatever the umask */
    return errno == EEXIST ? 0 : -errno;
}

/* Removes a socket file nobody accepts on (left by a crash); refuses to
 * touch a live daemon's socket or anything that is not a socket. */
static int remove_stale(const struct sockaddr_un *sa)
{
    struct stat st;
    int fd, rc;

    if (lstat(sa->sun_path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    /* Non-blocking: a live daemon with a full backlog answers EAGAIN
     * instead of blocking us. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    if (rc < 0 && errno == EAGAIN)
        rc = 0;
    close(fd);
    if (rc == 0)
        return -EADDRINUSE;
    if (errno != ECONNREFUSED)
        return -errno;
    if (unlink(sa->sun_path) < 0 && errno != ENOENT)
        return -errno;
    log_info("ctl_stale_socket_removed", "path=%s", sa->sun_path);
    return 0;
}

/* socket, bind, chmod 0660, listen; returns the fd or -errno with the file
 * removed again. */
static int open_socket(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err;

    if (fd < 0)
        return -errno;
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if (chmod(sa->sun_path, 0660) < 0 || listen(fd, SOMAXCONN) < 0) {
        err = -errno;
        unlink(sa->sun_path);
        close(fd);
        return err;
    }
    return fd;
}

static int server_init(struct ctl_server *s, struct loop *l, const char *path,
                       const struct ctl_limits *limits)
{
    s->loop = l;
    s->h.fd = -1;
    s->lim = limits ? *limits : (struct ctl_limits){ 0 };
    if (!s->lim.max_clients)
        s->lim.max_clients = CTL_DEFAULT_MAX_CLIENTS;
    if (!s->lim.timeout_ms)
        s->lim.timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    loop_fd_init(&s->h, on_accept);
    loop_timer_init(&s->resume, on_resume);
    if (!path)
        return 0;
    s->path = strdup(path);
    return s->path ? 0 : -ENOMEM;
}

int ctl_server_open(struct ctl_server **out, struct loop *l, const char *path,
                    const struct ctl_limits *limits, ctl_handler h, void *arg)
{
    struct ctl_server *s;
    struct sockaddr_un sa;
    int fd, err;

    if (!out || !l || !path || !h)
        return -EINVAL;
    err = fill_addr(path, &sa);
    if (err < 0)
        return err;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->handler = h;
    s->arg = arg;
    s->proto = &line_proto;
    s->proto_arg = s;
    err = server_init(s, l, path, limits);
    if (!err)
        err = make_parent(path);
    if (!err)
        err = remove_stale(&sa);
    fd = err ? err : open_socket(&sa);
    err = fd < 0 ? fd : loop_fd_add(l, &s->h, fd, LOOP_READ);
    if (err < 0) {
        if (fd >= 0) {
            unlink(path);
            close(fd);
        }
        free(s->path);
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

void ctl_server_free(struct ctl_server *s)
{
    int fd;

    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns);
    loop_timer_cancel(s->loop, &s->resume);
    fd = s->h.fd;
    loop_fd_del(s->loop, &s->h);
    if (fd >= 0) {
        close(fd);
        if (s->path && unlink(s->path) < 0 && errno != ENOENT)
            log_warn("ctl_socket_not_removed", "path=%s err=\"%s\"", s->path, strerror(errno));
    }
    free(s->path);
    free(s);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
    return s->nconns;
}

/* ---- TCP ---- */

/* socket, SO_REUSEADDR (a restart finds the port in TIME_WAIT), v6 only
 * for an IPv6 address, bind, listen; the fd or -errno. */
static int open_tcp(const struct sockaddr *sa, socklen_t len)
{
    int one = 1, err;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (sa->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int ctl_server_open_tcp(struct ctl_server **out, struct loop *l, const struct sockaddr *sa,
                        socklen_t len, const struct ctl_limits *limits,
                        const struct ctl_proto *p, void *arg)
{
    struct ctl_server *s;
    int fd, err;

    if (!out || !l || !sa || !p || !p->on_bytes || !p->req_max || !p->busy || !p->name ||
        (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->proto = p;
    s->proto_arg = arg;
    server_init(s, l, NULL, limits);
    fd = open_tcp(sa, len);
    err = fd < 0 ? fd : loop_fd_add(l, &s->h, fd, LOOP_READ);
    if (err < 0) {
        if (fd >= 0)
            close(fd);
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

int ctl_server_local_addr(const struct ctl_server *s, struct sockaddr_storage *out)
{
    socklen_t len = sizeof(*out);

    return getsockname(s->h.fd, (struct sockaddr *)out, &len) < 0 ? -errno : 0;
}
