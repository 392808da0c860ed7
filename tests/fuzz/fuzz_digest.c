/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the input as a WWW-Authenticate / Proxy-Authenticate value.
 * Whatever parses must hold NUL-terminated values within their buffers and
 * yield credentials that carry the nonce and realm back. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/digest.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct digest_challenge c;
    char out[4096];
    size_t n;
    int r;

    if (size > 4000)
        return 0;
    r = digest_parse_challenge(&c, (struct slice){ (const char *)data, size });
    CHECK(r == 0 || r == -EPROTONOSUPPORT || r == -ENOTSUP || r == -EBADMSG ||
          r == -ENAMETOOLONG);
    if (r != 0)
        return 0;
    CHECK(memchr(c.realm, '\0', sizeof(c.realm)) && memchr(c.nonce, '\0', sizeof(c.nonce)));
    CHECK(memchr(c.opaque, '\0', sizeof(c.opaque)));
    r = digest_authorize(&c, "user", "pw", "REGISTER", "sip:example.com", 1, "0a4f113b", out,
                         sizeof(out), &n);
    CHECK(r == 0 || r == -EINVAL || r == -ENOSPC);
    if (r == 0)
        CHECK(n == strlen(out) && strncmp(out, "Digest username=\"user\"", 22) == 0 &&
              !strpbrk(out, "\r\n"));
    return 0;
}
