/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frame.c - SIP stream framing and CRLF keep-alives; see frame.h. */
#include "sip/frame.h"
#include "sip/frame_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/slice.h"
#include "sip/sipchar.h"

static int set_unit(struct frame_result *fr, enum frame_kind kind, size_t len)
{
    fr->kind = kind;
    fr->len = len;
    return 0;
}

static int need(struct frame_result *fr, size_t n)
{
    fr->kind = FRAME_NEED_MORE;
    fr->need = n;
    return 0;
}

/* buf starts with CR: a pong, a ping, or not yet known (see frame.h). */
static int crlf(const char *buf, size_t len, enum frame_role role,
                struct frame_result *fr)
{
    if (len < 2)
        return need(fr, 2);
    if (buf[1] != '\n')
        return -EBADMSG;
    if (len == 2)
        return role == FRAME_ROLE_CLIENT ? set_unit(fr, FRAME_PONG, 2) : need(fr, 3);
    if (buf[2] != '\r')
        return set_unit(fr, FRAME_PONG, 2);
    if (len == 3)
        return need(fr, 4);
    /* "\r\n\r" + not LF: the first CRLF is still a pong; the stray CR after
     * it fails on the next call. */
    return buf[3] == '\n' ? set_unit(fr, FRAME_PING, 4) : set_unit(fr, FRAME_PONG, 2);
}

/* Content-Length value: LWS (including folding) around 1*DIGIT.  Sets *v or
 * returns -EBADMSG; a value past FRAME_MAX_BODY reads as FRAME_MAX_BODY + 1
 * so that the caller reports -EMSGSIZE. */
static int clen_value(const char *p, size_t n, uint64_t *v)
{
    struct slice s = slice_trim((struct slice){ p, n });
    uint64_t x = 0;

    if (s.n == 0)
        return -EBADMSG;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -EBADMSG;
        if (x <= FRAME_MAX_BODY)
            x = x * 10 + (uint64_t)(s.p[i] - '0');
    }
    *v = x > FRAME_MAX_BODY ? FRAME_MAX_BODY + 1 : x;
    return 0;
}

/* One header field h[0..n) (folded lines included): if it is Content-Length
 * or "l" (§7.3.3, any case, LWS before the colon allowed), records its
 * value in *clen, refusing a second, different one. */
static int clen_header(const char *h, size_t n, uint64_t *clen, bool *seen)
{
    const char *colon = memchr(h, ':', n);
    struct slice name;
    uint64_t v;

    if (!colon)
        return 0;
    name = slice_trim((struct slice){ h, (size_t)(colon - h) });
    if (!slice_eq_ci_str(name, "content-length") && !slice_eq_ci_str(name, "l"))
        return 0;
    if (clen_value(colon + 1, n - (size_t)(colon - h) - 1, &v) < 0)
        return -EBADMSG;
    if (*seen && v != *clen)
        return -EBADMSG;
    *clen = v;
    *seen = true;
    return 0;
}

/* Finds Content-Length in the header lines h[0..n), which end with CRLF.
 * A line starting with SP/HTAB continues the previous field (§7.3.1). */
static int find_clen(const char *h, size_t n, uint64_t *clen)
{
    size_t start = 0, i = 0;
    bool seen = false;

    while (i < n) {
        const char *eol = memmem(h + i, n - i, "\r\n", 2);
        size_t next = eol ? (size_t)(eol - h) + 2 : n;

        if (next < n && sipchar_is_wsp(h[next])) {
            i = next;
            continue;
        }
        if (clen_header(h + start, next - start, clen, &seen) < 0)
            return -EBADMSG;
        start = i = next;
    }
    return seen ? 0 : -EBADMSG;
}

/* buf starts with a message: find the end of the header section, then
 * Content-Length, then whether the body is all there. */
static int message(const char *buf, size_t len, struct frame_result *fr)
{
    size_t lim = len < FRAME_MAX_HDR ? len : FRAME_MAX_HDR;
    const char *end = memmem(buf, lim, "\r\n\r\n", 4);
    const char *sl_end;
    uint64_t clen = 0; /* set when find_clen returns 0; gcc -O1/-Os cannot see that */
    size_t hdrs;

    /* A start line begins with a method (a token) or "SIP/2.0" (§7.1,
     * §7.2): anything else cannot be SIP, and failing now beats buffering
     * 64 KiB. */
    if (!sipchar_is_token((unsigned char)buf[0]))
        return -EBADMSG;
    if (!end)
        return len >= FRAME_MAX_HDR ? -EMSGSIZE : need(fr, len + 1);
    fr->hdr_len = (size_t)(end - buf) + 4;
    /* The start line is not a header; the header lines end with the CRLF
     * before the empty line.  A message with no header line has no
     * Content-Length. */
    sl_end = memmem(buf, fr->hdr_len, "\r\n", 2);
    hdrs = (size_t)(sl_end - buf) + 2;
    if (find_clen(buf + hdrs, fr->hdr_len - 2 - hdrs, &clen) < 0)
        return -EBADMSG;
    if (clen > FRAME_MAX_BODY)
        return -EMSGSIZE;
    fr->body_len = (size_t)clen;
    if (len - fr->hdr_len < fr->body_len)
        return need(fr, fr->hdr_len + fr->body_len);
    return set_unit(fr, FRAME_MESSAGE, fr->hdr_len + fr->body_len);
}

int frame_next_role(const char *buf, size_t len, enum frame_role role,
                    struct frame_result *fr)
{
    int err;

    if (!fr)
        return -EINVAL;
    memset(fr, 0, sizeof(*fr));
    if (!buf && len > 0)
        err = -EINVAL;
    else if (len == 0)
        err = need(fr, 1);
    else if (buf[0] == '\r')
        err = crlf(buf, len, role, fr);
    else
        err = message(buf, len, fr);
    if (err < 0) {
        memset(fr, 0, sizeof(*fr));
        fr->kind = FRAME_ERROR;
    }
    return err;
}

int frame_next(const char *buf, size_t len, struct frame_result *fr)
{
    return frame_next_role(buf, len, FRAME_ROLE_CLIENT, fr);
}
