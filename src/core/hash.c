/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.c - see hash.h. */
#include "core/hash.h"

#define FNV32_PRIME 16777619u
#define FNV64_PRIME 1099511628211u

uint32_t hash_fnv32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV32_PRIME;
    return h;
}

uint64_t hash_fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV64_PRIME;
    return h;
}

uint64_t hash_fnv64_ci(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        h = (h ^ c) * FNV64_PRIME;
    }
    return h;
}
