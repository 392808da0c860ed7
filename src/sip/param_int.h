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

/* token (§25.1), non-empty. */
bool sipparam_int_valid_token(struct slice s);
/* A gen-value an edit may write: quoted-string or token / host chars. */
bool sipparam_int_valid_value(struct slice v);

#endif
