/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the framer fed a stream in chunks whose sizes come from the
 * first input bytes.  Every reported unit lies within the buffered bytes
 * and matches its kind; the walk ends; in the server role the units do not
 * depend on how the stream was chunked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/frame.h"
#include "sip/frame_int.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* What a walk over the stream produced. */
struct trace {
    uint64_t hash;   /* of the (kind, len) sequence */
    size_t units;
    size_t consumed;
    int err;
};

static void add_unit(struct trace *t, const struct frame_result *fr)
{
    t->hash = (t->hash ^ ((uint64_t)fr->kind << 32 | fr->len)) * 0x100000001b3ull;
    t->units++;
    t->consumed += fr->len;
}

/* Checks one answer about buf[0..have). */
static void check_result(const char *buf, size_t have, const struct frame_result *fr)
{
    switch (fr->kind) {
    case FRAME_NEED_MORE:
        CHECK(fr->len == 0 && fr->need > have);
        break;
    case FRAME_MESSAGE:
        CHECK(fr->len == fr->hdr_len + fr->body_len && fr->len <= have);
        CHECK(fr->hdr_len <= FRAME_MAX_HDR && fr->body_len <= FRAME_MAX_BODY);
        CHECK(fr->hdr_len >= 4 && memcmp(buf + fr->hdr_len - 4, "\r\n\r\n", 4) == 0);
        break;
    case FRAME_PING:
        CHECK(fr->len == 4 && have >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0);
        break;
    case FRAME_PONG:
        CHECK(fr->len == 2 && have >= 2 && memcmp(buf, "\r\n", 2) == 0);
        break;
    default:
        abort();
    }
}

/* Asks the framer about an exact-size heap copy (ASan guards the end). */
static int ask(const char *buf, size_t have, enum frame_role role, struct frame_result *fr)
{
    char *copy = malloc(have ? have : 1);
    int r;

    CHECK(copy != NULL);
    memcpy(copy, buf, have);
    r = frame_next_role(copy, have, role, fr);
    free(copy);
    if (r < 0)
        CHECK(fr->kind == FRAME_ERROR && fr->len == 0);
    else
        check_result(buf, have, fr);
    return r;
}

/* Walks the stream, adding chunk bytes at a time (cycling over sizes). */
static struct trace walk(const char *s, size_t n, const uint8_t *sizes, size_t nsizes,
                         enum frame_role role)
{
    struct trace t = { 0xcbf29ce484222325ull, 0, 0, 0 };
    size_t avail = 0, k = 0, calls = 0;

    while (t.err == 0) {
        struct frame_result fr;
        size_t chunk = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : n;

        avail = avail + chunk > n ? n : avail + chunk;
        for (;;) {
            CHECK(++calls <= 4 * n + 64); /* every call consumes or waits */
            t.err = ask(s + t.consumed, avail - t.consumed, role, &fr);
            if (t.err < 0 || fr.kind == FRAME_NEED_MORE)
                break;
            add_unit(&t, &fr);
        }
        if (avail == n)
            break;
    }
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nsizes;
    const char *s;
    size_t n;
    struct trace whole, chunked;

    if (size < 1 || size > 8192)
        return 0;
    nsizes = data[0] & 7;
    if (size < 1 + nsizes)
        return 0;
    s = (const char *)data + 1 + nsizes;
    n = size - 1 - nsizes;
    whole = walk(s, n, NULL, 0, FRAME_ROLE_SERVER);
    chunked = walk(s, n, data + 1, nsizes, FRAME_ROLE_SERVER);
    CHECK(whole.hash == chunked.hash && whole.units == chunked.units && whole.err == chunked.err);
    (void)walk(s, n, data + 1, nsizes, FRAME_ROLE_CLIENT);
    return 0;
}
