/* SPDX-License-Identifier: GPL-2.0-or-later */
/* digest.h - HTTP/SIP Digest authentication for sipkeep's own
 * re-registrations (RFC 7616, RFC 2617, RFC 3261 §22.4, RFC 8760).
 *
 * digest_parse_challenge() reads a WWW-Authenticate / Proxy-Authenticate
 * value from an untrusted response into a self-contained struct (values
 * copied and unescaped, so it outlives the message); digest_authorize()
 * builds the matching Authorization / Proxy-Authorization value with
 * qop=auth when offered (else the RFC 2069 form), MD5 or SHA-256, with
 * or without -sess.  Stateless: the caller keeps the nonce-count.
 * Nothing here logs; the password never leaves the function's stack.
 */
#ifndef SIPKEEP_SIP_DIGEST_H
#define SIPKEEP_SIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

#define DIGEST_REALM_MAX 256
#define DIGEST_NONCE_MAX 512
#define DIGEST_OPAQUE_MAX 512

enum digest_alg { DIGEST_MD5, DIGEST_SHA256 };

struct digest_challenge {
    char realm[DIGEST_REALM_MAX];
    char nonce[DIGEST_NONCE_MAX];
    char opaque[DIGEST_OPAQUE_MAX];
    bool has_opaque;
    enum digest_alg alg;
    bool sess;        /* algorithm=...-sess */
    bool qop_auth;    /* qop offered and includes "auth" */
    bool stale;       /* stale=true: the nonce expired, credentials were fine */
};

/* Parses one challenge value ("Digest realm=..., nonce=..., ...").
 * Returns 0, -EPROTONOSUPPORT (not the Digest scheme), -ENOTSUP (an
 * algorithm or only qop values we do not implement), -EBADMSG (malformed,
 * realm or nonce missing) or -ENAMETOOLONG (a value exceeds its buffer).
 * *c is fully written on success, unspecified on error. */
int digest_parse_challenge(struct digest_challenge *c, struct slice value);

/* Builds the credentials value for challenge c into out (NUL-terminated):
 * 'Digest username="..", realm="..", nonce="..", uri="..", response="..",
 * algorithm=.., [cnonce="..", qop=auth, nc=XXXXXXXX,] [opaque=".."]'.
 * cnonce is used only when c->qop_auth.  Returns 0 and *outlen, -EINVAL
 * (user or uri holds a character that cannot be quoted), -ENOSPC, -EIO. */
int digest_authorize(const struct digest_challenge *c, const char *user,
                     const char *password, const char *method, const char *uri,
                     uint32_t nc, const char *cnonce, char *out, size_t outsz,
                     size_t *outlen);

#endif
