/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the one part of a DNS answer sipkeep reads itself
 * (outbound/resolve.c resolve_min_ttl: the TTLs c-ares' SRV and NAPTR
 * parsers drop): any bytes give 0 with a TTL, -ENOENT or -EBADMSG, never
 * a read outside the buffer.  The first byte picks the record type. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "outbound/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned types[] = { 33, 35, 1, 28 };
    unsigned char *copy;
    uint32_t ttl = 0;
    int rc;

    if (size < 1)
        return 0;
    /* an exact-size heap copy: ASan sees any byte read past the end */
    copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy)
        return 0;
    for (size_t i = 1; i < size; i++)
        copy[i - 1] = data[i];
    rc = resolve_min_ttl(copy, size - 1, types[data[0] & 3], &ttl);
    if (rc != 0 && rc != -ENOENT && rc != -EBADMSG)
        abort();
    if (rc == 0 && (ttl & 0x80000000u))
        abort(); /* RFC 2181 §8: read as 0 */
    free(copy);
    return 0;
}
