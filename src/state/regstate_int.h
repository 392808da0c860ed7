/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regstate_int.h - what regstate.c and regstate_parse.c expose to the
 * tests only: the address parser on its own and the pending-write flag.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_STATE_REGSTATE_INT_H
#define SIPKEEP_STATE_REGSTATE_INT_H

#include "state/regstate.h"

/* Parses "1.2.3.4:5060" / "[2001:db8::1]:5060" (n bytes, the form the
 * file uses) into out.  Returns 0 or -EINVAL. */
int regstate_addr_parse(const char *s, size_t n, union sockaddr_ip *out);
/* Whether changes wait for a flush. */
bool regstate_dirty(const struct regstate *s);

#endif
