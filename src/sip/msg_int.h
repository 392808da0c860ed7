/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg_int.h - scanners shared by msg.c and msg_edit.c; the character
 * classes are sip/sipchar.h's.  Private to the sip/msg module: include it
 * from nowhere else.
 */
#ifndef SIPKEEP_SIP_MSG_INT_H
#define SIPKEEP_SIP_MSG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/slice.h"
#include "sip/sipchar.h"

/* Control characters (RFC 5234 CTL) other than HTAB: never allowed in the
 * start line or header section outside a CRLF. */
static inline bool msg_is_ctl(unsigned char c)
{
    return sipchar_is_ctl(c) && c != '\t';
}

/* A URI scheme prefix and ':' followed by at least one byte. */
static inline bool msg_has_scheme(struct slice s)
{
    size_t n = sipchar_scheme_len(s);

    return n > 0 && n + 1 < s.n;
}

/* From just after an opening DQUOTE, returns the index after the closing
 * one, or s.n when unterminated.  quoted-pair "\" x skips x (§25.1). */
static inline size_t msg_skip_quoted(struct slice s, size_t i)
{
    while (i < s.n) {
        if (s.p[i] == '\\')
            i += 2;
        else if (s.p[i] == '"')
            return i + 1;
        else
            i++;
    }
    return s.n;
}

/* From an opening '<', returns the index after the matching '>' or s.n. */
static inline size_t msg_skip_angle(struct slice s, size_t i)
{
    const char *gt = memchr(s.p + i, '>', s.n - i);

    return gt ? (size_t)(gt - s.p) + 1 : s.n;
}

/* Whether s has no CTL other than HTAB (so no CR, LF or NUL). */
static inline bool msg_no_ctl(struct slice s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (msg_is_ctl((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

/* ---- used by tests (and fuzz_sipmsg) only ---- */
/* Replaces the body (may be empty, p may be NULL when n == 0); every
 * Content-Length header is rewritten, or one appended.  Returns 0. */
int sipmsg_edit_body(struct sipmsg_edits *ed, struct slice body);
/* Replaces the Request-URI (requests only).  The URI must be non-empty with
 * no SP, CR, LF, NUL.  Returns 0 or -EINVAL. */
int sipmsg_edit_ruri(struct sipmsg_edits *ed, struct slice ruri);
/* Whether values of this header are comma-separated lists (§7.3.1) that the
 * value iterator splits.  False for headers whose single value may contain
 * commas: Authorization, Proxy-Authorization, WWW-Authenticate,
 * Proxy-Authenticate, Authentication-Info (one challenge/credential with
 * comma-separated auth-params), Date, User-Agent, Server, Subject,
 * Retry-After, Call-ID, CSeq, From, To, Content-Type, Content-Length,
 * Max-Forwards, Expires, Min-Expires, Flow-Timer, Event, Refer-To,
 * Referred-By, Subscription-State, Session-Expires, Timestamp.
 * True for the other known headers and for OTHER. */
bool sipmsg_hdr_is_list(enum sipmsg_hdr_id id);
/* Standard reason phrase of a status code ("Forbidden"), or a class phrase
 * ("Client Error") for unlisted codes.  Never NULL. */
const char *sipmsg_reason_phrase(unsigned status);
/* Only header m->hdrs[idx] (split if its id is a list, or OTHER). */
void sipmsg_valit_init_hdr(struct sipmsg_valit *it, const struct sipmsg *m,
                           unsigned idx);

#endif
