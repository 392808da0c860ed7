/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_internal.h - shared by the config module's files only; not an API.
 *
 * The schema is data: a table of struct cfg_key per YAML mapping
 * (config_validate.c).  The YAML engine (config_parse.c) walks libyaml
 * events against those tables; a value parser turns one scalar into one
 * field.  Adding a key is one table entry (plus a value parser only for a
 * new kind of value).
 */
#ifndef SIPKEEP_CONFIG_INTERNAL_H
#define SIPKEEP_CONFIG_INTERNAL_H

#include <stddef.h>

#include "config/config.h"
#include "core/slice.h"

#define CFG_MAX_KEYS 32 /* keys in one mapping: the engine keeps a bitmask */

enum cfg_vtype { CFG_T_SCALAR, CFG_T_SEQ, CFG_T_MAP };

enum {
    CFG_K_REQUIRED = 1u << 0, /* no default: missing key is an error */
    CFG_K_UNIQUE = 1u << 1,   /* char * field, unique (ci) among the entries
                                 of the sequence holding this mapping */
    CFG_K_AT = 1u << 2,       /* scalar: also store "FILE:LINE:COL" of the
                                 value (malloc'd char *) at off_at, for
                                 errors found later (files read at start) */
};

struct cfg_key;

/* Parses the scalar v (no NUL bytes in it) into dst.  Returns 0; -EINVAL
 * with why set to the end of a sentence whose subject is the key, e.g.
 * "must be true or false (got 'yes')"; or -ENOMEM.  On error dst may hold
 * partial results that cfg_free() releases. */
typedef int (*cfg_val_fn)(const struct cfg_key *k, struct slice v, void *dst,
                          char *why, size_t whysz);

struct cfg_schema {
    const struct cfg_key *keys;
    size_t n;
};

struct cfg_key {
    const char *name;
    enum cfg_vtype type;
    unsigned flags;                  /* CFG_K_* */
    size_t off;                      /* scalar: field; map: embedded struct;
                                        seq: the array pointer */
    size_t off_n;                    /* seq: its size_t count */
    size_t off_at;                   /* CFG_K_AT: the char * of its position */
    size_t elem_size;                /* seq: size of one entry */
    cfg_val_fn parse;                /* scalar, or each entry of a scalar seq */
    const struct cfg_schema *map;    /* map, or each entry of a seq of maps */
    const char *def;                 /* default as YAML text: the value of a
                                        scalar or the only entry of a seq */
    unsigned min, max;               /* numbers: range; seqs: entry count */
    const char *const *words;        /* enums: spellings, NULL-terminated,
                                        index = value (field is an enum) */
    const char *hint;                /* added to "missing"/"empty" errors */
};

/* The top-level mapping. */
extern const struct cfg_schema cfg_schema_root;

/* Fills what is derived from several keys once the whole file is loaded
 * (each proxy's tls_name). */
void cfg_derive(struct cfg *cfg);

/* Writes v into buf (size sz >= 16) for quoting in a message: at most ~60
 * characters, non-printable bytes as \xNN.  Returns buf. */
const char *cfg_quote(struct slice v, char *buf, size_t sz);

#endif
