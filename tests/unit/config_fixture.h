/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_fixture.h - what test_config.c and test_config_schema.c share:
 * loading a YAML text from an exact-size heap copy, the expected-error
 * checks and the minimal valid configuration they add lines to.  Functions
 * are static inline: each test file uses only part of them. */
#ifndef SIPKEEP_TESTS_CONFIG_FIXTURE_H
#define SIPKEEP_TESTS_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"

/* A minimal valid configuration, 6 lines; tests add lines before or after. */
#define UA "ua:\n  allow: [\"10.0.0.0/8\"]\n"
#define SVC                                                                    \
    "services:\n"                                                              \
    "  - name: p\n"                                                            \
    "    domain: sip.example.net\n"                                            \
    "    outbound_proxies: [\"sip:edge.example.net\"]\n"
#define MIN UA SVC

/* Loads yaml from an exact-size heap copy (no NUL after it, so ASan catches
 * any read past the end). */
static inline int load(const char *yaml, struct cfg **out, char *err, size_t errsz)
{
    size_t len = strlen(yaml);
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, yaml, len);
    rc = cfg_load_buffer("t.yaml", copy, len, out, err, errsz);
    free(copy);
    return rc;
}

static inline struct cfg *load_ok(const char *yaml)
{
    struct cfg *cfg = NULL;
    char err[512] = "";
    int rc = load(yaml, &cfg, err, sizeof(err));

    if (rc != 0)
        fail_msg("unexpected error %d: %s", rc, err);
    assert_non_null(cfg);
    return cfg;
}

/* Checks that loading fails with -EINVAL and exactly msg, leaving the
 * out-pointer untouched. */
static inline void check_err(const char *yaml, const char *msg)
{
    struct cfg untouched;
    struct cfg *cfg = &untouched;
    char err[512];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = load(yaml, &cfg, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    assert_ptr_equal(cfg, &untouched);
    assert_string_equal(err, msg);
}

#endif
