/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.h - FNV-1a (Fowler/Noll/Vo), 32 and 64 bits: hash-table buckets and
 * the hashes sipkeep writes into its own branches.  Fast, not keyed by
 * itself: a caller that must resist chosen keys mixes a secret seed into
 * the start value (HASH_FNV*_INIT ^ seed).  Stateless, never fails. */
#ifndef SIPKEEP_CORE_HASH_H
#define SIPKEEP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV32_INIT 2166136261u
#define HASH_FNV64_INIT 14695981039346656037u

/* h continued over the n bytes at p (p may be NULL when n is 0): start with
 * HASH_FNV32_INIT, or pass the result of an earlier call to hash the
 * concatenation. */
uint32_t hash_fnv32(uint32_t h, const void *p, size_t n);
uint64_t hash_fnv64(uint64_t h, const void *p, size_t n);
/* The same with ASCII letters folded to lower case (case-insensitive keys). */
uint64_t hash_fnv64_ci(uint64_t h, const void *p, size_t n);

#endif
