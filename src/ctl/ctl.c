/* ctl.c - the control socket server; see ctl.h. */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
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
    char req[CTL_REQ_MAX + 1];
    size_t reqlen;
    struct rpt_buf out;     /* the answer, once the request is complete */
    size_t sent;
    bool answering;
    struct ctl_conn *next;
};

struct ctl_server {
    struct loop *loop;
    struct loop_fd h;
    struct loop_timer resume;
    char *path;
    ctl_handler handler;
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
    rpt_buf_free(&c->out);
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

static void conn_error(struct ctl_conn *c, const char *why)
{
    rpt_buf_free(&c->out);
    rpt_printf(&c->out, "error: %s\n", why);
    log_info("ctl_request_refused", "reason=\"%s\"", why);
    conn_answer_text(c);
}

static void conn_request(struct ctl_conn *c)
{
    enum ctl_request req;
    int err;
    const char *lf = memchr(c->req, '\n', c->reqlen);
    size_t n = lf ? (size_t)(lf - c->req) : c->reqlen;

    if (n > 0 && c->req[n - 1] == '\r')
        n--;
    c->req[n] = '\0';
    /* A NUL inside the line would hide the rest from strcmp(). */
    if (memchr(c->req, '\0', n) || ctl_parse_request(c->req, &req) < 0) {
        conn_error(c, "unknown request (status, status json or metrics)");
        return;
    }
    err = c->srv->handler(req, &c->out, c->srv->arg);
    if (!err)
        err = c->out.err;
    if (err < 0) {
        conn_error(c, strerror(-err));
        return;
    }
    log_debug("ctl_request", "request=\"%s\" bytes=%zu", c->req, c->out.len);
    conn_answer_text(c);
}

/* Reads request bytes; the request ends at a line feed or end of input. */
static void conn_read(struct ctl_conn *c)
{
    for (;;) {
        ssize_t n = recv(c->h.fd, c->req + c->reqlen, CTL_REQ_MAX - c->reqlen, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            conn_close(c);
            return;
        }
        if (memchr(c->req + c->reqlen, '\n', (size_t)n) || (n == 0 && c->reqlen > 0)) {
            c->reqlen += (size_t)n;
            conn_request(c);
            return;
        }
        if (n == 0) {
            conn_close(c); /* connected and left without asking */
            return;
        }
        c->reqlen += (size_t)n;
        if (c->reqlen == CTL_REQ_MAX) {
            conn_error(c, "request too long");
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

    log_info("ctl_client_timeout", "timeout_ms=%llu answering=%s",
             (unsigned long long)c->srv->lim.timeout_ms, c->answering ? "yes" : "no");
    conn_close(c);
}

/* ---- accepting ---- */

/* Over the limit: a best-effort one-line refusal, then close. */
static void refuse(int fd)
{
    static const char busy[] = "error: too many control clients\n";

    if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* nothing more to do: the client sees the close */
    }
    close(fd);
}

static int conn_new(struct ctl_server *s, int fd)
{
    struct ctl_conn *c = calloc(1, sizeof(*c));
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
    log_warn("ctl_accept_failed", "err=\"%s\" pause_ms=%u", strerror(err), CTL_ACCEPT_PAUSE_MS);
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
            log_info("ctl_client_refused", "reason=\"too many clients\" max=%u",
                     s->lim.max_clients);
            refuse(fd);
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
    s->lim = limits ? *limits : (struct ctl_limits){ 0 };
    if (!s->lim.max_clients)
        s->lim.max_clients = CTL_DEFAULT_MAX_CLIENTS;
    if (!s->lim.timeout_ms)
        s->lim.timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    loop_fd_init(&s->h, on_accept);
    loop_timer_init(&s->resume, on_resume);
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
        if (unlink(s->path) < 0 && errno != ENOENT)
            log_warn("ctl_socket_not_removed", "path=%s err=\"%s\"", s->path, strerror(errno));
    }
    free(s->path);
    free(s);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
    return s->nconns;
}
