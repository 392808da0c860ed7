/* main.c - command line, signals, start-up and shut-down order. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "intercept/listen.h"
#include "proxy/router.h"
#include "state/instid.h"

#ifndef SIPKEEP_VERSION
#define SIPKEEP_VERSION "0.0.0"
#endif

#define DEFAULT_CONFIG "/etc/sipkeep/sipkeep.yaml"

struct options {
    const char *config;
    bool check_only;
};

struct daemon_ctx {
    struct loop *loop;
    struct loop_fd sigh;
    int sigfd;
    const char *config_path;
    struct cfg *cfg;
    struct instid_store *ids;
    struct router *router;
    struct listener *listeners[CFG_MAX_LISTEN];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sipkeep [-c FILE] [--check-config]\n"
            "       sipkeep --version | --help\n"
            "\n"
            "Keeps RFC 5626 (SIP Outbound) flows on behalf of legacy SIP user agents.\n"
            "\n"
            "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
            "  -t, --check-config  load and validate the configuration, then exit:\n"
            "                      0 when it is valid, 1 with FILE:LINE:COL: reason\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Runs in the foreground; logs go to stderr or syslog (log.target).\n"
            "SIGTERM or SIGINT stop it cleanly.\n");
}

/* Returns 0 to go on, 1 to exit successfully, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 't' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    o->config = DEFAULT_CONFIG;
    o->check_only = false;
    while ((c = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 't': o->check_only = true; break;
        case 'V': printf("sipkeep %s\n", SIPKEEP_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sipkeep: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

static void on_signal(struct loop_fd *h, unsigned events)
{
    struct daemon_ctx *d = container_of(h, struct daemon_ctx, sigh);
    struct signalfd_siginfo si;

    (void)events;
    while (read(h->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("shutdown", "signal=%s", strsignal((int)si.ssi_signo));
            loop_stop(d->loop);
        } else if (si.ssi_signo == SIGHUP) {
            log_warn("reload_unsupported", "signal=SIGHUP action=ignored");
        }
    }
}

/* Signals arrive through the loop (signalfd), so handlers never race. */
static int setup_signals(struct daemon_ctx *d)
{
    sigset_t set;
    int err;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0)
        return -errno;
    loop_fd_init(&d->sigh, on_signal);
    err = loop_fd_add(d->loop, &d->sigh, d->sigfd, LOOP_READ);
    if (err < 0) {
        close(d->sigfd);
        d->sigfd = -1;
    }
    return err;
}

static int load_config(const char *path, struct cfg **out)
{
    char err[512];
    int rc = cfg_load_file(path, out, err, sizeof(err));

    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    return rc;
}

/* The ingress handle of a UA is the listener it sent to: answer from it. */
static void send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    char who[ADDR_STR_MAX];
    int err = listener_send(ua->ingress, buf, len, (const struct sockaddr *)&ua->src,
                            addr_len((const struct sockaddr *)&ua->src));

    (void)arg;
    if (err < 0)
        log_warn("ua_send_failed", "ua=%s err=\"%s\"",
                 addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)),
                 strerror(-err));
}

static void on_datagram(struct listener *ln, const struct listen_dgram *dg, void *arg)
{
    struct daemon_ctx *d = arg;
    struct ua_addr ua = { .src = dg->src, .local = dg->local, .ingress = ln };

    router_from_ua(d->router, dg->buf, dg->len, &ua);
}

static int open_listeners(struct daemon_ctx *d)
{
    for (size_t i = 0; i < d->cfg->n_listen; i++) {
        int err = listener_open(&d->listeners[i], d->loop, &d->cfg->listen[i], on_datagram, d);
        if (err < 0) {
            log_error("start_failed", "step=listen listen=%s err=\"%s\"",
                      d->cfg->listen[i].text, strerror(-err));
            return err;
        }
        log_info("listening", "listen=%s", d->cfg->listen[i].text);
    }
    return 0;
}

/* Start-up order: state, then the router (TLS contexts), then the sockets
 * UAs talk to, so that nothing arrives before it can be handled. */
static int start_services(struct daemon_ctx *d)
{
    struct router_env env = { d->loop, d->cfg, NULL, send_ua, d };
    char err[512] = "";
    int rc;

    if (d->cfg->mode != CFG_MODE_PROXY) {
        log_error("start_failed", "reason=\"mode: transparent is not implemented in this "
                  "version; use mode: proxy\"");
        return -ENOTSUP;
    }
    rc = instid_store_open(&d->ids, d->cfg->state_dir);
    if (rc < 0) {
        log_error("start_failed", "step=state_dir dir=%s err=\"%s\"", d->cfg->state_dir,
                  strerror(-rc));
        return rc;
    }
    env.ids = d->ids;
    rc = router_new(&d->router, &env, err, sizeof(err));
    if (rc < 0) {
        log_error("start_failed", "step=router err=\"%s\"", err[0] ? err : strerror(-rc));
        return rc;
    }
    return open_listeners(d);
}

static void stop_services(struct daemon_ctx *d)
{
    for (size_t i = 0; i < CFG_MAX_LISTEN; i++)
        listener_free(d->listeners[i]);
    router_free(d->router);
    instid_store_free(d->ids);
}

static int run(struct daemon_ctx *d)
{
    int err = loop_new(&d->loop, NULL);

    if (err < 0) {
        log_error("start_failed", "step=loop err=\"%s\"", strerror(-err));
        return err;
    }
    err = setup_signals(d);
    if (err < 0)
        log_error("start_failed", "step=signals err=\"%s\"", strerror(-err));
    else
        err = start_services(d);
    if (!err) {
        log_info("started", "version=%s config=%s mode=%s services=%zu", SIPKEEP_VERSION,
                 d->config_path, d->cfg->mode == CFG_MODE_PROXY ? "proxy" : "transparent",
                 d->cfg->n_services);
        err = loop_run(d->loop);
        log_info("stopped", NULL);
    }
    stop_services(d);
    if (d->sigfd >= 0) {
        loop_fd_del(d->loop, &d->sigh);
        close(d->sigfd);
    }
    loop_free(d->loop);
    return err;
}

int main(int argc, char **argv)
{
    struct options o;
    struct daemon_ctx d = { .sigfd = -1 };
    int rc = parse_args(argc, argv, &o);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (load_config(o.config, &d.cfg) < 0)
        return 1;
    if (o.check_only) {
        printf("%s: configuration ok\n", o.config);
        cfg_free(d.cfg);
        return 0;
    }
    log_setup(d.cfg->log.level, d.cfg->log.target, "sipkeep");
    d.config_path = o.config;
    rc = run(&d);
    cfg_free(d.cfg);
    return rc < 0 ? 1 : 0;
}
