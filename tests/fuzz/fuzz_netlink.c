/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the rtnetlink datagram parser (core/netwatch.c), which
 * reads kernel bytes.  Every input must come back 0 or -EBADMSG with only
 * NETWATCH_* bits set; ASan sees any read outside the input.  The input is
 * copied to a buffer of its exact size so an over-read is caught. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/netwatch.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    unsigned what = 0;
    int ret;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    ret = netwatch_parse(copy, size, &what);
    CHECK(ret == 0 || ret == -EBADMSG);
    CHECK((what & ~NETWATCH_ALL) == 0);
    /* from an odd offset too: the parser must not assume alignment */
    if (size > 1) {
        ret = netwatch_parse(copy + 1, size - 1, &what);
        CHECK(ret == 0 || ret == -EBADMSG);
    }
    free(copy);
    return 0;
}
