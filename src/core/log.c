/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - see log.h. */
#include "core/log.h"
#include "core/log_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#define LOG_LINE_MAX 2048
#define LOG_SIP_MAX 8192
/* Distinct event names the rate limiter tracks at once.  sipkeep's names
 * are a fixed set from the code, well under this; when the table is full
 * and no window has ended, a new name is let through untracked. */
#define RATE_SLOTS 64
#define RATE_NAME_MAX 48 /* longer names are let through untracked */

/* One event name's current window. */
struct rate_slot {
    char name[RATE_NAME_MAX]; /* "" when free */
    uint64_t start_ms;        /* window start */
    unsigned lines;           /* written in this window */
    unsigned suppressed;      /* counted, not written */
    enum log_level worst;     /* most severe suppressed level */
};

/* Process-wide sink; see the note in log.h. */
static struct {
    enum log_level level;
    enum log_target target;
    bool rate_on;
    uint64_t (*now_ms)(void *ctx);
    void *now_ctx;
    log_pending_fn pending;
    void *pending_arg;
    struct rate_slot slots[RATE_SLOTS];
} sink = { .level = LOG_LVL_INFO, .target = LOG_TARGET_STDERR };

const char *const log_level_names[] = { "error", "warn", "info", "debug", NULL };

void log_setup(enum log_level level, enum log_target target, const char *ident)
{
    sink.level = level;
    sink.target = target;
    memset(sink.slots, 0, sizeof(sink.slots));
    if (target == LOG_TARGET_SYSLOG)
        openlog(ident ? ident : "sipkeep", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool log_enabled(enum log_level level)
{
    return level <= sink.level;
}

/* Appends src to dst[*pos..cap), escaping control bytes so the line stays one. */
static void append_escaped(char *dst, size_t *pos, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n && *pos + 5 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            dst[(*pos)++] = '\\';
            dst[(*pos)++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            dst[(*pos)++] = '\\';
            dst[(*pos)++] = 'x';
            dst[(*pos)++] = hex[c >> 4];
            dst[(*pos)++] = hex[c & 15];
        } else {
            dst[(*pos)++] = (char)c;
        }
    }
    dst[*pos] = '\0';
}

static size_t timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03ldZ ", ts.tv_nsec / 1000000L);
    return n < cap ? n : cap - 1;
}

static void emit(enum log_level level, const char *line)
{
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    char ts[40];

    if (sink.target == LOG_TARGET_SYSLOG) {
        syslog(prio[level], "%s", line);
        return;
    }
    timestamp(ts, sizeof(ts));
    fprintf(stderr, "%s%s\n", ts, line);
}

/* fmt is a printf format from the callers' checked arguments (clang's
 * -Wformat-nonliteral wants to be told). */
__attribute__((format(printf, 5, 0)))
static void vlog_event(enum log_level level, const char *event, const char *extra,
                       size_t extra_len, const char *fmt, va_list ap)
{
    char text[LOG_LINE_MAX], line[LOG_LINE_MAX + LOG_SIP_MAX];
    size_t pos;
    int n = 0;

    text[0] = '\0';
    if (fmt)
        n = vsnprintf(text, sizeof(text), fmt, ap);
    pos = (size_t)snprintf(line, sizeof(line), "level=%s event=%s",
                           log_level_names[level], event);
    if (n > 0) {
        append_escaped(line, &pos, sizeof(line), " ", 1);
        append_escaped(line, &pos, sizeof(line), text, strnlen(text, sizeof(text)));
    }
    if (extra)
        append_escaped(line, &pos, sizeof(line), extra, extra_len);
    emit(level, line);
}

/* ---- rate limit ---- */

static uint64_t mono_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void log_set_rate_limit(bool on)
{
    sink.rate_on = on;
}

void log_set_clock(uint64_t (*now_ms)(void *ctx), void *ctx)
{
    sink.now_ms = now_ms;
    sink.now_ctx = ctx;
}

void log_set_pending_hook(log_pending_fn fn, void *arg)
{
    sink.pending = fn;
    sink.pending_arg = arg;
}

static uint64_t rate_now(void)
{
    return sink.now_ms ? sink.now_ms(sink.now_ctx) : mono_ms(NULL);
}

static void log_unlimited(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_unlimited(enum log_level level, const char *event, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog_event(level, event, NULL, 0, fmt, ap);
    va_end(ap);
}

/* Writes the slot's summary, if it has one, and starts a new window at now. */
static void rate_roll(struct rate_slot *r, uint64_t now)
{
    if (r->suppressed)
        log_unlimited(r->worst, "log_suppressed", "name=%s count=%u window_s=%u", r->name,
                      r->suppressed, LOG_RATE_WINDOW_MS / 1000u);
    r->start_ms = now;
    r->lines = 0;
    r->suppressed = 0;
    r->worst = LOG_LVL_INFO;
}

static bool rate_ended(const struct rate_slot *r, uint64_t now)
{
    return now - r->start_ms >= LOG_RATE_WINDOW_MS;
}

/* The slot of event: its own, else a free one, else one whose window has
 * ended (its summary written first); NULL when every slot is busy. */
static struct rate_slot *rate_slot(const char *event, uint64_t now)
{
    struct rate_slot *spare = NULL;

    for (size_t i = 0; i < RATE_SLOTS; i++) {
        struct rate_slot *r = &sink.slots[i];

        if (strcmp(r->name, event) == 0 && r->name[0])
            return r;
        if (!spare && (!r->name[0] || rate_ended(r, now)))
            spare = r;
    }
    if (spare) {
        rate_roll(spare, now);
        snprintf(spare->name, sizeof(spare->name), "%s", event);
    }
    return spare;
}

/* Whether a warn/info line of event may be written now. */
static bool rate_admit(enum log_level level, const char *event)
{
    uint64_t now = rate_now();
    struct rate_slot *r;

    if (strlen(event) >= RATE_NAME_MAX || !(r = rate_slot(event, now)))
        return true;
    if (rate_ended(r, now))
        rate_roll(r, now);
    if (r->lines < LOG_RATE_BURST) {
        r->lines++;
        return true;
    }
    if (level < r->worst)
        r->worst = level;
    if (r->suppressed++ == 0 && sink.pending)
        sink.pending(sink.pending_arg, r->start_ms + LOG_RATE_WINDOW_MS - now);
    return false;
}

int64_t log_flush_suppressed(void)
{
    uint64_t now = rate_now();
    int64_t next = -1;

    for (size_t i = 0; i < RATE_SLOTS; i++) {
        struct rate_slot *r = &sink.slots[i];

        if (!r->suppressed)
            continue;
        if (rate_ended(r, now)) {
            rate_roll(r, now);
        } else {
            int64_t due = (int64_t)(r->start_ms + LOG_RATE_WINDOW_MS - now);
            if (next < 0 || due < next)
                next = due;
        }
    }
    return next;
}

void log_flush_all(void)
{
    uint64_t now = rate_now();

    for (size_t i = 0; i < RATE_SLOTS; i++)
        if (sink.slots[i].suppressed)
            rate_roll(&sink.slots[i], now);
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level))
        return;
    if (sink.rate_on && (level == LOG_LVL_WARN || level == LOG_LVL_INFO) &&
        !rate_admit(level, event))
        return;
    va_start(ap, fmt);
    vlog_event(level, event, NULL, 0, fmt, ap);
    va_end(ap);
}

/* ---- credential redaction ---- */

static bool is_credential_header(const char *line, size_t n)
{
    static const char *const names[] = { "authorization", "proxy-authorization" };

    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(names[i]);
        size_t j = k;
        if (n < k || strncasecmp(line, names[i], k) != 0)
            continue;
        while (j < n && (line[j] == ' ' || line[j] == '\t'))
            j++;
        if (j < n && line[j] == ':')
            return true;
    }
    return false;
}

static void out_put(char *out, size_t *pos, size_t outsz, const char *s, size_t n)
{
    if (*pos + 1 >= outsz)
        return;
    if (n > outsz - 1 - *pos)
        n = outsz - 1 - *pos;
    memcpy(out + *pos, s, n);
    *pos += n;
}

size_t log_redact_sip(const char *buf, size_t len, char *out, size_t outsz)
{
    static const char red[] = "<redacted>";
    size_t pos = 0, i = 0;
    bool redacting = false;

    while (i < len) {
        const char *eol = memchr(buf + i, '\n', len - i);
        size_t n = eol ? (size_t)(eol - (buf + i)) + 1 : len - i;
        const char *line = buf + i;
        bool folded = n > 0 && (line[0] == ' ' || line[0] == '\t');

        if (!folded)
            redacting = is_credential_header(line, n);
        if (redacting && !folded) {
            const char *colon = memchr(line, ':', n);
            out_put(out, &pos, outsz, line, (size_t)(colon - line) + 1);
            out_put(out, &pos, outsz, " ", 1);
            out_put(out, &pos, outsz, red, sizeof(red) - 1);
            out_put(out, &pos, outsz, "\r\n", line[n - 1] == '\n' ? 2 : 0);
        } else if (!redacting) {
            out_put(out, &pos, outsz, line, n);
        }
        if (n == 2 && line[0] == '\r')
            redacting = false; /* end of headers: the body is not a header */
        i += n;
    }
    out[pos] = '\0';
    return pos;
}

__attribute__((format(printf, 5, 6)))
static void log_with_extra(enum log_level level, const char *event, const char *extra,
                           size_t extra_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog_event(level, event, extra, extra_len, fmt, ap);
    va_end(ap);
}

void log_sip(enum log_level level, const char *event, const char *peer,
             const char *buf, size_t len)
{
    char red[LOG_SIP_MAX];
    size_t n;

    if (!log_enabled(level))
        return;
    n = log_redact_sip(buf, len, red, sizeof(red));
    log_with_extra(level, event, red, n, "peer=%s len=%zu sip=", peer ? peer : "-", len);
}
