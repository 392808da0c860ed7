/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frame.h - what is at the front of a SIP stream (TCP/TLS): a complete
 * message, a keep-alive, or not enough bytes yet (RFC 3261 §7.5, §18.3;
 * RFC 5626 §3.5.1, §4.4.1).
 *
 * Zero-copy and stateless: the caller owns the receive buffer, passes the
 * unconsumed bytes, and drops frame_result.len bytes from the front after
 * handling a unit.  Each call costs one scan of the header section (at most
 * FRAME_MAX_HDR bytes); while a body is incomplete, frame_result.need says
 * how many buffered bytes the next call needs to make progress, so a caller
 * reading a large body in small pieces can wait for that instead of calling
 * after every read.
 *
 * Keep-alives between messages (RFC 5626 §4.4.1): a ping is CRLFCRLF, a pong
 * a single CRLF.  The two overlap: a ping may arrive split after its first
 * CRLF, and two pongs glued together look like a ping.  They are told apart
 * by what this end is:
 *  - FRAME_ROLE_CLIENT (sipkeep's flows to an edge proxy; frame_next()): a
 *    lone CRLF at the end of the buffer is a pong at once, so a pong is never
 *    held back waiting for bytes that will not come.  CRLFCRLF already
 *    complete in the buffer is a ping (RFC 3261 §7.5 lets either side send
 *    one; it is answered with a pong).  "\r\n\r" waits one more byte.
 *  - FRAME_ROLE_SERVER: a lone CRLF at the end of the buffer waits, as it
 *    may be the first half of a ping; CRLF followed by anything but CR is a
 *    stray CRLF, reported as FRAME_PONG for the caller to ignore.
 * A pong glued to the start of a message is reported alone first.
 *
 * A message must carry Content-Length (or its compact form "l"): on a
 * stream it is the only way to find the end (§18.3).  Missing, malformed or
 * conflicting values are errors; after any error the stream cannot be
 * resynchronised and must be closed.
 */
#ifndef SIPKEEP_SIP_FRAME_H
#define SIPKEEP_SIP_FRAME_H

#include <stddef.h>

/* Longest header section (start line to the empty line, inclusive). */
#define FRAME_MAX_HDR (64u * 1024u)
/* Largest Content-Length accepted. */
#define FRAME_MAX_BODY (1024u * 1024u)
/* Largest unit frame_next() can return: a buffer this big always suffices. */
#define FRAME_MAX_MSG (FRAME_MAX_HDR + FRAME_MAX_BODY)

enum frame_kind {
    FRAME_NEED_MORE = 0, /* incomplete: read more, call again */
    FRAME_MESSAGE,       /* a SIP message of len bytes */
    FRAME_PING,          /* CRLFCRLF, len 4: answer with a pong */
    FRAME_PONG,          /* CRLF, len 2 (see the roles above) */
    FRAME_ERROR          /* set alongside a negative return */
};

enum frame_role { FRAME_ROLE_CLIENT = 0, FRAME_ROLE_SERVER };

struct frame_result {
    enum frame_kind kind;
    size_t len;      /* bytes to consume; 0 for NEED_MORE and ERROR */
    /* MESSAGE, and NEED_MORE once the header section is complete: */
    size_t hdr_len;  /* start line .. empty line inclusive */
    size_t body_len; /* the Content-Length value */
    /* NEED_MORE: buffer length at which another call can give a different
     * answer (hdr_len + body_len while a body is incomplete). */
    size_t need;
};

/* Looks at buf[0..len) (not NUL-terminated, never read past len) as the
 * client end of a flow (FRAME_ROLE_CLIENT).  Always fills *fr.  Returns 0,
 * or on error sets fr->kind = FRAME_ERROR and returns -EINVAL (NULL fr, or
 * NULL buf with len > 0), -EBADMSG (bytes that are not SIP stream framing:
 * a stray CR or LF, a start line that cannot begin a message, Content-Length
 * missing, not 1*DIGIT, or given twice with different values) or -EMSGSIZE
 * (header section over FRAME_MAX_HDR without its empty line, or
 * Content-Length over FRAME_MAX_BODY). */
int frame_next(const char *buf, size_t len, struct frame_result *fr);

#endif
