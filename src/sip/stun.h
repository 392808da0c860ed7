/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stun.h - STUN Binding for RFC 5626 §4.4.2 keep-alives (RFC 5389): build a
 * Binding request, read the Binding response, tell STUN from SIP on a
 * shared UDP socket.
 *
 * No allocation, no state: the caller keeps the transaction ID it sent and
 * hands it back to stun_parse_response().  Input is untrusted bytes, never
 * read past its length; the attribute walk is bounded by the message length.
 * No authentication: sipkeep sends no USERNAME, so MESSAGE-INTEGRITY in a
 * response is not checked (and what follows it, except FINGERPRINT, is
 * ignored as §15.4 requires).
 */
#ifndef SIPKEEP_SIP_STUN_H
#define SIPKEEP_SIP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HDR_LEN 20u
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TID_LEN 12u
/* A Binding request with FINGERPRINT: header + 8-byte attribute. */
#define STUN_BINDING_REQ_MAX (STUN_HDR_LEN + 8u)

/* Message types (method Binding, RFC 5389 §6, §18.1). */
#define STUN_BINDING_REQUEST 0x0001u
#define STUN_BINDING_SUCCESS 0x0101u
#define STUN_BINDING_ERROR 0x0111u

struct stun_response {
    uint16_t type;                /* STUN_BINDING_SUCCESS or _ERROR */
    /* Success: the reflexive address from XOR-MAPPED-ADDRESS, else from
     * MAPPED-ADDRESS (RFC 3489 servers); sockaddr_in or sockaddr_in6 with
     * port, family and address set, everything else zero. */
    struct sockaddr_storage mapped;
    socklen_t mapped_len;
    bool xor_mapped;              /* it came from XOR-MAPPED-ADDRESS */
    bool fingerprint;             /* a FINGERPRINT was present and valid */
    /* Error response: ERROR-CODE class * 100 + number (300..699), and its
     * reason phrase (UTF-8, not NUL-terminated) pointing into the buffer. */
    unsigned error_code;
    const char *reason;
    size_t reason_len;
};

/* Writes a Binding request with transaction ID tid (STUN_TID_LEN bytes,
 * which the caller draws at random, §6) into out, with a FINGERPRINT
 * attribute when fingerprint is true (§8, §15.5).  Sets *outlen (20 or 28).
 * Returns 0, -EINVAL (NULL argument) or -ENOSPC (out is then untouched). */
int stun_build_binding_request(const uint8_t tid[STUN_TID_LEN], bool fingerprint,
                               uint8_t *out, size_t outsz, size_t *outlen);

/* Whether a datagram is STUN rather than SIP (RFC 5626 §4.4.2, RFC 5389
 * §6-§7): at least 20 bytes, the two top bits zero (a SIP message starts
 * with a letter), the magic cookie, a length that is a multiple of 4 and
 * equals len - 20.  Cheap; the full checks are in stun_parse_response(). */
bool stun_is_stun(const uint8_t *buf, size_t len);

/* Parses buf[0..len) as the Binding response to the request sent with
 * transaction ID tid.  On success fills *r (zeroed first) and returns 0: a
 * success response with its mapped address, or an error response with its
 * code (the transaction failed).  On failure *r is untouched and the result
 * is negative:
 *   -EINVAL   NULL argument
 *   -EBADMSG  not well-formed STUN: header checks of stun_is_stun(), an
 *             attribute overrunning the message, a bad MAPPED/XOR-MAPPED
 *             address or ERROR-CODE, anything after FINGERPRINT, or a
 *             FINGERPRINT that does not match
 *   -ENOMSG   well-formed but not a Binding response (a request, an
 *             indication, another method)
 *   -ESRCH    transaction ID is not tid (a stale or foreign response)
 *   -EPROTO   the transaction failed without a usable answer (§7.3.3,
 *             §7.3.4): an unknown comprehension-required attribute, a
 *             success without any mapped address, an error without
 *             ERROR-CODE. */
int stun_parse_response(const uint8_t *buf, size_t len,
                        const uint8_t tid[STUN_TID_LEN], struct stun_response *r);

#endif
