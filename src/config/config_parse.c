/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_parse.c - libyaml events -> struct cfg, driven by the schema tables
 * of config_validate.c.
 *
 * The event API is used (not the document API) so that nothing is built
 * for input the schema does not allow: a node of the wrong type is an error
 * the moment it starts, so the frame stack never grows deeper than the
 * schema (root > services > a service > tls) whatever the input's nesting.
 * The first problem stops the load; the partial cfg is freed.
 */
#include "config/config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 8 /* the schema needs 4 */
#define PATHSZ 192
#define WHYSZ 512
#define QSZ 256

struct pos {
    size_t line, col; /* 1-based */
};

/* One open mapping or sequence. */
struct frame {
    enum cfg_vtype type;             /* CFG_T_MAP or CFG_T_SEQ */
    const struct cfg_key *key;       /* seq: its key */
    const struct cfg_schema *schema; /* map */
    char *base;                      /* map: the struct filled; seq: the struct
                                        holding the array and its count */
    const struct cfg_key *cur;       /* map: key whose value comes next */
    uint32_t seen;                   /* map: keys seen, by table index */
    struct pos seen_at[CFG_MAX_KEYS];
    struct pos start;
    size_t cap;                      /* seq: entries allocated */
};

struct ctx {
    const char *name;
    const char *data;
    size_t len;
    char *err;
    size_t errsz;
    struct cfg *cfg;
    struct frame fr[MAX_DEPTH];
    size_t depth;
    unsigned docs;
    bool root_done;
};

static struct pos pos_of(yaml_mark_t m)
{
    return (struct pos){ m.line + 1, m.column + 1 };
}

__attribute__((format(printf, 3, 4)))
static int fail_at(struct ctx *c, struct pos at, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->errsz == 0)
        return -EINVAL;
    n = snprintf(c->err, c->errsz, "%s:%zu:%zu: ", c->name, at.line, at.col);
    if (n >= 0 && (size_t)n < c->errsz) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int no_memory(struct ctx *c)
{
    if (c->errsz)
        snprintf(c->err, c->errsz, "%s: out of memory", c->name);
    return -ENOMEM;
}

static struct slice scalar_of(const yaml_event_t *ev)
{
    return (struct slice){ (const char *)ev->data.scalar.value, ev->data.scalar.length };
}

/* ---- sequences as (pointer, count) fields ------------------------------ */

static size_t *seq_count(const struct cfg_key *k, char *base)
{
    return (size_t *)(void *)(base + k->off_n);
}

static char *seq_array(const struct cfg_key *k, const char *base)
{
    char *arr;

    memcpy(&arr, base + k->off, sizeof(arr));
    return arr;
}

/* Adds a zeroed entry; *cap tracks the allocation.  NULL when out of memory. */
static void *seq_append(const struct cfg_key *k, char *base, size_t *cap)
{
    size_t *n = seq_count(k, base);
    char *arr = seq_array(k, base);

    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 2;
        char *na = realloc(arr, ncap * k->elem_size);

        if (!na)
            return NULL;
        arr = na;
        *cap = ncap;
        memcpy(base + k->off, &arr, sizeof(arr));
    }
    memset(arr + *n * k->elem_size, 0, k->elem_size);
    return arr + (*n)++ * k->elem_size;
}

/* ---- paths: "services[1].tls.verify" ------------------------------------ */

__attribute__((format(printf, 4, 5)))
static void path_add(char *buf, size_t sz, size_t *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*o >= sz)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *o, sz - *o, fmt, ap);
    va_end(ap);
    *o += n > 0 ? (size_t)n : 0;
}

/* The path of the node being parsed as seen by frames [0, upto). */
static const char *path(const struct ctx *c, size_t upto, char *buf, size_t sz)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < upto; i++) {
        const struct frame *f = &c->fr[i];

        if (f->type == CFG_T_SEQ && *seq_count(f->key, f->base) > 0)
            path_add(buf, sz, &o, "[%zu]", *seq_count(f->key, f->base) - 1);
        else if (f->type == CFG_T_MAP && f->cur)
            path_add(buf, sz, &o, "%s%s", o ? "." : "", f->cur->name);
    }
    return buf;
}

/* A plain empty or null scalar: what `key:` with nothing after it gives. */
static bool is_empty_scalar(const yaml_event_t *ev)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

    if (ev->type != YAML_SCALAR_EVENT || !ev->data.scalar.plain_implicit)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (slice_eq(scalar_of(ev), slice_cstr(nulls[i])))
            return true;
    }
    return false;
}

static const char *type_name(const yaml_event_t *ev)
{
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return "a sequence";
    if (ev->type == YAML_MAPPING_START_EVENT)
        return "a mapping";
    return is_empty_scalar(ev) ? "an empty value" : "a scalar";
}

static enum cfg_vtype type_of(const yaml_event_t *ev)
{
    return ev->type == YAML_SCALAR_EVENT           ? CFG_T_SCALAR
           : ev->type == YAML_SEQUENCE_START_EVENT ? CFG_T_SEQ
                                                   : CFG_T_MAP;
}

/* Checks that the node starting with ev has type want. */
static int expect_type(struct ctx *c, const yaml_event_t *ev, enum cfg_vtype want)
{
    static const char *const names[] = { "a scalar", "a sequence", "a mapping" };
    char p[PATHSZ];

    if (type_of(ev) == want)
        return 0;
    return fail_at(c, pos_of(ev->start_mark), "%s must be %s, not %s",
                   path(c, c->depth, p, sizeof(p)), names[want], type_name(ev));
}

/* ---- frames -------------------------------------------------------------- */

static int push(struct ctx *c, enum cfg_vtype type, const struct cfg_key *k,
                char *base, const yaml_event_t *ev)
{
    struct frame *f;

    if (c->depth == MAX_DEPTH)
        return fail_at(c, pos_of(ev->start_mark), "nested too deeply");
    f = &c->fr[c->depth++];
    memset(f, 0, sizeof(*f));
    f->type = type;
    f->key = k;
    f->schema = type == CFG_T_MAP ? (k ? k->map : &cfg_schema_root) : NULL;
    f->base = base;
    f->start = pos_of(ev->start_mark);
    return 0;
}

static void pop(struct ctx *c)
{
    if (--c->depth == 0)
        c->root_done = true;
    else if (c->fr[c->depth - 1].type == CFG_T_MAP)
        c->fr[c->depth - 1].cur = NULL;
}

/* Parses one scalar into dst with k's value parser. */
static int set_scalar(struct ctx *c, const struct cfg_key *k,
                      const yaml_event_t *ev, void *dst)
{
    struct slice v = scalar_of(ev);
    char p[PATHSZ], why[WHYSZ];
    int rc;

    path(c, c->depth, p, sizeof(p));
    if (memchr(v.p, '\0', v.n))
        return fail_at(c, pos_of(ev->start_mark), "%s must not contain NUL bytes", p);
    rc = k->parse(k, v, dst, why, sizeof(why));
    if (rc == -EINVAL)
        return fail_at(c, pos_of(ev->start_mark), "%s %s", p, why);
    return rc;
}

/* CFG_K_AT: "NAME:LINE:COL" of the value just parsed. */
static int set_at(struct ctx *c, const yaml_event_t *ev, char **at)
{
    struct pos p = pos_of(ev->start_mark);
    int n = snprintf(NULL, 0, "%s:%zu:%zu", c->name, p.line, p.col);

    free(*at);
    *at = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!*at)
        return no_memory(c);
    snprintf(*at, (size_t)n + 1, "%s:%zu:%zu", c->name, p.line, p.col);
    return 0;
}

/* CFG_K_UNIQUE: compares with the same field of the earlier entries of the
 * sequence that holds the current mapping. */
static int check_unique(struct ctx *c, const struct cfg_key *k,
                        const yaml_event_t *ev)
{
    const struct frame *m, *s;
    const char *mine;
    char p[PATHSZ], sp[PATHSZ], q[QSZ];

    if (c->depth < 2 || c->fr[c->depth - 2].type != CFG_T_SEQ)
        return 0;
    m = &c->fr[c->depth - 1];
    s = &c->fr[c->depth - 2];
    mine = *(char **)(void *)(m->base + k->off);
    for (size_t i = 0; i + 1 < *seq_count(s->key, s->base); i++) {
        const char *e = seq_array(s->key, s->base) + i * s->key->elem_size;
        const char *other = *(char *const *)(const void *)(e + k->off);

        if (other && slice_eq_ci(slice_cstr(mine), slice_cstr(other)))
            return fail_at(c, pos_of(ev->start_mark), "%s '%s' is already used by %s[%zu]",
                           path(c, c->depth, p, sizeof(p)),
                           cfg_quote(slice_cstr(mine), q, sizeof(q)),
                           path(c, c->depth - 2, sp, sizeof(sp)), i);
    }
    return 0;
}

/* ---- defaults and required keys ----------------------------------------- */

static int missing(struct ctx *c, struct pos at, const char *prefix,
                   const struct cfg_key *k)
{
    return fail_at(c, at, "missing required key '%s%s%s'%s%s%s", prefix,
                   *prefix ? "." : "", k->name, k->hint ? " (" : "",
                   k->hint ? k->hint : "", k->hint ? ")" : "");
}

/* Parses a default from the table: a bad one is a bug, reported as such. */
static int parse_default(struct ctx *c, struct pos at, const struct cfg_key *k,
                         void *dst)
{
    char why[WHYSZ];
    int rc = k->parse(k, slice_cstr(k->def), dst, why, sizeof(why));

    if (rc == -EINVAL)
        return fail_at(c, at, "internal error: default of %s %s", k->name, why);
    return rc;
}

static int fill_defaults(struct ctx *c, struct pos at, const char *prefix,
                         const struct cfg_schema *s, char *base, uint32_t seen);

static int apply_default(struct ctx *c, struct pos at, const char *prefix,
                         const struct cfg_key *k, char *base)
{
    char sub[PATHSZ];
    size_t cap = 0;
    void *slot;

    switch (k->type) {
    case CFG_T_SCALAR:
        return k->def ? parse_default(c, at, k, base + k->off) : 0;
    case CFG_T_SEQ:
        if (!k->def)
            return 0;
        slot = seq_append(k, base, &cap);
        return slot ? parse_default(c, at, k, slot) : no_memory(c);
    case CFG_T_MAP:
        snprintf(sub, sizeof(sub), "%s%s%s", prefix, *prefix ? "." : "", k->name);
        return fill_defaults(c, at, sub, k->map, base + k->off, 0);
    }
    return 0;
}

/* Gives every key not in seen its default, or fails on a required one.
 * Recurses over the schema (bounded by its depth), never over the input. */
static int fill_defaults(struct ctx *c, struct pos at, const char *prefix,
                         const struct cfg_schema *s, char *base, uint32_t seen)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct cfg_key *k = &s->keys[i];
        int rc;

        if (seen & (1u << i))
            continue;
        if (k->flags & CFG_K_REQUIRED)
            return missing(c, at, prefix, k);
        if ((rc = apply_default(c, at, prefix, k, base)) != 0)
            return rc;
    }
    return 0;
}

/* ---- node events ------------------------------------------------------------ */

static int on_root(struct ctx *c, const yaml_event_t *ev)
{
    if (ev->type == YAML_MAPPING_START_EVENT)
        return push(c, CFG_T_MAP, NULL, (char *)c->cfg, ev);
    if (is_empty_scalar(ev))
        return fail_at(c, pos_of(ev->start_mark), "the configuration is empty");
    return fail_at(c, pos_of(ev->start_mark),
                   "the configuration must be a mapping of keys, not %s", type_name(ev));
}

static int unknown_key(struct ctx *c, const struct frame *f, struct slice name,
                       const yaml_event_t *ev)
{
    char p[PATHSZ], q[QSZ], list[256];
    size_t o = 0;

    list[0] = '\0';
    for (size_t i = 0; i < f->schema->n; i++)
        path_add(list, sizeof(list), &o, "%s%s", i ? ", " : "", f->schema->keys[i].name);
    path(c, c->depth - 1, p, sizeof(p));
    return fail_at(c, pos_of(ev->start_mark), "unknown key '%s'%s%s (allowed: %s)",
                   cfg_quote(name, q, sizeof(q)), *p ? " in " : "", p, list);
}

static int on_key(struct ctx *c, struct frame *f, const yaml_event_t *ev)
{
    char p[PATHSZ];
    struct slice name;
    size_t i;

    if (ev->type != YAML_SCALAR_EVENT)
        return fail_at(c, pos_of(ev->start_mark), "keys must be scalars, not %s",
                       type_name(ev));
    name = scalar_of(ev);
    for (i = 0; i < f->schema->n; i++) {
        if (slice_eq(name, slice_cstr(f->schema->keys[i].name)))
            break;
    }
    if (i == f->schema->n)
        return unknown_key(c, f, name, ev);
    f->cur = &f->schema->keys[i];
    if (f->seen & (1u << i))
        return fail_at(c, pos_of(ev->start_mark), "duplicate key '%s' (first at %zu:%zu)",
                       path(c, c->depth, p, sizeof(p)), f->seen_at[i].line,
                       f->seen_at[i].col);
    f->seen |= 1u << i;
    f->seen_at[i] = pos_of(ev->start_mark);
    return 0;
}

static int on_value(struct ctx *c, struct frame *f, const yaml_event_t *ev)
{
    const struct cfg_key *k = f->cur;
    int rc = expect_type(c, ev, k->type);

    if (rc)
        return rc;
    if (k->type == CFG_T_MAP)
        return push(c, CFG_T_MAP, k, f->base + k->off, ev);
    if (k->type == CFG_T_SEQ)
        return push(c, CFG_T_SEQ, k, f->base, ev);
    rc = set_scalar(c, k, ev, f->base + k->off);
    if (rc == 0 && (k->flags & CFG_K_UNIQUE))
        rc = check_unique(c, k, ev);
    if (rc == 0 && (k->flags & CFG_K_AT))
        rc = set_at(c, ev, (char **)(void *)(f->base + k->off_at));
    f->cur = NULL;
    return rc;
}

/* One entry of a sequence. */
static int on_entry(struct ctx *c, struct frame *f, const yaml_event_t *ev)
{
    const struct cfg_key *k = f->key;
    char p[PATHSZ];
    void *slot;
    int rc;

    if (*seq_count(k, f->base) >= k->max)
        return fail_at(c, pos_of(ev->start_mark), "%s has too many entries (max %u)",
                       path(c, c->depth - 1, p, sizeof(p)), k->max);
    slot = seq_append(k, f->base, &f->cap);
    if (!slot)
        return no_memory(c);
    if ((rc = expect_type(c, ev, k->map ? CFG_T_MAP : CFG_T_SCALAR)) != 0)
        return rc;
    if (k->map)
        return push(c, CFG_T_MAP, k, slot, ev);
    return set_scalar(c, k, ev, slot);
}

static int on_node(struct ctx *c, const yaml_event_t *ev)
{
    struct frame *f;

    if (c->depth == 0)
        return on_root(c, ev);
    f = &c->fr[c->depth - 1];
    if (f->type == CFG_T_SEQ)
        return on_entry(c, f, ev);
    return f->cur ? on_value(c, f, ev) : on_key(c, f, ev);
}

static int on_map_end(struct ctx *c)
{
    struct frame *f = &c->fr[c->depth - 1];
    char p[PATHSZ];
    int rc;

    path(c, c->depth - 1, p, sizeof(p));
    rc = fill_defaults(c, f->start, p, f->schema, f->base, f->seen);
    if (rc == 0)
        pop(c);
    return rc;
}

static int on_seq_end(struct ctx *c)
{
    struct frame *f = &c->fr[c->depth - 1];
    const struct cfg_key *k = f->key;
    char p[PATHSZ];

    if (*seq_count(k, f->base) < k->min)
        return fail_at(c, f->start, "%s must not be empty%s%s%s",
                       path(c, c->depth - 1, p, sizeof(p)), k->hint ? " (" : "",
                       k->hint ? k->hint : "", k->hint ? ")" : "");
    pop(c);
    return 0;
}

static int on_event(struct ctx *c, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++c->docs > 1)
            return fail_at(c, pos_of(ev->start_mark),
                           "only one YAML document is allowed");
        return 0;
    case YAML_ALIAS_EVENT:
        return fail_at(c, pos_of(ev->start_mark), "aliases (*name) are not supported");
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_node(c, ev);
    case YAML_MAPPING_END_EVENT:
        return on_map_end(c);
    case YAML_SEQUENCE_END_EVENT:
        return on_seq_end(c);
    case YAML_STREAM_END_EVENT:
        if (!c->root_done)
            return fail_at(c, (struct pos){ 1, 1 }, "the configuration is empty");
        return 0;
    default:
        return 0;
    }
}

/* ---- libyaml errors ---------------------------------------------------------- */

/* Line and column (in characters, as libyaml counts) of a byte offset. */
static struct pos pos_of_offset(const struct ctx *c, size_t off)
{
    struct pos at = { 1, 1 };

    for (size_t i = 0; i < off && i < c->len; i++) {
        if (c->data[i] == '\n') {
            at.line++;
            at.col = 1;
        } else if (((unsigned char)c->data[i] & 0xc0) != 0x80) {
            at.col++;
        }
    }
    return at;
}

static int yaml_error(struct ctx *c, const yaml_parser_t *yp)
{
    const char *problem = yp->problem ? yp->problem : "unknown error";

    if (yp->error == YAML_MEMORY_ERROR)
        return no_memory(c);
    if (yp->error == YAML_READER_ERROR) {
        struct pos at = pos_of_offset(c, yp->problem_offset);

        if (yp->problem_value >= 0)
            return fail_at(c, at, "syntax error: %s (byte 0x%02x)", problem,
                           (unsigned)yp->problem_value & 0xffu);
        return fail_at(c, at, "syntax error: %s", problem);
    }
    if (yp->context)
        return fail_at(c, pos_of(yp->problem_mark), "syntax error: %s (%s at %zu:%zu)",
                       problem, yp->context, yp->context_mark.line + 1,
                       yp->context_mark.column + 1);
    return fail_at(c, pos_of(yp->problem_mark), "syntax error: %s", problem);
}

static int run(struct ctx *c, yaml_parser_t *yp)
{
    for (;;) {
        yaml_event_t ev;
        bool end;
        int rc;

        if (!yaml_parser_parse(yp, &ev))
            return yaml_error(c, yp);
        rc = on_event(c, &ev);
        end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc || end)
            return rc;
    }
}

int cfg_load_buffer(const char *name, const char *data, size_t len,
                    struct cfg **out, char *err, size_t errsz)
{
    struct ctx c = { .name = name ? name : "<config>", .data = data, .len = len,
                     .err = err, .errsz = err ? errsz : 0 };
    yaml_parser_t yp;
    int rc;

    if (c.errsz)
        err[0] = '\0';
    if (!out || (!data && len))
        return fail_at(&c, (struct pos){ 1, 1 }, "invalid argument");
    c.cfg = calloc(1, sizeof(*c.cfg));
    if (!c.cfg)
        return no_memory(&c);
    if (!yaml_parser_initialize(&yp)) {
        free(c.cfg);
        return no_memory(&c);
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)(data ? data : ""), len);
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
    rc = run(&c, &yp);
    yaml_parser_delete(&yp);
    if (rc) {
        cfg_free(c.cfg);
        return rc == -ENOMEM ? no_memory(&c) : rc;
    }
    cfg_derive(c.cfg);
    *out = c.cfg;
    return 0;
}
