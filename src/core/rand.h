/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rand.h - unpredictable numbers from the kernel (getrandom(2)), for SIP
 * branches, tags, Call-IDs and keep-alive jitter.  Stateless; the jitter's
 * source is injectable (struct rand_src). */
#ifndef SIPKEEP_CORE_RAND_H
#define SIPKEEP_CORE_RAND_H

#include <stddef.h>
#include <stdint.h>

/* A uniformly random 64-bit value.  getrandom() on Linux >= 3.17 with a
 * seeded pool does not fail for 8 bytes; should it, a clock-derived value
 * is mixed in rather than aborting the daemon. */
uint64_t rand_u64(void);

/* Writes n random lowercase hex digits and a NUL into out (outsz > n). */
void rand_hex(char *out, size_t outsz, size_t n);

/* An injectable source of 32-bit random values (keep-alive and back-off
 * jitter), so that tests are deterministic: next(ctx) gives each value.
 * next == NULL means the kernel's (rand_u64()). */
struct rand_src {
    uint32_t (*next)(void *ctx);
    void *ctx;
};

/* One value from src (NULL or next == NULL: rand_u64()). */
uint32_t rand_draw(const struct rand_src *src);

/* lo + (hi - lo) * r / UINT32_MAX (hi >= lo) without overflowing 64 bits:
 * r = 0 gives lo, r = UINT32_MAX gives hi.  Pure, for jitter drawn with
 * rand_draw(). */
uint64_t rand_uniform(uint64_t lo, uint64_t hi, uint32_t r);

#endif
