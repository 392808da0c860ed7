/* SPDX-License-Identifier: GPL-2.0-or-later */
/* via.h - the top Via of a message (whose branch names the transaction,
 * RFC 3261 §17.1.3, §17.2.3) and the branches sipkeep puts in its own Vias
 * (§8.1.1.7, §16.6 item 8).  Reading is pure; the random maker draws from
 * the kernel (core/rand). */
#ifndef SIPKEEP_SIP_VIA_H
#define SIPKEEP_SIP_VIA_H

#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"
#include "sip/msg.h"
#include "sip/param.h"

/* The magic cookie every RFC 3261 branch starts with. */
#define SIPVIA_COOKIE "z9hG4bK"

/* The first Via element of a message; slices into the message's buffer. */
struct sipvia_top {
    struct slice elem;       /* as written */
    struct sipparam_via via; /* parsed */
    struct slice branch;     /* its branch value, SLICE_NULL when it has none */
};

/* Reads m's first Via element into *top.  Returns 0, or -EBADMSG when m has
 * no Via or that element does not parse (*top is then not to be used). */
int sipvia_top(const struct sipmsg *m, struct sipvia_top *top);

/* The branch of m's first Via; SLICE_NULL when it has none or no Via
 * parses. */
struct slice sipvia_top_branch(const struct sipmsg *m);

/* Writes SIPVIA_COOKIE, tag (may be "") and v as 16 lowercase hex digits
 * into out, NUL-terminated: "z9hG4bK" "u" "00000000deadbeef".  Returns 0 or
 * -ENOSPC (out is then "" when outsz > 0). */
int sipvia_branch(char *out, size_t outsz, const char *tag, uint64_t v);

/* The same with nhex random lowercase hex digits after tag: a branch
 * unique in space and time (§8.1.1.7).  Returns 0 or -ENOSPC (out is then
 * "" when outsz > 0). */
int sipvia_branch_random(char *out, size_t outsz, const char *tag, size_t nhex);

#endif
