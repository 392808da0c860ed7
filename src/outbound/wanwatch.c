/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wanwatch.c - flows checked at once on a WAN change; see wanwatch.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/netwatch.h"
#include "outbound/regagent_int.h"
#include "outbound/resolve.h"
#include "outbound/wanwatch.h"

static bool kernel_addr_gone(const struct sockaddr_storage *a, void *arg)
{
    struct sockaddr_storage s = *a;
    socklen_t len = s.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);
    int fd, err = 0;

    (void)arg;
    if (s.ss_family != AF_INET && s.ss_family != AF_INET6)
        return false;
    /* port 0: any free one; only whether the address is still ours matters */
    if (s.ss_family == AF_INET)
        ((struct sockaddr_in *)&s)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&s)->sin6_port = 0;
    fd = socket(s.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false; /* cannot tell: the ping decides */
    if (bind(fd, (struct sockaddr *)&s, len) < 0)
        err = errno;
    close(fd);
    return err == EADDRNOTAVAIL;
}

static int kernel_route_source(const struct sockaddr_storage *peer,
                               struct sockaddr_storage *src, void *arg)
{
    socklen_t len = sizeof(*src);
    int fd, err = 0;

    (void)arg;
    if (peer->ss_family != AF_INET && peer->ss_family != AF_INET6)
        return -EAFNOSUPPORT;
    /* connect() on a UDP socket is the kernel's route lookup, and nothing
     * is sent; getsockname then says which address it picked */
    fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)peer, addr_len((const struct sockaddr *)peer)) < 0 ||
        getsockname(fd, (struct sockaddr *)src, &len) < 0)
        err = -errno;
    close(fd);
    return err;
}

const struct wanwatch_probe wanwatch_kernel = { kernel_addr_gone, kernel_route_source, NULL };

/* Fails rf's flow for why; when the burst brought a new address or route
 * and the flow now waits in back-off (it had not worked yet), starts it
 * again at once: §4.5's wait is for a path that is already back. */
static void fail_flow(struct reg_flow *rf, unsigned what, const char *why, const char *local,
                      struct wanwatch_result *res)
{
    log_info("wan_change_flow_failed", "binding=%" PRIu32 " reg_id=%u aor=%s local=%s "
             "reason=\"%s\"", rf->b->id, rf->idx + 1, rf->b->aor, local, why);
    struct flow_info fi;

    res->failed++;
    flow_fail(rf->flow, why);
    if (!(what & (NETWATCH_ADDR_NEW | NETWATCH_ROUTE_NEW)))
        return;
    flow_get_info(rf->flow, &fi);
    /* a working flow's retry is due at once already (row 0) */
    if (fi.state == FLOW_BACKOFF && fi.retry_in_ms > 0) {
        res->restarted++;
        flow_start(rf->flow);
    }
}

static void check_flow(struct reg_flow *rf, unsigned what, const struct wanwatch_probe *probe,
                       struct wanwatch_result *res)
{
    enum flow_state st = flow_state(rf->flow);
    struct sockaddr_storage local;
    const struct resolve_target *tg;
    char buf[ADDR_STR_MAX];

    if (st == FLOW_BACKOFF && (what & (NETWATCH_ADDR_NEW | NETWATCH_ROUTE_NEW))) {
        log_info("wan_change_retry", "binding=%" PRIu32 " reg_id=%u aor=%s", rf->b->id,
                 rf->idx + 1, rf->b->aor);
        res->restarted++;
        flow_start(rf->flow);
        return;
    }
    if ((st != FLOW_REGISTERING && st != FLOW_ACTIVE) ||
        flow_local_addr(rf->flow, &local) < 0)
        return;
    addr_format((struct sockaddr *)&local, false, buf, sizeof(buf));
    if ((what & (NETWATCH_ADDR_GONE | NETWATCH_LOST)) && probe->addr_gone(&local, probe->arg)) {
        fail_flow(rf, what, "local address gone", buf, res);
        return;
    }
    tg = flow_target(rf->flow);
    if (tg && probe->route_source) {
        struct sockaddr_storage src, peer;
        int err;

        addr_ip_storage(&peer, &tg->addr);
        err = probe->route_source(&peer, &src, probe->arg);

        if (err == -ENETUNREACH || err == -EHOSTUNREACH) {
            fail_flow(rf, what, "no route to the edge", buf, res);
            return;
        }
        if (err == 0 && !addr_same_host((struct sockaddr *)&src, (struct sockaddr *)&local)) {
            fail_flow(rf, what, "the route to the edge leaves from another address", buf, res);
            return;
        }
    }
    if (st == FLOW_ACTIVE) {
        res->pinged++;
        flow_ping_now(rf->flow);
    }
}

void wanwatch_check(struct regagent *ra, unsigned what, const struct wanwatch_probe *probe,
                    struct wanwatch_result *res)
{
    *res = (struct wanwatch_result){ 0 };
    for (struct binding *b = ra->all; b; b = b->next_all) {
        if (!b->svc->recovery.watch_wan)
            continue;
        /* flow_fail's on_down (regagent.c) answers a waiting phone at
         * most; it frees no binding, so the walk stays valid */
        for (unsigned i = 0; i < b->nflows; i++)
            check_flow(&b->flows[i], what, probe, res);
    }
}

struct wanwatch {
    struct regagent *ra;
    struct netwatch *nw;
    wanwatch_hook hook;
    void *hook_arg;
};

static void on_change(unsigned what, void *arg)
{
    struct wanwatch *w = arg;
    struct wanwatch_result res;

    wanwatch_check(w->ra, what, &wanwatch_kernel, &res);
    /* IPv6 address lifetimes are refreshed by every router advertisement:
     * a burst that only pinged is no news */
    if (res.failed || res.restarted)
        log_info("wan_change_checked", "failed=%u pinged=%u restarted=%u", res.failed,
                 res.pinged, res.restarted);
    else
        log_debug("wan_change_checked", "failed=0 pinged=%u restarted=0", res.pinged);
    if (w->hook)
        w->hook(what, &res, w->hook_arg);
}

void wanwatch_set_hook(struct wanwatch *w, wanwatch_hook fn, void *arg)
{
    w->hook = fn;
    w->hook_arg = arg;
}

int wanwatch_open(struct wanwatch **out, struct loop *loop, struct regagent *ra)
{
    struct wanwatch *w = calloc(1, sizeof(*w));
    int err;

    if (!w)
        return -ENOMEM;
    w->ra = ra;
    err = netwatch_open(&w->nw, loop, on_change, w);
    if (err < 0) {
        free(w);
        return err;
    }
    *out = w;
    return 0;
}

void wanwatch_free(struct wanwatch *w)
{
    if (!w)
        return;
    netwatch_free(w->nw);
    free(w);
}
