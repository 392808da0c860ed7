/* SPDX-License-Identifier: GPL-2.0-or-later */
/* client.c - `sipkeep status` / `sipkeep metrics`; see client.h. */
#include "ctl/client.h"
#include "ctl/ctl_int.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"

#define CTL_REQ_LINE_MAX 128

static int connect_to(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    /* Bounds a blocking connect() to a daemon whose backlog is full. */
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    int fd;

    if (!path[0] || strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Waits until fd is ready for events; -ETIMEDOUT after timeout_ms. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int n;

    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

static int send_line(int fd, const char *request, int timeout_ms)
{
    char line[CTL_REQ_LINE_MAX];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    size_t off = 0;

    if (n < 0 || (size_t)n >= sizeof(line))
        return -EINVAL;
    while (off < (size_t)n) {
        ssize_t w;
        int err = wait_fd(fd, POLLOUT, timeout_ms);
        if (err < 0)
            return err;
        w = send(fd, line + off, (size_t)n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
        off += w > 0 ? (size_t)w : 0;
    }
    return 0;
}

static int read_all(int fd, int timeout_ms, struct report_buf *answer)
{
    char buf[16384];

    for (;;) {
        ssize_t n;
        int err = wait_fd(fd, POLLIN, timeout_ms);
        if (err < 0)
            return err;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            return answer->err;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
        if (n > 0)
            report_put(answer, buf, (size_t)n);
        if (answer->err)
            return answer->err;
    }
}

int ctl_client_request(const char *path, const char *request, int timeout_ms,
                       struct report_buf *answer)
{
    int fd = connect_to(path, timeout_ms);
    int err;

    if (fd < 0)
        return fd;
    err = send_line(fd, request, timeout_ms);
    if (!err)
        err = read_all(fd, timeout_ms, answer);
    close(fd);
    return err;
}

bool ctl_cli_is_command(const char *word)
{
    return word && (strcmp(word, "status") == 0 || strcmp(word, "metrics") == 0);
}

/* ---- the subcommands ---- */

struct cli_opts {
    const char *config;
    bool config_given;
    const char *socket;
    bool json;
};

static void cli_usage(FILE *out, const char *cmd, const char *default_config)
{
    fprintf(out,
            "usage: sipkeep %s%s [-c FILE | -s PATH]\n"
            "\n"
            "Asks the running daemon over its control socket and prints %s.\n"
            "\n"
            "%s"
            "  -c, --config FILE   read control_socket from FILE (default %s)\n"
            "  -s, --socket PATH   the control socket itself (default: from the config,\n"
            "                      else " CFG_DEFAULT_CONTROL_SOCKET ")\n"
            "  -h, --help          print this help and exit\n",
            cmd, strcmp(cmd, "status") == 0 ? " [--json]" : "",
            strcmp(cmd, "status") == 0 ? "its bindings and flows"
                                      : "its metrics (Prometheus text format)",
            strcmp(cmd, "status") == 0 ? "  -j, --json          JSON (schema in README.md)\n" : "",
            default_config);
}

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int cli_parse(int argc, char **argv, struct cli_opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "socket", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool status = strcmp(argv[0], "status") == 0;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, status ? "c:s:jh" : "c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; o->config_given = true; break;
        case 's': o->socket = optarg; break;
        case 'j':
            if (!status) {
                fprintf(stderr, "sipkeep %s: --json applies to status only\n", argv[0]);
                return -1;
            }
            o->json = true;
            break;
        case 'h': return 1;
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sipkeep %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return -1;
    }
    return 0;
}

/* The socket path: -s, else the config's control_socket, else the default
 * when the default config cannot be read (a CLI user may lack the rights;
 * an explicit -c must work).  Returns 0, or -1 with the error printed. */
static int find_socket(struct cli_opts *o, char *path, size_t pathsz)
{
    char err[512];
    struct cfg *cfg;

    if (o->socket) {
        snprintf(path, pathsz, "%s", o->socket);
        return 0;
    }
    if (cfg_load_file(o->config, &cfg, err, sizeof(err)) < 0) {
        if (o->config_given) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        snprintf(path, pathsz, "%s", CFG_DEFAULT_CONTROL_SOCKET);
        return 0;
    }
    snprintf(path, pathsz, "%s", cfg->control_socket);
    cfg_free(cfg);
    return 0;
}

static int print_answer(const struct report_buf *a)
{
    if (a->len >= 7 && memcmp(a->p, "error: ", 7) == 0) {
        fprintf(stderr, "sipkeep: the daemon answered: %s", a->p + 7);
        return 1;
    }
    if (a->len && fwrite(a->p, 1, a->len, stdout) != a->len)
        return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}

int ctl_cli_main(int argc, char **argv, const char *default_config)
{
    struct cli_opts o = { .config = default_config };
    char path[4096];
    struct report_buf answer;
    int rc = cli_parse(argc, argv, &o), err;

    if (rc != 0) {
        cli_usage(rc > 0 ? stdout : stderr, argv[0], default_config);
        return rc > 0 ? 0 : 2;
    }
    if (find_socket(&o, path, sizeof(path)) < 0)
        return 1;
    report_buf_init(&answer);
    err = ctl_client_request(path, strcmp(argv[0], "metrics") == 0 ? "metrics"
                                   : o.json ? "status json" : "status",
                             CTL_CLIENT_TIMEOUT_MS, &answer);
    if (err < 0) {
        fprintf(stderr, "sipkeep: control socket %s: %s%s\n", path, strerror(-err),
                err == -ENOENT || err == -ECONNREFUSED ? " (is sipkeep running?)" : "");
        rc = 1;
    } else {
        rc = print_answer(&answer);
    }
    report_buf_free(&answer);
    return rc;
}
