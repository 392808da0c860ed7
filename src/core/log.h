/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - one line per event, `key=value` style, to stderr or syslog.
 *
 *   log_info("flow_up", "proxy=%s reg_id=%u", uri, id);
 * writes (stderr):
 *   2026-11-24T15:51:55.123Z level=info event=flow_up proxy=... reg_id=1
 *
 * Newlines and control characters in the formatted text are escaped (\n,
 * \xNN) so that one event is always one line.  SIP messages are logged only
 * through log_sip(), which redacts credentials (Authorization and
 * Proxy-Authorization values); never pass credentials to the other calls.
 *
 * Syslog lines go to facility LOG_DAEMON under ident (main.c: "sipkeep"),
 * with the pid; OpenWrt's logd and journald read them from /dev/log.
 *
 * Rate limit (off until log_set_rate_limit(true), which the daemon calls,
 * so that unit tests of other modules see every line): a broken provider
 * or a noisy LAN must not fill a router's RAM log, so each event name may
 * write at most LOG_RATE_BURST warn or info lines per LOG_RATE_WINDOW_MS.
 * Further lines of that name are counted, not written, and when the window
 * has ended one summary line
 *   level=warn event=log_suppressed name=ua_msg_dropped count=990
 * reports them (at the most severe level suppressed).  Errors and debug
 * lines are never limited: errors are rare and matter, debug is asked for.
 * The window of a name starts with its first line; a summary is written by
 * the next line of that name, by log_flush_suppressed() (main.c calls it
 * from a timer that the pending hook arms) or by log_flush_all() at exit.
 *
 * The sink (level, target, rate-limit table, clock) is process-wide, like
 * stderr itself: it is the one piece of mutable state outside main.c and
 * the event loop.
 */
#ifndef SIPKEEP_CORE_LOG_H
#define SIPKEEP_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

#define LOG_RATE_BURST 10        /* warn/info lines per event name per window */
#define LOG_RATE_WINDOW_MS 10000 /* the window */

/* Sets the threshold and target, and forgets every rate-limit window
 * (without summaries).  ident names the program for syslog. */
void log_setup(enum log_level level, enum log_target target, const char *ident);
bool log_enabled(enum log_level level);
/* The level names, indexed by enum log_level, NULL after the last: what
 * the lines say (level=...) and what the config's log.level accepts. */
extern const char *const log_level_names[];

/* Writes one event line: event is a short snake_case name, fmt the
 * key=value pairs (may be NULL). */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(ev, ...) log_event(LOG_LVL_ERROR, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_LVL_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_LVL_INFO, ev, __VA_ARGS__)
#define log_debug(ev, ...) log_event(LOG_LVL_DEBUG, ev, __VA_ARGS__)

/* Turns the rate limit on or off (default off). */
void log_set_rate_limit(bool on);

/* Called from within a log call when an event name begins to be suppressed:
 * its summary is due in delay_ms.  The hook must not log. */
typedef void (*log_pending_fn)(void *arg, uint64_t delay_ms);
/* Sets (fn NULL: clears) the pending hook. */
void log_set_pending_hook(log_pending_fn fn, void *arg);

/* Writes the summary of every name whose window has ended with lines
 * suppressed.  Returns the ms until the next such summary is due (>= 1),
 * or -1 when none is pending. */
int64_t log_flush_suppressed(void);
/* Writes every pending summary now, ended window or not (at exit). */
void log_flush_all(void);

/* Logs a SIP message (debug traces): the event line carries `peer=`, `len=`
 * and, last, `sip=` followed by the message escaped onto one line (CRLF as
 * \r\n), with Authorization / Proxy-Authorization values <redacted>, cut
 * at 8 KiB.  Nothing is copied or formatted when level is not enabled.
 * The router traces every message it takes in, from a phone (sip_from_ua)
 * and from a flow (sip_from_flow), at debug. */
void log_sip(enum log_level level, const char *event, const char *peer,
             const char *buf, size_t len);

/* Copies a SIP message into out (size outsz >= 1, NUL-terminated, truncated
 * if needed) with credential header values replaced by "<redacted>" and
 * line breaks kept.  Returns the number of bytes written, without the NUL.
 * log_sip's redaction; also for any module that stores traces. */
size_t log_redact_sip(const char *buf, size_t len, char *out, size_t outsz);

#endif
