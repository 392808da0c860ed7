/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl_int.h - the pieces of the ctl directory's files (ctl.c, client.c,
 * report.c, httpmetrics.c) that only tests call.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_CTL_CTL_INT_H
#define SIPKEEP_CTL_CTL_INT_H

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/httpmetrics.h"
#include "ctl/report.h"

/* Parses a request line without its terminator.  Returns 0 and *out, or
 * -EINVAL. */
int ctl_parse_request(const char *line, enum ctl_request *out);

/* Sends the request line (without terminator) to the daemon listening at
 * path and reads the whole answer into *answer (initialised by the
 * caller, freed by the caller).  Returns 0, or -errno: the connection
 * failed (e.g. -ENOENT, -ECONNREFUSED: no daemon), -ETIMEDOUT, -EFBIG (the
 * answer exceeds REPORT_MAX_BYTES), -ENAMETOOLONG (path).  An "error: ..."
 * answer is returned as is, with 0: the caller decides. */
int ctl_client_request(const char *path, const char *request, int timeout_ms,
                       struct report_buf *answer);

/* Appends s as a JSON string literal with its quotes; NULL gives null. */
void report_json_str(struct report_buf *b, const char *s);

/* Connections being served, and the address listened on. */
unsigned httpmetrics_clients(const struct httpmetrics *m);
int httpmetrics_local_addr(const struct httpmetrics *m, struct sockaddr_storage *out);

#endif
