/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_int.h - the parts of flow.c and stunka.c only tests call.
 * Not a public API: included by their own files and by tests. */
#ifndef SIPKEEP_OUTBOUND_FLOW_INT_H
#define SIPKEEP_OUTBOUND_FLOW_INT_H

#include <stdbool.h>

#include "outbound/flow.h"
#include "outbound/stunka.h"

/* The registration attempt on this flow failed (non-2xx final response or
 * timeout): counts as a failure; the flow is closed and retried after the
 * back-off.  on_down is called before this returns.  No-op unless
 * REGISTERING or ACTIVE.  (The agent uses flow_register_failed_after.) */
void flow_register_failed(struct flow *f, const char *reason);

/* Failures since the flow last worked (§4.5), the death of a working flow
 * included; 0 once it works again. */
unsigned flow_consecutive_failures(const struct flow *f);

/* A STUN transaction is outstanding. */
bool stunka_outstanding(const struct stunka *k);

#endif
