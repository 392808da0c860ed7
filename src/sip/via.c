/* SPDX-License-Identifier: GPL-2.0-or-later */
/* via.c - see via.h. */
#include "sip/via.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/rand.h"

int sipvia_top(const struct sipmsg *m, struct sipvia_top *top)
{
    const struct sipmsg_hdr *h = sipmsg_hdr_find(m, SIPMSG_HDR_VIA);
    struct slice rest;

    if (!h)
        return -EBADMSG;
    rest = h->value;
    if (sipparam_split_next(&rest, &top->elem) != 1 ||
        sipparam_parse_via(&top->via, top->elem) < 0)
        return -EBADMSG;
    if (sipparam_find(top->via.params, "branch", &top->branch) < 0)
        top->branch = SLICE_NULL;
    return 0;
}

struct slice sipvia_top_branch(const struct sipmsg *m)
{
    struct sipvia_top top;

    return sipvia_top(m, &top) == 0 ? top.branch : SLICE_NULL;
}

/* out = cookie, tag, hex; all or nothing. */
static int put(char *out, size_t outsz, const char *tag, const char *hex)
{
    int n = snprintf(out, outsz, SIPVIA_COOKIE "%s%s", tag, hex);

    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    return 0;
}

int sipvia_branch(char *out, size_t outsz, const char *tag, uint64_t v)
{
    char hex[17];

    snprintf(hex, sizeof(hex), "%016" PRIx64, v);
    return put(out, outsz, tag, hex);
}

int sipvia_branch_random(char *out, size_t outsz, const char *tag, size_t nhex)
{
    char hex[65];

    if (nhex >= sizeof(hex)) {
        if (outsz > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    rand_hex(hex, sizeof(hex), nhex);
    return put(out, outsz, tag, hex);
}
