/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the registrations file (regstate.h), which sits on disk
 * where anything may happen to it: any bytes must either parse into
 * records whose fields lie within the limits, or be refused with
 * "line N: ..." - never a crash, an overread or a leak.  Each record is
 * then put into a store (twice: the strip of credentials and the material
 * comparison run on the fuzzed REGISTER), then once more from a shared
 * buffer (core/rcbuf.h) as a binding hands it over: kept by reference
 * when it holds no credentials, else copied without them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/rcbuf.h"
#include "state/regstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct ctx {
    const char *base;
    size_t n;
    struct regstate *st;
};

static void check_field(const char *s)
{
    size_t n = strlen(s);

    CHECK(n >= 1 && n <= REGSTATE_FIELD_MAX);
}

static int on_rec(const struct regstate_rec *r, void *arg)
{
    struct ctx *c = arg;
    struct rcbuf *shared;

    check_field(r->service);
    check_field(r->instance);
    check_field(r->aor);
    check_field(r->contact_uri);
    check_field(r->contact);
    CHECK(r->ua_src.sa.sa_family == AF_INET || r->ua_src.sa.sa_family == AF_INET6);
    CHECK(r->ua_local.sa.sa_family == AF_INET || r->ua_local.sa.sa_family == AF_INET6);
    CHECK(r->expires_at >= 0);
    CHECK(r->reg >= c->base && r->reg_len >= 1 && r->reg_len <= REGSTATE_REG_MAX &&
          (size_t)(r->reg - c->base) + r->reg_len <= c->n);
    if (regstate_put(c->st, r, 300) == 0) {
        const struct regstate_rec *g = regstate_get(c->st, r->aor, r->contact_uri);
        CHECK(g && g->reg_len <= r->reg_len && strlen(g->reg) <= g->reg_len);
        CHECK(regstate_put(c->st, r, 300) == 0);
    }
    shared = rcbuf_new(r->reg, r->reg_len);
    if (shared) {
        struct regstate_rec rs = *r;

        rs.reg = NULL;
        rs.reg_len = 0;
        rs.reg_buf = shared;
        if (regstate_put(c->st, &rs, 300) == 0) {
            const struct regstate_rec *g = regstate_get(c->st, r->aor, r->contact_uri);
            CHECK(g && g->reg_len <= shared->len);
            CHECK(g->reg == shared->p ? shared->refs == 2 && g->reg_len == shared->len
                                      : shared->refs == 1);
        }
        rcbuf_unref(shared);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx c = { (const char *)data, size, NULL };
    char err[128];
    int rc;

    /* A directory that does not exist: an empty store, never written. */
    if (regstate_open(&c.st, "/nonexistent/sipkeep-fuzz", NULL) != 0)
        abort();
    rc = regstate_parse((const char *)data, size, on_rec, &c, err, sizeof(err));
    CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM || rc == -EFBIG);
    if (rc == -EBADMSG)
        CHECK(strncmp(err, "line ", 5) == 0);
    regstate_free(c.st);
    return 0;
}
