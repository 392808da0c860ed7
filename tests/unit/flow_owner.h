/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow_owner.h - a flow owner for tests that only count what their flows
 * did: struct owner (one per flow, passed as the callbacks' arg) and
 * owner_cbs.  Shared by test_pacer.c, test_flow_cert.c and test_happy_eyeballs.c
 * (static, one test file each); flow_fixture.h has the richer, recording owner. */
#ifndef SIPKEEP_TESTS_FLOW_OWNER_H
#define SIPKEEP_TESTS_FLOW_OWNER_H

#include <stddef.h>
#include <sys/socket.h>

#include "outbound/flow.h"

struct owner {
    struct flow *f;
    int ready, downs; /* on_ready / on_down calls */
};

static void own_ready(struct flow *f, const struct sockaddr_storage *local, void *arg)
{
    (void)f;
    (void)local;
    ((struct owner *)arg)->ready++;
}

static void own_message(struct flow *f, const char *msg, size_t len, void *arg)
{
    (void)f;
    (void)msg;
    (void)len;
    (void)arg;
}

static void own_down(struct flow *f, const char *reason, void *arg)
{
    (void)f;
    (void)reason;
    ((struct owner *)arg)->downs++;
}

static const struct flow_cbs owner_cbs = { .on_ready = own_ready, .on_message = own_message,
                                           .on_down = own_down };

#endif
