/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for logging: credentials never reach the output, one event is
 * one line, level filtering, and the per-event-name rate limit (with a fake
 * clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/log_int.h"

static const char reg_with_auth[] =
    "REGISTER sip:example.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.1.5;branch=z9hG4bK1\r\n"
    "Authorization: Digest username=\"alice\", realm=\"example.net\",\r\n"
    "  nonce=\"abc\", response=\"0123456789abcdef0123456789abcdef\"\r\n"
    "proxy-authorization  : Digest username=\"alice\", response=\"feedface\"\r\n"
    "Call-ID: 1@x\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static void test_redact_removes_credentials(void **state)
{
    char out[1024];
    size_t n;

    (void)state;
    n = log_redact_sip(reg_with_auth, sizeof(reg_with_auth) - 1, out, sizeof(out));
    assert_int_equal(n, strlen(out));
    assert_null(strstr(out, "0123456789abcdef"));
    assert_null(strstr(out, "feedface"));
    assert_null(strstr(out, "nonce")); /* the folded continuation line too */
    assert_non_null(strstr(out, "Authorization: <redacted>\r\n"));
    assert_non_null(strstr(out, "proxy-authorization  : <redacted>\r\n"));
    /* everything else is kept byte for byte */
    assert_non_null(strstr(out, "Via: SIP/2.0/UDP 192.168.1.5;branch=z9hG4bK1\r\n"));
    assert_non_null(strstr(out, "Call-ID: 1@x\r\nContent-Length: 0\r\n\r\n"));
}

static void test_redact_truncates_safely(void **state)
{
    char out[16];

    (void)state;
    size_t n = log_redact_sip(reg_with_auth, sizeof(reg_with_auth) - 1, out, sizeof(out));
    assert_int_equal(n, 15);
    assert_int_equal(out[15], '\0');
    assert_memory_equal(out, reg_with_auth, 15);
}

/* Runs fn with stderr redirected to a temp file and returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
    static char buf[16384];
    FILE *tmp = tmpfile();
    int saved = dup(2);
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    n = fread(buf, 1, sizeof(buf) - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return buf;
}

static void emit_sip(void)
{
    log_setup(LOG_LVL_DEBUG, LOG_TARGET_STDERR, "test");
    log_sip(LOG_LVL_DEBUG, "sip_rx", "192.168.1.5:5060", reg_with_auth,
            sizeof(reg_with_auth) - 1);
}

static void test_log_sip_is_one_redacted_line(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_sip);
    assert_non_null(strstr(out, "level=debug event=sip_rx peer=192.168.1.5:5060 len="));
    assert_null(strstr(out, "feedface"));
    assert_null(strstr(out, "0123456789abcdef"));
    assert_non_null(strstr(out, "Authorization: <redacted>\\r\\n"));
    /* exactly one newline: the end of the event */
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void emit_levels(void)
{
    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test");
    log_info("hidden_event", "k=%d", 1);
    log_warn("shown_event", "reason=%s", "line1\nline2");
    log_error("bare_event", NULL);
}

static void test_levels_and_escaping(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_levels);
    assert_null(strstr(out, "hidden_event"));
    assert_non_null(strstr(out, "level=warn event=shown_event reason=line1\\nline2\n"));
    assert_non_null(strstr(out, "level=error event=bare_event\n"));
    assert_false(log_enabled(LOG_LVL_INFO));
    assert_true(log_enabled(LOG_LVL_ERROR));
}

/* One table for the names the lines write and the config's log.level
 * (config_validate.c takes its words from it, test_config checks the
 * mapping): indexed by enum log_level, NULL after the last. */
static void test_level_names(void **state)
{
    (void)state;
    assert_string_equal(log_level_names[LOG_LVL_ERROR], "error");
    assert_string_equal(log_level_names[LOG_LVL_WARN], "warn");
    assert_string_equal(log_level_names[LOG_LVL_INFO], "info");
    assert_string_equal(log_level_names[LOG_LVL_DEBUG], "debug");
    assert_null(log_level_names[LOG_LVL_DEBUG + 1]);
}

/* ---- rate limit, on a fake clock ---- */

static uint64_t fake_ms;
static unsigned hook_calls;
static uint64_t hook_delay;

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return fake_ms;
}

static void on_pending(void *arg, uint64_t delay_ms)
{
    (void)arg;
    hook_calls++;
    hook_delay = delay_ms;
}

static int rate_setup(void **state)
{
    (void)state;
    fake_ms = 1000000;
    hook_calls = 0;
    hook_delay = 0;
    log_set_rate_limit(true);
    log_set_clock(fake_now, NULL);
    log_set_pending_hook(on_pending, NULL);
    log_setup(LOG_LVL_INFO, LOG_TARGET_STDERR, "test");
    return 0;
}

static int rate_teardown(void **state)
{
    (void)state;
    log_set_rate_limit(false);
    log_set_clock(NULL, NULL);
    log_set_pending_hook(NULL, NULL);
    log_setup(LOG_LVL_INFO, LOG_TARGET_STDERR, "test");
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int64_t flush_result;

static void emit_burst(void)
{
    for (int i = 0; i < 15; i++)
        log_warn("noisy", "i=%d", i);
    log_info("quiet", "k=1"); /* another name has its own window */
    fake_ms += 4000;
    flush_result = log_flush_suppressed(); /* window not over: nothing */
}

static void emit_window_end(void)
{
    fake_ms += 6000;
    flush_result = log_flush_suppressed();
}

static void test_rate_limit_burst_then_summary(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_burst);
    assert_int_equal(count(out, "event=noisy "), LOG_RATE_BURST);
    assert_non_null(strstr(out, "event=noisy i=9\n"));
    assert_null(strstr(out, "event=noisy i=10"));
    assert_int_equal(count(out, "event=quiet k=1"), 1);
    assert_null(strstr(out, "log_suppressed"));
    assert_int_equal(hook_calls, 1); /* once per window, at the first suppressed line */
    assert_int_equal(hook_delay, LOG_RATE_WINDOW_MS);
    assert_int_equal(flush_result, LOG_RATE_WINDOW_MS - 4000);

    out = capture_stderr(emit_window_end);
    assert_string_equal(strstr(out, "level="),
                        "level=warn event=log_suppressed name=noisy count=5 window_s=10\n");
    assert_int_equal(flush_result, -1);
}

static void emit_next_window(void)
{
    for (int i = 0; i < 12; i++)
        log_info("chatty", "i=%d", i);  /* 2 suppressed, at info */
    fake_ms += LOG_RATE_WINDOW_MS;
    log_info("chatty", "i=%d", 12);     /* new window: summary first, then the line */
    for (int i = 13; i < 25; i++)
        log_info("chatty", "i=%d", i);
}

static void test_rate_limit_next_line_rolls_window(void **state)
{
    char *out, *summary, *line12;

    (void)state;
    out = capture_stderr(emit_next_window);
    summary = strstr(out, "level=info event=log_suppressed name=chatty count=2 ");
    line12 = strstr(out, "event=chatty i=12\n");
    assert_non_null(summary);
    assert_non_null(line12);
    assert_true(summary < line12);
    assert_int_equal(count(out, "event=chatty "), 2 * LOG_RATE_BURST);
    assert_null(strstr(out, "event=chatty i=22"));
    assert_int_equal(hook_calls, 2);
}

static void emit_errors_and_debug(void)
{
    log_setup(LOG_LVL_DEBUG, LOG_TARGET_STDERR, "test");
    for (int i = 0; i < 3 * LOG_RATE_BURST; i++) {
        log_error("fatalish", "i=%d", i);
        log_debug("trace", "i=%d", i);
    }
}

static void test_rate_limit_spares_errors_and_debug(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_errors_and_debug);
    assert_int_equal(count(out, "event=fatalish "), 3 * LOG_RATE_BURST);
    assert_int_equal(count(out, "event=trace "), 3 * LOG_RATE_BURST);
    assert_int_equal(hook_calls, 0);
}

static void emit_mixed_then_exit(void)
{
    for (int i = 0; i < LOG_RATE_BURST + 1; i++)
        log_info("mixed", "i=%d", i);
    log_warn("mixed", "severe=1");
    log_info("hidden_by_level", NULL); /* not counted below */
    log_flush_all();                   /* at exit: window not over yet */
}

static void test_rate_limit_flush_all_and_worst_level(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_mixed_then_exit);
    assert_non_null(strstr(out, "level=warn event=log_suppressed name=mixed count=2 "));
    assert_null(strstr(out, "severe=1"));
    assert_int_equal(log_flush_suppressed(), -1);
}

static void emit_many_names(void)
{
    char name[32];

    /* more names than the table holds (64): the extra ones go untracked */
    for (int n = 0; n < 80; n++) {
        snprintf(name, sizeof(name), "name_%d", n);
        log_info(name, "i=0");
    }
    for (int i = 1; i <= LOG_RATE_BURST; i++) {
        log_info("name_0", "i=%d", i);
        log_info("name_79", "i=%d", i);
    }
}

static void test_rate_limit_table_full_fails_open(void **state)
{
    char *out;

    (void)state;
    out = capture_stderr(emit_many_names);
    /* a tracked name loses its 11th line; an untracked one keeps it */
    assert_non_null(strstr(out, "event=name_0 i=9\n"));
    assert_null(strstr(out, "event=name_0 i=10\n"));
    assert_non_null(strstr(out, "event=name_79 i=10\n"));
    assert_int_equal(hook_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_removes_credentials),
        cmocka_unit_test(test_redact_truncates_safely),
        cmocka_unit_test(test_log_sip_is_one_redacted_line),
        cmocka_unit_test(test_levels_and_escaping),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test_setup_teardown(test_rate_limit_burst_then_summary, rate_setup,
                                        rate_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_next_line_rolls_window, rate_setup,
                                        rate_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_spares_errors_and_debug, rate_setup,
                                        rate_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_flush_all_and_worst_level, rate_setup,
                                        rate_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_table_full_fails_open, rate_setup,
                                        rate_teardown),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
