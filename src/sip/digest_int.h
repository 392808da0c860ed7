/* SPDX-License-Identifier: GPL-2.0-or-later */
/* digest_int.h - the Digest response computation on its own (RFC 2617
 * §3.2.2), for the tests that check a credential sipkeep built.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_SIP_DIGEST_INT_H
#define SIPKEEP_SIP_DIGEST_INT_H

#include "sip/digest.h"

/* Hex of the request-digest (the response= value) for the given inputs;
 * qop NULL gives the RFC 2069 form (no cnonce/nc).  out needs 65 bytes.
 * Returns 0 or -EIO (the hash is unavailable, e.g. MD5 under FIPS). */
int digest_response_hex(enum digest_alg alg, bool sess, const char *user, const char *realm,
                        const char *password, const char *method, const char *uri,
                        const char *nonce, uint32_t nc, const char *cnonce, const char *qop,
                        char out[65]);

#endif
