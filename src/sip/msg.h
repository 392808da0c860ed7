/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg.h - zero-copy parsing, editing and serialisation of SIP messages
 * (RFC 3261 §7, §20, §25).
 *
 * Parsing never copies: every field of struct sipmsg is a slice into the
 * caller's buffer, which must stay alive and unchanged while the struct is
 * used.  The buffer is NOT NUL-terminated and is never read past its length.
 *
 * What the parser accepts (strictness chosen for a first-hop proxy that must
 * not forward what the far end would choke on):
 *  - Lines end in CRLF only.  A bare LF or bare CR in the start line or the
 *    header section is rejected (SIPMSG_E_BARE_LF / SIPMSG_E_BARE_CR): RFC 3261
 *    §7 and RFC 4475 require CRLF, and real SIP phones send it.
 *  - Start line elements are separated by exactly one SP (RFC 3261 §7.1,
 *    §25.1; RFC 4475 §3.1.2.9 "lwsstart" and §3.1.2.10 "trws" are refused).
 *    A status line may omit the reason phrase ("SIP/2.0 200", with or without
 *    the SP; RFC 4475 §3.1.1.13).  Only SIP/2.0 (any case) is accepted; another
 *    SIP/x.y gives SIPMSG_E_VERSION so the caller can answer 505.
 *  - Header names are tokens, matched case-insensitively, compact forms
 *    included (§7.3.3); whitespace is allowed between name and colon and
 *    around the value; folded lines (CRLF followed by SP/HTAB, §7.3.1) are
 *    part of the value slice, as raw bytes.
 *  - Control characters other than HTAB (including NUL) are rejected anywhere
 *    in the start line and header section, even escaped in a quoted-pair,
 *    which §25.1 would allow (SIPMSG_E_CTL); the body is opaque bytes.
 *  - Leading CRLFs before the start line are rejected (SIPMSG_E_LEADING_CRLF):
 *    on streams they are keep-alives (RFC 5626 §4.4.1, RFC 3261 §7.5) and the
 *    transport strips them before calling sipmsg_parse().
 *  - To, From, Call-ID, CSeq and Via must be present (with a non-empty value)
 *    in requests AND responses (§8.1.1, §8.2.6.2).  To, From, Call-ID and CSeq
 *    must not be repeated, nor Content-Length with a different value (RFC 4475
 *    §3.3.8, §3.3.9).  CSeq is "1*DIGIT LWS method" with a number below 2^32
 *    (§20.16, RFC 4475 §3.1.2.4) and its method must equal a request's method,
 *    case-sensitively (RFC 4475 §3.1.2.17/18).
 *  - Content-Length (§18.3, §20.14): a datagram without it has the rest of
 *    the buffer as body; a stream message must carry it.  A datagram whose
 *    Content-Length is smaller than what follows the header section is
 *    accepted and the excess ignored: msg->len then is less than the buffer
 *    length.  On a stream, msg->len is where the next message starts.
 */
#ifndef SIPKEEP_SIP_MSG_H
#define SIPKEEP_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

/* Header section capacity; a message with more header lines is rejected with
 * -E2BIG / SIPMSG_E_TOO_MANY_HDRS. */
#define SIPMSG_MAX_HDRS 96

/* Known headers.  SIPMSG_HDR_OTHER is any other (extension) header. */
enum sipmsg_hdr_id {
    SIPMSG_HDR_OTHER = 0,
    SIPMSG_HDR_VIA,               /* v */
    SIPMSG_HDR_FROM,              /* f */
    SIPMSG_HDR_TO,                /* t */
    SIPMSG_HDR_CALL_ID,           /* i */
    SIPMSG_HDR_CSEQ,
    SIPMSG_HDR_CONTACT,           /* m */
    SIPMSG_HDR_CONTENT_LENGTH,    /* l */
    SIPMSG_HDR_CONTENT_TYPE,      /* c */
    SIPMSG_HDR_CONTENT_ENCODING,  /* e */
    SIPMSG_HDR_MAX_FORWARDS,
    SIPMSG_HDR_ROUTE,
    SIPMSG_HDR_RECORD_ROUTE,
    SIPMSG_HDR_PATH,
    SIPMSG_HDR_SERVICE_ROUTE,
    SIPMSG_HDR_SUPPORTED,         /* k */
    SIPMSG_HDR_REQUIRE,
    SIPMSG_HDR_PROXY_REQUIRE,
    SIPMSG_HDR_UNSUPPORTED,
    SIPMSG_HDR_EXPIRES,
    SIPMSG_HDR_MIN_EXPIRES,
    SIPMSG_HDR_FLOW_TIMER,
    SIPMSG_HDR_AUTHORIZATION,
    SIPMSG_HDR_PROXY_AUTHORIZATION,
    SIPMSG_HDR_WWW_AUTHENTICATE,
    SIPMSG_HDR_PROXY_AUTHENTICATE,
    SIPMSG_HDR_AUTHENTICATION_INFO,
    SIPMSG_HDR_RETRY_AFTER,
    SIPMSG_HDR_USER_AGENT,
    SIPMSG_HDR_SERVER,
    SIPMSG_HDR_ALLOW,
    SIPMSG_HDR_ALLOW_EVENTS,      /* u */
    SIPMSG_HDR_EVENT,             /* o */
    SIPMSG_HDR_SUBSCRIPTION_STATE,
    SIPMSG_HDR_REFER_TO,          /* r */
    SIPMSG_HDR_REFERRED_BY,       /* b */
    SIPMSG_HDR_SUBJECT,           /* s */
    SIPMSG_HDR_SESSION_EXPIRES,   /* x */
    SIPMSG_HDR_ACCEPT,
    SIPMSG_HDR_DATE,
    SIPMSG_HDR_TIMESTAMP,
    SIPMSG_HDR_WARNING,
    SIPMSG_HDR__COUNT
};

/* Why a parse failed; sipmsg_strerror() gives a short static text. */
enum sipmsg_err {
    SIPMSG_OK = 0,
    SIPMSG_E_EMPTY,             /* no bytes at all */
    SIPMSG_E_LEADING_CRLF,      /* CRLF before the start line (keep-alive) */
    SIPMSG_E_START_LINE,        /* malformed start line */
    SIPMSG_E_METHOD,            /* method is not a token */
    SIPMSG_E_RURI,              /* Request-URI empty / not scheme ":" ... */
    SIPMSG_E_VERSION,           /* SIP/x.y other than SIP/2.0 (answer 505) */
    SIPMSG_E_STATUS,            /* status code not 3 digits in 100..699 */
    SIPMSG_E_BARE_LF,           /* LF not preceded by CR */
    SIPMSG_E_BARE_CR,           /* CR not followed by LF */
    SIPMSG_E_CTL,               /* NUL or other control character */
    SIPMSG_E_UNTERMINATED,      /* header section has no empty line */
    SIPMSG_E_INCOMPLETE,        /* stream: more bytes needed (-EAGAIN) */
    SIPMSG_E_FOLD_START,        /* continuation line with no header before */
    SIPMSG_E_HDR_NAME,          /* header name is not a token */
    SIPMSG_E_HDR_NO_COLON,      /* header line without ':' */
    SIPMSG_E_TOO_MANY_HDRS,     /* more than SIPMSG_MAX_HDRS (-E2BIG) */
    SIPMSG_E_CLEN_BAD,          /* Content-Length not 1*DIGIT (e.g. -1, x) */
    SIPMSG_E_CLEN_RANGE,        /* Content-Length too many digits */
    SIPMSG_E_CLEN_CONFLICT,     /* two Content-Length with different values */
    SIPMSG_E_CLEN_MISSING,      /* stream message without Content-Length */
    SIPMSG_E_CLEN_EXCEEDS,      /* datagram shorter than Content-Length */
    SIPMSG_E_MISSING_VIA,
    SIPMSG_E_MISSING_FROM,
    SIPMSG_E_MISSING_TO,
    SIPMSG_E_MISSING_CALL_ID,
    SIPMSG_E_MISSING_CSEQ,
    SIPMSG_E_DUP_HDR,           /* To/From/Call-ID/CSeq repeated */
    SIPMSG_E_CSEQ_BAD,          /* CSeq not "1*DIGIT LWS method", or >2^32-1 */
    SIPMSG_E_CSEQ_MISMATCH,     /* CSeq method differs from request method */
    SIPMSG_E__COUNT
};

/* Parse flags. */
#define SIPMSG_F_STREAM 0x1u    /* message came from TCP/TLS (see parse) */

struct sipmsg_hdr {
    struct slice name;   /* as received, e.g. "v" or "VIA" */
    /* Raw value: from the first non-LWS byte after the colon to the last
     * non-LWS byte of the header; folded lines stay inside as received.
     * Present but empty (n == 0) for "Subject:". */
    struct slice value;
    struct slice raw;    /* whole header line(s), including the final CRLF */
    enum sipmsg_hdr_id id;
};

/* A parsed message.  About 5.6 KB (the header array): embed it in longer
 * lived state or allocate it rather than putting many on a small stack. */
struct sipmsg {
    struct slice buf;        /* the parsed message (buf.n == len); set only
                              * by a successful parse, SLICE_NULL otherwise */
    size_t len;              /* start line .. end of body */
    bool is_request;
    struct slice start_line; /* including its CRLF */
    struct slice method;     /* requests; SLICE_NULL in responses */
    struct slice ruri;       /* requests */
    struct slice version;    /* "SIP/2.0" as received (any case) */
    unsigned status;         /* responses: 100..699; 0 in requests */
    struct slice reason;     /* responses; may be empty */
    unsigned nhdrs;
    struct sipmsg_hdr hdrs[SIPMSG_MAX_HDRS];
    struct slice hdr_end;    /* the empty line (CRLF) ending the headers */
    struct slice body;       /* present, possibly empty */
    bool has_clen;           /* a Content-Length header was present */
    uint32_t cseq_num;
    struct slice cseq_method;
    /* Index + 1 of the first header of each id, 0 when absent. */
    uint8_t first[SIPMSG_HDR__COUNT];
    /* Why the last sipmsg_parse() failed, and at which byte offset. */
    enum sipmsg_err err;
    size_t err_off;
};

/* Parses one complete SIP message from buf[0..len) into *m (every field of
 * *m is overwritten; on failure only m->err and m->err_off are meaningful).
 * flags: SIPMSG_F_STREAM when the bytes came from a stream transport: then
 * Content-Length is required, bytes after the body are the next message,
 * and running out of bytes gives -EAGAIN (SIPMSG_E_INCOMPLETE) instead of
 * -EBADMSG.  Returns 0, -EINVAL (NULL m / buf with len > 0), -EBADMSG
 * (malformed, see m->err), -E2BIG (SIPMSG_E_TOO_MANY_HDRS) or -EAGAIN. */
int sipmsg_parse(struct sipmsg *m, const char *buf, size_t len, unsigned flags);

/* Short static English text for a reason code ("missing Call-ID"). */
const char *sipmsg_strerror(enum sipmsg_err err);

/* Maps a header name (full or compact, any case) to its id; OTHER if
 * unknown.  The name must not contain surrounding whitespace. */
enum sipmsg_hdr_id sipmsg_hdr_lookup(struct slice name);

/* First header with this id, or NULL.  O(1). */
const struct sipmsg_hdr *sipmsg_hdr_find(const struct sipmsg *m,
                                         enum sipmsg_hdr_id id);

/* Index of the next header with this id after index prev (prev = -1 to
 * start), or -ENOENT.  Iterate with
 *   for (int i = sipmsg_hdr_next(m, id, -1); i >= 0; i = sipmsg_hdr_next(m, id, i))
 * For SIPMSG_HDR_OTHER this walks all unknown headers. */
int sipmsg_hdr_next(const struct sipmsg *m, enum sipmsg_hdr_id id, int prev);

/* Index of the first header whose name equals name (case-insensitive; a
 * known name also matches its compact form and vice versa) after prev, or
 * -ENOENT.  For extension headers ("X-Foo"). */
int sipmsg_hdr_next_name(const struct sipmsg *m, struct slice name, int prev);

/* Iterates over the elements of header values: for a list header (see
 * sipmsg_hdr_is_list) the comma-separated elements of every header line of
 * the id, in order; otherwise each header line's whole value.  Commas inside
 * "quoted strings" (with \-escapes) and <angle brackets> do not split.
 * Elements are trimmed of LWS; empty elements are skipped.  The iterator
 * only reads m, which must outlive it. */
struct sipmsg_valit {
    const struct sipmsg *m;
    enum sipmsg_hdr_id id;
    int hdr;          /* current header index, -1 when exhausted */
    bool single;      /* iterate one header line only */
    bool split;
    size_t off;       /* offset into the current value */
};

/* All headers with this id (use sipmsg_valit_init_hdr for OTHER). */
void sipmsg_valit_init(struct sipmsg_valit *it, const struct sipmsg *m,
                       enum sipmsg_hdr_id id);
/* Sets *val to the next element and returns true, or false at the end.
 * *hdr_idx (may be NULL) receives the index of the header it came from. */
bool sipmsg_valit_next(struct sipmsg_valit *it, struct slice *val,
                       unsigned *hdr_idx);

/* Whether option tag tok (case-insensitive, RFC 3261 §19.2) is one of the
 * elements of the headers with this id, e.g. "outbound" in Supported or
 * Require. */
bool sipmsg_hdr_has_token(const struct sipmsg *m, enum sipmsg_hdr_id id, const char *tok);

/* ---- Editing and serialisation ------------------------------------------
 *
 * Edits are recorded against one parsed message and applied only by
 * sipmsg_serialize(); the message and its buffer are never modified.  Edits
 * hold slices to caller-owned strings (names, values, R-URI, body): those
 * strings must stay alive and unchanged until sipmsg_serialize() returns.
 * Header indices are those of the parsed message (m->hdrs[]), unaffected by
 * other edits.  Content-Length is managed by the serialiser: adding,
 * removing or replacing it by hand is refused with -EINVAL.
 */
#define SIPMSG_MAX_EDITS 32

/* Serialisation flag: make sure a Content-Length header is present (append
 * one when the message had none), as a stream transport needs (§18.3). */
#define SIPMSG_SER_CLEN 0x1u

enum sipmsg_pos {
    SIPMSG_POS_TOP,     /* before the first header */
    SIPMSG_POS_BEFORE,  /* before header idx */
    SIPMSG_POS_AFTER,   /* after header idx */
    SIPMSG_POS_END      /* after the last header */
};

enum sipmsg_edit_op { SIPMSG_EDIT_ADD, SIPMSG_EDIT_REPLACE };

struct sipmsg_edit {
    enum sipmsg_edit_op op;
    enum sipmsg_pos pos;   /* ADD */
    unsigned idx;          /* ADD before/after, REPLACE target */
    struct slice name;     /* ADD */
    struct slice value;    /* ADD, REPLACE */
};

struct sipmsg_edits {
    const struct sipmsg *m;     /* the message these edits apply to */
    unsigned n;
    struct sipmsg_edit e[SIPMSG_MAX_EDITS];
    uint8_t removed[SIPMSG_MAX_HDRS];   /* 1 = drop header i */
    struct slice ruri;          /* SLICE_NULL: unchanged */
    struct slice body;          /* used when body_set */
    bool body_set;
    unsigned flags;             /* SIPMSG_SER_* */
};

/* Starts an empty edit set for message m (flags: SIPMSG_SER_*). */
void sipmsg_edits_init(struct sipmsg_edits *ed, const struct sipmsg *m,
                       unsigned flags);

/* Adds header "name: value" at pos (idx used for BEFORE/AFTER; several adds
 * at the same place come out in the order they were made).  name must be a
 * token, not Content-Length; value must not contain CR, LF or NUL (it may be
 * empty).  Returns 0, -EINVAL, or -ENOSPC (SIPMSG_MAX_EDITS reached). */
int sipmsg_edit_add(struct sipmsg_edits *ed, enum sipmsg_pos pos, unsigned idx,
                    struct slice name, struct slice value);

/* Removes header idx.  Returns 0 or -EINVAL (bad index, Content-Length). */
int sipmsg_edit_remove(struct sipmsg_edits *ed, unsigned idx);

/* Removes every header with this id; returns how many (>= 0) or -EINVAL. */
int sipmsg_edit_remove_all(struct sipmsg_edits *ed, enum sipmsg_hdr_id id);

/* Replaces the value of header idx (the name is kept as received; the line
 * becomes "name: value CRLF").  A later replace of the same header wins.
 * Returns 0, -EINVAL (bad index/value, Content-Length, removed header) or
 * -ENOSPC. */
int sipmsg_edit_replace(struct sipmsg_edits *ed, unsigned idx,
                        struct slice value);

/* Writes m with edits ed (NULL: none) into out[0..outsz).  Without edits the
 * output is byte-identical to m->buf.  Content-Length values are rewritten
 * when the body was replaced, and one is appended when absent and either
 * the body was replaced or SIPMSG_SER_CLEN is set.  Returns 0 and sets
 * *outlen, -EINVAL (ed made for another message), or -ENOSPC when it does
 * not fit: out is then left untouched. */
int sipmsg_serialize(const struct sipmsg *m, const struct sipmsg_edits *ed,
                     char *out, size_t outsz, size_t *outlen);

/* ---- Building responses ------------------------------------------------ */

struct sipmsg_nv {
    struct slice name;
    struct slice value;
};

/* Builds a response to request req (RFC 3261 §8.2.6.2): status line with
 * status (100..699) and reason (SLICE_NULL: the standard phrase of
 * sipmsg_reason_phrase()), then all Via header lines, From, To, Call-ID and
 * CSeq copied from req; to_tag (SLICE_NULL for none; never added to a 100 or
 * when To already has a tag) is appended to To as ";tag=..."; then the nextra
 * headers of extra (same rules as sipmsg_edit_add), then "Content-Length: 0"
 * and no body.  Returns 0 and *outlen, -EINVAL (req is a response or an ACK,
 * which is never answered §17.2.1; bad status/reason/tag/extra), or -ENOSPC
 * (out untouched). */
int sipmsg_build_response(const struct sipmsg *req, unsigned status,
                          struct slice reason, struct slice to_tag,
                          const struct sipmsg_nv *extra, size_t nextra,
                          char *out, size_t outsz, size_t *outlen);

#endif
