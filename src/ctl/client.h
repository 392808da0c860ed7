/* SPDX-License-Identifier: GPL-2.0-or-later */
/* client.h - the command-line side of the control socket: `sipkeep status
 * [--json]` and `sipkeep metrics`.
 */
#ifndef SIPKEEP_CTL_CLIENT_H
#define SIPKEEP_CTL_CLIENT_H

#include <stdbool.h>

#include "ctl/report.h"

/* How long the client waits for the daemon (connect, send, each read). */
#define CTL_CLIENT_TIMEOUT_MS 10000

/* True when argv word is a control subcommand ("status", "metrics"). */
bool ctl_cli_is_command(const char *word);

/* Runs a control subcommand: argv[0] is "status" or "metrics", then its
 * options (-c FILE: read control_socket from that config, default
 * default_config; -s PATH: use that socket; --json for status; -h).
 * Prints the answer on stdout.  Returns the process exit code: 0, 1 when
 * the daemon cannot be reached or refuses, 2 on a usage error. */
int ctl_cli_main(int argc, char **argv, const char *default_config);

#endif
