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
 * The sink (level, target) is process-wide, like stderr itself: it is the
 * one piece of mutable state outside main.c and the event loop.
 */
#ifndef SIPKEEP_CORE_LOG_H
#define SIPKEEP_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* Sets the threshold and target.  ident names the program for syslog. */
void log_setup(enum log_level level, enum log_target target, const char *ident);
bool log_enabled(enum log_level level);
/* Parses "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Writes one event line: event is a short snake_case name, fmt the
 * key=value pairs (may be NULL). */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(ev, ...) log_event(LOG_LVL_ERROR, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_LVL_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_LVL_INFO, ev, __VA_ARGS__)
#define log_debug(ev, ...) log_event(LOG_LVL_DEBUG, ev, __VA_ARGS__)

/* Logs a SIP message (debug traces): the event line carries `peer=`, `len=`
 * and, last, `sip=` followed by the message escaped onto one line (CRLF as
 * \r\n), with Authorization / Proxy-Authorization values <redacted>. */
void log_sip(enum log_level level, const char *event, const char *peer,
             const char *buf, size_t len);

/* Copies a SIP message into out (size outsz >= 1, NUL-terminated, truncated
 * if needed) with credential header values replaced by "<redacted>" and
 * line breaks kept.  Returns the number of bytes written, without the NUL.
 * Exposed for tests and for any module that stores traces. */
size_t log_redact_sip(const char *buf, size_t len, char *out, size_t outsz);

#endif
