/* wanwatch.c - flows checked at once on a WAN change; see wanwatch.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/netwatch.h"
#include "outbound/regagent_int.h"
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

const struct wanwatch_probe wanwatch_kernel = { kernel_addr_gone, NULL };

static void check_flow(struct reg_flow *rf, unsigned what, const struct wanwatch_probe *probe,
                       struct wanwatch_result *res)
{
    enum flow_state st = flow_state(rf->flow);
    struct sockaddr_storage local;
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
    if ((what & (NETWATCH_ADDR_GONE | NETWATCH_LOST)) && probe->addr_gone(&local, probe->arg)) {
        addr_format((struct sockaddr *)&local, true, buf, sizeof(buf));
        log_info("wan_change_flow_failed", "binding=%" PRIu32 " reg_id=%u aor=%s local=%s "
                 "reason=\"local address gone\"", rf->b->id, rf->idx + 1, rf->b->aor, buf);
        res->failed++;
        flow_fail(rf->flow, "local address gone (WAN change)");
        /* A flow that had not worked yet backs off (§4.5) rather than
         * retrying at once; when this burst brought the new address or
         * route, the wait is for nothing. */
        if ((what & (NETWATCH_ADDR_NEW | NETWATCH_ROUTE_NEW)) &&
            flow_state(rf->flow) == FLOW_BACKOFF) {
            res->restarted++;
            flow_start(rf->flow);
        }
        return;
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
};

static void on_change(unsigned what, void *arg)
{
    struct wanwatch *w = arg;
    struct wanwatch_result res;

    wanwatch_check(w->ra, what, &wanwatch_kernel, &res);
    log_info("wan_change_checked", "failed=%u pinged=%u restarted=%u", res.failed, res.pinged,
             res.restarted);
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
