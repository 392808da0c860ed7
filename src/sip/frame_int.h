/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frame_int.h - frame_next() with an explicit role, which only frame.c,
 * its tests and its fuzzer call.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_SIP_FRAME_INT_H
#define SIPKEEP_SIP_FRAME_INT_H

#include "sip/frame.h"

/* Same as frame_next() with an explicit role. */
int frame_next_role(const char *buf, size_t len, enum frame_role role,
                    struct frame_result *fr);

#endif
