/* SPDX-License-Identifier: GPL-2.0-or-later */
/* param.h - header-field values made of an address or Via plus parameters
 * (RFC 3261 §7.3.1, §20.10, §20.42, §25.1; RFC 5626 §4.1, §4.2.1, §4.3;
 * RFC 6223 "keep"), and editing one parameter of such a value.
 *
 * Everything works on plain slices, so it is usable with or without a parsed
 * message: split a header value into elements with sipparam_split_next(),
 * parse an element with sipparam_parse_addr() or sipparam_parse_via(), look
 * parameters up in the returned params slice.  Slices point into the
 * caller's buffer (never NUL-terminated, never read past its length).
 *
 * Whitespace: SP, HTAB, CR and LF all count as LWS inside a value, which
 * covers folded lines (§7.3.1) as the message parser leaves them; that
 * parser has already rejected CR/LF that are not folding.
 *
 * Parameter values (gen-value, §25.1) are a token, a host (including an
 * IPv6 reference, or for Via "received" a bare IPv6 address) or a
 * quoted-string; quoted strings keep their quotes and escapes.
 */
#ifndef SIPKEEP_SIP_PARAM_H
#define SIPKEEP_SIP_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"
#include "sip/uri.h"

/* One element of a Contact, From, To, Route, Record-Route or Path value. */
struct sipparam_addr {
    bool star;            /* Contact "*" (§10.2.2): every other field empty */
    /* Display name as written: a quoted-string with its quotes, or tokens
     * (UTF-8 tolerated, as phones send it); SLICE_NULL when none. */
    struct slice display;
    struct slice uri;     /* without < >; any scheme, not parsed further */
    bool bracketed;       /* the URI was inside < > */
    /* Header parameters from the first ';' after the URI (or '>') to the
     * end of the last one, e.g. ";expires=60;+sip.instance=\"<urn:...>\"";
     * SLICE_NULL when none.  For a bare addr-spec every ';' after the URI
     * starts a header parameter, not a URI parameter (§20.10). */
    struct slice params;
};

/* One Via element (§20.42): sent-protocol LWS sent-by *(SEMI via-params). */
struct sipparam_via {
    struct slice proto;     /* "SIP" */
    struct slice version;   /* "2.0" */
    struct slice transport; /* "UDP", "TCP", "TLS", ... as written */
    struct slice host;      /* sent-by host; IPv6 reference keeps brackets */
    enum sipuri_host_type host_type;
    uint16_t port;          /* 0 when absent */
    struct slice params;    /* as in sipparam_addr; SLICE_NULL when none */
};

/* One header parameter. */
struct sipparam {
    struct slice name;
    struct slice value;     /* SLICE_NULL for a flag ("rport", "ob", "keep") */
};

/* Which kind of element an edit applies to. */
enum sipparam_kind { SIPPARAM_ADDR = 1, SIPPARAM_VIA };

/* Splits a header value into comma-separated elements (§7.3.1): commas
 * inside quoted strings (with \-escapes) and inside <...> do not split.
 * *rest starts as the whole value and is advanced.  Returns 1 and sets *elem
 * (trimmed of LWS; empty elements are skipped), 0 at the end, -EINVAL (NULL
 * arguments) or -EBADMSG (unterminated quoted string or '<'; *rest is then
 * left unchanged). */
int sipparam_split_next(struct slice *rest, struct slice *elem);

/* Parses one name-addr / addr-spec element (surrounding LWS allowed) and
 * checks its parameter list.  The URI is only checked to be a non-empty
 * "scheme:..." without LWS, quotes or angle brackets: call sipuri_parse() on
 * a->uri for sip/sips.  On failure *a is untouched.  Returns 0, -EINVAL or
 * -EBADMSG. */
int sipparam_parse_addr(struct sipparam_addr *a, struct slice elem);

/* Parses one Via element: sent-protocol tokens (LWS allowed around '/'),
 * sent-by host and optional port (1..65535), parameters.  On failure *v is
 * untouched.  Returns 0, -EINVAL or -EBADMSG. */
int sipparam_parse_via(struct sipparam_via *v, struct slice elem);

/* Finds parameter name (case-insensitive) in params; the first occurrence
 * wins.  Returns 0 and sets *value (may be NULL; SLICE_NULL for a flag),
 * -ENOENT, -EBADMSG (the list is malformed before a match) or -EINVAL. */
int sipparam_find(struct slice params, const char *name, struct slice *value);

/* Reads parameter name as an unsigned decimal (1*DIGIT, unquoted) within
 * [min, max].  Returns 0 and sets *out, -ENOENT, -EBADMSG (a flag, not
 * digits, malformed list), -ERANGE (outside [min, max]) or -EINVAL. */
int sipparam_get_uint(struct slice params, const char *name, uint64_t min,
                      uint64_t max, uint64_t *out);

/* "expires" as delta-seconds; values above 2^32-1 read as 2^32-1 (§10.2.1.1
 * allows it).  Returns 0, -ENOENT, -EBADMSG or -EINVAL. */
int sipparam_expires(struct slice params, uint32_t *out);

/* "reg-id" (RFC 5626 §4.2.1): 1..2^31-1.  Returns 0, -ENOENT, -EBADMSG,
 * -ERANGE or -EINVAL. */
int sipparam_reg_id(struct slice params, uint32_t *out);

/* ---- Editing ------------------------------------------------------------
 *
 * Each edit reads one element elem (of the given kind) and writes a new
 * version of it into out[0..outsz), which must not overlap elem; *outlen
 * gets its length (out is not NUL-terminated).  Everything but the edited
 * parameter is copied byte for byte, surrounding LWS included.  On any
 * error out and *outlen are left untouched.  Errors: -EINVAL (NULL or bad
 * arguments: name not a token, value not a valid gen-value/pvalue, a Contact
 * "*"), -EBADMSG (elem does not parse), -ENOSPC (the result does not fit).
 */

/* Sets header parameter name: value.p == NULL writes a flag ";name", else
 * ";name=value".  The first occurrence (matched case-insensitively, its
 * name kept as written) is replaced and later ones dropped; when absent it
 * is appended after the last parameter. */
int sipparam_set(struct slice elem, enum sipparam_kind kind, const char *name,
                 struct slice value, char *out, size_t outsz, size_t *outlen);

/* Sets a URI parameter inside the element's sip/sips URI (e.g. ";ob" on a
 * Contact, RFC 5626 §4.3), same rules as sipparam_set; value must be a
 * valid pvalue.  A bare addr-spec is wrapped in < > so that the new
 * parameter belongs to the URI and the header parameters stay header
 * parameters.  Also -EPROTONOSUPPORT when the URI is not sip/sips. */
int sipparam_set_uri(struct slice elem, const char *name, struct slice value,
                     char *out, size_t outsz, size_t *outlen);

#endif
