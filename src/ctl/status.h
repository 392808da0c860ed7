/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.h - answers control requests from the daemon's live state: walks
 * the router's bindings and flows into report.h snapshots, and takes the
 * counters from the daemon's struct sk_stats.
 */
#ifndef SIPKEEP_CTL_STATUS_H
#define SIPKEEP_CTL_STATUS_H

#include <stdint.h>

#include "core/loop.h"
#include "core/stats.h"
#include "ctl/ctl.h"
#include "ctl/report.h"
#include "proxy/router.h"

/* What the answers are made of; everything is borrowed and must outlive the
 * control server that uses it. */
struct ctl_source {
    const struct router *router;   /* NULL: no bindings */
    const struct sk_stats *stats;  /* NULL: all counters 0 */
    struct loop *loop;             /* the clock for uptime and ages */
    uint64_t started_ms;           /* loop time at start-up */
    const char *version;
};

/* A ctl_handler: arg is a const struct ctl_source *.  Writes the table,
 * the JSON or the metrics page into out; returns 0 (out->err tells about
 * memory). */
int ctl_status_answer(enum ctl_request req, struct report_buf *out, void *arg);

#endif
