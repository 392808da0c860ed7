/* rand.h - unpredictable numbers from the kernel (getrandom(2)), for SIP
 * branches, tags, Call-IDs and keep-alive jitter.  Stateless. */
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

#endif
