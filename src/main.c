/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - command line, signals, start-up and shut-down order. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/privdrop.h"
#include "core/sdnotify.h"
#include "core/stats.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/httpmetrics.h"
#include "ctl/status.h"
#include "intercept/listen.h"
#include "intercept/tmode.h"
#include "outbound/flow.h"
#include "outbound/regagent.h"
#include "outbound/wanwatch.h"
#include "proxy/router.h"
#include "state/instid.h"
#include "state/regstate.h"

#ifndef SIPKEEP_VERSION
#define SIPKEEP_VERSION "0.0.0"
#endif

#define DEFAULT_CONFIG "/etc/sipkeep/sipkeep.yaml"
/* Configs replaced by reloads that retired bindings still point into; a
 * reload waits while this many are pending (each lasts a few seconds,
 * RA_RELOAD_DEREG_MS). */
#define RELOAD_MAX_PENDING 8
#define RELOAD_POLL_MS 500u
/* How often systemd's STATUS= line is checked for a change of flows. */
#define SD_STATUS_MS 5000u

struct options {
    const char *config;
    bool check_only;
    bool print_firewall;
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
    struct tmode *tmode;            /* mode: transparent: the ingress instead */
    struct sk_stats stats;          /* counters, handed down by pointer */
    struct ctl_server *ctl;         /* control socket (status, metrics) */
    struct ctl_source ctl_src;
    struct httpmetrics *metrics;    /* metrics.listen (NULL: off) */
    struct wanwatch *wan;           /* address/route changes (NULL: none) */
    struct privdrop_plan priv;      /* who we run as once everything is open */
    struct loop_timer log_timer;    /* writes rate-limit summaries when due */
    struct regstate *state;         /* stored registrations (restart) */
    /* SIGHUP: cfg stays the start-up config (listen sockets, mode, user,
     * state_dir ... need a restart and keep using it); live is the config
     * the router runs on after the last reload (NULL: cfg itself); pending
     * are replaced ones still referenced by retired bindings. */
    struct cfg *live;
    struct cfg *pending[RELOAD_MAX_PENDING];
    size_t n_pending;
    struct loop_timer pending_timer;
    /* systemd's notify socket (nothing without NOTIFY_SOCKET); the flows
     * up/total and bindings last sent as STATUS=. */
    struct sdnotify sd;
    struct loop_timer sd_timer;
    size_t sd_last[3];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sipkeep [-c FILE] [--check-config | --print-firewall]\n"
            "       sipkeep status [--json] [-c FILE | -s SOCKET]\n"
            "       sipkeep metrics [-c FILE | -s SOCKET]\n"
            "       sipkeep --version | --help\n"
            "\n"
            "Keeps RFC 5626 (SIP Outbound) flows on behalf of legacy SIP user agents.\n"
            "\n"
            "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
            "  -t, --check-config  load and validate the configuration, then exit:\n"
            "                      0 when it is valid, 1 with FILE:LINE:COL: reason\n"
            "      --print-firewall  print the iptables commands of mode: transparent\n"
            "                      for the configuration, then exit\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Runs in the foreground; logs go to stderr or syslog (log.target).\n"
            "SIGTERM or SIGINT stop it cleanly; SIGHUP reloads the configuration.\n"
            "`status` and `metrics` ask the running daemon over its control_socket\n"
            "(see `sipkeep status --help`).\n");
}

/* Returns 0 to go on, 1 to exit successfully, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 't' },
        { "print-firewall", no_argument, NULL, 'F' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    o->config = DEFAULT_CONFIG;
    o->check_only = false;
    o->print_firewall = false;
    while ((c = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 't': o->check_only = true; break;
        case 'F': o->print_firewall = true; break;
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

/* ---- SIGHUP: reload ---- */

static bool str_differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

static bool listen_differs(const struct cfg *a, const struct cfg *b)
{
    if (a->n_listen != b->n_listen)
        return true;
    for (size_t i = 0; i < a->n_listen; i++) {
        if (!addr_equal((const struct sockaddr *)&a->listen[i].addr,
                        (const struct sockaddr *)&b->listen[i].addr))
            return true;
    }
    return false;
}

static bool transparent_differs(const struct cfg_transparent *a, const struct cfg_transparent *b)
{
    if (a->queue != b->queue || a->n_interfaces != b->n_interfaces ||
        a->manage_firewall != b->manage_firewall || a->output != b->output || a->mark != b->mark)
        return true;
    for (size_t i = 0; i < a->n_interfaces; i++) {
        if (str_differs(a->interfaces[i], b->interfaces[i]))
            return true;
    }
    return false;
}

/* Settings bound to what was opened at start (sockets, privileges, files,
 * the firewall) keep the start-up value; say so for each that changed. */
static void log_restart_only(const struct cfg *boot, const struct cfg *n)
{
    const char *keys[9];
    size_t k = 0;

    if (boot->mode != n->mode)
        keys[k++] = "mode";
    if (listen_differs(boot, n))
        keys[k++] = "listen";
    if (str_differs(boot->user, n->user))
        keys[k++] = "user";
    if (str_differs(boot->state_dir, n->state_dir))
        keys[k++] = "state_dir";
    if (str_differs(boot->control_socket, n->control_socket))
        keys[k++] = "control_socket";
    if (str_differs(boot->metrics.listen.text, n->metrics.listen.text))
        keys[k++] = "metrics.listen";
    if (boot->log.target != n->log.target)
        keys[k++] = "log.target";
    if (transparent_differs(&boot->transparent, &n->transparent))
        keys[k++] = "transparent";
    for (size_t i = 0; i < k; i++)
        log_warn("reload_needs_restart", "key=%s action=\"kept old value\"", keys[i]);
}

/* Frees the replaced configs once no retired binding refers to them. */
static void on_pending_timer(struct loop_timer *t)
{
    struct daemon_ctx *d = container_of(t, struct daemon_ctx, pending_timer);

    if (router_retired(d->router) > 0) {
        loop_timer_set(d->loop, &d->pending_timer, RELOAD_POLL_MS);
        return;
    }
    if (d->n_pending > 0)
        log_debug("configs_released", "count=%zu", d->n_pending);
    for (size_t i = 0; i < d->n_pending; i++)
        cfg_free(d->pending[i]);
    d->n_pending = 0;
}

static void reload(struct daemon_ctx *d)
{
    char err[512] = "";
    struct cfg *n;
    int rc;

    if (d->n_pending >= RELOAD_MAX_PENDING) {
        log_warn("reload_deferred", "reason=\"earlier reloads still de-registering\"");
        return;
    }
    rc = cfg_load_file(d->config_path, &n, err, sizeof(err));
    if (rc == 0) {
        rc = router_reload(d->router, n, err, sizeof(err));
        if (rc < 0)
            cfg_free(n);
    }
    if (rc < 0) {
        log_error("reload_failed", "err=\"%s\" action=\"kept the running configuration\"",
                  err[0] ? err : strerror(-rc));
        return;
    }
    log_restart_only(d->cfg, n);
    log_setup(n->log.level, d->cfg->log.target, "sipkeep");
    /* The start-up config stays (sockets use it); a previous live one goes
     * once its retired bindings are gone. */
    if (d->live)
        d->pending[d->n_pending++] = d->live;
    d->live = n;
    log_info("reloaded", "config=%s services=%zu retired_bindings=%zu", d->config_path,
             n->n_services, router_retired(d->router));
    on_pending_timer(&d->pending_timer);
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
            (void)sdnotify_reloading(&d->sd);
            reload(d); /* a failed reload keeps the running config: ready again */
            (void)sdnotify_send(&d->sd, "READY=1");
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

/* The ingress handle of a UA is the listener it sent to, or in transparent
 * mode the tmode: answer from the address the UA sent to. */
static void send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    struct daemon_ctx *d = arg;
    char who[ADDR_STR_MAX];
    int err;

    if (d->tmode && ua->ingress == d->tmode)
        err = tmode_send(d->tmode, (const struct sockaddr_in *)&ua->local,
                         (const struct sockaddr_in *)&ua->src, buf, len);
    else
        err = listen_send(ua->ingress, buf, len, (const struct sockaddr *)&ua->src,
                          addr_len((const struct sockaddr *)&ua->src));
    if (err < 0)
        log_warn("ua_send_failed", "ua=%s err=\"%s\"",
                 addr_format((const struct sockaddr *)&ua->src, true, who, sizeof(who)),
                 strerror(-err));
}

static void on_datagram(struct listener *ln, const struct listen_dgram *dg, void *arg)
{
    struct daemon_ctx *d = arg;
    struct ua_addr ua = { .ingress = ln };

    addr_ip_set(&ua.src, (const struct sockaddr *)&dg->src);
    addr_ip_set(&ua.local, (const struct sockaddr *)&dg->local);
    router_from_ua(d->router, dg->buf, dg->len, &ua);
}

/* A packet taken from the NFQUEUE: the UA sent it to pk->dst. */
static void on_taken(struct tmode *t, const struct pkt_udp4 *pk, void *arg)
{
    struct daemon_ctx *d = arg;
    struct ua_addr ua = { .ingress = t };

    memcpy(&ua.src, &pk->src, sizeof(pk->src));
    memcpy(&ua.local, &pk->dst, sizeof(pk->dst));
    router_from_ua(d->router, (const char *)pk->payload, pk->len, &ua);
}

/* A WAN change the watch has applied to the flows: in transparent mode
 * the phones' stale conntrack entries toward the provider go too.  Proxy
 * mode sets no hook: there the phones talk to sipkeep's own address, so
 * their entries end at the router and carry no WAN address; what leaves
 * the WAN is sipkeep's flows, which the watch re-forms. */
static void on_wan_checked(unsigned what, const struct wanwatch_result *res, void *arg)
{
    struct daemon_ctx *d = arg;

    if (d->tmode)
        tmode_wan_changed(d->tmode, what, res->failed + res->restarted);
}

static int open_transparent(struct daemon_ctx *d)
{
    char err[256] = "";
    int rc = tmode_open(&d->tmode, d->loop, d->cfg, on_taken, d, err, sizeof(err));

    if (rc < 0)
        log_error("start_failed", "step=transparent err=\"%s\"", err[0] ? err : strerror(-rc));
    else
        log_info("intercepting", "queue=%u firewall=%s", d->cfg->transparent.queue,
                 d->cfg->transparent.manage_firewall ? "installed" : "external");
    if (rc == 0 && d->wan)
        wanwatch_set_hook(d->wan, on_wan_checked, d);
    return rc;
}

static int open_listeners(struct daemon_ctx *d)
{
    for (size_t i = 0; i < d->cfg->n_listen; i++) {
        int err = listen_open(&d->listeners[i], d->loop, &d->cfg->listen[i], on_datagram, d,
                              &d->stats);
        if (err < 0) {
            log_error("start_failed", "step=listen listen=%s err=\"%s\"",
                      d->cfg->listen[i].text, strerror(-err));
            return err;
        }
        log_info("listening", "listen=%s", d->cfg->listen[i].text);
    }
    return 0;
}

static int open_control(struct daemon_ctx *d)
{
    int err;

    d->ctl_src = (struct ctl_source){ d->router, &d->stats, d->loop, loop_now(d->loop),
                                      SIPKEEP_VERSION };
    err = ctl_server_open(&d->ctl, d->loop, d->cfg->control_socket, NULL, ctl_status_answer,
                          &d->ctl_src);
    if (err < 0) {
        log_error("start_failed", "step=control_socket path=%s err=\"%s\"",
                  d->cfg->control_socket, strerror(-err));
        return err;
    }
    if (!d->cfg->metrics.listen.text)
        return 0;
    /* Before the privilege drop, like the control socket: a port below
     * 1024 still binds. */
    err = httpmetrics_open(&d->metrics, d->loop,
                           (const struct sockaddr *)&d->cfg->metrics.listen.addr,
                           d->cfg->metrics.listen.addrlen, NULL, ctl_status_answer,
                           &d->ctl_src);
    if (err < 0)
        log_error("start_failed", "step=metrics listen=%s err=\"%s\"",
                  d->cfg->metrics.listen.text, strerror(-err));
    else
        log_info("metrics_listening", "listen=%s", d->cfg->metrics.listen.text);
    return err;
}

/* ---- who we run as (see core/privdrop.h) ---- */

/* privdrop (core) knows no configuration: every `user:` config accepts
 * must fit its own limit. */
_Static_assert(CFG_USER_MAX <= PRIVDROP_USER_MAX, "user: longer than privdrop accepts");

/* Before anything is opened, so that a missing user fails fast. */
static int plan_privileges(struct daemon_ctx *d)
{
    enum privdrop_mode mode = d->cfg->mode == CFG_MODE_TRANSPARENT ? PRIVDROP_MODE_TRANSPARENT
                                                                   : PRIVDROP_MODE_PROXY;
    char err[256];
    int rc = privdrop_plan(&d->priv, geteuid(), d->cfg->user, privdrop_caps_for_mode(mode),
                           err, sizeof(err));

    if (rc < 0)
        log_error("start_failed", "step=user user=%s err=\"%s\"", d->cfg->user, err);
    return rc;
}

/* The unprivileged daemon still writes instance-ids into state_dir and
 * removes its control socket at exit: give it those directories when they
 * are sipkeep's own (privdrop_hand_over refuses shared ones). */
static void hand_over(struct daemon_ctx *d)
{
    const char *sock = d->cfg->control_socket, *base = strrchr(sock, '/') + 1;
    char sockdir[108]; /* the key is validated to fit a sun_path */
    const char *state_names[] = { "instance-ids", "instance-ids.tmp", REGSTATE_FILE,
                                  REGSTATE_FILE ".tmp", NULL, NULL };
    const char *sock_names[] = { base, NULL };
    uid_t uid = d->priv.uid;
    gid_t gid = d->priv.gid;

    snprintf(sockdir, sizeof(sockdir), "%.*s", (int)(base - sock - 1), sock);
    if (strcmp(sockdir, d->cfg->state_dir) == 0)
        state_names[4] = base; /* the socket may live in state_dir */
    if (privdrop_hand_over(d->cfg->state_dir, state_names, uid, gid) < 0)
        log_debug("state_dir_kept", "dir=%s reason=\"holds other files\"", d->cfg->state_dir);
    /* Its own file at least, for a sticky directory such as /tmp. */
    if (lchown(sock, uid, gid) < 0)
        log_warn("control_socket_not_handed_over", "path=%s err=\"%s\"", sock, strerror(errno));
    if (sockdir[0] && privdrop_hand_over(sockdir, sock_names, uid, gid) < 0)
        log_debug("control_dir_kept", "dir=%s reason=\"holds other files\"", sockdir);
}

static void log_privileges(const struct daemon_ctx *d, bool bounding_kept)
{
    const struct privdrop_plan *p = &d->priv;
    char caps[64];

    privdrop_caps_format(p->caps, caps, sizeof(caps));
    if (p->action == PRIVDROP_SWITCH)
        log_info("privileges_dropped", "user=%s uid=%lu gid=%lu caps=%s%s", p->user,
                 (unsigned long)p->uid, (unsigned long)p->gid, caps,
                 bounding_kept ? " bounding=kept" : "");
    else if (p->action == PRIVDROP_STAY_ROOT)
        log_warn("privileges_kept", "user=root uid=0 reason=\"user: root\"");
    else
        log_info("privileges_kept", "user=%s uid=%lu caps=%s reason=not_root", p->user,
                 (unsigned long)p->uid, caps);
}

/* After every socket is open: from here on the daemon runs as d->priv. */
static int drop_privileges(struct daemon_ctx *d)
{
    bool bounding_kept = false;
    int rc;

    if (d->priv.action == PRIVDROP_SWITCH)
        hand_over(d);
    rc = privdrop_apply(&d->priv, &bounding_kept);
    if (rc < 0) {
        log_error("start_failed", "step=privileges user=%s err=\"%s\"", d->priv.user,
                  strerror(-rc));
        return rc;
    }
    log_privileges(d, bounding_kept);
    /* Checked now rather than when the first new phone appears. */
    if (access(d->cfg->state_dir, W_OK | X_OK) < 0) {
        rc = -errno;
        log_error("start_failed", "step=state_dir dir=%s user=%s err=\"%s\" hint=\"%s\"",
                  d->cfg->state_dir, d->priv.user, strerror(-rc),
                  d->priv.action == PRIVDROP_SWITCH
                      ? "sipkeep hands state_dir over only when it holds nothing but its "
                        "own files: chown it to the user or give sipkeep a directory of "
                        "its own"
                      : "make it writable for the user sipkeep runs as");
    }
    return rc;
}

/* "mode=proxy services=1 flows_per_ua=2 listen=udp:...,udp:..." for the
 * first and the last start-up line.  A UA uses the flows of one service
 * (services[].flows, by default one per outbound proxy), so the count is
 * a range over services. */
static void format_summary(const struct cfg *c, char *buf, size_t sz)
{
    size_t lo = SIZE_MAX, hi = 0, pos;

    for (size_t i = 0; i < c->n_services; i++) {
        size_t n = cfg_service_nflows(&c->services[i]);

        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    pos = (size_t)snprintf(buf, sz, "mode=%s services=%zu flows_per_ua=%zu",
                           c->mode == CFG_MODE_PROXY ? "proxy" : "transparent",
                           c->n_services, lo == SIZE_MAX ? 0 : lo);
    if (hi > lo && pos < sz)
        pos += (size_t)snprintf(buf + pos, sz - pos, "-%zu", hi);
    if (c->mode == CFG_MODE_TRANSPARENT && pos < sz)
        pos += (size_t)snprintf(buf + pos, sz - pos, " queue=%u", c->transparent.queue);
    for (size_t i = 0; c->mode == CFG_MODE_PROXY && i < c->n_listen && pos < sz; i++)
        pos += (size_t)snprintf(buf + pos, sz - pos, "%s%s", i ? "," : " listen=",
                                c->listen[i].text);
}

/* ---- systemd: STATUS= with the flows (core/sdnotify.h) ---- */

/* Sends "STATUS=flows up U/T, bindings B" (after prefix, e.g. "READY=1\n")
 * when it changed since the last one, or when prefix is given. */
static void sd_status(struct daemon_ctx *d, const char *prefix)
{
    const struct regagent *ra = router_agent(d->router);
    const struct binding *b = NULL;
    size_t now[3] = { 0, 0, 0 }; /* up, total, bindings */
    char msg[128];

    while ((b = binding_next(ra, b)) != NULL) {
        now[2]++;
        for (size_t i = 0; i < binding_nflows(b); i++) {
            now[1]++;
            now[0] += flow_state(binding_flow(b, (unsigned)i)) == FLOW_ACTIVE;
        }
    }
    if (!prefix && memcmp(now, d->sd_last, sizeof(now)) == 0)
        return;
    memcpy(d->sd_last, now, sizeof(now));
    snprintf(msg, sizeof(msg), "%sSTATUS=flows up %zu/%zu, bindings %zu", prefix ? prefix : "",
             now[0], now[1], now[2]);
    (void)sdnotify_send(&d->sd, msg);
}

static void on_sd_timer(struct loop_timer *t)
{
    struct daemon_ctx *d = container_of(t, struct daemon_ctx, sd_timer);

    sd_status(d, NULL);
    (void)loop_timer_set(d->loop, &d->sd_timer, SD_STATUS_MS);
}

/* Sockets open, privileges dropped: tell systemd, start the watchdog. */
static void sd_ready(struct daemon_ctx *d)
{
    int err;

    if (!sdnotify_enabled(&d->sd))
        return;
    sd_status(d, "READY=1\n");
    err = sdnotify_watchdog_start(&d->sd, d->loop);
    if (err == 0)
        err = loop_timer_set(d->loop, &d->sd_timer, SD_STATUS_MS);
    if (err < 0)
        log_warn("sd_notify_failed", "step=timers err=\"%s\"", strerror(-err));
    else
        log_info("sd_notify_ready", "watchdog_ms=%llu", (unsigned long long)d->sd.watchdog_ms);
}

/* ---- log rate-limit summaries ---- */

static void on_log_timer(struct loop_timer *t)
{
    struct daemon_ctx *d = container_of(t, struct daemon_ctx, log_timer);
    int64_t next = log_flush_suppressed();

    if (next >= 0)
        loop_timer_set(d->loop, &d->log_timer, (uint64_t)next);
}

/* log.c tells when a name starts being suppressed; its summary is due at
 * the end of its window.  An armed timer re-arms itself for later ones. */
static void on_log_pending(void *arg, uint64_t delay_ms)
{
    struct daemon_ctx *d = arg;

    if (!loop_timer_armed(&d->log_timer))
        loop_timer_set(d->loop, &d->log_timer, delay_ms);
}

/* Start-up order: state, then the router (TLS contexts), the control
 * socket, then the sockets UAs talk to, so that nothing arrives before it
 * can be handled. */
static int start_services(struct daemon_ctx *d)
{
    struct router_env env = { d->loop, d->cfg, NULL, send_ua, d, &d->stats, NULL };
    char err[512] = "";
    int rc;

    rc = instid_store_open(&d->ids, d->cfg->state_dir);
    if (rc == 0)
        rc = regstate_open(&d->state, d->cfg->state_dir, d->loop);
    if (rc < 0) {
        log_error("start_failed", "step=state_dir dir=%s err=\"%s\"", d->cfg->state_dir,
                  strerror(-rc));
        return rc;
    }
    env.ids = d->ids;
    env.state = d->state;
    rc = router_new(&d->router, &env, err, sizeof(err));
    if (rc < 0) {
        log_error("start_failed", "step=router err=\"%s\"", err[0] ? err : strerror(-rc));
        return rc;
    }
    /* Opened whatever recovery.watch_wan says: a reload may turn it on;
     * each check reads the key of each binding's service. */
    rc = wanwatch_open(&d->wan, d->loop, router_agent_rw(d->router));
    if (rc < 0)
        log_warn("wan_watch_unavailable", "err=\"%s\" action=\"WAN changes are noticed by "
                 "the keep-alives only\"", strerror(-rc));
    rc = open_control(d);
    if (rc < 0)
        return rc;
    return d->cfg->mode == CFG_MODE_TRANSPARENT ? open_transparent(d) : open_listeners(d);
}

static void stop_services(struct daemon_ctx *d)
{
    httpmetrics_free(d->metrics);
    ctl_server_free(d->ctl);
    tmode_free(d->tmode); /* removes the firewall rules: traffic flows directly again */
    d->tmode = NULL;
    for (size_t i = 0; i < CFG_MAX_LISTEN; i++)
        listen_free(d->listeners[i]);
    wanwatch_free(d->wan);
    d->wan = NULL;
    router_free(d->router); /* the bindings go, their stored records stay */
    d->router = NULL;
    if (d->state) {
        int rc = regstate_flush(d->state);
        if (rc < 0)
            log_warn("regstate_write_failed", "dir=%s err=\"%s\"", d->cfg->state_dir,
                     strerror(-rc));
    }
    regstate_free(d->state);
    instid_store_free(d->ids);
    loop_timer_cancel(d->loop, &d->pending_timer);
    for (size_t i = 0; i < d->n_pending; i++)
        cfg_free(d->pending[i]);
    d->n_pending = 0;
    cfg_free(d->live);
    d->live = NULL;
}

/* The ingress a stored UA address came in on: the listener bound to that
 * address (or to the wildcard address of its family and port), or in
 * transparent mode the interceptor. */
static void *ingress_for(const struct sockaddr_storage *local, void *arg)
{
    struct daemon_ctx *d = arg;

    if (d->tmode)
        return local->ss_family == AF_INET ? d->tmode : NULL;
    for (size_t i = 0; i < d->cfg->n_listen; i++) {
        const struct sockaddr_storage *a = &d->cfg->listen[i].addr;
        bool any = (a->ss_family == AF_INET &&
                    ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
                   (a->ss_family == AF_INET6 &&
                    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr));

        if (d->listeners[i] && a->ss_family == local->ss_family &&
            addr_port((const struct sockaddr *)a) == addr_port((const struct sockaddr *)local) &&
            (any || addr_equal((const struct sockaddr *)a, (const struct sockaddr *)local)))
            return d->listeners[i];
    }
    return NULL;
}

/* Before anything is opened: one clear message rather than a later EPERM. */
static int check_caps(void)
{
    char msg[128] = "";
    int rc = tmode_check_caps(msg, sizeof(msg));

    if (rc < 0)
        log_error("start_failed", "step=capabilities mode=transparent err=\"%s\"", msg);
    return rc;
}

static int print_firewall(const struct cfg *cfg)
{
    static char text[16384];
    char err[256] = "";
    int rc = tmode_fw_text(cfg, text, sizeof(text), err, sizeof(err));

    if (rc < 0) {
        fprintf(stderr, "sipkeep: %s\n", err[0] ? err : strerror(-rc));
        return 1;
    }
    fputs(text, stdout);
    return 0;
}

static int run(struct daemon_ctx *d)
{
    char summary[1400]; /* CFG_MAX_LISTEN listen texts fit */
    bool ran = false;
    int err;

    format_summary(d->cfg, summary, sizeof(summary));
    log_info("starting", "version=%s config=%s %s user=%s", SIPKEEP_VERSION, d->config_path,
             summary, d->cfg->user);
    if (d->cfg->mode == CFG_MODE_TRANSPARENT && check_caps() < 0)
        return -1;
    if (plan_privileges(d) < 0)
        return -1;
    err = loop_new(&d->loop, NULL);
    if (err < 0) {
        log_error("start_failed", "step=loop err=\"%s\"", strerror(-err));
        return err;
    }
    loop_timer_init(&d->log_timer, on_log_timer);
    loop_timer_init(&d->pending_timer, on_pending_timer);
    loop_timer_init(&d->sd_timer, on_sd_timer);
    err = sdnotify_open(&d->sd);
    if (err < 0)
        log_warn("sd_notify_failed", "step=open err=\"%s\"", strerror(-err));
    log_set_pending_hook(on_log_pending, d);
    err = setup_signals(d);
    if (err < 0)
        log_error("start_failed", "step=signals err=\"%s\"", strerror(-err));
    else
        err = start_services(d);
    if (!err)
        err = drop_privileges(d);
    if (!err)
        tmode_after_drop(d->tmode); /* can the rules still be removed at exit? */
    if (!err) {
        log_info("started", "version=%s %s user=%s", SIPKEEP_VERSION, summary, d->priv.user);
        /* Before any UA datagram is read: the stored bindings register
         * again now, ahead of the UAs' refreshes. */
        router_restore(d->router, (int64_t)time(NULL), ingress_for, d);
        sd_ready(d);
        err = loop_run(d->loop);
        ran = true;
        (void)sdnotify_send(&d->sd, "STOPPING=1");
    }
    loop_timer_cancel(d->loop, &d->sd_timer);
    sdnotify_close(&d->sd);
    stop_services(d);
    log_set_pending_hook(NULL, NULL);
    loop_timer_cancel(d->loop, &d->log_timer);
    log_flush_all(); /* what the rate limit still holds, before the last line */
    if (ran)
        log_info("stopped", NULL);
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
    int rc;

    if (argc > 1 && ctl_cli_is_command(argv[1]))
        return ctl_cli_main(argc - 1, argv + 1, DEFAULT_CONFIG);
    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (load_config(o.config, &d.cfg) < 0)
        return 1;
    if (o.print_firewall) {
        rc = print_firewall(d.cfg);
        cfg_free(d.cfg);
        return rc;
    }
    if (o.check_only) {
        printf("%s: configuration ok\n", o.config);
        cfg_free(d.cfg);
        return 0;
    }
    log_setup(d.cfg->log.level, d.cfg->log.target, "sipkeep");
    log_set_rate_limit(true);
    /* A fixed mmap threshold (glibc's default, 128 KiB) keeps the big
     * short-lived buffers in mmap: glibc otherwise raises the threshold
     * each time it frees one, and the next (regstate's whole-file rewrite,
     * ~1 KiB per phone) lands in the heap, where its freed pages stay
     * resident between the flows' objects (12 MiB of 50 at 10,000 flows).
     * glibc only: musl (OpenWrt) has no mallopt and no such threshold. */
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    d.config_path = o.config;
    rc = run(&d);
    cfg_free(d.cfg);
    return rc < 0 ? 1 : 0;
}
