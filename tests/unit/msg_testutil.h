/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg_testutil.h - helpers shared by test_msg.c and test_msg_edit.c. */
#ifndef SIPKEEP_TESTS_MSG_TESTUTIL_H
#define SIPKEEP_TESTS_MSG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus_msg.h"
#include "sip/msg.h"

/* A heap copy of exactly n bytes, so ASan flags any read past the end. */
static inline char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

static inline struct sipmsg *new_msg(void)
{
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    memset(m, 0x5a, sizeof(*m));   /* parse must not rely on zeroed memory */
    return m;
}

/* Parses a string literal copied to an exact-size heap buffer; the buffer
 * is returned in *bufp and must be freed by the caller. */
static inline int parse_str(struct sipmsg *m, const char *s, size_t n, unsigned flags,
                     char **bufp)
{
    *bufp = exact_copy(s, n);
    return sipmsg_parse(m, *bufp, n, flags);
}

#define PARSE_LIT(m, lit, flags, bufp) parse_str((m), (lit), sizeof(lit) - 1, (flags), (bufp))

static inline bool slice_is(struct slice s, const char *lit, size_t n)
{
    return s.p && s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

#define SLICE_IS(s, lit) slice_is((s), (lit), sizeof(lit) - 1)
#define ASSERT_SLICE(s, lit) assert_true(SLICE_IS((s), lit))

static inline const struct corpus_msg *corpus_get(const char *name)
{
    for (size_t i = 0; i < CORPUS_N; i++) {
        if (strcmp(corpus_msgs[i].name, name) == 0)
            return &corpus_msgs[i];
    }
    fail_msg("no corpus entry %s", name);
    return NULL;
}

/* Parses corpus entry name (must be valid) into m; returns the buffer. */
static inline char *parse_corpus(struct sipmsg *m, const char *name)
{
    const struct corpus_msg *c = corpus_get(name);
    char *buf;

    assert_int_equal(parse_str(m, c->text, c->len, c->flags, &buf), 0);
    return buf;
}

/* Serialises m with ed into a fresh buffer; returns it NUL-terminated. */
static inline char *serialize_alloc(const struct sipmsg *m, const struct sipmsg_edits *ed,
                             size_t *outlen)
{
    size_t cap = 65536;
    char *out = malloc(cap + 1);

    assert_non_null(out);
    assert_int_equal(sipmsg_serialize(m, ed, out, cap, outlen), 0);
    out[*outlen] = '\0';
    return out;
}

#endif
