/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for statefile_read, the one bounded whole-file reader (the
 * configuration, instance-ids, stored registrations): sizes at and over the
 * bound for regular files and pipes, what each flag refuses, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/statefile.h"
#include "tmpfiles.h"

struct fx {
    char dir[64];
    char file[96];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sk_statefile_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->file, sizeof(f->file), "%s/f", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tmpfiles_rm_tree(f->dir);
    free(f);
    return 0;
}

static void test_read_regular(void **state)
{
    struct fx *f = *state;
    char *buf;
    size_t len;

    spit(f->file, "a\0b\n", 4);
    assert_int_equal(statefile_read(f->file, 100, STATEFILE_REGULAR | STATEFILE_NOFOLLOW, &buf,
                                    &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "a\0b\n", 5); /* NULs kept, one after the end */
    free(buf);
    spit(f->file, "", 0);
    assert_int_equal(statefile_read(f->file, 0, 0, &buf, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
}

static void test_bound_regular(void **state)
{
    struct fx *f = *state;
    size_t n = 10000, len = 1;
    char *data = malloc(n + 1), *buf = (char *)1;

    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    spit(f->file, data, n);
    /* Exactly max bytes: read (more than the first 4096-byte buffer). */
    assert_int_equal(statefile_read(f->file, n, 0, &buf, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(buf, data, n);
    assert_int_equal(buf[n], '\0');
    free(buf);
    /* One byte over: -EFBIG, nothing returned. */
    assert_int_equal(statefile_read(f->file, n - 1, 0, &buf, &len), -EFBIG);
    assert_null(buf);
    assert_int_equal(len, 0);
    free(data);
}

/* A pipe has no size up front: the bound is found while reading. */
static void test_bound_pipe(void **state)
{
    char path[64], *buf, chunk[3000];
    size_t len;
    int p[2];

    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    for (size_t max = 8999; max <= 9001; max++) {
        assert_int_equal(pipe(p), 0);
        for (int i = 0; i < 3; i++)
            assert_int_equal(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
        close(p[1]);
        snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
        int rc = statefile_read(path, max, 0, &buf, &len);
        if (max < 9000) {
            assert_int_equal(rc, -EFBIG);
            assert_null(buf);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(len, 9000);
            assert_int_equal(buf[9000], '\0');
            free(buf);
        }
        close(p[0]);
    }
    /* STATEFILE_REGULAR refuses it. */
    assert_int_equal(pipe(p), 0);
    snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
    assert_int_equal(statefile_read(path, 100, STATEFILE_REGULAR, &buf, &len), -EINVAL);
    assert_null(buf);
    close(p[0]);
    close(p[1]);
}

static void test_refused(void **state)
{
    struct fx *f = *state;
    char link[128], *buf;
    size_t len;

    assert_int_equal(statefile_read(f->file, 100, 0, &buf, &len), -ENOENT);
    assert_null(buf);
    assert_int_equal(statefile_read(f->dir, 100, 0, &buf, &len), -EISDIR);
    spit(f->file, "x", 1);
    snprintf(link, sizeof(link), "%s/link", f->dir);
    assert_int_equal(symlink(f->file, link), 0);
    assert_int_equal(statefile_read(link, 100, STATEFILE_NOFOLLOW, &buf, &len), -ELOOP);
    assert_int_equal(statefile_read(link, 100, 0, &buf, &len), 0);
    assert_string_equal(buf, "x");
    free(buf);
    /* Larger than max (sparse): refused from its size, before reading. */
    assert_int_equal(truncate(f->file, 64L * 1024 * 1024 + 1), 0);
    assert_int_equal(statefile_read(f->file, 64L * 1024 * 1024, 0, &buf, &len), -EFBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_regular, setup, teardown),
        cmocka_unit_test(test_bound_pipe),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("statefile", tests, NULL, NULL);
}
