/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_clock.h - time and chance as the tests fix them: a loop_clock that
 * reads a uint64_t the test moves by hand (so no timer runs unless the test
 * makes it due), a "random" source that returns a uint32_t the test sets,
 * and bounded pumping of such a loop.  Used by fake_edge.h and by the flow,
 * STUN keep-alive and retransmission tests.
 *
 * Functions are static inline: each test_*.c is compiled alone and uses
 * only part of this header, and inline keeps -Wunused-function quiet. */
#ifndef SIPKEEP_TESTS_FAKE_CLOCK_H
#define SIPKEEP_TESTS_FAKE_CLOCK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/loop.h"

/* loop_clock.now_ms: ctx is the uint64_t the test moves. */
static inline uint64_t fake_now(void *ctx)
{
    return *(const uint64_t *)ctx;
}

/* A struct rand_src next (flow, flow_udp and stunka params): ctx is the
 * uint32_t it returns. */
static inline uint32_t fake_rng(void *ctx)
{
    return *(const uint32_t *)ctx;
}

/* A new loop on the clock *now, which is set to start first. */
static inline struct loop *fake_loop_new(uint64_t *now, uint64_t start)
{
    struct loop_clock clk = { fake_now, now };
    struct loop *l;

    *now = start;
    assert_int_equal(loop_new(&l, &clk), 0);
    return l;
}

/* Turns l (1 ms real waits: sockets still need the kernel) until *counter
 * reaches want, at most max_iter times; whether it did. */
static inline bool fake_loop_pump_until(struct loop *l, const int *counter, int want,
                                        int max_iter)
{
    for (int i = 0; i < max_iter && *counter < want; i++)
        assert_int_equal(loop_run_once(l, 1), 0);
    return *counter >= want;
}

/* Turns l (1 ms real waits) while reading the client socket fd until the
 * peer closes it, at most max_iter times: the bytes read (NUL-terminated
 * in buf of cap bytes), or -1 on a reset, another error or no close. */
static inline ssize_t fake_loop_read_all(struct loop *l, int fd, char *buf, size_t cap,
                                         int max_iter)
{
    size_t got = 0;

    for (int i = 0; i < max_iter; i++) {
        ssize_t n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
        if (n == 0) {
            buf[got] = '\0';
            return (ssize_t)got;
        }
        if (n > 0)
            got += (size_t)n;
        else if (errno != EAGAIN)
            return -1;
        assert_int_equal(loop_run_once(l, 1), 0);
    }
    return -1;
}

#endif
