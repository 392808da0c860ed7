/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg_hdr.c - header names, header lookup and the value iterator of
 * parsed SIP messages; see msg.h.
 */
#include "sip/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/msg_int.h"

/* ---- Header names ------------------------------------------------------ */

/* n equals the lower-case literal lit, ASCII case-insensitively. */
static bool name_is(struct slice n, const char *lit)
{
    for (size_t i = 0; i < n.n; i++) {
        char c = n.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != lit[i])
            return false;
    }
    return true;
}

/* Compact forms, RFC 3261 §7.3.3 and the extensions' own RFCs. */
static enum sipmsg_hdr_id compact_id(char c)
{
    switch (c | 0x20) {
    case 'i': return SIPMSG_HDR_CALL_ID;
    case 'm': return SIPMSG_HDR_CONTACT;
    case 'e': return SIPMSG_HDR_CONTENT_ENCODING;
    case 'l': return SIPMSG_HDR_CONTENT_LENGTH;
    case 'c': return SIPMSG_HDR_CONTENT_TYPE;
    case 'f': return SIPMSG_HDR_FROM;
    case 's': return SIPMSG_HDR_SUBJECT;
    case 'k': return SIPMSG_HDR_SUPPORTED;
    case 't': return SIPMSG_HDR_TO;
    case 'v': return SIPMSG_HDR_VIA;
    case 'o': return SIPMSG_HDR_EVENT;          /* RFC 6665 */
    case 'r': return SIPMSG_HDR_REFER_TO;       /* RFC 3515 */
    case 'u': return SIPMSG_HDR_ALLOW_EVENTS;   /* RFC 6665 */
    case 'x': return SIPMSG_HDR_SESSION_EXPIRES;/* RFC 4028 */
    case 'b': return SIPMSG_HDR_REFERRED_BY;    /* RFC 3892 */
    default: return SIPMSG_HDR_OTHER;
    }
}

/* Full names by length; within one length the first letters tell most
 * apart, so a lookup is usually one full comparison. */
#define MAX_NAME_LEN 19
#define PER_LEN 6

static const struct hname {
    const char *lc;
    enum sipmsg_hdr_id id;
} names_by_len[MAX_NAME_LEN + 1][PER_LEN] = {
    [2] = { { "to", SIPMSG_HDR_TO } },
    [3] = { { "via", SIPMSG_HDR_VIA } },
    [4] = { { "cseq", SIPMSG_HDR_CSEQ }, { "from", SIPMSG_HDR_FROM },
            { "path", SIPMSG_HDR_PATH }, { "date", SIPMSG_HDR_DATE } },
    [5] = { { "route", SIPMSG_HDR_ROUTE }, { "allow", SIPMSG_HDR_ALLOW },
            { "event", SIPMSG_HDR_EVENT } },
    [6] = { { "accept", SIPMSG_HDR_ACCEPT }, { "server", SIPMSG_HDR_SERVER } },
    [7] = { { "call-id", SIPMSG_HDR_CALL_ID }, { "contact", SIPMSG_HDR_CONTACT },
            { "expires", SIPMSG_HDR_EXPIRES }, { "require", SIPMSG_HDR_REQUIRE },
            { "subject", SIPMSG_HDR_SUBJECT }, { "warning", SIPMSG_HDR_WARNING } },
    [8] = { { "refer-to", SIPMSG_HDR_REFER_TO } },
    [9] = { { "supported", SIPMSG_HDR_SUPPORTED }, { "timestamp", SIPMSG_HDR_TIMESTAMP } },
    [10] = { { "user-agent", SIPMSG_HDR_USER_AGENT }, { "flow-timer", SIPMSG_HDR_FLOW_TIMER } },
    [11] = { { "min-expires", SIPMSG_HDR_MIN_EXPIRES }, { "retry-after", SIPMSG_HDR_RETRY_AFTER },
             { "unsupported", SIPMSG_HDR_UNSUPPORTED }, { "referred-by", SIPMSG_HDR_REFERRED_BY } },
    [12] = { { "max-forwards", SIPMSG_HDR_MAX_FORWARDS }, { "content-type", SIPMSG_HDR_CONTENT_TYPE },
             { "record-route", SIPMSG_HDR_RECORD_ROUTE }, { "allow-events", SIPMSG_HDR_ALLOW_EVENTS } },
    [13] = { { "authorization", SIPMSG_HDR_AUTHORIZATION },
             { "proxy-require", SIPMSG_HDR_PROXY_REQUIRE },
             { "service-route", SIPMSG_HDR_SERVICE_ROUTE } },
    [14] = { { "content-length", SIPMSG_HDR_CONTENT_LENGTH } },
    [15] = { { "session-expires", SIPMSG_HDR_SESSION_EXPIRES } },
    [16] = { { "www-authenticate", SIPMSG_HDR_WWW_AUTHENTICATE },
             { "content-encoding", SIPMSG_HDR_CONTENT_ENCODING } },
    [18] = { { "proxy-authenticate", SIPMSG_HDR_PROXY_AUTHENTICATE },
             { "subscription-state", SIPMSG_HDR_SUBSCRIPTION_STATE } },
    [19] = { { "proxy-authorization", SIPMSG_HDR_PROXY_AUTHORIZATION },
             { "authentication-info", SIPMSG_HDR_AUTHENTICATION_INFO } },
};

enum sipmsg_hdr_id sipmsg_hdr_lookup(struct slice n)
{
    const struct hname *cand;
    char first;

    if (!n.p || n.n == 0 || n.n > MAX_NAME_LEN)
        return SIPMSG_HDR_OTHER;
    if (n.n == 1)
        return compact_id(n.p[0]);
    first = (char)(n.p[0] | 0x20);
    cand = names_by_len[n.n];
    for (size_t k = 0; k < PER_LEN && cand[k].lc; k++) {
        if (cand[k].lc[0] == first && name_is(n, cand[k].lc))
            return cand[k].id;
    }
    return SIPMSG_HDR_OTHER;
}

/* ---- Access ------------------------------------------------------------ */

const struct sipmsg_hdr *sipmsg_hdr_find(const struct sipmsg *m,
                                         enum sipmsg_hdr_id id)
{
    if ((unsigned)id >= SIPMSG_HDR__COUNT || m->first[id] == 0)
        return NULL;
    return &m->hdrs[m->first[id] - 1];
}

int sipmsg_hdr_next(const struct sipmsg *m, enum sipmsg_hdr_id id, int prev)
{
    if ((unsigned)id >= SIPMSG_HDR__COUNT)
        return -ENOENT;
    if (prev < 0)
        return m->first[id] ? m->first[id] - 1 : -ENOENT;
    for (unsigned i = (unsigned)prev + 1; i < m->nhdrs; i++) {
        if (m->hdrs[i].id == id)
            return (int)i;
    }
    return -ENOENT;
}

int sipmsg_hdr_next_name(const struct sipmsg *m, struct slice name, int prev)
{
    enum sipmsg_hdr_id id = sipmsg_hdr_lookup(name);

    if (id != SIPMSG_HDR_OTHER)
        return sipmsg_hdr_next(m, id, prev);
    for (unsigned i = prev < 0 ? 0 : (unsigned)prev + 1; i < m->nhdrs; i++) {
        if (m->hdrs[i].id == SIPMSG_HDR_OTHER && slice_eq_ci(m->hdrs[i].name, name))
            return (int)i;
    }
    return -ENOENT;
}

bool sipmsg_hdr_is_list(enum sipmsg_hdr_id id)
{
    switch (id) {
    case SIPMSG_HDR_AUTHORIZATION: case SIPMSG_HDR_PROXY_AUTHORIZATION:
    case SIPMSG_HDR_WWW_AUTHENTICATE: case SIPMSG_HDR_PROXY_AUTHENTICATE:
    case SIPMSG_HDR_AUTHENTICATION_INFO: case SIPMSG_HDR_DATE:
    case SIPMSG_HDR_USER_AGENT: case SIPMSG_HDR_SERVER:
    case SIPMSG_HDR_SUBJECT: case SIPMSG_HDR_RETRY_AFTER:
    case SIPMSG_HDR_CALL_ID: case SIPMSG_HDR_CSEQ:
    case SIPMSG_HDR_FROM: case SIPMSG_HDR_TO:
    case SIPMSG_HDR_CONTENT_TYPE: case SIPMSG_HDR_CONTENT_LENGTH:
    case SIPMSG_HDR_MAX_FORWARDS: case SIPMSG_HDR_EXPIRES:
    case SIPMSG_HDR_MIN_EXPIRES: case SIPMSG_HDR_FLOW_TIMER:
    case SIPMSG_HDR_EVENT: case SIPMSG_HDR_REFER_TO:
    case SIPMSG_HDR_REFERRED_BY: case SIPMSG_HDR_SUBSCRIPTION_STATE:
    case SIPMSG_HDR_SESSION_EXPIRES: case SIPMSG_HDR_TIMESTAMP:
        return false;
    default:
        return true;
    }
}

/* ---- Value iterator ---------------------------------------------------- */

void sipmsg_valit_init(struct sipmsg_valit *it, const struct sipmsg *m,
                       enum sipmsg_hdr_id id)
{
    int first = sipmsg_hdr_next(m, id, -1);

    *it = (struct sipmsg_valit){ m, id, first < 0 ? -1 : first, false,
                                 sipmsg_hdr_is_list(id), 0 };
}

void sipmsg_valit_init_hdr(struct sipmsg_valit *it, const struct sipmsg *m,
                           unsigned idx)
{
    enum sipmsg_hdr_id id = idx < m->nhdrs ? m->hdrs[idx].id : SIPMSG_HDR_OTHER;

    *it = (struct sipmsg_valit){ m, id, idx < m->nhdrs ? (int)idx : -1, true,
                                 sipmsg_hdr_is_list(id), 0 };
}

/* End of the list element starting at i: the next comma outside quotes and
 * angle brackets, or v.n. */
static size_t elem_end(struct slice v, size_t i)
{
    while (i < v.n) {
        char ch = v.p[i];
        if (ch == ',')
            return i;
        if (ch == '"')
            i = msg_skip_quoted(v, i + 1);
        else if (ch == '<')
            i = msg_skip_angle(v, i);
        else
            i++;
    }
    return v.n;
}

bool sipmsg_valit_next(struct sipmsg_valit *it, struct slice *val,
                       unsigned *hdr_idx)
{
    while (it->hdr >= 0) {
        struct slice v = it->m->hdrs[it->hdr].value;
        if (it->off < v.n) {
            size_t end = it->split ? elem_end(v, it->off) : v.n;
            struct slice e = slice_trim((struct slice){ v.p + it->off, end - it->off });
            it->off = end + 1;
            if (e.n == 0)
                continue;
            *val = e;
            if (hdr_idx)
                *hdr_idx = (unsigned)it->hdr;
            return true;
        }
        it->off = 0;
        if (it->single) {
            it->hdr = -1;
        } else {
            int nx = sipmsg_hdr_next(it->m, it->id, it->hdr);
            it->hdr = nx < 0 ? -1 : nx;
        }
    }
    return false;
}

bool sipmsg_hdr_has_token(const struct sipmsg *m, enum sipmsg_hdr_id id, const char *tok)
{
    struct sipmsg_valit it;
    struct slice v;

    sipmsg_valit_init(&it, m, id);
    while (sipmsg_valit_next(&it, &v, NULL)) {
        if (slice_eq_ci_str(slice_trim(v), tok))
            return true;
    }
    return false;
}
