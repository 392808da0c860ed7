/* SPDX-License-Identifier: GPL-2.0-or-later */
/* uri_int.h - the %XX decoder of uri.c, which the daemon does not use yet
 * (URIs are compared as written); kept for its tests.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_SIP_URI_INT_H
#define SIPKEEP_SIP_URI_INT_H

#include "sip/uri.h"

/* Decodes %XX escapes of s into out (outsz bytes, not NUL-terminated) and
 * sets *outlen.  Returns 0, -EINVAL (NULL out/outlen, a '%' not followed by
 * two hex digits, or an escaped NUL) or -ENOSPC (out is then unspecified). */
int sipuri_unescape(struct slice s, char *out, size_t outsz, size_t *outlen);

#endif
