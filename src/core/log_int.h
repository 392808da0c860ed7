/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log_int.h - the part of the log module only tests call.
 * Not a public API: included by log.c and by tests. */
#ifndef SIPKEEP_CORE_LOG_INT_H
#define SIPKEEP_CORE_LOG_INT_H

#include <stdint.h>

/* The rate limiter's monotonic millisecond clock: now_ms(ctx).  NULL means
 * CLOCK_MONOTONIC.  Tests pass a fake one. */
void log_set_clock(uint64_t (*now_ms)(void *ctx), void *ctx);

#endif
