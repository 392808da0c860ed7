/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_sync.h - fdatasync(2) and fsync(2) as a test sees them: the real
 * sync, counted, optionally failed with EIO, and optionally stopped at a
 * gate until the test has looked at the world at that moment (the crash
 * point of the on-disk-before-upstream rule, a batch kept in flight while
 * more phones arrive).  Defines the two functions themselves, so the
 * objects under test linked into the binary call these: include it in
 * ONE file of a test binary (test_instid_batch.c, test_regagent_idsync.c).
 *
 * The instance-id store syncs on its worker thread, so these run there:
 * the counters are atomic, and the gate is two pipes (blocking reads, no
 * sleeps) rather than a callback, which would race with the test's
 * thread.  A test that arms the gate must not sync on its own thread
 * while it is armed (instid_get; a store not pinned to its worker with
 * instid_sync_how, which syncs inline on a fast disk): that sync would
 * wait for itself. */
#ifndef SIPKEEP_TESTS_FAKE_SYNC_H
#define SIPKEEP_TESTS_FAKE_SYNC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int fake_syncs;      /* fdatasync + fsync calls */
static atomic_int fake_sync_fail;  /* the next that many fail with EIO */
static atomic_bool fake_gate_on;   /* each sync stops at the gate */
static int fake_gate_at[2] = { -1, -1 }; /* a sync has stopped: one byte each */
static int fake_gate_go[2] = { -1, -1 }; /* the test lets one go: one byte each */

/* Tells the test a sync stopped, then waits to be let go. */
static void fake_gate_stop(void)
{
    char c = 's';

    if (write(fake_gate_at[1], &c, 1) != 1 || read(fake_gate_go[0], &c, 1) != 1)
        return; /* a closed pipe (fake_sync_reset): it goes */
}

static int fake_sync(int fd, long nr)
{
    int left;

    fake_syncs++;
    if (fake_gate_on)
        fake_gate_stop();
    left = atomic_load(&fake_sync_fail);
    while (left > 0 && !atomic_compare_exchange_weak(&fake_sync_fail, &left, left - 1))
        ;
    if (left > 0) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(nr, fd);
}

int fdatasync(int fd);
int fsync(int fd);

int fdatasync(int fd)
{
    return fake_sync(fd, SYS_fdatasync);
}

int fsync(int fd)
{
    return fake_sync(fd, SYS_fsync);
}

/* From now on every sync stops at the gate before it runs, until the test
 * lets it go (fake_sync_gate_open).  Fails the test without pipes. */
static inline void fake_sync_gate_arm(void)
{
    if (fake_gate_at[0] < 0 && (pipe(fake_gate_at) != 0 || pipe(fake_gate_go) != 0))
        abort();
    fake_gate_on = true;
}

/* Blocks until a sync has stopped at the gate. */
static inline void fake_sync_gate_wait(void)
{
    char c;

    if (read(fake_gate_at[0], &c, 1) != 1)
        abort();
}

/* Lets the sync that stopped at the gate run. */
static inline void fake_sync_gate_open(void)
{
    char c = 'g';

    if (write(fake_gate_go[1], &c, 1) != 1)
        abort();
}

/* Every count back to none and the gate gone (a test's setup and
 * teardown); a sync still stopped at it runs. */
static inline void fake_sync_reset(void)
{
    fake_syncs = 0;
    fake_sync_fail = 0;
    fake_gate_on = false;
    for (int i = 0; i < 2; i++) {
        if (fake_gate_at[i] >= 0)
            close(fake_gate_at[i]);
        if (fake_gate_go[i] >= 0)
            close(fake_gate_go[i]);
        fake_gate_at[i] = fake_gate_go[i] = -1;
    }
}

#endif
