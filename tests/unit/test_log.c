/* Unit tests for logging: credentials never reach the output, one event is
 * one line, and level filtering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

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

static void test_level_parse(void **state)
{
    enum log_level lv;

    (void)state;
    assert_int_equal(log_level_parse("debug", &lv), 0);
    assert_int_equal(lv, LOG_LVL_DEBUG);
    assert_int_equal(log_level_parse("warn", &lv), 0);
    assert_int_equal(lv, LOG_LVL_WARN);
    assert_int_not_equal(log_level_parse("verbose", &lv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_removes_credentials),
        cmocka_unit_test(test_redact_truncates_safely),
        cmocka_unit_test(test_log_sip_is_one_redacted_line),
        cmocka_unit_test(test_levels_and_escaping),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
