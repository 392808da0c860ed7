/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: STUN/SIP discrimination and Binding response parsing, on
 * the input as is and with its FINGERPRINT recomputed (so that the walk
 * past a valid FINGERPRINT is explored too). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/stun.h"
#include "sip/stun_int.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_ok(const uint8_t *buf, size_t len, const struct stun_response *r)
{
    CHECK(r->type == STUN_BINDING_SUCCESS || r->type == STUN_BINDING_ERROR);
    if (r->type == STUN_BINDING_SUCCESS) {
        CHECK((r->mapped.ss_family == AF_INET && r->mapped_len == sizeof(struct sockaddr_in)) ||
              (r->mapped.ss_family == AF_INET6 && r->mapped_len == sizeof(struct sockaddr_in6)));
    } else {
        CHECK(r->error_code >= 300 && r->error_code <= 699);
        CHECK(r->reason >= (const char *)buf + 24 &&
              r->reason + r->reason_len <= (const char *)buf + len);
    }
}

static void parse(const uint8_t *buf, size_t len)
{
    struct stun_response r;
    uint8_t other[STUN_TID_LEN];
    const uint8_t *tid = len >= STUN_HDR_LEN ? buf + 8 : other;
    int ret;

    memset(other, 0xA5, sizeof(other));
    ret = stun_parse_response(buf, len, tid, &r);
    if (ret == 0) {
        CHECK(stun_is_stun(buf, len));
        check_ok(buf, len, &r);
    } else {
        CHECK(ret == -EBADMSG || ret == -ENOMSG || ret == -EPROTO);
    }
    if (len >= STUN_HDR_LEN && memcmp(buf + 8, other, sizeof(other)) != 0)
        CHECK(stun_parse_response(buf, len, other, &r) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;
    uint8_t req[STUN_BINDING_REQ_MAX];
    size_t n;
    struct stun_response r;

    if (size > 4096)
        return 0;
    (void)stun_is_stun(data, size);
    parse(data, size);

    copy = malloc(size ? size : 1);
    CHECK(copy != NULL);
    memcpy(copy, data, size);
    if (size >= 28 && copy[size - 8] == 0x80 && copy[size - 7] == 0x28) {
        uint32_t crc = stun_crc32(copy, size - 8) ^ 0x5354554eu;

        copy[size - 6] = 0;
        copy[size - 5] = 4;
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
        parse(copy, size);
    }
    free(copy);

    if (size >= STUN_TID_LEN) {
        CHECK(stun_build_binding_request(data, size & 1, req, sizeof(req), &n) == 0);
        CHECK(stun_is_stun(req, n));
        CHECK(stun_parse_response(req, n, data, &r) == -ENOMSG);
    }
    return 0;
}
