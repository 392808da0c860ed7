/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slice.h - a pointer/length view into a buffer owned by someone else.
 *
 * Parsers in sipkeep never copy: every field they return is a slice into the
 * caller's receive buffer, valid for as long as that buffer is.  A slice with
 * p == NULL means "absent"; a present but empty field has p != NULL, n == 0.
 */
#ifndef SIPKEEP_CORE_SLICE_H
#define SIPKEEP_CORE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slice {
    const char *p;
    size_t n;
};

#define SLICE_NULL ((struct slice){ NULL, 0 })
/* A slice over a string literal, without its terminating NUL. */
#define SLICE_LIT(s) ((struct slice){ (s), sizeof(s) - 1 })

/* A slice over a NUL-terminated string (NULL gives SLICE_NULL). */
struct slice slice_cstr(const char *s);

static inline bool slice_present(struct slice s) { return s.p != NULL; }

/* Byte-exact comparison. */
bool slice_eq(struct slice a, struct slice b);
/* ASCII case-insensitive comparison (SIP header names, tokens, schemes). */
bool slice_eq_ci(struct slice a, struct slice b);
/* Case-insensitive comparison against a NUL-terminated string. */
bool slice_eq_ci_str(struct slice a, const char *s);

/* Strips leading and trailing SP/HTAB/CR/LF. */
struct slice slice_trim(struct slice s);

/* Parses an unsigned decimal of 1..19 digits that fills the whole slice.
 * Returns 0 and sets *out, or -EINVAL (not all digits, empty) / -ERANGE. */
int slice_to_u64(struct slice s, uint64_t *out);

/* Copies s into dst (size dstsz, >= 1) NUL-terminated.  Returns 0, or
 * -ENOSPC when it does not fit (dst then holds an empty string). */
int slice_copy_cstr(struct slice s, char *dst, size_t dstsz);

/* A new NUL-terminated copy of s's n bytes (the caller frees it; an absent
 * slice gives ""), or NULL when out of memory. */
char *slice_strdup(struct slice s);

#endif
