/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg.c - SIP message parser and header access; see msg.h.
 *
 * One forward pass over the bytes: start line, then one header line (with
 * its continuation lines) at a time, then checks across headers, then the
 * body.  Every read is guarded by the buffer length; running out of bytes
 * is reported by one function (short_input) so that on a stream every
 * proper prefix of a valid message gives -EAGAIN.
 */
#include "sip/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/msg_int.h"

struct pctx {
    struct sipmsg *m;
    const char *b;
    size_t len;
    size_t pos;
    bool stream;
};

static const char *const err_text[SIPMSG_E__COUNT] = {
    [SIPMSG_OK] = "ok",
    [SIPMSG_E_EMPTY] = "empty message",
    [SIPMSG_E_LEADING_CRLF] = "CRLF before start line",
    [SIPMSG_E_START_LINE] = "bad start line",
    [SIPMSG_E_METHOD] = "bad method",
    [SIPMSG_E_RURI] = "bad Request-URI",
    [SIPMSG_E_VERSION] = "unsupported SIP version",
    [SIPMSG_E_STATUS] = "bad status code",
    [SIPMSG_E_BARE_LF] = "bare LF line ending",
    [SIPMSG_E_BARE_CR] = "bare CR",
    [SIPMSG_E_CTL] = "control character in header section",
    [SIPMSG_E_UNTERMINATED] = "unterminated header section",
    [SIPMSG_E_INCOMPLETE] = "incomplete message",
    [SIPMSG_E_FOLD_START] = "continuation line without header",
    [SIPMSG_E_HDR_NAME] = "bad header name",
    [SIPMSG_E_HDR_NO_COLON] = "header without colon",
    [SIPMSG_E_TOO_MANY_HDRS] = "too many headers",
    [SIPMSG_E_CLEN_BAD] = "bad Content-Length",
    [SIPMSG_E_CLEN_RANGE] = "Content-Length too large",
    [SIPMSG_E_CLEN_CONFLICT] = "conflicting Content-Length headers",
    [SIPMSG_E_CLEN_MISSING] = "missing Content-Length on stream",
    [SIPMSG_E_CLEN_EXCEEDS] = "Content-Length exceeds datagram",
    [SIPMSG_E_MISSING_VIA] = "missing Via",
    [SIPMSG_E_MISSING_FROM] = "missing From",
    [SIPMSG_E_MISSING_TO] = "missing To",
    [SIPMSG_E_MISSING_CALL_ID] = "missing Call-ID",
    [SIPMSG_E_MISSING_CSEQ] = "missing CSeq",
    [SIPMSG_E_DUP_HDR] = "duplicate single-value header",
    [SIPMSG_E_CSEQ_BAD] = "bad CSeq",
    [SIPMSG_E_CSEQ_MISMATCH] = "CSeq method mismatch",
};

const char *sipmsg_strerror(enum sipmsg_err err)
{
    if ((unsigned)err >= SIPMSG_E__COUNT || !err_text[err])
        return "unknown error";
    return err_text[err];
}

static int fail(struct pctx *c, enum sipmsg_err e, size_t off)
{
    c->m->err = e;
    c->m->err_off = off;
    if (e == SIPMSG_E_TOO_MANY_HDRS)
        return -E2BIG;
    if (e == SIPMSG_E_INCOMPLETE)
        return -EAGAIN;
    return -EBADMSG;
}

/* Out of bytes: on a stream more may follow, a datagram is just short. */
static int short_input(struct pctx *c, enum sipmsg_err dgram_err)
{
    return fail(c, c->stream ? SIPMSG_E_INCOMPLETE : dgram_err, c->len);
}

/* ---- Scanning ---------------------------------------------------------- */

/* Whether any of the 8 bytes in x is below 0x20 or equal to 0x7f.  Exact
 * as to "any" (the per-byte flags after the first hit may be spurious). */
static inline bool chunk_has_ctl(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t y = x ^ (ones * 0x7f);

    return (((x - ones * 0x20) & ~x) | ((y - ones) & ~y)) & highs;
}

/* Index of the first control character other than HTAB at or after i, or
 * len.  Looks at 8 bytes at a time: headers are mostly printable. */
static size_t find_ctl(const char *b, size_t len, size_t i)
{
    while (i + 8 <= len) {
        uint64_t x;
        memcpy(&x, b + i, 8);
        if (chunk_has_ctl(x)) {
            for (size_t e = i + 8; i < e; i++) {
                if (msg_is_ctl((unsigned char)b[i]))
                    return i;
            }
            continue;   /* only HTABs in this chunk */
        }
        i += 8;
    }
    while (i < len && !msg_is_ctl((unsigned char)b[i]))
        i++;
    return i;
}

/* ---- Start line -------------------------------------------------------- */

/* Finds the CRLF ending the line that starts at from; *eol = index of CR.
 * HTAB is the only control character allowed in a line. */
static int find_eol(struct pctx *c, size_t from, size_t *eol)
{
    size_t i = find_ctl(c->b, c->len, from);

    if (i >= c->len)
        return short_input(c, SIPMSG_E_UNTERMINATED);
    if (c->b[i] == '\n')
        return fail(c, SIPMSG_E_BARE_LF, i);
    if (c->b[i] != '\r')
        return fail(c, SIPMSG_E_CTL, i);
    if (i + 1 >= c->len)
        return short_input(c, SIPMSG_E_UNTERMINATED);
    if (c->b[i + 1] != '\n')
        return fail(c, SIPMSG_E_BARE_CR, i);
    *eol = i;
    return 0;
}

/* "SIP/2.0" in any case (§7.1); another SIP/x.y is SIPMSG_E_VERSION so the
 * caller can answer 505, anything else is a bad start line. */
static int check_version(struct pctx *c, struct slice v)
{
    size_t i = 4, d1, d2;

    if (slice_eq_ci(v, SLICE_LIT("SIP/2.0")))
        return 0;
    if (v.n < 4 || !slice_eq_ci((struct slice){ v.p, 4 }, SLICE_LIT("SIP/")))
        return fail(c, SIPMSG_E_START_LINE, (size_t)(v.p - c->b));
    for (d1 = i; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++)
        ;
    d1 = i - d1;
    if (i >= v.n || v.p[i] != '.')
        return fail(c, SIPMSG_E_START_LINE, (size_t)(v.p - c->b));
    for (d2 = ++i; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++)
        ;
    d2 = i - d2;
    if (d1 == 0 || d2 == 0 || i != v.n)
        return fail(c, SIPMSG_E_START_LINE, (size_t)(v.p - c->b));
    return fail(c, SIPMSG_E_VERSION, (size_t)(v.p - c->b));
}

/* Request-Line = Method SP Request-URI SP SIP-Version (§7.1, §25.1). */
static int parse_request_line(struct pctx *c, struct slice line)
{
    struct sipmsg *m = c->m;
    const char *sp1 = memchr(line.p, ' ', line.n);
    const char *sp2 = memrchr(line.p, ' ', line.n);
    struct slice ruri;

    if (!sp1 || sp1 == sp2)
        return fail(c, SIPMSG_E_START_LINE, 0);
    m->method = (struct slice){ line.p, (size_t)(sp1 - line.p) };
    if (!sipchar_all_token(m->method))
        return fail(c, SIPMSG_E_METHOD, 0);
    ruri = (struct slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
    /* Doubled SP or trailing SP: RFC 4475 §3.1.2.9, §3.1.2.10. */
    if (ruri.n == 0 || ruri.p[0] == ' ' || ruri.p[ruri.n - 1] == ' ' ||
        sp2 + 1 == line.p + line.n)
        return fail(c, SIPMSG_E_START_LINE, (size_t)(sp1 - c->b));
    /* LWS inside the URI (RFC 4475 §3.1.2.8) or "<sip:...>" (§3.1.2.7). */
    if (memchr(ruri.p, ' ', ruri.n) || memchr(ruri.p, '\t', ruri.n) ||
        !msg_has_scheme(ruri))
        return fail(c, SIPMSG_E_RURI, (size_t)(ruri.p - c->b));
    m->ruri = ruri;
    m->version = (struct slice){ sp2 + 1, (size_t)(line.p + line.n - sp2 - 1) };
    m->is_request = true;
    return check_version(c, m->version);
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2).  The
 * reason phrase may be missing altogether (tolerated, RFC 4475 §3.1.1.13). */
static int parse_status_line(struct pctx *c, struct slice line)
{
    struct sipmsg *m = c->m;
    const char *sp = memchr(line.p, ' ', line.n);
    const char *s;
    size_t rest;
    int rc;

    if (!sp)
        return fail(c, SIPMSG_E_START_LINE, 0);
    m->version = (struct slice){ line.p, (size_t)(sp - line.p) };
    rc = check_version(c, m->version);
    if (rc)
        return rc;
    s = sp + 1;
    rest = (size_t)(line.p + line.n - s);
    if (rest < 3 || s[0] < '1' || s[0] > '6' || s[1] < '0' || s[1] > '9' ||
        s[2] < '0' || s[2] > '9' || (rest > 3 && s[3] != ' '))
        return fail(c, SIPMSG_E_STATUS, (size_t)(s - c->b));
    m->status = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    if (rest > 3)
        m->reason = (struct slice){ s + 4, rest - 4 };
    else
        m->reason = (struct slice){ s + 3, 0 };
    m->is_request = false;
    return 0;
}

static int parse_start_line(struct pctx *c)
{
    struct slice line;
    size_t eol = 0; /* set when rc is 0; gcc -O1/-Os cannot see that */
    int rc;

    if (c->len == 0)
        return short_input(c, SIPMSG_E_EMPTY);
    if (c->b[0] == '\r' || c->b[0] == '\n')
        return fail(c, SIPMSG_E_LEADING_CRLF, 0);
    rc = find_eol(c, 0, &eol);
    if (rc)
        return rc;
    line = (struct slice){ c->b, eol };
    c->m->start_line = (struct slice){ c->b, eol + 2 };
    c->pos = eol + 2;
    if (line.n >= 4 && slice_eq_ci((struct slice){ line.p, 4 }, SLICE_LIT("SIP/")))
        return parse_status_line(c, line);
    return parse_request_line(c, line);
}

/* ---- Header section ---------------------------------------------------- */

/* A header line that does not start with "token *WSP :".  Only on the error
 * path: picks the most telling reason. */
static int bad_header_line(struct pctx *c, size_t start)
{
    unsigned char ch = (unsigned char)c->b[start];

    if (sipchar_is_wsp(ch))
        return fail(c, SIPMSG_E_FOLD_START, start);
    if (ch == '\n')
        return fail(c, SIPMSG_E_BARE_LF, start);
    if (msg_is_ctl(ch))
        return fail(c, SIPMSG_E_CTL, start);
    for (size_t i = start; i < c->len && c->b[i] != '\r' && c->b[i] != '\n'; i++) {
        if (c->b[i] == ':')
            return fail(c, SIPMSG_E_HDR_NAME, start);
    }
    return fail(c, SIPMSG_E_HDR_NO_COLON, start);
}

/* Skips leading LWS of a value: SP/HTAB and folds (CRLF 1*WSP), §25.1. */
static size_t skip_lws(const char *b, size_t len, size_t i)
{
    for (;;) {
        while (i < len && sipchar_is_wsp(b[i]))
            i++;
        if (i + 2 < len && b[i] == '\r' && b[i + 1] == '\n' && sipchar_is_wsp(b[i + 2]))
            i += 3;
        else
            return i;
    }
}

/* Scans a header value from i (just after the colon) to the CRLF that is
 * not followed by SP/HTAB (§7.3.1).  Sets *val (trimmed, folds kept inside)
 * and *next (just after that CRLF). */
static int scan_value(struct pctx *c, size_t i, struct slice *val, size_t *next)
{
    const char *b = c->b;
    size_t len = c->len, vstart, vend;

    i = skip_lws(b, len, i);
    vstart = i;
    for (;;) {
        i = find_ctl(b, len, i);
        if (i >= len)
            return short_input(c, SIPMSG_E_UNTERMINATED);
        if (b[i] == '\n')
            return fail(c, SIPMSG_E_BARE_LF, i);
        if (b[i] != '\r')
            return fail(c, SIPMSG_E_CTL, i);
        /* A CRLF at the very end cannot end the header section either. */
        if (i + 2 >= len)
            return i + 1 < len && b[i + 1] != '\n' ? fail(c, SIPMSG_E_BARE_CR, i)
                                                    : short_input(c, SIPMSG_E_UNTERMINATED);
        if (b[i + 1] != '\n')
            return fail(c, SIPMSG_E_BARE_CR, i);
        if (!sipchar_is_wsp(b[i + 2]))
            break;
        i += 3;
    }
    vend = i;
    while (vend > vstart && sipchar_is_lws(b[vend - 1]))
        vend--;
    *val = (struct slice){ b + vstart, vend - vstart };
    *next = i + 2;
    return 0;
}

/* To, From, Call-ID and CSeq appear once (RFC 4475 §3.3.8). */
static bool is_single(enum sipmsg_hdr_id id)
{
    return id == SIPMSG_HDR_TO || id == SIPMSG_HDR_FROM ||
           id == SIPMSG_HDR_CALL_ID || id == SIPMSG_HDR_CSEQ;
}

/* header = name *WSP ":" value CRLF, §7.3.1 (HCOLON allows WSP before ':'). */
static int parse_header(struct pctx *c)
{
    struct sipmsg *m = c->m;
    struct sipmsg_hdr *h;
    size_t start = c->pos, i = start, next = 0; /* as eol in parse_start_line */
    struct slice name, val;
    int rc;

    while (i < c->len && sipchar_is_token((unsigned char)c->b[i]))
        i++;
    name = (struct slice){ c->b + start, i - start };
    while (i < c->len && sipchar_is_wsp(c->b[i]))
        i++;
    if (i >= c->len)
        return short_input(c, SIPMSG_E_UNTERMINATED);
    if (name.n == 0 || c->b[i] != ':')
        return bad_header_line(c, start);
    rc = scan_value(c, i + 1, &val, &next);
    if (rc)
        return rc;
    if (m->nhdrs >= SIPMSG_MAX_HDRS)
        return fail(c, SIPMSG_E_TOO_MANY_HDRS, start);
    h = &m->hdrs[m->nhdrs];
    h->name = name;
    h->value = val;
    h->raw = (struct slice){ c->b + start, next - start };
    h->id = sipmsg_hdr_lookup(name);
    if (m->first[h->id] == 0)
        m->first[h->id] = (uint8_t)(m->nhdrs + 1);
    else if (is_single(h->id))
        return fail(c, SIPMSG_E_DUP_HDR, start);
    m->nhdrs++;
    c->pos = next;
    return 0;
}

static int parse_headers(struct pctx *c)
{
    int rc;

    for (;;) {
        if (c->pos >= c->len)
            return short_input(c, SIPMSG_E_UNTERMINATED);
        if (c->b[c->pos] == '\r') {
            if (c->pos + 1 >= c->len)
                return short_input(c, SIPMSG_E_UNTERMINATED);
            if (c->b[c->pos + 1] != '\n')
                return fail(c, SIPMSG_E_BARE_CR, c->pos);
            c->m->hdr_end = (struct slice){ c->b + c->pos, 2 };
            c->pos += 2;
            return 0;
        }
        rc = parse_header(c);
        if (rc)
            return rc;
    }
}

/* ---- Checks across headers, body --------------------------------------- */

static size_t hdr_off(const struct pctx *c, const struct sipmsg_hdr *h)
{
    return (size_t)(h->raw.p - c->b);
}

/* Content-Length = 1*DIGIT (§20.14); repeated ones must agree. */
static int check_clen(struct pctx *c, uint64_t *clen)
{
    const struct sipmsg *m = c->m;
    int i = sipmsg_hdr_next(m, SIPMSG_HDR_CONTENT_LENGTH, -1);
    uint64_t v;

    for (; i >= 0; i = sipmsg_hdr_next(m, SIPMSG_HDR_CONTENT_LENGTH, i)) {
        const struct sipmsg_hdr *h = &m->hdrs[i];
        int rc = slice_to_u64(h->value, &v);
        if (rc == -ERANGE)
            return fail(c, SIPMSG_E_CLEN_RANGE, hdr_off(c, h));
        if (rc)
            return fail(c, SIPMSG_E_CLEN_BAD, hdr_off(c, h));
        if (c->m->has_clen && v != *clen)
            return fail(c, SIPMSG_E_CLEN_CONFLICT, hdr_off(c, h));
        c->m->has_clen = true;
        *clen = v;
    }
    return 0;
}

/* CSeq = 1*DIGIT LWS Method (§20.16), number below 2^32. */
static int parse_cseq(struct pctx *c, const struct sipmsg_hdr *h)
{
    struct slice v = h->value;
    uint64_t num = 0;
    size_t i = 0, j;

    while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9') {
        num = num * 10 + (uint64_t)(v.p[i] - '0');
        if (num > UINT32_MAX)
            return fail(c, SIPMSG_E_CSEQ_BAD, hdr_off(c, h));
        i++;
    }
    j = i;
    while (j < v.n && sipchar_is_lws(v.p[j]))
        j++;
    c->m->cseq_method = (struct slice){ v.p + j, v.n - j };
    if (i == 0 || j == i || !sipchar_all_token(c->m->cseq_method))
        return fail(c, SIPMSG_E_CSEQ_BAD, hdr_off(c, h));
    c->m->cseq_num = (uint32_t)num;
    return 0;
}

/* §8.1.1: To, From, CSeq, Call-ID, Via (and responses carry them back). */
static int check_mandatory(struct pctx *c)
{
    static const struct {
        enum sipmsg_hdr_id id;
        enum sipmsg_err err;
    } need[] = {
        { SIPMSG_HDR_VIA, SIPMSG_E_MISSING_VIA },
        { SIPMSG_HDR_FROM, SIPMSG_E_MISSING_FROM },
        { SIPMSG_HDR_TO, SIPMSG_E_MISSING_TO },
        { SIPMSG_HDR_CALL_ID, SIPMSG_E_MISSING_CALL_ID },
        { SIPMSG_HDR_CSEQ, SIPMSG_E_MISSING_CSEQ },
    };
    const struct sipmsg *m = c->m;

    for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
        const struct sipmsg_hdr *h = sipmsg_hdr_find(m, need[k].id);
        if (!h || h->value.n == 0)
            return fail(c, need[k].err, h ? hdr_off(c, h) : c->pos);
    }
    return 0;
}

static int check_headers(struct pctx *c)
{
    struct sipmsg *m = c->m;
    const struct sipmsg_hdr *cseq;
    int rc = check_mandatory(c);

    if (rc)
        return rc;
    cseq = sipmsg_hdr_find(m, SIPMSG_HDR_CSEQ);
    rc = parse_cseq(c, cseq);
    if (rc)
        return rc;
    /* Method names are case-sensitive (§7.1); RFC 4475 §3.1.2.17. */
    if (m->is_request && !slice_eq(m->cseq_method, m->method))
        return fail(c, SIPMSG_E_CSEQ_MISMATCH, hdr_off(c, cseq));
    return 0;
}

/* Body by Content-Length; without it a datagram's body is the rest of the
 * buffer and a stream message is refused (§18.3). */
static int take_body(struct pctx *c)
{
    struct sipmsg *m = c->m;
    size_t avail = c->len - c->pos;
    uint64_t clen = 0;
    int rc = check_clen(c, &clen);

    if (rc)
        return rc;
    if (!m->has_clen) {
        if (c->stream)
            return fail(c, SIPMSG_E_CLEN_MISSING, c->pos);
        clen = avail;
    } else if (clen > avail) {
        return c->stream ? fail(c, SIPMSG_E_INCOMPLETE, c->len)
                         : fail(c, SIPMSG_E_CLEN_EXCEEDS, c->pos);
    }
    m->body = (struct slice){ c->b + c->pos, (size_t)clen };
    m->len = c->pos + (size_t)clen;
    return 0;
}

static void reset(struct sipmsg *m)
{
    m->buf = m->start_line = m->method = m->ruri = m->version = SLICE_NULL;
    m->reason = m->hdr_end = m->body = m->cseq_method = SLICE_NULL;
    m->len = 0;
    m->is_request = false;
    m->status = 0;
    m->nhdrs = 0;
    m->has_clen = false;
    m->cseq_num = 0;
    memset(m->first, 0, sizeof(m->first));
    m->err = SIPMSG_OK;
    m->err_off = 0;
}

int sipmsg_parse(struct sipmsg *m, const char *buf, size_t len, unsigned flags)
{
    struct pctx c = { m, buf, len, 0, (flags & SIPMSG_F_STREAM) != 0 };
    int rc;

    if (!m || (!buf && len))
        return -EINVAL;
    reset(m);
    rc = parse_start_line(&c);
    if (!rc)
        rc = parse_headers(&c);
    if (!rc)
        rc = take_body(&c);
    if (!rc)
        rc = check_headers(&c);
    if (!rc)
        m->buf = (struct slice){ buf, m->len };   /* set only on success */
    return rc;
}
