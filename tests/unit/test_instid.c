/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the instance-id store (RFC 5626 §4.1): URN syntax, ids
 * stable across lookups and restarts, no write for known UAs, appends for
 * new ones, all-or-nothing persistence (a failed append is cut back), atomic
 * rewrites when the file is created or repaired, tolerant loading of
 * damaged files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/instid.h"
#include "state/instid_int.h"

#include "tmpfiles.h"

/* ---- helpers ---- */

struct fixture {
    char root[64];  /* mkdtemp() directory, removed afterwards */
    char dir[128];  /* state_dir: root/state, created by the store */
    char file[160]; /* dir/instance-ids */
    char tmp[168];  /* dir/instance-ids.tmp */
};

static int fx_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    snprintf(fx->root, sizeof(fx->root), "/tmp/test_instid-XXXXXX");
    if (!mkdtemp(fx->root)) {
        free(fx);
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "%s/state", fx->root);
    snprintf(fx->file, sizeof(fx->file), "%s/instance-ids", fx->dir);
    snprintf(fx->tmp, sizeof(fx->tmp), "%s/instance-ids.tmp", fx->dir);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;

    tmpfiles_rm_tree(fx->root);
    free(fx);
    return 0;
}

static void make_state_dir(const struct fixture *fx)
{
    assert_int_equal(mkdir(fx->dir, 0700), 0);
}

/* RFC 4122 v4 URN exactly as we mint it: lowercase hex, version nibble 4,
 * variant 8/9/a/b. */
static bool is_v4_urn(const char *u)
{
    if (strlen(u) != INSTID_URN_LEN || strncmp(u, "urn:uuid:", 9) != 0)
        return false;
    for (size_t i = 9; i < INSTID_URN_LEN; i++) {
        size_t pos = i - 9;
        bool dash = pos == 8 || pos == 13 || pos == 18 || pos == 23;
        if (dash ? u[i] != '-' : !strchr("0123456789abcdef", u[i]))
            return false;
    }
    return u[9 + 14] == '4' && strchr("89ab", u[9 + 19]) != NULL;
}

static struct instid_store *open_ok(const char *dir)
{
    struct instid_store *s = NULL;

    assert_int_equal(instid_store_open(&s, dir), 0);
    assert_non_null(s);
    return s;
}

static const char *get_ok(struct instid_store *s, const char *key, bool want_created)
{
    const char *urn = NULL;
    bool created = !want_created;

    assert_int_equal(instid_get(s, slice_cstr(key), &urn, &created), 0);
    assert_non_null(urn);
    assert_int_equal(created, want_created);
    return urn;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_size == b->st_size;
}

/* Deterministic, syntactically valid v4 URN for generated files. */
static void fake_urn(char out[INSTID_URN_LEN + 1], unsigned i)
{
    snprintf(out, INSTID_URN_LEN + 1, "urn:uuid:%08x-0000-4000-8000-%012x", i, i);
}

/* Writes a file of n entries "fake_urn(i) ua-i", returns its bytes. */
static void write_generated(const char *path, unsigned n)
{
    FILE *f = fopen(path, "w");
    char urn[INSTID_URN_LEN + 1];

    assert_non_null(f);
    fputs("# generated\n", f);
    for (unsigned i = 0; i < n; i++) {
        fake_urn(urn, i);
        fprintf(f, "%s sip:ua%u@example.net|10.0.0.%u\n", urn, i, i % 250);
    }
    assert_int_equal(fclose(f), 0);
}

/* ---- tests ---- */

static void test_new_key_creates_v4_urn(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir); /* creates the missing dir */
    struct stat st;
    char line[256];

    const char *urn = get_ok(s, "sip:alice@example.net|192.168.1.10", true);
    assert_true(is_v4_urn(urn));
    assert_int_equal(instid_count(s), 1);

    assert_int_equal(stat(fx->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(fx->file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(access(fx->tmp, F_OK), -1); /* renamed away, not left over */

    char *text = slurp(fx->file, NULL);
    assert_int_equal(text[0], '#');
    snprintf(line, sizeof(line), "\n%s sip:alice@example.net|192.168.1.10\n",
             urn);
    assert_non_null(strstr(text, line));
    free(text);
    instid_store_free(s);
}

static void test_known_key_no_write(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir);
    struct stat before, after;

    const char *first = get_ok(s, "ua-1", true);
    char *text = slurp(fx->file, NULL);
    assert_int_equal(stat(fx->file, &before), 0);
    for (int i = 0; i < 100; i++) {
        const char *again = get_ok(s, "ua-1", false);
        assert_ptr_equal(again, first);
    }
    /* Same inode and mtime: no tmp file was renamed over it, nothing written. */
    assert_int_equal(stat(fx->file, &after), 0);
    assert_true(same_stat(&before, &after));
    char *text2 = slurp(fx->file, NULL);
    assert_string_equal(text, text2);

    /* Control: a new UA appends its line to the same file (same inode). */
    const char *second = get_ok(s, "ua-2", true);
    assert_int_equal(stat(fx->file, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    char *text3 = slurp(fx->file, NULL);
    char want[512];
    assert_true((size_t)snprintf(want, sizeof(want), "%s%s ua-2\n", text, second) < sizeof(want));
    assert_string_equal(text3, want);
    free(text3);
    free(text);
    free(text2);
    instid_store_free(s);
}

static void test_distinct_keys_distinct_ids(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir);
    const char *urns[64];
    char key[32];

    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof(key), "sip:u%d@h", i);
        urns[i] = get_ok(s, key, true);
        assert_true(is_v4_urn(urns[i]));
    }
    assert_int_equal(instid_count(s), 64);
    for (int i = 0; i < 64; i++) {
        for (int j = i + 1; j < 64; j++)
            assert_string_not_equal(urns[i], urns[j]);
        snprintf(key, sizeof(key), "sip:u%d@h", i);
        assert_ptr_equal(get_ok(s, key, false), urns[i]);
    }
    instid_store_free(s);
}

static void test_restart_gives_same_ids(void **state)
{
    struct fixture *fx = *state;
    static const char *const keys[] = { "sip:a@x|10.0.0.2", "sip:b@x", "k" };
    char saved[3][INSTID_URN_LEN + 1];
    struct stat before, after;
    struct instid_store *s = open_ok(fx->dir);

    for (int i = 0; i < 3; i++)
        snprintf(saved[i], sizeof(saved[i]), "%s", get_ok(s, keys[i], true));
    instid_store_free(s);
    assert_int_equal(stat(fx->file, &before), 0);

    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(get_ok(s, keys[i], false), saved[i]);
    instid_store_free(s);
    /* Opening and looking up wrote nothing. */
    assert_int_equal(stat(fx->file, &after), 0);
    assert_true(same_stat(&before, &after));
}

/* Runs instid_store_open with stderr captured; returns the log text. */
static char *open_capturing(const char *dir, struct instid_store **s)
{
    char path[] = "/tmp/test_instid-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    int rc = instid_store_open(s, dir);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    assert_int_equal(rc, 0);
    char *log = slurp(path, NULL);
    unlink(path);
    return log;
}

static void test_corrupt_lines_skipped(void **state)
{
    struct fixture *fx = *state;
    char longkey[INSTID_KEY_MAX + 2], longline[INSTID_LINE_MAX + 64], buf[8192];
    char want[256];
    struct instid_store *s;
    int n;

    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0'; /* 401 bytes: a bad key */
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    memcpy(longline, "urn:uuid:00000000-0000-4000-8000-0000000000ff ", 46);
    n = snprintf(buf, sizeof(buf),
        "# comment\n"                                                  /* 1 */
        "\n"                                                           /* 2 */
        "urn:uuid:11111111-1111-4111-8111-111111111111 good-1\n"       /* 3 */
        "urn:uuid:2222222-21111-4111-8111-111111111111 bad-dashes\n"   /* 4 */
        "urn:uuid:g1111111-1111-4111-8111-111111111111 bad-hex\n"      /* 5 */
        "uuid:11111111-1111-4111-8111-111111111112 no-prefix\n"        /* 6 */
        "urn:uuid:33333333-3333-4333-8333-333333333333\n"              /* 7 no key */
        "urn:uuid:44444444-4444-4444-8444-444444444444 %s\n"           /* 8 key>400 */
        "%s\n"                                                         /* 9 line>512 */
        "urn:uuid:55555555-5555-4555-8555-555555555555 good-1\n"       /* 10 dup key */
        "urn:uuid:11111111-1111-4111-8111-111111111111 other\n"        /* 11 dup urn */
        "urn:uuid:AAAAAAAA-1111-4111-8111-11111111111A Good-Upper\r\n" /* 12 kept as is */
        "urn:uuid:66666666-6666-4666-8666-666666666666 bad\001key\n"   /* 13 control */
        "urn:uuid:77777777-7777-4777-8777-777777777777 nul",           /* 14 + NUL */
        longkey, longline);
    assert_true(n > 0 && (size_t)n < sizeof(buf) - 32);
    static const char tail[] = "\0x\nurn:uuid:88888888-8888-4888-8888-888888888888 last";
    memcpy(buf + n, tail, sizeof(tail) - 1);
    n += (int)sizeof(tail) - 1; /* line 15: valid, no final newline */
    make_state_dir(fx);
    spit(fx->file, buf, (size_t)n);

    char *log = open_capturing(fx->dir, &s);
    assert_int_equal(instid_count(s), 3);
    assert_string_equal(get_ok(s, "good-1", false),
                        "urn:uuid:11111111-1111-4111-8111-111111111111");
    assert_string_equal(get_ok(s, "Good-Upper", false),
                        "urn:uuid:AAAAAAAA-1111-4111-8111-11111111111A");
    assert_string_equal(get_ok(s, "last", false),
                        "urn:uuid:88888888-8888-4888-8888-888888888888");
    /* Warnings name file:line and why (the first ten are itemised). */
    snprintf(want, sizeof(want), "at=%s:4 reason=bad_urn", fx->file);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof(want), "at=%s:9 reason=line_too_long", fx->file);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof(want), "at=%s:10 reason=duplicate_key", fx->file);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof(want), "at=%s:11 reason=duplicate_urn", fx->file);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof(want), "at=%s:3 ", fx->file);
    assert_null(strstr(log, want));
    free(log);

    /* The keys of skipped lines are new UAs; the rewrite keeps the good ones
     * byte for byte and drops the junk. */
    const char *fresh = get_ok(s, "other", true);
    assert_string_not_equal(fresh, "urn:uuid:11111111-1111-4111-8111-111111111111");
    char *text = slurp(fx->file, NULL);
    assert_non_null(strstr(text, "\nurn:uuid:AAAAAAAA-1111-4111-8111-11111111111A Good-Upper\n"));
    assert_null(strstr(text, "bad-hex"));
    instid_store_free(s);
    free(text);

    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 4);
    instid_store_free(s);
}

/* The file's first write is a rewrite (tmp + rename): when it fails, the
 * store stays empty and no file appears. */
static void test_rewrite_failure_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir);
    const char *urn = NULL;
    bool created = false;
    struct stat st;

    /* Tests run as root, where permissions do not stop writes: a directory
     * in the way of the tmp file makes the open fail instead. */
    assert_int_equal(mkdir(fx->tmp, 0700), 0);
    for (int i = 0; i < 2; i++) { /* a retry fails the same way: nothing cached */
        assert_int_equal(instid_get(s, SLICE_LIT("ua-1"), &urn, &created), -EISDIR);
        assert_int_equal(instid_count(s), 0);
    }
    assert_int_equal(stat(fx->file, &st), -1);
    assert_int_equal(rmdir(fx->tmp), 0);
    get_ok(s, "ua-1", true);
    instid_store_free(s);
    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 1);
    instid_store_free(s);
}

/* An append that runs out of room (RLIMIT_FSIZE: the write stops part-way
 * through the line, then fails with EFBIG) is cut back: the file is as
 * before, the next append after it is a whole line. */
static void test_persist_failure_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir);
    const char *urn = NULL;
    bool created = false;
    size_t len;
    struct rlimit old_lim, lim;
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);

    get_ok(s, "ua-1", true);
    char *before = slurp(fx->file, &len);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    lim = old_lim;
    lim.rlim_cur = len + 10; /* room for 10 bytes of the 50-byte line */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 0; i < 2; i++) { /* a retry fails the same way: nothing cached */
        assert_int_equal(instid_get(s, SLICE_LIT("ua-2"), &urn, &created), -EFBIG);
        assert_int_equal(instid_count(s), 1);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
    signal(SIGXFSZ, old_xfsz);
    char *after = slurp(fx->file, NULL);
    assert_string_equal(before, after);

    const char *u2 = get_ok(s, "ua-2", true);
    assert_int_equal(instid_count(s), 2);
    char saved[INSTID_URN_LEN + 1];
    snprintf(saved, sizeof(saved), "%s", u2);
    instid_store_free(s);

    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 2);
    assert_string_equal(get_ok(s, "ua-2", false), saved);
    instid_store_free(s);
    free(before);
    free(after);
}

/* A last line without '\n' is kept, and the next new UA rewrites the file
 * (a new inode) instead of appending to that line. */
static void test_unterminated_last_line(void **state)
{
    struct fixture *fx = *state;
    static const char text[] =
        "urn:uuid:11111111-1111-4111-8111-111111111111 one\n"
        "urn:uuid:22222222-2222-4222-8222-222222222222 two";
    struct stat before, after;

    make_state_dir(fx);
    spit(fx->file, text, sizeof(text) - 1);
    assert_int_equal(stat(fx->file, &before), 0);
    struct instid_store *s = open_ok(fx->dir);
    assert_string_equal(get_ok(s, "two", false), "urn:uuid:22222222-2222-4222-8222-222222222222");
    const char *three = get_ok(s, "three", true);
    assert_int_equal(stat(fx->file, &after), 0);
    assert_int_not_equal(before.st_ino, after.st_ino);
    char *got = slurp(fx->file, NULL);
    char want[64];
    assert_non_null(strstr(got, "-222222222222 two\n"));
    snprintf(want, sizeof(want), "\n%s three\n", three);
    assert_non_null(strstr(got, want));
    free(got);
    /* Then appends again: same inode. */
    get_ok(s, "four", true);
    assert_int_equal(stat(fx->file, &before), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    instid_store_free(s);
    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 4);
    instid_store_free(s);
}

static void test_invalid_keys_rejected(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = open_ok(fx->dir);
    static const char *const bad[] = { "", "a b", "a\tb", "a\nb", "a\rb", "a\001",
                                       "a\177", "caf\xc3\xa9" };
    char key[INSTID_KEY_MAX + 2];
    const char *urn = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(instid_get(s, slice_cstr(bad[i]), &urn, NULL), -EINVAL);
    assert_int_equal(instid_get(s, SLICE_NULL, &urn, NULL), -EINVAL);
    assert_int_equal(instid_get(s, (struct slice){ "a\0b", 3 }, &urn, NULL), -EINVAL);
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(instid_get(s, slice_cstr(key), &urn, NULL), -EINVAL); /* 401 */
    assert_null(urn);
    assert_int_equal(instid_count(s), 0);
    assert_int_equal(access(fx->file, F_OK), -1); /* nothing written */

    key[INSTID_KEY_MAX] = '\0'; /* exactly 400: fine */
    assert_int_equal(instid_get(s, slice_cstr(key), &urn, NULL), 0);
    assert_true(is_v4_urn(urn));
    instid_store_free(s);
    /* The longest key round-trips through the file. */
    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 1);
    instid_store_free(s);
}

static void test_missing_file_is_empty_store(void **state)
{
    struct fixture *fx = *state;

    make_state_dir(fx);
    struct instid_store *s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 0);
    instid_store_free(s);
    assert_int_equal(access(fx->file, F_OK), -1); /* no write without a new UA */
}

static void test_open_errors(void **state)
{
    struct fixture *fx = *state;
    struct instid_store *s = NULL;
    char path[256];

    assert_int_equal(instid_store_open(&s, NULL), -EINVAL);
    assert_int_equal(instid_store_open(&s, ""), -EINVAL);
    /* The parent of state_dir is a regular file. */
    snprintf(path, sizeof(path), "%s/plain", fx->root);
    spit(path, "x", 1);
    snprintf(path, sizeof(path), "%s/plain/state", fx->root);
    assert_int_equal(instid_store_open(&s, path), -ENOTDIR);
    /* state_dir itself is a regular file. */
    snprintf(path, sizeof(path), "%s/plain", fx->root);
    assert_int_equal(instid_store_open(&s, path), -ENOTDIR);
    /* instance-ids is a directory. */
    make_state_dir(fx);
    assert_int_equal(mkdir(fx->file, 0700), 0);
    assert_int_equal(instid_store_open(&s, fx->dir), -EISDIR);
    assert_int_equal(rmdir(fx->file), 0);
    /* Larger than any file we write (sparse, so cheap). */
    spit(fx->file, "", 0);
    assert_int_equal(truncate(fx->file, INSTID_FILE_MAX + 1), 0);
    assert_int_equal(instid_store_open(&s, fx->dir), -EFBIG);
    assert_null(s);
}

static void test_10000_uas_lookup_without_writes(void **state)
{
    struct fixture *fx = *state;
    char key[64], urn[INSTID_URN_LEN + 1];
    struct stat before, after;

    make_state_dir(fx);
    write_generated(fx->file, 10000);
    assert_int_equal(stat(fx->file, &before), 0);
    struct instid_store *s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 10000);

    /* 100,000 lookups of known UAs: each finds its own id and none writes.
     * (Speed is for benchmarks, not tests.) */
    for (int round = 0; round < 10; round++) {
        for (unsigned i = 0; i < 10000; i++) {
            snprintf(key, sizeof(key), "sip:ua%u@example.net|10.0.0.%u", i, i % 250);
            const char *got = get_ok(s, key, false);
            if (round == 0) {
                fake_urn(urn, i);
                assert_string_equal(got, urn);
            }
        }
    }
    assert_int_equal(stat(fx->file, &after), 0);
    assert_true(same_stat(&before, &after));
    instid_store_free(s);
}

static void test_entry_limit(void **state)
{
    struct fixture *fx = *state;
    const char *urn = NULL;

    make_state_dir(fx);
    write_generated(fx->file, INSTID_MAX_ENTRIES + 1);
    struct instid_store *s = NULL;
    char *log = open_capturing(fx->dir, &s);
    assert_non_null(strstr(log, "reason=too_many_entries"));
    free(log);
    assert_int_equal(instid_count(s), INSTID_MAX_ENTRIES);
    get_ok(s, "sip:ua0@example.net|10.0.0.0", false);
    assert_int_equal(instid_get(s, SLICE_LIT("new-ua"), &urn, NULL), -ENOSPC);
    assert_int_equal(instid_count(s), INSTID_MAX_ENTRIES);
    instid_store_free(s);
}

/* Issue 11: a file from before the "aor|host" key.  The phone at
 * 192.168.1.10 got a line per Contact it used (a reboot onto a new port, a
 * new rinstance): the new key keeps the LAST line's id, the file is
 * rewritten once with one line per phone and other keys kept, and a second
 * open writes nothing. */
static void test_migrate_old_keys(void **state)
{
    struct fixture *fx = *state;
    static const char text[] =
        "# old\n"
        "urn:uuid:00000001-0000-4000-8000-000000000001 "
        "sip:alice@example.net|sip:alice@192.168.1.10:5060\n"
        "urn:uuid:00000002-0000-4000-8000-000000000002 "
        "sip:bob@example.net|sips:bob@[2001:DB8::5]:5061;transport=tcp\n"
        "urn:uuid:00000003-0000-4000-8000-000000000003 "
        "sip:alice@example.net|sip:alice@192.168.1.10:5062;rinstance=77ab;transport=udp\n"
        "urn:uuid:00000004-0000-4000-8000-000000000004 opaque-key\n";
    struct stat before, after;
    struct instid_store *s;
    char *got;

    make_state_dir(fx);
    spit(fx->file, text, sizeof(text) - 1);
    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 3);
    assert_string_equal(get_ok(s, "sip:alice@example.net|192.168.1.10", false),
                        "urn:uuid:00000003-0000-4000-8000-000000000003");
    assert_string_equal(get_ok(s, "sip:bob@example.net|[2001:db8::5]", false),
                        "urn:uuid:00000002-0000-4000-8000-000000000002");
    assert_string_equal(get_ok(s, "opaque-key", false),
                        "urn:uuid:00000004-0000-4000-8000-000000000004");
    instid_store_free(s);

    got = slurp(fx->file, NULL);
    assert_null(strstr(got, "|sip:"));
    assert_null(strstr(got, "00000001-0000"));
    assert_non_null(strstr(got, "\nurn:uuid:00000003-0000-4000-8000-000000000003 "
                                "sip:alice@example.net|192.168.1.10\n"));
    assert_non_null(strstr(got, "\nurn:uuid:00000002-0000-4000-8000-000000000002 "
                                "sip:bob@example.net|[2001:db8::5]\n"));
    assert_non_null(strstr(got, "\nurn:uuid:00000004-0000-4000-8000-000000000004 opaque-key\n"));
    free(got);
    assert_int_equal(access(fx->tmp, F_OK), -1);

    /* Migrated once: the next open finds nothing to do and writes nothing. */
    assert_int_equal(stat(fx->file, &before), 0);
    s = open_ok(fx->dir);
    assert_int_equal(instid_count(s), 3);
    assert_string_equal(get_ok(s, "sip:alice@example.net|192.168.1.10", false),
                        "urn:uuid:00000003-0000-4000-8000-000000000003");
    instid_store_free(s);
    assert_int_equal(stat(fx->file, &after), 0);
    assert_true(same_stat(&before, &after));
}

/* The key the registration agent uses: AOR, '|', lowercase host. */
static void test_ua_key(void **state)
{
    char out[INSTID_KEY_MAX + 1];
    size_t n = 0;

    (void)state;
    assert_int_equal(instid_ua_key(SLICE_LIT("sip:a@x"),
                                   SLICE_LIT("sip:a@Phone.LAN:5070;rinstance=1"), out,
                                   sizeof(out), &n), 0);
    assert_string_equal(out, "sip:a@x|phone.lan");
    assert_int_equal(n, strlen(out));
    assert_int_equal(instid_ua_key(SLICE_LIT("sip:a@x"), SLICE_LIT("tel:+123"), out,
                                   sizeof(out), &n), -EINVAL);
    assert_int_equal(instid_ua_key(SLICE_LIT("sip:a@x"), SLICE_LIT("sip:a@h"), out, 8, &n),
                     -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_new_key_creates_v4_urn),
        T(test_known_key_no_write),
        T(test_distinct_keys_distinct_ids),
        T(test_restart_gives_same_ids),
        T(test_corrupt_lines_skipped),
        T(test_rewrite_failure_leaves_nothing),
        T(test_persist_failure_leaves_nothing),
        T(test_unterminated_last_line),
        T(test_invalid_keys_rejected),
        T(test_missing_file_is_empty_store),
        T(test_open_errors),
        T(test_10000_uas_lookup_without_writes),
        T(test_entry_limit),
        T(test_migrate_old_keys),
        T(test_ua_key),
#undef T
    };

    return cmocka_run_group_tests_name("instid", tests, NULL, NULL);
}
