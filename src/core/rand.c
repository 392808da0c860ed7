/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rand.c - see rand.h. */
#include "core/rand.h"

#include <sys/random.h>
#include <time.h>

uint64_t rand_u64(void)
{
    uint64_t v = 0;
    struct timespec ts;

    if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
        return v;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    v ^= ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec;
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    return v ^ (v >> 33);
}

void rand_hex(char *out, size_t outsz, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t bits = 0;

    if (outsz == 0)
        return;
    if (n >= outsz)
        n = outsz - 1;
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0)
            bits = rand_u64();
        out[i] = hex[bits & 15];
        bits >>= 4;
    }
    out[n] = '\0';
}

uint32_t rand_draw(const struct rand_src *src)
{
    if (src && src->next)
        return src->next(src->ctx);
    return (uint32_t)rand_u64();
}

uint64_t rand_uniform(uint64_t lo, uint64_t hi, uint32_t r)
{
    uint64_t span = hi - lo;

    return lo + span / UINT32_MAX * r + span % UINT32_MAX * r / UINT32_MAX;
}
