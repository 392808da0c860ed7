/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcaps.c - capability check for transparent mode (see tcaps.h). */
#include "intercept/tcaps.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/privdrop.h"

uint64_t tcaps_needed(void)
{
    return PRIVDROP_CAP_NET_ADMIN | PRIVDROP_CAP_NET_RAW;
}

int tcaps_check(uint64_t have, uint64_t need, char *msg, size_t sz)
{
    static const struct { uint64_t bit; const char *name; } names[] = {
        {PRIVDROP_CAP_NET_ADMIN, "CAP_NET_ADMIN"},
        {PRIVDROP_CAP_NET_RAW, "CAP_NET_RAW"},
    };
    uint64_t miss = need & ~have;
    size_t pos;
    bool first = true;
    int n;

    if (!miss)
        return 0;
    n = snprintf(msg, sz, "missing capability");
    pos = n < 0 ? 0 : (size_t)n;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(miss & names[i].bit) || pos >= sz)
            continue;
        n = snprintf(msg + pos, sz - pos, "%s%s", first ? " " : ",", names[i].name);
        first = false;
        pos += n < 0 ? 0 : (size_t)n;
        miss &= ~names[i].bit;
    }
    if (miss && pos < sz)
        snprintf(msg + pos, sz - pos, "%s0x%llx", first ? " " : ",",
                 (unsigned long long)miss);
    return -EPERM;
}

int tcaps_effective(uint64_t *out)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    *out = data[0].effective | (uint64_t)data[1].effective << 32;
    return 0;
}
