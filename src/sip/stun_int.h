/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stun_int.h - the CRC-32 behind STUN's FINGERPRINT (RFC 5389 §15.5), for
 * its tests and fuzzer.
 * Not a public API: included by the module's own files and by tests. */
#ifndef SIPKEEP_SIP_STUN_INT_H
#define SIPKEEP_SIP_STUN_INT_H

#include "sip/stun.h"

/* CRC-32 (ISO-HDLC, as zlib's crc32()) of p[0..n); FINGERPRINT is this XOR
 * 0x5354554e (§15.5).  Exposed for tests and for callers that build other
 * STUN messages. */
uint32_t stun_crc32(const uint8_t *p, size_t n);

#endif
