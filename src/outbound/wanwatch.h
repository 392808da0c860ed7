/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wanwatch.h - what a WAN change (core/netwatch.h) means for the flows
 * (issue 12 item 6): instead of waiting for the next keep-alive, every
 * flow of a service with recovery.watch_wan is looked at once per burst of
 * address or route changes:
 *  - a flow up (REGISTERING, ACTIVE) whose local address is gone from the
 *    host (a PPPoE reconnect, a new DHCP lease) fails at once: a working
 *    flow's death retries at once (§4.5 row 0), from the new address, and
 *    registers again (one that had not worked yet, and would back off,
 *    tries again at once when the same burst brought an address or route);
 *  - a flow up whose edge the kernel would now reach from another local
 *    address (the route changed: another uplink, another default route),
 *    or not at all, fails at once too;
 *  - any other ACTIVE flow is pinged at once (CRLF, or STUN/OPTIONS on
 *    UDP): the path beyond the router may have changed, and a missing pong
 *    fails it as usual (keepalive.pong_timeout);
 *  - on an address or route that appeared, a flow in back-off tries again
 *    now: the uplink that made it fail may be back.
 * Without the watch (or with watch_wan false) the same change is noticed
 * by the next keep-alive: its interval plus the pong timeout. */
#ifndef SIPKEEP_OUTBOUND_WANWATCH_H
#define SIPKEEP_OUTBOUND_WANWATCH_H

#include <sys/socket.h>

#include "core/loop.h"
#include "outbound/regagent.h"

/* How the host is asked; the kernel's by default, a test's fake. */
struct wanwatch_probe {
    /* true when address a (a flow's local address) is no longer one of
     * the host's: binding a socket to it fails with EADDRNOTAVAIL. */
    bool (*addr_gone)(const struct sockaddr_storage *a, void *arg);
    /* The local address the kernel picks now toward peer (a flow's edge):
     * 0 and *src, -ENETUNREACH/-EHOSTUNREACH without a route, other -errno
     * when it cannot tell (the flow is then only pinged). */
    int (*route_source)(const struct sockaddr_storage *peer, struct sockaddr_storage *src,
                        void *arg);
    void *arg;
};
extern const struct wanwatch_probe wanwatch_kernel;

/* What one check did (for the log and for tests). */
struct wanwatch_result {
    unsigned failed;    /* flows failed: their local address is gone, or
                           their edge is reached from another one or not */
    unsigned pinged;    /* ACTIVE flows pinged at once */
    unsigned restarted; /* flows in back-off started again */
};

/* Applies a burst of changes what (NETWATCH_* bits) to the flows of ra's
 * bindings whose service has recovery.watch_wan, as above.  Flows failed
 * here call their owner's on_down before this returns; no binding is
 * freed. */
void wanwatch_check(struct regagent *ra, unsigned what, const struct wanwatch_probe *probe,
                    struct wanwatch_result *res);

struct wanwatch;
/* Watches the kernel's changes (netwatch_open) for ra on loop, each burst
 * going to wanwatch_check with the kernel's probe.  Returns 0 and *out or
 * -errno (the netlink socket could not be opened; the caller logs it and
 * runs without the watch). */
int wanwatch_open(struct wanwatch **out, struct loop *loop, struct regagent *ra);
void wanwatch_free(struct wanwatch *w);

/* Called after each burst's check with its bits and result (main.c: the
 * conntrack flush of transparent mode, intercept/tmode.h).  fn NULL: none. */
typedef void (*wanwatch_hook)(unsigned what, const struct wanwatch_result *res, void *arg);
void wanwatch_set_hook(struct wanwatch *w, wanwatch_hook fn, void *arg);

#endif
