/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the input as a URI, and split as a header value into
 * elements parsed as Contact-style addresses and Via values; every element
 * that parses is edited, and the edit must parse again with the change. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/param.h"
#include "sip/param_int.h"
#include "sip/uri.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* A slice that must lie inside [base, base + n). */
static void check_within(struct slice s, const char *base, size_t n)
{
    if (s.p)
        CHECK(s.p >= base && s.n <= n && (size_t)(s.p - base) <= n - s.n);
}

static void fuzz_uri(struct slice in)
{
    struct sipuri u;
    struct slice it, name, value;
    enum sipuri_transport tp;
    uint16_t port;

    if (sipuri_parse(&u, in) != 0)
        return;
    check_within(u.user, in.p, in.n);
    check_within(u.password, in.p, in.n);
    check_within(u.host, in.p, in.n);
    check_within(u.params, in.p, in.n);
    check_within(u.headers, in.p, in.n);
    CHECK(u.host.n > 0);
    if (sipuri_target(&u, &tp, &port) == 0)
        CHECK(port != 0 && tp >= SIPURI_TP_UDP && tp <= SIPURI_TP_TLS);
    it = u.params;
    while (sipuri_param_next(&it, &name, &value))
        CHECK(sipuri_param_valid(name, value));
}

/* Sets then removes a header parameter, checking each result. */
static void edit_header(struct slice e, enum sipparam_kind kind)
{
    char out[8192];
    size_t n;
    struct slice v;
    struct sipparam_addr a;
    struct sipparam_via via;
    int r = sipparam_set(e, kind, "expires", SLICE_LIT("60"), out, sizeof(out), &n);

    if (r == -ENOSPC)
        return;
    CHECK(r == 0);
    r = kind == SIPPARAM_ADDR ? sipparam_parse_addr(&a, (struct slice){ out, n })
                              : sipparam_parse_via(&via, (struct slice){ out, n });
    CHECK(r == 0);
    CHECK(sipparam_find(kind == SIPPARAM_ADDR ? a.params : via.params, "expires", &v) == 0);
    CHECK(v.n == 2 && memcmp(v.p, "60", 2) == 0);
    CHECK(sipparam_remove(e, kind, "expires", out, sizeof(out), &n) == 0);
    r = kind == SIPPARAM_ADDR ? sipparam_parse_addr(&a, (struct slice){ out, n })
                              : sipparam_parse_via(&via, (struct slice){ out, n });
    CHECK(r == 0);
    CHECK(sipparam_find(kind == SIPPARAM_ADDR ? a.params : via.params, "expires", NULL) ==
          -ENOENT);
}

/* Sets ";ob" on the URI: the result is bracketed, its URI has ob, and the
 * header parameters are unchanged. */
static void edit_uri(struct slice e, const struct sipparam_addr *orig)
{
    char out[8192], out2[8192];
    size_t n;
    struct sipparam_addr a;
    struct sipuri u;
    int r = sipparam_set_uri(e, "ob", SLICE_NULL, out, sizeof(out), &n);

    if (r == -ENOSPC || r == -EPROTONOSUPPORT)
        return;
    if (r == -EBADMSG) { /* only when the URI itself is not a valid sip URI */
        CHECK(sipuri_parse(&u, orig->uri) < 0);
        return;
    }
    CHECK(r == 0);
    CHECK(sipparam_parse_addr(&a, (struct slice){ out, n }) == 0);
    CHECK(a.bracketed);
    CHECK(sipuri_parse(&u, a.uri) == 0);
    CHECK(sipuri_param(&u, "ob", NULL) == 0);
    CHECK(slice_eq(a.params, orig->params));
    CHECK(sipparam_remove_uri((struct slice){ out, n }, "ob", out2, sizeof(out2), &n) == 0);
    CHECK(sipparam_parse_addr(&a, (struct slice){ out2, n }) == 0);
    CHECK(sipuri_parse(&u, a.uri) == 0);
    CHECK(sipuri_param(&u, "ob", NULL) == -ENOENT);
}

static void fuzz_element(struct slice e)
{
    struct sipparam_addr a;
    struct sipparam_via v;
    uint32_t u32;
    unsigned q;

    if (sipparam_parse_addr(&a, e) == 0 && !a.star) {
        (void)sipparam_expires(a.params, &u32);
        (void)sipparam_reg_id(a.params, &u32);
        if (sipparam_q(a.params, &q) == 0)
            CHECK(q <= 1000);
        edit_header(e, SIPPARAM_ADDR);
        edit_uri(e, &a);
    }
    if (sipparam_parse_via(&v, e) == 0)
        edit_header(e, SIPPARAM_VIA);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice in = { (const char *)data, size }, rest = in, e;
    int guard = 0;

    if (size > 4000)
        return 0;
    fuzz_uri(in);
    fuzz_element(in);
    while (sipparam_split_next(&rest, &e) == 1) {
        check_within(e, in.p, in.n);
        CHECK(++guard <= 4000);
        fuzz_element(e);
    }
    return 0;
}
