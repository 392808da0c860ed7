/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg_edit.c - edits, serialisation and response building; see msg.h.
 *
 * Serialisation runs the same emitter twice: once counting, once copying.
 * The output buffer is touched only when the count says everything fits,
 * so -ENOSPC leaves no partial output.
 */
#include "sip/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/msg_int.h"

/* Output cursor; p == NULL counts without writing. */
struct wr {
    char *p;
    size_t len;
};

static void put(struct wr *w, const char *s, size_t n)
{
    if (w->p && n)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void put_slice(struct wr *w, struct slice s)
{
    put(w, s.p, s.n);
}

#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* "name: value CRLF" */
static void put_header(struct wr *w, struct slice name, struct slice value)
{
    put_slice(w, name);
    PUT_LIT(w, ": ");
    put_slice(w, value);
    PUT_LIT(w, "\r\n");
}

/* Decimal of v into buf (>= 21 bytes); returns the slice. */
static struct slice fmt_u64(char *buf, size_t bufsz, uint64_t v)
{
    size_t i = bufsz;

    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    return (struct slice){ buf + i, bufsz - i };
}

/* ---- Recording edits --------------------------------------------------- */

void sipmsg_edits_init(struct sipmsg_edits *ed, const struct sipmsg *m,
                       unsigned flags)
{
    ed->m = m;
    ed->n = 0;
    memset(ed->removed, 0, sizeof(ed->removed));
    ed->ruri = SLICE_NULL;
    ed->body = SLICE_NULL;
    ed->body_set = false;
    ed->flags = flags;
}

static bool value_ok(struct slice v)
{
    return (v.p || v.n == 0) && msg_no_ctl(v);
}

static bool is_clen(struct slice name)
{
    return sipmsg_hdr_lookup(name) == SIPMSG_HDR_CONTENT_LENGTH;
}

/* A name/value pair fit to become a header line we emit. */
static bool header_ok(struct slice name, struct slice value)
{
    return name.p && sipchar_all_token(name) && !is_clen(name) && value_ok(value);
}

static int push(struct sipmsg_edits *ed, struct sipmsg_edit e)
{
    if (ed->n >= SIPMSG_MAX_EDITS)
        return -ENOSPC;
    ed->e[ed->n++] = e;
    return 0;
}

int sipmsg_edit_add(struct sipmsg_edits *ed, enum sipmsg_pos pos, unsigned idx,
                    struct slice name, struct slice value)
{
    bool rel = pos == SIPMSG_POS_BEFORE || pos == SIPMSG_POS_AFTER;

    if (!ed || !ed->m || !header_ok(name, value) || (unsigned)pos > SIPMSG_POS_END ||
        (rel && idx >= ed->m->nhdrs))
        return -EINVAL;
    return push(ed, (struct sipmsg_edit){ SIPMSG_EDIT_ADD, pos, rel ? idx : 0,
                                          name, value });
}

static bool idx_editable(const struct sipmsg_edits *ed, unsigned idx)
{
    return ed && ed->m && idx < ed->m->nhdrs &&
           ed->m->hdrs[idx].id != SIPMSG_HDR_CONTENT_LENGTH;
}

int sipmsg_edit_remove(struct sipmsg_edits *ed, unsigned idx)
{
    if (!idx_editable(ed, idx))
        return -EINVAL;
    ed->removed[idx] = 1;
    return 0;
}

int sipmsg_edit_remove_all(struct sipmsg_edits *ed, enum sipmsg_hdr_id id)
{
    int n = 0;

    if (!ed || !ed->m || (unsigned)id >= SIPMSG_HDR__COUNT ||
        id == SIPMSG_HDR_CONTENT_LENGTH)
        return -EINVAL;
    for (int i = sipmsg_hdr_next(ed->m, id, -1); i >= 0;
         i = sipmsg_hdr_next(ed->m, id, i)) {
        ed->removed[i] = 1;
        n++;
    }
    return n;
}

int sipmsg_edit_replace(struct sipmsg_edits *ed, unsigned idx, struct slice value)
{
    if (!idx_editable(ed, idx) || ed->removed[idx] || !value_ok(value))
        return -EINVAL;
    return push(ed, (struct sipmsg_edit){ SIPMSG_EDIT_REPLACE, SIPMSG_POS_TOP, idx,
                                          SLICE_NULL, value });
}

int sipmsg_edit_ruri(struct sipmsg_edits *ed, struct slice ruri)
{
    if (!ed || !ed->m || !ed->m->is_request || !ruri.p || !msg_no_ctl(ruri) ||
        memchr(ruri.p, ' ', ruri.n) || memchr(ruri.p, '\t', ruri.n) ||
        !msg_has_scheme(ruri))
        return -EINVAL;
    ed->ruri = ruri;
    return 0;
}

int sipmsg_edit_body(struct sipmsg_edits *ed, struct slice body)
{
    if (!ed || !ed->m || (!body.p && body.n))
        return -EINVAL;
    ed->body = body;
    ed->body_set = true;
    return 0;
}

/* ---- Serialising ------------------------------------------------------- */

/* What the emitter needs besides m and ed. */
struct ser {
    const struct sipmsg *m;
    const struct sipmsg_edits *ed;   /* NULL: no edits */
    struct slice body;
    struct slice clen;               /* new Content-Length value, or NULL */
    bool append_clen;
};

static void emit_adds(const struct ser *s, enum sipmsg_pos pos, unsigned idx,
                      struct wr *w)
{
    if (!s->ed)
        return;
    for (unsigned k = 0; k < s->ed->n; k++) {
        const struct sipmsg_edit *e = &s->ed->e[k];
        if (e->op == SIPMSG_EDIT_ADD && e->pos == pos && e->idx == idx)
            put_header(w, e->name, e->value);
    }
}

/* The last replace of header idx, or NULL. */
static const struct sipmsg_edit *find_replace(const struct sipmsg_edits *ed,
                                              unsigned idx)
{
    const struct sipmsg_edit *r = NULL;

    for (unsigned k = 0; ed && k < ed->n; k++) {
        if (ed->e[k].op == SIPMSG_EDIT_REPLACE && ed->e[k].idx == idx)
            r = &ed->e[k];
    }
    return r;
}

static void emit_header(const struct ser *s, unsigned i, struct wr *w)
{
    const struct sipmsg_hdr *h = &s->m->hdrs[i];
    const struct sipmsg_edit *r;

    if (s->ed && s->ed->removed[i])
        return;
    if (h->id == SIPMSG_HDR_CONTENT_LENGTH && s->clen.p) {
        put_header(w, h->name, s->clen);
        return;
    }
    r = find_replace(s->ed, i);
    if (r)
        put_header(w, h->name, r->value);
    else
        put_slice(w, h->raw);
}

static void emit_start_line(const struct ser *s, struct wr *w)
{
    const struct sipmsg *m = s->m;

    if (!s->ed || !s->ed->ruri.p) {
        put_slice(w, m->start_line);
        return;
    }
    put_slice(w, m->method);
    PUT_LIT(w, " ");
    put_slice(w, s->ed->ruri);
    PUT_LIT(w, " ");
    put_slice(w, m->version);
    PUT_LIT(w, "\r\n");
}

static void emit_message(const struct ser *s, struct wr *w)
{
    emit_start_line(s, w);
    emit_adds(s, SIPMSG_POS_TOP, 0, w);
    for (unsigned i = 0; i < s->m->nhdrs; i++) {
        emit_adds(s, SIPMSG_POS_BEFORE, i, w);
        emit_header(s, i, w);
        emit_adds(s, SIPMSG_POS_AFTER, i, w);
    }
    emit_adds(s, SIPMSG_POS_END, 0, w);
    if (s->append_clen)
        put_header(w, SLICE_LIT("Content-Length"), s->clen);
    put_slice(w, s->m->hdr_end);
    put_slice(w, s->body);
}

/* Counts, then writes only if everything fits. */
static int emit_twice(void (*emit)(const void *, struct wr *), const void *arg,
                      char *out, size_t outsz, size_t *outlen)
{
    struct wr w = { NULL, 0 };

    emit(arg, &w);
    if (w.len > outsz)
        return -ENOSPC;
    w = (struct wr){ out, 0 };
    emit(arg, &w);
    *outlen = w.len;
    return 0;
}

static void emit_message_cb(const void *arg, struct wr *w)
{
    emit_message(arg, w);
}

int sipmsg_serialize(const struct sipmsg *m, const struct sipmsg_edits *ed,
                     char *out, size_t outsz, size_t *outlen)
{
    char num[24];
    struct ser s = { m, ed, SLICE_NULL, SLICE_NULL, false };
    bool body_set = ed && ed->body_set;

    if (!m || !outlen || (!out && outsz) || !m->buf.p || (ed && ed->m != m))
        return -EINVAL;
    s.body = body_set ? ed->body : m->body;
    /* §18.3 / §20.14: the value must match the body we actually send. */
    if (body_set || (!m->has_clen && ed && (ed->flags & SIPMSG_SER_CLEN)))
        s.clen = fmt_u64(num, sizeof(num), s.body.n);
    s.append_clen = s.clen.p && !m->has_clen;
    return emit_twice(emit_message_cb, &s, out, outsz, outlen);
}

/* ---- Responses --------------------------------------------------------- */

/* Whether a To/From value carries a tag parameter: a ";" outside quotes and
 * angle brackets followed by LWS "tag" LWS "=" (§20.39, §25.1). */
static bool has_tag_param(struct slice v)
{
    size_t i = 0;

    while (i < v.n) {
        if (v.p[i] == '"') {
            i = msg_skip_quoted(v, i + 1);
        } else if (v.p[i] == '<') {
            i = msg_skip_angle(v, i);
        } else if (v.p[i] == ';') {
            struct slice rest = slice_trim((struct slice){ v.p + i + 1, v.n - i - 1 });
            if (rest.n > 3 && slice_eq_ci((struct slice){ rest.p, 3 }, SLICE_LIT("tag"))) {
                struct slice eq = slice_trim((struct slice){ rest.p + 3, rest.n - 3 });
                if (eq.n > 0 && eq.p[0] == '=')
                    return true;
            }
            i++;
        } else {
            i++;
        }
    }
    return false;
}

struct resp {
    const struct sipmsg *req;
    char code[3];
    struct slice reason;
    struct slice to_tag;   /* NULL: To copied as is */
    const struct sipmsg_nv *extra;
    size_t nextra;
};

static void emit_to(const struct resp *r, const struct sipmsg_hdr *to, struct wr *w)
{
    if (!r->to_tag.p) {
        put_slice(w, to->raw);
        return;
    }
    put_slice(w, to->name);
    PUT_LIT(w, ": ");
    put_slice(w, to->value);
    PUT_LIT(w, ";tag=");
    put_slice(w, r->to_tag);
    PUT_LIT(w, "\r\n");
}

static void emit_response(const void *arg, struct wr *w)
{
    const struct resp *r = arg;
    const struct sipmsg *req = r->req;

    PUT_LIT(w, "SIP/2.0 ");
    put(w, r->code, 3);
    PUT_LIT(w, " ");
    put_slice(w, r->reason);
    PUT_LIT(w, "\r\n");
    for (int i = sipmsg_hdr_next(req, SIPMSG_HDR_VIA, -1); i >= 0;
         i = sipmsg_hdr_next(req, SIPMSG_HDR_VIA, i))
        put_slice(w, req->hdrs[i].raw);
    put_slice(w, sipmsg_hdr_find(req, SIPMSG_HDR_FROM)->raw);
    emit_to(r, sipmsg_hdr_find(req, SIPMSG_HDR_TO), w);
    put_slice(w, sipmsg_hdr_find(req, SIPMSG_HDR_CALL_ID)->raw);
    put_slice(w, sipmsg_hdr_find(req, SIPMSG_HDR_CSEQ)->raw);
    for (size_t k = 0; k < r->nextra; k++)
        put_header(w, r->extra[k].name, r->extra[k].value);
    PUT_LIT(w, "Content-Length: 0\r\n\r\n");
}

static bool tag_ok(struct slice tag)
{
    return !tag.p || sipchar_all_token(tag);   /* tag = token, §25.1 */
}

static bool extras_ok(const struct sipmsg_nv *extra, size_t nextra)
{
    if (nextra && !extra)
        return false;
    for (size_t k = 0; k < nextra; k++) {
        if (!header_ok(extra[k].name, extra[k].value))
            return false;
    }
    return true;
}

int sipmsg_build_response(const struct sipmsg *req, unsigned status,
                          struct slice reason, struct slice to_tag,
                          const struct sipmsg_nv *extra, size_t nextra,
                          char *out, size_t outsz, size_t *outlen)
{
    struct resp r = { req, { 0 }, reason, to_tag, extra, nextra };

    if (!req || !req->is_request || !req->buf.p || !outlen || (!out && outsz) ||
        status < 100 || status > 699 || !value_ok(reason) || !tag_ok(to_tag) ||
        !extras_ok(extra, nextra) ||
        slice_eq(req->method, SLICE_LIT("ACK")))   /* §17.2.1: ACK gets none */
        return -EINVAL;
    if (!reason.p)
        r.reason = slice_cstr(sipmsg_reason_phrase(status));
    /* §8.2.6.2: the UAS adds a To tag, except to a 100 (Trying). */
    if (status == 100 || has_tag_param(sipmsg_hdr_find(req, SIPMSG_HDR_TO)->value))
        r.to_tag = SLICE_NULL;
    r.code[0] = (char)('0' + status / 100);
    r.code[1] = (char)('0' + status / 10 % 10);
    r.code[2] = (char)('0' + status % 10);
    return emit_twice(emit_response, &r, out, outsz, outlen);
}

const char *sipmsg_reason_phrase(unsigned status)
{
    static const struct { unsigned short code; const char *text; } tab[] = {
        { 100, "Trying" }, { 180, "Ringing" }, { 181, "Call Is Being Forwarded" },
        { 182, "Queued" }, { 183, "Session Progress" }, { 200, "OK" },
        { 202, "Accepted" }, { 300, "Multiple Choices" },
        { 301, "Moved Permanently" }, { 302, "Moved Temporarily" },
        { 305, "Use Proxy" }, { 380, "Alternative Service" },
        { 400, "Bad Request" }, { 401, "Unauthorized" },
        { 402, "Payment Required" }, { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
        { 407, "Proxy Authentication Required" }, { 408, "Request Timeout" },
        { 410, "Gone" }, { 413, "Request Entity Too Large" },
        { 414, "Request-URI Too Long" }, { 415, "Unsupported Media Type" },
        { 416, "Unsupported URI Scheme" }, { 420, "Bad Extension" },
        { 421, "Extension Required" }, { 423, "Interval Too Brief" },
        { 430, "Flow Failed" }, { 439, "First Hop Lacks Outbound Support" },
        { 480, "Temporarily Unavailable" },
        { 481, "Call/Transaction Does Not Exist" }, { 482, "Loop Detected" },
        { 483, "Too Many Hops" }, { 484, "Address Incomplete" },
        { 485, "Ambiguous" }, { 486, "Busy Here" }, { 487, "Request Terminated" },
        { 488, "Not Acceptable Here" }, { 491, "Request Pending" },
        { 493, "Undecipherable" }, { 500, "Server Internal Error" },
        { 501, "Not Implemented" }, { 502, "Bad Gateway" },
        { 503, "Service Unavailable" }, { 504, "Server Time-out" },
        { 505, "Version Not Supported" }, { 513, "Message Too Large" },
        { 600, "Busy Everywhere" }, { 603, "Decline" },
        { 604, "Does Not Exist Anywhere" }, { 606, "Not Acceptable" },
    };
    static const char *const cls[] = { "Provisional", "Success", "Redirection",
                                       "Client Error", "Server Error",
                                       "Global Failure" };

    for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
        if (tab[k].code == status)
            return tab[k].text;
    }
    if (status >= 100 && status <= 699)
        return cls[status / 100 - 1];
    return "Unknown";
}
