/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctflush_int.h - the part of ctflush.c only tests call.
 * Not a public API: included by ctflush.c and by tests. */
#ifndef SIPKEEP_INTERCEPT_CTFLUSH_INT_H
#define SIPKEEP_INTERCEPT_CTFLUSH_INT_H

#include <stdbool.h>

#include "intercept/ctflush.h"

/* A flush is running or queued. */
bool ctflush_busy(const struct ctflush *c);

#endif
