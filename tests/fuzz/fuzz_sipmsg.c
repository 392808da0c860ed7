/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sipmsg.c - libFuzzer target for the SIP message module.
 *
 * For every input, as a datagram and as a stream:
 *  - parse; on success the parsed length must not exceed the input and
 *    the unedited serialisation must equal those bytes exactly;
 *  - walk every header with the value iterator (elements stay inside the
 *    header value, are trimmed and non-empty);
 *  - apply the registration agent's edits (all Via out, one Via in at the
 *    top, Contact replaced, a header added, the body replaced) and check the
 *    output parses again as a stream message with the expected shape;
 *  - for requests other than ACK, build a 400 response and check it parses.
 * Any mismatch abort()s so libFuzzer records the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"
#include "sip/msg_int.h"

#define OUT_MAX (1u << 17)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_iterator(const struct sipmsg *m)
{
    for (unsigned i = 0; i < m->nhdrs; i++) {
        const struct sipmsg_hdr *h = &m->hdrs[i];
        struct sipmsg_valit it;
        struct slice v;
        unsigned idx;

        sipmsg_valit_init_hdr(&it, m, i);
        while (sipmsg_valit_next(&it, &v, &idx)) {
            if (idx != i || v.n == 0 || v.p < h->value.p ||
                v.p + v.n > h->value.p + h->value.n || v.p[0] == ' ' ||
                v.p[v.n - 1] == ' ')
                abort();
        }
    }
    for (int id = 0; id < SIPMSG_HDR__COUNT; id++) {
        struct sipmsg_valit it;
        struct slice v;

        sipmsg_valit_init(&it, m, (enum sipmsg_hdr_id)id);
        while (sipmsg_valit_next(&it, &v, NULL))
            if (v.n == 0)
                abort();
    }
}

static void check_identity(const struct sipmsg *m, const uint8_t *data, size_t size,
                           char *out)
{
    size_t outlen = 0;

    if (m->len > size || m->buf.p != (const char *)data || m->buf.n != m->len)
        abort();
    if (sipmsg_serialize(m, NULL, out, OUT_MAX, &outlen) != 0)
        abort();
    if (outlen != m->len || memcmp(out, data, outlen) != 0)
        abort();
    if (m->len > 0 && sipmsg_serialize(m, NULL, out, m->len - 1, &outlen) != -ENOSPC)
        abort();
}

static void check_edits(const struct sipmsg *m, char *out, struct sipmsg *m2)
{
    static const char via[] = "SIP/2.0/TLS 198.51.100.3:50412;branch=z9hG4bKfz;rport";
    static const char body[] = "v=0\r\n";
    struct sipmsg_edits ed;
    const struct sipmsg_hdr *contact = sipmsg_hdr_find(m, SIPMSG_HDR_CONTACT);
    size_t outlen = 0;
    unsigned want;
    int rc, nvia;

    sipmsg_edits_init(&ed, m, SIPMSG_SER_CLEN);
    nvia = sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA);
    if (nvia < 1)
        abort();
    /* Via and Supported added, Content-Length appended when absent. */
    want = m->nhdrs - (unsigned)nvia + 2 + (m->has_clen ? 0 : 1);
    if (sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), SLICE_LIT(via)) ||
        sipmsg_edit_add(&ed, SIPMSG_POS_END, 0, SLICE_LIT("Supported"), SLICE_LIT("outbound")) ||
        sipmsg_edit_body(&ed, SLICE_LIT(body)))
        abort();
    if (contact && sipmsg_edit_replace(&ed, (unsigned)(contact - m->hdrs), SLICE_LIT("<sip:a@b;ob>")))
        abort();
    if (m->is_request && sipmsg_edit_ruri(&ed, SLICE_LIT("sip:x@[2001:db8::1]")))
        abort();
    rc = sipmsg_serialize(m, &ed, out, OUT_MAX, &outlen);
    if (rc == -ENOSPC)
        return;
    if (rc)
        abort();
    rc = sipmsg_parse(m2, out, outlen, SIPMSG_F_STREAM);
    if (want > SIPMSG_MAX_HDRS) {
        if (rc != -E2BIG)
            abort();
        return;
    }
    if (rc != 0 || m2->nhdrs != want)
        abort();
    if (m2->len != outlen || m2->hdrs[0].id != SIPMSG_HDR_VIA ||
        sipmsg_hdr_next(m2, SIPMSG_HDR_VIA, 0) != -ENOENT ||
        !slice_eq(m2->body, SLICE_LIT(body)) || m2->is_request != m->is_request)
        abort();
}

static void check_response(const struct sipmsg *m, char *out, struct sipmsg *m2)
{
    static const struct sipmsg_nv extra[] = { { SLICE_LIT("Server"), SLICE_LIT("sipkeep") } };
    size_t outlen = 0;
    int rc;

    rc = sipmsg_build_response(m, 400, SLICE_NULL, SLICE_LIT("fz1"), extra, 1, out,
                               OUT_MAX, &outlen);
    if (!m->is_request || slice_eq(m->method, SLICE_LIT("ACK"))) {
        if (rc != -EINVAL)
            abort();
        return;
    }
    if (rc == -ENOSPC)
        return;
    if (rc || sipmsg_parse(m2, out, outlen, SIPMSG_F_STREAM) != 0 || m2->status != 400 ||
        m2->cseq_num != m->cseq_num || !slice_eq(m2->cseq_method, m->cseq_method))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flags[] = { 0, SIPMSG_F_STREAM };
    struct sipmsg *m = malloc(sizeof(*m)), *m2 = malloc(sizeof(*m2));
    char *out = malloc(OUT_MAX);

    if (!m || !m2 || !out)
        abort();
    for (size_t f = 0; f < 2; f++) {
        int rc = sipmsg_parse(m, (const char *)data, size, flags[f]);
        if (rc != 0) {
            if (rc != -EBADMSG && rc != -E2BIG && rc != -EAGAIN)
                abort();
            if (m->err == SIPMSG_OK || m->err_off > size)
                abort();
            continue;
        }
        check_identity(m, data, size, out);
        check_iterator(m);
        check_edits(m, out, m2);
        check_response(m, out, m2);
    }
    free(m);
    free(m2);
    free(out);
    return 0;
}
