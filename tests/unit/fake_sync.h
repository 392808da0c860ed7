/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_sync.h - fdatasync(2) and fsync(2) as a test sees them: the real
 * sync, counted, optionally failed with EIO, with a hook called first (to
 * look at the world at the moment of the sync: the crash point of the
 * on-disk-before-upstream rule).  Defines the two functions themselves, so
 * the objects under test linked into the binary call these: include it in
 * ONE file of a test binary (test_instid_batch.c, test_regagent_idsync.c). */
#ifndef SIPKEEP_TESTS_FAKE_SYNC_H
#define SIPKEEP_TESTS_FAKE_SYNC_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fake_syncs;              /* fdatasync + fsync calls */
static int fake_sync_fail;          /* the next that many fail with EIO */
static void (*fake_sync_hook)(void); /* called at each, when set */

static int fake_sync(int fd, long nr)
{
    fake_syncs++;
    if (fake_sync_hook)
        fake_sync_hook();
    if (fake_sync_fail > 0) {
        fake_sync_fail--;
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

/* Every count and hook back to none (a test's setup). */
static inline void fake_sync_reset(void)
{
    fake_syncs = 0;
    fake_sync_fail = 0;
    fake_sync_hook = NULL;
}

#endif
