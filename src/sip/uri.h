/* SPDX-License-Identifier: GPL-2.0-or-later */
/* uri.h - zero-copy parsing of SIP and SIPS URIs (RFC 3261 §19.1, §25.1).
 *
 * Every slice in struct sipuri points into the caller's buffer, which must
 * stay alive and unchanged while the struct is used.  The input is NOT
 * NUL-terminated and is never read past its length.  Nothing is unescaped:
 * fields hold the bytes as written (%XX included); sipuri_unescape() decodes
 * one when a caller needs it.
 *
 * Strictness: the RFC 3261 §25.1 grammar, with no whitespace anywhere.
 * Characters a telephone-subscriber would carry unescaped (e.g. "#") are
 * rejected in the user part, as §19.1.2 requires them escaped.
 */
#ifndef SIPKEEP_SIP_URI_H
#define SIPKEEP_SIP_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

enum sipuri_scheme { SIPURI_SIP = 1, SIPURI_SIPS };

enum sipuri_host_type {
    SIPURI_HOST_NAME = 1, /* hostname, e.g. "edge1.example.net" */
    SIPURI_HOST_IPV4,     /* dotted quad, each part 0..255 */
    SIPURI_HOST_IPV6      /* IPv6 reference, brackets included in host */
};

enum sipuri_transport { SIPURI_TP_UDP = 1, SIPURI_TP_TCP, SIPURI_TP_TLS };

/* Longest hostname accepted (RFC 1035 §2.3.4 bound on a domain name). */
#define SIPURI_MAX_HOST 255

struct sipuri {
    enum sipuri_scheme scheme;
    struct slice user;     /* SLICE_NULL when the URI has no userinfo */
    struct slice password; /* SLICE_NULL when none; may be present, empty */
    struct slice host;     /* as written; "[2001:db8::1]" keeps brackets */
    enum sipuri_host_type host_type;
    uint16_t port;         /* 1..65535, or 0 when absent */
    /* ";name=value;flag..." from the first ';' up to '?' or the end, or
     * SLICE_NULL when there are no parameters. */
    struct slice params;
    /* What follows '?' ("a=b&c=d"), or SLICE_NULL when there is no '?'. */
    struct slice headers;
};

/* Parses the URI s (exactly the URI: no surrounding whitespace or angle
 * brackets) into *u.  On failure *u is left untouched.  Returns 0, -EINVAL
 * (NULL u or s.p), -EPROTONOSUPPORT (a well-formed scheme other than sip or
 * sips, e.g. "tel:"; the caller decides what to do with it) or -EBADMSG
 * (malformed). */
int sipuri_parse(struct sipuri *u, struct slice s);

/* Finds URI parameter name (case-insensitive, RFC 3261 §19.1.4) in u->params.
 * Returns 0 and sets *value (may be NULL) to the value as written, or to
 * SLICE_NULL for a flag such as "lr" or "ob"; -ENOENT when absent; -EINVAL
 * on NULL arguments.  The first occurrence wins. */
int sipuri_param(const struct sipuri *u, const char *name, struct slice *value);

/* Iterates over a parameter list as found in sipuri.params: *it starts as
 * u->params and is advanced.  Returns true and sets *name and *value
 * (SLICE_NULL for a flag), or false at the end.  The list must come from a
 * successful sipuri_parse(): other input is split the same way, unchecked
 * (a list not starting with ';' yields nothing). */
bool sipuri_param_next(struct slice *it, struct slice *name, struct slice *value);

/* Whether name is a valid uri-parameter pname and value (unless SLICE_NULL,
 * a flag) a valid pvalue: 1*paramchar each, %XX escapes allowed (RFC 3261
 * §25.1).  For building URIs, e.g. adding ";ob" (RFC 5626 §4.3). */
bool sipuri_param_valid(struct slice name, struct slice value);

/* Where a request to u goes without DNS SRV (RFC 3261 §18.1, §19.1.2,
 * §26.2.2): sip: is UDP unless ;transport= says tcp or tls; sips: is TLS
 * (;transport=tcp is TLS over TCP, RFC 5630 §3.2).  The port is u->port, else
 * 5061 for TLS and 5060 otherwise.  Either output may be NULL.  Returns 0,
 * -EINVAL (NULL u), or -EPROTONOSUPPORT (another transport, e.g. sctp, ws,
 * or sips with transport=udp). */
int sipuri_target(const struct sipuri *u, enum sipuri_transport *tp,
                  uint16_t *port);

/* Validates s as "host [ ':' port ]" (RFC 3261 §25.1 hostport, the Via
 * sent-by of §20.42) and returns its parts; host and type may be NULL, port
 * (may be NULL) gets 0 when absent.  Outputs are written only on success.
 * Returns 0, -EINVAL (s.p NULL) or -EBADMSG. */
int sipuri_parse_hostport(struct slice s, struct slice *host,
                          enum sipuri_host_type *type, uint16_t *port);

#endif
