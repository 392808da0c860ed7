/* SPDX-License-Identifier: GPL-2.0-or-later */
/* param_int.h - scanners shared by param.c and param_edit.c.  Private to
 * the sip/param module: include it from nowhere else. */
#ifndef SIPKEEP_SIP_PARAM_INT_H
#define SIPKEEP_SIP_PARAM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"
#include "sip/param.h"

/* A parameter with the offsets an edit needs (indices into the scanned
 * slice): start is where the LWS before its ';' begins, end is one past its
 * value (or name, for a flag). */
struct sipparam_span {
    size_t start;
    size_t end;
    struct sipparam p;
};

/* Scans the parameter at *pos of s (LWS ';' LWS name [LWS '=' LWS value]).
 * Returns 1 and advances *pos past it, 0 when only LWS is left, -EBADMSG. */
int sipparam_int_next(struct slice s, size_t *pos, struct sipparam_span *ps);

/* Parse an address / Via element into *r (always written, valid only on
 * success); *after is the offset just past the URI, '>' or sent-by, where
 * the header parameters begin.  Return 0 or -EBADMSG. */
int sipparam_int_addr(struct slice s, struct sipparam_addr *r, size_t *after);
int sipparam_int_via(struct slice s, struct sipparam_via *r, size_t *after);

/* A gen-value an edit may write: quoted-string or token / host chars. */
bool sipparam_int_valid_value(struct slice v);

/* ---- used by tests only ---- */
/* Iterates over a parameter list such as sipparam_addr.params: *it starts
 * as that slice and is advanced.  Returns 1 and sets *p, 0 at the end, or
 * -EBADMSG (malformed; *it is then unchanged), -EINVAL (NULL arguments). */
int sipparam_next(struct slice *it, struct sipparam *p);
/* "q" (§20.10 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]) in thousandths,
 * 0..1000.  Returns 0, -ENOENT, -EBADMSG or -EINVAL. */
int sipparam_q(struct slice params, unsigned *thousandths);
/* Removes every occurrence of header parameter name (none: an exact copy). */
int sipparam_remove(struct slice elem, enum sipparam_kind kind, const char *name,
                    char *out, size_t outsz, size_t *outlen);
/* Removes every occurrence of URI parameter name (none: an exact copy). */
int sipparam_remove_uri(struct slice elem, const char *name, char *out,
                        size_t outsz, size_t *outlen);
/* The content of a quoted-string value, between the quotes, escapes left
 * as written (+sip.instance values carry none; RFC 5626 §4.1 compares them
 * byte for byte).  Returns 0, -EBADMSG (not a quoted string) or -EINVAL. */
int sipparam_unquote(struct slice value, struct slice *inner);

#endif
