/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tmpfiles.h - file helpers for unit tests of the state_dir stores: read a
 * whole file, write one, remove a temporary tree.  Included by one test
 * file each (static functions); needs cmocka.h included first. */
#ifndef SIPKEEP_TESTS_TMPFILES_H
#define SIPKEEP_TESTS_TMPFILES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL if absent,
 * *len then 0: gcc cannot tell that cmocka's asserts do not return). */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (len)
        *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Writes len bytes of data as the whole file at path. */
static inline void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline int tmpfiles_rm_one(const char *path, const struct stat *st, int flag,
                                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it (best effort). */
static inline void tmpfiles_rm_tree(const char *dir)
{
    nftw(dir, tmpfiles_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
