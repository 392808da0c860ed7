/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tmode.c - transparent mode: rules, queue and egress sockets together. */
#include "intercept/tmode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "intercept/ctflush.h"
#include "intercept/firewall.h"
#include "intercept/nfqi.h"
#include "intercept/tcaps.h"
#include "intercept/tproxy.h"

struct tmode {
    const struct cfg *cfg;
    struct nfqi *q;
    struct sockaddr_in *dsts; /* intercepted destinations, unique */
    int *fds;                 /* egress socket per dsts[i], -1 until used */
    size_t n_dsts;
    bool firewall_installed;
    struct ctflush *ct;       /* conntrack flushes on a WAN change */
    tmode_take_fn take;
    void *arg;
};

static bool same_dst(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static void add_dst(struct sockaddr_in *dsts, size_t *n, const struct sockaddr_in *d)
{
    for (size_t i = 0; i < *n; i++)
        if (same_dst(&dsts[i], d))
            return;
    dsts[(*n)++] = *d;
}

/* Every destination of cfg (see tmode.h).  Returns 0 with *out (caller
 * frees) and *n >= 1, -EINVAL with err when there is none, -ENOMEM. */
static int collect_dsts(const struct cfg *cfg, struct sockaddr_in **out, size_t *n,
                        char *err, size_t errsz)
{
    size_t cap = 0;
    struct sockaddr_in *d;

    for (size_t i = 0; i < cfg->n_services; i++)
        cap += cfg->services[i].n_outbound_proxies + cfg->services[i].n_intercept;
    d = calloc(cap ? cap : 1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    *n = 0;
    for (size_t i = 0; i < cfg->n_services; i++) {
        const struct cfg_service *s = &cfg->services[i];

        for (size_t j = 0; j < s->n_outbound_proxies; j++) {
            struct sockaddr_in sin = { .sin_family = AF_INET,
                                       .sin_port = htons(s->outbound_proxies[j].port) };

            if (s->outbound_proxies[j].host_family == AF_INET &&
                inet_pton(AF_INET, s->outbound_proxies[j].host, &sin.sin_addr) == 1)
                add_dst(d, n, &sin);
        }
        for (size_t j = 0; j < s->n_intercept; j++)
            add_dst(d, n, &s->intercept[j]);
    }
    if (*n == 0) {
        free(d);
        snprintf(err, errsz, "nothing to intercept: give a service an IPv4 outbound proxy "
                             "or an intercept: [\"ADDR:PORT\"] list");
        return -EINVAL;
    }
    *out = d;
    return 0;
}

/* "+" (any interface) when transparent.interfaces is empty. */
static void fill_spec(struct firewall_spec *s, const struct cfg *cfg,
                      const struct sockaddr_in *dsts, size_t n)
{
    static const char *const any[] = { "+" };
    const struct cfg_transparent *t = &cfg->transparent;

    *s = (struct firewall_spec){ .queue = (uint16_t)t->queue, .mark = t->mark, .dsts = dsts,
                           .n_dsts = n, .local = t->output };
    s->ifaces = t->n_interfaces ? (const char *const *)t->interfaces : any;
    s->n_ifaces = t->n_interfaces ? t->n_interfaces : 1;
}

int tmode_fw_text(const struct cfg *cfg, char *buf, size_t sz, char *err, size_t errsz)
{
    struct sockaddr_in *dsts;
    struct firewall_spec spec;
    size_t n;
    int rc = collect_dsts(cfg, &dsts, &n, err, errsz);

    if (rc < 0)
        return rc;
    fill_spec(&spec, cfg, dsts, n);
    rc = firewall_install_text(&spec, buf, sz);
    if (rc < 0)
        snprintf(err, errsz, "cannot build the firewall rules: %s", strerror(-rc));
    free(dsts);
    return rc;
}

int tmode_check_caps(char *msg, size_t sz)
{
    uint64_t have = 0;
    int rc = tcaps_effective(&have);

    if (rc < 0) {
        snprintf(msg, sz, "cannot read the capabilities: %s", strerror(-rc));
        return rc;
    }
    return tcaps_check(have, tcaps_needed(), msg, sz);
}

static int dst_index(const struct tmode *t, const struct sockaddr_in *a)
{
    for (size_t i = 0; i < t->n_dsts; i++)
        if (same_dst(&t->dsts[i], a))
            return (int)i;
    return -1;
}

/* Policy for the queue: from ua.allow to one of our destinations. */
static bool wanted(const struct sockaddr_in *src, const struct sockaddr_in *dst, void *arg)
{
    struct tmode *t = arg;

    return cfg_ua_allowed(t->cfg, (const struct sockaddr *)src) && dst_index(t, dst) >= 0;
}

static void on_take(const struct pkt_udp4 *pk, void *arg)
{
    struct tmode *t = arg;

    t->take(t, pk, t->arg);
}

static int install(struct tmode *t, char *err, size_t errsz)
{
    struct firewall_spec spec;
    int rc;

    if (!t->cfg->transparent.manage_firewall)
        return 0;
    fill_spec(&spec, t->cfg, t->dsts, t->n_dsts);
    rc = firewall_install(&spec);
    if (rc < 0)
        snprintf(err, errsz, "cannot install the firewall rules (iptables): %s",
                 strerror(-rc));
    else
        t->firewall_installed = true;
    return rc;
}

int tmode_open(struct tmode **out, struct loop *l, const struct cfg *cfg, tmode_take_fn take,
               void *arg, char *err, size_t errsz)
{
    struct tmode *t = calloc(1, sizeof(*t));
    int rc = t ? 0 : -ENOMEM;

    if (rc == 0) {
        *t = (struct tmode){ .cfg = cfg, .take = take, .arg = arg };
        rc = collect_dsts(cfg, &t->dsts, &t->n_dsts, err, errsz);
    }
    if (rc == 0 && !(t->fds = malloc(t->n_dsts * sizeof(*t->fds))))
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < t->n_dsts; i++)
        t->fds[i] = -1;
    if (rc == 0)
        rc = ctflush_new(&t->ct, l, NULL);
    if (rc == 0)
        rc = install(t, err, errsz);
    if (rc == 0) {
        rc = nfqi_open(&t->q, l, (uint16_t)cfg->transparent.queue, wanted, on_take, t);
        if (rc < 0)
            snprintf(err, errsz, "cannot bind NFQUEUE %u: %s%s", cfg->transparent.queue,
                     strerror(-rc), rc == -EBUSY ? " (another process owns it)" : "");
    }
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errsz, "%s", strerror(ENOMEM));
        tmode_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int tmode_send(struct tmode *t, const struct sockaddr_in *from, const struct sockaddr_in *to,
               const void *buf, size_t len)
{
    int i = dst_index(t, from);

    if (i < 0)
        return -ENOENT;
    if (t->fds[i] < 0) {
        int fd = tproxy_open(&t->dsts[i], t->cfg->transparent.mark);

        if (fd < 0)
            return fd;
        t->fds[i] = fd;
    }
    return tproxy_send(t->fds[i], buf, len, to);
}

void tmode_after_drop(struct tmode *t)
{
    int rc = t && t->firewall_installed ? firewall_probe() : 0;

    if (rc < 0)
        log_warn("firewall_cleanup_unavailable", "err=\"%s\" hint=\"iptables cannot run "
                 "with the capabilities kept after the drop, so the rules will stay at exit "
                 "(the next start removes them): use iptables-nft or `user: root`\"",
                 strerror(-rc));
}

int tmode_ct_text(const struct cfg *cfg, char **out)
{
    struct sockaddr_in *dsts;
    size_t n, sz;
    char err[8], *text;
    int rc = collect_dsts(cfg, &dsts, &n, err, sizeof(err));

    if (rc < 0)
        return rc;
    sz = ctflush_text_size(n, cfg->ua.n_allow);
    text = malloc(sz);
    rc = text ? ctflush_text(dsts, n, cfg->ua.allow, cfg->ua.n_allow, text, sz) : -ENOMEM;
    free(dsts);
    if (rc < 0) {
        free(text);
        return rc;
    }
    *out = text;
    return rc;
}

void tmode_wan_changed(struct tmode *t, unsigned what, unsigned flows_changed)
{
    char *text = NULL;
    int rc;

    if (!ctflush_due(what, flows_changed))
        return;
    rc = tmode_ct_text(t->cfg, &text);
    if (rc >= 0)
        rc = ctflush_start(t->ct, text);
    if (rc < 0)
        log_warn("conntrack_flush_failed", "err=\"%s\"", strerror(-rc));
    free(text);
}

void tmode_free(struct tmode *t)
{
    if (!t)
        return;
    if (t->q) {
        struct nfqi_counts c;

        nfqi_counts(t->q, &c);
        log_info("intercept_counts", "taken=%llu passed=%llu verdict_errors=%llu",
                 (unsigned long long)c.taken, (unsigned long long)c.accepted,
                 (unsigned long long)c.errors);
    }
    nfqi_free(t->q);
    ctflush_free(t->ct);
    for (size_t i = 0; t->fds && i < t->n_dsts; i++)
        if (t->fds[i] >= 0)
            close(t->fds[i]);
    if (t->firewall_installed) {
        int rc = firewall_cleanup();

        if (rc < 0)
            log_warn("firewall_cleanup_failed", "err=\"%s\" hint=\"the next start removes "
                     "the stale rules\"", strerror(-rc));
        else
            log_info("firewall_removed", "chain=" FIREWALL_CHAIN);
    }
    free(t->fds);
    free(t->dsts);
    free(t);
}
