/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slice.c - pointer/length views; see slice.h. */
#include "core/slice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool is_trim_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct slice slice_cstr(const char *s)
{
    if (!s)
        return SLICE_NULL;
    return (struct slice){ s, strlen(s) };
}

bool slice_eq(struct slice a, struct slice b)
{
    if (a.n != b.n)
        return false;
    return a.n == 0 || memcmp(a.p, b.p, a.n) == 0;
}

bool slice_eq_ci(struct slice a, struct slice b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++) {
        if (lower_ascii(a.p[i]) != lower_ascii(b.p[i]))
            return false;
    }
    return true;
}

bool slice_eq_ci_str(struct slice a, const char *s)
{
    return slice_eq_ci(a, slice_cstr(s));
}

struct slice slice_trim(struct slice s)
{
    if (!s.p)
        return s;
    while (s.n > 0 && is_trim_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_trim_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

int slice_to_u64(struct slice s, uint64_t *out)
{
    uint64_t v = 0;

    if (!s.p || s.n == 0)
        return -EINVAL;
    if (s.n > 19)
        return -ERANGE;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    *out = v;
    return 0;
}

int slice_copy_cstr(struct slice s, char *dst, size_t dstsz)
{
    if (dstsz == 0)
        return -ENOSPC;
    if (s.n >= dstsz) {
        dst[0] = '\0';
        return -ENOSPC;
    }
    if (s.n)
        memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return 0;
}

char *slice_strdup(struct slice s)
{
    char *p = malloc(s.n + 1);

    if (p)
        slice_copy_cstr(s, p, s.n + 1);
    return p;
}
