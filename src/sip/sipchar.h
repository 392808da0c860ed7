/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sipchar.h - the character classes of SIP text (RFC 3261 §25.1, RFC 5234
 * core rules) on one table, for every parser in sipkeep: the message,
 * parameters, URIs, Digest, framing and the configuration's checks.
 * Bytes >= 0x80 belong to no class.  Stateless. */
#ifndef SIPKEEP_SIP_SIPCHAR_H
#define SIPKEEP_SIP_SIPCHAR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

enum {
    SIPCHAR_ALPHA = 0x01,      /* A-Z a-z */
    SIPCHAR_DIGIT = 0x02,      /* 0-9 */
    SIPCHAR_HEX = 0x04,        /* 0-9 A-F a-f */
    SIPCHAR_TOKEN = 0x08,      /* alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~" */
    SIPCHAR_UNRESERVED = 0x10, /* alphanum / mark: "-" "_" "." "!" "~" "*" "'" "(" ")" */
    SIPCHAR_WSP = 0x20,        /* SP HTAB */
    SIPCHAR_LWS = 0x40,        /* SP HTAB CR LF: what LWS folds over */
    SIPCHAR_CTL = 0x80,        /* 0x00-0x1f, 0x7f (RFC 5234 CTL, HTAB included) */
};

/* The class bits of each byte.  A table: header names are scanned hot. */
extern const unsigned char sipchar_tab[256];

static inline bool sipchar_is(unsigned char c, unsigned cls)
{
    return (sipchar_tab[c] & cls) != 0;
}

static inline bool sipchar_is_alpha(unsigned char c) { return sipchar_is(c, SIPCHAR_ALPHA); }
static inline bool sipchar_is_digit(unsigned char c) { return sipchar_is(c, SIPCHAR_DIGIT); }
static inline bool sipchar_is_alnum(unsigned char c)
{
    return sipchar_is(c, SIPCHAR_ALPHA | SIPCHAR_DIGIT);
}
static inline bool sipchar_is_hex(unsigned char c) { return sipchar_is(c, SIPCHAR_HEX); }
static inline bool sipchar_is_token(unsigned char c) { return sipchar_is(c, SIPCHAR_TOKEN); }
static inline bool sipchar_is_unreserved(unsigned char c)
{
    return sipchar_is(c, SIPCHAR_UNRESERVED);
}
static inline bool sipchar_is_wsp(unsigned char c) { return sipchar_is(c, SIPCHAR_WSP); }
static inline bool sipchar_is_lws(unsigned char c) { return sipchar_is(c, SIPCHAR_LWS); }
static inline bool sipchar_is_ctl(unsigned char c) { return sipchar_is(c, SIPCHAR_CTL); }

/* The value of a hex digit, -1 for any other byte. */
int sipchar_hex_val(unsigned char c);

/* Whether s is a token (§25.1): at least one byte, all token chars. */
bool sipchar_all_token(struct slice s);

/* Where the ':' ending the URI scheme s starts with is (scheme = ALPHA
 * *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3261 §25.1, RFC 3986 §3.1),
 * or 0 when s does not start with a scheme and ':'. */
size_t sipchar_scheme_len(struct slice s);

#endif
