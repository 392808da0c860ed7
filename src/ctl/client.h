/* client.h - the command-line side of the control socket: `sipkeep status
 * [--json]` and `sipkeep metrics`.
 */
#ifndef SIPKEEP_CTL_CLIENT_H
#define SIPKEEP_CTL_CLIENT_H

#include <stdbool.h>

#include "ctl/report.h"

/* How long the client waits for the daemon (connect, send, each read). */
#define CTL_CLIENT_TIMEOUT_MS 10000

/* Sends the request line (without terminator) to the daemon listening at
 * path and reads the whole answer into *answer (initialised by the
 * caller, freed by the caller).  Returns 0, or -errno: the connection
 * failed (e.g. -ENOENT, -ECONNREFUSED: no daemon), -ETIMEDOUT, -EFBIG (the
 * answer exceeds REPORT_MAX_BYTES), -ENAMETOOLONG (path).  An "error: ..."
 * answer is returned as is, with 0: the caller decides. */
int ctl_client_request(const char *path, const char *request, int timeout_ms,
                       struct report_buf *answer);

/* True when argv word is a control subcommand ("status", "metrics"). */
bool ctl_cli_is_command(const char *word);

/* Runs a control subcommand: argv[0] is "status" or "metrics", then its
 * options (-c FILE: read control_socket from that config, default
 * default_config; -s PATH: use that socket; --json for status; -h).
 * Prints the answer on stdout.  Returns the process exit code: 0, 1 when
 * the daemon cannot be reached or refuses, 2 on a usage error. */
int ctl_cli_main(int argc, char **argv, const char *default_config);

#endif
